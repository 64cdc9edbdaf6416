//! How a supervisor is specified and started: the [`Supervisor`] flags and
//! children, the [`Init`] callback that builds them (OTP's `init/1`), the
//! start functions, [`SupervisorRef`], and [`stop`].
//!
//! # Two ways to say what a supervisor supervises
//!
//! OTP asks a callback module: `Module:init(Args)` runs in the new supervisor
//! process at *every* start, including each restart by its own supervisor, and
//! returns `{ok, {SupFlags, ChildSpecs}}` or `ignore`. So a restarted
//! supervisor reads its configuration afresh. bream has the same: an init
//! closure, `Fn() -> Init`, given to [`start_link`] (or [`child_spec`] for a
//! supervisor under another one), called in the supervisor's process each time.
//!
//! A fixed spec needs no closure: the builder ([`Supervisor::new`] ...
//! [`Supervisor::start_link`]) is the init callback that returns the same
//! [`Supervisor`] every time.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bream::{ExitReason, Pid};

use super::server::{SupArgs, SupServer, SupervisorState};
use super::spec::{check_one, AutoShutdown, ChildSpec, SpecError, Strategy};
use crate::gen_server::{self, CallError, ServerRef};
use crate::name::Name;
use crate::start::StartError;

/// OTP's default restart intensity: at most 1 restart ...
pub const DEFAULT_INTENSITY: u32 = 1;
/// ... within 5 seconds (OTP's default `period`).
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(5);

/// A supervisor's specification: strategy, restart intensity, auto shutdown,
/// and children in start order (OTP's `init/1` result `{ok, {SupFlags,
/// ChildSpecs}}`).
///
/// ```
/// use bream_stdlib::supervisor::{self, ChildSpec, Strategy, Supervisor};
///
/// let children = bream::run(|| {
///     let sup = Supervisor::new(Strategy::OneForOne)
///         .child(ChildSpec::worker("a", || Ok(bream::spawn_link(|| { bream::receive::<()>(); }))))
///         .child(ChildSpec::worker("b", || Ok(bream::spawn_link(|| { bream::receive::<()>(); }))))
///         .start_link()
///         .unwrap();
///     supervisor::count_children(&sup).unwrap().active
/// });
/// assert_eq!(children, 2);
/// ```
#[derive(Clone, Debug)]
pub struct Supervisor {
    pub(crate) strategy: Strategy,
    pub(crate) intensity: u32,
    pub(crate) period: Duration,
    pub(crate) auto_shutdown: AutoShutdown,
    pub(crate) children: Vec<ChildSpec>,
    pub(crate) name: Option<Name>,
}

/// What a supervisor's init callback decided (OTP's `init/1` result).
#[derive(Clone, Debug)]
pub enum Init {
    /// Run with these flags and children (OTP's `{ok, {SupFlags, ChildSpecs}}`).
    Ready(Supervisor),
    /// Do not run, and that is fine: the start returns `StartError::Ignore`,
    /// and a parent supervisor keeps the child's spec without a pid (OTP's
    /// `ignore`).
    Ignore,
}

impl std::convert::From<Supervisor> for Init {
    fn from(spec: Supervisor) -> Self {
        Init::Ready(spec)
    }
}

/// The init callback as the supervisor process keeps it.
pub(crate) type InitFn = Arc<dyn Fn() -> Init + Send + Sync>;

impl Supervisor {
    /// A supervisor with this strategy, no children, OTP's default intensity
    /// (1 restart in 5 s) and `AutoShutdown::Never`.
    pub fn new(strategy: Strategy) -> Self {
        Supervisor {
            strategy,
            intensity: DEFAULT_INTENSITY,
            period: DEFAULT_PERIOD,
            auto_shutdown: AutoShutdown::Never,
            children: Vec::new(),
            name: None,
        }
    }

    /// Allow at most `restarts` restarts within the period; one more and the
    /// supervisor terminates its children and exits `Shutdown`.
    pub fn intensity(mut self, restarts: u32) -> Self {
        self.intensity = restarts;
        self
    }

