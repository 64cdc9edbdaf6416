//! `serve`: snapshots over a local TCP socket, for `bream-observer`.
//!
//! A plain OS thread, not a process: it blocks in `accept` and costs the
//! program nothing until an observer connects; it holds the runtime only
//! weakly, so it neither keeps a shut-down runtime alive nor serves one.
//! Each connection gets its own thread and asks for what it wants
//! (wire.rs): a snapshot, or a kill.

use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use super::snapshot::take;
use super::wire;
use crate::exit::Signal;
use crate::process::current;
use crate::reason::ExitReason;
use crate::runtime::{Runtime, Shared};
use crate::Pid;

/// A running observer server. Dropping it leaves the server running (as
/// long as the runtime does); [`stop`](Self::stop) ends it.
#[derive(Debug)]
pub struct ObserverHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl ObserverHandle {
    /// Where it listens (useful after asking for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting observers (connections already open are served
    /// until they close).
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Serves the calling process's runtime to `bream-observer` on `addr`
/// (`"127.0.0.1:7700"`; port 0 picks one: see [`ObserverHandle::addr`]).
/// Snapshots are taken only when an observer asks; while none is
/// connected this costs one idle thread.
///
/// ```
/// bream::run(|| {
///     let h = bream::observer::serve("127.0.0.1:0").unwrap();
///     // `bream-observer 127.0.0.1:<port>` would attach here.
///     assert_ne!(h.addr().port(), 0);
///     h.stop();
/// });
/// ```
///
/// # Errors
/// If the address cannot be bound.
///
/// # Panics
/// Outside a bream process (use [`Runtime::serve_observer`] there).
pub fn serve(addr: impl ToSocketAddrs) -> io::Result<ObserverHandle> {
    start(&current("observer::serve").rt, addr)
}

impl Runtime {
    /// [`serve`](crate::observer::serve), from outside the runtime.
    ///
    /// # Errors
    /// If the address cannot be bound.
    pub fn serve_observer(&self, addr: impl ToSocketAddrs) -> io::Result<ObserverHandle> {
        start(self.shared(), addr)
    }
}

fn start(rt: &Arc<Shared>, addr: impl ToSocketAddrs) -> io::Result<ObserverHandle> {
    let listener = TcpListener::bind(addr)?;
    let addr = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let (rt, stop2) = (Arc::downgrade(rt), stop.clone());
    std::thread::Builder::new()
        .name("bream-observer".into())
        .spawn(move || accept_loop(listener, rt, stop2))?;
    Ok(ObserverHandle { addr, stop })
}

fn accept_loop(listener: TcpListener, rt: Weak<Shared>, stop: Arc<AtomicBool>) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) || rt.strong_count() == 0 {
            return;
        }
        let Ok(conn) = conn else { continue };
        let rt = rt.clone();
        let _ = std::thread::Builder::new()
            .name("bream-observer-conn".into())
            .spawn(move || {
                let _ = session(conn, &rt);
            });
    }
}

/// One observer: commands in, answers out, until it hangs up or the
/// runtime is gone.
fn session(conn: TcpStream, rt: &Weak<Shared>) -> io::Result<()> {
    let mut input = BufReader::new(conn.try_clone()?);
    let mut out = BufWriter::new(conn);
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let Some(rt) = rt.upgrade() else {
            return Ok(());
        };
        let mut words = line.split_whitespace();
        match (
            words.next(),
            words.next().and_then(|w| w.parse::<u64>().ok()),
        ) {
            (Some("snapshot"), _) => wire::write(&take(&rt), &mut out)?,
            (Some("kill"), Some(bits)) => {
                let ok = kill(&rt, Pid::from_bits(bits));
                writeln!(out, "{}", if ok { "ok" } else { "noproc" })?;
            }
            _ => writeln!(out, "error: commands are `snapshot` and `kill <pid bits>`")?,
        }
        out.flush()?;
    }
}

/// `exit(pid, kill)` from outside any process: the exit signal names the
/// victim as its sender (there is no observer process to name).
fn kill(rt: &Shared, pid: Pid) -> bool {
    let sig = Signal::Exit {
        from: pid,
        reason: ExitReason::Kill,
        link: false,
    };
    rt.deliver_signal(pid, sig)
}
