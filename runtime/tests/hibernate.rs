//! `hibernate_after`: an idle process's stack is frozen (its frames on the
//! heap, its pages given back) and thawed by its next message, byte for
//! byte, while sends, kills and timers race with it (docs/processes.md,
//! "Idle processes").

use std::sync::mpsc;
use std::time::{Duration, Instant};

use bream::{receive, ExitReason, Pid, Runtime, SpawnOpts};

/// Runs `f` on a fresh runtime, failing the test if it takes over 60 s.
fn with_runtime<R: Send + 'static>(
    hibernate_after: Option<Duration>,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut b = Runtime::builder().workers(2);
        if let Some(d) = hibernate_after {
            b = b.hibernate_after(d);
        }
        let rt = b.build().unwrap();
        let r = rt.block_on(f);
        rt.shutdown();
        let _ = tx.send(r);
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("watchdog: the test did not finish in 60 s")
}

/// Stacks frozen so far, all workers together.
fn freezes() -> u64 {
    bream::stats().workers.iter().map(|w| w.freezes).sum()
}

/// Waits (up to 10 s) until the freeze count passes `n`.
fn wait_freezes_above(n: u64) -> u64 {
    let start = Instant::now();
    loop {
        let now = freezes();
        if now > n {
            return now;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no stack was frozen"
        );
        bream::sleep(Duration::from_millis(1));
    }
}

/// `depth` frames, each holding an array and a pointer to its caller's
/// array; the innermost serves `rounds` messages (a receive: frozen while
/// it waits), and every frame checks its bytes and its pointer afterwards.
#[inline(never)]
fn chain(depth: u32, up: Option<&[u64; 8]>, rounds: u32, reply: Pid) -> u64 {
    let mut mine = [0u64; 8];
    for (i, w) in mine.iter_mut().enumerate() {
        *w = u64::from(depth) << 8 | i as u64;
    }
    std::hint::black_box(&mut mine);
    let below = if depth == 0 {
        let mut sum = 0;
        for _ in 0..rounds {
            let n: u64 = receive();
            sum += n;
            bream::send(reply, n);
        }
        sum
    } else {
        chain(depth - 1, Some(&mine), rounds, reply)
    };
    for (i, w) in mine.iter().enumerate() {
        assert_eq!(
            *w,
            u64::from(depth) << 8 | i as u64,
            "frame {depth}, word {i}"
        );
    }
    if let Some(up) = up {
        assert_eq!(
            up[5],
            u64::from(depth + 1) << 8 | 5,
            "frame {depth}'s pointer up"
        );
    }
    below
}

#[test]
fn a_frozen_process_wakes_with_its_frames_intact() {
    with_runtime(Some(Duration::ZERO), || {
        let me = bream::self_pid();
        let (pid, _mon) = bream::spawn_monitor(move || {
            let sum = chain(12, None, 40, me);
            assert_eq!(sum, (0..40).sum::<u64>());
        });
        let mut frozen = freezes();
        for n in 0..40u64 {
            // Each message finds the process frozen: the count went up
            // since it last woke.
            frozen = wait_freezes_above(frozen);
            bream::send(pid, n);
            assert_eq!(receive::<u64>(), n);
        }
        let down: bream::Down = receive();
        assert_eq!(down.reason, ExitReason::Normal, "the chain checked itself");
    });
}

#[test]
fn without_hibernate_after_nothing_freezes() {
    with_runtime(None, || {
        let pid = bream::spawn(|| {
            let () = receive();
        });
        bream::sleep(Duration::from_millis(50));
        assert_eq!(freezes(), 0, "freezing is opt-in");
        bream::send(pid, ());
    });
}

