//! Chapter 14: a gen_statem, the code lock of OTP's design principles
//! (statem.md, "Example" and the sections after it).
//!
//! What it teaches: a state machine as a `GenStatem` with one function per
//! state (`state_functions` mode); state enter calls that lock and unlock the
//! door whatever the way in; a *state timeout* that relocks the door unless the
//! state changes first; an *event timeout* that forgets half-typed digits when
//! no button is pressed for a while; *postponing* an event until the state
//! changes (a call that waits for the door to lock again); and a call that
//! every state answers (statem.md's "All State Events").
//!
//! What it prints: each button, each state change of the lock (from the lock's
//! own process), the wrong digit that resets the code, the button pressed while
//! open (ignored), the relock when the state timeout runs out, and the waiting
//! call that is answered only then.
//!
//! Run: `cargo run -p bream-stdlib --example 14_code_lock`

use std::time::Duration;

use bream_stdlib::gen_statem::{
    self, CallbackMode, Enter, Event, GenStatem, Init, StateFunction, Transition,
};

/// How long the door stays open (statem.md uses 10 s).
const OPEN_TIME: Duration = Duration::from_millis(300);

/// How long the lock waits for the next digit before it forgets the ones typed
/// (statem.md's "Event Time-Out" uses 30 s).
const BUTTON_TIME: Duration = Duration::from_secs(5);

/// The lock's states.
#[derive(Debug, PartialEq, Eq)]
enum Door {
    Locked,
    Open,
}

/// The lock's data: the code and what is left to type.
struct CodeLock {
    code: Vec<u8>,
    remaining: Vec<u8>,
}

/// What a caller can ask.
enum Ask {
    /// How long the code is (answered in every state).
    CodeLength,
    /// Answer when the door is locked (postponed while it is open).
    WhenLocked,
}

/// Why a timeout ran out.
#[derive(Debug)]
enum Why {
    /// The door has been open for OPEN_TIME.
    Relock,
    /// No button for BUTTON_TIME.
    Forget,
}

impl GenStatem for CodeLock {
    type Args = Vec<u8>;
    type State = Door;
    type Call = Ask;
    type Reply = usize;
    type Cast = u8; // a button
    type Info = ();
    type Internal = ();
    type Timeout = Why;
    type TimeoutName = ();

    fn init(code: Vec<u8>) -> Init<Self> {
        let remaining = code.clone();
        Init::ok(Door::Locked, CodeLock { code, remaining })
    }

    fn callback_mode() -> CallbackMode<Self> {
        CallbackMode::state_functions(|door| match door {
            Door::Locked => StateFunction::new(Self::locked).with_enter(Self::enter_locked),
            Door::Open => StateFunction::new(Self::open).with_enter(Self::enter_open),
        })
    }
}

impl CodeLock {
    /// statem.md `locked/3`: compare the button with the next digit of the code.
    fn locked(&mut self, event: Event<Self>) -> Transition<Self> {
        match event {
            Event::Cast(button) => {
                println!("  lock: button {button}");
                if self.remaining.first() != Some(&button) {
                    println!("  lock: wrong digit, start again");
                    self.remaining = self.code.clone();
                    return Transition::keep_state();
                }
                self.remaining.remove(0);
                if self.remaining.is_empty() {
                    Transition::next_state(Door::Open)
                } else {
                    // Forget the digits if the next one is slow to come.
                    Transition::keep_state().event_timeout(BUTTON_TIME, Why::Forget)
                }
            }
            Event::EventTimeout(Why::Forget) => {
                println!("  lock: too slow, forgetting the digits");
                self.remaining = self.code.clone();
                Transition::keep_state()
            }
            Event::Call(Ask::WhenLocked, from) => Transition::keep_state().reply(from, 0),
            other => self.any_state(other),
        }
    }

    /// statem.md `open/3`: buttons are ignored; the state timeout relocks.
    fn open(&mut self, event: Event<Self>) -> Transition<Self> {
        match event {
            Event::StateTimeout(Why::Relock) => {
                println!("  lock: state timeout, relocking");
                Transition::next_state(Door::Locked)
            }
            Event::Cast(button) => {
                println!("  lock: button {button} ignored, the door is open");
                Transition::keep_state()
            }
            call @ Event::Call(Ask::WhenLocked, _) => {
                println!("  lock: 'when locked?' postponed until the state changes");
                Transition::keep_state().postpone(call)
            }
            other => self.any_state(other),
        }
    }

    /// statem.md "All State Events": what every state answers the same way.
    fn any_state(&mut self, event: Event<Self>) -> Transition<Self> {
        match event {
            Event::Call(Ask::CodeLength, from) => {
                Transition::keep_state().reply(from, self.code.len())
            }
            _ => Transition::keep_state(),
        }
    }

    /// statem.md "State Enter Actions": lock on every way into `Locked`.
    fn enter_locked(&mut self, _from: &Door) -> Enter<Self> {
        println!("  lock: *locked*");
        self.remaining = self.code.clone();
        Enter::keep_state()
    }

    /// Unlock on the way into `Open`, and relock after OPEN_TIME: a state
    /// timeout, so it dies with the state.
    fn enter_open(&mut self, _from: &Door) -> Enter<Self> {
        println!("  lock: *open*");
        Enter::keep_state().state_timeout(OPEN_TIME, Why::Relock)
    }
}

fn main() {
    bream::run(|| {
        let lock = gen_statem::start::<CodeLock>(vec![1, 2, 3]).expect("the lock starts");
        let ask = |question| gen_statem::call(&lock, question, Duration::from_secs(5)).unwrap();
        // Every state answers CodeLength, after the events sent before it:
        // asking it lets the lock's lines print before ours.
        let settle = || {
            ask(Ask::CodeLength);
        };
        println!("code length: {}", ask(Ask::CodeLength));

        println!("pressing 1, 9 (a wrong digit):");
        for button in [1, 9] {
            gen_statem::cast(&lock, button);
        }
        settle();
        println!("pressing 1, 2, 3:");
        for button in [1, 2, 3] {
            gen_statem::cast(&lock, button);
        }
        settle();
        println!("pressing 4 while it is open:");
        gen_statem::cast(&lock, 4);
        settle();
        println!("asking 'when locked?' (waits for the relock):");
        ask(Ask::WhenLocked);
        println!("answered: the door is locked again");
        gen_statem::stop(&lock, bream::ExitReason::Normal, Duration::from_secs(5)).unwrap();
    });
}
