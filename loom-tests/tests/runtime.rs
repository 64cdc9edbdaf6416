//! loom models of the runtime's link/monitor/exit races (runtime/src/relations.rs,
//! runtime/src/exit.rs; docs/adr/runtime-0001-relations-under-a-lock.md).
//!
//! What they prove, under every interleaving loom explores:
//!
//! - `link_races_exit`: a process linking to one that is exiting gets exactly
//!   one exit signal: the real one (it got into the link set before `close`)
//!   or `NoProc` (it found the set closed). Never neither, never both.
//! - `monitor_races_exit`: the same for a monitor and its `Down`.
//! - `demonitor_flush_races_down`: once `demonitor(r, flush = true)` has
//!   returned, no `Down` for `r` is in the watcher's mailbox and none appears
//!   later, whenever the monitored process's down signal is pushed.
//! - `register_races_exit`: a `register` racing with the owner's exit never
//!   leaves the name registered to the dead process (registry.rs, "The dead
//!   flag": one flags word, both sides `fetch_or`). Modelled with the same
//!   operations in the same order, since the real registry needs a live runtime.
//!
//! The real `Relations` (with loom's mutex) is used. The mailbox is a stand-in
//! (a loom mutex around a `Vec`): its own protocol is modelled in mailbox.rs,
//! and the property here is about *which* signals are pushed, not how. The
//! signal pass is the runtime's `decide` for down signals, written out.
#![cfg(all(bream_loom, feature = "runtime"))]

use bream::relations::{model_monitor_ref, model_pid, Relations};
use bream::ExitReason;
use loom::sync::{Arc, Mutex};
use loom::thread;

/// What sits in the stand-in mailbox.
#[derive(Clone, Debug, PartialEq)]
enum Entry {
    /// An exit signal through a link.
    LinkExit(ExitReason),
    /// A down signal, not yet handled by a signal pass.
    DownSignal(u64, ExitReason),
    /// A down signal handled: now a `Down` message.
    DownMessage(u64, ExitReason),
}

struct Proc {
    relations: Relations,
    mailbox: Mutex<Vec<Entry>>,
}

fn proc() -> Arc<Proc> {
    Arc::new(Proc {
        relations: Relations::new(),
        mailbox: Mutex::new(Vec::new()),
    })
}

/// B's exit: close its relations, then signal everyone found (exit.rs,
/// `terminate`, steps 3–4), with A's mailbox as the only destination.
fn exit(b: &Proc, a: &Proc, reason: &ExitReason) {
    let closed = b.relations.close();
    let mut mb = a.mailbox.lock().unwrap();
    for _ in closed.links {
        mb.push(Entry::LinkExit(reason.clone()));
    }
    for (r, _) in closed.watchers {
        mb.push(Entry::DownSignal(r_id(r), reason.clone()));
    }
}

