//! application, tested against OTP's documentation: application(3)
//! (`load/1`, `start/2` and its restart types, `ensure_started/2`,
//! `ensure_all_started/2`, `stop/1`, `which_applications/0`, `get_env/2,3`,
//! `get_all_env/1`, `set_env/3`, `unset_env/2`, and the callbacks `start/2`,
//! `prep_stop/1`, `stop/1`) and OTP Design Principles, "Applications"
//! (Application Callback Module, Application Resource File, Starting and
//! Stopping Applications, Configuring an Application, Application Start Types)
//! and "Included Applications"' neighbour "Application Dependencies".
//!
//! Each test application logs its callbacks to the test process, so a test
//! reads the order of starts and stops from its mailbox. Every test runs under
//! a watchdog: a hang fails it.

use std::sync::mpsc;
use std::time::Duration;

use bream::{ExitReason, Pid};
use bream_stdlib::application::{self, AppError, Application, NodeStop, RestartType, RunningApp};
use bream_stdlib::supervisor::{self, ChildSpec, Strategy, Supervisor, SupervisorRef};
use bream_stdlib::StartError;

const PATIENCE: Duration = Duration::from_secs(10);

/// Run `test` in a fresh runtime; panic if it takes longer than a bug would.
fn watchdog(test: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        bream::run(test);
        let _ = done.send(());
    });
    match finished.recv_timeout(PATIENCE * 2) {
        Ok(()) => thread.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test hung (watchdog)"),
    }
}

/// What a test application tells the log.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Log {
    /// `start` ran and started this top supervisor.
    Start(&'static str, Pid),
    PrepStop(&'static str),
    Stop(&'static str),
    /// `start` read this value of its `greeting`.
    Greeting(&'static str, Option<String>),
}

#[derive(Clone)]
struct TestApp {
    name: &'static str,
    deps: Vec<&'static str>,
    log: Pid,
    fails: bool,
}

fn app(name: &'static str, deps: &[&'static str]) -> TestApp {
    TestApp {
        name,
        deps: deps.to_vec(),
        log: bream::self_pid(),
        fails: false,
    }
}

impl Application for TestApp {
    fn name(&self) -> &'static str {
        self.name
    }
    fn dependencies(&self) -> Vec<&'static str> {
        self.deps.clone()
    }
    fn default_env(&self) -> Vec<(&'static str, String)> {
        vec![("greeting", "hello".into()), ("size", "1".into())]
    }
    fn start(&self) -> Result<SupervisorRef, StartError> {
        // The callbacks run in the master: they may read the configuration.
        let greeting = application::get_env(self.name, "greeting");
        bream::send(self.log, Log::Greeting(self.name, greeting));
        if self.fails {
            return Err(StartError::Init(ExitReason::Other("no".into())));
        }
        let worker = ChildSpec::worker("w", || {
            Ok(bream::spawn_link(|| {
                bream::receive::<()>();
            }))
        });
        let sup = Supervisor::new(Strategy::OneForOne)
            .child(worker)
            .start_link()?;
        bream::send(self.log, Log::Start(self.name, sup.pid().unwrap()));
        Ok(sup)
    }
    fn prep_stop(&self) {
        bream::send(self.log, Log::PrepStop(self.name));
    }
    fn stop(&self) {
        bream::send(self.log, Log::Stop(self.name));
    }
}

fn next() -> Log {
    bream::receive_timeout::<Log>(PATIENCE).expect("a log entry within PATIENCE")
}

/// Expect `name`'s start (after its greeting); its top supervisor.
fn started(name: &'static str) -> Pid {
    assert!(matches!(next(), Log::Greeting(n, _) if n == name));
    match next() {
        Log::Start(n, sup) if n == name => sup,
        other => panic!("expected {name} to start, got {other:?}"),
    }
}

/// Expect `name`'s `prep_stop` then `stop`.
fn stopped(name: &'static str) {
    assert_eq!(next(), Log::PrepStop(name));
    assert_eq!(next(), Log::Stop(name));
}

fn no_more_log() {
    // which_applications is a call: the controller has handled what came before.
    let _ = application::which_applications();
    assert_eq!(
        bream::receive_timeout::<Log>(Duration::from_millis(20)),
        None
    );
}

