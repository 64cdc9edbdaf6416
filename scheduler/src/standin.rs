//! Stand-ins: extra worker threads that take over the queue of a worker
//! stuck in one task (Go's `handoffp` for an M blocked in a syscall).
//!
//! # The problem
//!
//! Scheduling is cooperative. A task that computes for seconds without a
//! yield point, or blocks its thread (a `parking_lot` mutex held by another
//! process across a `receive`, a blocking system call), keeps its worker. The
//! monitor (monitor.rs) already moves the task in that worker's `next` slot
//! elsewhere, and idle workers steal what is queued behind it. But with as
//! many stuck tasks as workers, nobody is left: every other process (timers
//! included) waits for one of them to come back, and in the mutex case
//! that is never.
//!
//! # What happens
//!
//! The scheduler keeps `spare_workers` spare *slots* next to its regular
//! workers: a lane, a parker, a deque and its stealer, made at build time and
//! unused. When the monitor sees a worker run one task past the long-schedule
//! threshold, it takes a free slot and starts a **stand-in** thread on it
//! (counted as one more worker by the idle protocol, `Idle::add_worker`). The
//! stand-in is an ordinary worker with one preference: it steals from the
//! stuck worker's deque before anything else, so what was queued there runs
//! at once rather than at the next steal. The hand-off is reported through
//! the long-schedule hook (`LongSchedule::stand_in`).
//!
//! When the stuck run ends (the covered worker's `runs` counter moves on),
//! the monitor flags the stand-in to retire and unparks it. A stand-in
//! retires only while awake and not running a task: it stops searching,
//! moves its `next` slot and its deque to the injector, leaves the idle
//! protocol (`Idle::remove_worker`: it is on no sleepers list, so no waker
//! can pick it), wakes a parked worker for what it handed back, and gives
//! its slot back. A stand-in that is itself stuck is covered by another
//! stand-in the same way, while free slots remain. When none remain, the
//! hand-off is skipped (and the report says so).
//!
//! Retired threads are joined by the monitor on a later tick (an unjoined
//! thread keeps its stack), and by shutdown.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_deque::Worker as Deque;
use parking_lot::Mutex;

use crate::scheduler::Shared;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::task_ref::TaskRef;
use crate::trap::Overflow;
use crate::worker;

/// The spare slots and the stand-ins running on them.
pub(crate) struct StandIns {
    /// Under one lock: taken by the monitor (start, check), by a retiring
    /// stand-in (giving its slot back) and by shutdown.
    inner: Mutex<Inner>,
    /// `retire[slot]`: set by the monitor when the worker a stand-in covers
    /// came back; read by the stand-in (Acquire; the monitor's store is
    /// Release, then it unparks the stand-in). Regular slots stay false.
    retire: Box<[AtomicBool]>,
}

struct Inner {
    /// Free spare slots with their (empty) deques.
    free: Vec<(usize, Deque<TaskRef>)>,
    /// Stand-ins running.
    active: Vec<Active>,
    /// Threads of stand-ins, running or retired and not yet joined.
    threads: Vec<(usize, JoinHandle<()>)>,
}

/// One running stand-in.
struct Active {
    /// Its slot.
    slot: usize,
    /// The worker it covers.
    covers: usize,
    /// The covered worker's `runs` value during the stuck run.
    runs: u32,
}

impl StandIns {
    /// `free` spare slots (with their deques); `slots` slots in all.
    pub(crate) fn new(free: Vec<(usize, Deque<TaskRef>)>, slots: usize) -> StandIns {
        StandIns {
            inner: Mutex::new(Inner {
                free,
                active: Vec::new(),
                threads: Vec::new(),
            }),
            retire: (0..slots).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// True once the stand-in on `slot` should retire.
    #[inline]
    pub(crate) fn retiring(&self, slot: usize) -> bool {
        // Acquire: pairs with the monitor's Release store.
        self.retire[slot].load(Ordering::Acquire)
    }

    /// Stand-ins running now (tests and reports).
    pub(crate) fn running(&self) -> usize {
        self.inner.lock().active.len()
    }

    /// The monitor: start a stand-in for worker `covers`, stuck in the run
    /// `runs`. Its slot, or `None` if no slot is free, the scheduler is
    /// shutting down, or the thread could not be made.
    pub(crate) fn start(sh: &Arc<Shared>, covers: usize, runs: u32) -> Option<usize> {
        let me = &sh.stand_ins;
        let mut inner = me.inner.lock();
        // Under the lock: shutdown sets the flag before it takes the threads
        // (under this lock too), so either it sees this thread or we see the flag.
        if sh.shutdown.load(Ordering::SeqCst) {
            return None;
        }
        let (slot, deque) = inner.free.pop()?;
        me.retire[slot].store(false, Ordering::Relaxed);
        sh.idle.add_worker();
        let overflow = if sh.config.trap {
            Overflow::Trap
        } else {
            Overflow::Abort
        };
        let s = Arc::clone(sh);
        let spawned = std::thread::Builder::new()
            .name(format!("bream-stand-in-{slot}"))
            .spawn(move || worker::run(s, slot, deque, overflow, Some(covers)));
        match spawned {
            Ok(h) => {
                inner.threads.push((slot, h));
                inner.active.push(Active { slot, covers, runs });
                Some(slot)
            }
            Err(e) => {
                // The closure (and the deque in it) is gone with the error:
                // the slot is lost, which only lowers the bound by one.
                sh.idle.remove_worker();
                tracing::error!("bream-scheduler: could not start a stand-in thread: {e}");
                None
            }
        }
    }

    /// The monitor, every tick: flag the stand-ins whose worker came back,
    /// and join retired threads.
    pub(crate) fn check(sh: &Shared) {
        let me = &sh.stand_ins;
        let mut inner = me.inner.lock();
        if inner.threads.is_empty() {
            return;
        }
        for a in &inner.active {
            // Relaxed: a hint (see `Lane::runs`); a stale value only delays
            // the retirement by a tick.
            if sh.lanes[a.covers].runs.load(Ordering::Relaxed) != a.runs
                && !me.retire[a.slot].swap(true, Ordering::Release)
            {
                sh.parkers[a.slot].unpark(&sh.driver);
            }
        }
        let mut i = 0;
        while i < inner.threads.len() {
            if inner.threads[i].1.is_finished() {
                let (_, h) = inner.threads.swap_remove(i);
                let _ = h.join();
            } else {
                i += 1;
            }
        }
    }

    /// A stand-in's thread, at its very end: give the slot back.
    pub(crate) fn give_back(&self, slot: usize, deque: Deque<TaskRef>) {
        let mut inner = self.inner.lock();
        inner.active.retain(|a| a.slot != slot);
        inner.free.push((slot, deque));
    }

    /// Shutdown: the stand-ins' threads, to join (or detach).
    pub(crate) fn take_threads(&self) -> Vec<(usize, JoinHandle<()>)> {
        std::mem::take(&mut self.inner.lock().threads)
    }
}
