//! `bream::net`: TCP and UDP sockets for processes, in a plain blocking style.
//!
//! A process calls `stream.read(&mut buf)` as it would with `std::net`, and
//! when no data is there the *process* parks, never its worker: the worker
//! runs other processes, and the scheduler's one `mio::Poll` (watched by an
//! idle worker, see `bream_scheduler::io`) unparks the process when the socket
//! becomes ready. The book chapter is docs/io.md; it tells the path of one
//! readiness event step by step.
//!
//! # Vocabulary
//!
//! - **Socket**: one of [`TcpListener`], [`TcpStream`], [`UdpSocket`]: a
//!   non-blocking mio socket, its registration with the scheduler's poller,
//!   and the pid of its **owner**.
//! - **Owner**: the process that may use the socket (Erlang's *controlling
//!   process*). The process that creates a socket owns it;
//!   [`TcpStream::controlling_process`] hands it to another. A call from any
//!   other process fails with [`io::ErrorKind::PermissionDenied`](std::io::ErrorKind)
//!   (Erlang's `{error, not_owner}`).
//! - **Readiness**: what the poller learnt about a socket ("readable",
//!   "writable", "closed"), sticky until an operation fails with
//!   `WouldBlock` (mio is edge-triggered).
//! - **Active mode**: instead of calling `read`, the owner receives the data as
//!   messages ([`Tcp`], [`TcpClosed`], [`TcpError`], [`TcpPassive`]), so one
//!   `receive!` waits on a socket and on other messages at once.
//!
//! # Why a socket is a value, and what closes it
//!
//! The socket is closed when its handle is dropped. A process's handles live
//! on its stack (or in its mailbox), and a process that exits — returns,
//! panics, is killed, even while parked in `read` — is unwound, which drops
//! them: the fd is closed and the registration forgotten. The one exit that
//! does not unwind is a stack overflow (docs/architecture.md §3): the frames are
//! abandoned, and the sockets they held stay open (see docs/io.md, "Limits").
//!
//! # Rejected designs
//!
//! - *A thread per blocking socket call*: the point of a process per
//!   connection is that 10,000 of them cost 10,000 small stacks, not threads.
//! - *Level-triggered re-registration per wait* (`epoll_ctl` each time, as
//!   `{active, once}` does in the BEAM's inet driver): one syscall more per
//!   wait; mio's edge-triggered registration is made once, at creation.
//!
//! | module     | what it holds                                              |
//! |------------|------------------------------------------------------------|
//! | `wait`     | how a process waits for readiness: deadline, kill          |
//! | `socket`   | what every socket shares: fd, registration, owner, timeouts |
//! | `stream`   | [`TcpStream`]: connect, read, write, shutdown, `Read`/`Write` |
//! | `listener` | [`TcpListener`]: bind, accept                              |
//! | `udp`      | [`UdpSocket`]: datagrams                                   |
//! | `active`   | active mode: [`Active`], the messages, the reader task     |

mod active;
mod listener;
mod socket;
mod stream;
mod udp;
mod wait;

pub use active::{Active, Tcp, TcpClosed, TcpError, TcpPassive};
pub use listener::TcpListener;
pub use socket::SocketId;
pub use stream::TcpStream;
pub use udp::UdpSocket;
