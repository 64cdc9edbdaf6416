//! supervisor: the parts of OTP's supervisor that a conformance check against
//! the OTP docs found missing (issue 15), each test naming the section it
//! mirrors:
//!
//! - supervisor(3), `Module:init/1` and `start_link/2,3`: the init callback
//!   runs at every start and restart and may return `ignore`;
//! - supervisor(3), "Supervisor flags" `auto_shutdown` and "Child
//!   specification" `significant`; Design Principles, "Supervisor Behaviour",
//!   "Automatic Shutdown";
//! - supervisor(3), `start_child/2` (`{ok, undefined}` for `ignore`),
//!   `restart_child/2`, `get_childspec/2`, `check_childspecs/2`,
//!   `count_children/1` of a `simple_one_for_one` supervisor;
//! - supervisor(3), "Child specification" `shutdown => infinity` for a worker.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bream::{ExitReason, Pid};
use bream_stdlib::gen_server::{self, CallResult, GenServer, ReplyTo, ServerRef, INFINITY};
use bream_stdlib::supervisor::{
    self, AutoShutdown, ChildCounts, ChildError, ChildSpec, ChildState, ChildType, Init, Restart,
    Shutdown, SpecError, Strategy, Supervisor, SupervisorRef,
};
use bream_stdlib::{sys, StartError};
use common::*;

fn patient(strategy: Strategy) -> Supervisor {
    Supervisor::new(strategy)
        .intensity(100)
        .period(Duration::from_secs(60))
}

fn exit_normally(pid: Pid) {
    bream::send(pid, Crash(ExitReason::Normal));
}

/// The pid of child `id` of `sup`, which must be running.
fn pid_of(sup: &SupervisorRef, id: &str) -> Pid {
    match children(sup).into_iter().find(|(i, _)| i == id) {
        Some((_, ChildState::Running(pid))) => pid,
        other => panic!("{id} is not running: {other:?}"),
    }
}

// ---- supervisor(3): Module:init/1 -----------------------------------------------

/// supervisor(3), `Module:init/1`: "Whenever a supervisor is started using
/// start_link/2,3, this function is called by the new process to find out
/// about restart strategy, maximum restart intensity, and child
/// specifications." A restarted supervisor runs it again, so it sees the
/// configuration as it is now.
#[test]
fn init_runs_at_every_restart_and_reads_the_configuration_afresh() {
    bream::run(|| {
        let log = bream::self_pid();
        let workers = Arc::new(AtomicUsize::new(1));
        let config = Arc::clone(&workers);
        let sub = supervisor::child_spec("sub", move || {
            let mut spec = patient(Strategy::OneForOne);
            for i in 0..config.load(Ordering::SeqCst) {
                let id = ["w0", "w1", "w2"][i];
                spec = spec.child(tracked(id, log));
            }
            Init::Ready(spec)
        });
        let root = patient(Strategy::OneForOne)
            .child(sub)
            .start_link()
            .unwrap();
        started("w0");
        let sub1 = SupervisorRef::from_pid(pid_of(&root, "sub"));
        assert_eq!(supervisor::count_children(&sub1).unwrap().specs, 1);

        workers.store(3, Ordering::SeqCst);
        bream::exit(sub1.pid().unwrap(), ExitReason::Kill);
        // The old w0 sees its killed parent's exit (in any order with the
        // new children's starts); the new sub starts three, in order.
        let log4 = events(4);
        assert!(log4.contains(&Event::Stopped("w0", ExitReason::Killed)));
        let starts: Vec<_> = log4
            .iter()
            .filter_map(|e| match e {
                Event::Started(id, _) => Some(*id),
                Event::Stopped(..) => None,
            })
            .collect();
        assert_eq!(starts, ["w0", "w1", "w2"]);
        let sub2 = SupervisorRef::from_pid(pid_of(&root, "sub"));
        assert_ne!(sub2, sub1);
        assert_eq!(supervisor::count_children(&sub2).unwrap().active, 3);
        no_more_events(&root);
    });
}

/// supervisor(3), `Module:init/1`: "The function can also return ignore."
/// `start_link/2,3`: "If Module:init/1 returns ignore, this function returns
/// ignore as well". A parent keeps such a child's spec, without a pid.
#[test]
fn an_init_that_returns_ignore_starts_nothing_and_its_parent_keeps_the_spec() {
    bream::run(|| {
        assert_eq!(
            supervisor::start_link(|| Init::Ignore).unwrap_err(),
            StartError::Ignore
        );
        let root = patient(Strategy::OneForOne)
            .child(supervisor::child_spec("off", || Init::Ignore))
            .start_link()
            .unwrap();
        assert_eq!(children(&root), vec![("off".into(), ChildState::Undefined)]);
        assert_eq!(supervisor::restart_child(&root, "off"), Ok(None));
    });
}

