//! The sending end: any number of `Sender`s, on any threads.

use core::fmt;

use crate::envelope::Envelope;
use crate::inbound::Inner;
use crate::sync::Arc;

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
        if env.is_empty() || self.inner.is_closed() {
            return Push::Queued;
        }
        // SAFETY: `into_raw` gives up a block we own; the queue takes it.
        if unsafe { self.inner.push(env.into_raw()) } {
            Push::Wake
        } else {
            Push::Queued
        }
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
