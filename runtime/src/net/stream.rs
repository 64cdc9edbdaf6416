//! [`TcpStream`]: a TCP connection used from a process, in a blocking style.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bream_scheduler::io::Interest;

use crate::net::active::{self, Active};
use crate::net::socket::{Socket, SocketId};
use crate::pid::Pid;

/// What a stream's handle and its active-mode reader task share.
pub(crate) struct Shared {
    pub(crate) sock: Socket<mio::net::TcpStream>,
    pub(crate) active: active::State,
}

/// A TCP connection owned by a process.
///
/// Every call that would block — [`connect`](TcpStream::connect), a `read`
/// with no data, a `write` into a full send buffer — parks the calling
/// *process* until the scheduler's poller reports the socket ready; the
/// worker thread runs other processes meanwhile. So a server is a process per
/// connection, written as straight-line code:
///
/// ```
/// use std::net::SocketAddr;
/// use bream::net::{TcpListener, TcpStream};
///
/// bream::run(|| {
///     let main = bream::self_pid();
///     bream::spawn(move || {
///         let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///         bream::send(main, listener.local_addr().unwrap());
///         let (conn, _) = listener.accept().unwrap();
///         let mut buf = [0u8; 5];
///         conn.read_exact(&mut buf).unwrap();
///         conn.write_all(&buf).unwrap(); // echo
///     });
///     let addr: SocketAddr = bream::receive();
///     let s = TcpStream::connect(addr).unwrap();
///     s.write_all(b"hello").unwrap();
///     let mut back = [0u8; 5];
///     s.read_exact(&mut back).unwrap();
///     assert_eq!(&back, b"hello");
/// });
/// ```
///
/// # Ownership
///
/// The process that connected (or accepted) owns the stream; only it may use
/// it, and [`controlling_process`](TcpStream::controlling_process) hands it
/// over. Another process's call fails with `PermissionDenied`. Dropping the
/// stream closes it; so does the owner's exit, killed or not, because exiting
/// unwinds the owner and drops what it holds.
///
/// # Timeouts
///
/// [`set_read_timeout`](TcpStream::set_read_timeout) and
/// [`set_write_timeout`](TcpStream::set_write_timeout) bound each call
/// (`read_exact` and `write_all` as a whole); a call that runs out of time
/// fails with [`io::ErrorKind::TimedOut`] and can be retried.
///
/// # Active mode
///
/// [`set_active`](TcpStream::set_active) turns reads into messages; see
/// [`Active`].
pub struct TcpStream {
    shared: Arc<Shared>,
}

