//! Chapter 12: a bream node in an Erlang cluster.
//!
//! What it teaches: starting a runtime as a distributed node
//! (`NodeBuilder::node`, a cookie, EPMD); offering a bream `gen_server` to
//! Erlang callers (`bream_dist::expose`: OTP's `'$gen_call'` shape, serde
//! requests and replies); receiving Erlang terms (`Term`) and replying to an
//! Erlang pid; monitoring a remote process and seeing `noconnection` when
//! its node goes away. Needs Erlang's `epmd` (Debian: `erlang-base`).
//!
//! What it prints: the node's name and what to type in an `erl` shell; then
//! one line per thing that happens (a call, an echo, a Down).
//!
//! Run: `cargo run -p bream-dist --example 12_distributed`, then in another
//! terminal `erl -sname shell@localhost -setcookie bream` and:
//!
//! ```text
//! net_adm:ping('bream@localhost').                         %% pong
//! gen_server:call({counter, 'bream@localhost'}, get).      %% 0
//! gen_server:call({counter, 'bream@localhost'}, {add, 5}). %% 5
//! {echo, 'bream@localhost'} ! {self(), hello}, flush().    %% Shell got {echo,hello}
//! ```
//!
//! The echo process also monitors every process that writes to it: quit the
//! shell (`q().`) and the example prints the `Down` with reason
//! `noconnection`.

use std::time::Duration;

use bream_dist::{NodeBuilder, Term};
use bream_stdlib::gen_server::{self, CallResult, GenServer, Init, ReplyTo};
use serde::{Deserialize, Serialize};

/// What Erlang callers send: `get` and `{add, N}` (serde maps the variants
/// to those terms, docs/terms.md).
#[derive(Serialize, Deserialize, Debug)]
enum Request {
    Get,
    Add(i64),
}

struct Counter(i64);

impl GenServer for Counter {
    type Args = ();
    type Call = Request;
    type Reply = i64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        Init::ok(Counter(0))
    }

    fn handle_call(&mut self, r: Request, _from: ReplyTo<i64>) -> CallResult<Self> {
        if let Request::Add(n) = r {
            self.0 += n;
        }
        CallResult::reply(self.0)
    }
}

/// Replies `{echo, Msg}` to `{From, Msg}` and monitors `From`.
fn echo() {
    loop {
        bream::receive! {
            t: Term => {
                if let Some([Term::Pid(from), msg]) = t.as_tuple() {
                    let from = bream_dist::pid_from_term(from);
                    println!("echo: {msg} from {from} on {}", bream_dist::node_of(from));
                    bream::monitor(from);
                    bream::send(from, Term::Tuple(vec![Term::atom("echo"), msg.clone()]));
                }
            },
            d: bream::Down => println!("down: {} exited: {}", d.pid, d.reason),
        }
    }
}

fn main() {
    let rt = bream::Runtime::builder()
        .node("bream@localhost")
        .cookie("bream")
        .build()
        .unwrap_or_else(|e| panic!("cannot start the node (is epmd installed?): {e}"));
    rt.block_on(|| {
        let server = gen_server::start::<Counter>(()).expect("the counter");
        bream_dist::expose("counter", move |r: Request| {
            println!("counter: {r:?}");
            gen_server::call(&server, r, Duration::from_secs(5)).unwrap_or(-1)
        })
        .expect("register counter");
        bream::register("echo", bream::spawn(echo)).expect("register echo");
        println!("node {} is up; from an erl shell:", bream_dist::node_name());
        println!("  erl -sname shell@localhost -setcookie bream");
        println!("  net_adm:ping('bream@localhost').");
        println!("  gen_server:call({{counter, 'bream@localhost'}}, {{add, 5}}).");
        println!("  {{echo, 'bream@localhost'}} ! {{self(), hello}}, flush().");
        loop {
            bream::receive::<()>();
        }
    });
}
