//! The registry's processes: a root, linked to whoever started the registry,
//! and one partition process per table partition, linked to the root.
//!
//! # Why processes at all
//!
//! The tables are shared memory; any process reads and writes them directly.
//! What needs a process is *noticing exits*: a registering process links
//! itself to its partition's process (links are symmetric, so the registrant
//! can make the link itself, synchronously, with no round trip), and that
//! process traps exits. When the registrant exits, for any reason, the
//! partition process receives `Exit { from }` and removes `from`'s entries.
//! This is Elixir's design (a partition process links to registrants); a
//! monitor would need the *watcher* to call `monitor`, i.e. a message to the
//! partition and a wait for its answer on every first registration.
//!
//! # Shutdown
//!
//! The root traps exits. An exit signal from its parent stops it with that
//! reason; the partitions, linked to the root and trapping, stop with the
//! same reason; the linked registrants then get that exit signal (and die
//! unless they trap exits, as in Elixir). A partition that dies stops the
//! root (Elixir's registry supervisor is `one_for_all` with no restarts).
//! The root empties the tables on its way out, so a stopped registry answers
//! no stale pids.

use std::sync::Arc;

use bream::{receive, Down, Exit, ExitReason, Pid};

use super::Inner;
use crate::start::StartError;

/// The root's answer to the starter.
struct Ready {
    tag: bream::Ref,
}

/// Spawn the root (linked to the caller), which spawns the partitions; return
/// once they all run.
pub(crate) fn start<K, V>(inner: Arc<Inner<K, V>>) -> Result<Pid, StartError>
where
    K: std::hash::Hash + Eq + Send + 'static,
    V: Send + 'static,
{
    let parent = bream::self_pid();
    let tag = bream::make_ref();
    let opts = bream::SpawnOpts {
        link: true,
        monitor: true,
        trap_exit: true,
        ..Default::default()
    };
    let body = move || root(inner, parent, tag);
    let (pid, monitor) = match bream::spawn_opt(opts, body) {
        Ok((pid, Some(monitor))) => (pid, monitor),
        Ok((_, None)) => unreachable!("spawn_opt with monitor: true returns a monitor"),
        Err(error) => return Err(StartError::Spawn(error.to_string())),
    };
    receive! { marker tag;
        r: Ready if r.tag == tag => {
            crate::flush::forget_monitor(monitor, tag);
            Ok(pid)
        },
        d: Down if d.monitor == monitor => Err(StartError::Init(d.reason)),
    }
}

fn root<K, V>(inner: Arc<Inner<K, V>>, parent: Pid, tag: bream::Ref)
where
    K: std::hash::Hash + Eq + Send + 'static,
    V: Send + 'static,
{
    let me = bream::self_pid();
    inner.tables.clear();
    let mut partitions = Vec::with_capacity(inner.tables.partitions());
    for _ in 0..inner.tables.partitions() {
        let inner = Arc::clone(&inner);
        let opts = bream::SpawnOpts {
            link: true,
            trap_exit: true,
            ..Default::default()
        };
        let spawned = bream::spawn_opt(opts, move || partition(inner, me));
        match spawned {
            Ok((pid, _)) => partitions.push(pid),
            Err(error) => bream::exit_self(ExitReason::Other(format!("registry: {error}"))),
        }
    }
    inner.set_processes(Some(partitions.clone()));
    bream::send(parent, Ready { tag });
    let reason = loop {
        let exit: Exit = bream::receive();
        if exit.from == parent || partitions.contains(&exit.from) {
            break exit.reason;
        }
    };
    inner.set_processes(None);
    inner.tables.clear();
    if reason != ExitReason::Normal {
        bream::exit_self(reason);
    }
}

fn partition<K, V>(inner: Arc<Inner<K, V>>, root: Pid)
where
    K: std::hash::Hash + Eq + Send + 'static,
    V: Send + 'static,
{
    loop {
        let exit: Exit = bream::receive();
        if exit.from == root {
            if exit.reason != ExitReason::Normal {
                bream::exit_self(exit.reason);
            }
            return;
        }
        inner.tables.remove_pid(exit.from);
    }
}
