//! `bream::stats()`: what the runtime and each worker did so far.

use std::time::Duration;

use bream_scheduler::{SchedulerStats, WorkerStats};

use super::counter;
use crate::process::current;
use crate::runtime::{Runtime, Shared};

/// Processes that exited, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExitCounts {
    /// `ExitReason::Normal`.
    pub normal: u64,
    /// `Shutdown` and `ShutdownWith`.
    pub shutdown: u64,
    /// `Kill` and `Killed`.
    pub killed: u64,
    /// `Panic`.
    pub panic: u64,
    /// `StackOverflow`.
    pub stack_overflow: u64,
    /// `NoProc`.
    pub noproc: u64,
    /// Any other reason.
    pub other: u64,
}

impl ExitCounts {
    /// Every exit.
    pub fn total(&self) -> u64 {
        self.normal
            + self.shutdown
            + self.killed
            + self.panic
            + self.stack_overflow
            + self.noproc
            + self.other
    }
}

/// A snapshot of the counters ([`stats`], [`Runtime::stats`]). Each counter
/// is exact at some instant of the call; they are not all of one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Since the runtime started.
    pub uptime: Duration,
    /// Processes alive now.
    pub processes_alive: usize,
    /// Processes spawned (counted as the scheduler is handed the new
    /// process, so before it can run: the rare spawn the scheduler then
    /// refuses, at shutdown or out of stack memory, is counted too).
    pub processes_spawned: u64,
    /// Processes exited, by reason (a process that has begun its exit but
    /// not finished it is in neither count).
    pub exits: ExitCounts,
    /// Messages sent (to live or dead processes; signals are not messages).
    pub messages_sent: u64,
    /// Dead letters by reason (docs/messages.md, "Dead letters").
    pub dead_letters: crate::dead_letters::Counts,
    /// Per worker slot: time by state, slices run, steals, wakes, parks,
    /// reductions (regular workers first, then the stand-ins' spare slots).
    pub workers: Vec<WorkerStats>,
}

impl Stats {
    pub(crate) fn of(rt: &Shared) -> Stats {
        let s: SchedulerStats = rt.scheduler.stats();
        let c = |i: usize| s.app[i];
        Stats {
            uptime: s.uptime,
            processes_alive: rt.table.live(),
            processes_spawned: c(counter::SPAWNED),
            exits: ExitCounts {
                normal: c(counter::NORMAL),
                shutdown: c(counter::SHUTDOWN),
                killed: c(counter::KILLED),
                panic: c(counter::PANIC),
                stack_overflow: c(counter::STACK_OVERFLOW),
                noproc: c(counter::NOPROC),
                other: c(counter::OTHER),
            },
            messages_sent: c(counter::SENT),
            dead_letters: rt.dead_letters.counts(),
            workers: s.workers,
        }
    }
}

/// The calling process's runtime's counters. Always on and cheap: one pass
/// over the worker slots, no lock (Erlang's `statistics/1` and `msacc`).
///
/// ```
/// bream::run(|| {
///     let (pid, _) = bream::spawn_monitor(|| { let () = bream::receive(); });
///     bream::send(pid, ());
///     let _: bream::Down = bream::receive();
///     let s = bream::stats();
///     assert!(s.processes_spawned >= 2); // this one and the child
///     assert!(s.messages_sent >= 1);
///     assert_eq!(s.exits.normal, 1);
///     assert!(s.workers.iter().map(|w| w.tasks_run).sum::<u64>() >= 2);
/// });
/// ```
///
/// # Panics
/// Outside a bream process (use [`Runtime::stats`] there).
pub fn stats() -> Stats {
    Stats::of(&current("stats").rt)
}

impl Runtime {
    /// The counters, from outside the runtime ([`stats`]).
    ///
    /// # Panics
    /// After shutdown.
    pub fn stats(&self) -> Stats {
        Stats::of(self.shared())
    }
}
