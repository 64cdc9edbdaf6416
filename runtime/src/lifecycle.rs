//! A process's life as the scheduler sees it: creating it (atomically with its
//! link, monitor and name), the code at the root of its task, its end
//! (`TaskOwner::on_exit`), and hibernation.
//!
//! # States
//!
//! ```text
//!   created ──start──▶ running ──(returns / unwinds / overflows)──▶ on_exit ─▶ terminate
//!   (slot installed,     (task owns                                   │
//!    relations set,       the stack)          hibernate(f) ─▶ no task, mailbox Waiting
//!    name registered)                                              │ next push: Wake
//!                                                                  ▼
//!                                                         restart: a fresh task runs f
//! ```
//!
//! - **created**: in the table (so sends queue) but no task has run; nothing
//!   owns a stack. A failure to start undoes every step (nothing half-created).
//! - **running**: a task runs the process's code. Its first act ([`enter`]) is to
//!   record its `TaskRef` in the table slot, before it can ever wait: a sender
//!   whose push reports `Wake` always finds a task to unpark.
//! - **hibernating**: no task, no stack. The mailbox is in the Waiting state, so
//!   exactly one push reports `Wake`; that sender calls [`restart`].
//!
//! # Hibernation: the hand-off
//!
//! The hibernating process's `on_exit` announces Waiting on the mailbox
//! (`prepare_wait`) and only then finishes with the receiver; a push may claim
//! the announcement in between. Restarting the process at that moment would let
//! the new task touch the receiver while `on_exit` still does. So `hib` decides
//! who restarts, and when:
//!
//! 1. `on_exit`: `hib = PREPARING`; `prepare_wait()`; release the receiver.
//! 2. `on_exit`: if a message or signal is already there, `hib = AWAKE` and
//!    restart now. Else CAS `PREPARING → HIBERNATING` (Release: the receiver
//!    writes of step 1 happen before any restart). If it fails, the value is
//!    `WOKEN_EARLY`: a push came during step 1; restart now.
//! 3. The push that reports `Wake` ([`claim_wake`]): `AWAKE` → an ordinary
//!    wake-up (unpark the task); `PREPARING` → CAS to `WOKEN_EARLY` and leave the
//!    restart to step 2; `HIBERNATING` → CAS to `AWAKE` (Acquire: pairs with
//!    step 2) and restart it.
//!
//! Exactly one party restarts: `Wake` is reported once per announcement, and
//! each CAS moves `hib` away from the state the other party acts on.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use bream_scheduler::{task, Outcome, TaskOwner};

use crate::exit::{self, ExitPayload};
use crate::pid::{MonitorRef, Pid};
use crate::process::{current, ExitHook, Me, Process, Status};
use crate::reason::ExitReason;
use crate::runtime::Shared;
use crate::spawn::{SpawnError, SpawnOpts};
use crate::sync::Ordering;

/// `Process::hib`: the process has a task (or is about to get one).
pub(crate) const AWAKE: u8 = 0;
/// `Process::hib`: its `on_exit` is announcing Waiting on the mailbox.
const PREPARING: u8 = 1;
/// `Process::hib`: no task; the next push's sender restarts it.
const HIBERNATING: u8 = 2;
/// `Process::hib`: a push came while `on_exit` was preparing; `on_exit` restarts.
const WOKEN_EARLY: u8 = 3;

/// The unwind payload of `hibernate`: carries the continuation to the task's root.
pub(crate) struct HibernatePayload(pub(crate) Box<dyn FnOnce() + Send>);

