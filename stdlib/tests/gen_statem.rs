//! gen_statem, tested against OTP's documentation: the design principles'
//! "gen_statem Behaviour" (statem.md; its section named in each test) and the
//! reference gen_statem(3): callback modes, enter calls, event types,
//! postponing, inserted events, replies. The timeouts are in
//! gen_statem_timeouts.rs, starting and stopping in gen_statem_lifecycle.rs,
//! sys in gen_statem_sys.rs.
//!
//! Each test runs under a watchdog (a hang fails it), no test sleeps to wait
//! for something (waits are messages with a generous limit), and nothing
//! asserts on time.

mod gen_statem_probe;

use std::time::Duration;

use bream_stdlib::gen_statem::{
    self, CallbackMode, Enter, Event, GenStatem, Init, StateFunction, Transition,
};
use gen_statem_probe::*;

// ── Callback modes ──────────────────────────────────────────────────────────

/// A door with a handler per state (statem.md's state_functions style).
#[derive(Debug, PartialEq, Eq)]
enum Door {
    Closed,
    Open,
}

struct DoorData {
    log: bream::Pid,
}

impl GenStatem for DoorData {
    type Args = bream::Pid;
    type State = Door;
    type Call = ();
    type Reply = &'static str;
    type Cast = ();
    type Info = ();
    type Internal = ();
    type Timeout = ();
    type TimeoutName = ();

    fn init(log: bream::Pid) -> Init<Self> {
        Init::ok(Door::Closed, DoorData { log })
    }

    fn callback_mode() -> CallbackMode<Self> {
        CallbackMode::state_functions(|state| match state {
            Door::Closed => StateFunction::new(Self::closed).with_enter(Self::enter_closed),
            Door::Open => StateFunction::new(Self::open),
        })
    }
}

impl DoorData {
    fn closed(&mut self, event: Event<Self>) -> Transition<Self> {
        match event {
            Event::Call((), from) => Transition::keep_state().reply(from, "closed"),
            _ => Transition::next_state(Door::Open),
        }
    }
    fn open(&mut self, event: Event<Self>) -> Transition<Self> {
        match event {
            Event::Call((), from) => Transition::keep_state().reply(from, "open"),
            _ => Transition::next_state(Door::Closed),
        }
    }
    fn enter_closed(&mut self, old: &Door) -> Enter<Self> {
        bream::send(self.log, format!("closed (from {old:?})"));
        Enter::keep_state()
    }
}

/// statem.md "Callback Modes" (state_functions): each state's events go to that
/// state's own function, and only a state with an enter function gets enter calls.
#[test]
fn state_functions_mode_sends_each_state_to_its_own_function() {
    watchdog(|| {
        let door = gen_statem::start::<DoorData>(bream::self_pid()).unwrap();
        let ask = || gen_statem::call(&door, (), PATIENCE).unwrap();
        let entered = || bream::receive_timeout::<String>(PATIENCE).unwrap();
        assert_eq!(entered(), "closed (from Closed)");
        assert_eq!(ask(), "closed");
        gen_statem::cast(&door, ());
        assert_eq!(ask(), "open");
        gen_statem::cast(&door, ());
        assert_eq!(ask(), "closed");
        assert_eq!(entered(), "closed (from Open)");
        assert_eq!(bream::receive_timeout::<String>(Duration::ZERO), None);
    });
}

/// A machine whose state is a plain `String` (any `Eq` type).
struct Words;

impl GenStatem for Words {
    type Args = ();
    type State = String;
    type Call = ();
    type Reply = String;
    type Cast = &'static str;
    type Info = ();
    type Internal = ();
    type Timeout = ();
    type TimeoutName = ();

    fn init((): ()) -> Init<Self> {
        Init::ok(String::new(), Words)
    }

    fn callback_mode() -> CallbackMode<Self> {
        CallbackMode::handle_event_function(|_, state: &String, event| match event {
            Event::Cast(word) => Transition::next_state(format!("{state}{word}")),
            Event::Call((), from) => Transition::keep_state().reply(from, state.clone()),
            _ => Transition::keep_state(),
        })
    }
}

/// statem.md "Callback Modes" (handle_event_function): one function takes every
/// event, and the state can be any term (here a `String`).
#[test]
fn handle_event_function_mode_takes_any_eq_state() {
    watchdog(|| {
        let words = gen_statem::start::<Words>(()).unwrap();
        for w in ["ab", "c", "", "d"] {
            gen_statem::cast(&words, w);
        }
        assert_eq!(gen_statem::call(&words, (), PATIENCE).unwrap(), "abcd");
    });
}

