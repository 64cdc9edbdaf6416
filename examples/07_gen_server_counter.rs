//! Chapter 7: a gen_server.
//!
//! What it teaches: writing a server as a `GenServer` instead of a hand-made
//! receive loop; typed requests (`call` waits for a `Reply`, `cast` does not);
//! a reply deferred with `ReplyTo` + `reply`; a call that times out and the late
//! reply that the runtime drops instead of leaving it in the caller's mailbox;
//! `stop`, which runs `terminate`.
//!
//! What it prints: the counter after casts and calls, the deferred answer, the
//! timed-out call, the caller's mailbox length afterwards (0), and the stop.
//!
//! Run: `cargo run -p bream-stdlib --example 07_gen_server_counter`

use std::time::Duration;

use bream::ExitReason;
use bream_stdlib::gen_server::{self, CallError, CallResult, GenServer, Init, Next, ReplyTo};

/// The server's state.
struct Counter {
    count: i64,
    /// Callers waiting for the count to reach a value.
    waiting: Vec<(i64, ReplyTo<i64>)>,
}

/// What a caller can ask (each answered with an `i64`).
enum Request {
    Get,
    /// Answer once the count is at least this much: a deferred reply.
    WaitFor(i64),
}

/// What a caller can tell it, without waiting.
enum Update {
    Add(i64),
}

impl GenServer for Counter {
    type Args = i64;
    type Call = Request;
    type Reply = i64;
    type Cast = Update;
    type Info = ();
    type Continue = ();

    fn init(start: i64) -> Init<Self> {
        Init::ok(Counter {
            count: start,
            waiting: Vec::new(),
        })
    }

    fn handle_call(&mut self, request: Request, from: ReplyTo<i64>) -> CallResult<Self> {
        match request {
            Request::Get => CallResult::reply(self.count),
            Request::WaitFor(target) if self.count >= target => CallResult::reply(self.count),
            Request::WaitFor(target) => {
                self.waiting.push((target, from));
                CallResult::no_reply()
            }
        }
    }

    fn handle_cast(&mut self, Update::Add(n): Update) -> Next<Self> {
        self.count += n;
        let count = self.count;
        self.waiting.retain(|(target, from)| {
            let done = count >= *target;
            if done {
                gen_server::reply(from, count);
            }
            !done
        });
        Next::Wait
    }

    fn terminate(&mut self, reason: &ExitReason) {
        println!("terminate: count {} at exit ({reason})", self.count);
    }
}

fn main() {
    bream::run(|| {
        let counter = gen_server::start::<Counter>(0).expect("init cannot fail");
        let timeout = gen_server::DEFAULT_TIMEOUT;

        for n in 1..=10 {
            gen_server::cast(&counter, Update::Add(n));
        }
        let count = gen_server::call(&counter, Request::Get, timeout);
        println!("after casting 1..=10: {count:?}");

        // A deferred reply: another process waits until the count reaches 100.
        let me = bream::self_pid();
        bream::spawn(move || {
            let answer = gen_server::call(&counter, Request::WaitFor(100), timeout);
            bream::send(me, answer);
        });
        gen_server::cast(&counter, Update::Add(45));
        let answer: Result<i64, CallError> = bream::receive();
        println!("the waiter was answered when the count reached {answer:?}");

        // A call that gives up: the server answers later, to an alias that is
        // gone, and the runtime drops that late reply.
        let late = gen_server::call(&counter, Request::WaitFor(1_000), Duration::from_millis(10));
        println!("waiting for 1000 with a 10 ms timeout: {late:?}");
        gen_server::cast(&counter, Update::Add(1_000));
        gen_server::call(&counter, Request::Get, timeout).unwrap();
        let queued = bream::process_info(me).map(|i| i.message_queue_len);
        println!("messages left in my mailbox after the late reply: {queued:?}");

        let stopped = gen_server::stop(&counter, ExitReason::Normal, timeout);
        println!(
            "stop: {stopped:?}; a call now: {:?}",
            gen_server::call(&counter, Request::Get, timeout)
        );
    });
}
