//! The [`Process`]: what the runtime keeps for each Erlang-style process, and
//! how a running process finds its own.
//!
//! A process is an `Arc<Process>` attached to its scheduler task as the task's
//! owner (`bream_scheduler::TaskOwner`). Its state is split by who may touch it
//! (STYLE.md §4):
//!
//! - **Shared** fields (`pid`, `tx`, `signals`, `status`, `relations`, ...) are read
//!   and written by any thread: senders push into `tx`, linkers edit
//!   `relations` under its lock, `process_info` reads the atomics.
//! - **Owned** fields ([`Owned`]: the receiving end of the mailbox, the trap flag,
//!   the alias set, ...) are touched only by the process itself — by code running
//!   on its task — and, after the task is gone, by the exit code in `on_exit`.
//!   They live in `Cell`/`RefCell`s with no synchronisation at all.
//!
//! # Finding the current process
//!
//! [`current`] asks the scheduler for the running task's owner and downcasts it
//! (`task::try_with_current`: one thread-local read, no atomic read-modify-write), and returns a
//! [`Me`]: a pointer to the process that may only be used on its own task, which
//! is what makes the Owned fields safe to reach.

use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::sync::Arc;

use bream_mailbox::{Marker, Receiver, Sender};
use bream_scheduler::task;

use crate::pid::{FastSet, Pid, Ref};
use crate::reason::ExitReason;
use crate::relations::Relations;
use crate::runtime::Shared;
use crate::sync::{AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// A process's life as `process_info` reports it (Erlang's `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Running or runnable: it has something to do.
    Running,
    /// Parked in a receive, waiting for a message.
    Waiting,
    /// Parked in `sleep`, `blocking` or another wait that is not a receive.
    Suspended,
    /// Hibernating: no stack; it resumes on its next message.
    Hibernating,
    /// Its exit is being processed.
    Exiting,
}

impl Status {
    fn from_u8(v: u8) -> Status {
        match v {
            0 => Status::Running,
            1 => Status::Waiting,
            2 => Status::Suspended,
            3 => Status::Hibernating,
            _ => Status::Exiting,
        }
    }
}

/// `Process::flags`: the process has begun to exit.
pub(crate) const DEAD: u8 = 1;
/// `Process::flags`: `register` has given (or is giving) it a name.
pub(crate) const NAMED: u8 = 2;
/// `Process::flags`: it published children (observer/children.rs), so its exit takes them down.
pub(crate) const PUBLISHED: u8 = 4;

/// `Process::freeze_after_ms`: the process never freezes its stack.
pub(crate) const NEVER_FREEZE: u32 = u32::MAX;

/// Called once with a process's exit reason (see `Owned::exit_hook`).
pub(crate) type ExitHook = Box<dyn FnOnce(&ExitReason) + Send>;

/// One process. See the module essay for who touches which field.
pub(crate) struct Process {
    /// Its identity. Immutable.
    pub(crate) pid: Pid,
    /// The runtime it belongs to. Immutable.
    pub(crate) rt: Arc<Shared>,
    /// The sending end of its mailbox. Any thread pushes.
    pub(crate) tx: Sender,
    /// Exit and down signals pushed into the mailbox and not yet handled by a
    /// signal pass. Incremented (Release) by a signal sender *after* its push;
    /// read (Acquire) and decreased by the process itself (exit.rs).
    pub(crate) signals: AtomicUsize,
    /// A [`Status`] as u8: written (Relaxed) by the process at each transition,
    /// read by `process_info`. Informational only: no decision depends on it.
    status: AtomicU8,
    /// [`DEAD`] | [`NAMED`] bits, each set once with `fetch_or` (registry.rs,
    /// "The dead flag"). `DEAD` is set by the exit, first thing: from then on the
    /// process is dead to `is_alive`, `register`, `process_info` and
    /// `processes`, even before its table slot is cleared. `NAMED` is set by
    /// `register`, so an exit of a process that never had a name skips the
    /// registry lock; `PUBLISHED` likewise spares the observer's board.
    pub(crate) flags: AtomicU8,
    /// Hibernation hand-off state (lifecycle.rs, "Hibernation"): `AWAKE`,
    /// `PREPARING`, `HIBERNATING` or `WOKEN_EARLY`. Written by the hibernating
    /// process's `on_exit` and by the one sender whose push reports `Wake`.
    pub(crate) hib: AtomicU8,
    /// Reductions spent, published (Relaxed) by the process at each park.
    pub(crate) reductions: AtomicU64,
    /// Usable stack bytes it was spawned with. Immutable.
    pub(crate) stack_size: usize,
    /// `SpawnOpts::hibernate_after` in milliseconds (rounded up), or
    /// [`NEVER_FREEZE`]: how long a receive waits before it freezes the
    /// stack (receive.rs). Immutable.
    pub(crate) freeze_after_ms: u32,
    /// Links and monitors, under their own lock (relations.rs).
    pub(crate) relations: Relations,
    /// Fields only the process itself touches.
    owned: Owned,
}

