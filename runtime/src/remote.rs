//! The distribution hook: how calls on remote pids leave the runtime, and how
//! what arrives from other nodes gets in. For bream-dist only (hidden as
//! `bream::__remote`); the design is docs/adr/dist-0001-remote-pids-and-one-hook.md.
//!
//! The runtime knows nothing about nodes: a [`Pid`] whose node slot is not zero
//! is *remote*, and every public call that meets one hands it to the [`Router`]
//! installed in this runtime (one per runtime, set once). The branch is one
//! compare on a field of the pid, taken before any table lookup, and the router
//! calls sit behind `#[cold]` functions, so local traffic pays nothing else.
//!
//! What flows in:
//!
//! - messages, as a [`Wire`] envelope (a boxed term the router understands);
//!   `receive!` asks the router to decode a `Wire` as the arm's type
//!   ([`take_wire`]) only after the envelope's own type did not match;
//! - exit and down signals from remote processes ([`signal_exit`],
//!   [`signal_down`]), which go through the mailbox like local ones, so
//!   Erlang's exit-signal table and stale-signal dropping apply unchanged;
//! - the local end of a link or monitor a remote process made ([`add_link`],
//!   [`add_watcher`], ...): it lives in the local process's ordinary relations,
//!   so the process's exit reaches the remote end through [`Router::signal`].
//!
//! Without a router, a remote pid behaves as one on a node that cannot be
//! reached: sends are dropped, links and monitors fire with `NoConnection`.

use std::any::{Any, TypeId};
use std::sync::Arc;

use bream_mailbox::Envelope;

use crate::exit::Signal;
use crate::pid::{MonitorRef, Pid};
use crate::process::current as current_process;
use crate::reason::{Down, ExitReason};
use crate::runtime::Shared;

/// A message from another node: the router's term, not yet decoded. It matches
/// a `receive!` arm of type `T` when the router can decode it as a `T`.
pub struct Wire {
    /// The router's term.
    pub term: Box<dyn Any + Send>,
    /// The last value an arm decoded from it and put back (a guard looked at
    /// it): the arm that takes the message uses it instead of decoding again.
    decoded: Option<Box<dyn Any + Send>>,
}

impl Wire {
    /// A message from another node.
    pub fn new(term: Box<dyn Any + Send>) -> Wire {
        Wire {
            term,
            decoded: None,
        }
    }
}

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wire(..)")
    }
}

/// A signal a local process sends to a remote one.
#[derive(Debug, Clone)]
pub enum RemoteSignal {
    /// An exit signal: `link` if the sender exited while linked to the target
    /// (Erlang's `EXIT`), else a call of `exit/2` (`EXIT2`).
    Exit {
        /// The local sender.
        from: Pid,
        /// Its reason.
        reason: ExitReason,
        /// Through a link.
        link: bool,
    },
    /// A local process the remote target monitors has exited
    /// (`MONITOR_P_EXIT`); `down.monitor` is the ref passed to [`add_watcher`].
    Down(Down),
}

/// What the runtime asks of the distribution layer. Every method is called
/// from inside a process of the runtime it was installed in; none may wait for
/// long (they queue work for the connection's process).
pub trait Router: Send + Sync + 'static {
    /// `from` sends `msg` (of type `type_name`) to the remote `to`. A message
    /// the router cannot encode must be reported (logged) here, not lost
    /// silently.
    fn send(&self, from: Pid, to: Pid, msg: Box<dyn Any + Send>, type_name: &'static str);
    /// `from` sends `msg` to `name` on `node`. `Err(msg)` hands it back when
    /// `node` is this node (the runtime then delivers it locally).
    fn send_named(
        &self,
        from: Pid,
        name: &str,
        node: &str,
        msg: Box<dyn Any + Send>,
        type_name: &'static str,
    ) -> Result<(), Box<dyn Any + Send>>;
    /// `from` (local) linked itself to the remote `to`; the local end is in
    /// place. If the node cannot be reached, the router sends `from` an exit
    /// signal with `NoConnection` ([`signal_exit`]).
    fn link(&self, from: Pid, to: Pid);
    /// `from` removed its link to the remote `to`.
    fn unlink(&self, from: Pid, to: Pid);
    /// `from` monitors the remote `to` with `r` (already in `from`'s monitors).
    /// If the node cannot be reached, the router delivers a `Down` with
    /// `NoConnection` ([`signal_down`]).
    fn monitor(&self, from: Pid, to: Pid, r: MonitorRef);
    /// `from` dropped its monitor `r` of the remote `to`.
    fn demonitor(&self, from: Pid, to: Pid, r: MonitorRef);
    /// A signal for the remote `to`.
    fn signal(&self, to: Pid, sig: RemoteSignal);
    /// Whether the remote `pid` is alive: asks its node (a call, which parks
    /// the caller); false if the node cannot be reached.
    fn is_alive(&self, pid: Pid) -> bool;
    /// Decodes a [`Wire`]'s payload as the type `want`, boxed; `None` if it is
    /// not one.
    fn decode(&self, wire: &(dyn Any + Send), want: TypeId) -> Option<Box<dyn Any + Send>>;
    /// The router itself, so that its crate can find its own state again
    /// through [`current`].
    fn as_any(&self) -> &dyn Any;
}

