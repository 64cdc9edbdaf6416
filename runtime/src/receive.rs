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
//!
//! Any `after` duration means "at most that long": a deadline past the end of
//! `Instant`'s range (`Duration::MAX`, `gen_server::INFINITY`) waits forever.
//!
//! # Freezing an idle process (`hibernate_after`)
//!
//! A process spawned with `hibernate_after` (or in a runtime built with it)
//! parks in step 5 with that deadline too; once a receive has waited that
//! long without a message it takes, every further park of that receive is
//! `task::park_frozen`: the worker copies the process's live frames to the
//! heap and gives its stack page back (scheduler's context/freeze.rs), and
//! the next resume copies them back. Nothing else changes: the handshake,
//! the timeouts and the signals are the same. `Duration::ZERO` freezes at
//! the first park.
//!
//! # The unmatched-message warning
//!
//! Messages match by their exact Rust type, so a `21` sent where `21u64` is
//! received waits forever, silently. When the runtime's
//! `unmatched_message_warning` threshold is set (debug builds: 2 s), a receive
//! that has waited that long also parks with that deadline; when it passes,
//! the receive scans its mailbox once for messages of types no arm takes and,
//! if there are any, writes one warning (report.rs) naming the arm types and
//! the held types — once per process. A message of an arm's type that its
//! guard refuses is not reported: that is ordinary selective receive.

use std::any::{Any, TypeId};
use std::fmt;
use std::time::{Duration, Instant};

use std::any::type_name;

use bream_mailbox::{Envelope, From};
use bream_scheduler::task;

use crate::exit;
use crate::pid::{Alias, Pid, Ref};
use crate::process::{current, with_status, Me, Status, NEVER_FREEZE};

/// A message sent with [`send_alias`]: delivered (unwrapped in place) only while
/// the alias is active.
pub(crate) struct AliasMsg {
    pub(crate) id: u64,
    pub(crate) msg: Envelope,
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

/// The name of an arm's type (`core::any::type_name::<T>`), for the
/// unmatched-message warning.
#[doc(hidden)]
pub type ArmType = fn() -> &'static str;

/// The engine of `receive!` (see the module essay). `accept` is shown each
/// message in arrival order and returns the index of the arm that takes it.
/// `arms` names the types the arms take (for the unmatched-message warning).
#[doc(hidden)]
pub fn select(
    marker: Option<&Ref>,
    after: Option<Duration>,
    arms: &[ArmType],
    mut accept: impl FnMut(&mut Envelope) -> Option<usize>,
) -> Selected {
    let me = current("receive");
    let mut clocks = Clocks::default();
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
        if after.is_some_and(|d| d.is_zero()) {
            return Selected::Timeout;
        }
        if after.is_none()
            && me.rt.unmatched_warning.is_none()
            && me.freeze_after_ms == NEVER_FREEZE
        {
            wait(me, None, false); // the common case: no clock to read
            continue;
        }
        match clocks.next(me, after, marker, arms) {
            Some((timeout, frozen)) => wait(me, timeout, frozen),
            None => return Selected::Timeout,
        }
    }
}

/// The clocks of one receive, each set at its first timed wait (`None`
/// inside: never). Its own type, and [`Clocks::next`] its own function, so
/// that their state and arithmetic are not in `select`'s frame: a frozen
/// process keeps that frame (`hibernate_after`).
#[derive(Default)]
struct Clocks {
    /// The `after` deadline.
    deadline: Option<Option<Instant>>,
    /// When to write the unmatched-message warning.
    warn_at: Option<Option<Instant>>,
    /// When to freeze the stack (`hibernate_after`).
    freeze_at: Option<Option<Instant>>,
}

impl Clocks {
    /// How the receive waits next: `Some((timeout, frozen))`, or `None` if
    /// its deadline has passed. Writes the unmatched-message warning when
    /// its time has come.
    #[inline(never)]
    fn next(
        &mut self,
        me: Me,
        after: Option<Duration>,
        marker: Option<&Ref>,
        arms: &[ArmType],
    ) -> Option<(Option<Duration>, bool)> {
        let now = Instant::now();
        // Saturating: a deadline past `Instant`'s range is "forever".
        let dl = *self
            .deadline
            .get_or_insert_with(|| after.and_then(|d| now.checked_add(d)));
        if dl.is_some_and(|dl| now >= dl) {
            return None;
        }
        let warn = *self.warn_at.get_or_insert_with(|| {
            // Once per process: a process already warned sets no timer.
            let warned = me.owned().rare_get(|r| r.warned_unmatched) == Some(true);
            let d = me.rt.unmatched_warning.filter(|_| !warned);
            d.and_then(|d| now.checked_add(d))
        });
        if warn.is_some_and(|w| now >= w) {
            warn_unmatched(me, marker, arms);
            self.warn_at = Some(None);
        }
        let freeze = *self
            .freeze_at
            .get_or_insert_with(|| match me.freeze_after_ms {
                NEVER_FREEZE => None,
                ms => Some(
                    now.checked_add(Duration::from_millis(u64::from(ms)))
                        .unwrap_or(now),
                ),
            });
        let frozen = freeze.is_some_and(|f| now >= f);
        let wake = [dl, self.warn_at.flatten(), freeze.filter(|_| !frozen)]
            .into_iter()
            .flatten()
            .min();
        Some((wake.map(|w| w.saturating_duration_since(now)), frozen))
    }
}

