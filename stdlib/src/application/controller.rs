//! The application controller: one gen_server per runtime, registered as
//! `application_controller` (OTP's name), that knows the loaded applications,
//! the running ones in start order, and the configuration.
//!
//! It never waits inside a callback: starting and stopping an application are
//! done by the application's master process, which reports back with a
//! message ([`Up`]) or its exit (the controller traps exits and is linked to
//! every master). So while an application starts or stops, its callbacks can
//! still call the controller (`get_env`), and a call that must wait for the
//! outcome (`start`, `stop`, `await_shutdown`) is answered later with
//! `gen_server::reply`.
//!
//! # Stopping the node
//!
//! When a permanent application exits (or a transient one abnormally), or
//! [`stop_node`](super::stop_node) is called, the controller records a
//! [`NodeStop`], refuses new starts, and stops the running applications one at
//! a time, last started first: it asks the last one's master to stop, waits
//! for that master's exit, then the next. When none is left it answers every
//! waiter of [`await_shutdown`](super::await_shutdown).

use std::collections::HashMap;
use std::sync::Arc;

use bream::{ExitReason, Pid};

use super::config::{self, ConfigError, Values};
use super::master::{self, StopApp};
use super::{AppError, Application, NodeStop, RestartType};
use crate::gen_server::{self, CallResult, GenServer, Info, Init, Next, ReplyTo};
use crate::start::StartError;

const TARGET: &str = "bream_stdlib::application";

/// A request to the controller (the `Call` type of its gen_server).
pub(crate) enum Request {
    Load(Arc<dyn Application>),
    Unload(String),
    Deps(String),
    Start(String, RestartType),
    Stop(String),
    Which,
    GetEnv(String, String),
    AllEnv(String),
    /// `None`: unset.
    SetEnv(String, String, Option<String>),
    LoadConfig(Values),
    StopNode,
    AwaitShutdown,
    GetSupervisor(String),
}

/// The controller's answer.
pub(crate) enum Reply {
    Done(Result<(), AppError>),
    Deps(Result<(&'static str, Vec<&'static str>), AppError>),
    Which(Vec<super::RunningApp>),
    Env(Option<String>),
    AllEnv(Vec<(String, String)>),
    Shutdown(NodeStop),
    Supervisor(Option<Pid>),
}

/// A master's report: its application's `start` returned.
pub(crate) struct Up {
    pub(crate) name: &'static str,
    /// The top supervisor's pid, or why it did not start.
    pub(crate) result: Result<Pid, StartError>,
}

struct Loaded {
    app: Arc<dyn Application>,
    defaults: HashMap<String, String>,
}

/// Where a started application is in its life.
enum Phase {
    /// Its master is running `start`; these callers wait for the outcome.
    Starting(Vec<ReplyTo<Reply>>),
    /// Its top supervisor runs as this process.
    Running(Pid),
    /// Its master was asked to stop it; these callers wait.
    Stopping(Vec<ReplyTo<Reply>>),
}

/// An application that is starting, running or stopping.
struct App {
    name: &'static str,
    restart_type: RestartType,
    master: Pid,
    phase: Phase,
}

/// The controller's state. Owned by its process only.
pub(crate) struct Controller {
    loaded: HashMap<&'static str, Loaded>,
    /// In start order (an application joins when its start begins).
    apps: Vec<App>,
    /// `set_env` / `unset_env` (`None`: unset, hides every other source).
    set: HashMap<(String, String), Option<String>>,
    /// Values from config files.
    file: Values,
    /// A `BREAM_CONFIG` file that could not be read: starts are refused.
    config_error: Option<ConfigError>,
    /// Set once the node stops; never cleared.
    stop: Option<NodeStop>,
    /// Callers of `await_shutdown`.
    waiters: Vec<ReplyTo<Reply>>,
}

