//! `gen_server::INFINITY` (`Duration::MAX`) as a gen_server timeout and as a
//! child's shutdown time (OTP Design Principles, "gen_server Behaviour",
//! "Timeouts"; "Supervisor Behaviour", "Child Specification": `shutdown =>
//! infinity`), and the crash reports of a `start_link`-ed server that crashes
//! in `handle_call`: one report, for the server, none for the linked caller
//! that the exit signal killed (Erlang Reference Manual, "Processes", "Receiving
//! Exit Signals"; proc_lib's crash report is written by the crashing process).
//!
//! This file installs a global `tracing` subscriber that records every event.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bream::{receive, Down, Exit, ExitReason, Pid};
use bream_stdlib::gen_server::{self, GenServer, Init, Next, INFINITY};
use bream_stdlib::supervisor::{self, ChildSpec, ChildState, Shutdown, Strategy, Supervisor};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Runs `f` on a thread and fails (instead of hanging) if it takes longer
/// than `secs`.
fn within<R: Send + 'static>(secs: u64, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(r)) => r,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("watchdog: the test did not finish within {secs} s"),
    }
}

/// One recorded event: its level and fields, as text.
#[derive(Clone, Debug)]
struct Record {
    level: tracing::Level,
    fields: BTreeMap<String, String>,
}

impl Visit for Record {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.fields
            .insert(field.name().to_owned(), format!("{value:?}"));
    }
}

struct Recorder;

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut record = Record {
            level: *event.metadata().level(),
            fields: BTreeMap::new(),
        };
        event.record(&mut record);
        records().lock().unwrap().push(record);
    }
}

fn records() -> &'static Mutex<Vec<Record>> {
    static R: OnceLock<Mutex<Vec<Record>>> = OnceLock::new();
    R.get_or_init(|| {
        let _ =
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Recorder));
        Mutex::new(Vec::new())
    })
}

/// A server whose calls it does not handle (the default `handle_call`
/// panics), and whose casts ask for an infinite timeout.
struct Fragile;

impl GenServer for Fragile {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = Pid;
    type Info = ();
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        Init::Ready(Fragile, Next::Timeout(INFINITY))
    }

    fn handle_cast(&mut self, to: Pid) -> Next<Self> {
        bream::send(to, "cast handled");
        Next::Timeout(INFINITY)
    }
}

#[test]
fn next_timeout_infinity_waits_for_the_next_message() {
    within(10, || {
        bream::run(|| {
            let server = gen_server::start::<Fragile>(()).unwrap();
            let pid = server.pid().unwrap();
            let m = bream::monitor(pid);
            for _ in 0..2 {
                gen_server::cast(&server, bream::self_pid());
                assert_eq!(bream::receive::<&str>(), "cast handled");
            }
            assert!(bream::is_alive(pid));
            bream::exit(pid, ExitReason::Kill);
            let _: Down = receive! { d: Down if d.monitor == m => d };
        });
    });
}

#[test]
fn a_server_crashing_in_handle_call_is_reported_once_and_its_linked_caller_not_at_all() {
    records();
    within(10, || {
        let (caller, server) = bream::run(|| {
            let me = bream::self_pid();
            let (caller, m) = bream::spawn_monitor(move || {
                let server = gen_server::start_link::<Fragile>(()).unwrap();
                bream::send(me, server.pid().unwrap());
                let _ = gen_server::call(&server, (), INFINITY);
                bream::receive::<()>(); // killed through the link by now
            });
            let server: Pid = bream::receive();
            let down = receive! { d: Down if d.monitor == m => d };
            assert!(matches!(down.reason, ExitReason::Panic(_)), "{down:?}");
            (caller, server)
        });
        let log = records().lock().unwrap().clone();
        let errors: Vec<&Record> = log
            .iter()
            .filter(|r| r.level == tracing::Level::ERROR)
            .collect();
        let about = |pid: Pid| {
            errors
                .iter()
                .filter(|r| r.fields.get("pid") == Some(&pid.to_string()))
                .count()
        };
        assert_eq!(about(server), 1, "{log:#?}");
        assert_eq!(about(caller), 0, "{log:#?}");
        let report = errors
            .iter()
            .find(|r| r.fields.get("pid") == Some(&server.to_string()))
            .unwrap();
        assert!(
            report.fields["message"].contains("does not handle"),
            "{report:?}"
        );
        assert!(report.fields.contains_key("location"), "{report:?}");
    });
}

fn running(sup: &supervisor::SupervisorRef) -> Pid {
    match supervisor::which_children(sup).unwrap()[0].state {
        ChildState::Running(pid) => pid,
        ref s => panic!("{s:?}"),
    }
}

/// A child that traps exits and takes a moment to clean up.
fn slow_child() -> Result<Pid, bream_stdlib::StartError> {
    let opts = bream::SpawnOpts {
        link: true,
        trap_exit: true,
        ..Default::default()
    };
    let (pid, _) = bream::spawn_opt(opts, || {
        let e: Exit = bream::receive();
        bream::sleep(Duration::from_millis(5));
        bream::exit_self(e.reason);
    })
    .unwrap();
    Ok(pid)
}

#[test]
fn shutdown_timeout_infinity_waits_for_the_child() {
    within(10, || {
        bream::run(|| {
            let spec = || ChildSpec::worker("w", slow_child).shutdown(Shutdown::Timeout(INFINITY));
            // Through terminate_child.
            let sup = Supervisor::new(Strategy::OneForOne)
                .child(spec())
                .start_link()
                .unwrap();
            let child = running(&sup);
            let m = bream::monitor(child);
            supervisor::terminate_child(&sup, "w").unwrap();
            let d = receive! { d: Down if d.monitor == m => d };
            assert_eq!(d.reason, ExitReason::Shutdown);

            // Through the supervisor's own exit: it terminates its children
            // and exits itself, without crashing on the infinite timeout.
            let sup = Supervisor::new(Strategy::OneForOne)
                .child(spec())
                .start_link()
                .unwrap();
            let sup_pid = sup.pid().unwrap();
            let child = running(&sup);
            let (mc, ms) = (bream::monitor(child), bream::monitor(sup_pid));
            bream::trap_exit(true);
            bream::exit(sup_pid, ExitReason::Shutdown);
            let d = receive! { d: Down if d.monitor == mc => d };
            assert_eq!(d.reason, ExitReason::Shutdown);
            let d = receive! { d: Down if d.monitor == ms => d };
            assert_eq!(d.reason, ExitReason::Shutdown);
        });
    });
}