/// A restart whose init now says `ignore`: the child stays, not running.
#[test]
fn a_restart_whose_init_returns_ignore_leaves_the_child_undefined() {
    bream::run(|| {
        let enabled = Arc::new(AtomicUsize::new(1));
        let flag = Arc::clone(&enabled);
        let sub = supervisor::child_spec("sub", move || match flag.load(Ordering::SeqCst) {
            1 => Init::Ready(Supervisor::new(Strategy::OneForOne)),
            _ => Init::Ignore,
        });
        let root = patient(Strategy::OneForOne)
            .child(sub)
            .start_link()
            .unwrap();
        let first = pid_of(&root, "sub");
        enabled.store(0, Ordering::SeqCst);
        bream::exit(first, ExitReason::Kill);
        wait_until(|| children(&root) == vec![("sub".into(), ChildState::Undefined)]);
    });
}

/// supervisor(3), `start_link/2,3`: "If the callback function init fails
/// with Reason, this function returns {error, Reason}", and a bad spec is
/// refused.
#[test]
fn an_init_that_panics_or_returns_a_bad_spec_fails_the_start() {
    bream::run(|| {
        let panicked = supervisor::start_link(|| panic!("no config"));
        assert_eq!(
            panicked.unwrap_err(),
            StartError::Init(ExitReason::Panic("no config".into()))
        );
        let log = bream::self_pid();
        let dup = supervisor::start(move || {
            Supervisor::new(Strategy::OneForOne)
                .child(tracked("a", log))
                .child(tracked("a", log))
                .into()
        });
        assert!(matches!(dup, Err(StartError::BadSpec(why)) if why.contains("duplicate")));
        assert_eq!(bream::receive_timeout::<Event>(Duration::ZERO), None);
    });
}

/// supervisor(3), `start_link/3` with `{local, Name}`: registered before
/// init runs.
#[test]
fn a_named_supervisor_with_an_init_callback_is_registered_during_init() {
    bream::run(|| {
        let me = bream::self_pid();
        let sup = supervisor::start_link_named("named_by_init", move || {
            bream::send(
                me,
                bream::whereis("named_by_init") == Some(bream::self_pid()),
            );
            Init::Ready(Supervisor::new(Strategy::OneForAll))
        })
        .unwrap();
        assert!(bream::receive_timeout::<bool>(PATIENCE).unwrap());
        assert_eq!(SupervisorRef::named("named_by_init").pid(), sup.pid());
        assert_eq!(
            supervisor::start_link_named("named_by_init", || Init::Ignore),
            Err(StartError::AlreadyStarted(sup.pid().unwrap()))
        );
    });
}

// ---- Automatic Shutdown ---------------------------------------------------------

/// A supervisor that is not linked to the test, and a monitor on it.
fn unlinked(spec: Supervisor) -> (SupervisorRef, bream::MonitorRef) {
    let sup = spec.start().unwrap();
    let monitor = bream::monitor(sup.pid().unwrap());
    (sup, monitor)
}

/// supervisor(3), `auto_shutdown => any_significant`: "The supervisor will
/// shut itself down when any significant child terminates, that is, when a
/// transient significant child terminates normally or when a temporary
/// significant child terminates normally or abnormally." It terminates its
/// other children first and exits `shutdown`.
#[test]
fn any_significant_shuts_down_when_a_significant_child_finishes() {
    bream::run(|| {
        let log = bream::self_pid();
        let (_, monitor) = unlinked(
            patient(Strategy::OneForOne)
                .auto_shutdown(AutoShutdown::AnySignificant)
                .child(tracked("other", log))
                .child(
                    tracked("job", log)
                        .restart(Restart::Transient)
                        .significant(true),
                ),
        );
        started("other");
        let job = started("job");
        // An abnormal exit of a transient child restarts it: no shutdown.
        crash(job);
        let job2 = started("job");
        exit_normally(job2);
        stopped("other");
        assert_eq!(down(monitor), ExitReason::Shutdown);
    });
}

