//! The application functions (OTP's `application` module), each a call to the
//! runtime's application controller, which the first of them starts.

use std::sync::Arc;

use super::config::{self, ConfigError};
use super::controller::{Controller, Reply, Request};
use super::{AppError, Application, NodeStop, RestartType};
use crate::gen_server::{self, CallError, ServerRef, INFINITY};
use crate::start::StartError;
use crate::supervisor::SupervisorRef;

/// The controller's registered name (OTP's).
const CONTROLLER: &str = "application_controller";

/// One line of [`which_applications`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningApp {
    /// The application's name.
    pub name: &'static str,
    /// How it was started.
    pub restart_type: RestartType,
}

/// The controller, started if it is not running yet.
fn controller() -> Result<ServerRef<Controller>, AppError> {
    if bream::whereis(CONTROLLER).is_none() {
        match gen_server::start_named::<Controller>(CONTROLLER, ()) {
            // AlreadyStarted: another process started it meanwhile.
            Ok(_) | Err(StartError::AlreadyStarted(_)) => {}
            Err(e) => {
                let reason = match e {
                    StartError::Init(reason) => reason,
                    other => bream::ExitReason::Other(other.to_string()),
                };
                return Err(AppError::Controller(CallError::Exit(reason)));
            }
        }
    }
    Ok(ServerRef::named(CONTROLLER))
}

fn call(request: Request) -> Result<Reply, AppError> {
    gen_server::call(&controller()?, request, INFINITY).map_err(AppError::Controller)
}

fn done(request: Request) -> Result<(), AppError> {
    match call(request)? {
        Reply::Done(result) => result,
        _ => unreachable!("the controller answers this request with Done"),
    }
}

/// Make `app` known to this runtime (OTP's `application:load/1`, which reads
/// the `.app` file): its name, dependencies and default configuration. An
/// application must be loaded before it can start.
///
/// # Errors
///
/// `AlreadyLoaded(name)`.
pub fn load(app: impl Application) -> Result<(), AppError> {
    done(Request::Load(Arc::new(app)))
}

/// Forget a loaded application that is not running (OTP's `unload/1`).
///
/// # Errors
///
/// `NotLoaded`, or `Running` if it is starting, running or stopping.
pub fn unload(name: &str) -> Result<(), AppError> {
    done(Request::Unload(name.to_owned()))
}

/// Start the loaded application `name` (OTP's `application:start/2`): its
/// master process calls [`Application::start`]; this returns when that has
/// returned. Every application in its
/// [`dependencies`](Application::dependencies) must be running.
///
/// # Errors
///
/// `NotLoaded`, `AlreadyStarted`, `NotStarted(dependency)`,
/// `StartFailed { app, error }`, `NodeStopped`, `Config(e)`.
pub fn start(name: &str, restart_type: RestartType) -> Result<(), AppError> {
    done(Request::Start(name.to_owned(), restart_type))
}

/// [`start`], where "it runs already" is success (OTP's `ensure_started/2`).
///
/// # Errors
///
/// As [`start`], but never `AlreadyStarted`.
pub fn ensure_started(name: &str, restart_type: RestartType) -> Result<(), AppError> {
    match start(name, restart_type) {
        Err(AppError::AlreadyStarted(_)) => Ok(()),
        other => other,
    }
}

/// Start `name` and, first, every application it depends on, directly or
/// not, each after its own dependencies, all with `restart_type` (OTP's
/// `ensure_all_started/2`). Returns the applications this call started, in
/// start order (those already running are left out). If one fails, the ones
/// this call started are stopped again, last first.
///
/// # Errors
///
/// `NotLoaded(app)` for any application in the tree that is not loaded,
/// `CircularDependencies`, or the first start's error.
pub fn ensure_all_started(
    name: &str,
    restart_type: RestartType,
) -> Result<Vec<&'static str>, AppError> {
    let order = start_order(name)?;
    let mut started = Vec::new();
    for app in order {
        match start(app, restart_type) {
            Ok(()) => started.push(app),
            Err(AppError::AlreadyStarted(_)) => {}
            Err(error) => {
                for app in started.iter().rev() {
                    let _ = stop(app);
                }
                return Err(error);
            }
        }
    }
    Ok(started)
}

/// `name` and its dependencies, each after the ones it depends on (a
/// depth-first post-order walk, which also finds circles).
fn start_order(name: &str) -> Result<Vec<&'static str>, AppError> {
    fn visit(
        name: &str,
        path: &mut Vec<&'static str>,
        order: &mut Vec<&'static str>,
    ) -> Result<(), AppError> {
        if order.contains(&name) {
            return Ok(());
        }
        let (name, deps) = match call(Request::Deps(name.to_owned()))? {
            Reply::Deps(result) => result?,
            _ => unreachable!("the controller answers Deps with Deps"),
        };
        if let Some(at) = path.iter().position(|a| *a == name) {
            let circle = path[at..].iter().map(|a| a.to_string()).collect();
            return Err(AppError::CircularDependencies(circle));
        }
        path.push(name);
        for dep in deps {
            visit(dep, path, order)?;
        }
        path.pop();
        order.push(name);
        Ok(())
    }
    let mut order = Vec::new();
    visit(name, &mut Vec::new(), &mut order)?;
    Ok(order)
}

