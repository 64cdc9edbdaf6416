//! The callback side of a gen_statem: the [`GenStatem`] trait, the two
//! [`CallbackMode`]s, the [`Event`]s a state callback is handed, and [`Init`].
//!
//! OTP threads `Data` through every callback and returns it in a tuple. Here the
//! data is `&mut self` (as in gen_server), and the *state* is a separate value
//! of type [`GenStatem::State`] that the machine owns: a callback reads it and
//! returns the next one in its [`Transition`](super::Transition).

use std::fmt;
use std::hash::Hash;

use bream::{Down, Exit, ExitReason};

use super::transition::{Enter, Transition};
use crate::gen_server::ReplyTo;
use crate::request::Response;

/// A generic state machine: the behaviour OTP calls `gen_statem`.
///
/// The implementing type is the machine's *data* (OTP's `Data`); its *state* is
/// a [`State`](GenStatem::State) value, any `Eq` type. Events reach the handler
/// that [`callback_mode`](GenStatem::callback_mode) names, which returns a
/// [`Transition`](super::Transition): the next state and a list of actions.
///
/// As in gen_server every message kind has its own type, so a client can only
/// send what the machine handles. Use `()` for a kind the machine does not use.
///
/// # Example
///
/// A switch that counts how often it was turned on (OTP's `handle_event_function`
/// mode, with a state enter call):
///
/// ```
/// use std::time::Duration;
/// use bream_stdlib::gen_statem::{self, CallbackMode, Enter, Event, GenStatem, Init, Transition};
///
/// #[derive(Debug, PartialEq, Eq)]
/// enum Power { Off, On }
///
/// struct Switch { turned_on: u32 }
///
/// impl GenStatem for Switch {
///     type Args = ();
///     type State = Power;
///     type Call = ();              // "how often were you turned on?"
///     type Reply = u32;
///     type Cast = ();              // "flip"
///     type Info = ();
///     type Internal = ();
///     type Timeout = ();
///     type TimeoutName = ();
///
///     fn init(_: ()) -> Init<Self> {
///         Init::ok(Power::Off, Switch { turned_on: 0 })
///     }
///     fn callback_mode() -> CallbackMode<Self> {
///         CallbackMode::handle_event_function(Self::handle_event).state_enter(Self::enter)
///     }
/// }
///
/// impl Switch {
///     fn handle_event(&mut self, state: &Power, event: Event<Self>) -> Transition<Self> {
///         match (state, event) {
///             (Power::Off, Event::Cast(())) => Transition::next_state(Power::On),
///             (Power::On, Event::Cast(())) => Transition::next_state(Power::Off),
///             (_, Event::Call((), from)) => Transition::keep_state().reply(from, self.turned_on),
///             _ => Transition::keep_state(),
///         }
///     }
///     fn enter(&mut self, _old: &Power, state: &Power) -> Enter<Self> {
///         if *state == Power::On {
///             self.turned_on += 1;
///         }
///         Enter::keep_state()
///     }
/// }
///
/// let n = bream::run(|| {
///     let switch = gen_statem::start::<Switch>(()).unwrap();
///     for _ in 0..3 {
///         gen_statem::cast(&switch, ());
///     }
///     gen_statem::call(&switch, (), Duration::from_secs(5)).unwrap()
/// });
/// assert_eq!(n, 2); // off -> on -> off -> on
/// ```
///
/// # Panics
///
/// A panic in a callback crashes the machine with `Panic(message)`;
/// [`terminate`](GenStatem::terminate) runs first, as in gen_server.
pub trait GenStatem: Sized + Send + 'static {
    /// What [`start`](super::start) passes to [`init`](GenStatem::init).
    type Args: Send + 'static;
    /// The machine's state (OTP's `State`): any `Eq` type. A transition to a
    /// state that is not `==` to the current one is a *state change*: it runs
    /// the state enter call, cancels the state timeout and retries the
    /// postponed events.
    type State: Eq + fmt::Debug + Send + 'static;
    /// A request sent with [`call`](super::call): the event `Event::Call`.
    type Call: Send + 'static;
    /// The answer to a `Call`.
    type Reply: Send + 'static;
    /// A message sent with [`cast`](super::cast): the event `Event::Cast`.
    type Cast: Send + 'static;
    /// Any other message the machine takes (a plain [`bream::send`]): `Event::Info`.
    type Info: Send + 'static;
    /// What an `Event::Internal` carries (made only by the machine itself, with
    /// the `next_event` action).
    type Internal: Send + 'static;
    /// What a timeout event carries (all three kinds of timeout).
    type Timeout: Send + 'static;
    /// The name of a generic timeout (OTP's `{timeout, Name}`): any number of
    /// them run at once, one per name.
    type TimeoutName: Eq + Hash + Clone + fmt::Debug + Send + 'static;

    /// Runs in the new process before `start` returns (OTP's `init/1`): the
    /// initial state, the data, and actions to run on entering the first state.
    fn init(args: Self::Args) -> Init<Self>;

    /// Which handlers take the events (OTP's `callback_mode/0`). Called once,
    /// after `init`.
    fn callback_mode() -> CallbackMode<Self>;

    /// The machine is about to exit with `reason` in `state` (OTP's
    /// `terminate/3`): after a `stop` transition, [`stop`](super::stop), an exit
    /// signal from its parent while trapping exits, or a panic in a callback.
    fn terminate(&mut self, reason: &ExitReason, state: &Self::State) {
        let _ = (reason, state);
    }

    /// What [`sys::get_status`](crate::sys::get_status) shows of the state and
    /// the data (OTP's `format_status/1`): override it to hide secrets or to
    /// shorten a large data. The default shows the state (it is `Debug`) and
    /// only the data's type name.
    fn format_status(&self, state: &Self::State) -> String {
        format!("state {state:?}, data {}", std::any::type_name::<Self>())
    }
}

