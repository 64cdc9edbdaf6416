//! Crash reports and the other reports a process's life can produce: where a
//! panic happened, and how a report reaches a person.
//!
//! # Capturing where a panic happened
//!
//! The scheduler catches a task's panic and hands the runtime only its message
//! (`Outcome::Panicked(String)`); the location exists only inside the panic
//! hook, while the panic is being raised. So the runtime installs a hook of its
//! own, once per OS process, *after* the scheduler's (which silences panics
//! inside a task; `Scheduler::build` installs it), so ours sees every panic
//! first. For a panic raised on behalf of a process — on its task, or on a
//! blocking-pool thread running its [`blocking`](crate::blocking) job — the
//! hook records the location (and a backtrace when `RUST_BACKTRACE` asks) in a
//! thread-local slot, keyed by pid, and prints nothing: the crash report will.
//! Every other panic goes on to the previous hook, unchanged.
//!
//! The slot is read on the same thread: a task cannot change threads while it
//! unwinds (a wait returns at once then), and the scheduler runs the task's
//! `on_exit` right after the unwind, on that worker. A `blocking` job's panic is
//! caught on its pool thread, its record carried back with the payload, and
//! put in the slot of the worker the process resumes on before the payload is
//! re-raised there (`resume_unwind` runs no hook).
//!
//! # Where reports go
//!
//! Through `tracing` when a subscriber is installed (the global default, or a
//! scoped one on the thread that writes the report); otherwise to stderr, one
//! line per report, as the BEAM's logger prints crash reports by default:
//!
//! ```text
//! =CRASH REPORT==== process <0.4.0> crashed: panic at src/main.rs:12:5: index out of bounds
//! ```
//!
//! Only processes that crashed *themselves* are reported: a process killed by
//! an exit signal (through a link, or by `exit/2`) gets no report, as in
//! Erlang — the process whose crash started it was reported already.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Once};

use crate::pid::Pid;
use crate::process::try_current;
use crate::reason::{ExitReason, PanicInfo, PanicLocation};

/// Where a panic happened, as the hook saw it.
pub(crate) struct Origin {
    location: Option<PanicLocation>,
    backtrace: Option<Arc<Backtrace>>,
}

thread_local! {
    /// The last panic the hook saw on this thread for a process.
    static CAUGHT: RefCell<Option<(Pid, Origin)>> = const { RefCell::new(None) };
    /// On a blocking-pool thread: the process whose job it runs now.
    static BLOCKING_FOR: Cell<Option<Pid>> = const { Cell::new(None) };
}

/// Installs the runtime's panic hook (once per OS process). Call after the
/// scheduler installed its own (see the module essay).
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let pid = try_current()
                .map(|me| me.pid)
                .or_else(|| BLOCKING_FOR.with(Cell::get));
            let Some(pid) = pid else {
                return previous(info);
            };
            let location = info.location().map(|l| PanicLocation {
                file: l.file().to_owned(),
                line: l.line(),
                column: l.column(),
            });
            let bt = Backtrace::capture();
            let backtrace = (bt.status() == BacktraceStatus::Captured).then(|| Arc::new(bt));
            let origin = Origin {
                location,
                backtrace,
            };
            // try_borrow: a hook never panics (that would abort).
            let _ = CAUGHT.try_with(|c| {
                if let Ok(mut c) = c.try_borrow_mut() {
                    *c = Some((pid, origin));
                }
            });
        }));
    });
}

/// The reason for a panic of `pid` with `message`: with its origin if the
/// hook recorded one on this thread.
pub(crate) fn panic_reason(pid: Pid, message: String) -> PanicInfo {
    let origin = CAUGHT
        .try_with(|c| match c.try_borrow_mut() {
            Ok(mut c) if c.as_ref().is_some_and(|(p, _)| *p == pid) => c.take().map(|(_, o)| o),
            _ => None,
        })
        .ok()
        .flatten();
    let info = PanicInfo::new(message);
    match origin {
        Some(o) => info.with_origin(o.location, o.backtrace),
        None => info,
    }
}

/// A `blocking` job's panic: the payload, and where it happened.
pub(crate) type JobPanic = (Box<dyn Any + Send>, Option<Origin>);

