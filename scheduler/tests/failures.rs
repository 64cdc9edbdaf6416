//! Tasks that fail: a stack overflow while others run, a panic, a panic in
//! a blocking closure; and shutdown with parked tasks runs their destructors.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use bream_scheduler::{task, Outcome, Scheduler, SpawnOpts, TaskOwner};
use common::{report, spawn, Counter};

#[inline(never)]
fn recurse(n: u64) -> u64 {
    let buf = std::hint::black_box([n; 64]);
    if n == u64::MAX {
        return 0;
    }
    recurse(n + 1) + buf[3]
}

#[test]
fn stack_overflow_kills_only_its_task() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (owner, rx) = report();
    // A neighbour that keeps running while the other overflows.
    let spins = Arc::new(AtomicUsize::new(0));
    let sp = spins.clone();
    let stop = Arc::new(AtomicUsize::new(0));
    let st = stop.clone();
    let neighbour = spawn(&s, &owner, move || {
        while st.load(Ordering::SeqCst) == 0 {
            sp.fetch_add(1, Ordering::Relaxed);
            task::yield_now();
        }
    });
    let t = spawn(&s, &owner, || {
        std::hint::black_box(recurse(0));
    });
    assert_eq!(rx.recv().unwrap(), Outcome::StackOverflow);
    assert_eq!(t.outcome(), Some(Outcome::StackOverflow));
    // Everything else goes on: the neighbour still runs, new tasks run, and
    // the overflowed task's stack went back to the pool for reuse.
    let seen = spins.load(Ordering::SeqCst);
    while spins.load(Ordering::SeqCst) == seen {
        std::thread::yield_now();
    }
    stop.store(1, Ordering::SeqCst);
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    assert_eq!(neighbour.outcome(), Some(Outcome::Returned));
    for _ in 0..10 {
        spawn(&s, &owner, || {});
        assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    }
    s.shutdown();
}

#[test]
fn bigger_stack_on_request() {
    let s = Scheduler::builder().workers(1).build().unwrap();
    let (owner, rx) = report();
    let opts = SpawnOpts {
        stack_size: Some(1 << 20),
        ..Default::default()
    };
    s.spawn(opts, owner, || {
        // ~600 KiB of frames: overflows the default 64 KiB, fits in 1 MiB.
        fn deep(n: u32) -> u64 {
            let b = std::hint::black_box([u64::from(n); 128]);
            if n == 0 {
                0
            } else {
                deep(n - 1) + b[1]
            }
        }
        std::hint::black_box(deep(500));
    })
    .unwrap();
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}

#[test]
fn blocking_returns_its_value_and_a_panic_resumes_in_the_task() {
    let s = Scheduler::builder().workers(1).build().unwrap();
    let (owner, rx) = report();
    let (tx, got) = mpsc::channel();
    spawn(&s, &owner, move || {
        let v = task::blocking(|| std::thread::current().name().map(str::to_owned));
        tx.send(v).unwrap();
        task::blocking(|| panic!("blocking boom"));
    });
    assert_eq!(got.recv().unwrap().as_deref(), Some("bream-blocking"));
    assert_eq!(
        rx.recv().unwrap(),
        Outcome::Panicked("blocking boom".into())
    );
    s.shutdown();
}

#[test]
fn blocking_parks_only_the_task() {
    // One worker: while a task waits on a blocking job, another task runs on
    // the worker and releases the job.
    let s = Scheduler::builder().workers(1).build().unwrap();
    let (owner, rx) = report();
    let (release_tx, release) = mpsc::channel::<()>();
    spawn(&s, &owner, move || {
        task::blocking(move || release.recv().unwrap());
    });
    spawn(&s, &owner, move || release_tx.send(()).unwrap());
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}

struct CountDrop(Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn shutdown_unwinds_parked_tasks_and_runs_destructors() {
    const N: usize = 1000;
    let s = Scheduler::builder().workers(2).build().unwrap();
    let c = Arc::new(Counter::default());
    let owner: Arc<dyn TaskOwner> = c.clone();
    let dropped = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    for _ in 0..N {
        let (d, st) = (dropped.clone(), started.clone());
        spawn(&s, &owner, move || {
            let _g = CountDrop(d);
            st.fetch_add(1, Ordering::SeqCst);
            loop {
                task::park();
            }
        });
    }
    // Some never started: shutdown must drop their closures too.
    let d = dropped.clone();
    let never = CountDrop(d);
    spawn(&s, &owner, move || {
        let _keep = &never;
        loop {
            task::park();
        }
    });
    while started.load(Ordering::SeqCst) < N {
        std::thread::yield_now();
    }
    s.shutdown();
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        N + 1,
        "every destructor ran"
    );
    assert_eq!(c.done.load(Ordering::SeqCst), N + 1, "every owner was told");
    assert_eq!(c.returned.load(Ordering::SeqCst), 0);
}
