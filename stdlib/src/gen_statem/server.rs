//! Starting a machine: [`start`] and friends, with gen_server's init handshake
//! (OTP's `proc_lib:start_link` + `init_ack`; see `gen_server/server.rs`).
//!
//! The starter makes a tag, spawns the machine monitored (linked for
//! `start_link`, registered for the `_named` variants, all before `init`
//! runs) and waits for the machine's `InitAck` or the monitor's `Down`: an
//! `init` that returns, fails, panics or is killed always ends the wait. A
//! machine whose `init` fails unlinks first, so `start_link` returns the error
//! instead of killing its caller.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Duration;

use bream::{receive, Down, ExitReason, Pid};

use super::callbacks::{GenStatem, Init};
use super::client::{forget_monitor, StatemRef};
use super::engine::{exit_with, Machine};
use crate::gen_server::{StartOpts, INFINITY};
use crate::name::{Name, NameError};
use crate::start::{panic_message, StartError};
use crate::supervisor::ChildSpec;

/// Start a machine, not linked to the caller (OTP's `gen_statem:start/3`).
/// Returns once `init` has run (the initial state's enter call runs after).
///
/// # Errors
///
/// The [`StartError`] that `init` chose or caused; the caller never hangs.
pub fn start<M: GenStatem>(args: M::Args) -> Result<StatemRef<M>, StartError> {
    start_opt(args, StartOpts::default())
}

/// Start a machine linked to the caller (OTP's `gen_statem:start_link/3`).
/// The caller is its *parent*: its exit signal makes a trapping machine
/// terminate.
///
/// # Errors
///
/// As [`start`]. A failed `init` unlinks first, so the caller is not killed.
pub fn start_link<M: GenStatem>(args: M::Args) -> Result<StatemRef<M>, StartError> {
    let opts = StartOpts {
        link: true,
        ..StartOpts::default()
    };
    start_opt(args, opts)
}

/// [`start`], registering the machine as `name` before `init` runs: a
/// `&'static str` or any [`Name`], e.g. a Registry key ([`Name::via`]; OTP's
/// `{via, Module, Name}`). Reach it by name with
/// [`NamedRef`](crate::name::NamedRef).
///
/// # Errors
///
/// [`StartError::AlreadyStarted`] if the name is taken, else as [`start`].
pub fn start_named<M: GenStatem>(
    name: impl Into<Name>,
    args: M::Args,
) -> Result<StatemRef<M>, StartError> {
    start_opt_named(name, args, StartOpts::default())
}

/// [`start_link`], registering the machine as `name` before `init` runs.
///
/// # Errors
///
/// [`StartError::AlreadyStarted`] if the name is taken, else as [`start_link`].
pub fn start_link_named<M: GenStatem>(
    name: impl Into<Name>,
    args: M::Args,
) -> Result<StatemRef<M>, StartError> {
    let opts = StartOpts {
        link: true,
        ..StartOpts::default()
    };
    start_opt_named(name, args, opts)
}

/// [`start_opt`] with a [`Name`], local or via; the name replaces
/// `opts.name`.
///
/// # Errors
///
/// As [`start_opt`]; [`StartError::AlreadyStarted`] if the name is taken,
/// [`StartError::Spawn`] if its registry cannot register it.
pub fn start_opt_named<M: GenStatem>(
    name: impl Into<Name>,
    args: M::Args,
    opts: StartOpts,
) -> Result<StatemRef<M>, StartError> {
    match name.into() {
        Name::Local(local) => spawn_machine(
            args,
            StartOpts {
                name: Some(local),
                ..opts
            },
            None,
        ),
        via @ Name::Via(_) => spawn_machine(args, StartOpts { name: None, ..opts }, Some(via)),
    }
}

/// Start a machine with gen_server's [`StartOpts`] (OTP's `gen_statem:start/4`
/// and `start_link/4` with their options): link, name, a time limit for
/// `init` (`{timeout, T}`), `hibernate_after` (hibernate whenever no message
/// came for that long) and `trace` (`{debug, [trace]}`).
///
/// ```
/// use std::time::Duration;
/// use bream_stdlib::gen_statem::{self, StartOpts};
/// # use bream_stdlib::gen_statem::{CallbackMode, GenStatem, Init, Transition};
/// # struct Quiet;
/// # impl GenStatem for Quiet {
/// #     type Args = (); type State = (); type Call = (); type Reply = ();
/// #     type Cast = (); type Info = (); type Internal = (); type Timeout = ();
/// #     type TimeoutName = ();
/// #     fn init(_: ()) -> Init<Self> { Init::ok((), Quiet) }
/// #     fn callback_mode() -> CallbackMode<Self> {
/// #         CallbackMode::handle_event_function(|_, _, _| Transition::keep_state())
/// #     }
/// # }
/// bream::run(|| {
///     let opts = StartOpts {
///         timeout: Some(Duration::from_secs(1)),
///         hibernate_after: Some(Duration::from_millis(100)),
///         ..StartOpts::default()
///     };
///     let machine = gen_statem::start_opt::<Quiet>((), opts).unwrap();
///     gen_statem::stop(&machine, bream::ExitReason::Normal, gen_statem::DEFAULT_TIMEOUT).unwrap();
/// });
/// ```
///
/// # Errors
///
/// As [`start_link_named`], and [`StartError::Timeout`] if `init` took longer
/// than `opts.timeout` (the machine is killed first).
pub fn start_opt<M: GenStatem>(args: M::Args, opts: StartOpts) -> Result<StatemRef<M>, StartError> {
    spawn_machine(args, opts, None)
}

