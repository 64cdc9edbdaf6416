//! The callback side of a gen_server: the [`GenServer`] trait a server implements,
//! and the values its callbacks return to say what happens next.
//!
//! OTP's callbacks return tuples (`{reply, R, S}`, `{noreply, S, hibernate}`,
//! `{stop, Reason, S}` ...) and thread the state through. Here the state is
//! `&mut self`, so a callback only returns the *decision*: [`Next`] for every
//! callback, plus the reply for `handle_call` ([`CallResult`]).
//!
//! # One reply type, or one per request
//!
//! OTP's shape is one `Call` type (an enum, here) answered with one `Reply`
//! type, and [`GenServer::handle_call`] is that. It makes every client wrapper
//! match a reply variant that cannot be anything else (`unreachable!` arms).
//! [`HandleCall<R>`] is the other shape, the one ractor and kameo chose: each
//! request is its own type `R` and names its own reply type, so
//! `call(&kv, Get(key))` returns an `Option<V>` and `call(&kv, Len)` a `usize`.
//! Both shapes meet in one trait: every `GenServer` implements
//! `HandleCall<Self::Call>` (with `Reply = Self::Reply`) through a blanket impl
//! that forwards to `GenServer::handle_call`, so [`call`](super::call) has one
//! signature, `call(&server, r, timeout) -> Result<<S as HandleCall<R>>::Reply, _>`,
//! whichever shape the server chose (and a server may mix them). Coherence
//! forbids a second impl for `Self::Call`, so a request type has exactly one
//! handler.

use std::fmt;
use std::time::Duration;

use bream::{Down, Exit, ExitReason};

use super::client::ReplyTo;
use crate::request::Response;
use crate::start::StartError;

