//! What a task can do to itself: yield, park, spend budget, sleep, block.
//!
//! Every function here is callable only from inside a task (code running in a
//! closure given to [`Scheduler::spawn`](crate::Scheduler::spawn)); called
//! anywhere else it panics with a message saying so. [`in_task`] tells which.
//!
//! Each function that can suspend (`yield_now`, `park`, `park_timeout`,
//! `reduce` when the budget runs out, `sleep`, `blocking`) is a *yield point*:
//! the task may continue on another worker thread. Hold no thread-local borrow
//! and no `!Send` value across one (docs/stacks.md).

use std::panic;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::scheduler::Scheduler;
use crate::task_ref::TaskRef;
use crate::timer::Action;
use crate::worker::{self, Request, WorkerCtx};

/// How [`park_timeout`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Park {
    /// Unparked (or a spurious wakeup) before the deadline.
    Unparked,
    /// The deadline passed.
    TimedOut,
}

/// The worker running the current task, or a panic naming `what`.
///
/// The reference must not be kept across a suspension (the task may resume on
/// another thread): every caller below uses it and drops it before
/// suspending.
fn worker(what: &str) -> &'static WorkerCtx {
    let p = worker::worker_ptr();
    // SAFETY: a non-null `WORKER` points at this thread's live `WorkerCtx`
    // (worker.rs), and callers use the reference only before their next
    // suspension, i.e. while still on this thread.
    match unsafe { p.as_ref() } {
        Some(w) if !w.current.get().is_null() => w,
        _ => panic!("bream_scheduler::task::{what} called outside a task"),
    }
}

/// The worker, checked that the task may suspend now.
fn worker_to_suspend(what: &str) -> &'static WorkerCtx {
    let w = worker(what);
    assert!(
        !w.borrowed.get(),
        "bream_scheduler::task::{what} called inside task::with_current's closure, which must not suspend"
    );
    w
}

/// Leave `req` for the worker and switch back to it.
fn suspend_with(w: &WorkerCtx, req: Request) {
    w.request.set(req);
    crate::context::suspend();
}

/// True when called from inside a task.
pub fn in_task() -> bool {
    let p = worker::worker_ptr();
    // SAFETY: as in `worker`; the reference does not outlive this call.
    unsafe { p.as_ref() }.is_some_and(|w| !w.current.get().is_null())
}

/// Call `f` with the current task's handle: no clone, no atomic operation.
/// Clone the `TaskRef` to keep it.
///
/// # Panics
///
/// Outside a task; and if `f` tries to suspend (park, yield, sleep, ...).
///
/// ```
/// # let sched = bream_scheduler::Scheduler::builder().workers(1).build().unwrap();
/// # let (tx, rx) = std::sync::mpsc::channel();
/// # struct O; impl bream_scheduler::TaskOwner for O { fn on_exit(&self, _: bream_scheduler::Outcome) {} fn as_any(&self) -> &dyn std::any::Any { self } }
/// sched.spawn(Default::default(), std::sync::Arc::new(O), move || {
///     let me = bream_scheduler::task::with_current(|t| t.clone());
///     tx.send(me).unwrap();
/// }).unwrap();
/// let me = rx.recv().unwrap();
/// # while me.outcome().is_none() { std::thread::yield_now(); }
/// # sched.shutdown();
/// ```
pub fn with_current<R>(f: impl FnOnce(&TaskRef) -> R) -> R {
    let w = worker("with_current");
    // SAFETY: `current` points at the `TaskRef` in `run_task`'s frame, alive
    // until the task suspends; `borrowed` forbids suspending while `f` runs.
    let t = unsafe { &*w.current.get() };
    let was = w.borrowed.replace(true);
    let _reset = Reset(w, was);
    f(t)
}

