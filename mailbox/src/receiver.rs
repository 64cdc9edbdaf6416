//! The receiving end: selective receive over the save queue and the inbound
//! queue, receive markers, and the receiver's half of the waiting handshake.

use core::fmt;
use core::ptr::{self, NonNull};

use crate::envelope::{Envelope, Header};
use crate::inbound::{Consumer, Inner};
use crate::save::SaveQueue;
use crate::sender::Sender;
use crate::sync::Arc;
use crate::waiter;

/// Where a [`Receiver::select`] scan starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    /// The oldest message in the mailbox.
    Start,
    /// The first message that arrived after [`Receiver::set_marker`] returned this
    /// marker. A marker that is no longer current (another `set_marker` came
    /// since, or it belongs to another mailbox) falls back to `Start`: correct,
    /// only slower.
    Marker(Marker),
}

/// A position in one mailbox's arrival order (OTP 24's receive marker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    /// The mailbox it belongs to (the address of its shared state).
    mailbox: usize,
    /// Which `set_marker` call made it.
    id: u64,
}

/// The receiving end of a mailbox: owned by one process, which alone scans it.
///
/// # Send
///
/// `Receiver` is `Send` (a process may migrate between worker threads) but not
/// `Sync`: all its methods take `&mut self`, and the queues it reads are its own.
pub struct Receiver {
    /// Shared with the senders.
    inner: Arc<Inner>,
    /// The inbound queue's consumer end.
    consumer: Consumer,
    /// Messages popped from inbound but not taken yet, and the marker position.
    pub(crate) save: SaveQueue,
    /// The id of the current marker (0: none set yet).
    marker_id: u64,
    /// True between a successful `prepare_wait` and `cancel_wait`/`finish_wait`.
    waiting: bool,
    /// Messages removed so far (mirrored into `Inner` for `Sender::len`).
    removed: usize,
    /// What only a bounded or priority-enabled mailbox has (`extra.rs`);
    /// `None` for a plain one, whose receive path tests this once per scan.
    pub(crate) extra: Option<Box<crate::extra::Extra>>,
}

// SAFETY: the raw pointers in `consumer` and `save` point to message blocks (and
// the stub inside `inner`) that this receiver owns or alone may read: no other
// handle dereferences them (producers only write the `next` of the current
// tail, through atomics). Moving the receiver moves that ownership with it. The
// payloads are `Send`. `Arc<Inner>` is `Send`. Not `Sync`: raw pointers keep the
// auto trait off, and every method needs `&mut self` anyway.
unsafe impl Send for Receiver {}

