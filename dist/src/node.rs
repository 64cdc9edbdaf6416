//! A node: its name, cookie and creation, how it starts, and the table of its
//! connections.
//!
//! # Starting
//!
//! [`NodeBuilder::node`] turns a `bream::Builder` into a [`DistBuilder`];
//! `build()` builds the runtime and then, inside it, [`start`]s the node:
//!
//! 1. read the cookie (the builder's, or `~/.erlang.cookie`, created if
//!    missing);
//! 2. bind the listening socket (the configured address and port; port 0
//!    lets the OS choose);
//! 3. register the name and port with EPMD and keep that connection open (it
//!    is the registration), which also gives this incarnation its *creation*;
//!    or, without EPMD, pick a random creation;
//! 4. install the router in the runtime (`bream::__remote::install`);
//! 5. spawn the node's processes: the acceptor, the EPMD keeper, and the two
//!    registered services every Erlang node answers: `net_kernel` (for
//!    `net_adm:ping`) and `rex` (for `rpc:call`).
//!
//! # Connections
//!
//! One bream process per connected node (conn.rs) owns the socket. The table
//! here maps a node name to that process and its outbox (outbox.rs), under a
//! mutex held only to look up, insert, or queue a command (queueing never
//! waits): every command is queued with the table locked, or the outbox
//! locked before the table is let go, so a connection process that has
//! removed itself from the table and then drains its outbox has seen every
//! command anyone queued.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bream::net::TcpListener;
use bream::{Pid, Runtime};

use crate::conn::{self, Cmd};
use crate::nodes as table;
use crate::outbox::Outbox;
use crate::{Atom, ExternalPid, ExternalRef, Term};

/// Erlang's default `net_ticktime`: 60 s.
pub const DEFAULT_NET_TICKTIME: Duration = Duration::from_secs(60);

/// How a node is configured (what `erl`'s `-sname`/`-name`, `-setcookie`,
/// `-kernel net_ticktime`, `inet_dist_listen_min` and `-erl_epmd_port` set).
#[derive(Clone, Debug)]
pub struct NodeConfig {
    name: String,
    long_names: bool,
    cookie: Option<String>,
    listen: IpAddr,
    port: u16,
    epmd: bool,
    peers: HashMap<String, SocketAddr>,
    net_ticktime: Duration,
    max_frame: usize,
}

impl NodeConfig {
    /// A node named `name` (`alive@host`, or just `alive`: the host is added
    /// as `erl` adds it). Short names by default (`-sname`).
    pub fn new(name: &str) -> NodeConfig {
        NodeConfig {
            name: name.to_string(),
            long_names: false,
            cookie: None,
            listen: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 0,
            epmd: true,
            peers: HashMap::new(),
            net_ticktime: DEFAULT_NET_TICKTIME,
            max_frame: 64 << 20,
        }
    }

    /// Long names (`-name`: the host part is a fully qualified name or an IP
    /// address) instead of short ones (`-sname`).
    pub fn long_names(mut self, on: bool) -> Self {
        self.long_names = on;
        self
    }

    /// The cookie (`-setcookie`). Default: `~/.erlang.cookie`, created with a
    /// random cookie (mode 0400) when missing.
    pub fn cookie(mut self, cookie: &str) -> Self {
        self.cookie = Some(cookie.to_string());
        self
    }

