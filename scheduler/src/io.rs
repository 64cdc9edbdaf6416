//! I/O readiness: one `mio::Poll` for the whole scheduler, and a small
//! registration API on which `bream::net` is built.
//!
//! # Where the poll happens
//!
//! No thread is dedicated to I/O. The idle protocol (idle.rs) parks workers
//! that have nothing to do; the first of them to find the driver free blocks
//! in [`mio::Poll::poll`] with the next timer deadline as its timeout, the
//! others sleep on condition variables (parker.rs). Three things end the poll:
//! a socket event (the poller marks the registration ready and unparks the
//! tasks waiting on it), the timeout (the worker fires due timers), and the
//! [`mio::Waker`], used when a task becomes runnable for this very worker or a
//! timer earlier than the poll's timeout is inserted.
//!
//! # Readiness
//!
//! mio is edge-triggered: an event says "became ready", once. So each
//! registration keeps a sticky readiness word, set by events and cleared by
//! the user only after an operation returned `WouldBlock`. A tick counts events,
//! and [`Registration::clear_readiness`] clears only if no event arrived since
//! the readiness it was given (tokio's `ScheduledIo` does the same): an event
//! that lands between the failed read and the clear is never lost.
//!
//! ```no_run
//! # use std::io::{self, Read};
//! # fn demo(mut stream: mio::net::UnixStream) -> io::Result<usize> {
//! use bream_scheduler::io::{Interest, Registration};
//! let reg = Registration::new(&mut stream, Interest::READABLE)?; // inside a task
//! let mut buf = [0u8; 64];
//! loop {
//!     let ev = reg.wait(Interest::READABLE); // parks this task, not its worker
//!     match stream.read(&mut buf) {
//!         Err(e) if e.kind() == io::ErrorKind::WouldBlock => reg.clear_readiness(ev),
//!         r => return r,
//!     }
//! }
//! # }
//! ```

use std::io;
use std::sync::Arc;
use std::time::Duration;

use mio::event::Source;
use mio::{Events, Poll, Token, Waker};
use parking_lot::{Mutex, MutexGuard};

pub use mio::Interest;

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::task_ref::TaskRef;
use crate::Scheduler;

/// The token of the driver's waker; registrations use slab indices below it.
const WAKE_TOKEN: Token = Token(usize::MAX);
/// Events taken per poll (value picked out of thin air, as tokio's 1024).
const EVENTS: usize = 1024;

/// A set of readiness bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Ready(u8);

impl Ready {
    /// Readable (or a read would not block).
    pub const READABLE: Ready = Ready(1);
    /// Writable.
    pub const WRITABLE: Ready = Ready(2);
    /// The peer closed its writing half.
    pub const READ_CLOSED: Ready = Ready(4);
    /// The peer closed its reading half (or the socket broke).
    pub const WRITE_CLOSED: Ready = Ready(8);
    /// An error is pending on the socket.
    pub const ERROR: Ready = Ready(16);

    /// True if any bit of `other` is set in `self`.
    pub fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }
    /// Readable, read-closed or error: a read would not block.
    pub fn is_readable(self) -> bool {
        self.intersects(Ready(1 | 4 | 16))
    }
    /// Writable, write-closed or error: a write would not block.
    pub fn is_writable(self) -> bool {
        self.intersects(Ready(2 | 8 | 16))
    }
    /// The readiness that satisfies a wait for `interest`.
    fn for_interest(interest: Interest) -> Ready {
        let mut r = 0;
        if interest.is_readable() {
            r |= 1 | 4 | 16;
        }
        if interest.is_writable() {
            r |= 2 | 8 | 16;
        }
        Ready(r)
    }
    fn from_event(e: &mio::event::Event) -> Ready {
        let mut r = 0;
        r |= u8::from(e.is_readable());
        r |= u8::from(e.is_writable()) << 1;
        r |= u8::from(e.is_read_closed()) << 2;
        r |= u8::from(e.is_write_closed()) << 3;
        r |= u8::from(e.is_error()) << 4;
        Ready(r)
    }
}

/// A readiness snapshot, with the event tick it was taken at (see
/// [`Registration::clear_readiness`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    /// The readiness bits.
    pub ready: Ready,
    tick: usize,
}

/// What a registration shares with the driver.
struct IoState {
    /// `tick << 8 | ready bits`. Set by the polling worker, cleared by the
    /// registration's user. SeqCst: it orders with the waiter lock below
    /// (see `Registration::wait`).
    readiness: AtomicUsize,
    /// Tasks parked until readable (`[0]`) / writable (`[1]`). Locked by the
    /// waiting task and by the polling worker.
    waiters: Mutex<[Option<TaskRef>; 2]>,
}

