//! application: a program made of components that start and stop as units,
//! OTP's Application behaviour.
//!
//! An OTP *application* is a supervision tree with a name, a list of
//! applications it needs running first, and configuration. The node starts
//! applications in dependency order, stops them in reverse, and decides by each
//! one's *restart type* what its unexpected exit means: nothing (temporary), or
//! the end of the whole node (permanent; transient if the exit was abnormal).
//!
//! | OTP                                              | bream_stdlib                                  |
//! |--------------------------------------------------|-----------------------------------------------|
//! | `-behaviour(application)`, `Module:start/2` → `{ok, Pid}` | `impl` [`Application`], [`Application::start`] → `SupervisorRef` |
//! | `Module:prep_stop/1`, `Module:stop/1`            | [`Application::prep_stop`], [`Application::stop`] |
//! | the `.app` file: `applications`, `env`           | [`Application::dependencies`], [`Application::default_env`] |
//! | `application:load/1`, `unload/1`                | [`load`], [`unload`]                          |
//! | `application:start/2`, `ensure_started/2`, `ensure_all_started/2` | [`start`], [`ensure_started`], [`ensure_all_started`] |
//! | `application:stop/1`                             | [`stop`]                                      |
//! | `permanent`, `transient`, `temporary`            | [`RestartType`]                               |
//! | `application:get_env/2,3`, `get_all_env/1`, `set_env/3`, `unset_env/2` | [`get_env`], [`get_env_or`], [`get_all_env`], [`set_env`], [`unset_env`] |
//! | `sys.config` (`erl -config F`), `erl -App Par Val` | [`load_config`] / `BREAM_CONFIG=F`, `BREAM_<APP>__<KEY>=V` (config.rs) |
//! | `which_applications/0`, `get_supervisor/1`       | [`which_applications`], [`get_supervisor`]    |
//! | `init:stop/0`; the node halting when a permanent application exits | [`stop_node`]; [`await_shutdown`] returns [`NodeStop`] |
//!
//! # What "the node stops" means in bream (docs/adr/stdlib-0003-application.md)
//!
//! A BEAM node is an OS process, and OTP halts it. A bream runtime is a value
//! inside a Rust program that may run several, so the stdlib does not end the
//! OS process: the *application controller* stops every running application in
//! reverse start order, refuses to start new ones, and answers every process
//! waiting in [`await_shutdown`] with the [`NodeStop`] that says why. A program
//! whose main process (the one `bream::run` runs) waits there returns from
//! `bream::run`, which shuts the runtime down:
//!
//! ```
//! use bream_stdlib::application::{self, Application, RestartType};
//! use bream_stdlib::supervisor::{Strategy, Supervisor, SupervisorRef};
//! use bream_stdlib::StartError;
//!
//! struct Hello;
//! impl Application for Hello {
//!     fn name(&self) -> &'static str { "hello" }
//!     fn start(&self) -> Result<SupervisorRef, StartError> {
//!         Supervisor::new(Strategy::OneForOne).start_link()
//!     }
//! }
//!
//! let why = bream::run(|| {
//!     application::load(Hello).unwrap();
//!     application::ensure_all_started("hello", RestartType::Permanent).unwrap();
//!     // ... the program runs until something calls stop_node, or a permanent
//!     // application exits:
//!     bream::spawn(|| application::stop_node());
//!     application::await_shutdown()
//! });
//! assert_eq!(why.app, None); // stop_node, not an application's exit
//! ```
//!
//! # Processes
//!
//! The controller is a gen_server registered as `application_controller`,
//! started by the first call that needs it (one per runtime). Each running
//! application has a *master* process (`master.rs`, OTP's
//! `application_master`) that calls `start`, is linked to the top supervisor,
//! and reports its exit to the controller (to which it is linked).
//! Configuration lives in the controller; `config.rs` says where values come
//! from.

mod api;
mod config;
mod controller;
mod master;

use std::fmt;

use bream::ExitReason;

use crate::gen_server::CallError;
use crate::start::StartError;
use crate::supervisor::SupervisorRef;

pub use api::{
    await_shutdown, ensure_all_started, ensure_started, get_all_env, get_env, get_env_or,
    get_supervisor, load, load_config, load_config_str, set_env, start, stop, stop_node, unload,
    unset_env, which_applications, RunningApp,
};
pub use config::{env_var_name, ConfigError};

