//! Connections: one bream process per connected node.
//!
//! # Vocabulary
//!
//! - **Connection process**: owns the socket to one peer (Erlang's
//!   `dist_util` + the port's output queue in one). It is started by the
//!   acceptor for an incoming connection, or by the first command for a node
//!   we are not connected to (an outgoing one).
//! - **Command** ([`Cmd`]): what any local process asks of a connection — a
//!   packet to write, a link or monitor to record and announce, a node
//!   monitor. Commands and encoded packets queue in the connection's
//!   **outbox** (outbox.rs, ADR dist-0002), one ordered queue, so what one
//!   process sends a remote one leaves in order, as Erlang promises per pair
//!   of processes. The mailbox carries only [`Cmd::Flush`]: "the outbox has
//!   something", one per batch.
//! - **Records**: the links and monitors between local processes and
//!   processes of the peer. They exist so that a lost connection can tell
//!   every local end: links fire with `NoConnection`, monitors deliver a
//!   `Down` with `NoConnection`, node monitors get `NodeDown`.
//!
//! # A connection's life
//!
//! 1. Setup. Outgoing: look up the peer's port (EPMD, or the configured
//!    address), connect, run the handshake as A. Incoming: run it as B,
//!    deciding simultaneous attempts by name as `net_kernel` does. Commands
//!    queued meanwhile wait in the outbox. A failed setup logs why and fails
//!    every waiting command (`NoConnection`), or hands them to the connection
//!    that won a simultaneous attempt (in front of its own).
//! 2. Up: the socket is in active mode; one `receive!` takes socket data,
//!    flushes and tick timers. A flush writes everything the outbox holds
//!    with one `write`. Each complete packet is handled at once, where it
//!    lies in the chunk that brought it; a packet that cannot be parsed, an
//!    unknown control message, a length over the limit, or nothing received
//!    for `net_ticktime` ends the connection with a logged reason. Every quarter of `net_ticktime` without output, a
//!    tick (an empty packet) is written.
//! 3. Down: remove the table entry (new commands start a new connection),
//!    fire every record with `NoConnection`, then fail the commands still in
//!    the outbox. Nothing panics: a peer's bytes can end only its own
//!    connection.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bream::net::{Active, Tcp, TcpClosed, TcpError, TcpListener, TcpStream};
use bream::{Down, ExitReason, MonitorRef, Pid};

use crate::control::{self as c, ctrl, packet, reason_from_term, reason_to_term};
use crate::handshake::{self, Admit, Peer};
use crate::node::{Node, NodeDown, Route};
use crate::outbox::Outbox;
use crate::{nodes, Atom, ExternalRef, Term};

/// What a local process asks of a connection (module essay).
#[derive(Debug)]
pub(crate) enum Cmd {
    /// Write this packet. `node` is the target pid's node index (0 for a
    /// send by name): a packet for another incarnation of the peer is dropped.
    Packet { node: u32, bytes: Vec<u8> },
    /// `local` linked to `remote`.
    Link { local: Pid, remote: Pid },
    /// `local` unlinked `remote`.
    Unlink { local: Pid, remote: Pid },
    /// `local` monitors `remote` with `r`.
    Monitor {
        local: Pid,
        remote: Pid,
        r: MonitorRef,
    },
    /// `local` dropped monitor `r` of `remote`.
    Demonitor {
        local: Pid,
        remote: Pid,
        r: MonitorRef,
    },
    /// An exit signal from `from` (local) to `to` (remote).
    Exit {
        from: Pid,
        to: Pid,
        reason: ExitReason,
        link: bool,
    },
    /// A local process `to` monitors has exited.
    Down { to: Pid, down: Down },
    /// Send this process a [`NodeDown`] when the connection is lost.
    MonitorNode(Pid),
    /// Forget one [`Cmd::MonitorNode`] of this process.
    DemonitorNode(Pid),
    /// Close the connection (`disconnect_node`).
    Disconnect,
    /// The one message in a connection's mailbox: its outbox has something
    /// (outbox.rs). Every other command is queued in the outbox.
    Flush,
}

/// A socket handed from the acceptor to a new connection process.
struct Handoff(TcpStream);

/// The tick timer's message.
#[derive(Debug)]
struct Tick;