/// [`with_current`] for callers that may be outside a task: `None` there,
/// instead of a panic. One thread-local read in all (an [`in_task`] check
/// followed by `with_current` costs two): the runtime finds its current
/// process this way on every send and receive.
///
/// # Panics
///
/// If `f` tries to suspend (park, yield, sleep, ...).
///
/// ```
/// assert!(bream_scheduler::task::try_with_current(|_| ()).is_none());
/// ```
#[inline]
pub fn try_with_current<R>(f: impl FnOnce(&TaskRef) -> R) -> Option<R> {
    let p = worker::worker_ptr();
    // SAFETY: as in `worker`; the reference does not outlive this call.
    let w = unsafe { p.as_ref() }?;
    let cur = w.current.get();
    if cur.is_null() {
        return None;
    }
    // SAFETY: as in `with_current`: `current` points at the `TaskRef` in
    // `run_task`'s frame, alive until the task suspends; `borrowed` forbids
    // suspending while `f` runs.
    let t = unsafe { &*cur };
    let was = w.borrowed.replace(true);
    let _reset = Reset(w, was);
    Some(f(t))
}

/// Puts `WorkerCtx::borrowed` back when a `with_current` closure ends, also
/// when it unwinds.
struct Reset<'a>(&'a WorkerCtx, bool);

impl Drop for Reset<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.borrowed.set(self.1);
    }
}

/// Let other tasks run; this one goes to the back of its worker's queue.
///
/// If nothing else is runnable on this worker or in the shared injector, it
/// returns at once without a stack switch (a fresh time slice begins), except
/// every 61st call, which goes through the worker so timers and I/O are
/// served even while a task yields in a loop. A cancelled task is unwound here.
pub fn yield_now() {
    let w = worker_to_suspend("yield_now");
    // SAFETY: as in `with_current`; dropped before suspending.
    let t = unsafe { &*w.current.get() };
    if !t.task.state.is_cancelled() && w.alone_here() {
        w.budget.set(crate::worker::BUDGET);
        return;
    }
    suspend_with(w, Request::Yield);
}

/// Sleep until unparked ([`TaskRef::unpark`]).
///
/// Returns at once if an unpark arrived since the task last ran (it is
/// consumed). May return spuriously: park in a loop that checks a condition.
/// If the task was cancelled, it is unwound here instead of returning.
#[inline]
pub fn park() {
    let w = worker_to_suspend("park");
    // SAFETY: as in `with_current`; dropped before suspending.
    let t = unsafe { &*w.current.get() };
    if t.task.state.try_consume_notification() {
        return;
    }
    note_stack(t);
    suspend_with(w, Request::Park);
}