/// The token → registration table. Locked by registering tasks and the
/// polling worker.
#[derive(Default)]
struct Slab {
    /// `slots[token]`: the registration with that token, if live.
    slots: Vec<Option<Arc<IoState>>>,
    /// Tokens of `None` slots, reused LIFO.
    free: Vec<usize>,
}

/// The poll and its event buffer: used only by the worker holding the
/// driver's `poller` lock (the one blocked in, or briefly running, `poll`).
pub(crate) struct Poller {
    poll: Poll,
    /// Reused between polls.
    events: Events,
}

/// The scheduler's I/O driver.
pub(crate) struct Driver {
    /// Held (try_lock) by the one parked worker that polls.
    poller: Mutex<Poller>,
    /// Registers sources without the poller's lock (mio allows it).
    registry: mio::Registry,
    /// Interrupts the poll. Any thread.
    waker: Waker,
    /// Registrations by token.
    slab: Mutex<Slab>,
    /// Live registrations. Relaxed: a hint for the busy workers' polling.
    registrations: AtomicUsize,
}

impl Driver {
    pub(crate) fn new() -> io::Result<Driver> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(poll.registry(), WAKE_TOKEN)?;
        Ok(Driver {
            poller: Mutex::new(Poller {
                poll,
                events: Events::with_capacity(EVENTS),
            }),
            registry,
            waker,
            slab: Mutex::new(Slab::default()),
            registrations: AtomicUsize::new(0),
        })
    }

    /// The poller, if no other worker is polling.
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, Poller>> {
        self.poller.try_lock()
    }

    /// Interrupt the poll (or make the next one return at once).
    pub(crate) fn wake(&self) {
        // A failing eventfd write leaves the poller to its timeout: log it.
        if let Err(e) = self.waker.wake() {
            tracing::error!("bream-scheduler: I/O driver wake failed: {e}");
        }
    }

    /// True if any source is registered (workers then poll now and then even
    /// while busy).
    pub(crate) fn has_registrations(&self) -> bool {
        self.registrations.load(Ordering::Relaxed) > 0
    }

    /// Drop every registration's waiters (shutdown).
    pub(crate) fn clear(&self) {
        let slab = std::mem::take(&mut *self.slab.lock());
        for s in slab.slots.into_iter().flatten() {
            *s.waiters.lock() = [None, None];
        }
    }
}

impl Poller {
    /// Block until an event, `timeout`, or a wake; dispatch the events.
    pub(crate) fn poll(&mut self, driver: &Driver, timeout: Option<Duration>) {
        if let Err(e) = self.poll.poll(&mut self.events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                tracing::error!("bream-scheduler: poll failed: {e}");
            }
            return;
        }
        let mut wake = Vec::new();
        {
            let slab = driver.slab.lock();
            for ev in self.events.iter() {
                if ev.token() == WAKE_TOKEN {
                    continue;
                }
                let Some(Some(io)) = slab.slots.get(ev.token().0) else {
                    continue; // deregistered meanwhile
                };
                io.set_ready(Ready::from_event(ev));
                io.take_waiters(Ready::from_event(ev), &mut wake);
            }
        }
        for t in wake {
            crate::trace::io_ready(&t.task.shared, t.task.tag);
            t.unpark();
        }
    }
}

impl IoState {
    fn set_ready(&self, r: Ready) {
        let mut cur = self.readiness.load(Ordering::SeqCst);
        loop {
            let tick = (cur >> 8).wrapping_add(1);
            let new = (tick << 8) | (cur & 0xff) | usize::from(r.0);
            match self
                .readiness
                .compare_exchange(cur, new, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return,
                Err(a) => cur = a,
            }
        }
    }

    fn take_waiters(&self, r: Ready, out: &mut Vec<TaskRef>) {
        let mut w = self.waiters.lock();
        if r.is_readable() {
            out.extend(w[0].take());
        }
        if r.is_writable() {
            out.extend(w[1].take());
        }
    }

    fn snapshot(&self) -> ReadyEvent {
        let cur = self.readiness.load(Ordering::SeqCst);
        ReadyEvent {
            ready: Ready((cur & 0xff) as u8),
            tick: cur >> 8,
        }
    }
}

/// A source (socket, pipe, ...) registered with the scheduler's I/O driver.
///
/// Dropping it forgets the registration; deregister the source (or close it)
/// as well, as with mio.
pub struct Registration {
    sched: Scheduler,
    token: usize,
    io: Arc<IoState>,
}

impl Registration {
    /// Register `source` with the current task's scheduler.
    ///
    /// # Panics
    ///
    /// Outside a task (use [`Registration::new_in`] there).
    pub fn new<S: Source + ?Sized>(source: &mut S, interest: Interest) -> io::Result<Self> {
        Self::new_in(&crate::task::current_scheduler(), source, interest)
    }

