//! What a plain mailbox does not have: a bound's room callback, and a
//! priority list. Both live behind one pointer in the [`Receiver`]
//! (`Receiver::extra`), null for a plain mailbox: its receive path pays one
//! test of that field, and nothing else changes for it.
//!
//! # Priority messages (OTP 28, EEP 76)
//!
//! A priority message is an ordinary message block whose header says
//! `priority` (set by its sender, `Envelope::set_priority`). It travels
//! through the same inbound queue as every other message, so a sender's
//! messages keep their order, the waiting handshake is the one of
//! `waiter.rs`, and a receiver that never enabled priority simply sees an
//! ordinary message.
//!
//! A receiver that enabled priority ([`Receiver::enable_priority`]) sorts
//! what it pops: priority messages go to a second save queue, the *priority
//! list*, ordinary ones to the save queue as before. A scan
//! ([`Receiver::select`]) then
//!
//! 1. pops everything the inbound queue holds now, sorting it (each message
//!    is moved once in its life, as by `set_marker`);
//! 2. visits the priority list, oldest first;
//! 3. visits the save queue from `from` (the marker, if any) to its end.
//!
//! So a priority message is seen before every ordinary message not yet
//! received, priority messages keep their arrival order, and a call's reply
//! is still found from the marker without walking the backlog: the cost
//! beyond a plain scan is the priority list's length (usually zero).
//!
//! ```text
//!   inbound:  [o1] [P1] [o2] [P2] ─(step 1: sort)─▶ priority list: [P1] [P2]   (step 2)
//!                                                    save queue:   [o1] [o2]   (step 3)
//! ```
//!
//! A message pushed after step 1 waits for the next scan; the runtime scans
//! again before it waits (`prepare_wait` says no while the inbound queue is
//! not empty), so nothing is missed.

use core::ptr;

use crate::bounded;
use crate::envelope::Envelope;
use crate::inbound::BOUNDED;
use crate::receiver::{From, Receiver};
use crate::save::SaveQueue;

/// The state behind `Receiver::extra`.
pub(crate) struct Extra {
    /// The mailbox is bounded: after removals, look for waiting senders.
    bounded: bool,
    /// Priority messages are sorted into `prio`.
    priority: bool,
    /// The priority list (see the module essay). Its `mark` is never set.
    prio: SaveQueue,
    /// Called when a removal made room and a sender waits for it (bounded.rs),
    /// with the number of messages removed; says whether senders still wait.
    on_room: Option<Box<dyn FnMut(usize) -> bool + Send>>,
}

impl Extra {
    fn new() -> Box<Extra> {
        Box::new(Extra {
            bounded: false,
            priority: false,
            prio: SaveQueue::new(),
            on_room: None,
        })
    }
}

impl Receiver {
    /// Called by `Receiver::new`: a bounded mailbox gets its `Extra`.
    pub(crate) fn with_bound(mut self) -> Self {
        if self.inner().flags() & BOUNDED != 0 {
            self.extra.get_or_insert_with(Extra::new).bounded = true;
        }
        self
    }

    /// From now on, messages marked [`Envelope::set_priority`] are received
    /// before every ordinary message not yet received (OTP 28's priority
    /// messages, for a process that made a priority alias). Irreversible.
    ///
    /// ```
    /// use bream_mailbox::{mailbox, Envelope};
    ///
    /// let (tx, mut rx) = mailbox();
    /// rx.enable_priority();
    /// for i in 0..3u32 {
    ///     let _ = tx.push(i);
    /// }
    /// let mut urgent = Envelope::new("status?");
    /// urgent.set_priority(true);
    /// let _ = tx.push_envelope(urgent);
    /// assert_eq!(rx.try_recv_any().unwrap().downcast::<&str>().ok(), Some("status?"));
    /// assert_eq!(rx.try_recv::<u32>(), Some(0));
    /// ```
    pub fn enable_priority(&mut self) {
        self.extra.get_or_insert_with(Extra::new).priority = true;
    }

