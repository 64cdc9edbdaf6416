//! sys: look inside a running behaviour process, and steer it (OTP's `sys`).
//!
//! [`get_state`] and [`replace_state`] read and change a server's state,
//! [`suspend`] and [`resume`] pause it, [`get_status`] shows what it is doing,
//! [`trace`] logs every message it takes and sends, [`statistics`] counts them.
//! They work on any process whose loop speaks the *system message* protocol:
//! gen_server's does, and so can any behaviour's (OTP calls such processes
//! "special processes").
//!
//! # The protocol
//!
//! A sys function is a call (the same machinery as `gen_server::call`: alias,
//! marker, monitor, so it never waits on a dead process) whose message is a
//! [`SystemMsg`]. The behaviour's loop takes `SystemMsg` among its own message
//! types and hands it to [`handle_system_msg`], which answers it; the loop never
//! looks inside. What sys needs from the behaviour is the [`Debuggable`] trait:
//! its state (as `&mut dyn Any`, which the client downcasts to the type its
//! handle names), and a text for `get_status` (OTP's `format_status`). What the
//! loop keeps for sys is one [`DebugState`]: the trace flag and the statistics.
//!
//! # Plugging a behaviour loop in (OTP's `sys:handle_system_msg/6` and `sys:handle_debug/4`)
//!
//! 1. Keep a `DebugState` next to the state: `let mut debug = DebugState::new("gen_statem");`
//! 2. Implement [`Debuggable`] for what holds the state (three short methods).
//! 3. In the receive, add an arm `m: sys::SystemMsg => ..` and call
//!    `sys::handle_system_msg(m, &mut debug, parent, &mut me)`. It returns
//!    `None` to go on (the loop keeps waiting as it was), or `Some(reason)`:
//!    the parent's exit signal arrived while the process was suspended, so the
//!    loop must terminate with that reason (as `system_terminate/4`).
//! 4. Report events: `debug.message_in(format_args!("call {} from {}", ty, pid))`
//!    when a message is taken, `debug.message_out(..)` when one is sent (a
//!    reply), `debug.note(..)` for the rest. Each is one branch when trace and
//!    statistics are off, and `format_args!` builds no string.
//!
//! Suspension needs nothing from the loop: `handle_system_msg` answers a
//! suspend and then waits, inside, for system messages only (and the parent's
//! `Exit`), until a resume; other messages stay queued, as in OTP.
//!
//! # Typed handles
//!
//! The functions take any [`SysRef`]: a `gen_server::ServerRef<S>` (whose state
//! is `S`, so `get_state(&server)` returns an `S`), or a bare [`Pid`] (whose
//! state is `dyn Any`: use [`with_state`] and downcast). A handle whose type
//! does not match the running state gets [`SysError::WrongState`], not a panic.
//!
//! Every function waits at most [`TIMEOUT`] (OTP's default of 5 s).

use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use bream::{receive, Exit, ExitReason, Pid};

use crate::gen_server::{CallError, ReplyTo};
use crate::start::panic_message;

/// How long a sys function waits for the process to answer (OTP's 5000 ms).
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A system message: what a sys function sends. The behaviour's loop takes it
/// and passes it, unopened, to [`handle_system_msg`].
pub struct SystemMsg {
    request: Request,
    from: ReplyTo<Answer>,
}

impl fmt::Debug for SystemMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SystemMsg")
            .field("request", &self.request.name())
            .field("from", &self.from.pid())
            .finish()
    }
}

/// A closure run on the state inside the process: it gets the state as `Any`
/// and returns its result boxed, or `None` if the state had another type.
type StateFn = Box<dyn FnOnce(&mut dyn Any) -> Option<Box<dyn Any + Send>> + Send>;

enum Request {
    State(StateFn),
    Suspend,
    Resume,
    Status,
    Trace(bool),
    Statistics(bool),
    GetStatistics,
}