/// For the waker's prefetch (`Task::prefetch_for_resume`): notes about where
/// the parking task's stack pointer is (the address of a local of this
/// frame, which the caller's frame sits just above). `#[inline(always)]` so
/// the local is in the parking function's own frame.
#[inline(always)]
fn note_stack(t: &TaskRef) {
    let here = 0u8;
    // Relaxed: a hint.
    t.task.parked_sp.store(
        std::ptr::addr_of!(here) as usize,
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// [`park`] with a deadline: returns [`Park::TimedOut`] once `d` has passed
/// (rounded up to the timer wheel's millisecond), [`Park::Unparked`] if
/// unparked (or woken spuriously) before.
pub fn park_timeout(d: Duration) -> Park {
    park_with(Some(d), Request::Park, "park_timeout")
}

/// [`park`] (with a deadline if `timeout` is `Some`, as [`park_timeout`])
/// that also **freezes** the task's stack while it sleeps: once the task has
/// switched out, its worker copies the live frames (typically a few hundred
/// bytes) to the heap and gives the stack's pages back to the kernel; the
/// next resume copies them back to the same addresses before the task runs
/// (docs/stacks.md, "Freezing an idle stack"). For a task that expects to
/// sleep long: freezing costs a copy and a system call, the wake-up a page
/// fault and a copy (a few µs), and an idle task holds no stack page.
///
/// The task cannot tell the difference: pointers into its own stack stay
/// valid. Where freezing is not supported (an architecture without the
/// stack-pointer read), this is a plain park.
pub fn park_frozen(timeout: Option<Duration>) -> Park {
    match timeout {
        Some(d) => park_with(Some(d), Request::ParkFrozen, "park_frozen"),
        None => {
            // Not through `park_with`: its frame (timer bookkeeping) would be
            // frozen with the others, 100 bytes more per idle process.
            let w = worker_to_suspend("park_frozen");
            // SAFETY: as in `with_current`; dropped before suspending.
            let t = unsafe { &*w.current.get() };
            if !t.task.state.try_consume_notification() {
                note_stack(t);
                suspend_with(w, Request::ParkFrozen);
            }
            Park::Unparked
        }
    }
}

/// `park_timeout` and `park_frozen`: park with `request`, with a timer if
/// `timeout` is `Some` (`Park::Unparked` if not).
fn park_with(timeout: Option<Duration>, request: Request, what: &'static str) -> Park {
    let w = worker_to_suspend(what);
    // SAFETY: as in `with_current`; dropped before suspending.
    let t = unsafe { &*w.current.get() };
    if t.task.state.try_consume_notification() {
        return Park::Unparked;
    }
    let Some(d) = timeout else {
        note_stack(t);
        suspend_with(w, request);
        return Park::Unparked;
    };
    let sh = w.shared.clone();
    let when = sh.timers.deadline_after(d);
    let Some(key) = sh.insert_timer(when, Action::Wake(t.clone())) else {
        // Already due: the timer's unpark left a notification; consume it.
        worker(what).task_consume();
        return Park::TimedOut;
    };
    note_stack(t);
    suspend_with(w, request);
    if sh.timers.cancel(key) {
        Park::Unparked
    } else {
        Park::TimedOut
    }
}

impl WorkerCtx {
    fn task_consume(&self) {
        // SAFETY: as in `with_current`.
        let t = unsafe { &*self.current.get() };
        t.task.state.try_consume_notification();
    }
}

/// Spend `n` reductions of the time slice (4000 a slice, BEAM's
/// `CONTEXT_REDS`). When the slice is spent, the task yields to the back of
/// its worker's queue.
#[inline]
pub fn reduce(n: u32) {
    let w = worker("reduce");
    let left = w.budget.get().saturating_sub(n.min(i32::MAX as u32) as i32);
    w.budget.set(left);
    if left <= 0 && !w.borrowed.get() {
        suspend_with(w, Request::Budget);
    }
}

/// Sleep for at least `d` (parks the task; the worker runs others).
pub fn sleep(d: Duration) {
    let Some(deadline) = Instant::now().checked_add(d) else {
        loop {
            park_timeout(d); // "forever": only cancellation ends it
        }
    };
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        park_timeout(deadline - now);
    }
}

/// Run `f` on the blocking pool (separate threads) and park the task until it
/// returns; the worker runs other tasks meanwhile. A panic in `f` resumes in
/// the task.
///
/// # Cancellation
///
/// If the task is cancelled meanwhile, it is unwound at once; `f` still runs
/// to completion on its thread and its result is dropped.
pub fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let w = worker_to_suspend("blocking");
    let slot: Arc<parking_lot::Mutex<Option<std::thread::Result<R>>>> = Arc::default();
    let me = with_current(TaskRef::clone);
    let job_slot = slot.clone();
    let job = Box::new(move || {
        let traced = crate::trace::blocking_begin(&me.task.shared, me.task.tag);
        let r = panic::catch_unwind(panic::AssertUnwindSafe(f));
        *job_slot.lock() = Some(r);
        crate::trace::blocking_end(&me.task.shared, me.task.tag, traced);
        me.unpark();
    });
    if let Err(job) = crate::blocking::submit(&w.shared, job) {
        job(); // shutting down or no thread: run it here
    }
    loop {
        if let Some(r) = slot.lock().take() {
            return r.unwrap_or_else(|p| panic::resume_unwind(p));
        }
        park();
    }
}

/// A handle to the scheduler running the current task.
pub fn current_scheduler() -> Scheduler {
    Scheduler {
        shared: worker("current_scheduler").shared.clone(),
    }
}
