//! The runtime: [`Runtime`], its [`Builder`], [`run`], and the state every
//! process of one runtime shares ([`Shared`]: the process table, the registry,
//! the scheduler) with the delivery primitives built on them.

use std::fmt;
use std::io;
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

/// The scheduler's default stack size (scheduler/src/stack.rs, 64 KiB), which
/// the runtime passes explicitly so that `process_info` can report it.
const DEFAULT_STACK_SIZE: usize = 64 * 1024;

/// What every process of one runtime shares. Any thread.
pub(crate) struct Shared {
    /// Where pids lead (table.rs; its own locks).
    pub(crate) table: Table,
    /// Registered names (registry.rs; its own lock).
    pub(crate) registry: Registry,
    /// The workers. Immutable handle (`Arc` inside).
    pub(crate) scheduler: Scheduler,
    /// The stack size processes get unless they ask for another.
    pub(crate) stack_size: usize,
    /// The next `Ref`. Relaxed: uniqueness needs only atomicity.
    refs: AtomicU64,
    /// The distribution layer's router (remote.rs), set at most once by
    /// `__remote::install`; read by any process that meets a remote pid.
    pub(crate) remote: std::sync::OnceLock<Arc<dyn crate::remote::Router>>,
}

impl Shared {
    pub(crate) fn new_ref(&self) -> Ref {
        Ref(self.refs.fetch_add(1, Ordering::Relaxed))
    }

    /// Pushes a message to `pid` and wakes it if it waits. False if `pid` is not
    /// alive (the message is dropped).
    #[inline]
    pub(crate) fn deliver<T: Send + 'static>(&self, pid: Pid, msg: T) -> bool {
        let restart = self
            .table
            .with_entry(pid, |e| match e.tx.as_ref()?.push(msg) {
                Push::Queued => None,
                Push::Wake => wake(e),
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

    /// Pushes a signal to `pid` (steps 1–3 of exit.rs's sender recipe). False if
    /// `pid` is not alive.
    pub(crate) fn deliver_signal(&self, pid: Pid, sig: Signal) -> bool {
        if !pid.is_local() {
            return crate::remote::signal(self, pid, sig);
        }
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
fn wake(e: &Entry) -> Option<Arc<Process>> {
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
}

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
    /// the OS process (false). See DESIGN.md §3 for what trapping costs.
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

    /// Starts the worker threads.
    ///
    /// # Errors
    /// If the scheduler cannot start (threads, stack pool).
    pub fn build(self) -> io::Result<Runtime> {
        let mut b = Scheduler::builder()
            .trap_stack_overflow(self.trap_stack_overflow)
            .chaos(self.chaos)
            .long_schedule(self.long_schedule)
            .on_long_schedule(report_long_schedule);
        if let Some(n) = self.workers {
            b = b.workers(n);
        }
        if let Some(s) = self.stack_size {
            b = b.stack_size(s);
        }
        let scheduler = b.build()?;
        let shared = Arc::new(Shared {
            table: Table::new(self.max_processes),
            registry: Registry::default(),
            stack_size: self.stack_size.unwrap_or(DEFAULT_STACK_SIZE),
            scheduler,
            refs: AtomicU64::new(1),
            remote: std::sync::OnceLock::new(),
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
    tracing::warn!(
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
        }
    }

    /// A runtime with the defaults.
    ///
    /// # Errors
    /// As [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Runtime::builder().build()
    }

    fn shared(&self) -> &Arc<Shared> {
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
    /// with its message; any other exit reason panics naming it. Also when
    /// called from inside a process (it would block a worker thread).
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
        let body = move || {
            let r = f();
            *lock(&d1.0) = Some(Ok(r));
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
            // `panic!` (not `resume_unwind`) so the panic hook prints it: a
            // failed assertion in the process shows up like one on this thread.
            Err(ExitReason::Panic(m)) => panic!("{m}"),
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

/// Locks a std mutex, ignoring poison (the data is a plain result slot).
fn lock<T>(m: &StdMutex<T>) -> StdGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
