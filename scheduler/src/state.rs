//! The task state word: who owns a task right now, in one atomic.
//!
//! # The problem
//!
//! A task can be unparked by any thread at any moment: by another task, by a
//! timer, by the I/O driver, by a blocking-pool thread. It can be cancelled by
//! anyone holding its [`TaskRef`](crate::TaskRef). Meanwhile the worker that
//! runs it may be switching back from its stack because it parked. Those races
//! must give **exactly one** schedule per unpark that follows a park: a lost
//! schedule leaves the task asleep forever; a double schedule puts it on two run
//! queues and two workers would resume the same stack.
//!
//! # The states, by what they own (after Go's `runtime2.go`)
//!
//! - `PARKED`: on no run queue, run by no worker. Nobody owns the stack; the
//!   one transition that leaves this state (`unpark` or `cancel` moving it to
//!   `SCHEDULED`) hands the *run right* to whoever made it, who must put the
//!   task on a run queue. It also hands over the task's *parked reference*:
//!   the `TaskRef` the worker held when the task parked, kept rather than
//!   dropped (`TaskRef::into_parked`), so a park and its wake-up touch no
//!   reference count.
//! - `SCHEDULED`: on exactly one run queue (or in the hands of the thread about
//!   to push it). The queue owns the run right. Further unparks are no-ops.
//! - `RUNNING`: a worker owns the run right and the stack. The task's code may
//!   be executing, or it may have just suspended and the worker is deciding
//!   what to do with it. An unpark that arrives now sets `NOTIFIED`.
//! - `DONE`: finished (returned, panicked, overflowed or cancelled). The
//!   outcome is written; nothing owns a stack any more.
//!
//! Two flags ride along:
//!
//! - `NOTIFIED` (only with `RUNNING`): an unpark arrived while the task ran.
//!   Its next park returns at once instead of sleeping.
//! - `CANCELLED`: cancel was requested. The worker that next owns the run right
//!   unwinds the task instead of resuming it.
//!
//! # The edges (verbs, after tokio's `idle.rs`)
//!
//! ```text
//!            spawn
//!              │
//!              ▼      transition_to_running        transition_to_done
//!  ┌──────► SCHEDULED ──────────────────► RUNNING ───────────────────► DONE
//!  │                  ◄──────────────────   │
//!  │                 transition_to_scheduled │ transition_to_parked
//!  │                       (yield)           ▼
//!  └──────────────────────────────────── PARKED
//!            unpark / cancel (the one CAS that hands out the run right)
//! ```
//!
//! Every edge out of `PARKED` is a compare-and-swap, so of any number of
//! concurrent unparkers and cancellers exactly one sees `PARKED` and schedules.
//! `transition_to_parked` runs on the worker *after* the task's stack switched
//! back, so nobody can resume a stack that is still executing. The model in
//! `loom-tests/tests/scheduler.rs` checks these claims.

use crate::sync::atomic::{AtomicUsize, Ordering};

/// The lifecycle field (two low bits).
const LIFECYCLE: usize = 0b11;
const PARKED: usize = 0;
const SCHEDULED: usize = 1;
const RUNNING: usize = 2;
const DONE: usize = 3;
/// An unpark arrived while `RUNNING`.
const NOTIFIED: usize = 1 << 2;
/// Cancellation was requested.
const CANCELLED: usize = 1 << 3;

/// What the worker must do after [`State::transition_to_running`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToRunning {
    /// Resume the task.
    Run,
    /// Cancelled while queued: unwind it without resuming.
    Cancel,
}

/// What the worker must do after [`State::transition_to_parked`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToParked {
    /// The task sleeps; the worker forgets it (an unpark will schedule it).
    Parked,
    /// An unpark came while it ran: it stays `RUNNING`; run it again.
    Notified,
    /// Cancel came while it ran: it stays `RUNNING`; unwind it.
    Cancelled,
}

/// What the worker must do after [`State::transition_to_scheduled`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToScheduled {
    /// Now `SCHEDULED`: push it on a run queue.
    Scheduled,
    /// Cancel came while it ran: it stays `RUNNING`; unwind it.
    Cancelled,
}

/// One task's state word. Touched by every thread that holds the task's
/// handle; every transition is one atomic read-modify-write.
#[derive(Debug)]
pub struct State {
    word: AtomicUsize,
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    /// A freshly spawned task: `SCHEDULED`, because spawn pushes it at once.
    pub fn new() -> State {
        State {
            word: AtomicUsize::new(SCHEDULED),
        }
    }

    /// `SCHEDULED → RUNNING`: the worker that popped the task takes the run
    /// right. Called only by the owner of the run right.
    pub fn transition_to_running(&self) -> ToRunning {
        // SCHEDULED (1) + 1 = RUNNING (2); flags are untouched, so a racing
        // `cancel` (a CAS) is never lost.
        // Acquire: synchronizes with the Release in `unpark`/`cancel`/`spawn`
        // that made it SCHEDULED, so the task sees what its waker wrote.
        let prev = self.word.fetch_add(1, Ordering::AcqRel);
        debug_assert_eq!(
            prev & LIFECYCLE,
            SCHEDULED,
            "running a task that was not scheduled"
        );
        if prev & CANCELLED != 0 {
            ToRunning::Cancel
        } else {
            ToRunning::Run
        }
    }

    /// `RUNNING → PARKED` after the task suspended to park, unless an unpark
    /// or a cancel arrived while it ran. Called by the worker, after the
    /// task's stack switched back (so nobody resumes a running stack).
    pub fn transition_to_parked(&self) -> ToParked {
        self.update(|cur| {
            debug_assert_eq!(cur & LIFECYCLE, RUNNING);
            if cur & CANCELLED != 0 {
                (cur, ToParked::Cancelled)
            } else if cur & NOTIFIED != 0 {
                (cur & !NOTIFIED, ToParked::Notified)
            } else {
                ((cur & !LIFECYCLE) | PARKED, ToParked::Parked)
            }
        })
    }