/// A generic server: the behaviour OTP calls `gen_server`.
///
/// Every associated type is the type of one kind of message, so a client can only
/// send a server what it handles: [`call`](super::call) takes `Self::Call` and
/// returns `Self::Reply`, [`cast`](super::cast) takes `Self::Cast`, and a plain
/// [`bream::send`] of a `Self::Info` reaches [`handle_info`](GenServer::handle_info).
/// Use `()` for a kind the server does not use (stable Rust has no defaults for
/// associated types).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use bream_stdlib::gen_server::{self, CallResult, GenServer, Init, Next, ReplyTo};
///
/// struct Counter(u64);
///
/// impl GenServer for Counter {
///     type Args = u64;
///     type Call = ();          // "what is the count?"
///     type Reply = u64;
///     type Cast = u64;         // "add this much"
///     type Info = ();
///     type Continue = ();
///
///     fn init(start: u64) -> Init<Self> {
///         Init::ok(Counter(start))
///     }
///     fn handle_call(&mut self, _: (), _from: ReplyTo<u64>) -> CallResult<Self> {
///         CallResult::reply(self.0)
///     }
///     fn handle_cast(&mut self, n: u64) -> Next<Self> {
///         self.0 += n;
///         Next::Wait
///     }
/// }
///
/// let n = bream::run(|| {
///     let counter = gen_server::start::<Counter>(40).unwrap();
///     gen_server::cast(&counter, 2);
///     gen_server::call(&counter, (), Duration::from_secs(5)).unwrap()
/// });
/// assert_eq!(n, 42);
/// ```
///
/// # Panics
///
/// A panic in a callback crashes the server with `Panic(message)`, as an
/// exception does in OTP; [`terminate`](GenServer::terminate) runs first, its links
/// and monitors fire after. A killed server does not run `terminate` (neither
/// does OTP's).
pub trait GenServer: Sized + Send + 'static {
    /// What [`start`](super::start) passes to [`init`](GenServer::init).
    type Args: Send + 'static;
    /// A request sent with [`call`](super::call), in OTP's shape (one type for
    /// every request, answered by [`handle_call`](GenServer::handle_call)).
    /// A server that only takes [`HandleCall`] requests puts `()` here.
    type Call: Send + 'static;
    /// The answer to a `Call`.
    type Reply: Send + 'static;
    /// A message sent with [`cast`](super::cast): no answer.
    type Cast: Send + 'static;
    /// Any other message this server takes (sent with a plain [`bream::send`]).
    type Info: Send + 'static;
    /// What a [`Next::Continue`] carries to [`handle_continue`](GenServer::handle_continue).
    type Continue: Send + 'static;

    /// Runs in the new process before `start` returns (OTP's `init/1`). The
    /// starter waits for it: `Init::Ready` makes `start` return the server,
    /// anything else (or a panic) makes it return the [`StartError`].
    fn init(args: Self::Args) -> Init<Self>;

    /// A [`call`](super::call) arrived (OTP's `handle_call/3`). Reply now with
    /// [`CallResult::Reply`], or keep `from` and answer later with
    /// [`reply`](super::reply) (from this process or any other) and return
    /// [`CallResult::NoReply`]. The default panics, as OTP's does (`bad_call`).
    fn handle_call(&mut self, request: Self::Call, from: ReplyTo<Self::Reply>) -> CallResult<Self> {
        let _ = (request, from);
        panic!(
            "gen_server {} got a call it does not handle",
            std::any::type_name::<Self>()
        )
    }

    /// A [`cast`](super::cast) arrived (OTP's `handle_cast/2`). The default
    /// ignores it.
    fn handle_cast(&mut self, message: Self::Cast) -> Next<Self> {
        let _ = message;
        Next::Wait
    }

    /// Anything else arrived (OTP's `handle_info/2`): a `Self::Info` message, an
    /// [`Exit`] from a link (when trapping exits; the parent's exit signal is
    /// handled by the server itself, see [`terminate`](GenServer::terminate)), a
    /// [`Down`] from a monitor, the [`Info::Timeout`] that a
    /// [`Next::Timeout`] asked for, or the [`Info::Response`] to a request the
    /// server sent. The default logs the message at debug level and
    /// goes on.
    fn handle_info(&mut self, info: Info<Self::Info>) -> Next<Self> {
        tracing::debug!(
            target: "bream_stdlib::gen_server",
            server = std::any::type_name::<Self>(),
            info = ?info,
            "unhandled info"
        );
        Next::Wait
    }

    /// A callback returned [`Next::Continue`]: this runs before any message is
    /// taken (OTP's `handle_continue/2`). The default does nothing.
    fn handle_continue(&mut self, cont: Self::Continue) -> Next<Self> {
        let _ = cont;
        Next::Wait
    }

    /// The server is about to exit with `reason` (OTP's `terminate/2`): after a
    /// callback returned [`Next::Stop`], after [`stop`](super::stop), after an
    /// exit signal from its parent (the process that called `start_link`, e.g.
    /// its supervisor) while it traps exits, and after a callback panicked. The
    /// process exits with `reason` when this returns. The default does nothing.
    fn terminate(&mut self, reason: &ExitReason) {
        let _ = reason;
    }

    /// What [`sys::get_status`](crate::sys::get_status) shows of the state
    /// (OTP's `format_status/1`): override it to hide secrets or to shorten a
    /// large state. The default shows only the type's name, since a state need
    /// not be `Debug`.
    fn format_status(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }
}

