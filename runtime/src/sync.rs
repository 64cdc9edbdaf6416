//! The loom shim (STYLE.md §7, after tokio's `src/loom/`): the runtime imports its
//! atomics and locks from here, never from `std` or `parking_lot` directly, so
//! that `--cfg bream_loom` swaps in loom's model-checked versions.
//!
//! Under loom only the protocol modules (`relations`) are exercised, by the models
//! in `loom-tests/tests/runtime.rs`; the rest of the runtime still has to compile.

#[cfg(not(bream_loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

#[cfg(bream_loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// A mutex with parking_lot's poison-free interface over either implementation.
#[derive(Debug, Default)]
pub(crate) struct Mutex<T> {
    #[cfg(not(bream_loom))]
    inner: parking_lot::Mutex<T>,
    #[cfg(bream_loom)]
    inner: loom::sync::Mutex<T>,
}

#[cfg(not(bream_loom))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
#[cfg(bream_loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(v: T) -> Self {
        Mutex {
            #[cfg(not(bream_loom))]
            inner: parking_lot::Mutex::new(v),
            #[cfg(bream_loom)]
            inner: loom::sync::Mutex::new(v),
        }
    }

    /// Locks; never poisoned (a panic while holding a runtime lock is a bug in
    /// the runtime, and the lock is still usable afterwards).
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(not(bream_loom))]
        {
            self.inner.lock()
        }
        #[cfg(bream_loom)]
        {
            self.inner.lock().unwrap_or_else(|e| e.into_inner())
        }
    }
}

/// A reader-writer lock with parking_lot's poison-free interface.
#[derive(Debug, Default)]
pub(crate) struct RwLock<T> {
    #[cfg(not(bream_loom))]
    inner: parking_lot::RwLock<T>,
    #[cfg(bream_loom)]
    inner: loom::sync::RwLock<T>,
}

#[cfg(not(bream_loom))]
pub(crate) type ReadGuard<'a, T> = parking_lot::RwLockReadGuard<'a, T>;
#[cfg(bream_loom)]
pub(crate) type ReadGuard<'a, T> = loom::sync::RwLockReadGuard<'a, T>;
#[cfg(not(bream_loom))]
pub(crate) type WriteGuard<'a, T> = parking_lot::RwLockWriteGuard<'a, T>;
#[cfg(bream_loom)]
pub(crate) type WriteGuard<'a, T> = loom::sync::RwLockWriteGuard<'a, T>;

impl<T> RwLock<T> {
    pub(crate) fn new(v: T) -> Self {
        RwLock {
            #[cfg(not(bream_loom))]
            inner: parking_lot::RwLock::new(v),
            #[cfg(bream_loom)]
            inner: loom::sync::RwLock::new(v),
        }
    }

    pub(crate) fn read(&self) -> ReadGuard<'_, T> {
        #[cfg(not(bream_loom))]
        {
            self.inner.read()
        }
        #[cfg(bream_loom)]
        {
            self.inner.read().unwrap_or_else(|e| e.into_inner())
        }
    }

    pub(crate) fn write(&self) -> WriteGuard<'_, T> {
        #[cfg(not(bream_loom))]
        {
            self.inner.write()
        }
        #[cfg(bream_loom)]
        {
            self.inner.write().unwrap_or_else(|e| e.into_inner())
        }
    }
}
