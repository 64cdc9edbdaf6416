//! How a process waits for a socket: the one place where `bream::net` parks.
//!
//! [`ready`] parks the calling process until the poller reports the socket
//! ready for the interest, the deadline passes, or an exit signal arrives.
//! It is the runtime's usual wait loop (time.rs's `sleep` has the same
//! shape), with the registration's `poll_ready` as the condition:
//!
//! 1. `poll_ready`: ready → return. Otherwise the process's task is now the
//!    registration's waiter, and the poller will unpark it on the next event.
//! 2. Park (with the deadline's remainder as timeout, if any).
//! 3. Woken — by the poller, by a timer, by an exit signal's sender (which
//!    always unparks: exit.rs), or spuriously — handle signals first: a kill
//!    unwinds the process from here, dropping its sockets. Then go to 1.

use std::io;
use std::time::Instant;

use bream_scheduler::io::{Interest, Registration};
use bream_scheduler::task;

use crate::exit;
use crate::pid::Pid;
use crate::process::{current, with_status, Status};

/// The calling process's pid.
///
/// # Panics
///
/// Outside a bream process, naming `what`.
#[track_caller]
pub(crate) fn me(what: &str) -> Pid {
    current(what).pid
}

/// Park until `reg` is ready for `interest`, or fail with `TimedOut` at
/// `deadline`. Returns at once if readiness is already there.
pub(crate) fn ready(
    reg: &Registration,
    interest: Interest,
    deadline: Option<Instant>,
) -> io::Result<()> {
    if reg.poll_ready(interest).is_some() {
        return Ok(());
    }
    let me = current("net");
    let r = with_status(me, Status::Suspended, || loop {
        match deadline {
            None => task::park(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    reg.forget_waiter(interest);
                    return Err(timed_out());
                }
                let _ = task::park_timeout(d - now);
            }
        }
        exit::handle_signals(me);
        if reg.poll_ready(interest).is_some() {
            return Ok(());
        }
    });
    exit::handle_signals(me);
    r
}

/// The error of an operation that ran out of time.
pub(crate) fn timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "bream::net: the operation timed out",
    )
}
