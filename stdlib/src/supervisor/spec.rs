//! What a supervisor is told: its flags ([`Strategy`], intensity, period,
//! [`AutoShutdown`]) and its children's specs ([`ChildSpec`]: id, start
//! function, [`Restart`], [`Shutdown`], [`ChildType`], significant). OTP's
//! `sup_flags()` and `child_spec()` maps, and [`check_childspecs`], the rules a
//! spec list must follow.

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

/// When a supervisor shuts itself down because its *significant* children
/// exited (OTP's `auto_shutdown` flag, OTP 24).
///
/// Only an exit a significant child makes *by itself* counts: not a child the
/// supervisor terminated (with [`terminate_child`](super::terminate_child), or
/// as a sibling in a `OneForAll`/`RestForOne` restart). A significant child is
/// Transient (it counts when it exits `Normal`/`Shutdown`; an abnormal exit
/// restarts it) or Temporary (any exit counts). The supervisor exits with
/// `Shutdown`, terminating its other children first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AutoShutdown {
    /// Never (the default); significant children are refused.
    #[default]
    Never,
    /// When any significant child exits.
    AnySignificant,
    /// When the last running significant child exits.
    AllSignificant,
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
    pub(crate) significant: bool,
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
            significant: false,
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

    /// A worker that is the gen_server `S` registered as `name`, started with
    /// `gen_server::start_link_named::<S>(name, args.clone())` (OTP's
    /// `{M, start_link, [{local, Name}, ...]}`). The name is registered before
    /// `init` runs and released when the server exits, so each restart takes
    /// it again.
    ///
    /// ```
    /// use bream_stdlib::gen_server::{self, CallResult, GenServer, Init, ReplyTo, ServerRef};
    /// use bream_stdlib::supervisor::{self, ChildSpec, Strategy, Supervisor};
    ///
    /// struct Echo;
    /// impl GenServer for Echo {
    ///     type Args = ();
    ///     type Call = u32;
    ///     type Reply = u32;
    ///     type Cast = ();
    ///     type Info = ();
    ///     type Continue = ();
    ///     fn init(_: ()) -> Init<Self> { Init::ok(Echo) }
    ///     fn handle_call(&mut self, n: u32, _: ReplyTo<u32>) -> CallResult<Self> {
    ///         CallResult::reply(n)
    ///     }
    /// }
    ///
    /// let n = bream::run(|| {
    ///     let _sup = Supervisor::new(Strategy::OneForOne)
    ///         .child(ChildSpec::gen_server_named::<Echo>("echo", "echo_server", ()))
    ///         .start_link()
    ///         .unwrap();
    ///     let echo = ServerRef::<Echo>::named("echo_server");
    ///     gen_server::call(&echo, 7, gen_server::DEFAULT_TIMEOUT).unwrap()
    /// });
    /// assert_eq!(n, 7);
    /// ```
    pub fn gen_server_named<S>(id: impl Into<String>, name: &'static str, args: S::Args) -> Self
    where
        S: GenServer,
        S::Args: Clone + Sync,
    {
        ChildSpec::worker(id, move || {
            gen_server::start_link_named::<S>(name, args.clone()).map(|server| pid_of(&server))
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

    /// Mark the child significant for [`AutoShutdown`] (default `false`). Only
    /// a Transient or Temporary child may be significant, and only under a
    /// supervisor whose `auto_shutdown` is not `Never` ([`check_childspecs`]).
    pub fn significant(mut self, significant: bool) -> Self {
        self.significant = significant;
        self
    }

    /// The child's id: unique among its supervisor's children.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its restart type.
    pub fn restart_type(&self) -> Restart {
        self.restart
    }

    /// How it is terminated.
    pub fn shutdown_type(&self) -> Shutdown {
        self.shutdown
    }

    /// Worker or supervisor.
    pub fn child_type(&self) -> ChildType {
        self.kind
    }

    /// Whether it is significant for [`AutoShutdown`].
    pub fn is_significant(&self) -> bool {
        self.significant
    }

    /// Whether it is the template of a `SimpleOneForOne` supervisor
    /// ([`ChildSpec::dynamic_worker`]).
    pub fn is_dynamic(&self) -> bool {
        self.is_template()
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
            .field("significant", &self.significant)
            .field("dynamic", &self.is_template())
            .finish()
    }
}

/// Why a list of child specs is invalid (OTP's `check_childspecs/1,2` errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecError {
    /// Two specs share this id (OTP's `duplicate_child_name`).
    DuplicateId(String),
    /// This significant child is Permanent (OTP's `invalid_significant`).
    SignificantPermanent(String),
    /// This child is significant, but `auto_shutdown` is `Never`.
    SignificantWithoutAutoShutdown(String),
    /// This spec is a `SimpleOneForOne` template, in another kind of supervisor.
    DynamicOutsideSimpleOneForOne(String),
    /// A `SimpleOneForOne` supervisor needs exactly one spec, a template.
    SimpleOneForOneNeedsOneTemplate,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::DuplicateId(id) => write!(f, "duplicate child id {id:?}"),
            SpecError::SignificantPermanent(id) => {
                write!(f, "child {id:?} is significant and permanent")
            }
            SpecError::SignificantWithoutAutoShutdown(id) => {
                write!(f, "child {id:?} is significant but auto_shutdown is never")
            }
            SpecError::DynamicOutsideSimpleOneForOne(id) => {
                write!(f, "dynamic child spec {id:?} needs SimpleOneForOne")
            }
            SpecError::SimpleOneForOneNeedsOneTemplate => {
                write!(f, "SimpleOneForOne needs exactly one dynamic child spec")
            }
        }
    }
}

