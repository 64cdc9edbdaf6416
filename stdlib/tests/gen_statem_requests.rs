//! gen_statem's asynchronous requests, tested against OTP's documentation:
//! gen_statem(3) `send_request/2`, `receive_response/2`, `wait_response/2`,
//! `check_response/2`, and the request-id collections (`reqids_new/0`,
//! `reqids_add/3`, `reqids_size/1`, `receive_response/3`, `wait_response/3`,
//! `check_response/3`). They are gen_server's functions with the same
//! meaning ("the same as `gen_server:send_request/2`" and so on, says
//! gen_statem(3)); in bream they are one implementation, so one collection can
//! hold requests to gen_servers and gen_statems alike.
//!
//! The gen_statem twist: a request is a call event, so the machine may
//! postpone it and answer after a state change, and the requester cannot tell.
//!
//! No test sleeps to wait for something; timeouts only turn a hang into a
//! failure, and each test runs under the watchdog.

use std::time::Duration;

use bream::ExitReason;
use bream_stdlib::gen_server::{self, CallResult, GenServer, ReplyTo};
use bream_stdlib::gen_statem::{
    self, CallError, CallbackMode, Event, GenStatem, Init, NoResponse, ReqIds, StatemRef,
    Transition,
};

mod watchdog;
use watchdog::PATIENCE;

const SHORT: Duration = Duration::from_millis(20);

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Door {
    Locked,
    Open,
}

/// A value behind a door: a read while locked is postponed until it opens.
struct Vault {
    value: u64,
}

#[derive(Debug)]
enum Key {
    Unlock,
}

impl GenStatem for Vault {
    type Args = (Door, u64);
    type State = Door;
    type Call = ();
    type Reply = u64;
    type Cast = Key;
    type Info = ();
    type Internal = ();
    type Timeout = ();
    type TimeoutName = ();

    fn init((door, value): (Door, u64)) -> Init<Self> {
        Init::ok(door, Vault { value })
    }

    fn callback_mode() -> CallbackMode<Self> {
        CallbackMode::handle_event_function(|vault, door, event| match (door, event) {
            (Door::Locked, event @ Event::Call(..)) => Transition::keep_state().postpone(event),
            (Door::Open, Event::Call((), from)) => {
                Transition::keep_state().reply(from, vault.value)
            }
            (_, Event::Cast(Key::Unlock)) => Transition::next_state(Door::Open),
            _ => Transition::keep_state(),
        })
    }
}

fn vault(door: Door, value: u64) -> StatemRef<Vault> {
    gen_statem::start::<Vault>((door, value)).expect("the vault starts")
}

fn queue_len() -> usize {
    bream::process_info(bream::self_pid())
        .unwrap()
        .message_queue_len
}

// ---- gen_statem:send_request/2, receive_response/2 ----------------------------------

#[test]
fn send_request_then_receive_response() {
    watchdog::run(|| {
        let (a, b) = (vault(Door::Open, 1), vault(Door::Open, 2));
        let ra = gen_statem::send_request(&a, ());
        let rb = gen_statem::send_request(&b, ());
        // Answers are taken in any order.
        assert_eq!(gen_statem::receive_response(rb, PATIENCE), Ok(2));
        assert_eq!(gen_statem::receive_response(ra, PATIENCE), Ok(1));
        assert_eq!(queue_len(), 0, "no Down, no reply left behind");
    });
}

#[test]
fn receive_response_times_out_and_abandons_the_request() {
    watchdog::run(|| {
        let v = vault(Door::Locked, 7);
        let r = gen_statem::send_request(&v, ());
        assert_eq!(
            gen_statem::receive_response(r, SHORT),
            Err(CallError::Timeout)
        );
        // The machine answers the abandoned (postponed) request now: the
        // answer is dropped by the runtime, never queued.
        gen_statem::cast(&v, Key::Unlock);
        assert_eq!(gen_statem::call(&v, (), PATIENCE), Ok(7));
        assert_eq!(queue_len(), 0);
    });
}

