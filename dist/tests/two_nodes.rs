//! Two bream nodes, each its own OS process (the `bream-dist-peer` binary):
//! a ring across them, and a supervisor on node A restarting a worker that
//! lives on node B. No Erlang needed: the nodes run without EPMD.
//! Mirrors OTP's "Distributed Erlang" and supervisor(3) with remote children.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bream::ExitReason;
use bream_dist::{NodeBuilder, Term};
use bream_stdlib::supervisor::{self, ChildSpec, ChildState, Strategy, Supervisor};
use bream_stdlib::StartError;
use common::{atom, me, watchdog, COOKIE};

const T: Duration = Duration::from_secs(40);
const W: Duration = Duration::from_secs(10);

/// The peer's OS process, killed on drop.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `bream-dist-peer NAME` and returns it with its port.
fn start_peer(name: &str) -> (Peer, u16) {
    start_peer_on(name, 0)
}

/// Starts `bream-dist-peer NAME COOKIE PORT` (0: any port).
fn start_peer_on(name: &str, port: u16) -> (Peer, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bream-dist-peer"))
        .args([name, COOKIE, &port.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start bream-dist-peer");
    let out = child.stdout.take().unwrap();
    let peer = Peer(child);
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .expect("the peer's port");
    let port = line
        .trim()
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line from the peer: {line:?}"));
    (peer, port)
}

/// Node A, which reaches node `b` at `port` on loopback.
fn node_a(name: &str, b: &str, port: u16) -> bream::Runtime {
    bream::Runtime::builder()
        .workers(2)
        .node(&format!("{name}@localhost"))
        .cookie(COOKIE)
        .without_epmd(0)
        .peer(b, SocketAddr::from(([127, 0, 0, 1], port)))
        .net_ticktime(Duration::from_secs(4))
        .build()
        .expect("node A")
}

fn pid_of(t: Term) -> bream::Pid {
    match t {
        Term::Pid(p) => bream_dist::pid_from_term(&p),
        other => panic!("expected a pid, got {other}"),
    }
}

#[test]
fn a_ring_across_two_os_processes() {
    watchdog(T, || {
        let (_peer, port) = start_peer("ring_b");
        let b = "ring_b@localhost";
        node_a("ring_a", b, port).block_on(move || {
            // 2 x 50 processes, alternating nodes: every hop crosses.
            const HOPS: i64 = 100;
            let mut next = bream::self_pid();
            for i in 0..HOPS {
                next = if i % 2 == 1 {
                    let req = Term::Tuple(vec![atom("forwarder"), bream_dist::pid_to_term(next)]);
                    pid_of(
                        bream_dist::call_term(("factory", b), req, W).expect("a remote forwarder"),
                    )
                } else {
                    let n = next;
                    bream::spawn(move || loop {
                        let t: Term = bream::receive();
                        if let Some([tag, Term::Int(k)]) = t.as_tuple() {
                            bream::send(n, Term::Tuple(vec![tag.clone(), Term::Int(k + 1)]));
                        }
                    })
                };
            }
            assert!(!next.is_local(), "the first hop is on node B");
            for round in 0..10 {
                bream::send(next, Term::Tuple(vec![atom("token"), Term::Int(0)]));
                let t: Term = bream::receive_timeout(W)
                    .unwrap_or_else(|| panic!("round {round}: the token is lost"));
                assert_eq!(t, Term::Tuple(vec![atom("token"), Term::Int(HOPS)]));
            }
        });
    });
}

#[test]
fn a_supervisor_on_node_a_restarts_a_worker_on_node_b_after_it_crashes() {
    watchdog(T, || {
        let (_peer, port) = start_peer("sup_b");
        let b = "sup_b@localhost";
        node_a("sup_a", b, port).block_on(move || {
            let start = move || {
                let t = bream_dist::call_term(("factory", b), atom("worker"), W)
                    .map_err(|e| StartError::Init(ExitReason::Other(e.to_string())))?;
                let pid = pid_of(t);
                bream::link(pid); // the start function runs in the supervisor
                Ok(pid)
            };
            let sup = Supervisor::new(Strategy::OneForOne)
                .intensity(5)
                .child(ChildSpec::worker("remote", start))
                .start_link()
                .expect("the supervisor starts its remote child");
            let running = || match supervisor::which_children(&sup).unwrap()[0].state {
                ChildState::Running(p) => Some(p),
                _ => None,
            };
            let w1 = running().expect("running");
            assert!(!w1.is_local(), "the worker lives on node B");
            assert_eq!(bream_dist::node_of(w1), b);
            bream::send(w1, atom("crash"));
            let deadline = Instant::now() + W;
            let w2 = loop {
                match running() {
                    Some(p) if p != w1 => break p,
                    _ if Instant::now() > deadline => panic!("not restarted"),
                    _ => bream::sleep(Duration::from_millis(20)),
                }
            };
            assert!(!w2.is_local());
            bream::send(w2, Term::Tuple(vec![atom("ping"), me()]));
            assert_eq!(bream::receive_timeout::<Term>(W), Some(atom("pong")));
        });
    });
}

#[test]
fn a_pid_of_a_previous_incarnation_never_reaches_the_new_one() {
    watchdog(T, || {
        let (peer, port) = start_peer("inc_b");
        let b = "inc_b@localhost";
        node_a("inc_a", b, port).block_on(move || {
            let worker =
                || pid_of(bream_dist::call_term(("factory", b), atom("worker"), W).unwrap());
            let old = worker();
            let r = bream::monitor(old);
            // Node B dies and comes back under the same name and port: a new
            // incarnation (another creation).
            bream::blocking(move || drop(peer));
            let d: bream::Down = bream::receive_timeout(W).expect("NoConnection");
            assert_eq!((d.monitor, d.reason), (r, ExitReason::NoConnection));
            let (peer2, _) = bream::blocking(move || start_peer_on("inc_b", port));
            let new = worker();
            assert_ne!(bream_dist::node_of(new), "nonode@nohost");
            assert_ne!(
                old.__node(),
                new.__node(),
                "another incarnation, another node index"
            );
            // The old pid names a process that is gone for good: the same
            // id and serial on the new incarnation is not it.
            let r = bream::monitor(old);
            let d: bream::Down = bream::receive_timeout(W).expect("a Down for the old pid");
            assert_eq!((d.monitor, d.reason), (r, ExitReason::NoProc));
            assert!(!bream::is_alive(old));
            bream::send(old, Term::Tuple(vec![atom("ping"), me()]));
            bream::send(new, Term::Tuple(vec![atom("ping"), me()]));
            assert_eq!(bream::receive_timeout::<Term>(W), Some(atom("pong")));
            assert_eq!(
                bream::receive_timeout::<Term>(Duration::from_millis(300)),
                None,
                "the old pid's message reached someone"
            );
            // disconnect_node: monitors through the connection fire.
            let r = bream::monitor(new);
            assert!(bream_dist::disconnect_node(b));
            let d: bream::Down = bream::receive_timeout(W).expect("NoConnection");
            assert_eq!((d.monitor, d.reason), (r, ExitReason::NoConnection));
            drop(peer2);
        });
    });
}