/// The fields only the process itself touches (see the module essay).
pub(crate) struct Owned {
    /// The receiving end of the mailbox. A `RefCell` because user code (a
    /// `receive!` guard) runs while it is borrowed, and may call back into bream.
    pub(crate) rx: RefCell<Receiver>,
    /// `trap_exit` flag.
    pub(crate) trap_exit: Cell<bool>,
    /// The last `make_ref()` and the mailbox marker it set.
    pub(crate) marker: RefCell<Option<(Ref, Marker)>>,
    /// Reductions spent since the last publication to `Process::reductions`.
    pub(crate) reductions: Cell<u64>,
    /// What most processes never use, allocated on first use (see [`Rare`]).
    rare: RefCell<Option<Box<Rare>>>,
}

/// The owned fields most processes never touch: a kill, `exit_self`'s
/// reason, aliases, hibernation, an exit hook. A million processes are a
/// million records, so these ~170 bytes live behind one pointer that stays
/// null unless the process needs them (the record went from 480 to 312
/// bytes; docs/processes.md, "Costs").
#[derive(Default)]
pub(crate) struct Rare {
    /// Set when an exit signal kills the process: from then on every bream call
    /// unwinds again, so a `catch_unwind` in user code cannot survive a kill.
    pub(crate) killed: Option<ExitReason>,
    /// The reason the process's code ended with (`exit_self`, or a kill),
    /// recorded by the task's entry before it returns.
    pub(crate) reason: Option<ExitReason>,
    /// Active aliases (ids; see `Alias`).
    pub(crate) aliases: FastSet<u64>,
    /// The continuation of a hibernating process.
    pub(crate) continuation: Option<Box<dyn FnOnce() + Send>>,
    /// Run once with the exit reason after links and monitors fired
    /// (`Runtime::block_on` waits on it).
    pub(crate) exit_hook: Option<ExitHook>,
    /// The unmatched-message warning was written for it (once per process).
    pub(crate) warned_unmatched: bool,
    /// Where its last panic happened, recorded by the runtime's panic hook
    /// (report.rs) and read by its exit.
    pub(crate) panic_origin: Option<crate::report::Origin>,
}

impl Owned {
    /// `f` on the rare fields if the process ever used them (`None` if not:
    /// read as "all empty"). Allocates nothing. `f` must not reach the rare
    /// fields again (they are borrowed).
    pub(crate) fn rare_get<R>(&self, f: impl FnOnce(&mut Rare) -> R) -> Option<R> {
        self.rare.borrow_mut().as_deref_mut().map(f)
    }

    /// `f` on the rare fields, allocating them on first use. `f` must not
    /// reach the rare fields again (they are borrowed).
    pub(crate) fn rare_set<R>(&self, f: impl FnOnce(&mut Rare) -> R) -> R {
        f(self.rare.borrow_mut().get_or_insert_with(Box::default))
    }

    /// [`rare_set`](Owned::rare_set) that never panics: `None` if the rare
    /// fields are borrowed right now (for the panic hook, which must not
    /// panic).
    pub(crate) fn try_rare_set<R>(&self, f: impl FnOnce(&mut Rare) -> R) -> Option<R> {
        let mut rare = self.rare.try_borrow_mut().ok()?;
        Some(f(rare.get_or_insert_with(Box::default)))
    }
}

// SAFETY: `Owned` is touched only by code running on the process's own task (via
// `Me`, which `current()` hands out only on that task and which is `!Send`), and by
// `on_exit`/hibernation code after that task has finished and before the next
// one starts (`Process::owned_after_task`). A task runs on one worker at a time,
// and the scheduler's hand-off of a task between workers (and from the finished
// task to `on_exit`) is a release/acquire pair, so these accesses never overlap
// and each sees the previous one's writes. Every field is `Send`, so moving
// that access from one thread to another is sound.
unsafe impl Sync for Owned {}

