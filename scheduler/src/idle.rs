//! The idle protocol: when a worker with nothing to do may sleep, and whom a
//! new task wakes.
//!
//! # Vocabulary
//!
//! - A **worker** is *unparked* while its thread is awake (running a task,
//!   looking for one, or about to sleep) and *parked* while it sleeps (on its
//!   condition variable, or in the I/O driver's `poll`).
//! - A worker is **searching** while it is awake, has no task, and is stealing
//!   from the others. Searching is a promise: "I am about to look at every
//!   queue".
//! - A **wakeup** is what a thread does after making a task runnable: maybe
//!   unpark one parked worker so the task does not wait for a busy one.
//!
//! # Why this is hard
//!
//! Two goals pull against each other. An idle runtime must use no CPU, so a
//! worker that finds nothing must really sleep. A runnable task must never wait
//! while every worker sleeps, so whoever makes a task runnable must sometimes
//! wake a worker, and wakeups cost a futex syscall each (~240 ns here) plus the
//! woken thread's trip through every queue. Waking one worker per new task
//! makes a spawn loop thrash: every wakeup finds its task already stolen.
//!
//! # Rejected designs
//!
//! - **Spin forever** (no parking): an idle runtime burns every core.
//! - **Wake every parked worker per task** (a broadcast): a thundering herd;
//!   all but one find nothing.
//! - **Wake one per task unconditionally**: still a herd under a burst of
//!   spawns, and each wakeup is a syscall on the hot path.
//! - **A timed sleep that polls the queues**: wastes CPU when idle and adds
//!   latency when not.
//!
//! # The rule (Go's `nmspinning`, `runtime/proc.go`; tokio's `idle.rs`)
//!
//! Wake at most one worker, and none while another is searching: a searcher
//! will find the new task anyway. When a searcher finds work, it is no longer
//! searching, so if it was the last one it wakes another to take its place:
//! work that arrives in bursts fans out one worker at a time, each woken worker
//! taking half of what is queued (steal half). At most half the workers search
//! at once, which bounds the cost of stealing when there is little to steal.
//!
//! Both counters live in one word, `state`: the number of searching workers
//! in the low 16 bits and the number of unparked workers above them, so one
//! load sees a consistent pair.
//!
//! # The recipe (the racy part, step by step)
//!
//! Making a task runnable (`Shared::schedule`, `Scheduler::spawn`):
//!
//! 1. Push the task on a queue (the local queue or the injector).
//! 2. SeqCst read-modify-write of `state` (a StoreLoad barrier).
//! 3. If nobody is searching and somebody is parked, take the sleepers lock,
//!    re-check, count one worker as unparked *and searching*, pop a sleeper
//!    and unpark its thread ([`Idle::worker_to_notify`]).
//!
//! Going to sleep (`Worker::park`):
//!
//! 1. Check the own queue and `next` slot one last time; work there means no
//!    sleep.
//! 2. Under the sleepers lock: decrement `unparked` (and `searching` if this
//!    worker was searching), SeqCst, and push the worker on the sleepers list
//!    ([`Idle::transition_worker_to_parked`]).
//! 3. If that made the searching count 0 (this was the last searcher), look at
//!    every queue once more; if any holds a task, wake a worker (step 3 above,
//!    possibly this very one: it is already on the sleepers list).
//! 4. Sleep. Woken, either a waker popped this worker from the sleepers list
//!    (it wakes *searching*), or the I/O driver or a timer woke it while still
//!    listed (it stays parked unless it now has work:
//!    [`Idle::unpark_worker_by_id`]).
//!
//! Why no task is stranded: step 2 of making a task runnable and step 2 of
//! going to sleep are both SeqCst on `state`, so one of them comes first. If
//! the push's read comes first it sees the searcher still counted and leaves
//! the work to it; that searcher then either finds the task, or decrements the
//! count *after* the push and so sees the task in its step 3. If the decrement
//! comes first, the push sees `searching == 0` and a parked worker, and wakes
//! one. The loom model `idle_*` in `loom-tests/tests/scheduler.rs` checks it.

use crate::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::sync::{lock, Mutex};

/// Bits of `state` counting searching workers.
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;
/// `(state >> UNPARK_SHIFT) & COUNT_MASK` counts unparked workers.
const UNPARK_SHIFT: usize = 16;
/// `state >> TOTAL_SHIFT` counts workers: the regular ones and any stand-ins
/// running (monitor.rs, "Stand-ins"). In the same word as the other two, so
/// "someone is parked" (`unparked < total`) is read in one load.
const TOTAL_SHIFT: usize = 32;
/// Mask of the unparked count once shifted down.
const COUNT_MASK: usize = (1 << (TOTAL_SHIFT - UNPARK_SHIFT)) - 1;

/// The idle counters and the list of sleeping workers, shared by every worker
/// and every waker.
#[derive(Debug)]
pub struct Idle {
    /// `searching | unparked << 16 | total << 32`. Read and written by every
    /// thread, always SeqCst: the recipe above relies on one total order of
    /// these accesses.
    state: AtomicUsize,
    /// Indices of parked workers. Pushed by the worker going to sleep, popped by
    /// the one waker that chose it; both under this lock, together with the
    /// matching change of `state`.
    sleepers: Mutex<Vec<usize>>,
}