// ---- gen_statem:wait_response/2, and postpone -------------------------------------

#[test]
fn a_postponed_request_is_answered_after_the_state_change() {
    watchdog::run(|| {
        let v = vault(Door::Locked, 5);
        let r = gen_statem::send_request(&v, ());
        // Locked: postponed, no answer; wait_response hands the request back.
        let r = gen_statem::wait_response(r, SHORT).expect_err("no answer while locked");
        gen_statem::cast(&v, Key::Unlock);
        assert_eq!(gen_statem::wait_response(r, PATIENCE).ok(), Some(Ok(5)));
    });
}

#[test]
fn a_request_to_a_machine_that_dies_is_exit_and_to_a_missing_one_noproc() {
    watchdog::run(|| {
        let v = vault(Door::Locked, 0);
        let r = gen_statem::send_request(&v, ());
        bream::exit(v.pid().unwrap(), ExitReason::Kill);
        assert_eq!(
            gen_statem::receive_response(r, PATIENCE),
            Err(CallError::Exit(ExitReason::Killed))
        );
        let nobody = StatemRef::<Vault>::named("no such vault");
        let r = gen_statem::send_request(&nobody, ());
        assert_eq!(
            gen_statem::receive_response(r, PATIENCE),
            Err(CallError::NoProc)
        );
        assert_eq!(queue_len(), 0);
    });
}

// ---- request-id collections: receive_response/3, wait_response/3 -------------------

/// A gen_server that answers with its argument, to share a collection with
/// machines.
struct Echo;

impl GenServer for Echo {
    type Args = ();
    type Call = u64;
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = ();
    fn init(_: ()) -> gen_server::Init<Self> {
        gen_server::Init::ok(Echo)
    }
    fn handle_call(&mut self, n: u64, _: ReplyTo<u64>) -> CallResult<Self> {
        CallResult::reply(n)
    }
}

#[test]
fn one_collection_holds_requests_to_machines_and_servers() {
    watchdog::run(|| {
        let echo = gen_server::start::<Echo>(()).unwrap();
        let (open, locked) = (vault(Door::Open, 10), vault(Door::Locked, 20));
        let mut reqs = ReqIds::new();
        reqs.add(gen_server::send_request(&echo, 30), "server");
        reqs.add(gen_statem::send_request(&open, ()), "open");
        reqs.add(gen_statem::send_request(&locked, ()), "locked");
        assert_eq!(reqs.len(), 3);
        let mut got = Vec::new();
        for _ in 0..2 {
            let (label, answer) = reqs.wait_response(PATIENCE).expect("an answer");
            got.push((label, answer.unwrap()));
        }
        got.sort();
        assert_eq!(got, [("open", 10), ("server", 30)]);
        // The locked vault's request is postponed: a timeout keeps it.
        assert_eq!(reqs.wait_response(SHORT).err(), Some(NoResponse::Timeout));
        assert_eq!(
            reqs.len(),
            1,
            "wait_response/3 keeps the requests on a timeout"
        );
        gen_statem::cast(&locked, Key::Unlock);
        let (label, answer) = reqs.receive_response(PATIENCE).expect("an answer");
        assert_eq!((label, answer), ("locked", Ok(20)));
        assert_eq!(
            reqs.receive_response(PATIENCE).err(),
            Some(NoResponse::NoRequest)
        );
    });
}

#[test]
fn a_collection_timeout_in_receive_response_abandons_every_request() {
    watchdog::run(|| {
        let (a, b) = (vault(Door::Locked, 1), vault(Door::Locked, 2));
        let mut reqs = ReqIds::new();
        reqs.add(gen_statem::send_request(&a, ()), 'a');
        reqs.add(gen_statem::send_request(&b, ()), 'b');
        assert_eq!(
            reqs.receive_response(SHORT).err(),
            Some(NoResponse::Timeout)
        );
        assert!(
            reqs.is_empty(),
            "receive_response/3 empties it on a timeout"
        );
        // Late answers to the abandoned requests are dropped.
        for v in [&a, &b] {
            gen_statem::cast(v, Key::Unlock);
            gen_statem::call(v, (), PATIENCE).unwrap();
        }
        assert_eq!(queue_len(), 0);
    });
}

