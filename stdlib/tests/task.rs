//! Tasks, tested against Elixir's documentation: `Task` (async/1, await/2,
//! yield/2, shutdown/2, await_many/2, async_stream/3 with `max_concurrency`,
//! `ordered`, `timeout`) and `Task.Supervisor` (start_child/2, async_nolink/2,
//! children/1, terminate_child/2).
//!
//! No test waits by sleeping for something to happen: waits are messages or
//! polls with a generous limit, and nothing asserts on time.

mod watchdog;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bream::{Exit, ExitReason, Pid};
use bream_stdlib::task::{self, Shutdown, TaskError, TaskSupervisor, Yielded};
use watchdog::{down, run, wait_until, PATIENCE};

/// Block forever (until killed).
fn forever() -> u32 {
    loop {
        bream::receive::<()>();
    }
}

/// Task.async/1 + Task.await/2: the result comes back to the owner.
#[test]
fn async_then_await_returns_the_result() {
    run(|| {
        let t = task::spawn(|| 6 * 7);
        assert_eq!(task::await_(t, PATIENCE), Ok(42));
        // Nothing is left behind in the owner's mailbox (no reply, no Down).
        bream::sleep(Duration::from_millis(20));
        let me = bream::process_info(bream::self_pid()).unwrap();
        assert_eq!(me.message_queue_len, 0);
    });
}

/// Task.async/1: "the task is linked to the caller": the link exists before
/// the task's code runs.
#[test]
fn a_task_is_linked_to_its_owner() {
    run(|| {
        let me = bream::self_pid();
        let t = task::spawn(move || {
            let info = bream::process_info(bream::self_pid()).unwrap();
            info.links.contains(&me)
        });
        assert_eq!(task::await_(t, PATIENCE), Ok(true));
    });
}

/// Task.async/1: "if the task crashes, the caller crashes too" (a caller not
/// trapping exits exits with the task's reason).
#[test]
fn a_crashing_task_takes_its_owner_down() {
    run(|| {
        let (owner, monitor) = bream::spawn_monitor(|| {
            let t = task::spawn(|| -> u32 { panic!("boom") });
            let _ = task::await_(t, PATIENCE);
            unreachable!("the owner dies with its task");
        });
        let _ = owner;
        assert_eq!(down(monitor), ExitReason::Panic("boom".into()));
    });
}

/// Task.await/2: an owner trapping exits gets the task's exit reason as an
/// error from await (Elixir exits with `{reason, {Task, :await, ...}}`), and
/// the link's exit signal as an `Exit` message.
#[test]
fn a_trapping_owner_gets_the_crash_from_await() {
    run(|| {
        bream::trap_exit(true);
        let t = task::spawn(|| -> u32 { bream::exit_self(ExitReason::Other("bad".into())) });
        let pid = t.pid();
        let reason = ExitReason::Other("bad".into());
        assert_eq!(
            task::await_(t, PATIENCE),
            Err(TaskError::Exit(reason.clone()))
        );
        let exit: Exit = bream::receive_timeout(PATIENCE).expect("the link's Exit");
        assert_eq!(exit, Exit { from: pid, reason });
    });
}

/// Task.await/2 timeout: bream returns Timeout and kills the task (unlinked
/// first: the owner lives on).
#[test]
fn await_timeout_kills_the_task_and_spares_the_owner() {
    run(|| {
        let t = task::spawn(forever);
        let watch = bream::monitor(t.pid());
        assert_eq!(
            task::await_(t, Duration::from_millis(20)),
            Err(TaskError::Timeout)
        );
        assert_eq!(down(watch), ExitReason::Killed);
        // Still alive, still not trapping: the kill did not come back.
        assert!(bream::is_alive(bream::self_pid()));
    });
}

