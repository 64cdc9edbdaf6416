//! Bounded mailboxes: what happens to a message that finds its target's
//! mailbox full ([`Overflow`]), [`try_send`], [`send_timeout`], and the
//! delivery primitives that report why a message did not get in.
//!
//! The mechanism is the mailbox's (mailbox/src/bounded.rs: a reservation
//! that never lets the queue exceed its bound, and a handshake for a sender
//! that waits for room); this file is the policy:
//!
//! ```text
//!   send(pid, m) ──▶ reserve a place ──ok──▶ queued (as today)
//!                         │ full
//!                         ▼
//!          Drop:  m becomes a dead letter (MailboxFull)
//!          Kill:  m becomes a dead letter; the receiver exits with
//!                 ExitReason::MailboxFull (links and monitors fire)
//!          Block: a sending process parks until the receiver makes room
//!                 (or its send_timeout passes); a sender that is not a
//!                 process never waits: m becomes a dead letter
//!                 (Runtime::try_send: handed back)
//! ```
//!
//! # Who keeps what
//!
//! The bound itself (messages, and bytes if set) lives in the mailbox
//! (immutable; it counts the bytes it holds). The policy and the queue of
//! blocked senders live in a [`Bound`], one per bounded process, in the
//! runtime's map ([`Bounds`], keyed by pid, behind one lock that only the
//! full-mailbox path, `process_info` and spawn/exit of a bounded process
//! take).
//!
//! # Waking
//!
//! The receiver's room callback holds the same `Bound` and unparks one
//! blocked sender per message its receive removed, oldest first
//! (`RoomWaiters`), not all of them: each removal made room for one
//! message. A woken sender tries again; one that loses the race to a sender
//! that was not waiting registers again at the front and parks. A sender
//! that leaves without using the room it was woken for passes the wake on
//! ([`Leave`]). mailbox/src/bounded.rs, "Waking as few senders as needed",
//! has the protocol and why nothing is lost; the loom model
//! `bounded_block_wakes_one_per_slot_fifo` checks it.
//!
//! # Deadlock is the user's risk
//!
//! Two processes with `Block` mailboxes, each blocked sending to the other,
//! wait forever with `send` (as two threads on two full bounded channels
//! do). `send_timeout` ends such a wait; the test
//! `block_deadlock_ends_by_timeout` shows it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bream_mailbox::{Envelope, Push, Receiver, Refused, RoomWaiters, Sender, Ticket};
use bream_scheduler::{task, TaskRef};

use crate::dead_letters::{self, Reason};
use crate::exit::{self, Signal};
use crate::lifecycle;
use crate::pid::{FastMap, Pid};
use crate::process::{current, with_status, Me, Process, Status};
use crate::reason::ExitReason;
use crate::runtime::{wake, Runtime, Shared};
use crate::sync::Mutex;

/// What happens to a message sent to a full mailbox (see [`MailboxLimit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// The receiver exits with [`ExitReason::MailboxFull`], as OTP kills a
    /// process past its `max_heap_size`: its links and monitors fire, and a
    /// supervisor restarts it. The message becomes a dead letter. The exit
    /// cannot be trapped.
    Kill,
    /// The message becomes a dead letter ([`Reason::MailboxFull`]).
    Drop,
    /// Backpressure: a sending process parks until there is room (or its
    /// [`send_timeout`] passes). The mailbox never holds more than the limit.
    Block,
}

