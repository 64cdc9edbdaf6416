//! Time: `erlang:send_after/3`, `erlang:cancel_timer/1`, `timer:sleep/1`,
//! `erlang:yield/0`, `erlang:bump_reductions/1`, `erlang:hibernate/3` (ERTS
//! reference manual), and dirty work (`bream::blocking`, the BEAM's dirty
//! schedulers).

use std::time::{Duration, Instant};

use bream::{receive, Status};

#[test]
fn send_after_delivers_later() {
    bream::run(|| {
        let me = bream::self_pid();
        let start = Instant::now();
        bream::send_after(Duration::from_millis(10), me, "tick");
        assert_eq!(bream::receive::<&str>(), "tick");
        assert!(start.elapsed() >= Duration::from_millis(10), "never early");
    });
}

#[test]
fn a_cancelled_timer_never_fires() {
    bream::run(|| {
        let me = bream::self_pid();
        let t = bream::send_after(Duration::from_millis(20), me, 1u8);
        bream::send_after(Duration::from_millis(40), me, 2u8);
        // On a loaded machine the cancel may come too late; what is tested is
        // that a cancel that says "not fired" is right.
        if bream::cancel_timer(t) {
            // The cancelled one would have come first.
            assert_eq!(bream::receive::<u8>(), 2);
        } else {
            assert_eq!(bream::receive::<u8>(), 1);
        }
    });
}

#[test]
fn cancelling_a_fired_timer_says_so() {
    bream::run(|| {
        let me = bream::self_pid();
        let t = bream::send_after(Duration::ZERO, me, ());
        bream::receive::<()>();
        assert!(!bream::cancel_timer(t));
    });
}

#[test]
fn sleep_lasts_at_least_its_duration_and_keeps_messages() {
    bream::run(|| {
        let me = bream::self_pid();
        bream::spawn(move || bream::send(me, 1u8));
        let start = Instant::now();
        bream::sleep(Duration::from_millis(15));
        assert!(start.elapsed() >= Duration::from_millis(15));
        assert_eq!(bream::receive::<u8>(), 1);
    });
}

#[test]
fn yield_and_reduce_let_others_run() {
    let rt = bream::Runtime::builder().workers(1).build().unwrap();
    rt.block_on(|| {
        let me = bream::self_pid();
        bream::spawn(move || bream::send(me, "ran"));
        // On one worker, the child runs only when we let it.
        loop {
            if let Some(s) = bream::receive_timeout::<&str>(Duration::ZERO) {
                assert_eq!(s, "ran");
                break;
            }
            bream::yield_now();
        }
        bream::spawn(move || bream::send(me, "ran too"));
        loop {
            if let Some(s) = bream::receive_timeout::<&str>(Duration::ZERO) {
                assert_eq!(s, "ran too");
                break;
            }
            bream::reduce(1000);
        }
        assert!(bream::process_info(me).unwrap().reductions >= 1000);
    });
    rt.shutdown();
}

#[test]
fn hibernate_resumes_on_the_next_message_without_a_stack() {
    bream::run(|| {
        let me = bream::self_pid();
        let pid = bream::spawn(move || {
            let total: Vec<u64> = (1..=3).collect();
            bream::hibernate(move || {
                let n: u64 = bream::receive();
                bream::send(me, total.iter().sum::<u64>() + n);
                bream::hibernate(move || {
                    let m: u64 = bream::receive();
                    bream::send(me, m);
                })
            })
        });
        while bream::process_info(pid).map(|i| i.status) != Some(Status::Hibernating) {
            bream::yield_now();
        }
        bream::send(pid, 4u64);
        assert_eq!(bream::receive::<u64>(), 10);
        bream::send(pid, 7u64);
        assert_eq!(bream::receive::<u64>(), 7);
    });
}

#[test]
fn a_hibernating_process_can_be_killed_and_keeps_its_links() {
    bream::run(|| {
        bream::trap_exit(true);
        let pid =
            bream::spawn_link(|| bream::hibernate(|| unreachable!("never woken by a message")));
        while bream::process_info(pid).map(|i| i.status) != Some(Status::Hibernating) {
            bream::yield_now();
        }
        assert_eq!(
            bream::process_info(pid).unwrap().links,
            vec![bream::self_pid()]
        );
        bream::exit(pid, bream::ExitReason::Kill);
        let e: bream::Exit = bream::receive();
        assert_eq!(
            e,
            bream::Exit {
                from: pid,
                reason: bream::ExitReason::Killed
            }
        );
    });
}

#[test]
fn blocking_returns_the_value_and_parks_only_the_process() {
    let rt = bream::Runtime::builder().workers(1).build().unwrap();
    rt.block_on(|| {
        let me = bream::self_pid();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // The only worker must stay free while the blocking call waits for
        // another process to run.
        bream::spawn(move || {
            bream::send(me, "other ran");
            tx.send(()).unwrap();
        });
        let v = bream::blocking(move || {
            rx.recv().unwrap();
            42
        });
        assert_eq!(v, 42);
        assert_eq!(bream::receive::<&str>(), "other ran");
    });
    rt.shutdown();
}

#[test]
fn receive_timeouts_fire_for_many_waiting_processes() {
    bream::run(|| {
        let me = bream::self_pid();
        for _ in 0..1000 {
            bream::spawn(move || {
                let r = receive! { _x: u8 => "msg", after Duration::from_millis(5) => "timeout" };
                bream::send(me, r);
            });
        }
        for _ in 0..1000 {
            assert_eq!(bream::receive::<&str>(), "timeout");
        }
    });
}

/// A process that hibernates between every message, forever.
fn sleeper(parent: bream::Pid) {
    bream::hibernate(move || {
        let n: u32 = bream::receive();
        bream::send(parent, n);
        sleeper(parent)
    })
}

#[test]
fn hibernating_processes_woken_by_racing_senders_lose_nothing() {
    bream::run(|| {
        let me = bream::self_pid();
        let sleepers: Vec<bream::Pid> = (0..100)
            .map(|_| bream::spawn(move || sleeper(me)))
            .collect();
        // Two senders race with each hibernation: the message may arrive
        // before, during or after the process gives its stack back.
        for half in 0..2u32 {
            let targets = sleepers.clone();
            bream::spawn(move || {
                for round in 0..20u32 {
                    for &s in &targets {
                        bream::send(s, half * 1000 + round);
                    }
                }
            });
        }
        let mut sum = 0u64;
        for _ in 0..(100 * 20 * 2) {
            sum += u64::from(bream::receive::<u32>());
        }
        let per_sleeper: u64 = (0..20).map(|r| r + 1000 + r).sum();
        assert_eq!(sum, 100 * per_sleeper);
        for s in sleepers {
            bream::exit(s, bream::ExitReason::Kill);
        }
    });
}
