//! What every socket shares: the mio source, its registration with the
//! scheduler's poller, the owner, and the timeouts.
//!
//! # Who touches what
//!
//! A [`Socket`] is shared (an `Arc`) between the handle the owner holds and,
//! in active mode, the reader task (active.rs). So every field is
//! synchronized:
//!
//! - `io` is read-locked by every operation (mio sockets read and write
//!   through `&self`) and write-locked once, by [`Socket::close`], which takes
//!   the source out and drops it: the fd is closed while no operation runs.
//! - `owner` is locked to check or change the owner.
//! - the timeouts are atomics written by the owner and read by the owner.
//!
//! # The readiness loop
//!
//! Every operation is [`Socket::io`]: take a readiness snapshot, try the
//! operation, and only if it fails with `WouldBlock` clear *that interest's*
//! bit (with the snapshot's tick, so an event that raced in is kept) and wait
//! (wait.rs). Trying first means a read of data already in the kernel's
//! buffer costs one syscall and no park.

use std::io;
use std::time::{Duration, Instant};

use bream_scheduler::io::{Interest, Ready, ReadyEvent, Registration};
use mio::event::Source;

use crate::pid::Pid;
use crate::sync::{AtomicU64, Mutex, Ordering::Relaxed, RwLock};

/// Identifies a socket in active-mode messages: compare `msg.socket` with
/// [`TcpStream::id`](crate::net::TcpStream::id). Unique for the life of the
/// OS process (a counter, never reused).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct SocketId(pub(crate) u64);

impl std::fmt::Display for SocketId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#Socket<{}>", self.0)
    }
}

/// The next socket id. Relaxed: only uniqueness matters. A std atomic, not
/// the loom shim's: it is a static (loom's atomics cannot be), and no
/// protocol depends on it.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// "No timeout" in a timeout atomic.
const NO_TIMEOUT: u64 = u64::MAX;

/// One socket, shared by its handle and (active mode) its reader task.
pub(crate) struct Socket<S> {
    /// Immutable.
    pub(crate) id: SocketId,
    /// The mio source; `None` once closed. See the module essay.
    io: RwLock<Option<S>>,
    /// The registration with the scheduler's poller. Immutable; its
    /// readiness word is its own synchronization (bream_scheduler::io).
    pub(crate) reg: Registration,
    /// The owning process. Any thread reads; the owner writes.
    owner: Mutex<Pid>,
    /// Nanoseconds, or `NO_TIMEOUT`. Relaxed: written and read by the owner,
    /// whose own program order orders them.
    read_timeout: AtomicU64,
    /// As `read_timeout`.
    write_timeout: AtomicU64,
}

impl<S: Source> Socket<S> {
    /// Register `source` with the current process's scheduler; the caller
    /// owns it.
    ///
    /// # Panics
    ///
    /// Outside a bream process.
    pub(crate) fn new(mut source: S, interest: Interest, what: &str) -> io::Result<Socket<S>> {
        let owner = crate::net::wait::me(what);
        let reg = Registration::new(&mut source, interest)?;
        Ok(Socket {
            id: SocketId(NEXT_ID.fetch_add(1, Relaxed)),
            io: RwLock::new(Some(source)),
            reg,
            owner: Mutex::new(owner),
            read_timeout: AtomicU64::new(NO_TIMEOUT),
            write_timeout: AtomicU64::new(NO_TIMEOUT),
        })
    }

    /// Fail unless the current process owns the socket.
    pub(crate) fn check_owner(&self, what: &str) -> io::Result<()> {
        let me = crate::net::wait::me(what);
        let owner = *self.owner.lock();
        if owner == me {
            Ok(())
        } else {
            Err(not_owner(self.id, owner, me))
        }
    }

    /// The owner now.
    pub(crate) fn owner(&self) -> Pid {
        *self.owner.lock()
    }

    /// Give the socket to `to`; the caller must own it.
    pub(crate) fn set_owner(&self, to: Pid, what: &str) -> io::Result<()> {
        let me = crate::net::wait::me(what);
        let mut owner = self.owner.lock();
        if *owner != me {
            return Err(not_owner(self.id, *owner, me));
        }
        *owner = to;
        Ok(())
    }