impl Receiver {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        let consumer = Consumer::new(&inner);
        Receiver {
            inner,
            consumer,
            save: SaveQueue::new(),
            marker_id: 0,
            waiting: false,
            removed: 0,
            extra: None,
        }
        .with_bound()
    }

    /// A new sending handle to this mailbox.
    pub fn sender(&self) -> Sender {
        Sender::new(self.inner.clone())
    }

    /// Messages in the mailbox (saved and inbound); exact when no push is in
    /// flight.
    pub fn len(&self) -> usize {
        self.inner.pushed().saturating_sub(self.removed)
    }

    /// True if [`len`](Receiver::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The oldest message, of any type.
    ///
    /// ```
    /// let (tx, mut rx) = bream_mailbox::mailbox();
    /// let _ = tx.push(1u8);
    /// let _ = tx.push("two");
    /// assert_eq!(rx.try_recv_any().unwrap().downcast::<u8>().ok(), Some(1));
    /// assert_eq!(rx.try_recv_any().unwrap().downcast::<&str>().ok(), Some("two"));
    /// assert!(rx.try_recv_any().is_none());
    /// ```
    pub fn try_recv_any(&mut self) -> Option<Envelope> {
        if self.extra.is_some() {
            return self.select_extra(From::Start, |_| Some(())).map(|(_, e)| e);
        }
        let n = match self.save.pop_front() {
            Some(n) => n,
            None => self.pop_inbound()?,
        };
        self.count_removed();
        // SAFETY: `n` was just removed from a queue; the receiver owns it.
        Some(unsafe { Envelope::from_raw(n) })
    }

    /// The oldest message of type `T`; messages of other types stay, in order.
    ///
    /// ```
    /// let (tx, mut rx) = bream_mailbox::mailbox();
    /// let _ = tx.push("skip me");
    /// let _ = tx.push(7i32);
    /// assert_eq!(rx.try_recv::<i32>(), Some(7));
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn try_recv<T: 'static>(&mut self) -> Option<T> {
        if self.save.tail().is_null() && self.extra.is_none() {
            // Fast path: nothing saved, so the oldest inbound message is the
            // oldest message. Take it directly if it is a `T`.
            let n = self.pop_inbound()?;
            // SAFETY: `n` was just popped; the receiver owns it.
            let env = unsafe { Envelope::from_raw(n) };
            match env.downcast::<T>() {
                Ok(v) => {
                    self.count_removed();
                    return Some(v);
                }
                // SAFETY: an owned block in no queue.
                Err(env) => unsafe { self.save.push_back(env.into_raw()) },
            }
        }
        let (_, env) = self.select(From::Start, |e| e.is::<T>().then_some(()))?;
        env.downcast::<T>().ok()
    }

    /// Selective receive: visits messages in arrival order, starting at `from`,
    /// and removes the first one for which `f` returns `Some(k)`.
    ///
    /// `f` sees each message as `&mut Envelope`. It may inspect it, or
    /// [`take`](Envelope::take) the payload to test it by value; if it then
    /// returns `None` it must [`put`](Envelope::put) the payload back. A message
    /// whose envelope `f` leaves empty is consumed: it is removed and its block
    /// freed, and the scan goes on. If `f` replaces the envelope (`*env = ..`),
    /// the new envelope takes the old one's place in the mailbox.
    ///
    /// Returns the matched message with `f`'s value, or `None` when every message
    /// has been visited; unmatched messages stay, in order.
    ///
    /// ```
    /// use bream_mailbox::From;
    ///
    /// let (tx, mut rx) = bream_mailbox::mailbox();
    /// for i in 1..=5u32 {
    ///     let _ = tx.push(i);
    /// }
    /// // Take the first even number, testing the payload by value.
    /// let (v, _) = rx
    ///     .select(From::Start, |e| {
    ///         let v = e.take::<u32>()?;
    ///         if v % 2 == 0 { Some(v) } else { e.put(v); None }
    ///     })
    ///     .unwrap();
    /// assert_eq!(v, 2);
    /// assert_eq!(rx.try_recv::<u32>(), Some(1)); // the others kept their order
    /// assert_eq!(rx.try_recv::<u32>(), Some(3));
    /// ```
    ///
    /// # Panics
    ///
    /// Only if `f` panics. The mailbox stays consistent: the message `f` was
    /// looking at stays in place, unless `f` had taken its payload, in which case
    /// the (now empty) message is removed. Nothing is dropped twice.
    #[inline]
    pub fn select<K>(
        &mut self,
        from: From,
        f: impl FnMut(&mut Envelope) -> Option<K>,
    ) -> Option<(K, Envelope)> {
        if self.extra.is_some() {
            return self.select_extra(from, f);
        }
        let start = self.start(from);
        // Nothing to visit (a receiver about to wait, its every message seen):
        // answer without setting up a scan.
        // SAFETY: `start` is null or the mark, a node of the save queue.
        if unsafe { self.save.after(start) }.is_null() && self.consumer.is_empty(&self.inner) {
            return None;
        }
        self.scan(start, f, true)
    }

    /// `select`'s scan, from the node after `prev` (null: from the first).
    /// With `pull` false it stops at the end of the save queue.
    pub(crate) fn scan<K>(
        &mut self,
        mut prev: *mut Header,
        mut f: impl FnMut(&mut Envelope) -> Option<K>,
        pull: bool,
    ) -> Option<(K, Envelope)> {
        loop {
            // SAFETY: `prev` is null or a node of the save queue: it is the mark,
            // or a node the previous iteration left in place.
            let cur = unsafe { self.save.after(prev) };
            let step = if cur.is_null() {
                if !pull {
                    return None;
                }
                // Past the save queue: the next message is a fresh one from the
                // inbound queue. It joins the save queue only if it stays.
                let n = self.pop_inbound()?;
                // SAFETY: `n` was just popped; the receiver owns it.
                let env = unsafe { Envelope::from_raw(n) };
                Fresh {
                    rx: self,
                    env: Some(env),
                }
                .run(&mut f)
            } else {
                // SAFETY: `cur` is a node of the save queue, `prev` its predecessor.
                unsafe { Visit::new(self, prev, cur) }.run(&mut f)
            };
            match step {
                Step::Taken(k, env) => return Some((k, env)),
                Step::Kept(at) => prev = at,
                Step::Consumed => {}
            }
        }
    }

    /// Sets the receive marker: a later `select(From::Marker(m), ..)` visits only
    /// messages that arrived after this call, however many are already queued.
    /// Replaces the previous marker (which then falls back to `From::Start`).
    ///
    /// Cost: moves the inbound queue's messages to the save queue (each message
    /// is moved once in its life, so this is amortized O(1) per message).
    ///
    /// ```
    /// use bream_mailbox::From;
    ///
    /// let (tx, mut rx) = bream_mailbox::mailbox();
    /// for i in 0..1000u32 {
    ///     let _ = tx.push(i); // a deep backlog
    /// }
    /// let m = rx.set_marker();
    /// let _ = tx.push("reply");
    /// let mut visited = 0;
    /// let hit = rx.select(From::Marker(m), |e| {
    ///     visited += 1;
    ///     e.is::<&str>().then_some(())
    /// });
    /// assert!(hit.is_some());
    /// assert_eq!(visited, 1); // the backlog was skipped
    /// ```
    pub fn set_marker(&mut self) -> Marker {
        if self.extra.is_some() {
            self.drain_inbound();
        }
        while let Some(n) = self.pop_inbound() {
            // SAFETY: `n` was just popped; the receiver owns it.
            unsafe { self.save.push_back(n) };
        }
        self.save.mark = self.save.tail();
        self.marker_id += 1;
        Marker {
            mailbox: self.mailbox_id(),
            id: self.marker_id,
        }
    }

    /// Announces that the receiver is about to wait (Running → Waiting), after a
    /// scan found nothing to take. Returns false, staying Running, if a message
    /// has arrived in the meantime (scan again). After `true`, the next push
    /// returns [`Push::Wake`](crate::Push::Wake), exactly once; see
    /// `mailbox/src/waiter.rs` for the protocol. Calling it again while already
    /// Waiting returns true and changes nothing.
    ///
    /// A `false` can also mean a push is half done (the message is not poppable
    /// yet): the caller should yield before scanning again rather than spin.
    ///
    /// # Ordering
    ///
    /// A successful announcement is a Release, read with Acquire by the push
    /// that reports `Wake`: everything the receiver's thread wrote before
    /// `prepare_wait` happens-before that push returns.
    ///
    /// ```
    /// use bream_mailbox::Push;
    ///
    /// let (tx, mut rx) = bream_mailbox::mailbox();
    /// assert!(rx.prepare_wait());              // Waiting
    /// assert_eq!(tx.push(1), Push::Wake);      // this push must schedule us
    /// assert_eq!(tx.push(2), Push::Queued);    // later ones only queue
    /// rx.finish_wait();                        // woken: Running
    /// assert!(!rx.prepare_wait());             // messages are there: don't wait
    /// ```
    #[inline]
    pub fn prepare_wait(&mut self) -> bool {
        if self.waiting {
            return true;
        }
        let stub = self.inner.stub();
        self.waiting =
            self.consumer.head == stub && waiter::announce(&self.inner.producers.tail, stub);
        self.waiting
    }

    /// Withdraws a Waiting announcement (after a timeout): Waiting → Running.
    /// Returns true if a push had already claimed it, so a wake-up is on its way
    /// and must be tolerated. Returns false if the receiver was not waiting.
    #[inline]
    pub fn cancel_wait(&mut self) -> bool {
        if !std::mem::take(&mut self.waiting) {
            return false;
        }
        !waiter::withdraw(&self.inner.producers.tail, self.inner.stub())
    }

    /// After being woken: Notified → Running. Also correct after a spurious
    /// wake-up (then it withdraws the announcement) and a no-op when Running.
    #[inline]
    pub fn finish_wait(&mut self) {
        self.cancel_wait();
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    fn mailbox_id(&self) -> usize {
        ptr::from_ref::<Inner>(&self.inner).addr()
    }

    /// The node a scan from `from` starts after (null: the first node).
    pub(crate) fn start(&self, from: From) -> *mut Header {
        match from {
            From::Marker(m) if m.mailbox == self.mailbox_id() && m.id == self.marker_id => {
                self.save.mark
            }
            _ => ptr::null_mut(),
        }
    }

    pub(crate) fn pop_inbound(&mut self) -> Option<NonNull<Header>> {
        // SAFETY: the receiver is the inbound queue's one consumer.
        unsafe { self.consumer.pop(&self.inner) }
    }

    /// Messages removed so far by this receiver.
    pub(crate) fn removed_count(&self) -> usize {
        self.removed
    }

    fn count_removed(&mut self) {
        self.removed += 1;
        self.inner.publish_removed(self.removed);
    }
}

