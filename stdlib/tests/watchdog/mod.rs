//! A watchdog for the task, registry, pg and names tests: each test body runs
//! in a fresh runtime on its own thread, and a test that does not finish in
//! time fails with a clear message instead of hanging CI.
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

/// Long enough that only a bug hits it; never a timing assertion.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// How long a whole test may run.
const DEADLINE: Duration = Duration::from_secs(60);

/// Run `body` as the first process of a new runtime, failing the test if it
/// has not returned within a minute. A panic in `body` fails the test.
pub fn run<R: Send + 'static>(body: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let r = bream::run(body);
        let _ = tx.send(r);
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(r) => {
            let _ = thread.join();
            r
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("the test's runtime ended without a result"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("watchdog: the test did not finish within {DEADLINE:?} (a hang)")
        }
    }
}

/// Wait until `condition` holds, checking every millisecond; panics after
/// PATIENCE (a hang turned into a failure, not a timing assertion).
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let mut waited = Duration::ZERO;
    while !condition() {
        assert!(waited < PATIENCE, "{what}: not reached within PATIENCE");
        bream::sleep(Duration::from_millis(1));
        waited += Duration::from_millis(1);
    }
}

/// Wait for the `Down` of `monitor`.
pub fn down(monitor: bream::MonitorRef) -> bream::ExitReason {
    bream::receive! {
        d: bream::Down if d.monitor == monitor => d.reason,
        after PATIENCE => panic!("no Down within PATIENCE"),
    }
}