/// Starts an outgoing connection process to `peer` (the caller inserts it in
/// the table, under the lock).
pub(crate) fn spawn_outgoing(node: Arc<Node>, peer: String, outbox: Arc<Outbox>) -> Pid {
    bream::spawn(move || {
        let stream = match connect(&node, &peer) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(node = %node.name, %peer, "bream-dist: cannot connect: {e}");
                return fail_setup(&node, &peer, &outbox, false);
            }
        };
        let me = handshake::Me {
            name: &node.name,
            creation: node.creation,
            cookie: &node.cookie,
        };
        match handshake::connect(&stream, &me, &peer) {
            Ok(p) => Conn::up(&node, stream, p, outbox).run(),
            Err(e) => {
                tracing::warn!(node = %node.name, %peer, "bream-dist: handshake failed: {e}");
                let lost = matches!(e, handshake::HandshakeError::Refused(_));
                fail_setup(&node, &peer, &outbox, lost)
            }
        }
    })
}

/// Finds the peer's port (EPMD or configuration) and connects.
fn connect(node: &Node, peer: &str) -> io::Result<TcpStream> {
    if let Some(addr) = node_cfg_peer(node, peer) {
        return TcpStream::connect_timeout(&addr, handshake::SETUP_TIME);
    }
    let (alive, host) = peer.split_once('@').unwrap_or((peer, "localhost"));
    let host = host.to_string();
    let ip: IpAddr = match host.parse() {
        Ok(ip) => ip,
        Err(_) => bream::blocking(move || {
            (host.as_str(), 0)
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.find(|a| a.is_ipv4()))
                .map(|a| a.ip())
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "cannot resolve the host"))?,
    };
    let port = if node.uses_epmd() {
        crate::epmd::port_please(ip, alive)?
    } else {
        node.port
    };
    TcpStream::connect_timeout(&SocketAddr::new(ip, port), handshake::SETUP_TIME)
}

fn node_cfg_peer(node: &Node, peer: &str) -> Option<SocketAddr> {
    node.peer_addr(peer)
}

/// Setup failed: leave the table (or hand our commands to the connection
/// that replaced us), then fail what waits in the outbox.
fn fail_setup(node: &Node, peer: &str, outbox: &Outbox, maybe_replaced: bool) {
    let me = bream::self_pid();
    {
        let mut conns = node.conns();
        match conns.get(peer) {
            Some(e) if e.pid == me => {
                conns.remove(peer);
            }
            // Handed over with the table locked, so the successor cannot
            // have drained its outbox yet (it removes itself first).
            Some(e) if maybe_replaced && outbox.move_to_front_of(&e.outbox) => {
                node.rt.send(e.pid, Cmd::Flush);
            }
            _ => {}
        }
    }
    drain(outbox, peer);
}

/// Fails every command left in `outbox` (whose connection has left the
/// table), and empties the mailbox (only `Flush`es).
fn drain(outbox: &Outbox, peer: &str) {
    let mut bytes = Vec::new();
    for (_, cmd) in outbox.take(&mut bytes) {
        fail(cmd, peer);
    }
    while let Some(cmd) = bream::receive_timeout::<Cmd>(Duration::ZERO) {
        fail(cmd, peer);
    }
}

/// What a command becomes when its connection is gone.
fn fail(cmd: Cmd, peer: &str) {
    match cmd {
        Cmd::Link { local, remote } => {
            bream::__remote::signal_exit(local, remote, ExitReason::NoConnection, true);
        }
        Cmd::Monitor { local, remote, r } => {
            let down = Down {
                monitor: r,
                pid: remote,
                reason: ExitReason::NoConnection,
            };
            bream::__remote::signal_down(local, down);
        }
        Cmd::MonitorNode(p) => bream::send(
            p,
            NodeDown {
                node: peer.to_string(),
            },
        ),
        _ => {}
    }
}

