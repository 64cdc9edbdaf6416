//! Starting a machine: [`start`] and friends, with the init handshake that
//! gen_server uses too (OTP's `proc_lib:start_link` + `init_ack`; the crate's
//! `start.rs` has the numbered recipe). The starter never hangs: an `init`
//! that returns, fails, panics or is killed always ends the wait, and a
//! machine whose `init` fails unlinks first, so `start_link` returns the error
//! instead of killing its caller. This file supplies what a gen_statem's
//! `init` may answer and which loop runs after it (engine.rs).

use bream::{ExitReason, Pid};

use super::callbacks::{GenStatem, Init};
use super::client::StatemRef;
use super::engine::Machine;
use crate::name::Name;
use crate::start::{exit_with, start_process, Origin, StartError, StartOpts};
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
    start_opt(args, StartOpts::linked())
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
    start_opt_named(name, args, StartOpts::linked())
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
    let (opts, via) = opts.named(name.into());
    spawn_machine(args, opts, via)
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

/// Spawn and start a machine (`via`: a name it registers itself under
/// before `init`).
fn spawn_machine<M: GenStatem>(
    args: M::Args,
    opts: StartOpts,
    via: Option<Name>,
) -> Result<StatemRef<M>, StartError> {
    let body = move |origin| init_and_loop::<M>(origin, args, opts);
    start_process(&opts, via, body).map(StatemRef::from_pid)
}

/// The body of a machine's process: `init`, the answer to the starter, the
/// loop.
fn init_and_loop<M: GenStatem>(mut origin: Origin, args: M::Args, opts: StartOpts) {
    if !origin.take_via_name() {
        return;
    }
    match origin.run_init(|| M::init(args)) {
        Init::Ready {
            state,
            data,
            actions,
        } => {
            origin.ready();
            let mut machine = Machine::new(data, state, origin.parent);
            machine.debug.set_trace(opts.trace);
            machine.hibernate_after = opts.hibernate_after;
            exit_with(machine.run(actions.0))
        }
        Init::Stop(reason) => {
            origin.fail(StartError::Init(reason.clone()));
            exit_with(reason)
        }
        Init::Ignore => origin.fail(StartError::Ignore),
    }
}