/// An application: OTP's application callback module together with its
/// `.app` resource file (name, dependencies, default configuration).
///
/// Only [`name`](Application::name) and [`start`](Application::start) are
/// required. The callbacks run in the application's master process, so they
/// may call [`get_env`] and the supervisor functions.
pub trait Application: Send + Sync + 'static {
    /// The application's name, unique among the loaded ones.
    fn name(&self) -> &'static str;

    /// The applications that must run before this one starts (OTP's
    /// `applications` key). [`ensure_all_started`] starts them first, in
    /// order; [`start`] refuses to start without them.
    fn dependencies(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// Default configuration values (OTP's `env` key), overridable from a file,
    /// the environment and [`set_env`] (see [`get_env`]).
    fn default_env(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Start the application's top supervisor, linked to the caller (OTP's
    /// `Module:start(normal, Args)` → `{ok, Pid}`). The application runs as
    /// long as that supervisor does.
    ///
    /// # Errors
    ///
    /// Whatever keeps it from starting; [`start`] returns it as
    /// [`AppError::StartFailed`].
    fn start(&self) -> Result<SupervisorRef, StartError>;

    /// Called before the top supervisor is stopped (OTP's `prep_stop/1`).
    fn prep_stop(&self) {}

    /// Called after the top supervisor has exited, whether it was stopped or
    /// exited by itself (OTP's `Module:stop/1`).
    fn stop(&self) {}
}

/// What an application's exit means for the node (OTP's `restart_type()`;
/// application(3), `start/2`). An explicit [`stop`] never affects the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartType {
    /// Its exit, for any reason, stops every other application and the node.
    Permanent,
    /// Its exit with reason `Normal` is reported and nothing else happens; any
    /// other reason stops the node as `Permanent` does. (A supervisor that
    /// gives up exits `Shutdown`, which is not `Normal`.)
    Transient,
    /// Its exit is reported and nothing else happens.
    Temporary,
}

/// Why the node stopped: what [`await_shutdown`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeStop {
    /// The application whose exit stopped the node (`None`: [`stop_node`]
    /// was called, or the controller itself died).
    pub app: Option<&'static str>,
    /// Its exit reason (`Normal` for [`stop_node`]).
    pub reason: ExitReason,
}

/// Why an application operation failed (OTP's `{error, Reason}` values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppError {
    /// No application of this name is loaded (OTP's `{not_loaded, App}`; an
    /// application must be [`load`]ed before it can start).
    NotLoaded(String),
    /// [`load`]: one of this name is loaded already.
    AlreadyLoaded(&'static str),
    /// [`start`]: it runs already.
    AlreadyStarted(String),
    /// [`start`]: this dependency is not running; [`stop`]: the application
    /// is not running (OTP's `{not_started, App}`).
    NotStarted(String),
    /// [`unload`]: it is running; stop it first.
    Running(String),
    /// [`ensure_all_started`]: these applications depend on each other in a
    /// circle.
    CircularDependencies(Vec<String>),
    /// The application's [`Application::start`] failed (or panicked).
    StartFailed {
        /// The application.
        app: String,
        /// Why.
        error: StartError,
    },
    /// The node is stopping or stopped: nothing starts any more.
    NodeStopped,
    /// The config file named by `BREAM_CONFIG` could not be read: nothing
    /// starts until it is fixed ([`load_config`] with a good file clears it).
    Config(ConfigError),
    /// The application controller could not be reached.
    Controller(CallError),
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::NotLoaded(app) => write!(f, "application {app} is not loaded"),
            AppError::AlreadyLoaded(app) => write!(f, "application {app} is already loaded"),
            AppError::AlreadyStarted(app) => write!(f, "application {app} is already started"),
            AppError::NotStarted(app) => write!(f, "application {app} is not started"),
            AppError::Running(app) => write!(f, "application {app} is running"),
            AppError::CircularDependencies(apps) => {
                write!(f, "circular dependencies among {apps:?}")
            }
            AppError::StartFailed { app, error } => write!(f, "application {app}: {error}"),
            AppError::NodeStopped => f.write_str("the node is stopping"),
            AppError::Config(e) => write!(f, "config: {e}"),
            AppError::Controller(e) => write!(f, "application controller: {e}"),
        }
    }
}

impl std::error::Error for AppError {}
