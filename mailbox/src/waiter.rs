//! The waiting handshake: how a receiver goes to sleep without missing a message,
//! and how exactly one sender learns that it must wake it.
//!
//! # Vocabulary
//!
//! The receiver is in one of three states (docs/architecture.md §5):
//!
//! - **Running**: it is scanning its mailbox. Pushes only queue.
//! - **Waiting**: it found nothing it wants and announced that it will sleep. The
//!   next push must report [`Push::Wake`](crate::Push::Wake) so that the runtime
//!   schedules it.
//! - **Notified**: a push has claimed the announcement and reported `Wake`; a
//!   wake-up is on its way. Later pushes only queue.
//!
//! # Why it is hard
//!
//! Sleeping is two steps, "look: nothing there" and "announce: I sleep", and a
//! push is two steps too, "queue the message" and "look: is the receiver asleep?".
//! The classic encoding keeps the state in its own word:
//!
//! ```text
//!   receiver                          sender
//!   R1. state.store(Waiting)          S1. queue.push(msg)
//!   R2. if !queue.is_empty()          S2. if state.load() == Waiting
//!           { cancel; rescan }                { state = Notified; wake }
//! ```
//!
//! This is Dekker's pattern: each side stores one word, then loads the other's.
//! Without a StoreLoad barrier on *both* sides (SeqCst on all four accesses, or a
//! `fence(SeqCst)` between each store and load), both loads may read the old
//! values (the stores still sit in store buffers): the receiver sees an empty
//! queue, the sender sees Running, and the message sleeps in the mailbox with no
//! one coming for it: the lost wake-up. The barrier costs an `mfence` on the
//! sender's hot path, and loom does not model SeqCst loads and stores precisely
//! (its README: they are treated as AcqRel), so the proof would be unchecked.
//!
//! # What bream does instead: one word
//!
//! The Waiting flag lives in the low bit of the inbound queue's `tail` pointer
//! (nodes are word-aligned, so the bit is free). Announcing and queueing are then
//! read-modify-writes of the *same* atomic, and a single atomic's modification
//! order is total: no store buffer can hide one from the other, no barrier is
//! needed, and loom checks the real thing.
//!
//! The recipe, as in Go's `proc.go`:
//!
//! 1. *Receiver, scanning.* Pop everything from the inbound queue; nothing matches.
//!    The inbound queue is now empty, so `head` is the stub and (if no push has
//!    come since) `tail` is the stub too.
//! 2. *Receiver, announcing* ([`announce`], from `Receiver::prepare_wait`): if
//!    `head` is not the stub, a message is there: stay Running. Otherwise
//!    `tail.compare_exchange(stub, stub|WAITING)`. It fails exactly when some push
//!    has swapped `tail` since the queue was last empty, i.e. when a message
//!    arrived while we were deciding: stay Running and scan again. If it
//!    succeeds the receiver is Waiting, and every later push is ordered after
//!    the CAS in `tail`'s modification order.
//! 3. *Sender, pushing* ([`claim`], from `Inner::push`): `prev = tail.swap(node)`.
//!    The swap reads the value immediately before it in modification order, so
//!    exactly one push (the first after the CAS) reads `stub|WAITING`, and it
//!    also removes the bit (it stores its untagged node). That push links its
//!    node, then returns `Wake`: the state is now Notified. Every other push reads
//!    an untagged pointer and returns `Queued`. No push reads the bit unless a
//!    receiver set it.
//! 4. *Receiver, woken* (`Receiver::finish_wait`): Notified → Running. Nothing to
//!    do on `tail`: the bit is already gone. After a spurious wake-up the bit may
//!    still be there, so `finish_wait` withdraws it as in step 5.
//! 5. *Receiver, timing out* ([`withdraw`], from `Receiver::cancel_wait`):
//!    `tail.compare_exchange(stub|WAITING, stub)`. If it succeeds no push came: the
//!    receiver is Running and no wake-up will arrive. If it fails a push took the
//!    bit in step 3 and a `Wake` is on its way: the caller must tolerate it (the
//!    scheduler's `unpark` of a running task is harmless).
//!
//! # Why no message is missed, and no wake is doubled
//!
//! Every write to `tail` is a read-modify-write, so all of them sit in one
//! total modification order, and each reads the value written just before it.
//! The announce CAS succeeds only if it reads `stub`, i.e. only if the write
//! just before it is the receiver's stub re-insert (or a withdraw, which also
//! writes `stub`). So every push ordered before the CAS swapped before that
//! re-insert: its node sits before the stub in the chain, and `head == stub`
//! says the receiver has already popped it. Every push ordered after the CAS
//! comes after `stub|WAITING` in the order; the first of them reads the bit
//! (Wake), and its own swap stores an untagged pointer, so all later ones read
//! untagged values (Queued). A withdraw CAS reads `stub|WAITING` only if no push
//! came in between, and then removes the bit, so no push can claim it later.
//!
//! # Orderings and their partners
//!
//! - A push writes `prev.next` where `prev` may be the stub, so the receiver's
//!   `stub.next = null` (written before it re-inserted the stub with an AcqRel
//!   swap, `Inner::push_stub`) must happen before that write. The push's swap is
//!   Acquire, and it reads either the re-insert itself or a later
//!   read-modify-write of `tail` (an [`announce`] or [`withdraw`] CAS, or another
//!   push's swap); read-modify-writes continue the re-insert's release sequence,
//!   whatever their own ordering, so the push synchronizes with the re-insert.
//! - The CAS in [`announce`] is Release on success (AcqRel), and it is a
//!   promise to the caller: everything the receiver wrote before
//!   `prepare_wait` happens-before the return of the push that reports `Wake`
//!   (that push's swap is Acquire and reads the CAS's value). The runtime
//!   relies on it: it publishes its own "preparing to wait" state with a
//!   Relaxed store before `prepare_wait`, and the waking sender reads it after
//!   `Wake`. The Acquire half is not needed (the receiver learns nothing from
//!   the producers here; messages reach it through `next`) and costs nothing
//!   (a `lock cmpxchg` on x86 is a full barrier either way). On failure only
//!   the fact of failure is used; Acquire, as the receiver scans again.
//! - The CAS in [`withdraw`] is AcqRel on success for symmetry; nothing relies
//!   on more than Relaxed there. On failure, Relaxed. It is preceded by a
//!   Relaxed load: after a `Wake` (the common case: the receiver was woken by
//!   the push that claimed it) `tail` no longer holds `stub|WAITING`, and only
//!   the receiver itself can put that value back, so the load's "not there" is
//!   final and the locked instruction of a failing CAS is skipped. A failed CAS
//!   writes nothing, so skipping it changes no release sequence.
//! - The message itself becomes visible to the woken receiver through the
//!   push's Release store of `prev.next`, which pairs with the Acquire loads of
//!   `next` in `Consumer::pop`, not through this handshake: the handshake decides
//!   only *who wakes whom*.
//!
//! The loom models in `loom-tests/tests/mailbox.rs` check steps 1–5 under every
//! interleaving (bounded by `LOOM_MAX_PREEMPTIONS`): no lost wake-up (the model
//! would deadlock), never two `Wake`s for one announcement, none without one.

