//! The loop of a running server: take a message, run its callback, repeat.
//!
//! # What the loop takes (OTP's `gen_server:loop/7` and `decode_msg/9`)
//!
//! Each turn it takes the *first* message in the mailbox, whatever its type, as
//! OTP's loop does: a call (OTP-shaped [`CallMsg`] or typed [`TypedCallMsg`]), a
//! cast, a stop request, a system message ([`crate::sys`]), an exit signal, a
//! `Down`, or a `S::Info`, each to its callback. A message of any other type
//! cannot reach a typed callback, so it is logged (debug level, with its type)
//! and dropped (`receive!`'s catch-all arm): before, such strays stayed queued
//! forever and every later receive scanned past them (100 calls behind 100,000
//! strays took 600 ms).
//!
//! An exit signal from the *parent* (the process that called `start_link`) is
//! not handed to `handle_info`: the server runs `terminate` and exits with the
//! same reason, as OTP's gen_server does; this is how a supervisor's `Shutdown`
//! reaches a trapping server's `terminate`.
//!
//! # Waiting
//!
//! `Next::Wait` waits for ever, or `hibernate_after` (a start option) and then
//! hibernates; `Next::Timeout(d)` waits until a deadline, which a system message
//! or a dropped stray does not move (they are not the server's events).

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use bream::{receive, Down, Exit, ExitReason, Pid};

use super::callbacks::{CallResult, GenServer, HandleCall, Info, Next};
use super::client::{reply, CallMsg, CastMsg, ReplyTo, StopMsg, TypedCallMsg};
use crate::request::Response;
use crate::start::panic_message;
use crate::sys::{self, DebugState, Debuggable, SystemMsg};

/// A typed call, erased so that the loop takes one type for all of them.
pub(crate) trait ErasedCall<S: GenServer>: Send {
    /// Run the handler and answer; what the loop does next.
    fn dispatch(self: Box<Self>, server: &mut Server<S>) -> Step<S>;
}

/// A request `R` and who to answer: the value inside a [`TypedCallMsg`].
pub(crate) struct TypedCall<R, Rep> {
    pub(crate) request: R,
    pub(crate) from: ReplyTo<Rep>,
}

impl<S, R> ErasedCall<S> for TypedCall<R, <S as HandleCall<R>>::Reply>
where
    S: HandleCall<R>,
    R: Send + 'static,
{
    fn dispatch(self: Box<Self>, server: &mut Server<S>) -> Step<S> {
        let TypedCall { request, from } = *self;
        server.call::<R, _>(request, from, |s, r, f| {
            HandleCall::<R>::handle_call(s, r, f)
        })
    }
}

/// One message taken from the mailbox.
enum Incoming<S: GenServer> {
    Call(CallMsg<S>),
    TypedCall(TypedCallMsg<S>),
    Cast(S::Cast),
    Stop(ExitReason),
    System(SystemMsg),
    Exit(Exit),
    Down(Down),
    Info(S::Info),
    Response(Response),
    /// A message of a type the server does not take: its type name.
    Stray(&'static str),
    Timeout,
}

/// Take the first message in the mailbox, whatever its type; wait up to
/// `timeout` (`None`: for ever) if there is none.
fn next_message<S: GenServer>(timeout: Option<Duration>) -> Incoming<S> {
    // Order matters only where one type could be two arms (`S::Info = Exit`):
    // the server's own protocol types come first. The last arm takes anything.
    receive! {
        m: CallMsg<S> => Incoming::Call(m),
        m: TypedCallMsg<S> => Incoming::TypedCall(m),
        m: CastMsg<S> => Incoming::Cast(m.0),
        m: StopMsg => Incoming::Stop(m.reason),
        m: SystemMsg => Incoming::System(m),
        m: Exit => Incoming::Exit(m),
        m: Down => Incoming::Down(m),
        m: S::Info => Incoming::Info(m),
        m: Response => Incoming::Response(m),
        other => Incoming::Stray(other.type_name()),
        after timeout.unwrap_or(Duration::MAX) => Incoming::Timeout,
    }
}

/// What the loop does next: a callback's [`Next`], wait again as before (a
/// system message or a stray was handled), or exit (terminate done).
pub(crate) enum Step<S: GenServer> {
    Next(Next<S>),
    Again,
    Exit(ExitReason),
}

/// How a server behaves apart from its callbacks: the start options.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LoopOpts {
    /// Hibernate after this long without a message (OTP's `hibernate_after`).
    pub(crate) hibernate_after: Option<Duration>,
    /// Trace from the start (OTP's `{debug, [trace]}`).
    pub(crate) trace: bool,
}

/// A running server: its state, its parent, and what sys keeps. Only the
/// server's own process touches it.
pub(crate) struct Server<S> {
    state: S,
    parent: Option<Pid>,
    opts: LoopOpts,
    debug: DebugState,
}

impl<S: GenServer> Server<S> {
    pub(crate) fn new(state: S, parent: Option<Pid>, opts: LoopOpts) -> Self {
        let mut debug = DebugState::new("gen_server");
        debug.set_trace(opts.trace);
        Server {
            state,
            parent,
            opts,
            debug,
        }
    }

