//! The runtime: [`Runtime`], its [`Builder`], [`run`], and the state every
//! process of one runtime shares ([`Shared`]: the process table, the registry,
//! the scheduler) with the delivery primitives built on them.

use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex as StdMutex, MutexGuard as StdGuard};
use std::time::Duration;

use bream_mailbox::Push;
use bream_scheduler::Scheduler;

use crate::exit::Signal;
use crate::lifecycle;
use crate::pid::{Pid, Ref};
use crate::process::Process;
use crate::reason::ExitReason;
use crate::registry::Registry;
use crate::sync::{AtomicU64, Ordering};
use crate::table::{Entry, Table};

/// The default process limit: 1,048,576, as the BEAM's `+P` default.
pub const DEFAULT_MAX_PROCESSES: usize = 1 << 20;

/// What every process of one runtime shares. Any thread.
pub(crate) struct Shared {
    /// Where pids lead (table.rs; its own locks).
    pub(crate) table: Table,
    /// Registered names (registry.rs; its own lock).
    pub(crate) registry: Registry,
    /// The workers. Immutable handle (`Arc` inside).
    pub(crate) scheduler: Scheduler,
    /// The next `Ref`. Relaxed: uniqueness needs only atomicity.
    refs: AtomicU64,
    /// How long a receive waits before it reports messages no arm takes
    /// (receive.rs, "The unmatched-message warning"). Immutable.
    pub(crate) unmatched_warning: Option<Duration>,
    /// `Builder::hibernate_after`: the default of `SpawnOpts::hibernate_after`.
    /// Immutable.
    pub(crate) hibernate_after: Option<Duration>,
    /// The distribution layer's router (remote.rs), set at most once by
    /// `__remote::install`; read by any process that meets a remote pid.
    pub(crate) remote: std::sync::OnceLock<Arc<dyn crate::remote::Router>>,
    /// Dead-letter counters and subscribers (dead_letters.rs).
    pub(crate) dead_letters: crate::dead_letters::DeadLetters,
    /// Bounded processes' policies (bounded.rs).
    pub(crate) bounds: crate::bounded::Bounds,
    /// Children published by supervisors (observer/children.rs; its own lock).
    pub(crate) board: crate::observer::Board,
}

impl Shared {
    pub(crate) fn new_ref(&self) -> Ref {
        Ref(self.refs.fetch_add(1, Ordering::Relaxed))
    }

    /// Pushes a message to `pid` and wakes it if it waits, from a sender that
    /// is not a process (a timer, a socket). False if `pid` is not alive. A
    /// message that does not get in is a dead letter (bounded.rs's policies,
    /// with no waiting: the sender is not a process).
    #[inline]
    pub(crate) fn deliver<T: Send + 'static>(&self, pid: Pid, msg: T) -> bool {
        match self.try_deliver(pid, msg) {
            Ok(()) => true,
            Err(u) => {
                let alive = matches!(u, crate::bounded::Undelivered::Full(_));
                crate::bounded::undelivered(self, None, pid, u.map(crate::bounded::Plain));
                alive
            }
        }
    }

    /// Pushes a signal to `pid` (steps 1–3 of exit.rs's sender recipe). False if
    /// `pid` is not alive.
    pub(crate) fn deliver_signal(&self, pid: Pid, sig: Signal) -> bool {
        if !pid.is_local() {
            return crate::remote::signal(self, pid, sig);
        }
        crate::observer::signal(self, pid, &sig);
        let restart = self.table.with_entry(pid, |e| {
            let p = e.process.as_ref()?;
            let push = p.tx.push(sig);
            // Release: pairs with the Acquire load in exit.rs's `pass`.
            p.signals.fetch_add(1, Ordering::Release);
            match push {
                Push::Wake => wake(e),
                Push::Queued => {
                    if let Some(t) = &e.task {
                        t.unpark();
                    }
                    None
                }
            }
        });
        match restart {
            None => false,
            Some(None) => true,
            Some(Some(p)) => {
                lifecycle::restart(p);
                true
            }
        }
    }
}

