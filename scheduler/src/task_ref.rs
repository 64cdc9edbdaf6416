//! A task and its handle.
//!
//! A [`Task`] is what the scheduler runs: a [`Context`] (its stack and code),
//! the [state word](crate::state), its outcome once finished, and the owner the
//! runtime attached. A [`TaskRef`] is a counted handle to it: the run queues,
//! the registry of live tasks, timers, I/O waiters and users all hold
//! `TaskRef`s, and whoever holds one may unpark or cancel the task.

use std::any::Any;
use std::cell::UnsafeCell;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::context::Context;
use crate::registry::Key;
use crate::scheduler::Shared;
use crate::state::State;

/// Attached to a task at spawn; told how the task ended.
///
/// The runtime attaches its `Process` here, so a [`TaskRef`] leads back to the
/// process and `on_exit` can fire links and monitors.
pub trait TaskOwner: Send + Sync + 'static {
    /// Called once, on a worker thread outside any task stack, after the
    /// task's stack went back to the pool: also after a stack overflow (whose
    /// frames never ran their destructors) and after cancellation.
    /// [`TaskRef::outcome`] already returns `Some(outcome)` here.
    fn on_exit(&self, outcome: Outcome);
    /// The owner as `Any`, so its creator can downcast it.
    fn as_any(&self) -> &dyn Any;
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its closure returned.
    Returned,
    /// It panicked; the panic message (or a placeholder for a non-string payload).
    Panicked(Box<str>),
    /// It ran into its stack's guard page. Its frames were *not* unwound: what
    /// they owned leaked and locks they held stay held (docs/stacks.md).
    StackOverflow,
    /// It was cancelled ([`TaskRef::cancel`] or shutdown) and unwound: its
    /// destructors ran.
    Cancelled,
}

/// The scheduler's record of one task. Shared through [`TaskRef`].
pub(crate) struct Task {
    /// The state word: who owns the run right. Any thread (state.rs).
    pub(crate) state: State,
    /// The stack and the code. `Some` until the task finishes. Touched only by
    /// the thread holding the run right (state `RUNNING`, or the shutdown
    /// thread after every worker stopped).
    context: UnsafeCell<Option<Context>>,
    /// The outcome. Written once by the thread holding the run right, before
    /// `state.transition_to_done` (Release); read by anyone after
    /// `state.is_done` (Acquire).
    outcome: UnsafeCell<Option<Outcome>>,
    /// Set at spawn, immutable.
    owner: Arc<dyn TaskOwner>,
    /// The scheduler this task belongs to. Immutable.
    pub(crate) shared: Arc<Shared>,
    /// Where the registry of live tasks keeps it. Immutable.
    pub(crate) key: Key,
    /// About where the task's stack pointer was when it last parked: written
    /// (Relaxed) by the task in `task::park`, read (Relaxed) by the thread
    /// that unparks it, to prefetch the stack lines its resumption will touch
    /// (see [`Task::prefetch_for_resume`]). Only a hint: a stale or torn value
    /// costs a useless prefetch, never a fault.
    pub(crate) parked_sp: AtomicUsize,
    /// `SpawnOpts::tag`: names the task in a long-schedule report. Immutable.
    pub(crate) tag: u64,
}

// SAFETY: `Task` is shared between threads through `Arc`. Its `UnsafeCell`s
// are the only non-Sync parts:
// 1. `context` is touched only by the holder of the run right, and the state
//    word hands the run right from thread to thread with AcqRel
//    transitions (state.rs), so accesses never overlap and each sees the
//    previous holder's writes. The `Context` itself is `Send` (context/mod.rs
//    proves it), so moving its use from one worker thread to another is sound.
// 2. `outcome` is written once, before the Release in `transition_to_done`,
//    and read only after an Acquire load that saw `DONE`.
unsafe impl Sync for Task {}
// SAFETY: every field is Send (`Context` by its own proof in context/mod.rs; the
// rest are Arcs of Send + Sync types, plain data and an atomic).
unsafe impl Send for Task {}

impl Task {
    pub(crate) fn new(
        context: Context,
        owner: Arc<dyn TaskOwner>,
        shared: Arc<Shared>,
        key: Key,
        tag: u64,
    ) -> Task {
        Task {
            state: State::new(),
            context: UnsafeCell::new(Some(context)),
            outcome: UnsafeCell::new(None),
            owner,
            shared,
            key,
            parked_sp: AtomicUsize::new(0),
            tag,
        }
    }

    /// Asks the CPU to start loading what this task touches first when it
    /// resumes: the top of its parked stack.
    ///
    /// # Why
    ///
    /// A process woken by a message usually runs next on the waker's worker
    /// (the `next` slot), a few hundred nanoseconds later. Its stack and its
    /// process record were last touched when it parked, and if many processes
    /// ran since (a ring of 10,000), every line the resumption touches (the
    /// registers the switch restores, the frames of `receive` it returns
    /// through, the mailbox fields in the record) is a cache miss, paid one
    /// after another. The waker knows the task will run and where its stack
    /// lines are, so it issues the loads now, and they complete while the
    /// waker finishes its own slice. A prefetch is only a hint: it never
    /// faults, whatever the address. Measured on the 10,000-process ring in
    /// docs/scheduler.md, "Prefetching the woken task". Prefetching the
    /// owner's record (the runtime's process) as well was tried and measured
    /// 6% slower.
    #[inline]
    pub(crate) fn prefetch_for_resume(&self) {
        // Relaxed: a hint (see the field).
        let sp = self.parked_sp.load(Ordering::Relaxed);
        if sp != 0 {
            // From below the switch's saved registers to above `receive`'s frame.
            prefetch_lines((sp & !63).wrapping_sub(PREFETCH_BELOW), PREFETCH_LINES);
        }
    }