/// What one visit of `select` did.
enum Step<K> {
    /// The matcher took the message.
    Taken(K, Envelope),
    /// The message stays; the scan continues after this node.
    Kept(*mut Header),
    /// The matcher emptied the envelope: the message is gone.
    Consumed,
}

/// One message shown to a matcher, detached from the queue's ownership for the
/// duration of the call. If the matcher panics, `Drop` puts things right.
struct Visit<'a> {
    rx: &'a mut Receiver,
    /// The node before `cur` (null: none).
    prev: *mut Header,
    /// The node being shown; the queue's links still point at it.
    cur: *mut Header,
    /// The node after `cur`, read before the matcher runs.
    next: *mut Header,
    /// The envelope the matcher sees; `None` once settled.
    env: Option<Envelope>,
}

impl<'a> Visit<'a> {
    /// # Safety
    /// `cur` is a node of `rx`'s save queue and `prev` its predecessor (null if
    /// `cur` is first).
    unsafe fn new(rx: &'a mut Receiver, prev: *mut Header, cur: *mut Header) -> Self {
        // SAFETY: `cur` is a node of the save queue (contract).
        let next = unsafe { rx.save.after(cur) };
        // SAFETY: the envelope stands in for the queue's ownership of `cur` until
        // `settle`, which gives the block back to the queue, frees it, or returns
        // it; the queue's links are not followed through `cur` meanwhile.
        let env = Some(unsafe { Envelope::from_raw(NonNull::new_unchecked(cur)) });
        Visit {
            rx,
            prev,
            cur,
            next,
            env,
        }
    }

