//! What a state callback returns: a [`Transition`] (from an event handler), an
//! [`Enter`] (from a state enter call), and the actions both carry.
//!
//! OTP's callbacks return `{next_state, S, D, Actions}`, `{keep_state, D, Actions}`,
//! `{repeat_state, D, Actions}`, `{stop, R, D}` and `{stop_and_reply, R, Replies, D}`,
//! where `Actions` is a list of `postpone`, `{next_event, T, C}`, `{reply, From, R}`,
//! `hibernate` and timeouts. Here the data is `&mut self`, so a callback returns
//! only the decision, built with methods that read as the OTP tuple does:
//!
//! ```text
//! Transition::next_state(Open).reply(from, Ok(())).state_timeout(TEN_SECONDS, ())
//! Transition::keep_state().postpone(event)
//! Transition::stop_and_reply(ExitReason::Normal, from, "bye")
//! ```
//!
//! The actions run in the order they were added; of the options (postpone,
//! hibernate, each timeout) the last one of a kind wins, as in OTP.
//!
//! # Enter calls cannot change the state (enforced by type)
//!
//! A state enter call returns an [`Enter`], which has no `next_state`, no
//! `postpone` and no `next_event`: OTP forbids those in an enter call and
//! reports them at run time; here such a program does not compile.

use std::fmt;
use std::time::{Duration, Instant};

use bream::ExitReason;

use super::callbacks::{Event, GenStatem, Init};
use crate::gen_server::ReplyTo;

/// Which timer a timeout action is about.
pub(crate) enum TimerKind<N> {
    /// OTP's `timeout` (the event timeout): cancelled by any event.
    Event,
    /// OTP's `state_timeout`: cancelled by a state change.
    State,
    /// OTP's `{timeout, Name}`: cancelled only by an action.
    Generic(N),
}

/// What a timeout action does to its timer.
pub(crate) enum TimerOp<T> {
    /// (Re)start: cancel a running timer of this kind and start one with this
    /// content. `Duration::ZERO` queues the event at once (after the events
    /// already queued); [`INFINITY`](super::INFINITY) starts nothing.
    Start(Duration, T),
    /// Cancel the timer, if it runs (OTP's `{TimeoutType, cancel}`).
    Cancel,
    /// Change the content of the running timer without restarting it; if none
    /// runs, queue the event at once as `Start(ZERO, ..)` would (OTP's
    /// `{TimeoutType, update, Content}`).
    Update(T),
}

/// One action, in the order the callback added it.
pub(crate) enum Action<M: GenStatem> {
    /// Keep this event (the current one) and retry it after the next state change.
    Postpone(Event<M>),
    /// Handle this event next, before anything already queued.
    NextEvent(Event<M>),
    /// Send this reply now.
    Reply(ReplyTo<M::Reply>, M::Reply),
    /// Wait for the next message without a stack.
    Hibernate,
    /// Start, cancel or update a timer.
    Timer(TimerKind<M::TimeoutName>, TimerOp<M::Timeout>),
}

/// The actions of an [`Init`]: see its builder methods.
pub struct Actions<M: GenStatem>(pub(crate) ActionList<M>);

impl<M: GenStatem> Actions<M> {
    pub(crate) fn new() -> Self {
        Actions(ActionList::new())
    }
}

/// A list of actions that holds its first action inline: most transitions
/// carry zero or one action (a reply), and those cost no allocation.
pub(crate) struct ActionList<M: GenStatem> {
    first: Option<Action<M>>,
    rest: Vec<Action<M>>,
}

impl<M: GenStatem> ActionList<M> {
    pub(crate) fn new() -> Self {
        ActionList {
            first: None,
            rest: Vec::new(),
        }
    }

    fn push(&mut self, action: Action<M>) {
        if self.first.is_none() {
            self.first = Some(action);
        } else {
            self.rest.push(action);
        }
    }

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }
}

impl<M: GenStatem> IntoIterator for ActionList<M> {
    type Item = Action<M>;
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<Action<M>>, std::vec::IntoIter<Action<M>>>;