/// Waits until the controller lists exactly `expected`: an application's stop
/// callback runs before its master tells the controller, so a test that saw
/// the callback's log may still find the application listed (a call per
/// look, no clock).
fn wait_running(expected: &[&str]) {
    let t = std::time::Instant::now();
    while running() != expected {
        assert!(
            t.elapsed() < PATIENCE,
            "running: {:?}, want {expected:?}",
            running()
        );
        bream::yield_now();
    }
}

fn running() -> Vec<&'static str> {
    application::which_applications()
        .into_iter()
        .map(|a| a.name)
        .collect()
}

// ---- Starting and Stopping Applications ----------------------------------------------

/// application(3), `ensure_all_started/2`: "Equivalent to calling start/1,2
/// repeatedly on all dependencies that are not yet started for an
/// application." Design Principles, "Applications", "Starting and Stopping
/// Applications": the applications listed in `applications` must be started
/// first. And application(3), `start/2`: "If a permanent application
/// terminates, all other applications and the runtime system are also
/// terminated" — here with init:stop's orderly shutdown, last started first.
#[test]
fn dependencies_start_in_order_and_the_node_stops_them_in_reverse() {
    watchdog(|| {
        application::load(app("base", &[])).unwrap();
        application::load(app("mid", &["base"])).unwrap();
        application::load(app("top", &["mid", "base"])).unwrap();
        let started_now = application::ensure_all_started("top", RestartType::Permanent).unwrap();
        assert_eq!(started_now, ["base", "mid", "top"]);
        started("base");
        started("mid");
        let top = started("top");
        // application(3), get_supervisor/1.
        assert_eq!(application::get_supervisor("top").unwrap().pid(), Some(top));
        assert_eq!(application::get_supervisor("nope"), None);
        assert_eq!(
            application::which_applications(),
            ["base", "mid", "top"].map(|name| RunningApp {
                name,
                restart_type: RestartType::Permanent
            })
        );
        // Already running: nothing more to start.
        assert_eq!(
            application::ensure_all_started("top", RestartType::Permanent),
            Ok(vec![])
        );

        application::stop_node();
        let why = application::await_shutdown();
        assert_eq!(
            why,
            NodeStop {
                app: None,
                reason: ExitReason::Normal
            }
        );
        stopped("top");
        stopped("mid");
        stopped("base");
        assert!(running().is_empty());
        assert_eq!(application::get_supervisor("top"), None);
        assert_eq!(
            application::start("base", RestartType::Temporary),
            Err(AppError::NodeStopped)
        );
        // A second waiter is answered at once.
        assert_eq!(application::await_shutdown(), why);
    });
}

/// application(3), `start/2`: `{error, {not_started, App}}` for a dependency
/// that is not running, `{error, {already_started, App}}`; `load/1`:
/// `{error, {already_loaded, App}}`; `ensure_started/2`; `stop/1`:
/// `{error, {not_started, App}}`; `unload/1` of a running application.
#[test]
fn start_and_stop_return_otps_errors() {
    watchdog(|| {
        application::load(app("a", &[])).unwrap();
        application::load(app("b", &["a"])).unwrap();
        assert_eq!(
            application::load(app("a", &[])),
            Err(AppError::AlreadyLoaded("a"))
        );
        assert_eq!(
            application::start("b", RestartType::Temporary),
            Err(AppError::NotStarted("a".into()))
        );
        assert_eq!(
            application::start("nope", RestartType::Temporary),
            Err(AppError::NotLoaded("nope".into()))
        );
        application::start("a", RestartType::Temporary).unwrap();
        started("a");
        assert_eq!(
            application::start("a", RestartType::Temporary),
            Err(AppError::AlreadyStarted("a".into()))
        );
        assert_eq!(
            application::ensure_started("a", RestartType::Temporary),
            Ok(())
        );
        assert_eq!(application::unload("a"), Err(AppError::Running("a".into())));
        // stop/1 stops only this application: b was never started, and
        // stopping a does not stop the node.
        application::stop("a").unwrap();
        stopped("a");
        assert_eq!(
            application::stop("a"),
            Err(AppError::NotStarted("a".into()))
        );
        application::unload("a").unwrap();
        assert_eq!(
            application::ensure_all_started("b", RestartType::Temporary),
            Err(AppError::NotLoaded("a".into()))
        );
        no_more_log();
    });
}

