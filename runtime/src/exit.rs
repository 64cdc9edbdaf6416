//! Exit signals: how a process dies, and how its death reaches the processes
//! linked to it and the ones monitoring it.
//!
//! # Vocabulary
//!
//! - An **exit signal** carries a sender, a reason, and whether it came through a
//!   *link* (the linked process exited) or from a call to [`exit`](crate::exit).
//! - A **down signal** carries a monitor reference; it becomes a [`Down`] message.
//! - A signal is **handled** by its receiver in a *signal pass* (below): turned
//!   into a message in place, dropped, or acted upon (the receiver dies).
//! - **Stale** signals are those whose link or monitor the receiver removed
//!   (`unlink`, `demonitor`) before handling them. They are dropped.
//!
//! # The exit-signal table (Erlang's, docs/architecture.md §6)
//!
//! ```text
//!   reason    came through   receiver traps?   effect on the receiver
//!   ──────    ────────────   ───────────────   ───────────────────────────────
//!   Kill      exit/2         either            dies with Killed (untrappable)
//!   Normal    link           no                nothing
//!   Normal    exit/2         no                nothing (unless sent to itself:
//!                                              then it exits Normal)
//!   other     either         no                dies with the same reason
//!                                              (a Kill through a link stays Kill)
//!   any       either         yes               Exit { from, reason } message
//! ```
//!
//! # Why signals travel in the mailbox
//!
//! Erlang promises one ordering: what one process sends another arrives in the
//! order sent, signals included. A worker that sends its result and then exits
//! must never have its `Down` overtake the result; a trapping process must see an
//! `Exit` after every message its sender sent before dying. So exit and down
//! signals are pushed into the receiver's mailbox like messages, as a private
//! envelope type ([`Signal`]), and converted *in place* when handled, so the
//! resulting `Exit`/`Down` message sits exactly where the signal arrived.
//!
//! Links and monitors themselves are set up by editing both processes'
//! relations under their locks (relations.rs and docs/adr/runtime-0001-relations-under-a-lock.md), not by signals.
//!
//! # The signal pass: a recipe
//!
//! A sender of a signal:
//!
//! 1. pushes the signal into the target's mailbox (under the table slot's read
//!    lock, so a target whose slot is already cleared gets nothing: it has
//!    exited and its own exit code is not waiting for anything);
//! 2. increments the target's `signals` counter (Release);
//! 3. unparks the target's task, whether or not the push reported `Wake`: a
//!    process parked in `sleep` or `blocking` is not waiting on its mailbox, and
//!    must still notice a kill at once (docs/architecture.md §6).
//!
//! The receiver, at every reduction point (send, spawn, receive, yield, reduce,
//! after every park), loads `signals` (one Relaxed load on the fast path). If it
//! is non-zero, it runs a pass:
//!
//! 1. `seen = signals.load(Acquire)`: pairs with step 2, so every signal counted
//!    in `seen` was pushed before and is visible to the scan.
//! 2. Scan the mailbox from the start; handle every `Signal` envelope found.
//! 3. `signals.fetch_sub(seen)`. Signals pushed but not yet counted may have been
//!    handled already; their later increment only causes one more (empty) pass.
//!    No signal is ever left unhandled with the counter at zero.
//!
//! A pass that decides the process must die leaves the counter non-zero, records
//! the reason, and unwinds the process's stack (destructors run). Because the
//! counter stays non-zero, every later bream call (say, from a `catch_unwind` in
//! user code) unwinds again: a kill cannot be caught.
//!
//! The receive loop re-checks the counter after a scan that found nothing and
//! before it parks; with step 3 of the sender (always unpark), no signal can be
//! left waiting behind a parked receiver.
//!
//! # When a process exits
//!
//! [`terminate`] runs on a worker in the task's `on_exit`, outside the task's
//! stack, so it runs after a panic, an exit, a kill and a stack overflow alike:
//!
//! 1. write a crash report (report.rs: any reason but Normal/Shutdown/Killed,
//!    and only if the process crashed itself: one killed by an exit signal
//!    is not reported, as in Erlang);
//! 2. mark the process dead and release its registered name (registry lock);
//! 3. close its relations (relations.rs): from here, linking to or monitoring it
//!    gives NoProc;
//! 4. send an exit signal to every link and a down signal to every watcher;
//!    remove its own monitors from their targets;
//! 5. clear its table slot (nothing can reach it any more), drop what is left in
//!    its mailbox, and free the slot for a newer generation.