    /// The sliding window the intensity counts restarts in.
    pub fn period(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }

    /// When the supervisor shuts itself down after significant children exit
    /// (default `Never`; see [`AutoShutdown`]).
    pub fn auto_shutdown(mut self, auto_shutdown: AutoShutdown) -> Self {
        self.auto_shutdown = auto_shutdown;
        self
    }

    /// Add a child, started after the ones added before it.
    pub fn child(mut self, spec: ChildSpec) -> Self {
        self.children.push(spec);
        self
    }

    /// Register the supervisor under `name` when it starts (builder form
    /// only: an init callback's `Supervisor` cannot rename a process that is
    /// already running; use [`start_link_named`]).
    ///
    /// `name` is a `&'static str` or any [`Name`], e.g. a Registry key
    /// ([`Name::via`]): OTP's `{local, Name}` or `{via, Module, Name}`.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Start the supervisor linked to the caller, and its children in order.
    ///
    /// # Errors
    ///
    /// `StartError::ChildFailed { id, error }` if a child failed to start (the
    /// ones started before it are terminated first), `BadSpec` for an invalid
    /// specification, `AlreadyStarted` if the name is taken.
    pub fn start_link(self) -> Result<SupervisorRef, StartError> {
        let name = self.name.clone();
        spawn(name, true, self.into_init())
    }

    /// Start the supervisor without a link to the caller.
    ///
    /// # Errors
    ///
    /// As [`start_link`](Self::start_link).
    pub fn start(self) -> Result<SupervisorRef, StartError> {
        let name = self.name.clone();
        spawn(name, false, self.into_init())
    }

    /// A child spec that starts this supervisor (linked) under another one.
    pub fn child_spec(self, id: impl Into<String>) -> ChildSpec {
        let name = self.name.clone();
        let init = self.into_init();
        ChildSpec::supervisor(id, move || {
            spawn(name.clone(), true, Arc::clone(&init)).map(|sup| sup.pid_now())
        })
    }

    /// The init callback that returns this spec every time.
    fn into_init(self) -> InitFn {
        Arc::new(move || Init::Ready(self.clone()))
    }

    /// Check the spec as OTP's supervisor does at start (`check_childspecs`
    /// plus the strategy's own rules).
    pub(crate) fn validate(&self) -> Result<(), SpecError> {
        if self.strategy == Strategy::SimpleOneForOne {
            if self.children.len() != 1 || !self.children[0].is_template() {
                return Err(SpecError::SimpleOneForOneNeedsOneTemplate);
            }
            return check_one(&self.children[0], Some(self.auto_shutdown));
        }
        if let Some(t) = self.children.iter().find(|s| s.is_template()) {
            return Err(SpecError::DynamicOutsideSimpleOneForOne(t.id.clone()));
        }
        super::spec::check_childspecs(&self.children, Some(self.auto_shutdown))
    }
}

fn spawn(name: Option<Name>, link: bool, init: InitFn) -> Result<SupervisorRef, StartError> {
    let args = SupArgs { init };
    let server = match (name, link) {
        (Some(name), true) => gen_server::start_link_named::<SupServer>(name, args),
        (Some(name), false) => gen_server::start_named::<SupServer>(name, args),
        (None, true) => gen_server::start_link::<SupServer>(args),
        (None, false) => gen_server::start::<SupServer>(args),
    }?;
    Ok(SupervisorRef { server })
}

