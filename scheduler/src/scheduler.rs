//! The scheduler handle, its builder, and the state every worker shares.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Stealer, Worker as Deque};
use parking_lot::{Mutex, RwLock};

use crate::blocking::BlockingPool;
use crate::context::Context;
use crate::idle::Idle;
use crate::io::Driver;
use crate::monitor::{self, Hook, LongSchedule, Monitor};
use crate::parker::Parker;
use crate::registry::Registry;
use crate::run_queue::Lane;
use crate::stack::{Stack, StackError, StackPool, DEFAULT_STACK_SIZE};
use crate::standin::StandIns;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::task_ref::{Outcome, Task, TaskOwner, TaskRef};
use crate::timer::{Action, TimerRef, Timers};
use crate::trap::{self, Overflow};
use crate::worker;

/// Options for one spawn.
#[derive(Debug, Clone, Default)]
pub struct SpawnOpts {
    /// Usable stack bytes for this task; `None`: the scheduler's default
    /// ([`Builder::stack_size`]). A size at or below the default gets the
    /// default; a larger one is rounded up to a power of two (each size has
    /// its own pool); more than [`MAX_STACK_SIZE`] is refused
    /// ([`SpawnError::StackTooLarge`]). [`Scheduler::stack_size_for`] says
    /// what a request really gets.
    pub stack_size: Option<usize>,
    /// A number of the caller's choosing that names the task in a
    /// [`LongSchedule`] report (the runtime passes its pid). Default 0.
    pub tag: u64,
}

/// Why a spawn failed. The message names the knob to turn.
#[derive(Debug)]
pub enum SpawnError {
    /// No memory for a stack.
    NoStackMemory {
        /// The usable stack size asked for.
        stack_size: usize,
        /// The OS error.
        source: io::Error,
    },
    /// One more guarded stack would cross `vm.max_map_count` (kernels before
    /// Linux 6.13 only: see docs/stacks.md).
    MapCountLimit {
        /// The limit.
        max_map_count: usize,
        /// Mappings in use when the spawn was refused.
        in_use: usize,
    },
    /// The scheduler is shutting down.
    ShuttingDown,
    /// `SpawnOpts::stack_size` asked for more than [`MAX_STACK_SIZE`].
    StackTooLarge {
        /// The size asked for.
        requested: usize,
        /// The largest stack a task may have.
        max: usize,
    },
}

/// The largest stack a task may ask for: 1 GiB (Go's limit for a
/// goroutine's stack). Address space only until touched, but a request for
/// more is almost always a bug (`usize::MAX`, a wrapped subtraction), and
/// sizes near `usize::MAX` would wrap when rounded to a power of two.
pub const MAX_STACK_SIZE: usize = 1 << 30;

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::NoStackMemory { stack_size, source } => StackError::NoMemory {
                stack_size: *stack_size,
                source: io::Error::new(source.kind(), source.to_string()),
            }
            .fmt(f),
            SpawnError::MapCountLimit {
                max_map_count,
                in_use,
            } => StackError::MapCountLimit {
                max_map_count: *max_map_count,
                in_use: *in_use,
            }
            .fmt(f),
            SpawnError::ShuttingDown => f.write_str("the scheduler is shutting down"),
            SpawnError::StackTooLarge { requested, max } => write!(
                f,
                "a stack of {requested} bytes was asked for; the most a task may have is \
                 {max} bytes (bream_scheduler::MAX_STACK_SIZE)"
            ),
        }
    }
}

impl std::error::Error for SpawnError {}

impl From<StackError> for SpawnError {
    fn from(e: StackError) -> Self {
        match e {
            StackError::NoMemory { stack_size, source } => {
                SpawnError::NoStackMemory { stack_size, source }
            }
            StackError::MapCountLimit {
                max_map_count,
                in_use,
            } => SpawnError::MapCountLimit {
                max_map_count,
                in_use,
            },
        }
    }
}

/// Configuration, fixed at build.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) workers: usize,
    pub(crate) stack_size: usize,
    pub(crate) trap: bool,
    pub(crate) chaos: bool,
    pub(crate) long_schedule: Option<Duration>,
    /// Most stand-in threads at once (standin.rs).
    pub(crate) spare_workers: usize,
    /// How long shutdown waits for a worker stuck in a task; `None`: forever.
    pub(crate) shutdown_grace: Option<Duration>,
    pub(crate) trace: Option<crate::trace::Config>, // trace/: where and how (None: BREAM_TRACE)
}