impl GenServer for Controller {
    type Args = ();
    type Call = Request;
    type Reply = Reply;
    type Cast = ();
    type Info = Up;
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        bream::trap_exit(true);
        let mut controller = Controller {
            loaded: HashMap::new(),
            apps: Vec::new(),
            set: HashMap::new(),
            file: Values::new(),
            config_error: None,
            stop: None,
            waiters: Vec::new(),
        };
        if let Ok(path) = std::env::var("BREAM_CONFIG") {
            match config::read(&path) {
                Ok(values) => controller.file = values,
                Err(e) => {
                    tracing::error!(target: TARGET, error = %e, "BREAM_CONFIG not read");
                    controller.config_error = Some(e);
                }
            }
        }
        Init::ok(controller)
    }

    fn handle_call(&mut self, request: Request, from: ReplyTo<Reply>) -> CallResult<Self> {
        let reply = match request {
            Request::Load(app) => Reply::Done(self.load(app)),
            Request::Unload(name) => Reply::Done(self.unload(&name)),
            Request::Deps(name) => Reply::Deps(self.deps(&name)),
            Request::Start(name, restart_type) => match self.start(&name, restart_type, from) {
                Some(result) => Reply::Done(result),
                None => return CallResult::no_reply(),
            },
            Request::Stop(name) => match self.stop_app(&name, from) {
                Some(result) => Reply::Done(result),
                None => return CallResult::no_reply(),
            },
            Request::Which => Reply::Which(self.which()),
            Request::GetEnv(app, key) => Reply::Env(self.get_env(&app, &key)),
            Request::AllEnv(app) => Reply::AllEnv(self.all_env(&app)),
            Request::SetEnv(app, key, value) => {
                self.set.insert((app, key), value);
                Reply::Done(Ok(()))
            }
            Request::LoadConfig(values) => {
                self.file.extend(values);
                self.config_error = None;
                Reply::Done(Ok(()))
            }
            Request::StopNode => {
                self.begin_node_stop(None, ExitReason::Normal);
                Reply::Done(Ok(()))
            }
            Request::GetSupervisor(name) => Reply::Supervisor(self.supervisor(&name)),
            Request::AwaitShutdown => {
                self.waiters.push(from);
                self.advance_node_stop();
                return CallResult::no_reply();
            }
        };
        CallResult::reply(reply)
    }

    fn handle_info(&mut self, info: Info<Up>) -> Next<Self> {
        match info {
            Info::Message(up) => self.started(up),
            Info::Exit(exit) => self.master_exited(exit.from, exit.reason),
            Info::Down(_) | Info::Timeout | Info::Response(_) => {}
        }
        self.advance_node_stop();
        Next::Wait
    }
}

impl Controller {
    fn load(&mut self, app: Arc<dyn Application>) -> Result<(), AppError> {
        let name = app.name();
        if self.loaded.contains_key(name) {
            return Err(AppError::AlreadyLoaded(name));
        }
        let defaults = app
            .default_env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        self.loaded.insert(name, Loaded { app, defaults });
        Ok(())
    }