impl Request {
    fn name(&self) -> &'static str {
        match self {
            Request::State(_) => "state",
            Request::Suspend => "suspend",
            Request::Resume => "resume",
            Request::Status => "get_status",
            Request::Trace(_) => "trace",
            Request::Statistics(_) => "statistics",
            Request::GetStatistics => "get_statistics",
        }
    }
}

enum Answer {
    Done,
    State(Result<Box<dyn Any + Send>, SysError>),
    Status(Box<Status>),
    Statistics(Option<Statistics>),
}

/// What sys needs from a behaviour process (OTP's `system_get_state/1`,
/// `system_replace_state/2` and `format_status/1` callbacks).
pub trait Debuggable {
    /// The state [`get_state`] and [`replace_state`] see.
    fn state(&mut self) -> &mut dyn Any;
    /// The state's type name, for [`SysError::WrongState`].
    fn state_type(&self) -> &'static str;
    /// What [`get_status`] shows of the state: the behaviour's `format_status`.
    fn format_status(&self) -> String;
}

/// What a behaviour loop keeps for sys (OTP's `Debug` list): which behaviour it
/// is, whether tracing is on, and the statistics if they are being kept.
/// Owned by the process's loop; only that process touches it.
#[derive(Debug)]
pub struct DebugState {
    behaviour: &'static str,
    trace: bool,
    statistics: Option<Counting>,
}

/// Statistics being counted (OTP's `{statistics, ...}` debug option).
#[derive(Debug, Clone, Copy)]
struct Counting {
    since: Instant,
    reductions_at_start: u64,
    messages_in: u64,
    messages_out: u64,
}

impl DebugState {
    /// Nothing on, for a process of this behaviour (`"gen_server"`, ...).
    pub fn new(behaviour: &'static str) -> Self {
        DebugState {
            behaviour,
            trace: false,
            statistics: None,
        }
    }

    /// Turn tracing on or off (what [`trace`] does, or OTP's `{debug, [trace]}`
    /// start option).
    pub fn set_trace(&mut self, on: bool) {
        self.trace = on;
    }

    /// Whether anything is on: a loop may skip building an event when not.
    #[inline]
    pub fn is_on(&self) -> bool {
        self.trace || self.statistics.is_some()
    }

    /// The process took a message: counted as one in, logged if tracing.
    #[inline]
    pub fn message_in(&mut self, event: fmt::Arguments<'_>) {
        if self.is_on() {
            self.event(Direction::In, event);
        }
    }

    /// The process sent a message (a reply): counted as one out, logged if
    /// tracing.
    #[inline]
    pub fn message_out(&mut self, event: fmt::Arguments<'_>) {
        if self.is_on() {
            self.event(Direction::Out, event);
        }
    }

    /// Anything else worth a trace line (a new state, a timeout): not counted.
    #[inline]
    pub fn note(&mut self, event: fmt::Arguments<'_>) {
        if self.trace {
            self.event(Direction::Note, event);
        }
    }

    #[cold]
    fn event(&mut self, direction: Direction, event: fmt::Arguments<'_>) {
        if let Some(counting) = &mut self.statistics {
            match direction {
                Direction::In => counting.messages_in += 1,
                Direction::Out => counting.messages_out += 1,
                Direction::Note => {}
            }
        }
        if self.trace {
            let pid = bream::self_pid();
            // OTP names a registered process by its name in a trace line.
            let name = bream::process_info(pid).and_then(|i| i.registered_name);
            let arrow = match direction {
                Direction::In => "got ",
                Direction::Out => "sent ",
                Direction::Note => "",
            };
            match name {
                Some(name) => tracing::info!(
                    target: "bream_stdlib::sys",
                    %pid,
                    name,
                    behaviour = self.behaviour,
                    "*DBG* {name} {arrow}{event}"
                ),
                None => tracing::info!(
                    target: "bream_stdlib::sys",
                    %pid,
                    behaviour = self.behaviour,
                    "*DBG* {pid} {arrow}{event}"
                ),
            }
        }
    }

