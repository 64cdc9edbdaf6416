//! How a process waits for a socket: the one place where `bream::net` parks.
//!
//! [`ready`] parks the calling process until the poller reports the socket
//! ready for the interest, the deadline passes, or the process is killed (a
//! killed process is unwound from its park, which drops its sockets).

use std::io;
use std::time::Instant;

use bream_scheduler::io::{Interest, Registration};

use crate::pid::Pid;

/// The calling process's pid.
///
/// # Panics
///
/// Outside a bream process, naming `what`.
#[track_caller]
pub(crate) fn me(what: &str) -> Pid {
    crate::process::current(what).pid
}

/// Park until `reg` is ready for `interest`, or fail with `TimedOut` at
/// `deadline`. Returns at once if readiness is already there.
pub(crate) fn ready(
    reg: &Registration,
    interest: Interest,
    deadline: Option<Instant>,
) -> io::Result<()> {
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Err(timed_out());
    }
    reg.wait(interest);
    Ok(())
}

/// The error of an operation that ran out of time.
pub(crate) fn timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "bream::net: the operation timed out",
    )
}