/// Task.await/2: "must be awaited by the owner" (Elixir raises).
#[test]
fn only_the_owner_may_await() {
    run(|| {
        let t = task::spawn(|| 1u32);
        let (_, monitor) = bream::spawn_monitor(move || {
            let _ = task::await_(t, PATIENCE);
        });
        match down(monitor) {
            ExitReason::Panic(m) => assert!(m.contains("owned by"), "{m}"),
            other => panic!("expected a panic, got {other:?}"),
        }
    });
}

/// Task.yield/2: nil (Running) while the task runs, then its result.
#[test]
fn yield_hands_a_running_task_back() {
    run(|| {
        let me = bream::self_pid();
        let t = task::spawn(move || {
            bream::receive::<&str>();
            bream::send(me, "working");
            7u32
        });
        let t = match task::yield_(t, Duration::from_millis(10)) {
            Yielded::Running(t) => t,
            other => panic!("expected Running, got {other:?}"),
        };
        bream::send(t.pid(), "go");
        assert!(matches!(task::yield_(t, PATIENCE), Yielded::Ok(7)));
        assert_eq!(bream::receive_timeout::<&str>(PATIENCE), Some("working"));
    });
}

/// Task.yield/2: `{:exit, reason}` for a task that exited.
#[test]
fn yield_reports_an_exit() {
    run(|| {
        bream::trap_exit(true);
        let t = task::spawn(|| -> u32 { bream::exit_self(ExitReason::Shutdown) });
        match task::yield_(t, PATIENCE) {
            Yielded::Exit(ExitReason::Shutdown) => {}
            other => panic!("expected Exit(Shutdown), got {other:?}"),
        }
    });
}

/// Task.shutdown/2: a running task is stopped (nil), the owner is unharmed.
#[test]
fn shutdown_stops_a_running_task() {
    run(|| {
        let t = task::spawn(forever);
        let watch = bream::monitor(t.pid());
        assert_eq!(task::shutdown(t, Shutdown::Timeout(PATIENCE)), None);
        assert_eq!(down(watch), ExitReason::Shutdown);
        let t = task::spawn(forever);
        let watch = bream::monitor(t.pid());
        assert_eq!(task::shutdown(t, Shutdown::BrutalKill), None);
        assert_eq!(down(watch), ExitReason::Killed);
    });
}

/// Task.shutdown/2: `{:ok, reply}` if the reply arrived before the shutdown.
#[test]
fn shutdown_returns_a_result_that_already_arrived() {
    run(|| {
        let t = task::spawn(|| 5u32);
        let watch = bream::monitor(t.pid());
        assert_eq!(down(watch), ExitReason::Normal);
        assert_eq!(task::shutdown(t, Shutdown::BrutalKill), Some(Ok(5)));
    });
}

/// Task.shutdown/2 with a task that ignores Shutdown (traps exits): killed
/// after the timeout.
#[test]
fn shutdown_kills_after_the_timeout() {
    run(|| {
        let t = task::spawn(|| {
            bream::trap_exit(true);
            loop {
                bream::receive::<()>();
            }
        });
        // Let it start trapping.
        wait_until("the task traps exits", || {
            bream::process_info(t.pid()).is_some_and(|i| i.status == bream::Status::Waiting)
        });
        let watch = bream::monitor(t.pid());
        let r: Option<Result<(), ExitReason>> =
            task::shutdown(t, Shutdown::Timeout(Duration::from_millis(20)));
        assert_eq!(r, None);
        assert_eq!(down(watch), ExitReason::Killed);
    });
}

/// Task.await_many/2: results in the order of the tasks.
#[test]
fn await_many_returns_results_in_order() {
    run(|| {
        let tasks = (0..10u64)
            .map(|i| {
                task::spawn(move || {
                    bream::sleep(Duration::from_millis(10 - i));
                    i * i
                })
            })
            .collect();
        let squares: Vec<u64> = (0..10).map(|i| i * i).collect();
        assert_eq!(task::await_many(tasks, PATIENCE), Ok(squares));
    });
}