use std::panic::{self, AssertUnwindSafe};

use bream_mailbox::{Envelope, From};

use crate::pid::Pid;
use crate::process::{Me, Process, Status};
use crate::reason::{Down, Exit, ExitReason};
use crate::sync::Ordering;

/// A signal in a mailbox, not yet handled.
pub(crate) enum Signal {
    /// An exit signal.
    Exit {
        from: Pid,
        reason: ExitReason,
        /// True if it came through a link (the sender exited).
        link: bool,
    },
    /// A monitor fired.
    Down(Down),
}

/// The unwind payload that ends a process's code on purpose (a kill, an
/// `exit_self`). Private: user code that catches it cannot recognise or forge it.
pub(crate) struct ExitPayload(pub(crate) Option<ExitReason>);

/// What handling one signal does.
enum Verdict {
    /// Replace the signal with this message, where it stands.
    Deliver(Envelope),
    /// Remove it.
    Drop,
    /// Remove it and die with this reason.
    Die(ExitReason),
}

/// The exit-signal table (module essay), for one signal to process `me`.
fn decide(me: Me, sig: Signal) -> Verdict {
    match sig {
        Signal::Exit { from, reason, link } => {
            // A stale link signal: we unlinked (or never linked) in the meantime.
            if link && !me.relations.remove_link(from) {
                return Verdict::Drop;
            }
            let trapping = me.owned().trap_exit.get();
            match reason {
                ExitReason::Kill if !link => Verdict::Die(ExitReason::Killed),
                // bounded.rs's Overflow::Kill: untrappable, as OTP's max_heap_size kill.
                ExitReason::MailboxFull { .. } if !link && from == me.pid => Verdict::Die(reason),
                reason if trapping => Verdict::Deliver(Envelope::new(Exit { from, reason })),
                ExitReason::Normal if !link && from == me.pid => Verdict::Die(ExitReason::Normal),
                ExitReason::Normal => Verdict::Drop,
                reason => Verdict::Die(reason),
            }
        }
        Signal::Down(down) => {
            if me.relations.remove_monitor(down.monitor).is_some() {
                Verdict::Deliver(Envelope::new(down))
            } else {
                Verdict::Drop
            }
        }
    }
}

/// The reduction-point check: handles pending signals (may not return: the
/// process dies).
#[inline]
pub(crate) fn handle_signals(me: Me) {
    // Relaxed: the fast path only decides whether to look; `pass` re-reads it
    // with Acquire.
    if me.signals.load(Ordering::Relaxed) != 0 {
        pass(me);
    }
}

#[cold]
#[inline(never)]
fn pass(me: Me) {
    if std::thread::panicking() {
        // A destructor running during an unwind: never start a second one.
        return;
    }
    let killed = me.owned().rare_get(|r| r.killed.clone()).flatten();
    if let Some(reason) = killed {
        die(me, reason);
    }
    // Acquire: pairs with the Release increment of each signal sender (step 2).
    let seen = me.signals.load(Ordering::Acquire);
    let Ok(mut rx) = me.owned().rx.try_borrow_mut() else {
        // Inside a `receive!` guard: the enclosing receive handles it.
        return;
    };
    loop {
        let hit = rx.select(From::Start, |env| {
            if env.is::<crate::receive::AliasMsg>() {
                return (!crate::receive::unwrap_alias(me, env)).then_some(None);
            }
            let sig = env.take::<Signal>()?;
            match decide(me, sig) {
                Verdict::Deliver(msg) => {
                    *env = msg;
                    None
                }
                Verdict::Drop => Some(None),
                Verdict::Die(reason) => Some(Some(reason)),
            }
        });
        match hit {
            None => break,
            Some((None, _dropped)) => {}
            Some((Some(reason), _)) => {
                drop(rx);
                die(me, reason);
            }
        }
    }
    // Release: orders our handling before a later pass's Acquire load (a
    // signal is never handled twice: handled ones are no longer `Signal`s).
    me.signals.fetch_sub(seen, Ordering::Release);
}