/// Starts the acceptor: it owns the listener and starts a connection process
/// per accepted socket.
pub(crate) fn spawn_acceptor(node: Arc<Node>, listener: TcpListener) -> io::Result<()> {
    let pid = bream::spawn(move || {
        let listener: Handoff2 = bream::receive();
        loop {
            match listener.0.accept() {
                Ok((s, from)) => {
                    let node = Arc::clone(&node);
                    let pid = bream::spawn(move || {
                        let Handoff(s) = bream::receive::<Handoff>();
                        accept(&node, s);
                    });
                    match s.controlling_process(pid) {
                        Ok(()) => bream::send(pid, Handoff(s)),
                        Err(e) => {
                            tracing::warn!(%from, "bream-dist: cannot hand over a connection: {e}");
                            bream::exit(pid, ExitReason::Kill);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!("bream-dist: accept failed: {e}");
                    bream::sleep(Duration::from_millis(100));
                }
            }
        }
    });
    listener.controlling_process(pid)?;
    bream::send(pid, Handoff2(listener));
    Ok(())
}

struct Handoff2(TcpListener);

/// Keeps the EPMD registration (its connection) open for the node's life.
pub(crate) fn spawn_epmd_keeper(s: TcpStream) -> io::Result<()> {
    let pid = bream::spawn(|| {
        let Handoff(s) = bream::receive::<Handoff>();
        let _ = s.set_read_timeout(None);
        let mut b = [0u8; 16];
        // EPMD sends nothing more; a read that returns means it went away.
        let r = s.read(&mut b);
        tracing::warn!(
            "bream-dist: the EPMD connection closed ({r:?}): this node is no longer registered"
        );
    });
    s.controlling_process(pid)?;
    bream::send(pid, Handoff(s));
    Ok(())
}

/// The accepting side's setup.
fn accept(node: &Arc<Node>, s: TcpStream) {
    let me_pid = bream::self_pid();
    let outbox = Arc::new(Outbox::default());
    let me = handshake::Me {
        name: &node.name,
        creation: node.creation,
        cookie: &node.cookie,
    };
    let mut claimed: Option<String> = None;
    let r = handshake::accept(&s, &me, |peer| {
        let a = admit(node, peer, me_pid, &outbox);
        if matches!(a, Admit::Ok(_)) {
            claimed = Some(peer.name.clone());
        }
        a
    });
    match r {
        Ok(p) => Conn::up(node, s, p, outbox).run(),
        Err(e) => {
            let from = s.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            tracing::warn!(node = %node.name, %from, "bream-dist: refused an incoming connection: {e}");
            if let Some(peer) = claimed {
                fail_setup(node, &peer, &outbox, false);
            }
        }
    }
}

/// Step 2 of the handshake on the accepting side: may `peer` connect?
fn admit(node: &Node, peer: &Peer, me: Pid, outbox: &Arc<Outbox>) -> Admit {
    let mut conns = node.conns();
    let status = match conns.get(&peer.name) {
        None => "ok",
        // A simultaneous attempt: the greater name keeps its own (net_kernel).
        Some(e) if e.up.is_none() && e.outgoing => {
            if node.name > peer.name {
                return Admit::Refuse("nok");
            }
            "ok_simultaneous"
        }
        Some(e) if e.up.is_none() => return Admit::Refuse("nok"),
        // Connected already: the peer restarted (we have not noticed yet) or
        // lost its end; the new connection replaces the old.
        Some(e) => {
            node.queue(e.pid, &e.outbox, Cmd::Disconnect);
            "ok"
        }
    };
    conns.insert(
        peer.name.clone(),
        crate::node::ConnEntry {
            pid: me,
            up: None,
            outgoing: false,
            outbox: Arc::clone(outbox),
        },
    );
    Admit::Ok(status)
}

/// A connection that is up (step 2 of the module essay).
struct Conn {
    node: Arc<Node>,
    stream: TcpStream,
    peer: String,
    /// The peer's node index: pids of other incarnations are not its.
    index: u32,
    /// Links between a local and a remote process: `(local, remote)`.
    links: HashSet<(Pid, Pid)>,
    /// Our monitors of remote processes: ref → (local watcher, remote target).
    monitors: HashMap<MonitorRef, (Pid, Pid)>,
    /// Remote watchers of local processes, by the peer's reference.
    watchers: HashMap<ExternalRef, Watcher>,
    /// Our ref of each remote watcher → the peer's reference.
    watcher_refs: HashMap<MonitorRef, ExternalRef>,
    node_monitors: Vec<Pid>,
    /// Where local processes queue for this connection (outbox.rs).
    outbox: Arc<Outbox>,
    /// The batch buffer not in the outbox: empty between flushes, swapped
    /// with the outbox's at each (both keep their capacity).
    out: Vec<u8>,
    /// The peer's node name as encoded bytes: how its pids arrive
    /// (`fast_send`).
    peer_atom: Vec<u8>,
    /// Bytes received and not yet a whole packet.
    buf: Vec<u8>,
    last_in: Instant,
    wrote: bool,
    unlink_id: u64,
}

/// A `NEW_PID_EXT` at the start of `b` whose node is the atom encoded as
/// `node`: `(id, serial, creation)` and the bytes it takes.
fn pid_at(b: &[u8], node: &[u8]) -> Option<((u32, u32, u32), usize)> {
    let n = 1 + node.len();
    let rest = b.get(n..n + 12)?;
    if b[0] != crate::etf::tag::NEW_PID || &b[1..n] != node {
        return None;
    }
    let word = |i: usize| u32::from_be_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
    Some(((word(0), word(4), word(8)), n + 12))
}

struct Watcher {
    remote: Pid,
    local: Pid,
    r: MonitorRef,
    /// Monitored by name: MONITOR_P_EXIT names it the same way.
    name: Option<Atom>,
}

impl Conn {
    fn up(node: &Arc<Node>, stream: TcpStream, p: Peer, outbox: Arc<Outbox>) -> Conn {
        let peer_atom = Atom::new(&p.name);
        let index = nodes::intern(&peer_atom, p.creation);
        let peer_atom = c::atom_ext(&peer_atom);
        {
            let mut conns = node.conns();
            let me = bream::self_pid();
            conns.insert(
                p.name.clone(),
                crate::node::ConnEntry {
                    pid: me,
                    up: Some(index),
                    outgoing: false,
                    outbox: Arc::clone(&outbox),
                },
            );
            let route = Route {
                pid: me,
                outbox: Arc::clone(&outbox),
                peer_atom: peer_atom.clone(),
                peer_creation: p.creation,
            };
            conns.up.insert(index, Arc::new(route));
        }
        tracing::info!(node = %node.name, peer = %p.name, flags = p.flags, "bream-dist: connected");
        Conn {
            node: Arc::clone(node),
            stream,
            peer: p.name,
            index,
            links: HashSet::new(),
            monitors: HashMap::new(),
            watchers: HashMap::new(),
            watcher_refs: HashMap::new(),
            node_monitors: Vec::new(),
            outbox,
            out: Vec::new(),
            peer_atom,
            buf: Vec::new(),
            last_in: Instant::now(),
            wrote: false,
            unlink_id: 0,
        }
    }

    fn run(mut self) {
        let reason = match self.serve() {
            Ok(()) => "disconnected by request".to_string(),
            Err(r) => r,
        };
        tracing::warn!(node = %self.node.name, peer = %self.peer, "bream-dist: connection closed: {reason}");
        self.down();
    }

    fn serve(&mut self) -> Result<(), String> {
        let _ = self.stream.set_nodelay(true);
        self.stream
            .set_active(Active::On)
            .map_err(|e| e.to_string())?;
        let sid = self.stream.id();
        let tick = self.node.cfg_ticktime() / 4;
        let me = bream::self_pid();
        bream::send_after(tick, me, Tick);
        // What was queued during setup.
        if !self.flush()? {
            return Ok(());
        }
        loop {
            bream::receive! {
                Tcp { socket, data }: Tcp if socket == sid => {
                    self.last_in = Instant::now();
                    self.packets(data)?;
                },
                TcpClosed { socket }: TcpClosed if socket == sid => {
                    return Err("the peer closed the connection".into())
                },
                TcpError { socket, error }: TcpError if socket == sid => {
                    return Err(format!("socket error: {error}"))
                },
                cmd: Cmd => {
                    // A Flush; any other command sent here is handled the same way.
                    let mut out = Vec::new();
                    let go_on = self.command(cmd, &mut out);
                    self.write(&out)?;
                    if !go_on || !self.flush()? {
                        return Ok(());
                    }
                },
                _t: Tick => {
                    if self.last_in.elapsed() > self.node.cfg_ticktime() {
                        return Err("net_tick_timeout: nothing received for net_ticktime".into());
                    }
                    if !self.wrote {
                        self.write(&[0, 0, 0, 0])?;
                    }
                    self.wrote = false;
                    bream::send_after(tick, me, Tick);
                },
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.stream
            .write_all(bytes)
            .map_err(|e| format!("write failed: {e}"))?;
        self.wrote = true;
        Ok(())
    }

    /// Takes what the outbox holds and writes it as one batch, each command's
    /// packet in its place (outbox.rs); false after a `Disconnect`.
    fn flush(&mut self) -> Result<bool, String> {
        let mut bytes = std::mem::take(&mut self.out);
        let cmds = self.outbox.take(&mut bytes);
        let mut go_on = true;
        let r = if cmds.is_empty() {
            self.write(&bytes)
        } else {
            // Rare (links, monitors, signals, setup): splice their packets in.
            let mut merged = Vec::with_capacity(bytes.len() + 64 * cmds.len());
            let mut at = 0;
            for (offset, cmd) in cmds {
                merged.extend_from_slice(&bytes[at..offset]);
                at = offset;
                if go_on {
                    go_on = self.command(cmd, &mut merged);
                } else {
                    fail(cmd, &self.peer);
                }
            }
            if go_on {
                merged.extend_from_slice(&bytes[at..]);
            }
            self.write(&merged)
        };
        crate::outbox::recycle(&mut bytes);
        self.out = bytes;
        r.map(|()| go_on)
    }

    /// Queues the packet for `ctrl` (+ `msg`) in `out`.
    fn emit(&self, out: &mut Vec<u8>, ctrl: Term) {
        tracing::trace!(peer = %self.peer, "bream-dist: send control {ctrl}");
        match packet(&ctrl, None) {
            Ok(p) => out.extend_from_slice(&p),
            Err(e) => tracing::error!("bream-dist: cannot encode a control message: {e}"),
        }
    }

    fn ext(&self, pid: Pid) -> Term {
        self.node
            .pid_to_term(pid)
            .unwrap_or_else(|| Term::atom("undefined"))
    }

    fn ours(&self, remote: Pid) -> bool {
        remote.__node() == self.index
    }

    /// Handles one command; false for `Disconnect`.
    fn command(&mut self, cmd: Cmd, out: &mut Vec<u8>) -> bool {
        match cmd {
            Cmd::Packet { node, bytes } => {
                if node == 0 || node == self.index {
                    out.extend_from_slice(&bytes);
                }
            }
            Cmd::Link { local, remote } => {
                if !self.ours(remote) {
                    bream::__remote::signal_exit(local, remote, ExitReason::NoProc, true);
                } else if self.links.insert((local, remote)) {
                    let t = ctrl(c::LINK, vec![self.ext(local), self.ext(remote)]);
                    self.emit(out, t);
                }
            }
            Cmd::Unlink { local, remote } => {
                if self.links.remove(&(local, remote)) {
                    self.unlink_id += 1;
                    let id = Term::Int(self.unlink_id as i64);
                    let t = ctrl(c::UNLINK_ID, vec![id, self.ext(local), self.ext(remote)]);
                    self.emit(out, t);
                }
            }
            Cmd::Monitor { local, remote, r } => {
                if !self.ours(remote) {
                    let down = Down {
                        monitor: r,
                        pid: remote,
                        reason: ExitReason::NoProc,
                    };
                    bream::__remote::signal_down(local, down);
                } else {
                    self.monitors.insert(r, (local, remote));
                    let rf = Term::Ref(self.node.monitor_ref_to_term(r));
                    let t = ctrl(c::MONITOR_P, vec![self.ext(local), self.ext(remote), rf]);
                    self.emit(out, t);
                }
            }
            Cmd::Demonitor { local, remote, r } => {
                if self.monitors.remove(&r).is_some() {
                    let rf = Term::Ref(self.node.monitor_ref_to_term(r));
                    let t = ctrl(c::DEMONITOR_P, vec![self.ext(local), self.ext(remote), rf]);
                    self.emit(out, t);
                }
            }
            Cmd::Exit {
                from,
                to,
                reason,
                link,
            } => {
                if !self.ours(to) || (link && !self.links.remove(&(from, to))) {
                    return true;
                }
                let op = if link { c::EXIT } else { c::EXIT2 };
                let t = ctrl(
                    op,
                    vec![self.ext(from), self.ext(to), reason_to_term(&reason)],
                );
                self.emit(out, t);
            }
            Cmd::Down { to, down } => {
                let Some(rf) = self.watcher_refs.remove(&down.monitor) else {
                    return true;
                };
                let Some(w) = self.watchers.remove(&rf) else {
                    return true;
                };
                let from = match &w.name {
                    Some(n) => Term::Atom(n.clone()),
                    None => self.ext(w.local),
                };
                let t = ctrl(
                    c::MONITOR_P_EXIT,
                    vec![
                        from,
                        self.ext(to),
                        Term::Ref(rf),
                        reason_to_term(&down.reason),
                    ],
                );
                self.emit(out, t);
            }
            Cmd::MonitorNode(p) => self.node_monitors.push(p),
            Cmd::DemonitorNode(p) => {
                if let Some(i) = self.node_monitors.iter().position(|&q| q == p) {
                    self.node_monitors.swap_remove(i);
                }
            }
            Cmd::Disconnect => return false,
            Cmd::Flush => {}
        }
        true
    }

    /// Handles every complete packet in what arrived, after completing the
    /// one kept from the last chunk. Packets are handled where they lie in
    /// `data` (no copy); only a packet cut by the end of a chunk is copied,
    /// into `buf`, and completed from the head of the next.
    fn packets(&mut self, data: Vec<u8>) -> Result<(), String> {
        let mut out = Vec::new();
        let mut from = 0;
        let mut result = Ok(());
        if !self.buf.is_empty() {
            let mut kept = std::mem::take(&mut self.buf);
            let (took, whole) = self.complete(&mut kept, &data);
            from = took;
            match whole {
                Err(e) => result = Err(e),
                Ok(true) => {
                    if kept.len() > 4 {
                        result = self.packet(&kept[4..], &mut out);
                    }
                    kept.clear();
                }
                Ok(false) => {}
            }
            self.buf = kept;
        }
        if result.is_ok() && self.buf.is_empty() {
            let (used, r) = self.parse(&data[from..], &mut out);
            result = r;
            self.buf.extend_from_slice(&data[from + used..]);
        }
        self.write(&out)?;
        result
    }

    /// Moves bytes from the head of `data` into `kept` (a cut packet) until
    /// it is whole or `data` is used up: `(bytes taken, whole?)`.
    fn complete(&self, kept: &mut Vec<u8>, data: &[u8]) -> (usize, Result<bool, String>) {
        let mut took = (4usize.saturating_sub(kept.len())).min(data.len());
        kept.extend_from_slice(&data[..took]);
        if kept.len() < 4 {
            return (took, Ok(false));
        }
        let len = match self.frame_len(&kept[..4]) {
            Ok(len) => len,
            Err(e) => return (took, Err(e)),
        };
        let more = (4 + len - kept.len()).min(data.len() - took);
        kept.extend_from_slice(&data[took..took + more]);
        took += more;
        (took, Ok(kept.len() == 4 + len))
    }

    /// A length prefix, checked against `max_frame`.
    fn frame_len(&self, prefix: &[u8]) -> Result<usize, String> {
        let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        if len > self.node.cfg_max_frame() {
            return Err(format!(
                "a packet of {len} bytes exceeds the limit of {} (max_frame)",
                self.node.cfg_max_frame()
            ));
        }
        Ok(len)
    }

    /// Handles the whole packets at the start of `bytes`: the bytes they
    /// took (the rest is a cut packet), and the first error.
    fn parse(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> (usize, Result<(), String>) {
        let mut at = 0;
        loop {
            let rest = &bytes[at..];
            if rest.len() < 4 {
                return (at, Ok(()));
            }
            let len = match self.frame_len(rest) {
                Ok(len) => len,
                Err(e) => return (at, Err(e)),
            };
            if rest.len() < 4 + len {
                return (at, Ok(()));
            }
            at += 4 + len;
            if len == 0 {
                continue; // a tick
            }
            if let Err(e) = self.packet(&rest[4..4 + len], out) {
                return (at, Err(e));
            }
        }
    }

    /// One data packet: pass-through byte, control message, maybe a payload.
    fn packet(&mut self, p: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        if p[0] != 112 {
            return Err(format!(
                "packet type {} is not pass-through (112): this node offers no atom cache",
                p[0]
            ));
        }
        if self.fast_send(p)? {
            return Ok(());
        }
        let (ctl, used) =
            crate::decode(&p[1..]).map_err(|e| format!("bad control message: {e}"))?;
        let rest = &p[1 + used..];
        let msg = if rest.is_empty() {
            None
        } else {
            let (m, used) = crate::decode(rest).map_err(|e| format!("bad message: {e}"))?;
            if used != rest.len() {
                return Err("trailing bytes after the message".into());
            }
            Some(m)
        };
        self.control(ctl, msg, out)
    }

    /// The receive path's fast lane (ADR dist-0002): a SEND_SENDER from a
    /// pid of the peer to a pid of this node, recognised from its bytes
    /// without building the control tuple. True if handled; false for
    /// anything else (then the general path parses it, and says what is wrong
    /// with it if anything is).
    fn fast_send(&mut self, p: &[u8]) -> Result<bool, String> {
        use crate::etf::{tag, VERSION};
        let head = [112, VERSION, tag::SMALL_TUPLE, 3, tag::SMALL_INTEGER];
        if p.len() < 6 || p[..5] != head || i64::from(p[5]) != c::SEND_SENDER {
            return Ok(false);
        }
        let Some((_, from_len)) = pid_at(&p[6..], &self.peer_atom) else {
            return Ok(false);
        };
        let at = 6 + from_len;
        let Some(((id, serial, creation), to_len)) = pid_at(&p[at..], &self.node.atom_ext) else {
            return Ok(false);
        };
        let rest = &p[at + to_len..];
        if creation != self.node.creation || rest.is_empty() {
            return Ok(false);
        }
        let (m, used) = crate::decode(rest).map_err(|e| format!("bad message: {e}"))?;
        if used != rest.len() {
            return Err("trailing bytes after the message".into());
        }
        bream::__remote::deliver(Pid::__from_parts(0, id, serial), Box::new(m));
        Ok(true)
    }

    fn pid(&self, t: &Term) -> Result<Pid, String> {
        match t {
            Term::Pid(p) => Ok(self.node.pid_from_external(p)),
            other => Err(format!("expected a pid, got {other}")),
        }
    }

    /// One control message (the table in control.rs).
    fn control(&mut self, ctl: Term, msg: Option<Term>, out: &mut Vec<u8>) -> Result<(), String> {
        let f = match &ctl {
            Term::Tuple(f) if !f.is_empty() => f,
            other => return Err(format!("control message is not a tuple: {other}")),
        };
        let op = f[0].as_i64().ok_or("control message without an op")?;
        tracing::trace!(peer = %self.peer, "bream-dist: control {ctl}");
        let arity = |n: usize| -> Result<(), String> {
            if f.len() == n {
                Ok(())
            } else {
                Err(format!("control message {op} with {} fields", f.len()))
            }
        };
        let payload =
            |m: Option<Term>| m.ok_or_else(|| format!("control message {op} without its message"));
        match op {
            c::SEND | c::SEND_SENDER => {
                arity(3)?;
                let to = self.pid(&f[2])?;
                let m = payload(msg)?;
                if to.is_local() {
                    bream::__remote::deliver(to, Box::new(m));
                }
            }
            c::REG_SEND => {
                arity(4)?;
                let name = f[3].as_atom().ok_or("REG_SEND to a non-atom")?;
                let m = payload(msg)?;
                if let Some(to) = bream::whereis(name) {
                    bream::__remote::deliver(to, Box::new(m));
                }
            }
            c::LINK => {
                arity(3)?;
                let (from, to) = (self.pid(&f[1])?, self.pid(&f[2])?);
                if !to.is_local() {
                    return Ok(());
                }
                if bream::__remote::add_link(to, from) {
                    self.links.insert((to, from));
                } else {
                    let t = ctrl(
                        c::EXIT,
                        vec![f[2].clone(), f[1].clone(), Term::atom("noproc")],
                    );
                    self.emit(out, t);
                }
            }
            c::UNLINK_ID | c::UNLINK => {
                let (from, to) = if op == c::UNLINK {
                    arity(3)?;
                    (self.pid(&f[1])?, self.pid(&f[2])?)
                } else {
                    arity(4)?;
                    (self.pid(&f[2])?, self.pid(&f[3])?)
                };
                if to.is_local() {
                    bream::__remote::remove_link(to, from);
                    self.links.remove(&(to, from));
                }
                if op == c::UNLINK_ID {
                    let t = ctrl(
                        c::UNLINK_ID_ACK,
                        vec![f[1].clone(), f[3].clone(), f[2].clone()],
                    );
                    self.emit(out, t);
                }
            }
            c::UNLINK_ID_ACK | c::GROUP_LEADER => {}
            c::EXIT | c::EXIT2 => {
                arity(4)?;
                let (from, to) = (self.pid(&f[1])?, self.pid(&f[2])?);
                let reason = reason_from_term(&f[3]);
                if to.is_local() {
                    let link = op == c::EXIT;
                    if link {
                        self.links.remove(&(to, from));
                    }
                    bream::__remote::signal_exit(to, from, reason, link);
                }
            }
            c::MONITOR_P => {
                arity(4)?;
                self.monitor_p(&f[1], &f[2], &f[3], out)?;
            }
            c::DEMONITOR_P => {
                arity(4)?;
                if let Term::Ref(rf) = &f[3] {
                    if let Some(w) = self.watchers.remove(rf) {
                        self.watcher_refs.remove(&w.r);
                        bream::__remote::remove_watcher(w.local, w.r);
                    }
                }
            }
            c::MONITOR_P_EXIT => {
                arity(5)?;
                let Term::Ref(rf) = &f[3] else {
                    return Err("MONITOR_P_EXIT without a reference".into());
                };
                let to = self.pid(&f[2])?;
                let reason = reason_from_term(&f[4]);
                if let Some(r) = self.node.monitor_ref_from_term(rf) {
                    if let Some((local, remote)) = self.monitors.remove(&r) {
                        if local == to {
                            let down = Down {
                                monitor: r,
                                pid: remote,
                                reason,
                            };
                            bream::__remote::signal_down(local, down);
                        }
                    }
                }
            }
            other => return Err(format!("unknown control message {other}: {ctl}")),
        }
        Ok(())
    }

    /// MONITOR_P: a remote process monitors a local one (by pid or name).
    fn monitor_p(
        &mut self,
        from: &Term,
        target: &Term,
        rf: &Term,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let from_pid = self.pid(from)?;
        let Term::Ref(ext) = rf else {
            return Err("MONITOR_P without a reference".into());
        };
        let (local, name) = match target {
            Term::Atom(a) => (bream::whereis(a.as_str()), Some(a.clone())),
            t => {
                let p = self.pid(t)?;
                (p.is_local().then_some(p), None)
            }
        };
        let r = bream::__remote::new_monitor_ref();
        let added = local.is_some_and(|l| bream::__remote::add_watcher(l, r, from_pid));
        match local {
            Some(l) if added => {
                self.watcher_refs.insert(r, ext.clone());
                self.watchers.insert(
                    ext.clone(),
                    Watcher {
                        remote: from_pid,
                        local: l,
                        r,
                        name,
                    },
                );
            }
            _ => {
                let t = ctrl(
                    c::MONITOR_P_EXIT,
                    vec![
                        target.clone(),
                        from.clone(),
                        rf.clone(),
                        Term::atom("noproc"),
                    ],
                );
                self.emit(out, t);
            }
        }
        Ok(())
    }

    /// Step 3 of the module essay.
    fn down(self) {
        let me = bream::self_pid();
        {
            let mut conns = self.node.conns();
            if conns.get(&self.peer).is_some_and(|e| e.pid == me) {
                conns.remove(&self.peer);
            }
            if conns.up.get(&self.index).is_some_and(|r| r.pid == me) {
                conns.up.remove(&self.index);
            }
        }
        for (local, remote) in self.links {
            bream::__remote::signal_exit(local, remote, ExitReason::NoConnection, true);
        }
        for (r, (local, remote)) in self.monitors {
            let down = Down {
                monitor: r,
                pid: remote,
                reason: ExitReason::NoConnection,
            };
            bream::__remote::signal_down(local, down);
        }
        for (_, w) in self.watchers {
            let _ = w.remote;
            bream::__remote::remove_watcher(w.local, w.r);
        }
        drain(&self.outbox, &self.peer);
        for p in self.node_monitors {
            bream::send(
                p,
                NodeDown {
                    node: self.peer.clone(),
                },
            );
        }
    }
}
