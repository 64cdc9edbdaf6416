//! A worker's run queue: the `next` slot and the local deque, and what a
//! worker publishes about them.
//!
//! ```text
//!   worker i                      Shared::lanes[i] (this module's Lane)
//!   ┌──────────────────────┐      ┌──────────────────────────────────┐
//!   │ local: Deque<TaskRef>│      │ next: NextSlot   ◄─ worker puts,  │
//!   │ (owner end; others   │      │                     takes; the    │
//!   │  steal through       │      │                     monitor takes │
//!   │  Shared::stealers)   │      │ runs, tag: hints for the monitor  │
//!   └──────────────────────┘      └──────────────────────────────────┘
//! ```
//!
//! The local deque is crossbeam-deque's Chase–Lev queue, owned by the worker
//! loop (worker.rs); this module holds the other half of the run queue, the
//! **`next` slot** (Go's `runnext`): the task the running one woke last,
//! which runs right after it on the same core and inherits its time slice.
//! The slot lives in the shared `Lane`, not in the worker, because one other
//! thread may take from it: the monitor (monitor.rs) rescues a `next` task
//! stuck behind a task that keeps its worker too long. Every take is one
//! atomic swap, so exactly one of the two gets it.
//!
//! The worker loop decides *when* to use which queue (worker.rs, "Where the
//! next task comes from"); the monitor only watches (monitor.rs).

use std::sync::Arc;

use crate::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use crate::task_ref::{Task, TaskRef};

/// What one worker publishes for the monitor. One per worker, in `Shared`,
/// on its own cache lines (the monitor reads them rarely; the worker writes
/// them on every task switch).
#[repr(align(128))]
pub(crate) struct Lane {
    /// Odd while a task runs on the worker. Written only by the worker
    /// (Relaxed stores of its own count), read by the monitor (Relaxed: a
    /// hint; nothing else is read through it).
    pub(crate) runs: AtomicU32,
    /// The running task's `SpawnOpts::tag`, stored (Relaxed) by the worker
    /// before it bumps `runs` to an odd value; read by the monitor with it.
    /// A hint: a tag read across two runs names the newer task, and the
    /// monitor reads it again whenever `runs` changes.
    pub(crate) tag: AtomicU64,
    /// The worker's `next` slot (worker.rs), shared with the monitor.
    next: NextSlot<Task>,
}

impl Lane {
    pub(crate) fn new() -> Lane {
        Lane {
            runs: AtomicU32::new(0),
            tag: AtomicU64::new(0),
            next: NextSlot::new(),
        }
    }

    /// Puts `t` in the `next` slot; returns the task it displaced.
    #[inline]
    pub(crate) fn put_next(&self, t: TaskRef) -> Option<TaskRef> {
        let prev = self.next.put(Arc::into_raw(t.task).cast_mut());
        // SAFETY: what the slot hands back came from `Arc::into_raw` above
        // (in an earlier call), and the slot gave it to us alone.
        (!prev.is_null()).then(|| unsafe { from_raw(prev) })
    }

    /// Takes the `next` slot's task, if any (the worker, or the monitor).
    #[inline]
    pub(crate) fn take_next(&self) -> Option<TaskRef> {
        let p = self.next.take();
        // SAFETY: as in `put_next`.
        (!p.is_null()).then(|| unsafe { from_raw(p) })
    }

    /// True if the slot holds a task (a hint: it may be taken meanwhile).
    pub(crate) fn has_next(&self) -> bool {
        self.next.is_occupied()
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        drop(self.take_next());
    }
}

/// # Safety
/// `p` came from `Arc::into_raw` of a task handle, and the caller owns that
/// count.
unsafe fn from_raw(p: *mut Task) -> TaskRef {
    // SAFETY: the caller's contract.
    let task = unsafe { Arc::from_raw(p) };
    TaskRef { task }
}

/// A one-item slot that two threads may take from: its owner (a worker)
/// puts and takes, a thief (the monitor) takes. It holds an owned pointer
/// (the caller's `Arc::into_raw`); every take is one atomic swap, so
/// whoever swaps a pointer out owns it, exactly once. Public for the loom
/// model in `loom-tests/tests/scheduler.rs`.
pub struct NextSlot<T> {
    ptr: AtomicPtr<T>,
}

impl<T> Default for NextSlot<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> NextSlot<T> {
    /// An empty slot.
    pub fn new() -> Self {
        NextSlot {
            ptr: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Puts `p` (owned; not null) in; returns what was there (owned now by
    /// the caller), or null. Only the owner puts.
    #[inline]
    pub fn put(&self, p: *mut T) -> *mut T {
        // Into an empty slot, a plain store: only the owner (this thread)
        // ever makes the slot non-null, and a thief only swaps out a value it
        // saw non-null, so nobody can fill the slot between this load and
        // the store. Release: publishes what `p` points to to the thread that
        // swaps it out (its Acquire).
        if self.ptr.load(Ordering::Relaxed).is_null() {
            self.ptr.store(p, Ordering::Release);
            return std::ptr::null_mut();
        }
        // AcqRel: Release as above; Acquire pairs with the Release that put
        // the value we take out.
        self.ptr.swap(p, Ordering::AcqRel)
    }

    /// Takes what is in (owned now by the caller), or null.
    #[inline]
    pub fn take(&self) -> *mut T {
        if self.ptr.load(Ordering::Relaxed).is_null() {
            return std::ptr::null_mut(); // no locked instruction for an empty slot
        }
        // AcqRel: as in `put`.
        self.ptr.swap(std::ptr::null_mut(), Ordering::AcqRel)
    }

    /// True if something is in (a hint: a thief may take it meanwhile).
    #[inline]
    pub fn is_occupied(&self) -> bool {
        !self.ptr.load(Ordering::Relaxed).is_null()
    }
}