/// application(3), `ensure_all_started/2`: "{error, {AppName, Reason}}" when
/// one fails; the applications the call started are stopped again.
#[test]
fn a_failed_start_is_reported_and_ensure_all_started_undoes_its_starts() {
    watchdog(|| {
        application::load(app("dep", &[])).unwrap();
        let mut broken = app("broken", &["dep"]);
        broken.fails = true;
        application::load(broken).unwrap();
        let result = application::ensure_all_started("broken", RestartType::Permanent);
        assert_eq!(
            result,
            Err(AppError::StartFailed {
                app: "broken".into(),
                error: StartError::Init(ExitReason::Other("no".into()))
            })
        );
        started("dep");
        assert!(matches!(next(), Log::Greeting("broken", _)));
        stopped("dep");
        assert!(running().is_empty());
        no_more_log();
    });
}

struct Panics;
impl Application for Panics {
    fn name(&self) -> &'static str {
        "panics"
    }
    fn start(&self) -> Result<SupervisorRef, StartError> {
        panic!("bad start")
    }
}

/// application(3), `Module:start/2`: "should return {ok, Pid} ... or
/// {error, Reason} if startup fails"; an exception in it fails the start too.
#[test]
fn a_start_callback_that_panics_fails_the_start() {
    watchdog(|| {
        application::load(Panics).unwrap();
        assert_eq!(
            application::start("panics", RestartType::Permanent),
            Err(AppError::StartFailed {
                app: "panics".into(),
                error: StartError::Init(ExitReason::Panic("bad start".into()))
            })
        );
        assert!(running().is_empty());
        // The node did not stop: a failed start is not an exit.
        application::load(app("ok", &[])).unwrap();
        application::start("ok", RestartType::Permanent).unwrap();
        started("ok");
    });
}

/// A circle of dependencies cannot be started (OTP's `{circular_dependencies, Apps}`).
#[test]
fn circular_dependencies_are_refused() {
    watchdog(|| {
        application::load(app("x", &["y"])).unwrap();
        application::load(app("y", &["x"])).unwrap();
        assert!(matches!(
            application::ensure_all_started("x", RestartType::Temporary),
            Err(AppError::CircularDependencies(apps)) if apps == ["x", "y"]
        ));
        no_more_log();
    });
}

// ---- Application Start Types (restart types) ---------------------------------------

/// application(3), `start/2`: "If a permanent application terminates, all
/// other applications and the runtime system are also terminated." The
/// terminated application's own `stop/1` runs, then the others stop, last
/// started first, and `await_shutdown` names the application and its reason.
#[test]
fn a_permanent_applications_exit_stops_the_node() {
    watchdog(|| {
        for name in ["first", "vital", "last"] {
            application::load(app(name, &[])).unwrap();
        }
        application::start("first", RestartType::Temporary).unwrap();
        application::start("vital", RestartType::Permanent).unwrap();
        application::start("last", RestartType::Temporary).unwrap();
        started("first");
        let vital = started("vital");
        started("last");
        bream::exit(vital, ExitReason::Kill);
        let why = application::await_shutdown();
        assert_eq!(
            why,
            NodeStop {
                app: Some("vital"),
                reason: ExitReason::Killed
            }
        );
        stopped("vital");
        stopped("last");
        stopped("first");
        assert!(running().is_empty());
    });
}

/// application(3), `start/2`: "If a transient application terminates with
/// reason normal, this is reported but no other applications are terminated.
/// If a transient application terminates abnormally, that is with any other
/// reason than normal, all other applications and the runtime system are also
/// terminated."
#[test]
fn a_transient_application_stops_the_node_only_when_it_exits_abnormally() {
    watchdog(|| {
        for name in ["calm", "other", "fragile"] {
            application::load(app(name, &[])).unwrap();
        }
        application::start("calm", RestartType::Transient).unwrap();
        application::start("other", RestartType::Temporary).unwrap();
        let calm = started("calm");
        started("other");
        supervisor::stop(&SupervisorRef::from_pid(calm), ExitReason::Normal, PATIENCE).unwrap();
        stopped("calm");
        wait_running(&["other"]);
        application::start("fragile", RestartType::Transient).unwrap();
        let fragile = started("fragile");
        // A supervisor that gives up exits Shutdown: abnormal here. (OTP's
        // default intensity: the second restart within 5 s is one too many.)
        let fragile = SupervisorRef::from_pid(fragile);
        for _ in 0..2 {
            let worker = supervisor::which_children(&fragile).unwrap()[0].state;
            let supervisor::ChildState::Running(w) = worker else {
                panic!("the worker runs")
            };
            bream::exit(w, ExitReason::Kill);
            while supervisor::which_children(&fragile).is_ok_and(|c| c[0].state == worker) {
                bream::sleep(Duration::from_millis(1));
            }
        }
        let why = application::await_shutdown();
        assert_eq!(
            why,
            NodeStop {
                app: Some("fragile"),
                reason: ExitReason::Shutdown
            }
        );
        stopped("fragile");
        stopped("other");
    });
}