/// How long [`Scheduler::shutdown`] waits, by default, for a worker whose
/// task never yields before it detaches the thread: 5 s.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Builds a [`Scheduler`].
///
/// ```
/// let sched = bream_scheduler::Scheduler::builder().workers(2).build().unwrap();
/// sched.shutdown();
/// ```
#[derive(Clone)]
pub struct Builder {
    pub(crate) config: Config,
    long_schedule_hook: Option<Hook>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("config", &self.config)
            .field("long_schedule_hook", &self.long_schedule_hook.is_some())
            .finish()
    }
}

impl Builder {
    /// Worker threads. Default: `std::thread::available_parallelism`.
    pub fn workers(mut self, n: usize) -> Self {
        self.config.workers = n.max(1);
        self
    }

    /// Default usable stack bytes per task. Default: 64 KiB (docs/stacks.md
    /// gives the measurement).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.config.stack_size = bytes;
        self
    }

    /// Trap a task's stack overflow (default: on): the task ends with
    /// [`Outcome::StackOverflow`] and everything else goes on. Off: the process
    /// aborts with a message on overflow. Either way the overflowed frames are
    /// never unwound (docs/stacks.md).
    pub fn trap_stack_overflow(mut self, on: bool) -> Self {
        self.config.trap = on;
        self
    }

    /// Chaos mode (debug builds only; ignored in release builds): randomize the
    /// `next` slot (sometimes push to the back of the queue instead) and the
    /// order of steal victims, to shake out order assumptions in tests.
    pub fn chaos(mut self, on: bool) -> Self {
        self.config.chaos = on && cfg!(debug_assertions);
        self
    }

    /// Report a task that keeps its worker for `threshold` or longer without
    /// yielding (the BEAM's `system_monitor` `long_schedule`): a `tracing`
    /// warning, and the [`on_long_schedule`](Self::on_long_schedule) hook.
    /// Default: 100 ms. `None`: no reports. Either way the monitor thread
    /// moves the task waiting in a stuck worker's `next` slot to another
    /// worker (monitor.rs).
    ///
    /// ```
    /// use std::time::Duration;
    /// let sched = bream_scheduler::Scheduler::builder()
    ///     .long_schedule(Some(Duration::from_millis(20)))
    ///     .build()
    ///     .unwrap();
    /// sched.shutdown();
    /// ```
    pub fn long_schedule(mut self, threshold: Option<Duration>) -> Self {
        self.config.long_schedule = threshold;
        self
    }

    /// At most `n` stand-in threads at once (default: as many as
    /// workers; 0 turns hand-offs off). When a worker has run one task past
    /// the long-schedule threshold (or [`DEFAULT_LONG_SCHEDULE`] if reports
    /// are off), the monitor starts a stand-in thread that takes over that
    /// worker's queue, so the other tasks keep their latency while the stuck
    /// one runs; it retires when the stuck task gives its worker back
    /// (docs/scheduler.md, "Stand-ins"). The hand-off is in the report.
    ///
    /// [`DEFAULT_LONG_SCHEDULE`]: crate::DEFAULT_LONG_SCHEDULE
    pub fn spare_workers(mut self, n: usize) -> Self {
        self.config.spare_workers = n;
        self
    }

    /// How long [`Scheduler::shutdown`] waits for a worker whose task never
    /// yields (default [`DEFAULT_SHUTDOWN_GRACE`], 5 s). Past it, shutdown
    /// detaches that thread, reports the task (a [`LongSchedule`] with
    /// `at_shutdown` set, through the hook or a `tracing` error) and returns;
    /// the task is neither unwound nor told. `None`: wait forever.
    pub fn shutdown_grace(mut self, grace: Option<Duration>) -> Self {
        self.config.shutdown_grace = grace;
        self
    }

    /// Call `f` with every [`LongSchedule`] report, instead of the default
    /// `tracing` warning (on the monitor thread: keep it short; a panic in it
    /// is caught and logged).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use bream_scheduler::{Outcome, Scheduler, SpawnOpts, TaskOwner};
    ///
    /// struct Quiet;
    /// impl TaskOwner for Quiet {
    ///     fn on_exit(&self, _: Outcome) {}
    ///     fn as_any(&self) -> &dyn std::any::Any { self }
    /// }
    /// let seen = Arc::new(AtomicBool::new(false));
    /// let s = seen.clone();
    /// let sched = Scheduler::builder()
    ///     .long_schedule(Some(Duration::from_millis(5)))
    ///     .on_long_schedule(move |r| { assert!(r.running_for >= Duration::from_millis(5)); s.store(true, Ordering::SeqCst) })
    ///     .build()
    ///     .unwrap();
    /// let spin = seen.clone();
    /// // A task that never yields until it has been reported.
    /// let t = sched.spawn(SpawnOpts::default(), Arc::new(Quiet), move || {
    ///     while !spin.load(Ordering::SeqCst) { std::hint::spin_loop() }
    /// }).unwrap();
    /// while t.outcome().is_none() { std::thread::yield_now() }
    /// sched.shutdown();
    /// ```
    pub fn on_long_schedule(mut self, f: impl Fn(LongSchedule) + Send + Sync + 'static) -> Self {
        self.long_schedule_hook = Some(Arc::new(f));
        self
    }

    /// Start the workers.
    ///
    /// # Errors
    /// If a thread or the stack pool cannot be made, or if
    /// [`stack_size`](Self::stack_size) is above [`MAX_STACK_SIZE`]
    /// (`InvalidInput`).
    pub fn build(self) -> io::Result<Scheduler> {
        let n = self.config.workers;
        if self.config.stack_size > MAX_STACK_SIZE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                SpawnError::StackTooLarge {
                    requested: self.config.stack_size,
                    max: MAX_STACK_SIZE,
                }
                .to_string(),
            ));
        }
        trap::install_process_handler()?;
        // Now rather than at the first spawn: a hook installed after this one
        // (the runtime's) then sees every panic first.
        crate::context::install_panic_hook();
        // Regular workers' slots first, then the spare ones (standin.rs).
        let slots = n + self.config.spare_workers;
        let mut deques: Vec<Deque<TaskRef>> = (0..slots).map(|_| Deque::new_fifo()).collect();
        let stealers = deques.iter().map(Deque::stealer).collect();
        let spare: Vec<(usize, Deque<TaskRef>)> = (n..).zip(deques.split_off(n)).collect();
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            stealers,
            idle: Idle::new(n),
            parkers: (0..slots).map(|_| Parker::new()).collect(),
            driver: Driver::new()?,
            timers: Timers::new(),
            blocking: BlockingPool::new(),
            default_pool: StackPool::new(self.config.stack_size)?,
            pools: RwLock::new(Vec::new()),
            registry: Registry::new(n + 1),
            lanes: (0..slots).map(|_| Arc::new(Lane::new())).collect(),
            stand_ins: StandIns::new(spare, slots),
            monitor: Monitor::new(self.config.long_schedule, self.long_schedule_hook),
            shutdown: AtomicBool::new(false),
            stats: crate::stats::Stats::new(n, slots),
            trace: crate::trace::Tracer::new(self.config.trace.clone(), n),
            threads: Mutex::new(Vec::new()),
            config: self.config,
        });
        let overflow = if shared.config.trap {
            Overflow::Trap
        } else {
            Overflow::Abort
        };
        let mut threads = shared.threads.lock();
        for (index, deque) in deques.into_iter().enumerate() {
            let s = shared.clone();
            let h = std::thread::Builder::new()
                .name(format!("bream-worker-{index}"))
                .spawn(move || worker::run(s, index, deque, overflow, None))?;
            threads.push((Some(index), h));
        }
        let s = shared.clone();
        threads.push((
            None,
            std::thread::Builder::new()
                .name("bream-monitor".into())
                .spawn(move || monitor::run(s))?,
        ));
        drop(threads);
        Ok(Scheduler { shared })
    }
}

