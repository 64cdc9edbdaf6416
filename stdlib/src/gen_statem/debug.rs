//! The machine and [`sys`](crate::sys): the machine's loop speaks the system
//! message protocol (sys.rs's recipe), so `sys::get_state`, `replace_state`,
//! `with_state`, `suspend`, `resume`, `get_status`, `trace` and `statistics`
//! work on a [`StatemRef`] as they do on a gen_server.
//!
//! What sys sees as the state is a [`StateData`]: the current state and the
//! data together (OTP's `sys:get_state/1` returns `{State, Data}`). The status
//! text is the machine's [`format_status`](GenStatem::format_status) plus what
//! the loop holds: events queued, events postponed, timeouts running (OTP's
//! gen_statem status shows the postponed events and the timeouts too).
//!
//! Traced: every event taken from the mailbox (calls, casts, infos, timeouts
//! as they fire), every reply sent, every state change, and `terminate`.

use std::any::Any;

use bream::{ExitReason, Pid};

use super::callbacks::{Event, GenStatem, StateData};
use super::client::StatemRef;
use super::engine::Machine;
use crate::sys::{self, Debuggable, SysRef, SystemMsg};

impl<M: GenStatem> SysRef for StatemRef<M> {
    type State = StateData<M>;
    fn sys_pid(&self) -> Option<Pid> {
        self.pid()
    }
    fn view(state: &mut dyn Any) -> Option<&mut StateData<M>> {
        state.downcast_mut::<StateData<M>>()
    }
}

/// The machine as sys sees it, for the length of one system message.
struct SysView<'a, M: GenStatem> {
    now: &'a mut StateData<M>,
    queued: usize,
    postponed: usize,
    timeouts: usize,
}

impl<M: GenStatem> Debuggable for SysView<'_, M> {
    fn state(&mut self) -> &mut dyn Any {
        self.now
    }
    fn state_type(&self) -> &'static str {
        std::any::type_name::<StateData<M>>()
    }
    fn format_status(&self) -> String {
        format!(
            "{}; {} queued, {} postponed, {} timeouts running",
            self.now.data.format_status(&self.now.state),
            self.queued,
            self.postponed,
            self.timeouts
        )
    }
}

impl<M: GenStatem> Machine<M> {
    /// Answer a system message (suspension waits inside). `Some(reason)`: the
    /// parent's exit signal came while suspended, so the machine terminates.
    pub(crate) fn system(&mut self, msg: SystemMsg) -> Option<ExitReason> {
        let mut view = SysView {
            now: &mut self.now,
            queued: self.queue.len(),
            postponed: self.postponed.len(),
            timeouts: self.timers.running(),
        };
        sys::handle_system_msg(msg, &mut self.debug, self.parent, &mut view)
    }

    /// Trace (and count) an event taken from the mailbox.
    pub(crate) fn trace_in(&mut self, event: &Event<M>) {
        if !self.debug.is_on() {
            return;
        }
        let state = &self.now.state;
        match event {
            Event::Call(_, from) => self.debug.message_in(format_args!(
                "call {} from {} in state {state:?}",
                std::any::type_name::<M::Call>(),
                from.pid()
            )),
            Event::Timeout(name, _) => self
                .debug
                .message_in(format_args!("{{timeout,{name:?}}} in state {state:?}")),
            other => self.debug.message_in(format_args!(
                "{} {other:?} in state {state:?}",
                other.kind()
            )),
        }
    }
}
