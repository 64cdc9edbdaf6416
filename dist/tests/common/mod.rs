//! What the tests against a real `erl` share: starting `erl` (and killing it
//! on drop), the skip rule, a watchdog, and a bream node per test.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bream_dist::NodeBuilder;

pub mod raw;

/// The cookie every test node uses.
pub const COOKIE: &str = "bream_test_cookie";

/// Whether `erl` can be run. Outside CI a missing `erl` skips the test with
/// a visible line; in CI (env `CI` set) it fails.
pub fn have_erl(test: &str) -> bool {
    let ok = Command::new("erl")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: `erl` is not on the PATH, and CI is set: install erlang-base"
        );
        eprintln!("SKIP {test}: `erl` is not on the PATH (install erlang-base to run it)");
    }
    ok
}

/// Compiles tests/erl/bream_peer.erl into a fresh directory (once per test
/// binary) and returns the directory, for `-pa`.
pub fn peer_beam_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("bream-dist-erl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/erl/bream_peer.erl");
        let ok = Command::new("erlc")
            .arg("-o")
            .arg(&dir)
            .arg(src)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "erlc {src} failed");
        dir
    })
    .clone()
}

/// An `erl` OS process, killed when dropped (also when the test fails).
pub struct Erl {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub name: String,
}

impl Erl {
    /// `erl -sname NAME@localhost -setcookie COOKIE -noshell -eval EVAL`,
    /// with `net_ticktime` short so that lost connections show quickly.
    pub fn start(sname: &str, cookie: &str, eval: &str) -> Erl {
        let name = format!("{sname}@localhost");
        let mut child = Command::new("erl")
            .args([
                "-sname",
                &name,
                "-setcookie",
                cookie,
                "-noshell",
                "-noinput",
            ])
            .args(["-kernel", "net_ticktime", "4"])
            .arg("-pa")
            .arg(peer_beam_dir())
            .args(["-eval", eval])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start erl");
        let out: ChildStdout = child.stdout.take().expect("erl stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                eprintln!("[erl] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Erl { child, lines, name }
    }

    /// The next line `erl` printed, within `d`.
    pub fn line(&self, d: Duration) -> String {
        self.lines
            .recv_timeout(d)
            .unwrap_or_else(|_| panic!("erl {} printed nothing within {d:?}", self.name))
    }

    /// Waits for a line equal to `want` (skipping others), within `d`.
    pub fn expect(&self, want: &str, d: Duration) {
        let deadline = std::time::Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.trim() == want => return,
                Ok(_) => continue,
                Err(_) => panic!("erl {} did not print {want:?} within {d:?}", self.name),
            }
        }
    }

    /// Stops the OS process (SIGSTOP): it keeps its sockets open but sends
    /// nothing, not even ticks, as a hung or partitioned node.
    pub fn stop(&self) {
        let ok = Command::new("kill")
            .args(["-STOP", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -STOP failed");
    }

    /// Kills the OS process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Erl {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `body` on a thread and fails the test if it does not finish in `d`.
pub fn watchdog<R: Send + 'static>(d: Duration, body: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(d) {
        Ok(Ok(r)) => r,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("watchdog: the test did not finish within {d:?}"),
    }
}

/// A bream runtime that is node `NAME@localhost` with the test cookie.
pub fn node(sname: &str) -> bream::Runtime {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "bream_dist=info".into()),
        )
        .with_test_writer()
        .try_init();
    bream::Runtime::builder()
        .workers(2)
        .node(&format!("{sname}@localhost"))
        .cookie(COOKIE)
        .net_ticktime(Duration::from_secs(4))
        .build()
        .expect("start the bream node")
}

/// Inside a process of a node named `bream`: starts `erl` as `erl_name`
/// running `bream_peer:start/1`, and returns it with the pid of its `mirror`
/// (the command loop of tests/erl/bream_peer.erl).
pub fn peer(bream: &str, erl_name: &str) -> (Erl, bream::Pid) {
    bream::register("ready", bream::self_pid()).expect("register ready");
    let eval = format!("bream_peer:start('{bream}@localhost').");
    let erl = Erl::start(erl_name, COOKIE, &eval);
    let t: bream_dist::Term = bream::receive_timeout(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("erl {erl_name} did not say ready"));
    bream::unregister("ready");
    match t.as_tuple() {
        Some([tag, bream_dist::Term::Pid(p)]) if tag.as_atom() == Some("ready") => {
            (erl, bream_dist::pid_from_term(p))
        }
        _ => panic!("unexpected hello from erl: {t}"),
    }
}

/// A term from a list of terms: `{a, b, ...}`.
pub fn tuple(v: Vec<bream_dist::Term>) -> bream_dist::Term {
    bream_dist::Term::Tuple(v)
}

/// An atom term.
pub fn atom(a: &str) -> bream_dist::Term {
    bream_dist::Term::atom(a)
}

/// The caller's pid as a term.
pub fn me() -> bream_dist::Term {
    bream_dist::pid_to_term(bream::self_pid())
}

/// Receives a `Term` within 10 s, or fails naming `what`.
pub fn recv_term(what: &str) -> bream_dist::Term {
    bream::receive_timeout(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no {what} within 10 s"))
}