/// What every worker, task and handle of one scheduler shares.
pub(crate) struct Shared {
    /// Tasks made runnable by threads that are not this scheduler's workers,
    /// and overflow. Any thread.
    pub(crate) injector: Injector<TaskRef>,
    /// The workers' queues, for stealing. `stealers[i]` is worker i's (slots
    /// past `config.workers` are the spare ones of standin.rs).
    pub(crate) stealers: Box<[Stealer<TaskRef>]>,
    /// The idle protocol (idle.rs).
    pub(crate) idle: Idle,
    /// `parkers[i]` puts worker (or spare slot) i to sleep; anyone may unpark it.
    pub(crate) parkers: Box<[Parker]>,
    /// The I/O driver (io.rs).
    pub(crate) driver: Driver,
    /// The timer wheel (timer.rs).
    pub(crate) timers: Timers,
    /// Threads for `task::blocking` (blocking.rs).
    pub(crate) blocking: BlockingPool,
    /// The pool of default-size stacks: most spawns take from it, with no
    /// lock but the pool's own. Its slabs are unmapped when the last handle
    /// to the scheduler (a `Scheduler` clone or a `TaskRef`) is dropped.
    default_pool: StackPool,
    /// Pools for larger `SpawnOpts::stack_size`s, made on demand. Emptied at
    /// shutdown (frees their slabs).
    pools: RwLock<Vec<StackPool>>,
    /// Every live task (registry.rs).
    pub(crate) registry: Registry,
    /// `lanes[i]`: what worker i publishes for the monitor, and its `next`
    /// slot (run_queue.rs). Each in an `Arc` so that its worker keeps a
    /// direct handle (`WorkerCtx::lane`: one load on the hot path, not an
    /// index into this slice through `Shared`).
    pub(crate) lanes: Box<[Arc<Lane>]>,
    /// The long-schedule monitor's settings and sleep (monitor.rs).
    pub(crate) monitor: Monitor,
    /// The spare slots and the stand-in threads on them (standin.rs).
    pub(crate) stand_ins: StandIns,
    /// Set once by `shutdown`; workers stop at their next scheduling round.
    /// Release/Acquire: the workers' reads see everything shutdown did before.
    pub(crate) shutdown: AtomicBool,
    pub(crate) stats: crate::stats::Stats, // per-worker counters (stats.rs); trace: the event trace (trace/)
    pub(crate) trace: crate::trace::Tracer,
    /// Join handles of the workers (with their slot) and the monitor (no
    /// slot), taken by `shutdown`.
    threads: Mutex<Vec<(Option<usize>, JoinHandle<()>)>>,
    /// Immutable.
    pub(crate) config: Config,
}

