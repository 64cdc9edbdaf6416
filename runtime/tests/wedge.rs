//! Never wedged (issue 17): lost kills, processes that never yield, failing
//! calls that never spend reductions, timers starved by yielding loops,
//! absurd stack sizes. Every test runs under a watchdog (the body on a
//! thread, `recv_timeout` on its result), so a regression fails with a
//! message instead of hanging the test binary.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bream::{receive, Down, ExitReason, SpawnError, SpawnOpts};

/// Runs `f` on a thread; panics with `what` if it has not finished in `secs`.
/// One at a time: the tests measure latencies, and each keeps two workers
/// busy, so running them side by side on a 2-core CI machine would measure
/// the OS scheduler instead.
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

/// Computes for `d` without calling bream.
fn compute(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// A 10 ms ticker process body: runs for `run_for`, returns the longest gap
/// between two ticks.
fn ticker(run_for: Duration) -> Duration {
    let start = Instant::now();
    let (mut last, mut max) = (start, Duration::ZERO);
    while start.elapsed() < run_for {
        bream::sleep(Duration::from_millis(10));
        let now = Instant::now();
        max = max.max(now - last);
        last = now;
    }
    max
}

/// Everything `tracing` writes in this test binary (one global subscriber).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Log::default();
        let writer = log.clone();
        tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish(),
        )
        .unwrap();
        log
    })
}

/// Issue 17, item 2 (OTP: erlang:exit/2, "If Reason is the atom kill ... Pid
/// unconditionally exits with exit reason killed"): a `Kill` sent at 50 ms
/// to a process that computes for 500 ms without calling bream and then
/// returns was lost (its monitor saw `Normal`). A signal that arrived while
/// the process ran decides its exit.
#[test]
fn a_kill_that_arrives_while_a_process_computes_decides_its_exit() {
    watchdog(30, "the lost-kill test", || {
        let rt = bream::Runtime::builder().workers(2).build().unwrap();
        rt.block_on(|| {
            for (signal, expected) in [
                (ExitReason::Kill, ExitReason::Killed),
                (
                    ExitReason::Other("stop".into()),
                    ExitReason::Other("stop".into()),
                ),
            ] {
                // Computes (no bream call) for 500 ms and until the signal
                // has been sent (so a loaded machine cannot reorder the two),
                // then returns.
                let sent = Arc::new(AtomicBool::new(false));
                let s = sent.clone();
                let (pid, m) = bream::spawn_monitor(move || {
                    compute(Duration::from_millis(500));
                    while !s.load(Ordering::SeqCst) {
                        std::hint::spin_loop();
                    }
                });
                bream::sleep(Duration::from_millis(50));
                bream::exit(pid, signal);
                sent.store(true, Ordering::SeqCst);
                let down = receive! { d: Down if d.monitor == m => d };
                assert_eq!(down.reason, expected);
            }
            // A trapping process turns the signal into a message instead, and
            // ends as its code says.
            let sent = Arc::new(AtomicBool::new(false));
            let s = sent.clone();
            let (pid, m) = bream::spawn_monitor(move || {
                bream::trap_exit(true);
                while !s.load(Ordering::SeqCst) {
                    std::hint::spin_loop();
                }
            });
            bream::sleep(Duration::from_millis(50));
            bream::exit(pid, ExitReason::Other("stop".into()));
            sent.store(true, Ordering::SeqCst);
            let down = receive! { d: Down if d.monitor == m => d };
            assert_eq!(down.reason, ExitReason::Normal);
        });
        rt.shutdown();
    });
}

