//! Never wedged (issue 17): tasks that never yield, or that each yield in a
//! loop, must not stall timers and the other tasks, and `shutdown` must
//! return. Every test runs under a watchdog: a regression fails with a
//! message instead of hanging the test binary.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bream_scheduler::{task, LongSchedule, Outcome, Scheduler, SpawnOpts};
use common::{report, spawn};

/// Runs `f` on a thread; panics with `what` if it has not finished in `secs`.
/// One at a time: the tests measure latencies with every worker busy, which
/// side by side on a 2-core CI machine would measure the OS scheduler.
fn watchdog<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("wedged: {what} did not finish in {secs} s"),
    }
}

/// A task that sleeps 10 ms at a time for `run_for`, recording the longest
/// gap between two wake-ups (in µs) in `max_gap`.
fn ticker(run_for: Duration, max_gap: Arc<AtomicU64>) -> impl FnOnce() + Send + 'static {
    move || {
        let start = Instant::now();
        let mut last = start;
        while start.elapsed() < run_for {
            task::sleep(Duration::from_millis(10));
            let now = Instant::now();
            max_gap.fetch_max((now - last).as_micros() as u64, Ordering::SeqCst);
            last = now;
        }
    }
}

/// Issue 17, item 5: with one task per worker yielding in a loop, the
/// maintenance round (timers, I/O) was never reached (`alone_here` and
/// `find_local` both counted the round), so a 10 ms ticker waited for as
/// long as the loops ran (1.2 s measured).
#[test]
fn timers_fire_while_each_worker_has_one_task_yielding_in_a_loop() {
    watchdog(30, "the yielding-loops test", || {
        let s = Scheduler::builder().workers(2).build().unwrap();
        let (owner, outcomes) = report();
        let stop = Arc::new(AtomicBool::new(false));
        for i in 0..2 {
            let stop = stop.clone();
            spawn(&s, &owner, move || {
                while !stop.load(Ordering::Relaxed) {
                    if i == 0 {
                        task::yield_now();
                    } else {
                        task::reduce(100);
                    }
                }
            });
        }
        let max_gap = Arc::new(AtomicU64::new(0));
        spawn(
            &s,
            &owner,
            ticker(Duration::from_millis(600), max_gap.clone()),
        );
        assert_eq!(outcomes.recv().unwrap(), Outcome::Returned, "the ticker");
        stop.store(true, Ordering::Relaxed);
        for _ in 0..2 {
            assert_eq!(outcomes.recv().unwrap(), Outcome::Returned);
        }
        s.shutdown();
        let gap = max_gap.load(Ordering::SeqCst);
        assert!(
            gap < 400_000,
            "a 10 ms ticker waited {gap} µs while two tasks yielded in loops"
        );
    });
}

