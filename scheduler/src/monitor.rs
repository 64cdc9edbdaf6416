//! The monitor: a thread that watches for a task that runs too long without
//! giving its worker back (Go's `sysmon`, the BEAM's `system_monitor`
//! `long_schedule`).
//!
//! # The problem
//!
//! Scheduling is cooperative: a task gives its worker back only at a yield
//! point (a receive that waits, a spent budget, `yield_now`, ...). Rust code
//! that computes for a second without calling bream keeps its worker for that
//! second. The other workers steal what is queued behind it, but two things
//! stay stuck:
//!
//! 1. The worker's **`next` slot**: the task the running one woke last, which
//!    would have run right after it. Nobody steals it (stealing it at once
//!    would split every ping-pong pair across two cores), so it waits for the
//!    long task to end.
//! 2. **Nobody is told.** A BEAM engineer expects `long_schedule` reports: the
//!    one tool that finds the function that forgot to yield.
//!
//! # What the monitor does
//!
//! Each worker publishes, in its [`Lane`] (run_queue.rs), a counter `runs` that it bumps
//! (plain stores, no read-modify-write) as it resumes a task and again when
//! the task gives the worker back: odd while a task runs. Every tick the
//! monitor reads each lane:
//!
//! - the same odd value as at the previous tick: the same task has run for at
//!   least a tick. The monitor takes the `next` slot's task (one atomic swap:
//!   the worker itself takes it with a swap too, so exactly one of them gets
//!   it), queues it on the shared injector and wakes a parked worker for it;
//! - once the task has run for `long_schedule` or more: a stand-in thread
//!   takes over the worker's queue (standin.rs, while spare slots remain),
//!   and one report, to the [`Builder::on_long_schedule`] hook if one is set
//!   (the runtime sets one that names the pid), else as a `tracing` warning.
//!   The report says which stand-in took over (`LongSchedule::stand_in`).
//!
//! Every tick it also tells the stand-ins whose worker came back to retire
//! (`StandIns::check`).
//!
//! # Sleeping
//!
//! An idle runtime uses no CPU: when every worker is parked there is nothing to
//! watch, so the monitor sleeps without a timeout, and the first worker to wake
//! up wakes it ([`Monitor::kick`]). The two sides form a Dekker pair over
//! SeqCst accesses: the monitor sets `deep` and then reads the idle counters;
//! a waking worker is counted unparked (SeqCst, idle.rs) and then reads
//! `deep`. At least one of them sees the other, so the monitor never sleeps
//! deeply while a worker runs.
//!
//! [`Builder::on_long_schedule`]: crate::Builder::on_long_schedule

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::scheduler::Shared;
use crate::standin::StandIns;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{lock, Condvar, Mutex};

/// The default `long_schedule` threshold: a task that keeps its worker this
/// long is reported. 100 ms: ten times the BEAM's time slice of a few
/// milliseconds, and long enough that a report is always worth reading.
pub const DEFAULT_LONG_SCHEDULE: Duration = Duration::from_millis(100);

/// The longest tick: how late a stuck `next` task is rescued, at most.
const MAX_TICK: Duration = Duration::from_millis(10);

/// A report of a task that has kept its worker for a long time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LongSchedule {
    /// The worker it runs on.
    pub worker: usize,
    /// How long it has run without giving the worker back, at least.
    pub running_for: Duration,
    /// The task's `SpawnOpts::tag` (the runtime's pid of the process).
    pub tag: u64,
    /// The slot of the stand-in thread that took over the worker's queue
    /// (standin.rs), or `None` if none could (`Builder::spare_workers`
    /// reached, or 0).
    pub stand_in: Option<usize>,
    /// True for the report of shutdown, when the task has still not given its
    /// worker back after the grace period: its thread was detached.
    pub at_shutdown: bool,
}

/// The hook [`Builder::on_long_schedule`](crate::Builder::on_long_schedule)
/// installs.
pub(crate) type Hook = Arc<dyn Fn(LongSchedule) + Send + Sync>;

/// The monitor's sleep and its wake-up.
pub(crate) struct Monitor {
    /// The report threshold; `None`: no reports (the `next` rescue still runs).
    pub(crate) long_schedule: Option<Duration>,
    /// Called with each report.
    pub(crate) hook: Option<Hook>,
    /// True while the monitor sleeps without a timeout (every worker parked).
    /// SeqCst: the Dekker pair of the module essay.
    deep: AtomicBool,
    /// Guards the sleep; holds nothing.
    mutex: Mutex<()>,
    condvar: Condvar,
}

