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
//! # The loop
//!
//! Each turn: take the first message (in arrival order) that is a call, a cast,
//! a stop request, an exit signal, a `Down` or a `S::Info`, and run its callback.
//! Messages of other types are not the server's and stay in its mailbox (a typed
//! server cannot name them; send a server only its own types). An exit signal from
//! the *parent* (the process that called `start_link`) is not handed to
//! `handle_info`: the server runs `terminate` and exits with the same reason, as
//! OTP's gen_server does; this is how a supervisor's `Shutdown` reaches a
//! trapping server's `terminate`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Duration;

use bream::{receive, Down, Exit, ExitReason, Pid};

use super::callbacks::{CallResult, GenServer, Info, Init, Next};
use super::client::{forget_monitor, reply, CallMsg, CastMsg, ServerRef, StopMsg};
use crate::name::{Name, NameError};
use crate::start::{panic_message, StartError};

/// Start a server, not linked to the caller (OTP's `gen_server:start/3`).
/// Returns once `init` has run.
///
/// # Errors
///
/// The [`StartError`] that `init` chose or caused; the caller never hangs.
pub fn start<S: GenServer>(args: S::Args) -> Result<ServerRef<S>, StartError> {
    spawn_server(args, false, None)
}

/// Start a server linked to the caller (OTP's `gen_server:start_link/3`): if one
/// of them exits abnormally, the exit signal reaches the other. The caller is
/// the server's *parent*: its exit signal makes a trapping server `terminate`.
///
/// # Errors
///
/// As [`start`]. A failed `init` unlinks first, so the caller is not killed.
pub fn start_link<S: GenServer>(args: S::Args) -> Result<ServerRef<S>, StartError> {
    spawn_server(args, true, None)
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
    spawn_server(args, false, Some(name.into()))
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
    spawn_server(args, true, Some(name.into()))
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

fn spawn_server<S: GenServer>(
    args: S::Args,
    link: bool,
    name: Option<Name>,
) -> Result<ServerRef<S>, StartError> {
    let starter = bream::self_pid();
    let tag = bream::make_ref();
    let origin = Origin {
        starter,
        tag,
        parent: link.then_some(starter),
    };
    // A local name is registered by spawn_opt; any other by the server
    // itself, first thing, before `init` (see `init_and_loop`).
    let local = name.as_ref().and_then(Name::local);
    let body = move || init_and_loop::<S>(origin, name, args);
    // Link, monitor and name all exist before `init` runs (spawn_opt's promise),
    // so a server killed at once is reported with its real reason.
    let opts = bream::SpawnOpts {
        link,
        monitor: true,
        name: local,
        ..Default::default()
    };
    let (pid, monitor) = match bream::spawn_opt(opts, body) {
        Ok((pid, Some(monitor))) => (pid, monitor),
        Ok((_, None)) => unreachable!("spawn_opt with monitor: true returns a monitor"),
        Err(bream::SpawnError::NameTaken { holder, .. }) => {
            return Err(StartError::AlreadyStarted(holder))
        }
        Err(error) => return Err(StartError::Spawn(error.to_string())),
    };
    receive! { marker tag;
        ack: InitAck if ack.tag == tag => {
            forget_monitor(monitor, tag);
            ack.result.map(|()| ServerRef::from_pid(pid))
        },
        d: Down if d.monitor == monitor => Err(StartError::Init(d.reason)),
    }
}

/// The body of a server process.
fn init_and_loop<S: GenServer>(origin: Origin, name: Option<Name>, args: S::Args) {
    // A via name is taken by the new process itself, before `init`, as OTP's
    // gen does; a taken name ends the start with the holder's pid.
    if let Some(via @ Name::Via(_)) = &name {
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
        if let Some(name) = &name {
            name.unregister_self();
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
            let server = Server {
                state,
                parent: origin.parent,
            };
            let reason = server.run(next);
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
            let error = fail(StartError::Init(ExitReason::Panic(message)));
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
fn exit_with(reason: ExitReason) {
    if reason != ExitReason::Normal {
        bream::exit_self(reason)
    }
}

/// One message taken from the mailbox.
enum Incoming<S: GenServer> {
    Call(CallMsg<S>),
    Cast(S::Cast),
    Stop(ExitReason),
    Exit(Exit),
    Down(Down),
    Info(S::Info),
    Timeout,
}

/// Wait for the next message the server takes, up to `timeout`.
fn next_message<S: GenServer>(timeout: Option<Duration>) -> Incoming<S> {
    match timeout {
        None => receive! {
            m: CallMsg<S> => Incoming::Call(m),
            m: CastMsg<S> => Incoming::Cast(m.0),
            m: StopMsg => Incoming::Stop(m.reason),
            m: Exit => Incoming::Exit(m),
            m: Down => Incoming::Down(m),
            m: S::Info => Incoming::Info(m),
        },
        Some(d) => receive! {
            m: CallMsg<S> => Incoming::Call(m),
            m: CastMsg<S> => Incoming::Cast(m.0),
            m: StopMsg => Incoming::Stop(m.reason),
            m: Exit => Incoming::Exit(m),
            m: Down => Incoming::Down(m),
            m: S::Info => Incoming::Info(m),
            after d => Incoming::Timeout,
        },
    }
}

/// What the loop does next: a callback's [`Next`], or exit (terminate done).
enum Step<S: GenServer> {
    Next(Next<S>),
    Exit(ExitReason),
}

/// A running server: its state and who its parent is.
struct Server<S> {
    state: S,
    parent: Option<Pid>,
}

impl<S: GenServer> Server<S> {
    /// Run until the server stops; returns the exit reason (terminate has run).
    fn run(mut self, mut next: Next<S>) -> ExitReason {
        loop {
            let step = match next {
                Next::Wait => self.dispatch(next_message::<S>(None)),
                Next::Timeout(d) => self.dispatch(next_message::<S>(Some(d))),
                Next::Continue(cont) => Step::Next(self.guarded(|s| s.handle_continue(cont))),
                Next::Hibernate => bream::hibernate(move || exit_with(self.run(Next::Wait))),
                Next::Stop(reason) => Step::Exit(self.terminate(reason)),
            };
            next = match step {
                Step::Next(next) => next,
                Step::Exit(reason) => return reason,
            };
        }
    }

    fn dispatch(&mut self, message: Incoming<S>) -> Step<S> {
        let next = match message {
            Incoming::Call(CallMsg { request, from }) => {
                let to = from.clone();
                match self.guarded(|s| s.handle_call(request, from)) {
                    CallResult::Reply(value, Next::Stop(reason)) => {
                        let reason = self.terminate(reason);
                        reply(&to, value);
                        return Step::Exit(reason);
                    }
                    CallResult::Reply(value, next) => {
                        reply(&to, value);
                        next
                    }
                    CallResult::NoReply(next) => next,
                }
            }
            Incoming::Cast(message) => self.guarded(|s| s.handle_cast(message)),
            Incoming::Stop(reason) => Next::Stop(reason),
            Incoming::Exit(exit) if Some(exit.from) == self.parent => Next::Stop(exit.reason),
            Incoming::Exit(exit) => self.info(Info::Exit(exit)),
            Incoming::Down(down) => self.info(Info::Down(down)),
            Incoming::Info(message) => self.info(Info::Message(message)),
            Incoming::Timeout => self.info(Info::Timeout),
        };
        Step::Next(next)
    }

    fn info(&mut self, info: Info<S::Info>) -> Next<S> {
        self.guarded(|s| s.handle_info(info))
    }

    /// Run `terminate` (not guarded: a panic in it ends the process with that
    /// panic, and `terminate` does not run twice).
    fn terminate(&mut self, reason: ExitReason) -> ExitReason {
        self.state.terminate(&reason);
        reason
    }

    /// Run a callback; if it panics, run `terminate` with the panic as the
    /// reason, then let the panic go on (the runtime turns it into the exit
    /// reason `Panic(message)` and reports it).
    fn guarded<R>(&mut self, callback: impl FnOnce(&mut S) -> R) -> R {
        match catch_unwind(AssertUnwindSafe(|| callback(&mut self.state))) {
            Ok(r) => r,
            Err(payload) => {
                if let Some(message) = panic_message(&*payload) {
                    let reason = ExitReason::Panic(message);
                    // A panic in terminate itself ends the process with the
                    // first panic, which is the one worth reporting.
                    let _ = catch_unwind(AssertUnwindSafe(|| self.state.terminate(&reason)));
                }
                resume_unwind(payload)
            }
        }
    }
}
