//! Watching a running program: counters, the event trace, snapshots.
//!
//! | module     | what it holds                                               |
//! |------------|-------------------------------------------------------------|
//! | `stats`    | [`stats`], [`Stats`]: counters, always on                   |
//! | `trace`    | [`Builder::trace`](crate::Builder::trace): the event trace  |
//! | `snapshot` | [`snapshot`], [`Snapshot`]: the process table, pulled       |
//! | `children` | [`publish_children`]: a supervisor's children, for the tree view |
//! | `server`   | [`serve`]: snapshots over a local socket, for `bream-observer` |
//! | `wire`     | the text protocol between `serve` and `bream-observer`     |
//!
//! The counters live in the scheduler's per-worker slots
//! (bream-scheduler's stats.rs: a plain load and store per event, summed on
//! read); the runtime names the ones it adds (`counter`). The book
//! chapter is docs/watch-it-run.md.

mod children;
mod server;
mod snapshot;
mod stats;
mod trace;
pub mod wire;

pub(crate) use children::Board;
pub use children::{publish_children, unpublish_children, ChildKind, ChildRow};
pub use server::{serve, ObserverHandle};
pub use snapshot::{snapshot, ProcessRow, Snapshot};
pub use stats::{stats, ExitCounts, Stats};
pub(crate) use trace::trace_config;

/// Reading a trace file back (bream-scheduler's decoder): tests check a
/// trace against what their program did; `bream-bench trace` draws one.
pub use bream_scheduler::trace::decode;

use crate::process::Process;
use crate::reason::ExitReason;
use crate::runtime::Shared;
use crate::Pid;

/// The runtime's counters in the scheduler's slots (`Scheduler::count`).
pub(crate) mod counter {
    pub(crate) const SENT: usize = 0;
    pub(crate) const SPAWNED: usize = 1;
    pub(crate) const NORMAL: usize = 2;
    pub(crate) const SHUTDOWN: usize = 3;
    pub(crate) const KILLED: usize = 4;
    pub(crate) const PANIC: usize = 5;
    pub(crate) const STACK_OVERFLOW: usize = 6;
    pub(crate) const NOPROC: usize = 7;
    pub(crate) const OTHER: usize = 8;
}

/// A message (or envelope) to `to` is about to be pushed: count it, and
/// trace it (a flow arrow from here to `to`'s next slice).
#[inline]
pub(crate) fn sent(rt: &Shared, to: Pid) {
    rt.scheduler.note_send(to.to_bits(), counter::SENT);
}

/// A signal is about to be pushed to `to`: trace it on `to`'s track.
#[inline]
pub(crate) fn signal(rt: &Shared, to: Pid, sig: &crate::exit::Signal) {
    use crate::exit::Signal;
    let label = match sig {
        Signal::Exit { link: true, .. } => "signal: exit (link)",
        Signal::Exit { .. } => "signal: exit",
        Signal::Down(_) => "signal: down",
        // Signals other branches may add.
        #[allow(unreachable_patterns)]
        _ => "signal",
    };
    rt.scheduler.note(to.to_bits(), label);
}

/// A process was created and started.
#[inline]
pub(crate) fn spawned(rt: &Shared) {
    rt.scheduler.count(counter::SPAWNED);
}

/// `p` exits with `reason`: count it by reason, and mark its trace track.
pub(crate) fn exited(p: &Process, reason: &ExitReason) {
    let (i, label) = match reason {
        ExitReason::Normal => (counter::NORMAL, "exit: normal"),
        ExitReason::Shutdown | ExitReason::ShutdownWith(_) => (counter::SHUTDOWN, "exit: shutdown"),
        ExitReason::Kill | ExitReason::Killed => (counter::KILLED, "exit: killed"),
        ExitReason::Panic(_) => (counter::PANIC, "exit: panic"),
        ExitReason::StackOverflow => (counter::STACK_OVERFLOW, "exit: stack overflow"),
        ExitReason::NoProc => (counter::NOPROC, "exit: noproc"),
        _ => (counter::OTHER, "exit: other"),
    };
    children::exited(p);
    let s = &p.rt.scheduler;
    s.count(i);
    s.note(p.pid.to_bits(), label);
}