    fn statistics(&self) -> Option<Statistics> {
        self.statistics.map(|c| Statistics {
            elapsed: c.since.elapsed(),
            reductions: own_reductions().saturating_sub(c.reductions_at_start),
            messages_in: c.messages_in,
            messages_out: c.messages_out,
        })
    }
}

#[derive(Clone, Copy)]
enum Direction {
    In,
    Out,
    Note,
}

fn own_reductions() -> u64 {
    bream::process_info(bream::self_pid()).map_or(0, |i| i.reductions)
}

/// Answer a system message (OTP's `sys:handle_system_msg/6`). Called by a
/// behaviour's loop with the [`SystemMsg`] it took; see the module docs.
///
/// Returns `None` when the loop should go on as it was, or `Some(reason)` when
/// the parent's exit signal arrived while the process was suspended: the loop
/// must then terminate with `reason`.
pub fn handle_system_msg(
    msg: SystemMsg,
    debug: &mut DebugState,
    parent: Option<Pid>,
    process: &mut dyn Debuggable,
) -> Option<ExitReason> {
    if !answer(msg, debug, process, false) {
        return None;
    }
    // Suspended: only system messages and the parent's exit signal, until a
    // resume (OTP's `suspend_loop`).
    loop {
        receive! {
            m: SystemMsg => {
                if !answer(m, debug, process, true) {
                    return None;
                }
            },
            e: Exit if Some(e.from) == parent => return Some(e.reason),
        }
    }
}

/// Answer one system message; returns whether the process is suspended after it.
fn answer(
    msg: SystemMsg,
    debug: &mut DebugState,
    process: &mut dyn Debuggable,
    suspended: bool,
) -> bool {
    let SystemMsg { request, from } = msg;
    let (answer, suspended) = match request {
        Request::State(f) => (Answer::State(run_state_fn(f, process)), suspended),
        Request::Suspend => (Answer::Done, true),
        Request::Resume => (Answer::Done, false),
        Request::Status => (
            Answer::Status(Box::new(Status {
                pid: bream::self_pid(),
                behaviour: debug.behaviour,
                suspended,
                trace: debug.trace,
                statistics: debug.statistics(),
                state: process.format_status(),
            })),
            suspended,
        ),
        Request::Trace(on) => {
            debug.trace = on;
            (Answer::Done, suspended)
        }
        Request::Statistics(on) => {
            debug.statistics = on.then(|| Counting {
                since: Instant::now(),
                reductions_at_start: own_reductions(),
                messages_in: 0,
                messages_out: 0,
            });
            (Answer::Done, suspended)
        }
        Request::GetStatistics => (Answer::Statistics(debug.statistics()), suspended),
    };
    crate::gen_server::reply(&from, answer);
    suspended
}

fn run_state_fn(f: StateFn, process: &mut dyn Debuggable) -> Result<Box<dyn Any + Send>, SysError> {
    let actual = process.state_type();
    match catch_unwind(AssertUnwindSafe(|| f(process.state()))) {
        Ok(Some(result)) => Ok(result),
        Ok(None) => Err(SysError::WrongState { actual }),
        Err(payload) => match panic_message(&*payload) {
            Some(message) => Err(SysError::CallbackFailed(message)),
            // Not a panic (a kill, an exit signal): let the runtime have it.
            None => std::panic::resume_unwind(payload),
        },
    }
}

/// A handle sys can address, and the type of the state behind it.
pub trait SysRef {
    /// The state's type: `S` for a `ServerRef<S>`, `dyn Any` for a bare pid.
    type State: ?Sized + 'static;
    /// The process now (`None`: a name that is not registered).
    fn sys_pid(&self) -> Option<Pid>;
    /// The state, if the process's state is a `Self::State`.
    fn view(state: &mut dyn Any) -> Option<&mut Self::State>;
}

impl SysRef for Pid {
    type State = dyn Any;
    fn sys_pid(&self) -> Option<Pid> {
        Some(*self)
    }
    fn view(state: &mut dyn Any) -> Option<&mut dyn Any> {
        Some(state)
    }
}

