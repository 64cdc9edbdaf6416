//! Bounded mailboxes: the reservation that keeps a queue at or under its
//! bound, and the handshake that lets a sender wait for room without missing
//! the receiver's "there is room now".
//!
//! # The reservation
//!
//! A bounded mailbox (`mailbox_bounded(limit)`) counts its messages as every
//! mailbox does: `pushed` (by senders, before their swap) minus `removed` (by
//! the receiver, after each removal). A plain push does `pushed.fetch_add(1)`;
//! a bounded push ([`try_reserve`]) instead loads `removed`, then CASes
//! `pushed` from `p` to `p + 1` only if `p - removed < limit`, and links its
//! node only after the CAS succeeded.
//!
//! Why the queue never holds more than `limit` messages: at any moment the
//! messages in it are at most `pushed - removed` (a push is counted before its
//! node is linked, a removal after the node is gone). Each successful CAS
//! checked `p - r < limit` with an `r` that is at most the true `removed` (the
//! receiver only increases it), so after the CAS `pushed <= removed + limit`.
//! No lock, no second counter, and the receiver's side is the one it already
//! had: a plain Release store of `removed`.
//!
//! Signals (the runtime's exit and down signals) use the plain push and are
//! never refused: they can sit on top of a full mailbox.
//!
//! # Waiting for room (a sender that blocks)
//!
//! A sender that found the mailbox full and wants to wait:
//!
//! 1. registers itself where the receiver's room callback will find it (the
//!    runtime's list of blocked senders, under its own lock);
//! 2. [`announce_waiting`]: `flags.fetch_or(SENDER_WAITING)` (AcqRel), then
//!    loads `removed` (Acquire). If there is room now, it tries again instead
//!    of waiting;
//! 3. otherwise it parks until woken (or its timeout), and starts over.
//!
//! The receiver, after the removals of each receive on a bounded mailbox
//! (`Receiver::after_removals`), stores `removed` as always and then runs
//! [`take_waiting`]: `flags.fetch_and(!SENDER_WAITING)` (AcqRel). If the bit
//! was set, it calls the room callback, which wakes registered senders (as
//! few as needed: see below).
//!
//! No lost wake-up: both sides do a read-modify-write of `flags`, so the two
//! RMWs are ordered in `flags`' modification order. If the receiver's comes
//! second, it reads the bit and calls the callback, which finds the sender
//! registered (step 1 happens before the sender's RMW, which the receiver's
//! Acquire RMW reads). If the sender's comes second, it reads the receiver's
//! RMW (a Release), so its `removed` load in step 2 sees the removal the
//! receiver stored before it, and it finds the room itself. A plain load of
//! `flags` on the receiver's side would not do: the store of `removed` could
//! still sit in the receiver's store buffer while the sender loads it (the
//! store-buffering litmus test); the loom model `bounded_block_no_lost_wakeup`
//! checks it.
//!
//! Only bounded mailboxes pay for the receiver's RMW; the plain mailbox's
//! receive path is unchanged but for one test of a receiver-private field.
//!
//! # Waking as few senders as needed
//!
//! The room callback is told how many messages the receive removed (`n`),
//! and wakes at most `n` waiting senders, oldest first
//! ([`RoomWaiters`](crate::RoomWaiters)), not all of them: each removal made
//! room for one message, so waking more only makes them race for it. If
//! senders are still registered after that, the callback says so and the
//! receiver sets `SENDER_WAITING` again ([`rearm`]), so its next removal
//! calls the callback again. A woken sender tries again; if another sender
//! took the room first, it registers again (at the front: it keeps its turn)
//! and goes through steps 2–3, which the argument above covers.
//!
//! A woken sender may not use the room it was woken for: it gives up (its
//! timeout, its exit), or it had found room by itself (step 2 said "room
//! now") and was taken off the queue between its push and its leaving. It
//! then passes the wake on to the next in line ([`RoomWaiters::leave`] says
//! whether it was taken off): always if it gives up, and if its message is
//! in, when there is still room (if there is none, the mailbox holds a
//! message whose removal calls the callback again, the bit being re-armed).
//! Without the pass-on, the room could go unclaimed while the others sleep:
//! the loom model `bounded_block_wakes_one_per_slot_fifo` found exactly that
//! (a sender that found room at its announcement, then was woken for the
//! next removal's room), and fails if the pass-on or the re-arm is left out.
//!
//! # A byte budget
//!
//! A mailbox may also have a budget in bytes (`mailbox_limited`): the sum of
//! the payload sizes (`size_of` of each message's type, as its sender sized
//! it, [`Envelope::payload_size`](crate::Envelope::payload_size)) of the
//! messages in it. Senders add a message's size to `bytes_in` when they
//! reserve its place; the receiver adds it to `bytes_out` (a Release store,
//! before the handshake's RMW, as for `removed`) when it removes it. With a
//! budget, a reservation checks the count and the bytes and takes both under
//! a lock ([`Limits`]'s `reserve`): two separate CASes would need an undo of
//! the first when the second fails, and an undone reservation seen by a
//! sender that then waits is room nobody wakes it for. The lock is taken only
//! by senders to a mailbox with a byte budget; the receiver never takes it.
//! Any bounded mailbox (with or without a budget) counts its bytes, so
//! `Sender::bytes` can say what it holds; an unbounded one counts nothing
//! (`None`).

