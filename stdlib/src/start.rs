//! Starting a behaviour process, shared by gen_server and gen_statem: the
//! options ([`StartOpts`]), the init handshake, and what can go wrong
//! ([`StartError`], which `gen_server::start*`, `gen_statem::start*`,
//! `Supervisor::start*` and every child start function return).
//!
//! # The init handshake (OTP's `proc_lib:start_link` + `init_ack`)
//!
//! 1. The starter makes a tag (`make_ref`, which also sets its receive
//!    marker) and spawns the process with `spawn_opt`: monitored, linked for
//!    `start_link`, registered under a local name, all before `init` runs
//!    (`spawn_opt`'s promise), so a process killed at once is reported with
//!    its real reason.
//! 2. The new process registers its via name, if it has one (a taken name
//!    ends the start with the holder's pid, OTP's `{already_started, Pid}`),
//!    runs `init`, and sends an `InitAck` with the tag: `Ok` before it enters
//!    its loop, or the error. A failing process first gives its names back
//!    (a start retried at once finds them free) and unlinks from its starter
//!    (so `start_link` returns the error instead of killing the caller).
//! 3. The starter waits for that `InitAck` or the monitor's `Down`, so it
//!    never hangs: an `init` that returns, fails, panics, or is killed all end
//!    the wait. With a start timeout (OTP's `{timeout, T}`) it waits at most
//!    that long; then it unlinks, kills the process, waits for its `Down` (so
//!    its name is free again) and returns [`StartError::Timeout`], as
//!    `proc_lib:start_link/5` does.
//!
//! Each behaviour supplies only what differs: its `init` and what its loop is
//! (gen_server/server.rs, gen_statem/server.rs).
//!
//! # Errors as data
//!
//! OTP returns `{error, Reason}` from `start_link`, `ignore` when `init/1` said
//! `ignore`, and `{error, {already_started, Pid}}` when the name is taken; a
//! supervisor whose child fails to start returns
//! `{error, {shutdown, {failed_to_start_child, Id, Reason}}}`. bream keeps the
//! same cases, as data.

use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Duration;

use bream::{receive, Down, ExitReason, Pid};

use crate::flush::forget_monitor;
use crate::gen_server::INFINITY;
use crate::name::{Name, NameError};

/// How to start a gen_server or a gen_statem: OTP's start options, for
/// `gen_server::start_opt` and `gen_statem::start_opt`. The default is
/// `start`: not linked, no name, no start timeout, no hibernation.
///
/// ```
/// use std::time::Duration;
/// use bream_stdlib::gen_server::{self, StartOpts};
/// # use bream_stdlib::gen_server::{GenServer, Init};
/// # struct Quiet;
/// # impl GenServer for Quiet {
/// #     type Args = (); type Call = (); type Reply = (); type Cast = ();
/// #     type Info = (); type Continue = ();
/// #     fn init(_: ()) -> Init<Self> { Init::ok(Quiet) }
/// # }
/// bream::run(|| {
///     let opts = StartOpts {
///         timeout: Some(Duration::from_secs(1)),
///         hibernate_after: Some(Duration::from_millis(100)),
///         ..StartOpts::default()
///     };
///     let server = gen_server::start_opt::<Quiet>((), opts).unwrap();
///     gen_server::stop(&server, bream::ExitReason::Normal, gen_server::DEFAULT_TIMEOUT).unwrap();
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct StartOpts {
    /// Link the process to the caller, its parent (`start_link`).
    pub link: bool,
    /// Register the process under this name before `init` runs (`start_named`).
    pub name: Option<&'static str>,
    /// Give `init` at most this long (OTP's `{timeout, T}`): then the process
    /// is killed and the start returns [`StartError::Timeout`]. `None`: no limit.
    pub timeout: Option<Duration>,
    /// Hibernate whenever no message came for this long while the process
    /// waits for one (OTP's `{hibernate_after, T}`): an idle server gives its
    /// stack back without asking for it in every callback.
    pub hibernate_after: Option<Duration>,
    /// Trace the process from the start, as [`sys::trace`](crate::sys::trace)
    /// would (OTP's `{debug, [trace]}`).
    pub trace: bool,
}

impl StartOpts {
    /// The options of `start_link`: linked, nothing else.
    pub(crate) fn linked() -> Self {
        StartOpts {
            link: true,
            ..StartOpts::default()
        }
    }

    /// These options with `name` (OTP's `ServerName`): a local name goes in
    /// `name` (registered with the spawn), a via name is returned, for the new
    /// process to register before `init`.
    pub(crate) fn named(self, name: Name) -> (StartOpts, Option<Name>) {
        match name {
            Name::Local(local) => (
                StartOpts {
                    name: Some(local),
                    ..self
                },
                None,
            ),
            via @ Name::Via(_) => (StartOpts { name: None, ..self }, Some(via)),
        }
    }
}

/// The new process's answer to its starter (step 2).
struct InitAck {
    tag: bream::Ref,
    result: Result<(), StartError>,
}

