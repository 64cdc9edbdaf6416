//! The inbound queue: Dmitry Vyukov's intrusive MPSC queue ("Intrusive MPSC
//! node-based queue", 1024cores.net), with a stub node.
//!
//! Producers (any thread holding a `Sender`) push with one `swap` on `tail` and
//! one store of the old tail's `next`: wait-free, no loop, no CAS. The single
//! consumer (the `Receiver`) pops by following `next` links from `head`.
//!
//! ```text
//!   head (receiver-private)                      tail (shared, swapped by pushes)
//!    │                                            │
//!    ▼                                            ▼
//!  [stub] ──next──▶ [A] ──next──▶ [B] ──next──▶ [C] ──next──▶ null
//! ```
//!
//! A push does `prev = tail.swap(node)` and then `prev.next = node`. Between the
//! two steps the queue is *inconsistent*: `node` is the tail but not yet reachable
//! from `head`. A pop that meets this returns nothing (the message is a few
//! instructions away from being visible); that is the price of a wait-free push.
//! The stub node lets the queue never be empty of nodes, so push never has to
//! handle a null tail; the consumer re-inserts it when it pops the last message.
//!
//! The low bit of `tail` is the receiver's waiting announcement; see
//! [`crate::waiter`]. It can only be set on the stub, only while the queue is
//! empty, and the next push's `swap` clears it (and so learns it must wake the
//! receiver).

use core::ptr::{self, NonNull};

use crate::bounded::Limits;
use crate::envelope::{free, Header};
use crate::sync::{AtomicPtr, AtomicUsize, Ordering};
use crate::waiter;

/// What producers write.
pub(crate) struct ProducerSide {
    /// The last node pushed (possibly tagged with the waiting bit). Swapped by
    /// every push; also swapped by the receiver when it re-inserts the stub, and
    /// CASed by the receiver's waiting handshake.
    pub(crate) tail: AtomicPtr<Header>,
    /// Messages ever pushed. `fetch_add(Relaxed)` by each push, before its swap
    /// (a bounded push reserves its place with a CAS instead, see
    /// `bounded.rs`); read by `len`. See [`Inner::len`] for why that is enough.
    pushed: AtomicUsize,
    /// [`CLOSED`] | [`BOUNDED`] | [`SENDER_WAITING`] in the low bits, and
    /// the address of the bound's [`Limits`] (a bounded mailbox) in the
    /// rest: a tagged pointer, as `tail` is. Loaded (Relaxed) by every push:
    /// zero is the plain mailbox's fast path, the same one load and branch
    /// the `closed` flag it replaced cost. `CLOSED` is set (Relaxed) when the
    /// receiver is dropped: pushes then drop their message instead of
    /// queueing it; a hint, a push racing with the drop may still queue, and
    /// `Inner::drop` frees what it queued. `BOUNDED` and the address are set
    /// at construction and never change (the `Limits` box is freed by
    /// `Inner::drop`). `SENDER_WAITING` is set by a blocked sender and
    /// cleared by the receiver (bounded.rs has the handshake).
    ///
    /// Why one word and not a flags byte and a pointer: the shared state is
    /// one cache line with no room for another word (see [`Inner`]).
    pub(crate) flags: AtomicUsize,
}

/// `ProducerSide::flags`: the receiver is gone.
pub(crate) const CLOSED: usize = 1;
/// `ProducerSide::flags`: the mailbox has a bound (its [`Limits`] are at
/// `flags & !FLAG_BITS`).
pub(crate) const BOUNDED: usize = 2;
/// `ProducerSide::flags`: a sender waits for room (bounded.rs).
pub(crate) const SENDER_WAITING: usize = 4;
/// The bits of `ProducerSide::flags` that are flags (`Limits` is aligned to
/// 8, so its address leaves them zero).
const FLAG_BITS: usize = 7;

/// What the receiver writes.
pub(crate) struct ConsumerSide {
    /// Messages ever removed, stored (Release) by the receiver after each
    /// removal; read (Acquire) by `Sender::len`.
    removed: AtomicUsize,
    /// Where the receiver's `head` was when it was dropped: written once by
    /// `Receiver::drop`, read by `Inner::drop` (after the `Arc`'s final acquire).
    head_at_close: AtomicPtr<Header>,
}

