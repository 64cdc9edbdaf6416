//! The one door to atomics and allocation (STYLE.md item 7, after tokio's
//! `src/loom/`).
//!
//! Every other module imports `crate::sync::...`, never `std::sync::atomic` or
//! `std::alloc` directly. Built with `RUSTFLAGS="--cfg bream_loom"`, the same
//! code runs on loom's model-checked atomics and its leak-tracking allocator, so
//! the loom models in `loom-tests/tests/mailbox.rs` check the code that ships,
//! not a copy of it. The cfg is bream's own, so no dependency changes behaviour
//! under it.

/// Locks `m` (loom's `Mutex` does not poison).
#[cfg(bream_loom)]
pub(crate) fn lock<T>(m: &Mutex<T>) -> impl core::ops::DerefMut<Target = T> + '_ {
    m.lock().unwrap()
}

#[cfg(bream_loom)]
pub(crate) use loom::{
    alloc::{alloc, dealloc},
    sync::{
        atomic::{AtomicPtr, AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

// Message blocks come from a per-thread cache (cache.rs), not straight from
// the global allocator.
#[cfg(not(bream_loom))]
pub(crate) use crate::cache::{alloc, dealloc};
#[cfg(not(bream_loom))]
pub(crate) use std::sync::{
    atomic::{AtomicPtr, AtomicUsize, Ordering},
    Arc, Mutex,
};

#[cfg(not(bream_loom))]
/// Locks `m`, ignoring poisoning: every lock in this crate guards data that a
/// panic cannot leave half-written (a counter check, a queue push or pop).
pub(crate) fn lock<T>(m: &Mutex<T>) -> impl core::ops::DerefMut<Target = T> + '_ {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