/// supervisor(3), same flag: a temporary significant child counts whatever
/// its exit reason.
#[test]
fn any_significant_counts_a_temporary_childs_crash() {
    bream::run(|| {
        let log = bream::self_pid();
        let (_, monitor) = unlinked(
            Supervisor::new(Strategy::OneForOne)
                .auto_shutdown(AutoShutdown::AnySignificant)
                .child(
                    tracked("t", log)
                        .restart(Restart::Temporary)
                        .significant(true),
                ),
        );
        crash(started("t"));
        assert_eq!(down(monitor), ExitReason::Shutdown);
    });
}

/// supervisor(3), `auto_shutdown => all_significant`: "The supervisor will
/// shut itself down when all significant children have terminated, that is,
/// when the last active significant child terminates."
#[test]
fn all_significant_shuts_down_when_the_last_significant_child_finishes() {
    bream::run(|| {
        let log = bream::self_pid();
        let (sup, monitor) = unlinked(
            patient(Strategy::OneForOne)
                .auto_shutdown(AutoShutdown::AllSignificant)
                .child(tracked("plain", log))
                .child(
                    tracked("s1", log)
                        .restart(Restart::Temporary)
                        .significant(true),
                )
                .child(
                    tracked("s2", log)
                        .restart(Restart::Transient)
                        .significant(true),
                ),
        );
        started("plain");
        let s1 = started("s1");
        let s2 = started("s2");
        crash(s1);
        wait_until(|| supervisor::count_children(&sup).unwrap().specs == 2);
        assert!(bream::is_alive(sup.pid().unwrap()), "s2 still runs");
        exit_normally(s2);
        stopped("plain");
        assert_eq!(down(monitor), ExitReason::Shutdown);
    });
}

/// supervisor(3), `auto_shutdown`: "Automatic shutdown only applies when
/// significant children terminate by themselves, and not when their
/// termination was caused by the supervisor. Specifically, neither the
/// termination of a child as a consequence of a sibling's death in the
/// one_for_all or rest_for_one strategies nor the manual termination of a
/// child by means of supervisor:terminate_child/2 will trigger an automatic
/// shutdown."
#[test]
fn terminations_the_supervisor_causes_do_not_trigger_auto_shutdown() {
    bream::run(|| {
        let log = bream::self_pid();
        let (sup, _monitor) = unlinked(
            patient(Strategy::OneForAll)
                .auto_shutdown(AutoShutdown::AnySignificant)
                .child(tracked("a", log))
                .child(
                    tracked("s", log)
                        .restart(Restart::Transient)
                        .significant(true),
                ),
        );
        let a = started("a");
        started("s");
        // A sibling's crash: s is terminated with the group and restarted.
        crash(a);
        stopped("s");
        started("a");
        started("s");
        // terminate_child of the significant child.
        supervisor::terminate_child(&sup, "s").unwrap();
        stopped("s");
        assert!(bream::is_alive(sup.pid().unwrap()));
        assert_eq!(supervisor::count_children(&sup).unwrap().active, 1);
        no_more_events(&sup);
        supervisor::stop(&sup, ExitReason::Shutdown, PATIENCE).unwrap();
    });
}

/// supervisor(3), child spec `significant`: "Setting this option to true when
/// the restart type is permanent is invalid. Also, it is considered invalid to
/// start children with this option set to true in a supervisor when the
/// auto_shutdown supervisor flag is set to never."
#[test]
fn significant_children_are_refused_where_otp_refuses_them() {
    bream::run(|| {
        let log = bream::self_pid();
        let sig = || {
            tracked("s", log)
                .restart(Restart::Transient)
                .significant(true)
        };
        let never = Supervisor::new(Strategy::OneForOne).child(sig()).start();
        assert!(matches!(never, Err(StartError::BadSpec(_))));
        let permanent = Supervisor::new(Strategy::OneForOne)
            .auto_shutdown(AutoShutdown::AnySignificant)
            .child(tracked("p", log).significant(true))
            .start();
        assert!(matches!(permanent, Err(StartError::BadSpec(_))));
        let sup = Supervisor::new(Strategy::OneForOne).start().unwrap();
        assert_eq!(
            supervisor::start_child(&sup, sig()),
            Err(ChildError::BadSpec(
                SpecError::SignificantWithoutAutoShutdown("s".into())
            ))
        );
        assert_eq!(bream::receive_timeout::<Event>(Duration::ZERO), None);
    });
}

// ---- start_child / restart_child and ignore ---------------------------------------

