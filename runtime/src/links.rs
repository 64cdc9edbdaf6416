//! The public face of links, monitors and exit signals: [`link`], [`unlink`],
//! [`monitor`], [`demonitor`], [`trap_exit`], [`exit`], [`exit_self`]. The rules
//! are in exit.rs; the bookkeeping in relations.rs.

use std::panic;

use bream_mailbox::From;

use crate::exit::{ExitPayload, Signal};
use crate::pid::{MonitorRef, Pid};
use crate::process::current;
use crate::reason::{Down, ExitReason};
use crate::remote;
use crate::runtime::Shared;

/// `link` to a remote pid: the router tells its node; without a router the
/// node is unreachable and the link fires at once with `NoConnection`.
#[cold]
#[inline(never)]
fn remote_link(rt: &Shared, me: Pid, pid: Pid) {
    match remote::router(rt) {
        Some(r) => r.link(me, pid),
        None => {
            let sig = Signal::Exit {
                from: pid,
                reason: ExitReason::NoConnection,
                link: true,
            };
            rt.deliver_signal(me, sig);
        }
    }
}

/// Links the caller and `pid` (both ways; idempotent; linking to oneself does
/// nothing). If `pid` is not alive, the caller gets an exit signal with reason
/// [`NoProc`](ExitReason::NoProc): it dies with `NoProc` unless it traps exits,
/// in which case it receives `Exit { from: pid, reason: NoProc }`.
///
/// ```
/// use bream::{Exit, ExitReason};
/// bream::run(|| {
///     bream::trap_exit(true);
///     let (dead, _) = bream::spawn_monitor(|| {});
///     let _: bream::Down = bream::receive();
///     bream::link(dead);
///     assert_eq!(bream::receive::<Exit>(), Exit { from: dead, reason: ExitReason::NoProc });
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn link(pid: Pid) {
    let me = current("link");
    if pid == me.pid || me.relations.has_link(pid) {
        crate::info::charge(me);
        return;
    }
    me.relations.add_link(pid);
    if !pid.is_local() {
        remote_link(me.rt.as_ref(), me.pid, pid);
        crate::info::charge(me);
        return;
    }
    let linked = me.rt.table.with(pid, |p, _| p.relations.add_link(me.pid)) == Some(true);
    if !linked {
        // Their end is gone: the exit signal they can no longer send, we send
        // ourselves (it finds the link on our end, as a real one would).
        let sig = Signal::Exit {
            from: pid,
            reason: ExitReason::NoProc,
            link: true,
        };
        me.rt.deliver_signal(me.pid, sig);
    }
    crate::info::charge(me);
}

/// Removes the link between the caller and `pid`, if any. Once it returns, the
/// link has no further effect on the caller: an exit signal already on its way
/// through it is dropped (an `Exit` message already received stays).
///
///
/// ```
/// use bream::ExitReason;
/// bream::run(|| {
///     let child = bream::spawn_link(|| { bream::receive::<()>(); });
///     bream::unlink(child);
///     bream::exit(child, ExitReason::Other("crash".into())); // does not reach us
///     assert!(bream::process_info(bream::self_pid()).unwrap().links.is_empty());
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn unlink(pid: Pid) {
    let me = current("unlink");
    me.relations.remove_link(pid);
    if pid.is_local() {
        me.rt
            .table
            .with(pid, |p, _| p.relations.remove_link(me.pid));
    } else if let Some(r) = remote::router(&me.rt) {
        r.unlink(me.pid, pid);
    }
    crate::info::charge(me);
}

/// Starts monitoring `pid`: when it exits, the caller receives one [`Down`]
/// with the returned ref. Monitoring a process that is not alive gives a
/// `Down` with reason [`NoProc`](ExitReason::NoProc) at once. Several monitors
/// of the same process are independent.
///
/// ```
/// use bream::{Down, ExitReason};
/// bream::run(|| {
///     let pid = bream::spawn(|| { bream::receive::<()>(); });
///     let r = bream::monitor(pid);
///     bream::send(pid, ());
///     let down: Down = bream::receive();
///     assert_eq!(down, Down { monitor: r, pid, reason: ExitReason::Normal });
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn monitor(pid: Pid) -> MonitorRef {
    let me = current("monitor");
    let r = MonitorRef(me.rt.new_ref());
    me.relations.add_monitor(r, pid);
    let watching = if pid.is_local() {
        me.rt
            .table
            .with(pid, |p, _| p.relations.add_watcher(r, me.pid))
            == Some(true)
    } else if let Some(router) = remote::router(&me.rt) {
        router.monitor(me.pid, pid, r);
        true
    } else {
        false
    };
    if !watching {
        let reason = if pid.is_local() {
            ExitReason::NoProc
        } else {
            ExitReason::NoConnection
        };
        let down = Down {
            monitor: r,
            pid,
            reason,
        };
        me.rt.deliver_signal(me.pid, Signal::Down(down));
    }
    crate::info::charge(me);
    r
}

