//! gen_statem's life cycle, tested against OTP's documentation: statem.md
//! ("Stopping", "Hibernation", starting in a supervision tree) and
//! gen_statem(3) (`init/1`, `stop/3`, `terminate/3`, `stop_and_reply`), plus
//! the loop's rule for messages of undeclared types. Each test runs under a
//! watchdog; nothing asserts on time.

mod gen_statem_probe;

use std::time::Duration;

use bream::{Down, ExitReason};
use bream_stdlib::gen_statem::{self, CallError, Event, Init, StatemRef, Transition};
use bream_stdlib::StartError;
use gen_statem_probe::*;

// ── Stopping ────────────────────────────────────────────────────────────────

fn watch(m: &StatemRef<Probe>) -> bream::MonitorRef {
    bream::monitor(m.pid().unwrap())
}

fn down(monitor: bream::MonitorRef) -> ExitReason {
    bream::receive! {
        d: Down if d.monitor == monitor => d.reason,
        after PATIENCE => panic!("no Down within PATIENCE"),
    }
}

/// statem.md "Stopping": `stop` runs `terminate(Reason, State, Data)` and the
/// machine exits with the reason.
#[test]
fn stop_transition_runs_terminate_in_the_current_state() {
    watchdog(|| {
        let m = probe(1, false);
        let monitor = watch(&m);
        gen_statem::cast(&m, goto("go", 4));
        let bye = ExitReason::Other("bye".into());
        let reason = bye.clone();
        gen_statem::cast(
            &m,
            ev("stop", move |_, _, _| Transition::stop(reason.clone())),
        );
        assert_eq!(
            seen_n(3),
            [
                cast_seen("go", 1),
                cast_seen("stop", 4),
                Seen::Terminated(bye.clone(), 4)
            ]
        );
        assert_eq!(down(monitor), bye);
    });
}

/// gen_statem(3) `stop_and_reply`: "sends all Replies, then terminates".
#[test]
fn stop_and_reply_answers_then_terminates() {
    watchdog(|| {
        let m = probe(2, false);
        let monitor = watch(&m);
        let last = ev("last", |_, _, event| match event {
            Event::Call(_, from) => Transition::stop_and_reply(ExitReason::Normal, from, "bye"),
            _ => unreachable!(),
        });
        assert_eq!(gen_statem::call(&m, last, PATIENCE), Ok("bye"));
        assert_eq!(
            seen_n(2),
            [
                Seen::Event("call", "last", 2),
                Seen::Terminated(ExitReason::Normal, 2)
            ]
        );
        assert_eq!(down(monitor), ExitReason::Normal);
        assert_eq!(
            gen_statem::call(&m, keep("dead"), PATIENCE),
            Err(CallError::NoProc)
        );
    });
}

/// gen_statem(3) `stop/3`: the caller waits until the machine has run
/// `terminate` and exited.
#[test]
fn stop_from_a_client_runs_terminate() {
    watchdog(|| {
        let m = probe(5, false);
        assert_eq!(gen_statem::stop(&m, ExitReason::Shutdown, PATIENCE), Ok(()));
        assert_eq!(seen(), Seen::Terminated(ExitReason::Shutdown, 5));
    });
}

/// gen_statem(3) `terminate/3`: a crash in a state callback runs `terminate`
/// with the crash as the reason, and the machine exits with it.
#[test]
fn panic_in_a_callback_runs_terminate_and_is_the_exit_reason() {
    watchdog(|| {
        let m = probe(1, false);
        let monitor = watch(&m);
        gen_statem::cast(&m, ev("boom", |_, _, _| panic!("boom")));
        let panicked = ExitReason::Panic("boom".into());
        assert_eq!(
            seen_n(2),
            [cast_seen("boom", 1), Seen::Terminated(panicked.clone(), 1)]
        );
        assert_eq!(down(monitor), panicked);
    });
}

/// statem.md "Stopping" (in a supervision tree): a machine that traps exits
/// terminates with its parent's exit reason.
#[test]
fn parent_exit_terminates_a_trapping_machine() {
    watchdog(|| {
        let log = bream::self_pid();
        let (_, parent) = bream::spawn_monitor(move || {
            let args = Args {
                log,
                state: 7,
                enter: false,
                init: |init| {
                    bream::trap_exit(true);
                    init
                },
            };
            let m = gen_statem::start_link::<Probe>(args).unwrap();
            bream::send(log, m);
            bream::exit_self(ExitReason::Shutdown)
        });
        let m: StatemRef<Probe> = bream::receive_timeout(PATIENCE).unwrap();
        assert_eq!(down(parent), ExitReason::Shutdown);
        assert_eq!(seen(), Seen::Terminated(ExitReason::Shutdown, 7));
        let machine = m.pid().unwrap();
        let mut waited = Duration::ZERO;
        while bream::is_alive(machine) {
            assert!(waited < PATIENCE, "the machine outlived its parent");
            bream::sleep(Duration::from_millis(1));
            waited += Duration::from_millis(1);
        }
    });
}