/// supervisor(3), `start_child/2`: "If the child process start function
/// returns ignore, the child specification is added to the supervisor (unless
/// the supervisor is a simple_one_for_one supervisor, see below), the pid is
/// set to undefined, and the function returns {ok, undefined}." (A temporary
/// child's spec is not kept: it could never run.)
#[test]
fn start_child_of_an_ignoring_child_succeeds_and_keeps_the_spec() {
    bream::run(|| {
        let sup = Supervisor::new(Strategy::OneForOne).start_link().unwrap();
        let lazy = ChildSpec::worker("lazy", || Err(StartError::Ignore));
        assert_eq!(supervisor::start_child(&sup, lazy.clone()), Ok(None));
        assert_eq!(children(&sup), vec![("lazy".into(), ChildState::Undefined)]);
        assert_eq!(
            supervisor::start_child(&sup, lazy),
            Err(ChildError::AlreadyPresent)
        );
        // restart_child/2: "If the child process start function returns
        // ignore, the pid remains set to undefined and the function returns
        // {ok, undefined}."
        assert_eq!(supervisor::restart_child(&sup, "lazy"), Ok(None));
        let once =
            ChildSpec::worker("once", || Err(StartError::Ignore)).restart(Restart::Temporary);
        assert_eq!(supervisor::start_child(&sup, once), Ok(None));
        assert_eq!(supervisor::count_children(&sup).unwrap().specs, 1);
    });
}

/// supervisor(3), `start_child/2` for simple_one_for_one: an ignored start
/// returns `{ok, undefined}` and leaves no child behind.
#[test]
fn a_dynamic_child_that_ignores_leaves_nothing() {
    bream::run(|| {
        let template = ChildSpec::dynamic_worker("maybe", |run: bool| {
            if run {
                Ok(bream::spawn_link(|| {
                    bream::receive::<()>();
                }))
            } else {
                Err(StartError::Ignore)
            }
        });
        let sup = Supervisor::new(Strategy::SimpleOneForOne)
            .child(template)
            .start_link()
            .unwrap();
        assert_eq!(supervisor::start_dynamic_child(&sup, false), Ok(None));
        assert!(supervisor::start_dynamic_child(&sup, true)
            .unwrap()
            .is_some());
        assert_eq!(
            supervisor::count_children(&sup).unwrap(),
            ChildCounts {
                specs: 1,
                active: 1,
                supervisors: 0,
                workers: 1
            }
        );
    });
}

/// supervisor(3), `count_children/1`: for a simple_one_for_one supervisor
/// `specs` is 1 (its one child spec) and `supervisors`/`workers` count the
/// dynamic children of the template's type.
#[test]
fn count_children_of_simple_one_for_one_reports_the_template() {
    bream::run(|| {
        let template = ChildSpec::dynamic_worker("sub", |_: ()| {
            Supervisor::new(Strategy::OneForOne)
                .start_link()
                .map(|s| s.pid().unwrap())
        })
        .kind(ChildType::Supervisor);
        let sup = Supervisor::new(Strategy::SimpleOneForOne)
            .child(template)
            .start_link()
            .unwrap();
        let empty = supervisor::count_children(&sup).unwrap();
        assert_eq!(
            empty,
            ChildCounts {
                specs: 1,
                active: 0,
                supervisors: 0,
                workers: 0
            }
        );
        for _ in 0..3 {
            supervisor::start_dynamic_child(&sup, ()).unwrap();
        }
        assert_eq!(
            supervisor::count_children(&sup).unwrap(),
            ChildCounts {
                specs: 1,
                active: 3,
                supervisors: 3,
                workers: 0
            }
        );
    });
}

// ---- get_childspec / check_childspecs ----------------------------------------------

/// supervisor(3), `get_childspec/2`: "Returns the child specification map for
/// the child identified by Id under supervisor SupRef." The spec works in
/// another supervisor.
#[test]
fn get_childspec_returns_a_spec_that_starts_the_same_child() {
    bream::run(|| {
        let log = bream::self_pid();
        let spec = tracked("a", log)
            .restart(Restart::Transient)
            .shutdown(Shutdown::BrutalKill);
        let one = Supervisor::new(Strategy::OneForOne)
            .child(spec)
            .start_link()
            .unwrap();
        let a = started("a");
        let got = supervisor::get_childspec(&one, "a").unwrap();
        assert_eq!(
            (
                got.id(),
                got.restart_type(),
                got.shutdown_type(),
                got.child_type()
            ),
            (
                "a",
                Restart::Transient,
                Shutdown::BrutalKill,
                ChildType::Worker
            )
        );
        assert!(!got.is_significant());
        assert_eq!(supervisor::get_childspec(&one, a).unwrap().id(), "a");
        assert_eq!(
            supervisor::get_childspec(&one, "b").unwrap_err(),
            ChildError::NotFound
        );
        let two = Supervisor::new(Strategy::OneForOne).start_link().unwrap();
        let a2 = supervisor::start_child(&two, got).unwrap().unwrap();
        assert_eq!(started("a"), a2);
    });
}

