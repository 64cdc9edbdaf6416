//! A worker: one OS thread running tasks from its queues.
//!
//! ```text
//!                 ┌──────────── Injector (shared, FIFO) ◄── spawn/unpark from
//!                 │                                         foreign threads
//!     worker 0    ▼                 worker 1
//!   ┌────────┐ ┌──────────────┐   ┌────────┐ ┌──────────────┐
//!   │ next   │ │ local deque  │   │ next   │ │ local deque  │
//!   │ (LIFO, │ │ FIFO: push   │◄──┼─steal half (steal_batch) │
//!   │ 1 slot)│ │ back, pop    │   │        │ │              │
//!   └────────┘ │ front        │   └────────┘ └──────────────┘
//!              └──────────────┘
//! ```
//!
//! # Where the next task comes from (`find_local`, then `search`)
//!
//! 1. Every [`MAINTENANCE_INTERVAL`]-th round: fire due timers, poll I/O if
//!    the driver is free, and look at the injector *first* (Go's
//!    `schedtick % 61`), so a busy local queue cannot starve it.
//! 2. The `next` slot, if the time slice has budget left: a task unparked by
//!    the running task runs right after it, on this core, and *inherits the
//!    remaining budget* (Go's `runnext` with `inheritTime`). So a ping-pong pair
//!    shares one slice and cannot starve the queue behind it.
//! 3. The front of the local deque (crossbeam-deque's Chase–Lev queue, FIFO
//!    flavour), with a fresh budget of [`BUDGET`] reductions.
//! 4. The injector (taking a batch into the local deque).
//! 5. Search (idle.rs): steal half of another worker's deque
//!    (`steal_batch_and_pop`), victims in random order; then the injector and
//!    the timers again.
//! 6. Park (idle.rs's recipe).
//!
//! # Running a task (`run_task`)
//!
//! The worker takes the run right (`transition_to_running`), resumes the
//! context, and when the context comes back reads the *request* the task left
//! in this worker's `request` cell before suspending: `Yield` (to the back of
//! the local deque), `Park` (`transition_to_parked`; if an unpark came
//! meanwhile, resume it again at once), or nothing because it finished.
//!
//! # Thread-locals
//!
//! A task reaches its worker through the thread-local `WORKER`, read only
//! through the `#[inline(never)]` accessor [`worker_ptr`] and never across a
//! suspension: after a resume the task may be on another thread
//! (context/mod.rs, "Send", and rust-lang/unsafe-code-guidelines#602).

use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::Arc;

use crossbeam_deque::{Steal, Worker as Deque};

use crate::context::{Context, Exit, Resumed};
use crate::run_queue::Lane;
use crate::scheduler::Shared;
use crate::state::{ToParked, ToRunning, ToScheduled};
use crate::sync::atomic::Ordering;
use crate::task_ref::{Outcome, TaskRef};
use crate::timer::Action;
use crate::trace;
use crate::trap::{self, Overflow};

/// Reductions per time slice: BEAM's `CONTEXT_REDS` (4000).
pub(crate) const BUDGET: i32 = 4000;
/// Rounds between maintenance (timers, I/O, injector first): Go's 61, a prime
/// so it does not beat in step with a program's own periods.
const MAINTENANCE_INTERVAL: u32 = 61;

/// Why the running task suspended. Written by the task (on this worker's
/// thread) just before it suspends; read and reset by the worker after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    None,
    /// `yield_now`, which already found other work runnable here.
    Yield,
    /// `reduce` spent the budget: yield, or run on if nothing else is runnable.
    Budget,
    Park,
    /// `park_frozen`: freeze the stack (context/freeze.rs), then park.
    ParkFrozen,
}

