//! The server side of a gen_server: starting one ([`start`] and friends, with
//! the init handshake) and the loop that turns messages into callbacks.
//!
//! # The init handshake (OTP's `proc_lib:start_link` + `init_ack`)
//!
//! The starter makes a tag (`make_ref`, which also sets its receive marker),
//! spawns the server with `spawn_opt` (monitored, linked for `start_link`, and
//! registered for `start_named`, all before `init` runs), and waits for either
//! the server's `InitAck` with that tag or the monitor's `Down`. So it
//! never hangs: an `init` that returns, fails, panics, or is killed all end the
//! wait. A server whose `init` fails unlinks from its starter before it exits,
//! so `start_link` returns the error instead of also killing the caller.
//!
//! With a start timeout (OTP's `{timeout, T}` start option) the starter waits at
//! most that long: then it unlinks, kills the server, waits for its `Down` (so
//! its name is free again), and returns [`StartError::Timeout`], as
//! `proc_lib:start_link/5` does.
//!
//! The loop that runs after `init` is in serve.rs.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Duration;

use bream::{receive, Down, ExitReason, Pid};

use super::callbacks::{GenServer, Init, Next};
use super::client::{forget_monitor, ServerRef, INFINITY};
use super::serve::{LoopOpts, Server};
use crate::name::{Name, NameError};
use crate::start::{panic_message, StartError};

/// Start a server, not linked to the caller (OTP's `gen_server:start/3`).
/// Returns once `init` has run.
///
/// # Errors
///
/// The [`StartError`] that `init` chose or caused; the caller never hangs.
pub fn start<S: GenServer>(args: S::Args) -> Result<ServerRef<S>, StartError> {
    start_opt(args, StartOpts::default())
}

/// Start a server linked to the caller (OTP's `gen_server:start_link/3`): if one
/// of them exits abnormally, the exit signal reaches the other. The caller is
/// the server's *parent*: its exit signal makes a trapping server `terminate`.
///
/// # Errors
///
/// As [`start`]. A failed `init` unlinks first, so the caller is not killed.
pub fn start_link<S: GenServer>(args: S::Args) -> Result<ServerRef<S>, StartError> {
    start_opt(
        args,
        StartOpts {
            link: true,
            ..StartOpts::default()
        },
    )
}

/// [`start`], registering the server as `name` before `init` runs
/// (OTP's `gen_server:start({local, Name} | {via, Module, Term}, ...)`).
/// `name` is a `&'static str` or any [`Name`], e.g. a Registry key with
/// [`Name::via`]; reach the server by name with [`NamedRef`](super::NamedRef).
///
/// # Errors
///
/// [`StartError::AlreadyStarted`] if the name is taken, else as [`start`].
pub fn start_named<S: GenServer>(
    name: impl Into<Name>,
    args: S::Args,
) -> Result<ServerRef<S>, StartError> {
    start_opt_named(name, args, StartOpts::default())
}

/// [`start_link`], registering the server as `name` before `init` runs.
///
/// # Errors
///
/// [`StartError::AlreadyStarted`] if the name is taken, else as [`start_link`].
pub fn start_link_named<S: GenServer>(
    name: impl Into<Name>,
    args: S::Args,
) -> Result<ServerRef<S>, StartError> {
    let opts = StartOpts {
        link: true,
        ..StartOpts::default()
    };
    start_opt_named(name, args, opts)
}

/// [`start_opt`] with a [`Name`], local or via (OTP's `start/4`,
/// `start_link/4` with a `ServerName`). The name replaces `opts.name`.
///
/// # Errors
///
/// As [`start_opt`]; [`StartError::AlreadyStarted`] if the name is taken,
/// [`StartError::Spawn`] if its registry cannot register it.
pub fn start_opt_named<S: GenServer>(
    name: impl Into<Name>,
    args: S::Args,
    opts: StartOpts,
) -> Result<ServerRef<S>, StartError> {
    match name.into() {
        Name::Local(local) => spawn_server(
            args,
            StartOpts {
                name: Some(local),
                ..opts
            },
            None,
        ),
        via @ Name::Via(_) => spawn_server(args, StartOpts { name: None, ..opts }, Some(via)),
    }
}