use crate::envelope::Header;
use crate::sync::{AtomicPtr, Ordering};

/// The waiting bit in `tail` (nodes are at least word-aligned).
const WAITING: usize = 1;

/// `p` with the waiting bit set.
fn tag(p: *mut Header) -> *mut Header {
    p.map_addr(|a| a | WAITING)
}

/// `p` with the waiting bit cleared.
pub(crate) fn untag(p: *mut Header) -> *mut Header {
    p.map_addr(|a| a & !WAITING)
}

/// Whether `p` carries the waiting bit.
pub(crate) fn is_tagged(p: *mut Header) -> bool {
    p.addr() & WAITING != 0
}

/// Step 3, in the sender: splits the value its swap read from `tail` into the
/// real previous node and whether this push claimed a waiting announcement.
#[inline]
pub(crate) fn claim(prev: *mut Header) -> (*mut Header, bool) {
    (untag(prev), is_tagged(prev))
}

/// Step 2, in the receiver: announce Waiting. True if the announcement is in
/// place; false if a push has come since the inbound queue was last empty.
///
/// The caller must have checked that its `head` is the stub (step 2's first
/// half); then `tail == stub` means the inbound queue is empty.
pub(crate) fn announce(tail: &AtomicPtr<Header>, stub: *mut Header) -> bool {
    // AcqRel / Acquire: see "Orderings and their partners" above.
    tail.compare_exchange(stub, tag(stub), Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
}

/// Step 5, in the receiver: withdraw an announcement. True if it was still in
/// place (no push claimed it); false if a push claimed it (a `Wake` is coming).
#[inline]
pub(crate) fn withdraw(tail: &AtomicPtr<Header>, stub: *mut Header) -> bool {
    // Relaxed: see "Orderings and their partners" above; a value other than
    // `stub|WAITING` cannot become it again while we (the receiver) do not
    // announce.
    if tail.load(Ordering::Relaxed) != tag(stub) {
        return false;
    }
    // AcqRel / Relaxed: see "Orderings and their partners" above.
    tail.compare_exchange(tag(stub), stub, Ordering::AcqRel, Ordering::Relaxed)
        .is_ok()
}

#[cfg(all(test, not(bream_loom)))]
mod tests {
    use super::*;

    #[test]
    fn tagging_round_trips_and_claim_reports_the_bit() {
        let mut h = Header::stub();
        let p: *mut Header = &mut h;
        assert!(!is_tagged(p));
        assert_eq!(claim(tag(p)), (p, true));
        assert_eq!(claim(p), (p, false));
    }

    #[test]
    fn announce_then_withdraw_then_announce_again() {
        let mut h = Header::stub();
        let stub: *mut Header = &mut h;
        let tail = AtomicPtr::new(stub);
        assert!(announce(&tail, stub));
        assert!(withdraw(&tail, stub));
        assert!(!withdraw(&tail, stub), "nothing left to withdraw");
        assert!(announce(&tail, stub));
        // A push swaps the tail: the announcement is claimed.
        let mut other = Header::stub();
        let (_, wake) = claim(tail.swap(&mut other, Ordering::AcqRel));
        assert!(wake);
        assert!(!withdraw(&tail, stub), "claimed: a Wake is on its way");
        assert!(!announce(&tail, stub), "a message is queued");
    }
}