    /// The address the node listens on (default: every interface, as `erl`).
    pub fn listen_addr(mut self, addr: IpAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The port the node listens on (default 0: one the OS picks, published
    /// through EPMD).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Without EPMD (hosts without Erlang; OTP's `-start_epmd false
    /// -erl_epmd_port P`): the node listens on `port` and registers nowhere;
    /// to reach another node it connects to the address given with
    /// [`peer`](Self::peer), else to the other node's host at this same port.
    pub fn without_epmd(mut self, port: u16) -> Self {
        self.epmd = false;
        self.port = port;
        self
    }

    /// Where node `name` listens, skipping EPMD for it.
    pub fn peer(mut self, name: &str, addr: SocketAddr) -> Self {
        self.peers.insert(name.to_string(), addr);
        self
    }

    /// `net_ticktime`: a connection on which nothing arrives for this long is
    /// down (links and monitors through it fire with `NoConnection`); a tick
    /// is sent every quarter of it when nothing else was. Default 60 s, as
    /// `erl`; both nodes should agree.
    pub fn net_ticktime(mut self, t: Duration) -> Self {
        self.net_ticktime = t.max(Duration::from_millis(100));
        self
    }

    /// The largest packet accepted from a peer (default 64 MiB); a larger
    /// length prefix closes the connection.
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// The full node name: `alive@host`.
    fn full_name(&self) -> io::Result<String> {
        let bad = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
        let (alive, host) = match self.name.split_once('@') {
            Some((a, h)) => (a.to_string(), h.to_string()),
            None => (self.name.clone(), hostname(self.long_names)?),
        };
        if alive.is_empty() || host.is_empty() {
            return Err(bad(format!("bad node name {:?}", self.name)));
        }
        if !alive
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad(format!(
                "bad node name {alive:?}: letters, digits, '_' and '-' only"
            )));
        }
        let dotted = host.contains('.') || host.parse::<IpAddr>().is_ok();
        if !self.long_names && dotted {
            return Err(bad(format!(
                "short node name with a dotted host {host:?}: use long_names(true) (-name)"
            )));
        }
        Ok(format!("{alive}@{host}"))
    }
}

/// The machine's host name: the short one for `-sname`, as reported for
/// `-name`.
fn hostname(long: bool) -> io::Result<String> {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME").map_err(io::Error::other))?;
    let h = h.trim().to_string();
    Ok(if long {
        h
    } else {
        h.split('.').next().unwrap_or("localhost").to_string()
    })
}

/// `Runtime::builder().node("a@localhost")`: the extension that makes a bream
/// runtime an Erlang node. Bring it in with `use bream_dist::NodeBuilder;`.
///
/// ```no_run
/// use bream_dist::NodeBuilder;
/// let rt = bream::Runtime::builder()
///     .workers(2)
///     .node("demo@localhost")
///     .cookie("secret")
///     .build()
///     .unwrap();
/// rt.block_on(|| println!("I am {}", bream_dist::node_name()));
/// ```
pub trait NodeBuilder {
    /// Makes the runtime a node named `name` (see [`NodeConfig::new`]).
    fn node(self, name: &str) -> DistBuilder;
}

impl NodeBuilder for bream::Builder {
    fn node(self, name: &str) -> DistBuilder {
        DistBuilder {
            rt: self,
            cfg: NodeConfig::new(name),
        }
    }
}

/// A runtime builder with a node configuration: each [`NodeConfig`] option is
/// here too. `build` starts the runtime and the node.
#[derive(Debug)]
pub struct DistBuilder {
    rt: bream::Builder,
    cfg: NodeConfig,
}

impl DistBuilder {
    /// See [`NodeConfig::cookie`].
    pub fn cookie(mut self, c: &str) -> Self {
        self.cfg = self.cfg.cookie(c);
        self
    }
    /// See [`NodeConfig::long_names`].
    pub fn long_names(mut self, on: bool) -> Self {
        self.cfg = self.cfg.long_names(on);
        self
    }
    /// See [`NodeConfig::listen_addr`].
    pub fn listen_addr(mut self, a: IpAddr) -> Self {
        self.cfg = self.cfg.listen_addr(a);
        self
    }
    /// See [`NodeConfig::port`].
    pub fn port(mut self, p: u16) -> Self {
        self.cfg = self.cfg.port(p);
        self
    }
    /// See [`NodeConfig::without_epmd`].
    pub fn without_epmd(mut self, p: u16) -> Self {
        self.cfg = self.cfg.without_epmd(p);
        self
    }
    /// See [`NodeConfig::peer`].
    pub fn peer(mut self, name: &str, a: SocketAddr) -> Self {
        self.cfg = self.cfg.peer(name, a);
        self
    }
    /// See [`NodeConfig::net_ticktime`].
    pub fn net_ticktime(mut self, t: Duration) -> Self {
        self.cfg = self.cfg.net_ticktime(t);
        self
    }
    /// The whole configuration at once.
    pub fn config(mut self, cfg: NodeConfig) -> Self {
        self.cfg = cfg;
        self
    }