/// Issue 17, item 3: with 2 workers, two processes computing for 1 s used to
/// stop every other process for 1 s. Their workers' queues go to stand-in
/// threads past the long-schedule threshold; a 10 ms ticker keeps ticking.
#[test]
fn processes_that_never_yield_do_not_stop_the_others() {
    watchdog(30, "the never-yielding processes test", || {
        let rt = bream::Runtime::builder()
            .workers(2)
            .long_schedule(Some(Duration::from_millis(20)))
            .build()
            .unwrap();
        let gap = rt.block_on(|| {
            let busy: Vec<_> = (0..2)
                .map(|_| bream::spawn_monitor(|| compute(Duration::from_millis(1000))).1)
                .collect();
            let (_, m) = bream::spawn_monitor(|| {
                let gap = ticker(Duration::from_millis(600));
                assert!(gap < Duration::from_millis(400), "longest tick gap {gap:?}");
            });
            let down = receive! { d: Down if d.monitor == m => d };
            for b in busy {
                assert_eq!(
                    receive! { d: Down if d.monitor == b => d.reason },
                    ExitReason::Normal
                );
            }
            down.reason
        });
        assert_eq!(gap, ExitReason::Normal, "the ticker's verdict");
        rt.shutdown();
    });
}

/// Issue 17, item 3: `shutdown` used to wait forever for a process that
/// never yields. It returns within the grace period, naming the process in
/// an error through `tracing`.
#[test]
fn shutdown_returns_within_its_grace_and_names_a_process_that_never_yields() {
    static STOP: AtomicBool = AtomicBool::new(false);
    let log = log().clone();
    let (pid, took) = watchdog(30, "shutdown with a process that never yields", || {
        let rt = bream::Runtime::builder()
            .workers(2)
            .shutdown_grace(Some(Duration::from_millis(300)))
            .build()
            .unwrap();
        let pid = rt.block_on(|| {
            let pid = bream::spawn(|| {
                while !STOP.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(1)); // never yields
                }
            });
            bream::sleep(Duration::from_millis(20)); // it is running now
            pid
        });
        let t = Instant::now();
        rt.shutdown();
        (pid, t.elapsed())
    });
    STOP.store(true, Ordering::Relaxed); // let the detached thread end
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains(&format!("shutdown: process {pid} has not yielded")),
        "{text}"
    );
}

/// Issue 17, item 4: failing runtime calls spend reductions. A loop of
/// `whereis`/`send_named` on a name nobody holds (a `gen_server::call` to an
/// unregistered server, retried) never yielded: two such clients stalled a
/// 10 ms ticker for 2 s. Stand-ins are off here, so only the reductions can
/// keep the ticker going.
#[test]
fn failing_calls_spend_reductions_and_yield() {
    watchdog(30, "the failing-calls test", || {
        let rt = bream::Runtime::builder()
            .workers(2)
            .spare_workers(0)
            .build()
            .unwrap();
        rt.block_on(|| {
            let before = bream::process_info(bream::self_pid()).unwrap().reductions;
            for _ in 0..1000 {
                assert_eq!(bream::whereis("nobody"), None);
                assert!(bream::send_named("nobody", 1u8).is_err());
            }
            let after = bream::process_info(bream::self_pid()).unwrap().reductions;
            assert!(
                after - before >= 2000,
                "{} reductions for 2000 calls",
                after - before
            );
            let stop = Arc::new(AtomicBool::new(false));
            let clients: Vec<_> = (0..2)
                .map(|_| {
                    let stop = stop.clone();
                    bream::spawn_monitor(move || {
                        while !stop.load(Ordering::Relaxed) {
                            let _ = bream::whereis("nobody");
                            let _ = bream::send_named("nobody", ());
                        }
                    })
                    .1
                })
                .collect();
            let gap = ticker(Duration::from_millis(400));
            stop.store(true, Ordering::Relaxed);
            for c in clients {
                receive! { d: Down if d.monitor == c => d };
            }
            assert!(gap < Duration::from_millis(400), "longest tick gap {gap:?}");
        });
        rt.shutdown();
    });
}