    /// The actions in the order they were pushed.
    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

/// Where an event handler sends the machine.
pub(crate) enum Next<M: GenStatem> {
    State(M::State),
    Keep,
    Repeat,
    Stop(ExitReason),
}

/// What an event handler decided (OTP's `state_callback_result()`): where the
/// machine goes, and the actions to run on the way.
#[must_use = "a Transition does nothing unless the callback returns it"]
pub struct Transition<M: GenStatem> {
    pub(crate) next: Next<M>,
    pub(crate) actions: ActionList<M>,
}

impl<M: GenStatem> Transition<M> {
    /// Go to `state` (OTP's `next_state`). If `state != current` this is a
    /// state change: the enter call runs, the state timeout is cancelled and
    /// the postponed events are retried. To the same state it is `keep_state`.
    pub fn next_state(state: M::State) -> Self {
        Self::with(Next::State(state))
    }

    /// Stay in the current state (OTP's `keep_state`).
    pub fn keep_state() -> Self {
        Self::with(Next::Keep)
    }

    /// Stay in the current state, and run its enter call again as if it had
    /// been entered (OTP's `repeat_state`). Postponed events stay postponed and
    /// the state timeout keeps running: the state did not change.
    pub fn repeat_state() -> Self {
        Self::with(Next::Repeat)
    }

    /// Run `terminate` and exit with `reason` (OTP's `stop`). The `reply`
    /// actions of a stop transition are sent first, the others are ignored.
    pub fn stop(reason: ExitReason) -> Self {
        Self::with(Next::Stop(reason))
    }

    /// Reply to `from`, then stop as [`stop`](Self::stop) does (OTP's
    /// `stop_and_reply`). Add more replies with [`reply`](Self::reply).
    pub fn stop_and_reply(reason: ExitReason, from: ReplyTo<M::Reply>, reply: M::Reply) -> Self {
        Self::stop(reason).reply(from, reply)
    }

    /// Postpone `event`, the event being handled (OTP's `postpone`): it is
    /// handled again after the next state change, in the new state, in the
    /// order the postponed events were postponed. Postponed in a transition
    /// that changes the state, it is retried at once in the new state.
    ///
    /// The handler owns the event it was given, so it hands it back here:
    /// bind it whole with `event @ Event::Cast(_) => ...postpone(event)`.
    /// Postponing twice in one transition keeps the last event.
    pub fn postpone(self, event: Event<M>) -> Self {
        self.push(Action::Postpone(event))
    }

    /// Handle `event` next, before any event already queued or any message in
    /// the mailbox (OTP's `{next_event, Type, Content}`); several run in the
    /// order they were added. Usually an [`Event::Internal`].
    pub fn next_event(self, event: Event<M>) -> Self {
        self.push(Action::NextEvent(event))
    }

    fn with(next: Next<M>) -> Self {
        Transition {
            next,
            actions: ActionList::new(),
        }
    }

    fn push(mut self, action: Action<M>) -> Self {
        self.actions.push(action);
        self
    }
}

/// Where a state enter call leaves the machine: it may not change the state.
pub(crate) enum EnterNext {
    Keep,
    Repeat,
    Stop(ExitReason),
}

/// What a state enter call decided (OTP's `state_enter_result()`): it can stay
/// (`keep_state`), run the enter call again (`repeat_state`) or stop, and has
/// no `next_state`, `postpone` or `next_event`.
///
/// An enter call may set timeouts, reply and hibernate:
///
/// ```
/// # use std::time::{Duration, Instant};
/// # use bream_stdlib::gen_statem::{Enter, GenStatem};
/// fn enter<M: GenStatem<Timeout = ()>>() -> Enter<M> {
///     Enter::keep_state().state_timeout(Duration::from_secs(10), ()).hibernate()
/// }
/// ```
///
/// but changing the state does not compile (OTP reports it at run time):
///
/// ```compile_fail
/// # use bream_stdlib::gen_statem::{Enter, GenStatem};
/// fn enter<M: GenStatem>(other: M::State) -> Enter<M> {
///     Enter::next_state(other)
/// }
/// ```
///
/// and neither does inserting an event:
///
/// ```compile_fail
/// # use bream_stdlib::gen_statem::{Enter, Event, GenStatem};
/// fn enter<M: GenStatem>(event: Event<M>) -> Enter<M> {
///     Enter::keep_state().next_event(event)
/// }
/// ```
///
/// nor postponing one:
///
/// ```compile_fail
/// # use bream_stdlib::gen_statem::{Enter, Event, GenStatem};
/// fn enter<M: GenStatem>(event: Event<M>) -> Enter<M> {
///     Enter::keep_state().postpone(event)
/// }
/// ```
#[must_use = "an Enter does nothing unless the enter call returns it"]
pub struct Enter<M: GenStatem> {
    pub(crate) next: EnterNext,
    pub(crate) actions: ActionList<M>,
}

impl<M: GenStatem> Enter<M> {
    /// Stay in the state just entered (OTP's `keep_state`).
    pub fn keep_state() -> Self {
        Self::with(EnterNext::Keep)
    }