    /// True once [`enable_priority`](Receiver::enable_priority) was called.
    pub fn priority_enabled(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| e.priority)
    }

    /// Sets what to call when a receive made room in this bounded mailbox
    /// while a sender waited for it ([`Sender::announce_waiting`]). It gets
    /// the number of messages the receive removed, and returns true if
    /// senders still wait after it woke some (the receiver then calls it
    /// again after its next removal; bounded.rs, "Waking as few senders as
    /// needed"). It runs on the receiver's thread, inside the receive: keep
    /// it short (wake senders, one per removed message, with
    /// [`RoomWaiters::wake`](crate::RoomWaiters::wake)). A no-op for an
    /// unbounded mailbox.
    ///
    /// [`Sender::announce_waiting`]: crate::Sender::announce_waiting
    pub fn on_room(&mut self, f: impl FnMut(usize) -> bool + Send + 'static) {
        if let Some(e) = self.extra.as_mut().filter(|e| e.bounded) {
            e.on_room = Some(Box::new(f));
        }
    }

    /// Step 1 of the module essay: pops the whole inbound queue into the
    /// priority list and the save queue.
    pub(crate) fn drain_inbound(&mut self) {
        let priority = self.priority_enabled();
        while let Some(n) = self.pop_inbound() {
            // SAFETY: `n` was just popped: the receiver owns it, and the push's
            // Release (read by the pop's Acquire) published its header.
            let prio = priority && unsafe { (*n.as_ptr()).priority };
            if prio {
                let extra = self.extra.as_mut().expect("priority is enabled");
                // SAFETY: an owned block in no queue.
                unsafe { extra.prio.push_back(n) };
            } else {
                // SAFETY: as above.
                unsafe { self.save.push_back(n) };
            }
        }
    }

    /// `select` for a receiver with `extra`: steps 1–3 of the module essay,
    /// then the bound's room check.
    #[cold]
    #[inline(never)]
    pub(crate) fn select_extra<K>(
        &mut self,
        from: From,
        mut f: impl FnMut(&mut Envelope) -> Option<K>,
    ) -> Option<(K, Envelope)> {
        let before = self.removed_count();
        // The payload bytes of what this scan removes (a bounded mailbox
        // counts them, bounded.rs "A byte budget"): the size as pushed,
        // taken before the matcher can replace the envelope. A matcher that
        // panics after emptying one leaves its bytes uncounted: the process
        // is crashing, and its mailbox goes with it.
        let mut bytes = 0;
        let mut f = |e: &mut Envelope| {
            let size = e.payload_size();
            let hit = f(e);
            if hit.is_some() || e.is_empty() {
                bytes += size;
            }
            hit
        };
        let hit = if self.priority_enabled() {
            self.drain_inbound();
            let mut hit = None;
            if !self.extra.as_ref().is_some_and(|e| e.prio.is_empty()) {
                let g = PrioScan::new(self);
                hit = g.rx.scan(ptr::null_mut(), &mut f, false);
            }
            match hit {
                Some(hit) => Some(hit),
                None => {
                    let start = self.start(from);
                    self.scan(start, &mut f, false)
                }
            }
        } else {
            let start = self.start(from);
            self.scan(start, &mut f, true)
        };
        let removed = self.removed_count() - before;
        if removed != 0 {
            self.after_removals(removed, bytes);
        }
        hit
    }

    /// The receiver's half of bounded.rs's "Waiting for room", after
    /// `n` removals of `bytes` payload bytes.
    fn after_removals(&mut self, n: usize, bytes: usize) {
        let Some(extra) = self.extra.as_ref() else {
            return;
        };
        if !extra.bounded {
            return;
        }
        if let Some(l) = self.inner().limits() {
            // Before the RMW below: the handshake publishes it with `removed`.
            l.removed(bytes);
        }
        if !bounded::take_waiting(self.inner()) {
            return;
        }
        let more = match self.extra.as_mut().and_then(|e| e.on_room.as_mut()) {
            Some(f) => f(n),
            None => false,
        };
        if more {
            bounded::rearm(self.inner());
        }
    }
}

/// Puts the priority list in the save queue's place for a scan, and both back
/// when dropped (even if the matcher panics).
struct PrioScan<'a> {
    rx: &'a mut Receiver,
    /// The ordinary save queue, while the priority list stands in for it.
    ordinary: SaveQueue,
}

impl<'a> PrioScan<'a> {
    fn new(rx: &'a mut Receiver) -> Self {
        let extra = rx.extra.as_mut().expect("priority is enabled");
        let prio = core::mem::replace(&mut extra.prio, SaveQueue::new());
        let ordinary = core::mem::replace(&mut rx.save, prio);
        PrioScan { rx, ordinary }
    }
}

impl Drop for PrioScan<'_> {
    fn drop(&mut self) {
        let ordinary = core::mem::replace(&mut self.ordinary, SaveQueue::new());
        let prio = core::mem::replace(&mut self.rx.save, ordinary);
        if let Some(extra) = self.rx.extra.as_mut() {
            extra.prio = prio;
        }
    }
}