use core::mem;

use crate::inbound::{Inner, SENDER_WAITING};
use crate::sync::{lock, AtomicUsize, Mutex, Ordering};

/// The bound of a bounded mailbox, behind `Inner`'s flags word (inbound.rs).
/// Allocated at construction, freed by `Inner::drop`.
#[repr(align(8))]
pub(crate) struct Limits {
    /// The most messages it holds (at least 1). Immutable.
    pub(crate) messages: usize,
    /// The most payload bytes it holds, if it has a budget. Immutable.
    pub(crate) bytes: Option<usize>,
    /// Payload bytes ever added: `fetch_add` by every push (a reservation,
    /// or a signal's `push`, which ignores the bound).
    bytes_in: AtomicUsize,
    /// Payload bytes ever removed: stored (Release) by the receiver after its
    /// removals, before the handshake's RMW.
    bytes_out: AtomicUsize,
    /// Held by a sender for its check-and-reserve when `bytes` is set.
    reserve: Mutex<()>,
}

impl Limits {
    pub(crate) fn new(messages: usize, bytes: Option<usize>) -> Box<Limits> {
        Box::new(Limits {
            messages: messages.max(1),
            bytes,
            bytes_in: AtomicUsize::new(0),
            bytes_out: AtomicUsize::new(0),
            reserve: Mutex::new(()),
        })
    }

    /// Payload bytes in the mailbox, from any thread (as `Inner::len`:
    /// `bytes_out` first, Acquire, so the difference never goes negative).
    pub(crate) fn held(&self) -> usize {
        let out = self.bytes_out.load(Ordering::Acquire);
        let inn = self.bytes_in.load(Ordering::Relaxed);
        inn.saturating_sub(out)
    }

    /// A push that ignores the bound (a signal) still counts its bytes.
    pub(crate) fn add_unchecked(&self, size: usize) {
        // Relaxed: published with the node by the link's Release swap.
        self.bytes_in.fetch_add(size, Ordering::Relaxed);
    }

    /// The receiver's half: `n` more bytes removed.
    pub(crate) fn removed(&self, n: usize) {
        // Only the receiver writes it: a load and a store.
        let out = self.bytes_out.load(Ordering::Relaxed);
        // Release: pairs with the Acquire loads in `held`, `fits` and
        // `announce_waiting`.
        self.bytes_out.store(out.wrapping_add(n), Ordering::Release);
    }

