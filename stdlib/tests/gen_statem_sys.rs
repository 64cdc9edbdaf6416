//! gen_statem under sys, tested against sys(3) (`get_state/1`,
//! `replace_state/2`, `suspend/1`, `resume/1`, `get_status/1`,
//! `statistics/2`) and gen_statem(3)'s note that `sys:get_state` returns
//! `{State, Data}`. Each test runs under a watchdog.

mod gen_statem_probe;

use std::time::Duration;

use bream::{Down, ExitReason};
use bream_stdlib::gen_statem::{self, CallbackMode, Event, GenStatem, Init, StateData, Transition};
use bream_stdlib::sys;
use gen_statem_probe::*;

/// A machine whose state and data are `Clone`, for `sys::get_state`.
#[derive(Clone, Debug, PartialEq)]
struct Tally(u32);

impl GenStatem for Tally {
    type Args = ();
    type State = String;
    type Call = ();
    type Reply = u32;
    type Cast = &'static str;
    type Info = ();
    type Internal = ();
    type Timeout = ();
    type TimeoutName = ();

    fn init((): ()) -> Init<Self> {
        Init::ok("idle".to_owned(), Tally(0))
    }

    fn callback_mode() -> CallbackMode<Self> {
        CallbackMode::handle_event_function(|tally: &mut Tally, _state, event| match event {
            Event::Cast(to) => {
                tally.0 += 1;
                Transition::next_state(to.to_owned())
            }
            Event::Call((), from) => Transition::keep_state().reply(from, tally.0),
            _ => Transition::keep_state(),
        })
    }
}

/// sys(3) `get_state/1` ("for a gen_statem process, returns the tuple
/// {CurrentState, CurrentData}"): the state and the data, together.
#[test]
fn get_state_returns_the_state_and_the_data() {
    watchdog(|| {
        let m = gen_statem::start::<Tally>(()).unwrap();
        gen_statem::cast(&m, "busy");
        gen_statem::cast(&m, "done");
        let StateData { state, data } = sys::get_state(&m).unwrap();
        assert_eq!((state.as_str(), data), ("done", Tally(2)));
    });
}

/// sys(3) `replace_state/2`: the machine goes on in the replaced state, and
/// (gen_statem(3)) that is no state change: no enter call runs.
#[test]
fn replace_state_changes_state_and_data_without_a_transition() {
    watchdog(|| {
        let m = probe(1, true);
        assert_eq!(seen(), Seen::Enter(1, 1));
        let old = sys::replace_state(&m, |now: &mut StateData<Probe>| {
            now.data.count = 41;
            std::mem::replace(&mut now.state, 9)
        });
        assert_eq!(old, Ok(1));
        gen_statem::cast(&m, keep("after"));
        assert_eq!(seen(), cast_seen("after", 9));
        assert_eq!(sys::with_state(&m, |now| now.data.count), Ok(41));
        nothing_seen();
    });
}

/// sys(3) `suspend/1` and `resume/1`: a suspended machine handles no event
/// (they wait in its mailbox) and answers sys; resumed, it handles them in
/// order.
#[test]
fn suspend_holds_events_until_resume() {
    watchdog(|| {
        let m = probe(1, false);
        sys::suspend(&m).unwrap();
        gen_statem::cast(&m, keep("held 1"));
        gen_statem::cast(&m, keep("held 2"));
        let status = sys::get_status(&m).unwrap();
        assert!(status.suspended);
        // Answered while suspended, after the casts: they were not handled.
        nothing_seen();
        sys::resume(&m).unwrap();
        assert_eq!(seen_n(2), [cast_seen("held 1", 1), cast_seen("held 2", 1)]);
        assert!(!sys::get_status(&m).unwrap().suspended);
    });
}

