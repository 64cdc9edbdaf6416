//! What starting a process can go wrong with: the error `gen_server::start*`,
//! `Supervisor::start*` and every child start function return.
//!
//! OTP returns `{error, Reason}` from `start_link`, `ignore` when `init/1` said
//! `ignore`, and `{error, {already_started, Pid}}` when the name is taken; a
//! supervisor whose child fails to start returns
//! `{error, {shutdown, {failed_to_start_child, Id, Reason}}}`. bream keeps the
//! same cases, as data.

use std::fmt;

use bream::{ExitReason, Pid};

/// Why a process did not start. The caller of a start function never hangs:
/// whatever happens to the new process during its `init` ends up here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartError {
    /// `init` returned [`Init::Stop`](crate::gen_server::Init::Stop), panicked
    /// (`Panic(message)`), or the process was killed before it finished `init`.
    Init(ExitReason),
    /// `init` returned [`Init::Ignore`](crate::gen_server::Init::Ignore): no process
    /// runs, and that is not a failure (OTP's `ignore`). A supervisor keeps the
    /// child's spec without a pid.
    Ignore,
    /// The registered name is already taken by this process.
    AlreadyStarted(Pid),
    /// `init` did not finish within the start timeout
    /// ([`StartOpts::timeout`](crate::gen_server::StartOpts::timeout)); the
    /// process was killed (OTP's `{error, timeout}`).
    Timeout,
    /// A supervisor's child failed to start, so the supervisor did not start.
    ChildFailed {
        /// The child spec's id.
        id: String,
        /// Why that child did not start.
        error: Box<StartError>,
    },
    /// The process could not be spawned (the process limit, no stack memory):
    /// the runtime's message, which names the knob to turn.
    Spawn(String),
    /// A supervisor's specification is invalid (duplicate ids, a
    /// `SimpleOneForOne` supervisor without exactly one dynamic spec, ...).
    BadSpec(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Init(reason) => write!(f, "init failed: {reason:?}"),
            StartError::Ignore => write!(f, "init returned ignore"),
            StartError::AlreadyStarted(pid) => write!(f, "already started as {pid:?}"),
            StartError::Timeout => write!(f, "init did not finish in time"),
            StartError::ChildFailed { id, error } => {
                write!(f, "failed to start child {id:?}: {error}")
            }
            StartError::Spawn(why) => write!(f, "cannot spawn: {why}"),
            StartError::BadSpec(why) => write!(f, "bad supervisor spec: {why}"),
        }
    }
}

impl std::error::Error for StartError {}

/// The text of a panic payload, if it is a panic: `panic!` carries a `&str` or a
/// `String`. The runtime's own unwinding (a kill, an exit signal, `exit_self`,
/// `hibernate`) carries other payloads, which must pass through untouched.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some((*s).to_owned())
    } else {
        payload.downcast_ref::<String>().cloned()
    }
}