impl std::error::Error for SpecError {}

/// Check a list of child specs as OTP's `supervisor:check_childspecs/2` does:
/// ids are unique, no significant child is Permanent, and, when
/// `auto_shutdown` is given, no child is significant under
/// `AutoShutdown::Never` (`None` skips that check, as OTP's `undefined`).
/// A supervisor makes these checks (and the strategy's own) at every start and
/// on [`start_child`](super::start_child); this lets a program check a spec
/// list before it hands it over.
///
/// ```
/// use bream_stdlib::supervisor::{check_childspecs, AutoShutdown, ChildSpec, Restart, SpecError};
/// use bream_stdlib::StartError;
///
/// let job = ChildSpec::worker("job", || Err(StartError::Ignore))
///     .restart(Restart::Transient)
///     .significant(true);
/// assert_eq!(check_childspecs(&[job.clone()], Some(AutoShutdown::AnySignificant)), Ok(()));
/// assert_eq!(
///     check_childspecs(&[job], Some(AutoShutdown::Never)),
///     Err(SpecError::SignificantWithoutAutoShutdown("job".into()))
/// );
/// ```
///
/// # Errors
///
/// The first [`SpecError`] found, in list order.
pub fn check_childspecs(
    specs: &[ChildSpec],
    auto_shutdown: Option<AutoShutdown>,
) -> Result<(), SpecError> {
    for (i, spec) in specs.iter().enumerate() {
        if specs[..i].iter().any(|s| s.id == spec.id) {
            return Err(SpecError::DuplicateId(spec.id.clone()));
        }
        check_one(spec, auto_shutdown)?;
    }
    Ok(())
}

/// The checks of one spec on its own (significance against its restart type
/// and the supervisor's `auto_shutdown`).
pub(crate) fn check_one(
    spec: &ChildSpec,
    auto_shutdown: Option<AutoShutdown>,
) -> Result<(), SpecError> {
    if !spec.significant {
        return Ok(());
    }
    if spec.restart == Restart::Permanent {
        return Err(SpecError::SignificantPermanent(spec.id.clone()));
    }
    if auto_shutdown == Some(AutoShutdown::Never) {
        return Err(SpecError::SignificantWithoutAutoShutdown(spec.id.clone()));
    }
    Ok(())
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
    fn significant_children_follow_otps_rules() {
        let t = ChildSpec::worker("t", start)
            .restart(Restart::Temporary)
            .significant(true);
        let any = Some(AutoShutdown::AnySignificant);
        assert_eq!(check_childspecs(std::slice::from_ref(&t), any), Ok(()));
        assert_eq!(check_childspecs(std::slice::from_ref(&t), None), Ok(()));
        let p = ChildSpec::worker("p", start).significant(true);
        assert_eq!(
            check_childspecs(&[p], any),
            Err(SpecError::SignificantPermanent("p".into()))
        );
        assert_eq!(
            check_childspecs(&[t.clone(), t], None),
            Err(SpecError::DuplicateId("t".into()))
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