/// Why a sys function failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SysError {
    /// The process is not running (or the name is not registered).
    NoProc,
    /// The process exited before it answered.
    Exit(ExitReason),
    /// No answer within [`TIMEOUT`]: busy, or not a process that speaks sys.
    Timeout,
    /// A process asked sys about itself (it would wait for its own loop).
    CallingSelf,
    /// The handle names another state type than the process has.
    WrongState {
        /// The type of the process's state.
        actual: &'static str,
    },
    /// The function given to [`replace_state`] or [`with_state`] panicked
    /// (OTP's `{callback_failed, ..}`); the process goes on.
    CallbackFailed(String),
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SysError::NoProc => f.write_str("no such process"),
            SysError::Exit(reason) => write!(f, "process exited: {reason:?}"),
            SysError::Timeout => f.write_str("sys request timed out"),
            SysError::CallingSelf => f.write_str("a process asked sys about itself"),
            SysError::WrongState { actual } => write!(f, "the process's state is a {actual}"),
            SysError::CallbackFailed(m) => write!(f, "state function panicked: {m}"),
        }
    }
}

impl std::error::Error for SysError {}

impl std::convert::From<CallError> for SysError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Timeout => SysError::Timeout,
            CallError::NoProc => SysError::NoProc,
            CallError::Exit(reason) => SysError::Exit(reason),
            CallError::CallingSelf => SysError::CallingSelf,
        }
    }
}

/// What [`get_status`] returns (OTP's `sys:get_status/1`, as data).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The process.
    pub pid: Pid,
    /// Its behaviour: `"gen_server"`, ...
    pub behaviour: &'static str,
    /// Whether it is suspended ([`suspend`]).
    pub suspended: bool,
    /// Whether [`trace`] is on.
    pub trace: bool,
    /// The statistics, if [`statistics`] is on.
    pub statistics: Option<Statistics>,
    /// The state as the behaviour's `format_status` shows it.
    pub state: String,
}

/// What [`get_statistics`] returns (OTP's `sys:statistics(Name, get)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statistics {
    /// Time since [`statistics`] was turned on.
    pub elapsed: Duration,
    /// Reductions the process spent since then.
    pub reductions: u64,
    /// Messages it took since then.
    pub messages_in: u64,
    /// Messages it sent (replies) since then.
    pub messages_out: u64,
}

fn request(target: Pid, request: Request) -> Result<Answer, SysError> {
    crate::gen_server::call_pid(target, TIMEOUT, |from| {
        bream::send(target, SystemMsg { request, from })
    })
    .map_err(SysError::from)
}

fn pid_of<R: SysRef + ?Sized>(r: &R) -> Result<Pid, SysError> {
    r.sys_pid().ok_or(SysError::NoProc)
}

fn done(answer: Result<Answer, SysError>) -> Result<(), SysError> {
    answer.map(|_| ())
}

/// Run `f` on the process's state, inside the process, and return what it
/// returns: `f` may read or change the state. The building block of
/// [`get_state`] and [`replace_state`]; use it for a state that is not `Clone`.
///
/// ```
/// use bream_stdlib::{gen_server::{self, GenServer, Init}, sys};
///
/// struct Secret(String);
/// impl GenServer for Secret {
///     type Args = (); type Call = (); type Reply = (); type Cast = ();
///     type Info = (); type Continue = ();
///     fn init(_: ()) -> Init<Self> { Init::ok(Secret("hunter2".into())) }
/// }
/// bream::run(|| {
///     let s = gen_server::start::<Secret>(()).unwrap();
///     assert_eq!(sys::with_state(&s, |s: &mut Secret| s.0.len()), Ok(7));
/// });
/// ```
///
/// # Errors
///
/// [`SysError`]: the process is gone, does not answer in time, has another
/// state type, or `f` panicked.
pub fn with_state<R, T, F>(target: &R, f: F) -> Result<T, SysError>
where
    R: SysRef + ?Sized,
    T: Send + 'static,
    F: FnOnce(&mut R::State) -> T + Send + 'static,
{
    let pid = pid_of(target)?;
    let run: StateFn =
        Box::new(move |state| R::view(state).map(|s| Box::new(f(s)) as Box<dyn Any + Send>));
    match request(pid, Request::State(run))? {
        Answer::State(Ok(result)) => Ok(*result
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("sys: the state function returns a T"))),
        Answer::State(Err(error)) => Err(error),
        _ => unreachable!("sys: a state request gets a state answer"),
    }
}