impl Process {
    pub(crate) fn new(
        pid: Pid,
        rt: Arc<Shared>,
        stack_size: usize,
        trap_exit: bool,
        limit: Option<crate::MailboxLimit>,
        hibernate_after: Option<std::time::Duration>,
    ) -> Process {
        let (tx, rx) = crate::bounded::new_mailbox(limit);
        Process {
            pid,
            rt,
            tx,
            signals: AtomicUsize::new(0),
            status: AtomicU8::new(Status::Running as u8),
            flags: AtomicU8::new(0),
            hib: AtomicU8::new(crate::lifecycle::AWAKE),
            reductions: AtomicU64::new(0),
            stack_size,
            freeze_after_ms: hibernate_after.map_or(NEVER_FREEZE, |d| {
                let ms = d.as_nanos().div_ceil(1_000_000);
                u32::try_from(ms)
                    .unwrap_or(NEVER_FREEZE - 1)
                    .min(NEVER_FREEZE - 1)
            }),
            relations: Relations::new(),
            owned: Owned {
                rx: RefCell::new(rx),
                trap_exit: Cell::new(trap_exit),
                marker: RefCell::new(None),
                reductions: Cell::new(0),
                rare: RefCell::new(None),
            },
        }
    }

    /// The owned fields, from code that is not running on the process's task.
    ///
    /// # Safety
    /// The process's task has finished (we are in its `on_exit`) or was never
    /// started, and no other thread can be in this function for the same process
    /// (`on_exit` runs once per task; a hibernated process has no task until the
    /// one that restarts it, which starts after this returns).
    pub(crate) unsafe fn owned_after_task(&self) -> &Owned {
        &self.owned
    }

    pub(crate) fn set_status(&self, s: Status) {
        // Relaxed: informational, see the field.
        self.status.store(s as u8, Ordering::Relaxed);
    }

    pub(crate) fn status(&self) -> Status {
        Status::from_u8(self.status.load(Ordering::Relaxed))
    }

    /// True while the process is alive for the outside world.
    pub(crate) fn is_alive(&self) -> bool {
        // Relaxed: where it matters (register) the flag is read SeqCst; here a
        // stale `true` is the ordinary race of asking about a process that is
        // exiting right now.
        self.flags.load(Ordering::Relaxed) & DEAD == 0
    }
}

/// The process running on this task. `Copy`, `!Send`: it cannot leave the task.
#[derive(Clone, Copy)]
pub(crate) struct Me {
    ptr: NonNull<Process>,
}

impl std::ops::Deref for Me {
    type Target = Process;
    fn deref(&self) -> &Process {
        // SAFETY: `ptr` came from the owner of the task we are running on
        // (`current`), which holds an `Arc<Process>` until the task has finished
        // and `on_exit` has returned; `Me` is `!Send` (NonNull) and only created
        // on that task, so the process outlives every use.
        unsafe { self.ptr.as_ref() }
    }
}

impl Me {
    /// The owned fields: ours alone (see `Owned`'s Sync proof).
    pub(crate) fn owned(&self) -> &Owned {
        &self.owned
    }
}

/// The process running on this task, or `None` outside a bream process.
#[inline]
pub(crate) fn try_current() -> Option<Me> {
    task::try_with_current(|t| {
        t.owner().as_any().downcast_ref::<Process>().map(|p| Me {
            ptr: NonNull::from(p),
        })
    })
    .flatten()
}

/// The process running on this task.
///
/// # Panics
/// Outside a bream process, naming the function that was called.
#[inline]
#[track_caller]
pub(crate) fn current(what: &str) -> Me {
    match try_current() {
        Some(me) => me,
        None => outside(what),
    }
}

#[cold]
#[track_caller]
fn outside(what: &str) -> ! {
    panic!(
        "bream::{what} called outside a bream process: call it from code running \
         inside bream::run(..), Runtime::block_on(..) or a spawned process"
    )
}

/// Sets the status for the duration of a wait.
pub(crate) fn with_status<R>(me: Me, s: Status, f: impl FnOnce() -> R) -> R {
    me.set_status(s);
    let n = me.owned().reductions.get();
    // Relaxed: informational (see the field).
    me.reductions.store(n, Ordering::Relaxed);
    let r = f();
    me.set_status(Status::Running);
    r
}

#[cfg(all(test, not(bream_loom)))]
mod tests {
    /// A process's fixed cost beyond its stack: a regression guard (464 bytes
    /// when first written, 480 later, 312 once the rarely used fields moved
    /// behind `Rare`; a million processes pay it a million times).
    #[test]
    fn a_process_record_stays_small() {
        assert!(std::mem::size_of::<super::Process>() <= 320);
    }
}
