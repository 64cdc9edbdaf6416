//! Per-worker counters: what each worker did and where its time went.
//!
//! Erlang has `msacc` (microstate accounting: how much of each scheduler's
//! time went to running code, to the poller, to sleeping); Go prints
//! `GODEBUG=schedtrace`. These counters are bream's: cheap enough to be on
//! always, so `bream::stats()` works in production without a restart.
//!
//! # Why they cost (almost) nothing
//!
//! - **One writer per slot.** `workers[i]` is written only by the thread on
//!   worker slot i (a worker, or a stand-in on a spare slot: standin.rs), so
//!   an increment is a Relaxed load and a Relaxed store of the same word, no
//!   read-modify-write, no cache line shared with another writer (each slot
//!   is `CachePadded`). Readers sum the slots; a sum taken while the workers
//!   run is a snapshot of counters each exact at some instant, not of one
//!   instant.
//! - **The clock is read on state changes, not per task.** A worker's time
//!   is split by state ([`WorkerState`]); the clock is read when the state
//!   changes (running → searching → parked → running). A worker that finds
//!   task after task locally (ping-pong through the `next` slot) stays in
//!   `Running` and reads no clock at all.
//! - **Events from other threads** (a spawn from `main`, a send from a
//!   blocking-pool thread) go to `foreign` with a real `fetch_add`: rare.
//!
//! Counters the embedding runtime names (messages sent, exits by reason)
//! live in the same slots ([`Scheduler::count`]): the scheduler only adds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::scheduler::{Scheduler, Shared};
use crate::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use crate::worker::WorkerCtx;

/// How many counters the embedding runtime may name ([`Scheduler::count`]).
pub const APP_COUNTERS: usize = 12;

/// What a worker is doing, for time accounting (BEAM's msacc states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum WorkerState {
    /// Running tasks, and finding the next one in its own queues.
    Running = 0,
    /// Looking for work elsewhere: stealing, the injector, timers.
    Searching = 1,
    /// Asleep (in a condvar, or in the I/O driver's wait: parker.rs).
    Parked = 2,
    /// Polling the I/O driver without blocking (a maintenance round).
    Poller = 3,
}

const STATES: usize = 4;

impl WorkerState {
    fn from_u32(v: u32) -> WorkerState {
        match v {
            0 => WorkerState::Running,
            1 => WorkerState::Searching,
            2 => WorkerState::Parked,
            _ => WorkerState::Poller,
        }
    }
}

/// One worker slot's counters. Written by the slot's thread only (plain
/// load + store), read by anyone.
#[derive(Default)]
pub(crate) struct Slot {
    /// Time slices run (a resume of a task's context).
    tasks_run: AtomicU64,
    /// Successful steals by this worker from another worker's queue.
    steals: AtomicU64,
    /// Tasks taken by those steals.
    stolen_tasks: AtomicU64,
    /// Steals from this worker's queue, by others. The one counter another
    /// thread writes: `fetch_add`.
    steals_suffered: AtomicU64,
    /// Parked workers this thread woke (`notify_parked` found one).
    wakes: AtomicU64,
    /// Times this worker went to sleep.
    parks: AtomicU64,
    /// Task stacks frozen as they parked (context/freeze.rs).
    freezes: AtomicU64,
    /// Reductions spent by the tasks run here (approximate: a yield that
    /// runs on in place starts a fresh count).
    reductions: AtomicU64,
    /// Tasks spawned from this thread.
    spawned: AtomicU64,
    /// Tasks finished on this thread.
    finished: AtomicU64,
    /// Nanoseconds spent in each [`WorkerState`] before the current one.
    time_ns: [AtomicU64; STATES],
    /// The current state and when it began (ns since `Stats::base`).
    state: AtomicU32,
    since_ns: AtomicU64,
    /// The runtime's counters ([`Scheduler::count`]).
    app: [AtomicU64; APP_COUNTERS],
}

