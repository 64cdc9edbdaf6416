//! Managing a running supervisor's children: OTP's `start_child`,
//! `terminate_child`, `restart_child`, `delete_child`, `get_childspec`,
//! `which_children` and `count_children`, each a call to the supervisor
//! process, with OTP's errors as [`ChildError`].

use std::fmt;

use bream::Pid;

use super::api::SupervisorRef;
use super::child::ChildState;
use super::server::{Request, Response};
use super::spec::{ChildSpec, ChildType, SpecError};
use crate::gen_server::{self, CallError, INFINITY};
use crate::start::StartError;

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
    /// The child's start function failed.
    Start(StartError),
    /// `start_child`: the spec breaks a rule of [`check_childspecs`](super::check_childspecs)
    /// (a significant child under `AutoShutdown::Never`, a Permanent
    /// significant child, a template outside `SimpleOneForOne`).
    BadSpec(SpecError),
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
///
/// For a `SimpleOneForOne` supervisor, as OTP's: `specs` is 1 (the template),
/// `active` the children running, and `workers` or `supervisors` (by the
/// template's type) the number of dynamic children.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ChildCounts {
    /// Child specs, running or not.
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

fn started(response: Response) -> Result<Option<Pid>, ChildError> {
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
/// `Ok(Some(pid))`: it runs. `Ok(None)`: its start function returned
/// `Err(StartError::Ignore)`, which is not a failure: the spec is kept (not
/// running, [`restart_child`] starts it), unless the child is Temporary (OTP's
/// `{ok, undefined}`).
///
/// ```
/// use bream_stdlib::supervisor::{self, ChildSpec, ChildState, Strategy, Supervisor};
/// use bream_stdlib::StartError;
///
/// bream::run(|| {
///     let sup = Supervisor::new(Strategy::OneForOne).start_link().unwrap();
///     let lazy = ChildSpec::worker("lazy", || Err(StartError::Ignore));
///     assert_eq!(supervisor::start_child(&sup, lazy), Ok(None));
///     let children = supervisor::which_children(&sup).unwrap();
///     assert_eq!(children[0].state, ChildState::Undefined);
/// });
/// ```
///
/// # Errors
///
/// `AlreadyStarted(pid)` / `AlreadyPresent` if the id is taken,
/// `SimpleOneForOne` on a `SimpleOneForOne` supervisor (use
/// [`start_dynamic_child`]), `BadSpec(e)` for a spec the supervisor refuses,
/// `Start(e)` if the child failed to start (the spec is not kept).
pub fn start_child(sup: &SupervisorRef, spec: ChildSpec) -> Result<Option<Pid>, ChildError> {
    started(request(sup, Request::StartChild(spec))?)
}

/// Start one more child of a `SimpleOneForOne` supervisor from its template,
/// with `arg` (OTP's `start_child(Sup, ExtraArgs)`). `Ok(None)`: the start
/// function returned `Err(StartError::Ignore)`; nothing is kept (OTP's
/// `{ok, undefined}`).
///
/// # Errors
///
/// `NotSimpleOneForOne`, `WrongArgumentType`, or `Start(e)`.
pub fn start_dynamic_child<A: Send + 'static>(
    sup: &SupervisorRef,
    arg: A,
) -> Result<Option<Pid>, ChildError> {
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
/// `Ok(None)`: its start function returned `Err(StartError::Ignore)` (OTP's
/// `{ok, undefined}`); the spec stays.
///
/// # Errors
///
/// `NotFound`, `Running`, `Restarting`, `SimpleOneForOne`, or `Start(e)`.
pub fn restart_child(sup: &SupervisorRef, id: &str) -> Result<Option<Pid>, ChildError> {
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

/// The spec of a child, by id (or, in a `SimpleOneForOne` supervisor, by
/// pid: the template), as OTP's `get_childspec/2`. The spec can be given to
/// another supervisor's [`start_child`].
///
/// # Errors
///
/// `NotFound`; `SimpleOneForOne` when a `SimpleOneForOne` child is named by id.
pub fn get_childspec(
    sup: &SupervisorRef,
    child: impl Into<ChildKey>,
) -> Result<ChildSpec, ChildError> {
    match request(sup, Request::GetSpec(child.into()))? {
        Response::Spec(result) => result,
        _ => unreachable!("the supervisor answers GetSpec with Spec"),
    }
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
