//! Spawning processes: [`spawn`], [`spawn_link`], [`spawn_monitor`],
//! [`spawn_opt`], [`try_spawn`], and what can go wrong ([`SpawnError`]).

use std::fmt;

use bream_scheduler::task;

use crate::exit;
use crate::lifecycle;
use crate::pid::{MonitorRef, Pid};
use crate::process::current;

/// Options for [`spawn_opt`] (Erlang's `spawn_opt/2` options, plus a name).
///
/// ```
/// use bream::SpawnOpts;
/// bream::run(|| {
///     let opts = SpawnOpts { monitor: true, name: Some("worker"), ..Default::default() };
///     let (pid, monitor) = bream::spawn_opt(opts, || { bream::receive::<()>(); }).unwrap();
///     assert_eq!(bream::whereis("worker"), Some(pid));
///     bream::send(pid, ());
///     let down: bream::Down = bream::receive();
///     assert_eq!(Some(down.monitor), monitor);
/// });
/// ```
#[derive(Clone, Debug, Default)]
pub struct SpawnOpts {
    /// Link the new process to the caller before it runs.
    pub link: bool,
    /// Monitor the new process before it runs; [`spawn_opt`] returns the ref.
    pub monitor: bool,
    /// Start with `trap_exit(true)`.
    pub trap_exit: bool,
    /// Stack size in bytes (default: the runtime's, [`Builder::stack_size`](crate::Builder::stack_size)).
    pub stack_size: Option<usize>,
    /// Register the new process under this name before it runs.
    pub name: Option<&'static str>,
    /// Bound its mailbox, and say what happens to a message that finds it
    /// full (bounded.rs; default: unbounded, as in Erlang).
    pub mailbox_limit: Option<crate::MailboxLimit>,
    /// Freeze the process's stack once a receive has waited this long
    /// (default: the runtime's, [`Builder::hibernate_after`](crate::Builder::hibernate_after),
    /// which is off). A frozen process keeps its frames on the heap (a few
    /// hundred bytes) and gives its stack page back; its next message
    /// thaws it (docs/processes.md, "Idle processes").
    pub hibernate_after: Option<std::time::Duration>,
}

/// Why a process could not be spawned. Nothing is half-created: no link,
/// monitor, name or table slot is left behind.
#[derive(Debug)]
#[non_exhaustive]
pub enum SpawnError {
    /// `max` processes are alive (Erlang's `system_limit`).
    ProcessLimit {
        /// The limit, `Runtime::builder().max_processes(n)`.
        max: usize,
    },
    /// `SpawnOpts::name` is already registered.
    NameTaken {
        /// The name asked for.
        name: &'static str,
        /// The process that holds it.
        holder: Pid,
    },
    /// The scheduler could not start a task: no stack memory, the kernel's
    /// memory-map limit, or the runtime is shutting down. Its message names
    /// the knob to turn.
    Scheduler(bream_scheduler::SpawnError),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::ProcessLimit { max } => write!(
                f,
                "process limit reached: {max} processes are alive; raise it with \
                 Runtime::builder().max_processes(n)"
            ),
            SpawnError::NameTaken { name, holder } => {
                write!(
                    f,
                    "cannot spawn: the name {name:?} is registered to {holder}"
                )
            }
            SpawnError::Scheduler(e) => write!(f, "cannot spawn: {e}"),
        }
    }
}

impl std::error::Error for SpawnError {}

/// Spawns a process with options; the monitor ref if `opts.monitor`.
///
/// The link, monitor, trap flag and name all exist before `f` runs, so the
/// child cannot exit unnoticed.
///
/// # Errors
/// [`SpawnError`]: the process limit, a taken name, no stack memory.
///
/// # Panics
/// Outside a bream process.
pub fn spawn_opt<F>(opts: SpawnOpts, f: F) -> Result<(Pid, Option<MonitorRef>), SpawnError>
where
    F: FnOnce() + Send + 'static,
{
    let me = current("spawn_opt");
    exit::handle_signals(me);
    task::reduce(1);
    lifecycle::create(&me.rt, opts, Some(me), None, f)
}

/// Spawns a process running `f`, or says why it cannot.
///
/// ```
/// bream::run(|| {
///     let pid = bream::try_spawn(|| {}).expect("room for one more");
///     let _ = pid;
/// });
/// ```
///
/// # Errors
/// [`SpawnError`].
///
/// # Panics
/// Outside a bream process.
pub fn try_spawn<F: FnOnce() + Send + 'static>(f: F) -> Result<Pid, SpawnError> {
    spawn_opt(SpawnOpts::default(), f).map(|(pid, _)| pid)
}

/// Spawns a process running `f` and returns its pid at once.
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     let child = bream::spawn(move || bream::send(me, bream::self_pid()));
///     assert_eq!(bream::receive::<bream::Pid>(), child);
/// });
/// ```
///
/// # Panics
/// If the process cannot be spawned (as Erlang's `spawn` raises
/// `system_limit`), with the [`SpawnError`]'s message; outside a bream process.
#[track_caller]
pub fn spawn<F: FnOnce() + Send + 'static>(f: F) -> Pid {
    try_spawn(f).unwrap_or_else(|e| panic!("{e}"))
}

/// Spawns a process linked to the caller (the link exists before `f` runs).
///
/// ```
/// use bream::{Exit, ExitReason};
/// bream::run(|| {
///     bream::trap_exit(true);
///     let child = bream::spawn_link(|| panic!("oops"));
///     let e: Exit = bream::receive();
///     assert_eq!(e, Exit { from: child, reason: ExitReason::Panic("oops".into()) });
/// });
/// ```
///
/// # Panics
/// As [`spawn`].
#[track_caller]
pub fn spawn_link<F: FnOnce() + Send + 'static>(f: F) -> Pid {
    let opts = SpawnOpts {
        link: true,
        ..SpawnOpts::default()
    };
    spawn_opt(opts, f).unwrap_or_else(|e| panic!("{e}")).0
}

/// Spawns a process monitored by the caller (the monitor exists before `f`
/// runs).
///
/// ```
/// bream::run(|| {
///     let (pid, monitor) = bream::spawn_monitor(|| {});
///     let down: bream::Down = bream::receive();
///     assert_eq!((down.pid, down.monitor, down.reason), (pid, monitor, bream::ExitReason::Normal));
/// });
/// ```
///
/// # Panics
/// As [`spawn`].
#[track_caller]
pub fn spawn_monitor<F: FnOnce() + Send + 'static>(f: F) -> (Pid, MonitorRef) {
    let opts = SpawnOpts {
        monitor: true,
        ..SpawnOpts::default()
    };
    let (pid, r) = spawn_opt(opts, f).unwrap_or_else(|e| panic!("{e}"));
    (
        pid,
        r.expect("spawn_opt returns the monitor it was asked for"),
    )
}