    /// True if `size` more bytes fit the budget now (always without one).
    fn fits(&self, size: usize) -> bool {
        self.bytes
            .is_none_or(|b| self.held().saturating_add(size) <= b)
    }
}

/// Reserves a place (and `size` bytes) in a bounded mailbox: true if the
/// caller may link one message (counted in `pushed` and `bytes_in`), false if
/// it is full.
#[inline]
pub(crate) fn try_reserve(inner: &Inner, limits: &Limits, size: usize) -> bool {
    if limits.bytes.is_none() {
        if !try_reserve_place(inner, limits.messages) {
            return false;
        }
        limits.add_unchecked(size);
        return true;
    }
    // The module essay, "A byte budget": check both, then take both, with no
    // other reservation in between.
    let _g = lock(&limits.reserve);
    if !limits.fits(size) || !try_reserve_place(inner, limits.messages) {
        return false;
    }
    limits.add_unchecked(size);
    true
}

/// The count half of [`try_reserve`]: the CAS on `pushed`.
fn try_reserve_place(inner: &Inner, limit: usize) -> bool {
    let pushed = inner.pushed_counter();
    // Relaxed: the CAS below is what counts; a stale value only fails it.
    let mut p = pushed.load(Ordering::Relaxed);
    loop {
        // Acquire, as in `Inner::len`: a removal we count is one whose push's
        // increment we see, so `p - r` never underflows for an up-to-date `p`.
        let r = inner.removed();
        if p.wrapping_sub(r) >= limit {
            // `p` may be stale (older than `r`'s pushes): reload before saying
            // full.
            let now = pushed.load(Ordering::Relaxed);
            if now == p {
                return false;
            }
            p = now;
            continue;
        }
        // Relaxed: the reservation only needs atomicity; the message itself
        // is published by the link's Release swap, as for any push.
        match pushed.compare_exchange_weak(p, p + 1, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(now) => p = now,
        }
    }
}

/// Step 2 of "Waiting for room": announces a waiting sender of a message of
/// `size` bytes. True if there is room already (the caller should try again
/// rather than wait).
pub(crate) fn announce_waiting(inner: &Inner, limits: &Limits, size: usize) -> bool {
    // AcqRel: see "No lost wake-up" above.
    inner
        .producers
        .flags
        .fetch_or(SENDER_WAITING, Ordering::AcqRel);
    has_room(inner, limits, size)
}

/// True if a message of `size` bytes would fit now (a snapshot: `removed`
/// and `bytes_out` Acquire, as everywhere).
pub(crate) fn has_room(inner: &Inner, limits: &Limits, size: usize) -> bool {
    let r = inner.removed();
    let p = inner.pushed_counter().load(Ordering::Relaxed);
    p.saturating_sub(r) < limits.messages && limits.fits(size)
}

/// The receiver's half: clears the waiting bit; true if a sender had set it
/// (the caller must run the room callback).
pub(crate) fn take_waiting(inner: &Inner) -> bool {
    // AcqRel: see "No lost wake-up" above.
    inner
        .producers
        .flags
        .fetch_and(!SENDER_WAITING, Ordering::AcqRel)
        & SENDER_WAITING
        != 0
}

/// The receiver's half, after a callback that left senders waiting: sets the
/// bit again so the next removal calls the callback again ("Waking as few
/// senders as needed").
pub(crate) fn rearm(inner: &Inner) {
    // AcqRel, as `take_waiting`: it is the same kind of RMW.
    inner
        .producers
        .flags
        .fetch_or(SENDER_WAITING, Ordering::AcqRel);
}