/// Adds `n` to a counter that only this thread writes.
#[inline(always)]
fn bump(c: &AtomicU64, n: u64) {
    // Relaxed: a statistic; the single writer makes load + store exact.
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// Every slot's counters, plus the ones for foreign threads.
pub(crate) struct Stats {
    /// When the scheduler started; `since_ns` counts from here. Immutable.
    base: Instant,
    /// `slots[i]`: worker slot i (regular workers, then spare slots).
    slots: Box<[SlotRef]>,
    /// Threads that are not workers: every write is a `fetch_add`.
    foreign: CachePadded<Slot>,
    /// Regular workers (the rest of `slots` are spare). Immutable.
    workers: usize,
}

/// A worker slot's counters, held by its worker too (`WorkerCtx::stats`: one
/// load on the hot path, not an index into `Stats::slots`).
pub(crate) type SlotRef = Arc<CachePadded<Slot>>;

impl Stats {
    /// Worker slot `i`'s counters, for the worker that runs on it.
    pub(crate) fn slot(&self, i: usize) -> SlotRef {
        self.slots[i].clone()
    }

    pub(crate) fn new(workers: usize, slots: usize) -> Stats {
        let s = Stats {
            base: Instant::now(),
            slots: (0..slots)
                .map(|_| Arc::new(CachePadded::new(Slot::default())))
                .collect(),
            foreign: CachePadded::new(Slot::default()),
            workers,
        };
        // A slot with no thread yet counts as parked.
        for slot in s.slots.iter() {
            slot.state
                .store(WorkerState::Parked as u32, Ordering::Relaxed);
        }
        s
    }

    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// The calling worker enters `state`. Reads the clock only if it changes.
    #[inline(always)]
    pub(crate) fn enter(&self, w: &WorkerCtx, state: WorkerState) {
        let slot = &*w.stats;
        if slot.state.load(Ordering::Relaxed) != state as u32 {
            self.change_state(slot, state);
        }
    }

    #[cold]
    #[inline(never)]
    fn change_state(&self, slot: &Slot, state: WorkerState) {
        let now = self.now_ns();
        let old = slot.state.load(Ordering::Relaxed) as usize;
        let since = slot.since_ns.load(Ordering::Relaxed);
        bump(&slot.time_ns[old], now.saturating_sub(since));
        slot.since_ns.store(now, Ordering::Relaxed);
        slot.state.store(state as u32, Ordering::Relaxed);
    }

    #[inline(always)]
    pub(crate) fn slice(&self, w: &WorkerCtx, reductions: u64) {
        let slot = &*w.stats;
        bump(&slot.tasks_run, 1);
        bump(&slot.reductions, reductions);
    }

    pub(crate) fn stole(&self, w: &WorkerCtx, victim: usize, n: usize) {
        let slot = &*w.stats;
        bump(&slot.steals, 1);
        bump(&slot.stolen_tasks, n as u64);
        self.slots[victim]
            .steals_suffered
            .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn parked(&self, w: &WorkerCtx) {
        bump(&w.stats.parks, 1);
    }

    pub(crate) fn froze(&self, w: &WorkerCtx) {
        bump(&w.stats.freezes, 1);
    }

    /// A counter of the calling thread's slot (`w`) or of `foreign`.
    #[inline(always)]
    fn add(&self, w: Option<&WorkerCtx>, pick: impl Fn(&Slot) -> &AtomicU64, n: u64) {
        match w {
            Some(w) => bump(pick(&w.stats), n),
            None => {
                pick(&self.foreign).fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn woke(&self, w: Option<&WorkerCtx>) {
        self.add(w, |s| &s.wakes, 1);
    }

    pub(crate) fn spawned(&self, w: Option<&WorkerCtx>) {
        self.add(w, |s| &s.spawned, 1);
    }

    pub(crate) fn finished(&self, w: Option<&WorkerCtx>) {
        self.add(w, |s| &s.finished, 1);
    }

    #[inline(always)]
    pub(crate) fn app(&self, w: Option<&WorkerCtx>, i: usize) {
        self.add(w, |s| &s.app[i % APP_COUNTERS], 1);
    }

    fn snapshot(&self, live_tasks: usize) -> SchedulerStats {
        let now = self.now_ns();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let workers = self
            .slots
            .iter()
            .enumerate()
            .map(|(index, s)| {
                let state = WorkerState::from_u32(s.state.load(Ordering::Relaxed));
                let mut time: [u64; STATES] = std::array::from_fn(|i| load(&s.time_ns[i]));
                // The current state's time so far (the writer may move on
                // meanwhile: a snapshot is approximate by a few ns).
                time[state as usize] += now.saturating_sub(load(&s.since_ns));
                WorkerStats {
                    index,
                    spare: index >= self.workers,
                    state,
                    tasks_run: load(&s.tasks_run),
                    steals: load(&s.steals),
                    stolen_tasks: load(&s.stolen_tasks),
                    steals_suffered: load(&s.steals_suffered),
                    wakes: load(&s.wakes),
                    parks: load(&s.parks),
                    freezes: load(&s.freezes),
                    reductions: load(&s.reductions),
                    running: Duration::from_nanos(time[0]),
                    searching: Duration::from_nanos(time[1]),
                    parked: Duration::from_nanos(time[2]),
                    poller: Duration::from_nanos(time[3]),
                }
            })
            .collect();
        let all = || self.slots.iter().map(|s| &***s).chain([&*self.foreign]);
        SchedulerStats {
            uptime: Duration::from_nanos(now),
            live_tasks,
            spawned: all().map(|s| load(&s.spawned)).sum(),
            finished: all().map(|s| load(&s.finished)).sum(),
            foreign_wakes: load(&self.foreign.wakes),
            app: std::array::from_fn(|i| all().map(|s| load(&s.app[i])).sum()),
            workers,
        }
    }
}

/// One worker slot's counters ([`Scheduler::stats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// The slot: regular workers are `0..workers`, spare slots (stand-ins) follow.
    pub index: usize,
    /// A spare slot, used only while a stand-in covers a stuck worker.
    pub spare: bool,
    /// What it is doing now.
    pub state: WorkerState,
    /// Time slices run (each a resume of a task).
    pub tasks_run: u64,
    /// Successful steals from other workers' queues.
    pub steals: u64,
    /// Tasks those steals took (a steal takes half a queue).
    pub stolen_tasks: u64,
    /// Steals by other workers from this one's queue.
    pub steals_suffered: u64,
    /// Parked workers this one woke.
    pub wakes: u64,
    /// Times it went to sleep.
    pub parks: u64,
    /// Stacks of parking tasks it froze (`task::park_frozen`; a runtime
    /// process's `hibernate_after`).
    pub freezes: u64,
    /// Reductions spent by the tasks it ran (approximate: a yield that
    /// runs on at once starts a fresh slice uncounted).
    pub reductions: u64,
    /// Time running tasks and finding them in its own queues.
    pub running: Duration,
    /// Time looking for work elsewhere (stealing, the injector, timers).
    pub searching: Duration,
    /// Time asleep (including a sleep inside the I/O driver's wait).
    pub parked: Duration,
    /// Time polling I/O without blocking.
    pub poller: Duration,
}

impl WorkerStats {
    /// Fraction of the accounted time spent running tasks, 0.0 to 1.0.
    pub fn utilisation(&self) -> f64 {
        let total = self.running + self.searching + self.parked + self.poller;
        if total.is_zero() {
            return 0.0;
        }
        self.running.as_secs_f64() / total.as_secs_f64()
    }
}

/// A snapshot of a scheduler's counters ([`Scheduler::stats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchedulerStats {
    /// Since the scheduler started.
    pub uptime: Duration,
    /// Tasks alive now.
    pub live_tasks: usize,
    /// Tasks spawned.
    pub spawned: u64,
    /// Tasks finished.
    pub finished: u64,
    /// Parked workers woken by threads that are not workers.
    pub foreign_wakes: u64,
    /// The embedding runtime's counters ([`Scheduler::count`]), summed.
    pub app: [u64; APP_COUNTERS],
    /// Per worker slot.
    pub workers: Vec<WorkerStats>,
}

impl Scheduler {
    /// A snapshot of the counters: per worker, summed on read. Cheap (no
    /// lock; one pass over the worker slots) and always on.
    ///
    /// ```
    /// use bream_scheduler::{Scheduler, SpawnOpts, TaskOwner, Outcome};
    /// use std::sync::Arc;
    /// struct Quiet;
    /// impl TaskOwner for Quiet {
    ///     fn on_exit(&self, _: Outcome) {}
    ///     fn as_any(&self) -> &dyn std::any::Any { self }
    /// }
    /// let sched = Scheduler::builder().workers(2).build().unwrap();
    /// sched.spawn(SpawnOpts::default(), Arc::new(Quiet), || {}).unwrap();
    /// let s = sched.stats();
    /// assert_eq!(s.spawned, 1);
    /// assert_eq!(s.workers.iter().filter(|w| !w.spare).count(), 2);
    /// sched.shutdown();
    /// ```
    pub fn stats(&self) -> SchedulerStats {
        self.shared.stats.snapshot(self.shared.registry.len())
    }

    /// Adds one to the embedding runtime's counter `i` (modulo
    /// [`APP_COUNTERS`]) in the calling worker's slot: a plain load and
    /// store on a worker of this scheduler, a `fetch_add` elsewhere. The
    /// runtime counts messages and exits by reason this way; it names them.
    #[inline]
    pub fn count(&self, i: usize) {
        let sh = &self.shared;
        sh.stats.app(current_worker(sh), i);
    }
}

/// The calling thread's worker, if it is one of `shared`'s.
#[inline]
pub(crate) fn current_worker(shared: &Shared) -> Option<&WorkerCtx> {
    let p = crate::worker::worker_ptr();
    // SAFETY: a non-null `WORKER` points at the `WorkerCtx` in `worker::run`'s
    // frame on this very thread, which outlives this call (it is reset to
    // null before that frame ends). The reference is used within the
    // caller's current call only, never across a suspension.
    let w = unsafe { p.as_ref()? };
    std::ptr::eq(std::sync::Arc::as_ptr(&w.shared), shared).then_some(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_time_adds_up() {
        let s = Stats::new(1, 1);
        let slot = &s.slots[0];
        s.change_state(slot, WorkerState::Running);
        std::thread::sleep(Duration::from_millis(2));
        s.change_state(slot, WorkerState::Parked);
        let snap = s.snapshot(0);
        assert!(snap.workers[0].running >= Duration::from_millis(2));
        assert_eq!(snap.workers[0].state, WorkerState::Parked);
    }
}
