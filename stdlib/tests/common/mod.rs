//! Helpers shared by the supervisor tests: a worker that reports its life to a
//! log process, so a test can see which children start and stop, in which order.
#![allow(dead_code)]

use std::time::Duration;

use bream::{receive, Down, Exit, ExitReason, Pid};
use bream_stdlib::supervisor::{self, ChildSpec, ChildState, SupervisorRef};
use bream_stdlib::StartError;

/// Long enough that only a bug hits it; never a timing assertion.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// What a tracked worker tells its log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Started(&'static str, Pid),
    /// Its supervisor (its parent) told it to exit with this reason.
    Stopped(&'static str, ExitReason),
}

/// Make a tracked worker exit with this reason.
pub struct Crash(pub ExitReason);

/// How a tracked worker answers its parent's exit signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnShutdown {
    /// Report and exit with the parent's reason at once.
    Obey,
    /// Report, then sleep this long before exiting (a slow cleanup).
    Slow(Duration),
    /// Report and keep running (a child that ignores Shutdown).
    Ignore,
}

/// A start function for a tracked worker: traps exits, logs Started and
/// Stopped to `log`, exits on [`Crash`].
pub fn tracked_start(
    id: &'static str,
    log: Pid,
    on_shutdown: OnShutdown,
) -> impl Fn() -> Result<Pid, StartError> + Send + Sync + 'static {
    move || {
        let parent = bream::self_pid();
        // Trapping from the start: a Shutdown sent right after the spawn must
        // find it trapping.
        let opts = bream::SpawnOpts {
            link: true,
            trap_exit: true,
            ..Default::default()
        };
        let (pid, _) = bream::spawn_opt(opts, move || loop {
            receive! {
                e: Exit if e.from == parent => {
                    bream::send(log, Event::Stopped(id, e.reason.clone()));
                    match on_shutdown {
                        OnShutdown::Obey => bream::exit_self(e.reason),
                        OnShutdown::Slow(d) => {
                            bream::sleep(d);
                            bream::exit_self(e.reason)
                        }
                        OnShutdown::Ignore => {}
                    }
                },
                c: Crash => bream::exit_self(c.0),
            };
        })
        .expect("spawn");
        bream::send(log, Event::Started(id, pid));
        Ok(pid)
    }
}

/// A tracked worker spec that obeys shutdowns.
pub fn tracked(id: &'static str, log: Pid) -> ChildSpec {
    ChildSpec::worker(id, tracked_start(id, log, OnShutdown::Obey))
}

/// The next event in the caller's mailbox.
pub fn event() -> Event {
    bream::receive_timeout::<Event>(PATIENCE).expect("an event within PATIENCE")
}

/// The next events, `n` of them.
pub fn events(n: usize) -> Vec<Event> {
    (0..n).map(|_| event()).collect()
}

/// Expect `Started(id, _)` next; its pid.
pub fn started(id: &'static str) -> Pid {
    match event() {
        Event::Started(got, pid) if got == id => pid,
        other => panic!("expected {id} to start, got {other:?}"),
    }
}

/// Expect `Stopped(id, Shutdown)` next.
pub fn stopped(id: &'static str) {
    assert_eq!(event(), Event::Stopped(id, ExitReason::Shutdown));
}

/// Nothing more in the log, once the supervisor has handled everything sent
/// to it before this call (a call to it is answered after them).
pub fn no_more_events(sup: &SupervisorRef) {
    supervisor::count_children(sup).unwrap();
    assert_eq!(bream::receive_timeout::<Event>(Duration::ZERO), None);
}

/// Make a tracked worker crash.
pub fn crash(pid: Pid) {
    bream::send(pid, Crash(ExitReason::Other("crash".into())));
}

/// The supervisor's children as (id, state).
pub fn children(sup: &SupervisorRef) -> Vec<(String, ChildState)> {
    supervisor::which_children(sup)
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.state))
        .collect()
}

/// Wait for `pid` to exit, which it must be monitored for with `monitor`.
pub fn down(monitor: bream::MonitorRef) -> ExitReason {
    receive! {
        d: Down if d.monitor == monitor => d.reason,
        after PATIENCE => panic!("no Down within PATIENCE"),
    }
}

/// Wait until `condition` holds, checking every millisecond; panics after
/// PATIENCE (a hang turned into a failure, not a timing assertion).
pub fn wait_until(mut condition: impl FnMut() -> bool) {
    let mut waited = Duration::ZERO;
    while !condition() {
        assert!(waited < PATIENCE, "condition not reached within PATIENCE");
        bream::sleep(Duration::from_millis(1));
        waited += Duration::from_millis(1);
    }
}
