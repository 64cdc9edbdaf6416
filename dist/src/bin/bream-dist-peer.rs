//! A second bream node in its own OS process, for the two-node tests
//! (dist/tests/two_nodes.rs) and for trying distribution by hand.
//!
//! Usage: `bream-dist-peer NAME COOKIE [PORT]` — starts node NAME (short
//! name, `NAME@localhost`) without EPMD on PORT (default: one the OS picks), prints
//! `listening PORT`, and serves until killed:
//!
//! - `factory` (a `gen_server` in OTP's shapes, see `bream_dist::expose`):
//!   `{forwarder, Next}` spawns a process that passes `{token, N}` on to
//!   `Next` as `{token, N + 1}` and answers its pid; `worker` spawns a
//!   process that answers `{ping, From}` with `pong` and exits with reason
//!   `crashed` on `crash`, and answers its pid.

use std::time::Duration;

use bream_dist::{NodeBuilder, Term};

fn forwarder(next: bream::Pid) {
    loop {
        let t: Term = bream::receive();
        if let Some([tag, Term::Int(n)]) = t.as_tuple() {
            if tag.as_atom() == Some("token") {
                bream::send(next, Term::Tuple(vec![tag.clone(), Term::Int(n + 1)]));
            }
        }
    }
}

fn worker() {
    loop {
        let t: Term = bream::receive();
        match t.as_tuple() {
            Some([tag, Term::Pid(from)]) if tag.as_atom() == Some("ping") => {
                bream::send(bream_dist::pid_from_term(from), Term::atom("pong"));
            }
            _ if t.as_atom() == Some("crash") => {
                bream::exit_self(bream::ExitReason::Other("crashed".into()))
            }
            _ => {}
        }
    }
}

fn factory(req: Term) -> Term {
    let pid = match req.as_tuple() {
        Some([tag, Term::Pid(next)]) if tag.as_atom() == Some("forwarder") => {
            let next = bream_dist::pid_from_term(next);
            bream::spawn(move || forwarder(next))
        }
        _ if req.as_atom() == Some("worker") => bream::spawn(worker),
        _ => return Term::atom("badarg"),
    };
    bream_dist::pid_to_term(pid)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (name, cookie, port) = match args.as_slice() {
        [_, n, c] => (n.clone(), c.clone(), 0),
        [_, n, c, p] => (n.clone(), c.clone(), p.parse().expect("PORT")),
        _ => {
            eprintln!("usage: bream-dist-peer NAME COOKIE [PORT]");
            std::process::exit(2);
        }
    };
    let rt = bream::Runtime::builder()
        .workers(2)
        .node(&format!("{name}@localhost"))
        .cookie(&cookie)
        .without_epmd(port)
        .net_ticktime(Duration::from_secs(4))
        .build()
        .unwrap_or_else(|e| panic!("cannot start node {name}: {e}"));
    rt.block_on(|| {
        bream_dist::expose("factory", factory).expect("register factory");
        println!("listening {}", bream_dist::listen_port());
        loop {
            bream::receive::<()>();
        }
    });
}
