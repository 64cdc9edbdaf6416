//! The machine's loop: how messages become events, and how a transition moves
//! the machine, OTP's "transition" sequence (gen_statem(3), *Description*):
//!
//! 1. Take the next event: the oldest one in the event queue (events inserted
//!    with `next_event`, postponed events being retried, zero-time timeouts),
//!    else the oldest message in the mailbox. Any event cancels the event
//!    timeout.
//! 2. Run the state callback. Its actions run in order: replies are sent at
//!    once; `postpone`, `next_event`, `hibernate` and timeouts are collected.
//! 3. If the state changed (`!=`), or on `repeat_state`, run the state enter
//!    call; its actions are collected after the callback's.
//! 4. If the state changed: cancel the state timeout, and put the postponed
//!    events (oldest first, the current one last if it was postponed) at the
//!    front of the queue. Otherwise a postponed event joins the postponed list.
//! 5. Put the `next_event` events at the front of the queue, in the order they
//!    were added.
//! 6. Apply the timeouts, the last action of each kind winning. A zero-time
//!    timeout queues its event at the back (after everything already queued);
//!    an event timeout is started only if the queue is empty (any event would
//!    cancel it).
//! 7. Back to 1; if the queue is empty and `hibernate` was asked, hibernate.
//!
//! Messages: the loop takes the oldest message whatever its type (`receive!`'s
//! catch-all arm) and asks it what it is: a call, a cast, an `M::Info`, an
//! exit signal (the parent's one ends the machine), a `Down`, the
//! `Response` to a request the machine sent, a timer, a stop
//! request, a system message (`sys`, answered in debug.rs; not an event). A
//! message of any other type is logged at `warn` and dropped, as
//! OTP's loop drops what it does not understand, so that a stray message never
//! stays in the mailbox making every later receive slower.

use std::collections::VecDeque;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Duration;

use bream::{receive, Down, Exit, ExitReason, Message, Pid};

use super::callbacks::{CallbackMode, Event, GenStatem, StateData};
use super::client::{reply, CallMsg, CastMsg, StopMsg};
use super::timers::{same_timer, Applied, TimerMsg, Timers};
use super::transition::{Action, ActionList, EnterNext, Next, TimerKind, TimerOp, Transition};
use crate::request::Response;
use crate::start::{exit_with, panic_message};
use crate::sys::{DebugState, SystemMsg};

/// A running machine. Owned by its process (moved into the closure when it
/// hibernates); nothing else touches it.
pub(crate) struct Machine<M: GenStatem> {
    /// The current state and the data, in one value so that `sys` can hand
    /// them out together (as OTP's `{State, Data}`).
    pub(crate) now: StateData<M>,
    /// The handlers, from `M::callback_mode()` (called once, after `init`).
    mode: CallbackMode<M>,
    /// The process that started it linked (its exit signal means terminate).
    pub(crate) parent: Option<Pid>,
    /// Events to handle before taking a message, oldest first.
    pub(crate) queue: VecDeque<Event<M>>,
    /// Postponed events, oldest first, retried after the next state change.
    pub(crate) postponed: Vec<Event<M>>,
    /// The running timeouts.
    pub(crate) timers: Timers<M>,
    /// The last transition asked to hibernate.
    hibernate: bool,
    /// What `sys` keeps: the trace flag and the statistics.
    pub(crate) debug: DebugState,
    /// Hibernate whenever no message came for this long (OTP's
    /// `{hibernate_after, T}` start option).
    pub(crate) hibernate_after: Option<Duration>,
    /// The last transition's `next_event` and timeout buffers, emptied and
    /// kept, so that a transition that inserts events or sets timeouts
    /// allocates nothing (most transitions of a machine with a state timeout
    /// set one). Given back when the machine hibernates.
    spare: Spare<M>,
}

/// Empty buffers for the next [`Collected`]. Owned by the machine's process.
struct Spare<M: GenStatem> {
    next_events: Vec<Event<M>>,
    timers: Vec<TimerAction<M>>,
}

