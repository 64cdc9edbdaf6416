//! OTP across nodes: `gen_server` calls and casts in OTP's message shapes,
//! bream servers exposed to Erlang callers, and `rpc:call` through `rex`.
//!
//! The shapes (OTP's gen.erl and gen_server.erl):
//!
//! - a call is `{'$gen_call', {From, Tag}, Request}` sent to the server; the
//!   answer is `{Tag, Reply}` sent to `From`. The caller monitors a server
//!   given by pid (a `Down` ends the call with `NoProc`, `NoConnection` or the
//!   server's reason, as OTP's call exits) and monitors the node of a server
//!   given by name (`NodeDown` ends it with `NoConnection`);
//! - a cast is `{'$gen_cast', Message}`;
//! - `rpc:call(Node, M, F, A)` is a call to `{rex, Node}` with
//!   `{call, M, F, A, GroupLeader}`, answered by the result or
//!   `{badrpc, Reason}`.
//!
//! A bream `gen_server` (bream-stdlib) speaks Rust types, not terms, so it is
//! offered to other nodes through [`expose`]: a registered proxy process that
//! decodes each `'$gen_call'` as the server's request type, runs a closure
//! (which calls the local server with stdlib's API) and sends the reply back
//! in OTP's shape. Erlang's `gen_server:call({counter, 'bream@host'}, get)`
//! and bream's [`call`] both reach it.

use std::fmt;
use std::time::Duration;

use bream::{Down, ExitReason, Pid};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::node::{self, NodeDown};
use crate::Term;

/// Where a call goes: a pid (of any node), or a name registered on a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    /// A process.
    Pid(Pid),
    /// `{Name, Node}`.
    Named {
        /// The registered name.
        name: String,
        /// The node.
        node: String,
    },
}

impl From<Pid> for Dest {
    fn from(p: Pid) -> Dest {
        Dest::Pid(p)
    }
}

impl From<(&str, &str)> for Dest {
    fn from((name, node): (&str, &str)) -> Dest {
        Dest::Named {
            name: name.to_string(),
            node: node.to_string(),
        }
    }
}

/// Why a call did not return a reply (OTP's call exits).
#[derive(Clone, Debug, PartialEq)]
pub enum CallError {
    /// No reply within the timeout (`timeout`). Also what a call to a name
    /// nobody holds gives: bream-dist does not monitor by name.
    Timeout,
    /// The server was not alive (`noproc`).
    NoProc,
    /// The server's node could not be reached or was lost (`noconnection`).
    NoConnection,
    /// The server exited with this reason during the call.
    Exit(ExitReason),
    /// The reply did not decode as the expected type.
    BadReply(Term),
    /// The request could not be encoded.
    Encode(String),
    /// `rpc`: the remote call failed (`{badrpc, Reason}`).
    BadRpc(Term),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Timeout => f.write_str("timeout"),
            CallError::NoProc => f.write_str("noproc"),
            CallError::NoConnection => f.write_str("noconnection"),
            CallError::Exit(r) => write!(f, "the server exited: {r}"),
            CallError::BadReply(t) => write!(f, "unexpected reply {t}"),
            CallError::Encode(e) => write!(f, "cannot encode the request: {e}"),
            CallError::BadRpc(t) => write!(f, "badrpc: {t}"),
        }
    }
}

impl std::error::Error for CallError {}

fn tuple(v: Vec<Term>) -> Term {
    Term::Tuple(v)
}

/// Calls a `gen_server` (Erlang's or one [`expose`]d by bream) with a
/// request of any serde type, and decodes the reply.
///
/// ```no_run
/// use std::time::Duration;
/// bream::run(|| {
///     // Against `erl -sname erl -setcookie c`, with a gen_server registered as `counter`:
///     let n: i64 = bream_dist::call(("counter", "erl@localhost"), &"get", Duration::from_secs(5)).unwrap();
///     println!("{n}");
/// });
/// ```
///
/// # Errors
/// [`CallError`].
///
/// # Panics
/// Outside a process of a runtime that is a node.
pub fn call<Req: Serialize, Rep: DeserializeOwned>(
    dest: impl Into<Dest>,
    request: &Req,
    timeout: Duration,
) -> Result<Rep, CallError> {
    let req = crate::to_term(request).map_err(|e| CallError::Encode(e.to_string()))?;
    let reply = call_term(dest, req, timeout)?;
    crate::from_term::<Rep>(&reply).map_err(|_| CallError::BadReply(reply.clone()))
}

