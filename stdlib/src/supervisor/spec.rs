//! What a supervisor is told: its flags ([`Strategy`], intensity, period) and
//! its children's specs ([`ChildSpec`]: id, start function, [`Restart`],
//! [`Shutdown`], [`ChildType`]). OTP's `sup_flags()` and `child_spec()` maps.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bream::Pid;

use crate::gen_server::{self, GenServer};
use crate::start::StartError;

/// How a supervisor restarts its children when one of them dies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Restart only the child that died.
    OneForOne,
    /// Terminate all the other children (last started first), then restart all
    /// of them in start order. For children that cannot work without each other.
    OneForAll,
    /// Terminate the children started *after* the one that died (last first),
    /// then restart it and them in start order. For chains where each child
    /// depends on the ones before it.
    RestForOne,
    /// Like `OneForOne`, for many children started at run time from one
    /// template spec ([`ChildSpec::dynamic_worker`]) with
    /// [`start_dynamic_child`](super::start_dynamic_child).
    SimpleOneForOne,
}

/// When a child that exited is restarted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// Always (a server that must run).
    Permanent,
    /// Only if it exited abnormally: not after `Normal` or `Shutdown` (a job that
    /// must finish).
    Transient,
    /// Never, not even when a sibling's failure restarts the others under
    /// `OneForAll` / `RestForOne`; its spec is removed when it exits.
    Temporary,
}

/// How a supervisor terminates a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// `exit(child, Kill)`: no cleanup.
    BrutalKill,
    /// `exit(child, Shutdown)`, wait up to this long for it to exit (a trapping
    /// child runs its cleanup), then `exit(child, Kill)`.
    Timeout(Duration),
    /// `exit(child, Shutdown)` and wait as long as it takes: the default for a
    /// child that is a supervisor, which needs the time to stop its own children.
    Infinity,
}

/// Whether a child is a worker or a supervisor (OTP's `type`). It sets the
/// default [`Shutdown`] and shows in [`count_children`](super::count_children).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildType {
    /// Any process that is not a supervisor.
    Worker,
    /// A supervisor (its own children below it).
    Supervisor,
}

/// A start function: runs in the supervisor's process, starts the child
/// *linked to the caller* (e.g. [`gen_server::start_link`]) and returns its pid.
/// `Err(StartError::Ignore)` means "no process, and that is fine".
pub type StartFn = Arc<dyn Fn() -> Result<Pid, StartError> + Send + Sync>;

/// A template's start function, type-erased: binds the argument given to
/// `start_dynamic_child` (None if it has the wrong type).
pub(crate) type BindFn = Arc<dyn Fn(Box<dyn Any + Send>) -> Option<StartFn> + Send + Sync>;

#[derive(Clone)]
pub(crate) enum Starter {
    Fixed(StartFn),
    Template(BindFn),
}

/// What a supervisor knows about one child (OTP's child spec map).
///
/// Defaults, as OTP's: `Restart::Permanent`; `Shutdown::Timeout(5 s)` for a
/// worker, `Shutdown::Infinity` for a supervisor.
///
/// ```
/// use std::time::Duration;
/// use bream_stdlib::supervisor::{ChildSpec, Restart, Shutdown};
///
/// let spec = ChildSpec::worker("logger", || Ok(bream::spawn_link(|| bream::sleep(Duration::from_secs(1)))))
///     .restart(Restart::Transient)
///     .shutdown(Shutdown::BrutalKill);
/// assert_eq!(spec.id(), "logger");
/// ```
#[derive(Clone)]
pub struct ChildSpec {
    pub(crate) id: String,
    pub(crate) start: Starter,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Shutdown,
    pub(crate) kind: ChildType,
}

/// A worker's default shutdown time, as OTP's (5000 ms).
pub const DEFAULT_WORKER_SHUTDOWN: Duration = Duration::from_secs(5);

