//! supervisor, tested against OTP's documentation: supervisor(3) (start_link/2,
//! start_child/2, terminate_child/2, restart_child/2, delete_child/2,
//! which_children/1, count_children/1, and the child spec and sup flags it
//! defines) and OTP Design Principles, "Supervisor Behaviour" (Restart
//! Strategy, Restart Intensity and Period, Child Specification: restart and
//! shutdown, simple_one_for_one, Stopping).
//!
//! The children are "tracked" workers (tests/common) that log when they start
//! and when their supervisor stops them, so each test reads which children
//! restarted and in which order straight from the log.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bream::{ExitReason, Pid};
use bream_stdlib::gen_server::INFINITY;
use bream_stdlib::supervisor::{
    self, ChildCounts, ChildError, ChildSpec, ChildState, ChildType, Restart, Shutdown, Strategy,
    Supervisor, SupervisorRef,
};
use bream_stdlib::StartError;
use common::*;

/// A supervisor that does not give up during a test.
fn patient(strategy: Strategy) -> Supervisor {
    Supervisor::new(strategy)
        .intensity(100)
        .period(Duration::from_secs(60))
}

fn abc(strategy: Strategy, log: Pid) -> (SupervisorRef, [Pid; 3]) {
    let sup = patient(strategy)
        .child(tracked("a", log))
        .child(tracked("b", log))
        .child(tracked("c", log))
        .start_link()
        .unwrap();
    (sup, [started("a"), started("b"), started("c")])
}

fn state(pid: Pid) -> ChildState {
    ChildState::Running(pid)
}

// ---- Restart Strategy ---------------------------------------------------------

#[test]
fn one_for_one_restarts_only_the_child_that_died() {
    bream::run(|| {
        let (sup, [a, b, c]) = abc(Strategy::OneForOne, bream::self_pid());
        crash(b);
        let b2 = started("b");
        assert_ne!(b2, b);
        assert_eq!(
            children(&sup),
            vec![
                ("a".into(), state(a)),
                ("b".into(), state(b2)),
                ("c".into(), state(c))
            ]
        );
        no_more_events(&sup);
    });
}

#[test]
fn one_for_all_stops_the_others_last_first_then_restarts_all_in_order() {
    bream::run(|| {
        let (sup, [_, b, _]) = abc(Strategy::OneForAll, bream::self_pid());
        crash(b);
        stopped("c");
        stopped("a");
        let pids = [started("a"), started("b"), started("c")];
        let running: Vec<_> = pids.iter().map(|p| state(*p)).collect();
        let states: Vec<_> = children(&sup).into_iter().map(|(_, s)| s).collect();
        assert_eq!(states, running);
        no_more_events(&sup);
    });
}

#[test]
fn rest_for_one_restarts_the_child_and_those_started_after_it() {
    bream::run(|| {
        let log = bream::self_pid();
        let sup = patient(Strategy::RestForOne)
            .child(tracked("a", log))
            .child(tracked("b", log))
            .child(tracked("c", log))
            .child(tracked("d", log))
            .start_link()
            .unwrap();
        let [a, b, _, _] = [started("a"), started("b"), started("c"), started("d")];
        crash(b);
        stopped("d");
        stopped("c");
        started("b");
        started("c");
        started("d");
        assert_eq!(children(&sup)[0], ("a".into(), state(a)));
        no_more_events(&sup);
    });
}

#[test]
fn simple_one_for_one_restarts_the_dynamic_child_with_its_argument() {
    bream::run(|| {
        let log = bream::self_pid();
        let template = ChildSpec::dynamic_worker("job", move |name: &'static str| {
            tracked_start(name, log, OnShutdown::Obey)()
        });
        let sup = patient(Strategy::SimpleOneForOne)
            .child(template)
            .start_link()
            .unwrap();
        assert_eq!(
            supervisor::count_children(&sup).unwrap().specs,
            1,
            "the template"
        );
        let x = supervisor::start_dynamic_child(&sup, "x").unwrap().unwrap();
        assert_eq!(started("x"), x);
        let y = supervisor::start_dynamic_child(&sup, "y").unwrap().unwrap();
        assert_eq!(started("y"), y);
        crash(x);
        let x2 = started("x");
        let states: Vec<_> = children(&sup).into_iter().map(|(_, s)| s).collect();
        // A restarted child keeps its place.
        assert_eq!(states, vec![state(x2), state(y)]);
        // count_children/1: a simple_one_for_one supervisor has one spec, the
        // template; `workers` counts its dynamic children.
        assert_eq!(
            supervisor::count_children(&sup).unwrap(),
            ChildCounts {
                specs: 1,
                active: 2,
                supervisors: 0,
                workers: 2
            }
        );
        no_more_events(&sup);
    });
}