/// application(3), `start/2`: "If a temporary application terminates, this
/// is reported but no other applications are terminated." And `stop/1`: an
/// explicitly stopped application, even a permanent one, does not stop the
/// node.
#[test]
fn a_temporary_exit_and_an_explicit_stop_leave_the_node_running() {
    watchdog(|| {
        for name in ["temp", "perm", "stays"] {
            application::load(app(name, &[])).unwrap();
        }
        application::start("stays", RestartType::Permanent).unwrap();
        application::start("temp", RestartType::Temporary).unwrap();
        application::start("perm", RestartType::Permanent).unwrap();
        started("stays");
        let temp = started("temp");
        started("perm");
        bream::exit(temp, ExitReason::Kill);
        stopped("temp");
        application::stop("perm").unwrap();
        stopped("perm");
        wait_running(&["stays"]);
        // The node still runs: a new start works.
        application::start("temp", RestartType::Temporary).unwrap();
        started("temp");
        assert_eq!(running(), ["stays", "temp"]);
        no_more_log();
    });
}

// ---- Configuring an Application --------------------------------------------------

/// Design Principles, "Applications", "Configuring an Application": the `env`
/// of the `.app` file is overridden by a configuration file, and
/// application(3) `set_env/3` overrides both; `unset_env/2` removes a
/// parameter; `get_env/3` supplies a default; `get_all_env/1` lists them.
#[test]
fn configuration_comes_from_defaults_then_files_then_set_env() {
    watchdog(|| {
        application::load(app("conf", &[])).unwrap();
        assert_eq!(
            application::get_env("conf", "greeting").as_deref(),
            Some("hello")
        );
        application::load_config_str("[conf]\ngreeting = from the file\nport = 80\n").unwrap();
        assert_eq!(
            application::get_env("conf", "greeting").as_deref(),
            Some("from the file")
        );
        application::set_env("conf", "greeting", "set at run time");
        assert_eq!(
            application::get_env("conf", "greeting").as_deref(),
            Some("set at run time")
        );
        assert_eq!(
            application::get_all_env("conf"),
            [
                ("greeting", "set at run time"),
                ("port", "80"),
                ("size", "1")
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        application::unset_env("conf", "size");
        assert_eq!(application::get_env("conf", "size"), None);
        assert_eq!(application::get_env_or("conf", "size", "7"), "7");
        // The start callback reads the value as it is now.
        application::start("conf", RestartType::Temporary).unwrap();
        assert_eq!(
            next(),
            Log::Greeting("conf", Some("set at run time".into()))
        );
        // A broken file is refused whole, naming the line.
        let broken = application::load_config_str("[conf]\nport = 81\noops\n");
        assert!(matches!(
            broken,
            Err(application::ConfigError::Syntax { line: 3, .. })
        ));
        assert_eq!(application::get_env("conf", "port").as_deref(), Some("80"));
    });
}

/// Config files are read from disk too, and a missing one is an error that
/// names it.
#[test]
fn a_config_file_is_read_from_disk() {
    watchdog(|| {
        let path = std::env::temp_dir().join(format!("bream-app-{}.conf", std::process::id()));
        std::fs::write(&path, "# test\n[disk]\nkey = \"  spaced  \"\n").unwrap();
        application::load_config(path.to_str().unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            application::get_env("disk", "key").as_deref(),
            Some("  spaced  ")
        );
        assert!(matches!(
            application::load_config("/nonexistent/bream.conf"),
            Err(application::ConfigError::Io { .. })
        ));
    });
}
