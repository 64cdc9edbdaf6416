//! The client side of a gen_statem: [`StatemRef`], [`call`],
//! [`send_request`], [`cast`], [`reply`], [`stop`], and the messages they
//! send.
//!
//! A call *is* gen_server's call (`gen_server/client.rs` has the numbered
//! recipe; both go through its `call_pid`): a fresh `make_ref` sets the
//! caller's receive marker, a monitor turns the machine's death into an error,
//! the reply comes back through an alias, so a late reply is dropped by the
//! runtime and the wait costs the same however long the caller's mailbox is.
//! The caller's handle is gen_server's [`ReplyTo`], answered with gen_server's
//! `reply`, and the errors are gen_server's [`CallError`]. Only the message
//! put in the mailbox is the machine's own ([`CallMsg`], [`StopMsg`]); a
//! `send_request` is the crate's shared `request.rs` with that message, a
//! `stop` gen_server's `stop_pid` with it.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use bream::{ExitReason, Pid};

use super::callbacks::GenStatem;
use crate::gen_server::{call_pid, stop_pid, CallError, ReplyTo};
use crate::name::{Target, ToServer};
use crate::request::{send_request_to, ReqId};

/// A typed handle to a machine running `M`: [`call`] and [`cast`] through it
/// only send what `M` handles. Cheap to copy and to send to other processes.
///
/// It names the machine by pid, or by registered name (resolved at each use).
pub struct StatemRef<M> {
    target: Target,
    _machine: PhantomData<fn() -> M>,
}

impl<M: GenStatem> StatemRef<M> {
    /// A handle to the machine `pid`, which the caller knows runs `M`.
    pub fn from_pid(pid: Pid) -> Self {
        StatemRef {
            target: Target::Pid(pid),
            _machine: PhantomData,
        }
    }

    /// A handle to whatever machine is registered as `name` when it is used.
    pub fn named(name: &'static str) -> Self {
        StatemRef {
            target: Target::Name(name),
            _machine: PhantomData,
        }
    }

    /// The machine's pid now: `None` if the name is not registered.
    pub fn pid(&self) -> Option<Pid> {
        self.target.pid()
    }

    /// The name this handle resolves, if it was made with [`named`](Self::named).
    pub fn name(&self) -> Option<&'static str> {
        self.target.name()
    }
}

impl<M: GenStatem> ToServer<M> for StatemRef<M> {
    fn server_pid(&self) -> Option<Pid> {
        self.pid()
    }
}

impl<M> Clone for StatemRef<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M> Copy for StatemRef<M> {}
impl<M> PartialEq for StatemRef<M> {
    fn eq(&self, other: &Self) -> bool {
        self.target == other.target
    }
}
impl<M> Eq for StatemRef<M> {}
impl<M> fmt::Debug for StatemRef<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatemRef({:?})", self.target)
    }
}

/// A call in the machine's mailbox.
pub(crate) struct CallMsg<M: GenStatem> {
    pub(crate) request: M::Call,
    pub(crate) from: ReplyTo<M::Reply>,
}

/// A cast in the machine's mailbox.
pub(crate) struct CastMsg<M: GenStatem>(pub(crate) M::Cast);

/// [`stop`]'s request: terminate with this reason.
pub(crate) struct StopMsg<M> {
    pub(crate) reason: ExitReason,
    pub(crate) _machine: PhantomData<fn() -> M>,
}

/// Call `machine` and wait up to `timeout` for its reply (OTP's
/// `gen_statem:call/3`). The machine gets `Event::Call(request, from)`.
///
/// # Errors
///
/// [`CallError::NoProc`] if the machine is not running, [`CallError::Exit`] if
/// it exits before replying, [`CallError::Timeout`] if it does not reply in
/// time, [`CallError::CallingSelf`] if the machine calls itself.
pub fn call<M: GenStatem>(
    machine: &impl ToServer<M>,
    request: M::Call,
    timeout: Duration,
) -> Result<M::Reply, CallError> {
    let pid = machine.server_pid().ok_or(CallError::NoProc)?;
    call_pid(pid, timeout, |from| {
        bream::send(pid, CallMsg::<M> { request, from });
    })
}