// ---- Restart types ------------------------------------------------------------

fn one_child(restart: Restart) -> SupervisorRef {
    patient(Strategy::OneForOne)
        .child(tracked("w", bream::self_pid()).restart(restart))
        .start_link()
        .unwrap()
}

#[test]
fn permanent_is_restarted_even_after_a_normal_exit() {
    bream::run(|| {
        let sup = one_child(Restart::Permanent);
        let w = started("w");
        bream::send(w, Crash(ExitReason::Normal));
        let w2 = started("w");
        bream::send(w2, Crash(ExitReason::Shutdown));
        started("w");
        assert_eq!(supervisor::count_children(&sup).unwrap().active, 1);
    });
}

#[test]
fn transient_is_restarted_only_after_an_abnormal_exit() {
    bream::run(|| {
        let sup = one_child(Restart::Transient);
        let w = started("w");
        crash(w);
        let w2 = started("w");
        bream::send(w2, Crash(ExitReason::Shutdown));
        // Not restarted, but its spec stays (OTP keeps a transient's spec).
        let stopped_child = vec![("w".to_string(), ChildState::Undefined)];
        wait_until(|| children(&sup) == stopped_child);
        let w3 = supervisor::restart_child(&sup, "w").unwrap().unwrap();
        assert_eq!(started("w"), w3);
        bream::send(w3, Crash(ExitReason::Normal));
        wait_until(|| children(&sup) == stopped_child);
        no_more_events(&sup);
    });
}

#[test]
fn temporary_is_never_restarted_and_its_spec_goes() {
    bream::run(|| {
        let sup = one_child(Restart::Temporary);
        let w = started("w");
        crash(w);
        wait_until(|| children(&sup).is_empty());
        no_more_events(&sup);
    });
}

#[test]
fn a_temporary_sibling_is_not_restarted_by_one_for_all() {
    bream::run(|| {
        let log = bream::self_pid();
        let sup = patient(Strategy::OneForAll)
            .child(tracked("a", log))
            .child(tracked("t", log).restart(Restart::Temporary))
            .child(tracked("c", log))
            .start_link()
            .unwrap();
        let a = started("a");
        started("t");
        started("c");
        crash(a);
        stopped("c");
        stopped("t");
        started("a");
        started("c");
        let ids: Vec<_> = children(&sup).into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, vec!["a", "c"]);
        no_more_events(&sup);
    });
}

#[test]
fn a_temporary_sibling_is_not_restarted_by_rest_for_one() {
    bream::run(|| {
        let log = bream::self_pid();
        let sup = patient(Strategy::RestForOne)
            .child(tracked("a", log))
            .child(tracked("t", log).restart(Restart::Temporary))
            .child(tracked("c", log))
            .start_link()
            .unwrap();
        let a = started("a");
        started("t");
        started("c");
        crash(a);
        stopped("c");
        stopped("t");
        started("a");
        started("c");
        let ids: Vec<_> = children(&sup).into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, vec!["a", "c"]);
        no_more_events(&sup);
    });
}

// ---- Starting and stopping ------------------------------------------------------

#[test]
fn children_start_in_order_and_stop_in_reverse_order() {
    bream::run(|| {
        let log = bream::self_pid();
        let sup = patient(Strategy::OneForOne)
            .child(tracked("a", log))
            .child(tracked("b", log))
            .child(tracked("c", log))
            .start()
            .unwrap();
        started("a");
        started("b");
        started("c");
        supervisor::stop(&sup, ExitReason::Shutdown, INFINITY).unwrap();
        stopped("c");
        stopped("b");
        stopped("a");
    });
}