/// A mailbox limit for [`SpawnOpts::mailbox_limit`](crate::SpawnOpts::mailbox_limit):
/// a number of messages, optionally a budget of bytes, and what happens past
/// either.
///
/// Bytes are counted as the sender sized them: `size_of` of each message's
/// type (a `String` is 24 bytes, whatever its text; a `[u8; 1024]` is 1024),
/// the memory the mailbox itself holds for it, not what the value owns on
/// the heap. A message that would take the mailbox past either bound meets
/// the same [`Overflow`] policy; one larger than the whole byte budget can
/// never get in (with `Block`, the sender is not made to wait for room that
/// cannot come: it is handled as a timeout at once).
///
/// ```
/// use bream::{MailboxLimit, Overflow, SpawnOpts};
/// bream::run(|| {
///     let opts = SpawnOpts {
///         mailbox_limit: Some(MailboxLimit::new(2, Overflow::Drop)),
///         ..Default::default()
///     };
///     let (pid, _) = bream::spawn_opt(opts, || bream::sleep(std::time::Duration::from_secs(5))).unwrap();
///     for i in 0..5u32 {
///         bream::send(pid, i); // 0 and 1 queue; 2, 3, 4 are dropped
///     }
///     let info = bream::process_info(pid).unwrap();
///     assert_eq!((info.message_queue_len, info.mailbox_limit), (2, Some(2)));
///     assert_eq!(info.message_queue_bytes, Some(8));
///     assert_eq!(bream::dead_letters::counts().mailbox_full, 3);
///     bream::exit(pid, bream::ExitReason::Kill);
/// });
/// ```
///
/// A byte budget (here with no count bound to speak of):
///
/// ```
/// use bream::{MailboxLimit, Overflow, SpawnOpts};
/// bream::run(|| {
///     let limit = MailboxLimit::new(usize::MAX, Overflow::Drop).bytes(2_500);
///     let opts = SpawnOpts { mailbox_limit: Some(limit), ..Default::default() };
///     let (pid, _) = bream::spawn_opt(opts, || bream::sleep(std::time::Duration::from_secs(5))).unwrap();
///     for _ in 0..3 {
///         bream::send(pid, [0u8; 1024]); // the third would make 3,072 bytes
///     }
///     let info = bream::process_info(pid).unwrap();
///     assert_eq!(info.message_queue_len, 2);
///     assert_eq!((info.message_queue_bytes, info.mailbox_limit_bytes), (Some(2048), Some(2_500)));
///     assert_eq!(bream::dead_letters::counts().mailbox_full, 1);
///     bream::exit(pid, bream::ExitReason::Kill);
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MailboxLimit {
    /// The most messages the mailbox holds (at least 1). Exit and down
    /// signals are never refused, and may sit above it.
    pub messages: usize,
    /// The most payload bytes the mailbox holds, if set (see the type's
    /// essay for how they are counted). Signals are never refused, and may
    /// sit above it.
    pub bytes: Option<usize>,
    /// What happens to a message that finds the mailbox full.
    pub overflow: Overflow,
}

impl MailboxLimit {
    /// A limit of `messages` (at least 1) with the given policy, and no
    /// byte budget.
    pub fn new(messages: usize, overflow: Overflow) -> MailboxLimit {
        MailboxLimit {
            messages: messages.max(1),
            bytes: None,
            overflow,
        }
    }

    /// The same limit with a budget of `bytes` payload bytes as well.
    #[must_use]
    pub fn bytes(self, bytes: usize) -> MailboxLimit {
        MailboxLimit {
            bytes: Some(bytes),
            ..self
        }
    }

    /// The same limit with another policy.
    #[must_use]
    pub fn overflow(self, overflow: Overflow) -> MailboxLimit {
        MailboxLimit { overflow, ..self }
    }
}

/// Why [`try_send`] handed a message back.
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The target's mailbox is bounded and full.
    Full(T),
    /// The target is not alive.
    Disconnected(T),
}

/// Why [`send_timeout`] handed a message back.
#[derive(Debug, PartialEq, Eq)]
pub enum SendTimeoutError<T> {
    /// The mailbox stayed full until the timeout passed.
    Timeout(T),
    /// The target is not alive (or exited while we waited).
    Disconnected(T),
}

impl<T> TrySendError<T> {
    /// The message handed back.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(m) | TrySendError::Disconnected(m) => m,
        }
    }
}

impl<T> SendTimeoutError<T> {
    /// The message handed back.
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(m) | SendTimeoutError::Disconnected(m) => m,
        }
    }
}

impl<T> std::fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "the mailbox is full",
            TrySendError::Disconnected(_) => "the process is not alive",
        })
    }
}

impl<T> std::fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SendTimeoutError::Timeout(_) => "the mailbox stayed full until the timeout",
            SendTimeoutError::Disconnected(_) => "the process is not alive",
        })
    }
}

impl<T: std::fmt::Debug> std::error::Error for TrySendError<T> {}
impl<T: std::fmt::Debug> std::error::Error for SendTimeoutError<T> {}