/// The machine's state and data together: what [`sys`](crate::sys) reads and
/// replaces through a [`StatemRef`](super::StatemRef) (OTP's `{State, Data}`
/// from `sys:get_state/1`).
///
/// Replacing the state through `sys` is not a transition: no enter call runs,
/// no timeout is cancelled, no postponed event is retried (as in OTP).
pub struct StateData<M: GenStatem> {
    /// The current state.
    pub state: M::State,
    /// The data.
    pub data: M,
}

impl<M: GenStatem + Clone> Clone for StateData<M>
where
    M::State: Clone,
{
    fn clone(&self) -> Self {
        StateData {
            state: self.state.clone(),
            data: self.data.clone(),
        }
    }
}

impl<M: GenStatem> fmt::Debug for StateData<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.data.format_status(&self.state))
    }
}

/// The handler of one state in `state_functions` mode: the data and the event.
pub type StateFn<M> = fn(&mut M, Event<M>) -> Transition<M>;

/// The enter call of one state in `state_functions` mode: the data and the
/// state the machine came from (the same state for the initial state and for
/// `repeat_state`).
pub type StateEnterFn<M> = fn(&mut M, &<M as GenStatem>::State) -> Enter<M>;

/// The one handler of `handle_event_function` mode: data, current state, event.
pub type HandleEventFn<M> = fn(&mut M, &<M as GenStatem>::State, Event<M>) -> Transition<M>;

/// The enter call of `handle_event_function` mode: data, old state, new state.
pub type HandleEnterFn<M> =
    fn(&mut M, &<M as GenStatem>::State, &<M as GenStatem>::State) -> Enter<M>;

/// How events reach the machine's code (OTP's `callback_mode()`), and whether
/// it gets state enter calls (OTP's `state_enter`).
pub enum CallbackMode<M: GenStatem> {
    /// One handler per state (OTP's `state_functions`): the function maps the
    /// current state to its [`StateFunction`], which may have its own enter call.
    StateFunctions(fn(&M::State) -> StateFunction<M>),
    /// One handler for every state (OTP's `handle_event_function`), and an
    /// enter call for every state change if `state_enter` is set.
    HandleEventFunction {
        /// Takes every event.
        handle_event: HandleEventFn<M>,
        /// Called on every state change and for the initial state.
        state_enter: Option<HandleEnterFn<M>>,
    },
}

