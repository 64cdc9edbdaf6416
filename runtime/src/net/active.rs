//! Active mode: a socket's data delivered as messages to its owner, the
//! `gen_tcp` idiom (`{active, once}`), which lets one `receive!` wait on a
//! socket and on other messages at once.
//!
//! # Design: a reader task per active stream
//!
//! When a stream first becomes active, a small scheduler *task* (not a
//! process: no pid, no mailbox) is spawned for it. It loops:
//!
//! 1. lock the stream's active state; if the mode is `Off`, unlock and park
//!    until [`set`] re-arms it;
//! 2. otherwise read once (non-blocking) *under the lock*, turn the result
//!    into a message ([`Tcp`], [`TcpClosed`], [`TcpError`]), push it into the
//!    owner's mailbox (`Shared::deliver`, which wakes the owner), spend one
//!    unit of the mode (`Once` becomes `Off`; `N(n)` counts down and ends
//!    with [`TcpPassive`]), unlock;
//! 3. on `WouldBlock`, clear the readable bit and park in the poller's
//!    registration until readable; then go to 1.
//!
//! Holding the lock across the read and the push orders every message
//! before anything a later passive `read` returns: after `set_active(Off)`
//! the owner sees the bytes in stream order, the ones read in active mode
//! as messages first.
//!
//! Rejected: *reading on the polling worker* (the poller would call back into
//! the runtime while it holds the registration table; BEAM's port drivers do
//! this, but bream's poller only unparks tasks, by design of
//! `bream_scheduler::io`); *making the owner read on wake-up* (every
//! `receive` would have to poll the owner's sockets: a cost on every process
//! for a feature few use). The price of the reader task is one extra task
//! switch per delivered chunk and one pooled stack per active stream
//! (docs/io.md has the numbers).
//!
//! The reader is cancelled when the stream is dropped (its registration wait
//! only ends by readiness or cancellation), and closes the stream itself if
//! it finds the owner dead (a delivery to a dead pid fails): a stream whose
//! owner died without unwinding (a stack overflow) does not stay open.

use std::any::Any;
use std::io::{self, Read};
use std::sync::Arc;

use bream_scheduler::io::{Interest, Ready};
use bream_scheduler::{task, Outcome, SpawnOpts, TaskOwner, TaskRef};

use crate::net::socket::{closed, SocketId};
use crate::net::stream::Shared;
use crate::runtime::Shared as Runtime;
use crate::sync::Mutex;

/// Bytes read per message at most: one page, on the reader's stack (a
/// 16 KiB heap buffer measured 22.5 KiB per active connection in
/// `bream-bench echo`, against 9.8 KiB passive; tune with data).
const READ_CHUNK: usize = 4096;

/// How a stream delivers its data (Erlang's `{active, ...}` option).
///
/// In active mode the data arrives in the owner's mailbox:
///
/// - [`Tcp`] `{ socket, data }` for each chunk read;
/// - [`TcpClosed`] `{ socket }` once the peer has closed (end of stream);
/// - [`TcpError`] `{ socket, error }` if a read failed (then `TcpClosed`);
/// - [`TcpPassive`] `{ socket }` when an `N(n)` count runs out.
///
/// ```
/// use std::io::Write;
/// use bream::net::{Active, Tcp, TcpClosed, TcpListener, TcpStream};
///
/// bream::run(|| {
///     let l = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = l.local_addr().unwrap();
///     bream::spawn(move || {
///         let c = TcpStream::connect(addr).unwrap();
///         c.write_all(b"ping").unwrap();
///     });
///     let (conn, _) = l.accept().unwrap();
///     conn.set_active(Active::Once).unwrap();
///     let mut got = Vec::new();
///     loop {
///         bream::receive! {
///             Tcp { socket, data }: Tcp if socket == conn.id() => {
///                 got.extend(data);
///                 conn.set_active(Active::Once).unwrap(); // re-arm, as gen_tcp users do
///             },
///             TcpClosed { .. }: TcpClosed => break,
///         }
///     }
///     assert_eq!(got, b"ping");
/// });
/// ```
///
/// While a stream is active, `read` fails with `InvalidInput`; switching to
/// `Off` lets the owner read again (chunks already read arrive as messages
/// first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Active {
    /// Passive (the default): the owner calls `read`.
    Off,
    /// Deliver one chunk, then become passive (`{active, once}`): flow
    /// control, since nothing more is read until the owner asks.
    Once,
    /// Deliver `n` more chunks (added to a running count, as Erlang's
    /// `{active, N}`), then send [`TcpPassive`] and become passive.
    N(u32),
    /// Deliver everything as it arrives (`{active, true}`): no flow control.
    On,
}