fn r_id(r: bream::MonitorRef) -> u64 {
    // The models use refs 1.. only; recover the number from Debug to keep the
    // real type opaque.
    format!("{r:?}")
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
fn link_races_exit() {
    loom::model(|| {
        let (a, b) = (proc(), proc());
        let (pa, pb) = (model_pid(1), model_pid(2));
        let reason = ExitReason::Other("crash".into());
        let (a2, b2, r2) = (a.clone(), b.clone(), reason.clone());
        let exiter = thread::spawn(move || exit(&b2, &a2, &r2));
        // A: `link(pb)` (links.rs).
        a.relations.add_link(pb);
        if !b.relations.add_link(pa) {
            a.mailbox
                .lock()
                .unwrap()
                .push(Entry::LinkExit(ExitReason::NoProc));
        }
        exiter.join().unwrap();
        let mb = a.mailbox.lock().unwrap();
        assert_eq!(mb.len(), 1, "exactly one exit signal: {mb:?}");
        assert!(mb[0] == Entry::LinkExit(reason) || mb[0] == Entry::LinkExit(ExitReason::NoProc));
    });
}

#[test]
fn monitor_races_exit() {
    loom::model(|| {
        let (a, b) = (proc(), proc());
        let (pa, pb) = (model_pid(1), model_pid(2));
        let r = model_monitor_ref(1);
        let reason = ExitReason::Shutdown;
        let (a2, b2, r2) = (a.clone(), b.clone(), reason.clone());
        let exiter = thread::spawn(move || exit(&b2, &a2, &r2));
        // A: `monitor(pb)` (links.rs).
        a.relations.add_monitor(r, pb);
        if !b.relations.add_watcher(r, pa) {
            a.mailbox
                .lock()
                .unwrap()
                .push(Entry::DownSignal(1, ExitReason::NoProc));
        }
        exiter.join().unwrap();
        let mb = a.mailbox.lock().unwrap();
        assert_eq!(mb.len(), 1, "exactly one down: {mb:?}");
        assert!(
            mb[0] == Entry::DownSignal(1, reason)
                || mb[0] == Entry::DownSignal(1, ExitReason::NoProc)
        );
    });
}

/// A's signal pass (exit.rs, `decide` for down signals): a down signal whose
/// monitor is still active becomes a message in place; a stale one is dropped.
fn signal_pass(a: &Proc) {
    let mut mb = a.mailbox.lock().unwrap();
    let mut out = Vec::new();
    for e in mb.drain(..) {
        match e {
            Entry::DownSignal(n, reason) => {
                if a.relations.remove_monitor(model_monitor_ref(n)).is_some() {
                    out.push(Entry::DownMessage(n, reason));
                }
            }
            other => out.push(other),
        }
    }
    *mb = out;
}

#[test]
fn demonitor_flush_races_down() {
    loom::model(|| {
        let (a, b) = (proc(), proc());
        let (pa, pb) = (model_pid(1), model_pid(2));
        let r = model_monitor_ref(1);
        a.relations.add_monitor(r, pb);
        assert!(b.relations.add_watcher(r, pa));
        let (a2, b2) = (a.clone(), b.clone());
        let exiter = thread::spawn(move || exit(&b2, &a2, &ExitReason::Normal));
        // A: a receive may handle the signal before the demonitor...
        signal_pass(&a);
        // ...then `demonitor(r, true)` (links.rs): forget the monitor on both
        // ends, then flush handled Downs for r.
        a.relations.remove_monitor(r);
        b.relations.remove_watcher(r);
        a.mailbox
            .lock()
            .unwrap()
            .retain(|e| !matches!(e, Entry::DownMessage(1, _)));
        // Whatever arrives later is seen only through signal passes.
        exiter.join().unwrap();
        signal_pass(&a);
        let mb = a.mailbox.lock().unwrap();
        assert!(
            !mb.iter().any(|e| matches!(e, Entry::DownMessage(1, _))),
            "{mb:?}"
        );
    });
}

#[test]
fn register_races_exit() {
    use loom::sync::atomic::{AtomicU8, Ordering::Relaxed};
    const DEAD: u8 = 1;
    const NAMED: u8 = 2;
    loom::model(|| {
        let flags = Arc::new(AtomicU8::new(0));
        let names: Arc<Mutex<Option<&'static str>>> = Arc::new(Mutex::new(None));
        let (f2, n2) = (flags.clone(), names.clone());
        // The owner exits: `Registry::release`.
        let exiter = thread::spawn(move || {
            if f2.fetch_or(DEAD, Relaxed) & NAMED != 0 {
                n2.lock().unwrap().take();
            }
        });
        // Someone registers it: `Registry::register`.
        {
            let mut n = names.lock().unwrap();
            if flags.fetch_or(NAMED, Relaxed) & DEAD == 0 {
                *n = Some("svc");
            }
        }
        exiter.join().unwrap();
        assert_eq!(
            *names.lock().unwrap(),
            None,
            "the name outlived its process"
        );
    });
}