/// One worker's private state. Lives on the worker thread's own stack for the
/// thread's whole life; reached by tasks through `WORKER`. Every field is
/// touched only by this thread (the worker loop and the task it runs), hence
/// plain `Cell`s.
pub(crate) struct WorkerCtx {
    pub(crate) shared: Arc<Shared>,
    pub(crate) index: usize,
    /// `shared.lanes[index]`, held directly: the worker touches it several
    /// times a slice (run counter, tag, `next` slot).
    lane: Arc<Lane>,
    /// `shared.stats`'s slot `index`, held directly (stats.rs): counted into
    /// on every slice.
    pub(crate) stats: crate::stats::SlotRef,
    /// The local queue. Owner end: this thread; others steal via `Shared::stealers`.
    local: Deque<TaskRef>,
    /// This worker's count of its lane's `runs` (see [`WorkerCtx::lane`]).
    runs: Cell<u32>,
    /// The running task's handle (in `run_task`'s frame), or null between tasks.
    pub(crate) current: Cell<*const TaskRef>,
    /// See [`Request`].
    pub(crate) request: Cell<Request>,
    /// Reductions left in the current slice.
    pub(crate) budget: Cell<i32>,
    /// True while user code runs inside `task::with_current`'s closure: the
    /// `&TaskRef` it holds points into `run_task`'s frame, so it must not
    /// suspend.
    pub(crate) borrowed: Cell<bool>,
    /// True while counted as searching in the idle protocol.
    searching: Cell<bool>,
    /// Scheduling rounds, for maintenance.
    tick: Cell<u32>,
    /// For a stand-in (standin.rs): the worker whose queue it took over.
    covers: Option<usize>,
    /// Set by [`WorkerCtx::alone_here`] when the round it counted is a
    /// maintenance round: the next `find_local` runs maintenance without
    /// counting that round a second time. (It used to count it again, so
    /// while each worker had exactly one runnable task that yielded in a loop
    /// the maintenance round never came: timers and I/O starved.)
    maintenance_due: Cell<bool>,
    /// For steal order and chaos.
    rng: RefCell<fastrand::Rng>,
    /// Reused buffer for fired timers.
    fired: RefCell<Vec<Action>>,
}

thread_local! {
    /// This thread's worker, or null. `const`-initialised, no destructor.
    static WORKER: Cell<*const WorkerCtx> = const { Cell::new(ptr::null()) };
}

/// Reads `WORKER`. Never inlined, so no caller keeps a thread-local address
/// across a stack switch (#602).
#[inline(never)]
pub(crate) fn worker_ptr() -> *const WorkerCtx {
    WORKER.get()
}

/// The worker of this thread if it belongs to `shared`'s scheduler.
fn worker_of(shared: &Arc<Shared>) -> Option<&'static WorkerCtx> {
    let p = worker_ptr();
    // SAFETY: a non-null `WORKER` points at the `WorkerCtx` in `run`'s frame on
    // this very thread, which outlives every caller on this thread (it is reset
    // to null before that frame ends). The `'static` is a lie the callers never
    // act on: they use the reference within the current call only.
    let w = unsafe { p.as_ref()? };
    Arc::ptr_eq(&w.shared, shared).then_some(w)
}

/// This thread's worker index, if it is one of `shared`'s workers.
pub(crate) fn current_index(shared: &Arc<Shared>) -> Option<usize> {
    worker_of(shared).map(|w| w.index)
}

/// Put a runnable task on this thread's worker if it is one of `shared`'s:
/// into the `next` slot from a running task (or between tasks if the slot is
/// free), otherwise at the back of the local deque. `Err(task)` on a foreign thread (the caller uses the injector).
pub(crate) fn schedule_local(shared: &Arc<Shared>, task: TaskRef) -> Result<(), TaskRef> {
    let Some(w) = worker_of(shared) else {
        return Err(task);
    };
    let chaos = shared.config.chaos && w.rng.borrow_mut().bool();
    // From a running task, the `next` slot. Between tasks too (a task's exit
    // hook, a timer, I/O on this worker), if the slot is free: this worker
    // is about to look for work and takes it at once, where a push to the
    // deque would wake a parked worker to steal it, a futex call and a
    // migration to another core for every exit that wakes a waiting process
    // (measured on `runtime/spawn_exit`: see docs/scheduler.md).
    let running = !w.current.get().is_null();
    if !chaos && (running || !w.lane().has_next()) {
        if let Some(prev) = w.lane().put_next(task) {
            w.local.push(prev);
            shared.notify_parked();
        }
    } else {
        w.local.push(task);
        shared.notify_parked();
    }
    Ok(())
}