/// Turn the calling process into a machine (OTP's `gen_statem:enter_loop/4,5,6`):
/// no `init` runs and there is no start handshake; `init` is what `init` would
/// have returned (its state, data and actions; the initial state's enter call
/// runs). Never returns: the process exits when the machine stops. For a
/// process that had to set itself up in its own way first. An `Init::Stop`
/// exits at once with its reason, an `Init::Ignore` exits normally.
///
/// ```
/// use bream_stdlib::gen_statem::{self, CallbackMode, EnterOpts, Event, GenStatem, Init, StatemRef, Transition};
///
/// struct Echo;
/// impl GenStatem for Echo {
///     type Args = (); type State = (); type Call = String; type Reply = String;
///     type Cast = (); type Info = (); type Internal = (); type Timeout = ();
///     type TimeoutName = ();
///     fn init(_: ()) -> Init<Self> { Init::ok((), Echo) }
///     fn callback_mode() -> CallbackMode<Self> {
///         CallbackMode::handle_event_function(|_, _, event| match event {
///             Event::Call(s, from) => Transition::keep_state().reply(from, s),
///             _ => Transition::keep_state(),
///         })
///     }
/// }
/// bream::run(|| {
///     bream::spawn(|| {
///         bream::register("statem_echo", bream::self_pid()).unwrap();
///         gen_statem::enter_loop(Init::ok((), Echo), EnterOpts::default())
///     });
///     let echo = StatemRef::<Echo>::named("statem_echo");
///     while echo.pid().is_none() { bream::yield_now(); }
///     let got = gen_statem::call(&echo, "hi".to_owned(), gen_statem::DEFAULT_TIMEOUT);
///     assert_eq!(got.as_deref(), Ok("hi"));
/// });
/// ```
pub fn enter_loop<M: GenStatem>(init: Init<M>, opts: EnterOpts) -> ! {
    let reason = match init {
        Init::Ready {
            state,
            data,
            actions,
        } => {
            let mut machine = Machine::new(data, state, opts.parent);
            machine.debug.set_trace(opts.trace);
            machine.run(actions.0)
        }
        Init::Stop(reason) => reason,
        Init::Ignore => ExitReason::Normal,
    };
    bream::exit_self(reason)
}

/// The options of [`enter_loop`].
#[derive(Clone, Copy, Debug, Default)]
pub struct EnterOpts {
    /// The parent: its exit signal makes a trapping machine `terminate`, as
    /// for one started with [`start_link`]. OTP takes it from `proc_lib`; bream
    /// has no `proc_lib`, so the process says who it is.
    pub parent: Option<Pid>,
    /// Trace the machine from the start, as [`sys::trace`](crate::sys::trace)
    /// would (OTP's `{debug, [trace]}`).
    pub trace: bool,
}

/// A supervisor child spec for the machine `M`: a worker started with
/// `start_link::<M>(args.clone())` (and restarted with a fresh clone), as
/// [`ChildSpec::gen_server`](crate::supervisor::ChildSpec::gen_server) is for
/// a gen_server. Set its restart type and shutdown on the returned spec.
///
/// ```
/// use bream_stdlib::gen_statem::{self, CallbackMode, GenStatem, Init, Transition};
/// use bream_stdlib::supervisor::{self, Strategy, Supervisor};
///
/// struct Idle;
/// impl GenStatem for Idle {
///     type Args = (); type State = (); type Call = (); type Reply = ();
///     type Cast = (); type Info = (); type Internal = (); type Timeout = ();
///     type TimeoutName = ();
///     fn init(_: ()) -> Init<Self> { Init::ok((), Idle) }
///     fn callback_mode() -> CallbackMode<Self> {
///         CallbackMode::handle_event_function(|_, _, _| Transition::keep_state())
///     }
/// }
///
/// let active = bream::run(|| {
///     let sup = Supervisor::new(Strategy::OneForOne)
///         .child(gen_statem::child_spec::<Idle>("idle", ()))
///         .start_link()
///         .unwrap();
///     supervisor::count_children(&sup).unwrap().active
/// });
/// assert_eq!(active, 1);
/// ```
pub fn child_spec<M>(id: impl Into<String>, args: M::Args) -> ChildSpec
where
    M: GenStatem,
    M::Args: Clone + Sync,
{
    ChildSpec::worker(id, move || {
        start_link::<M>(args.clone()).map(|machine| {
            machine
                .pid()
                .expect("a machine that start_link just returned is named by its pid")
        })
    })
}