    /// `RUNNING → SCHEDULED` after the task yielded (or spent its budget).
    /// A pending notification is absorbed: the task will run anyway.
    pub fn transition_to_scheduled(&self) -> ToScheduled {
        self.update(|cur| {
            debug_assert_eq!(cur & LIFECYCLE, RUNNING);
            if cur & CANCELLED != 0 {
                (cur, ToScheduled::Cancelled)
            } else {
                (SCHEDULED, ToScheduled::Scheduled)
            }
        })
    }

    /// `RUNNING → DONE`. Called by the worker after the outcome is written.
    pub fn transition_to_done(&self) {
        // RUNNING (2) | 1 = DONE (3).
        // Release: publishes the outcome; synchronizes with the Acquire load in
        // `is_done`.
        let prev = self.word.fetch_or(DONE, Ordering::AcqRel);
        debug_assert_eq!(prev & LIFECYCLE, RUNNING);
    }

    /// Any state → `DONE`, at shutdown, once every worker stopped (so nobody
    /// else can hold the run right). True if the task was `PARKED`: the caller
    /// then owns its parked reference (`TaskRef::into_parked`).
    pub fn finish_at_shutdown(&self) -> bool {
        // Release: publishes the outcome (partner: `is_done`).
        self.word.swap(DONE, Ordering::AcqRel) & LIFECYCLE == PARKED
    }

    /// The task's own fast path in `park`: consume a pending notification
    /// without a stack switch. True if there was one (and no cancel).
    #[inline]
    pub fn try_consume_notification(&self) -> bool {
        // Relaxed: a plain load first, because a park usually finds no
        // notification and a failed CAS is still a locked instruction. A stale
        // "none" is harmless: the caller then suspends and the worker's
        // `transition_to_parked` CAS sees the flag and resumes the task.
        if self.word.load(Ordering::Relaxed) != RUNNING | NOTIFIED {
            return false;
        }
        // Acquire: synchronizes with the Release of the unpark that set it.
        self.word
            .compare_exchange(
                RUNNING | NOTIFIED,
                RUNNING,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Wake the task. True if the caller now holds the run right and must
    /// push the task on a run queue (`PARKED → SCHEDULED`); false if the
    /// task was already runnable, running (now `NOTIFIED`) or done.
    #[inline]
    pub fn unpark(&self) -> bool {
        // Every branch writes (a CAS of cur→cur where nothing changes), so the
        // Release always joins the release sequence the worker's Acquire in
        // `transition_to_running` / `transition_to_parked` reads from: what the
        // unparker wrote before calling unpark is visible to the task.
        self.update(|cur| match cur & LIFECYCLE {
            PARKED => ((cur & !LIFECYCLE) | SCHEDULED, true),
            RUNNING => (cur | NOTIFIED, false),
            _ => (cur, false),
        })
    }

    /// Request cancellation. True if the caller now holds the run right and
    /// must push the task (`PARKED → SCHEDULED|CANCELLED`); the worker that
    /// pops it unwinds it. A running or queued task is unwound at its next
    /// scheduling point; a done task is left alone.
    pub fn cancel(&self) -> bool {
        self.update(|cur| match cur & LIFECYCLE {
            PARKED => (SCHEDULED | CANCELLED, true),
            DONE => (cur, false),
            _ => (cur | CANCELLED, false),
        })
    }

    /// True once the task finished (its outcome may be read).
    pub fn is_done(&self) -> bool {
        // Acquire: synchronizes with the Release in `transition_to_done`.
        self.word.load(Ordering::Acquire) & LIFECYCLE == DONE
    }

    /// True if cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.word.load(Ordering::Relaxed) & CANCELLED != 0
    }

    /// True while a worker holds the run right (`RUNNING`, notified or not).
    pub fn is_running(&self) -> bool {
        self.word.load(Ordering::Acquire) & LIFECYCLE == RUNNING
    }

    /// True if the task sleeps (for tests and diagnostics).
    pub fn is_parked(&self) -> bool {
        self.word.load(Ordering::Acquire) & LIFECYCLE == PARKED
    }

    /// The CAS loop under every transition: `f` maps the current word to the
    /// new word and a result. AcqRel on success: each transition both
    /// publishes what its caller wrote and sees what the previous one wrote.
    fn update<R>(&self, mut f: impl FnMut(usize) -> (usize, R)) -> R {
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            let (new, r) = f(cur);
            match self
                .word
                .compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return r,
                Err(actual) => cur = actual,
            }
        }
    }
}

#[cfg(all(test, not(bream_loom)))]
mod tests {
    use super::*;

    #[test]
    fn unpark_after_park_schedules_once() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Run);
        assert_eq!(s.transition_to_parked(), ToParked::Parked);
        assert!(s.unpark());
        assert!(!s.unpark(), "second unpark of a scheduled task is a no-op");
        assert!(!s.cancel(), "cancel of a scheduled task only sets the flag");
        assert_eq!(s.transition_to_running(), ToRunning::Cancel);
    }

    #[test]
    fn unpark_while_running_is_remembered() {
        let s = State::new();
        s.transition_to_running();
        assert!(!s.unpark());
        assert_eq!(s.transition_to_parked(), ToParked::Notified);
        assert_eq!(s.transition_to_parked(), ToParked::Parked);
    }

    #[test]
    fn done_ignores_everything() {
        let s = State::new();
        s.transition_to_running();
        s.transition_to_done();
        assert!(s.is_done());
        assert!(!s.unpark());
        assert!(!s.cancel());
    }
}