impl Monitor {
    pub(crate) fn new(long_schedule: Option<Duration>, hook: Option<Hook>) -> Monitor {
        Monitor {
            long_schedule,
            hook,
            deep: AtomicBool::new(false),
            mutex: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }

    /// A worker woke up: wake the monitor if it sleeps without a timeout.
    /// Called after the worker is counted unparked (SeqCst, idle.rs).
    pub(crate) fn kick(&self) {
        if self.deep.load(Ordering::SeqCst) {
            let _g = lock(&self.mutex);
            self.condvar.notify_one();
        }
    }

    /// True while the monitor sleeps without a timeout (tests).
    #[cfg(test)]
    pub(crate) fn is_asleep(&self) -> bool {
        self.deep.load(Ordering::SeqCst)
    }

    /// Shutdown: wake the monitor whatever it sleeps on (it then sees the
    /// flag and returns).
    pub(crate) fn wake_for_shutdown(&self) {
        let _g = lock(&self.mutex);
        self.condvar.notify_all();
    }

    /// The tick: short enough to catch the threshold, at most [`MAX_TICK`].
    fn tick(&self) -> Duration {
        self.long_schedule.map_or(MAX_TICK, |t| {
            (t / 2).clamp(Duration::from_micros(100), MAX_TICK)
        })
    }
}

/// What the monitor remembers of one worker between ticks.
#[derive(Clone, Copy, Default)]
struct Seen {
    /// `runs` at the last tick.
    runs: u32,
    /// When that (odd) value was first seen.
    since: Option<Instant>,
    /// The running task's tag, read when `runs` was.
    tag: u64,
    /// Whether the run was reported already.
    reported: bool,
}

/// The monitor thread's body.
pub(crate) fn run(sh: Arc<Shared>) {
    let m = &sh.monitor;
    let mut seen = vec![Seen::default(); sh.lanes.len()];
    loop {
        sleep(&sh);
        if sh.shutdown.load(Ordering::Acquire) {
            return;
        }
        let now = Instant::now();
        for (i, lane) in sh.lanes.iter().enumerate() {
            // Relaxed: a hint (see `Lane::runs`).
            let runs = lane.runs.load(Ordering::Relaxed);
            let s = &mut seen[i];
            if runs % 2 == 0 || runs != s.runs {
                *s = Seen {
                    runs,
                    since: (runs % 2 == 1).then_some(now),
                    // Relaxed: a hint (see `Lane::tag`).
                    tag: lane.tag.load(Ordering::Relaxed),
                    reported: false,
                };
                continue;
            }
            // The same task has run since the last tick at least.
            if let Some(t) = lane.take_next() {
                sh.injector.push(t);
                sh.notify_parked();
            }
            let running_for = now - s.since.unwrap_or(now);
            let limit = m.long_schedule.unwrap_or(DEFAULT_LONG_SCHEDULE);
            if !s.reported && running_for >= limit {
                s.reported = true;
                // Hand the worker's queue to a stand-in (standin.rs).
                let stand_in = StandIns::start(&sh, i, runs);
                if m.long_schedule.is_some() {
                    report(
                        m,
                        LongSchedule {
                            worker: i,
                            running_for,
                            tag: s.tag,
                            stand_in,
                            at_shutdown: false,
                        },
                    );
                }
            }
        }
        StandIns::check(&sh);
    }
}

/// Sleeps one tick, or until kicked if every worker is parked.
fn sleep(sh: &Shared) {
    let m = &sh.monitor;
    let g = lock(&m.mutex);
    if sh.shutdown.load(Ordering::Acquire) {
        return;
    }
    m.deep.store(true, Ordering::SeqCst);
    let g = if sh.idle.num_unparked() == 0 {
        // A spurious wake-up only costs a round of the loop.
        m.condvar.wait(g).unwrap_or_else(|e| e.into_inner())
    } else {
        m.deep.store(false, Ordering::SeqCst);
        m.condvar
            .wait_timeout(g, m.tick())
            .unwrap_or_else(|e| e.into_inner())
            .0
    };
    m.deep.store(false, Ordering::SeqCst);
    drop(g);
}

/// Hands `r` to the hook, else logs it.
pub(crate) fn report(m: &Monitor, r: LongSchedule) {
    if let Some(h) = &m.hook {
        if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h(r))) {
            tracing::error!(
                "bream-scheduler: the long_schedule hook panicked: {}",
                crate::context::panic_message(&*p)
            );
        }
        return;
    }
    if r.at_shutdown {
        tracing::error!(
            worker = r.worker,
            "bream-scheduler: shutdown: a task on worker {} has not given its worker back \
             after {:?}; its thread is detached and the task left running",
            r.worker,
            r.running_for
        );
        return;
    }
    tracing::warn!(
        worker = r.worker,
        stand_in = ?r.stand_in,
        running_for_ms = r.running_for.as_millis() as u64,
        "bream-scheduler: long schedule: a task has run {:?} on worker {} without \
         yielding; its worker serves nobody else meanwhile (call task::yield_now \
         or task::reduce in long loops, or move the work to task::blocking)",
        r.running_for,
        r.worker
    );
}