/// The machine's answer to its starter.
struct InitAck {
    tag: bream::Ref,
    result: Result<(), StartError>,
}

/// What the machine knows about how it was started.
struct Origin {
    starter: Pid,
    tag: bream::Ref,
    /// The starter if linked, else `None`.
    parent: Option<Pid>,
    name: Option<&'static str>,
    /// A name the machine registers itself under before `init` (a via name).
    via: Option<Name>,
}

fn spawn_machine<M: GenStatem>(
    args: M::Args,
    opts: StartOpts,
    via: Option<Name>,
) -> Result<StatemRef<M>, StartError> {
    let StartOpts { link, name, .. } = opts;
    let starter = bream::self_pid();
    let tag = bream::make_ref();
    let origin = Origin {
        starter,
        tag,
        parent: link.then_some(starter),
        name,
        via,
    };
    let spawn_opts = bream::SpawnOpts {
        link,
        monitor: true,
        name,
        ..Default::default()
    };
    let body = move || init_and_loop::<M>(origin, args, opts);
    let (pid, monitor) = match bream::spawn_opt(spawn_opts, body) {
        Ok((pid, Some(monitor))) => (pid, monitor),
        Ok((_, None)) => unreachable!("spawn_opt with monitor: true returns a monitor"),
        Err(bream::SpawnError::NameTaken { holder, .. }) => {
            return Err(StartError::AlreadyStarted(holder))
        }
        Err(error) => return Err(StartError::Spawn(error.to_string())),
    };
    let timeout = opts.timeout.unwrap_or(INFINITY);
    let ack = if timeout == INFINITY {
        receive! { marker tag;
            ack: InitAck if ack.tag == tag => Some(ack.result),
            d: Down if d.monitor == monitor => return Err(StartError::Init(d.reason)),
        }
    } else {
        receive! { marker tag;
            ack: InitAck if ack.tag == tag => Some(ack.result),
            d: Down if d.monitor == monitor => return Err(StartError::Init(d.reason)),
            after timeout => None,
        }
    };
    match ack {
        Some(result) => {
            forget_monitor(monitor, tag);
            result.map(|()| StatemRef::from_pid(pid))
        }
        None => {
            give_up(pid, monitor, tag, link);
            Err(StartError::Timeout)
        }
    }
}

/// `init` took too long: unlink, kill, and wait for the `Down` so that the
/// machine's name is free when the start returns (`proc_lib:start_link/5`).
/// An ack sent just before the kill is left behind after the marker; drop it.
fn give_up(pid: Pid, monitor: bream::MonitorRef, tag: bream::Ref, link: bool) {
    if link {
        bream::unlink(pid);
    }
    bream::exit(pid, ExitReason::Kill);
    receive! { marker tag;
        d: Down if d.monitor == monitor => (),
    }
    receive! { marker tag;
        ack: InitAck if ack.tag == tag => (),
        after Duration::ZERO => (),
    }
}

/// The body of a machine's process.
fn init_and_loop<M: GenStatem>(origin: Origin, args: M::Args, opts: StartOpts) {
    // A via name is taken by the new process itself, before `init`, as OTP's
    // gen does; a taken name ends the start with the holder's pid.
    if let Some(via) = &origin.via {
        if let Err(error) = via.register_self() {
            let error = match error {
                NameError::Taken(holder) => StartError::AlreadyStarted(holder),
                NameError::Unavailable(why) => StartError::Spawn(why),
            };
            // Not ours to give back: `fail` must not unregister it.
            let origin = Origin {
                via: None,
                ..origin
            };
            return fail(&origin, error);
        }
    }
    match catch_unwind(AssertUnwindSafe(|| M::init(args))) {
        Ok(Init::Ready {
            state,
            data,
            actions,
        }) => {
            ack(&origin, Ok(()));
            let mut machine = Machine::new(data, state, origin.parent);
            machine.debug.set_trace(opts.trace);
            machine.hibernate_after = opts.hibernate_after;
            exit_with(machine.run(actions.0))
        }
        Ok(Init::Stop(reason)) => {
            fail(&origin, StartError::Init(reason.clone()));
            exit_with(reason)
        }
        Ok(Init::Ignore) => fail(&origin, StartError::Ignore),
        Err(payload) => {
            let message = panic_message(&*payload).unwrap_or_default();
            fail(&origin, StartError::Init(ExitReason::Panic(message.into())));
            resume_unwind(payload)
        }
    }
}

/// `init` failed: give the name back first (a start retried at once finds it
/// free), unlink from the starter, and tell it why.
fn fail(origin: &Origin, error: StartError) {
    if let Some(name) = origin.name {
        bream::unregister(name);
    }
    if let Some(via) = &origin.via {
        via.unregister_self();
    }
    if let Some(parent) = origin.parent {
        bream::unlink(parent);
    }
    ack(origin, Err(error));
}

fn ack(origin: &Origin, result: Result<(), StartError>) {
    bream::send(
        origin.starter,
        InitAck {
            tag: origin.tag,
            result,
        },
    );
}
