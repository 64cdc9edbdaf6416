//! The router bream-dist installs in the runtime (ADR dist-0001): what the
//! runtime's calls on remote pids become.

use std::any::{Any, TypeId};
use std::sync::Arc;
use std::time::Duration;

use bream::__remote::{RemoteSignal, Router};
use bream::{Down, ExitReason, MonitorRef, Pid};

use crate::conn::Cmd;
use crate::control::{self as c, ctrl, packet};
use crate::node::Node;
use crate::{codec, Term};

/// bream-dist's [`Router`]: the node it serves.
pub(crate) struct DistRouter {
    pub(crate) node: Arc<Node>,
}

impl DistRouter {
    pub(crate) fn new(node: Arc<Node>) -> Self {
        DistRouter { node }
    }

    /// The packet for a message to `to`, or the reason there is none (logged
    /// by the caller, at the send). The slow path: a packet of its own, for a
    /// connection that is not up yet or a send by name.
    fn encode(&self, msg: &dyn Any, type_name: &str, ctl: Term) -> Result<Vec<u8>, String> {
        let mut out = packet(&ctl, None)?;
        codec::encode_into(msg, type_name, &self.node, &mut out)?;
        let len = u32::try_from(out.len() - 4).map_err(|_| "a message over 4 GiB".to_string())?;
        out[..4].copy_from_slice(&len.to_be_bytes());
        Ok(out)
    }
}

impl Router for DistRouter {
    fn send(&self, from: Pid, to: Pid, msg: Box<dyn Any + Send>, type_name: &'static str) {
        let n = &self.node;
        // The fast path (ADR dist-0002): the connection is up, the header is
        // written from cached bytes, the message encoded into its outbox.
        if from.is_local() {
            let ((fid, fserial), (tid, tserial)) = (from.__parts(), to.__parts());
            let sent = n.send_up(to.__node(), |out, route| {
                let me = (&n.atom_ext[..], fid, fserial, n.creation);
                let peer = (&route.peer_atom[..], tid, tserial, route.peer_creation);
                c::write_send_sender(out, me, peer);
                codec::encode_into(&*msg, type_name, n, out)
            });
            match sent {
                Some(Ok(())) => return,
                Some(Err(e)) => {
                    tracing::error!(%from, %to, "bream-dist: message not sent: {e}");
                    return;
                }
                None => {}
            }
        }
        let (Some(f), Some(t)) = (n.pid_to_term(from), n.pid_to_term(to)) else {
            return;
        };
        match self.encode(&*msg, type_name, ctrl(c::SEND_SENDER, vec![f, t])) {
            Ok(bytes) => {
                n.to_conn_of(
                    to,
                    Cmd::Packet {
                        node: to.__node(),
                        bytes,
                    },
                );
            }
            Err(e) => tracing::error!(%from, %to, "bream-dist: message not sent: {e}"),
        }
    }

    fn send_named(
        &self,
        from: Pid,
        name: &str,
        node: &str,
        msg: Box<dyn Any + Send>,
        type_name: &'static str,
    ) -> Result<(), Box<dyn Any + Send>> {
        let n = &self.node;
        if node == n.name {
            return Err(msg);
        }
        let Ok(atom) = crate::Atom::try_new(name) else {
            tracing::error!(%from, name, "bream-dist: message not sent: the name is too long for an atom");
            return Ok(());
        };
        let Some(f) = n.pid_to_term(from) else {
            return Ok(());
        };
        let ctl = ctrl(c::REG_SEND, vec![f, c::unused(), Term::Atom(atom)]);
        match self.encode(&*msg, type_name, ctl) {
            Ok(bytes) => {
                if !n.to_conn(node, Cmd::Packet { node: 0, bytes }) {
                    tracing::error!(%from, node, "bream-dist: message not sent: bad node name");
                }
            }
            Err(e) => tracing::error!(%from, name, node, "bream-dist: message not sent: {e}"),
        }
        Ok(())
    }

    fn link(&self, from: Pid, to: Pid) {
        if !self.node.to_conn_of(
            to,
            Cmd::Link {
                local: from,
                remote: to,
            },
        ) {
            // A previous incarnation of this node: that process is gone.
            bream::__remote::signal_exit(from, to, ExitReason::NoProc, true);
        }
    }

    fn unlink(&self, from: Pid, to: Pid) {
        self.node.to_conn_of(
            to,
            Cmd::Unlink {
                local: from,
                remote: to,
            },
        );
    }

    fn monitor(&self, from: Pid, to: Pid, r: MonitorRef) {
        if !self.node.to_conn_of(
            to,
            Cmd::Monitor {
                local: from,
                remote: to,
                r,
            },
        ) {
            let down = Down {
                monitor: r,
                pid: to,
                reason: ExitReason::NoProc,
            };
            bream::__remote::signal_down(from, down);
        }
    }

    fn demonitor(&self, from: Pid, to: Pid, r: MonitorRef) {
        // Also called from a process's exit, outside any process.
        self.node.to_existing_conn_of(
            to,
            Cmd::Demonitor {
                local: from,
                remote: to,
                r,
            },
        );
    }

    fn signal(&self, to: Pid, sig: RemoteSignal) {
        let cmd = match sig {
            RemoteSignal::Exit { from, reason, link } => Cmd::Exit {
                from,
                to,
                reason,
                link,
            },
            RemoteSignal::Down(down) => Cmd::Down { to, down },
        };
        match cmd {
            // `exit(remote, reason)` from a process: connect if need be.
            Cmd::Exit { link: false, .. } => {
                self.node.to_conn_of(to, cmd);
            }
            // A process's exit (outside any process): links and monitors
            // exist only through a live connection.
            cmd => self.node.to_existing_conn_of(to, cmd),
        }
    }

    fn is_alive(&self, pid: Pid) -> bool {
        let node = crate::node::node_of(pid);
        let Some(p) = self.node.pid_to_term(pid) else {
            return false;
        };
        let r = crate::call::rpc(
            &node,
            "erlang",
            "is_process_alive",
            vec![p],
            Duration::from_secs(5),
        );
        matches!(r, Ok(Term::Atom(a)) if a == "true")
    }

    fn decode(&self, wire: &(dyn Any + Send), want: TypeId) -> Option<Box<dyn Any + Send>> {
        let term = (wire as &dyn Any).downcast_ref::<Term>()?;
        codec::decode(term, want, &self.node)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