/// Ends the process with `reason`: records it and unwinds its stack. The signal
/// counter stays non-zero, so any later bream call unwinds again.
pub(crate) fn die(me: Me, reason: ExitReason) -> ! {
    me.owned().rare_set(|r| r.killed = Some(reason));
    // Make sure later calls take the slow path even if this kill came from
    // `exit(self_pid(), ..)` handled before its counter was bumped.
    me.signals.fetch_add(1, Ordering::Relaxed);
    panic::resume_unwind(Box::new(ExitPayload(None)))
}

/// The exit reason after the task's code ended, from what it recorded and how
/// the scheduler says the task ended.
pub(crate) fn final_reason(p: &Process, outcome: bream_scheduler::Outcome) -> ExitReason {
    use bream_scheduler::Outcome;
    // SAFETY: called from `on_exit`: the task has finished.
    let owned = unsafe { p.owned_after_task() };
    // Cloned, not taken: `terminate` reads it again (no crash report for a
    // process killed by a signal).
    if let Some(r) = owned.rare_get(|r| r.killed.clone()).flatten() {
        return r;
    }
    match outcome {
        Outcome::Returned => owned
            .rare_get(|r| r.reason.take())
            .flatten()
            .unwrap_or(ExitReason::Normal),
        Outcome::Panicked(m) => ExitReason::Panic(crate::report::panic_reason(owned, m.into())),
        Outcome::StackOverflow => ExitReason::StackOverflow,
        Outcome::Cancelled => ExitReason::Killed,
    }
}

/// Steps 1–5 of "When a process exits" (module essay).
///
/// # Safety
/// The process's task has finished, and no other task of it will start.
pub(crate) unsafe fn terminate(p: &Process, reason: ExitReason, notify: bool) {
    // SAFETY: the task has finished (contract).
    let by_signal = unsafe { p.owned_after_task() }
        .rare_get(|r| r.killed.is_some())
        .unwrap_or(false);
    crate::report::crash(p.pid, &reason, by_signal);
    crate::observer::exited(p, &reason);
    p.set_status(Status::Exiting);
    let rt = &p.rt;
    rt.registry.release(p);
    let closed = p.relations.close();
    if notify {
        for (r, target) in closed.monitors {
            if target.is_local() {
                rt.table.with(target, |t, _| t.relations.remove_watcher(r));
            } else if let Some(router) = crate::remote::router(rt) {
                router.demonitor(p.pid, target, r);
            }
        }
        for l in closed.links {
            let sig = Signal::Exit {
                from: p.pid,
                reason: reason.clone(),
                link: true,
            };
            rt.deliver_signal(l, sig);
        }
        // In monitor order: a watcher's Downs arrive in the order it made the
        // monitors (tests rely on it; Erlang promises nothing here).
        let mut watchers = closed.watchers;
        watchers.sort_unstable();
        for (monitor, w) in watchers {
            let down = Down {
                monitor,
                pid: p.pid,
                reason: reason.clone(),
            };
            rt.deliver_signal(w, Signal::Down(down));
        }
    }
    let slot = rt.table.remove(p.pid);
    // SAFETY: the task has finished (contract).
    let owned = unsafe { p.owned_after_task() };
    // What is left in the mailbox is dropped here; a destructor that panics must
    // not take the worker down with it.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut rx = owned.rx.borrow_mut();
        crate::dead_letters::drain_at_exit(p, &mut rx);
        drop(owned.rare_get(|r| r.continuation.take()));
    }));
    let hook = owned.rare_get(|r| r.exit_hook.take()).flatten();
    if let Some(hook) = hook {
        let _ = panic::catch_unwind(AssertUnwindSafe(|| hook(&reason)));
    }
    rt.table.release(p.pid);
    drop(slot);
}