/// Why a delivery did not get in.
pub(crate) enum Undelivered<T> {
    /// No live process (or its mailbox is closed).
    NoProc(T),
    /// The bounded mailbox is full.
    Full(T),
}

/// The policy of one bounded process (module essay, "Who keeps what").
pub(crate) struct Bound {
    /// Its limit, as spawned.
    pub(crate) limit: MailboxLimit,
    /// Tasks of processes blocked sending to it, oldest first; the room
    /// callback wakes one per removed message (module essay, "Waking").
    waiters: RoomWaiters<TaskRef>,
}

/// Every bounded process's [`Bound`], by pid.
#[derive(Default)]
pub(crate) struct Bounds {
    map: Mutex<FastMap<Pid, Arc<Bound>>>,
}

/// The mailbox a new process gets.
pub(crate) fn new_mailbox(limit: Option<MailboxLimit>) -> (Sender, Receiver) {
    match limit {
        Some(l) => bream_mailbox::mailbox_limited(l.messages, l.bytes),
        None => bream_mailbox::mailbox(),
    }
}

/// At spawn, before the process runs: records its policy and sets its
/// mailbox's room callback.
///
/// # Safety
/// The process has no task yet.
pub(crate) unsafe fn install(rt: &Shared, p: &Process, limit: MailboxLimit) {
    let bound = Arc::new(Bound {
        limit,
        waiters: RoomWaiters::new(),
    });
    rt.bounds.map.lock().insert(p.pid, Arc::clone(&bound));
    // SAFETY: no task yet (contract).
    let owned = unsafe { p.owned_after_task() };
    owned
        .rx
        .borrow_mut()
        .on_room(move |n| bound.waiters.wake(n, |t| t.unpark()));
}

/// At exit (after the slot is cleared): forgets the policy and wakes the
/// blocked senders, who then find the process gone.
pub(crate) fn forget(p: &Process) {
    if p.tx.limit().is_none() {
        return;
    }
    let bound = p.rt.bounds.map.lock().remove(&p.pid);
    if let Some(b) = bound {
        b.waiters.wake_all(|t| t.unpark());
    }
}

impl Shared {
    /// Pushes `msg` to `pid` within its bound, waking it if it waits; says
    /// why not otherwise. The plain send's path: one test of the result more
    /// than `deliver` had.
    #[inline]
    pub(crate) fn try_deliver<T: Send + 'static>(
        &self,
        pid: Pid,
        msg: T,
    ) -> Result<(), Undelivered<T>> {
        self.try_deliver_with(pid, msg, |tx, m| tx.try_push(m))
    }

    /// [`try_deliver`](Shared::try_deliver) for an envelope.
    pub(crate) fn try_deliver_envelope(
        &self,
        pid: Pid,
        env: Envelope,
    ) -> Result<(), Undelivered<Envelope>> {
        self.try_deliver_with(pid, env, |tx, e| tx.try_push_envelope(e))
    }

    /// The one delivery path: `push` the message into `pid`'s mailbox under
    /// its table slot, restart the process if the push woke it.
    #[inline]
    fn try_deliver_with<M>(
        &self,
        pid: Pid,
        msg: M,
        push: impl FnOnce(&Sender, M) -> Result<Push, Refused<M>>,
    ) -> Result<(), Undelivered<M>> {
        crate::observer::sent(self, pid);
        let mut msg = Some(msg);
        let r = self.table.with_entry(pid, |e| {
            let tx = e.tx.as_ref()?;
            let m = msg.take()?;
            Some(match push(tx, m) {
                Ok(Push::Queued) => Ok(None),
                Ok(Push::Wake) => Ok(wake(e)),
                Err(refused) => Err(refused),
            })
        });
        match r.flatten() {
            Some(Ok(None)) => Ok(()),
            Some(Ok(Some(p))) => {
                lifecycle::restart(p);
                Ok(())
            }
            Some(Err(Refused::Full(m))) => Err(Undelivered::Full(m)),
            Some(Err(Refused::Closed(m))) => Err(Undelivered::NoProc(m)),
            None => match msg.take() {
                Some(m) => Err(Undelivered::NoProc(m)),
                None => unreachable!("the message was pushed or handed back"),
            },
        }
    }

    pub(crate) fn bound_of(&self, pid: Pid) -> Option<Arc<Bound>> {
        self.bounds.map.lock().get(&pid).cloned()
    }
}