/// Stop the application `name` (OTP's `application:stop/1`): `prep_stop`, its
/// supervision tree is shut down, `stop`. Whatever its restart type, this does
/// not stop the node; the applications that depend on it keep running.
///
/// # Errors
///
/// `NotStarted(name)` if it is not running.
pub fn stop(name: &str) -> Result<(), AppError> {
    done(Request::Stop(name.to_owned()))
}

/// The running applications, in start order (OTP's `which_applications/0`).
pub fn which_applications() -> Vec<RunningApp> {
    match call(Request::Which) {
        Ok(Reply::Which(apps)) => apps,
        _ => Vec::new(),
    }
}

/// The top supervisor of the running application `name` (OTP's
/// `get_supervisor/1`); `None` if it is not running.
pub fn get_supervisor(name: &str) -> Option<SupervisorRef> {
    match call(Request::GetSupervisor(name.to_owned())) {
        Ok(Reply::Supervisor(pid)) => pid.map(SupervisorRef::from_pid),
        _ => None,
    }
}

/// The configuration value `key` of application `app` (OTP's `get_env/2`):
/// the first found of [`set_env`], the environment variable
/// `BREAM_<APP>__<KEY>` ([`env_var_name`](super::env_var_name)), the config
/// files, and the application's [`default_env`](Application::default_env).
///
/// ```
/// use bream_stdlib::application;
///
/// bream::run(|| {
///     application::load_config_str("[web]\nport = 8080\n").unwrap();
///     let port: u16 = application::get_env("web", "port").unwrap().parse().unwrap();
///     assert_eq!(port, 8080);
///     application::set_env("web", "port", "9090");
///     assert_eq!(application::get_env("web", "port").as_deref(), Some("9090"));
///     assert_eq!(application::get_env("web", "nope"), None);
/// });
/// ```
pub fn get_env(app: &str, key: &str) -> Option<String> {
    match call(Request::GetEnv(app.to_owned(), key.to_owned())) {
        Ok(Reply::Env(value)) => value,
        _ => None,
    }
}

/// [`get_env`], or `default` if there is no value (OTP's `get_env/3`).
pub fn get_env_or(app: &str, key: &str, default: &str) -> String {
    get_env(app, key).unwrap_or_else(|| default.to_owned())
}

/// Every configuration value of `app` as [`get_env`] sees it, sorted by key
/// (OTP's `get_all_env/1`). An environment variable overrides a key that
/// another source names; it does not add keys.
pub fn get_all_env(app: &str) -> Vec<(String, String)> {
    match call(Request::AllEnv(app.to_owned())) {
        Ok(Reply::AllEnv(values)) => values,
        _ => Vec::new(),
    }
}

/// Set `app`'s `key`, over every other source (OTP's `set_env/3`).
pub fn set_env(app: &str, key: &str, value: impl Into<String>) {
    let _ = done(Request::SetEnv(
        app.to_owned(),
        key.to_owned(),
        Some(value.into()),
    ));
}

/// Remove `app`'s `key`: [`get_env`] returns `None` for it, whatever the other
/// sources say, until it is set again (OTP's `unset_env/2`).
pub fn unset_env(app: &str, key: &str) {
    let _ = done(Request::SetEnv(app.to_owned(), key.to_owned(), None));
}

/// Read a config file (format: config.rs; OTP's `sys.config`). Its values
/// override the defaults and earlier files. The file named by the environment
/// variable `BREAM_CONFIG` is read this way when the controller starts.
///
/// # Errors
///
/// The file cannot be read, or a line is not valid (nothing is applied).
pub fn load_config(path: &str) -> Result<(), ConfigError> {
    apply_config(config::read(path)?);
    Ok(())
}

/// [`load_config`] from a string.
///
/// # Errors
///
/// A line is not valid (nothing is applied).
pub fn load_config_str(text: &str) -> Result<(), ConfigError> {
    apply_config(config::parse(text)?);
    Ok(())
}

fn apply_config(values: config::Values) {
    let _ = done(Request::LoadConfig(values));
}

/// Stop the node (OTP's `init:stop/0`): every running application stops,
/// last started first, and [`await_shutdown`] returns
/// `NodeStop { app: None, reason: Normal }`. Returns at once.
pub fn stop_node() {
    let _ = done(Request::StopNode);
}

/// Wait until the node has stopped, that is until every application has been
/// stopped after [`stop_node`] or after the exit of a permanent application
/// (or a transient one, abnormally); returns why. Call it from the program's
/// main process, so that `bream::run` returns and shuts the runtime down
/// (docs/adr/stdlib-0003-application.md).
pub fn await_shutdown() -> NodeStop {
    match call(Request::AwaitShutdown) {
        Ok(Reply::Shutdown(stop)) => stop,
        Ok(_) => unreachable!("the controller answers AwaitShutdown with Shutdown"),
        Err(error) => NodeStop {
            app: None,
            reason: match error {
                AppError::Controller(CallError::Exit(reason)) => reason,
                other => bream::ExitReason::Other(other.to_string()),
            },
        },
    }
}
