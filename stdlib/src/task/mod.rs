//! Tasks: Elixir's `Task` and `Task.Supervisor`. A task is a process that runs
//! one function and sends its result back to the process that started it
//! (its *owner*), which collects it with [`await_`].
//!
//! (The word is Elixir's. In bream's glossary a *task* is also what the
//! scheduler runs; in this module, and in docs/task.md, it always means an
//! Elixir task: a process with a result.)
//!
//! ```
//! use std::time::Duration;
//! use bream_stdlib::task;
//!
//! bream::run(|| {
//!     let answer = task::spawn(|| 6 * 7);
//!     // ... the owner works meanwhile ...
//!     assert_eq!(task::await_(answer, Duration::from_secs(5)), Ok(42));
//! });
//! ```
//!
//! | Elixir                                   | bream_stdlib                            |
//! |------------------------------------------|-----------------------------------------|
//! | `Task.async(fun)`                        | [`spawn`]`(f)` → [`Task<T>`]           |
//! | `Task.await(task, timeout)`              | [`await_`]`(task, timeout)`             |
//! | `Task.yield(task, timeout)`              | [`yield_`]`(task, timeout)` → [`Yielded`] |
//! | `Task.shutdown(task, timeout \| :brutal_kill)` | [`shutdown`]`(task, Shutdown)`    |
//! | `Task.await_many(tasks, timeout)`        | [`await_many`]                          |
//! | `Task.async_stream(items, fun, max_concurrency:, ordered:, timeout:)` | [`async_stream`]`(items, f, max, ordered)`, [`AsyncStream::timeout`] |
//! | `Task.Supervisor.start_link/1`           | [`TaskSupervisor::start_link`]          |
//! | `Task.Supervisor.start_child/2`          | [`TaskSupervisor::start_child`]         |
//! | `Task.Supervisor.async_nolink/2`         | [`TaskSupervisor::async_nolink`]        |
//! | `Task.Supervisor.children/1`, `terminate_child/2` | [`TaskSupervisor::children`], [`TaskSupervisor::terminate_child`] |
//!
//! # Links and crashes (as Elixir)
//!
//! [`spawn`] links the task to its owner and monitors it, both before the
//! task's code runs. If the task crashes, the exit signal reaches the owner
//! through the link: an owner that does not trap exits crashes with the same
//! reason (Elixir: "if the task crashes, the caller crashes too"). An owner
//! that traps exits gets an `Exit` message, and [`await_`] returns
//! [`TaskError::Exit`] with the reason. Tasks started with
//! [`TaskSupervisor::async_nolink`] are not linked: a crash only comes back
//! from [`await_`] as [`TaskError::Exit`].
//!
//! # Where bream differs
//!
//! Elixir's `Task.await` *exits the caller* on a timeout (and the linked task
//! with it). bream returns [`TaskError::Timeout`] and kills the task (after
//! unlinking it, so the kill does not come back to the caller): the same end
//! state for the task, with the caller left to decide. [`yield_`] is the
//! polling form that leaves the task running.
//!
//! # How a result comes back
//!
//! [`spawn`] makes a tag (`make_ref`, which also sets the owner's receive
//! marker) and an alias; the task sends `TaskReply { tag, value }` to the
//! alias. [`await_`] waits for that reply or the monitor's `Down`, scanning
//! only what arrived after the marker (O(1) behind a deep mailbox while it is
//! the owner's latest reference; a full scan, still correct, otherwise). When
//! the owner gives up, it drops the alias, so a late reply is dropped by the
//! runtime instead of lying in the mailbox.

mod stream;
mod supervisor;

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use bream::{receive, Alias, Down, ExitReason, MonitorRef, Pid, Ref};

pub use crate::supervisor::Shutdown;
pub use stream::{async_stream, AsyncStream};
pub use supervisor::TaskSupervisor;

/// The default timeout of [`await_`], as Elixir's (5000 ms).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Wait as long as the task lives (Elixir's `:infinity`).
pub const INFINITY: Duration = Duration::MAX;