/// The worker thread's body.
/// `covers`: for a stand-in thread (standin.rs), the worker it stands in
/// for; it runs on spare slot `index` until told to retire.
pub(crate) fn run(
    shared: Arc<Shared>,
    index: usize,
    local: Deque<TaskRef>,
    overflow: Overflow,
    covers: Option<usize>,
) {
    let _altstack = match trap::install_thread_altstack(overflow) {
        Ok(g) => Some(g),
        Err(e) => {
            tracing::error!("bream-scheduler: worker {index}: no alternate signal stack ({e}); a task stack overflow will kill the process");
            None
        }
    };
    // A slot's counter goes on from where its last thread left it, so the
    // monitor never sees an old odd value again as "the same run".
    // Relaxed: only this thread writes it now.
    let runs = shared.lanes[index].runs.load(Ordering::Relaxed);
    let _trace = trace::attach(&shared, index);
    let w = WorkerCtx {
        lane: shared.lanes[index].clone(),
        stats: shared.stats.slot(index),
        shared,
        index,
        local,
        runs: Cell::new(runs),
        current: Cell::new(ptr::null()),
        request: Cell::new(Request::None),
        budget: Cell::new(BUDGET),
        borrowed: Cell::new(false),
        searching: Cell::new(false),
        tick: Cell::new(0),
        covers,
        maintenance_due: Cell::new(false),
        rng: RefCell::new(fastrand::Rng::with_seed(
            index as u64 ^ 0x9e37_79b9_7f4a_7c15,
        )),
        fired: RefCell::new(Vec::new()),
    };
    WORKER.set(&w);
    w.run_loop();
    WORKER.set(ptr::null());
    // Shutdown: drop the handles still queued here. The tasks themselves are
    // in the registry, which shutdown unwinds; a handle left in the deque
    // would keep `Shared` alive through the stealers (a reference cycle).
    drop(w.lane().take_next());
    while w.local.pop().is_some() {}
    if covers.is_some() {
        let WorkerCtx { shared, local, .. } = w;
        shared.stand_ins.give_back(index, local);
    }
}

impl WorkerCtx {
    /// This worker's half of the shared run queue (run_queue.rs): its `next`
    /// slot (Go's `runnext`: the task the running one unparked last) and its
    /// run counter.
    #[inline]
    fn lane(&self) -> &Lane {
        &self.lane
    }

    /// Bumps the run counter: odd while a task runs (monitor.rs).
    #[inline]
    fn count_run(&self) {
        let r = self.runs.get().wrapping_add(1);
        self.runs.set(r);
        // Relaxed: a hint for the monitor (see `Lane::runs`).
        self.lane().runs.store(r, Ordering::Relaxed);
    }

    fn run_loop(&self) {
        while !self.shared.shutdown.load(Ordering::Acquire) {
            if self.covers.is_some() && self.shared.stand_ins.retiring(self.index) {
                return self.retire();
            }
            if let Some(t) = self.find_local() {
                // A worker woken to search may find its task here rather than
                // in `search`: it stops searching before running it, or it
                // would keep other wakeups away while it runs (idle.rs).
                self.transition_from_searching();
                self.run_task(t);
            } else if let Some(t) = self.search() {
                self.run_task(t);
            } else {
                self.park();
            }
        }
    }

    /// Steps 1–4 of the module doc.
    fn find_local(&self) -> Option<TaskRef> {
        // A round `alone_here` already counted (and found to be a maintenance
        // round) is not counted again.
        let due = self.maintenance_due.replace(false) || {
            let tick = self.tick.get().wrapping_add(1);
            self.tick.set(tick);
            tick % MAINTENANCE_INTERVAL == 0
        };
        if due {
            self.maintenance();
            if let Some(t) = self.steal_injector() {
                self.budget.set(BUDGET);
                return Some(t);
            }
        }
        if let Some(t) = self.lane().take_next() {
            if self.budget.get() > 0 {
                return Some(t); // inherits the slice
            }
            self.local.push(t);
        }
        self.budget.set(BUDGET);
        self.local
            .pop()
            .or_else(|| self.steal_covered())
            .or_else(|| self.steal_injector())
    }

    /// A stand-in takes from the queue of the worker it covers first.
    fn steal_covered(&self) -> Option<TaskRef> {
        let covered = &self.shared.stealers[self.covers?];
        loop {
            match covered.steal_batch_and_pop(&self.local) {
                Steal::Success(t) => return Some(t),
                Steal::Empty => return None,
                Steal::Retry => {}
            }
        }
    }

    /// A stand-in whose worker came back leaves (standin.rs): awake and
    /// running nothing, it stops searching, hands what is queued here to the
    /// injector, and leaves the idle protocol (it is on no sleepers list, so
    /// no waker can choose it after this).
    fn retire(&self) {
        self.transition_from_searching();
        let sh = &self.shared;
        let mut handed = false;
        while let Some(t) = self.lane().take_next().or_else(|| self.local.pop()) {
            sh.injector.push(t);
            handed = true;
        }
        sh.idle.remove_worker();
        if handed {
            sh.notify_parked();
        }
    }

    fn steal_injector(&self) -> Option<TaskRef> {
        loop {
            match self.shared.injector.steal_batch_and_pop(&self.local) {
                Steal::Success(t) => return Some(t),
                Steal::Empty => return None,
                Steal::Retry => {}
            }
        }
    }

