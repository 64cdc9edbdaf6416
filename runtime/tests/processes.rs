//! Processes, pids and limits: the Erlang Reference Manual, "Processes" chapter
//! (§"Process Creation", §"Pids"), `erlang:spawn_opt/2`, `erlang:process_info/1`,
//! `erlang:processes/0`, `erlang:is_process_alive/1`, and the `+P` limit of the
//! ERTS `erl` manual ("system_limit" on spawn).

use bream::{receive, Down, Pid, SpawnError, SpawnOpts, Status};
use std::panic::{self, AssertUnwindSafe};

fn index_of(p: Pid) -> String {
    p.to_string().split('.').nth(1).unwrap().to_owned()
}

#[test]
fn bream_functions_outside_a_process_say_so() {
    let r = panic::catch_unwind(bream::self_pid);
    let msg = r.unwrap_err().downcast::<String>().unwrap();
    assert!(msg.contains("outside a bream process"), "{msg}");
    assert!(msg.contains("self_pid"), "{msg}");
}

#[test]
fn pids_print_like_erlang_and_are_unique_among_the_living() {
    bream::run(|| {
        let me = bream::self_pid();
        let s = me.to_string();
        assert!(s.starts_with("<0.") && s.ends_with('>'), "{s}");
        let kids: Vec<Pid> = (0..100)
            .map(|_| bream::spawn(bream::receive::<()>))
            .collect();
        let mut all = kids.clone();
        all.push(me);
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 101);
        assert_eq!(bream::processes(), all);
        for k in kids {
            bream::send(k, ());
        }
    });
}

