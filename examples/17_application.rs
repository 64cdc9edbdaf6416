//! Chapter 17: applications.
//!
//! What it teaches: a program is a set of *applications*, each a supervision
//! tree with a name, dependencies and configuration (OTP's Application
//! behaviour). `ensure_all_started` starts an application after the ones it
//! depends on; configuration comes from the program's defaults, a config file
//! (`BREAM_CONFIG`), environment variables (`BREAM_SHOP__WORKERS=5`) and
//! `set_env`; the top supervisor's init callback reads it at every start. A
//! crash the supervisor can fix is fixed inside the application; when a
//! *permanent* application exits, the node stops: every application stops,
//! last started first, `await_shutdown` returns why, and so does `bream::run`.
//!
//! What it prints: the applications as they start, the configuration the shop
//! read, a worker crash that the shop's supervisor repairs, then the shop's top
//! supervisor killed, the applications stopping in reverse order, and why the
//! node stopped.
//!
//! Run: `cargo run -p bream-stdlib --example 17_application`
//! (try `BREAM_SHOP__WORKERS=5` in front of it).

use bream::{ExitReason, Pid};
use bream_stdlib::application::{self, Application, RestartType};
use bream_stdlib::supervisor::{
    self, ChildSpec, ChildState, Init, Strategy, Supervisor, SupervisorRef,
};
use bream_stdlib::StartError;

/// A worker that waits for nothing (the chapter is about the applications).
fn idle_worker() -> Result<Pid, StartError> {
    Ok(bream::spawn_link(|| {
        bream::receive::<()>();
    }))
}

/// The `log` application: a base the shop depends on.
struct Log;

impl Application for Log {
    fn name(&self) -> &'static str {
        "log"
    }
    fn start(&self) -> Result<SupervisorRef, StartError> {
        println!("[log] start");
        Supervisor::new(Strategy::OneForOne)
            .child(ChildSpec::worker("writer", idle_worker))
            .start_link()
    }
    fn stop(&self) {
        println!("[log] stopped");
    }
}

/// The `shop` application: as many workers as its configuration says.
struct Shop;

impl Application for Shop {
    fn name(&self) -> &'static str {
        "shop"
    }
    fn dependencies(&self) -> Vec<&'static str> {
        vec!["log"]
    }
    fn default_env(&self) -> Vec<(&'static str, String)> {
        vec![("workers", "2".into()), ("greeting", "welcome".into())]
    }
    fn start(&self) -> Result<SupervisorRef, StartError> {
        println!("[shop] start");
        // The init callback runs in the supervisor at every (re)start, so a
        // restarted shop would read the configuration as it is then.
        supervisor::start_link(|| {
            let workers: usize = application::get_env("shop", "workers")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            println!(
                "[shop] {} workers, greeting {:?}",
                workers,
                application::get_env_or("shop", "greeting", "hi")
            );
            let mut spec = Supervisor::new(Strategy::OneForOne);
            for i in 0..workers {
                spec = spec.child(ChildSpec::worker(format!("clerk{i}"), idle_worker));
            }
            Init::Ready(spec)
        })
    }
    fn prep_stop(&self) {
        println!("[shop] prep_stop");
    }
    fn stop(&self) {
        println!("[shop] stopped");
    }
}

fn clerk(shop: &SupervisorRef) -> Pid {
    match supervisor::which_children(shop).unwrap()[0].state {
        ChildState::Running(pid) => pid,
        other => panic!("clerk0 is {other:?}"),
    }
}

fn main() {
    let why = bream::run(|| {
        application::load(Log).unwrap();
        application::load(Shop).unwrap();
        // As if from a config file (BREAM_CONFIG=shop.conf does the same).
        application::load_config_str("[shop]\ngreeting = \"good morning\"\n").unwrap();

        let started = application::ensure_all_started("shop", RestartType::Permanent).unwrap();
        println!("started, in order: {started:?}");

        // A crash inside the shop: its supervisor restarts the clerk.
        let shop = application::get_supervisor("shop").unwrap();
        let before = clerk(&shop);
        bream::exit(before, ExitReason::Kill);
        while supervisor::which_children(&shop).unwrap()[0].state == ChildState::Running(before) {
            bream::sleep(std::time::Duration::from_millis(1));
        }
        println!("clerk0 crashed and was restarted; running: {:?}", names());

        // A crash the shop cannot repair: its top supervisor dies. The shop is
        // permanent, so the node stops.
        println!("killing the shop's top supervisor");
        bream::exit(shop.pid().unwrap(), ExitReason::Kill);
        application::await_shutdown()
    });
    println!(
        "node stopped because {:?} exited with {:?}",
        why.app, why.reason
    );
    println!("bream::run has returned: the runtime is shut down");
}

fn names() -> Vec<&'static str> {
    application::which_applications()
        .into_iter()
        .map(|a| a.name)
        .collect()
}