/// Issue 17, item 3: two tasks that never yield on a 2-worker scheduler no
/// longer stop everything else: past the long-schedule threshold each
/// worker's queue goes to a stand-in thread, reported through the hook; the
/// stand-ins retire once the tasks are done.
#[test]
fn tasks_that_never_yield_hand_their_workers_queues_to_stand_ins() {
    watchdog(30, "the stand-in test", || {
        let reports: Arc<Mutex<Vec<LongSchedule>>> = Arc::default();
        let r = reports.clone();
        let s = Scheduler::builder()
            .workers(2)
            .long_schedule(Some(Duration::from_millis(20)))
            .spare_workers(2)
            .on_long_schedule(move |rep| r.lock().unwrap().push(rep))
            .build()
            .unwrap();
        let (owner, outcomes) = report();
        let stop = Arc::new(AtomicBool::new(false));
        let started = Arc::new(std::sync::Barrier::new(3));
        for tag in [1, 2] {
            let (stop, started) = (stop.clone(), started.clone());
            let opts = SpawnOpts {
                tag,
                ..Default::default()
            };
            s.spawn(opts, owner.clone(), move || {
                started.wait();
                // Never calls the scheduler until told to stop.
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
            .unwrap();
        }
        started.wait(); // both workers are taken now
        let max_gap = Arc::new(AtomicU64::new(0));
        let t0 = Instant::now();
        spawn(
            &s,
            &owner,
            ticker(Duration::from_millis(500), max_gap.clone()),
        );
        assert_eq!(outcomes.recv().unwrap(), Outcome::Returned, "the ticker");
        let ticked_in = t0.elapsed();
        assert_eq!(s.stand_ins(), 2, "one stand-in per stuck worker");
        stop.store(true, Ordering::Relaxed);
        for _ in 0..2 {
            assert_eq!(outcomes.recv().unwrap(), Outcome::Returned);
        }
        // The stand-ins retire once their workers are back.
        let t = Instant::now();
        while s.stand_ins() != 0 {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "stand-ins never retired"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        s.shutdown();
        let gap = max_gap.load(Ordering::SeqCst);
        assert!(
            ticked_in < Duration::from_secs(3) && gap < 400_000,
            "the ticker took {ticked_in:?}, longest gap {gap} µs, behind two stuck tasks"
        );
        let reports = reports.lock().unwrap();
        let mut tags: Vec<u64> = reports.iter().map(|r| r.tag).collect();
        tags.sort_unstable();
        assert_eq!(tags, [1, 2], "{reports:?}");
        assert!(
            reports
                .iter()
                .all(|r| r.stand_in.is_some() && !r.at_shutdown),
            "each report names its stand-in: {reports:?}"
        );
    });
}

/// Issue 17, item 3: two tasks contending for a `parking_lot` mutex that a
/// third holds across a park used to deadlock a 2-worker scheduler (both
/// workers blocked in `lock`, nobody left to run the holder). A stand-in runs
/// the holder, which lets go.
#[test]
fn a_mutex_held_across_a_park_does_not_deadlock_the_workers() {
    watchdog(30, "the mutex test", || {
        let s = Scheduler::builder()
            .workers(2)
            .long_schedule(Some(Duration::from_millis(20)))
            .build()
            .unwrap();
        let (owner, outcomes) = report();
        let m = Arc::new(parking_lot::Mutex::new(0u32));
        let (locked_tx, locked_rx) = mpsc::channel();
        let m1 = m.clone();
        let holder = spawn(&s, &owner, move || {
            let mut g = m1.lock();
            locked_tx.send(()).unwrap();
            task::park(); // holds the lock while parked
            *g += 1;
        });
        locked_rx.recv().unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        for _ in 0..2 {
            let m = m.clone();
            let started = started_tx.clone();
            spawn(&s, &owner, move || {
                started.send(()).unwrap();
                *m.lock() += 1; // blocks its worker's thread
            });
        }
        started_rx.recv().unwrap();
        started_rx.recv().unwrap();
        // A thread blocked in `lock` keeps its worker past the long-schedule
        // threshold: wait until the monitor has put a stand-in in its place,
        // the state this test is about, before the holder may finish.
        let t = Instant::now();
        while s.stand_ins() == 0 {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "no stand-in took over"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        holder.unpark();
        for _ in 0..3 {
            assert_eq!(outcomes.recv().unwrap(), Outcome::Returned);
        }
        assert_eq!(*m.lock(), 3);
        s.shutdown();
    });
}

/// Issue 17, item 3: `shutdown` returns within its grace period although a
/// task never yields; the task is named (by its tag) in an `at_shutdown`
/// report and its thread is detached.
#[test]
fn shutdown_detaches_and_names_a_task_that_never_yields() {
    static STOP: AtomicBool = AtomicBool::new(false);
    let reports: Arc<Mutex<Vec<LongSchedule>>> = Arc::default();
    let r = reports.clone();
    let took = watchdog(30, "shutdown with a task that never yields", move || {
        let s = Scheduler::builder()
            .workers(2)
            .shutdown_grace(Some(Duration::from_millis(300)))
            .on_long_schedule(move |rep| r.lock().unwrap().push(rep))
            .build()
            .unwrap();
        let (owner, _outcomes) = report();
        let (tx, rx) = mpsc::channel();
        let opts = SpawnOpts {
            tag: 99,
            ..Default::default()
        };
        s.spawn(opts, owner, move || {
            tx.send(()).unwrap();
            while !STOP.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1)); // never yields
            }
        })
        .unwrap();
        rx.recv().unwrap();
        let t = Instant::now();
        s.shutdown();
        t.elapsed()
    });
    STOP.store(true, Ordering::Relaxed); // let the detached thread finish
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "shutdown took {took:?} with a 300 ms grace"
    );
    let reports = reports.lock().unwrap();
    let last = reports.last().expect("a report at shutdown");
    assert!(last.at_shutdown && last.tag == 99, "{reports:?}");
}

/// The process's address-space size now (VmSize), in bytes.
fn vm_size() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
    let kib: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Issue 17, item 7: under `ulimit -v` the stack pool doubled its slab size
/// and never fell back to a smaller slab, so only ~60% of the address-space
/// budget held stacks before `NoStackMemory`. It now halves the slab until
/// one fits. Runs in a child process (the limit is process-wide).
#[test]
fn under_an_address_space_limit_most_of_it_holds_stacks() {
    const NAME: &str = "under_an_address_space_limit_most_of_it_holds_stacks";
    if std::env::var("BREAM_CHILD").as_deref() != Ok(NAME) {
        let out = watchdog(120, NAME, || {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
                .env("BREAM_CHILD", NAME)
                .output()
                .unwrap()
        });
        assert!(
            out.status.success(),
            "{NAME} failed in its child: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let s = Scheduler::builder()
        .workers(1)
        .spare_workers(0)
        .long_schedule(None)
        .build()
        .unwrap();
    const BUDGET: usize = 1 << 30;
    let limit = (vm_size() + BUDGET) as libc::rlim_t;
    let rl = libc::rlimit {
        rlim_cur: limit,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads the struct; lowering the soft limit is allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rl) }, 0);
    let slot = s.stack_size_for(None).unwrap() + 5 * 4096; // + red page + yellow zone
    let (owner, _outcomes) = report();
    let mut tasks = Vec::new();
    let err = loop {
        match s.spawn(SpawnOpts::default(), owner.clone(), task::park) {
            Ok(t) => tasks.push(t),
            Err(e) => break e,
        }
        assert!(tasks.len() < 1 << 20, "no limit reached");
    };
    let used = tasks.len() * slot;
    assert!(
        matches!(err, bream_scheduler::SpawnError::NoStackMemory { .. }),
        "{err}"
    );
    assert!(
        used * 100 / BUDGET >= 85,
        "{} stacks ({} MiB) fit in a {} MiB budget: {err}",
        tasks.len(),
        used >> 20,
        BUDGET >> 20
    );
    drop(tasks);
    s.shutdown();
}