#[test]
fn a_parents_shutdown_stops_the_children_last_first() {
    bream::run(|| {
        let log = bream::self_pid();
        let (holder, monitor) = bream::spawn_monitor(move || {
            let _sup = patient(Strategy::OneForOne)
                .child(tracked("a", log))
                .child(tracked("b", log))
                .start_link()
                .unwrap();
            bream::receive::<()>();
        });
        started("a");
        started("b");
        bream::exit(holder, ExitReason::Shutdown);
        stopped("b");
        stopped("a");
        assert_eq!(down(monitor), ExitReason::Shutdown);
    });
}

#[test]
fn a_child_that_fails_to_start_fails_the_supervisor_with_its_error() {
    bream::run(|| {
        let log = bream::self_pid();
        let reason = ExitReason::Other("no disk".into());
        let failing = {
            let reason = reason.clone();
            ChildSpec::worker("b", move || Err(StartError::Init(reason.clone())))
        };
        let r = patient(Strategy::OneForOne)
            .child(tracked("a", log))
            .child(failing)
            .child(tracked("c", log))
            .start_link();
        assert_eq!(
            r.unwrap_err(),
            StartError::ChildFailed {
                id: "b".into(),
                error: Box::new(StartError::Init(reason))
            }
        );
        started("a");
        stopped("a");
        assert_eq!(bream::receive_timeout::<Event>(Duration::ZERO), None);
    });
}

#[test]
fn a_gen_server_child_whose_init_fails_fails_the_supervisor() {
    use bream_stdlib::gen_server::{GenServer, Init};
    struct NoStart;
    impl GenServer for NoStart {
        type Args = ();
        type Call = ();
        type Reply = ();
        type Cast = ();
        type Info = ();
        type Continue = ();
        fn init(_: ()) -> Init<Self> {
            Init::Stop(ExitReason::Other("nope".into()))
        }
    }
    bream::run(|| {
        let r = Supervisor::new(Strategy::OneForAll)
            .child(ChildSpec::gen_server::<NoStart>("ns", ()))
            .start();
        assert_eq!(
            r.unwrap_err(),
            StartError::ChildFailed {
                id: "ns".into(),
                error: Box::new(StartError::Init(ExitReason::Other("nope".into())))
            }
        );
    });
}

#[test]
fn a_start_function_that_panics_is_a_failed_start() {
    bream::run(|| {
        let r = Supervisor::new(Strategy::OneForOne)
            .child(ChildSpec::worker("p", || panic!("bad start")))
            .start();
        assert_eq!(
            r.unwrap_err(),
            StartError::ChildFailed {
                id: "p".into(),
                error: Box::new(StartError::Init(ExitReason::Panic("bad start".into())))
            }
        );
    });
}

#[test]
fn an_ignoring_child_is_kept_without_a_pid() {
    bream::run(|| {
        let sup = patient(Strategy::OneForOne)
            .child(ChildSpec::worker("i", || Err(StartError::Ignore)))
            .start_link()
            .unwrap();
        assert_eq!(children(&sup), vec![("i".into(), ChildState::Undefined)]);
    });
}

#[test]
fn invalid_specs_are_refused() {
    bream::run(|| {
        let log = bream::self_pid();
        let dup = Supervisor::new(Strategy::OneForOne)
            .child(tracked("a", log))
            .child(tracked("a", log))
            .start();
        assert!(matches!(dup, Err(StartError::BadSpec(_))));
        let simple = Supervisor::new(Strategy::SimpleOneForOne)
            .child(tracked("a", log))
            .start();
        assert!(matches!(simple, Err(StartError::BadSpec(_))));
        assert_eq!(bream::receive_timeout::<Event>(Duration::ZERO), None);
    });
}

// ---- Restart Intensity and Period -------------------------------------------------

#[test]
fn more_restarts_than_the_intensity_stop_the_supervisor_with_shutdown() {
    bream::run(|| {
        let log = bream::self_pid();
        // OTP's defaults: intensity 1, period 5 s.
        let sup = Supervisor::new(Strategy::OneForOne)
            .child(tracked("a", log))
            .child(tracked("b", log))
            .start()
            .unwrap();
        let monitor = bream::monitor(sup.pid().unwrap());
        started("a");
        let b = started("b");
        crash(b);
        let b = started("b");
        crash(b);
        // The second restart within 5 s is one too many: a is stopped, the
        // supervisor exits.
        stopped("a");
        assert_eq!(down(monitor), ExitReason::Shutdown);
    });
}

