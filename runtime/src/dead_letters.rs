//! Dead letters: the messages that went nowhere (Pekko's `DeadLetter`, with
//! Erlang's silence as the default).
//!
//! # What counts
//!
//! Every message that does not reach a mailbox, or leaves one without being
//! received, is counted once, by [`Reason`]:
//!
//! - [`Reason::NoProcess`]: sent to a pid that is not alive (never was, or has
//!   exited), by `send`, `send_alias`, `Message::forward`, a timer, a socket;
//! - [`Reason::NotRegistered`]: `send_named` to a name no process holds (the
//!   caller also gets the message back, but it went nowhere);
//! - [`Reason::MailboxFull`]: refused by a bounded mailbox whose policy drops
//!   it ([`Overflow::Drop`](crate::Overflow::Drop)), or whose receiver it
//!   kills ([`Overflow::Kill`](crate::Overflow::Kill)), or that a sender which
//!   is not a process could not wait for ([`Overflow::Block`](crate::Overflow::Block));
//! - [`Reason::LeftAtExit`]: still in a mailbox when its process exited
//!   (exit and down signals not yet handled are not messages, and are not
//!   counted).
//!
//! `try_send` and `send_timeout` hand a refused message back to their caller:
//! it has not gone anywhere yet, so it is not a dead letter.
//!
//! # Exactly once, even when a send races with the receiver's exit
//!
//! A send pushes under the read lock of the target's table slot; an exit
//! first takes the process out of its slot (write lock), then drains the
//! mailbox, counting what it finds (exit.rs, "When a process exits", step 5).
//! So a racing send either got its push in before the slot was cleared (the
//! drain finds and counts it: `LeftAtExit`) or finds the slot empty (the
//! sender counts it: `NoProcess`); never both, never neither. The loom model
//! `dead_letter_at_exit_races_with_push` (loom-tests/tests/mailbox.rs) checks
//! that protocol with the real mailbox.
//!
//! # Cost
//!
//! The counters are touched only on the paths above, which already failed or
//! are already slow (an exit draining its mailbox). The plain send's path
//! gains one test of its result.
//!
//! # Seeing them
//!
//! - [`counts`] (or [`stats`](crate::stats)) returns the counters.
//! - A process that calls [`subscribe`] receives a [`DeadLetter`] for each,
//!   with the message itself moved in (the first subscriber gets it; later
//!   ones get the facts without the message), at most [`rate`] per second for
//!   the whole runtime: the rest are counted in `Counts::suppressed`, so a
//!   storm of dead letters cannot flood the subscriber.
//! - [`Builder::log_dead_letters`](crate::Builder::log_dead_letters) logs each
//!   (within the same rate) through `tracing` at `info` level.

use std::time::{Duration, Instant};

use bream_mailbox::{Envelope, Receiver};

use crate::pid::Pid;
use crate::process::{current, Process};
use crate::receive::Message;
use crate::runtime::Shared;
use crate::sync::{AtomicU64, Mutex, Ordering};

/// Why a message became a dead letter (module essay, "What counts").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Sent to a pid that is not alive.
    NoProcess,
    /// Sent to a name no process holds.
    NotRegistered,
    /// Refused by a bounded mailbox.
    MailboxFull,
    /// Still in the mailbox when its process exited.
    LeftAtExit,
}

/// Where a dead letter was going.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// A pid.
    Pid(Pid),
    /// A registered name.
    Name(String),
}

/// One message that went nowhere, as a subscriber receives it.
#[derive(Debug)]
#[non_exhaustive]
pub struct DeadLetter {
    /// Where it was going.
    pub to: Recipient,
    /// The process that sent it, where known (a send from a process; `None`
    /// for a timer, a socket, a plain thread, and for messages left at exit).
    pub from: Option<Pid>,
    /// The name of the message's type (`core::any::type_name`).
    pub type_name: &'static str,
    /// Why it went nowhere.
    pub reason: Reason,
    /// The message itself, for the first subscriber (`None` for the others,
    /// and for `NotRegistered`, where the sender got it back).
    pub message: Option<Message>,
}

/// The dead-letter counters of one runtime, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// [`Reason::NoProcess`].
    pub no_process: u64,
    /// [`Reason::NotRegistered`].
    pub not_registered: u64,
    /// [`Reason::MailboxFull`].
    pub mailbox_full: u64,
    /// [`Reason::LeftAtExit`].
    pub left_at_exit: u64,
    /// Dead letters not shown to subscribers or the log because of the rate
    /// limit, plus letters a subscriber's full bounded mailbox refused (still
    /// counted under their reason).
    pub suppressed: u64,
}

