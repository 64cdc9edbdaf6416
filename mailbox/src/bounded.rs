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
//! was set, it calls the room callback, which wakes every registered sender.
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

use crate::inbound::{Inner, SENDER_WAITING};
use crate::sync::Ordering;

/// Reserves a place in a bounded mailbox: true if the caller may link one
/// message (the reservation is counted in `pushed`), false if it is full.
#[inline]
pub(crate) fn try_reserve(inner: &Inner) -> bool {
    let limit = inner.producers.limit as usize;
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

/// Step 2 of "Waiting for room": announces a waiting sender. True if there is
/// room already (the caller should try again rather than wait).
pub(crate) fn announce_waiting(inner: &Inner) -> bool {
    // AcqRel: see "No lost wake-up" above.
    inner
        .producers
        .flags
        .fetch_or(SENDER_WAITING, Ordering::AcqRel);
    let limit = inner.producers.limit as usize;
    let r = inner.removed();
    let p = inner.pushed_counter().load(Ordering::Relaxed);
    p.saturating_sub(r) < limit
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
