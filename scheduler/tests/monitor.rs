//! The long-schedule monitor (scheduler/src/monitor.rs): a task that keeps its
//! worker without yielding is reported, and the task waiting in that worker's
//! `next` slot is moved to another worker. The BEAM's counterpart is
//! `erlang:system_monitor/2` with `{long_schedule, Time}` (ERTS reference
//! manual, erlang module).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use bream_scheduler::{task, Outcome, Scheduler, SpawnOpts};
use common::{report, spawn};

#[test]
fn a_task_that_never_yields_is_reported_once() {
    let reports = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let r = reports.clone();
    let s = Scheduler::builder()
        .workers(2)
        .long_schedule(Some(Duration::from_millis(2)))
        .on_long_schedule(move |rep| {
            r.fetch_add(1, Ordering::SeqCst);
            let _ = tx.send(rep);
        })
        .build()
        .unwrap();
    let (owner, outcomes) = report();
    let seen = reports.clone();
    // Spins, never calling the scheduler, until the monitor has reported it.
    let opts = SpawnOpts {
        tag: 42,
        ..Default::default()
    };
    s.spawn(opts, owner.clone(), move || {
        while seen.load(Ordering::SeqCst) == 0 {
            std::hint::spin_loop();
        }
    })
    .unwrap();
    let rep = rx.recv().unwrap();
    assert!(rep.running_for >= Duration::from_millis(2), "{rep:?}");
    assert!(rep.worker < 2);
    assert_eq!(rep.tag, 42, "the report names the task by its spawn tag");
    assert_eq!(outcomes.recv().unwrap(), Outcome::Returned);
    // A task that yields is never reported, however long it runs in all.
    let (owner2, outcomes2) = report();
    spawn(&s, &owner2, || {
        for _ in 0..2_000 {
            task::yield_now();
        }
    });
    assert_eq!(outcomes2.recv().unwrap(), Outcome::Returned);
    s.shutdown();
    assert_eq!(reports.load(Ordering::SeqCst), 1, "one report per long run");
}

#[test]
fn the_task_in_a_stuck_workers_next_slot_runs_on_another_worker() {
    let s = Scheduler::builder()
        .workers(2)
        .long_schedule(None) // the rescue does not depend on the reports
        .build()
        .unwrap();
    let (owner, outcomes) = report();
    let go = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let (g, d) = (go.clone(), done.clone());
    let waiter = spawn(&s, &owner, move || {
        while !g.load(Ordering::SeqCst) {
            task::park();
        }
        d.store(true, Ordering::SeqCst);
    });
    let w = waiter.clone();
    spawn(&s, &owner, move || {
        while !w.is_parked() {
            task::yield_now();
        }
        go.store(true, Ordering::SeqCst);
        // From inside this task, the unpark puts the waiter in this worker's
        // `next` slot, behind a task that will not give the worker back until
        // the waiter has run.
        w.unpark();
        while !done.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
    });
    assert_eq!(outcomes.recv().unwrap(), Outcome::Returned);
    assert_eq!(outcomes.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}