    /// Builds the runtime and starts the node in it.
    ///
    /// # Errors
    /// The runtime's, or the node's ([`start`]).
    pub fn build(self) -> io::Result<Runtime> {
        let rt = self.rt.build()?;
        let cfg = self.cfg;
        rt.block_on(move || start(cfg))?;
        Ok(rt)
    }
}

/// The connection table: by peer name, and, for connections that are up, by
/// the peer's node index (the send path's lookup: no name, no node table).
#[derive(Default)]
pub(crate) struct Conns {
    names: HashMap<String, ConnEntry>,
    /// Node index → the connection, for connections that are up. Hashed
    /// cheaply: the send path looks it up for every message.
    pub up: HashMap<u32, Arc<Route>, BuildHasherDefault<crate::codec::FastHasher>>,
}

/// What the send path needs of a connection that is up: where to queue, whom
/// to wake, and how the peer's pids are written.
pub(crate) struct Route {
    /// The connection's process.
    pub pid: Pid,
    /// Its outbox (the one in its [`ConnEntry`]).
    pub outbox: Arc<Outbox>,
    /// The peer's node name, encoded as an ETF atom (no version byte).
    pub peer_atom: Vec<u8>,
    /// The peer's creation.
    pub peer_creation: u32,
}

impl std::ops::Deref for Conns {
    type Target = HashMap<String, ConnEntry>;
    fn deref(&self) -> &Self::Target {
        &self.names
    }
}

impl std::ops::DerefMut for Conns {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.names
    }
}

/// One connection's entry in the node's table.
pub(crate) struct ConnEntry {
    /// The connection's process.
    pub pid: Pid,
    /// The peer's node index once the handshake is done.
    pub up: Option<u32>,
    /// We are connecting (not accepting).
    pub outgoing: bool,
    /// The connection's outbox (outbox.rs): every command for it goes here.
    pub outbox: Arc<Outbox>,
}

/// A running node. Shared by the router, the connections and the node's
/// processes; every field but `conns` is immutable.
pub(crate) struct Node {
    pub name: String,
    pub atom: Atom,
    /// `atom` encoded (no version byte): how the send path writes our pids.
    pub atom_ext: Vec<u8>,
    pub creation: u32,
    pub cookie: Vec<u8>,
    pub cfg: NodeConfig,
    /// The port we listen on.
    pub port: u16,
    /// Connections by node name (module essay: commands are sent under it).
    conns: Mutex<Conns>,
    /// Numbers for the references of calls.
    next_ref: AtomicU64,
    /// The runtime, to send commands from outside a process (a process's
    /// exit runs in none).
    pub rt: bream::__remote::Handle,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("name", &self.name).finish()
    }
}

impl Node {
    pub(crate) fn uses_epmd(&self) -> bool {
        self.cfg.epmd
    }

    pub(crate) fn peer_addr(&self, peer: &str) -> Option<SocketAddr> {
        self.cfg.peers.get(peer).copied()
    }

    pub(crate) fn cfg_ticktime(&self) -> Duration {
        self.cfg.net_ticktime
    }

    pub(crate) fn cfg_max_frame(&self) -> usize {
        self.cfg.max_frame
    }

    pub(crate) fn conns(&self) -> MutexGuard<'_, Conns> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `cmd` in the connection to `peer`, starting one if there is
    /// none. False (and nothing queued) if `peer` is this node or no node
    /// name.
    pub(crate) fn to_conn(self: &Arc<Self>, peer: &str, cmd: Cmd) -> bool {
        if peer == self.name || !peer.contains('@') {
            return false;
        }
        let mut conns = self.conns();
        let (pid, outbox) = match conns.get(peer) {
            Some(e) => (e.pid, Arc::clone(&e.outbox)),
            None => {
                let outbox = Arc::new(Outbox::default());
                let pid =
                    conn::spawn_outgoing(Arc::clone(self), peer.to_string(), Arc::clone(&outbox));
                conns.insert(
                    peer.to_string(),
                    ConnEntry {
                        pid,
                        up: None,
                        outgoing: true,
                        outbox: Arc::clone(&outbox),
                    },
                );
                (pid, outbox)
            }
        };
        // Queued under the table's lock (outbox.rs, "Who touches what").
        self.queue(pid, &outbox, cmd);
        true
    }