impl Idle {
    /// Counters for `num_workers` workers, all unparked and none searching.
    pub fn new(num_workers: usize) -> Idle {
        assert!(num_workers < SEARCH_MASK, "too many workers");
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT | num_workers << TOTAL_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
        }
    }

    /// One more worker (a stand-in thread about to start), counted unparked
    /// and not searching: it starts awake.
    pub fn add_worker(&self) {
        // SeqCst: as every access of `state`.
        self.state
            .fetch_add(1 << UNPARK_SHIFT | 1 << TOTAL_SHIFT, SeqCst);
    }

    /// A stand-in retires: it is awake (unparked) and not searching, and is
    /// on no sleepers list, so no waker can choose it any more.
    pub fn remove_worker(&self) {
        let prev = self
            .state
            .fetch_sub(1 << UNPARK_SHIFT | 1 << TOTAL_SHIFT, SeqCst);
        debug_assert!((prev >> UNPARK_SHIFT) & COUNT_MASK > 0);
    }

    /// Workers, stand-ins included.
    fn total(state: usize) -> usize {
        state >> TOTAL_SHIFT
    }

    fn unparked(state: usize) -> usize {
        (state >> UNPARK_SHIFT) & COUNT_MASK
    }

    /// Step 3 of making a task runnable: the worker to wake, if one should be
    /// woken. The chosen worker is already counted as unparked and searching;
    /// the caller must unpark its thread.
    pub fn worker_to_notify(&self) -> Option<usize> {
        if !self.notify_should_wakeup() {
            return None;
        }
        let mut sleepers = lock(&self.sleepers);
        // Re-check under the lock: another waker may have beaten us to it.
        if !self.notify_should_wakeup() {
            return None;
        }
        // SeqCst: one of the recipe's ordered accesses.
        self.state.fetch_add(1 | (1 << UNPARK_SHIFT), SeqCst);
        let worker = sleepers.pop();
        debug_assert!(worker.is_some(), "unparked < workers but no sleeper");
        worker
    }

    /// Step 2 of going to sleep. Returns true if this was the last searching
    /// worker: the caller must then look at every queue once more (step 3).
    pub fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = lock(&self.sleepers);
        let dec = (1 << UNPARK_SHIFT) | usize::from(is_searching);
        // SeqCst: the StoreLoad partner of step 2 of making a task runnable.
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
        is_searching && prev & SEARCH_MASK == 1
    }

    /// A worker with no task asks to search (steal). Refused when half the
    /// workers already search: they will find what there is.
    pub fn transition_worker_to_searching(&self) -> bool {
        let state = self.state.load(SeqCst);
        if 2 * (state & SEARCH_MASK) >= Self::total(state) {
            return false;
        }
        // May briefly overshoot the half by a racing searcher: harmless.
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searching worker found a task and stops searching. Returns true if it
    /// was the last searcher: the caller must wake another worker (there may
    /// be more work where it found this).
    pub fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        debug_assert!(prev & SEARCH_MASK > 0);
        prev & SEARCH_MASK == 1
    }

    /// A parked worker woke without being chosen by a waker (the I/O driver,
    /// a timer) and has work now: take it off the sleepers list and count it
    /// unparked (not searching). False if a waker chose it meanwhile (it is
    /// then counted unparked and searching already).
    pub fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = lock(&self.sleepers);
        if let Some(i) = sleepers.iter().position(|&w| w == worker) {
            sleepers.swap_remove(i);
            self.state.fetch_add(1 << UNPARK_SHIFT, SeqCst);
            return true;
        }
        false
    }

    /// True while `worker` is on the sleepers list (not chosen by a waker).
    pub fn is_parked(&self, worker: usize) -> bool {
        lock(&self.sleepers).contains(&worker)
    }

    /// Workers currently unparked (the monitor's "is anyone awake", tests and
    /// models).
    pub fn num_unparked(&self) -> usize {
        Self::unparked(self.state.load(SeqCst))
    }

    /// Workers currently searching (for tests and models).
    #[cfg(any(test, bream_loom))]
    pub fn num_searching(&self) -> usize {
        self.state.load(SeqCst) & SEARCH_MASK
    }

    /// Step 2 and the first half of step 3 of making a task runnable.
    fn notify_should_wakeup(&self) -> bool {
        // A read-modify-write, not a load: SeqCst RMWs are the StoreLoad
        // barrier between the caller's push and this read (see the recipe).
        let state = self.state.fetch_add(0, SeqCst);
        state & SEARCH_MASK == 0 && Self::unparked(state) < Self::total(state)
    }
}

#[cfg(all(test, not(bream_loom)))]
mod tests {
    use super::*;

    #[test]
    fn one_wakeup_while_searching() {
        let idle = Idle::new(2);
        assert!(!idle.transition_worker_to_parked(0, false));
        assert_eq!(
            idle.worker_to_notify(),
            Some(0),
            "a sleeper and no searcher: wake it"
        );
        assert_eq!(idle.num_searching(), 1);
        assert_eq!(idle.num_unparked(), 2);
        assert!(!idle.transition_worker_to_parked(1, false));
        assert_eq!(
            idle.worker_to_notify(),
            None,
            "worker 0 is searching: wake nobody"
        );
        assert!(idle.transition_worker_from_searching(), "last searcher");
        assert_eq!(idle.worker_to_notify(), Some(1));
    }

    #[test]
    fn a_stand_in_counts_while_it_runs() {
        let idle = Idle::new(1);
        assert!(!idle.transition_worker_to_parked(0, false));
        idle.add_worker();
        assert_eq!(idle.num_unparked(), 1);
        assert_eq!(idle.worker_to_notify(), Some(0), "worker 0 still sleeps");
        assert_eq!(idle.num_unparked(), 2);
        assert!(idle.transition_worker_from_searching());
        idle.remove_worker();
        assert_eq!(idle.num_unparked(), 1);
        assert_eq!(idle.worker_to_notify(), None, "nobody sleeps");
    }

    #[test]
    fn at_most_half_search() {
        let idle = Idle::new(4);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_searching());
        assert!(!idle.transition_worker_to_searching());
    }
}
