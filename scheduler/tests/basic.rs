//! The core contract: spawn, park, unpark, yield, outcomes, panics, cancel,
//! with_current, and calls outside a task.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use bream_scheduler::{task, Outcome, Scheduler};
use common::{report, spawn, Counter};

#[test]
fn spawned_task_runs_and_returns() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (owner, rx) = report();
    let (tx, got) = mpsc::channel();
    let t = spawn(&s, &owner, move || tx.send(42).unwrap());
    assert_eq!(got.recv().unwrap(), 42);
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    assert_eq!(t.outcome(), Some(Outcome::Returned));
    s.shutdown();
}

#[test]
fn park_waits_for_unpark() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (owner, rx) = report();
    let flag = Arc::new(AtomicUsize::new(0));
    let f = flag.clone();
    let sleeper = spawn(&s, &owner, move || {
        while f.load(Ordering::Acquire) == 0 {
            task::park();
        }
    });
    let (tx, parked) = mpsc::channel();
    // Wait until it parked, through a second task that sees it parked.
    let sl = sleeper.clone();
    spawn(&s, &owner, move || {
        while !sl.is_parked() {
            task::yield_now();
        }
        tx.send(()).unwrap();
    });
    parked.recv().unwrap();
    assert_eq!(rx.recv().unwrap(), Outcome::Returned); // the watcher
    assert_eq!(
        sleeper.outcome(),
        None,
        "parked task must not finish on its own"
    );
    flag.store(1, Ordering::Release);
    sleeper.unpark();
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}

#[test]
fn unpark_before_park_is_not_lost() {
    let s = Scheduler::builder().workers(1).build().unwrap();
    let (owner, rx) = report();
    spawn(&s, &owner, || {
        task::with_current(|me| me.unpark()); // pending notification
        task::park(); // returns at once
    });
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}

#[test]
fn panicking_task_reports_its_message_and_others_go_on() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (owner, rx) = report();
    let t = spawn(&s, &owner, || panic!("boom {}", 7));
    assert_eq!(rx.recv().unwrap(), Outcome::Panicked("boom 7".into()));
    assert_eq!(t.outcome(), Some(Outcome::Panicked("boom 7".into())));
    spawn(&s, &owner, || {});
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}

struct SetOnDrop(Arc<AtomicUsize>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn cancel_unwinds_a_parked_task_running_destructors() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (owner, rx) = report();
    let dropped = Arc::new(AtomicUsize::new(0));
    let ran_on = Arc::new(AtomicUsize::new(0));
    let (d, r) = (dropped.clone(), ran_on.clone());
    let (tx, started) = mpsc::channel();
    let t = spawn(&s, &owner, move || {
        let _guard = SetOnDrop(d);
        tx.send(()).unwrap();
        loop {
            task::park();
            r.fetch_add(1, Ordering::SeqCst); // must never run after cancel
        }
    });
    started.recv().unwrap();
    while !t.is_parked() {
        std::thread::yield_now();
    }
    let before = ran_on.load(Ordering::SeqCst);
    t.cancel();
    assert_eq!(rx.recv().unwrap(), Outcome::Cancelled);
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "destructor ran");
    assert_eq!(
        ran_on.load(Ordering::SeqCst),
        before,
        "no code ran after cancel"
    );
    s.shutdown();
}

#[test]
fn yield_and_budget_let_others_run_on_one_worker() {
    // One worker; a task that spins on a flag only another task can set. It
    // finishes only if yielding (explicit, or by spending its budget) lets
    // the other run.
    let s = Scheduler::builder().workers(1).build().unwrap();
    let c = Arc::new(Counter::default());
    let owner: Arc<dyn bream_scheduler::TaskOwner> = c.clone();
    let flag = Arc::new(AtomicUsize::new(0));
    for use_reduce in [false, true] {
        flag.store(0, Ordering::SeqCst);
        let f = flag.clone();
        spawn(&s, &owner, move || {
            while f.load(Ordering::SeqCst) == 0 {
                if use_reduce {
                    task::reduce(100);
                } else {
                    task::yield_now();
                }
            }
        });
        let f = flag.clone();
        spawn(&s, &owner, move || f.store(1, Ordering::SeqCst));
    }
    c.wait(4);
    s.shutdown();
}

#[test]
fn with_current_names_the_running_task() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (owner, rx) = report();
    let (tx, got) = mpsc::channel();
    let t = spawn(&s, &owner, move || {
        tx.send(task::with_current(|me| me.clone())).unwrap();
        assert!(task::in_task());
    });
    assert!(got.recv().unwrap().ptr_eq(&t));
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}

#[test]
#[should_panic(expected = "called outside a task")]
fn park_outside_a_task_panics() {
    task::park();
}

#[test]
#[should_panic(expected = "called outside a task")]
fn with_current_outside_a_task_panics() {
    task::with_current(|_| ());
}

#[test]
fn in_task_is_false_outside() {
    assert!(!task::in_task());
}

#[test]
fn spawn_after_shutdown_fails() {
    let s = Scheduler::builder().workers(1).build().unwrap();
    let s2 = s.clone();
    s.shutdown();
    let (owner, _rx) = report();
    let e = s2.spawn(Default::default(), owner, || {}).unwrap_err();
    assert!(e.to_string().contains("shutting down"));
}

#[test]
fn cancel_of_a_running_task_takes_effect_at_its_next_yield() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (owner, rx) = report();
    let (tx, running) = mpsc::channel();
    let (go_tx, go) = mpsc::channel::<()>();
    let after = Arc::new(AtomicUsize::new(0));
    let a = after.clone();
    let t = spawn(&s, &owner, move || {
        tx.send(()).unwrap();
        go.recv().unwrap(); // still running (blocking its worker) when cancelled
        task::yield_now(); // unwound here
        a.fetch_add(1, Ordering::SeqCst);
    });
    running.recv().unwrap();
    t.cancel();
    assert_eq!(
        t.outcome(),
        None,
        "a running task is not stopped mid-flight"
    );
    go_tx.send(()).unwrap();
    assert_eq!(rx.recv().unwrap(), Outcome::Cancelled);
    assert_eq!(after.load(Ordering::SeqCst), 0);
    s.shutdown();
}

#[test]
fn unpark_is_idempotent_while_runnable() {
    // One worker busy with a task that waits; a second task is unparked many
    // times before it first runs: it runs once and finishes once.
    let s = Scheduler::builder().workers(1).build().unwrap();
    let c = Arc::new(Counter::default());
    let owner: Arc<dyn bream_scheduler::TaskOwner> = c.clone();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let t = spawn(&s, &owner, move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    for _ in 0..100 {
        t.unpark();
    }
    c.wait(1);
    for _ in 0..100 {
        t.unpark();
        t.cancel(); // a finished task is left alone
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(t.outcome(), Some(Outcome::Returned));
    s.shutdown();
}