/// A server that answers requests of type `R`, each with its own reply type
/// (the shape ractor and kameo use; see the module docs). Implement it once per
/// request type; [`call`](super::call)`(&server, request, timeout)` then
/// returns `Result<Self::Reply, CallError>` for that request.
///
/// Every [`GenServer`] already implements `HandleCall<Self::Call>`, by
/// forwarding to [`GenServer::handle_call`]: OTP's one-enum shape is the case
/// `R = Self::Call`. A server that takes only typed requests sets
/// `type Call = ()` and `type Reply = ()`.
///
/// Inside such an impl, `Self::Reply` is ambiguous (the trait's and
/// `GenServer`'s): write the reply type itself, as below.
///
/// # Example
///
/// ```
/// use std::collections::HashMap;
/// use bream_stdlib::gen_server::{self, CallResult, GenServer, HandleCall, Init, ReplyTo, DEFAULT_TIMEOUT};
///
/// struct Kv(HashMap<String, u64>);
/// struct Get(String);
/// struct Len;
///
/// impl GenServer for Kv {
///     type Args = ();
///     type Call = ();
///     type Reply = ();
///     type Cast = (String, u64);
///     type Info = ();
///     type Continue = ();
///     fn init(_: ()) -> Init<Self> {
///         Init::ok(Kv(HashMap::new()))
///     }
///     fn handle_cast(&mut self, (k, v): (String, u64)) -> gen_server::Next<Self> {
///         self.0.insert(k, v);
///         gen_server::Next::Wait
///     }
/// }
/// impl HandleCall<Get> for Kv {
///     type Reply = Option<u64>;
///     fn handle_call(&mut self, Get(k): Get, _: ReplyTo<Option<u64>>) -> CallResult<Self, Option<u64>> {
///         CallResult::reply(self.0.get(&k).copied())
///     }
/// }
/// impl HandleCall<Len> for Kv {
///     type Reply = usize;
///     fn handle_call(&mut self, _: Len, _: ReplyTo<usize>) -> CallResult<Self, usize> {
///         CallResult::reply(self.0.len())
///     }
/// }
///
/// bream::run(|| {
///     let kv = gen_server::start::<Kv>(()).unwrap();
///     gen_server::cast(&kv, ("a".to_owned(), 1));
///     let a: Option<u64> = gen_server::call(&kv, Get("a".into()), DEFAULT_TIMEOUT).unwrap();
///     let n: usize = gen_server::call(&kv, Len, DEFAULT_TIMEOUT).unwrap();
///     assert_eq!((a, n), (Some(1), 1));
/// });
/// ```
#[diagnostic::on_unimplemented(
    message = "the gen_server `{Self}` does not handle requests of type `{R}`",
    label = "`{Self}` has no `HandleCall<{R}>` impl, and `{R}` is not its `Call` type",
    note = "implement `HandleCall<{R}>` for `{Self}`, or send a value of its `GenServer::Call` type"
)]
pub trait HandleCall<R>: GenServer {
    /// The answer to an `R`.
    type Reply: Send + 'static;

    /// A request `R` arrived (OTP's `handle_call/3`, for this request type):
    /// as [`GenServer::handle_call`].
    fn handle_call(
        &mut self,
        request: R,
        from: ReplyTo<<Self as HandleCall<R>>::Reply>,
    ) -> CallResult<Self, <Self as HandleCall<R>>::Reply>;
}

/// OTP's shape: the server's one `Call` type, answered by
/// [`GenServer::handle_call`] with its one `Reply` type.
impl<S: GenServer> HandleCall<S::Call> for S {
    type Reply = <S as GenServer>::Reply;

    fn handle_call(
        &mut self,
        request: S::Call,
        from: ReplyTo<<S as GenServer>::Reply>,
    ) -> CallResult<S> {
        GenServer::handle_call(self, request, from)
    }
}

/// What [`GenServer::init`] decided.
pub enum Init<S: GenServer> {
    /// Running; go on as `Next` says (OTP's `{ok, State}` and
    /// `{ok, State, Timeout | hibernate | {continue, C}}`).
    Ready(S, Next<S>),
    /// Do not run: `start` returns `StartError::Init(reason)` and the process
    /// exits with `reason` (OTP's `{stop, Reason}`).
    Stop(ExitReason),
    /// Do not run, and that is fine: `start` returns `StartError::Ignore` and the
    /// process exits `Normal` (OTP's `ignore`).
    Ignore,
    /// Do not run: `start` returns exactly this error and the process exits with
    /// `Shutdown`. For servers whose `init` starts other things and wants to pass
    /// their error on unchanged (the supervisor does).
    Fail(StartError),
}

impl<S: GenServer> Init<S> {
    /// `Init::Ready(state, Next::Wait)`: running, waiting for messages.
    pub fn ok(state: S) -> Self {
        Init::Ready(state, Next::Wait)
    }
}