// ---- check_response/2,3: answers a machine gets as events --------------------------

/// Asks every vault for its value with `send_request` while `Collecting`, and
/// answers its own caller with the sum when the last answer came in as an
/// `Event::Response`. A second ask while collecting is postponed.
struct Fan {
    vaults: Vec<StatemRef<Vault>>,
    pending: ReqIds<usize, u64>,
    sum: u64,
    asker: Option<ReplyTo<u64>>,
}

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Collecting,
}

impl GenStatem for Fan {
    type Args = Vec<StatemRef<Vault>>;
    type State = Phase;
    type Call = ();
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Internal = ();
    type Timeout = ();
    type TimeoutName = ();

    fn init(vaults: Vec<StatemRef<Vault>>) -> Init<Self> {
        let fan = Fan {
            vaults,
            pending: ReqIds::new(),
            sum: 0,
            asker: None,
        };
        Init::ok(Phase::Idle, fan)
    }

    fn callback_mode() -> CallbackMode<Self> {
        CallbackMode::handle_event_function(Self::handle_event)
    }
}

impl Fan {
    fn handle_event(&mut self, phase: &Phase, event: Event<Self>) -> Transition<Self> {
        match (phase, event) {
            (Phase::Idle, Event::Call((), from)) => {
                for (i, v) in self.vaults.iter().enumerate() {
                    self.pending.add(gen_statem::send_request(v, ()), i);
                }
                self.sum = 0;
                self.asker = Some(from);
                Transition::next_state(Phase::Collecting)
            }
            (Phase::Collecting, event @ Event::Call(..)) => {
                Transition::keep_state().postpone(event)
            }
            (Phase::Collecting, Event::Response(response)) => {
                let (_, value) = self.pending.check_response(response).expect("one of mine");
                self.sum += value;
                if !self.pending.is_empty() {
                    return Transition::keep_state();
                }
                let asker = self.asker.take().expect("an asker while collecting");
                Transition::next_state(Phase::Idle).reply(asker, self.sum)
            }
            _ => Transition::keep_state(),
        }
    }
}

#[test]
fn a_machine_gets_the_answers_to_its_requests_as_response_events() {
    watchdog::run(|| {
        let vaults = vec![
            vault(Door::Open, 1),
            vault(Door::Open, 2),
            vault(Door::Open, 3),
        ];
        let fan = gen_statem::start::<Fan>(vaults).unwrap();
        // Two askers at once: the second is postponed until the first is done.
        let first = gen_statem::send_request(&fan, ());
        let second = gen_statem::send_request(&fan, ());
        assert_eq!(gen_statem::receive_response(first, PATIENCE), Ok(6));
        assert_eq!(gen_statem::receive_response(second, PATIENCE), Ok(6));
    });
}

#[test]
fn check_response_hands_back_an_answer_to_another_request() {
    watchdog::run(|| {
        let v = vault(Door::Open, 4);
        let mine = gen_statem::send_request(&v, ());
        let other = gen_statem::send_request(&v, ());
        // The machine answers in order: the first answer is `mine`'s. Take it
        // as a message, as a machine's `Event::Response` carries it.
        let msg = bream::receive_timeout::<gen_statem::Response>(PATIENCE).expect("an answer");
        let (msg, other) = match gen_statem::check_response(msg, other) {
            Ok(_) => panic!("an answer to `mine` opened as `other`'s"),
            Err(back) => back,
        };
        assert_eq!(gen_statem::check_response(msg, mine).ok(), Some(4));
        assert_eq!(gen_statem::receive_response(other, PATIENCE), Ok(4));
    });
}
