//! A process's links and monitors: the lock-guarded half of its state.
//!
//! Erlang delivers link, unlink, monitor and demonitor as signals through the
//! target's signal queue. bream instead lets the *caller* edit both ends under
//! each end's own lock (docs/adr/runtime-0001-relations-under-a-lock.md explains why: a
//! gen_server call monitors and demonitors its server every time, and a signal
//! in the server's mailbox would make the server scan its whole backlog twice per
//! call). What must stay ordered with messages — exit signals and `Down` — still
//! travels through the mailbox (exit.rs).
//!
//! The whole protocol rests on one flag, `closed`, set by the exiting process
//! under this lock ([`Relations::close`]):
//!
//! - A caller that adds itself to a target's set under the target's lock either
//!   finds `closed` unset — then the target's `close`, later in the lock's order,
//!   takes the caller's entry and signals it — or finds it set, and reports
//!   `NoProc` itself. Never both, never neither (loom-checked in
//!   `loom-tests/tests/runtime.rs`).
//! - Removing an entry (unlink, demonitor) under the lock before `close` means the
//!   exiting process will not signal it; after `close`, a signal may already be
//!   in flight, and the receiver drops it because its own end no longer has the
//!   entry (exit.rs, "stale signals").

use crate::pid::{FastMap, FastSet, MonitorRef, Pid};

/// A pid for a loom model (models have no process table).
#[cfg(bream_loom)]
pub fn model_pid(index: u32) -> Pid {
    Pid::new(index, 0)
}

/// A monitor ref for a loom model.
#[cfg(bream_loom)]
pub fn model_monitor_ref(n: u64) -> MonitorRef {
    MonitorRef(crate::pid::Ref(n))
}
use crate::sync::Mutex;

/// The sets, guarded by [`Relations`]' lock.
#[derive(Debug, Default)]
pub struct Sets {
    /// Set once by the exiting process; after that nothing is added.
    pub(crate) closed: bool,
    /// Linked processes (links are symmetric: each end holds the other).
    pub(crate) links: FastSet<Pid>,
    /// Monitors this process holds on others: ref → target.
    pub(crate) monitors: FastMap<MonitorRef, Pid>,
    /// Monitors others hold on this process: ref → watcher.
    pub(crate) watchers: FastMap<MonitorRef, Pid>,
}

/// What a process leaves behind when it closes its relations: whom to signal.
#[derive(Debug, Default)]
pub struct Closed {
    /// The links, each to get an exit signal.
    pub links: Vec<Pid>,
    /// The watchers, each to get a down signal.
    pub watchers: Vec<(MonitorRef, Pid)>,
    /// This process's own monitors, to remove from their targets.
    pub monitors: Vec<(MonitorRef, Pid)>,
}

/// One process's links and monitors. Any thread may call any method: each takes
/// the lock for the duration of one small edit, and no method takes two
/// processes' locks at once (so there is no lock order to get wrong).
#[derive(Debug, Default)]
pub struct Relations {
    sets: Mutex<Sets>,
}

impl Relations {
    /// Empty relations.
    pub fn new() -> Self {
        Relations::default()
    }

    /// Adds `other` to the links; false (nothing added) if already closed.
    pub fn add_link(&self, other: Pid) -> bool {
        let mut s = self.sets.lock();
        if s.closed {
            return false;
        }
        s.links.insert(other);
        true
    }

    /// True if `other` was linked.
    pub fn has_link(&self, other: Pid) -> bool {
        self.sets.lock().links.contains(&other)
    }

    /// Removes `other` from the links; true if it was there.
    pub fn remove_link(&self, other: Pid) -> bool {
        self.sets.lock().links.remove(&other)
    }

    /// Records that `watcher` monitors this process with `r`; false if closed.
    pub fn add_watcher(&self, r: MonitorRef, watcher: Pid) -> bool {
        let mut s = self.sets.lock();
        if s.closed {
            return false;
        }
        s.watchers.insert(r, watcher);
        true
    }

    /// Forgets watcher `r`.
    pub fn remove_watcher(&self, r: MonitorRef) {
        self.sets.lock().watchers.remove(&r);
    }

    /// Records that this process monitors `target` with `r`.
    pub fn add_monitor(&self, r: MonitorRef, target: Pid) {
        self.sets.lock().monitors.insert(r, target);
    }

    /// Forgets monitor `r`; its target if it was active.
    pub fn remove_monitor(&self, r: MonitorRef) -> Option<Pid> {
        self.sets.lock().monitors.remove(&r)
    }

    /// Closes the relations for good and hands back everyone to signal.
    pub fn close(&self) -> Closed {
        let mut s = self.sets.lock();
        s.closed = true;
        Closed {
            links: s.links.drain().collect(),
            watchers: s.watchers.drain().collect(),
            monitors: s.monitors.drain().collect(),
        }
    }

    /// Runs `f` on the sets (for `process_info`).
    pub fn inspect<R>(&self, f: impl FnOnce(&Sets) -> R) -> R {
        f(&self.sets.lock())
    }
}

#[cfg(all(test, not(bream_loom)))]
mod tests {
    use super::*;
    use crate::pid::Ref;

    #[test]
    fn nothing_is_added_after_close_and_close_hands_everything_back() {
        let r = Relations::new();
        let (a, b) = (Pid::new(1, 0), Pid::new(2, 0));
        let m = MonitorRef(Ref(7));
        assert!(r.add_link(a));
        assert!(r.add_watcher(m, b));
        let closed = r.close();
        assert_eq!(closed.links, vec![a]);
        assert_eq!(closed.watchers, vec![(m, b)]);
        assert!(
            !r.add_link(b),
            "closed: the caller must report NoProc itself"
        );
        assert!(!r.add_watcher(m, a));
    }
}
