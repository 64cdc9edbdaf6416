//! Run one child (one run of one implementation) with a time limit, and turn
//! every way it can go wrong into one readable line.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::peers::tail;

/// How often the parent checks whether the child has exited. The child times
/// itself, so this only bounds how late the next run starts.
const POLL: Duration = Duration::from_millis(20);

/// The child's stdout if it exited 0 within `limit`; otherwise why not.
pub fn run(mut cmd: Command, limit: Duration) -> Result<String, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {program}: {e}"))?;
    // Drain both pipes on their own threads, so a chatty child never blocks on a
    // full pipe while we wait for it.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out = thread::spawn(move || read_all(&mut out));
    let err = thread::spawn(move || read_all(&mut err));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(POLL),
            Err(e) => return Err(format!("lost track of {program}: {e}")),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    match status {
        None => Err(format!(
            "did not finish within {} s (--timeout)",
            limit.as_secs()
        )),
        Some(s) if s.success() => Ok(stdout),
        Some(s) => {
            let why = match (s.code(), s.signal()) {
                (Some(code), _) => format!("exited with {code}"),
                (None, Some(9)) => "was killed (signal 9: out of memory?)".to_string(),
                (None, Some(sig)) => format!("died of signal {sig}"),
                (None, None) => "failed".to_string(),
            };
            let said = summarize(&stderr);
            Err(if said.is_empty() {
                why
            } else {
                format!("{why}: {said}")
            })
        }
    }
}

/// What a failed child said, in one line: a Rust panic's message (not its
/// backtrace), or the last lines of stderr that are not notes.
fn summarize(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(i) = lines.iter().position(|l| l.contains("panicked at")) {
        if let Some(msg) = lines.get(i + 1) {
            return format!("panicked: {msg}");
        }
    }
    let mut said: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            !l.starts_with("note:")
                && !l.starts_with("at ")
                && !l.starts_with(|c: char| c.is_ascii_digit())
        })
        .collect();
    said.dedup(); // two threads that fail alike print the same line twice
    tail(&said.join("\n"), 2)
}

fn read_all(r: &mut impl Read) -> String {
    let mut buf = Vec::new();
    let _ = r.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_stdout_of_a_good_child() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo hello"]);
        assert_eq!(run(c, Duration::from_secs(10)).unwrap().trim(), "hello");
    }

    #[test]
    fn reports_a_failing_child_with_its_stderr() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo 'it broke' >&2; exit 3"]);
        let e = run(c, Duration::from_secs(10)).unwrap_err();
        assert!(e.contains("exited with 3") && e.contains("it broke"), "{e}");
    }

    #[test]
    fn a_panic_is_summarised_by_its_message() {
        let stderr = "\nthread 'main' panicked at src/x.rs:1:2:\nfailed to alloc sys stack\nstack backtrace:\n   0: foo\n             at src/x.rs:3\nnote: Some details are omitted\n";
        assert_eq!(summarize(stderr), "panicked: failed to alloc sys stack");
        assert_eq!(summarize("one\ntwo\nthree\nnote: hush\n"), "two / three");
        assert_eq!(summarize("x: died\nx: died\n"), "x: died");
    }

    #[test]
    fn kills_a_child_past_its_limit() {
        let mut c = Command::new("sleep");
        c.arg("30");
        let e = run(c, Duration::from_millis(100)).unwrap_err();
        assert!(e.contains("did not finish"), "{e}");
    }
}