#[test]
fn intensity_exceeded_escalates_up_a_two_level_tree() {
    bream::run(|| {
        let log = bream::self_pid();
        let lower = Supervisor::new(Strategy::OneForOne).child(tracked("w", log));
        let top = Supervisor::new(Strategy::OneForOne)
            .child(lower.child_spec("lower"))
            .start()
            .unwrap();
        let top_monitor = bream::monitor(top.pid().unwrap());
        let lower_pid = |top: &SupervisorRef| match children(top)[0].1 {
            ChildState::Running(pid) => pid,
            other => panic!("lower is {other:?}"),
        };
        let lower1 = lower_pid(&top);
        // Twice in a row: the lower supervisor gives up; the top one restarts it.
        let w = started("w");
        crash(w);
        crash(started("w"));
        let w = started("w");
        let lower2 = lower_pid(&top);
        assert_ne!(lower1, lower2);
        assert!(!bream::is_alive(lower1));
        // Again: now the top supervisor has restarted twice within its period.
        crash(w);
        crash(started("w"));
        assert_eq!(down(top_monitor), ExitReason::Shutdown);
    });
}

#[test]
fn a_child_that_cannot_restart_ends_in_intensity_exceeded() {
    bream::run(|| {
        let log = bream::self_pid();
        let broken = Arc::new(AtomicBool::new(false));
        let start = {
            let broken = Arc::clone(&broken);
            let inner = tracked_start("w", log, OnShutdown::Obey);
            move || {
                if broken.load(Ordering::SeqCst) {
                    Err(StartError::Init(ExitReason::Other("broken".into())))
                } else {
                    inner()
                }
            }
        };
        let sup = Supervisor::new(Strategy::OneForOne)
            .intensity(3)
            .child(ChildSpec::worker("w", start))
            .start()
            .unwrap();
        let monitor = bream::monitor(sup.pid().unwrap());
        let w = started("w");
        broken.store(true, Ordering::SeqCst);
        crash(w);
        assert_eq!(down(monitor), ExitReason::Shutdown);
    });
}

// ---- Shutdown ---------------------------------------------------------------------

fn shut(spec: ChildSpec) -> (ExitReason, Vec<Event>) {
    let sup = patient(Strategy::OneForOne)
        .child(spec)
        .start_link()
        .unwrap();
    let child = started("w");
    let monitor = bream::monitor(child);
    supervisor::terminate_child(&sup, "w").unwrap();
    let reason = down(monitor);
    let mut rest = Vec::new();
    while let Some(e) = bream::receive_timeout::<Event>(Duration::ZERO) {
        rest.push(e);
    }
    assert_eq!(children(&sup), vec![("w".into(), ChildState::Undefined)]);
    (reason, rest)
}

#[test]
fn brutal_kill_kills() {
    bream::run(|| {
        let spec = tracked("w", bream::self_pid()).shutdown(Shutdown::BrutalKill);
        assert_eq!(shut(spec), (ExitReason::Killed, vec![]));
    });
}

#[test]
fn timeout_sends_shutdown_and_a_trapping_child_cleans_up() {
    bream::run(|| {
        let spec = tracked("w", bream::self_pid()).shutdown(Shutdown::Timeout(PATIENCE));
        let stopped = Event::Stopped("w", ExitReason::Shutdown);
        assert_eq!(shut(spec), (ExitReason::Shutdown, vec![stopped]));
    });
}

#[test]
fn timeout_kills_a_trapping_child_that_ignores_shutdown() {
    bream::run(|| {
        let start = tracked_start("w", bream::self_pid(), OnShutdown::Ignore);
        let spec =
            ChildSpec::worker("w", start).shutdown(Shutdown::Timeout(Duration::from_millis(20)));
        let stopped = Event::Stopped("w", ExitReason::Shutdown);
        assert_eq!(shut(spec), (ExitReason::Killed, vec![stopped]));
    });
}