    /// Run this enter call again (OTP's `repeat_state` in an enter call).
    pub fn repeat_state() -> Self {
        Self::with(EnterNext::Repeat)
    }

    /// Run `terminate` and exit with `reason`; `reply` actions are sent first.
    pub fn stop(reason: ExitReason) -> Self {
        Self::with(EnterNext::Stop(reason))
    }

    /// Reply to `from`, then stop (OTP's `stop_and_reply`).
    pub fn stop_and_reply(reason: ExitReason, from: ReplyTo<M::Reply>, reply: M::Reply) -> Self {
        Self::stop(reason).reply(from, reply)
    }

    fn with(next: EnterNext) -> Self {
        Enter {
            next,
            actions: ActionList::new(),
        }
    }

    fn push(mut self, action: Action<M>) -> Self {
        self.actions.push(action);
        self
    }
}

impl<M: GenStatem> Init<M> {
    /// Handle `event` first, before any message (OTP's `{next_event, ..}` from `init/1`).
    pub fn next_event(self, event: Event<M>) -> Self {
        self.push(Action::NextEvent(event))
    }

    fn push(mut self, action: Action<M>) -> Self {
        if let Init::Ready { actions, .. } = &mut self {
            actions.0.push(action);
        }
        self
    }
}

/// The `reply` action, shared by [`Transition`] and [`Enter`].
macro_rules! reply_action {
    () => {
        /// Send `reply` to the caller `from` now (OTP's `{reply, From, Reply}`),
        /// in the order of the actions. Any number of replies may be sent.
        pub fn reply(self, from: ReplyTo<M::Reply>, reply: M::Reply) -> Self {
            self.push(Action::Reply(from, reply))
        }
    };
}

/// `hibernate` and the timeout actions, shared by [`Transition`], [`Enter`]
/// and [`Init`].
macro_rules! timer_actions {
    () => {
        /// Wait for the next message without a stack (OTP's `hibernate`), if no
        /// event is queued. For machines that sleep long between events.
        pub fn hibernate(self) -> Self {
            self.push(Action::Hibernate)
        }

        /// (Re)start the event timeout (OTP's `{timeout, Time, Content}`): if no
        /// event arrives within `after`, handle `Event::EventTimeout(content)`.
        /// Any event cancels it. `Duration::ZERO`: the timeout event comes next,
        /// unless some event is already queued.
        pub fn event_timeout(self, after: Duration, content: M::Timeout) -> Self {
            self.timer(TimerKind::Event, TimerOp::Start(after, content))
        }

        /// (Re)start the state timeout (OTP's `{state_timeout, Time, Content}`):
        /// unless the state changes within `after`, handle
        /// `Event::StateTimeout(content)`. Set in a transition that changes the
        /// state, it belongs to the new state. `Duration::ZERO` queues the event
        /// after the events already queued.
        pub fn state_timeout(self, after: Duration, content: M::Timeout) -> Self {
            self.timer(TimerKind::State, TimerOp::Start(after, content))
        }

        /// (Re)start the generic timeout `name` (OTP's `{{timeout, Name}, Time,
        /// Content}`): handle `Event::Timeout(name, content)` after `after`.
        /// Nothing cancels it but an action. `Duration::ZERO` queues the event
        /// after the events already queued.
        pub fn timeout(self, name: M::TimeoutName, after: Duration, content: M::Timeout) -> Self {
            self.timer(TimerKind::Generic(name), TimerOp::Start(after, content))
        }

        /// [`state_timeout`](Self::state_timeout) at a deadline rather than
        /// after a time (OTP's `{abs, true}` option); a deadline already past
        /// queues the event as `Duration::ZERO` does.
        pub fn state_timeout_at(self, deadline: Instant, content: M::Timeout) -> Self {
            self.state_timeout(until(deadline), content)
        }

        /// [`timeout`](Self::timeout) at a deadline (OTP's `{abs, true}`).
        pub fn timeout_at(
            self,
            name: M::TimeoutName,
            deadline: Instant,
            content: M::Timeout,
        ) -> Self {
            self.timeout(name, until(deadline), content)
        }

        /// [`event_timeout`](Self::event_timeout) at a deadline (OTP's `{abs, true}`).
        pub fn event_timeout_at(self, deadline: Instant, content: M::Timeout) -> Self {
            self.event_timeout(until(deadline), content)
        }

        /// Cancel the event timeout (OTP's `{timeout, cancel}`).
        pub fn cancel_event_timeout(self) -> Self {
            self.timer(TimerKind::Event, TimerOp::Cancel)
        }

        /// Cancel the state timeout (OTP's `{state_timeout, cancel}`).
        pub fn cancel_state_timeout(self) -> Self {
            self.timer(TimerKind::State, TimerOp::Cancel)
        }

        /// Cancel the generic timeout `name` (OTP's `{{timeout, Name}, cancel}`).
        pub fn cancel_timeout(self, name: M::TimeoutName) -> Self {
            self.timer(TimerKind::Generic(name), TimerOp::Cancel)
        }

        /// Give the running event timeout new content without restarting it
        /// (OTP's `{timeout, update, Content}`); if none runs, the event comes
        /// next as with `Duration::ZERO`.
        pub fn update_event_timeout(self, content: M::Timeout) -> Self {
            self.timer(TimerKind::Event, TimerOp::Update(content))
        }

        /// Give the running state timeout new content without restarting it
        /// (OTP's `{state_timeout, update, Content}`); if none runs, the event
        /// is queued as with `Duration::ZERO`.
        pub fn update_state_timeout(self, content: M::Timeout) -> Self {
            self.timer(TimerKind::State, TimerOp::Update(content))
        }

        /// Give the running generic timeout `name` new content without
        /// restarting it (OTP's `{{timeout, Name}, update, Content}`); if none
        /// runs, the event is queued as with `Duration::ZERO`.
        pub fn update_timeout(self, name: M::TimeoutName, content: M::Timeout) -> Self {
            self.timer(TimerKind::Generic(name), TimerOp::Update(content))
        }

        fn timer(self, kind: TimerKind<M::TimeoutName>, op: TimerOp<M::Timeout>) -> Self {
            self.push(Action::Timer(kind, op))
        }
    };
}

/// The time left until `deadline` (zero if it has passed).
fn until(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

impl<M: GenStatem> Transition<M> {
    reply_action!();
    timer_actions!();
}

impl<M: GenStatem> Enter<M> {
    reply_action!();
    timer_actions!();
}

impl<M: GenStatem> Init<M> {
    timer_actions!();
}

impl<M: GenStatem> fmt::Debug for Transition<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let next = match &self.next {
            Next::State(state) => format!("next_state({state:?})"),
            Next::Keep => "keep_state".into(),
            Next::Repeat => "repeat_state".into(),
            Next::Stop(reason) => format!("stop({reason:?})"),
        };
        write!(f, "Transition::{next} + {} actions", self.actions.len())
    }
}

impl<M: GenStatem> fmt::Debug for Enter<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let next = match &self.next {
            EnterNext::Keep => "keep_state".into(),
            EnterNext::Repeat => "repeat_state".into(),
            EnterNext::Stop(reason) => format!("stop({reason:?})"),
        };
        write!(f, "Enter::{next} + {} actions", self.actions.len())
    }
}

impl<M: GenStatem> fmt::Debug for Actions<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} actions", self.0.len())
    }
}
