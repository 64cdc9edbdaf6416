//! The save queue: messages the receiver has taken from the inbound queue but
//! not matched yet, in arrival order, with the position of the receive marker.
//!
//! It is receiver-private (no atomics are needed for its own bookkeeping), and
//! intrusive: a node popped from the inbound queue belongs to the receiver alone,
//! so its `next` field is reused as this queue's link (Relaxed accesses; the
//! field is an atomic only because producers wrote it earlier).
//!
//! ```text
//!   head                mark                   tail
//!    ▼                   ▼                      ▼
//!   [m1] ──▶ [m2] ──▶ [m3] ──▶ [m4] ──▶ [m5] ──▶ null     then the inbound queue
//!   └──── arrived before the marker ──┘└─ after ─┘          (all after the marker)
//! ```
//!
//! `mark` is the last node that arrived before the current marker (null: every
//! message in the mailbox arrived after it). Removing or replacing a node keeps
//! `mark` valid: removing the marked node moves the mark to its predecessor (so
//! the scan still starts right after the last older message), replacing it moves
//! the mark to the replacement.

use core::ptr::{self, NonNull};

use crate::envelope::Header;
use crate::sync::Ordering;

/// The receiver's save queue. Owned by the `Receiver`; never shared.
pub(crate) struct SaveQueue {
    /// Oldest saved message, or null.
    head: *mut Header,
    /// Newest saved message, or null.
    tail: *mut Header,
    /// Last node before the current marker, or null (see the module essay).
    pub(crate) mark: *mut Header,
}

impl SaveQueue {
    pub(crate) fn new() -> Self {
        SaveQueue {
            head: ptr::null_mut(),
            tail: ptr::null_mut(),
            mark: ptr::null_mut(),
        }
    }

    /// True if no message is saved.
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// The newest saved message (null if none).
    pub(crate) fn tail(&self) -> *mut Header {
        self.tail
    }

    /// The node after `prev` (null `prev`: the first node); null at the end.
    ///
    /// # Safety
    /// `prev` is null or a node of this queue.
    #[inline]
    pub(crate) unsafe fn after(&self, prev: *mut Header) -> *mut Header {
        if prev.is_null() {
            self.head
        } else {
            // SAFETY: `prev` is a live node of this queue (contract), owned by
            // the receiver.
            unsafe { (*prev).next.load(Ordering::Relaxed) }
        }
    }

    /// Makes `n` follow `prev` (null `prev`: makes `n` the first node).
    ///
    /// # Safety
    /// `prev` is null or a node of this queue.
    unsafe fn link_after(&mut self, prev: *mut Header, n: *mut Header) {
        if prev.is_null() {
            self.head = n;
        } else {
            // SAFETY: as in `after`.
            unsafe { (*prev).next.store(n, Ordering::Relaxed) };
        }
    }

    /// Appends `n`, which the receiver has just popped from the inbound queue.
    ///
    /// # Safety
    /// `n` is a message block owned by the receiver and in no queue.
    pub(crate) unsafe fn push_back(&mut self, n: NonNull<Header>) {
        let n = n.as_ptr();
        // SAFETY: `n` is owned by the receiver (contract); `self.tail` is null or
        // a node of this queue.
        unsafe {
            (*n).next.store(ptr::null_mut(), Ordering::Relaxed);
            self.link_after(self.tail, n);
        }
        self.tail = n;
    }

    /// Removes and returns the oldest saved message.
    pub(crate) fn pop_front(&mut self) -> Option<NonNull<Header>> {
        let h = NonNull::new(self.head)?;
        // SAFETY: `h` is the first node of this queue; its successor is the
        // second (or null).
        let next = unsafe { (*h.as_ptr()).next.load(Ordering::Relaxed) };
        // SAFETY: null `prev`: unlinking the first node.
        unsafe { self.unlink(ptr::null_mut(), h.as_ptr(), next) };
        Some(h)
    }

    /// Removes `cur`, which sits between `prev` and `next`. Only the links
    /// around it are written: `cur` itself is not dereferenced, so it may already
    /// have been freed (a matcher replaced the envelope).
    ///
    /// # Safety
    /// `prev` (null: none) and `next` (null: none) are the nodes around `cur`.
    pub(crate) unsafe fn unlink(&mut self, prev: *mut Header, cur: *mut Header, next: *mut Header) {
        // SAFETY: `prev` is null or a node of this queue (contract).
        unsafe { self.link_after(prev, next) };
        if self.tail == cur {
            self.tail = prev;
        }
        if self.mark == cur {
            self.mark = prev;
        }
    }

    /// Puts `new` where `cur` was, between `prev` and `next`; `new` may be `cur`
    /// itself (its link is rewritten: a matcher may have freed `cur` and got a new
    /// block at the same address).
    ///
    /// # Safety
    /// As [`unlink`](SaveQueue::unlink); `new` is a message block owned by the
    /// receiver and in no queue.
    pub(crate) unsafe fn replace(
        &mut self,
        prev: *mut Header,
        cur: *mut Header,
        new: *mut Header,
        next: *mut Header,
    ) {
        // SAFETY: `new` is owned by the receiver; `prev` is null or a node.
        unsafe {
            (*new).next.store(next, Ordering::Relaxed);
            self.link_after(prev, new);
        }
        if self.tail == cur {
            self.tail = new;
        }
        if self.mark == cur {
            self.mark = new;
        }
    }
}

#[cfg(all(test, not(bream_loom)))]
mod tests {
    use super::*;
    use crate::Envelope;

    fn node(v: u32) -> NonNull<Header> {
        Envelope::new(v).into_raw()
    }

    fn drain(q: &mut SaveQueue) -> Vec<u32> {
        let mut out = Vec::new();
        while let Some(n) = q.pop_front() {
            // SAFETY: popped nodes are owned blocks made by `node`.
            out.push(unsafe { Envelope::from_raw(n) }.downcast::<u32>().unwrap());
        }
        out
    }

    #[test]
    fn unlinking_the_marked_node_moves_the_mark_to_its_predecessor() {
        let mut q = SaveQueue::new();
        let (a, b, c) = (node(1), node(2), node(3));
        // SAFETY: fresh owned blocks; `a`, `b`, `c` are consecutive in `q`.
        unsafe {
            q.push_back(a);
            q.push_back(b);
            q.push_back(c);
            q.mark = b.as_ptr();
            q.unlink(a.as_ptr(), b.as_ptr(), c.as_ptr());
            drop(Envelope::from_raw(b));
        }
        assert_eq!(q.mark, a.as_ptr());
        assert_eq!(drain(&mut q), [1, 3]);
        assert!(q.mark.is_null(), "popping the marked head clears the mark");
    }

    #[test]
    fn replacing_the_tail_keeps_appends_working() {
        let mut q = SaveQueue::new();
        let (a, b) = (node(1), node(2));
        let c = node(3);
        // SAFETY: fresh owned blocks; `b` is the tail, after `a`.
        unsafe {
            q.push_back(a);
            q.push_back(b);
            q.replace(a.as_ptr(), b.as_ptr(), c.as_ptr(), ptr::null_mut());
            drop(Envelope::from_raw(b));
            q.push_back(node(4));
        }
        assert_eq!(drain(&mut q), [1, 3, 4]);
    }
}