impl ChildSpec {
    fn new(id: impl Into<String>, kind: ChildType, start: Starter) -> Self {
        ChildSpec {
            id: id.into(),
            start,
            restart: Restart::Permanent,
            shutdown: match kind {
                ChildType::Worker => Shutdown::Timeout(DEFAULT_WORKER_SHUTDOWN),
                ChildType::Supervisor => Shutdown::Infinity,
            },
            kind,
        }
    }

    /// A worker started by `start`, which must link the child to its caller.
    pub fn worker(
        id: impl Into<String>,
        start: impl Fn() -> Result<Pid, StartError> + Send + Sync + 'static,
    ) -> Self {
        ChildSpec::new(id, ChildType::Worker, Starter::Fixed(Arc::new(start)))
    }

    /// A child that is itself a supervisor, started by `start`
    /// (see also [`Supervisor::child_spec`](super::Supervisor::child_spec)).
    pub fn supervisor(
        id: impl Into<String>,
        start: impl Fn() -> Result<Pid, StartError> + Send + Sync + 'static,
    ) -> Self {
        ChildSpec::new(id, ChildType::Supervisor, Starter::Fixed(Arc::new(start)))
    }

    /// A worker that is the gen_server `S`, started with
    /// `gen_server::start_link::<S>(args.clone())`.
    pub fn gen_server<S>(id: impl Into<String>, args: S::Args) -> Self
    where
        S: GenServer,
        S::Args: Clone + Sync,
    {
        ChildSpec::worker(id, move || {
            gen_server::start_link::<S>(args.clone()).map(|server| pid_of(&server))
        })
    }

    /// The template of a `SimpleOneForOne` supervisor: each
    /// [`start_dynamic_child`](super::start_dynamic_child)`(sup, arg)` starts one
    /// more child with `start(arg)` (and restarts it with a clone of `arg`).
    pub fn dynamic_worker<A, F>(id: impl Into<String>, start: F) -> Self
    where
        A: Clone + Send + Sync + 'static,
        F: Fn(A) -> Result<Pid, StartError> + Send + Sync + 'static,
    {
        let start = Arc::new(start);
        let bind: BindFn = Arc::new(move |arg: Box<dyn Any + Send>| {
            let arg: A = *arg.downcast::<A>().ok()?;
            let start = Arc::clone(&start);
            let bound: StartFn = Arc::new(move || start(arg.clone()));
            Some(bound)
        });
        ChildSpec::new(id, ChildType::Worker, Starter::Template(bind))
    }

    /// Set the restart type (default `Permanent`).
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Set the shutdown (default: 5 s for a worker, `Infinity` for a supervisor).
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Set the child type; the shutdown stays as it was.
    pub fn kind(mut self, kind: ChildType) -> Self {
        self.kind = kind;
        self
    }

    /// The child's id: unique among its supervisor's children.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn is_template(&self) -> bool {
        matches!(self.start, Starter::Template(_))
    }
}

/// The pid behind a handle a start function just got.
pub(crate) fn pid_of<S: GenServer>(server: &gen_server::ServerRef<S>) -> Pid {
    server
        .pid()
        .expect("a server that start_link just returned is named by its pid")
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("kind", &self.kind)
            .field("dynamic", &self.is_template())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Result<Pid, StartError> {
        Err(StartError::Ignore)
    }

    #[test]
    fn defaults_are_otps() {
        let w = ChildSpec::worker("w", start);
        assert_eq!((w.restart, w.kind), (Restart::Permanent, ChildType::Worker));
        assert_eq!(w.shutdown, Shutdown::Timeout(Duration::from_millis(5000)));
        let s = ChildSpec::supervisor("s", start);
        assert_eq!(
            (s.restart, s.kind, s.shutdown),
            (
                Restart::Permanent,
                ChildType::Supervisor,
                Shutdown::Infinity
            )
        );
    }

    #[test]
    fn a_template_binds_only_its_own_argument_type() {
        let t = ChildSpec::dynamic_worker("t", |_: u32| Err(StartError::Ignore));
        let Starter::Template(bind) = &t.start else {
            panic!("a dynamic spec is a template")
        };
        assert!(bind(Box::new(7u32)).is_some());
        assert!(bind(Box::new("seven")).is_none());
    }
}