impl Counts {
    /// Every dead letter, whatever its reason.
    pub fn total(&self) -> u64 {
        self.no_process + self.not_registered + self.mailbox_full + self.left_at_exit
    }
}

/// The default of [`set_rate`]: dead letters shown per second.
pub const DEFAULT_RATE: u32 = 1000;

/// The dead-letter state of one runtime (in `Shared`).
pub(crate) struct DeadLetters {
    /// By `Reason as usize`. Relaxed: statistics.
    counts: [AtomicU64; 4],
    /// See `Counts::suppressed`. Relaxed.
    suppressed: AtomicU64,
    /// Subscribed processes, and the rate window. Locked only on the paths
    /// of the module essay, and only when someone is watching.
    watch: Mutex<Watch>,
    /// Subscribers exist or logging is on: the cold path needs the lock.
    /// Relaxed: a subscription racing with a dead letter may miss it.
    watched: AtomicU64,
    /// `Builder::log_dead_letters`. Immutable.
    log: bool,
}

struct Watch {
    subscribers: Vec<Pid>,
    /// Start of the current one-second window, and letters shown in it.
    window: (Instant, u32),
    /// Letters shown per second.
    rate: u32,
}

impl DeadLetters {
    pub(crate) fn new(log: bool) -> DeadLetters {
        DeadLetters {
            counts: Default::default(),
            suppressed: AtomicU64::new(0),
            watch: Mutex::new(Watch {
                subscribers: Vec::new(),
                window: (Instant::now(), 0),
                rate: DEFAULT_RATE,
            }),
            watched: AtomicU64::new(u64::from(log)),
            log,
        }
    }

    pub(crate) fn counts(&self) -> Counts {
        let c = |r: Reason| self.counts[r as usize].load(Ordering::Relaxed);
        Counts {
            no_process: c(Reason::NoProcess),
            not_registered: c(Reason::NotRegistered),
            mailbox_full: c(Reason::MailboxFull),
            left_at_exit: c(Reason::LeftAtExit),
            suppressed: self.suppressed.load(Ordering::Relaxed),
        }
    }
}

/// Records a dead letter whose message is a `T`.
#[cold]
#[inline(never)]
pub(crate) fn record<T: Send + 'static>(
    rt: &Shared,
    reason: Reason,
    to: Pid,
    from: Option<Pid>,
    msg: T,
) {
    record_with(rt, reason, Recipient::Pid(to), from, 1, || {
        (core::any::type_name::<T>(), Some(Message::new(msg)))
    });
}

/// Records a dead letter whose message is in an envelope.
#[cold]
#[inline(never)]
pub(crate) fn record_envelope(
    rt: &Shared,
    reason: Reason,
    to: Pid,
    from: Option<Pid>,
    env: Envelope,
) {
    record_with(rt, reason, Recipient::Pid(to), from, 1, || {
        (env.type_name(), Some(Message::from_envelope(env)))
    });
}

/// Records `send_named`'s dead letter (the caller keeps the message).
#[cold]
#[inline(never)]
pub(crate) fn record_unregistered(rt: &Shared, name: &str, from: Pid, type_name: &'static str) {
    record_with(
        rt,
        Reason::NotRegistered,
        Recipient::Name(name.to_owned()),
        Some(from),
        1,
        || (type_name, None),
    );
}

