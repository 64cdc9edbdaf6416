//! A scriptable gen_statem for the tests: `Probe` reports every event, enter
//! call and terminate to an observer, and each event carries the plan that
//! decides its transition, so one machine can play every rule of gen_statem(3).
#![allow(dead_code)]

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use bream::{ExitReason, Pid};
use bream_stdlib::gen_statem::{
    self, CallbackMode, Enter, Event, GenStatem, Init, StatemRef, Transition,
};

/// Long enough that only a bug hits it; never a timing assertion.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The whole test's limit: a hang fails the test instead of stalling CI.
pub const WATCHDOG: Duration = Duration::from_secs(60);

/// Run `body` as the first process of a fresh runtime, on a thread, and fail
/// if it has not finished within [`WATCHDOG`].
pub fn watchdog(body: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let outcome = catch_unwind(AssertUnwindSafe(|| bream::run(body)));
        let _ = tx.send(outcome);
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => resume_unwind(panic),
        Err(_) => panic!("watchdog: the test did not finish within {WATCHDOG:?} (a hang)"),
    }
}

/// What decides the transition of an event: the data, the state, the event.
pub type Plan = Arc<dyn Fn(&mut Probe, &u32, Event<Probe>) -> Transition<Probe> + Send + Sync>;

/// What decides an enter call: the data, the old state, the new state.
pub type EnterPlan = Arc<dyn Fn(&mut Probe, &u32, &u32) -> Enter<Probe> + Send + Sync>;

/// A cast, call, info or internal event: a label for the log and its plan.
#[derive(Clone)]
pub struct Ev {
    pub label: &'static str,
    pub plan: Plan,
}

/// An event with this label and plan.
pub fn ev(
    label: &'static str,
    plan: impl Fn(&mut Probe, &u32, Event<Probe>) -> Transition<Probe> + Send + Sync + 'static,
) -> Ev {
    Ev {
        label,
        plan: Arc::new(plan),
    }
}

/// An event that keeps the state.
pub fn keep(label: &'static str) -> Ev {
    ev(label, |_, _, _| Transition::keep_state())
}

/// An event that moves to `state`.
pub fn goto(label: &'static str, state: u32) -> Ev {
    ev(label, move |_, _, _| Transition::next_state(state))
}

/// What the probe tells its observer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// An event of this kind (OTP's event type) and label, in this state.
    Event(&'static str, &'static str, u32),
    /// An enter call: from, to.
    Enter(u32, u32),
    /// `terminate(reason, state)`.
    Terminated(ExitReason, u32),
}

/// The probe's data.
pub struct Probe {
    pub log: Pid,
    /// The plan of the enter calls (`None`: keep_state).
    pub on_enter: Option<EnterPlan>,
    /// The plan of timeout events (`None`: keep_state).
    pub on_timeout: Option<Plan>,
    /// A counter for plans that act only the first time.
    pub count: u32,
}

/// How to start a probe.
#[derive(Clone)]
pub struct Args {
    pub log: Pid,
    pub state: u32,
    pub enter: bool,
    pub init: fn(Init<Probe>) -> Init<Probe>,
}

impl GenStatem for Probe {
    type Args = Args;
    type State = u32;
    type Call = Ev;
    type Reply = &'static str;
    type Cast = Ev;
    type Info = Ev;
    type Internal = Ev;
    type Timeout = &'static str;
    type TimeoutName = &'static str;

    fn init(args: Args) -> Init<Self> {
        let on_enter: Option<EnterPlan> = if args.enter {
            Some(Arc::new(|_, _, _| Enter::keep_state()))
        } else {
            None
        };
        let probe = Probe {
            log: args.log,
            on_enter,
            on_timeout: None,
            count: 0,
        };
        (args.init)(Init::ok(args.state, probe))
    }

