//! [`UdpSocket`]: datagrams from a process.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use bream_scheduler::io::Interest;

use crate::net::socket::{Socket, SocketId};
use crate::net::stream::each_addr;
use crate::pid::Pid;

/// A UDP socket owned by a process. `recv_from` parks the process until a
/// datagram arrives (or the read timeout passes); `send_to` parks only while
/// the send buffer is full.
///
/// ```
/// use bream::net::UdpSocket;
///
/// bream::run(|| {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     a.send_to(b"hi", b.local_addr().unwrap()).unwrap();
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).unwrap();
///     assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr().unwrap()));
/// });
/// ```
///
/// Active mode is not offered for UDP (yet); ownership works as for
/// [`TcpStream`](crate::net::TcpStream).
pub struct UdpSocket {
    sock: Socket<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Bind to `addr` (port 0 picks a free port).
    ///
    /// # Panics
    ///
    /// Outside a bream process.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(addr, |a| {
            let raw = mio::net::UdpSocket::bind(a)?;
            Ok(UdpSocket {
                sock: Socket::new(
                    raw,
                    Interest::READABLE | Interest::WRITABLE,
                    "net::UdpSocket::bind",
                )?,
            })
        })
    }

    /// Send one datagram to `addr`; the number of bytes sent.
    ///
    /// # Errors
    ///
    /// `PermissionDenied` from another process; `TimedOut`; the errors of
    /// `sendto(2)` (a datagram larger than 64 KiB: `EMSGSIZE`).
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        self.sock.check_owner("net::UdpSocket::send_to")?;
        crate::reduce(1);
        let deadline = self.sock.write_deadline();
        each_addr(addr, |a| {
            self.sock
                .io(Interest::WRITABLE, deadline, |s| s.send_to(buf, a))
        })
    }

    /// Wait for one datagram; its length (truncated to `buf`) and its sender.
    ///
    /// # Errors
    ///
    /// `PermissionDenied` from another process; `TimedOut` after the read
    /// timeout; the errors of `recvfrom(2)`.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.sock.check_owner("net::UdpSocket::recv_from")?;
        crate::reduce(1);
        let deadline = self.sock.read_deadline();
        self.sock
            .io(Interest::READABLE, deadline, |s| s.recv_from(buf))
    }

    /// Set the default destination (and the only accepted source) for
    /// [`send`](UdpSocket::send) and [`recv`](UdpSocket::recv).
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        self.sock.check_owner("net::UdpSocket::connect")?;
        each_addr(addr, |a| self.sock.try_io(|s| s.connect(a)))
    }

    /// Send one datagram to the connected address.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock.check_owner("net::UdpSocket::send")?;
        crate::reduce(1);
        let deadline = self.sock.write_deadline();
        self.sock.io(Interest::WRITABLE, deadline, |s| s.send(buf))
    }

    /// Wait for one datagram from the connected address.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` if an earlier datagram was refused by the peer's
    /// host (ICMP port unreachable), and those of [`recv_from`](UdpSocket::recv_from).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.check_owner("net::UdpSocket::recv")?;
        crate::reduce(1);
        let deadline = self.sock.read_deadline();
        self.sock.io(Interest::READABLE, deadline, |s| s.recv(buf))
    }

    /// Bound each later receive (`None`: for ever).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration.
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(d)
    }

    /// Bound each later send (`None`: for ever).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration.
    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.sock.set_write_timeout(d)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.try_io(|s| s.local_addr())
    }

    /// Its id.
    pub fn id(&self) -> SocketId {
        self.sock.id
    }

    /// The owning process.
    pub fn owner(&self) -> Pid {
        self.sock.owner()
    }

    /// Make `pid` the owner; then send it the socket.
    ///
    /// # Errors
    ///
    /// `PermissionDenied` unless the caller owns the socket.
    pub fn controlling_process(&self, pid: Pid) -> io::Result<()> {
        self.sock
            .set_owner(pid, "net::UdpSocket::controlling_process")
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        self.sock.close();
    }
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSocket")
            .field("id", &self.id())
            .field("owner", &self.owner())
            .field("local", &self.local_addr().ok())
            .finish()
    }
}
