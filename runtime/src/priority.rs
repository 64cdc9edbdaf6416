//! Priority messages (OTP 28, EEP 76): [`alias_priority`] and
//! [`send_priority`].
//!
//! A process opts in by making a priority alias; a message sent *with
//! priority* through such an alias is received before every ordinary message
//! the process has not received yet, and priority messages keep their order
//! among themselves. No sender can jump the queue of a process that did not
//! ask for it: a priority send through an ordinary alias, and an ordinary
//! send through a priority alias, are ordinary messages (EEP 76 asks both
//! for the alias and for the send option).
//!
//! The mechanism is the mailbox's (mailbox/src/extra.rs): the message's
//! block is marked, travels through the one inbound queue, and the receiver
//! sorts it into its priority list. The message is wrapped like any alias
//! message, so once the alias is deactivated ([`unalias`](crate::unalias))
//! what still arrives through it is dropped.
//!
//! Exit signals with a priority flag (OTP 28's `exit/3`): not provided; see
//! docs/adr/mailbox-0001-policies.md for why bream's signal path does not
//! need them for kills, and what a trapping process does instead.

use bream_mailbox::Envelope;
use bream_scheduler::task;

use crate::exit;
use crate::pid::Alias;
use crate::process::current;
use crate::receive::AliasMsg;

/// The bit of an alias id that marks a priority alias (refs count up from 1
/// and never reach it).
const PRIORITY: u64 = 1 << 63;

/// A new active priority [`Alias`] of the caller (OTP 28's
/// `alias([priority])`): messages sent through it with [`send_priority`]
/// overtake every ordinary message not yet received.
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     let urgent = bream::alias_priority();
///     bream::send(me, "ordinary");
///     bream::send_priority(urgent, "urgent");
///     assert_eq!(bream::receive::<&str>(), "urgent");
///     assert_eq!(bream::receive::<&str>(), "ordinary");
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn alias_priority() -> Alias {
    let me = current("alias_priority");
    let id = me.rt.new_ref().0 | PRIORITY;
    me.owned().rare_set(|r| r.aliases.insert(id));
    me.owned()
        .rx
        .try_borrow_mut()
        .unwrap_or_else(|_| panic!("bream: alias_priority called inside a receive! guard"))
        .enable_priority();
    Alias { pid: me.pid, id }
}

/// True if `a` was made by [`alias_priority`].
pub(crate) fn is_priority(a: Alias) -> bool {
    a.id & PRIORITY != 0
}

/// Sends `msg` through `a` with priority: if `a` is a priority alias
/// ([`alias_priority`]) the message goes ahead of every ordinary message its
/// process has not received yet; otherwise it is an ordinary
/// [`send_alias`](crate::send_alias). Delivered only while the alias is
/// active.
///
/// # Panics
/// Outside a bream process.
pub fn send_priority<T: Send + 'static>(a: Alias, msg: T) {
    if !is_priority(a) {
        return crate::send_alias(a, msg);
    }
    let me = current("send_priority");
    exit::handle_signals(me);
    let mut env = Envelope::new(AliasMsg {
        id: a.id,
        msg: Envelope::new(msg),
    });
    env.set_priority(true);
    if let Err(u) = me.rt.try_deliver_envelope(a.pid, env) {
        crate::bounded::undelivered(&me.rt, Some(me), a.pid, u);
    }
    let o = me.owned();
    o.reductions.set(o.reductions.get() + 1);
    task::reduce(1);
}