    /// Queues `cmd` in `outbox` and wakes its connection `pid` if it must.
    pub(crate) fn queue(&self, pid: Pid, outbox: &Outbox, cmd: Cmd) {
        if outbox.push_cmd(cmd) {
            self.rt.send(pid, Cmd::Flush);
        }
    }

    /// Queues `cmd` in the existing connection to the node of the remote
    /// `pid`, never starting one (callable outside a process: a process's
    /// exit reaches remote links and monitors this way; with no connection
    /// there is no remote end left to tell).
    pub(crate) fn to_existing_conn_of(&self, pid: Pid, cmd: Cmd) {
        {
            let conns = self.conns();
            if let Some(r) = conns.up.get(&pid.__node()) {
                self.queue(r.pid, &r.outbox, cmd);
                return;
            }
        }
        let Some(id) = table::lookup(pid.__node()) else {
            return;
        };
        let conns = self.conns();
        if let Some(e) = conns.get(id.name.as_str()) {
            self.queue(e.pid, &e.outbox, cmd);
        }
    }

    /// Queues `cmd` in the connection to the node of the remote `pid`. False
    /// if that node is gone (a previous incarnation of this node).
    pub(crate) fn to_conn_of(self: &Arc<Self>, pid: Pid, cmd: Cmd) -> bool {
        {
            let conns = self.conns();
            if let Some(r) = conns.up.get(&pid.__node()) {
                self.queue(r.pid, &r.outbox, cmd);
                return true;
            }
        }
        match table::lookup(pid.__node()) {
            Some(id) => self.to_conn(id.name.as_str(), cmd),
            None => false,
        }
    }

    /// The send path (ADR dist-0002): if the connection to node `index` is
    /// up, `body` encodes one packet (after its length prefix) straight into
    /// its outbox, and the connection is woken if it must be. `None` if no
    /// connection to that node is up (nothing was encoded); `Some(Err)` if
    /// `body` failed (nothing was queued).
    pub(crate) fn send_up(
        &self,
        index: u32,
        body: impl FnOnce(&mut Vec<u8>, &Route) -> Result<(), String>,
    ) -> Option<Result<(), String>> {
        let conns = self.conns();
        let route = Arc::clone(conns.up.get(&index)?);
        // Lock the outbox before letting go of the table (outbox.rs).
        let mut q = route.outbox.lock();
        drop(conns);
        let r = q.push_packet(|out| body(out, &route));
        drop(q);
        Some(match r {
            Ok(wake) => {
                if wake {
                    self.rt.send(route.pid, Cmd::Flush);
                }
                Ok(())
            }
            Err(e) => Err(e),
        })
    }

    /// The names of the connected nodes.
    pub(crate) fn connected(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .conns()
            .iter()
            .filter(|(_, e)| e.up.is_some())
            .map(|(n, _)| n.clone())
            .collect();
        v.sort();
        v
    }

    /// A pid as the wire carries it. `None` for a remote pid whose node index
    /// is unknown (cannot happen for pids bream-dist made).
    pub(crate) fn pid_to_external(&self, pid: Pid) -> Option<ExternalPid> {
        let (id, serial) = pid.__parts();
        if pid.is_local() {
            return Some(ExternalPid {
                node: self.atom.clone(),
                id,
                serial,
                creation: self.creation,
            });
        }
        let n = table::lookup(pid.__node())?;
        Some(ExternalPid {
            node: n.name,
            id,
            serial,
            creation: n.creation,
        })
    }

    /// [`pid_to_external`](Self::pid_to_external) as a term.
    pub(crate) fn pid_to_term(&self, pid: Pid) -> Option<Term> {
        self.pid_to_external(pid).map(Term::Pid)
    }

