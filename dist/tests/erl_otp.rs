//! OTP across nodes: gen_server calls both ways between bream and a real
//! `erl` node, and `rpc:call` through `rex`. Mirrors OTP's gen_server(3)
//! ("call/2,3": `{Name, Node}` servers, the monitor-based call and its
//! `noproc` exit) and rpc(3) ("call/4,5").

mod common;

use std::time::Duration;

use bream_dist::{CallError, Term};
use bream_stdlib::gen_server::{self, CallResult, GenServer, Init, ReplyTo};
use common::{atom, have_erl, me, node, peer, recv_term, tuple, watchdog};
use serde::{Deserialize, Serialize};

const T: Duration = Duration::from_secs(40);
const W: Duration = Duration::from_secs(10);

/// The requests of tests/erl/bream_peer.erl's `counter`: `get`, `{add, N}`.
#[derive(Serialize, Deserialize, Debug)]
enum Req {
    Get,
    Add(i64),
}

#[test]
fn bream_calls_an_erlang_gen_server_by_name_and_by_pid() {
    if !have_erl("bream_calls_an_erlang_gen_server") {
        return;
    }
    watchdog(T, || {
        node("b_call").block_on(|| {
            let (erl, _mirror) = peer("b_call", "e_call");
            let server = ("counter", erl.name.as_str());
            assert_eq!(bream_dist::call::<_, i64>(server, &Req::Get, W), Ok(0));
            assert_eq!(bream_dist::call::<_, i64>(server, &Req::Add(5), W), Ok(5));
            bream_dist::cast(server, &Req::Add(2));
            assert_eq!(bream_dist::call::<_, i64>(server, &Req::Get, W), Ok(7));

            // By pid: the call monitors the server.
            let pid =
                match bream_dist::rpc(&erl.name, "erlang", "whereis", vec![atom("counter")], W) {
                    Ok(Term::Pid(p)) => bream_dist::pid_from_term(&p),
                    other => panic!("whereis(counter): {other:?}"),
                };
            assert_eq!(bream_dist::call::<_, i64>(pid, &Req::Get, W), Ok(7));
            // A request the server does not handle crashes it: the call exits
            // with the server's reason, as OTP's.
            let r = bream_dist::call::<_, i64>(pid, &"bad", W);
            assert!(matches!(r, Err(CallError::Exit(_))), "{r:?}");
            // Now it is gone: noproc.
            assert_eq!(
                bream_dist::call::<_, i64>(pid, &Req::Get, W),
                Err(CallError::NoProc)
            );
        });
    });
}

/// A bream gen_server (bream-stdlib) with serde requests and replies.
struct Counter(i64);

impl GenServer for Counter {
    type Args = i64;
    type Call = Req;
    type Reply = i64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(n: i64) -> Init<Self> {
        Init::ok(Counter(n))
    }

    fn handle_call(&mut self, r: Req, _from: ReplyTo<i64>) -> CallResult<Self> {
        if let Req::Add(k) = r {
            self.0 += k;
        }
        CallResult::reply(self.0)
    }
}

#[test]
fn erl_calls_a_bream_gen_server_exposed_under_a_name() {
    if !have_erl("erl_calls_a_bream_gen_server") {
        return;
    }
    watchdog(T, || {
        node("b_serve").block_on(|| {
            let server = gen_server::start::<Counter>(40).unwrap();
            bream_dist::expose("counter", move |r: Req| {
                gen_server::call(&server, r, W).unwrap_or(-1)
            })
            .unwrap();
            let (erl, mirror) = peer("b_serve", "e_serve");
            // The same request from erl: gen_server:call({counter, 'b_serve@localhost'}, ...).
            let dest = tuple(vec![atom("counter"), atom("b_serve@localhost")]);
            bream::send(
                mirror,
                tuple(vec![
                    atom("call"),
                    dest.clone(),
                    tuple(vec![atom("add"), Term::Int(2)]),
                    me(),
                ]),
            );
            assert_eq!(recv_term("the reply").to_string(), "{reply,42}");
            bream::send(mirror, tuple(vec![atom("call"), dest, atom("get"), me()]));
            assert_eq!(recv_term("the reply").to_string(), "{reply,42}");
            // And from bream, through the node (bream -> bream, same shape).
            assert_eq!(
                bream_dist::call::<_, i64>(("counter", "b_serve@localhost"), &Req::Get, W),
                Ok(42)
            );
            let _ = erl;
        });
    });
}

#[test]
fn rpc_call_runs_on_the_erl_node() {
    if !have_erl("rpc_call_runs_on_the_erl_node") {
        return;
    }
    watchdog(T, || {
        node("b_rpc").block_on(|| {
            let (erl, _mirror) = peer("b_rpc", "e_rpc");
            let r = bream_dist::rpc(&erl.name, "erlang", "node", vec![], W);
            assert_eq!(r, Ok(atom("e_rpc@localhost")));
            let r = bream_dist::rpc(
                &erl.name,
                "lists",
                "sum",
                vec![Term::List(vec![Term::Int(1), Term::Int(2)])],
                W,
            );
            assert_eq!(r, Ok(Term::Int(3)));
            let r = bream_dist::rpc(&erl.name, "no_such_module", "f", vec![], W);
            assert!(matches!(r, Err(CallError::BadRpc(_))), "{r:?}");
        });
    });
}

/// erl reaches bream's `rex` with the rex protocol; `rpc:call` itself (OTP
/// 23+ runs it over erpc, which needs `DFLAG_SPAWN`) answers
/// `{badrpc, notsup}` — a documented limit (docs/distribution.md).
#[test]
fn erl_reaches_the_bream_rex_and_rpc_call_says_notsup() {
    if !have_erl("erl_reaches_the_bream_rex") {
        return;
    }
    watchdog(T, || {
        let rt = node("b_rex");
        let erl = common::Erl::start(
            "e_rex",
            common::COOKIE,
            "io:format(\"~p~n\", [gen_server:call({rex, 'b_rex@localhost'}, {call, erlang, node, [], self()})]), \
             io:format(\"~p~n\", [rpc:call('b_rex@localhost', erlang, node, [])]).",
        );
        erl.expect("b_rex@localhost", T);
        erl.expect("{badrpc,notsup}", T);
        drop(rt);
    });
}
