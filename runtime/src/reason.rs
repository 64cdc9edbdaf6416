//! Exit reasons, and the two messages that signals become: [`Exit`] and [`Down`].
//! The rules that decide what an exit signal does are in exit.rs. A panic's
//! reason carries where it happened ([`PanicInfo`]; report.rs captures it,
//! docs/adr/runtime-0002-crash-reports.md says why it is shaped so).

use std::backtrace::Backtrace;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

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
    /// An orderly shutdown with a reason (Erlang's `{shutdown, Term}`): treated
    /// as [`Shutdown`](ExitReason::Shutdown) everywhere (links, monitors, crash
    /// reports, a supervisor's `transient` restart type), so a process can stop
    /// "normally" and still say why.
    ShutdownWith(String),
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
    /// The process panicked: the panic message, and where it panicked
    /// ([`PanicInfo`]; compares by message, so `Panic("boom".into())` equals
    /// the reason of any `panic!("boom")`).
    Panic(PanicInfo),
    /// The process ran off the end of its stack (hit its guard page).
    StackOverflow,
    /// Any other reason, chosen by the program.
    Other(String),
}

impl ExitReason {
    /// `Normal`, `Shutdown` or `ShutdownWith(_)`: the reasons OTP does not
    /// report as crashes.
    pub fn is_normal(&self) -> bool {
        matches!(
            self,
            ExitReason::Normal | ExitReason::Shutdown | ExitReason::ShutdownWith(_)
        )
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::ShutdownWith(why) => write!(f, "shutdown: {why}"),
            ExitReason::Kill => f.write_str("kill"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::NoProc => f.write_str("noproc"),
            ExitReason::NoConnection => f.write_str("noconnection"),
            ExitReason::Panic(p) => match p.location() {
                Some(at) => write!(f, "panic at {at}: {}", p.message()),
                None => write!(f, "panic: {}", p.message()),
            },
            ExitReason::StackOverflow => f.write_str("stack overflow"),
            ExitReason::Other(s) => f.write_str(s),
        }
    }
}

/// A panic as an exit reason: its message, and where it happened when the
/// runtime saw it (a panic in the process's code or in its
/// [`blocking`](crate::blocking) job) — the source location, and a backtrace
/// when `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) asks for one, as the std
/// panic hook would have printed.
///
/// It dereferences to the message (`&str`) and compares, hashes and displays
/// by the message alone: the location is a diagnostic, not part of the
/// reason's identity, so `ExitReason::Panic("boom".into())` equals the reason
/// of any `panic!("boom")`, wherever it was.
///
/// ```
/// use bream::{Down, ExitReason};
/// bream::run(|| {
///     let (_, _) = bream::spawn_monitor(|| panic!("boom"));
///     let down: Down = bream::receive();
///     let ExitReason::Panic(p) = down.reason else { panic!("not a panic") };
///     assert_eq!(p, "boom");
///     let at = p.location().expect("the runtime saw the panic");
///     assert!(at.file.ends_with(".rs"));
/// });
/// ```
#[derive(Clone)]
pub struct PanicInfo {
    message: String,
    location: Option<PanicLocation>,
    backtrace: Option<Arc<Backtrace>>,
}

/// Where a panic happened: std's `panic::Location`, owned. Displays as
/// `file:line:column`, as the std panic hook prints it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PanicLocation {
    /// The source file, as the compiler names it.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl fmt::Display for PanicLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl PanicInfo {
    /// A panic reason with this message and no location (what a program
    /// builds; the runtime fills in the location of the panics it sees).
    pub fn new(message: impl Into<String>) -> PanicInfo {
        PanicInfo {
            message: message.into(),
            location: None,
            backtrace: None,
        }
    }

    pub(crate) fn with_origin(
        mut self,
        location: Option<PanicLocation>,
        backtrace: Option<Arc<Backtrace>>,
    ) -> PanicInfo {
        self.location = location;
        self.backtrace = backtrace;
        self
    }

    /// The panic message (`"Box<dyn Any>"` for a payload that is not a string).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where it panicked, if the runtime saw the panic happen.
    pub fn location(&self) -> Option<&PanicLocation> {
        self.location.as_ref()
    }

    /// The backtrace captured at the panic, if `RUST_BACKTRACE` or
    /// `RUST_LIB_BACKTRACE` asked for one
    /// ([`Backtrace::capture`](std::backtrace::Backtrace::capture)'s rules).
    pub fn backtrace(&self) -> Option<&Backtrace> {
        self.backtrace.as_deref()
    }
}

impl fmt::Debug for PanicInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PanicInfo");
        d.field("message", &self.message);
        if let Some(at) = &self.location {
            d.field("location", &format_args!("{at}"));
        }
        d.finish()
    }
}

/// The message.
impl fmt::Display for PanicInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Deref for PanicInfo {
    type Target = str;
    fn deref(&self) -> &str {
        &self.message
    }
}

/// By message alone (see the type's docs).
impl PartialEq for PanicInfo {
    fn eq(&self, other: &PanicInfo) -> bool {
        self.message == other.message
    }
}

impl Eq for PanicInfo {}

impl std::hash::Hash for PanicInfo {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.message.hash(h);
    }
}

impl PartialEq<str> for PanicInfo {
    fn eq(&self, other: &str) -> bool {
        self.message == other
    }
}

impl PartialEq<&str> for PanicInfo {
    fn eq(&self, other: &&str) -> bool {
        self.message == *other
    }
}

impl PartialEq<String> for PanicInfo {
    fn eq(&self, other: &String) -> bool {
        &self.message == other
    }
}

impl From<&str> for PanicInfo {
    fn from(m: &str) -> PanicInfo {
        PanicInfo::new(m)
    }
}

impl From<String> for PanicInfo {
    fn from(m: String) -> PanicInfo {
        PanicInfo::new(m)
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
