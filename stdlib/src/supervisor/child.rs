//! One child as the supervisor keeps it, and how the supervisor terminates it.
//!
//! # Terminating a child (OTP's `supervisor:shutdown/2`)
//!
//! 1. `monitor(child)`: the `Down` is how we learn that it is gone, whatever
//!    happens next.
//! 2. `unlink(child)`: its exit must not come back as an `Exit` message that
//!    the restart logic would act on.
//! 3. If an `Exit` from it is already queued, it died before the unlink: wait
//!    for the `Down` and stop there.
//! 4. Otherwise send the signal its [`Shutdown`] names: `Kill`
//!    (`BrutalKill`), or `Shutdown` and wait for the `Down` (forever for
//!    `Infinity`, up to `d` for `Timeout(d)`, then `Kill` and wait again).
//! 5. Drop any `Exit` from it that arrived meanwhile.
//!
//! Each wait is a selective receive on that child's `Down`: other children's
//! `Exit`s stay queued, in order, for the restart logic.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use bream::{receive, Down, Exit, ExitReason, MonitorRef, Pid};

use super::report;
use super::spec::{ChildType, Restart, Shutdown, StartFn};
use crate::start::{panic_message, StartError};

/// Where a child is in its life, as [`which_children`](super::which_children)
/// reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildState {
    /// Running as this process.
    Running(Pid),
    /// Its restart failed; the supervisor tries again (OTP's `restarting`).
    Restarting,
    /// Not running: terminated, ignored, or exited and not restarted
    /// (OTP's `undefined`).
    Undefined,
}

/// A child of a running supervisor. Owned by the supervisor's process only.
pub(crate) struct Child {
    pub(crate) id: String,
    /// Starts it again; for a dynamic child, the template bound to its argument.
    pub(crate) start: StartFn,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Shutdown,
    pub(crate) kind: ChildType,
    pub(crate) state: ChildState,
}

impl Child {
    pub(crate) fn pid(&self) -> Option<Pid> {
        match self.state {
            ChildState::Running(pid) => Some(pid),
            _ => None,
        }
    }

    /// Start it (first time or again); the state follows the outcome. A start
    /// function that panics has failed with `Init(Panic(message))`, as OTP's
    /// supervisor catches an exception in a start function.
    pub(crate) fn start(&mut self) -> Result<Pid, StartError> {
        let result = match catch_unwind(AssertUnwindSafe(|| (self.start)())) {
            Ok(result) => result,
            Err(payload) => match panic_message(&*payload) {
                Some(message) => Err(StartError::Init(ExitReason::Panic(message.into()))),
                None => resume_unwind(payload),
            },
        };
        self.state = match &result {
            Ok(pid) => ChildState::Running(*pid),
            Err(_) => ChildState::Undefined,
        };
        result
    }

    /// Terminate it if it runs (steps above); it is `Undefined` after.
    pub(crate) fn terminate(&mut self) {
        if let Some(pid) = self.pid() {
            let reason = shutdown(pid, self.shutdown);
            if !expected(self.shutdown, &reason) {
                report::shutdown_error(&self.id, pid, &reason);
            }
        }
        self.state = ChildState::Undefined;
    }
}

/// Terminate every running child in `children` at once, as OTP's
/// `terminate_dynamic_children` does for a `SimpleOneForOne` supervisor: the
/// same steps as [`shutdown`], but each step for all of them before the next, so
/// `Timeout(d)` waits `d` in all, not `d` per child.
pub(crate) fn terminate_all(children: &mut [Child]) {
    let mut pending = Vec::new();
    for child in children.iter_mut() {
        let Some(pid) = child.pid() else { continue };
        child.state = ChildState::Undefined;
        let monitor = bream::monitor(pid);
        bream::unlink(pid);
        let already = receive! {
            e: Exit if e.from == pid => Some(e.reason),
            after Duration::ZERO => None,
        };
        if already.is_none() {
            bream::exit(pid, signal(child.shutdown));
        }
        pending.push((&child.id, child.shutdown, pid, monitor, already));
    }
    let start = Instant::now();
    for (id, how, pid, monitor, already) in pending {
        let left = match how {
            Shutdown::Timeout(d) => Some(d.saturating_sub(start.elapsed())),
            Shutdown::BrutalKill | Shutdown::Infinity => None,
        };
        let down = if already.is_some() {
            wait_down(monitor, None)
        } else {
            wait_down(monitor, left)
        };
        let reason = match (already, down) {
            (Some(reason), _) => reason,
            (None, Some(reason)) => reason,
            (None, None) => kill(pid, monitor),
        };
        receive! {
            e: Exit if e.from == pid => (),
            after Duration::ZERO => (),
        };
        if !expected(how, &reason) {
            report::shutdown_error(id, pid, &reason);
        }
    }
}

/// The exit signal a shutdown starts with.
fn signal(how: Shutdown) -> ExitReason {
    match how {
        Shutdown::BrutalKill => ExitReason::Kill,
        Shutdown::Timeout(_) | Shutdown::Infinity => ExitReason::Shutdown,
    }
}

/// Whether `reason` is what this shutdown should produce (else: report it).
fn expected(how: Shutdown, reason: &ExitReason) -> bool {
    match how {
        Shutdown::BrutalKill => *reason == ExitReason::Killed,
        Shutdown::Timeout(_) | Shutdown::Infinity => *reason == ExitReason::Shutdown,
    }
}

/// Terminate `pid` as `how` says; returns the reason it exited with.
pub(crate) fn shutdown(pid: Pid, how: Shutdown) -> ExitReason {
    let monitor = bream::monitor(pid);
    bream::unlink(pid);
    let already = receive! {
        e: Exit if e.from == pid => Some(e.reason),
        after Duration::ZERO => None,
    };
    let reason = match (already, how) {
        (Some(reason), _) => {
            wait_down(monitor, None);
            reason
        }
        (None, Shutdown::BrutalKill) => kill(pid, monitor),
        (None, Shutdown::Infinity) => {
            bream::exit(pid, ExitReason::Shutdown);
            wait_down(monitor, None).unwrap_or(ExitReason::Killed)
        }
        (None, Shutdown::Timeout(d)) => {
            bream::exit(pid, ExitReason::Shutdown);
            match wait_down(monitor, Some(d)) {
                Some(reason) => reason,
                None => kill(pid, monitor),
            }
        }
    };
    receive! {
        e: Exit if e.from == pid => (),
        after Duration::ZERO => (),
    };
    reason
}

fn kill(pid: Pid, monitor: MonitorRef) -> ExitReason {
    bream::exit(pid, ExitReason::Kill);
    wait_down(monitor, None).unwrap_or(ExitReason::Killed)
}

/// Wait for the `Down` of `monitor`, up to `timeout`; its reason.
fn wait_down(monitor: MonitorRef, timeout: Option<Duration>) -> Option<ExitReason> {
    match timeout {
        None => receive! {
            d: Down if d.monitor == monitor => Some(d.reason),
        },
        Some(t) => receive! {
            d: Down if d.monitor == monitor => Some(d.reason),
            after t => None,
        },
    }
}