/// A running task whose result, a `T`, its owner can collect (Elixir's
/// `%Task{}`). Only the process that started it may await it.
///
/// Dropping a `Task` without awaiting it leaves the task running; its result
/// then arrives in the owner's mailbox as a message nobody takes (as in
/// Elixir). Await it, or [`shutdown`] it.
#[must_use = "a task's result is only collected by await_, yield_ or shutdown"]
pub struct Task<T> {
    pid: Pid,
    owner: Pid,
    monitor: MonitorRef,
    alias: Alias,
    tag: Ref,
    _result: PhantomData<fn() -> T>,
}

impl<T> Task<T> {
    /// The task's process.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The process that started it and may await it.
    pub fn owner(&self) -> Pid {
        self.owner
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("pid", &self.pid)
            .field("owner", &self.owner)
            .finish()
    }
}

/// Why a task gave no result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskError {
    /// No result within the timeout; the task was killed.
    Timeout,
    /// The task exited with this reason before it replied. A linked task's
    /// abnormal exit is only seen here by an owner that traps exits (one that
    /// does not has exited with it).
    Exit(ExitReason),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Timeout => f.write_str("task timed out"),
            TaskError::Exit(reason) => write!(f, "task exited: {reason}"),
        }
    }
}

impl std::error::Error for TaskError {}

/// A task's result in its owner's mailbox.
pub(crate) struct TaskReply<T> {
    tag: Ref,
    value: T,
}

/// What the owner sets up before the task's code may run: where to reply.
pub(crate) struct ReplyTo {
    pub(crate) owner: Pid,
    pub(crate) alias: Alias,
    pub(crate) tag: Ref,
}

impl ReplyTo {
    /// A fresh tag (and receive marker) and alias of the calling process.
    pub(crate) fn new() -> Self {
        let tag = bream::make_ref();
        ReplyTo {
            owner: bream::self_pid(),
            alias: bream::alias(),
            tag,
        }
    }

    /// The task's side: run `f` and send its value back.
    pub(crate) fn run<T: Send + 'static>(self, f: impl FnOnce() -> T) {
        let value = f();
        bream::send_alias(
            self.alias,
            TaskReply {
                tag: self.tag,
                value,
            },
        );
    }

    pub(crate) fn into_task<T>(self, pid: Pid, monitor: MonitorRef) -> Task<T> {
        Task {
            pid,
            owner: self.owner,
            monitor,
            alias: self.alias,
            tag: self.tag,
            _result: PhantomData,
        }
    }
}

/// Start a task running `f`, linked to and monitored by the caller (Elixir's
/// `Task.async/1`).
///
/// # Panics
/// If the process cannot be spawned (the process limit; the message names the
/// knob), as [`bream::spawn`] does.
pub fn spawn<T, F>(f: F) -> Task<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let reply_to = ReplyTo::new();
    let (alias, tag, owner) = (reply_to.alias, reply_to.tag, reply_to.owner);
    let opts = bream::SpawnOpts {
        link: true,
        monitor: true,
        ..Default::default()
    };
    match bream::spawn_opt(opts, move || reply_to.run(f)) {
        Ok((pid, Some(monitor))) => Task {
            pid,
            owner,
            monitor,
            alias,
            tag,
            _result: PhantomData,
        },
        Ok((_, None)) => unreachable!("spawn_opt with monitor: true returns a monitor"),
        Err(error) => panic!("task::spawn: {error}"),
    }
}

/// What one wait for a task saw.
enum Seen<T> {
    Reply(T),
    Down(ExitReason),
    Nothing,
}