/// [`call`] with a request and reply given as terms.
///
/// # Errors
/// [`CallError`].
///
/// # Panics
/// As [`call`].
pub fn call_term(
    dest: impl Into<Dest>,
    request: Term,
    timeout: Duration,
) -> Result<Term, CallError> {
    let dest = dest.into();
    let n = node::current();
    let tag = n.make_ref();
    let me = n
        .pid_to_term(bream::self_pid())
        .ok_or(CallError::NoConnection)?;
    let msg = tuple(vec![
        Term::atom("$gen_call"),
        tuple(vec![me, tag.clone()]),
        request,
    ]);
    let (mon, peer) = match &dest {
        Dest::Pid(p) => (Some(bream::monitor(*p)), None),
        Dest::Named { node: nd, .. } => {
            if *nd != n.name {
                node::monitor_node(nd);
            }
            (None, Some(nd.clone()))
        }
    };
    match &dest {
        Dest::Pid(p) => bream::send(*p, msg),
        Dest::Named { name, node: nd } => {
            if bream::send_named_at(name, nd, msg).is_err() {
                return Err(CallError::NoProc);
            }
        }
    }
    let is_reply = |t: &Term| matches!(t.as_tuple(), Some([t0, _]) if *t0 == tag);
    let result = bream::receive! {
        t: Term if is_reply(&t) => match t {
            Term::Tuple(mut v) => Ok(v.pop().unwrap_or_else(Term::nil)),
            _ => unreachable!("checked by the guard"),
        },
        d: Down if Some(d.monitor) == mon => Err(match d.reason {
            ExitReason::NoProc => CallError::NoProc,
            ExitReason::NoConnection => CallError::NoConnection,
            r => CallError::Exit(r),
        }),
        nd: NodeDown if peer.as_deref() == Some(nd.node.as_str()) => Err(CallError::NoConnection),
        after timeout => Err(CallError::Timeout),
    };
    if let Some(m) = mon {
        bream::demonitor(m, true);
    }
    if let Some(p) = peer.filter(|p| *p != n.name) {
        node::demonitor_node(&p);
        // A NodeDown that raced the reply is no longer anyone's business.
        while bream::receive! {
            nd: NodeDown if nd.node == p => true,
            after Duration::ZERO => false,
        } {}
    }
    result
}

/// Casts `message` to a `gen_server` (`{'$gen_cast', Message}`): never
/// fails, never waits, as OTP's `gen_server:cast`.
///
/// # Panics
/// As [`call`].
pub fn cast<M: Serialize>(dest: impl Into<Dest>, message: &M) {
    let m = match crate::to_term(message) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!("bream-dist: cast not sent: cannot encode the message: {e}");
            return;
        }
    };
    let msg = tuple(vec![Term::atom("$gen_cast"), m]);
    match dest.into() {
        Dest::Pid(p) => bream::send(p, msg),
        Dest::Named { name, node } => {
            let _ = bream::send_named_at(&name, &node, msg);
        }
    }
}

/// `rpc:call(Node, Module, Function, Args, Timeout)` through the node's
/// `rex` server.
///
/// ```no_run
/// use std::time::Duration;
/// bream::run(|| {
///     let r = bream_dist::rpc("erl@localhost", "erlang", "node", vec![], Duration::from_secs(5));
///     println!("{r:?}");
/// });
/// ```
///
/// # Errors
/// [`CallError::BadRpc`] with the remote reason, or how the call failed.
///
/// # Panics
/// As [`call`].
pub fn rpc(
    node: &str,
    module: &str,
    function: &str,
    args: Vec<Term>,
    timeout: Duration,
) -> Result<Term, CallError> {
    let n = node::current();
    let gl = n
        .pid_to_term(bream::self_pid())
        .ok_or(CallError::NoConnection)?;
    let req = tuple(vec![
        Term::atom("call"),
        Term::atom(module),
        Term::atom(function),
        Term::List(args),
        gl,
    ]);
    match call_term(("rex", node), req, timeout)? {
        Term::Tuple(v) if v.len() == 2 && v[0].as_atom() == Some("badrpc") => {
            Err(CallError::BadRpc(v[1].clone()))
        }
        t => Ok(t),
    }
}