// ── State enter calls ───────────────────────────────────────────────────────

/// statem.md "State Enter Calls": the enter call runs for the initial state
/// (old state = the state itself) and on every state *change*, not on
/// `keep_state` nor on `next_state` to the same state.
#[test]
fn enter_call_runs_for_the_initial_state_and_each_state_change() {
    watchdog(|| {
        let m = probe(1, true);
        assert_eq!(seen(), Seen::Enter(1, 1));
        gen_statem::cast(&m, keep("keep"));
        gen_statem::cast(&m, goto("same", 1));
        gen_statem::cast(&m, goto("change", 2));
        sync_call(&m, |_, _, _| Transition::keep_state());
        assert_eq!(
            seen_n(4),
            [
                cast_seen("keep", 1),
                cast_seen("same", 1),
                cast_seen("change", 1),
                Seen::Enter(1, 2),
            ]
        );
        nothing_seen();
    });
}

/// gen_statem(3) `repeat_state`: "the gen_statem repeats the state enter call
/// as if this state was entered again"; the state does not change.
#[test]
fn repeat_state_reruns_the_enter_call() {
    watchdog(|| {
        let m = probe(3, true);
        assert_eq!(seen(), Seen::Enter(3, 3));
        gen_statem::cast(&m, ev("again", |_, _, _| Transition::repeat_state()));
        assert_eq!(seen_n(2), [cast_seen("again", 3), Seen::Enter(3, 3)]);
        nothing_seen();
    });
}

/// gen_statem(3) enter calls return `repeat_state` to run again, and may use
/// the enter actions (here a zero state timeout, which belongs to the state
/// just entered).
#[test]
fn enter_call_may_repeat_itself_and_set_timeouts() {
    watchdog(|| {
        let m = probe(1, true);
        assert_eq!(seen(), Seen::Enter(1, 1));
        sync_call(&m, |probe, _, _| {
            probe.on_enter = Some(std::sync::Arc::new(|probe, _, state| {
                if *state == 2 && probe.count == 0 {
                    probe.count += 1;
                    Enter::repeat_state()
                } else {
                    Enter::keep_state().state_timeout(Duration::ZERO, "entered")
                }
            }));
            Transition::keep_state()
        });
        gen_statem::cast(&m, goto("go", 2));
        assert_eq!(
            seen_n(4),
            [
                cast_seen("go", 1),
                Seen::Enter(1, 2),
                Seen::Enter(2, 2),
                Seen::Event("state_timeout", "entered", 2),
            ]
        );
        nothing_seen();
    });
}

// ── Event types ─────────────────────────────────────────────────────────────

/// statem.md "Event Types" and gen_statem(3) `event_type()`: calls (answered
/// with a reply), casts, infos (plain messages) and internal events (inserted
/// by the machine) all reach the state callback, each with its type.
#[test]
fn call_cast_info_and_internal_events_reach_the_callback() {
    watchdog(|| {
        let m = probe(1, false);
        let pid = m.pid().unwrap();
        let answered = gen_statem::call(
            &m,
            ev("call", |_, _, e| match e {
                Event::Call(_, from) => Transition::keep_state().reply(from, "answer"),
                _ => unreachable!(),
            }),
            PATIENCE,
        );
        assert_eq!(answered, Ok("answer"));
        gen_statem::cast(&m, keep("cast"));
        bream::send(pid, keep("info"));
        gen_statem::cast(
            &m,
            ev("insert", |_, _, _| {
                Transition::keep_state().next_event(Event::Internal(keep("internal")))
            }),
        );
        assert_eq!(
            seen_n(5),
            [
                Seen::Event("call", "call", 1),
                cast_seen("cast", 1),
                Seen::Event("info", "info", 1),
                cast_seen("insert", 1),
                Seen::Event("internal", "internal", 1),
            ]
        );
    });
}

// ── Postponing and inserting events ─────────────────────────────────────────

/// A cast postponed in state 1 and handled in any other.
fn postponed_in_1(label: &'static str) -> Ev {
    ev(label, |_, state, event| {
        if *state == 1 {
            Transition::keep_state().postpone(event)
        } else {
            Transition::keep_state()
        }
    })
}

/// statem.md "Postponing Events": a postponed event is retried after the next
/// state change, the postponed ones in the order they arrived.
#[test]
fn postponed_events_are_retried_after_a_state_change_oldest_first() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(&m, postponed_in_1("p1"));
        gen_statem::cast(&m, postponed_in_1("p2"));
        gen_statem::cast(&m, keep("k"));
        gen_statem::cast(&m, goto("go", 2));
        sync_call(&m, |_, _, _| Transition::keep_state());
        assert_eq!(
            seen_n(6),
            [
                cast_seen("p1", 1),
                cast_seen("p2", 1),
                cast_seen("k", 1),
                cast_seen("go", 1),
                cast_seen("p1", 2),
                cast_seen("p2", 2),
            ]
        );
        nothing_seen();
    });
}

