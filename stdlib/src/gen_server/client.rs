//! The client side of a gen_server: [`ServerRef`], [`call`], [`cast`], [`reply`],
//! [`stop`], and the messages they send.
//!
//! # How a call works (and why it is built this way)
//!
//! 1. `make_ref()` gives a fresh tag and sets the caller's receive marker: the
//!    reply can only be a message that arrives *after* this point.
//! 2. `monitor(server)`: if the server is dead, or dies before it answers, a
//!    `Down` arrives (after the marker too) and the call returns `NoProc` or
//!    `Exit(reason)` instead of waiting forever.
//! 3. `alias()`: the server answers through this alias, not the caller's pid.
//! 4. Send `CallMsg { request, from: ReplyTo { alias, tag } }` to the server
//!    (a request of another type than the server's `Call`, for a
//!    [`HandleCall`] impl, goes boxed in a `TypedCallMsg`: see `send_call`).
//! 5. `receive! { marker tag; ... }` waits for the reply tagged `tag` or the
//!    `Down`: it scans only what arrived after step 1, so a caller with 10,000
//!    unrelated messages queued pays nothing for them (OTP 24's receive
//!    optimisation, docs/architecture.md §5).
//! 6. `unalias`, and `demonitor` plus a marker receive of its `Down`, so no
//!    `Down` is left behind (also in O(1): `demonitor`'s own flush would scan
//!    the whole mailbox).
//!
//! A reply that the server sends *after* the caller gave up (timeout) is sent to
//! an alias that no longer exists: the runtime drops it, so it never sits in the
//! caller's mailbox (before OTP 24, such late replies piled up forever in the
//! mailbox of a caller that caught the timeout). One window is left: the reply
//! can arrive between the timeout firing and `unalias`; the caller then finds it
//! with one last `after 0` receive and returns it, as OTP does.
//!
//! Steps 1–6 are `call_pid`, which gen_statem and `sys` use too (their
//! requests are calls); [`send_request`] is steps 1–4, with the wait left for
//! later (the crate's `request.rs`, shared with gen_statem). `stop_pid` is the
//! caller's half of a stop, for both behaviours.

use std::any::{Any, TypeId};
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use bream::{receive, ExitReason, Pid};

use super::callbacks::{GenServer, HandleCall};
use super::serve::{ErasedCall, TypedCall};
use crate::flush::forget_monitor;
use crate::name::{NamedRef, Target, ToServer};
use crate::request::{send_request_to, ReqId, Response};

/// The default timeout of a call, as OTP's (5000 ms).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A call that never times out (OTP's `infinity`). The call still returns if the
/// server dies.
pub const INFINITY: Duration = Duration::MAX;

/// A typed handle to a server running `S`: [`call`] and [`cast`] through it only
/// send what `S` handles. Cheap to copy and to send to other processes.
///
/// It names the server by pid, or by registered name (resolved at each use, so
/// it follows a restarted server that registers the same name again).
pub struct ServerRef<S> {
    target: Target,
    _server: PhantomData<fn() -> S>,
}

impl<S: GenServer> ServerRef<S> {
    /// A handle to the server `pid`, which the caller knows runs `S`. Messages a
    /// process does not take stay in its mailbox: a wrong `S` makes calls time out.
    pub fn from_pid(pid: Pid) -> Self {
        ServerRef {
            target: Target::Pid(pid),
            _server: PhantomData,
        }
    }

    /// A handle to whatever server is registered as `name` when it is used.
    pub fn named(name: &'static str) -> Self {
        ServerRef {
            target: Target::Name(name),
            _server: PhantomData,
        }
    }

    /// The server's pid now: `None` if the name is not registered.
    pub fn pid(&self) -> Option<Pid> {
        self.target.pid()
    }

    /// The name this handle resolves, if it was made with [`named`](Self::named).
    pub fn name(&self) -> Option<&'static str> {
        self.target.name()
    }
}

impl<S> Clone for ServerRef<S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S> Copy for ServerRef<S> {}
impl<S> PartialEq for ServerRef<S> {
    fn eq(&self, other: &Self) -> bool {
        self.target == other.target
    }
}
impl<S> Eq for ServerRef<S> {}
impl<S> fmt::Debug for ServerRef<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerRef({:?})", self.target)
    }
}