    fn run<K>(mut self, f: &mut impl FnMut(&mut Envelope) -> Option<K>) -> Step<K> {
        let env = self.env.as_mut().expect("a fresh visit holds its envelope");
        let hit = f(env);
        let env = self.env.take().expect("settled once");
        self.settle(hit, env)
    }

    /// Gives the message its place back, or removes it.
    fn settle<K>(&mut self, hit: Option<K>, env: Envelope) -> Step<K> {
        let (prev, cur, next) = (self.prev, self.cur, self.next);
        let rx = &mut *self.rx;
        if hit.is_none() && !env.is_empty() {
            let new = env.into_raw().as_ptr();
            // SAFETY: `prev`/`next` surround `cur` in the save queue; `new` (which
            // is `cur`, or a block that replaced it) is owned by us.
            unsafe { rx.save.replace(prev, cur, new, next) };
            return Step::Kept(new);
        }
        // SAFETY: as above; `cur` is not dereferenced (it may have been freed).
        unsafe { rx.save.unlink(prev, cur, next) };
        rx.count_removed();
        match hit {
            Some(k) => Step::Taken(k, env),
            None => Step::Consumed, // `env` (empty) is freed here
        }
    }
}

/// A message just popped from the inbound queue, shown to a matcher before it
/// joins the save queue: it is appended there only if the matcher leaves it
/// (the common case, a match, touches the save queue not at all). If the
/// matcher panics, `Drop` appends it (or, emptied, removes it), as `Visit`.
struct Fresh<'a> {
    rx: &'a mut Receiver,
    /// The envelope the matcher sees; `None` once settled.
    env: Option<Envelope>,
}

impl Fresh<'_> {
    #[inline]
    fn run<K>(mut self, f: &mut impl FnMut(&mut Envelope) -> Option<K>) -> Step<K> {
        let env = self.env.as_mut().expect("a fresh visit holds its envelope");
        let hit = f(env);
        let env = self.env.take().expect("settled once");
        self.settle(hit, env)
    }

    #[inline]
    fn settle<K>(&mut self, hit: Option<K>, env: Envelope) -> Step<K> {
        if hit.is_none() && !env.is_empty() {
            let n = env.into_raw();
            // SAFETY: an owned block in no queue.
            unsafe { self.rx.save.push_back(n) };
            return Step::Kept(n.as_ptr());
        }
        self.rx.count_removed();
        match hit {
            Some(k) => Step::Taken(k, env),
            None => Step::Consumed, // `env` (empty) is freed here
        }
    }
}

impl Drop for Fresh<'_> {
    /// Runs with `env` still present only if the matcher panicked.
    fn drop(&mut self) {
        if let Some(env) = self.env.take() {
            let _ = self.settle::<()>(None, env);
        }
    }
}

impl Drop for Visit<'_> {
    /// Runs with `env` still present only if the matcher panicked.
    fn drop(&mut self) {
        if let Some(env) = self.env.take() {
            let _ = self.settle::<()>(None, env);
        }
    }
}

impl Drop for Receiver {
    /// Drops every saved message and every message that has reached the inbound
    /// queue; `Inner::drop` frees those still arriving.
    fn drop(&mut self) {
        /// Records where `head` is even if a message's `Drop` panics below, so
        /// `Inner::drop` never walks from a stale position.
        struct Close<'a>(&'a mut Receiver);
        impl Drop for Close<'_> {
            fn drop(&mut self) {
                self.0.inner.close(self.0.consumer.head);
            }
        }
        let close = Close(self);
        close.0.inner.mark_closed();
        close.0.cancel_wait();
        while close.0.try_recv_any().is_some() {}
    }
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("waiting", &self.waiting)
            .finish_non_exhaustive()
    }
}