impl TcpStream {
    /// Connect to `addr` (each address it resolves to, in turn), parking the
    /// process until the connection is made or refused.
    ///
    /// A name (not an IP literal) is resolved by the system resolver, which
    /// blocks the worker thread; servers should pass addresses.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` when nothing listens, and the other errors of
    /// `connect(2)`; the last address's error when several were tried.
    ///
    /// # Panics
    ///
    /// Outside a bream process.
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |a| Self::connect_until(a, None))
    }

    /// [`connect`](TcpStream::connect) to one address, giving up with
    /// `TimedOut` after `timeout`.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        Self::connect_until(*addr, Instant::now().checked_add(timeout))
    }

    fn connect_until(addr: SocketAddr, deadline: Option<Instant>) -> io::Result<TcpStream> {
        let raw = mio::net::TcpStream::connect(addr)?;
        let stream = Self::from_mio(raw, "net::TcpStream::connect")?;
        // Connected when writable with no pending error (connect(2)'s
        // EINPROGRESS protocol); `peer_addr` failing with NotConnected means
        // "still in progress".
        stream.shared.sock.io(Interest::WRITABLE, deadline, |s| {
            if let Some(e) = s.take_error()? {
                return Err(e);
            }
            match s.peer_addr() {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        })?;
        Ok(stream)
    }

    /// Wrap a connected mio stream, owned by the calling process.
    pub(crate) fn from_mio(raw: mio::net::TcpStream, what: &str) -> io::Result<TcpStream> {
        let sock = Socket::new(raw, Interest::READABLE | Interest::WRITABLE, what)?;
        Ok(TcpStream {
            shared: Arc::new(Shared {
                sock,
                active: active::State::default(),
            }),
        })
    }

    /// Read what is there (at least one byte), parking until something is;
    /// `Ok(0)` at end of stream (the peer shut down its writing half or
    /// closed).
    ///
    /// # Errors
    ///
    /// `TimedOut` after the read timeout; `PermissionDenied` from a process
    /// that does not own the stream; `InvalidInput` in active mode (the data
    /// arrives as messages); `ConnectionReset` and the other errors of
    /// `read(2)`.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_until(buf, self.shared.sock.read_deadline())
    }

    fn read_until(&self, buf: &mut [u8], deadline: Option<Instant>) -> io::Result<usize> {
        let sh = &*self.shared;
        sh.sock.check_owner("net::TcpStream::read")?;
        crate::reduce(1);
        sh.sock.io(Interest::READABLE, deadline, |s| {
            sh.active.passive_read(sh.sock.id, || (&*s).read(buf))
        })
    }

    /// Read exactly `buf.len()` bytes; the read timeout bounds the whole call.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first (what was read is lost, as
    /// with `std`), and the errors of [`read`](TcpStream::read).
    pub fn read_exact(&self, mut buf: &mut [u8]) -> io::Result<()> {
        let deadline = self.shared.sock.read_deadline();
        while !buf.is_empty() {
            match self.read_until(buf, deadline)? {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "bream::net: the stream ended before the buffer was filled",
                    ))
                }
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    /// Write some of `buf` (at least one byte unless `buf` is empty), parking
    /// while the send buffer is full.
    ///
    /// # Errors
    ///
    /// `TimedOut` after the write timeout; `PermissionDenied` from another
    /// process; `BrokenPipe` once the peer closed; the errors of `write(2)`.
    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.write_until(buf, self.shared.sock.write_deadline())
    }

    fn write_until(&self, buf: &[u8], deadline: Option<Instant>) -> io::Result<usize> {
        let sock = &self.shared.sock;
        sock.check_owner("net::TcpStream::write")?;
        crate::reduce(1);
        sock.io(Interest::WRITABLE, deadline, |s| (&*s).write(buf))
    }

    /// Write all of `buf`, however many partial writes it takes; the write
    /// timeout bounds the whole call.
    ///
    /// # Errors
    ///
    /// As [`write`](TcpStream::write); `WriteZero` if the socket accepts
    /// nothing more.
    pub fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        let deadline = self.shared.sock.write_deadline();
        while !buf.is_empty() {
            match self.write_until(buf, deadline)? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Shut down the reading half, the writing half, or both. After
    /// `Shutdown::Write` the peer reads end-of-stream, and this side can still
    /// read what the peer sends (a half-close).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.shared.sock.check_owner("net::TcpStream::shutdown")?;
        self.shared.sock.try_io(|s| s.shutdown(how))
    }

    /// Bound each later read call (`None`: wait for ever, the default).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration, as `std::net`.
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.shared.sock.set_read_timeout(d)
    }

    /// Bound each later write call (`None`: wait for ever, the default).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration.
    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.shared.sock.set_write_timeout(d)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> Option<Duration> {
        self.shared.sock.read_timeout()
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> Option<Duration> {
        self.shared.sock.write_timeout()
    }

    /// Disable (true) or enable Nagle's algorithm.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.shared.sock.try_io(|s| s.set_nodelay(on))
    }

    /// The address of the peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.shared.sock.try_io(|s| s.peer_addr())
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.sock.try_io(|s| s.local_addr())
    }

    /// The id that active-mode messages carry.
    pub fn id(&self) -> SocketId {
        self.shared.sock.id
    }

    /// The owning process.
    pub fn owner(&self) -> Pid {
        self.shared.sock.owner()
    }

    /// Make `pid` the owner (Erlang's `gen_tcp:controlling_process/2`): from
    /// now on only `pid` may use the stream, and active-mode messages go to
    /// it. Then move the handle to it, in a message:
    ///
    /// ```
    /// use std::io::Read;
    /// use bream::net::{TcpListener, TcpStream};
    ///
    /// bream::run(|| {
    ///     let l = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let main = bream::self_pid();
    ///     let handler = bream::spawn(move || {
    ///         let conn: TcpStream = bream::receive();
    ///         let mut s = String::new();
    ///         (&conn).read_to_string(&mut s).unwrap();
    ///         bream::send(main, s);
    ///     });
    ///     bream::spawn(move || {
    ///         let c = TcpStream::connect(addr).unwrap();
    ///         c.write_all(b"hi").unwrap();
    ///     }); // `c` is dropped: the handler reads "hi", then end of stream
    ///     let (conn, _) = l.accept().unwrap();
    ///     conn.controlling_process(handler).unwrap();
    ///     bream::send(handler, conn);
    ///     assert_eq!(bream::receive::<String>(), "hi");
    /// });
    /// ```
    ///
    /// Messages already delivered stay in the old owner's mailbox.
    ///
    /// # Errors
    ///
    /// `PermissionDenied` unless the caller owns the stream.
    pub fn controlling_process(&self, pid: Pid) -> io::Result<()> {
        self.shared
            .sock
            .set_owner(pid, "net::TcpStream::controlling_process")
    }

    /// Switch between passive mode (`Active::Off`, the default: call
    /// [`read`](TcpStream::read)) and active mode, where the data arrives in
    /// the owner's mailbox as [`Tcp`](crate::net::Tcp) messages. See
    /// [`Active`] for the modes and the messages.
    ///
    /// # Errors
    ///
    /// `PermissionDenied` unless the caller owns the stream; `NotConnected`
    /// once it is closed.
    pub fn set_active(&self, mode: Active) -> io::Result<()> {
        self.shared.sock.check_owner("net::TcpStream::set_active")?;
        active::set(&self.shared, mode)
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        active::stop(&self.shared);
        self.shared.sock.close();
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        TcpStream::read(self, buf)
    }
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        TcpStream::read_exact(self, buf)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        TcpStream::read(self, buf)
    }
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        TcpStream::read_exact(self, buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        TcpStream::write(self, buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        TcpStream::write_all(self, buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        TcpStream::write(self, buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        TcpStream::write_all(self, buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("TcpStream");
        d.field("id", &self.id()).field("owner", &self.owner());
        if let Ok(a) = self.local_addr() {
            d.field("local", &a);
        }
        if let Ok(a) = self.peer_addr() {
            d.field("peer", &a);
        }
        d.finish()
    }
}

/// Try `f` on each address `addr` resolves to; the first success, or the
/// last error.
pub(crate) fn each_addr<A: ToSocketAddrs, R>(
    addr: A,
    mut f: impl FnMut(SocketAddr) -> io::Result<R>,
) -> io::Result<R> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(a) {
            Ok(r) => return Ok(r),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "bream::net: the address resolved to nothing",
        )
    }))
}