/// A chunk of data read from an active stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tcp {
    /// The stream it came from ([`TcpStream::id`](crate::net::TcpStream::id)).
    pub socket: SocketId,
    /// The bytes, in stream order; never empty.
    pub data: Vec<u8>,
}

/// The peer closed an active stream (end of stream); no more [`Tcp`] follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpClosed {
    /// The stream.
    pub socket: SocketId,
}

/// A read on an active stream failed (say, `ConnectionReset`); a
/// [`TcpClosed`] follows.
#[derive(Debug)]
pub struct TcpError {
    /// The stream.
    pub socket: SocketId,
    /// What `read` returned.
    pub error: io::Error,
}

/// An [`Active::N`] count ran out: the stream is passive again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpPassive {
    /// The stream.
    pub socket: SocketId,
}

/// The active-mode state of one stream. Locked by the owner (set, passive
/// reads, drop) and by the reader task (each read and delivery).
#[derive(Default)]
pub(crate) struct State {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    mode: Mode,
    /// The reader task, once spawned.
    reader: Option<TaskRef>,
    /// Set by `stop` (the handle was dropped) and on end of stream or error:
    /// no reader runs any more.
    done: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Mode {
    #[default]
    Off,
    Once,
    Count(u32),
    On,
}

impl Mode {
    /// The mode after `set_active(a)`: `N(n)` adds to a running count, as
    /// Erlang's `{active, N}` does.
    fn set(self, a: Active) -> Mode {
        match (a, self) {
            (Active::Off, _) => Mode::Off,
            (Active::Once, _) => Mode::Once,
            (Active::On, _) => Mode::On,
            (Active::N(n), Mode::Count(c)) => Mode::Count(c.saturating_add(n)),
            (Active::N(n), _) => Mode::Count(n),
        }
    }

    /// The mode after one delivered chunk, and whether a count ran out
    /// (then [`TcpPassive`] is due).
    fn spend(self) -> (Mode, bool) {
        match self {
            Mode::Once => (Mode::Off, false),
            Mode::Count(1) => (Mode::Off, true),
            Mode::Count(c) => (Mode::Count(c.saturating_sub(1)), false),
            m => (m, false),
        }
    }
}

impl State {
    /// Run a passive read `f` (under the lock), or refuse it in active mode.
    pub(crate) fn passive_read<R>(
        &self,
        id: SocketId,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let g = self.inner.lock();
        if g.mode != Mode::Off {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bream::net: {id} is in active mode: its data arrives as messages (set_active(Active::Off) to read)"),
            ));
        }
        let r = f();
        drop(g);
        r
    }
}

/// `set_active(mode)` for the stream `sh`; the caller owns it.
pub(crate) fn set(sh: &Arc<Shared>, mode: Active) -> io::Result<()> {
    let id = sh.sock.id;
    let mut g = sh.active.inner.lock();
    if g.done || sh.sock.is_closed() {
        return Err(closed());
    }
    g.mode = g.mode.set(mode);
    if g.mode == Mode::Count(0) {
        g.mode = Mode::Off;
        crate::send(crate::self_pid(), TcpPassive { socket: id });
        return Ok(());
    }
    if g.mode == Mode::Off {
        return Ok(());
    }
    match &g.reader {
        Some(t) => t.unpark(),
        None => {
            let rt = crate::process::current("net::TcpStream::set_active")
                .rt
                .clone();
            let (sh2, rt2) = (sh.clone(), rt.clone());
            let t = rt
                .scheduler
                .spawn(SpawnOpts::default(), Arc::new(Reader), move || {
                    read_loop(&sh2, &rt2)
                })
                .map_err(|e| {
                    io::Error::other(format!(
                        "bream::net: cannot start the active-mode reader: {e}"
                    ))
                })?;
            g.reader = Some(t);
        }
    }
    Ok(())
}