    /// Register `source` with `sched`'s driver.
    pub fn new_in<S: Source + ?Sized>(
        sched: &Scheduler,
        source: &mut S,
        interest: Interest,
    ) -> io::Result<Self> {
        let driver = &sched.shared.driver;
        let io = Arc::new(IoState {
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new([None, None]),
        });
        let token = {
            let mut slab = driver.slab.lock();
            let token = match slab.free.pop() {
                Some(t) => t,
                None => {
                    slab.slots.push(None);
                    slab.slots.len() - 1
                }
            };
            slab.slots[token] = Some(io.clone());
            driver.registrations.fetch_add(1, Ordering::Relaxed);
            token
        };
        let reg = Registration {
            sched: sched.clone(),
            token,
            io,
        };
        driver.registry.register(source, Token(token), interest)?;
        Ok(reg)
    }

    /// The readiness seen so far (sticky until cleared).
    pub fn readiness(&self) -> ReadyEvent {
        self.io.snapshot()
    }

    /// Clear the bits of `ev` after an operation returned `WouldBlock`, unless
    /// an event arrived since `ev` was taken (then nothing is cleared).
    pub fn clear_readiness(&self, ev: ReadyEvent) {
        let cur = self.io.readiness.load(Ordering::SeqCst);
        if cur >> 8 == ev.tick {
            let new = cur & !usize::from(ev.ready.0);
            // Fails only if an event raced in: then keep its bits.
            let _ =
                self.io
                    .readiness
                    .compare_exchange(cur, new, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    /// Park the current task until the source is ready for `interest`.
    ///
    /// Returns at once if it already is. Only the task parks: its worker goes
    /// on running others.
    ///
    /// # Panics
    ///
    /// Outside a task.
    pub fn wait(&self, interest: Interest) -> ReadyEvent {
        loop {
            if let Some(ev) = self.poll_ready(interest) {
                return ev;
            }
            crate::task::park();
        }
    }

    /// One step of [`wait`](Registration::wait), for a task that parks itself
    /// (with a deadline, or re-checking its own wake-up reasons between
    /// parks, as a bream process checks for exit signals; `bream::net` is
    /// built on it).
    ///
    /// Returns the readiness if the source is ready for `interest`. Otherwise
    /// records the current task as the waiter for `interest` (both slots for
    /// `READABLE | WRITABLE`, as `wait` does), so the next such event unparks
    /// it, and returns `None`: the caller then parks
    /// ([`task::park`](crate::task::park) or
    /// [`task::park_timeout`](crate::task::park_timeout)) and calls again.
    /// A wake-up for any other reason is spurious here: calling again
    /// re-registers the task.
    ///
    /// # Panics
    ///
    /// Outside a task.
    pub fn poll_ready(&self, interest: Interest) -> Option<ReadyEvent> {
        let want = Ready::for_interest(interest);
        let ev = self.readiness();
        if ev.ready.intersects(want) {
            return Some(ev);
        }
        let me = crate::task::with_current(TaskRef::clone);
        {
            // A wait for both directions sits in both slots: either event
            // wakes it.
            let mut w = self.io.waiters.lock();
            if interest.is_writable() {
                w[1] = Some(me.clone());
            }
            if interest.is_readable() {
                w[0] = Some(me);
            }
        }
        // Re-check after publishing the waiter: the poller sets readiness
        // (SeqCst) *before* taking waiters under the same lock, so either it
        // sees us, or we see its bits here.
        let ev = self.readiness();
        ev.ready.intersects(want).then_some(ev)
    }

    /// Forget the current task as the waiter for `interest` (after
    /// [`poll_ready`](Registration::poll_ready), when the task stops waiting
    /// without an event, say at a deadline), so the registration does not
    /// keep its handle until the next event.
    ///
    /// # Panics
    ///
    /// Outside a task.
    pub fn forget_waiter(&self, interest: Interest) {
        let mut w = self.io.waiters.lock();
        crate::task::with_current(|me| {
            for (i, wanted) in [interest.is_readable(), interest.is_writable()]
                .into_iter()
                .enumerate()
            {
                if wanted && w[i].as_ref().is_some_and(|t| t.ptr_eq(me)) {
                    w[i] = None;
                }
            }
        });
    }

    /// Deregister `source` and forget the registration.
    pub fn deregister<S: Source + ?Sized>(self, source: &mut S) -> io::Result<()> {
        self.sched.shared.driver.registry.deregister(source)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut slab = self.sched.shared.driver.slab.lock();
        if let Some(slot) = slab.slots.get_mut(self.token) {
            if slot.as_ref().is_some_and(|s| Arc::ptr_eq(s, &self.io)) {
                *slot = None;
                slab.free.push(self.token);
                let d = &self.sched.shared.driver;
                d.registrations.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("token", &self.token)
            .field("readiness", &self.readiness())
            .finish()
    }
}