/// supervisor(3), `get_childspec/2` on a simple_one_for_one supervisor: by
/// pid, the template; by id, refused.
#[test]
fn get_childspec_of_a_dynamic_child_is_the_template() {
    bream::run(|| {
        let template = ChildSpec::dynamic_worker("job", |_: u8| {
            Ok(bream::spawn_link(|| {
                bream::receive::<()>();
            }))
        })
        .restart(Restart::Temporary);
        let sup = Supervisor::new(Strategy::SimpleOneForOne)
            .child(template)
            .start_link()
            .unwrap();
        let pid = supervisor::start_dynamic_child(&sup, 1u8).unwrap().unwrap();
        let got = supervisor::get_childspec(&sup, pid).unwrap();
        assert!(got.is_dynamic());
        assert_eq!((got.id(), got.restart_type()), ("job", Restart::Temporary));
        assert_eq!(
            supervisor::get_childspec(&sup, "job").unwrap_err(),
            ChildError::SimpleOneForOne
        );
    });
}

/// supervisor(3), `check_childspecs/2`: "Takes a list of child specification
/// as argument and returns ok if all of them are syntactically correct, or
/// {error, Error} otherwise. If the optional AutoShutdown argument is given
/// and not undefined, also checks if the child specifications are allowed for
/// the given auto_shutdown option."
#[test]
fn check_childspecs_checks_ids_and_significance() {
    let w = |id: &'static str| ChildSpec::worker(id, || Err(StartError::Ignore));
    let sig = w("s").restart(Restart::Temporary).significant(true);
    assert_eq!(
        supervisor::check_childspecs(&[w("a"), sig.clone()], None),
        Ok(())
    );
    assert_eq!(
        supervisor::check_childspecs(&[w("a"), w("a")], None),
        Err(SpecError::DuplicateId("a".into()))
    );
    assert_eq!(
        supervisor::check_childspecs(std::slice::from_ref(&sig), Some(AutoShutdown::Never)),
        Err(SpecError::SignificantWithoutAutoShutdown("s".into()))
    );
    assert_eq!(
        supervisor::check_childspecs(&[sig], Some(AutoShutdown::AllSignificant)),
        Ok(())
    );
    assert_eq!(
        supervisor::check_childspecs(&[w("p").significant(true)], None),
        Err(SpecError::SignificantPermanent("p".into()))
    );
}

// ---- ChildSpec::gen_server_named --------------------------------------------------

struct Named;

impl GenServer for Named {
    type Args = u32;
    type Call = ();
    type Reply = u32;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(n: u32) -> gen_server::Init<Self> {
        let _ = n;
        gen_server::Init::ok(Named)
    }
    fn handle_call(&mut self, _: (), _: ReplyTo<u32>) -> CallResult<Self> {
        CallResult::reply(42)
    }
}

/// Design Principles, "Supervisor Behaviour", child specification `start`:
/// `{ch3, start_link, []}` where `ch3:start_link` registers a local name. A
/// restarted named server is registered again, so clients that call it by
/// name keep working.
#[test]
fn a_named_gen_server_child_is_registered_again_after_a_restart() {
    bream::run(|| {
        let sup = patient(Strategy::OneForOne)
            .child(ChildSpec::gen_server_named::<Named>("n", "named_child", 0))
            .start_link()
            .unwrap();
        let by_name = ServerRef::<Named>::named("named_child");
        assert_eq!(gen_server::call(&by_name, (), PATIENCE), Ok(42));
        let first = by_name.pid().unwrap();
        assert_eq!(pid_of(&sup, "n"), first);
        bream::exit(first, ExitReason::Kill);
        wait_until(|| matches!(by_name.pid(), Some(p) if p != first));
        assert_eq!(gen_server::call(&by_name, (), PATIENCE), Ok(42));
    });
}

// ---- Shutdown::Timeout(INFINITY) --------------------------------------------------