/// sys sees a server's state as its `S`: `sys::get_state(&server)` is an `S`.
impl<S: GenServer> crate::sys::SysRef for ServerRef<S> {
    type State = S;
    fn sys_pid(&self) -> Option<Pid> {
        self.pid()
    }
    fn view(state: &mut dyn std::any::Any) -> Option<&mut S> {
        state.downcast_mut::<S>()
    }
}

impl<S: GenServer> ToServer<S> for ServerRef<S> {
    fn server_pid(&self) -> Option<Pid> {
        self.pid()
    }
}

/// sys sees a named server's state as its `S`, as through a [`ServerRef`].
impl<S: GenServer> crate::sys::SysRef for NamedRef<S> {
    type State = S;
    fn sys_pid(&self) -> Option<Pid> {
        self.pid()
    }
    fn view(state: &mut dyn std::any::Any) -> Option<&mut S> {
        state.downcast_mut::<S>()
    }
}

/// Who to answer: the handle a server gets with each call (OTP's `From`). Keep it
/// to answer later with [`reply`], from any process. [`pid`](ReplyTo::pid) is
/// the caller, for a server that monitors the callers it keeps waiting (OTP code
/// does `erlang:monitor(process, element(1, From))`).
///
/// OTP calls it `From`; bream does not, so that a glob import does not shadow
/// the prelude's `From` trait.
pub struct ReplyTo<R> {
    alias: bream::Alias,
    tag: bream::Ref,
    /// Answer with a [`Response`](super::Response) (the caller used
    /// `send_request`), not a typed `ReplyMsg` (it used `call`).
    boxed: bool,
    _reply: PhantomData<fn(R)>,
}

impl<R> ReplyTo<R> {
    /// The process waiting for the reply (the caller of [`call`], or of
    /// [`send_request`](super::send_request)).
    pub fn pid(&self) -> Pid {
        self.alias.pid()
    }

    pub(crate) fn new(alias: bream::Alias, tag: bream::Ref, boxed: bool) -> Self {
        ReplyTo {
            alias,
            tag,
            boxed,
            _reply: PhantomData,
        }
    }

    /// The same caller, for a reply type known (by a `TypeId` check) to be `R`.
    fn retype<Q>(self) -> ReplyTo<Q> {
        ReplyTo::new(self.alias, self.tag, self.boxed)
    }
}

impl<R> Clone for ReplyTo<R> {
    fn clone(&self) -> Self {
        ReplyTo::new(self.alias, self.tag, self.boxed)
    }
}
impl<R> fmt::Debug for ReplyTo<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyTo")
            .field("pid", &self.pid())
            .field("tag", &self.tag)
            .finish()
    }
}

/// Why a [`call`] (or [`stop`]) returned no reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// No reply within the timeout. The server may still be working on it; its
    /// late reply will be dropped.
    Timeout,
    /// The server was not running (dead pid, or no process under the name).
    NoProc,
    /// The server exited with this reason before it replied.
    Exit(ExitReason),
    /// A server called itself, which would wait forever (OTP's `calling_self`).
    CallingSelf,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Timeout => f.write_str("call timed out"),
            CallError::NoProc => f.write_str("no such server"),
            CallError::Exit(reason) => write!(f, "server exited: {reason:?}"),
            CallError::CallingSelf => f.write_str("a server called itself"),
        }
    }
}

impl std::error::Error for CallError {}

/// A call in OTP's shape (the server's `Call` type) in the server's mailbox.
pub(crate) struct CallMsg<S: GenServer> {
    pub(crate) request: S::Call,
    pub(crate) from: ReplyTo<<S as GenServer>::Reply>,
}

/// A call of a [`HandleCall`] request type in the server's mailbox: boxed, so
/// that the loop takes one message type whatever the request type is.
pub(crate) struct TypedCallMsg<S: GenServer>(pub(crate) Box<dyn ErasedCall<S>>);

/// A cast in the server's mailbox.
pub(crate) struct CastMsg<S: GenServer>(pub(crate) S::Cast);

/// [`stop`]'s request: terminate with this reason.
pub(crate) struct StopMsg {
    pub(crate) reason: ExitReason,
}

/// A reply in the caller's mailbox.
pub(crate) struct ReplyMsg<R> {
    pub(crate) tag: bream::Ref,
    pub(crate) value: R,
}