impl<M: GenStatem> Spare<M> {
    fn new() -> Self {
        Spare {
            next_events: Vec::new(),
            timers: Vec::new(),
        }
    }
}

/// What the loop took from the mailbox.
enum Taken<M: GenStatem> {
    /// An event for the state callback.
    Event(Event<M>),
    /// A message that was not an event (answered or dropped).
    Nothing,
    /// No message for `hibernate_after`.
    Idle,
}

/// What one transition collected from its actions (steps 2 and 3).
struct Collected<M: GenStatem> {
    postponed: Option<Event<M>>,
    next_events: Vec<Event<M>>,
    timers: Vec<TimerAction<M>>,
    hibernate: bool,
}

type TimerAction<M> = (
    TimerKind<<M as GenStatem>::TimeoutName>,
    TimerOp<<M as GenStatem>::Timeout>,
);

/// One message, as the loop reads it.
enum Incoming<M: GenStatem> {
    Event(Event<M>),
    Timer(TimerMsg<M::TimeoutName>),
    /// A stop request, or the parent's exit signal.
    Stop(ExitReason),
    /// A `sys` request.
    System(SystemMsg),
    /// Not the machine's: dropped.
    Unknown(Message),
}

impl<M: GenStatem> Machine<M> {
    pub(crate) fn new(data: M, state: M::State, parent: Option<Pid>) -> Self {
        Machine {
            now: StateData { state, data },
            mode: M::callback_mode(),
            parent,
            queue: VecDeque::new(),
            postponed: Vec::new(),
            timers: Timers::new(),
            hibernate: false,
            debug: DebugState::new("gen_statem"),
            hibernate_after: None,
            spare: Spare::new(),
        }
    }

    /// Enter the initial state (its enter call runs, as OTP's does although it
    /// is no state change), run `init`'s actions, and loop until the machine
    /// stops. Returns the exit reason; `terminate` has run.
    pub(crate) fn run(mut self, init_actions: ActionList<M>) -> ExitReason {
        let mut got = self.collect(init_actions);
        if let Err(reason) = self.enter_call(&mut got, None) {
            return self.terminate(reason);
        }
        self.finish(got, false);
        self.run_loop(false)
    }

    /// Steps 1 and 7 until a transition stops the machine. `woke`: the loop
    /// goes on after hibernating, and a message that is not an event (a
    /// system message, a stray, a stale timer) sends it back to hibernation,
    /// as OTP's does.
    fn run_loop(mut self, woke: bool) -> ExitReason {
        let mut dozing = woke;
        loop {
            let event = match self.queue.pop_front() {
                Some(event) => event,
                None => {
                    if std::mem::take(&mut self.hibernate) {
                        // Hibernation gives memory back: the spare buffers too.
                        self.spare = Spare::new();
                        bream::hibernate(move || exit_with(self.run_loop(true)))
                    }
                    match self.take_message() {
                        Ok(Taken::Event(event)) => event,
                        Ok(Taken::Nothing) => {
                            self.hibernate = dozing;
                            continue;
                        }
                        Ok(Taken::Idle) => {
                            self.hibernate = true;
                            continue;
                        }
                        Err(reason) => return self.terminate(reason),
                    }
                }
            };
            dozing = false;
            if let Err(reason) = self.handle(event) {
                return self.terminate(reason);
            }
        }
    }

    /// Take the next message and say what it was; `Err(reason)` to stop.
    fn take_message(&mut self) -> Result<Taken<M>, ExitReason> {
        let message = match self.hibernate_after {
            None => receive! { message => message },
            Some(idle) => receive! {
                message => message,
                after idle => return Ok(Taken::Idle),
            },
        };
        let event = match decode::<M>(message, self.parent) {
            Incoming::Event(event) => Some(event),
            Incoming::Timer(msg) => self.timers.fired(msg),
            Incoming::Stop(reason) => return Err(reason),
            Incoming::System(msg) => match self.system(msg) {
                None => None,
                Some(reason) => return Err(reason),
            },
            Incoming::Unknown(msg) => {
                drop_unknown::<M>(msg);
                None
            }
        };
        Ok(match event {
            Some(event) => {
                self.trace_in(&event);
                Taken::Event(event)
            }
            None => Taken::Nothing,
        })
    }

