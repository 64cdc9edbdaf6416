//! The client side of a gen_statem: [`StatemRef`], [`call`], [`cast`],
//! [`reply`], [`stop`], and the messages they send.
//!
//! A call *is* gen_server's call (`gen_server/client.rs` has the numbered
//! recipe; both go through its `call_pid`): a fresh `make_ref` sets the
//! caller's receive marker, a monitor turns the machine's death into an error,
//! the reply comes back through an alias, so a late reply is dropped by the
//! runtime and the wait costs the same however long the caller's mailbox is.
//! The caller's handle is gen_server's [`ReplyTo`], answered with gen_server's
//! `reply`, and the errors are gen_server's [`CallError`].

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use bream::{receive, ExitReason, Pid};

use super::callbacks::GenStatem;
use crate::gen_server::{call_pid, CallError, ReplyTo, INFINITY};
use crate::name::ToServer;

/// A typed handle to a machine running `M`: [`call`] and [`cast`] through it
/// only send what `M` handles. Cheap to copy and to send to other processes.
///
/// It names the machine by pid, or by registered name (resolved at each use).
pub struct StatemRef<M> {
    target: Target,
    _machine: PhantomData<fn() -> M>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Pid(Pid),
    Name(&'static str),
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
        match self.target {
            Target::Pid(pid) => Some(pid),
            Target::Name(name) => bream::whereis(name),
        }
    }

    /// The name this handle resolves, if it was made with [`named`](Self::named).
    pub fn name(&self) -> Option<&'static str> {
        match self.target {
            Target::Pid(_) => None,
            Target::Name(name) => Some(name),
        }
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
        match self.target {
            Target::Pid(pid) => write!(f, "StatemRef({pid:?})"),
            Target::Name(name) => write!(f, "StatemRef({name:?})"),
        }
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

/// `demonitor(monitor, flush = true)` in O(1): a `Down` from this monitor can
/// only be after the marker `tag` (see gen_server's `forget_monitor`).
pub(crate) fn forget_monitor(monitor: bream::MonitorRef, tag: bream::Ref) {
    bream::demonitor(monitor, false);
    receive! { marker tag;
        d: bream::Down if d.monitor == monitor => (),
        after Duration::ZERO => (),
    }
}

fn down_error(reason: ExitReason) -> CallError {
    match reason {
        ExitReason::NoProc => CallError::NoProc,
        other => CallError::Exit(other),
    }
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
    if pid == bream::self_pid() {
        return Err(CallError::CallingSelf);
    }
    let tag = bream::make_ref();
    let monitor = bream::monitor(pid);
    let message = StopMsg::<M> {
        reason: reason.clone(),
        _machine: PhantomData,
    };
    bream::send(pid, message);
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
