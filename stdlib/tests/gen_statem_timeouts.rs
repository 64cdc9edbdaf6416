//! gen_statem's three kinds of timeout, tested against statem.md ("Event
//! Time-Out", "State Time-Out", "Generic Time-Outs") and gen_statem(3)
//! (`event_timeout()`, `state_timeout()`, `generic_timeout()`,
//! `timeout_cancel_action()`, `timeout_update_action()`, and the transition
//! sequence's rule for zero-time timeouts).
//!
//! "Did not fire" is shown without sleeping: after cancelling a timeout of
//! T ms, the test starts a *marker* timeout of more than T ms; timers run out
//! in order, so if the cancelled one had fired it would be seen before the
//! marker. A timeout that must not fire before the test's next events are
//! handled gets 200 ms or more, so a loaded CI machine does not reorder them.
//! Each test runs under a watchdog.

mod gen_statem_probe;

use std::time::Duration;

use bream_stdlib::gen_statem::{self, Event, StatemRef, Transition};
use gen_statem_probe::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A cast whose transition is `keep_state` plus what `f` adds.
fn with(
    label: &'static str,
    f: impl Fn(Transition<Probe>) -> Transition<Probe> + Send + Sync + 'static,
) -> Ev {
    ev(label, move |_, _, _| f(Transition::keep_state()))
}

/// Start the marker: a generic timeout that runs out after `after`.
fn marker(m: &StatemRef<Probe>, after: Duration) {
    gen_statem::cast(
        m,
        with("marker", move |t| t.timeout("marker", after, "marker")),
    );
}

fn timeout_seen(kind: &'static str, content: &'static str, state: u32) -> Seen {
    Seen::Event(kind, content, state)
}

fn generic(content: &'static str, state: u32) -> Seen {
    timeout_seen("{timeout,Name}", content, state)
}

// ── Event timeout ───────────────────────────────────────────────────────────

/// statem.md "Event Time-Out": if no event arrives within the time, the
/// machine gets a `timeout` event with the given content.
#[test]
fn event_timeout_fires_when_no_event_arrives() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(&m, with("arm", |t| t.event_timeout(ms(5), "idle")));
        assert_eq!(
            seen_n(2),
            [cast_seen("arm", 1), timeout_seen("timeout", "idle", 1)]
        );
    });
}

/// gen_statem(3) `event_timeout()`: "any event cancels the timer", whether it
/// arrives in the mailbox or is inserted.
#[test]
fn event_timeout_is_cancelled_by_any_event() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(&m, with("arm", |t| t.event_timeout(ms(200), "idle")));
        gen_statem::cast(&m, keep("poke"));
        gen_statem::cast(
            &m,
            with("arm+insert", |t| {
                t.event_timeout(ms(100), "idle2")
                    .next_event(Event::Internal(keep("inserted")))
            }),
        );
        marker(&m, ms(400));
        assert_eq!(
            seen_n(5),
            [
                cast_seen("arm", 1),
                cast_seen("poke", 1),
                cast_seen("arm+insert", 1),
                Seen::Event("internal", "inserted", 1),
                cast_seen("marker", 1),
            ]
        );
        assert_eq!(
            seen(),
            generic("marker", 1),
            "a cancelled event timeout fired"
        );
    });
}

/// gen_statem(3) actions: of two event timeouts in one transition the last
/// wins; `{timeout, cancel}` cancels; `{timeout, update, C}` with no timer
/// running inserts the event at once.
#[test]
fn event_timeout_restart_cancel_and_update() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(
            &m,
            with("restart", |t| {
                t.event_timeout(Duration::from_secs(3600), "never")
                    .event_timeout(ms(5), "last")
            }),
        );
        assert_eq!(
            seen_n(2),
            [cast_seen("restart", 1), timeout_seen("timeout", "last", 1)]
        );
        gen_statem::cast(
            &m,
            with("cancel", |t| {
                t.event_timeout(ms(50), "x").cancel_event_timeout()
            }),
        );
        marker(&m, ms(200));
        assert_eq!(
            seen_n(3),
            [
                cast_seen("cancel", 1),
                cast_seen("marker", 1),
                generic("marker", 1)
            ]
        );
        gen_statem::cast(&m, with("update", |t| t.update_event_timeout("now")));
        assert_eq!(
            seen_n(2),
            [cast_seen("update", 1), timeout_seen("timeout", "now", 1)]
        );
    });
}

// ── State timeout ───────────────────────────────────────────────────────────

/// statem.md "State Time-Out": the timeout fires if the state has not changed
/// in time; `keep_state` and `next_state` to the same state do not cancel it,
/// and other events do not either.
#[test]
fn state_timeout_fires_unless_the_state_changes() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(&m, with("arm", |t| t.state_timeout(ms(200), "st")));
        gen_statem::cast(&m, keep("keep"));
        gen_statem::cast(&m, goto("same", 1));
        assert_eq!(
            seen_n(4),
            [
                cast_seen("arm", 1),
                cast_seen("keep", 1),
                cast_seen("same", 1),
                timeout_seen("state_timeout", "st", 1),
            ]
        );
    });
}