/// The caller's runtime's router, if one is installed.
///
/// # Panics
/// Outside a bream process.
pub fn current() -> Option<Arc<dyn Router>> {
    router(&current_process("__remote::current").rt).cloned()
}

/// A handle on the caller's runtime that works outside its processes too:
/// the router is called from a process's exit (after its task ended, on a
/// worker but in no process), and must still reach its connection processes.
/// Weak: the router lives in the runtime and must not keep it alive.
#[derive(Clone)]
pub struct Handle(std::sync::Weak<Shared>);

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handle(..)")
    }
}

/// The caller's runtime, as a [`Handle`].
///
/// # Panics
/// Outside a bream process.
pub fn handle() -> Handle {
    Handle(Arc::downgrade(&current_process("__remote::handle").rt))
}

impl Handle {
    /// Delivers `msg` to the local `pid` (as `send`, from anywhere, with no
    /// sender). False if it is not alive or the runtime is gone.
    pub fn send<T: Send + 'static>(&self, pid: Pid, msg: T) -> bool {
        self.0.upgrade().is_some_and(|rt| rt.deliver(pid, msg))
    }
}

/// Installs this runtime's router (the caller's runtime). Once per runtime.
///
/// # Errors
/// The router back if one is installed already.
///
/// # Panics
/// Outside a bream process.
pub fn install(router: Arc<dyn Router>) -> Result<(), Arc<dyn Router>> {
    current_process("__remote::install").rt.remote.set(router)
}

/// The caller's runtime's router, if one is installed.
pub(crate) fn router(rt: &Shared) -> Option<&Arc<dyn Router>> {
    rt.remote.get()
}

/// Delivers a message from another node to the local `to`. False if `to` is
/// not alive.
///
/// # Panics
/// Outside a bream process.
pub fn deliver(to: Pid, msg: Box<dyn Any + Send>) -> bool {
    current_process("__remote::deliver")
        .rt
        .deliver(to, Wire::new(msg))
}

/// Sends the local `to` an exit signal from the remote `from`: `link` for one
/// through a link (dropped if `to` has no link to `from`), else an `exit/2`.
///
/// # Panics
/// Outside a bream process.
pub fn signal_exit(to: Pid, from: Pid, reason: ExitReason, link: bool) -> bool {
    let sig = Signal::Exit { from, reason, link };
    current_process("__remote::signal_exit")
        .rt
        .deliver_signal(to, sig)
}

/// Delivers a `Down` to the local watcher `to` (dropped if `to` no longer has
/// the monitor).
///
/// # Panics
/// Outside a bream process.
pub fn signal_down(to: Pid, down: Down) -> bool {
    current_process("__remote::signal_down")
        .rt
        .deliver_signal(to, Signal::Down(down))
}

/// Adds the remote `remote` to the local `local`'s links. False if `local` is
/// not alive (the caller then answers with `NoProc`).
///
/// # Panics
/// Outside a bream process.
pub fn add_link(local: Pid, remote: Pid) -> bool {
    current_process("__remote::add_link")
        .rt
        .table
        .with(local, |p, _| p.relations.add_link(remote))
        == Some(true)
}

