//! An application's master process (OTP's `application_master`): it runs the
//! application's callbacks and holds its top supervisor.
//!
//! 1. Spawned by the controller, linked to it, trapping exits.
//! 2. Calls [`Application::start`]; a panic there is a failed start. It links
//!    to the top supervisor (`start_link` already did, unless the application
//!    used `start`) and tells the controller [`Up`] either way; on a failure it
//!    exits `Normal`.
//! 3. Waits for one of:
//!    - [`StopApp`] from the controller: `prep_stop`, stop the supervisor
//!      (unlinked first, so its exit is not mistaken for a crash), `stop`, and
//!      exit `Normal`;
//!    - the controller's exit signal: the same, then exit with its reason;
//!    - the supervisor's exit: `prep_stop`, `stop`, and exit with the
//!      supervisor's reason, which the controller judges by the restart type.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use bream::{receive, Exit, ExitReason, Pid};

use super::controller::Up;
use super::Application;
use crate::gen_server::INFINITY;
use crate::start::{panic_message, StartError};
use crate::supervisor::{self, SupervisorRef};

/// "Stop your application" (controller → master).
pub(crate) struct StopApp;

/// Spawn the master of `app`, linked to the caller (the controller).
pub(crate) fn spawn(app: Arc<dyn Application>, name: &'static str) -> Result<Pid, StartError> {
    let controller = bream::self_pid();
    let opts = bream::SpawnOpts {
        link: true,
        trap_exit: true,
        ..Default::default()
    };
    bream::spawn_opt(opts, move || run(&*app, name, controller))
        .map(|(pid, _)| pid)
        .map_err(|e| StartError::Spawn(e.to_string()))
}

fn run(app: &dyn Application, name: &'static str, controller: Pid) {
    let sup = match start(app) {
        Ok(sup) => sup,
        Err(error) => {
            bream::send(
                controller,
                Up {
                    name,
                    result: Err(error),
                },
            );
            return;
        }
    };
    let sup_pid = sup.pid().expect("start checked the supervisor's pid");
    bream::send(
        controller,
        Up {
            name,
            result: Ok(sup_pid),
        },
    );
    let reason = receive! {
        _: StopApp => {
            stop_tree(app, &sup, sup_pid);
            ExitReason::Normal
        },
        e: Exit if e.from == controller => {
            stop_tree(app, &sup, sup_pid);
            e.reason
        },
        e: Exit if e.from == sup_pid => {
            app.prep_stop();
            app.stop();
            e.reason
        },
    };
    bream::exit_self(reason)
}

/// Run `app.start()`, catching a panic; link to the supervisor it returns.
fn start(app: &dyn Application) -> Result<SupervisorRef, StartError> {
    let sup = match catch_unwind(AssertUnwindSafe(|| app.start())) {
        Ok(result) => result?,
        Err(payload) => match panic_message(&*payload) {
            Some(message) => return Err(StartError::Init(ExitReason::Panic(message.into()))),
            None => resume_unwind(payload),
        },
    };
    let pid = sup.pid().ok_or(StartError::Init(ExitReason::NoProc))?;
    bream::link(pid);
    Ok(sup)
}

/// Stop the top supervisor as OTP's master does: `prep_stop`, shut the tree
/// down, `stop`.
fn stop_tree(app: &dyn Application, sup: &SupervisorRef, sup_pid: Pid) {
    app.prep_stop();
    bream::unlink(sup_pid);
    // NoProc: it died just before the unlink (its Exit is flushed below).
    let _ = supervisor::stop(sup, ExitReason::Shutdown, INFINITY);
    receive! {
        e: Exit if e.from == sup_pid => drop(e),
        after Duration::ZERO => (),
    };
    app.stop();
}
