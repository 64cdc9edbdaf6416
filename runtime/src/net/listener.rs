//! [`TcpListener`]: accepting connections from a process.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use bream_scheduler::io::Interest;

use crate::net::socket::{Socket, SocketId};
use crate::net::stream::{each_addr, TcpStream};
use crate::pid::Pid;

/// The backlog asked of `listen(2)` when `/proc/sys/net/core/somaxconn`
/// cannot be read: Linux's default `somaxconn` since 5.4. Go reads the same
/// file (`maxListenerBacklog`); mio's fixed 1024 overflows when 10,000
/// clients connect at once, and an overflowed SYN waits a second to retry.
const DEFAULT_BACKLOG: i32 = 4096;

/// A TCP socket listening for connections, owned by a process.
///
/// [`accept`](TcpListener::accept) parks the calling process until a client
/// connects. The accepted [`TcpStream`] is owned by the caller; the idiom
/// is a process per connection:
///
/// ```
/// use std::net::SocketAddr;
/// use bream::net::{TcpListener, TcpStream};
///
/// bream::run(|| {
///     let main = bream::self_pid();
///     // The acceptor binds its own listener: a socket belongs to the
///     // process that made it.
///     bream::spawn(move || {
///         let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///         bream::send(main, listener.local_addr().unwrap());
///         loop {
///             let (conn, _) = listener.accept().unwrap();
///             let handler = bream::spawn(|| {
///                 let conn: TcpStream = bream::receive();
///                 let mut buf = [0u8; 64];
///                 while let Ok(n @ 1..) = conn.read(&mut buf) {
///                     conn.write_all(&buf[..n]).unwrap();
///                 }
///             });
///             conn.controlling_process(handler).unwrap();
///             bream::send(handler, conn);
///         }
///     });
///     let addr: SocketAddr = bream::receive();
///     let c = TcpStream::connect(addr).unwrap();
///     c.write_all(b"echo").unwrap();
///     let mut back = [0u8; 4];
///     c.read_exact(&mut back).unwrap();
///     assert_eq!(&back, b"echo");
/// });
/// ```
///
/// # Ownership
///
/// The listener belongs to the process that bound it; moving it into a
/// spawned closure does not move the ownership: the new process's `accept`
/// fails with `PermissionDenied` until the owner calls
/// [`controlling_process`](TcpListener::controlling_process). Bind in the
/// process that accepts.
pub struct TcpListener {
    sock: Socket<mio::net::TcpListener>,
}

impl TcpListener {
    /// Bind to `addr` and listen (port 0 picks a free port: see
    /// [`local_addr`](TcpListener::local_addr)). `SO_REUSEADDR` is set, and
    /// the backlog is the system's `somaxconn`.
    ///
    /// # Panics
    ///
    /// Outside a bream process.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |a| {
            let raw = mio::net::TcpListener::bind(a)?;
            // Calling listen(2) again on a listening socket changes its
            // backlog (Linux, `inet_listen`).
            // SAFETY: the fd is open and owned by `raw` for this call;
            // listen(2) has no memory-safety preconditions.
            if unsafe { libc::listen(raw.as_raw_fd(), backlog()) } != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(TcpListener {
                sock: Socket::new(raw, Interest::READABLE, "net::TcpListener::bind")?,
            })
        })
    }

    /// Wait for a connection and accept it; the stream is owned by the
    /// caller.
    ///
    /// # Errors
    ///
    /// `PermissionDenied` from a process that does not own the listener; the
    /// errors of `accept(2)` (say, `EMFILE` when out of file descriptors).
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_until(None)
    }

    /// [`accept`](TcpListener::accept), giving up with `TimedOut` after `timeout`.
    pub fn accept_timeout(&self, timeout: Duration) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_until(Instant::now().checked_add(timeout))
    }

    fn accept_until(&self, deadline: Option<Instant>) -> io::Result<(TcpStream, SocketAddr)> {
        self.sock.check_owner("net::TcpListener::accept")?;
        crate::reduce(1);
        let (raw, peer) = self.sock.io(Interest::READABLE, deadline, |l| l.accept())?;
        Ok((TcpStream::from_mio(raw, "net::TcpListener::accept")?, peer))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.try_io(|l| l.local_addr())
    }

    /// Its id.
    pub fn id(&self) -> SocketId {
        self.sock.id
    }

    /// The owning process.
    pub fn owner(&self) -> Pid {
        self.sock.owner()
    }

    /// Make `pid` the owner; then send it the listener. See
    /// [`TcpStream::controlling_process`].
    ///
    /// # Errors
    ///
    /// `PermissionDenied` unless the caller owns the listener.
    pub fn controlling_process(&self, pid: Pid) -> io::Result<()> {
        self.sock
            .set_owner(pid, "net::TcpListener::controlling_process")
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        self.sock.close();
    }
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("id", &self.id())
            .field("owner", &self.owner())
            .field("local", &self.local_addr().ok())
            .finish()
    }
}

/// The system's `somaxconn`, or [`DEFAULT_BACKLOG`].
fn backlog() -> i32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_BACKLOG)
}