impl TaskOwner for Process {
    fn on_exit(&self, outcome: Outcome) {
        // SAFETY: `on_exit` runs once per task, after it has finished.
        let owned = unsafe { self.owned_after_task() };
        let cancelled = matches!(outcome, Outcome::Cancelled);
        let hibernating = owned.rare_get(|r| r.continuation.is_some() && r.killed.is_none());
        if !cancelled && hibernating == Some(true) {
            return hibernate_without_stack(self);
        }
        let reason = exit::final_reason(self, outcome);
        // SAFETY: the task has finished and no other will start: the process is
        // not hibernating (checked above).
        // A cancelled task means the runtime is shutting down: nobody is left to
        // notify.
        unsafe { exit::terminate(self, reason, !cancelled) };
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Creates `parent`'s child (or a root process) and starts it.
pub(crate) fn create<F: FnOnce() + Send + 'static>(
    rt: &Arc<Shared>,
    opts: SpawnOpts,
    parent: Option<Me>,
    hook: Option<ExitHook>,
    f: F,
) -> Result<(Pid, Option<MonitorRef>), SpawnError> {
    // What the process really gets (the scheduler rounds a size up, and
    // refuses an absurd one before anything is created).
    let stack = (rt.scheduler)
        .stack_size_for(opts.stack_size)
        .map_err(SpawnError::Scheduler)?;
    let pid = rt.table.reserve().map_err(|_| SpawnError::ProcessLimit {
        max: rt.table.max(),
    })?;
    let p = Arc::new(Process::new(
        pid,
        Arc::clone(rt),
        stack,
        opts.trap_exit,
        opts.mailbox_limit,
        opts.hibernate_after.or(rt.hibernate_after),
    ));
    if let Some(limit) = opts.mailbox_limit {
        // SAFETY: the process has no task yet.
        unsafe { crate::bounded::install(rt, &p, limit) };
    }
    if let Some(hook) = hook {
        // SAFETY: the process has no task yet.
        unsafe { p.owned_after_task() }.rare_set(|r| r.exit_hook = Some(hook));
    }
    let mut monitor = None;
    if let Some(parent) = parent {
        if opts.link {
            p.relations.add_link(parent.pid);
            parent.relations.add_link(pid);
        }
        if opts.monitor {
            let r = MonitorRef(rt.new_ref());
            p.relations.add_watcher(r, parent.pid);
            parent.relations.add_monitor(r, pid);
            monitor = Some(r);
        }
    }
    rt.table.install(Arc::clone(&p));
    let undo = |rt: &Shared| {
        crate::bounded::forget(&p);
        rt.registry.forget(pid);
        if let Some(parent) = parent {
            parent.relations.remove_link(pid);
            if let Some(r) = monitor {
                parent.relations.remove_monitor(r);
            }
        }
        rt.table.unreserve(pid);
    };
    if let Some(name) = opts.name {
        if let Err(e) = rt.registry.register(&rt.table, name, pid) {
            undo(rt);
            let holder = match e {
                crate::RegisterError::NameTaken(holder) => holder,
                _ => pid,
            };
            return Err(SpawnError::NameTaken { name, holder });
        }
    }
    crate::observer::spawned(rt); // before the task can run (and be counted as exited)
    if let Err(e) = start_task(&p, stack, move || run_code(f)) {
        undo(rt);
        return Err(SpawnError::Scheduler(e));
    }
    Ok((pid, monitor))
}

/// Spawns the first process of `Runtime::block_on`, from outside any process.
pub(crate) fn spawn_root<F: FnOnce() + Send + 'static>(
    rt: &Arc<Shared>,
    f: F,
    hook: ExitHook,
) -> Result<Pid, SpawnError> {
    create(rt, SpawnOpts::default(), None, Some(hook), f).map(|(pid, _)| pid)
}

// `SpawnOpts` is non-exhaustive: no struct literal outside its crate.
#[allow(clippy::field_reassign_with_default)]
fn start_task(
    p: &Arc<Process>,
    stack: usize,
    body: impl FnOnce() + Send + 'static,
) -> Result<(), bream_scheduler::SpawnError> {
    let owner: Arc<dyn TaskOwner> = Arc::clone(p) as Arc<dyn TaskOwner>;
    let mut opts = bream_scheduler::SpawnOpts::default();
    opts.stack_size = Some(stack);
    opts.tag = p.pid.to_bits(); // names the process in a long-schedule report
    p.rt.scheduler.spawn(opts, owner, body).map(drop)
}

/// The first thing every task of a process does (see the module essay).
fn enter() -> Me {
    let me = current("spawn");
    let t = task::with_current(|t| t.clone());
    me.rt.table.set_task(me.pid, Some(t));
    me
}

