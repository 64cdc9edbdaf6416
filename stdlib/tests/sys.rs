//! sys, tested against OTP's documentation: sys(3) (`get_state/1,2`,
//! `replace_state/2,3`, `suspend/1`, `resume/1`, `get_status/1`, `trace/2`,
//! `statistics/2`) and gen_server(3)'s `format_status/1` callback, on a
//! gen_server.
//!
//! No test sleeps to wait for something: waits are messages with a generous
//! timeout that only turns a hang into a failure; nothing asserts on time.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bream::{ExitReason, Pid};
use bream_stdlib::gen_server::{
    self, CallError, CallResult, GenServer, Init, Next, ReplyTo, ServerRef, StartOpts,
};
use bream_stdlib::sys::{self, SysError};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

const PATIENCE: Duration = Duration::from_secs(10);

/// A server with a secret in its state.
#[derive(Clone, Debug, PartialEq)]
struct Vault {
    count: u64,
    password: String,
}

impl GenServer for Vault {
    type Args = ();
    type Call = ();
    type Reply = u64;
    type Cast = u64;
    type Info = ();
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        Init::ok(Vault {
            count: 0,
            password: "hunter2".into(),
        })
    }
    fn handle_call(&mut self, _: (), _: ReplyTo<u64>) -> CallResult<Self> {
        CallResult::reply(self.count)
    }
    fn handle_cast(&mut self, n: u64) -> Next<Self> {
        self.count += n;
        Next::Wait
    }
    fn format_status(&self) -> String {
        format!("Vault {{ count: {}, password: \"***\" }}", self.count)
    }
}

fn vault() -> ServerRef<Vault> {
    gen_server::start::<Vault>(()).expect("starts")
}

// ---- sys(3): get_state/1, replace_state/2 ------------------------------------

#[test]
fn get_state_returns_the_servers_state() {
    bream::run(|| {
        let v = vault();
        gen_server::cast(&v, 5);
        let state = sys::get_state(&v).unwrap();
        assert_eq!(state.count, 5);
        assert_eq!(state.password, "hunter2");
    });
}

#[test]
fn replace_state_changes_the_state_the_callbacks_see() {
    bream::run(|| {
        let v = vault();
        let old = sys::replace_state(&v, |s: &mut Vault| std::mem::replace(&mut s.count, 41));
        assert_eq!(old, Ok(0));
        gen_server::cast(&v, 1);
        assert_eq!(gen_server::call(&v, (), PATIENCE), Ok(42));
    });
}

#[test]
fn a_panicking_state_function_is_callback_failed_and_the_server_goes_on() {
    bream::run(|| {
        let v = vault();
        let r = sys::replace_state(&v, |_: &mut Vault| -> () { panic!("bad fun") });
        assert_eq!(r, Err(SysError::CallbackFailed("bad fun".into())));
        assert_eq!(gen_server::call(&v, (), PATIENCE), Ok(0));
    });
}

#[test]
fn a_handle_of_the_wrong_state_type_is_wrong_state_not_a_panic() {
    bream::run(|| {
        let v = vault();
        let pid: Pid = v.pid().unwrap();
        // A bare pid sees `dyn Any`; downcasting to the wrong type fails in the
        // caller, and the right type works.
        let wrong = sys::with_state(&pid, |s| s.downcast_ref::<String>().is_some());
        assert_eq!(wrong, Ok(false));
        let right = sys::with_state(&pid, |s| s.downcast_ref::<Vault>().map(|v| v.count));
        assert_eq!(right, Ok(Some(0)));
        let other = ServerRef::<Other>::from_pid(pid);
        assert_eq!(
            sys::get_state(&other),
            Err(SysError::WrongState {
                actual: std::any::type_name::<Vault>()
            })
        );
    });
}

#[derive(Clone, Debug, PartialEq)]
struct Other;
impl GenServer for Other {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();
    fn init(_: ()) -> Init<Self> {
        Init::ok(Other)
    }
}

#[test]
fn sys_on_a_dead_process_is_noproc() {
    bream::run(|| {
        let v = vault();
        gen_server::stop(&v, ExitReason::Normal, PATIENCE).unwrap();
        assert_eq!(sys::get_state(&v).map(|_| ()), Err(SysError::NoProc));
        assert_eq!(sys::suspend(&v), Err(SysError::NoProc));
    });
}

// ---- sys(3): suspend/1, resume/1 ----------------------------------------------

#[test]
fn a_suspended_server_answers_sys_only_and_keeps_its_messages_until_resume() {
    bream::run(|| {
        let v = vault();
        sys::suspend(&v).unwrap();
        gen_server::cast(&v, 3);
        assert_eq!(
            gen_server::call(&v, (), Duration::from_millis(50)),
            Err(CallError::Timeout)
        );
        // sys still answers, and sees the cast not yet handled.
        assert_eq!(sys::get_state(&v).unwrap().count, 0);
        assert!(sys::get_status(&v).unwrap().suspended);
        sys::resume(&v).unwrap();
        assert_eq!(gen_server::call(&v, (), PATIENCE), Ok(3));
        assert!(!sys::get_status(&v).unwrap().suspended);
    });
}

