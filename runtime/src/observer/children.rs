//! Published children: how a supervisor shows the observer its part of the
//! supervision tree, without the runtime knowing what a supervisor is.
//!
//! The runtime has no supervisors (they are the stdlib's), yet the observer
//! (which the runtime hosts) should draw the tree. So the runtime offers a
//! plain board: any process may pin a list of [`ChildRow`]s to itself
//! ([`publish_children`]), replacing the last one; a snapshot reads the
//! board and hangs each list on its process's row ([`ProcessRow::children`]);
//! the process's exit takes its list down. The stdlib's supervisor pins its
//! children after every change; a tree is then every published list, linked
//! by the pids in them.
//!
//! # What it costs
//!
//! A process that never publishes pays one Relaxed load and one branch at
//! its exit (the `PUBLISHED` bit of its flags word, as `NAMED` spares the
//! registry lock). One that publishes pays a lock of the board per publish,
//! and holds its list until it publishes again or exits. Nothing is read
//! until someone takes a snapshot.
//!
//! # No race with the exit
//!
//! Only the process itself publishes (the calls act on the caller), and its
//! exit runs after its code has finished, so a publish never comes after
//! the exit took the list down: no flag protocol is needed beyond the bit
//! that says "look on the board".
//!
//! [`ProcessRow::children`]: super::ProcessRow::children

use std::sync::Arc;

use crate::pid::{FastMap, Pid};
use crate::process::{current, Process, PUBLISHED};
use crate::sync::{Mutex, Ordering};

/// Whether a child is a worker or a supervisor (OTP's child `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildKind {
    /// A process that does the work.
    Worker,
    /// A supervisor: it publishes children of its own.
    Supervisor,
}

impl ChildKind {
    /// `worker` or `supervisor`, as OTP spells them.
    pub fn name(self) -> &'static str {
        match self {
            ChildKind::Worker => "worker",
            ChildKind::Supervisor => "supervisor",
        }
    }
}

/// One child, as a supervisor publishes it ([`publish_children`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildRow {
    /// Its id in the supervisor's spec.
    pub id: String,
    /// Its pid, if it runs now (`None`: terminated, ignored, or restarting).
    pub pid: Option<Pid>,
    /// Worker or supervisor.
    pub kind: ChildKind,
    /// When it is restarted, as the publisher names it (the stdlib writes
    /// `permanent`, `transient` or `temporary`). One word: the wire format
    /// splits on spaces.
    pub restart: &'static str,
}

impl ChildRow {
    /// A row: id, pid (if running), kind, restart type.
    pub fn new(
        id: impl Into<String>,
        pid: Option<Pid>,
        kind: ChildKind,
        restart: &'static str,
    ) -> ChildRow {
        ChildRow {
            id: id.into(),
            pid,
            kind,
            restart,
        }
    }
}

/// The board: each publishing process's last list. One lock, taken by a
/// publish, by the exit of a process that published, and by a snapshot.
#[derive(Default)]
pub(crate) struct Board {
    lists: Mutex<FastMap<Pid, Arc<[ChildRow]>>>,
}

impl Board {
    /// Every published list (a snapshot's read).
    pub(crate) fn read(&self) -> FastMap<Pid, Arc<[ChildRow]>> {
        self.lists.lock().clone()
    }
}

/// Pins `children` to the calling process, replacing what it published
/// before, until it publishes again, calls [`unpublish_children`], or
/// exits. A snapshot ([`snapshot`](super::snapshot), `bream-observer`'s
/// tree view) shows them under the process. The stdlib's supervisors call
/// it after every change to their children; any process that manages
/// others may.
///
/// ```
/// use bream::observer::{publish_children, ChildKind, ChildRow};
/// bream::run(|| {
///     let worker = bream::spawn(|| { let () = bream::receive(); });
///     publish_children(vec![ChildRow::new("db", Some(worker), ChildKind::Worker, "permanent")]);
///     let snap = bream::observer::snapshot();
///     let me = snap.processes.iter().find(|r| r.pid == bream::self_pid()).unwrap();
///     assert_eq!(me.children.as_deref().unwrap()[0].pid, Some(worker));
///     bream::send(worker, ());
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn publish_children(children: Vec<ChildRow>) {
    let me = current("observer::publish_children");
    // Relaxed: only this process sets the bit, and its own exit reads it
    // (see "No race with the exit").
    me.flags.fetch_or(PUBLISHED, Ordering::Relaxed);
    me.rt.board.lists.lock().insert(me.pid, children.into());
}

/// Takes down what the calling process published (a no-op if nothing).
///
/// # Panics
/// Outside a bream process.
pub fn unpublish_children() {
    let me = current("observer::unpublish_children");
    if me.flags.load(Ordering::Relaxed) & PUBLISHED != 0 {
        me.rt.board.lists.lock().remove(&me.pid);
    }
}

/// `p` exits: take its list down, if it ever published one.
#[inline]
pub(crate) fn exited(p: &Process) {
    // Relaxed: see "No race with the exit".
    if p.flags.load(Ordering::Relaxed) & PUBLISHED != 0 {
        p.rt.board.lists.lock().remove(&p.pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_exit_takes_the_list_down() {
        let rt = crate::Runtime::new().unwrap();
        let (published, after) = rt.block_on(|| {
            let me = crate::self_pid();
            let (sup, m) = crate::spawn_monitor(move || {
                let row = ChildRow::new("a", None, ChildKind::Worker, "temporary");
                publish_children(vec![row]);
                crate::send(me, ());
                let () = crate::receive();
            });
            let board = || current("test").rt.board.read().contains_key(&sup);
            crate::receive_timeout::<()>(Duration::from_secs(10)).expect("it published");
            let published = board();
            crate::send(sup, ());
            // Taken down before the Down is sent (exit.rs, `terminate`).
            crate::receive! {
                d: crate::Down if d.monitor == m => d,
                after Duration::from_secs(10) => panic!("no Down"),
            };
            (published, board())
        });
        assert!(published);
        assert!(!after, "the exit left the list on the board");
    }
}
