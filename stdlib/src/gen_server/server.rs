//! The server side of a gen_server: starting one ([`start`] and friends, with
//! the init handshake) and the loop that turns messages into callbacks.
//!
//! The init handshake (OTP's `proc_lib:start_link` + `init_ack`, with the
//! start timeout of `proc_lib:start_link/5`) is the crate's `start.rs`,
//! shared with gen_statem: this file supplies what a gen_server's `init` may
//! answer and which loop runs after it (serve.rs).

use std::time::Duration;

use bream::{ExitReason, Pid};

use super::callbacks::{GenServer, Init, Next};
use super::client::ServerRef;
use super::serve::{LoopOpts, Server};
use crate::name::Name;
use crate::start::{exit_with, start_process, Origin, StartError, StartOpts};

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
    start_opt(args, StartOpts::linked())
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
    start_opt_named(name, args, StartOpts::linked())
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
    let (opts, via) = opts.named(name.into());
    spawn_server(args, opts, via)
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

/// Spawn and start a server; `via` is a name the new process registers
/// itself under before `init` (a local name is `opts.name`, which
/// `spawn_opt` registers atomically with the spawn).
fn spawn_server<S: GenServer>(
    args: S::Args,
    opts: StartOpts,
    via: Option<Name>,
) -> Result<ServerRef<S>, StartError> {
    let loop_opts = LoopOpts {
        hibernate_after: opts.hibernate_after,
        trace: opts.trace,
    };
    let body = move |origin| init_and_loop::<S>(origin, args, loop_opts);
    start_process(&opts, via, body).map(ServerRef::from_pid)
}

/// The body of a server process: `init`, the answer to the starter, the loop.
fn init_and_loop<S: GenServer>(mut origin: Origin, args: S::Args, opts: LoopOpts) {
    if !origin.take_via_name() {
        return;
    }
    match origin.run_init(|| S::init(args)) {
        Init::Ready(state, next) => {
            origin.ready();
            exit_with(Server::new(state, origin.parent, opts).run(next))
        }
        Init::Stop(reason) => {
            origin.fail(StartError::Init(reason.clone()));
            exit_with(reason)
        }
        Init::Ignore => origin.fail(StartError::Ignore),
        Init::Fail(error) => {
            origin.fail(error);
            exit_with(ExitReason::Shutdown)
        }
    }
}