/// Issue 17, item 5: with one process per worker looping on `yield_now` or
/// `reduce`, timers were never served (the maintenance round was counted
/// twice and never came): a 10 ms ticker waited for as long as the loops ran.
#[test]
fn timers_fire_while_one_process_per_worker_yields_in_a_loop() {
    watchdog(30, "the yielding-loops test", || {
        let rt = bream::Runtime::builder()
            .workers(2)
            .spare_workers(0)
            .build()
            .unwrap();
        let max = Arc::new(AtomicU64::new(0));
        let m = max.clone();
        rt.block_on(move || {
            let stop = Arc::new(AtomicBool::new(false));
            let loops: Vec<_> = (0..2)
                .map(|i| {
                    let stop = stop.clone();
                    bream::spawn_monitor(move || {
                        while !stop.load(Ordering::Relaxed) {
                            if i == 0 {
                                bream::yield_now();
                            } else {
                                bream::reduce(100);
                            }
                        }
                    })
                    .1
                })
                .collect();
            let gap = ticker(Duration::from_millis(400));
            m.store(gap.as_micros() as u64, Ordering::SeqCst);
            stop.store(true, Ordering::Relaxed);
            for l in loops {
                receive! { d: Down if d.monitor == l => d };
            }
        });
        rt.shutdown();
        let gap = max.load(Ordering::SeqCst);
        assert!(gap < 400_000, "longest tick gap {gap} µs");
    });
}

/// Issue 17, item 6: absurd stack sizes wrapped to 0 in release builds and
/// ran on the default stack, and `process_info` reported the wrapped size.
/// They are refused with an error that names the limit, and `process_info`
/// reports the size the process really has.
#[test]
fn absurd_stack_sizes_are_refused_and_the_real_size_is_reported() {
    watchdog(30, "the stack-size test", || {
        bream::run(|| {
            for absurd in [
                usize::MAX,
                (1 << 63) + 1,
                bream_scheduler::MAX_STACK_SIZE + 1,
            ] {
                let opts = SpawnOpts {
                    stack_size: Some(absurd),
                    ..Default::default()
                };
                match bream::spawn_opt(opts, || {}) {
                    Err(SpawnError::Scheduler(e)) => {
                        let msg = e.to_string();
                        assert!(
                            msg.contains(&absurd.to_string()) && msg.contains("MAX_STACK_SIZE"),
                            "{msg}"
                        );
                    }
                    other => panic!("a stack of {absurd} bytes: {other:?}"),
                }
            }
            for (asked, real) in [
                (None, 64 << 10),
                (Some(1), 64 << 10),
                (Some(100_000), 128 << 10),
            ] {
                let opts = SpawnOpts {
                    stack_size: asked,
                    ..Default::default()
                };
                let (pid, _) = bream::spawn_opt(opts, || {
                    bream::receive::<()>();
                })
                .unwrap();
                assert_eq!(
                    bream::process_info(pid).unwrap().stack_size,
                    real,
                    "asked {asked:?}"
                );
                bream::send(pid, ());
            }
        });
        let err = bream::Runtime::builder()
            .stack_size(usize::MAX)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("MAX_STACK_SIZE"), "{err}");
    });
}

/// Issue 17, item 3: two processes contending for a `parking_lot` mutex that
/// a third holds across a `receive` used to deadlock a 2-worker runtime: both
/// workers blocked in `lock`, nobody left to run the sender that would let
/// the holder go. A stand-in runs it.
#[test]
fn a_lock_held_across_a_receive_does_not_deadlock_the_runtime() {
    watchdog(30, "the lock-across-receive test", || {
        let rt = bream::Runtime::builder()
            .workers(2)
            .long_schedule(Some(Duration::from_millis(20)))
            .build()
            .unwrap();
        rt.block_on(|| {
            let lock = Arc::new(parking_lot::Mutex::new(0u32));
            let l = lock.clone();
            let main = bream::self_pid();
            let (holder, hm) = bream::spawn_monitor(move || {
                let mut g = l.lock();
                bream::send(main, "locked");
                bream::receive::<()>(); // waits holding the lock
                *g += 1;
            });
            assert_eq!(bream::receive::<&str>(), "locked");
            let contenders: Vec<_> = (0..2)
                .map(|_| {
                    let l = lock.clone();
                    bream::spawn_monitor(move || *l.lock() += 1).1 // blocks a worker
                })
                .collect();
            bream::sleep(Duration::from_millis(50));
            bream::send(holder, ());
            for m in contenders.into_iter().chain([hm]) {
                assert_eq!(
                    receive! { d: Down if d.monitor == m => d.reason },
                    ExitReason::Normal
                );
            }
            assert_eq!(*lock.lock(), 3);
        });
        rt.shutdown();
    });
}