/// The handle is being dropped: no more deliveries; cancel the reader.
pub(crate) fn stop(sh: &Shared) {
    let reader = {
        let mut g = sh.active.inner.lock();
        g.done = true;
        g.mode = Mode::Off;
        g.reader.take()
    };
    if let Some(t) = reader {
        t.cancel();
    }
}

/// What the reader does after one step.
enum Step {
    Park,
    WaitReadable(bream_scheduler::io::ReadyEvent),
    Again,
    Exit,
}

/// The reader task's body (the module essay's recipe).
fn read_loop(sh: &Shared, rt: &Runtime) {
    let mut buf = [0u8; READ_CHUNK];
    loop {
        match step(sh, rt, &mut buf) {
            Step::Park => task::park(),
            Step::WaitReadable(mut ev) => {
                ev.ready = Ready::READABLE;
                sh.sock.reg.clear_readiness(ev);
                sh.sock.reg.wait(Interest::READABLE);
            }
            Step::Again => task::reduce(1),
            Step::Exit => return,
        }
    }
}

fn step(sh: &Shared, rt: &Runtime, buf: &mut [u8]) -> Step {
    let id = sh.sock.id;
    let ev = sh.sock.reg.readiness();
    let mut g = sh.active.inner.lock();
    if g.done {
        return Step::Exit;
    }
    if g.mode == Mode::Off {
        return Step::Park;
    }
    let owner = sh.sock.owner();
    let delivered = match sh.sock.try_io(|s| (&*s).read(buf)) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::WaitReadable(ev),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => return Step::Again,
        Ok(0) => {
            g.done = true;
            rt.deliver(owner, TcpClosed { socket: id })
        }
        Ok(n) => {
            let ok = rt.deliver(
                owner,
                Tcp {
                    socket: id,
                    data: buf[..n].to_vec(),
                },
            );
            let (mode, passive) = g.mode.spend();
            g.mode = mode;
            if passive {
                rt.deliver(owner, TcpPassive { socket: id });
            }
            ok
        }
        Err(error) => {
            g.done = true;
            rt.deliver(owner, TcpError { socket: id, error });
            rt.deliver(owner, TcpClosed { socket: id })
        }
    };
    if !delivered {
        // The owner is dead and never dropped the handle (a stack overflow
        // abandons its frames): close the stream for it.
        g.done = true;
        drop(g);
        sh.sock.close();
        return Step::Exit;
    }
    if g.done {
        Step::Exit
    } else {
        Step::Again
    }
}

/// The reader task's owner: nothing to do at exit.
struct Reader;

impl TaskOwner for Reader {
    fn on_exit(&self, outcome: Outcome) {
        if let Outcome::Panicked(m) = outcome {
            tracing::error!("bream::net: an active-mode reader panicked: {m}");
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_follow_erlangs_active_option() {
        assert_eq!(Mode::Off.set(Active::Once).spend(), (Mode::Off, false));
        assert_eq!(Mode::On.spend(), (Mode::On, false));
        // {active, N} adds up, counts down, and reports passive at zero.
        let m = Mode::Off.set(Active::N(1)).set(Active::N(1));
        assert_eq!(m, Mode::Count(2));
        let (m, passive) = m.spend();
        assert_eq!((m, passive), (Mode::Count(1), false));
        assert_eq!(m.spend(), (Mode::Off, true));
        // Switching to another mode forgets the count.
        assert_eq!(Mode::Count(5).set(Active::Once), Mode::Once);
        assert_eq!(Mode::Count(5).set(Active::Off), Mode::Off);
        assert_eq!(
            Mode::Count(u32::MAX).set(Active::N(9)),
            Mode::Count(u32::MAX)
        );
    }
}
