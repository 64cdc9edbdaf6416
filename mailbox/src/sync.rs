//! The one door to atomics and allocation (STYLE.md item 7, after tokio's
//! `src/loom/`).
//!
//! Every other module imports `crate::sync::...`, never `std::sync::atomic` or
//! `std::alloc` directly. Built with `RUSTFLAGS="--cfg bream_loom"`, the same
//! code runs on loom's model-checked atomics and its leak-tracking allocator, so
//! the loom models in `loom-tests/tests/mailbox.rs` check the code that ships,
//! not a copy of it. The cfg is bream's own, so no dependency changes behaviour
//! under it.

#[cfg(bream_loom)]
pub(crate) use loom::{
    alloc::{alloc, dealloc},
    sync::{
        atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering},
        Arc,
    },
};

// Message blocks come from a per-thread cache (cache.rs), not straight from
// the global allocator.
#[cfg(not(bream_loom))]
pub(crate) use crate::cache::{alloc, dealloc};
#[cfg(not(bream_loom))]
pub(crate) use std::sync::{
    atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering},
    Arc,
};