    /// Fire due timers; poll I/O without blocking if nobody is polling.
    fn maintenance(&self) {
        self.fire_timers();
        if self.shared.driver.has_registrations() {
            if let Some(mut poller) = self.shared.driver.try_lock() {
                trace::poll_begin(self);
                poller.poll(&self.shared.driver, Some(std::time::Duration::ZERO));
                trace::poll_end(self);
            }
        }
    }

    fn fire_timers(&self) {
        let mut fired = self.fired.borrow_mut();
        self.shared.timers.take_due(&mut fired);
        if !fired.is_empty() {
            let mut batch = std::mem::take(&mut *fired);
            drop(fired);
            trace::timers_fired(self, batch.len());
            self.shared.run_timer_actions(&mut batch);
            *self.fired.borrow_mut() = batch;
        }
    }

    /// Step 5: steal.
    fn search(&self) -> Option<TaskRef> {
        trace::searching(self);
        if !self.searching.get() {
            if !self.shared.idle.transition_worker_to_searching() {
                return None;
            }
            self.searching.set(true);
        }
        let found = self
            .steal_others()
            .or_else(|| self.steal_injector())
            .or_else(|| {
                self.fire_timers();
                self.local.pop()
            });
        if found.is_some() {
            self.budget.set(BUDGET);
            self.transition_from_searching();
        }
        found
    }

    fn steal_others(&self) -> Option<TaskRef> {
        let stealers = &self.shared.stealers;
        let n = stealers.len();
        let mut order: Vec<usize> = Vec::new();
        let start = {
            let mut rng = self.rng.borrow_mut();
            if self.shared.config.chaos {
                order = (0..n).collect();
                rng.shuffle(&mut order);
            }
            rng.usize(..n)
        };
        for i in 0..n {
            let victim = if order.is_empty() {
                (start + i) % n
            } else {
                order[i]
            };
            if victim == self.index {
                continue;
            }
            loop {
                match stealers[victim].steal_batch_and_pop(&self.local) {
                    Steal::Success(t) => return Some(trace::stole(self, victim, &self.local, t)),
                    Steal::Empty => break,
                    Steal::Retry => {}
                }
            }
        }
        None
    }

    fn transition_from_searching(&self) {
        if self.searching.replace(false) && self.shared.idle.transition_worker_from_searching() {
            self.shared.notify_parked();
        }
    }

    fn has_local_work(&self) -> bool {
        self.lane().has_next() || !self.local.is_empty()
    }

    /// Step 6: the sleep half of idle.rs's recipe.
    fn park(&self) {
        let sh = &self.shared;
        self.fire_timers();
        if self.has_local_work() {
            return;
        }
        if sh
            .idle
            .transition_worker_to_parked(self.index, self.searching.replace(false))
            && self.work_pending_anywhere()
        {
            sh.notify_parked();
        }
        loop {
            trace::park_begin(self);
            sh.parkers[self.index].park(&sh.driver, sh.timers.timeout());
            trace::park_end(self);
            self.fire_timers();
            if sh.shutdown.load(Ordering::Acquire) {
                return;
            }
            // A stand-in told to retire gets off the sleepers list (or was
            // taken off by a waker, and counted searching) and goes back to
            // `run_loop`, which retires it.
            if self.covers.is_some() && sh.stand_ins.retiring(self.index) {
                self.searching.set(!sh.idle.unpark_worker_by_id(self.index));
                sh.monitor.kick();
                return;
            }
            // Counted unparked again (by us or by our waker) before the
            // monitor is kicked: the order its Dekker pair needs (monitor.rs).
            if self.has_local_work() {
                self.searching.set(!sh.idle.unpark_worker_by_id(self.index));
                sh.monitor.kick();
                return;
            }
            if !sh.idle.is_parked(self.index) {
                self.searching.set(true);
                sh.monitor.kick();
                return;
            }
        }
    }

    fn work_pending_anywhere(&self) -> bool {
        !self.shared.injector.is_empty() || self.shared.stealers.iter().any(|s| !s.is_empty())
    }