impl Shared {
    /// Make a task that someone holds the run right of runnable (after
    /// `State::unpark`/`cancel` returned true).
    pub(crate) fn schedule(self: &Arc<Self>, task: TaskRef) {
        if let Err(task) = worker::schedule_local(self, task) {
            self.injector.push(task);
            self.notify_parked();
        }
    }

    /// Step 3 of the recipe in idle.rs: wake a parked worker if one should be.
    pub(crate) fn notify_parked(&self) {
        if let Some(i) = self.idle.worker_to_notify() {
            crate::trace::woke(self, i);
            self.parkers[i].unpark(&self.driver);
        }
    }

    /// Run fired timer actions (outside the wheel's lock).
    pub(crate) fn run_timer_actions(&self, actions: &mut Vec<Action>) {
        for a in actions.drain(..) {
            match a {
                Action::Wake(t) => t.unpark(),
                Action::Call(f) => {
                    if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                        tracing::error!(
                            "bream-scheduler: a timer callback panicked: {}",
                            crate::context::panic_message(&*p)
                        );
                    }
                }
            }
        }
    }

    /// Insert a timer; wake the polling worker if it is now the earliest.
    /// `None` if it was already due (the action was run).
    pub(crate) fn insert_timer(&self, when: u64, action: Action) -> Option<crate::timer::Key> {
        match self.timers.insert(when, action) {
            Ok((key, earlier)) => {
                if earlier {
                    self.driver.wake();
                }
                Some(key)
            }
            Err(action) => {
                self.run_timer_actions(&mut vec![action]);
                None
            }
        }
    }

    /// The usable bytes a task spawned with `SpawnOpts::stack_size = size`
    /// gets (see [`Scheduler::stack_size_for`]).
    pub(crate) fn stack_size_for(&self, size: Option<usize>) -> Result<usize, SpawnError> {
        let default = self.default_pool.stack_size();
        match size {
            Some(s) if s > default => s
                .checked_next_power_of_two()
                .filter(|&p| p <= MAX_STACK_SIZE)
                .ok_or(SpawnError::StackTooLarge {
                    requested: s,
                    max: MAX_STACK_SIZE,
                }),
            _ => Ok(default),
        }
    }

    /// Stacks handed out and not yet returned, over every pool (tests).
    #[cfg(test)]
    pub(crate) fn stacks_in_use(&self) -> usize {
        // Reserved stacks count too: a leaked reservation is a leaked stack.
        let count = |p: &StackPool| {
            let st = p.stats();
            st.in_use + st.reserved
        };
        let others: usize = self.pools.read().iter().map(count).sum();
        count(&self.default_pool) + others
    }

    /// A stack of at least `size` usable bytes (the default size if `None`),
    /// reserved: it takes its memory at the task's first resume
    /// (`StackPool::reserve`, docs/stacks.md), so a task queued but not yet
    /// run holds none.
    fn stack_for(&self, size: Option<usize>) -> Result<Stack, SpawnError> {
        let default = self.default_pool.stack_size();
        let want = self.stack_size_for(size)?;
        if want == default {
            return Ok(self.default_pool.reserve()?);
        }
        if let Some(p) = self.pools.read().iter().find(|p| p.stack_size() >= want) {
            return Ok(p.reserve()?);
        }
        let mut pools = self.pools.write();
        if let Some(p) = pools.iter().find(|p| p.stack_size() >= want) {
            return Ok(p.reserve()?);
        }
        let p = StackPool::new(want).map_err(|source| SpawnError::NoStackMemory {
            stack_size: want,
            source,
        })?;
        let stack = p.reserve()?;
        pools.push(p);
        Ok(stack)
    }
}