    /// A pid from the wire: local if it names this incarnation of this node.
    pub(crate) fn pid_from_external(&self, p: &ExternalPid) -> Pid {
        if p.node.as_str() == self.name && p.creation == self.creation {
            return Pid::__from_parts(0, p.id, p.serial);
        }
        Pid::__from_parts(table::intern(&p.node, p.creation), p.id, p.serial)
    }

    /// A monitor ref of this runtime as an Erlang reference of this node.
    pub(crate) fn monitor_ref_to_term(&self, r: bream::MonitorRef) -> ExternalRef {
        let id = bream::__remote::monitor_ref_id(r);
        ExternalRef {
            node: self.atom.clone(),
            creation: self.creation,
            id: vec![id as u32, (id >> 32) as u32, 0],
        }
    }

    /// The inverse of [`monitor_ref_to_term`](Self::monitor_ref_to_term).
    pub(crate) fn monitor_ref_from_term(&self, r: &ExternalRef) -> Option<bream::MonitorRef> {
        if r.node.as_str() != self.name || r.creation != self.creation || r.id.len() < 3 {
            return None;
        }
        if r.id[2] != 0 {
            return None;
        }
        Some(bream::__remote::monitor_ref_from_id(
            u64::from(r.id[0]) | (u64::from(r.id[1]) << 32),
        ))
    }

    /// A fresh reference of this node, for tagging a call.
    pub(crate) fn make_ref(&self) -> Term {
        let n = self.next_ref.fetch_add(1, Ordering::Relaxed);
        Term::Ref(ExternalRef {
            node: self.atom.clone(),
            creation: self.creation,
            id: vec![n as u32, (n >> 32) as u32, 1],
        })
    }
}

/// Starts the node in the calling process's runtime (steps 1–5 of the module
/// essay). [`DistBuilder::build`] calls it; call it yourself to make a running
/// runtime a node.
///
/// # Errors
/// A bad name, an unreadable cookie, a port that cannot be bound, EPMD
/// refusing the name (another node has it), or a node already started in
/// this runtime.
///
/// # Panics
/// Outside a bream process.
pub fn start(cfg: NodeConfig) -> io::Result<()> {
    let name = cfg.full_name()?;
    let cookie = match &cfg.cookie {
        Some(c) => c.clone(),
        None => crate::cookie::default_cookie()?,
    };
    let listener = TcpListener::bind(SocketAddr::new(cfg.listen, cfg.port))?;
    let port = listener.local_addr()?.port();
    let alive = name.split('@').next().unwrap_or_default().to_string();
    let (epmd, creation) = if cfg.epmd {
        let (s, c) = crate::epmd::register(&alive, port)?;
        (Some(s), c)
    } else {
        (None, random_creation())
    };
    let atom = Atom::try_new(&name)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let node = Arc::new(Node {
        atom_ext: crate::control::atom_ext(&atom),
        atom,
        name,
        creation,
        cookie: cookie.into_bytes(),
        cfg,
        port,
        conns: Mutex::new(Conns::default()),
        next_ref: AtomicU64::new(1),
        rt: bream::__remote::handle(),
    });
    let router = Arc::new(crate::router::DistRouter::new(Arc::clone(&node)));
    if bream::__remote::install(router).is_err() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "this runtime is a node already",
        ));
    }
    crate::services::spawn_services(&node)?;
    conn::spawn_acceptor(Arc::clone(&node), listener)?;
    if let Some(s) = epmd {
        conn::spawn_epmd_keeper(s)?;
    }
    tracing::info!(node = %node.name, port, creation, "bream-dist: node started");
    Ok(())
}

fn random_creation() -> u32 {
    use std::io::Read;
    let mut b = [0u8; 4];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    u32::from_ne_bytes(b).max(1)
}

/// The node of the calling process's runtime.
///
/// # Panics
/// Outside a bream process, or in a runtime that is not a node.
pub(crate) fn current() -> Arc<Node> {
    try_current().expect("bream-dist: this runtime is not a node (start it with NodeBuilder::node)")
}

