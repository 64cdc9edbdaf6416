//! The loom shim (STYLE.md item 7, after tokio's `src/loom/`).
//!
//! Every atomic, mutex and condition variable that takes part in a protocol
//! (the task state word in `state.rs`, the idle counters in `idle.rs`, the
//! worker parker in `parker.rs`) is imported from here, never from `std`
//! directly. Built with `RUSTFLAGS="--cfg bream_loom"`, they become loom's
//! instrumented types and the models in `loom-tests/tests/scheduler.rs` explore
//! every interleaving of those protocols. The cfg is bream's own, so no
//! dependency changes behaviour under it.
//!
//! Code that takes no part in a modelled protocol (the stack pool, the timer
//! wheel's lock, the blocking pool) may use `parking_lot` or `std` directly:
//! loom could not see it anyway, because the models drive the protocols with
//! plain closures in place of stack switches.

/// Atomics: std's, or loom's under `--cfg bream_loom`.
pub(crate) mod atomic {
    #[cfg(bream_loom)]
    pub(crate) use loom::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };
    #[cfg(not(bream_loom))]
    pub(crate) use std::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };
}

#[cfg(bream_loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(bream_loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning: every critical section in this crate leaves
/// its data consistent before anything in it can panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}