#[test]
fn infinity_waits_for_a_slow_cleanup() {
    bream::run(|| {
        let start = tracked_start(
            "w",
            bream::self_pid(),
            OnShutdown::Slow(Duration::from_millis(30)),
        );
        let spec = ChildSpec::worker("w", start).shutdown(Shutdown::Infinity);
        let stopped = Event::Stopped("w", ExitReason::Shutdown);
        assert_eq!(shut(spec), (ExitReason::Shutdown, vec![stopped]));
    });
}

#[test]
fn a_child_that_does_not_trap_exits_dies_of_the_shutdown_signal() {
    bream::run(|| {
        let me = bream::self_pid();
        let spec = ChildSpec::worker("w", move || {
            let pid = bream::spawn_link(|| {
                bream::receive::<()>();
            });
            bream::send(me, Event::Started("w", pid));
            Ok(pid)
        });
        assert_eq!(shut(spec), (ExitReason::Shutdown, vec![]));
    });
}

#[test]
fn a_supervisor_child_defaults_to_infinity_and_stops_its_own_children() {
    bream::run(|| {
        let log = bream::self_pid();
        let lower = patient(Strategy::OneForOne).child(tracked("leaf", log));
        let spec = lower.child_spec("lower");
        assert!(format!("{spec:?}").contains("Infinity"));
        let top = patient(Strategy::OneForOne)
            .child(spec)
            .start_link()
            .unwrap();
        started("leaf");
        assert_eq!(
            supervisor::count_children(&top).unwrap(),
            ChildCounts {
                specs: 1,
                active: 1,
                supervisors: 1,
                workers: 0
            }
        );
        supervisor::terminate_child(&top, "lower").unwrap();
        stopped("leaf");
        assert_eq!(
            children(&top),
            vec![("lower".into(), ChildState::Undefined)]
        );
        let infos = supervisor::which_children(&top).unwrap();
        assert_eq!(infos[0].kind, ChildType::Supervisor);
    });
}

// ---- start_child, terminate_child, restart_child, delete_child --------------------

#[test]
fn child_management_follows_otps_rules() {
    bream::run(|| {
        let log = bream::self_pid();
        let sup = patient(Strategy::OneForOne)
            .child(tracked("a", log))
            .start_link()
            .unwrap();
        let a = started("a");
        // start_child
        let b = supervisor::start_child(&sup, tracked("b", log))
            .unwrap()
            .unwrap();
        assert_eq!(started("b"), b);
        assert_eq!(
            supervisor::start_child(&sup, tracked("b", log)),
            Err(ChildError::AlreadyStarted(b))
        );
        // restart_child / delete_child on a running child
        assert_eq!(
            supervisor::restart_child(&sup, "b"),
            Err(ChildError::Running)
        );
        assert_eq!(
            supervisor::delete_child(&sup, "b"),
            Err(ChildError::Running)
        );
        // terminate_child keeps the spec
        supervisor::terminate_child(&sup, "b").unwrap();
        stopped("b");
        assert_eq!(
            supervisor::start_child(&sup, tracked("b", log)),
            Err(ChildError::AlreadyPresent)
        );
        let b2 = supervisor::restart_child(&sup, "b").unwrap().unwrap();
        assert_eq!(started("b"), b2);
        // by pid, too
        supervisor::terminate_child(&sup, b2).unwrap();
        stopped("b");
        supervisor::delete_child(&sup, "b").unwrap();
        assert_eq!(
            supervisor::restart_child(&sup, "b"),
            Err(ChildError::NotFound)
        );
        assert_eq!(
            supervisor::delete_child(&sup, "b"),
            Err(ChildError::NotFound)
        );
        assert_eq!(
            supervisor::terminate_child(&sup, "b"),
            Err(ChildError::NotFound)
        );
        assert_eq!(
            supervisor::start_dynamic_child(&sup, 1u32),
            Err(ChildError::NotSimpleOneForOne)
        );
        // a start that fails leaves nothing behind
        let failing =
            ChildSpec::worker("f", || Err(StartError::Init(ExitReason::Other("x".into()))));
        assert_eq!(
            supervisor::start_child(&sup, failing),
            Err(ChildError::Start(StartError::Init(ExitReason::Other(
                "x".into()
            ))))
        );
        assert_eq!(children(&sup), vec![("a".into(), state(a))]);
        assert_eq!(
            supervisor::count_children(&sup).unwrap(),
            ChildCounts {
                specs: 1,
                active: 1,
                supervisors: 0,
                workers: 1
            }
        );
        no_more_events(&sup);
    });
}

