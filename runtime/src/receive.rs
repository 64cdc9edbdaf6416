//! Messages: [`send`], [`receive`], the engine under the `receive!` macro
//! ([`select`]), references and aliases.
//!
//! # How a receive waits (the handshake of mailbox/src/waiter.rs)
//!
//! 1. Handle pending signals (exit.rs).
//! 2. Scan the mailbox (from the marker, if the receive names one): the first
//!    message, in arrival order, that some arm accepts is taken.
//! 3. Nothing matched: if signals arrived meanwhile, back to 1; with
//!    `after Duration::ZERO` or a passed deadline, time out.
//! 4. `prepare_wait()`: if it says a message came in since the scan, back to 2.
//! 5. Park (with a timeout for `after`). Any push from now on reports `Wake` to
//!    exactly one sender, who unparks us; a signal sender unparks us anyway.
//! 6. `finish_wait()` (it also withdraws the announcement after a timeout or a
//!    spurious wake-up), and back to 1.

use std::time::{Duration, Instant};

use bream_mailbox::{Envelope, From};
use bream_scheduler::task;

use crate::exit;
use crate::pid::{Alias, Pid, Ref};
use crate::process::{current, with_status, Me, Status};

/// A message sent with [`send_alias`]: delivered (unwrapped in place) only while
/// the alias is active.
pub(crate) struct AliasMsg {
    id: u64,
    msg: Envelope,
}

/// Unwraps an alias message in place if its alias is active; false if it is not
/// (the caller drops it).
pub(crate) fn unwrap_alias(me: Me, env: &mut Envelope) -> bool {
    let Some(a) = env.take::<AliasMsg>() else {
        return true;
    };
    if me.owned().rare_get(|r| r.aliases.contains(&a.id)) == Some(true) {
        *env = a.msg;
        true
    } else {
        false
    }
}

/// Which arm a receive took, or that it timed out. Used by `receive!`.
#[doc(hidden)]
#[derive(Debug)]
pub enum Selected {
    /// Arm `n` took this message.
    Arm(usize, Envelope),
    /// The `after` arm.
    Timeout,
}

/// The scan key for "drop this message and scan again".
const DROP: usize = usize::MAX;

/// The engine of `receive!` (see the module essay). `accept` is shown each
/// message in arrival order and returns the index of the arm that takes it.
#[doc(hidden)]
pub fn select(
    marker: Option<&Ref>,
    after: Option<Duration>,
    mut accept: impl FnMut(&mut Envelope) -> Option<usize>,
) -> Selected {
    let me = current("receive");
    let mut deadline: Option<Instant> = None;
    loop {
        exit::handle_signals(me);
        let hit = {
            let mut rx = me
                .owned()
                .rx
                .try_borrow_mut()
                .unwrap_or_else(|_| panic!("bream: receive called inside a receive! guard"));
            let from = start_of(me, marker);
            rx.select(from, |env| {
                if env.is::<AliasMsg>() && !unwrap_alias(me, env) {
                    return Some(DROP);
                }
                accept(env)
            })
        };
        match hit {
            Some((DROP, _)) => continue,
            Some((i, env)) => {
                let o = me.owned();
                o.reductions.set(o.reductions.get() + 1);
                return Selected::Arm(i, env);
            }
            None => {}
        }
        // Relaxed: a hint; the pass re-reads with Acquire.
        if me.signals.load(crate::sync::Ordering::Relaxed) != 0 {
            continue;
        }
        let until = match after {
            None => None,
            Some(d) if d.is_zero() => return Selected::Timeout,
            Some(d) => {
                let now = Instant::now();
                let dl = *deadline.get_or_insert_with(|| now + d);
                if now >= dl {
                    return Selected::Timeout;
                }
                Some(dl - now)
            }
        };
        wait(me, until);
    }
}

/// Steps 4–6 of the module essay.
fn wait(me: Me, timeout: Option<Duration>) {
    if !me.owned().rx.borrow_mut().prepare_wait() {
        return;
    }
    with_status(me, Status::Waiting, || match timeout {
        None => task::park(),
        Some(d) => {
            let _ = task::park_timeout(d);
        }
    });
    me.owned().rx.borrow_mut().finish_wait();
}

/// Where a scan starts: after the marker if `marker` is the caller's last
/// `make_ref()`, else at the oldest message.
fn start_of(me: Me, marker: Option<&Ref>) -> From {
    match (marker, &*me.owned().marker.borrow()) {
        (Some(r), Some((mr, m))) if r == mr => From::Marker(*m),
        _ => From::Start,
    }
}

