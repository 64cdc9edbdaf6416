//! The supervisor's public face: [`Supervisor`] (its flags and child specs, and
//! how to start it), [`SupervisorRef`], and the functions that manage children
//! at run time, with OTP's errors.

use std::fmt;
use std::time::Duration;

use bream::Pid;

use super::child::ChildState;
use super::server::{Request, Response, SupServer};
use super::spec::{pid_of, ChildSpec, ChildType, Strategy};
use crate::gen_server::{self, CallError, ServerRef, INFINITY};
use crate::start::StartError;

/// OTP's default restart intensity: at most 1 restart ...
pub const DEFAULT_INTENSITY: u32 = 1;
/// ... within 5 seconds (OTP's default `period`).
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(5);

/// A supervisor's specification: strategy, restart intensity, and children in
/// start order (OTP's `init/1` result `{ok, {SupFlags, ChildSpecs}}`).
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
    pub(crate) children: Vec<ChildSpec>,
    pub(crate) name: Option<&'static str>,
}

impl Supervisor {
    /// A supervisor with this strategy, no children, and OTP's default
    /// intensity (1 restart in 5 s).
    pub fn new(strategy: Strategy) -> Self {
        Supervisor {
            strategy,
            intensity: DEFAULT_INTENSITY,
            period: DEFAULT_PERIOD,
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

    /// Add a child, started after the ones added before it.
    pub fn child(mut self, spec: ChildSpec) -> Self {
        self.children.push(spec);
        self
    }

    /// Register the supervisor under `name` when it starts.
    pub fn name(mut self, name: &'static str) -> Self {
        self.name = Some(name);
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
        let server = match self.name {
            Some(name) => gen_server::start_link_named::<SupServer>(name, self),
            None => gen_server::start_link::<SupServer>(self),
        }?;
        Ok(SupervisorRef { server })
    }

    /// Start the supervisor without a link to the caller.
    ///
    /// # Errors
    ///
    /// As [`start_link`](Self::start_link).
    pub fn start(self) -> Result<SupervisorRef, StartError> {
        let server = match self.name {
            Some(name) => gen_server::start_named::<SupServer>(name, self),
            None => gen_server::start::<SupServer>(self),
        }?;
        Ok(SupervisorRef { server })
    }

    /// A child spec that starts this supervisor (linked) under another one.
    pub fn child_spec(self, id: impl Into<String>) -> ChildSpec {
        ChildSpec::supervisor(id, move || {
            self.clone().start_link().map(|sup| pid_of(&sup.server))
        })
    }

    /// Check the spec as OTP's `check_childspecs` does.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.strategy == Strategy::SimpleOneForOne {
            if self.children.len() != 1 || !self.children[0].is_template() {
                return Err("SimpleOneForOne needs exactly one dynamic child spec".into());
            }
            return Ok(());
        }
        for (i, spec) in self.children.iter().enumerate() {
            if spec.is_template() {
                return Err(format!(
                    "dynamic child spec {:?} needs SimpleOneForOne",
                    spec.id
                ));
            }
            if self.children[..i].iter().any(|s| s.id == spec.id) {
                return Err(format!("duplicate child id {:?}", spec.id));
            }
        }
        Ok(())
    }
}

/// A handle to a running supervisor, by pid or registered name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SupervisorRef {
    server: ServerRef<SupServer>,
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
    /// The supervisor's pid now (`None`: the name is not registered).
    pub fn pid(&self) -> Option<Pid> {
        self.server.pid()
    }

    /// Stop the supervisor: it terminates its children (last first) and exits
    /// with `reason` (`gen_server::stop`).
    ///
    /// # Errors
    ///
    /// As [`gen_server::stop`].
    pub fn stop(&self, reason: bream::ExitReason, timeout: Duration) -> Result<(), CallError> {
        gen_server::stop(&self.server, reason, timeout)
    }
}

impl fmt::Debug for SupervisorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Supervisor{:?}", self.server)
    }
}

/// Which child an operation means: by id, or (for `SimpleOneForOne`, whose
/// children share one id) by pid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChildKey {
    /// The child spec's id.
    Id(String),
    /// The child's current pid.
    Pid(Pid),
}

impl std::convert::From<&str> for ChildKey {
    fn from(id: &str) -> Self {
        ChildKey::Id(id.to_owned())
    }
}
impl std::convert::From<String> for ChildKey {
    fn from(id: String) -> Self {
        ChildKey::Id(id)
    }
}
impl std::convert::From<Pid> for ChildKey {
    fn from(pid: Pid) -> Self {
        ChildKey::Pid(pid)
    }
}

/// Why a child operation failed: OTP's `{error, _}` values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChildError {
    /// `start_child`: a child with this id runs as this pid.
    AlreadyStarted(Pid),
    /// `start_child`: a spec with this id exists (not running).
    AlreadyPresent,
    /// No child with this id (or pid).
    NotFound,
    /// `restart_child` / `delete_child`: the child is running.
    Running,
    /// `restart_child` / `delete_child`: the supervisor is restarting it.
    Restarting,
    /// Not allowed on a `SimpleOneForOne` supervisor (e.g. `restart_child`,
    /// or terminating by id).
    SimpleOneForOne,
    /// `start_dynamic_child` on a supervisor that is not `SimpleOneForOne`.
    NotSimpleOneForOne,
    /// `start_dynamic_child`'s argument is not the template's argument type.
    WrongArgumentType,
    /// The child's start function failed (`Start(Ignore)`: it chose not to run).
    Start(StartError),
    /// The supervisor could not be reached.
    Call(CallError),
}