/// Removes the link between the local `local` and `remote`. True if there was one.
///
/// # Panics
/// Outside a bream process.
pub fn remove_link(local: Pid, remote: Pid) -> bool {
    current_process("__remote::remove_link")
        .rt
        .table
        .with(local, |p, _| p.relations.remove_link(remote))
        == Some(true)
}

/// Records that the remote `watcher` monitors the local `local` with `r` (a
/// ref from [`new_monitor_ref`]). False if `local` is not alive.
///
/// # Panics
/// Outside a bream process.
pub fn add_watcher(local: Pid, r: MonitorRef, watcher: Pid) -> bool {
    current_process("__remote::add_watcher")
        .rt
        .table
        .with(local, |p, _| p.relations.add_watcher(r, watcher))
        == Some(true)
}

/// Forgets the remote watcher `r` of the local `local`.
///
/// # Panics
/// Outside a bream process.
pub fn remove_watcher(local: Pid, r: MonitorRef) {
    current_process("__remote::remove_watcher")
        .rt
        .table
        .with(local, |p, _| p.relations.remove_watcher(r));
}

/// A fresh monitor ref of the caller's runtime (without touching the caller's
/// receive marker, unlike `make_ref`).
///
/// # Panics
/// Outside a bream process.
pub fn new_monitor_ref() -> MonitorRef {
    MonitorRef(current_process("__remote::new_monitor_ref").rt.new_ref())
}

/// A monitor ref's number, and back: how bream-dist puts one in an Erlang
/// reference.
pub fn monitor_ref_id(r: MonitorRef) -> u64 {
    r.0 .0
}

/// The inverse of [`monitor_ref_id`].
pub fn monitor_ref_from_id(id: u64) -> MonitorRef {
    MonitorRef(crate::pid::Ref(id))
}

/// `receive!`'s second chance: the envelope holds a [`Wire`] and the router
/// decodes it as a `T`. The envelope is left as it is (the `Wire` stays).
#[cold]
#[inline(never)]
pub(crate) fn take_wire<T: 'static>(env: &mut Envelope) -> Option<T> {
    let mut wire = env.take::<Wire>()?;
    let v = match wire.decoded.take().map(|d| d.downcast::<T>()) {
        Some(Ok(v)) => Some(*v),
        _ => {
            let me = current_process("receive");
            router(&me.rt)
                .and_then(|r| r.decode(&*wire.term, TypeId::of::<T>()))
                .and_then(|any| any.downcast::<T>().ok())
                .map(|b| *b)
        }
    };
    env.put(wire);
    v
}

/// Keeps a value `take_wire` decoded (and a guard then looked at) in the
/// `Wire` it came from, for the arm that takes the message.
#[cold]
#[inline(never)]
pub(crate) fn keep_decoded<T: Send + 'static>(env: &mut Envelope, v: T) {
    if let Some(mut wire) = env.take::<Wire>() {
        wire.decoded = Some(Box::new(v));
        env.put(wire);
    }
}

/// `send` to a remote pid (ADR dist-0001): boxed and handed to the router; a
/// runtime without one drops it, as a send to an unreachable node is dropped.
#[cold]
#[inline(never)]
pub(crate) fn send<T: Send + 'static>(rt: &Shared, from: Pid, to: Pid, msg: T) {
    match router(rt) {
        Some(r) => r.send(from, to, Box::new(msg), std::any::type_name::<T>()),
        None => tracing::warn!(
            %to, "bream: send to a remote pid in a runtime without distribution: dropped"
        ),
    }
}

/// A signal for a remote pid (from `deliver_signal`).
#[cold]
#[inline(never)]
pub(crate) fn signal(rt: &Shared, to: Pid, sig: Signal) -> bool {
    let Some(r) = router(rt) else {
        return false;
    };
    let sig = match sig {
        Signal::Exit { from, reason, link } => RemoteSignal::Exit { from, reason, link },
        Signal::Down(d) => RemoteSignal::Down(d),
    };
    r.signal(to, sig);
    true
}