/// The state shared by all handles of one mailbox, kept alive by an `Arc`.
///
/// # One cache line
///
/// Everything a message's trip touches here (the push's `tail`, `pushed` and
/// `flags`, the stub's `next` when the queue was empty, the receiver's
/// `removed`) sits in one 64-byte line. Producers and the receiver then share
/// that line, which a textbook queue avoids by padding each side to its own
/// line (this struct did, at 384 bytes). bream has a mailbox per process and
/// a million processes: the padded layout cost three cache misses per message
/// to a process that is not in cache (a ring of 10,000 pays them on every hop,
/// where they were the largest single cost of a hop), and 320 bytes more per
/// process, to save contention that only a mailbox with many busy senders
/// sees.
#[repr(C, align(64))]
pub(crate) struct Inner {
    /// Written by every push (and by the receiver's stub re-insert and
    /// handshake CASes on `tail`).
    pub(crate) producers: ProducerSide,
    /// The stub node. Its `next` is an atomic like any node's; its other fields
    /// are never written. Its address is stable because `Inner` lives in an `Arc`.
    stub: Header,
    /// Written only by the receiver; read by `Sender::len` and `Inner::drop`.
    consumer: ConsumerSide,
}

// `Inner` is `Send + Sync` by the auto traits: every field is an atomic or
// immutable after construction. The messages reachable through its pointers are
// `Send` (only `Envelope`s, which require `T: Send`, are ever pushed), and their
// payloads are touched only by the single `Receiver` (or by `Inner::drop`, which
// has exclusive access), never shared.

impl Inner {
    /// A new, empty queue: `tail` points at the stub. The caller must call
    /// [`Inner::init`] once the value is at its final address (inside the `Arc`).
    pub(crate) fn new(limits: Option<Box<Limits>>) -> Self {
        // The address is exposed (`as usize`) and read back in `limits`.
        let flags = limits.map_or(0, |l| Box::into_raw(l) as usize | BOUNDED);
        Inner {
            producers: ProducerSide {
                tail: AtomicPtr::new(ptr::null_mut()),
                pushed: AtomicUsize::new(0),
                flags: AtomicUsize::new(flags),
            },
            stub: Header::stub(),
            consumer: ConsumerSide {
                removed: AtomicUsize::new(0),
                head_at_close: AtomicPtr::new(ptr::null_mut()),
            },
        }
    }

    /// Points `tail` at the stub. Called once, before any handle exists.
    pub(crate) fn init(&self) {
        // Relaxed: the `Arc` is handed to other threads only through the handles,
        // whose transfer to another thread synchronizes (spawn, channel, ...).
        self.producers.tail.store(self.stub(), Ordering::Relaxed);
        self.consumer
            .head_at_close
            .store(self.stub(), Ordering::Relaxed);
    }

    /// The stub's address.
    pub(crate) fn stub(&self) -> *mut Header {
        ptr::addr_of!(self.stub).cast_mut()
    }

    /// Producer side: appends `node`. Returns true if this push consumed the
    /// receiver's waiting announcement (the caller must wake the receiver).
    ///
    /// # Safety
    /// `node` is a block owned by the caller (from `Envelope::into_raw`); it is
    /// given to the queue.
    #[inline]
    pub(crate) unsafe fn push(&self, node: NonNull<Header>) -> bool {
        self.producers.pushed.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract.
        unsafe { self.link(node) }
    }

    /// Producer side: appends `node`, whose place `pushed` already counts
    /// (a push, or a bounded push's reservation). Returns `push`'s answer.
    ///
    /// # Safety
    /// As [`push`](Self::push); `pushed` has been incremented for this node.
    #[inline]
    pub(crate) unsafe fn link(&self, node: NonNull<Header>) -> bool {
        let node = node.as_ptr();
        // SAFETY: the caller owns `node`; no one else sees it yet.
        unsafe { (*node).next.store(ptr::null_mut(), Ordering::Relaxed) };
        // AcqRel. Release: publishes `node` (its header, payload and null `next`)
        // to the next push, which swaps it out and writes `node.next`, and to the
        // receiver's tail load in `pop`. Acquire: synchronizes with the swap that
        // published `prev` (or the receiver's stub re-insert), so our store to
        // `prev.next` below is ordered after `prev`'s initialization.
        let prev = self.producers.tail.swap(node, Ordering::AcqRel);
        let (prev, wake) = waiter::claim(prev);
        // SAFETY: `prev` was the tail, so it is a live node (or the stub) whose
        // `next` only we may write now: each node is swapped out of `tail`
        // exactly once, and the receiver frees a node only after seeing its
        // `next` set (by this store) or after re-inserting the stub behind it.
        // Release: pairs with the Acquire loads of `next` in `pop`, making
        // `node`'s contents visible to the receiver.
        unsafe { (*prev).next.store(node, Ordering::Release) };
        wake
    }

