//! How one worker thread sleeps and is woken.
//!
//! A parked worker sleeps in one of two places: on its own condition variable,
//! or, if it is the first to find the I/O driver free, blocked in the driver's
//! `mio::Poll` with the next timer deadline as its timeout (io.rs). So one
//! sleeping worker watches sockets and timers for the whole scheduler while
//! the rest sleep cheaply, and an idle runtime makes no syscall at all until
//! something happens (the shape of tokio's `park.rs`).
//!
//! # States of `Parker::state`
//!
//! - `EMPTY`: the worker is awake, or about to sleep, and no wakeup is pending.
//! - `NOTIFIED`: a wakeup is pending; the next `park` returns at once.
//! - `PARKED_CONDVAR`: asleep on `condvar`; a waker must lock `mutex` and notify.
//! - `PARKED_DRIVER`: asleep in the driver; a waker must use the `mio::Waker`.
//!
//! `unpark` swaps in `NOTIFIED` and acts on what it replaced, so a wakeup that
//! comes before the worker falls asleep is never lost: the worker's CAS from
//! `EMPTY` to a parked state fails and it returns.

use std::time::Duration;

use crate::io::Driver;
use crate::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::sync::{lock, Condvar, Mutex};

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// One per worker. `park` is called only by its worker; `unpark` by anyone.
#[derive(Debug)]
pub(crate) struct Parker {
    /// See the module doc. SeqCst everywhere: it orders with the idle
    /// protocol's SeqCst counters (idle.rs), and wakeups are rare.
    state: AtomicUsize,
    /// Guards the condvar sleep; holds nothing.
    mutex: Mutex<()>,
    condvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            state: AtomicUsize::new(EMPTY),
            mutex: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }

    /// Sleep until `unpark`, the timer deadline `timeout`, I/O (in the
    /// driver) or a spurious wakeup. Only the owning worker calls this.
    pub(crate) fn park(&self, driver: &Driver, timeout: Option<Duration>) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        if let Some(mut poller) = driver.try_lock() {
            if !self.try_enter(PARKED_DRIVER) {
                return;
            }
            poller.poll(driver, timeout);
            drop(poller);
            self.state.swap(EMPTY, SeqCst);
            return;
        }
        let mut guard = lock(&self.mutex);
        if !self.try_enter(PARKED_CONDVAR) {
            return;
        }
        loop {
            // With a deadline, a condvar sleeper watches the timers too, so
            // they fire even while the worker that owns the driver is busy.
            let timed_out = match timeout {
                None => {
                    guard = match self.condvar.wait(guard) {
                        Ok(g) => g,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    false
                }
                Some(d) => {
                    let (g, res) = match self.condvar.wait_timeout(guard, d) {
                        Ok(r) => r,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    guard = g;
                    res.timed_out()
                }
            };
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
            if timed_out {
                // PARKED_CONDVAR → EMPTY; a wakeup that raced in is consumed.
                self.state.swap(EMPTY, SeqCst);
                return;
            }
        }
    }

    /// Wake the worker (or make its next `park` return at once).
    pub(crate) fn unpark(&self, driver: &Driver) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // Taking the lock orders this notify after the sleeper's
                // `wait` began (it holds the lock until then).
                drop(lock(&self.mutex));
                self.condvar.notify_one();
            }
            PARKED_DRIVER => driver.wake(),
            s => unreachable!("parker state {s}"),
        }
    }

    /// `EMPTY → parked`; false (and the pending wakeup consumed) if a wakeup
    /// came first.
    fn try_enter(&self, parked: usize) -> bool {
        match self.state.compare_exchange(EMPTY, parked, SeqCst, SeqCst) {
            Ok(_) => true,
            Err(NOTIFIED) => {
                self.state.swap(EMPTY, SeqCst);
                false
            }
            Err(s) => unreachable!("parker state {s} while parking"),
        }
    }
}
