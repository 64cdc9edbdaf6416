//! The gen_server loop and start options, tested against OTP's documentation:
//! gen_server(3) — the loop takes every message ("Description": a message that
//! is not a call, a cast or a system message goes to `handle_info/2`; bream's
//! typed server cannot take a message of a type it does not name, so it logs
//! and drops it instead of keeping it queued), `start_link/4`'s `{timeout, T}`
//! and `{hibernate_after, T}` options, `enter_loop/3,4,5`; and erlang(3)
//! `exit/2` / OTP Design Principles "Supervisor Behaviour", "Restart": an exit
//! reason `{shutdown, Term}` is a shutdown (no crash, a transient child is not
//! restarted).
//!
//! No test sleeps to wait for something; timeouts only turn a hang into a failure.

mod common;

use std::time::{Duration, Instant};

use bream::{Down, Exit, ExitReason, Pid, Status};
use bream_stdlib::gen_server::{
    self, CallResult, EnterOpts, GenServer, Init, Next, ReplyTo, ServerRef, StartOpts,
};
use bream_stdlib::supervisor::{ChildState, Restart, Strategy, Supervisor};
use bream_stdlib::StartError;
use common::*;

/// Counts calls; `init` sleeps as long as it is told.
struct Counter(u64);

impl GenServer for Counter {
    type Args = Duration;
    type Call = ();
    type Reply = u64;
    type Cast = ();
    type Info = u64;
    type Continue = ();

    fn init(slow: Duration) -> Init<Self> {
        if !slow.is_zero() {
            bream::sleep(slow);
        }
        Init::ok(Counter(0))
    }
    fn handle_call(&mut self, _: (), _: ReplyTo<u64>) -> CallResult<Self> {
        self.0 += 1;
        CallResult::reply(self.0)
    }
    fn handle_info(&mut self, n: gen_server::Info<u64>) -> Next<Self> {
        if let gen_server::Info::Message(n) = n {
            self.0 += n;
        }
        Next::Wait
    }
}

fn queue_len(pid: Pid) -> usize {
    bream::process_info(pid).expect("alive").message_queue_len
}

// ---- gen_server(3), Description: the loop takes every message --------------------

#[test]
fn stray_messages_are_dropped_and_calls_behind_them_complete() {
    bream::run(|| {
        let s = gen_server::start::<Counter>(Duration::ZERO).unwrap();
        let pid = s.pid().unwrap();
        // 100,000 messages of types the server does not take, between its own.
        bream::send(pid, 1u64);
        for i in 0..100_000u32 {
            bream::send(pid, i);
            if i % 25_000 == 0 {
                bream::send(pid, "a &str");
            }
        }
        bream::send(pid, 1u64);
        for i in 1..=100 {
            assert_eq!(gen_server::call(&s, (), PATIENCE), Ok(2 + i));
        }
        // The loop took everything in order: nothing is left queued behind the
        // last call's reply. (Before, all 100,004 strays stayed forever.)
        assert_eq!(queue_len(pid), 0);
    });
}

#[test]
fn a_server_that_got_strays_still_takes_its_own_info_messages() {
    bream::run(|| {
        let s = gen_server::start::<Counter>(Duration::ZERO).unwrap();
        let pid = s.pid().unwrap();
        bream::send(pid, 'x');
        bream::send(pid, 41u64);
        bream::send(pid, 3.5f64);
        assert_eq!(gen_server::call(&s, (), PATIENCE), Ok(42));
        assert_eq!(queue_len(pid), 0);
    });
}

// ---- gen_server(3), start_link/4: {timeout, Time} ---------------------------------

#[test]
fn an_init_slower_than_the_start_timeout_is_killed_and_start_returns_timeout() {
    bream::run(|| {
        let opts = StartOpts {
            link: true,
            name: Some("slow"),
            timeout: Some(Duration::from_millis(20)),
            ..StartOpts::default()
        };
        let got = gen_server::start_opt::<Counter>(Duration::from_secs(30), opts);
        assert_eq!(got.unwrap_err(), StartError::Timeout);
        // The server is gone (and the caller, linked, is not killed), and its
        // name is free again.
        assert_eq!(bream::whereis("slow"), None);
        let again = gen_server::start_opt::<Counter>(
            Duration::ZERO,
            StartOpts {
                name: Some("slow"),
                timeout: Some(PATIENCE),
                ..StartOpts::default()
            },
        );
        assert!(again.is_ok());
        assert_eq!(bream::process_info(bream::self_pid()).unwrap().links, []);
    });
}

// ---- gen_server(3), start_link/4: {hibernate_after, HibernateAfterTimeout} --------

#[test]
fn an_idle_server_hibernates_after_the_option_and_wakes_with_its_state() {
    bream::run(|| {
        let opts = StartOpts {
            hibernate_after: Some(Duration::from_millis(5)),
            ..StartOpts::default()
        };
        let s = gen_server::start_opt::<Counter>(Duration::ZERO, opts).unwrap();
        let pid = s.pid().unwrap();
        assert_eq!(gen_server::call(&s, (), PATIENCE), Ok(1));
        wait_for_status(pid, Status::Hibernating);
        assert_eq!(gen_server::call(&s, (), PATIENCE), Ok(2));
        // And again, after the message that woke it.
        wait_for_status(pid, Status::Hibernating);
        assert_eq!(gen_server::call(&s, (), PATIENCE), Ok(3));
    });
}

