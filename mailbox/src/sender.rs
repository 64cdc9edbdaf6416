//! The sending end: any number of `Sender`s, on any threads.

use core::fmt;
use core::mem;

use crate::bounded;
use crate::envelope::Envelope;
use crate::inbound::{Inner, BOUNDED, CLOSED};
use crate::sync::Arc;

/// Why [`Sender::try_push`] handed a message back.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused<T> {
    /// The mailbox is bounded and holds as many messages as its bound.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

impl<T> Refused<T> {
    /// The message that was refused.
    pub fn into_inner(self) -> T {
        match self {
            Refused::Full(m) | Refused::Closed(m) => m,
        }
    }

    /// True for [`Refused::Full`].
    pub fn is_full(&self) -> bool {
        matches!(self, Refused::Full(_))
    }
}

/// What a push tells its caller.
#[must_use = "on `Wake` the caller must schedule the receiver"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// The message is queued; the receiver is running (or already notified).
    Queued,
    /// The message is queued and the receiver had announced it was waiting: the
    /// caller must schedule it. Exactly one push per announcement reports this.
    Wake,
}

/// A sending handle to a mailbox. Clone it freely; it is `Send + Sync`.
///
/// ```
/// let (tx, mut rx) = bream_mailbox::mailbox();
/// let tx2 = tx.clone();
/// std::thread::spawn(move || { let _ = tx2.push(String::from("hi")); })
///     .join()
///     .unwrap();
/// assert_eq!(tx.len(), 1);
/// assert_eq!(rx.try_recv::<String>().as_deref(), Some("hi"));
/// ```
#[derive(Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