impl<T: Send + 'static> Task<T> {
    fn check_owner(&self, what: &str) {
        let me = bream::self_pid();
        assert!(
            me == self.owner,
            "task::{what}: the task {} is owned by {}, not by {me}",
            self.pid,
            self.owner
        );
    }

    /// Wait up to `timeout` for the reply or the `Down`.
    fn wait(&self, timeout: Duration) -> Seen<T> {
        let (tag, monitor) = (self.tag, self.monitor);
        if timeout == INFINITY {
            receive! { marker tag;
                r: TaskReply<T> if r.tag == tag => Seen::Reply(r.value),
                d: Down if d.monitor == monitor => Seen::Down(d.reason),
            }
        } else {
            receive! { marker tag;
                r: TaskReply<T> if r.tag == tag => Seen::Reply(r.value),
                d: Down if d.monitor == monitor => Seen::Down(d.reason),
                after timeout => Seen::Nothing,
            }
        }
    }

    /// The reply, if it is already in the mailbox.
    fn take_reply(&self) -> Option<T> {
        let tag = self.tag;
        receive! { marker tag;
            r: TaskReply<T> if r.tag == tag => Some(r.value),
            after Duration::ZERO => None,
        }
    }

    /// After a reply: drop the alias and the monitor (the task may still be
    /// exiting; its `Down` is dropped).
    fn finish_replied(&self) {
        bream::unalias(self.alias);
        crate::flush::forget_monitor(self.monitor, self.tag);
    }

    /// Stop the task with `reason` (unlinked first, so its exit does not come
    /// back to the owner) and wait for its `Down`; the reply, if one came
    /// first, wins. Kills after `grace` if given.
    fn stop(&self, reason: ExitReason, grace: Option<Duration>) -> Seen<T> {
        bream::unlink(self.pid);
        bream::exit(self.pid, reason);
        let seen = match self.wait(grace.unwrap_or(INFINITY)) {
            Seen::Nothing => {
                bream::exit(self.pid, ExitReason::Kill);
                self.wait(INFINITY)
            }
            seen => seen,
        };
        bream::unalias(self.alias);
        match seen {
            Seen::Reply(value) => {
                crate::flush::forget_monitor(self.monitor, self.tag);
                Seen::Reply(value)
            }
            Seen::Down(reason) => match self.take_reply() {
                Some(value) => Seen::Reply(value),
                None => Seen::Down(reason),
            },
            Seen::Nothing => unreachable!("an infinite wait ends with a reply or a Down"),
        }
    }
}

/// Wait up to `timeout` for `task`'s result (Elixir's `Task.await/2`); pass
/// [`INFINITY`] to wait as long as it runs.
///
/// # Errors
/// [`TaskError::Timeout`] if it did not finish in time (it is then killed, see
/// the module docs); [`TaskError::Exit`] if it exited without a result.
///
/// # Panics
/// If the caller is not the task's owner (Elixir raises too).
pub fn await_<T: Send + 'static>(task: Task<T>, timeout: Duration) -> Result<T, TaskError> {
    task.check_owner("await_");
    match task.wait(timeout) {
        Seen::Reply(value) => {
            task.finish_replied();
            Ok(value)
        }
        Seen::Down(reason) => {
            bream::unalias(task.alias);
            Err(TaskError::Exit(reason))
        }
        Seen::Nothing => match task.stop(ExitReason::Kill, None) {
            // It finished just as the time ran out: the result counts.
            Seen::Reply(value) => Ok(value),
            _ => Err(TaskError::Timeout),
        },
    }
}

/// What [`yield_`] found.
#[derive(Debug)]
pub enum Yielded<T> {
    /// The task's result (Elixir's `{:ok, reply}`).
    Ok(T),
    /// The task exited without a result (Elixir's `{:exit, reason}`).
    Exit(ExitReason),
    /// Still running (Elixir's `nil`): the task, handed back to wait again or
    /// to shut down.
    Running(Task<T>),
}

/// Wait up to `timeout` for `task`'s result, and hand the task back if it has
/// none yet (Elixir's `Task.yield/2`).
///
/// # Panics
/// If the caller is not the task's owner.
pub fn yield_<T: Send + 'static>(task: Task<T>, timeout: Duration) -> Yielded<T> {
    task.check_owner("yield_");
    match task.wait(timeout) {
        Seen::Reply(value) => {
            task.finish_replied();
            Yielded::Ok(value)
        }
        Seen::Down(reason) => {
            bream::unalias(task.alias);
            Yielded::Exit(reason)
        }
        Seen::Nothing => Yielded::Running(task),
    }
}

