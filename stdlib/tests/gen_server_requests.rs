//! gen_server requests, tested against OTP's documentation: gen_server(3)
//! `call/3` and `handle_call/3` (with bream's second shape, a reply type per
//! request), `reply/2` and the `From` of `handle_call/3` (its caller's pid),
//! and OTP 25's asynchronous requests: `send_request/2`, `receive_response/2`,
//! `wait_response/2`, `check_response/2`, and the request-id collections
//! `reqids_new/0`, `reqids_add/3`, `reqids_size/1`, `reqids_to_list/1` with
//! `receive_response/3`, `wait_response/3` and `check_response/3`.
//!
//! No test sleeps to wait for something; timeouts only turn a hang into a failure.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bream::{Down, ExitReason, Pid};
use bream_stdlib::gen_server::{
    self, CallError, CallResult, GenServer, HandleCall, Info, Init, Next, NoResponse, ReplyTo,
    ReqIds, ServerRef,
};

const PATIENCE: Duration = Duration::from_secs(10);

/// A key-value store whose requests each carry their reply type.
struct Kv {
    map: HashMap<String, u64>,
    /// Callers of `WaitFor`, answered when the key is written.
    waiting: Vec<(String, ReplyTo<u64>)>,
}

struct Get(String);
struct Len;
struct WhoAmI;
/// Answered when the key is written: a deferred typed reply.
struct WaitFor(String);
/// Answered with `Some(n)`, then the server stops with this reason.
struct Quit(ExitReason);

impl GenServer for Kv {
    type Args = ();
    // OTP's shape too: one `Call` enum (here a single put), one `Reply`.
    type Call = (String, u64);
    type Reply = Option<u64>;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        Init::ok(Kv {
            map: HashMap::new(),
            waiting: Vec::new(),
        })
    }
    fn handle_call(&mut self, (k, v): (String, u64), _: ReplyTo<Option<u64>>) -> CallResult<Self> {
        self.waiting.retain(|(key, from)| {
            let done = *key == k;
            if done {
                gen_server::reply(from, v);
            }
            !done
        });
        CallResult::reply(self.map.insert(k, v))
    }
}

impl HandleCall<Get> for Kv {
    type Reply = Option<u64>;
    fn handle_call(
        &mut self,
        Get(k): Get,
        _: ReplyTo<Option<u64>>,
    ) -> CallResult<Self, Option<u64>> {
        CallResult::reply(self.map.get(&k).copied())
    }
}

impl HandleCall<Len> for Kv {
    type Reply = usize;
    fn handle_call(&mut self, _: Len, _: ReplyTo<usize>) -> CallResult<Self, usize> {
        CallResult::reply(self.map.len())
    }
}

impl HandleCall<WhoAmI> for Kv {
    type Reply = Pid;
    fn handle_call(&mut self, _: WhoAmI, from: ReplyTo<Pid>) -> CallResult<Self, Pid> {
        CallResult::reply(from.pid())
    }
}

impl HandleCall<WaitFor> for Kv {
    type Reply = u64;
    fn handle_call(&mut self, WaitFor(k): WaitFor, from: ReplyTo<u64>) -> CallResult<Self, u64> {
        match self.map.get(&k) {
            Some(v) => CallResult::reply(*v),
            None => {
                self.waiting.push((k, from));
                CallResult::no_reply()
            }
        }
    }
}

impl HandleCall<Quit> for Kv {
    type Reply = usize;
    fn handle_call(&mut self, Quit(why): Quit, _: ReplyTo<usize>) -> CallResult<Self, usize> {
        CallResult::Reply(self.map.len(), Next::Stop(why))
    }
}

fn kv() -> ServerRef<Kv> {
    gen_server::start::<Kv>(()).expect("starts")
}

// ---- call/3 with a reply type per request ---------------------------------------

#[test]
fn each_request_type_gets_its_own_reply_type() {
    bream::run(|| {
        let kv = kv();
        // OTP's shape: the server's Call type, answered with its Reply type.
        assert_eq!(
            gen_server::call(&kv, ("a".to_owned(), 1), PATIENCE),
            Ok(None)
        );
        assert_eq!(
            gen_server::call(&kv, ("a".to_owned(), 2), PATIENCE),
            Ok(Some(1))
        );
        // Typed requests, each with its reply type, on the same server.
        let a: Option<u64> = gen_server::call(&kv, Get("a".into()), PATIENCE).unwrap();
        let b: Option<u64> = gen_server::call(&kv, Get("b".into()), PATIENCE).unwrap();
        let n: usize = gen_server::call(&kv, Len, PATIENCE).unwrap();
        assert_eq!((a, b, n), (Some(2), None, 1));
    });
}

#[test]
fn reply_to_exposes_the_callers_pid() {
    bream::run(|| {
        let kv = kv();
        assert_eq!(
            gen_server::call(&kv, WhoAmI, PATIENCE),
            Ok(bream::self_pid())
        );
    });
}