impl Sender {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Sender { inner }
    }

    /// Queues `msg`. Wait-free: one allocation (header and payload in one block),
    /// one atomic add, one atomic swap and one store; no loop, no lock.
    ///
    /// If the receiver has been dropped the message is dropped here (sending to
    /// a dead process is not an error in Erlang) and `Queued` is returned.
    ///
    /// A bound is not checked: `push` always queues (the runtime's exit and
    /// down signals use it; they must never be refused). Messages that must
    /// respect a bound use [`try_push`](Sender::try_push).
    #[inline]
    pub fn push<T: Send + 'static>(&self, msg: T) -> Push {
        if self.inner.is_closed() {
            return Push::Queued;
        }
        self.push_envelope(Envelope::new(msg))
    }

    /// Queues a message that is already in an envelope (no allocation). An
    /// empty envelope is not a message: it is dropped and `Queued` returned.
    #[inline]
    pub fn push_envelope(&self, env: Envelope) -> Push {
        let flags = self.inner.flags();
        if flags != 0 {
            return self.push_envelope_flagged(env, flags);
        }
        if env.is_empty() {
            return Push::Queued;
        }
        // SAFETY: `into_raw` gives up a block we own; the queue takes it.
        if unsafe { self.inner.push(env.into_raw()) } {
            Push::Wake
        } else {
            Push::Queued
        }
    }

    /// `push_envelope` to a closed or bounded mailbox: a closed one drops
    /// the message; a bounded one ignores its bound but counts the bytes.
    #[cold]
    #[inline(never)]
    fn push_envelope_flagged(&self, env: Envelope, flags: usize) -> Push {
        if env.is_empty() || flags & CLOSED != 0 {
            return Push::Queued;
        }
        if let Some(l) = self.inner.limits() {
            l.add_unchecked(env.payload_size());
        }
        // SAFETY: `into_raw` gives up a block we own; the queue takes it.
        if unsafe { self.inner.push(env.into_raw()) } {
            Push::Wake
        } else {
            Push::Queued
        }
    }

    /// Queues `msg` unless the mailbox is bounded and full, or closed: then the
    /// message is handed back. On a plain (unbounded, open) mailbox this is
    /// [`push`](Sender::push): one load and one branch decide, as there.
    ///
    /// ```
    /// use bream_mailbox::{mailbox_bounded, Refused};
    ///
    /// let (tx, mut rx) = mailbox_bounded(2);
    /// assert!(tx.try_push(1u8).is_ok());
    /// assert!(tx.try_push(2u8).is_ok());
    /// assert_eq!(tx.try_push(3u8), Err(Refused::Full(3)));
    /// assert_eq!(rx.try_recv::<u8>(), Some(1));
    /// assert!(tx.try_push(3u8).is_ok()); // room again
    /// ```
    ///
    /// # Errors
    /// [`Refused`], with the message.
    #[inline]
    pub fn try_push<T: Send + 'static>(&self, msg: T) -> Result<Push, Refused<T>> {
        if self.inner.flags() == 0 {
            // SAFETY: a fresh block we own, given to the queue.
            let wake = unsafe { self.inner.push(Envelope::new(msg).into_raw()) };
            return Ok(if wake { Push::Wake } else { Push::Queued });
        }
        self.try_push_slow(msg)
    }

    #[cold]
    #[inline(never)]
    fn try_push_slow<T: Send + 'static>(&self, msg: T) -> Result<Push, Refused<T>> {
        let flags = self.inner.flags();
        if flags & CLOSED != 0 {
            return Err(Refused::Closed(msg));
        }
        if let Some(l) = self.inner.limits() {
            if !bounded::try_reserve(&self.inner, l, mem::size_of::<T>()) {
                return Err(Refused::Full(msg));
            }
        }
        // SAFETY: a fresh block we own; its place is counted (reserved above,
        // or counted by `push`'s own increment for an unbounded mailbox).
        let wake = unsafe {
            if flags & BOUNDED != 0 {
                self.inner.link(Envelope::new(msg).into_raw())
            } else {
                self.inner.push(Envelope::new(msg).into_raw())
            }
        };
        Ok(if wake { Push::Wake } else { Push::Queued })
    }

    /// [`try_push`](Sender::try_push) for a message already in an envelope.
    /// An empty envelope is not a message: it is dropped and `Queued` returned.
    ///
    /// # Errors
    /// [`Refused`], with the envelope.
    #[inline]
    pub fn try_push_envelope(&self, env: Envelope) -> Result<Push, Refused<Envelope>> {
        if self.inner.flags() == 0 {
            return Ok(self.push_envelope(env));
        }
        self.try_push_envelope_slow(env)
    }

    #[cold]
    #[inline(never)]
    fn try_push_envelope_slow(&self, env: Envelope) -> Result<Push, Refused<Envelope>> {
        if env.is_empty() {
            return Ok(Push::Queued);
        }
        let flags = self.inner.flags();
        if flags & CLOSED != 0 {
            return Err(Refused::Closed(env));
        }
        if let Some(l) = self.inner.limits() {
            if !bounded::try_reserve(&self.inner, l, env.payload_size()) {
                return Err(Refused::Full(env));
            }
        }
        // SAFETY: as in `try_push_slow`.
        let wake = unsafe {
            if flags & BOUNDED != 0 {
                self.inner.link(env.into_raw())
            } else {
                self.inner.push(env.into_raw())
            }
        };
        Ok(if wake { Push::Wake } else { Push::Queued })
    }

    /// A sender about to wait for room in a full bounded mailbox announces
    /// itself (mailbox/src/bounded.rs, "Waiting for room", step 2): the
    /// receiver's next receive then runs its room callback
    /// ([`Receiver::on_room`](crate::Receiver::on_room)). Returns true if
    /// there is room already: try again instead of waiting. Register where
    /// the callback will find you *before* calling this.
    ///
    /// `size` is the payload size of the message it waits to send
    /// ([`Envelope::payload_size`]): a mailbox with a byte budget has room
    /// only if it fits. Always true for an unbounded mailbox.
    pub fn announce_waiting(&self, size: usize) -> bool {
        match self.inner.limits() {
            Some(l) => bounded::announce_waiting(&self.inner, l, size),
            None => true,
        }
    }

    /// True if a message of `size` payload bytes would fit now (always for
    /// an unbounded mailbox). A snapshot: another sender may take the room
    /// before the caller uses it.
    pub fn has_room(&self, size: usize) -> bool {
        match self.inner.limits() {
            Some(l) => bounded::has_room(&self.inner, l, size),
            None => true,
        }
    }

    /// The bound of a bounded mailbox, in messages (`None`: unbounded).
    pub fn limit(&self) -> Option<usize> {
        self.inner.limits().map(|l| l.messages)
    }

    /// The byte budget of a bounded mailbox, if it has one
    /// ([`mailbox_limited`](crate::mailbox_limited)).
    pub fn byte_limit(&self) -> Option<usize> {
        self.inner.limits().and_then(|l| l.bytes)
    }

    /// Payload bytes in a bounded mailbox (the sum of
    /// [`Envelope::payload_size`] of its messages), from any thread; exact
    /// when no push or receive is in flight. `None` for an unbounded
    /// mailbox, which does not count them (its pushes stay as they were).
    ///
    /// ```
    /// let (tx, mut rx) = bream_mailbox::mailbox_limited(10, Some(64));
    /// assert!(tx.try_push([0u8; 40]).is_ok());
    /// assert!(tx.try_push([0u8; 40]).unwrap_err().is_full()); // 80 > 64 bytes
    /// assert_eq!(tx.bytes(), Some(40));
    /// assert!(rx.try_recv::<[u8; 40]>().is_some());
    /// assert_eq!(tx.bytes(), Some(0));
    /// assert_eq!(bream_mailbox::mailbox().0.bytes(), None);
    /// ```
    pub fn bytes(&self) -> Option<usize> {
        self.inner.limits().map(crate::bounded::Limits::held)
    }

    /// Messages in the mailbox (saved and inbound), from any thread. Exact when
    /// no push or receive is in flight; never more than were pushed.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True if [`len`](Sender::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once the receiver has been dropped (pushes then drop their message).
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