#[test]
fn simple_one_for_one_management_follows_otps_rules() {
    bream::run(|| {
        let log = bream::self_pid();
        let template = ChildSpec::dynamic_worker("job", move |name: &'static str| {
            tracked_start(name, log, OnShutdown::Obey)()
        });
        let sup = patient(Strategy::SimpleOneForOne)
            .child(template)
            .start()
            .unwrap();
        let x = supervisor::start_dynamic_child(&sup, "x").unwrap().unwrap();
        started("x");
        assert_eq!(
            supervisor::start_dynamic_child(&sup, 5u8),
            Err(ChildError::WrongArgumentType)
        );
        assert_eq!(
            supervisor::start_child(&sup, tracked("y", log)),
            Err(ChildError::SimpleOneForOne)
        );
        assert_eq!(
            supervisor::restart_child(&sup, "job"),
            Err(ChildError::SimpleOneForOne)
        );
        assert_eq!(
            supervisor::delete_child(&sup, "job"),
            Err(ChildError::SimpleOneForOne)
        );
        assert_eq!(
            supervisor::terminate_child(&sup, "job"),
            Err(ChildError::SimpleOneForOne)
        );
        supervisor::terminate_child(&sup, x).unwrap();
        stopped("x");
        assert_eq!(
            supervisor::terminate_child(&sup, x),
            Err(ChildError::NotFound)
        );
        assert!(children(&sup).is_empty());
        // Stopping the supervisor stops every dynamic child.
        supervisor::start_dynamic_child(&sup, "p").unwrap().unwrap();
        supervisor::start_dynamic_child(&sup, "q").unwrap().unwrap();
        started("p");
        started("q");
        supervisor::stop(&sup, ExitReason::Shutdown, INFINITY).unwrap();
        let mut stops = events(2);
        stops.sort_by_key(|e| format!("{e:?}"));
        assert_eq!(
            stops,
            vec![
                Event::Stopped("p", ExitReason::Shutdown),
                Event::Stopped("q", ExitReason::Shutdown)
            ]
        );
    });
}

#[test]
fn a_named_supervisor_is_reachable_by_name() {
    bream::run(|| {
        let log = bream::self_pid();
        let sup = patient(Strategy::OneForOne)
            .name("sup_by_name")
            .child(tracked("a", log))
            .start_link()
            .unwrap();
        started("a");
        let by_name = SupervisorRef::named("sup_by_name");
        assert_eq!(by_name.pid(), sup.pid());
        assert_eq!(supervisor::count_children(&by_name).unwrap().active, 1);
    });
}

#[test]
fn stopping_a_simple_one_for_one_supervisor_shuts_down_every_dynamic_child() {
    bream::run(|| {
        let log = bream::self_pid();
        let template = ChildSpec::dynamic_worker("stubborn", move |name: &'static str| {
            tracked_start(name, log, OnShutdown::Ignore)()
        })
        .shutdown(Shutdown::Timeout(Duration::from_millis(20)));
        let sup = patient(Strategy::SimpleOneForOne)
            .child(template)
            .start()
            .unwrap();
        let monitors: Vec<_> = ["p", "q", "r"]
            .into_iter()
            .map(|name| {
                let pid = supervisor::start_dynamic_child(&sup, name)
                    .unwrap()
                    .unwrap();
                assert_eq!(started(name), pid);
                bream::monitor(pid)
            })
            .collect();
        supervisor::stop(&sup, ExitReason::Shutdown, INFINITY).unwrap();
        // Each got Shutdown, ignored it, and was killed when the time ran out.
        for monitor in monitors {
            assert_eq!(down(monitor), ExitReason::Killed);
        }
        let mut stops = events(3);
        stops.sort_by_key(|e| format!("{e:?}"));
        let expected: Vec<_> = ["p", "q", "r"]
            .into_iter()
            .map(|n| Event::Stopped(n, ExitReason::Shutdown))
            .collect();
        assert_eq!(stops, expected);
    });
}