/// Task.await_many/2: a crash (seen by a trapping owner) fails the whole
/// wait, and the tasks still running are killed.
#[test]
fn await_many_fails_on_a_crash_and_kills_the_rest() {
    run(|| {
        bream::trap_exit(true);
        let slow = task::spawn(forever);
        let watch = bream::monitor(slow.pid());
        let bad = task::spawn(|| -> u32 { panic!("one bad") });
        let r = task::await_many(vec![slow, bad], PATIENCE);
        assert_eq!(r, Err(TaskError::Exit(ExitReason::Panic("one bad".into()))));
        assert_eq!(down(watch), ExitReason::Killed);
    });
}

/// Task.await_many/2: one timeout for all.
#[test]
fn await_many_times_out() {
    run(|| {
        let fast = task::spawn(|| 1u32);
        let slow = task::spawn(forever);
        let watch = bream::monitor(slow.pid());
        let r = task::await_many(vec![fast, slow], Duration::from_millis(20));
        assert_eq!(r, Err(TaskError::Timeout));
        assert_eq!(down(watch), ExitReason::Killed);
    });
}

/// Task.async_stream/3, `ordered: true` (the default): results in input order.
#[test]
fn async_stream_ordered_keeps_input_order() {
    run(|| {
        let out: Vec<u64> = task::async_stream(
            0..20u64,
            |i| {
                bream::sleep(Duration::from_millis(20 - i));
                i * 10
            },
            4,
            true,
        )
        .map(Result::unwrap)
        .collect();
        assert_eq!(out, (0..20u64).map(|i| i * 10).collect::<Vec<_>>());
    });
}

/// Task.async_stream/3, `ordered: false`: every result, in completion order.
#[test]
fn async_stream_unordered_yields_every_result() {
    run(|| {
        let mut out: Vec<u64> = task::async_stream(0..50u64, |i| i + 1, 8, false)
            .map(Result::unwrap)
            .collect();
        out.sort_unstable();
        assert_eq!(out, (1..=50u64).collect::<Vec<_>>());
    });
}

/// Task.async_stream/3, `max_concurrency`: never more tasks alive than the
/// bound, counted twice: the functions running at once (a counter), and the
/// task *processes* alive (each task reports its pid; at every step the live
/// ones are counted). The bound is also reached, so the test would see a
/// stream that runs one at a time.
#[test]
fn async_stream_never_exceeds_max_concurrency() {
    run(|| {
        const MAX: usize = 3;
        let me = bream::self_pid();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (Arc::clone(&running), Arc::clone(&peak));
        let stream = task::async_stream(
            0..40u32,
            move |i| {
                bream::send(me, bream::self_pid());
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                bream::sleep(Duration::from_millis(2));
                r.fetch_sub(1, Ordering::SeqCst);
                i
            },
            MAX,
            false,
        );
        let mut pids: Vec<Pid> = Vec::new();
        let mut seen = 0;
        for result in stream {
            result.unwrap();
            seen += 1;
            while let Some(pid) = bream::receive_timeout::<Pid>(Duration::ZERO) {
                pids.push(pid);
            }
            let alive = pids.iter().filter(|p| bream::is_alive(**p)).count();
            assert!(alive <= MAX, "{alive} task processes alive, max {MAX}");
        }
        assert_eq!(seen, 40);
        let peak = peak.load(Ordering::SeqCst);
        assert!(peak <= MAX, "{peak} functions ran at once, max {MAX}");
        assert_eq!(peak, MAX, "the stream never used its concurrency");
    });
}

/// Task.async_stream/3, `timeout:` with `on_timeout: :kill_task`: a slow item
/// yields a timeout, the others their results.
#[test]
fn async_stream_kills_a_task_past_its_timeout() {
    run(|| {
        let out: Vec<Result<u32, TaskError>> = task::async_stream(
            [1u32, 0, 3],
            |i| {
                if i == 0 {
                    forever()
                } else {
                    i
                }
            },
            3,
            true,
        )
        .timeout(Duration::from_millis(30))
        .collect();
        assert_eq!(out, vec![Ok(1), Err(TaskError::Timeout), Ok(3)]);
    });
}