/// Runs `f`, `pid`'s blocking job, on a blocking-pool thread; catches its
/// panic with the origin the hook recorded (see the module essay).
pub(crate) fn run_job<R>(pid: Pid, f: impl FnOnce() -> R) -> Result<R, JobPanic> {
    BLOCKING_FOR.with(|b| b.set(Some(pid)));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    BLOCKING_FOR.with(|b| b.set(None));
    r.map_err(|payload| {
        let origin = CAUGHT.with(|c| c.borrow_mut().take()).map(|(_, o)| o);
        (payload, origin)
    })
}

/// Back on the process's worker: records a job's panic origin for this
/// thread's slot, then re-raises the payload.
pub(crate) fn resume_job_panic(pid: Pid, (payload, origin): JobPanic) -> ! {
    if let Some(o) = origin {
        CAUGHT.with(|c| *c.borrow_mut() = Some((pid, o)));
    }
    panic::resume_unwind(payload)
}

/// True if a `tracing` subscriber would receive our events on this thread.
fn subscriber_installed() -> bool {
    tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>())
}

/// A crash report (OTP's proc_lib reports every exit but `normal` and
/// `shutdown`; a brutal kill gets a debug line). `by_signal`: the process was
/// killed by an exit signal, and is not reported (module essay).
pub(crate) fn crash(pid: Pid, reason: &ExitReason, by_signal: bool) {
    if by_signal && *reason != ExitReason::Killed {
        tracing::debug!(%pid, %reason, "process killed by an exit signal");
        return;
    }
    if !subscriber_installed() {
        let line = match reason {
            ExitReason::Killed => return,
            reason if reason.is_normal() => return,
            ExitReason::Panic(_) | ExitReason::StackOverflow => format!("crashed: {reason}"),
            reason => format!("exited abnormally: {reason}"),
        };
        let backtrace = match reason {
            ExitReason::Panic(p) => p.backtrace().map(|b| format!("\n{b}")),
            _ => None,
        };
        eprintln!(
            "=CRASH REPORT==== process {pid} {line}{}",
            backtrace.unwrap_or_default()
        );
        return;
    }
    match reason {
        reason if reason.is_normal() => {}
        ExitReason::Killed => tracing::debug!(%pid, "process killed"),
        ExitReason::Panic(p) => {
            let message = p.message();
            match (p.location(), p.backtrace()) {
                (Some(location), Some(backtrace)) => {
                    tracing::error!(%pid, %location, %message, %backtrace, "process crashed: panic")
                }
                (Some(location), None) => {
                    tracing::error!(%pid, %location, %message, "process crashed: panic")
                }
                (None, _) => tracing::error!(%pid, %message, "process crashed: panic"),
            }
        }
        ExitReason::StackOverflow => tracing::error!(%pid, "process crashed: stack overflow"),
        reason => tracing::error!(%pid, %reason, "process exited abnormally"),
    }
}

/// The unmatched-message warning (receive.rs, "The unmatched-message
/// warning"): `pid` waits for `wants` while its mailbox holds `held`
/// (type name, count) that no arm takes.
pub(crate) fn unmatched(pid: Pid, wants: &[&'static str], held: &[(&'static str, usize)]) {
    let wants = if wants.is_empty() {
        "a message".to_owned()
    } else {
        wants
            .iter()
            .map(|w| format!("`{w}`"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let total: usize = held.iter().map(|(_, n)| n).sum();
    let types = held
        .iter()
        .map(|(t, n)| {
            if held.len() == 1 {
                format!("`{t}`")
            } else {
                format!("`{t}` ({n})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let (s, kinds) = match (total, held.len()) {
        (1, _) => ("", "type"),
        (_, 1) => ("s", "type"),
        _ => ("s", "types"),
    };
    let literal = held.iter().any(|(t, _)| *t == "i32" || *t == "f64");
    let hint = if literal {
        " (an integer literal is `i32` and a float literal `f64` unless typed: send `21u64`, not `21`)"
    } else {
        ""
    };
    let text = format!(
        "process {pid} waits for {wants} but its mailbox holds {total} message{s} of {kinds} \
         {types} that no receive arm takes{hint}; messages match by their exact Rust type \
         (docs/messages.md, \"Messages of the wrong type\")"
    );
    if subscriber_installed() {
        tracing::warn!(%pid, "bream: {text}");
    } else {
        eprintln!("=WARNING REPORT==== {text}");
    }
}