/// Start a supervisor linked to the caller, whose flags and children `init`
/// builds (OTP's `supervisor:start_link(Module, Args)`). `init` runs in the new
/// supervisor's process, after it traps exits and before its children start;
/// it runs again at each restart when the supervisor is a child of another one
/// (see [`child_spec`]), so it may read fresh configuration each time.
///
/// ```
/// use bream_stdlib::supervisor::{self, ChildSpec, Init, Strategy, Supervisor};
/// use bream_stdlib::StartError;
///
/// bream::run(|| {
///     let workers = 3; // e.g. read from configuration
///     let sup = supervisor::start_link(move || {
///         let mut spec = Supervisor::new(Strategy::OneForOne);
///         for i in 0..workers {
///             spec = spec.child(ChildSpec::worker(format!("w{i}"), || {
///                 Ok(bream::spawn_link(|| { bream::receive::<()>(); }))
///             }));
///         }
///         Init::Ready(spec)
///     })
///     .unwrap();
///     assert_eq!(supervisor::count_children(&sup).unwrap().active, 3);
///
///     // An init that says "ignore" starts nothing, and that is not a failure.
///     let ignored = supervisor::start_link(|| Init::Ignore);
///     assert_eq!(ignored.unwrap_err(), StartError::Ignore);
/// });
/// ```
///
/// # Errors
///
/// `StartError::Ignore` if `init` returned [`Init::Ignore`];
/// `StartError::Init(Panic(..))` if it panicked; else as
/// [`Supervisor::start_link`].
pub fn start_link(
    init: impl Fn() -> Init + Send + Sync + 'static,
) -> Result<SupervisorRef, StartError> {
    spawn(None, true, Arc::new(init))
}

/// [`start_link`] without the link to the caller.
///
/// # Errors
///
/// As [`start_link`].
pub fn start(init: impl Fn() -> Init + Send + Sync + 'static) -> Result<SupervisorRef, StartError> {
    spawn(None, false, Arc::new(init))
}

/// [`start_link`], registering the supervisor as `name` before `init` runs
/// (OTP's `supervisor:start_link({local, Name}, Module, Args)`).
///
/// # Errors
///
/// `AlreadyStarted(pid)` if the name is taken, else as [`start_link`].
pub fn start_link_named(
    name: impl Into<Name>,
    init: impl Fn() -> Init + Send + Sync + 'static,
) -> Result<SupervisorRef, StartError> {
    spawn(Some(name.into()), true, Arc::new(init))
}

/// [`start`], registering the supervisor as `name` before `init` runs.
///
/// # Errors
///
/// As [`start_link_named`].
pub fn start_named(
    name: impl Into<Name>,
    init: impl Fn() -> Init + Send + Sync + 'static,
) -> Result<SupervisorRef, StartError> {
    spawn(Some(name.into()), false, Arc::new(init))
}

/// A child spec (type supervisor, `Shutdown::Infinity`) that starts a
/// supervisor built by `init`, linked to its parent; each restart calls `init`
/// again in the new supervisor process (OTP's `{supervisor, start_link,
/// [Module, Args]}` child). An `Init::Ignore` leaves the child `Undefined`.
pub fn child_spec(
    id: impl Into<String>,
    init: impl Fn() -> Init + Send + Sync + 'static,
) -> ChildSpec {
    let init: InitFn = Arc::new(init);
    ChildSpec::supervisor(id, move || {
        spawn(None, true, Arc::clone(&init)).map(|sup| sup.pid_now())
    })
}

/// Stop the supervisor: it terminates its children (last first) and exits
/// with `reason`; returns once it has exited (OTP's `gen_server:stop/3` on a
/// supervisor, which is how OTP stops one).
///
/// # Links
///
/// A caller linked to the supervisor (it called `start_link`) gets its exit
/// signal: with `Shutdown` a caller that does not trap exits dies of it, as in
/// OTP. Stop with `ExitReason::Normal` to stop a tree one is linked to and go
/// on.
///
/// ```
/// use bream_stdlib::supervisor::{self, Strategy, Supervisor};
///
/// bream::run(|| {
///     let sup = Supervisor::new(Strategy::OneForOne).start().unwrap();
///     let pid = sup.pid().unwrap();
///     supervisor::stop(&sup, bream::ExitReason::Shutdown, bream_stdlib::gen_server::INFINITY).unwrap();
///     assert!(!bream::is_alive(pid));
/// });
/// ```
///
/// # Errors
///
/// As [`gen_server::stop`]: `NoProc` if it is not running, `Timeout` if it
/// has not exited within `timeout` ([`INFINITY`](crate::gen_server::INFINITY)
/// waits as long as its children's shutdowns take).
pub fn stop(sup: &SupervisorRef, reason: ExitReason, timeout: Duration) -> Result<(), CallError> {
    gen_server::stop(&sup.server, reason, timeout)
}