#[test]
fn a_dead_pid_never_reaches_the_process_that_reuses_its_slot() {
    // Room for the first process and one more: the second child must reuse the
    // first child's slot.
    let rt = bream::Runtime::builder().max_processes(2).build().unwrap();
    rt.block_on(|| {
        let me = bream::self_pid();
        let (old, m) = bream::spawn_monitor(|| {});
        receive! { d: Down if d.monitor == m => () }
        let new = loop {
            // The old slot is freed just after the Down is sent.
            match bream::try_spawn(move || {
                let first: u32 = bream::receive();
                bream::send(me, first);
            }) {
                Ok(p) => break p,
                Err(SpawnError::ProcessLimit { .. }) => bream::yield_now(),
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(index_of(old), index_of(new), "{old} {new}");
        assert_ne!(old, new);
        bream::send(old, 1u32); // dropped: old is dead
        bream::send(new, 2u32);
        assert_eq!(bream::receive::<u32>(), 2);
        assert!(!bream::is_alive(old));
    });
}

#[test]
fn the_process_limit_fails_spawns_cleanly_and_names_the_knob() {
    let rt = bream::Runtime::builder().max_processes(3).build().unwrap();
    rt.block_on(|| {
        let me = bream::self_pid();
        let a = bream::spawn(bream::receive::<()>);
        let b = bream::spawn(bream::receive::<()>);
        let opts = SpawnOpts {
            link: true,
            monitor: true,
            name: Some("third"),
            ..Default::default()
        };
        let err = bream::spawn_opt(opts, || {}).unwrap_err();
        assert!(
            matches!(err, SpawnError::ProcessLimit { max: 3 }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("Runtime::builder().max_processes(n)"),
            "{err}"
        );
        // Nothing half-created.
        let info = bream::process_info(me).unwrap();
        assert!(info.links.is_empty() && info.monitors.is_empty());
        assert_eq!(bream::whereis("third"), None);
        assert_eq!(bream::processes().len(), 3);
        // Plain spawn panics in the caller with the same message.
        let r = panic::catch_unwind(AssertUnwindSafe(|| bream::spawn(|| {})));
        let msg = r.unwrap_err().downcast::<String>().unwrap();
        assert!(msg.contains("max_processes"), "{msg}");
        bream::send(a, ());
        bream::send(b, ());
    });
}

#[test]
fn spawn_opt_with_a_taken_name_creates_nothing() {
    bream::run(|| {
        let me = bream::self_pid();
        bream::register("taken", me).unwrap();
        let before = bream::processes();
        let opts = SpawnOpts {
            link: true,
            name: Some("taken"),
            ..Default::default()
        };
        let err = bream::spawn_opt(opts, || {}).unwrap_err();
        assert!(matches!(err, SpawnError::NameTaken { name: "taken", holder } if holder == me));
        assert_eq!(bream::processes(), before);
        assert!(bream::process_info(me).unwrap().links.is_empty());
    });
}

#[test]
fn spawn_opt_sets_trap_exit_and_stack_size_before_the_child_runs() {
    bream::run(|| {
        let me = bream::self_pid();
        let opts = SpawnOpts {
            trap_exit: true,
            stack_size: Some(128 * 1024),
            ..Default::default()
        };
        let (pid, _) = bream::spawn_opt(opts, move || {
            // Already trapping: the old flag is true.
            bream::send(me, bream::trap_exit(true));
            bream::receive::<()>();
        })
        .unwrap();
        assert!(bream::receive::<bool>());
        assert_eq!(bream::process_info(pid).unwrap().stack_size, 128 * 1024);
        bream::send(pid, ());
    });
}

#[test]
fn process_info_reports_status_queue_links_monitors_and_name() {
    bream::run(|| {
        let me = bream::self_pid();
        let pid = bream::spawn(move || {
            bream::link(me);
            bream::register("inspected", bream::self_pid()).unwrap();
            bream::send(me, "ready");
            bream::receive::<()>();
        });
        assert_eq!(bream::receive::<&str>(), "ready");
        let r = bream::monitor(pid);
        // Wait (on a condition, not a clock) until it parks in its receive.
        while bream::process_info(pid).unwrap().status != Status::Waiting {
            bream::yield_now();
        }
        bream::send(pid, 5u8); // not what it waits for: stays queued
        let info = bream::process_info(pid).unwrap();
        assert_eq!(info.message_queue_len, 1);
        assert_eq!(info.links, vec![me]);
        assert_eq!(info.monitored_by, vec![me]);
        assert_eq!(info.registered_name, Some("inspected"));
        assert_eq!(bream::process_info(me).unwrap().monitors, vec![pid]);
        bream::send(pid, ());
        assert_eq!(bream::receive::<Down>().monitor, r);
        assert_eq!(bream::process_info(pid), None);
        assert!(!bream::is_alive(pid));
    });
}

#[test]
fn block_on_returns_the_value_and_other_processes_outlive_it() {
    let rt = bream::Runtime::builder().workers(2).build().unwrap();
    let pid = rt.block_on(|| bream::spawn(bream::receive::<()>));
    let alive = rt.block_on(move || {
        let a = bream::is_alive(pid);
        bream::send(pid, ());
        a
    });
    assert!(alive);
    rt.shutdown();
}

#[test]
fn shutdown_unwinds_processes_that_are_still_waiting() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let rt = bream::Runtime::new().unwrap();
    let d = Arc::clone(&dropped);
    rt.block_on(move || {
        for _ in 0..10 {
            let c = Count(Arc::clone(&d));
            bream::spawn(move || {
                let _c = c;
                bream::receive::<()>();
            });
        }
    });
    rt.shutdown();
    assert_eq!(dropped.load(Ordering::SeqCst), 10);
}

#[test]
fn block_on_inside_a_process_is_refused() {
    bream::run(|| {
        let r = panic::catch_unwind(|| bream::run(|| 1));
        let payload = r.unwrap_err();
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap();
        assert!(msg.contains("inside a process"), "{msg}");
    });
}

/// A process that computes without giving its worker back (no receive, no
/// reductions) does not hold up the process it just woke: the long-schedule
/// monitor moves that one from the stuck worker's `next` slot to another
/// worker. (On the BEAM, preemption makes this moot; bream's scheduling is
/// cooperative, see docs/scheduler.md, "The long-schedule monitor".)
#[test]
fn a_process_woken_by_one_that_never_yields_still_runs() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let rt = bream::Runtime::builder()
        .workers(2)
        .long_schedule(None)
        .build()
        .unwrap();
    rt.block_on(|| {
        let answered = Arc::new(AtomicBool::new(false));
        let a = answered.clone();
        let waiter = bream::spawn(move || {
            bream::receive::<&str>();
            a.store(true, Ordering::SeqCst);
        });
        // Let it reach its receive, so the send below is what wakes it.
        while bream::process_info(waiter).map(|i| i.status) != Some(Status::Waiting) {
            bream::yield_now();
        }
        let (spinner, m) = bream::spawn_monitor(move || {
            bream::send(waiter, "wake up"); // the waiter runs next on this worker...
            while !answered.load(Ordering::SeqCst) {
                std::hint::spin_loop(); // ...which this loop never gives back
            }
        });
        let down: Down = bream::receive();
        assert_eq!((down.monitor, down.pid), (m, spinner));
    });
    rt.shutdown();
}