    /// True once the receiver is gone (a hint, see `ProducerSide::flags`).
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.flags() & CLOSED != 0
    }

    /// The flags word (Relaxed): zero for an open, unbounded mailbox.
    #[inline]
    pub(crate) fn flags(&self) -> usize {
        self.producers.flags.load(Ordering::Relaxed)
    }

    /// The bound of a bounded mailbox (`None`: unbounded).
    #[inline]
    pub(crate) fn limits(&self) -> Option<&Limits> {
        let f = self.flags();
        if f & BOUNDED == 0 {
            return None;
        }
        let p = (f & !FLAG_BITS) as *const Limits;
        // SAFETY: `BOUNDED` is set only by `new`, together with the address
        // of a leaked `Box<Limits>`, and neither changes until `Inner::drop`
        // frees the box; the flag bits RMWed since leave the address alone.
        // The box lives as long as `self`.
        Some(unsafe { &*p })
    }

    /// Messages ever removed by the receiver (Acquire, see [`Inner::len`]).
    pub(crate) fn removed(&self) -> usize {
        self.consumer.removed.load(Ordering::Acquire)
    }

    /// The place counter bounded pushes reserve with (bounded.rs).
    pub(crate) fn pushed_counter(&self) -> &AtomicUsize {
        &self.producers.pushed
    }

    /// Messages in the mailbox as seen from any thread.
    ///
    /// `pushed` is loaded first, then `removed` (both Acquire, so the second
    /// load is not moved before the first). A removal counted by the second
    /// load that the first load's pushes do not cover only lowers the result
    /// (the difference saturates at 0), so it is never more than the messages
    /// in the mailbox when the call began, even if the calling thread is
    /// preempted between the loads (loading `removed` first, as before, let a
    /// preempted caller see pushes made long after its `removed`, and report
    /// more messages than were ever in the mailbox at once). Exact when no
    /// push or removal is in flight. Informational only: bounded mailboxes
    /// check their room with their own loads (bounded.rs, `has_room`).
    pub(crate) fn len(&self) -> usize {
        let pushed = self.producers.pushed.load(Ordering::Acquire);
        // Acquire: pairs with the receiver's Release store in `publish_removed`.
        let removed = self.consumer.removed.load(Ordering::Acquire);
        pushed.saturating_sub(removed)
    }

    /// Receiver side: messages ever pushed (see [`Inner::len`]).
    pub(crate) fn pushed(&self) -> usize {
        self.producers.pushed.load(Ordering::Relaxed)
    }

    /// Receiver side: publishes the receiver's removal count.
    pub(crate) fn publish_removed(&self, removed: usize) {
        // Release: pairs with the Acquire load in `len`.
        self.consumer.removed.store(removed, Ordering::Release);
    }

    /// Receiver side, as its drop begins: pushes may stop queueing.
    pub(crate) fn mark_closed(&self) {
        self.producers.flags.fetch_or(CLOSED, Ordering::Relaxed);
    }

    /// Receiver side, as its drop ends: remember where `head` is.
    pub(crate) fn close(&self, head: *mut Header) {
        // Relaxed: read only by `Inner::drop`, which runs after the `Arc`'s
        // final decrement, an acquire of every earlier holder's writes.
        self.consumer.head_at_close.store(head, Ordering::Relaxed);
    }
}

impl Drop for Inner {
    /// Frees every message still in the inbound queue: those the receiver had not
    /// popped when it was dropped, and those pushed after (or racing with) that.
    /// Every handle is gone, so no push is half done and every link is set.
    fn drop(&mut self) {
        let f = self.flags();
        if f & BOUNDED != 0 {
            // SAFETY: the address `new` leaked (see `limits`); no handle is
            // left to read it, and it is freed once, here.
            drop(unsafe { Box::from_raw((f & !FLAG_BITS) as *mut Limits) });
        }
        let stub = self.stub();
        let mut h = self.consumer.head_at_close.load(Ordering::Relaxed);
        while !h.is_null() {
            let next = if h == stub {
                // Through `self`, not the old raw pointer: `&mut self` is live.
                self.stub.next.load(Ordering::Acquire)
            } else {
                // SAFETY: `h` is a node of the queue (from the receiver's `head`
                // onwards, following links), each live until freed here; we read
                // its link before freeing it. Exclusive access: the last handle
                // is gone.
                unsafe { (*h).next.load(Ordering::Acquire) }
            };
            if h != stub {
                // SAFETY: `h` is a message block owned by the queue, reachable
                // only through the link we just stepped over; freed once.
                unsafe { free(NonNull::new_unchecked(h)) };
            }
            h = next;
        }
    }
}

