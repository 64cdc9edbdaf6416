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

/// The unwind payload of `hibernate`: carries the continuation to the task's root.
pub(crate) struct HibernatePayload(pub(crate) Box<dyn FnOnce() + Send>);

impl TaskOwner for Process {
    fn on_exit(&self, outcome: Outcome) {
        // SAFETY: `on_exit` runs once per task, after it has finished.
        let owned = unsafe { self.owned_after_task() };
        let cancelled = matches!(outcome, Outcome::Cancelled);
        if !cancelled && owned.continuation.borrow().is_some() && owned.killed.borrow().is_none() {
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
    let pid = rt.table.reserve().map_err(|_| SpawnError::ProcessLimit {
        max: rt.table.max(),
    })?;
    let stack = opts.stack_size.unwrap_or(rt.stack_size);
    let p = Arc::new(Process::new(pid, Arc::clone(rt), stack, opts.trap_exit));
    // SAFETY: the process has no task yet.
    unsafe { p.owned_after_task() }.exit_hook.replace(hook);
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
        f()
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
                me.owned().reason.replace(Some(reason));
            }
            return;
        }
        Err(p) => p,
    };
    match payload.downcast::<HibernatePayload>() {
        Ok(h) => {
            me.owned().continuation.replace(Some(h.0));
        }
        Err(p) => panic::resume_unwind(p),
    }
}

/// The end of a task that hibernated: give the stack back (it is already gone)
/// and wait for a message without one.
fn hibernate_without_stack(p: &Process) {
    p.rt.table.set_task(p.pid, None);
    p.set_status(Status::Hibernating);
    // Relaxed: published by `prepare_wait`'s CAS (AcqRel) below, which the
    // push that reports Wake reads (runtime.rs's `wake`).
    p.hibernating.store(true, Ordering::Relaxed);
    // SAFETY: the task has finished; no other runs until `restart`, which only
    // a push after `prepare_wait` (or this function) can call.
    let owned = unsafe { p.owned_after_task() };
    let mut rx = owned.rx.borrow_mut();
    if rx.prepare_wait() {
        // Signals that arrived before (already counted) need a task now.
        // Acquire: pairs with the senders' Release increments.
        if p.signals.load(Ordering::Acquire) == 0 {
            return;
        }
        if rx.cancel_wait() {
            return; // a push claimed the wake: its sender restarts us
        }
    }
    drop(rx);
    if let Some(arc) = p.rt.table.with(p.pid, |a, _| Arc::clone(a)) {
        restart(arc);
    }
}

/// Runs a hibernated process's continuation on a fresh task. Called by exactly
/// one party: the sender whose push woke it, or its own hibernation.
pub(crate) fn restart(p: Arc<Process>) {
    let stack = p.stack_size;
    let started = start_task(&p, stack, || {
        let me = enter();
        me.hibernating.store(false, Ordering::Relaxed);
        me.owned().rx.borrow_mut().finish_wait();
        let k = me.owned().continuation.borrow_mut().take();
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