/// The push that claimed a waiting receiver: unpark its task, or, if it
/// hibernates, hand it back to be restarted once the slot lock is released.
///
/// A process that has a task in its slot is not hibernating: a hibernation
/// clears the task (under the slot's write lock, which our read lock excludes)
/// before it announces waiting, and a restart sets `hib` back to `AWAKE` before
/// the new task records itself. So only a slot without a task needs `hib`.
#[inline]
pub(crate) fn wake(e: &Entry) -> Option<Arc<Process>> {
    if let Some(t) = &e.task {
        t.unpark();
        return None;
    }
    let p = e.process.as_ref()?;
    lifecycle::claim_wake(p).then(|| Arc::clone(p))
}

/// Configures and builds a [`Runtime`].
///
/// ```
/// let rt = bream::Runtime::builder()
///     .workers(2)
///     .stack_size(64 * 1024)
///     .max_processes(10_000)
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(|| 6 * 7), 42);
/// rt.shutdown();
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    workers: Option<usize>,
    stack_size: Option<usize>,
    max_processes: usize,
    trap_stack_overflow: bool,
    chaos: bool,
    long_schedule: Option<Duration>,
    unmatched_warning: Option<Duration>,
    spare_workers: Option<usize>,
    shutdown_grace: Option<Option<Duration>>,
    log_dead_letters: bool,
    hibernate_after: Option<Duration>,
    pub(crate) trace: Option<std::path::PathBuf>, // Builder::trace (observer/trace.rs)
}

/// The default of [`Builder::unmatched_message_warning`]: 2 s in debug builds,
/// off in release builds.
pub const DEFAULT_UNMATCHED_MESSAGE_WARNING: Option<Duration> = if cfg!(debug_assertions) {
    Some(Duration::from_secs(2))
} else {
    None
};