    fn unload(&mut self, name: &str) -> Result<(), AppError> {
        if self.apps.iter().any(|a| a.name == name) {
            return Err(AppError::Running(name.to_owned()));
        }
        self.loaded
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| AppError::NotLoaded(name.to_owned()))
    }

    fn deps(&self, name: &str) -> Result<(&'static str, Vec<&'static str>), AppError> {
        let loaded = self
            .loaded
            .get(name)
            .ok_or_else(|| AppError::NotLoaded(name.to_owned()))?;
        Ok((loaded.app.name(), loaded.app.dependencies()))
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.apps.iter().position(|a| a.name == name)
    }

    /// Begin starting `name`; `None`: the answer comes later.
    fn start(
        &mut self,
        name: &str,
        restart_type: RestartType,
        from: ReplyTo<Reply>,
    ) -> Option<Result<(), AppError>> {
        if self.stop.is_some() {
            return Some(Err(AppError::NodeStopped));
        }
        if let Some(e) = &self.config_error {
            return Some(Err(AppError::Config(e.clone())));
        }
        let Some(loaded) = self.loaded.get(name) else {
            return Some(Err(AppError::NotLoaded(name.to_owned())));
        };
        if let Some(i) = self.find(name) {
            return match &mut self.apps[i].phase {
                Phase::Starting(waiting) => {
                    waiting.push(from);
                    None
                }
                Phase::Running(_) | Phase::Stopping(_) => {
                    Some(Err(AppError::AlreadyStarted(name.to_owned())))
                }
            };
        }
        let app = Arc::clone(&loaded.app);
        for dep in app.dependencies() {
            let running = self
                .find(dep)
                .is_some_and(|i| matches!(self.apps[i].phase, Phase::Running(_)));
            if !running {
                return Some(Err(AppError::NotStarted(dep.to_owned())));
            }
        }
        let name = app.name();
        let master = match master::spawn(app, name) {
            Ok(pid) => pid,
            Err(error) => {
                return Some(Err(AppError::StartFailed {
                    app: name.to_owned(),
                    error,
                }))
            }
        };
        self.apps.push(App {
            name,
            restart_type,
            master,
            phase: Phase::Starting(vec![from]),
        });
        None
    }

    /// A master's `start` returned.
    fn started(&mut self, up: Up) {
        let Some(i) = self.find(up.name) else { return };
        let Phase::Starting(waiting) = &mut self.apps[i].phase else {
            return;
        };
        let waiting = std::mem::take(waiting);
        let result = match up.result {
            Ok(sup) => {
                self.apps[i].phase = Phase::Running(sup);
                tracing::info!(
                    target: TARGET,
                    application = up.name,
                    restart_type = ?self.apps[i].restart_type,
                    "application started"
                );
                Ok(())
            }
            Err(error) => {
                self.apps.remove(i);
                Err(AppError::StartFailed {
                    app: up.name.to_owned(),
                    error,
                })
            }
        };
        for from in waiting {
            gen_server::reply(&from, Reply::Done(result.clone()));
        }
    }

    /// Ask `name`'s master to stop it; `None`: the answer comes later.
    fn stop_app(&mut self, name: &str, from: ReplyTo<Reply>) -> Option<Result<(), AppError>> {
        let Some(i) = self.find(name) else {
            return Some(Err(AppError::NotStarted(name.to_owned())));
        };
        let app = &mut self.apps[i];
        match &mut app.phase {
            Phase::Starting(_) => Some(Err(AppError::NotStarted(name.to_owned()))),
            Phase::Stopping(waiting) => {
                waiting.push(from);
                None
            }
            Phase::Running(_) => {
                bream::send(app.master, StopApp);
                app.phase = Phase::Stopping(vec![from]);
                None
            }
        }
    }

    /// A master exited: its application stopped, failed to start, or exited
    /// by itself (then its restart type decides what happens to the node).
    fn master_exited(&mut self, master: Pid, reason: ExitReason) {
        let Some(i) = self.apps.iter().position(|a| a.master == master) else {
            return; // a master whose start failed (already answered)
        };
        let app = self.apps.remove(i);
        match app.phase {
            Phase::Stopping(waiting) => {
                tracing::info!(
                    target: TARGET,
                    application = app.name,
                    restart_type = ?app.restart_type,
                    "application stopped"
                );
                for from in waiting {
                    gen_server::reply(&from, Reply::Done(Ok(())));
                }
            }
            Phase::Starting(waiting) => {
                let error = AppError::StartFailed {
                    app: app.name.to_owned(),
                    error: StartError::Init(reason),
                };
                for from in waiting {
                    gen_server::reply(&from, Reply::Done(Err(error.clone())));
                }
            }
            Phase::Running(_) => {
                tracing::warn!(
                    target: TARGET,
                    application = app.name,
                    restart_type = ?app.restart_type,
                    reason = ?reason,
                    "application exited"
                );
                let stops_node = match app.restart_type {
                    RestartType::Permanent => true,
                    RestartType::Transient => reason != ExitReason::Normal,
                    RestartType::Temporary => false,
                };
                if stops_node {
                    self.begin_node_stop(Some(app.name), reason);
                }
            }
        }
    }

    fn begin_node_stop(&mut self, app: Option<&'static str>, reason: ExitReason) {
        if self.stop.is_some() {
            return;
        }
        tracing::error!(
            target: TARGET,
            application = app,
            reason = ?reason,
            "stopping the node: every application stops, last started first"
        );
        self.stop = Some(NodeStop { app, reason });
        self.advance_node_stop();
    }

    /// One step of stopping the node: stop the last running application once
    /// nothing is starting or stopping; answer the waiters when none is left.
    fn advance_node_stop(&mut self) {
        let Some(stop) = &self.stop else { return };
        let busy = self
            .apps
            .iter()
            .any(|a| !matches!(a.phase, Phase::Running(_)));
        if busy {
            return;
        }
        match self.apps.last_mut() {
            Some(last) => {
                bream::send(last.master, StopApp);
                last.phase = Phase::Stopping(Vec::new());
            }
            None => {
                for from in self.waiters.drain(..) {
                    gen_server::reply(&from, Reply::Shutdown(stop.clone()));
                }
            }
        }
    }

    fn supervisor(&self, name: &str) -> Option<Pid> {
        match self.apps[self.find(name)?].phase {
            Phase::Running(sup) => Some(sup),
            Phase::Starting(_) | Phase::Stopping(_) => None,
        }
    }

    fn which(&self) -> Vec<super::RunningApp> {
        self.apps
            .iter()
            .filter(|a| matches!(a.phase, Phase::Running(_)))
            .map(|a| super::RunningApp {
                name: a.name,
                restart_type: a.restart_type,
            })
            .collect()
    }

    /// `set_env`, then the environment variable, then config files, then the
    /// application's defaults (config.rs).
    fn get_env(&self, app: &str, key: &str) -> Option<String> {
        let k = (app.to_owned(), key.to_owned());
        if let Some(set) = self.set.get(&k) {
            return set.clone();
        }
        if let Ok(value) = std::env::var(config::env_var_name(app, key)) {
            return Some(value);
        }
        if let Some(value) = self.file.get(&k) {
            return Some(value.clone());
        }
        self.loaded.get(app)?.defaults.get(key).cloned()
    }

    fn all_env(&self, app: &str) -> Vec<(String, String)> {
        let mut keys: Vec<&String> = Vec::new();
        if let Some(loaded) = self.loaded.get(app) {
            keys.extend(loaded.defaults.keys());
        }
        fn in_app<'a>(app: &str, (a, k): &'a (String, String)) -> Option<&'a String> {
            (a == app).then_some(k)
        }
        keys.extend(self.file.keys().filter_map(|k| in_app(app, k)));
        keys.extend(self.set.keys().filter_map(|k| in_app(app, k)));
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter_map(|k| Some((k.clone(), self.get_env(app, k)?)))
            .collect()
    }
}
