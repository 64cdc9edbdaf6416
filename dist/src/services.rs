//! The two registered services every Erlang node answers, in their smallest
//! useful form: `net_kernel` (`net_adm:ping/1` asks it `{is_auth, Node}`) and
//! `rex` (`rpc:call/4,5`: `{call, M, F, A, GroupLeader}`; bream answers
//! `erlang:node/0`, `erlang:nodes/0` and `erlang:is_process_alive/1`, and
//! `{badrpc, {'EXIT', {undef, ...}}}` otherwise: there is no Erlang code to
//! run).

use std::io;
use std::sync::Arc;

use crate::call::{parts, reply};
use crate::node::Node;
use crate::Term;

pub(crate) fn spawn_services(node: &Arc<Node>) -> io::Result<()> {
    let reg = |name: &'static str, pid| {
        bream::register(name, pid)
            .map_err(|e| io::Error::new(io::ErrorKind::AlreadyExists, e.to_string()))
    };
    let nk = bream::spawn(net_kernel);
    reg("net_kernel", nk)?;
    let n = Arc::clone(node);
    let rex = bream::spawn(move || rex(&n));
    reg("rex", rex)?;
    Ok(())
}

fn net_kernel() {
    loop {
        let t: Term = bream::receive();
        if let Some((from, tag, req)) = parts(&t) {
            if matches!(req.as_tuple(), Some([k, _]) if k.as_atom() == Some("is_auth")) {
                reply(from, tag, Term::atom("yes"));
            }
        }
    }
}

fn rex(node: &Node) {
    loop {
        let t: Term = bream::receive();
        let Some((from, tag, req)) = parts(&t) else {
            continue;
        };
        let answer = match req.as_tuple() {
            Some([k, m, f, a, _gl]) if k.as_atom() == Some("call") => apply(node, m, f, a),
            _ => continue,
        };
        reply(from, tag, answer);
    }
}

fn apply(node: &Node, m: &Term, f: &Term, a: &Term) -> Term {
    let args = a.as_list().unwrap_or(&[]);
    match (m.as_atom(), f.as_atom(), args) {
        (Some("erlang"), Some("node"), []) => Term::Atom(node.atom.clone()),
        (Some("erlang"), Some("nodes"), []) => {
            Term::List(node.connected().iter().map(|n| Term::atom(n)).collect())
        }
        (Some("erlang"), Some("is_process_alive"), [Term::Pid(p)]) => {
            let pid = node.pid_from_external(p);
            let alive = pid.is_local() && bream::is_alive(pid);
            Term::atom(if alive { "true" } else { "false" })
        }
        _ => Term::Tuple(vec![
            Term::atom("badrpc"),
            Term::Tuple(vec![
                Term::atom("EXIT"),
                Term::Tuple(vec![
                    Term::atom("undef"),
                    Term::List(vec![Term::Tuple(vec![
                        m.clone(),
                        f.clone(),
                        a.clone(),
                        Term::nil(),
                    ])]),
                ]),
            ]),
        ]),
    }
}
