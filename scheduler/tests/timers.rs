//! Timers: park_timeout, sleep, timer_after and its O(1) cancel, and a
//! million tasks parked with timeouts. No timing assertions beyond "not
//! before the deadline", which the wheel guarantees by rounding up.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use bream_scheduler::{task, task::Park, Outcome, Scheduler, TaskOwner};
use common::{report, spawn, Counter};

#[test]
fn park_timeout_times_out_and_sleep_waits() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (owner, rx) = report();
    let (tx, got) = mpsc::channel();
    spawn(&s, &owner, move || {
        let t0 = Instant::now();
        let r = task::park_timeout(Duration::from_millis(20));
        let waited = t0.elapsed();
        task::sleep(Duration::from_millis(5));
        tx.send((r, waited, t0.elapsed())).unwrap();
    });
    let (r, waited, total) = got.recv().unwrap();
    assert_eq!(r, Park::TimedOut);
    assert!(
        waited >= Duration::from_millis(20),
        "woke early: {waited:?}"
    );
    assert!(total >= Duration::from_millis(25));
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}

#[test]
fn unpark_beats_the_timeout() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (owner, rx) = report();
    let (tx, got) = mpsc::channel();
    let (ready_tx, ready) = mpsc::channel();
    let t = spawn(&s, &owner, move || {
        ready_tx.send(()).unwrap();
        let r = task::park_timeout(Duration::from_secs(3600));
        tx.send(r).unwrap();
    });
    ready.recv().unwrap();
    while !t.is_parked() {
        std::thread::yield_now();
    }
    t.unpark();
    assert_eq!(got.recv().unwrap(), Park::Unparked);
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}

#[test]
fn timer_after_fires_and_cancel_stops_it() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let fired = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    let cancelled = s.timer_after(Duration::from_millis(1), move || {
        f.fetch_add(100, Ordering::SeqCst);
    });
    assert!(cancelled.cancel(), "cancel before firing succeeds");
    assert!(!cancelled.cancel(), "second cancel reports false");
    let (tx, got) = mpsc::channel();
    let t0 = Instant::now();
    let kept = s.timer_after(Duration::from_millis(10), move || {
        tx.send(Instant::now()).unwrap()
    });
    let at = got.recv().unwrap();
    assert!(at - t0 >= Duration::from_millis(10));
    assert!(!kept.cancel(), "cancel after firing reports false");
    assert_eq!(fired.load(Ordering::SeqCst), 0);
    s.shutdown();
}

#[test]
fn many_parked_with_timeouts_all_wake() {
    // 200k tasks (a million runs in tests/million.rs) each park with a
    // timeout; every one must time out and finish.
    const N: usize = 200_000;
    let s = Scheduler::builder().build().unwrap();
    let c = Arc::new(Counter::default());
    let owner: Arc<dyn TaskOwner> = c.clone();
    let timed_out = Arc::new(AtomicUsize::new(0));
    for i in 0..N {
        let t = timed_out.clone();
        spawn(&s, &owner, move || {
            let d = Duration::from_millis(1 + (i % 50) as u64);
            if task::park_timeout(d) == Park::TimedOut {
                t.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    c.wait(N);
    assert_eq!(c.returned.load(Ordering::Relaxed), N);
    assert_eq!(timed_out.load(Ordering::Relaxed), N);
    s.shutdown();
}

#[test]
fn timer_after_shutdown_never_runs() {
    let s = Scheduler::builder().workers(1).build().unwrap();
    let s2 = s.clone();
    s.shutdown();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let t = s2.timer_after(Duration::ZERO, move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    assert!(!t.cancel());
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    drop(s2);
}

#[test]
fn an_endless_timeout_is_accepted_and_cancel_ends_it() {
    let s = Scheduler::builder().workers(1).build().unwrap();
    let (owner, rx) = report();
    let t = spawn(&s, &owner, || {
        assert_eq!(task::park_timeout(Duration::MAX), Park::Unparked);
        task::sleep(Duration::MAX);
    });
    while !t.is_parked() {
        std::thread::yield_now();
    }
    t.unpark();
    while !t.is_parked() {
        std::thread::yield_now();
    }
    t.cancel();
    assert_eq!(rx.recv().unwrap(), Outcome::Cancelled);
    s.shutdown();
}