/// How to start a server: OTP's start options, for [`start_opt`]. The default
/// is [`start`]: not linked, no name, no start timeout, no hibernation.
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
    /// Link the server to the caller, its parent ([`start_link`]).
    pub link: bool,
    /// Register the server under this name before `init` runs ([`start_named`]).
    pub name: Option<&'static str>,
    /// Give `init` at most this long (OTP's `{timeout, T}`): then the server is
    /// killed and the start returns [`StartError::Timeout`]. `None`: no limit.
    pub timeout: Option<Duration>,
    /// Hibernate whenever no message came for this long while the server
    /// waits with `Next::Wait` (OTP's `{hibernate_after, T}`): an idle server
    /// gives its stack back without asking for it in every callback.
    pub hibernate_after: Option<Duration>,
    /// Trace the server from the start, as [`sys::trace`](crate::sys::trace)
    /// would (OTP's `{debug, [trace]}`).
    pub trace: bool,
}

impl StartOpts {
    fn loop_opts(&self) -> LoopOpts {
        LoopOpts {
            hibernate_after: self.hibernate_after,
            trace: self.trace,
        }
    }
}

/// Start a server with [`StartOpts`] (OTP's `gen_server:start/4` and
/// `start_link/4` with their options). [`start`], [`start_link`],
/// [`start_named`] and [`start_link_named`] are this with fewer options.
///
/// # Errors
///
/// As [`start_link_named`], and [`StartError::Timeout`] if `init` took longer
/// than `opts.timeout`.
pub fn start_opt<S: GenServer>(args: S::Args, opts: StartOpts) -> Result<ServerRef<S>, StartError> {
    spawn_server(args, opts, None)
}

/// Turn the calling process into a server running `state` (OTP's
/// `gen_server:enter_loop/3,4,5`): no `init`, no start handshake; the loop
/// begins as `next` says and this never returns (the process exits when the
/// server stops). For a process that had to set itself up in its own way
/// first, e.g. registering under a name the caller knows.
///
/// ```
/// use bream_stdlib::gen_server::{self, CallResult, EnterOpts, GenServer, Init, Next, ReplyTo, ServerRef};
///
/// struct Echo;
/// impl GenServer for Echo {
///     type Args = (); type Call = String; type Reply = String; type Cast = ();
///     type Info = (); type Continue = ();
///     fn init(_: ()) -> Init<Self> { Init::ok(Echo) }
///     fn handle_call(&mut self, s: String, _: ReplyTo<String>) -> CallResult<Self> {
///         CallResult::reply(s)
///     }
/// }
/// bream::run(|| {
///     let pid = bream::spawn(|| {
///         bream::register("echo", bream::self_pid()).unwrap();
///         gen_server::enter_loop(Echo, Next::Wait, EnterOpts::default())
///     });
///     let echo = ServerRef::<Echo>::named("echo");
///     while echo.pid().is_none() { bream::yield_now(); }
///     let got = gen_server::call(&echo, "hi".to_owned(), gen_server::DEFAULT_TIMEOUT);
///     assert_eq!(got.as_deref(), Ok("hi"));
///     # let _ = pid;
/// });
/// ```
pub fn enter_loop<S: GenServer>(state: S, next: Next<S>, opts: EnterOpts) -> ! {
    let loop_opts = LoopOpts {
        hibernate_after: opts.hibernate_after,
        trace: opts.trace,
    };
    let reason = Server::new(state, opts.parent, loop_opts).run(next);
    bream::exit_self(reason)
}

/// The options of [`enter_loop`].
#[derive(Clone, Copy, Debug, Default)]
pub struct EnterOpts {
    /// The parent: its exit signal makes a trapping server `terminate`, as for a
    /// server started with [`start_link`]. OTP takes it from `proc_lib`; bream
    /// has no `proc_lib`, so the process says who it is.
    pub parent: Option<Pid>,
    /// As [`StartOpts::hibernate_after`].
    pub hibernate_after: Option<Duration>,
    /// As [`StartOpts::trace`].
    pub trace: bool,
}

/// The server's answer to its starter.
struct InitAck {
    tag: bream::Ref,
    result: Result<(), StartError>,
}