/// A work-stealing scheduler of stackful tasks. Cheap to clone (an `Arc`).
///
/// Call [`Scheduler::shutdown`] to stop it: dropping every handle does not
/// (the workers hold the shared state themselves), just as dropping a
/// thread's `JoinHandle` does not stop the thread.
///
/// ```
/// use bream_scheduler::{Outcome, Scheduler, SpawnOpts, TaskOwner};
/// use std::sync::{mpsc, Arc, Mutex};
///
/// struct Done(Mutex<mpsc::Sender<Outcome>>);
/// impl TaskOwner for Done {
///     fn on_exit(&self, o: Outcome) { self.0.lock().unwrap().send(o).unwrap(); }
///     fn as_any(&self) -> &dyn std::any::Any { self }
/// }
///
/// let sched = Scheduler::builder().workers(2).build().unwrap();
/// let (tx, rx) = mpsc::channel();
/// sched.spawn(SpawnOpts::default(), Arc::new(Done(Mutex::new(tx))), || {
///     bream_scheduler::task::yield_now();
/// }).unwrap();
/// assert_eq!(rx.recv().unwrap(), Outcome::Returned);
/// sched.shutdown();
/// ```
#[derive(Clone)]
pub struct Scheduler {
    pub(crate) shared: Arc<Shared>,
}

impl Scheduler {
    /// A builder with the defaults.
    pub fn builder() -> Builder {
        Builder {
            config: Config {
                workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
                stack_size: DEFAULT_STACK_SIZE,
                trap: true,
                chaos: false,
                long_schedule: Some(monitor::DEFAULT_LONG_SCHEDULE),
                spare_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
                shutdown_grace: Some(DEFAULT_SHUTDOWN_GRACE),
                trace: None,
            },
            long_schedule_hook: None,
        }
    }

