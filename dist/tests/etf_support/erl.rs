//! Running a real `erl` from a test: found on the PATH, or the test says it skips.
//!
//! Where `erl` is missing the test prints that it skips — unless `CI` or
//! `BREAM_REQUIRE_ERL` is set, where a missing `erl` fails the test (CI must not
//! skip). Every run has a watchdog: an `erl` that does not finish in 60 s is
//! killed and the test fails.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `erl -noshell -eval <code> -extra <args>`; its stdout, or `None` when `erl`
/// is not installed (and not required).
pub fn run_erl(test: &str, code: &str, args: &[&str]) -> Option<Vec<u8>> {
    let spawned = Command::new("erl")
        .args(["-noshell", "-eval", code, "-extra"])
        // A failing run must not leave an erl_crash.dump in the package directory.
        .env("ERL_CRASH_DUMP_SECONDS", "0")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var_os("CI").is_some() || std::env::var_os("BREAM_REQUIRE_ERL").is_some() {
                panic!("{test}: `erl` is not on the PATH, and CI requires it");
            }
            eprintln!("SKIPPED {test}: `erl` is not on the PATH (apt-get install erlang-base)");
            return None;
        }
        Err(e) => panic!("{test}: cannot start erl: {e}"),
    };
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for erl") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{test}: erl did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().expect("stdout reader");
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        panic!(
            "{test}: erl failed ({status}):\n{}\n{err}",
            String::from_utf8_lossy(&out)
        );
    }
    Some(out)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex from erl"))
        .collect()
}