/// Call `server` and wait up to `timeout` for its reply (OTP's `gen_server:call/3`).
///
/// `request` is the server's `Call` type (OTP's shape, answered with its
/// `Reply`), or any type `R` it implements [`HandleCall<R>`] for, answered with
/// that impl's own `Reply` (see [`HandleCall`]).
///
/// Never waits longer than `timeout`, and returns as soon as the server dies.
/// The cost does not depend on how many other messages wait in the caller's
/// mailbox (see the module docs). Pass [`INFINITY`] to wait as long as the
/// server lives.
///
/// # Errors
///
/// [`CallError::NoProc`] if the server is not running, [`CallError::Exit`] if it
/// exits before replying, [`CallError::Timeout`] if it does not reply in time,
/// [`CallError::CallingSelf`] if the server calls itself.
pub fn call<S, R>(
    server: &impl ToServer<S>,
    request: R,
    timeout: Duration,
) -> Result<<S as HandleCall<R>>::Reply, CallError>
where
    S: HandleCall<R>,
    R: Send + 'static,
{
    let pid = server.server_pid().ok_or(CallError::NoProc)?;
    call_pid(pid, timeout, |from| send_call::<S, R>(pid, request, from))
}

/// Send `request` to `server` and return at once (OTP's
/// `gen_server:send_request/2`); collect the answer with
/// [`receive_response`](super::receive_response),
/// [`wait_response`](super::wait_response) or
/// [`check_response`](super::check_response), or put it in a
/// [`ReqIds`](super::ReqIds). The server cannot tell it from a [`call`].
///
/// ```
/// use bream_stdlib::gen_server::{self, CallResult, GenServer, Init, ReplyTo};
///
/// struct Double;
/// impl GenServer for Double {
///     type Args = (); type Call = u64; type Reply = u64; type Cast = ();
///     type Info = (); type Continue = ();
///     fn init(_: ()) -> Init<Self> { Init::ok(Double) }
///     fn handle_call(&mut self, n: u64, _: ReplyTo<u64>) -> CallResult<Self> {
///         CallResult::reply(2 * n)
///     }
/// }
/// bream::run(|| {
///     let a = gen_server::start::<Double>(()).unwrap();
///     let b = gen_server::start::<Double>(()).unwrap();
///     let ra = gen_server::send_request(&a, 20);
///     let rb = gen_server::send_request(&b, 1);
///     // Both servers work at the same time.
///     let t = gen_server::DEFAULT_TIMEOUT;
///     assert_eq!(gen_server::receive_response(ra, t), Ok(40));
///     assert_eq!(gen_server::receive_response(rb, t), Ok(2));
/// });
/// ```
pub fn send_request<S, R>(
    server: &impl ToServer<S>,
    request: R,
) -> ReqId<<S as HandleCall<R>>::Reply>
where
    S: HandleCall<R>,
    R: Send + 'static,
{
    send_request_to(server.server_pid(), |pid, from| {
        send_call::<S, R>(pid, request, from)
    })
}

/// Put a call of `request` into `pid`'s mailbox, answered through `from`.
///
/// A request of the server's own `Call` type travels unboxed as a [`CallMsg`]
/// (OTP's shape, the common case: no allocation); any other request type is
/// boxed into a [`TypedCallMsg`]. `R == S::Call` is checked with `Any`, on a
/// value: the only `HandleCall<S::Call>` impl is the blanket one (coherence), so
/// its reply type is `S::Reply`; the reply types are compared anyway.
pub(crate) fn send_call<S, R>(pid: Pid, request: R, from: ReplyTo<<S as HandleCall<R>>::Reply>)
where
    S: HandleCall<R>,
    R: Send + 'static,
{
    let same_reply =
        TypeId::of::<<S as HandleCall<R>>::Reply>() == TypeId::of::<<S as GenServer>::Reply>();
    let mut slot = Some(request);
    if let Some(otp) = (&mut slot as &mut dyn Any).downcast_mut::<Option<S::Call>>() {
        if same_reply {
            if let Some(request) = otp.take() {
                let from = from.retype::<<S as GenServer>::Reply>();
                return bream::send(pid, CallMsg::<S> { request, from });
            }
        }
    }
    if let Some(request) = slot {
        let call: Box<dyn ErasedCall<S>> = Box::new(TypedCall { request, from });
        bream::send(pid, TypedCallMsg(call));
    }
}

