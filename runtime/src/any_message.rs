//! Receiving a message of any type: [`receive_any`], [`receive_any_timeout`]
//! and the [`AnyMessage`] they return.
//!
//! A `receive!` names the types it takes; every other message stays in the
//! mailbox. That is right for a selective receive, and wrong for the main loop
//! of a behaviour: OTP's gen_server and gen_statem take *every* message, in
//! arrival order, and log and drop the ones they do not understand, so a stray
//! message cannot sit in a server's mailbox forever and make every later scan
//! longer. These functions are that loop's receive: they take the oldest message
//! whatever its type, and the caller asks it what it is with
//! [`AnyMessage::downcast`].

use std::fmt;
use std::time::Duration;

use bream_mailbox::Envelope;

use crate::receive::{select, Selected};

/// A message of a type the receiver did not name: ask it with
/// [`is`](AnyMessage::is) or [`downcast`](AnyMessage::downcast), or drop it.
pub struct AnyMessage(Envelope);

impl AnyMessage {
    /// True if the message is a `T`.
    pub fn is<T: 'static>(&self) -> bool {
        self.0.is::<T>()
    }

    /// The message by value if it is a `T`, else the message back.
    ///
    /// # Errors
    /// `Err(self)` if the message is not a `T`.
    pub fn downcast<T: 'static>(self) -> Result<T, AnyMessage> {
        self.0.downcast::<T>().map_err(AnyMessage)
    }

    /// The message's type name (`core::any::type_name`), for logs.
    pub fn type_name(&self) -> &'static str {
        self.0.type_name()
    }
}

impl fmt::Debug for AnyMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AnyMessage({})", self.type_name())
    }
}

/// Takes the oldest message in the mailbox, whatever its type, waiting for one
/// if there is none (Erlang's `receive Msg -> Msg end`).
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     bream::send(me, "first");
///     bream::send(me, 2u32);
///     let m = bream::receive_any();
///     assert!(m.is::<&str>());
///     assert_eq!(bream::receive_any().downcast::<u32>().ok(), Some(2));
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn receive_any() -> AnyMessage {
    match select(None, None, |_| Some(0)) {
        Selected::Arm(_, env) => AnyMessage(env),
        Selected::Timeout => unreachable!("no timeout was given"),
    }
}

/// [`receive_any`], giving up after `d` (`Duration::ZERO` only looks at what
/// is already there).
///
/// ```
/// use std::time::Duration;
/// bream::run(|| {
///     assert!(bream::receive_any_timeout(Duration::ZERO).is_none());
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn receive_any_timeout(d: Duration) -> Option<AnyMessage> {
    match select(None, Some(d), |_| Some(0)) {
        Selected::Arm(_, env) => Some(AnyMessage(env)),
        Selected::Timeout => None,
    }
}