    fn callback_mode() -> CallbackMode<Self> {
        // Enter calls are logged only when `Args::enter` set `on_enter`.
        CallbackMode::handle_event_function(Self::handle_event).state_enter(Self::enter)
    }

    fn terminate(&mut self, reason: &ExitReason, state: &u32) {
        bream::send(self.log, Seen::Terminated(reason.clone(), *state));
    }
}

impl Probe {
    fn handle_event(&mut self, state: &u32, event: Event<Self>) -> Transition<Self> {
        let kind = event.kind();
        let (label, plan) = match &event {
            Event::Call(e, _) | Event::Cast(e) | Event::Info(e) | Event::Internal(e) => {
                (e.label, Some(e.plan.clone()))
            }
            Event::EventTimeout(l) | Event::StateTimeout(l) | Event::Timeout(_, l) => {
                (*l, self.on_timeout.clone())
            }
            Event::Exit(_) => ("exit", None),
            Event::Down(_) => ("down", None),
            Event::Response(_) => ("response", None),
        };
        if !label.is_empty() {
            // The empty label is `sync_call`'s, which the tests do not expect.
            bream::send(self.log, Seen::Event(kind, label, *state));
        }
        match plan {
            Some(plan) => plan(self, state, event),
            None => Transition::keep_state(),
        }
    }

    fn enter(&mut self, old: &u32, state: &u32) -> Enter<Self> {
        if let Some(plan) = self.on_enter.clone() {
            bream::send(self.log, Seen::Enter(*old, *state));
            plan(self, old, state)
        } else {
            Enter::keep_state()
        }
    }
}

/// Start a probe (not linked) in `state` reporting to the caller; enter calls are logged
/// (and keep the state) when `enter` is set.
pub fn probe(state: u32, enter: bool) -> StatemRef<Probe> {
    probe_with(state, enter, |init| init)
}

/// [`probe`], with `init`'s actions added by `init`.
pub fn probe_with(
    state: u32,
    enter: bool,
    init: fn(Init<Probe>) -> Init<Probe>,
) -> StatemRef<Probe> {
    let args = Args {
        log: bream::self_pid(),
        state,
        enter,
        init,
    };
    gen_statem::start::<Probe>(args).expect("the probe starts")
}

/// Call the probe with a plan that replies "ok" after running `f`, and wait
/// for the reply: everything sent to it before has been handled. The probe
/// does not report this call.
pub fn sync_call(
    machine: &StatemRef<Probe>,
    f: impl Fn(&mut Probe, &u32, Event<Probe>) -> Transition<Probe> + Send + Sync + 'static,
) {
    let e = ev("", move |probe, state, event| {
        let from = match &event {
            Event::Call(_, from) => from.clone(),
            _ => unreachable!("sync_call is a call"),
        };
        f(probe, state, event).reply(from, "ok")
    });
    assert_eq!(gen_statem::call(machine, e, PATIENCE), Ok("ok"));
}

/// The next report.
pub fn seen() -> Seen {
    bream::receive_timeout::<Seen>(PATIENCE).expect("a report within PATIENCE")
}

/// The next `n` reports.
pub fn seen_n(n: usize) -> Vec<Seen> {
    (0..n).map(|_| seen()).collect()
}

/// No report is waiting now.
pub fn nothing_seen() {
    assert_eq!(bream::receive_timeout::<Seen>(Duration::ZERO), None);
}

/// A plan that blocks the machine in its callback until the test sends
/// [`Go`], so that messages can pile up in its mailbox meanwhile.
pub fn blocker(label: &'static str) -> Ev {
    ev(label, |_, _, _| {
        bream::receive_timeout::<Go>(PATIENCE).expect("Go within PATIENCE");
        Transition::keep_state()
    })
}

/// Unblocks a [`blocker`].
pub struct Go;

/// Shorthands for the observer's expectations.
pub fn cast_seen(label: &'static str, state: u32) -> Seen {
    Seen::Event("cast", label, state)
}
