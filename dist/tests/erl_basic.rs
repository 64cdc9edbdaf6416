//! bream and a real `erl` node: connecting, and messages both ways.
//! Mirrors OTP's "Distributed Erlang" chapter (net_adm:ping, `{Name, Node} ! Msg`,
//! `Pid ! Msg` across nodes).

mod common;

use std::time::Duration;

use bream_dist::Term;
use common::{have_erl, node, watchdog, Erl, COOKIE};

const T: Duration = Duration::from_secs(20);

#[test]
fn ping_from_erl_gets_pong_and_erl_sees_bream_in_nodes() {
    if !have_erl("ping_from_erl_gets_pong") {
        return;
    }
    watchdog(T, || {
        let rt = node("b_ping");
        let erl = Erl::start(
            "e_ping",
            COOKIE,
            "R = net_adm:ping('b_ping@localhost'), io:format(\"~p~n\", [R]), \
             io:format(\"~p~n\", [lists:member('b_ping@localhost', nodes())]).",
        );
        erl.expect("pong", T);
        erl.expect("true", T);
        let seen = rt.block_on(bream_dist::nodes);
        assert_eq!(seen, vec!["e_ping@localhost".to_string()]);
    });
}

#[test]
fn erl_sends_to_a_registered_bream_process_and_gets_the_reply() {
    if !have_erl("erl_sends_to_a_registered_bream_process") {
        return;
    }
    watchdog(T, || {
        let rt = node("b_echo");
        rt.block_on(|| {
            let echo = bream::spawn(|| loop {
                let t: Term = bream::receive();
                if let Some([Term::Pid(from), msg]) = t.as_tuple() {
                    let from = bream_dist::pid_from_term(from);
                    bream::send(from, Term::Tuple(vec![Term::atom("echo"), msg.clone()]));
                }
            });
            bream::register("echo", echo).unwrap();
        });
        let erl = Erl::start(
            "e_echo",
            COOKIE,
            "{echo, 'b_echo@localhost'} ! {self(), <<\"hello\">>}, \
             receive M -> io:format(\"~p~n\", [M]) after 10000 -> io:format(\"timeout~n\") end.",
        );
        erl.expect("{echo,<<\"hello\">>}", T);
    });
}