    /// Steps 2 to 6 for one event. `Err` carries the reason to stop with.
    pub(crate) fn handle(&mut self, event: Event<M>) -> Result<(), ExitReason> {
        self.timers.cancel_event_timeout();
        let mode = self.mode.handlers();
        let transition: Transition<M> = self.guarded(|data, state| match mode {
            Handlers::PerState(table) => (table(state).event)(data, event),
            Handlers::One(handle_event, _) => handle_event(data, state, event),
        });
        let mut got = self.collect(transition.actions);
        match transition.next {
            Next::Stop(reason) => return Err(reason),
            Next::Keep => self.finish(got, false),
            Next::Repeat => {
                self.enter_call(&mut got, None)?;
                self.finish(got, false);
            }
            Next::State(state) if state == self.now.state => self.finish(got, false),
            Next::State(state) => {
                let old = std::mem::replace(&mut self.now.state, state);
                self.debug
                    .note(format_args!("state {old:?} -> {:?}", self.now.state));
                self.enter_call(&mut got, Some(&old))?;
                self.finish(got, true);
            }
        }
        Ok(())
    }

    /// Step 3: the state enter call (if the machine has one for this state),
    /// again and again while it returns `repeat_state`. `old` is the state the
    /// machine came from (`None`: the same state).
    fn enter_call(
        &mut self,
        got: &mut Collected<M>,
        mut old: Option<&M::State>,
    ) -> Result<(), ExitReason> {
        let mode = self.mode.handlers();
        loop {
            let enter = self.guarded(|data, state| {
                let from = old.unwrap_or(state);
                match mode {
                    Handlers::PerState(table) => table(state).enter.map(|f| f(data, from)),
                    Handlers::One(_, Some(enter)) => Some(enter(data, from, state)),
                    Handlers::One(_, None) => None,
                }
            });
            let Some(enter) = enter else {
                return Ok(());
            };
            self.collect_into(got, enter.actions);
            match enter.next {
                EnterNext::Keep => return Ok(()),
                EnterNext::Repeat => old = None,
                EnterNext::Stop(reason) => return Err(reason),
            }
        }
    }

    /// Step 2: run the actions in order; replies go out now, the rest is kept.
    fn collect(&mut self, actions: ActionList<M>) -> Collected<M> {
        let mut got = Collected {
            postponed: None,
            next_events: std::mem::take(&mut self.spare.next_events),
            timers: std::mem::take(&mut self.spare.timers),
            hibernate: false,
        };
        self.collect_into(&mut got, actions);
        got
    }

    fn collect_into(&mut self, got: &mut Collected<M>, actions: ActionList<M>) {
        for action in actions {
            match action {
                Action::Reply(from, value) => {
                    self.debug.message_out(format_args!(
                        "reply {} to {}",
                        std::any::type_name::<M::Reply>(),
                        from.pid()
                    ));
                    reply(&from, value)
                }
                Action::Postpone(event) => got.postponed = Some(event),
                Action::NextEvent(event) => got.next_events.push(event),
                Action::Hibernate => got.hibernate = true,
                Action::Timer(kind, op) => got.timers.push((kind, op)),
            }
        }
    }

