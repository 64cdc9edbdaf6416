//! A snapshot of the process table, taken when someone asks (pull-based:
//! nothing is kept up to date while nobody looks).

use std::sync::Arc;

use super::children::ChildRow;
use super::stats::Stats;
use crate::pid::FastMap;
use crate::process::{current, Process, Status};
use crate::runtime::{Runtime, Shared};
use crate::sync::Ordering;
use crate::Pid;

/// One process, as the observer's table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessRow {
    /// Its pid.
    pub pid: Pid,
    /// Its registered name.
    pub name: Option<&'static str>,
    /// What it is doing.
    pub status: Status,
    /// Reductions spent, as of its last wait.
    pub reductions: u64,
    /// Messages (and unhandled signals) in its mailbox.
    pub queue_len: usize,
    /// Bytes it holds: its stack's usable size (reserved, not all touched;
    /// none while hibernating) and its record.
    pub memory: usize,
    /// The children it published ([`publish_children`]; a stdlib
    /// supervisor publishes its own), in its order; `None` if it never did.
    ///
    /// [`publish_children`]: super::publish_children
    pub children: Option<Vec<ChildRow>>,
}

/// The process table and the counters at one moment (each row is exact at
/// some instant of the call, not all at one instant).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Snapshot {
    /// The counters.
    pub stats: Stats,
    /// Every live process, in pid order.
    pub processes: Vec<ProcessRow>,
}

fn row(p: &Arc<Process>, board: &FastMap<Pid, Arc<[ChildRow]>>) -> ProcessRow {
    let status = p.status();
    let stack = if status == Status::Hibernating {
        0
    } else {
        p.stack_size
    };
    ProcessRow {
        pid: p.pid,
        name: p.rt.registry.name_of(p.pid),
        status,
        // Relaxed: a statistic.
        reductions: p.reductions.load(Ordering::Relaxed),
        queue_len: p.tx.len(),
        memory: stack + std::mem::size_of::<Process>(),
        children: board.get(&p.pid).map(|c| c.to_vec()),
    }
}

pub(crate) fn take(rt: &Shared) -> Snapshot {
    let board = rt.board.read();
    let mut processes: Vec<ProcessRow> = rt
        .table
        .processes()
        .iter()
        .filter(|p| p.is_alive())
        .map(|p| row(p, &board))
        .collect();
    processes.sort_unstable_by_key(|r| r.pid);
    Snapshot {
        stats: Stats::of(rt),
        processes,
    }
}

/// The calling process's runtime: every live process and the counters.
/// Costs one pass over the process table; nothing when not called.
///
/// ```
/// bream::run(|| {
///     let child = bream::spawn(|| { let () = bream::receive(); });
///     bream::register("child", child).unwrap();
///     let snap = bream::observer::snapshot();
///     let row = snap.processes.iter().find(|r| r.pid == child).unwrap();
///     assert_eq!(row.name, Some("child"));
///     bream::send(child, ());
/// });
/// ```
///
/// # Panics
/// Outside a bream process (use [`Runtime::snapshot`] there).
pub fn snapshot() -> Snapshot {
    take(&current("observer::snapshot").rt)
}

impl Runtime {
    /// [`snapshot`](crate::observer::snapshot), from outside the runtime.
    ///
    /// # Panics
    /// After shutdown.
    pub fn snapshot(&self) -> Snapshot {
        take(self.shared())
    }
}
