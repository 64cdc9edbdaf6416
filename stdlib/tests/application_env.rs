//! application: configuration from the OS environment, mirroring OTP Design
//! Principles, "Applications", "Configuring an Application" (`erl -config
//! File` names a configuration file; `erl -ApplName Par Val` on the command
//! line overrides it). In bream: `BREAM_CONFIG=File` and
//! `BREAM_<APP>__<KEY>=Val`.
//!
//! One test in its own binary: it sets environment variables, which must not
//! race with other tests' threads reading the environment.

use std::sync::mpsc;
use std::time::Duration;

use bream::ExitReason;
use bream_stdlib::application::{self, AppError, Application, ConfigError, RestartType};
use bream_stdlib::supervisor::{Strategy, Supervisor, SupervisorRef};
use bream_stdlib::StartError;

struct EnvApp;
impl Application for EnvApp {
    fn name(&self) -> &'static str {
        "envapp"
    }
    fn default_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("port", "1".into()),
            ("host", "localhost".into()),
            ("mode", "dev".into()),
        ]
    }
    fn start(&self) -> Result<SupervisorRef, StartError> {
        Supervisor::new(Strategy::OneForOne).start_link()
    }
}

/// Run `test` in a fresh runtime under a watchdog.
fn watchdog(test: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        bream::run(test);
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(20)) {
        Ok(()) => thread.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test hung (watchdog)"),
    }
}

#[test]
fn the_config_file_and_environment_variables_override_the_defaults() {
    let dir = std::env::temp_dir();
    let good = dir.join(format!("bream-env-{}.conf", std::process::id()));
    std::fs::write(&good, "[envapp]\nport = 2\nhost = example.org\n").unwrap();

    // A BREAM_CONFIG that cannot be read: nothing starts until a good
    // config is loaded.
    std::env::set_var("BREAM_CONFIG", dir.join("no-such-bream.conf"));
    let good_path = good.to_str().unwrap().to_owned();
    watchdog(move || {
        application::load(EnvApp).unwrap();
        assert!(matches!(
            application::start("envapp", RestartType::Temporary),
            Err(AppError::Config(ConfigError::Io { .. }))
        ));
        application::load_config(&good_path).unwrap();
        application::start("envapp", RestartType::Temporary).unwrap();
        application::stop_node();
        assert_eq!(application::await_shutdown().reason, ExitReason::Normal);
    });

    // defaults < BREAM_CONFIG file < BREAM_ENVAPP__<KEY> < set_env.
    std::env::set_var("BREAM_CONFIG", &good);
    std::env::set_var("BREAM_ENVAPP__PORT", "3");
    std::env::set_var("BREAM_ENVAPP__MODE", "prod");
    watchdog(|| {
        application::load(EnvApp).unwrap();
        assert_eq!(
            application::get_env("envapp", "host").as_deref(),
            Some("example.org")
        );
        assert_eq!(application::get_env("envapp", "port").as_deref(), Some("3"));
        assert_eq!(
            application::get_env("envapp", "mode").as_deref(),
            Some("prod")
        );
        application::set_env("envapp", "port", "4");
        assert_eq!(application::get_env("envapp", "port").as_deref(), Some("4"));
        assert_eq!(
            application::get_all_env("envapp"),
            [("host", "example.org"), ("mode", "prod"), ("port", "4")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    });
    std::env::remove_var("BREAM_CONFIG");
    std::env::remove_var("BREAM_ENVAPP__PORT");
    std::env::remove_var("BREAM_ENVAPP__MODE");
    std::fs::remove_file(&good).unwrap();
}