// ── Starting ────────────────────────────────────────────────────────────────

/// gen_statem(3) `init/1` returning `{stop, Reason}` or `ignore`: `start`
/// returns that and no machine runs.
#[test]
fn init_stop_and_ignore_reach_the_starter() {
    watchdog(|| {
        let args = |init: fn(Init<Probe>) -> Init<Probe>| Args {
            log: bream::self_pid(),
            state: 1,
            enter: false,
            init,
        };
        let stopped =
            gen_statem::start::<Probe>(args(|_| Init::Stop(ExitReason::Other("no".into()))));
        assert_eq!(
            stopped.err(),
            Some(StartError::Init(ExitReason::Other("no".into())))
        );
        let ignored = gen_statem::start::<Probe>(args(|_| Init::Ignore));
        assert_eq!(ignored.err(), Some(StartError::Ignore));
        let named = gen_statem::start_named::<Probe>("statem_test_lock", args(|i| i)).unwrap();
        let again = gen_statem::start_named::<Probe>("statem_test_lock", args(|i| i));
        assert_eq!(
            again.err(),
            Some(StartError::AlreadyStarted(named.pid().unwrap()))
        );
        let by_name = StatemRef::<Probe>::named("statem_test_lock");
        gen_statem::cast(&by_name, keep("by name"));
        assert_eq!(seen(), cast_seen("by name", 1));
    });
}

// ── Hibernation and stray messages ──────────────────────────────────────────

/// statem.md "Hibernation": a hibernating machine gives its stack back and
/// wakes on the next event with its state and data intact.
#[test]
fn hibernate_keeps_state_and_data() {
    watchdog(|| {
        let m = probe(1, false);
        let pid = m.pid().unwrap();
        gen_statem::cast(
            &m,
            ev("sleep", |_, _, _| Transition::next_state(6).hibernate()),
        );
        assert_eq!(seen(), cast_seen("sleep", 1));
        let mut waited = Duration::ZERO;
        while bream::process_info(pid).map(|i| i.status) != Some(bream::Status::Hibernating) {
            assert!(waited < PATIENCE, "the machine never hibernated");
            bream::sleep(Duration::from_millis(1));
            waited += Duration::from_millis(1);
        }
        gen_statem::cast(&m, keep("wake"));
        assert_eq!(seen(), cast_seen("wake", 6));
        sync_call(&m, |_, _, _| Transition::keep_state());
    });
}

/// gen_statem(3) "info" and OTP's loop: every message is taken; one of a type
/// the machine does not declare is logged and dropped, so it never stays in
/// the mailbox (a stray backlog would slow every later receive).
#[test]
fn messages_of_undeclared_types_are_dropped_not_kept() {
    watchdog(|| {
        let m = probe(1, false);
        let pid = m.pid().unwrap();
        gen_statem::cast(&m, blocker("block"));
        for i in 0..10_000u64 {
            bream::send(pid, i);
        }
        bream::send(pid, "a &str is not the machine's either");
        gen_statem::cast(&m, keep("after"));
        bream::send(pid, Go);
        sync_call(&m, |_, _, _| Transition::keep_state());
        assert_eq!(seen_n(2), [cast_seen("block", 1), cast_seen("after", 1)]);
        let left = bream::process_info(pid).unwrap().message_queue_len;
        assert_eq!(left, 0, "stray messages left in the mailbox");
    });
}

// ── Supervision ─────────────────────────────────────────────────────────────

/// statem.md "Starting gen_statem" (in a supervision tree) and supervisor(3):
/// a machine started by `child_spec` is restarted after a crash, in its
/// initial state.
#[test]
fn a_supervised_machine_restarts_in_its_initial_state() {
    use bream_stdlib::supervisor::{self, Strategy, Supervisor};
    watchdog(|| {
        let log = bream::self_pid();
        let args = move |state| Args {
            log,
            state,
            enter: false,
            init: |init| init,
        };
        let sup = Supervisor::new(Strategy::OneForOne)
            .child(gen_statem::child_spec::<Probe>("probe", args(1)))
            .start_link()
            .unwrap();
        let running = || match supervisor::which_children(&sup).unwrap()[0].state {
            supervisor::ChildState::Running(pid) => Some(pid),
            _ => None,
        };
        let first = running().expect("the machine runs");
        let m = StatemRef::<Probe>::from_pid(first);
        gen_statem::cast(&m, goto("move", 2));
        gen_statem::cast(&m, ev("crash", |_, _, _| panic!("crash")));
        assert_eq!(
            seen_n(3),
            [
                cast_seen("move", 1),
                cast_seen("crash", 2),
                Seen::Terminated(ExitReason::Panic("crash".into()), 2)
            ]
        );
        let mut waited = Duration::ZERO;
        let second = loop {
            match running() {
                Some(pid) if pid != first => break pid,
                _ => {
                    assert!(waited < PATIENCE, "the machine was not restarted");
                    bream::sleep(Duration::from_millis(1));
                    waited += Duration::from_millis(1);
                }
            }
        };
        let m = StatemRef::<Probe>::from_pid(second);
        gen_statem::cast(&m, keep("again"));
        assert_eq!(seen(), cast_seen("again", 1));
    });
}