#[test]
fn a_process_freezes_only_after_waiting_hibernate_after() {
    with_runtime(None, || {
        let me = bream::self_pid();
        let opts = SpawnOpts {
            hibernate_after: Some(Duration::from_millis(150)),
            ..Default::default()
        };
        let (pid, _) = bream::spawn_opt(opts, move || loop {
            let n: u32 = receive();
            bream::send(me, n);
        })
        .unwrap();
        // Busy: answered at once, never idle long enough.
        let t0 = Instant::now();
        for n in 0..20u32 {
            bream::send(pid, n);
            assert_eq!(receive::<u32>(), n);
        }
        if t0.elapsed() < Duration::from_millis(100) {
            assert_eq!(freezes(), 0, "frozen before hibernate_after passed");
        }
        // Idle: frozen once it has waited 150 ms, and wakes as before.
        let waited = Instant::now();
        wait_freezes_above(0);
        assert!(waited.elapsed() >= Duration::from_millis(100));
        bream::send(pid, 7u32);
        assert_eq!(receive::<u32>(), 7);
        bream::exit(pid, ExitReason::Kill);
    });
}

/// A timed receive of a frozen process still times out, and a message that
/// comes after the timeout is still received.
#[test]
fn a_frozen_process_times_out_and_is_killed_as_usual() {
    with_runtime(Some(Duration::ZERO), || {
        let me = bream::self_pid();
        let p = bream::spawn(move || {
            let got = bream::receive! {
                n: u32 => Some(n),
                after Duration::from_millis(30) => None,
            };
            bream::send(me, got.is_none());
            let n: u32 = receive();
            bream::send(me, n);
            let () = receive(); // killed here, frozen
        });
        assert!(receive::<bool>(), "the timed receive timed out");
        bream::sleep(Duration::from_millis(5));
        bream::send(p, 9u32);
        assert_eq!(receive::<u32>(), 9);
        let mon = bream::monitor(p);
        wait_freezes_above(0);
        bream::exit(p, ExitReason::Kill);
        let down: bream::Down = receive();
        assert_eq!(down.monitor, mon);
        assert_eq!(down.reason, ExitReason::Killed);
    });
}

/// Many processes freezing and thawing while four senders hammer them,
/// some are killed, and timers fire: every survivor counts every message
/// of every sender, in each sender's order.
#[test]
fn freezing_races_with_sends_kills_and_timers() {
    const PROCS: usize = 400;
    const PER_SENDER: u32 = 50;
    const SENDERS: u32 = 4;
    with_runtime(Some(Duration::ZERO), || {
        let me = bream::self_pid();
        let targets: Vec<Pid> = (0..PROCS)
            .map(|_| {
                bream::spawn(move || {
                    let mut next = [0u32; SENDERS as usize];
                    let mut timeouts = 0u32;
                    while next.iter().sum::<u32>() < SENDERS * PER_SENDER {
                        bream::receive! {
                            (s, n): (u32, u32) => {
                                assert_eq!(n, next[s as usize], "sender {s}'s order");
                                next[s as usize] += 1;
                            },
                            after Duration::from_millis(1) => timeouts += 1,
                        }
                    }
                    bream::send(me, (bream::self_pid(), timeouts));
                    let () = receive();
                })
            })
            .collect();
        let victims: Vec<Pid> = targets.iter().copied().step_by(10).collect();
        for s in 0..SENDERS {
            let targets = targets.clone();
            bream::spawn(move || {
                for n in 0..PER_SENDER {
                    for &t in &targets {
                        bream::send(t, (s, n));
                    }
                    if n % 8 == 0 {
                        bream::sleep(Duration::from_millis(1));
                    }
                }
            });
        }
        bream::sleep(Duration::from_millis(5));
        for &v in &victims {
            bream::exit(v, ExitReason::Kill);
        }
        let mut done = 0;
        while done < PROCS - victims.len() {
            let (pid, _timeouts): (Pid, u32) = receive();
            if !victims.contains(&pid) {
                done += 1; // (a victim may have finished before its kill)
            }
        }
        assert!(freezes() > 0, "the stacks froze meanwhile");
        for &t in &targets {
            bream::send(t, ());
        }
    });
}