#[test]
fn a_typed_request_can_be_answered_later_with_reply() {
    bream::run(|| {
        let kv = kv();
        let me = bream::self_pid();
        bream::spawn(move || {
            bream::send(me, gen_server::call(&kv, WaitFor("k".into()), PATIENCE));
        });
        // The write must come after the waiter's call: wait until it waits.
        let deadline = Instant::now() + PATIENCE;
        while sys_waiting(&kv) == 0 {
            assert!(Instant::now() < deadline, "the waiter never called");
            bream::yield_now();
        }
        gen_server::call(&kv, ("k".to_owned(), 7), PATIENCE).unwrap();
        let answer: Result<u64, CallError> = bream::receive_timeout(PATIENCE).expect("answered");
        assert_eq!(answer, Ok(7));
    });
}

/// How many callers the store keeps waiting, read through sys.
fn sys_waiting(kv: &ServerRef<Kv>) -> usize {
    bream_stdlib::sys::with_state(kv, |s: &mut Kv| s.waiting.len()).unwrap()
}

#[test]
fn a_typed_reply_then_stop_answers_after_terminate() {
    bream::run(|| {
        let kv = kv();
        let pid = kv.pid().unwrap();
        let monitor = bream::monitor(pid);
        let why = ExitReason::ShutdownWith("done".into());
        assert_eq!(gen_server::call(&kv, Quit(why.clone()), PATIENCE), Ok(0));
        let down: Down = bream::receive_timeout(PATIENCE).unwrap();
        assert_eq!((down.monitor, down.reason), (monitor, why));
    });
}

#[test]
fn a_typed_call_to_a_dead_server_is_noproc() {
    bream::run(|| {
        let kv = kv();
        gen_server::stop(&kv, ExitReason::Normal, PATIENCE).unwrap();
        assert_eq!(gen_server::call(&kv, Len, PATIENCE), Err(CallError::NoProc));
    });
}

// ---- send_request/2, receive_response/2, wait_response/2 -------------------------

#[test]
fn send_request_then_receive_response() {
    bream::run(|| {
        let kv = kv();
        gen_server::call(&kv, ("x".to_owned(), 9), PATIENCE).unwrap();
        let a = gen_server::send_request(&kv, Get("x".into()));
        let n = gen_server::send_request(&kv, Len);
        // Answers are taken in any order.
        assert_eq!(gen_server::receive_response(n, PATIENCE), Ok(1));
        assert_eq!(gen_server::receive_response(a, PATIENCE), Ok(Some(9)));
        assert_eq!(queue_len(), 0, "no Down, no reply left behind");
    });
}

fn queue_len() -> usize {
    bream::process_info(bream::self_pid())
        .unwrap()
        .message_queue_len
}

#[test]
fn receive_response_times_out_and_abandons_the_request() {
    bream::run(|| {
        let kv = kv();
        let r = gen_server::send_request(&kv, WaitFor("never yet".into()));
        assert_eq!(
            gen_server::receive_response(r, Duration::from_millis(20)),
            Err(CallError::Timeout)
        );
        // The server answers the abandoned request now: the answer is dropped.
        gen_server::call(&kv, ("never yet".to_owned(), 1), PATIENCE).unwrap();
        gen_server::call(&kv, Len, PATIENCE).unwrap();
        assert_eq!(queue_len(), 0);
    });
}

#[test]
fn wait_response_hands_the_request_back_on_a_timeout() {
    bream::run(|| {
        let kv = kv();
        let r = gen_server::send_request(&kv, WaitFor("k".into()));
        let r = gen_server::wait_response(r, Duration::from_millis(20)).expect_err("no answer yet");
        gen_server::call(&kv, ("k".to_owned(), 5), PATIENCE).unwrap();
        assert_eq!(gen_server::wait_response(r, PATIENCE).ok(), Some(Ok(5)));
    });
}

#[test]
fn a_request_to_a_server_that_dies_is_exit_and_to_a_missing_one_noproc() {
    bream::run(|| {
        let kv = kv();
        let r = gen_server::send_request(&kv, WaitFor("k".into()));
        bream::exit(kv.pid().unwrap(), ExitReason::Kill);
        assert_eq!(
            gen_server::receive_response(r, PATIENCE),
            Err(CallError::Exit(ExitReason::Killed))
        );
        let nobody = ServerRef::<Kv>::named("nobody");
        let r = gen_server::send_request(&nobody, Len);
        assert_eq!(
            gen_server::receive_response(r, PATIENCE),
            Err(CallError::NoProc)
        );
    });
}

// ---- request-id collections (OTP 25) ---------------------------------------------