/// gen_statem(3) `enter_loop/6`: a process turns itself into a machine with
/// the state, data and actions `init` would have returned; the initial enter
/// call runs, the actions run, and its parent's exit ends it.
#[test]
fn enter_loop_turns_the_caller_into_a_machine() {
    watchdog(|| {
        let log = bream::self_pid();
        let (parent, _) = bream::spawn_monitor(move || {
            let parent = bream::self_pid();
            let machine = bream::spawn_link(move || {
                bream::trap_exit(true);
                let probe = Probe {
                    log,
                    on_enter: Some(std::sync::Arc::new(|_, _, _| {
                        gen_statem::Enter::keep_state()
                    })),
                    on_timeout: None,
                    count: 0,
                };
                let init = Init::ok(5, probe).state_timeout(Duration::ZERO, "first");
                let opts = gen_statem::EnterOpts {
                    parent: Some(parent),
                    ..Default::default()
                };
                gen_statem::enter_loop(init, opts)
            });
            bream::send(log, StatemRef::<Probe>::from_pid(machine));
            let _: () = bream::receive();
        });
        let m: StatemRef<Probe> = bream::receive_timeout(PATIENCE).unwrap();
        assert_eq!(
            seen_n(2),
            [Seen::Enter(5, 5), Seen::Event("state_timeout", "first", 5)]
        );
        gen_statem::cast(&m, keep("running"));
        assert_eq!(seen(), cast_seen("running", 5));
        bream::exit(m.pid().unwrap(), ExitReason::Other("not the parent".into()));
        assert_eq!(seen(), Seen::Event("info", "exit", 5));
        let machine = bream::monitor(m.pid().unwrap());
        bream::exit(parent, ExitReason::Shutdown);
        assert_eq!(seen(), Seen::Terminated(ExitReason::Shutdown, 5));
        assert_eq!(down(machine), ExitReason::Shutdown);
    });
}

// ── Start options ───────────────────────────────────────────────────────────

fn opt_args(init: fn(Init<Probe>) -> Init<Probe>) -> Args {
    Args {
        log: bream::self_pid(),
        state: 1,
        enter: false,
        init,
    }
}

/// Wait until `pid` hibernates (a hang turns into a failure after PATIENCE).
fn until_hibernating(pid: bream::Pid) {
    let mut waited = Duration::ZERO;
    while bream::process_info(pid).map(|i| i.status) != Some(bream::Status::Hibernating) {
        assert!(waited < PATIENCE, "the machine never hibernated");
        bream::sleep(Duration::from_millis(1));
        waited += Duration::from_millis(1);
    }
}

/// gen_statem(3) `start/4` option `{timeout, Time}`: an `init` that takes too
/// long is killed and the start returns a timeout; the name is free again.
#[test]
fn start_timeout_kills_a_slow_init() {
    watchdog(|| {
        let opts = gen_statem::StartOpts {
            name: Some("statem_slow_init"),
            timeout: Some(Duration::from_millis(20)),
            ..Default::default()
        };
        let slow = |init| {
            bream::sleep(PATIENCE);
            init
        };
        let started = gen_statem::start_opt::<Probe>(opt_args(slow), opts);
        assert_eq!(started.err(), Some(StartError::Timeout));
        assert_eq!(bream::whereis("statem_slow_init"), None);
    });
}

/// gen_statem(3) `start/4` option `{hibernate_after, HibernateAfterTimeout}`:
/// an idle machine hibernates by itself, and again after each event.
#[test]
fn hibernate_after_hibernates_an_idle_machine() {
    watchdog(|| {
        let opts = gen_statem::StartOpts {
            hibernate_after: Some(Duration::from_millis(5)),
            ..Default::default()
        };
        let m = gen_statem::start_opt::<Probe>(opt_args(|i| i), opts).unwrap();
        let pid = m.pid().unwrap();
        until_hibernating(pid);
        gen_statem::cast(&m, goto("wake", 3));
        assert_eq!(seen(), cast_seen("wake", 1));
        until_hibernating(pid);
        gen_statem::cast(&m, keep("again"));
        assert_eq!(seen(), cast_seen("again", 3));
    });
}

/// gen_statem(3) `start/4` option `{debug, [trace]}`: the machine is traced
/// from the start, as after `sys:trace(Pid, true)`.
#[test]
fn trace_option_starts_traced() {
    watchdog(|| {
        let opts = gen_statem::StartOpts {
            trace: true,
            ..Default::default()
        };
        let m = gen_statem::start_opt::<Probe>(opt_args(|i| i), opts).unwrap();
        assert!(bream_stdlib::sys::get_status(&m).unwrap().trace);
        let plain = gen_statem::start::<Probe>(opt_args(|i| i)).unwrap();
        assert!(!bream_stdlib::sys::get_status(&plain).unwrap().trace);
    });
}
