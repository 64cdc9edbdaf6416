//! Stack overflows never wedge the runtime (issue 17, item 1;
//! docs/adr/scheduler-0001-stack-overflow.md). Erlang's promise: one
//! process's failure ends that process only; its monitors see why.
//!
//! The old failure mode wedged the whole runtime (an overflow inside
//! `malloc` left glibc's arena lock held), so each test runs its body in a
//! child process (this test binary again, told which test by the
//! `BREAM_CHILD` variable) under a timeout: a regression fails with a
//! message instead of hanging the test binary.

use std::hint::black_box;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bream::{receive, Down, ExitReason};

/// Runs test `name`'s body in a child process; fails if it does not exit
/// successfully within `secs`. Returns true in the child (the caller then
/// runs the body).
fn in_child(name: &str, secs: u64) -> bool {
    if std::env::var("BREAM_CHILD").as_deref() == Ok(name) {
        return true;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("BREAM_CHILD", name)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain stderr while the child runs: every overflow writes a crash
    // report there, and a full pipe would block the child, not wedge it.
    let mut stderr = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        use std::io::Read;
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let err = err.join().unwrap();
            let skip = err.chars().count().saturating_sub(4096);
            let tail: String = err.chars().skip(skip).collect();
            assert!(
                status.success(),
                "{name} failed in its child ({status}):\n{tail}"
            );
            return false;
        }
        if t.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wedged: {name} did not finish in {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Recursion that allocates in every frame: most of its overflows happen
/// inside `malloc`, holding glibc's arena lock.
fn allocating(n: u64) -> u64 {
    let v = black_box(vec![n as u8; 100]);
    if n == u64::MAX {
        return 0;
    }
    allocating(n + 1) + v.len() as u64
}

/// Recursion that only uses its stack.
fn plain(n: u64) -> u64 {
    let a = black_box([n; 8]);
    if n == u64::MAX {
        return 0;
    }
    plain(n + 1) + a[3]
}

/// Spawns `f` monitored and returns the reason its `Down` carries.
fn down_of(f: impl FnOnce() + Send + 'static) -> ExitReason {
    let (_, m) = bream::spawn_monitor(f);
    receive! { d: Down if d.monitor == m => d.reason }
}

/// Issue 17, item 1: an overflow inside `malloc` used to leave the arena
/// lock held; the next allocation on that worker froze, and a second such
/// overflow froze the runtime (5 of 5 runs). Now foreign code is stepped
/// back to Rust code before the task is trapped: every overflow is a
/// `StackOverflow` exit, allocation goes on everywhere, `run` returns.
#[test]
fn overflows_inside_malloc_end_the_process_and_nothing_hangs() {
    if !in_child(
        "overflows_inside_malloc_end_the_process_and_nothing_hangs",
        60,
    ) {
        return;
    }
    let rt = bream::Runtime::builder().workers(2).build().unwrap();
    rt.block_on(|| {
        // Allocating all along, on the other worker.
        let churn = bream::spawn(|| loop {
            black_box(vec![1u8; 1000]);
            bream::reduce(10);
        });
        for _ in 0..200 {
            assert_eq!(
                down_of(|| {
                    allocating(0);
                }),
                ExitReason::StackOverflow
            );
        }
        bream::exit(churn, ExitReason::Kill);
        // Allocation still works on both workers.
        let (_, m1) = bream::spawn_monitor(|| drop(black_box(vec![0u64; 10_000])));
        let (_, m2) = bream::spawn_monitor(|| drop(black_box(vec![0u64; 10_000])));
        for m in [m1, m2] {
            assert_eq!(
                receive! { d: Down if d.monitor == m => d.reason },
                ExitReason::Normal
            );
        }
    });
    rt.shutdown();
}

/// Issue 17, item 1: ten thousand plain overflows in a loop, each its own
/// process, each a `StackOverflow` exit; no stack leaks (the pool's stacks
/// come back, so the loop runs in bounded memory).
#[test]
fn ten_thousand_plain_overflows_in_a_loop() {
    if !in_child("ten_thousand_plain_overflows_in_a_loop", 120) {
        return;
    }
    bream::run(|| {
        for i in 0..10_000u32 {
            let reason = down_of(|| {
                plain(0);
            });
            assert_eq!(reason, ExitReason::StackOverflow, "overflow {i}");
        }
        assert_eq!(bream::processes().len(), 1, "only the loop is left");
    });
}

/// Issue 17, item 1: a `Mutex` held by the overflowing process. Its frames
/// are abandoned, not unwound, so the lock stays held (docs/stacks.md says
/// so: what the frames own leaks). What must not happen is a wedge: a
/// process that then blocks on the lock holds its worker thread, a stand-in
/// thread takes that worker's queue, other processes (a ticker) go on, and
/// shutdown returns within its grace period, naming the blocked process.
#[test]
fn an_overflow_while_holding_a_mutex_leaves_the_runtime_alive() {
    if !in_child(
        "an_overflow_while_holding_a_mutex_leaves_the_runtime_alive",
        60,
    ) {
        return;
    }
    let rt = bream::Runtime::builder()
        .workers(2)
        .long_schedule(Some(Duration::from_millis(20)))
        .shutdown_grace(Some(Duration::from_millis(500)))
        .build()
        .unwrap();
    let lock = Arc::new(Mutex::new(0u32));
    let l = lock.clone();
    let ticks = rt.block_on(move || {
        let l2 = l.clone();
        let reason = down_of(move || {
            let _g = l2.lock().unwrap();
            plain(0);
        });
        assert_eq!(reason, ExitReason::StackOverflow);
        assert!(
            l.try_lock().is_err(),
            "the abandoned guard still holds the lock"
        );
        // Blocks its worker thread for good.
        bream::spawn(move || *l.lock().unwrap() += 1);
        // The rest of the runtime goes on: a ticker on the other worker and
        // the stand-in.
        let mut ticks = 0;
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(300) {
            bream::sleep(Duration::from_millis(10));
            ticks += 1;
        }
        ticks
    });
    assert!(ticks >= 10, "a 10 ms ticker ticked {ticks} times in 300 ms");
    let t = Instant::now();
    rt.shutdown();
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        t.elapsed()
    );
    // The blocked process's thread is detached; the OS process exits anyway.
    std::process::exit(0);
}