/// gen_statem(3) `state_timeout()`: "a state change cancels the timer".
#[test]
fn state_timeout_is_cancelled_by_a_state_change() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(&m, with("arm", |t| t.state_timeout(ms(250), "st")));
        gen_statem::cast(&m, goto("change", 2));
        marker(&m, ms(500));
        assert_eq!(
            seen_n(4),
            [
                cast_seen("arm", 1),
                cast_seen("change", 1),
                cast_seen("marker", 2),
                generic("marker", 2),
            ]
        );
    });
}

/// gen_statem(3) transition sequence: "a state_timeout() applies to the state
/// the state machine enters": set in a transition that changes the state, it
/// is not cancelled by that change.
#[test]
fn state_timeout_set_on_a_state_change_belongs_to_the_new_state() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(
            &m,
            ev("go", |_, _, _| {
                Transition::next_state(2).state_timeout(ms(10), "in 2")
            }),
        );
        assert_eq!(
            seen_n(2),
            [cast_seen("go", 1), timeout_seen("state_timeout", "in 2", 2)]
        );
    });
}

/// gen_statem(3) timeout actions for the state timeout: restarting replaces
/// the running timer, `cancel` stops it, `update` changes its content without
/// restarting it (or, with none running, inserts the event at once).
#[test]
fn state_timeout_restart_cancel_and_update() {
    watchdog(|| {
        let m = probe(1, false);
        // Restart: the first timer (300 ms) must never fire.
        gen_statem::cast(&m, with("first", |t| t.state_timeout(ms(300), "old")));
        gen_statem::cast(&m, with("restart", |t| t.state_timeout(ms(10), "new")));
        marker(&m, ms(600));
        assert_eq!(
            seen_n(5),
            [
                cast_seen("first", 1),
                cast_seen("restart", 1),
                cast_seen("marker", 1),
                timeout_seen("state_timeout", "new", 1),
                generic("marker", 1),
            ]
        );
        // Cancel.
        gen_statem::cast(&m, with("arm", |t| t.state_timeout(ms(250), "x")));
        gen_statem::cast(&m, with("cancel", |t| t.cancel_state_timeout()));
        marker(&m, ms(500));
        assert_eq!(
            seen_n(4),
            [
                cast_seen("arm", 1),
                cast_seen("cancel", 1),
                cast_seen("marker", 1),
                generic("marker", 1)
            ]
        );
        // Update a running timer: it fires once, with the new content.
        gen_statem::cast(&m, with("arm", |t| t.state_timeout(ms(250), "before")));
        gen_statem::cast(&m, with("update", |t| t.update_state_timeout("after")));
        marker(&m, ms(500));
        assert_eq!(
            seen_n(5),
            [
                cast_seen("arm", 1),
                cast_seen("update", 1),
                cast_seen("marker", 1),
                timeout_seen("state_timeout", "after", 1),
                generic("marker", 1),
            ]
        );
        // Update with none running: the event is inserted at once.
        gen_statem::cast(&m, with("update", |t| t.update_state_timeout("now")));
        assert_eq!(
            seen_n(2),
            [
                cast_seen("update", 1),
                timeout_seen("state_timeout", "now", 1)
            ]
        );
    });
}

// ── Generic timeouts ────────────────────────────────────────────────────────

/// statem.md "Generic Time-Outs": any number run at once, one per name; neither
/// events nor state changes cancel them.
#[test]
fn generic_timeouts_run_side_by_side_and_survive_state_changes() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(
            &m,
            with("arm", |t| {
                t.timeout("a", ms(300), "a").timeout("b", ms(250), "b")
            }),
        );
        gen_statem::cast(&m, goto("change", 2));
        gen_statem::cast(&m, keep("event"));
        let mut log = seen_n(5);
        assert_eq!(
            log[..3],
            [
                cast_seen("arm", 1),
                cast_seen("change", 1),
                cast_seen("event", 2)
            ]
        );
        log.drain(..3);
        log.sort_by_key(|s| format!("{s:?}"));
        assert_eq!(log, [generic("a", 2), generic("b", 2)]);
    });
}

