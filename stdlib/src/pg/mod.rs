//! pg: OTP's process groups (pg(3)). Processes join named groups within a
//! *scope*; anyone can ask for a group's members; a member that exits leaves
//! all its groups; subscribers are told of every join and leave.
//!
//! ```
//! use bream_stdlib::pg::Scope;
//!
//! bream::run(|| {
//!     let scope: Scope<&str> = Scope::start_link().unwrap();
//!     let me = bream::self_pid();
//!     scope.join("workers", &[me]);
//!     assert_eq!(scope.get_members(&"workers"), vec![me]);
//!     assert_eq!(scope.which_groups(), vec!["workers"]);
//! });
//! ```
//!
//! | OTP pg(3)                                  | bream_stdlib                                 |
//! |--------------------------------------------|----------------------------------------------|
//! | `pg:start_link(Scope)`                     | [`Scope::start_link`], [`Scope::child_spec`] |
//! | `pg:join(Scope, Group, PidOrPids)`         | [`Scope::join`]                              |
//! | `pg:leave(Scope, Group, PidOrPids)`        | [`Scope::leave`] → `Err(`[`NotJoined`]`)`    |
//! | `pg:get_members/2`, `get_local_members/2`  | [`Scope::get_members`], [`Scope::get_local_members`] |
//! | `pg:which_groups/1`                        | [`Scope::which_groups`]                      |
//! | `pg:monitor_scope/1` → `{Ref, Groups}`     | [`Scope::monitor_scope`] → `(MonitorRef, HashMap)` |
//! | `pg:monitor/2` → `{Ref, Pids}`             | [`Scope::monitor`] → `(MonitorRef, Vec<Pid>)` |
//! | `pg:demonitor/2`                           | [`Scope::demonitor`]                         |
//! | `{Ref, join \| leave, Group, Pids}`        | [`Event`] `{ monitor, change: Change::Join \| Leave, group, pids }` |
//!
//! # How it is built
//!
//! A scope is a gen_server (server.rs) plus a table it alone writes and anyone
//! reads, as OTP's `pg` is a gen_server that owns an ETS table read by
//! `get_members` in the caller. `join`, `leave`, `monitor*` are calls: when
//! `join` returns, every later `get_members` (by anyone) sees the member, and
//! subscribers have been sent the `Join` event. The scope monitors each
//! member once, however many groups it joined; its `Down` removes the member
//! from every group (one `Leave` event per group) — so a member that exits
//! leaves even if nobody calls `leave`. Subscribers are monitored too, and
//! their subscriptions end with them.
//!
//! Groups are any `Hash + Eq + Clone` type. A process may join a group more
//! than once and is then listed once per join (OTP's rule); `leave` removes
//! one join per pid given.
//!
//! # Remote members
//!
//! Members are [`Pid`]s and nothing here assumes they are local. OTP's `pg`
//! shares a scope's groups with the same scope on other nodes; when bream
//! gains distribution, remote members arrive in the same table and
//! [`get_local_members`](Scope::get_local_members) keeps answering only the
//! ones that joined on this node (it reads a separate local table already).

mod server;

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use bream::Pid;

use crate::gen_server::{self, CallError, ServerRef, INFINITY};
use crate::start::StartError;
use crate::supervisor::ChildSpec;
use server::{Reply, Request, ScopeServer};

/// What a group type must be: hashable, comparable, clonable (snapshots and
/// events carry copies), and sendable between processes.
pub trait Group: Hash + Eq + Clone + Send + Sync + fmt::Debug + 'static {}
impl<T: Hash + Eq + Clone + Send + Sync + fmt::Debug + 'static> Group for T {}

/// A subscription made by [`Scope::monitor_scope`] or [`Scope::monitor`]
/// (OTP's monitor reference); its events carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MonitorRef(pub(crate) bream::Ref);

/// Which way a group changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// `pids` joined `group`.
    Join,
    /// `pids` left `group` (by `leave`, or by exiting).
    Leave,
}

/// What a subscriber receives (OTP's `{Ref, join | leave, Group, Pids}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event<G> {
    /// The subscription it is for.
    pub monitor: MonitorRef,
    /// Join or leave.
    pub change: Change,
    /// The group.
    pub group: G,
    /// The processes that joined or left.
    pub pids: Vec<Pid>,
}

/// [`Scope::leave`] found a pid that had not joined the group (OTP's
/// `not_joined`). The pids that had joined left anyway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotJoined;

impl fmt::Display for NotJoined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not joined")
    }
}

impl std::error::Error for NotJoined {}

/// The groups of a scope: written by the scope's server only, read by anyone.
pub(crate) struct Groups<G> {
    /// Every member, local or (later) remote.
    pub(crate) all: HashMap<G, Vec<Pid>>,
    /// The members that joined through this node.
    pub(crate) local: HashMap<G, Vec<Pid>>,
}

impl<G> Default for Groups<G> {
    fn default() -> Self {
        Groups {
            all: HashMap::new(),
            local: HashMap::new(),
        }
    }
}

/// What every handle of one scope shares.
pub(crate) struct Shared<G: Group> {
    pub(crate) groups: RwLock<Groups<G>>,
    /// The scope's server while it runs; written by whoever starts it.
    server: RwLock<Option<ServerRef<ScopeServer<G>>>>,
}

/// A scope (OTP's `pg` scope): a handle to its groups. Clone it freely.
pub struct Scope<G: Group> {
    shared: Arc<Shared<G>>,
}