/// The unmatched-message warning (module essay), at most once per process.
#[cold]
fn warn_unmatched(me: Me, marker: Option<&Ref>, arms: &[ArmType]) {
    if me.owned().rare_get(|r| r.warned_unmatched) == Some(true) {
        return;
    }
    let wants: Vec<&'static str> = arms.iter().map(|f| f()).collect();
    let mut held: Vec<(&'static str, usize)> = Vec::new();
    {
        let Ok(mut rx) = me.owned().rx.try_borrow_mut() else {
            return;
        };
        let from = start_of(me, marker);
        let _ = rx.select(from, |env| {
            if env.is::<exit::Signal>() || env.is::<AliasMsg>() {
                return None::<()>;
            }
            let t = env.type_name();
            if !wants.contains(&t) {
                match held.iter_mut().find(|(n, _)| *n == t) {
                    Some((_, c)) => *c += 1,
                    None => held.push((t, 1)),
                }
            }
            None
        });
    }
    if held.is_empty() {
        return;
    }
    me.owned().rare_set(|r| r.warned_unmatched = true);
    crate::report::unmatched(me.pid, &wants, &held);
}

/// Steps 4–6 of the module essay; `frozen`: park with the stack frozen.
fn wait(me: Me, timeout: Option<Duration>, frozen: bool) {
    if !me.owned().rx.borrow_mut().prepare_wait() {
        // A message is there, or a push is half done (its sender preempted
        // between linking and publishing): yield before scanning again, as
        // docs/contracts.md says, or this spins the worker (issue 13).
        task::yield_now();
        return;
    }
    with_status(me, Status::Waiting, || match (timeout, frozen) {
        (None, false) => task::park(),
        (Some(d), false) => {
            let _ = task::park_timeout(d);
        }
        (t, true) => {
            let _ = task::park_frozen(t);
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
    if TypeId::of::<T>() == TypeId::of::<Message>() {
        typed_message_arm();
    }
    match env.take::<T>() {
        Some(v) => Some(v),
        // A message from another node, which the arm's type may decode
        // (remote.rs); local messages of another type end here, after one
        // type-tag compare.
        None if env.is::<crate::remote::Wire>() => crate::remote::take_wire::<T>(env),
        None => None,
    }
}

#[cold]
#[track_caller]
fn typed_message_arm() -> ! {
    panic!(
        "receive!: an arm `x: bream::Message` never matches (no message has the type \
         Message); write the catch-all arm without a type: `x => ...`"
    )
}

/// A `receive!` catch-all arm's test: true for any message (not for a
/// runtime-internal signal). Hidden: used by the macro.
#[doc(hidden)]
#[inline]
pub fn any(env: &mut Envelope) -> bool {
    !env.is::<exit::Signal>()
}

/// The message a catch-all arm took. Hidden: used by the macro.
#[doc(hidden)]
#[inline]
pub fn message(env: Envelope) -> Message {
    Message(env)
}

/// Any message, of whatever type: what a `receive!` catch-all arm binds
/// (`other => ...`), what [`receive::<Message>()`](receive) takes (the oldest
/// message), and a way to log, drop or forward a message whose type the
/// process does not expect (Erlang's `Other -> ...` clause).
///
/// ```
/// use bream::{receive, Message};
/// bream::run(|| {
///     let me = bream::self_pid();
///     bream::send(me, 21); // an i32: the receive below wants u64
///     let got = receive! {
///         n: u64 => Ok(n),
///         other => Err(other),
///     };
///     let other: Message = got.unwrap_err();
///     assert_eq!(other.type_name(), "i32");
///     assert_eq!(other.downcast::<i32>().ok(), Some(21));
/// });
/// ```
pub struct Message(Envelope);

impl Message {
    pub(crate) fn from_envelope(env: Envelope) -> Message {
        Message(env)
    }

    /// A message holding `v` (to [`forward`](Message::forward), or to test code
    /// that takes a `Message`).
    pub fn new<T: Send + 'static>(v: T) -> Message {
        Message(Envelope::new(v))
    }

    /// The name of the payload's type (`core::any::type_name`), e.g. `"i32"`,
    /// `"alloc::string::String"`.
    pub fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    /// True if the payload is a `T`.
    pub fn is<T: 'static>(&self) -> bool {
        self.0.is::<T>()
    }

    /// The payload, if it is a `T`.
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }

    /// The payload by value if it is a `T`; else the message back.
    ///
    /// # Errors
    /// The message itself, unchanged, if the payload is not a `T`.
    pub fn downcast<T: 'static>(self) -> Result<T, Message> {
        self.0.downcast::<T>().map_err(Message)
    }

    /// Sends the message on to `pid` as it is: `pid` receives it with its
    /// original type (no re-boxing, no copy).
    ///
    /// ```
    /// bream::run(|| {
    ///     let me = bream::self_pid();
    ///     let relay = bream::spawn(move || {
    ///         let m: bream::Message = bream::receive();
    ///         m.forward(me);
    ///     });
    ///     bream::send(relay, 7u8);
    ///     assert_eq!(bream::receive::<u8>(), 7);
    /// });
    /// ```
    ///
    /// # Panics
    /// Outside a bream process.
    pub fn forward(self, pid: Pid) {
        let me = current("Message::forward");
        exit::handle_signals(me);
        if let Err(u) = me.rt.try_deliver_envelope(pid, self.0) {
            crate::bounded::undelivered(&me.rt, Some(me), pid, u);
        }
        let o = me.owned();
        o.reductions.set(o.reductions.get() + 1);
        task::reduce(1);
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("type", &self.type_name())
            .finish_non_exhaustive()
    }
}