/// sys(3) `get_status/1`: the behaviour, the state (through `format_status`),
/// and what gen_statem holds: postponed events and running timeouts.
#[test]
fn get_status_shows_state_postponed_events_and_timeouts() {
    watchdog(|| {
        let m = probe(3, false);
        gen_statem::cast(
            &m,
            ev("hold", |_, _, event| {
                Transition::keep_state().postpone(event).timeout(
                    "far",
                    Duration::from_secs(3600),
                    "far",
                )
            }),
        );
        let status = sys::get_status(&m).unwrap();
        assert_eq!(status.behaviour, "gen_statem");
        assert_eq!(status.pid, m.pid().unwrap());
        assert!(
            status.state.starts_with("state 3, data "),
            "{}",
            status.state
        );
        assert!(
            status
                .state
                .ends_with("0 queued, 1 postponed, 1 timeouts running"),
            "{}",
            status.state
        );
    });
}

/// sys(3) `statistics/2`: events taken and replies sent are counted.
#[test]
fn statistics_count_events_in_and_replies_out() {
    watchdog(|| {
        let m = probe(1, false);
        sys::statistics(&m, true).unwrap();
        gen_statem::cast(&m, keep("a"));
        gen_statem::cast(&m, keep("b"));
        sync_call(&m, |_, _, _| Transition::keep_state());
        let stats = sys::get_statistics(&m).unwrap().expect("statistics are on");
        assert_eq!((stats.messages_in, stats.messages_out), (3, 1));
        sys::trace(&m, true).unwrap();
        gen_statem::cast(&m, goto("traced", 2));
        sync_call(&m, |_, _, _| Transition::keep_state());
        assert_eq!(seen_n(3)[2], cast_seen("traced", 1));
    });
}

/// sys(3) with a suspended process and its parent: the parent's exit signal
/// still ends a suspended machine that traps exits, through `terminate`.
#[test]
fn parent_exit_ends_a_suspended_machine() {
    watchdog(|| {
        let log = bream::self_pid();
        let (parent, parent_down) = bream::spawn_monitor(move || {
            let args = Args {
                log,
                state: 4,
                enter: false,
                init: |init| {
                    bream::trap_exit(true);
                    init
                },
            };
            let m = gen_statem::start_link::<Probe>(args).unwrap();
            sys::suspend(&m).unwrap();
            bream::send(log, m);
            let _: () = bream::receive();
        });
        let m: gen_statem::StatemRef<Probe> = bream::receive_timeout(PATIENCE).unwrap();
        let machine = bream::monitor(m.pid().unwrap());
        bream::exit(parent, ExitReason::Shutdown);
        assert_eq!(seen(), Seen::Terminated(ExitReason::Shutdown, 4));
        for monitor in [parent_down, machine] {
            bream::receive! {
                d: Down if d.monitor == monitor => assert_eq!(d.reason, ExitReason::Shutdown),
                after PATIENCE => panic!("no Down within PATIENCE"),
            }
        }
    });
}

/// statem.md "Hibernation": "if it is a system event it goes right back into
/// hibernation" — a sys request wakes a hibernating machine, is answered, and
/// the machine hibernates again.
#[test]
fn a_system_message_does_not_keep_a_hibernating_machine_awake() {
    watchdog(|| {
        let m = probe(1, false);
        let pid = m.pid().unwrap();
        let hibernating = || {
            let mut waited = Duration::ZERO;
            while bream::process_info(pid).map(|i| i.status) != Some(bream::Status::Hibernating) {
                assert!(waited < PATIENCE, "the machine is not hibernating");
                bream::sleep(Duration::from_millis(1));
                waited += Duration::from_millis(1);
            }
        };
        gen_statem::cast(
            &m,
            ev("sleep", |_, _, _| Transition::keep_state().hibernate()),
        );
        hibernating();
        assert_eq!(sys::with_state(&m, |now| now.state), Ok(1));
        hibernating();
        gen_statem::cast(&m, keep("wake"));
        assert_eq!(seen_n(2), [cast_seen("sleep", 1), cast_seen("wake", 1)]);
    });
}