/// A request that arrived at an exposed server: who to answer, and how.
pub(crate) fn parts(t: &Term) -> Option<(Pid, Term, &Term)> {
    let [kind, from, req] = t.as_tuple()? else {
        return None;
    };
    if kind.as_atom() != Some("$gen_call") {
        return None;
    }
    let [Term::Pid(p), tag] = from.as_tuple()? else {
        return None;
    };
    Some((node::pid_from_term(p), tag.clone(), req))
}

/// Answers a `'$gen_call'` (OTP's `gen:reply/2`): `{Tag, Reply}` to `From`.
pub(crate) fn reply(to: Pid, tag: Term, value: Term) {
    bream::send(to, tuple(vec![tag, value]));
}

/// Offers a server to other nodes under `name`: spawns a registered proxy
/// that decodes each `'$gen_call'` request as a `Call`, runs `on_call` (in the
/// proxy; typically a call to a local bream `gen_server`) and replies with
/// its result in OTP's shape. A request that does not decode is logged and
/// left unanswered (the caller times out). See the module essay.
///
/// # Errors
/// The name is taken, or not a valid name.
///
/// # Panics
/// As [`call`].
pub fn expose<Call, Reply>(
    name: &str,
    on_call: impl FnMut(Call) -> Reply + Send + 'static,
) -> Result<Pid, bream::RegisterError>
where
    Call: DeserializeOwned + Send + 'static,
    Reply: Serialize + 'static,
{
    expose_with_casts(name, on_call, |_: Term| {})
}

/// [`expose`] that also handles `'$gen_cast'` messages as `Cast`s.
///
/// # Errors
/// As [`expose`].
///
/// # Panics
/// As [`call`].
pub fn expose_with_casts<Call, Reply, Cast>(
    name: &str,
    mut on_call: impl FnMut(Call) -> Reply + Send + 'static,
    mut on_cast: impl FnMut(Cast) + Send + 'static,
) -> Result<Pid, bream::RegisterError>
where
    Call: DeserializeOwned + Send + 'static,
    Reply: Serialize + 'static,
    Cast: DeserializeOwned + Send + 'static,
{
    let label = name.to_string();
    let pid = bream::spawn(move || loop {
        let t: Term = bream::receive();
        if let Some((from, tag, req)) = parts(&t) {
            match crate::from_term::<Call>(req) {
                Ok(c) => match crate::to_term(&on_call(c)) {
                    Ok(r) => reply(from, tag, r),
                    Err(e) => {
                        tracing::error!(server = %label, "bream-dist: cannot encode the reply: {e}")
                    }
                },
                Err(e) => {
                    tracing::warn!(server = %label, "bream-dist: request {req} not understood: {e}")
                }
            }
            continue;
        }
        match t.as_tuple() {
            Some([k, m]) if k.as_atom() == Some("$gen_cast") => match crate::from_term::<Cast>(m) {
                Ok(c) => on_cast(c),
                Err(e) => {
                    tracing::warn!(server = %label, "bream-dist: cast {m} not understood: {e}")
                }
            },
            _ => tracing::debug!(server = %label, "bream-dist: unexpected message {t}"),
        }
    });
    // Registered names are `&'static str`: an exposed name lives as long as
    // the program (a few bytes per exposed server).
    let name: &'static str = Box::leak(name.to_string().into_boxed_str());
    match bream::register(name, pid) {
        Ok(()) => Ok(pid),
        Err(e) => {
            bream::exit(pid, ExitReason::Kill);
            Err(e)
        }
    }
}