#[test]
fn a_suspended_server_still_obeys_its_parents_exit_signal() {
    bream::run(|| {
        let me = bream::self_pid();
        let (parent, _) = bream::spawn_monitor(move || {
            bream::trap_exit(true);
            let v = gen_server::start_link::<Trapper>(me).unwrap();
            bream::send(me, v);
            let _: u8 = bream::receive();
            bream::exit_self(ExitReason::Shutdown)
        });
        let v: ServerRef<Trapper> = bream::receive_timeout(PATIENCE).unwrap();
        sys::suspend(&v).unwrap();
        bream::send(parent, 0u8);
        let why: ExitReason = bream::receive_timeout(PATIENCE).expect("terminate runs");
        assert_eq!(why, ExitReason::Shutdown);
    });
}

/// Traps exits and tells its observer how it terminated.
struct Trapper(Pid);
impl GenServer for Trapper {
    type Args = Pid;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();
    fn init(observer: Pid) -> Init<Self> {
        bream::trap_exit(true);
        Init::ok(Trapper(observer))
    }
    fn terminate(&mut self, reason: &ExitReason) {
        bream::send(self.0, reason.clone());
    }
}

// ---- sys(3): get_status/1, and gen_server(3)'s format_status/1 --------------------

#[test]
fn get_status_shows_the_state_through_format_status() {
    bream::run(|| {
        let v = vault();
        gen_server::cast(&v, 2);
        let status = sys::get_status(&v).unwrap();
        assert_eq!(status.pid, v.pid().unwrap());
        assert_eq!(status.behaviour, "gen_server");
        assert!(!status.suspended && !status.trace);
        assert_eq!(status.state, "Vault { count: 2, password: \"***\" }");
        assert!(!status.state.contains("hunter2"));
    });
}

// ---- sys(3): statistics/2 ---------------------------------------------------------

#[test]
fn statistics_count_messages_in_and_out_from_when_they_are_turned_on() {
    bream::run(|| {
        let v = vault();
        gen_server::cast(&v, 1);
        assert_eq!(sys::get_statistics(&v), Ok(None));
        sys::statistics(&v, true).unwrap();
        for _ in 0..3 {
            gen_server::cast(&v, 1);
            gen_server::call(&v, (), PATIENCE).unwrap();
        }
        let stats = sys::get_statistics(&v).unwrap().expect("on");
        assert_eq!((stats.messages_in, stats.messages_out), (6, 3));
        assert!(stats.reductions > 0);
        sys::statistics(&v, false).unwrap();
        assert_eq!(sys::get_statistics(&v), Ok(None));
    });
}

// ---- sys(3): trace/2 ---------------------------------------------------------------

/// The text of every `bream_stdlib::sys` event, with its `name` field (tests
/// run in parallel, each in its own runtime, so pids repeat; names here do not).
fn trace_lines() -> &'static Mutex<Vec<(String, String)>> {
    static LINES: OnceLock<Mutex<Vec<(String, String)>>> = OnceLock::new();
    LINES.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(Recorder);
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        Mutex::new(Vec::new())
    })
}

struct Recorder;

#[derive(Default)]
struct Line {
    name: String,
    message: String,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "name" {
            self.name = value.to_owned();
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "name" => self.name = format!("{value:?}"),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "bream_stdlib::sys" {
            return;
        }
        let mut line = Line::default();
        event.record(&mut line);
        trace_lines()
            .lock()
            .unwrap()
            .push((line.name, line.message));
    }
}

fn lines_of(name: &str) -> Vec<String> {
    trace_lines()
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, m)| m.clone())
        .collect()
}

#[test]
fn trace_logs_every_message_in_and_out_while_on() {
    trace_lines();
    bream::run(|| {
        let v = gen_server::start_named::<Vault>("traced", ()).unwrap();
        gen_server::cast(&v, 1);
        gen_server::call(&v, (), PATIENCE).unwrap();
        assert!(lines_of("traced").is_empty(), "off by default");

        sys::trace(&v, true).unwrap();
        gen_server::cast(&v, 1);
        gen_server::call(&v, (), PATIENCE).unwrap();
        sys::trace(&v, false).unwrap();
        gen_server::cast(&v, 1);
        gen_server::call(&v, (), PATIENCE).unwrap();

        let lines = lines_of("traced");
        let me = bream::self_pid().to_string();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].contains("got cast u64"), "{lines:?}");
        assert!(
            lines[1].contains("got call ()") && lines[1].contains(&me),
            "{lines:?}"
        );
        assert!(
            lines[2].contains("sent reply u64") && lines[2].contains(&me),
            "{lines:?}"
        );
    });
}

#[test]
fn the_trace_start_option_traces_from_init_on() {
    trace_lines();
    bream::run(|| {
        let opts = StartOpts {
            trace: true,
            name: Some("traced_from_start"),
            ..StartOpts::default()
        };
        let v = gen_server::start_opt::<Vault>((), opts).unwrap();
        gen_server::cast(&v, 1);
        gen_server::call(&v, (), PATIENCE).unwrap();
        assert!(sys::get_status(&v).unwrap().trace);
        assert_eq!(lines_of("traced_from_start").len(), 3);
    });
}