/// A taken message as a `T` for [`receive`] and [`receive_timeout`]: the
/// payload, or the whole message when `T` is [`Message`].
fn unpack<T: 'static>(env: Envelope) -> T {
    if TypeId::of::<T>() == TypeId::of::<Message>() {
        let mut m = Some(Message(env));
        return match (&mut m as &mut dyn Any).downcast_mut::<Option<T>>() {
            Some(t) => t.take().expect("just set"),
            None => unreachable!("T is Message"),
        };
    }
    downcast(env)
}

/// The test of [`receive`] and [`receive_timeout`] for a `T`.
fn accepts<T: Send + 'static>(env: &mut Envelope) -> bool {
    if TypeId::of::<T>() == TypeId::of::<Message>() {
        !env.is::<exit::Signal>()
    } else {
        matches::<T>(env)
    }
}

/// Drops every message in the caller's mailbox and returns how many there
/// were (the Erlang shell's `flush()`, without the printing). Exit and down
/// signals are still handled as usual: a `Down` or `Exit` already delivered
/// counts as a message and goes too.
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     bream::send(me, 1u8);
///     bream::send(me, "stray");
///     assert_eq!(bream::flush(), 2);
///     assert_eq!(bream::flush(), 0);
/// });
/// ```
///
/// # Panics
/// Outside a bream process, or inside a `receive!` guard.
pub fn flush() -> usize {
    let me = current("flush");
    exit::handle_signals(me);
    let mut rx = me
        .owned()
        .rx
        .try_borrow_mut()
        .unwrap_or_else(|_| panic!("bream: flush called inside a receive! guard"));
    let mut n = 0;
    // Each scan removes one message: signals stay for the next signal pass,
    // a message to an inactive alias goes uncounted.
    while let Some((counted, env)) = rx.select(From::Start, |env| {
        if env.is::<exit::Signal>() {
            return None;
        }
        Some(!env.is::<AliasMsg>() || unwrap_alias(me, env))
    }) {
        n += usize::from(counted);
        drop(env);
    }
    drop(rx);
    let o = me.owned();
    o.reductions.set(o.reductions.get() + n as u64);
    n
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
/// # Types are the pattern
/// A receive matches messages by their exact Rust type. An unsuffixed
/// integer literal is an `i32` (a float literal an `f64`), so `send(pid, 21)`
/// is never taken by a `receive::<u64>()`: write `21u64`. Likewise `"hi"` is a
/// `&'static str`, not a `String`. A receive that waits while such a message
/// sits in its mailbox says so after a while in debug builds
/// ([`Builder::unmatched_message_warning`](crate::Builder::unmatched_message_warning));
/// a catch-all arm (`other => ...` in [`receive!`](crate::receive!)) or
/// [`flush`](crate::flush) clears strays (docs/messages.md, "Messages of the
/// wrong type").
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
    if !pid.is_local() {
        crate::remote::send(&me.rt, me.pid, pid, msg);
    } else if let Err(u) = me.rt.try_deliver(pid, msg) {
        crate::bounded::undelivered(&me.rt, Some(me), pid, u.map(crate::bounded::Plain));
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
        None => {
            // A failed send spends a reduction too (issue 17).
            crate::info::charge(me);
            crate::dead_letters::record_unregistered(&me.rt, name, me.pid, type_name::<T>());
            Err(NotRegistered(msg))
        }
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
    match select(None, None, &[type_name::<T>], |env| {
        accepts::<T>(env).then_some(0)
    }) {
        Selected::Arm(_, env) => unpack(env),
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
    match select(None, Some(d), &[type_name::<T>], |env| {
        accepts::<T>(env).then_some(0)
    }) {
        Selected::Arm(_, env) => Some(unpack(env)),
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
