//! Exit reasons, and the two messages that signals become: [`Exit`] and [`Down`].
//! The rules that decide what an exit signal does are in exit.rs.

use std::fmt;

use crate::pid::{MonitorRef, Pid};

/// Why a process exited (Erlang's exit reason). Exit reasons are data, not
/// errors: they travel to linked processes in exit signals and to monitors in
/// [`Down`] messages.
///
/// ```
/// use bream::ExitReason;
/// bream::run(|| {
///     let (_, _) = bream::spawn_monitor(|| bream::exit_self(ExitReason::Other("bye".into())));
///     let down: bream::Down = bream::receive();
///     assert_eq!(down.reason, ExitReason::Other("bye".into()));
///     assert!(!down.reason.is_normal());
/// });
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// The process's function returned (Erlang's `normal`). Linked processes
    /// that do not trap exits ignore it.
    Normal,
    /// An orderly shutdown, e.g. by a supervisor (Erlang's `shutdown`). Kills
    /// linked processes that do not trap exits, but is not a crash: no crash
    /// report.
    Shutdown,
    /// Sent with [`exit`](crate::exit), kills the target even if it traps exits;
    /// it then exits with [`Killed`](ExitReason::Killed). Arriving through a link
    /// it is *not* converted (a trapping process gets `Exit { reason: Kill }`).
    Kill,
    /// The process was killed with [`exit(pid, Kill)`](crate::exit).
    Killed,
    /// The process did not exist (linking to or monitoring a dead pid).
    NoProc,
    /// The connection to the node of a remote process was lost (Erlang's
    /// `noconnection`): every link to a process of that node fires with it,
    /// every monitor of one delivers a [`Down`] with it (docs/distribution.md).
    NoConnection,
    /// The process panicked; the panic message.
    Panic(String),
    /// The process ran off the end of its stack (hit its guard page).
    StackOverflow,
    /// Any other reason, chosen by the program.
    Other(String),
}

impl ExitReason {
    /// `Normal` or `Shutdown`: the reasons OTP does not report as crashes.
    pub fn is_normal(&self) -> bool {
        matches!(self, ExitReason::Normal | ExitReason::Shutdown)
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::Kill => f.write_str("kill"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::NoProc => f.write_str("noproc"),
            ExitReason::NoConnection => f.write_str("noconnection"),
            ExitReason::Panic(m) => write!(f, "panic: {m}"),
            ExitReason::StackOverflow => f.write_str("stack overflow"),
            ExitReason::Other(s) => f.write_str(s),
        }
    }
}

/// An exit signal turned into a message: what a process that traps exits
/// (see [`trap_exit`](crate::trap_exit)) receives instead of dying (Erlang's
/// `{'EXIT', From, Reason}`).
///
/// ```
/// use bream::{Exit, ExitReason};
/// bream::run(|| {
///     bream::trap_exit(true);
///     let child = bream::spawn_link(|| bream::exit_self(ExitReason::Shutdown));
///     let Exit { from, reason } = bream::receive::<Exit>();
///     assert_eq!((from, reason), (child, ExitReason::Shutdown));
/// });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    /// Who sent the signal: the linked process that exited, or the caller of
    /// [`exit`](crate::exit).
    pub from: Pid,
    /// Its reason.
    pub reason: ExitReason,
}

/// What a monitor delivers when the monitored process exits (Erlang's
/// `{'DOWN', Ref, process, Pid, Reason}`). It arrives after every message the
/// monitored process sent to the watcher.
///
/// ```
/// use bream::{Down, ExitReason};
/// bream::run(|| {
///     let (pid, monitor) = bream::spawn_monitor(|| panic!("boom"));
///     let down: Down = bream::receive();
///     assert_eq!(down, Down { monitor, pid, reason: ExitReason::Panic("boom".into()) });
/// });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Down {
    /// The monitor that fired.
    pub monitor: MonitorRef,
    /// The process that was monitored.
    pub pid: Pid,
    /// Why it exited (`NoProc` if it was already dead when monitored).
    pub reason: ExitReason,
}