/// Stop `task` (Elixir's `Task.shutdown/2`): unlink it, send it the exit
/// signal `Shutdown` and wait up to the timeout for it to exit, then kill it;
/// or kill it at once with [`Shutdown::BrutalKill`].
///
/// Returns `Some(Ok(result))` if its result arrived first, `Some(Err(reason))`
/// if it had exited on its own with another reason, and `None` if it was shut
/// down.
///
/// # Panics
/// If the caller is not the task's owner.
pub fn shutdown<T: Send + 'static>(task: Task<T>, how: Shutdown) -> Option<Result<T, ExitReason>> {
    task.check_owner("shutdown");
    let seen = match how {
        Shutdown::BrutalKill => task.stop(ExitReason::Kill, None),
        Shutdown::Timeout(grace) => task.stop(ExitReason::Shutdown, Some(grace)),
        Shutdown::Infinity => task.stop(ExitReason::Shutdown, None),
    };
    match seen {
        Seen::Reply(value) => Some(Ok(value)),
        Seen::Down(ExitReason::Shutdown | ExitReason::Killed | ExitReason::NoProc) => None,
        Seen::Down(reason) => Some(Err(reason)),
        Seen::Nothing => None,
    }
}

/// Wait for all of `tasks` within one `timeout`, and return their results in
/// order (Elixir's `Task.await_many/2`).
///
/// # Errors
/// The first failure: [`TaskError::Timeout`] when the time runs out, or
/// [`TaskError::Exit`] when a task exits without a result. The tasks not yet
/// finished are then killed (Elixir's caller would exit and take them along).
///
/// # Panics
/// If the caller does not own every task.
pub fn await_many<T: Send + 'static>(
    tasks: Vec<Task<T>>,
    timeout: Duration,
) -> Result<Vec<T>, TaskError> {
    for task in &tasks {
        task.check_owner("await_many");
    }
    let deadline = Instant::now().checked_add(timeout);
    let mut results: Vec<Option<T>> = tasks.iter().map(|_| None).collect();
    let mut pending = tasks.len();
    let mut failure = None;
    let mut gone = None;
    while pending > 0 {
        let left = deadline.map_or(INFINITY, |d| d.saturating_duration_since(Instant::now()));
        let seen = if left == INFINITY {
            receive! {
                r: TaskReply<T> if tasks.iter().any(|t| t.tag == r.tag) => Ok(r),
                d: Down if tasks.iter().any(|t| t.monitor == d.monitor) => Err(Some(d)),
            }
        } else {
            receive! {
                r: TaskReply<T> if tasks.iter().any(|t| t.tag == r.tag) => Ok(r),
                d: Down if tasks.iter().any(|t| t.monitor == d.monitor) => Err(Some(d)),
                after left => Err(None),
            }
        };
        match seen {
            Ok(reply) => {
                let i = tasks.iter().position(|t| t.tag == reply.tag).unwrap_or(0);
                tasks[i].finish_replied();
                results[i] = Some(reply.value);
                pending -= 1;
            }
            Err(Some(down)) => {
                // Its Down is taken: it is gone, and not to be stopped below.
                let i = tasks.iter().position(|t| t.monitor == down.monitor);
                if let Some(i) = i {
                    bream::unalias(tasks[i].alias);
                    gone = Some(i);
                }
                failure = Some(TaskError::Exit(down.reason));
                break;
            }
            Err(None) => {
                failure = Some(TaskError::Timeout);
                break;
            }
        }
    }
    match failure {
        None => Ok(results.into_iter().flatten().collect()),
        Some(error) => {
            for (i, (task, result)) in tasks.iter().zip(&results).enumerate() {
                if result.is_none() && gone != Some(i) {
                    task.stop(ExitReason::Kill, None);
                }
            }
            Err(error)
        }
    }
}