/// Send `request` to `machine` and return at once (OTP's
/// `gen_statem:send_request/2`): the machine gets `Event::Call(request, from)`
/// and cannot tell it from a [`call`]. Collect the answer with
/// [`receive_response`](super::receive_response),
/// [`wait_response`](super::wait_response) or
/// [`check_response`](super::check_response), or put it in a
/// [`ReqIds`](super::ReqIds) with requests to other machines.
///
/// ```
/// use bream_stdlib::gen_statem::{self, CallbackMode, Event, GenStatem, Init, Transition};
///
/// struct Double;
/// impl GenStatem for Double {
///     type Args = (); type State = (); type Call = u64; type Reply = u64;
///     type Cast = (); type Info = (); type Internal = (); type Timeout = ();
///     type TimeoutName = ();
///     fn init(_: ()) -> Init<Self> { Init::ok((), Double) }
///     fn callback_mode() -> CallbackMode<Self> {
///         CallbackMode::handle_event_function(|_, _, event| match event {
///             Event::Call(n, from) => Transition::keep_state().reply(from, 2 * n),
///             _ => Transition::keep_state(),
///         })
///     }
/// }
/// bream::run(|| {
///     let a = gen_statem::start::<Double>(()).unwrap();
///     let b = gen_statem::start::<Double>(()).unwrap();
///     let ra = gen_statem::send_request(&a, 20);
///     let rb = gen_statem::send_request(&b, 1);
///     // Both machines work at the same time.
///     let t = gen_statem::DEFAULT_TIMEOUT;
///     assert_eq!(gen_statem::receive_response(ra, t), Ok(40));
///     assert_eq!(gen_statem::receive_response(rb, t), Ok(2));
/// });
/// ```
pub fn send_request<M: GenStatem>(machine: &impl ToServer<M>, request: M::Call) -> ReqId<M::Reply> {
    send_request_to(machine.server_pid(), |pid, from| {
        bream::send(pid, CallMsg::<M> { request, from });
    })
}

/// Answer a call (OTP's `gen_statem:reply/2`), from the machine or any other
/// process: gen_server's [`reply`](crate::gen_server::reply). Answering a
/// caller that gave up, or twice, is harmless: the alias is gone and the
/// runtime drops the message.
pub fn reply<R: Send + 'static>(from: &ReplyTo<R>, value: R) {
    crate::gen_server::reply(from, value)
}

/// Send `machine` an event that needs no answer (OTP's `gen_statem:cast/2`):
/// it gets `Event::Cast(message)`. Never fails and never waits.
pub fn cast<M: GenStatem>(machine: &impl ToServer<M>, message: M::Cast) {
    if let Some(pid) = machine.server_pid() {
        bream::send(pid, CastMsg::<M>(message));
    }
}

/// Stop `machine` with `reason` and wait until it has exited (OTP's
/// `gen_statem:stop/3`): it runs `terminate(&reason, &state)` and exits.
///
/// # Errors
///
/// [`CallError::NoProc`] if it is not running, [`CallError::Timeout`] if it has
/// not exited within `timeout`, [`CallError::Exit`] if it exited with another
/// reason (e.g. `terminate` panicked).
pub fn stop<M: GenStatem>(
    machine: &impl ToServer<M>,
    reason: ExitReason,
    timeout: Duration,
) -> Result<(), CallError> {
    let pid = machine.server_pid().ok_or(CallError::NoProc)?;
    stop_pid(pid, reason, timeout, |reason| {
        let message = StopMsg::<M> {
            reason,
            _machine: PhantomData,
        };
        bream::send(pid, message);
    })
}