    /// Run one task until it parks, yields, spends its budget or finishes.
    fn run_task(&self, task: TaskRef) {
        if task.task.state.transition_to_running() == ToRunning::Cancel {
            return self.unwind(task);
        }
        loop {
            self.budget.set(self.budget.get() - 1);
            self.current.set(&task);
            // SAFETY: this worker holds the run right (state RUNNING, set above
            // or kept by `ToParked::Notified`), and no other reference from
            // `context_mut` is alive.
            let ctx = unsafe { task.task.context_mut() };
            // Relaxed: a hint for the monitor (see `Lane::tag`).
            self.lane().tag.store(task.task.tag, Ordering::Relaxed);
            self.count_run();
            let slice = trace::slice_begin(self, &task);
            let resumed = ctx.as_mut().expect("a running task has a context").resume();
            self.count_run();
            self.current.set(ptr::null());
            trace::slice_end(self, &task, slice, &resumed);
            let exit = match resumed {
                Resumed::Finished(exit) => exit,
                Resumed::Suspended => match self.request.replace(Request::None) {
                    r @ (Request::Park | Request::ParkFrozen) => {
                        // Frozen before the park is published: from then on
                        // a waker may hand the run right to another worker.
                        if r == Request::ParkFrozen && ctx.as_mut().is_some_and(Context::freeze) {
                            trace::frozen(self, &task);
                        }
                        match task.task.state.transition_to_parked() {
                            ToParked::Parked => return task.into_parked(),
                            ToParked::Notified if self.budget.get() > 0 => continue,
                            ToParked::Notified => return self.requeue(task),
                            ToParked::Cancelled => return self.unwind(task),
                        }
                    }
                    Request::Budget | Request::None if self.yield_in_place(&task) => continue,
                    Request::Yield | Request::Budget | Request::None => return self.requeue(task),
                },
            };
            let outcome = match exit {
                Exit::Returned => Outcome::Returned,
                Exit::Panicked(m) => Outcome::Panicked(m.into_boxed_str()),
                Exit::StackOverflow => Outcome::StackOverflow,
            };
            return self.complete(task, outcome);
        }
    }

    /// A yielding task with nothing else runnable here runs on at once,
    /// skipping the queue round trip (it would be popped right back).
    fn yield_in_place(&self, task: &TaskRef) -> bool {
        if task.task.state.is_cancelled() || !self.alone_here() {
            return false;
        }
        self.budget.set(BUDGET);
        true
    }

    /// True if a yield here may skip the queue: nothing else is runnable on
    /// this worker or in the injector, chaos is off, and this is not a
    /// maintenance round (timers and I/O must get their turn even while one
    /// task yields in a loop). Counts the round.
    pub(crate) fn alone_here(&self) -> bool {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick % MAINTENANCE_INTERVAL == 0 {
            // The caller goes through the worker loop, whose `find_local`
            // runs the maintenance this round is due (not here: this may be
            // called from inside the task, on its small stack).
            self.maintenance_due.set(true);
            return false;
        }
        !self.shared.config.chaos
            && self.local.is_empty()
            && self.shared.injector.is_empty()
            && !self.has_local_work()
    }

    /// Back of the local deque (a yield or a spent budget). No wakeup: this
    /// worker is awake and will run it, and whatever else is queued here was
    /// pushed with one (so a parked worker may already be coming to steal).
    fn requeue(&self, task: TaskRef) {
        match task.task.state.transition_to_scheduled() {
            ToScheduled::Scheduled => self.local.push(task),
            ToScheduled::Cancelled => self.unwind(task),
        }
    }

    /// Unwind a cancelled task (run right held, state RUNNING): its
    /// destructors run on its own stack; then finish it as `Cancelled`.
    fn unwind(&self, task: TaskRef) {
        self.current.set(&task);
        // SAFETY: this worker holds the run right.
        let ctx = unsafe { task.task.context_mut() }.take();
        drop(ctx.map(Context::into_stack));
        self.current.set(ptr::null());
        // A destructor that parked or yielded while unwinding returned at
        // once (context/mod.rs) but left its request: forget it.
        self.request.set(Request::None);
        self.complete(task, Outcome::Cancelled);
    }

    /// Give the stack back, publish the outcome, tell the owner.
    fn complete(&self, task: TaskRef, outcome: Outcome) {
        trace::exited(&self.shared, task.task.tag, &outcome);
        // SAFETY: this worker holds the run right.
        let ctx = unsafe { task.task.context_mut() }.take();
        drop(ctx.map(Context::into_stack)); // the stack goes back to its pool
                                            // SAFETY: run right held; not yet done.
        unsafe { task.task.set_outcome(outcome.clone()) };
        task.task.state.transition_to_done();
        drop(self.shared.registry.remove(task.task.key));
        let owner = task.owner().clone();
        drop(task);
        if let Err(p) =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| owner.on_exit(outcome)))
        {
            tracing::error!(
                "bream-scheduler: TaskOwner::on_exit panicked: {}",
                crate::context::panic_message(&*p)
            );
        }
    }
}