/// A message on its way: a plain value, or one already in an envelope
/// (`Message::forward`), so the policy below is written once.
pub(crate) trait Deliverable: Sized {
    /// Its payload size, as a byte budget counts it.
    fn size(&self) -> usize;
    /// One delivery attempt.
    fn try_deliver(self, rt: &Shared, pid: Pid) -> Result<(), Undelivered<Self>>;
    /// Counts (and shows) it as a dead letter.
    fn record(self, rt: &Shared, reason: Reason, pid: Pid, from: Option<Pid>);
}

/// A plain message value.
pub(crate) struct Plain<T>(pub(crate) T);

impl<T: Send + 'static> Deliverable for Plain<T> {
    fn size(&self) -> usize {
        std::mem::size_of::<T>()
    }

    #[inline]
    fn try_deliver(self, rt: &Shared, pid: Pid) -> Result<(), Undelivered<Self>> {
        rt.try_deliver(pid, self.0).map_err(|u| match u {
            Undelivered::NoProc(m) => Undelivered::NoProc(Plain(m)),
            Undelivered::Full(m) => Undelivered::Full(Plain(m)),
        })
    }

    fn record(self, rt: &Shared, reason: Reason, pid: Pid, from: Option<Pid>) {
        dead_letters::record(rt, reason, pid, from, self.0);
    }
}

impl Deliverable for Envelope {
    fn size(&self) -> usize {
        self.payload_size()
    }

    fn try_deliver(self, rt: &Shared, pid: Pid) -> Result<(), Undelivered<Self>> {
        rt.try_deliver_envelope(pid, self)
    }

    fn record(self, rt: &Shared, reason: Reason, pid: Pid, from: Option<Pid>) {
        dead_letters::record_envelope(rt, reason, pid, from, self);
    }
}

/// A message `send` could not deliver, from a process (`me`) or not: applies
/// the target's policy (module essay). Cold: the plain send never comes here.
#[cold]
#[inline(never)]
pub(crate) fn undelivered<D: Deliverable>(
    rt: &Shared,
    me: Option<Me>,
    pid: Pid,
    u: Undelivered<D>,
) {
    let from = me.map(|m| m.pid);
    let msg = match u {
        Undelivered::NoProc(m) => return m.record(rt, Reason::NoProcess, pid, from),
        Undelivered::Full(m) => m,
    };
    let Some(bound) = rt.bound_of(pid) else {
        // Full, and the policy already gone: the process is exiting.
        return msg.record(rt, Reason::NoProcess, pid, from);
    };
    match (bound.limit.overflow, me) {
        (Overflow::Block, Some(me)) => {
            if let Err(e) = block(me, pid, msg, None) {
                let reason = match e {
                    SendTimeoutError::Timeout(_) => Reason::MailboxFull,
                    SendTimeoutError::Disconnected(_) => Reason::NoProcess,
                };
                e.into_inner().record(rt, reason, pid, from);
            }
        }
        (Overflow::Kill, _) => {
            kill(rt, pid);
            msg.record(rt, Reason::MailboxFull, pid, from);
        }
        (Overflow::Drop | Overflow::Block, _) => {
            msg.record(rt, Reason::MailboxFull, pid, from);
        }
    }
}

/// `Overflow::Kill`: the receiver exits with `MailboxFull` (an exit signal
/// from itself, which exit.rs's table makes untrappable).
fn kill(rt: &Shared, pid: Pid) {
    let limit = rt
        .table
        .with_entry(pid, |e| e.tx.as_ref().and_then(Sender::limit))
        .flatten()
        .unwrap_or(0);
    rt.deliver_signal(
        pid,
        Signal::Exit {
            from: pid,
            reason: ExitReason::MailboxFull { limit },
            link: false,
        },
    );
}