/// Stops monitor `r`. With `flush`, also removes a [`Down`] for `r` that is
/// already in the mailbox; either way, no `Down` for `r` arrives after this
/// returns. True if the monitor was still active (Erlang's `demonitor/2` with
/// the `info` option).
///
/// ```
/// bream::run(|| {
///     let (_, r) = bream::spawn_monitor(|| {});
///     bream::sleep(std::time::Duration::from_millis(5)); // the Down is probably queued now
///     bream::demonitor(r, true);
///     let d = bream::receive_timeout::<bream::Down>(std::time::Duration::ZERO);
///     assert_eq!(d, None);
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn demonitor(r: MonitorRef, flush: bool) -> bool {
    let me = current("demonitor");
    let target = me.relations.remove_monitor(r);
    if let Some(pid) = target {
        if pid.is_local() {
            me.rt.table.with(pid, |p, _| p.relations.remove_watcher(r));
        } else if let Some(router) = remote::router(&me.rt) {
            router.demonitor(me.pid, pid, r);
        }
    }
    // A Down signal for `r` not yet handled is now stale and will be dropped by
    // the next pass; a Down already handled sits in the mailbox as a message.
    // Handling a Down removes its monitor, so if the monitor was still active
    // there is no such message and no need to scan: a gen_server call's
    // `demonitor(r, true)` stays O(1) however deep the caller's mailbox is.
    if flush && target.is_none() {
        if let Ok(mut rx) = me.owned().rx.try_borrow_mut() {
            let _ = rx.select(From::Start, |env| match env.downcast_ref::<Down>() {
                Some(d) if d.monitor == r => Some(()),
                _ => None,
            });
        }
    }
    crate::info::charge(me);
    target.is_some()
}

/// Sets whether the caller traps exits; returns the previous setting. A
/// trapping process receives exit signals as [`Exit`](crate::Exit) messages
/// instead of dying (except `exit(pid, Kill)`, which cannot be trapped).
///
///
/// ```
/// use bream::{Exit, ExitReason};
/// bream::run(|| {
///     assert!(!bream::trap_exit(true));
///     let child = bream::spawn_link(|| bream::exit_self(ExitReason::Other("oops".into())));
///     // Still alive: the exit signal became a message.
///     assert_eq!(bream::receive::<Exit>(), Exit { from: child, reason: ExitReason::Other("oops".into()) });
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn trap_exit(on: bool) -> bool {
    let me = current("trap_exit");
    let old = me.owned().trap_exit.replace(on);
    crate::info::charge(me);
    old
}

/// Sends an exit signal with `reason` to `pid` (Erlang's `exit/2`). What it does
/// follows Erlang's table (docs/links-monitors.md): `Kill` always kills (the target exits `Killed`);
/// `Normal` is ignored unless the target traps exits (or is the caller itself);
/// any other reason kills a target that does not trap exits, and reaches one
/// that does as an [`Exit`](crate::Exit) message. A target that is parked is
/// woken and unwound at once: its destructors run.
///
/// ```
/// use bream::ExitReason;
/// bream::run(|| {
///     let (pid, _) = bream::spawn_monitor(|| loop { bream::receive::<()>(); });
///     bream::exit(pid, ExitReason::Kill);
///     let down: bream::Down = bream::receive();
///     assert_eq!(down.reason, ExitReason::Killed);
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn exit(pid: Pid, reason: ExitReason) {
    let me = current("exit");
    let sig = Signal::Exit {
        from: me.pid,
        reason,
        link: false,
    };
    me.rt.deliver_signal(pid, sig);
    crate::info::charge(me);
}

/// Ends the calling process with `reason` (Erlang's `exit/1`): its stack
/// unwinds (destructors run) and its links and monitors see `reason`.
///
/// ```
/// use bream::ExitReason;
/// bream::run(|| {
///     let (_, _) = bream::spawn_monitor(|| bream::exit_self(ExitReason::Shutdown));
///     assert_eq!(bream::receive::<bream::Down>().reason, ExitReason::Shutdown);
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn exit_self(reason: ExitReason) -> ! {
    let _ = current("exit_self");
    panic::resume_unwind(Box::new(ExitPayload(Some(reason))))
}