impl Builder {
    /// Worker threads (default: one per core).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = Some(n.max(1));
        self
    }

    /// Default stack size of a process, in bytes (default: the scheduler's,
    /// see docs/stacks.md). [`SpawnOpts::stack_size`](crate::SpawnOpts::stack_size) overrides it per process.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// The most processes alive at once (Erlang's `+P`; default 1,048,576).
    /// A spawn beyond it fails with [`SpawnError::ProcessLimit`](crate::SpawnError).
    pub fn max_processes(mut self, n: usize) -> Self {
        self.max_processes = n;
        self
    }

    /// Whether a stack overflow ends only the process (default, true) or aborts
    /// the OS process (false). See docs/architecture.md ("Stacks") and
    /// docs/stacks.md for what trapping costs.
    pub fn trap_stack_overflow(mut self, on: bool) -> Self {
        self.trap_stack_overflow = on;
        self
    }

    /// Chaos mode (debug builds only): the scheduler randomizes its `next` slot
    /// and steal order, to shake out order assumptions in tests. Default: on if
    /// the environment variable `BREAM_CHAOS` is set to `1`.
    pub fn chaos(mut self, on: bool) -> Self {
        self.chaos = on;
        self
    }

    /// Report a process that keeps its worker for `threshold` or longer
    /// without giving it back (a receive that waits, a spent reduction
    /// budget, `yield_now`): a `tracing` warning, as the BEAM's
    /// `system_monitor` `long_schedule` reports. Default: 100 ms; `None`
    /// turns the reports off. Either way, a process woken by the stuck one
    /// is moved to another worker rather than wait behind it
    /// (docs/scheduler.md, "The long-schedule monitor").
    pub fn long_schedule(mut self, threshold: Option<Duration>) -> Self {
        self.long_schedule = threshold;
        self
    }

    /// Warn when a receive has waited `threshold` while the mailbox holds
    /// messages of types no arm of it takes — the silent hang of sending `21`
    /// (an `i32`) to a process that receives `u64`. One line, once per process,
    /// through the crash-report path (stderr, or `tracing` when a subscriber is
    /// installed):
    ///
    /// ```text
    /// =WARNING REPORT==== process <0.0.0> waits for `u64` but its mailbox holds 1 message of type `i32` ...
    /// ```
    ///
    /// Default: 2 s in debug builds, off (`None`) in release builds
    /// ([`DEFAULT_UNMATCHED_MESSAGE_WARNING`]); a waiting receive then also
    /// reads the clock once and sets a timer.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = bream::Runtime::builder()
    ///     .unmatched_message_warning(Some(Duration::from_millis(500)))
    ///     .build()
    ///     .unwrap();
    /// rt.shutdown();
    /// ```
    pub fn unmatched_message_warning(mut self, threshold: Option<Duration>) -> Self {
        self.unmatched_warning = threshold;
        self
    }

    /// Freeze a process's stack once a receive has waited `after` (OTP's
    /// `hibernate_after`, for every process; default: never).
    /// [`SpawnOpts::hibernate_after`](crate::SpawnOpts::hibernate_after)
    /// overrides it per process.
    ///
    /// A frozen process keeps the few hundred bytes of frames it is using
    /// on the heap and gives its stack page back to the kernel; its next
    /// message (or timeout, or exit signal) copies them back to the same
    /// addresses, so the process cannot tell (pointers into its stack stay
    /// valid). Idle processes then cost about 1.5 KiB each instead of about 5;
    /// a wake-up costs a page fault and a copy, a few µs. `Duration::ZERO`
    /// freezes at every wait. docs/processes.md, "Idle processes".
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = bream::Runtime::builder()
    ///     .hibernate_after(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// let answer = rt.block_on(|| {
    ///     let me = bream::self_pid();
    ///     let idle = bream::spawn(move || {
    ///         let n: u32 = bream::receive(); // waits long: frozen meanwhile
    ///         bream::send(me, n + 1);
    ///     });
    ///     bream::sleep(Duration::from_millis(300));
    ///     bream::send(idle, 41u32);
    ///     bream::receive::<u32>()
    /// });
    /// assert_eq!(answer, 42);
    /// rt.shutdown();
    /// ```
    pub fn hibernate_after(mut self, after: Duration) -> Self {
        self.hibernate_after = Some(after);
        self
    }

    /// At most `n` stand-in threads (default: one per worker; 0: none). A
    /// worker that has run one process past the long-schedule threshold
    /// hands its queue to a fresh thread, so the other processes keep their
    /// latency while the stuck one runs; the thread retires when the process
    /// gives its worker back (docs/scheduler.md, "Stand-ins").
    pub fn spare_workers(mut self, n: usize) -> Self {
        self.spare_workers = Some(n);
        self
    }

    /// How long [`Runtime::shutdown`] (and the end of [`run`]) waits for a
    /// process that never gives its worker back (default: 5 s). Past it, the
    /// process is named in an error through `tracing` and its thread is
    /// detached, still running it. `None`: wait forever.
    pub fn shutdown_grace(mut self, grace: Option<Duration>) -> Self {
        self.shutdown_grace = Some(grace);
        self
    }

    /// Log every dead letter (bream::dead_letters) through `tracing` at `info`
    /// level, within the dead-letter rate (default: off; they are counted
    /// either way).
    pub fn log_dead_letters(mut self, on: bool) -> Self {
        self.log_dead_letters = on;
        self
    }

    /// Starts the worker threads.
    ///
    /// # Errors
    /// If the scheduler cannot start (threads, stack pool).
    pub fn build(self) -> io::Result<Runtime> {
        let mut b = Scheduler::builder()
            .trap_stack_overflow(self.trap_stack_overflow)
            .chaos(self.chaos)
            .long_schedule(self.long_schedule)
            .on_long_schedule(report_long_schedule)
            .trace_config(crate::observer::trace_config(self.trace.clone()));
        if let Some(n) = self.workers {
            b = b.workers(n);
        }
        if let Some(s) = self.stack_size {
            b = b.stack_size(s);
        }
        if let Some(n) = self.spare_workers {
            b = b.spare_workers(n);
        }
        if let Some(g) = self.shutdown_grace {
            b = b.shutdown_grace(g);
        }
        let scheduler = b.build()?;
        // After the scheduler's hook (installed by its build): ours sees each
        // panic first and records where a process panicked (report.rs).
        crate::report::install_panic_hook();
        let shared = Arc::new(Shared {
            table: Table::new(self.max_processes),
            registry: Registry::default(),
            scheduler,
            refs: AtomicU64::new(1),
            unmatched_warning: self.unmatched_warning,
            hibernate_after: self.hibernate_after,
            remote: std::sync::OnceLock::new(),
            dead_letters: crate::dead_letters::DeadLetters::new(self.log_dead_letters),
            bounds: crate::bounded::Bounds::default(),
            board: crate::observer::Board::default(),
        });
        Ok(Runtime {
            shared: Some(shared),
        })
    }
}