    /// Spawn a task running `f` on its own stack.
    ///
    /// `owner.on_exit(outcome)` runs on a worker thread, outside any task
    /// stack, after the task's stack went back to the pool.
    ///
    /// # Send
    ///
    /// The task may move between worker threads at every yield point (park,
    /// yield, a spent budget, anything in [`task`](crate::task) that can
    /// suspend). So it must hold no thread-local borrow and no `!Send` value
    /// across one: docs/stacks.md states the rule.
    pub fn spawn<F: FnOnce() + Send + 'static>(
        &self,
        opts: SpawnOpts,
        owner: Arc<dyn TaskOwner>,
        f: F,
    ) -> Result<TaskRef, SpawnError> {
        let sh = &self.shared;
        if sh.shutdown.load(Ordering::Acquire) {
            return Err(SpawnError::ShuttingDown);
        }
        let stack = sh.stack_for(opts.stack_size)?;
        let context = Context::new(stack, f);
        let shard = worker::current_index(sh).unwrap_or(sh.config.workers);
        let task = sh.registry.insert(shard, |key| TaskRef {
            task: Arc::new(Task::new(context, owner, sh.clone(), key, opts.tag)),
        });
        // A shutdown that began meanwhile may have drained the registry
        // already (SeqCst here and in `shutdown`; the registry's lock orders
        // the rest). Take the task back if it is still ours; if shutdown took
        // it, shutdown unwinds it and tells its owner.
        if sh.shutdown.load(Ordering::SeqCst) {
            if let Some(t) = sh.registry.remove(task.task.key) {
                // SAFETY: the task was never scheduled and is no longer in
                // the registry: this thread is the only one that can reach
                // its context.
                drop(unsafe { t.task.context_mut() }.take());
                // SAFETY: as above.
                unsafe { t.task.set_outcome(Outcome::Cancelled) };
                let _never_parked = t.task.state.finish_at_shutdown();
                return Err(SpawnError::ShuttingDown);
            }
            return Ok(task);
        }
        crate::trace::spawned(sh, opts.tag);
        sh.schedule(task.clone());
        Ok(task)
    }

    /// Run `f` on a worker after `d`, outside any task. O(1) to cancel.
    ///
    /// `f` should be short and must not block: it runs on the worker that
    /// fires the timer (the runtime uses it to send a message). A timer that
    /// is due at once (`d` shorter than the wheel's millisecond has left)
    /// runs `f` right here, on the calling thread. After shutdown, `f` is
    /// dropped and never runs.
    pub fn timer_after(&self, d: Duration, f: impl FnOnce() + Send + 'static) -> TimerRef {
        let sh = &self.shared;
        if sh.shutdown.load(Ordering::Acquire) {
            // Nothing would ever fire it: drop `f` now.
            return TimerRef {
                shared: sh.clone(),
                key: crate::timer::Key::FIRED,
            };
        }
        let when = sh.timers.deadline_after(d);
        let key = sh.insert_timer(when, Action::Call(Box::new(f)));
        TimerRef {
            shared: sh.clone(),
            key: key.unwrap_or(crate::timer::Key::FIRED),
        }
    }

    /// The usable stack bytes a task spawned with `SpawnOpts::stack_size =
    /// size` really gets: the default size for `None` or anything up to it,
    /// else the size rounded up to a power of two.
    ///
    /// # Errors
    /// [`SpawnError::StackTooLarge`] above [`MAX_STACK_SIZE`] (the spawn
    /// would be refused the same way).
    ///
    /// ```
    /// let sched = bream_scheduler::Scheduler::builder().workers(1).build().unwrap();
    /// assert_eq!(sched.stack_size_for(None).unwrap(), 64 * 1024);
    /// assert_eq!(sched.stack_size_for(Some(1)).unwrap(), 64 * 1024);
    /// assert_eq!(sched.stack_size_for(Some(100_000)).unwrap(), 128 * 1024);
    /// assert!(sched.stack_size_for(Some(usize::MAX)).is_err());
    /// sched.shutdown();
    /// ```
    pub fn stack_size_for(&self, size: Option<usize>) -> Result<usize, SpawnError> {
        self.shared.stack_size_for(size)
    }

    /// Live tasks (exact when quiescent).
    pub fn live_tasks(&self) -> usize {
        self.shared.registry.len()
    }

    /// Number of worker threads (not counting stand-ins).
    pub fn workers(&self) -> usize {
        self.shared.config.workers
    }

    /// Stand-in threads running now, each covering a worker stuck in one
    /// task ([`Builder::spare_workers`]).
    pub fn stand_ins(&self) -> usize {
        self.shared.stand_ins.running()
    }

    /// Stop the workers, unwind every remaining task (its destructors run and
    /// its owner's `on_exit` gets [`Outcome::Cancelled`]), join every thread
    /// (workers and blocking pool) and free every stack.
    ///
    /// A worker whose task does not give it back within the grace period
    /// ([`Builder::shutdown_grace`], 5 s by default) is detached: its task
    /// is reported (a [`LongSchedule`] with `at_shutdown`) and left running
    /// on that thread, neither unwound nor told. A blocking job that never
    /// returns makes this wait forever.
    ///
    /// # Panics
    ///
    /// When called from inside a task of any scheduler (it would wait for its
    /// own worker).
    pub fn shutdown(self) {
        assert!(
            !crate::task::in_task(),
            "Scheduler::shutdown called from inside a task: call it from outside the scheduler"
        );
        let sh = &self.shared;
        // SeqCst: ordered with the re-check in `spawn` (and `StandIns::start`).
        if sh.shutdown.swap(true, Ordering::SeqCst) {
            return;
        }
        for p in sh.parkers.iter() {
            p.unpark(&sh.driver);
        }
        sh.monitor.wake_for_shutdown();
        let mut threads = std::mem::take(&mut *sh.threads.lock());
        // The monitor (the only one without a slot) first: once it is gone,
        // no stand-in starts, so the list taken next is complete.
        if let Some(i) = threads.iter().position(|(slot, _)| slot.is_none()) {
            let _ = threads.swap_remove(i).1.join();
        }
        threads.extend(
            sh.stand_ins
                .take_threads()
                .into_iter()
                .map(|(slot, h)| (Some(slot), h)),
        );
        let deadline = sh
            .config
            .shutdown_grace
            .and_then(|g| Instant::now().checked_add(g));
        for (slot, h) in threads {
            if finishes_by(&h, deadline) {
                let _ = h.join();
            } else if let Some(worker) = slot {
                // Detached: dropping the handle lets the thread run on alone.
                drop(h);
                monitor::report(
                    &sh.monitor,
                    LongSchedule {
                        worker,
                        running_for: sh.config.shutdown_grace.unwrap_or_default(),
                        // Relaxed: a hint (see `Lane::tag`).
                        tag: sh.lanes[worker].tag.load(Ordering::Relaxed),
                        stand_in: None,
                        at_shutdown: true,
                    },
                );
            }
        }
        sh.blocking.shutdown();
        // Unwinding a task may unpark, cancel or (failing) spawn others: repeat
        // until nothing is left.
        loop {
            let mut timers = sh.timers.drain();
            drop(std::mem::take(&mut timers));
            while !sh.injector.steal().is_empty() {}
            let tasks = sh.registry.drain();
            if tasks.is_empty() {
                break;
            }
            for t in tasks {
                unwind_at_shutdown(t);
            }
        }
        sh.driver.clear();
        sh.pools.write().clear();
        sh.trace.finish();
    }
}