impl fmt::Display for ChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
impl std::error::Error for ChildError {}

/// One line of [`which_children`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildInfo {
    /// The child spec's id (a `SimpleOneForOne` child has its template's).
    pub id: String,
    /// Running (with its pid), restarting, or not running.
    pub state: ChildState,
    /// Worker or supervisor.
    pub kind: ChildType,
}

/// What [`count_children`] returns (OTP's `count_children/1` proplist).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ChildCounts {
    /// Children, running or not.
    pub specs: usize,
    /// Children running now.
    pub active: usize,
    /// Children of type supervisor, running or not.
    pub supervisors: usize,
    /// Children of type worker, running or not.
    pub workers: usize,
}

fn request(sup: &SupervisorRef, request: Request) -> Result<Response, ChildError> {
    gen_server::call(&sup.server, request, INFINITY).map_err(ChildError::Call)
}

fn started(response: Response) -> Result<Pid, ChildError> {
    match response {
        Response::Started(result) => result,
        _ => unreachable!("the supervisor answers a start with Started"),
    }
}

fn done(response: Response) -> Result<(), ChildError> {
    match response {
        Response::Done(result) => result,
        _ => unreachable!("the supervisor answers this request with Done"),
    }
}

/// Add a child to a running supervisor and start it (OTP's `start_child/2`).
///
/// # Errors
///
/// `AlreadyStarted(pid)` / `AlreadyPresent` if the id is taken,
/// `SimpleOneForOne` on a `SimpleOneForOne` supervisor (use
/// [`start_dynamic_child`]), `Start(e)` if the child did not start (an ignored
/// child's spec is kept, as OTP does).
pub fn start_child(sup: &SupervisorRef, spec: ChildSpec) -> Result<Pid, ChildError> {
    started(request(sup, Request::StartChild(spec))?)
}

/// Start one more child of a `SimpleOneForOne` supervisor from its template,
/// with `arg` (OTP's `start_child(Sup, ExtraArgs)`).
///
/// # Errors
///
/// `NotSimpleOneForOne`, `WrongArgumentType`, or `Start(e)`.
pub fn start_dynamic_child<A: Send + 'static>(
    sup: &SupervisorRef,
    arg: A,
) -> Result<Pid, ChildError> {
    started(request(sup, Request::StartDynamic(Box::new(arg)))?)
}

/// Terminate a child as its [`Shutdown`](super::Shutdown) says (OTP's
/// `terminate_child/2`). Its spec stays (restart it with [`restart_child`]),
/// except for a Temporary child or a `SimpleOneForOne` child, which are removed.
///
/// # Errors
///
/// `NotFound`; `SimpleOneForOne` when a `SimpleOneForOne` child is named by id.
pub fn terminate_child(sup: &SupervisorRef, child: impl Into<ChildKey>) -> Result<(), ChildError> {
    done(request(sup, Request::Terminate(child.into()))?)
}

/// Start again a child that was terminated (OTP's `restart_child/2`).
///
/// # Errors
///
/// `NotFound`, `Running`, `Restarting`, `SimpleOneForOne`, or `Start(e)`.
pub fn restart_child(sup: &SupervisorRef, id: &str) -> Result<Pid, ChildError> {
    started(request(sup, Request::Restart(id.to_owned()))?)
}

/// Remove a terminated child's spec (OTP's `delete_child/2`).
///
/// # Errors
///
/// `NotFound`, `Running`, `Restarting`, or `SimpleOneForOne`.
pub fn delete_child(sup: &SupervisorRef, id: &str) -> Result<(), ChildError> {
    done(request(sup, Request::Delete(id.to_owned()))?)
}

/// Every child, in start order (OTP's `which_children/1`).
///
/// # Errors
///
/// `Call(e)` if the supervisor could not be reached.
pub fn which_children(sup: &SupervisorRef) -> Result<Vec<ChildInfo>, ChildError> {
    match request(sup, Request::Which)? {
        Response::Which(children) => Ok(children),
        _ => unreachable!("the supervisor answers Which with Which"),
    }
}

/// How many children, by kind and state (OTP's `count_children/1`).
///
/// # Errors
///
/// `Call(e)` if the supervisor could not be reached.
pub fn count_children(sup: &SupervisorRef) -> Result<ChildCounts, ChildError> {
    match request(sup, Request::Count)? {
        Response::Count(counts) => Ok(counts),
        _ => unreachable!("the supervisor answers Count with Count"),
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
        assert!(dup.validate().unwrap_err().contains("duplicate"));
        let template = ChildSpec::dynamic_worker("t", |_: ()| Err(StartError::Ignore));
        let misplaced = Supervisor::new(Strategy::OneForOne).child(template.clone());
        assert!(misplaced.validate().is_err());
        let simple = Supervisor::new(Strategy::SimpleOneForOne);
        assert!(simple.clone().validate().is_err(), "no template");
        assert_eq!(simple.clone().child(template.clone()).validate(), Ok(()));
        assert!(simple.child(template).child(spec("x")).validate().is_err());
    }

    #[test]
    fn defaults_are_otps() {
        let s = Supervisor::new(Strategy::OneForOne);
        assert_eq!((s.intensity, s.period), (1, Duration::from_secs(5)));
    }
}