/// Task.async_stream/3: a halted stream shuts its running tasks down.
#[test]
fn dropping_a_stream_kills_its_tasks() {
    run(|| {
        let me = bream::self_pid();
        let mut stream = task::async_stream(
            0..10u32,
            move |i| {
                if i == 0 {
                    return 0;
                }
                bream::send(me, bream::self_pid());
                forever()
            },
            4,
            true,
        );
        assert_eq!(stream.next(), Some(Ok(0)));
        let pids: Vec<Pid> = (0..3)
            .map(|_| bream::receive_timeout::<Pid>(PATIENCE).expect("a task pid"))
            .collect();
        drop(stream);
        wait_until("the stream's tasks are gone", || {
            pids.iter().all(|p| !bream::is_alive(*p))
        });
        assert!(bream::is_alive(me));
    });
}

/// Task.Supervisor.start_child/2: fire and forget, not linked to the caller.
#[test]
fn task_supervisor_start_child_runs_unlinked() {
    run(|| {
        let sup = TaskSupervisor::start_link().unwrap();
        let me = bream::self_pid();
        let pid = sup
            .start_child(move || {
                bream::send(me, "done");
                bream::exit_self(ExitReason::Other("crash after work".into()));
            })
            .unwrap();
        assert_eq!(bream::receive_timeout::<&str>(PATIENCE), Some("done"));
        wait_until("the child is gone", || !bream::is_alive(pid));
        // The caller is not linked: its crash did not reach us; nor restarted.
        assert!(bream::is_alive(me));
        assert_eq!(sup.children().unwrap(), Vec::<Pid>::new());
    });
}

/// Task.Supervisor.async_nolink/2: the result comes back through await; a
/// crash comes back as an error and the caller is not linked to the task.
#[test]
fn async_nolink_reports_crashes_as_errors() {
    run(|| {
        let sup = TaskSupervisor::start_link().unwrap();
        let ok = sup.async_nolink(|| "fine").unwrap();
        let me = bream::self_pid();
        let linked = bream::process_info(me).unwrap().links;
        assert!(!linked.contains(&ok.pid()), "async_nolink must not link");
        assert_eq!(task::await_(ok, PATIENCE), Ok("fine"));
        let bad = sup
            .async_nolink(|| -> u32 { panic!("nolink boom") })
            .unwrap();
        assert_eq!(
            task::await_(bad, PATIENCE),
            Err(TaskError::Exit(ExitReason::Panic("nolink boom".into())))
        );
        assert!(bream::is_alive(me));
    });
}

/// Task.Supervisor.children/1 and terminate_child/2.
#[test]
fn task_supervisor_lists_and_terminates_children() {
    run(|| {
        let sup = TaskSupervisor::start_link().unwrap();
        let a = sup
            .start_child(|| {
                forever();
            })
            .unwrap();
        let b = sup
            .start_child(|| {
                forever();
            })
            .unwrap();
        let mut children = sup.children().unwrap();
        children.sort();
        let mut expected = vec![a, b];
        expected.sort();
        assert_eq!(children, expected);
        let watch = bream::monitor(a);
        sup.terminate_child(a).unwrap();
        assert_eq!(down(watch), ExitReason::Shutdown);
        assert_eq!(sup.children().unwrap(), vec![b]);
    });
}

/// Task.Supervisor.async_nolink/2 + Task.shutdown/2: a supervised task can be
/// shut down by its owner too.
#[test]
fn async_nolink_task_can_be_shut_down() {
    run(|| {
        let sup = TaskSupervisor::start_link().unwrap();
        let t = sup.async_nolink(forever).unwrap();
        let watch = bream::monitor(t.pid());
        assert_eq!(task::shutdown(t, Shutdown::BrutalKill), None);
        assert_eq!(down(watch), ExitReason::Killed);
    });
}