/// Takes the payload for a `receive!` arm's test. Hidden: used by the macro.
#[doc(hidden)]
#[inline]
pub fn take<T: 'static>(env: &mut Envelope) -> Option<T> {
    match env.take::<T>() {
        Some(v) => Some(v),
        // A message from another node, which the arm's type may decode
        // (remote.rs); local messages of another type end here, after one
        // type-tag compare.
        None if env.is::<crate::remote::Wire>() => crate::remote::take_wire::<T>(env),
        None => None,
    }
}

/// Puts the payload back after a `receive!` arm's test. Hidden: used by the macro.
#[doc(hidden)]
#[inline]
pub fn put<T: Send + 'static>(env: &mut Envelope, v: T) {
    // A `Wire` that `take` decoded is still in the envelope: the decoded
    // value is dropped, the message stays as it came.
    if env.is_empty() {
        env.put(v)
    } else {
        crate::remote::keep_decoded(env, v)
    }
}

/// The payload of the message an arm took. Hidden: used by the macro.
#[doc(hidden)]
#[inline]
pub fn downcast<T: 'static>(env: Envelope) -> T {
    match env.downcast::<T>() {
        Ok(v) => v,
        Err(mut env) => match crate::remote::take_wire::<T>(&mut env) {
            Some(v) => v,
            None => unreachable!("receive!: the arm's type was checked when it matched"),
        },
    }
}

/// True if `env` holds a `T`, or a message from another node that decodes as
/// one (the decoded value is kept in it for `downcast`).
#[inline]
fn matches<T: Send + 'static>(env: &mut Envelope) -> bool {
    if env.is::<T>() {
        return true;
    }
    if !env.is::<crate::remote::Wire>() {
        return false;
    }
    match crate::remote::take_wire::<T>(env) {
        Some(v) => {
            crate::remote::keep_decoded(env, v);
            true
        }
        None => false,
    }
}

/// The caller's pid.
///
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     let child = bream::spawn(move || bream::send(me, bream::self_pid()));
///     assert_ne!(bream::receive::<bream::Pid>(), me);
///     let _ = child;
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn self_pid() -> Pid {
    current("self_pid").pid
}

/// Sends `msg` to `pid`: moves it into `pid`'s mailbox. Never blocks, never
/// fails: a message to a process that is not alive is dropped, as in Erlang.
///
/// # Ordering
/// Messages (and signals) from one process to another arrive in the order they
/// were sent. Nothing is promised between different senders.
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     bream::send(me, "hello");
///     assert_eq!(bream::receive::<&str>(), "hello");
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
#[inline]
pub fn send<T: Send + 'static>(pid: Pid, msg: T) {
    let me = current("send");
    // First: a process that was killed sends nothing more.
    exit::handle_signals(me);
    if pid.is_local() {
        me.rt.deliver(pid, msg);
    } else {
        crate::remote::send(&me.rt, me.pid, pid, msg);
    }
    let o = me.owned();
    o.reductions.set(o.reductions.get() + 1);
    task::reduce(1);
}

/// A message [`send_named`] could not deliver: no process has the name. The
/// message is handed back.
#[derive(Debug, PartialEq, Eq)]
pub struct NotRegistered<T>(pub T);

impl<T> std::fmt::Display for NotRegistered<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no process is registered under that name")
    }
}

impl<T: std::fmt::Debug> std::error::Error for NotRegistered<T> {}

/// Sends `msg` to the process registered as `name` (Erlang's `Name ! Msg`).
///
/// ```
/// bream::run(|| {
///     bream::register("me", bream::self_pid()).unwrap();
///     bream::send_named("me", 7u8).unwrap();
///     assert_eq!(bream::receive::<u8>(), 7);
///     assert_eq!(bream::send_named("nobody", 1u8), Err(bream::NotRegistered(1u8)));
/// });
/// ```
///
/// # Errors
/// [`NotRegistered`] (with the message) if no process has the name.
///
/// # Panics
/// Outside a bream process.
pub fn send_named<T: Send + 'static>(name: &str, msg: T) -> Result<(), NotRegistered<T>> {
    let me = current("send_named");
    match me.rt.registry.whereis(name) {
        Some(pid) => {
            send(pid, msg);
            Ok(())
        }
        None => Err(NotRegistered(msg)),
    }
}

