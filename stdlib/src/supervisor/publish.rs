//! Showing the observer the supervision tree: after every change to its
//! children, a supervisor pins them to itself with
//! [`bream::observer::publish_children`] (id, pid, worker or supervisor,
//! restart type); a snapshot (`bream-observer`'s tree view) links the lists
//! into a tree through the pids in them. The runtime knows nothing of
//! supervisors: this is the one place that speaks to it about them.
//!
//! # Cost
//!
//! A publish copies the list: nothing for the few children most supervisors
//! have, but a `SimpleOneForOne` supervisor of 100,000 dynamic children that
//! copied them at each start would be quadratic. So past [`EAGER`] children
//! a change only sets a flag and sends the supervisor a [`Note::Publish`]
//! after [`DELAY`]: one copy per `DELAY` however many changes, and the tree
//! view lags by at most that.

use std::time::Duration;

use bream::observer::{publish_children, ChildKind, ChildRow};

use super::child::Child;
use super::spec::{ChildType, Restart};

/// At most this many children are published at once, at each change
/// (a value picked out of thin air: a copy of this many rows is a few
/// microseconds).
pub(crate) const EAGER: usize = 256;
/// Past `EAGER`, changes are published at most this often (the observer's
/// fastest refresh is 100 ms).
pub(crate) const DELAY: Duration = Duration::from_millis(50);

/// What a supervisor sends itself (the `Info` type of its gen_server).
pub(crate) enum Note {
    /// Try the failed restarts again (server.rs).
    Retry,
    /// Publish the children now (a deferred publish, see "Cost").
    Publish,
}

/// The restart type as the observer shows it (OTP's words).
fn restart_name(r: Restart) -> &'static str {
    match r {
        Restart::Permanent => "permanent",
        Restart::Transient => "transient",
        Restart::Temporary => "temporary",
    }
}

/// Publishes `children` now.
pub(crate) fn now(children: &[Child]) {
    let rows = children
        .iter()
        .map(|c| {
            let kind = match c.kind {
                ChildType::Worker => ChildKind::Worker,
                ChildType::Supervisor => ChildKind::Supervisor,
            };
            ChildRow::new(c.id.clone(), c.pid(), kind, restart_name(c.restart))
        })
        .collect();
    publish_children(rows);
}

/// The children changed: publish them now if they are few, else once
/// `DELAY` from now (`pending` says a publish is already on its way).
pub(crate) fn changed(children: &[Child], pending: &mut bool) {
    if children.len() <= EAGER {
        now(children);
    } else if !*pending {
        *pending = true;
        bream::send_after(DELAY, bream::self_pid(), Note::Publish);
    }
}