impl<G: Group> Clone for Scope<G> {
    fn clone(&self) -> Self {
        Scope {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<G: Group> fmt::Debug for Scope<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("server", &self.server())
            .finish()
    }
}

impl<G: Group> Default for Scope<G> {
    fn default() -> Self {
        Self::new()
    }
}

impl<G: Group> Scope<G> {
    /// A scope that runs once started ([`child_spec`](Self::child_spec));
    /// [`start_link`](Self::start_link) makes and starts one.
    pub fn new() -> Self {
        Scope {
            shared: Arc::new(Shared {
                groups: RwLock::new(Groups::default()),
                server: RwLock::new(None),
            }),
        }
    }

    /// Start a new scope linked to the caller (OTP's `pg:start_link/1`).
    ///
    /// # Errors
    /// If its server does not start.
    pub fn start_link() -> Result<Self, StartError> {
        let scope = Self::new();
        scope.start_server()?;
        Ok(scope)
    }

    /// A child spec that starts this scope's server; a restarted scope starts
    /// empty (its members were monitored by the server that died).
    pub fn child_spec(&self, id: impl Into<String>) -> ChildSpec {
        let scope = self.clone();
        ChildSpec::worker(id, move || scope.start_server())
    }

    fn start_server(&self) -> Result<Pid, StartError> {
        let shared = Arc::clone(&self.shared);
        let server = gen_server::start_link::<ScopeServer<G>>(shared)?;
        let pid = server.pid().unwrap_or_else(bream::self_pid);
        *self
            .shared
            .server
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(server);
        Ok(pid)
    }

    fn server(&self) -> Option<ServerRef<ScopeServer<G>>> {
        *self.shared.server.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the scope's server is running.
    pub fn is_running(&self) -> bool {
        self.server()
            .and_then(|s| s.pid())
            .is_some_and(bream::is_alive)
    }

    fn call(&self, request: Request<G>) -> Reply<G> {
        let Some(server) = self.server() else {
            return Reply::NotRunning;
        };
        match gen_server::call(&server, request, INFINITY) {
            Ok(reply) => reply,
            Err(CallError::NoProc | CallError::Exit(_)) => Reply::NotRunning,
            Err(error) => panic!("pg: scope call failed: {error}"),
        }
    }

    /// Add `pids` to `group` (OTP's `pg:join/3`); each is listed once more.
    /// A pid that is not alive is removed again at once (its monitor fires).
    /// Returns whether the scope is running (the join happened).
    pub fn join(&self, group: G, pids: &[Pid]) -> bool {
        !matches!(
            self.call(Request::Join(group, pids.to_vec())),
            Reply::NotRunning
        )
    }

    /// Remove one join of each of `pids` from `group` (OTP's `pg:leave/3`).
    ///
    /// # Errors
    /// [`NotJoined`] if some pid was not a member (the others left), or the
    /// scope is not running.
    pub fn leave(&self, group: G, pids: &[Pid]) -> Result<(), NotJoined> {
        match self.call(Request::Leave(group, pids.to_vec())) {
            Reply::Ok => Ok(()),
            _ => Err(NotJoined),
        }
    }

    /// The members of `group`, once per join (OTP's `pg:get_members/2`).
    /// Reads the table directly: no message to the scope.
    pub fn get_members(&self, group: &G) -> Vec<Pid> {
        if !self.is_running() {
            return Vec::new();
        }
        let groups = self.shared.groups.read().unwrap_or_else(|e| e.into_inner());
        groups.all.get(group).cloned().unwrap_or_default()
    }

    /// The members of `group` that joined on this node (OTP's
    /// `pg:get_local_members/2`).
    pub fn get_local_members(&self, group: &G) -> Vec<Pid> {
        if !self.is_running() {
            return Vec::new();
        }
        let groups = self.shared.groups.read().unwrap_or_else(|e| e.into_inner());
        groups.local.get(group).cloned().unwrap_or_default()
    }

    /// The groups with at least one member (OTP's `pg:which_groups/1`).
    pub fn which_groups(&self) -> Vec<G> {
        if !self.is_running() {
            return Vec::new();
        }
        let groups = self.shared.groups.read().unwrap_or_else(|e| e.into_inner());
        groups.all.keys().cloned().collect()
    }

    /// Subscribe the caller to every join and leave in the scope (OTP's
    /// `pg:monitor_scope/1`): returns the subscription and the groups now;
    /// each later change arrives as an [`Event`]. `None` if the scope is not
    /// running.
    pub fn monitor_scope(&self) -> Option<(MonitorRef, HashMap<G, Vec<Pid>>)> {
        match self.call(Request::MonitorScope(bream::self_pid())) {
            Reply::Scope(r, groups) => Some((r, groups)),
            _ => None,
        }
    }

    /// Subscribe the caller to the joins and leaves of `group` (OTP's
    /// `pg:monitor/2`): returns the subscription and the members now.
    /// `None` if the scope is not running.
    pub fn monitor(&self, group: G) -> Option<(MonitorRef, Vec<Pid>)> {
        match self.call(Request::Monitor(group, bream::self_pid())) {
            Reply::Group(r, pids) => Some((r, pids)),
            _ => None,
        }
    }

    /// End a subscription (OTP's `pg:demonitor/2`); false if it was not
    /// active. Events already sent stay in the mailbox.
    pub fn demonitor(&self, monitor: MonitorRef) -> bool {
        matches!(
            self.call(Request::Demonitor(monitor, bream::self_pid())),
            Reply::Ok
        )
    }
}