impl<M: GenStatem> CallbackMode<M> {
    /// OTP's `state_functions`: `table(state)` names the handler of `state`.
    ///
    /// ```
    /// # use bream_stdlib::gen_statem::*;
    /// # #[derive(Debug, PartialEq, Eq)] enum Door { Open, Closed }
    /// # struct D;
    /// # impl GenStatem for D {
    /// #   type Args = (); type State = Door; type Call = (); type Reply = ();
    /// #   type Cast = (); type Info = (); type Internal = (); type Timeout = ();
    /// #   type TimeoutName = ();
    /// #   fn init(_: ()) -> Init<Self> { Init::ok(Door::Closed, D) }
    /// fn callback_mode() -> CallbackMode<Self> {
    ///     CallbackMode::state_functions(|state| match state {
    ///         Door::Open => StateFunction::new(Self::open),
    ///         Door::Closed => StateFunction::new(Self::closed).with_enter(Self::closed_enter),
    ///     })
    /// }
    /// # }
    /// # impl D {
    /// #   fn open(&mut self, _: Event<Self>) -> Transition<Self> { Transition::next_state(Door::Closed) }
    /// #   fn closed(&mut self, _: Event<Self>) -> Transition<Self> { Transition::next_state(Door::Open) }
    /// #   fn closed_enter(&mut self, _old: &Door) -> Enter<Self> { Enter::keep_state() }
    /// # }
    /// ```
    pub fn state_functions(table: fn(&M::State) -> StateFunction<M>) -> Self {
        CallbackMode::StateFunctions(table)
    }

    /// OTP's `handle_event_function`: `handle_event` takes every event.
    pub fn handle_event_function(handle_event: HandleEventFn<M>) -> Self {
        CallbackMode::HandleEventFunction {
            handle_event,
            state_enter: None,
        }
    }

    /// Adds state enter calls to `handle_event_function` mode (OTP's
    /// `[handle_event_function, state_enter]`).
    ///
    /// # Panics
    /// On a `StateFunctions` mode: give each state its enter call with
    /// [`StateFunction::with_enter`] instead.
    pub fn state_enter(self, enter: HandleEnterFn<M>) -> Self {
        match self {
            CallbackMode::HandleEventFunction { handle_event, .. } => {
                CallbackMode::HandleEventFunction {
                    handle_event,
                    state_enter: Some(enter),
                }
            }
            CallbackMode::StateFunctions(_) => {
                panic!("CallbackMode::state_enter: use StateFunction::with_enter in state_functions mode")
            }
        }
    }
}

/// The handlers of one state in `state_functions` mode.
pub struct StateFunction<M: GenStatem> {
    pub(crate) event: StateFn<M>,
    pub(crate) enter: Option<StateEnterFn<M>>,
}

impl<M: GenStatem> StateFunction<M> {
    /// A state whose events go to `event`, without an enter call.
    pub fn new(event: StateFn<M>) -> Self {
        StateFunction { event, enter: None }
    }

    /// Adds the state's enter call, run each time the machine enters the state
    /// (OTP's `StateName(enter, OldState, Data)`).
    pub fn with_enter(mut self, enter: StateEnterFn<M>) -> Self {
        self.enter = Some(enter);
        self
    }
}

/// An event, as the state callback sees it (OTP's `EventType` and
/// `EventContent` in one value).
pub enum Event<M: GenStatem> {
    /// A [`call`](super::call): answer through the `ReplyTo` (a `reply` action, or
    /// [`reply`](super::reply) later).
    Call(M::Call, ReplyTo<M::Reply>),
    /// A [`cast`](super::cast).
    Cast(M::Cast),
    /// A plain message of the machine's `Info` type (OTP's `info`).
    Info(M::Info),
    /// An exit signal from a link, as a message (the machine traps exits). The
    /// parent's exit signal is not an event: the machine terminates.
    Exit(Exit),
    /// A monitor the machine set fired.
    Down(Down),
    /// The answer to a request the machine made with
    /// [`send_request`](super::send_request) (OTP delivers it as an `info`
    /// event too): open it with [`check_response`](super::check_response) or
    /// [`ReqIds::check_response`](super::ReqIds::check_response).
    Response(Response),
    /// An event the machine inserted with the `next_event` action (OTP's
    /// `internal`).
    Internal(M::Internal),
    /// The event timeout ran out: no event arrived in time (OTP's `timeout`).
    EventTimeout(M::Timeout),
    /// The state timeout ran out: the state did not change in time (OTP's
    /// `state_timeout`).
    StateTimeout(M::Timeout),
    /// The generic timeout with this name ran out (OTP's `{timeout, Name}`).
    Timeout(M::TimeoutName, M::Timeout),
}