/// gen_statem(3) timeout actions for generic timeouts: restart, cancel and
/// update act on the named timer only.
#[test]
fn generic_timeout_restart_cancel_and_update() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(&m, with("first", |t| t.timeout("g", ms(300), "old")));
        gen_statem::cast(&m, with("restart", |t| t.timeout("g", ms(10), "new")));
        marker(&m, ms(600));
        assert_eq!(
            seen_n(5),
            [
                cast_seen("first", 1),
                cast_seen("restart", 1),
                cast_seen("marker", 1),
                generic("new", 1),
                generic("marker", 1),
            ]
        );
        gen_statem::cast(
            &m,
            with("two", |t| {
                t.timeout("g", ms(250), "g").timeout("h", ms(10), "h")
            }),
        );
        gen_statem::cast(&m, with("cancel g", |t| t.cancel_timeout("g")));
        marker(&m, ms(500));
        assert_eq!(
            seen_n(5),
            [
                cast_seen("two", 1),
                cast_seen("cancel g", 1),
                cast_seen("marker", 1),
                generic("h", 1),
                generic("marker", 1),
            ]
        );
        gen_statem::cast(&m, with("arm", |t| t.timeout("g", ms(250), "before")));
        gen_statem::cast(&m, with("update", |t| t.update_timeout("g", "after")));
        assert_eq!(
            seen_n(3),
            [
                cast_seen("arm", 1),
                cast_seen("update", 1),
                generic("after", 1)
            ]
        );
        gen_statem::cast(&m, with("update idle", |t| t.update_timeout("z", "now")));
        assert_eq!(seen_n(2), [cast_seen("update idle", 1), generic("now", 1)]);
    });
}

// ── Zero-time timeouts ──────────────────────────────────────────────────────

/// gen_statem(3) transition sequence: "time-outs with zero time are guaranteed
/// to be delivered to the state machine before any external not yet received
/// event ... enqueued as the newest received event; that is after already
/// queued events such as inserted and postponed events", and "a zero time
/// event time-out is only generated if the event queue is empty".
#[test]
fn zero_timeouts_come_after_queued_events_and_before_the_mailbox() {
    watchdog(|| {
        let m = probe(1, false);
        // While the machine is blocked, "zero" and "external" wait in its
        // mailbox; "zero"'s transition then queues events and zero timeouts.
        gen_statem::cast(&m, blocker("block again"));
        gen_statem::cast(
            &m,
            with("zero", |t| {
                t.event_timeout(Duration::ZERO, "event: dropped, events are queued")
                    .state_timeout(Duration::ZERO, "state")
                    .timeout("g", Duration::ZERO, "generic")
                    .next_event(Event::Internal(keep("inserted 1")))
                    .next_event(Event::Internal(keep("inserted 2")))
            }),
        );
        gen_statem::cast(&m, keep("external"));
        bream::send(m.pid().unwrap(), Go);
        gen_statem::cast(
            &m,
            with("lone zero", |t| t.event_timeout(Duration::ZERO, "event")),
        );
        sync_call(&m, |_, _, _| Transition::keep_state());
        assert_eq!(
            seen_n(8),
            [
                cast_seen("block again", 1),
                cast_seen("zero", 1),
                Seen::Event("internal", "inserted 1", 1),
                Seen::Event("internal", "inserted 2", 1),
                timeout_seen("state_timeout", "state", 1),
                generic("generic", 1),
                cast_seen("external", 1),
                cast_seen("lone zero", 1),
            ]
        );
        // With nothing queued, a zero event timeout comes before the next
        // message (the sync call, which the probe does not report).
        assert_eq!(seen(), timeout_seen("timeout", "event", 1));
        nothing_seen();
    });
}

/// gen_statem(3) `timeout()`: "if the value is infinity, no timer is started";
/// setting it replaces (so cancels) a running timer of the same kind.
#[test]
fn infinity_starts_no_timer_and_replaces_the_running_one() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(
            &m,
            with("arm", |t| {
                t.state_timeout(ms(250), "state")
                    .timeout("g", ms(250), "generic")
            }),
        );
        gen_statem::cast(
            &m,
            with("infinity", |t| {
                t.state_timeout(gen_statem::INFINITY, "never")
                    .timeout("g", gen_statem::INFINITY, "never")
                    .event_timeout(gen_statem::INFINITY, "never")
            }),
        );
        marker(&m, ms(500));
        assert_eq!(
            seen_n(4),
            [
                cast_seen("arm", 1),
                cast_seen("infinity", 1),
                cast_seen("marker", 1),
                generic("marker", 1),
            ]
        );
    });
}

/// gen_statem(3) timeout option `{abs, true}`: the time is a deadline; one
/// already past queues the event at once.
#[test]
fn absolute_timeouts_run_out_at_their_deadline() {
    watchdog(|| {
        let m = probe(1, false);
        gen_statem::cast(
            &m,
            with("at", |t| {
                let now = std::time::Instant::now();
                t.timeout_at("later", now + ms(20), "later")
                    .state_timeout_at(now, "past")
            }),
        );
        assert_eq!(
            seen_n(3),
            [
                cast_seen("at", 1),
                timeout_seen("state_timeout", "past", 1),
                generic("later", 1),
            ]
        );
    });
}