    /// Run `op` on the source once, without waiting: `Err(WouldBlock)` if it
    /// would block, `NotConnected` if the socket is closed.
    pub(crate) fn try_io<R>(&self, op: impl FnOnce(&S) -> io::Result<R>) -> io::Result<R> {
        let guard = self.io.read();
        match guard.as_ref() {
            Some(s) => op(s),
            None => Err(closed()),
        }
    }

    /// Run `op` until it does not fail with `WouldBlock`, parking the process
    /// until the source is ready for `interest` in between; give up with
    /// `TimedOut` at `deadline`. The caller checked the owner.
    pub(crate) fn io<R>(
        &self,
        interest: Interest,
        deadline: Option<Instant>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let ev = self.reg.readiness();
            match self.try_io(&mut op) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.reg.clear_readiness(only(ev, interest));
                    crate::net::wait::ready(&self.reg, interest, deadline)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    /// Close the source: deregister it and close its fd. Idempotent. Waits
    /// (briefly: no operation holds the lock across a park) for an operation
    /// running on another thread to finish.
    pub(crate) fn close(&self) {
        let source = self.io.write().take();
        // Closing the fd removes it from the poller's epoll set (it is never
        // duplicated); the registration's slot is freed when the last handle
        // to this `Socket` is dropped.
        drop(source);
    }

    /// True once closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.io.read().is_none()
    }

    pub(crate) fn read_deadline(&self) -> Option<Instant> {
        deadline(self.read_timeout.load(Relaxed))
    }

    pub(crate) fn write_deadline(&self) -> Option<Instant> {
        deadline(self.write_timeout.load(Relaxed))
    }

    pub(crate) fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.read_timeout.store(encode(d)?, Relaxed);
        Ok(())
    }

    pub(crate) fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.write_timeout.store(encode(d)?, Relaxed);
        Ok(())
    }

    pub(crate) fn read_timeout(&self) -> Option<Duration> {
        decode(self.read_timeout.load(Relaxed))
    }

    pub(crate) fn write_timeout(&self) -> Option<Duration> {
        decode(self.write_timeout.load(Relaxed))
    }
}

/// `ev` reduced to the bit an operation on `interest` found missing, so a
/// failed read does not clear the writable bit (and strand a writer: mio
/// would never report that edge again).
fn only(mut ev: ReadyEvent, interest: Interest) -> ReadyEvent {
    ev.ready = if interest.is_readable() {
        Ready::READABLE
    } else {
        Ready::WRITABLE
    };
    ev
}

/// A timeout as stored; zero is refused, as `std::net` does.
fn encode(d: Option<Duration>) -> io::Result<u64> {
    match d {
        None => Ok(NO_TIMEOUT),
        Some(d) if d.is_zero() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bream::net: a zero timeout is not allowed (use None for no timeout)",
        )),
        Some(d) => Ok(u64::try_from(d.as_nanos())
            .unwrap_or(NO_TIMEOUT - 1)
            .min(NO_TIMEOUT - 1)),
    }
}

fn decode(n: u64) -> Option<Duration> {
    (n != NO_TIMEOUT).then(|| Duration::from_nanos(n))
}

fn deadline(n: u64) -> Option<Instant> {
    decode(n).and_then(|d| Instant::now().checked_add(d))
}

/// The error of an operation on a closed socket.
pub(crate) fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "bream::net: the socket is closed",
    )
}

fn not_owner(id: SocketId, owner: Pid, me: Pid) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "bream::net: {id} is owned by process {owner}, not by the caller {me} \
             (the owner must call controlling_process({me}) first)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_trip_and_zero_is_refused() {
        assert_eq!(decode(encode(None).unwrap()), None);
        let d = Duration::from_millis(1500);
        assert_eq!(decode(encode(Some(d)).unwrap()), Some(d));
        let e = encode(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            decode(encode(Some(Duration::MAX)).unwrap()).map(|d| d > d / 2),
            Some(true)
        );
    }
}