#[test]
fn without_the_option_an_idle_server_does_not_hibernate() {
    bream::run(|| {
        let s = gen_server::start::<Counter>(Duration::ZERO).unwrap();
        let pid = s.pid().unwrap();
        wait_for_status(pid, Status::Waiting);
        bream::sleep(Duration::from_millis(20));
        assert_eq!(bream::process_info(pid).unwrap().status, Status::Waiting);
    });
}

fn wait_for_status(pid: Pid, status: Status) {
    let deadline = Instant::now() + PATIENCE;
    while bream::process_info(pid).map(|i| i.status) != Some(status) {
        assert!(Instant::now() < deadline, "{pid} never got to {status:?}");
        bream::sleep(Duration::from_millis(1));
    }
}

// ---- gen_server(3), enter_loop/3,4,5 ----------------------------------------------

#[test]
fn enter_loop_makes_the_calling_process_a_server() {
    bream::run(|| {
        let me = bream::self_pid();
        let pid = bream::spawn(move || {
            // Whatever set-up the process needs, then the loop.
            bream::send(me, bream::self_pid());
            gen_server::enter_loop(Counter(10), Next::Wait, EnterOpts::default())
        });
        let started: Pid = bream::receive_timeout(PATIENCE).unwrap();
        assert_eq!(started, pid);
        let s = ServerRef::<Counter>::from_pid(pid);
        assert_eq!(gen_server::call(&s, (), PATIENCE), Ok(11));
        let monitor = bream::monitor(pid);
        gen_server::stop(&s, ExitReason::Normal, PATIENCE).unwrap();
        let down: Down = bream::receive_timeout(PATIENCE).unwrap();
        assert_eq!((down.monitor, down.reason), (monitor, ExitReason::Normal));
    });
}

#[test]
fn enter_loop_with_a_parent_terminates_on_the_parents_exit_signal() {
    bream::run(|| {
        let me = bream::self_pid();
        let (parent, _) = bream::spawn_monitor(move || {
            let parent = bream::self_pid();
            bream::spawn_link(move || {
                bream::trap_exit(true);
                let opts = EnterOpts {
                    parent: Some(parent),
                    ..EnterOpts::default()
                };
                bream::send(me, bream::self_pid());
                gen_server::enter_loop(Reporter(me), Next::Wait, opts)
            });
            let _: u8 = bream::receive();
            bream::exit_self(ExitReason::ShutdownWith("bye".into()))
        });
        let _server: Pid = bream::receive_timeout(PATIENCE).unwrap();
        bream::send(parent, 0u8);
        let why: ExitReason = bream::receive_timeout(PATIENCE).expect("terminate ran");
        assert_eq!(why, ExitReason::ShutdownWith("bye".into()));
    });
}

/// Tells its observer why it terminated.
struct Reporter(Pid);
impl GenServer for Reporter {
    type Args = Pid;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();
    fn init(observer: Pid) -> Init<Self> {
        Init::ok(Reporter(observer))
    }
    fn terminate(&mut self, reason: &ExitReason) {
        bream::send(self.0, reason.clone());
    }
}

// ---- {shutdown, Term}: a shutdown with a reason ------------------------------------

#[test]
fn shutdown_with_a_reason_travels_links_and_monitors_as_a_shutdown() {
    bream::run(|| {
        let why = ExitReason::ShutdownWith("maintenance".into());
        assert!(why.is_normal(), "not a crash");
        // A trapping process gets it as is.
        bream::trap_exit(true);
        let w = why.clone();
        let child = bream::spawn_link(move || bream::exit_self(w));
        let exit: Exit = bream::receive_timeout(PATIENCE).unwrap();
        assert_eq!(
            exit,
            Exit {
                from: child,
                reason: why.clone()
            }
        );
        // A process that does not trap exits dies of it, as of `shutdown`.
        let w = why.clone();
        let (bystander, monitor) = bream::spawn_monitor(move || {
            bream::spawn_link(move || bream::exit_self(w));
            bream::sleep(PATIENCE);
        });
        let down: Down = bream::receive_timeout(PATIENCE).unwrap();
        assert_eq!(
            (down.pid, down.monitor, down.reason),
            (bystander, monitor, why)
        );
    });
}

#[test]
fn a_transient_child_that_stops_with_shutdown_and_a_reason_is_not_restarted() {
    bream::run(|| {
        let sup = Supervisor::new(Strategy::OneForOne)
            .child(tracked("w", bream::self_pid()).restart(Restart::Transient))
            .start_link()
            .unwrap();
        let w = started("w");
        bream::send(w, Crash(ExitReason::ShutdownWith("done".into())));
        wait_until(|| children(&sup) == [("w".to_string(), ChildState::Undefined)]);
        no_more_events(&sup);
    });
}

#[test]
fn a_server_stopping_with_shutdown_and_a_reason_runs_terminate_with_it() {
    bream::run(|| {
        let me = bream::self_pid();
        let s = gen_server::start::<Reporter>(me).unwrap();
        let why = ExitReason::ShutdownWith("done".into());
        gen_server::stop(&s, why.clone(), PATIENCE).unwrap();
        assert_eq!(bream::receive_timeout::<ExitReason>(PATIENCE), Some(why));
    });
}