/// `Overflow::Block` for a sending process: park until there is room, the
/// target exits, or `timeout` passes (`None`: forever).
///
/// The protocol is mailbox/src/bounded.rs's "Waiting for room" and "Waking
/// as few senders as needed": register in the target's FIFO of waiters,
/// announce, re-check, park; woken, try again. A sender that leaves without
/// its message in after being woken passes the wake on ([`Leave`]), also
/// when it leaves by unwinding (killed while blocked).
fn block<D: Deliverable>(
    me: Me,
    pid: Pid,
    mut msg: D,
    timeout: Option<Duration>,
) -> Result<(), SendTimeoutError<D>> {
    let rt = &me.rt;
    let deadline = timeout.and_then(|d| Instant::now().checked_add(d));
    let Some(tx) = rt.table.with_entry(pid, |e| e.tx.clone()).flatten() else {
        return Err(SendTimeoutError::Disconnected(msg));
    };
    let Some(bound) = rt.bound_of(pid) else {
        return Err(SendTimeoutError::Disconnected(msg));
    };
    let size = msg.size();
    if bound.limit.bytes.is_some_and(|b| size > b) {
        // Larger than the whole budget: no room will ever come.
        return Err(SendTimeoutError::Timeout(msg));
    }
    let t = task::with_current(TaskRef::clone);
    let mut leave = Leave {
        bound: &bound,
        tx: &tx,
        size,
        ticket: Ticket::default(),
        delivered: false,
    };
    loop {
        exit::handle_signals(me);
        match msg.try_deliver(rt, pid) {
            Ok(()) => {
                leave.delivered = true;
                return Ok(());
            }
            Err(Undelivered::NoProc(m)) => return Err(SendTimeoutError::Disconnected(m)),
            Err(Undelivered::Full(m)) => msg = m,
        }
        // bounded.rs's "Waiting for room": register, announce, re-check.
        bound.waiters.register(&mut leave.ticket, t.clone());
        if tx.announce_waiting(size) {
            continue;
        }
        if tx.is_closed() {
            return Err(SendTimeoutError::Disconnected(msg));
        }
        let now = Instant::now();
        match deadline {
            Some(dl) if now >= dl => return Err(SendTimeoutError::Timeout(msg)),
            Some(dl) => {
                let d = dl - now;
                with_status(me, Status::Suspended, || {
                    let _ = task::park_timeout(d);
                });
            }
            None => with_status(me, Status::Suspended, task::park),
        }
    }
}

/// A blocked sender's way out of [`block`], however it leaves: off the
/// queue of waiters, and if a receiver had woken it for room it may not
/// have used, that wake goes to the next sender in line: always if it gives
/// up (a timeout, the target's exit, its own exit unwinding), and if its
/// message is in, when there is still room (it may have found room by
/// itself and been woken after; mailbox/src/bounded.rs, "Waking as few
/// senders as needed").
struct Leave<'a> {
    bound: &'a Bound,
    tx: &'a Sender,
    /// The payload size of its message.
    size: usize,
    ticket: Ticket,
    /// Its message got in.
    delivered: bool,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let woken = self.bound.waiters.leave(&mut self.ticket);
        if woken && (!self.delivered || self.tx.has_room(self.size)) {
            self.bound.waiters.wake(1, |t| t.unpark());
        }
    }
}

/// Sends `msg` to `pid` if its mailbox has room now; never waits, whatever
/// the target's [`Overflow`] policy. Hands the message back if the mailbox
/// is full or the process is not alive (crossbeam's `try_send`); a refused
/// message is not a dead letter (the caller has it).
///
/// ```
/// use bream::{MailboxLimit, Overflow, SpawnOpts, TrySendError};
/// bream::run(|| {
///     let opts = SpawnOpts {
///         mailbox_limit: Some(MailboxLimit::new(1, Overflow::Block)),
///         ..Default::default()
///     };
///     let (pid, _) = bream::spawn_opt(opts, || { bream::receive::<()>(); }).unwrap();
///     assert_eq!(bream::try_send(pid, 1u8), Ok(()));
///     assert_eq!(bream::try_send(pid, 2u8), Err(TrySendError::Full(2)));
///     bream::exit(pid, bream::ExitReason::Kill);
/// });
/// ```
///
/// # Errors
/// [`TrySendError`], with the message.
///
/// # Panics
/// Outside a bream process (a plain thread uses [`Runtime::try_send`]).
pub fn try_send<T: Send + 'static>(pid: Pid, msg: T) -> Result<(), TrySendError<T>> {
    let me = current("try_send");
    exit::handle_signals(me);
    let r = try_send_in(&me.rt, pid, msg);
    let o = me.owned();
    o.reductions.set(o.reductions.get() + 1);
    task::reduce(1);
    r
}