    /// Run until the server stops; returns the exit reason (terminate has run).
    pub(crate) fn run(mut self, mut next: Next<S>) -> ExitReason {
        loop {
            let step = match next {
                Next::Wait => match self.opts.hibernate_after {
                    None => self.dispatch(next_message::<S>(None)),
                    Some(after) => match next_message::<S>(Some(after)) {
                        Incoming::Timeout => Step::Next(Next::Hibernate),
                        message => self.dispatch(message),
                    },
                },
                Next::Timeout(d) => self.wait_until(Instant::now().checked_add(d)),
                Next::Continue(cont) => Step::Next(self.guarded(|s| s.handle_continue(cont))),
                Next::Hibernate => {
                    bream::hibernate(move || crate::start::exit_with(self.run(Next::Wait)))
                }
                Next::Stop(reason) => Step::Exit(self.terminate(reason)),
            };
            next = match step {
                Step::Next(next) => next,
                // Only a plain wait comes back (a timeout waits in
                // `wait_until`, a hibernation never returns here).
                Step::Again => Next::Wait,
                Step::Exit(reason) => return reason,
            };
        }
    }

    /// `Next::Timeout`: wait until `deadline` (`None`: too far to represent,
    /// so for ever), across system messages and strays.
    fn wait_until(&mut self, deadline: Option<Instant>) -> Step<S> {
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match self.dispatch(next_message::<S>(left)) {
                Step::Again => continue,
                step => return step,
            }
        }
    }

    fn dispatch(&mut self, message: Incoming<S>) -> Step<S> {
        let next = match message {
            Incoming::Call(CallMsg { request, from }) => {
                return self
                    .call::<S::Call, _>(request, from, |s, r, f| GenServer::handle_call(s, r, f))
            }
            Incoming::TypedCall(TypedCallMsg(call)) => return call.dispatch(self),
            Incoming::Cast(message) => {
                self.debug
                    .message_in(format_args!("cast {}", std::any::type_name::<S::Cast>()));
                self.guarded(|s| s.handle_cast(message))
            }
            Incoming::Stop(reason) => Next::Stop(reason),
            Incoming::System(msg) => return self.system(msg),
            Incoming::Exit(exit) if Some(exit.from) == self.parent => Next::Stop(exit.reason),
            Incoming::Exit(exit) => self.info(Info::Exit(exit)),
            Incoming::Down(down) => self.info(Info::Down(down)),
            Incoming::Info(message) => self.info(Info::Message(message)),
            Incoming::Timeout => self.info(Info::Timeout),
            Incoming::Response(response) => self.info(Info::Response(response)),
            Incoming::Stray(type_name) => {
                tracing::debug!(
                    target: "bream_stdlib::gen_server",
                    pid = %bream::self_pid(),
                    server = std::any::type_name::<S>(),
                    message = type_name,
                    "dropped a message of a type the server does not take"
                );
                return Step::Again;
            }
        };
        Step::Next(next)
    }

    /// A call: run its handler (OTP-shaped or typed), answer as it says.
    fn call<R, Rep: Send + 'static>(
        &mut self,
        request: R,
        from: ReplyTo<Rep>,
        handler: impl FnOnce(&mut S, R, ReplyTo<Rep>) -> CallResult<S, Rep>,
    ) -> Step<S> {
        let to = from.clone();
        self.debug.message_in(format_args!(
            "call {} from {}",
            std::any::type_name::<R>(),
            to.pid()
        ));
        match self.guarded(|s| handler(s, request, from)) {
            CallResult::Reply(value, Next::Stop(reason)) => {
                let reason = self.terminate(reason);
                self.reply(&to, value);
                Step::Exit(reason)
            }
            CallResult::Reply(value, next) => {
                self.reply(&to, value);
                Step::Next(next)
            }
            CallResult::NoReply(next) => Step::Next(next),
        }
    }

    fn reply<Rep: Send + 'static>(&mut self, to: &ReplyTo<Rep>, value: Rep) {
        self.debug.message_out(format_args!(
            "reply {} to {}",
            std::any::type_name::<Rep>(),
            to.pid()
        ));
        reply(to, value);
    }

    fn info(&mut self, info: Info<S::Info>) -> Next<S> {
        self.debug.message_in(format_args!("info {info:?}"));
        self.guarded(|s| s.handle_info(info))
    }

    fn system(&mut self, msg: SystemMsg) -> Step<S> {
        let parent = self.parent;
        let mut view = StateView(&mut self.state);
        match sys::handle_system_msg(msg, &mut self.debug, parent, &mut view) {
            None => Step::Again,
            Some(reason) => Step::Exit(self.terminate(reason)),
        }
    }

    /// Run `terminate` (not guarded: a panic in it ends the process with that
    /// panic, and `terminate` does not run twice).
    fn terminate(&mut self, reason: ExitReason) -> ExitReason {
        self.debug.note(format_args!("terminate: {reason}"));
        self.state.terminate(&reason);
        reason
    }

    /// Run a callback; if it panics, run `terminate` with the panic as the
    /// reason, then let the panic go on (the runtime turns it into the exit
    /// reason `Panic(message)` and reports it).
    fn guarded<T>(&mut self, callback: impl FnOnce(&mut S) -> T) -> T {
        match catch_unwind(AssertUnwindSafe(|| callback(&mut self.state))) {
            Ok(r) => r,
            Err(payload) => {
                if let Some(message) = panic_message(&*payload) {
                    let reason = ExitReason::Panic(message.into());
                    // A panic in terminate itself ends the process with the
                    // first panic, which is the one worth reporting.
                    let _ = catch_unwind(AssertUnwindSafe(|| self.state.terminate(&reason)));
                }
                resume_unwind(payload)
            }
        }
    }
}

/// The server's state as sys sees it.
struct StateView<'a, S>(&'a mut S);

impl<S: GenServer> Debuggable for StateView<'_, S> {
    fn state(&mut self) -> &mut dyn std::any::Any {
        self.0
    }
    fn state_type(&self) -> &'static str {
        std::any::type_name::<S>()
    }
    fn format_status(&self) -> String {
        self.0.format_status()
    }
}