#[test]
fn a_collection_gives_each_answer_with_its_label_then_no_request() {
    bream::run(|| {
        let servers: Vec<_> = (0..3).map(|_| kv()).collect();
        let mut reqs = ReqIds::new();
        for (i, s) in servers.iter().enumerate() {
            gen_server::call(s, ("k".to_owned(), i as u64 * 10), PATIENCE).unwrap();
            reqs.add(gen_server::send_request(s, Get("k".into())), i);
        }
        assert_eq!(reqs.len(), 3);
        let mut got = Vec::new();
        while let Ok((label, answer)) = reqs.receive_response(PATIENCE) {
            got.push((label, answer.unwrap()));
        }
        got.sort();
        assert_eq!(got, [(0, Some(0)), (1, Some(10)), (2, Some(20))]);
        assert!(reqs.is_empty());
        assert!(matches!(
            reqs.receive_response(PATIENCE),
            Err(NoResponse::NoRequest)
        ));
    });
}

#[test]
fn a_collection_reports_a_dead_server_with_its_label() {
    bream::run(|| {
        let (alive, doomed) = (kv(), kv());
        let mut reqs = ReqIds::new();
        reqs.add(
            gen_server::send_request(&doomed, WaitFor("k".into())),
            "doomed",
        );
        reqs.add(
            gen_server::send_request(&alive, WaitFor("k".into())),
            "alive",
        );
        bream::exit(doomed.pid().unwrap(), ExitReason::Kill);
        let (label, answer) = reqs.wait_response(PATIENCE).unwrap();
        assert_eq!(
            (label, answer),
            ("doomed", Err(CallError::Exit(ExitReason::Killed)))
        );
        assert!(matches!(
            reqs.wait_response(Duration::from_millis(10)),
            Err(NoResponse::Timeout)
        ));
        assert_eq!(
            reqs.len(),
            1,
            "wait_response keeps the requests on a timeout"
        );
        gen_server::call(&alive, ("k".to_owned(), 3), PATIENCE).unwrap();
        let (label, answer) = reqs.wait_response(PATIENCE).unwrap();
        assert_eq!((label, answer), ("alive", Ok(3)));
    });
}

// ---- check_response/2,3: answers a gen_server gets in handle_info -----------------

/// Fans a question out to stores with `send_request` and answers its own
/// caller when every answer has come in through `handle_info`.
struct Fan {
    stores: Vec<ServerRef<Kv>>,
    pending: ReqIds<usize, usize>,
    sum: usize,
    asker: Option<ReplyTo<usize>>,
}

impl GenServer for Fan {
    type Args = Vec<ServerRef<Kv>>;
    type Call = ();
    type Reply = usize;
    type Cast = ();
    type Info = ();
    type Continue = ();
    fn init(stores: Vec<ServerRef<Kv>>) -> Init<Self> {
        Init::ok(Fan {
            stores,
            pending: ReqIds::new(),
            sum: 0,
            asker: None,
        })
    }
    fn handle_call(&mut self, _: (), from: ReplyTo<usize>) -> CallResult<Self> {
        for (i, s) in self.stores.iter().enumerate() {
            self.pending.add(gen_server::send_request(s, Len), i);
        }
        self.asker = Some(from);
        CallResult::no_reply()
    }
    fn handle_info(&mut self, info: Info<()>) -> Next<Self> {
        let Info::Response(response) = info else {
            return Next::Wait;
        };
        let (_, n) = self.pending.check_response(response).expect("one of mine");
        self.sum += n;
        if self.pending.is_empty() {
            if let Some(asker) = self.asker.take() {
                gen_server::reply(&asker, self.sum);
            }
        }
        Next::Wait
    }
}

#[test]
fn a_server_gets_the_answers_to_its_requests_in_handle_info() {
    bream::run(|| {
        let stores: Vec<_> = (0..3).map(|_| kv()).collect();
        for (i, s) in stores.iter().enumerate() {
            for k in 0..=i {
                gen_server::call(s, (k.to_string(), 0), PATIENCE).unwrap();
            }
        }
        let fan = gen_server::start::<Fan>(stores).unwrap();
        assert_eq!(gen_server::call(&fan, (), PATIENCE), Ok(1 + 2 + 3));
    });
}

#[test]
fn check_response_hands_back_an_answer_to_another_request() {
    bream::run(|| {
        let kv = kv();
        let mine = gen_server::send_request(&kv, Len);
        let other = gen_server::send_request(&kv, Len);
        // The server answers in order: the first answer is `mine`'s. Take it
        // as a message, as a server's handle_info gets it.
        let msg = bream::receive_timeout::<gen_server::Response>(PATIENCE).expect("an answer");
        let (msg, other) = match gen_server::check_response(msg, other) {
            Ok(_) => panic!("an answer to `mine` opened as `other`'s"),
            Err(back) => back,
        };
        assert_eq!(gen_server::check_response(msg, mine).ok(), Some(0));
        assert_eq!(gen_server::receive_response(other, PATIENCE), Ok(0));
    });
}