/// Waits until `h`'s thread has finished or `deadline` has passed (`None`:
/// no deadline); true if it finished.
fn finishes_by(h: &JoinHandle<()>, deadline: Option<Instant>) -> bool {
    let Some(deadline) = deadline else {
        return true; // join waits as long as it takes
    };
    let mut nap = Duration::from_micros(50);
    while !h.is_finished() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(5));
    }
    true
}

/// Unwind a task that no worker will run again. Called by the shutdown thread
/// after every worker stopped.
fn unwind_at_shutdown(t: TaskRef) {
    let task = &t.task;
    // Running: on a thread shutdown detached (its task never yielded), which
    // still holds the run right. Leave it to that thread.
    if task.state.is_done() || task.state.is_running() {
        return;
    }
    // SAFETY: every worker has stopped, so no thread holds or can take the run
    // right (it would need a worker); this thread is the only one touching the
    // context now.
    let ctx = unsafe { task.context_mut() }.take();
    drop(ctx.map(Context::into_stack));
    // SAFETY: as above: this thread alone holds the run right.
    unsafe { task.set_outcome(Outcome::Cancelled) };
    if task.state.finish_at_shutdown() {
        // SAFETY: the swap moved the task out of PARKED: its parked
        // reference is ours.
        drop(unsafe { t.take_parked() });
    }
    crate::trace::exited(&task.shared, task.tag, &Outcome::Cancelled);
    t.owner().on_exit(Outcome::Cancelled);
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("workers", &self.shared.config.workers)
            .field("live_tasks", &self.shared.registry.len())
            .finish()
    }
}
