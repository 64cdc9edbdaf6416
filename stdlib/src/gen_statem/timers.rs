//! The machine's three kinds of timeout: the event timeout (at most one,
//! cancelled by any event), the state timeout (at most one, cancelled by a state
//! change) and the generic timeouts (one per name, cancelled only by an action).
//!
//! Each running timer is a [`bream::send_after`] of a [`TimerMsg`] to the
//! machine itself, carrying a fresh id. Cancelling forgets the id (and cancels
//! the send); a message whose id is not the one running is stale (it fired
//! while its cancel was on the way, or its timer was restarted) and is dropped.
//! So a cancelled or restarted timeout never reaches the state callback, even if
//! its message is already in the mailbox.
//!
//! The content of a running timer stays here, not in the message, so that an
//! `update` action can change it without restarting the timer (OTP 22.1's
//! `{TimeoutType, update, Content}`).

use std::collections::HashMap;
use std::time::Duration;

use bream::TimerRef;

use super::callbacks::{Event, GenStatem};
use super::transition::{TimerKind, TimerOp};
use crate::gen_server::INFINITY;

/// A timer that ran out, in the machine's mailbox.
pub(crate) struct TimerMsg<N> {
    id: u64,
    kind: TimerKind<N>,
}

/// One running timer. Owned by the machine's process.
struct Running<T> {
    id: u64,
    timer: TimerRef,
    content: T,
}

/// The machine's running timers. Owned by the machine's process: only its loop
/// touches them.
pub(crate) struct Timers<M: GenStatem> {
    /// The id the next timer gets (ids are never reused).
    next_id: u64,
    event: Option<Running<M::Timeout>>,
    state: Option<Running<M::Timeout>>,
    generic: HashMap<M::TimeoutName, Running<M::Timeout>>,
}

/// What applying a timer action asks of the loop.
pub(crate) enum Applied<M: GenStatem> {
    /// Nothing more: a timer started, changed or was cancelled.
    Done,
    /// A zero-time timeout: queue this event after the events already queued.
    Queue(Event<M>),
}

impl<M: GenStatem> Timers<M> {
    pub(crate) fn new() -> Self {
        Timers {
            next_id: 0,
            event: None,
            state: None,
            generic: HashMap::new(),
        }
    }

    /// How many timers run now (for `sys` status reports).
    pub(crate) fn running(&self) -> usize {
        usize::from(self.event.is_some()) + usize::from(self.state.is_some()) + self.generic.len()
    }

    /// Apply one timeout action (see [`TimerOp`] for what each does).
    pub(crate) fn apply(
        &mut self,
        kind: TimerKind<M::TimeoutName>,
        op: TimerOp<M::Timeout>,
    ) -> Applied<M> {
        match op {
            TimerOp::Cancel => {
                self.cancel(&kind);
                Applied::Done
            }
            TimerOp::Start(after, content) => {
                self.cancel(&kind);
                if after.is_zero() {
                    return Applied::Queue(event_of(kind, content));
                }
                if after != INFINITY {
                    self.start(kind, after, content);
                }
                Applied::Done
            }
            TimerOp::Update(content) => match self.slot(&kind) {
                Some(running) => {
                    running.content = content;
                    Applied::Done
                }
                None => Applied::Queue(event_of(kind, content)),
            },
        }
    }

    /// Any event cancels the event timeout.
    pub(crate) fn cancel_event_timeout(&mut self) {
        if let Some(running) = self.event.take() {
            bream::cancel_timer(running.timer);
        }
    }

    /// A state change cancels the state timeout.
    pub(crate) fn cancel_state_timeout(&mut self) {
        if let Some(running) = self.state.take() {
            bream::cancel_timer(running.timer);
        }
    }

    /// A timer message arrived: the event it stands for, or `None` if it is
    /// stale (cancelled or restarted since it was sent).
    pub(crate) fn fired(&mut self, msg: TimerMsg<M::TimeoutName>) -> Option<Event<M>> {
        let running = match &msg.kind {
            TimerKind::Event => take_if(&mut self.event, msg.id)?,
            TimerKind::State => take_if(&mut self.state, msg.id)?,
            TimerKind::Generic(name) => {
                if self.generic.get(name).map(|r| r.id) != Some(msg.id) {
                    return None;
                }
                self.generic.remove(name)?
            }
        };
        Some(event_of(msg.kind, running.content))
    }

    fn start(&mut self, kind: TimerKind<M::TimeoutName>, after: Duration, content: M::Timeout) {
        let id = self.next_id;
        self.next_id += 1;
        let slot_kind = match &kind {
            TimerKind::Event => TimerKind::Event,
            TimerKind::State => TimerKind::State,
            TimerKind::Generic(name) => TimerKind::Generic(name.clone()),
        };
        let timer = bream::send_after(after, bream::self_pid(), TimerMsg { id, kind });
        let running = Running { id, timer, content };
        match slot_kind {
            TimerKind::Event => self.event = Some(running),
            TimerKind::State => self.state = Some(running),
            TimerKind::Generic(name) => {
                self.generic.insert(name, running);
            }
        }
    }

    fn cancel(&mut self, kind: &TimerKind<M::TimeoutName>) {
        let running = match kind {
            TimerKind::Event => self.event.take(),
            TimerKind::State => self.state.take(),
            TimerKind::Generic(name) => self.generic.remove(name),
        };
        if let Some(running) = running {
            bream::cancel_timer(running.timer);
        }
    }

    fn slot(&mut self, kind: &TimerKind<M::TimeoutName>) -> Option<&mut Running<M::Timeout>> {
        match kind {
            TimerKind::Event => self.event.as_mut(),
            TimerKind::State => self.state.as_mut(),
            TimerKind::Generic(name) => self.generic.get_mut(name),
        }
    }
}

fn take_if<T>(slot: &mut Option<Running<T>>, id: u64) -> Option<Running<T>> {
    match slot {
        Some(running) if running.id == id => slot.take(),
        _ => None,
    }
}

fn event_of<M: GenStatem>(kind: TimerKind<M::TimeoutName>, content: M::Timeout) -> Event<M> {
    match kind {
        TimerKind::Event => Event::EventTimeout(content),
        TimerKind::State => Event::StateTimeout(content),
        TimerKind::Generic(name) => Event::Timeout(name, content),
    }
}

/// Two timeout actions about the same timer (for "the last of a kind wins").
pub(crate) fn same_timer<N: Eq>(a: &TimerKind<N>, b: &TimerKind<N>) -> bool {
    match (a, b) {
        (TimerKind::Event, TimerKind::Event) | (TimerKind::State, TimerKind::State) => true,
        (TimerKind::Generic(x), TimerKind::Generic(y)) => x == y,
        _ => false,
    }
}