/// What a new behaviour process knows about how it was started. Owned by that
/// process.
pub(crate) struct Origin {
    starter: Pid,
    tag: bream::Ref,
    /// The starter if linked (its exit signal means "terminate"), else `None`.
    pub(crate) parent: Option<Pid>,
    /// The local name `spawn_opt` registered, to give back on failure.
    name: Option<&'static str>,
    /// A via name the process registers itself under before `init`.
    via: Option<Name>,
}

/// Steps 1 and 3: spawn `body` as a behaviour process started with `opts`
/// (and the via name `via`), and wait for its `InitAck`. `body` gets the
/// [`Origin`] it answers through.
pub(crate) fn start_process(
    opts: &StartOpts,
    via: Option<Name>,
    body: impl FnOnce(Origin) + Send + 'static,
) -> Result<Pid, StartError> {
    let StartOpts { link, name, .. } = *opts;
    let starter = bream::self_pid();
    let tag = bream::make_ref();
    let origin = Origin {
        starter,
        tag,
        parent: link.then_some(starter),
        name,
        via,
    };
    let spawn_opts = bream::SpawnOpts {
        link,
        monitor: true,
        name,
        ..Default::default()
    };
    let (pid, monitor) = match bream::spawn_opt(spawn_opts, move || body(origin)) {
        Ok((pid, Some(monitor))) => (pid, monitor),
        Ok((_, None)) => unreachable!("spawn_opt with monitor: true returns a monitor"),
        Err(bream::SpawnError::NameTaken { holder, .. }) => {
            return Err(StartError::AlreadyStarted(holder))
        }
        Err(error) => return Err(StartError::Spawn(error.to_string())),
    };
    let timeout = opts.timeout.unwrap_or(INFINITY);
    let ack = if timeout == INFINITY {
        receive! { marker tag;
            ack: InitAck if ack.tag == tag => Some(ack.result),
            d: Down if d.monitor == monitor => return Err(StartError::Init(d.reason)),
        }
    } else {
        receive! { marker tag;
            ack: InitAck if ack.tag == tag => Some(ack.result),
            d: Down if d.monitor == monitor => return Err(StartError::Init(d.reason)),
            after timeout => None,
        }
    };
    match ack {
        Some(result) => {
            forget_monitor(monitor, tag);
            result.map(|()| pid)
        }
        None => {
            give_up(pid, monitor, tag, link);
            Err(StartError::Timeout)
        }
    }
}

/// `init` took too long: unlink, kill, and wait for the `Down` so that the
/// process's name is free when the start returns (`proc_lib:start_link/5`).
/// An ack sent just before the kill is left behind after the marker; drop it.
fn give_up(pid: Pid, monitor: bream::MonitorRef, tag: bream::Ref, link: bool) {
    if link {
        bream::unlink(pid);
    }
    bream::exit(pid, ExitReason::Kill);
    receive! { marker tag;
        d: Down if d.monitor == monitor => (),
    }
    receive! { marker tag;
        ack: InitAck if ack.tag == tag => (),
        after Duration::ZERO => (),
    }
}

impl Origin {
    /// Step 2's first half, in the new process: register the via name, if
    /// any. `false`: it is taken (or its registry is down), the starter has
    /// been told, and the process should return.
    pub(crate) fn take_via_name(&mut self) -> bool {
        let Some(via) = &self.via else {
            return true;
        };
        let Err(error) = via.register_self() else {
            return true;
        };
        let error = match error {
            NameError::Taken(holder) => StartError::AlreadyStarted(holder),
            NameError::Unavailable(why) => StartError::Spawn(why),
        };
        // Not ours to give back: `fail` must not unregister it.
        self.via = None;
        self.fail(error);
        false
    }

    /// Run `init`; if it panics, tell the starter why (after giving the names
    /// back) and let the panic go on, so that the runtime reports it and makes
    /// it the exit reason.
    pub(crate) fn run_init<T>(&self, init: impl FnOnce() -> T) -> T {
        match catch_unwind(AssertUnwindSafe(init)) {
            Ok(init) => init,
            Err(payload) => {
                let message = panic_message(&*payload).unwrap_or_default();
                self.fail(StartError::Init(ExitReason::Panic(message.into())));
                resume_unwind(payload)
            }
        }
    }

    /// `init` succeeded: the starter's start returns `Ok`.
    pub(crate) fn ready(&self) {
        self.ack(Ok(()));
    }

    /// `init` failed: give the names back first (a start retried at once
    /// finds them free rather than held by a process on its way out), unlink
    /// from the starter, and tell it why.
    pub(crate) fn fail(&self, error: StartError) {
        if let Some(name) = self.name {
            bream::unregister(name);
        }
        if let Some(via) = &self.via {
            via.unregister_self();
        }
        if let Some(parent) = self.parent {
            bream::unlink(parent);
        }
        self.ack(Err(error));
    }

    fn ack(&self, result: Result<(), StartError>) {
        let ack = InitAck {
            tag: self.tag,
            result,
        };
        bream::send(self.starter, ack);
    }
}

/// End the process with `reason`: a normal return for `Normal`.
pub(crate) fn exit_with(reason: ExitReason) {
    if reason != ExitReason::Normal {
        bream::exit_self(reason)
    }
}

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