/// Sends `msg` to the process registered as `name` on `node` (Erlang's
/// `{Name, Node} ! Msg`). On this node it is [`send_named`]; to another node
/// (through bream-dist, docs/distribution.md) it cannot fail, as in Erlang: a
/// name nobody holds there drops the message. In a runtime without
/// distribution every node is this node.
///
/// ```
/// bream::run(|| {
///     bream::register("me", bream::self_pid()).unwrap();
///     bream::send_named_at("me", "nonode@nohost", 7u8).unwrap();
///     assert_eq!(bream::receive::<u8>(), 7);
/// });
/// ```
///
/// # Errors
/// [`NotRegistered`] (with the message) if `node` is this node and no process
/// has the name.
///
/// # Panics
/// Outside a bream process.
pub fn send_named_at<T: Send + 'static>(
    name: &str,
    node: &str,
    msg: T,
) -> Result<(), NotRegistered<T>> {
    let me = current("send_named_at");
    let mut msg = msg;
    if let Some(r) = crate::remote::router(&me.rt) {
        exit::handle_signals(me);
        match r.send_named(
            me.pid,
            name,
            node,
            Box::new(msg),
            std::any::type_name::<T>(),
        ) {
            Ok(()) => {
                task::reduce(1);
                return Ok(());
            }
            Err(back) => match back.downcast::<T>() {
                Ok(m) => msg = *m,
                Err(_) => unreachable!("the router hands back the message it was given"),
            },
        }
    }
    send_named(name, msg)
}

/// Receives the first message of type `T`, waiting as long as it takes. Other
/// messages stay in the mailbox, in order.
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     bream::send(me, "text");
///     bream::send(me, 5i32);
///     assert_eq!(bream::receive::<i32>(), 5);      // skips the &str
///     assert_eq!(bream::receive::<&str>(), "text"); // still there
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn receive<T: Send + 'static>() -> T {
    match select(None, None, |env| matches::<T>(env).then_some(0)) {
        Selected::Arm(_, env) => downcast(env),
        Selected::Timeout => unreachable!("no timeout was given"),
    }
}

/// Receives the first message of type `T` if one arrives within `d`;
/// `Duration::ZERO` only looks at what is already there.
///
/// ```
/// use std::time::Duration;
/// bream::run(|| {
///     assert_eq!(bream::receive_timeout::<u32>(Duration::from_millis(1)), None);
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn receive_timeout<T: Send + 'static>(d: Duration) -> Option<T> {
    match select(None, Some(d), |env| matches::<T>(env).then_some(0)) {
        Selected::Arm(_, env) => Some(downcast(env)),
        Selected::Timeout => None,
    }
}

/// A fresh [`Ref`], unique in this runtime. It also sets the caller's receive
/// marker: a later `receive! { marker r; .. }` with this `r` scans only messages
/// that arrived after this call, so waiting for the reply to a request tagged
/// with `r` costs the same however many older messages wait in the mailbox
/// (OTP 24's optimisation).
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     for i in 0..1000u32 { bream::send(me, i); } // an old backlog
///     let r = bream::make_ref();
///     bream::send(me, (r, "reply"));
///     let got = bream::receive! { marker r; (t, v): (bream::Ref, &str) if t == r => v };
///     assert_eq!(got, "reply");
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn make_ref() -> Ref {
    let me = current("make_ref");
    let r = me.rt.new_ref();
    if let Ok(mut rx) = me.owned().rx.try_borrow_mut() {
        let m = rx.set_marker();
        me.owned().marker.replace(Some((r, m)));
    }
    r
}

/// A new active [`Alias`] of the caller (OTP 24's `alias()`).
///
/// # Panics
/// Outside a bream process.
pub fn alias() -> Alias {
    let me = current("alias");
    let id = me.rt.new_ref().0;
    me.owned().rare_set(|r| r.aliases.insert(id));
    Alias { pid: me.pid, id }
}

/// Deactivates one of the caller's aliases: messages sent to it from now on —
/// and any that arrive later — are dropped. True if it was active.
///
///
/// ```
/// bream::run(|| {
///     let a = bream::alias();
///     assert!(bream::unalias(a));
///     assert!(!bream::unalias(a), "already inactive");
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn unalias(a: Alias) -> bool {
    let me = current("unalias");
    a.pid == me.pid && me.owned().rare_get(|r| r.aliases.remove(&a.id)) == Some(true)
}

/// Sends `msg` through alias `a`: it reaches the alias's process only if the
/// alias is still active when the message is looked at.
///
///
/// ```
/// bream::run(|| {
///     let a = bream::alias();
///     bream::spawn(move || bream::send_alias(a, "through the alias"));
///     assert_eq!(bream::receive::<&str>(), "through the alias");
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn send_alias<T: Send + 'static>(a: Alias, msg: T) {
    send(
        a.pid,
        AliasMsg {
            id: a.id,
            msg: Envelope::new(msg),
        },
    );
}