/// The node of the calling process's runtime, if it is one.
pub(crate) fn try_current() -> Option<Arc<Node>> {
    let r = bream::__remote::current()?;
    let r = r.as_any().downcast_ref::<crate::router::DistRouter>()?;
    Some(Arc::clone(&r.node))
}

/// This node's name (Erlang's `node()`).
///
/// # Panics
/// Outside a bream process, or in a runtime that is not a node.
pub fn node_name() -> String {
    current().name.clone()
}

/// The TCP port this node listens on (what it registered with EPMD).
///
/// # Panics
/// As [`node_name`].
pub fn listen_port() -> u16 {
    current().port
}

/// The connected nodes (Erlang's `nodes()`), sorted.
///
/// # Panics
/// As [`node_name`].
pub fn nodes() -> Vec<String> {
    current().connected()
}

/// Closes the connection to `node` (Erlang's `disconnect_node/1`): links and
/// monitors through it fire with `NoConnection`. False if there was none.
///
/// # Panics
/// As [`node_name`].
pub fn disconnect_node(node: &str) -> bool {
    let n = current();
    let conns = n.conns();
    match conns.get(node) {
        Some(e) => {
            n.queue(e.pid, &e.outbox, Cmd::Disconnect);
            true
        }
        None => false,
    }
}

/// The name of the node a pid lives on (Erlang's `node(Pid)`).
///
/// # Panics
/// As [`node_name`].
pub fn node_of(pid: Pid) -> String {
    let n = current();
    if pid.is_local() {
        return n.name.clone();
    }
    table::lookup(pid.__node())
        .map_or_else(|| "nonode@nohost".into(), |id| id.name.as_str().to_string())
}

/// A pid as an Erlang term (to put it in a message built as a [`Term`]).
///
/// # Panics
/// As [`node_name`].
pub fn pid_to_term(pid: Pid) -> Term {
    current()
        .pid_to_term(pid)
        .unwrap_or_else(|| Term::atom("undefined"))
}

/// The bream pid of an Erlang pid that arrived in a [`Term`].
///
/// # Panics
/// As [`node_name`].
pub fn pid_from_term(pid: &ExternalPid) -> Pid {
    current().pid_from_external(pid)
}

/// What [`monitor_node`] delivers when the connection to `node` is lost or
/// cannot be made (Erlang's `{nodedown, Node}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeDown {
    /// The node.
    pub node: String,
}

/// Monitors the connection to `node` (Erlang's `monitor_node(Node, true)`),
/// connecting if needed: the caller receives one [`NodeDown`] when it is lost
/// or cannot be made. Each call adds one monitor.
///
/// # Panics
/// As [`node_name`].
pub fn monitor_node(node: &str) {
    let n = current();
    let me = bream::self_pid();
    if !n.to_conn(node, Cmd::MonitorNode(me)) && node != n.name {
        bream::send(
            me,
            NodeDown {
                node: node.to_string(),
            },
        );
    }
}

/// Removes one [`monitor_node`] of the caller's (`monitor_node(Node, false)`).
///
/// # Panics
/// As [`node_name`].
pub fn demonitor_node(node: &str) {
    let n = current();
    let conns = n.conns();
    if let Some(e) = conns.get(node) {
        n.queue(e.pid, &e.outbox, Cmd::DemonitorNode(bream::self_pid()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_names_follow_erl() {
        let full = |n: &str, long| NodeConfig::new(n).long_names(long).full_name();
        assert_eq!(full("a@localhost", false).unwrap(), "a@localhost");
        assert!(
            full("a@host.example.com", false).is_err(),
            "-sname with a dotted host"
        );
        assert_eq!(
            full("a@host.example.com", true).unwrap(),
            "a@host.example.com"
        );
        assert_eq!(full("a@127.0.0.1", true).unwrap(), "a@127.0.0.1");
        assert!(full("a@", false).is_err());
        assert!(full("bad name@h", false).is_err());
        // No host: the machine's, short for -sname.
        let short = full("a", false).unwrap();
        assert!(short.starts_with("a@") && !short[2..].contains('.'));
    }
}
