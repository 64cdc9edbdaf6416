//! Introspection and names: [`process_info`], [`processes`], [`is_alive`],
//! [`register`], [`unregister`], [`whereis`], [`registered`].

use bream_scheduler::task;

use crate::exit;
use crate::pid::Pid;
use crate::process::{current, Me, Process, Status};
use crate::registry::RegisterError;
use crate::sync::Ordering;

/// A snapshot of one process (Erlang's `process_info/1`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// What it is doing.
    pub status: Status,
    /// Messages (and not yet handled signals) in its mailbox.
    pub message_queue_len: usize,
    /// Reductions spent (sends, receives, spawns, `reduce`), as of its last wait.
    pub reductions: u64,
    /// Processes linked to it.
    pub links: Vec<Pid>,
    /// Processes it monitors.
    pub monitors: Vec<Pid>,
    /// Processes monitoring it.
    pub monitored_by: Vec<Pid>,
    /// Its registered name.
    pub registered_name: Option<&'static str>,
    /// Its stack size in bytes.
    pub stack_size: usize,
    /// Its mailbox limit in messages (`SpawnOpts::mailbox_limit`); `None`:
    /// unbounded.
    pub mailbox_limit: Option<usize>,
    /// Its mailbox's byte budget ([`MailboxLimit::bytes`](crate::MailboxLimit::bytes)), if any.
    pub mailbox_limit_bytes: Option<usize>,
    /// What happens past its mailbox limit; `None`: unbounded.
    pub mailbox_overflow: Option<crate::Overflow>,
    /// Payload bytes in its mailbox, counted as the senders sized them
    /// (`size_of` of each message's type). Only a process with a mailbox
    /// limit counts them; `None` for one without (its sends and receives
    /// pay nothing to count: ADR mailbox-0001).
    pub message_queue_bytes: Option<usize>,
}

/// A runtime call that did some work, succeeded or failed, is a reduction
/// point: handle pending signals, count one reduction, and spend it from the
/// time slice (so a loop of failing calls, such as `whereis` or
/// `send_named` on a name nobody holds, still yields its worker: issue 17).
#[inline]
pub(crate) fn charge(me: Me) {
    exit::handle_signals(me);
    let o = me.owned();
    o.reductions.set(o.reductions.get() + 1);
    task::reduce(1);
}

fn info_of(p: &Process) -> ProcessInfo {
    let (mut links, mut monitors, mut monitored_by) = p.relations.inspect(|s| {
        (
            s.links
                .entries()
                .into_iter()
                .map(|(p, ())| p)
                .collect::<Vec<_>>(),
            s.monitors
                .entries()
                .into_iter()
                .map(|(_, p)| p)
                .collect::<Vec<_>>(),
            s.watchers
                .entries()
                .into_iter()
                .map(|(_, p)| p)
                .collect::<Vec<_>>(),
        )
    });
    links.sort_unstable();
    monitors.sort_unstable();
    monitored_by.sort_unstable();
    ProcessInfo {
        status: p.status(),
        message_queue_len: p.tx.len(),
        // Relaxed: a statistic.
        reductions: p.reductions.load(Ordering::Relaxed),
        links,
        monitors,
        monitored_by,
        registered_name: p.rt.registry.name_of(p.pid),
        stack_size: p.stack_size,
        mailbox_limit: p.tx.limit(),
        mailbox_limit_bytes: p.tx.byte_limit(),
        mailbox_overflow: p
            .tx
            .limit()
            .and_then(|_| p.rt.bound_of(p.pid))
            .map(|b| b.limit.overflow),
        message_queue_bytes: p.tx.bytes(),
    }
}

/// A snapshot of `pid`, or `None` if it is not alive. Also `None` for a pid of
/// another node: a snapshot of a remote process would need a call to its
/// node, and would be stale when it arrived (ask that node instead).
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     bream::send(me, 1u8);
///     let info = bream::process_info(me).unwrap();
///     assert_eq!(info.message_queue_len, 1);
///     assert_eq!(info.status, bream::Status::Running);
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn process_info(pid: Pid) -> Option<ProcessInfo> {
    let me = current("process_info");
    charge(me);
    let p = me.rt.table.with(pid, |p, _| std::sync::Arc::clone(p))?;
    let mut info = p.is_alive().then(|| info_of(&p))?;
    if pid == me.pid {
        // Our own count is exact, not as of our last wait.
        info.reductions = me.owned().reductions.get();
    }
    Some(info)
}

/// Every live process of this runtime, in pid order.
///
///
/// ```
/// bream::run(|| {
///     let child = bream::spawn(|| { bream::receive::<()>(); });
///     assert!(bream::processes().contains(&child));
///     bream::send(child, ());
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn processes() -> Vec<Pid> {
    let me = current("processes");
    charge(me);
    let mut v: Vec<Pid> = me
        .rt
        .table
        .processes()
        .iter()
        .filter(|p| p.is_alive())
        .map(|p| p.pid)
        .collect();
    v.sort_unstable();
    v
}

/// True while `pid`'s process has not exited. False from the moment its exit
/// begins, so a process that received `pid`'s `Down` always sees false.
///
/// ```
/// bream::run(|| {
///     assert!(bream::is_alive(bream::self_pid()));
///     let (pid, _) = bream::spawn_monitor(|| {});
///     let _: bream::Down = bream::receive();
///     assert!(!bream::is_alive(pid));
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn is_alive(pid: Pid) -> bool {
    let me = current("is_alive");
    charge(me);
    if !pid.is_local() {
        // A call to the pid's node (bream-dist); parks the caller.
        return crate::remote::router(&me.rt).is_some_and(|r| r.is_alive(pid));
    }
    me.rt.table.with(pid, |p, _| p.is_alive()) == Some(true)
}

/// Registers `pid` under `name` (Erlang's `register/2`). A process has at most
/// one name; the name is released when the process exits, before its links
/// and monitors fire.
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     bream::register("main", me).unwrap();
///     assert_eq!(bream::whereis("main"), Some(me));
///     assert_eq!(bream::register("main", me), Err(bream::RegisterError::NameTaken(me)));
///     assert!(bream::unregister("main"));
///     assert_eq!(bream::whereis("main"), None);
/// });
/// ```
///
/// # Errors
/// [`RegisterError`]: the name is taken, the process already has a name, or it
/// is not alive.
///
/// # Panics
/// Outside a bream process.
pub fn register(name: &'static str, pid: Pid) -> Result<(), RegisterError> {
    let me = current("register");
    charge(me);
    me.rt.registry.register(&me.rt.table, name, pid)
}

/// Removes a name; true if it was registered.
///
/// # Panics
/// Outside a bream process.
pub fn unregister(name: &str) -> bool {
    let me = current("unregister");
    charge(me);
    me.rt.registry.unregister(name)
}

/// The process registered under `name`.
///
///
/// ```
/// bream::run(|| {
///     assert_eq!(bream::whereis("nobody"), None);
///     bream::register("somebody", bream::self_pid()).unwrap();
///     assert_eq!(bream::whereis("somebody"), Some(bream::self_pid()));
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn whereis(name: &str) -> Option<Pid> {
    let me = current("whereis");
    charge(me);
    me.rt.registry.whereis(name)
}

/// Every registered name, sorted.
///
/// # Panics
/// Outside a bream process.
pub fn registered() -> Vec<&'static str> {
    let me = current("registered");
    charge(me);
    me.rt.registry.registered()
}