    /// Steps 4 to 6: the queue and the timers after a transition. Events
    /// move between the lists one by one, so no list gives up its buffer.
    fn finish(&mut self, mut got: Collected<M>, changed: bool) {
        if changed {
            self.timers.cancel_state_timeout();
            // Retried oldest first, the current event (postponed now) last.
            if let Some(event) = got.postponed {
                self.queue.push_front(event);
            }
            while let Some(event) = self.postponed.pop() {
                self.queue.push_front(event);
            }
        } else if let Some(event) = got.postponed {
            self.postponed.push(event);
        }
        while let Some(event) = got.next_events.pop() {
            self.queue.push_front(event);
        }
        keep_last_of_each_kind::<M>(&mut got.timers);
        for (kind, op) in got.timers.drain(..) {
            if matches!(kind, TimerKind::Event)
                && !self.queue.is_empty()
                && !matches!(op, TimerOp::Cancel)
            {
                // An event is queued: it would cancel this timeout at once.
                continue;
            }
            if let Applied::Queue(event) = self.timers.apply(kind, op) {
                self.queue.push_back(event);
            }
        }
        self.hibernate = got.hibernate;
        self.spare = Spare {
            next_events: got.next_events,
            timers: got.timers,
        };
    }

    /// Run `terminate` (not guarded: a panic in it ends the process with that
    /// panic) and return the reason to exit with.
    pub(crate) fn terminate(&mut self, reason: ExitReason) -> ExitReason {
        self.debug.note(format_args!("terminate: {reason}"));
        self.now.data.terminate(&reason, &self.now.state);
        reason
    }

    /// Run a callback; if it panics, run `terminate` with the panic as the
    /// reason, then let the panic go on (the runtime reports it and makes it
    /// the exit reason), as gen_server does.
    fn guarded<R>(&mut self, callback: impl FnOnce(&mut M, &M::State) -> R) -> R {
        let (data, state) = (&mut self.now.data, &self.now.state);
        match catch_unwind(AssertUnwindSafe(|| callback(data, state))) {
            Ok(r) => r,
            Err(payload) => {
                if let Some(message) = panic_message(&*payload) {
                    let reason = ExitReason::Panic(message.into());
                    let _ = catch_unwind(AssertUnwindSafe(|| {
                        self.now.data.terminate(&reason, &self.now.state)
                    }));
                }
                resume_unwind(payload)
            }
        }
    }
}

/// The callback mode's function pointers, copied out so that a callback can
/// borrow the machine's data and state while the loop holds them.
#[derive(Clone, Copy)]
enum Handlers<M: GenStatem> {
    PerState(fn(&M::State) -> super::callbacks::StateFunction<M>),
    One(
        super::callbacks::HandleEventFn<M>,
        Option<super::callbacks::HandleEnterFn<M>>,
    ),
}

impl<M: GenStatem> CallbackMode<M> {
    fn handlers(&self) -> Handlers<M> {
        match self {
            CallbackMode::StateFunctions(table) => Handlers::PerState(*table),
            CallbackMode::HandleEventFunction {
                handle_event,
                state_enter,
            } => Handlers::One(*handle_event, *state_enter),
        }
    }
}

/// Of several actions on the same timer, only the last counts (OTP: "the last
/// of each kind wins"), in the order of those last ones; the event timeout
/// goes last, so that a zero-time one sees the events the others queued. In
/// place: the lists are a few actions long.
fn keep_last_of_each_kind<M: GenStatem>(actions: &mut Vec<TimerAction<M>>) {
    if actions.len() <= 1 {
        return;
    }
    let mut i = actions.len() - 1;
    while i > 0 {
        i -= 1;
        if actions[i + 1..]
            .iter()
            .any(|(kind, _)| same_timer(kind, &actions[i].0))
        {
            actions.remove(i);
        }
    }
    if let Some(at) = actions
        .iter()
        .position(|(kind, _)| matches!(kind, TimerKind::Event))
    {
        let event_timeout = actions.remove(at);
        actions.push(event_timeout);
    }
}

