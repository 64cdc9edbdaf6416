//! Chapter 7: a gen_server.
//!
//! What it teaches: writing a server as a `GenServer` instead of a hand-made
//! receive loop; requests that each carry their reply type (`HandleCall<R>`:
//! `call` waits for that reply, `cast` waits for nothing); a reply deferred with
//! `ReplyTo` + `reply`, and the caller's pid that `ReplyTo` knows; a call that
//! times out and the late
//! reply that the runtime drops instead of leaving it in the caller's mailbox;
//! `stop`, which runs `terminate`.
//!
//! What it prints: the counter after casts and calls, who waits for a deferred
//! answer and the answer, the timed-out call, the caller's mailbox length
//! afterwards (0), and the stop.
//!
//! Run: `cargo run -p bream-stdlib --example 07_gen_server_counter`

use std::time::Duration;

use bream::ExitReason;
use bream_stdlib::gen_server::{
    self, CallError, CallResult, GenServer, HandleCall, Init, Next, ReplyTo,
};

/// The server's state.
struct Counter {
    count: i64,
    /// Callers waiting for the count to reach a value.
    waiting: Vec<(i64, ReplyTo<i64>)>,
}

/// "What is the count?", answered with an `i64`.
struct Get;

/// "Answer once the count is at least this much": a deferred reply, an `i64`.
struct WaitFor(i64);

/// "Who is waiting?", answered with their pids: another reply type.
struct Waiters;

/// What a caller can tell it, without waiting.
enum Update {
    Add(i64),
}

impl GenServer for Counter {
    type Args = i64;
    // Every request is its own type, with a `HandleCall` impl below; OTP's
    // shape (one `Call` enum, one `Reply` type, `handle_call` here) is unused.
    type Call = ();
    type Reply = ();
    type Cast = Update;
    type Info = ();
    type Continue = ();

    fn init(start: i64) -> Init<Self> {
        Init::ok(Counter {
            count: start,
            waiting: Vec::new(),
        })
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

impl HandleCall<Get> for Counter {
    type Reply = i64;
    fn handle_call(&mut self, _: Get, _: ReplyTo<i64>) -> CallResult<Self, i64> {
        CallResult::reply(self.count)
    }
}

impl HandleCall<WaitFor> for Counter {
    type Reply = i64;
    fn handle_call(
        &mut self,
        WaitFor(target): WaitFor,
        from: ReplyTo<i64>,
    ) -> CallResult<Self, i64> {
        if self.count >= target {
            return CallResult::reply(self.count);
        }
        self.waiting.push((target, from));
        CallResult::no_reply()
    }
}

impl HandleCall<Waiters> for Counter {
    type Reply = Vec<bream::Pid>;
    fn handle_call(
        &mut self,
        _: Waiters,
        _: ReplyTo<Vec<bream::Pid>>,
    ) -> CallResult<Self, Vec<bream::Pid>> {
        CallResult::reply(self.waiting.iter().map(|(_, from)| from.pid()).collect())
    }
}

fn main() {
    bream::run(|| {
        let counter = gen_server::start::<Counter>(0).expect("init cannot fail");
        let timeout = gen_server::DEFAULT_TIMEOUT;

        for n in 1..=10 {
            gen_server::cast(&counter, Update::Add(n));
        }
        let count: Result<i64, CallError> = gen_server::call(&counter, Get, timeout);
        println!("after casting 1..=10: {count:?}");

        // A deferred reply: another process waits until the count reaches 100.
        let me = bream::self_pid();
        let waiter = bream::spawn(move || {
            let answer = gen_server::call(&counter, WaitFor(100), timeout);
            bream::send(me, answer);
        });
        let mut waiters = Vec::new();
        while waiters.is_empty() {
            bream::yield_now();
            waiters = gen_server::call(&counter, Waiters, timeout).unwrap();
        }
        println!("waiting for 100: {waiters:?} (the waiter is {waiter})");
        gen_server::cast(&counter, Update::Add(45));
        let answer: Result<i64, CallError> = bream::receive();
        println!("the waiter was answered when the count reached {answer:?}");

        // A call that gives up: the server answers later, to an alias that is
        // gone, and the runtime drops that late reply.
        let late = gen_server::call(&counter, WaitFor(1_000), Duration::from_millis(10));
        println!("waiting for 1000 with a 10 ms timeout: {late:?}");
        gen_server::cast(&counter, Update::Add(1_000));
        gen_server::call(&counter, Get, timeout).unwrap();
        let queued = bream::process_info(me).map(|i| i.message_queue_len);
        println!("messages left in my mailbox after the late reply: {queued:?}");

        let stopped = gen_server::stop(&counter, ExitReason::Normal, timeout);
        println!(
            "stop: {stopped:?}; a call now: {:?}",
            gen_server::call(&counter, Get, timeout)
        );
    });
}