/// supervisor(3), child spec `shutdown`: "If the child process is another
/// supervisor, the shutdown time must be set to infinity ... Setting the
/// shutdown time to infinity when the child process is a worker is allowed".
/// `Timeout(gen_server::INFINITY)` (`Duration::MAX`) is that infinity: the
/// supervisor waits for the slow cleanup instead of overflowing a clock.
#[test]
fn a_timeout_of_infinity_waits_for_the_child() {
    bream::run(|| {
        let log = bream::self_pid();
        let slow = tracked_start("slow", log, OnShutdown::Slow(Duration::from_millis(30)));
        let sup = Supervisor::new(Strategy::OneForOne)
            .child(ChildSpec::worker("slow", slow).shutdown(Shutdown::Timeout(INFINITY)))
            .start()
            .unwrap();
        let pid = started("slow");
        let monitor = bream::monitor(pid);
        supervisor::terminate_child(&sup, "slow").unwrap();
        stopped("slow");
        assert_eq!(down(monitor), ExitReason::Shutdown);
        supervisor::restart_child(&sup, "slow").unwrap();
        started("slow");
        supervisor::stop(&sup, ExitReason::Shutdown, PATIENCE).unwrap();
        stopped("slow");
        // The same for the dynamic children's shutdown-all-at-once path.
        let template = ChildSpec::dynamic_worker("d", move |name: &'static str| {
            tracked_start(name, log, OnShutdown::Slow(Duration::from_millis(30)))()
        })
        .shutdown(Shutdown::Timeout(INFINITY));
        let simple = Supervisor::new(Strategy::SimpleOneForOne)
            .child(template)
            .start()
            .unwrap();
        supervisor::start_dynamic_child(&simple, "d1").unwrap();
        started("d1");
        supervisor::stop(&simple, ExitReason::Shutdown, PATIENCE).unwrap();
        stopped("d1");
    });
}

// ---- sys(3) on a supervisor --------------------------------------------------------

/// sys(3), `get_state/1` ("For a supervisor process, the returned State is
/// the state of the supervisor's gen_server loop") and `get_status/1`: a
/// supervisor is a special process that answers system messages.
#[test]
fn sys_reads_a_supervisors_state_and_status() {
    bream::run(|| {
        let log = bream::self_pid();
        let sup = patient(Strategy::RestForOne)
            .child(tracked("a", log))
            .child(tracked("b", log))
            .start_link()
            .unwrap();
        let a = started("a");
        let b = started("b");
        let state = sys::get_state(&sup).unwrap();
        assert_eq!(state.strategy(), Strategy::RestForOne);
        assert_eq!(state.intensity(), (100, Duration::from_secs(60)));
        assert_eq!(state.auto_shutdown(), AutoShutdown::Never);
        let pids: Vec<_> = state.children().into_iter().map(|c| c.state).collect();
        assert_eq!(pids, [ChildState::Running(a), ChildState::Running(b)]);
        assert_eq!(state.recent_restarts(), 0);
        crash(b);
        started("b");
        assert_eq!(sys::get_state(&sup).unwrap().recent_restarts(), 1);
        let status = sys::get_status(&sup).unwrap();
        assert_eq!(status.pid, sup.pid().unwrap());
        assert!(!status.suspended);
        assert!(status.state.contains("RestForOne"), "{}", status.state);
        assert!(status.state.contains("\"b\""), "{}", status.state);
    });
}

/// sys(3), `suspend/1` and `resume/1`: a suspended process answers only
/// system messages; the rest (here a child's exit) waits until it resumes.
#[test]
fn a_suspended_supervisor_restarts_nothing_until_resumed() {
    bream::run(|| {
        let log = bream::self_pid();
        let sup = patient(Strategy::OneForOne)
            .child(tracked("a", log))
            .start_link()
            .unwrap();
        let a = started("a");
        sys::suspend(&sup).unwrap();
        assert!(sys::get_status(&sup).unwrap().suspended);
        let monitor = bream::monitor(a);
        crash(a);
        down(monitor);
        assert_eq!(
            bream::receive_timeout::<Event>(Duration::from_millis(50)),
            None
        );
        let children = sys::get_state(&sup).unwrap().children();
        assert_eq!(children[0].state, ChildState::Running(a), "not handled yet");
        sys::resume(&sup).unwrap();
        let a2 = started("a");
        assert_eq!(pid_of(&sup, "a"), a2);
    });
}