/// Senders waiting for room in one bounded mailbox, oldest first: what the
/// room callback of a bounded mailbox wakes ("Waking as few senders as
/// needed" in mailbox/src/bounded.rs). `W` is whatever wakes a sender (the
/// runtime's task handle; a loom `Notify` in the models).
///
/// ```
/// use bream_mailbox::{RoomWaiters, Ticket};
///
/// let q = RoomWaiters::new();
/// let (mut a, mut b) = (Ticket::default(), Ticket::default());
/// q.register(&mut a, "a");
/// q.register(&mut b, "b");
/// let mut woken = Vec::new();
/// assert!(q.wake(1, |w| woken.push(w)), "b still waits");
/// assert_eq!(woken, ["a"]);
/// assert!(q.leave(&mut a), "a was woken: it passes the wake on if it gives up");
/// assert!(!q.leave(&mut b), "b was still queued: it just leaves");
/// assert!(q.is_empty());
/// ```
pub struct RoomWaiters<W> {
    /// `(ticket, waker)`, oldest first; the next ticket number.
    q: Mutex<(std::collections::VecDeque<(u64, W)>, u64)>,
}

/// A sender's place in a [`RoomWaiters`] queue. `Default`: not queued.
#[derive(Debug, Default)]
pub struct Ticket {
    /// The number it was queued under, until it leaves (or is woken and
    /// registers again).
    id: Option<u64>,
    /// It was woken at least once (so it registers again at the front).
    woken: bool,
}

impl<W> core::fmt::Debug for RoomWaiters<W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RoomWaiters")
            .field("len", &self.len())
            .finish()
    }
}

impl<W> Default for RoomWaiters<W> {
    fn default() -> Self {
        RoomWaiters::new()
    }
}

impl<W> RoomWaiters<W> {
    /// An empty queue.
    pub fn new() -> Self {
        RoomWaiters {
            q: Mutex::new((std::collections::VecDeque::new(), 0)),
        }
    }

    /// Queues the caller, unless `ticket` is queued already (a spurious
    /// wake-up): at the back the first time, at the front after a wake-up
    /// whose room another sender took (it keeps its turn).
    pub fn register(&self, ticket: &mut Ticket, w: W) {
        let mut g = lock(&self.q);
        let (q, next) = &mut *g;
        if let Some(id) = ticket.id {
            if q.iter().any(|(t, _)| *t == id) {
                return;
            }
            // Not found: a waker took it off the queue.
            ticket.woken = true;
        }
        let id = *next;
        *next += 1;
        ticket.id = Some(id);
        if ticket.woken {
            q.push_front((id, w));
        } else {
            q.push_back((id, w));
        }
    }

    /// Wakes up to `n` waiters, oldest first, calling `wake` on each (under
    /// the queue's lock: keep it short). True if some are still queued.
    pub fn wake(&self, n: usize, mut wake: impl FnMut(W)) -> bool {
        let mut g = lock(&self.q);
        for _ in 0..n {
            match g.0.pop_front() {
                Some((_, w)) => wake(w),
                None => break,
            }
        }
        !g.0.is_empty()
    }

    /// Wakes every waiter (the mailbox's process exited).
    pub fn wake_all(&self, mut wake: impl FnMut(W)) {
        let all = mem::take(&mut lock(&self.q).0);
        for (_, w) in all {
            wake(w);
        }
    }

    /// The caller stops waiting (it got its message in, or gives up). True
    /// if a waker had taken it off the queue since it last registered: it
    /// holds a wake-up, and must pass it on (`wake(1, ..)`) if it gives up,
    /// or if its message is in and there is still room (it may have found
    /// room by itself before the wake-up; bounded.rs, "Waking as few
    /// senders as needed"). False if it was still queued (now removed) or
    /// never registered.
    pub fn leave(&self, ticket: &mut Ticket) -> bool {
        let Some(id) = ticket.id.take() else {
            return false;
        };
        let mut g = lock(&self.q);
        match g.0.iter().position(|(t, _)| *t == id) {
            Some(i) => {
                g.0.remove(i);
                false
            }
            None => true,
        }
    }

    /// Waiters queued now.
    pub fn len(&self) -> usize {
        lock(&self.q).0.len()
    }

    /// True if no one waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