/// The one door: counts, then shows within the rate.
fn record_with(
    rt: &Shared,
    reason: Reason,
    to: Recipient,
    from: Option<Pid>,
    n: u64,
    letter: impl FnOnce() -> (&'static str, Option<Message>),
) {
    let d = &rt.dead_letters;
    d.counts[reason as usize].fetch_add(n, Ordering::Relaxed);
    if d.watched.load(Ordering::Relaxed) == 0 {
        return;
    }
    let subscribers = {
        let mut w = d.watch.lock();
        let now = Instant::now();
        if now.duration_since(w.window.0) >= Duration::from_secs(1) {
            w.window = (now, 0);
        }
        if w.window.1 >= w.rate {
            d.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        w.window.1 += 1;
        w.subscribers.clone()
    };
    let (type_name, mut message) = letter();
    if d.log {
        tracing::info!(
            to = ?to,
            from = ?from,
            type_name,
            reason = ?reason,
            "bream: dead letter: a {type_name} to {to:?} went nowhere ({reason:?})"
        );
    }
    let mut gone = Vec::new();
    for s in subscribers {
        let letter = DeadLetter {
            to: to.clone(),
            from,
            type_name,
            reason,
            message: message.take(),
        };
        // A subscriber that has exited is forgotten; a letter it could not
        // take (exited, or its bounded mailbox is full) is not itself a dead
        // letter (that way lies a loop): it counts as suppressed.
        match rt.try_deliver(s, letter) {
            Ok(()) => {}
            Err(crate::bounded::Undelivered::Full(_)) => {
                d.suppressed.fetch_add(1, Ordering::Relaxed);
            }
            Err(crate::bounded::Undelivered::NoProc(_)) => gone.push(s),
        }
    }
    if !gone.is_empty() {
        let mut w = d.watch.lock();
        w.subscribers.retain(|p| !gone.contains(p));
        d.watched.store(
            u64::from(d.log || !w.subscribers.is_empty()),
            Ordering::Relaxed,
        );
    }
}

/// Called by a process's exit, after its table slot was cleared: drops what
/// is left in its mailbox, counting each message as a dead letter, and lets
/// go of its bound (bounded.rs). Exit and down signals are not messages.
pub(crate) fn drain_at_exit(p: &Process, rx: &mut Receiver) {
    crate::bounded::forget(p);
    let rt = &p.rt;
    let mut n = 0u64;
    let watched = rt.dead_letters.watched.load(Ordering::Relaxed) != 0;
    while let Some(env) = rx.try_recv_any() {
        if env.is::<crate::exit::Signal>() {
            continue;
        }
        if watched {
            record_envelope(rt, Reason::LeftAtExit, p.pid, None, env);
        } else {
            n += 1;
        }
    }
    if n > 0 {
        rt.dead_letters.counts[Reason::LeftAtExit as usize].fetch_add(n, Ordering::Relaxed);
    }
}

/// The dead-letter counters of the caller's runtime.
///
/// ```
/// bream::run(|| {
///     let (pid, _) = bream::spawn_monitor(|| {});
///     let _: bream::Down = bream::receive();
///     let before = bream::dead_letters::counts().no_process;
///     bream::send(pid, "anyone there?");
///     assert_eq!(bream::dead_letters::counts().no_process, before + 1);
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn counts() -> Counts {
    current("dead_letters::counts").rt.dead_letters.counts()
}

/// The caller receives a [`DeadLetter`] message for each dead letter of its
/// runtime from now on (within the [`rate`]). Subscribing twice is one
/// subscription. A subscriber that exits is forgotten.
///
/// ```
/// use bream::dead_letters::{self, DeadLetter, Reason};
/// bream::run(|| {
///     dead_letters::subscribe();
///     let (pid, _) = bream::spawn_monitor(|| {});
///     let _: bream::Down = bream::receive();
///     bream::send(pid, 42u32);
///     let d: DeadLetter = bream::receive();
///     assert_eq!(d.reason, Reason::NoProcess);
///     assert_eq!(d.type_name, "u32");
///     assert_eq!(d.message.unwrap().downcast::<u32>().ok(), Some(42));
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn subscribe() {
    let me = current("dead_letters::subscribe");
    let d = &me.rt.dead_letters;
    let mut w = d.watch.lock();
    if !w.subscribers.contains(&me.pid) {
        w.subscribers.push(me.pid);
    }
    d.watched.store(1, Ordering::Relaxed);
}

/// Ends the caller's subscription; true if it was subscribed.
///
/// # Panics
/// Outside a bream process.
pub fn unsubscribe() -> bool {
    let me = current("dead_letters::unsubscribe");
    let d = &me.rt.dead_letters;
    let mut w = d.watch.lock();
    let before = w.subscribers.len();
    w.subscribers.retain(|p| *p != me.pid);
    d.watched.store(
        u64::from(d.log || !w.subscribers.is_empty()),
        Ordering::Relaxed,
    );
    w.subscribers.len() != before
}

/// Sets how many dead letters per second subscribers (and the log) are shown,
/// runtime-wide ([`DEFAULT_RATE`] unless set); the rest are only counted.
///
/// # Panics
/// Outside a bream process.
pub fn set_rate(per_second: u32) {
    current("dead_letters::set_rate")
        .rt
        .dead_letters
        .watch
        .lock()
        .rate = per_second;
}

/// The current rate (see [`set_rate`]).
///
/// # Panics
/// Outside a bream process.
pub fn rate() -> u32 {
    current("dead_letters::rate")
        .rt
        .dead_letters
        .watch
        .lock()
        .rate
}