/// The caller's half of a call to `pid`, whatever the message: make the alias,
/// the tag (and marker) and the monitor, let `send` put the request in the
/// mailbox, then wait for the reply tagged for it or the `Down` (steps 1–6 of
/// the module essay). `sys` uses it too.
pub(crate) fn call_pid<Rep: Send + 'static>(
    pid: Pid,
    timeout: Duration,
    send: impl FnOnce(ReplyTo<Rep>),
) -> Result<Rep, CallError> {
    if pid == bream::self_pid() {
        return Err(CallError::CallingSelf);
    }
    let alias = bream::alias();
    let tag = bream::make_ref();
    let monitor = bream::monitor(pid);
    send(ReplyTo::new(alias, tag, false));
    let outcome = if timeout == INFINITY {
        receive! { marker tag;
            r: ReplyMsg<Rep> if r.tag == tag => Ok(r.value),
            d: bream::Down if d.monitor == monitor => Err(down_error(d.reason)),
        }
    } else {
        receive! { marker tag;
            r: ReplyMsg<Rep> if r.tag == tag => Ok(r.value),
            d: bream::Down if d.monitor == monitor => Err(down_error(d.reason)),
            after timeout => Err(CallError::Timeout),
        }
    };
    bream::unalias(alias);
    match outcome {
        Ok(value) => {
            forget_monitor(monitor, tag);
            Ok(value)
        }
        Err(CallError::Timeout) => {
            forget_monitor(monitor, tag);
            // The reply may have arrived after the timer fired and before
            // `unalias`: take it now, or nothing will (OTP does the same).
            receive! { marker tag;
                r: ReplyMsg<Rep> if r.tag == tag => Ok(r.value),
                after Duration::ZERO => Err(CallError::Timeout),
            }
        }
        Err(error) => Err(error),
    }
}

pub(crate) fn down_error(reason: ExitReason) -> CallError {
    match reason {
        ExitReason::NoProc => CallError::NoProc,
        other => CallError::Exit(other),
    }
}

/// Answer a call the server kept with [`CallResult::NoReply`](super::CallResult)
/// (OTP's `gen_server:reply/2`). Any process may answer. Replying to a caller
/// that gave up, or answering twice, is harmless: the alias is gone and the
/// runtime drops the message.
pub fn reply<R: Send + 'static>(from: &ReplyTo<R>, value: R) {
    if from.boxed {
        return bream::send_alias(from.alias, Response::new(from.tag, Box::new(value)));
    }
    bream::send_alias(
        from.alias,
        ReplyMsg {
            tag: from.tag,
            value,
        },
    );
}

/// Send `server` a message that needs no answer (OTP's `gen_server:cast/2`).
/// Never fails and never waits: a cast to a server that is not running is
/// dropped, as in OTP.
pub fn cast<S: GenServer>(server: &impl ToServer<S>, message: S::Cast) {
    if let Some(pid) = server.server_pid() {
        bream::send(pid, CastMsg::<S>(message));
    }
}

/// Stop `server` with `reason` and wait until it has exited (OTP's
/// `gen_server:stop/3`): the server runs `terminate(&reason)` and exits.
///
/// # Errors
///
/// [`CallError::NoProc`] if it is not running, [`CallError::Timeout`] if it has
/// not exited within `timeout` (it keeps running), [`CallError::Exit`] if it
/// exited with another reason than `reason` (e.g. `terminate` panicked).
pub fn stop<S: GenServer>(
    server: &impl ToServer<S>,
    reason: ExitReason,
    timeout: Duration,
) -> Result<(), CallError> {
    let pid = server.server_pid().ok_or(CallError::NoProc)?;
    stop_pid(pid, reason, timeout, |reason| {
        bream::send(pid, StopMsg { reason })
    })
}

/// The caller's half of a stop, whatever the behaviour: monitor `pid`, let
/// `send` put the stop request (with this reason) in its mailbox, and wait
/// for its `Down`. `Ok` if it exited with `reason`.
pub(crate) fn stop_pid(
    pid: Pid,
    reason: ExitReason,
    timeout: Duration,
    send: impl FnOnce(ExitReason),
) -> Result<(), CallError> {
    if pid == bream::self_pid() {
        return Err(CallError::CallingSelf);
    }
    let tag = bream::make_ref();
    let monitor = bream::monitor(pid);
    send(reason.clone());
    let down = if timeout == INFINITY {
        receive! { marker tag;
            d: bream::Down if d.monitor == monitor => Some(d.reason),
        }
    } else {
        receive! { marker tag;
            d: bream::Down if d.monitor == monitor => Some(d.reason),
            after timeout => None,
        }
    };
    match down {
        None => {
            forget_monitor(monitor, tag);
            Err(CallError::Timeout)
        }
        Some(got) if got == reason => Ok(()),
        Some(got) => Err(down_error(got)),
    }
}