/// A handle to a running supervisor, by pid or registered name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SupervisorRef {
    pub(crate) server: ServerRef<SupServer>,
}

impl SupervisorRef {
    /// A handle to the supervisor `pid`.
    pub fn from_pid(pid: Pid) -> Self {
        SupervisorRef {
            server: ServerRef::from_pid(pid),
        }
    }
    /// A handle to the supervisor registered as `name` at each use.
    pub fn named(name: &'static str) -> Self {
        SupervisorRef {
            server: ServerRef::named(name),
        }
    }
    /// A handle to the supervisor registered under `name` (local or via)
    /// now, resolved once: `None` if nothing is registered.
    pub fn whereis(name: &Name) -> Option<Self> {
        name.whereis().map(Self::from_pid)
    }
    /// The supervisor's pid now (`None`: the name is not registered).
    pub fn pid(&self) -> Option<Pid> {
        self.server.pid()
    }

    /// The pid of a supervisor a start function just started (its own
    /// process, so a named one is registered).
    fn pid_now(&self) -> Pid {
        self.pid()
            .expect("a supervisor that start_link just returned has a pid")
    }
}

/// sys sees a supervisor's state as a [`SupervisorState`]:
/// `sys::get_state(&sup)`, `sys::suspend(&sup)`, `sys::get_status(&sup)` ...
/// (a supervisor is a gen_server, so its loop speaks the system protocol).
impl crate::sys::SysRef for SupervisorRef {
    type State = SupervisorState;
    fn sys_pid(&self) -> Option<Pid> {
        self.pid()
    }
    fn view(state: &mut dyn std::any::Any) -> Option<&mut SupervisorState> {
        state.downcast_mut::<SupServer>().map(|sup| &mut sup.0)
    }
}

impl fmt::Debug for SupervisorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Supervisor{:?}", self.server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str) -> ChildSpec {
        ChildSpec::worker(id, || Err(StartError::Ignore))
    }

    #[test]
    fn validate_refuses_what_otps_check_childspecs_refuses() {
        let ok = Supervisor::new(Strategy::OneForAll)
            .child(spec("a"))
            .child(spec("b"));
        assert_eq!(ok.validate(), Ok(()));
        let dup = Supervisor::new(Strategy::OneForOne)
            .child(spec("a"))
            .child(spec("a"));
        assert_eq!(dup.validate(), Err(SpecError::DuplicateId("a".into())));
        let template = ChildSpec::dynamic_worker("t", |_: ()| Err(StartError::Ignore));
        let misplaced = Supervisor::new(Strategy::OneForOne).child(template.clone());
        assert!(misplaced.validate().is_err());
        let simple = Supervisor::new(Strategy::SimpleOneForOne);
        assert!(simple.clone().validate().is_err(), "no template");
        assert_eq!(simple.clone().child(template.clone()).validate(), Ok(()));
        assert!(simple.child(template).child(spec("x")).validate().is_err());
    }

    #[test]
    fn significant_children_need_auto_shutdown() {
        let sig = spec("s")
            .restart(super::super::Restart::Transient)
            .significant(true);
        let never = Supervisor::new(Strategy::OneForOne).child(sig.clone());
        assert_eq!(
            never.validate(),
            Err(SpecError::SignificantWithoutAutoShutdown("s".into()))
        );
        let any = never.auto_shutdown(AutoShutdown::AnySignificant);
        assert_eq!(any.validate(), Ok(()));
    }

    #[test]
    fn defaults_are_otps() {
        let s = Supervisor::new(Strategy::OneForOne);
        assert_eq!((s.intensity, s.period), (1, Duration::from_secs(5)));
        assert_eq!(s.auto_shutdown, AutoShutdown::Never);
    }
}