impl<M: GenStatem> Event<M> {
    /// The event's kind, as OTP's event type names it: `"call"`, `"cast"`,
    /// `"info"`, `"internal"`, `"timeout"`, `"state_timeout"`, `"{timeout,Name}"`
    /// (for logs and traces).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Call(..) => "call",
            Event::Cast(_) => "cast",
            Event::Info(_) | Event::Exit(_) | Event::Down(_) | Event::Response(_) => "info",
            Event::Internal(_) => "internal",
            Event::EventTimeout(_) => "timeout",
            Event::StateTimeout(_) => "state_timeout",
            Event::Timeout(..) => "{timeout,Name}",
        }
    }
}

impl<M: GenStatem> fmt::Debug for Event<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use std::any::type_name;
        match self {
            Event::Call(..) => write!(f, "Call({})", type_name::<M::Call>()),
            Event::Cast(_) => write!(f, "Cast({})", type_name::<M::Cast>()),
            Event::Info(_) => write!(f, "Info({})", type_name::<M::Info>()),
            Event::Exit(exit) => f.debug_tuple("Exit").field(exit).finish(),
            Event::Down(down) => f.debug_tuple("Down").field(down).finish(),
            Event::Response(r) => f.debug_tuple("Response").field(r).finish(),
            Event::Internal(_) => write!(f, "Internal({})", type_name::<M::Internal>()),
            Event::EventTimeout(_) => f.write_str("EventTimeout"),
            Event::StateTimeout(_) => f.write_str("StateTimeout"),
            Event::Timeout(name, _) => f.debug_tuple("Timeout").field(name).finish(),
        }
    }
}

/// What [`GenStatem::init`] decided.
pub enum Init<M: GenStatem> {
    /// Running in `state` with this data; `enter` carries the actions to run as
    /// the machine enters its first state (OTP's `{ok, State, Data, Actions}`).
    Ready {
        /// The initial state.
        state: M::State,
        /// The machine's data.
        data: M,
        /// Actions for the first state: timeouts, `next_event`s, `hibernate`.
        actions: super::transition::Actions<M>,
    },
    /// Do not run: `start` returns `StartError::Init(reason)` (OTP's `{stop, Reason}`).
    Stop(ExitReason),
    /// Do not run, and that is fine: `start` returns `StartError::Ignore`
    /// (OTP's `ignore`).
    Ignore,
}

impl<M: GenStatem> Init<M> {
    /// Running in `state` with `data`, no actions (OTP's `{ok, State, Data}`).
    /// Add actions with the builder methods (`Init::ok(s, d).state_timeout(..)`).
    pub fn ok(state: M::State, data: M) -> Self {
        Init::Ready {
            state,
            data,
            actions: super::transition::Actions::new(),
        }
    }
}

impl<M: GenStatem> fmt::Debug for Init<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::Ready { state, .. } => f.debug_struct("Ready").field("state", state).finish(),
            Init::Stop(reason) => f.debug_tuple("Stop").field(reason).finish(),
            Init::Ignore => f.write_str("Ignore"),
        }
    }
}

impl<M: GenStatem> fmt::Debug for CallbackMode<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallbackMode::StateFunctions(_) => f.write_str("StateFunctions"),
            CallbackMode::HandleEventFunction { state_enter, .. } => f
                .debug_struct("HandleEventFunction")
                .field("state_enter", &state_enter.is_some())
                .finish(),
        }
    }
}

impl<M: GenStatem> fmt::Debug for StateFunction<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateFunction")
            .field("enter", &self.enter.is_some())
            .finish()
    }
}