/// What a message is to the machine `M`.
fn decode<M: GenStatem>(msg: Message, parent: Option<Pid>) -> Incoming<M> {
    let msg = match msg.downcast::<CallMsg<M>>() {
        Ok(call) => return Incoming::Event(Event::Call(call.request, call.from)),
        Err(msg) => msg,
    };
    let msg = match msg.downcast::<CastMsg<M>>() {
        Ok(cast) => return Incoming::Event(Event::Cast(cast.0)),
        Err(msg) => msg,
    };
    let msg = match msg.downcast::<M::Info>() {
        Ok(info) => return Incoming::Event(Event::Info(info)),
        Err(msg) => msg,
    };
    let msg = match msg.downcast::<TimerMsg<M::TimeoutName>>() {
        Ok(timer) => return Incoming::Timer(timer),
        Err(msg) => msg,
    };
    let msg = match msg.downcast::<Exit>() {
        Ok(exit) if Some(exit.from) == parent => return Incoming::Stop(exit.reason),
        Ok(exit) => return Incoming::Event(Event::Exit(exit)),
        Err(msg) => msg,
    };
    let msg = match msg.downcast::<Down>() {
        Ok(down) => return Incoming::Event(Event::Down(down)),
        Err(msg) => msg,
    };
    let msg = match msg.downcast::<Response>() {
        Ok(response) => return Incoming::Event(Event::Response(response)),
        Err(msg) => msg,
    };
    let msg = match msg.downcast::<SystemMsg>() {
        Ok(system) => return Incoming::System(system),
        Err(msg) => msg,
    };
    match msg.downcast::<StopMsg<M>>() {
        Ok(stop) => Incoming::Stop(stop.reason),
        Err(msg) => Incoming::Unknown(msg),
    }
}

/// Log and drop a message that is not the machine's (OTP logs "unexpected
/// message" the same way when a behaviour cannot handle one).
fn drop_unknown<M: GenStatem>(msg: Message) {
    tracing::warn!(
        target: "bream_stdlib::gen_statem",
        machine = std::any::type_name::<M>(),
        message = msg.type_name(),
        "unexpected message dropped"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen_statem::Init;

    /// A machine type only for its associated types.
    struct Types;
    impl GenStatem for Types {
        type Args = ();
        type State = ();
        type Call = ();
        type Reply = ();
        type Cast = ();
        type Info = ();
        type Internal = ();
        type Timeout = u32;
        type TimeoutName = &'static str;
        fn init(_: ()) -> Init<Self> {
            Init::ok((), Types)
        }
        fn callback_mode() -> CallbackMode<Self> {
            CallbackMode::handle_event_function(|_, _, _| Transition::keep_state())
        }
    }

    fn describe(actions: &[TimerAction<Types>]) -> Vec<(String, Option<u32>)> {
        actions
            .iter()
            .map(|(kind, op)| {
                let kind = match kind {
                    TimerKind::Event => "event".to_owned(),
                    TimerKind::State => "state".to_owned(),
                    TimerKind::Generic(name) => format!("generic {name}"),
                };
                let content = match op {
                    TimerOp::Start(_, c) | TimerOp::Update(c) => Some(*c),
                    TimerOp::Cancel => None,
                };
                (kind, content)
            })
            .collect()
    }

    #[test]
    fn the_last_action_of_each_timer_wins_and_the_event_timeout_goes_last() {
        let start = |c| TimerOp::Start(Duration::from_secs(1), c);
        let mut actions: Vec<TimerAction<Types>> = vec![
            (TimerKind::Generic("a"), start(1)),
            (TimerKind::Event, start(2)),
            (TimerKind::State, start(3)),
            (TimerKind::Generic("b"), TimerOp::Update(4)),
            (TimerKind::Generic("a"), start(5)),
            (TimerKind::State, TimerOp::Cancel),
        ];
        keep_last_of_each_kind::<Types>(&mut actions);
        let want = [
            ("generic b", Some(4)),
            ("generic a", Some(5)),
            ("state", None),
            ("event", Some(2)),
        ];
        let want: Vec<_> = want.iter().map(|(k, c)| (k.to_string(), *c)).collect();
        assert_eq!(describe(&actions), want);
    }
}
