//! Crash reports and the other reports a process's life can produce: where a
//! panic happened, and how a report reaches a person.
//!
//! # Capturing where a panic happened
//!
//! The scheduler catches a task's panic and hands the runtime only its message
//! (`Outcome::Panicked(Box<str>)`); the location exists only inside the panic
//! hook, while the panic is being raised. So the runtime installs a hook of its
//! own, once per OS process, *after* the scheduler's (which silences panics
//! inside a task; `Scheduler::build` installs it), so ours sees every panic
//! first. For a panic raised on behalf of a process it records the location
//! (and a backtrace when `RUST_BACKTRACE` asks) and prints nothing: the crash
//! report will. Every other panic goes on to the previous hook, unchanged.
//!
//! - On the process's own task, the record goes into the process
//!   (`Rare::panic_origin`), so it survives whatever the process does before it
//!   exits — a gen_server runs `terminate` between catching a panic and
//!   resuming it, and may wait, and move to another worker, meanwhile. The exit
//!   reads it when it turns `Outcome::Panicked(message)` into the reason.
//! - On a blocking-pool thread running a process's [`blocking`](crate::blocking)
//!   job (a thread-local names the process), the record goes into a
//!   thread-local slot; the job's wrapper catches the panic, carries the record
//!   back with the payload, and the process stores it in itself before it
//!   re-raises the payload (`resume_unwind` runs no hook).
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
use crate::process::{try_current, Me, Owned};
use crate::reason::{ExitReason, PanicInfo, PanicLocation};

/// Where a panic happened, as the hook saw it.
pub(crate) struct Origin {
    location: Option<PanicLocation>,
    backtrace: Option<Arc<Backtrace>>,
}

thread_local! {
    /// On a blocking-pool thread: the last panic the hook saw in a job.
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
            let me = try_current();
            let job = || BLOCKING_FOR.try_with(Cell::get).ok().flatten();
            if me.is_none() && job().is_none() {
                return previous(info);
            }
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
            // try_*: a hook never panics (that would abort).
            match (me, job()) {
                (Some(me), _) => {
                    let _ = me.owned().try_rare_set(|r| r.panic_origin = Some(origin));
                }
                (None, Some(pid)) => {
                    let _ = CAUGHT.try_with(|c| {
                        if let Ok(mut c) = c.try_borrow_mut() {
                            *c = Some((pid, origin));
                        }
                    });
                }
                (None, None) => {}
            }
        }));
    });
}

/// The reason for a panic with `message` of the process whose owned fields
/// are `owned` (its task has ended): with its origin if the hook recorded one.
pub(crate) fn panic_reason(owned: &Owned, message: String) -> PanicInfo {
    let origin = owned.rare_get(|r| r.panic_origin.take()).flatten();
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
    // Taken either way: a panic that `f` caught itself leaves nothing behind.
    let caught = CAUGHT.with(|c| c.borrow_mut().take());
    r.map_err(|payload| {
        let origin = caught.filter(|(p, _)| *p == pid).map(|(_, o)| o);
        (payload, origin)
    })
}

/// Back on the process's task: records a job's panic origin in the process,
/// then re-raises the payload.
pub(crate) fn resume_job_panic(me: Me, (payload, origin): JobPanic) -> ! {
    if let Some(o) = origin {
        me.owned().rare_set(|r| r.panic_origin = Some(o));
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
    // Never let a report take its worker down: `eprintln!` panics on a closed
    // stderr, and so does tracing-subscriber's fmt layer when it reports a
    // failed write (a program piped into `head`).
    let _ = panic::catch_unwind(AssertUnwindSafe(|| write_crash(pid, reason, by_signal)));
}

fn write_crash(pid: Pid, reason: &ExitReason, by_signal: bool) {
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
            ExitReason::Panic(p) => p.backtrace().map(|b| format!("\n{}", short(b))),
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
                    let backtrace = short(backtrace);
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

/// A backtrace without the frames of the panic machinery above the panic
/// (std's, the hooks') and of the runtime below the process's root, as the std
/// hook's short backtraces do. Frames keep their numbers.
fn short(bt: &Backtrace) -> String {
    let text = bt.to_string();
    // Each frame starts with a line `  N: name`; its `at file:line` lines follow.
    let mut frames: Vec<String> = Vec::new();
    for line in text.lines() {
        let head = line.trim_start();
        let is_frame = head
            .split_once(": ")
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        match frames.last_mut() {
            Some(f) if !is_frame => {
                f.push('\n');
                f.push_str(line);
            }
            _ => frames.push(line.to_owned()),
        }
    }
    let name = |f: &String| {
        f.lines()
            .next()
            .and_then(|l| l.split_once(": "))
            .map_or("", |(_, n)| n)
            .to_owned()
    };
    let machinery = |n: &str| {
        n.contains("rust_begin_unwind")
            || n.starts_with("core::panicking::")
            || n.starts_with("std::panicking::begin_panic")
            || n.starts_with("core::result::unwrap_failed")
            || n.starts_with("core::option::unwrap_failed")
            || n.starts_with("core::option::expect_failed")
    };
    // The hook's own frames end where std starts unwinding.
    let mut start = frames
        .iter()
        .position(|f| {
            let n = name(f);
            n.contains("rust_begin_unwind") || n.contains("__rust_end_short_backtrace")
        })
        .map_or(0, |i| i + 1);
    while start < frames.len() && machinery(&name(&frames[start])) {
        start += 1;
    }
    let end = frames
        .iter()
        .position(|f| {
            let n = name(f);
            n.starts_with("bream::lifecycle::run_code") || n.starts_with("bream::report::run_job")
        })
        .unwrap_or(frames.len());
    if start >= end {
        return text;
    }
    let mut out = frames[start..end].join("\n");
    out.push_str("\n      (frames of the panic machinery and of the runtime omitted)");
    out
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
    let _ = panic::catch_unwind(|| {
        if subscriber_installed() {
            tracing::warn!(%pid, "bream: {text}");
        } else {
            eprintln!("=WARNING REPORT==== {text}");
        }
    });
}