fn try_send_in<T: Send + 'static>(rt: &Shared, pid: Pid, msg: T) -> Result<(), TrySendError<T>> {
    match rt.try_deliver(pid, msg) {
        Ok(()) => Ok(()),
        Err(Undelivered::Full(m)) => Err(TrySendError::Full(m)),
        Err(Undelivered::NoProc(m)) => Err(TrySendError::Disconnected(m)),
    }
}

/// Sends `msg` to `pid`, waiting up to `d` for room in a full bounded
/// mailbox (whatever its policy: the wait replaces it). Hands the message
/// back on timeout or if the process is not alive.
///
/// ```
/// use std::time::Duration;
/// use bream::{MailboxLimit, Overflow, SendTimeoutError, SpawnOpts};
/// bream::run(|| {
///     let opts = SpawnOpts {
///         mailbox_limit: Some(MailboxLimit::new(1, Overflow::Block)),
///         ..Default::default()
///     };
///     let (pid, _) = bream::spawn_opt(opts, || { bream::receive::<()>(); }).unwrap();
///     bream::send(pid, 1u8);
///     let r = bream::send_timeout(pid, 2u8, Duration::from_millis(20));
///     assert_eq!(r, Err(SendTimeoutError::Timeout(2)));
///     bream::exit(pid, bream::ExitReason::Kill);
/// });
/// ```
///
/// # Errors
/// [`SendTimeoutError`], with the message.
///
/// # Panics
/// Outside a bream process.
pub fn send_timeout<T: Send + 'static>(
    pid: Pid,
    msg: T,
    d: Duration,
) -> Result<(), SendTimeoutError<T>> {
    let me = current("send_timeout");
    exit::handle_signals(me);
    let o = me.owned();
    o.reductions.set(o.reductions.get() + 1);
    match me.rt.try_deliver(pid, msg) {
        Ok(()) => {
            task::reduce(1);
            Ok(())
        }
        Err(Undelivered::NoProc(m)) => Err(SendTimeoutError::Disconnected(m)),
        Err(Undelivered::Full(m)) => block(me, pid, Plain(m), Some(d)).map_err(|e| match e {
            SendTimeoutError::Timeout(m) => SendTimeoutError::Timeout(m.0),
            SendTimeoutError::Disconnected(m) => SendTimeoutError::Disconnected(m.0),
        }),
    }
}

impl Runtime {
    /// [`try_send`] from a thread that is not a bream process: never blocks,
    /// whatever the target's [`Overflow`] policy (a `Block` mailbox that is
    /// full answers [`TrySendError::Full`]).
    ///
    /// ```
    /// use bream::{MailboxLimit, Overflow, SpawnOpts, TrySendError};
    /// let rt = bream::Runtime::new().unwrap();
    /// let pid = rt.block_on(|| {
    ///     let opts = SpawnOpts {
    ///         mailbox_limit: Some(MailboxLimit::new(1, Overflow::Block)),
    ///         ..Default::default()
    ///     };
    ///     bream::spawn_opt(opts, || { bream::receive::<()>(); }).unwrap().0
    /// });
    /// assert_eq!(rt.try_send(pid, 1u8), Ok(()));
    /// assert_eq!(rt.try_send(pid, 2u8), Err(TrySendError::Full(2)));
    /// rt.shutdown();
    /// ```
    ///
    /// # Errors
    /// [`TrySendError`], with the message.
    pub fn try_send<T: Send + 'static>(&self, pid: Pid, msg: T) -> Result<(), TrySendError<T>> {
        try_send_in(self.shared(), pid, msg)
    }
}

impl<T> Undelivered<T> {
    /// The same verdict for a wrapped message.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Undelivered<U> {
        match self {
            Undelivered::NoProc(m) => Undelivered::NoProc(f(m)),
            Undelivered::Full(m) => Undelivered::Full(f(m)),
        }
    }
}