/// gen_statem(3) `postpone`: "retried after a state change (NextState =/=
/// State)": `keep_state`, `next_state` to the same state and `repeat_state`
/// do not retry it.
#[test]
fn postponed_events_wait_while_the_state_does_not_change() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(&m, postponed_in_1("p"));
        gen_statem::cast(&m, keep("keep"));
        gen_statem::cast(&m, goto("same", 1));
        gen_statem::cast(&m, ev("repeat", |_, _, _| Transition::repeat_state()));
        gen_statem::cast(&m, goto("go", 2));
        sync_call(&m, |_, _, _| Transition::keep_state());
        let log = seen_n(6);
        assert_eq!(log[4], cast_seen("go", 1));
        assert_eq!(
            log[5],
            cast_seen("p", 2),
            "retried only after the change: {log:?}"
        );
        nothing_seen();
    });
}

/// gen_statem(3) transition sequence: an event postponed in a transition that
/// changes the state is retried at once, after the older postponed ones.
#[test]
fn event_postponed_in_a_state_change_is_retried_at_once() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(&m, postponed_in_1("old"));
        gen_statem::cast(
            &m,
            ev("move", |_, state, event| {
                if *state == 1 {
                    Transition::next_state(2).postpone(event)
                } else {
                    Transition::keep_state()
                }
            }),
        );
        sync_call(&m, |_, _, _| Transition::keep_state());
        assert_eq!(
            seen_n(4),
            [
                cast_seen("old", 1),
                cast_seen("move", 1),
                cast_seen("old", 2),
                cast_seen("move", 2),
            ]
        );
        nothing_seen();
    });
}

/// statem.md "Inserted Events" and gen_statem(3) `next_event`: inserted events
/// are handled next, in the order they were inserted, before the messages
/// already in the mailbox, and before the postponed events a state change
/// retries.
#[test]
fn next_events_come_first_in_order() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(&m, postponed_in_1("postponed"));
        gen_statem::cast(&m, blocker("block"));
        gen_statem::cast(&m, keep("queued")); // in the mailbox meanwhile
        gen_statem::cast(
            &m,
            ev("insert", |_, _, _| {
                Transition::next_state(2)
                    .next_event(Event::Internal(keep("a")))
                    .next_event(Event::Internal(keep("b")))
            }),
        );
        bream::send(m.pid().unwrap(), Go);
        sync_call(&m, |_, _, _| Transition::keep_state());
        assert_eq!(
            seen_n(7),
            [
                cast_seen("postponed", 1),
                cast_seen("block", 1),
                cast_seen("queued", 1),
                cast_seen("insert", 1),
                Seen::Event("internal", "a", 2),
                Seen::Event("internal", "b", 2),
                cast_seen("postponed", 2),
            ]
        );
        nothing_seen();
    });
}

// ── Replies ─────────────────────────────────────────────────────────────────

/// gen_statem(3) `reply_action()`: a reply is sent when the action runs, not
/// when the machine next waits: here the machine is still busy with the event
/// it inserted when the caller gets its answer.
#[test]
fn reply_action_is_sent_at_once() {
    watchdog(|| {
        let m = probe(1, false);
        let early = ev("ask", |_, _, event| match event {
            Event::Call(_, from) => Transition::keep_state()
                .reply(from, "early")
                .next_event(Event::Internal(blocker("busy"))),
            _ => unreachable!(),
        });
        assert_eq!(gen_statem::call(&m, early, PATIENCE), Ok("early"));
        bream::send(m.pid().unwrap(), Go);
        sync_call(&m, |_, _, _| Transition::keep_state());
        assert_eq!(
            seen_n(2),
            [
                Seen::Event("call", "ask", 1),
                Seen::Event("internal", "busy", 1)
            ]
        );
    });
}

/// gen_statem(3) `reply/2`: a machine may keep the `From` and answer later,
/// from another process.
#[test]
fn reply_later_from_another_process() {
    watchdog(|| {
        let m = probe(1, false);
        let later = ev("later", |_, _, event| match event {
            Event::Call(_, from) => {
                bream::spawn(move || gen_statem::reply(&from, "from elsewhere"));
                Transition::keep_state()
            }
            _ => unreachable!(),
        });
        assert_eq!(gen_statem::call(&m, later, PATIENCE), Ok("from elsewhere"));
    });
}