/// What a server does after a callback returns.
pub enum Next<S: GenServer> {
    /// Wait for the next message (OTP's `{noreply, State}`).
    Wait,
    /// Wait for the next message; if none arrives within the duration, call
    /// `handle_info(Info::Timeout)` (OTP's `{noreply, State, Timeout}`). Any
    /// message cancels it.
    Timeout(Duration),
    /// Wait for the next message without a stack: the process gives its stack
    /// back to the pool and gets a fresh one when a message arrives
    /// (OTP's `hibernate`). For servers that sleep long between rare messages.
    Hibernate,
    /// Call `handle_continue(c)` before taking any message (OTP's `{continue, C}`).
    Continue(S::Continue),
    /// Run `terminate(&reason)` and exit with `reason` (OTP's `{stop, Reason, State}`).
    Stop(ExitReason),
}

/// What [`GenServer::handle_call`] (or a [`HandleCall`] impl) decided. `R` is
/// the reply type: the server's `Reply` unless the request names its own.
pub enum CallResult<S: GenServer, R = <S as GenServer>::Reply> {
    /// Send the caller this reply, then go on as `Next` says. With
    /// `Next::Stop(reason)`, `terminate` runs first and the reply is sent after
    /// it, as OTP's `{stop, Reason, Reply, State}`.
    Reply(R, Next<S>),
    /// No reply now: the server kept the [`ReplyTo`] and will
    /// [`reply`](super::reply) later (or never, and the caller times out).
    NoReply(Next<S>),
}

impl<S: GenServer, R> CallResult<S, R> {
    /// `CallResult::Reply(value, Next::Wait)`.
    pub fn reply(value: R) -> Self {
        CallResult::Reply(value, Next::Wait)
    }
    /// `CallResult::NoReply(Next::Wait)`.
    pub fn no_reply() -> Self {
        CallResult::NoReply(Next::Wait)
    }
}

/// A message for [`GenServer::handle_info`].
pub enum Info<I> {
    /// A plain message of the server's `Info` type.
    Message(I),
    /// An exit signal from a link, as a message (the server traps exits).
    Exit(Exit),
    /// A monitor fired.
    Down(Down),
    /// The [`Next::Timeout`] the last callback asked for ran out.
    Timeout,
    /// The answer to a request this server made with
    /// [`send_request`](super::send_request): open it with
    /// [`check_response`](super::check_response) (OTP delivers it to
    /// `handle_info` too).
    Response(Response),
}

impl<S: GenServer> fmt::Debug for Init<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::Ready(_, next) => f.debug_tuple("Ready").field(next).finish(),
            Init::Stop(reason) => f.debug_tuple("Stop").field(reason).finish(),
            Init::Ignore => f.write_str("Ignore"),
            Init::Fail(error) => f.debug_tuple("Fail").field(error).finish(),
        }
    }
}

impl<S: GenServer> fmt::Debug for Next<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Next::Wait => f.write_str("Wait"),
            Next::Timeout(d) => f.debug_tuple("Timeout").field(d).finish(),
            Next::Hibernate => f.write_str("Hibernate"),
            Next::Continue(_) => f.write_str("Continue(..)"),
            Next::Stop(reason) => f.debug_tuple("Stop").field(reason).finish(),
        }
    }
}

impl<S: GenServer, R> fmt::Debug for CallResult<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallResult::Reply(_, next) => f.debug_tuple("Reply").field(&"..").field(next).finish(),
            CallResult::NoReply(next) => f.debug_tuple("NoReply").field(next).finish(),
        }
    }
}

impl<I> fmt::Debug for Info<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Info::Message(_) => write!(f, "Message({})", std::any::type_name::<I>()),
            Info::Exit(exit) => f.debug_tuple("Exit").field(exit).finish(),
            Info::Down(down) => f.debug_tuple("Down").field(down).finish(),
            Info::Timeout => f.write_str("Timeout"),
            Info::Response(r) => f.debug_tuple("Response").field(r).finish(),
        }
    }
}