    /// The task's context.
    ///
    /// # Safety
    ///
    /// The caller holds the run right (it moved the state to `RUNNING`, or
    /// every worker has stopped), and no other reference from this method is
    /// alive.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn context_mut(&self) -> &mut Option<Context> {
        // SAFETY: exclusive by the caller's contract.
        unsafe { &mut *self.context.get() }
    }

    /// Record the outcome; the caller then calls `transition_to_done`.
    ///
    /// # Safety
    ///
    /// The caller holds the run right and has not yet marked the task done.
    pub(crate) unsafe fn set_outcome(&self, outcome: Outcome) {
        // SAFETY: the run-right holder is the only writer, and readers wait
        // for DONE, which is published after this write.
        unsafe { *self.outcome.get() = Some(outcome) }
    }
}

/// Bytes below the parked stack pointer to prefetch: the frames of `park`,
/// the switch and its saved registers.
const PREFETCH_BELOW: usize = 256;
/// Cache lines to prefetch in all: 256 bytes below and 512 above. Both picked
/// by measurement (ring of 10,000: 128/8, 256/8, 256/12, 256/16, 384/12,
/// 512/16, 768/24 and 1024/32 tried; 256/12 was fastest, 128/8 lost most of
/// the gain).
const PREFETCH_LINES: usize = 12;

/// Prefetches `n` cache lines from `addr` on (a no-op off x86-64).
#[inline(always)]
fn prefetch_lines(addr: usize, n: usize) {
    for line in 0..n {
        let a = addr.wrapping_add(line * 64);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `prefetcht0` is a hint: it reads no memory architecturally
        // and never faults, whatever the address; SSE is part of the x86-64
        // baseline.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(a as *const i8);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = a;
    }
}

/// A handle to a task: unpark it, cancel it, ask how it ended.
///
/// Cheap to clone (one `Arc`). `Send + Sync`: any thread may hold and use one.
#[derive(Clone)]
pub struct TaskRef {
    pub(crate) task: Arc<Task>,
}

impl TaskRef {
    /// Make the task runnable if it is parked.
    ///
    /// Any thread, any number of times. If the task is parked, exactly one
    /// concurrent `unpark` (or `cancel`) schedules it; if it is running, its
    /// next [`park`](crate::task::park) returns at once; if it is already
    /// runnable or finished, nothing happens.
    ///
    /// # Ordering
    ///
    /// What the caller wrote before `unpark` is visible to the task when it
    /// next runs.
    #[inline]
    pub fn unpark(&self) {
        if self.task.state.unpark() {
            // SAFETY: `unpark` returned true: this call moved the task out of
            // PARKED, so it owns the parked reference (see `into_parked`).
            let t = unsafe { self.take_parked() };
            self.task.prefetch_for_resume();
            self.task.shared.schedule(t);
        }
    }

    /// Cancel the task: a parked or queued task is unwound (its destructors
    /// run) without running its code any further, and ends with
    /// [`Outcome::Cancelled`]. A running task is unwound at its next
    /// scheduling point (park, yield, a spent budget). A finished task is left
    /// alone.
    pub fn cancel(&self) {
        if self.task.state.cancel() {
            // SAFETY: as in `unpark`: this call moved the task out of PARKED.
            let t = unsafe { self.take_parked() };
            self.task.shared.schedule(t);
        }
    }

    /// The worker's side of a park: the handle it ran the task with is not
    /// dropped but kept by the parked task itself, as its *parked reference*,
    /// and handed to whoever moves the task out of `PARKED` (the one
    /// `unpark`, `cancel` or shutdown that wins the state CAS), who queues it.
    ///
    /// So a park and the wake-up that follows cost no reference-count
    /// traffic: the handle travels from the run queue to the task and back,
    /// where a clone in `unpark` and a drop in the worker would be two atomic
    /// read-modify-writes on every message that wakes a process. The state
    /// word already proves that exactly one thread leaves `PARKED` per entry
    /// into it (state.rs); the reference rides on that proof.
    ///
    /// Call only right after `transition_to_parked` returned `Parked`.
    pub(crate) fn into_parked(self) {
        std::mem::forget(self);
    }

    /// Takes back the reference [`into_parked`](Self::into_parked) left.
    ///
    /// # Safety
    ///
    /// The caller's state transition moved the task out of `PARKED` (so an
    /// `into_parked` preceded it, and no other thread takes this reference).
    pub(crate) unsafe fn take_parked(&self) -> TaskRef {
        let raw = Arc::as_ptr(&self.task);
        // SAFETY: the strong count `into_parked` forgot is still counted, and
        // the caller's contract gives it to this call alone; `Arc::as_ptr`
        // is the pointer `Arc::from_raw` expects.
        let task = unsafe { Arc::from_raw(raw) };
        TaskRef { task }
    }

    /// How the task ended, or `None` while it lives.
    pub fn outcome(&self) -> Option<Outcome> {
        if !self.task.state.is_done() {
            return None;
        }
        // SAFETY: DONE was observed with Acquire; the outcome was written
        // before the Release that made it DONE and is never written again.
        unsafe { (*self.task.outcome.get()).clone() }
    }

    /// The owner attached at spawn.
    pub fn owner(&self) -> &Arc<dyn TaskOwner> {
        &self.task.owner
    }

    /// True if both handles name the same task.
    pub fn ptr_eq(&self, other: &TaskRef) -> bool {
        Arc::ptr_eq(&self.task, &other.task)
    }

    /// True while the task is parked (for tests and diagnostics; may be stale
    /// at once).
    pub fn is_parked(&self) -> bool {
        self.task.state.is_parked()
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRef")
            .field("task", &Arc::as_ptr(&self.task))
            .field("state", &self.task.state)
            .finish()
    }
}