/// The long-schedule report, naming the process (the BEAM's
/// `{monitor, Pid, long_schedule, Info}` names it too).
fn report_long_schedule(r: bream_scheduler::LongSchedule) {
    let pid = Pid::from_bits(r.tag);
    if r.at_shutdown {
        tracing::error!(
            %pid,
            worker = r.worker,
            "bream: shutdown: process {pid} has not yielded after the {:?} grace \
             period; its worker thread is detached and still runs it",
            r.running_for
        );
        return;
    }
    tracing::warn!(
        stand_in = ?r.stand_in,
        %pid,
        worker = r.worker,
        running_for_ms = r.running_for.as_millis() as u64,
        "bream: long schedule: process {pid} has run {:?} without yielding \
         (a receive that waits, a spent reduction budget, yield_now); its worker \
         serves nobody else meanwhile (call bream::yield_now or bream::reduce in \
         long loops, or move the work to bream::blocking)",
        r.running_for
    );
}

/// A bream runtime: worker threads, a process table, a registry.
///
/// Most programs use [`run`]; build one explicitly to choose workers, stack size
/// or the process limit.
pub struct Runtime {
    shared: Option<Arc<Shared>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let live = self.shared.as_ref().map_or(0, |s| s.table.live());
        f.debug_struct("Runtime").field("processes", &live).finish()
    }
}

impl Runtime {
    /// A builder with the defaults.
    pub fn builder() -> Builder {
        Builder {
            workers: None,
            stack_size: None,
            max_processes: DEFAULT_MAX_PROCESSES,
            trap_stack_overflow: true,
            chaos: std::env::var_os("BREAM_CHAOS").is_some_and(|v| v == "1"),
            long_schedule: Some(bream_scheduler::DEFAULT_LONG_SCHEDULE),
            unmatched_warning: DEFAULT_UNMATCHED_MESSAGE_WARNING,
            spare_workers: None,
            shutdown_grace: None,
            log_dead_letters: false,
            hibernate_after: None,
            trace: None,
        }
    }