/// What the server knows about how it was started.
struct Origin {
    starter: Pid,
    tag: bream::Ref,
    /// The starter if linked (its exit signal means "terminate"), else `None`.
    parent: Option<Pid>,
}

/// Spawn and start a server; `via` is a name the new process registers
/// itself under before `init` (a local name is `opts.name`, which
/// `spawn_opt` registers atomically with the spawn).
fn spawn_server<S: GenServer>(
    args: S::Args,
    opts: StartOpts,
    via: Option<Name>,
) -> Result<ServerRef<S>, StartError> {
    let StartOpts { link, name, .. } = opts;
    let starter = bream::self_pid();
    let tag = bream::make_ref();
    let origin = Origin {
        starter,
        tag,
        parent: link.then_some(starter),
    };
    let loop_opts = opts.loop_opts();
    let body = move || init_and_loop::<S>(origin, name, via, args, loop_opts);
    // Link, monitor and name all exist before `init` runs (spawn_opt's promise),
    // so a server killed at once is reported with its real reason.
    let spawn_opts = bream::SpawnOpts {
        link,
        monitor: true,
        name,
        ..Default::default()
    };
    let (pid, monitor) = match bream::spawn_opt(spawn_opts, body) {
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
            result.map(|()| ServerRef::from_pid(pid))
        }
        None => {
            give_up(pid, monitor, tag, link);
            Err(StartError::Timeout)
        }
    }
}

/// `init` took too long: unlink, kill, and wait for the `Down` so that the
/// server's name is free when the start returns (`proc_lib:start_link/5`).
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

/// The body of a server process.
fn init_and_loop<S: GenServer>(
    origin: Origin,
    name: Option<&'static str>,
    via: Option<Name>,
    args: S::Args,
    opts: LoopOpts,
) {
    // A via name is taken by the new process itself, before `init`, as OTP's
    // gen does; a taken name ends the start with the holder's pid.
    if let Some(via) = &via {
        if let Err(error) = via.register_self() {
            let error = match error {
                NameError::Taken(holder) => StartError::AlreadyStarted(holder),
                NameError::Unavailable(why) => StartError::Spawn(why),
            };
            return fail_init(&origin, error, None);
        }
    }
    // On failure the name goes first, so that a start retried at once finds it
    // free rather than held by a process on its way out.
    let fail = |error: StartError| {
        if let Some(name) = name {
            bream::unregister(name);
        }
        if let Some(via) = &via {
            via.unregister_self();
        }
        error
    };
    match catch_unwind(AssertUnwindSafe(|| S::init(args))) {
        Ok(Init::Ready(state, next)) => {
            bream::send(
                origin.starter,
                InitAck {
                    tag: origin.tag,
                    result: Ok(()),
                },
            );
            let reason = Server::new(state, origin.parent, opts).run(next);
            exit_with(reason)
        }
        Ok(Init::Stop(reason)) => {
            let error = fail(StartError::Init(reason.clone()));
            fail_init(&origin, error, Some(reason))
        }
        Ok(Init::Ignore) => fail_init(&origin, fail(StartError::Ignore), None),
        Ok(Init::Fail(error)) => fail_init(&origin, fail(error), Some(ExitReason::Shutdown)),
        Err(payload) => {
            let message = panic_message(&*payload).unwrap_or_default();
            let error = fail(StartError::Init(ExitReason::Panic(message.into())));
            tell_starter(&origin, error);
            resume_unwind(payload)
        }
    }
}

/// Unlink from the starter and tell it why `init` failed.
fn tell_starter(origin: &Origin, error: StartError) {
    if let Some(parent) = origin.parent {
        bream::unlink(parent);
    }
    bream::send(
        origin.starter,
        InitAck {
            tag: origin.tag,
            result: Err(error),
        },
    );
}

fn fail_init(origin: &Origin, error: StartError, exit: Option<ExitReason>) {
    tell_starter(origin, error);
    exit_with(exit.unwrap_or(ExitReason::Normal))
}

/// End the process with `reason`: a normal return for `Normal`.
pub(crate) fn exit_with(reason: ExitReason) {
    if reason != ExitReason::Normal {
        bream::exit_self(reason)
    }
}