/// The root of a process's task: runs `f`, turns our own unwinds into a
/// recorded reason, and lets every other unwind through to the scheduler
/// (a panic becomes `Outcome::Panicked`, a forced unwind at shutdown passes).
fn run_code(f: impl FnOnce()) {
    let me = enter();
    let r = panic::catch_unwind(AssertUnwindSafe(|| {
        exit::handle_signals(me);
        f();
        // An exit signal that arrived while the code ran (a `Kill` to a
        // process computing without a bream call) decides how it ends, as
        // Erlang handles signals before a process finishes (issue 17).
        exit::handle_signals(me);
    }));
    if let Err(payload) = r {
        caught(me, payload);
    }
}

/// Handles what unwound to a task's root.
fn caught(me: Me, payload: Box<dyn Any + Send>) {
    let payload = match payload.downcast::<ExitPayload>() {
        Ok(e) => {
            if let Some(reason) = e.0 {
                me.owned().rare_set(|r| r.reason = Some(reason));
            }
            return;
        }
        Err(p) => p,
    };
    match payload.downcast::<HibernatePayload>() {
        Ok(h) => {
            me.owned().rare_set(|r| r.continuation = Some(h.0));
        }
        Err(p) => panic::resume_unwind(p),
    }
}

/// The end of a task that hibernated: steps 1–2 of "Hibernation" (module essay).
fn hibernate_without_stack(p: &Process) {
    p.rt.scheduler.note(p.pid.to_bits(), "hibernate");
    p.rt.table.set_task(p.pid, None);
    p.set_status(Status::Hibernating);
    // Relaxed: published by `prepare_wait`'s CAS (AcqRel), which the push that
    // reports Wake reads before `claim_wake` loads `hib`.
    p.hib.store(PREPARING, Ordering::Relaxed);
    // SAFETY: the task has finished; no other task runs until a restart, which
    // step 2 orders after this borrow ends.
    let owned = unsafe { p.owned_after_task() };
    let waiting = owned.rx.borrow_mut().prepare_wait();
    // Acquire: pairs with the signal senders' Release increments.
    let now = !waiting || p.signals.load(Ordering::Acquire) != 0;
    if !now {
        // Release: our receiver writes above happen before a restart by the
        // push that claims the wake (its Acquire CAS in `claim_wake`).
        match p
            .hib
            .compare_exchange(PREPARING, HIBERNATING, Ordering::Release, Ordering::Relaxed)
        {
            Ok(_) => return,
            Err(woken_early) => debug_assert_eq!(woken_early, WOKEN_EARLY),
        }
    }
    p.hib.store(AWAKE, Ordering::Relaxed);
    if let Some(arc) = p.rt.table.with(p.pid, |a, _| Arc::clone(a)) {
        restart(arc);
    }
}

/// Step 3 of "Hibernation": called by the sender whose push reported `Wake`.
/// True if it must restart the process (it was hibernating); false for an
/// ordinary wake-up (or when `on_exit` will restart it).
#[inline]
pub(crate) fn claim_wake(p: &Process) -> bool {
    loop {
        // Acquire: pairs with the Release CAS of `hibernate_without_stack`.
        match p.hib.load(Ordering::Acquire) {
            AWAKE | WOKEN_EARLY => return false,
            PREPARING => {
                if p.hib
                    .compare_exchange(PREPARING, WOKEN_EARLY, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return false;
                }
            }
            _ => {
                if p.hib
                    .compare_exchange(HIBERNATING, AWAKE, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return true;
                }
            }
        }
    }
}

/// Runs a hibernated process's continuation on a fresh task. Called by exactly
/// one party: the sender whose push woke it, or its own hibernation.
pub(crate) fn restart(p: Arc<Process>) {
    let stack = p.stack_size;
    let started = start_task(&p, stack, || {
        let me = enter();
        me.owned().rx.borrow_mut().finish_wait();
        let k = me.owned().rare_get(|r| r.continuation.take()).flatten();
        run_code(move || {
            if let Some(k) = k {
                k();
            }
        });
    });
    if let Err(e) = started {
        let reason = ExitReason::Other(format!("could not leave hibernation: {e}"));
        // SAFETY: no task runs this process (the start failed).
        unsafe { exit::terminate(&p, reason, true) };
    }
}