/// The receiver's end of the inbound queue. Owned by the `Receiver`; never shared.
pub(crate) struct Consumer {
    /// The next node to pop (the stub when nothing has been pushed since the
    /// last time the queue was emptied).
    pub(crate) head: *mut Header,
}

impl Consumer {
    pub(crate) fn new(inner: &Inner) -> Self {
        Consumer { head: inner.stub() }
    }

    /// True if [`pop`](Self::pop) would return `None` at its first step: only
    /// the stub is linked. A cheap test (one load) for receivers that would
    /// otherwise set up a whole scan to find nothing.
    #[inline]
    pub(crate) fn is_empty(&self, inner: &Inner) -> bool {
        let stub = inner.stub();
        // Acquire: as in `pop`.
        // SAFETY: the stub lives as long as `inner`.
        self.head == stub && unsafe { (*stub).next.load(Ordering::Acquire) }.is_null()
    }

    /// Pops the oldest message, or `None` if the queue is empty or the oldest
    /// message's push is still half done (see the module essay).
    ///
    /// # Safety
    /// `self` is the one `Consumer` of `inner` (the caller is the `Receiver`).
    pub(crate) unsafe fn pop(&mut self, inner: &Inner) -> Option<NonNull<Header>> {
        let stub = inner.stub();
        let mut head = self.head;
        // Acquire (every `next` load here): pairs with the Release store of
        // `prev.next` in `push` (or in our own stub re-insert).
        // SAFETY: (for every deref below) `head` and the nodes reached from it
        // are in the queue, which only this consumer frees.
        let mut next = unsafe { (*head).next.load(Ordering::Acquire) };
        if head == stub {
            if next.is_null() {
                return None;
            }
            // Step over the stub.
            head = next;
            self.head = head;
            // SAFETY: as above.
            next = unsafe { (*head).next.load(Ordering::Acquire) };
        }
        if !next.is_null() {
            self.head = next;
            // SAFETY: `head` is non-null (a queue node).
            return Some(unsafe { NonNull::new_unchecked(head) });
        }
        // `head` is the last linked node. If it is not the tail, a push is half
        // done behind it: come back later. Acquire: pairs with the push's swap.
        let tail = waiter::untag(inner.producers.tail.load(Ordering::Acquire));
        if head != tail {
            return None;
        }
        // `head` is the last message: put the stub behind it so it can be popped.
        // SAFETY: the stub is not in the queue (head != stub and head is last),
        // and only the consumer re-inserts it.
        unsafe { inner.push_stub() };
        // SAFETY: as above.
        next = unsafe { (*head).next.load(Ordering::Acquire) };
        if !next.is_null() {
            self.head = next;
            // SAFETY: `head` is non-null (a queue node).
            return Some(unsafe { NonNull::new_unchecked(head) });
        }
        None
    }
}

impl Inner {
    /// The consumer re-inserts the stub (Vyukov's `mpscq_push(q, &q->stub)`),
    /// without counting it as a message and without looking for the waiting bit.
    ///
    /// # Safety
    /// Called only by the consumer, only while the stub is not in the queue.
    unsafe fn push_stub(&self) {
        let stub = self.stub();
        // SAFETY: the stub is out of the queue, so no producer writes its `next`.
        unsafe { (*stub).next.store(ptr::null_mut(), Ordering::Relaxed) };
        // AcqRel, as in `push` (the partners are the same).
        let prev = self.producers.tail.swap(stub, Ordering::AcqRel);
        // The waiting bit lives only on the stub, which was out of the queue.
        debug_assert!(!waiter::is_tagged(prev));
        let prev = waiter::untag(prev);
        // SAFETY: as in `push`. Release: pairs with the Acquire loads in `pop`.
        unsafe { (*prev).next.store(stub, Ordering::Release) };
    }
}

#[cfg(all(test, not(bream_loom)))]
mod tests {
    /// The layout claim of `Inner`'s doc: one cache line, aligned to one.
    #[test]
    fn the_shared_state_is_one_cache_line() {
        assert_eq!(core::mem::size_of::<super::Inner>(), 64);
        assert_eq!(core::mem::align_of::<super::Inner>(), 64);
    }
}