/// A copy of the process's state (OTP's `sys:get_state/1`).
///
/// # Errors
///
/// As [`with_state`].
pub fn get_state<R>(target: &R) -> Result<R::State, SysError>
where
    R: SysRef + ?Sized,
    R::State: Clone + Send + Sized,
{
    with_state(target, |s: &mut R::State| s.clone())
}

/// Change the process's state with `f` (OTP's `sys:replace_state/2`), and
/// return what `f` returns. If `f` panics, the process goes on and this returns
/// [`SysError::CallbackFailed`]; what `f` changed before it panicked stays
/// changed (an `&mut` is not OTP's copy), so keep `f` simple.
///
/// # Errors
///
/// As [`with_state`].
pub fn replace_state<R, T, F>(target: &R, f: F) -> Result<T, SysError>
where
    R: SysRef + ?Sized,
    T: Send + 'static,
    F: FnOnce(&mut R::State) -> T + Send + 'static,
{
    with_state(target, f)
}

/// Suspend the process (OTP's `sys:suspend/1`): it answers system messages
/// only, and keeps every other message queued, until [`resume`]. Calls to it
/// time out meanwhile.
///
/// # Errors
///
/// [`SysError::NoProc`], [`SysError::Exit`], [`SysError::Timeout`].
pub fn suspend<R: SysRef + ?Sized>(target: &R) -> Result<(), SysError> {
    done(request(pid_of(target)?, Request::Suspend))
}

/// Resume a suspended process (OTP's `sys:resume/1`); harmless on a running one.
///
/// # Errors
///
/// As [`suspend`].
pub fn resume<R: SysRef + ?Sized>(target: &R) -> Result<(), SysError> {
    done(request(pid_of(target)?, Request::Resume))
}

/// The process's status (OTP's `sys:get_status/1`): its behaviour, whether it
/// is suspended, its debug flags, and its state as its `format_status` shows it.
///
/// # Errors
///
/// As [`suspend`].
pub fn get_status<R: SysRef + ?Sized>(target: &R) -> Result<Status, SysError> {
    match request(pid_of(target)?, Request::Status)? {
        Answer::Status(status) => Ok(*status),
        _ => unreachable!("sys: a status request gets a status answer"),
    }
}

/// Turn tracing on or off (OTP's `sys:trace/2`): while on, the process logs
/// every message it takes and sends, as a `tracing` event at info level with
/// target `bream_stdlib::sys` ("*DBG* <0.7.0> got call ... from <0.1.0>", with
/// the registered name in place of the pid if it has one).
///
/// # Errors
///
/// As [`suspend`].
pub fn trace<R: SysRef + ?Sized>(target: &R, on: bool) -> Result<(), SysError> {
    done(request(pid_of(target)?, Request::Trace(on)))
}

/// Start (from zero) or stop counting statistics (OTP's `sys:statistics/2`
/// with `true` or `false`); read them with [`get_statistics`].
///
/// # Errors
///
/// As [`suspend`].
pub fn statistics<R: SysRef + ?Sized>(target: &R, on: bool) -> Result<(), SysError> {
    done(request(pid_of(target)?, Request::Statistics(on)))
}

/// The statistics counted since [`statistics`] turned them on (OTP's
/// `sys:statistics(Name, get)`); `None` if they are off.
///
/// # Errors
///
/// As [`suspend`].
pub fn get_statistics<R: SysRef + ?Sized>(target: &R) -> Result<Option<Statistics>, SysError> {
    match request(pid_of(target)?, Request::GetStatistics)? {
        Answer::Statistics(s) => Ok(s),
        _ => unreachable!("sys: a statistics request gets a statistics answer"),
    }
}
