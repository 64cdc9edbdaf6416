//! `Task.Supervisor`: a supervisor of temporary task processes, for
//! fire-and-forget work ([`TaskSupervisor::start_child`]) and for tasks whose
//! crash must not take their caller along ([`TaskSupervisor::async_nolink`]).
//!
//! It is a `SimpleOneForOne` [`supervisor`](crate::supervisor) whose template
//! starts one process per job, `Temporary` (never restarted, as Elixir's
//! task supervisor children are by default) with a 5 s shutdown.
//!
//! # The async_nolink handshake
//!
//! The task is spawned by the supervisor, so the caller can only monitor it
//! *after* it exists. For the monitor to see every way the task can end, the
//! task's code waits for a `Go` from its owner, which the owner sends after
//! `monitor` (Elixir's `Task.Supervised` waits the same way). The task
//! monitors the owner meanwhile, so an owner that dies before `Go` does not
//! leave it waiting forever.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bream::{receive, Down, Pid};

use super::{ReplyTo, Task};
use crate::start::StartError;
use crate::supervisor::{
    self, ChildError, ChildSpec, Restart, Shutdown, Strategy, Supervisor, SupervisorRef,
};

/// A job for the template: the function, taken once by the process that runs
/// it. (`dynamic_worker` wants a `Clone + Sync` argument; a `FnOnce` is
/// neither, so it travels in a shared, take-once cell.)
#[derive(Clone)]
struct Job(Arc<Mutex<Option<JobFn>>>);

/// The function a job runs.
type JobFn = Box<dyn FnOnce() + Send>;

impl Job {
    fn new(f: impl FnOnce() + Send + 'static) -> Self {
        Job(Arc::new(Mutex::new(Some(Box::new(f)))))
    }

    fn take(&self) -> Option<JobFn> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Start one job under `sup`. The template never answers `Ignore`, so a
/// started child always has a pid; `Ignore` would be a bug, reported as such.
fn start_job(sup: &SupervisorRef, job: Job) -> Result<Pid, ChildError> {
    supervisor::start_dynamic_child(sup, job)?.ok_or(ChildError::Start(StartError::Ignore))
}

/// The owner's go-ahead to an `async_nolink` task (see the module docs).
struct Go {
    tag: bream::Ref,
}

/// A running task supervisor (Elixir's `Task.Supervisor`).
///
/// ```
/// use std::time::Duration;
/// use bream_stdlib::task::{self, TaskSupervisor, TaskError};
///
/// bream::run(|| {
///     let sup = TaskSupervisor::start_link().unwrap();
///     let ok = sup.async_nolink(|| 1 + 1).unwrap();
///     assert_eq!(task::await_(ok, Duration::from_secs(5)), Ok(2));
///     // A crash comes back as an error; the caller is not linked to it.
///     let bad = sup.async_nolink(|| -> u32 { panic!("boom") }).unwrap();
///     assert!(matches!(task::await_(bad, Duration::from_secs(5)), Err(TaskError::Exit(_))));
/// });
/// ```
#[derive(Clone, Debug)]
pub struct TaskSupervisor {
    sup: SupervisorRef,
}

impl TaskSupervisor {
    fn spec() -> Supervisor {
        let template = ChildSpec::dynamic_worker("task", |job: Job| {
            Ok(bream::spawn_link(move || {
                if let Some(f) = job.take() {
                    f();
                }
            }))
        })
        .restart(Restart::Temporary)
        .shutdown(Shutdown::Timeout(Duration::from_secs(5)));
        Supervisor::new(Strategy::SimpleOneForOne).child(template)
    }

    /// Start a task supervisor linked to the caller (Elixir's
    /// `Task.Supervisor.start_link/1`).
    ///
    /// # Errors
    /// As [`Supervisor::start_link`].
    pub fn start_link() -> Result<TaskSupervisor, StartError> {
        Ok(TaskSupervisor {
            sup: Self::spec().start_link()?,
        })
    }

    /// A child spec that starts a task supervisor registered as `name`; reach
    /// it with [`TaskSupervisor::named`].
    pub fn child_spec(id: impl Into<String>, name: &'static str) -> ChildSpec {
        Self::spec().name(name).child_spec(id)
    }

    /// A handle to the task supervisor registered as `name`.
    pub fn named(name: &'static str) -> TaskSupervisor {
        TaskSupervisor {
            sup: SupervisorRef::named(name),
        }
    }

    /// The underlying supervisor.
    pub fn supervisor(&self) -> &SupervisorRef {
        &self.sup
    }

    /// Run `f` in a new supervised process, not linked to the caller, whose
    /// result nobody awaits (Elixir's `Task.Supervisor.start_child/2`).
    ///
    /// # Errors
    /// [`ChildError`] if the supervisor is not running or cannot start it.
    pub fn start_child(&self, f: impl FnOnce() + Send + 'static) -> Result<Pid, ChildError> {
        start_job(&self.sup, Job::new(f))
    }

    /// Start a supervised task whose result the caller awaits, *not* linked
    /// to the caller (Elixir's `Task.Supervisor.async_nolink/2`): if it
    /// crashes, [`await_`](super::await_) returns
    /// [`TaskError::Exit`](super::TaskError::Exit) and the caller lives on.
    ///
    /// # Errors
    /// [`ChildError`] if the supervisor is not running or cannot start it.
    pub fn async_nolink<T, F>(&self, f: F) -> Result<Task<T>, ChildError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let reply_to = ReplyTo::new();
        let (owner, tag, alias) = (reply_to.owner, reply_to.tag, reply_to.alias);
        let job = Job::new(move || {
            let watch = bream::monitor(owner);
            let go = receive! {
                g: Go if g.tag == tag => true,
                d: Down if d.monitor == watch => false,
            };
            if go {
                bream::demonitor(watch, true);
                reply_to.run(f);
            }
        });
        let pid = start_job(&self.sup, job)?;
        let monitor = bream::monitor(pid);
        bream::send(pid, Go { tag });
        let reply_to = ReplyTo { owner, alias, tag };
        Ok(reply_to.into_task(pid, monitor))
    }

    /// The pids of the running tasks (Elixir's `Task.Supervisor.children/1`).
    ///
    /// # Errors
    /// [`ChildError`] if the supervisor is not running.
    pub fn children(&self) -> Result<Vec<Pid>, ChildError> {
        Ok(supervisor::which_children(&self.sup)?
            .into_iter()
            .filter_map(|c| match c.state {
                supervisor::ChildState::Running(pid) => Some(pid),
                _ => None,
            })
            .collect())
    }

    /// Terminate the task `pid` as the template's shutdown says (Elixir's
    /// `Task.Supervisor.terminate_child/2`).
    ///
    /// # Errors
    /// [`ChildError`] if it is not a child of this supervisor.
    pub fn terminate_child(&self, pid: Pid) -> Result<(), ChildError> {
        supervisor::terminate_child(&self.sup, pid)
    }
}