    /// A runtime with the defaults.
    ///
    /// # Errors
    /// As [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Runtime::builder().build()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        self.shared.as_ref().expect("runtime is shut down")
    }

    /// Runs `f` as a new process and blocks this thread until that process
    /// exits; returns what `f` returned.
    ///
    /// Other processes keep running after it returns (until
    /// [`shutdown`](Runtime::shutdown)).
    ///
    /// # Panics
    /// If the process does not return normally: a panic in `f` is resumed here
    /// with its original payload (`resume_unwind`: a `&str` or `String`
    /// message, as `std::thread`'s `join` hands it back), after the crash
    /// report has said where it panicked (`=CRASH REPORT==== process <0.0.0>
    /// crashed: panic at src/main.rs:7:9: ...`); any other exit reason panics
    /// naming it. Also when called from inside a process (it would block a
    /// worker thread).
    ///
    /// ```
    /// let rt = bream::Runtime::new().unwrap();
    /// let pid = rt.block_on(bream::self_pid);
    /// assert!(!rt.block_on(move || bream::is_alive(pid)));
    /// ```
    pub fn block_on<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        assert!(
            !bream_scheduler::task::in_task(),
            "Runtime::block_on (or bream::run) called from inside a process: it would block \
             a worker thread; spawn a process and receive its result instead"
        );
        type Done<R> = (StdMutex<Option<Result<R, ExitReason>>>, Condvar);
        let done: Arc<Done<R>> = Arc::new((StdMutex::new(None), Condvar::new()));
        let (d1, d2) = (Arc::clone(&done), Arc::clone(&done));
        // The panic's payload, if it was a string, to resume it as it was.
        let payload: Arc<StdMutex<Option<Payload>>> = Arc::default();
        let p1 = Arc::clone(&payload);
        let body = move || match panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(r) => *lock(&d1.0) = Some(Ok(r)),
            Err(e) => {
                // Only a panic's own payload types; the runtime's unwinds
                // (a kill, hibernate, shutdown) go on untouched.
                let copy = match (e.downcast_ref::<&'static str>(), e.downcast_ref::<String>()) {
                    (Some(s), _) => Some(Payload::Static(s)),
                    (None, Some(s)) => Some(Payload::Owned(s.clone())),
                    (None, None) => None,
                };
                *lock(&p1) = copy;
                panic::resume_unwind(e)
            }
        };
        // Runs in the process's exit, after its links and monitors fired.
        let hook = move |reason: &ExitReason| {
            let mut slot = lock(&d2.0);
            if slot.is_none() {
                *slot = Some(Err(reason.clone()));
            }
            d2.1.notify_all();
        };
        if let Err(e) = lifecycle::spawn_root(self.shared(), body, Box::new(hook)) {
            panic!("{e}");
        }
        let mut slot = lock(&done.0);
        let result = loop {
            match slot.take() {
                Some(r) => break r,
                None => slot = done.1.wait(slot).unwrap_or_else(|e| e.into_inner()),
            }
        };
        drop(slot);
        match result {
            Ok(v) => v,
            // The crash report (written before the exit hook ran) said
            // where; resume the payload as it was.
            Err(ExitReason::Panic(m)) => match lock(&payload).take() {
                Some(Payload::Static(s)) => panic::resume_unwind(Box::new(s)),
                Some(Payload::Owned(s)) => panic::resume_unwind(Box::new(s)),
                // Not its own string panic: killed by a linked process's
                // crash, or a payload of another type. Name the origin.
                None => panic!(
                    "the process run by block_on exited: {}",
                    ExitReason::Panic(m)
                ),
            },
            Err(reason) => panic!("the process run by block_on exited: {reason}"),
        }
    }

    /// Stops every process (each is unwound: destructors run), joins the worker
    /// threads and frees every stack.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(shared) = self.shared.take() {
            let stop = move || {
                shared.scheduler.clone().shutdown();
                drop(shared.table.clear());
            };
            if bream_scheduler::task::in_task() {
                // A runtime dropped inside a process of another runtime: the
                // scheduler refuses to shut down from a task, so a plain thread
                // does it.
                let _ = std::thread::spawn(stop).join();
            } else {
                stop();
            }
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a runtime with the defaults, runs `f` as its first process, shuts the
/// runtime down when `f` returns, and returns what `f` returned.
///
/// ```
/// let answer = bream::run(|| {
///     let me = bream::self_pid();
///     bream::spawn(move || bream::send(me, 42u32));
///     bream::receive::<u32>()
/// });
/// assert_eq!(answer, 42);
/// ```
///
/// # Panics
/// If the runtime cannot start, or `f`'s process does not return normally (see
/// [`Runtime::block_on`]).
pub fn run<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    assert!(
        !bream_scheduler::task::in_task(),
        "bream::run called from inside a process: it would block a worker thread; \
         spawn a process and receive its result instead"
    );
    let rt = Runtime::new().unwrap_or_else(|e| panic!("bream::run: cannot start the runtime: {e}"));
    let r = rt.block_on(f);
    rt.shutdown();
    r
}

/// A copy of the first process's panic payload (`Runtime::block_on`).
enum Payload {
    Static(&'static str),
    Owned(String),
}

/// Locks a std mutex, ignoring poison (the data is a plain result slot).
fn lock<T>(m: &StdMutex<T>) -> StdGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
