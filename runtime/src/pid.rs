//! Identities: [`Pid`], [`Ref`], [`MonitorRef`], [`Alias`].
//!
//! A `Pid` is an index into the process table plus the generation of that
//! table slot (table.rs). When a process exits, its slot's generation is bumped
//! before the slot can be reused, so a `Pid` kept after its process died never
//! matches the newer process in the same slot: a send to it is dropped, as a send
//! to a dead pid is in Erlang. Generations are 32 bits: a stale pid would have to
//! survive four billion reuses of one slot to alias a newer process.

use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

/// A process identifier: which process to send to, link to, monitor or kill.
///
/// `Copy`, cheap to compare and hash, and printed the way Erlang prints pids:
/// `<0.Index.Generation>`. A `Pid` stays valid forever as a *name*: once its
/// process has exited, sends to it are dropped and [`is_alive`](crate::is_alive)
/// says `false`, even after the table slot was reused by a newer process.
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     assert_eq!(me, me);
///     assert!(format!("{me}").starts_with("<0."));
/// });
/// ```
///
/// # Remote pids
///
/// A pid may name a process on another node of an Erlang cluster (bream-dist,
/// docs/distribution.md). Its `node` slot is then non-zero: an index bream-dist
/// gave the `(node name, creation)` pair. A remote pid prints as `erl` prints
/// one (`<5.42.0>`), compares and hashes with its node, and never names a local
/// process. [`send`](crate::send), [`link`](crate::link),
/// [`monitor`](crate::monitor), [`exit`](crate::exit) and
/// [`is_alive`](crate::is_alive) forward it to the distribution layer;
/// [`process_info`](crate::process_info) answers `None` for it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid {
    /// 0: this node; otherwise the distribution layer's index of the node.
    node: u32,
    index: u32,
    generation: u32,
}

impl Pid {
    pub(crate) fn new(index: u32, generation: u32) -> Pid {
        Pid {
            node: 0,
            index,
            generation,
        }
    }

    /// True if this pid names a process of this runtime.
    ///
    /// ```
    /// bream::run(|| assert!(bream::self_pid().is_local()));
    /// ```
    #[inline]
    pub fn is_local(self) -> bool {
        self.node == 0
    }

    /// The node slot: 0 for a local pid, else the index the distribution
    /// layer gave the pid's node. For bream-dist.
    #[doc(hidden)]
    pub fn __node(self) -> u32 {
        self.node
    }

    /// `(id, serial)` as the External Term Format's `NEW_PID_EXT` carries
    /// them: the table index and generation of a local pid. For bream-dist.
    #[doc(hidden)]
    pub fn __parts(self) -> (u32, u32) {
        (self.index, self.generation)
    }

    /// A pid of another node (`node != 0`), or, with `node == 0`, the local
    /// pid with these parts (it names nothing if no such process lives). For
    /// bream-dist, which owns the meaning of `node`.
    #[doc(hidden)]
    pub fn __from_parts(node: u32, id: u32, serial: u32) -> Pid {
        Pid {
            node,
            index: id,
            generation: serial,
        }
    }

    /// The process table slot.
    pub(crate) fn index(self) -> u32 {
        self.index
    }

    /// The slot's generation when this pid was handed out.
    pub(crate) fn generation(self) -> u32 {
        self.generation
    }

    /// The pid as one number (the scheduler's task tag, which names the task
    /// in a long-schedule report). Local pids only.
    pub(crate) fn to_bits(self) -> u64 {
        (u64::from(self.index) << 32) | u64::from(self.generation)
    }

    /// The inverse of [`to_bits`](Pid::to_bits).
    pub(crate) fn from_bits(bits: u64) -> Pid {
        Pid::new((bits >> 32) as u32, bits as u32)
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}.{}.{}>", self.node, self.index, self.generation)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A unique reference (Erlang's `make_ref()`): a value no other call to
/// [`make_ref`](crate::make_ref) in this runtime returns, used to tag a request
/// so that its reply can be recognised.
///
/// ```
/// bream::run(|| {
///     let (a, b) = (bream::make_ref(), bream::make_ref());
///     assert_ne!(a, b);
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Ref(pub(crate) u64);

/// Names one monitor, as returned by [`monitor`](crate::monitor) and carried by
/// the [`Down`](crate::Down) message it produces.
///
/// ```
/// bream::run(|| {
///     let (pid, r) = bream::spawn_monitor(|| {});
///     let down: bream::Down = bream::receive();
///     assert_eq!((down.monitor, down.pid), (r, pid));
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct MonitorRef(pub(crate) Ref);

/// A process alias (OTP 24's `alias()`): an address of the process that made it,
/// which stops working when it is deactivated with [`unalias`](crate::unalias).
///
/// Messages sent with [`send_alias`](crate::send_alias) reach the owner only while
/// the alias is active; one that arrives after `unalias` is dropped by the
/// runtime and never shows up in the mailbox. That is what a late reply to a
/// timed-out call needs.
///
/// ```
/// bream::run(|| {
///     let a = bream::alias();
///     bream::send_alias(a, 1u32);
///     assert_eq!(bream::receive::<u32>(), 1);
///     bream::unalias(a);
///     bream::send_alias(a, 2u32);
///     assert_eq!(bream::receive_timeout::<u32>(std::time::Duration::ZERO), None);
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Alias {
    pub(crate) pid: Pid,
    pub(crate) id: u64,
}

impl Alias {
    /// The process this alias addresses.
    pub fn pid(&self) -> Pid {
        self.pid
    }
}

/// FxHash (rustc's hasher): the keys here are small integers we made ourselves,
/// so there is no flooding risk, and SipHash would dominate link/monitor costs.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        // The constant is rustc-hash's (from Firefox's hasher).
        self.hash = (self.hash.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` with [`FxHasher`].
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;
/// A `HashSet` with [`FxHasher`].
pub(crate) type FastSet<K> = std::collections::HashSet<K, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_prints_like_erlang_and_orders_by_index_then_generation() {
        let p = Pid::new(42, 0);
        assert_eq!(p.to_string(), "<0.42.0>");
        assert_eq!(format!("{p:?}"), "<0.42.0>");
        assert!(Pid::new(1, 9) < Pid::new(2, 0));
        assert!(Pid::new(2, 0) < Pid::new(2, 1));
        assert_ne!(
            Pid::new(2, 0),
            Pid::new(2, 1),
            "a newer generation is another process"
        );
    }

    #[test]
    fn a_remote_pid_prints_its_node_and_never_equals_a_local_one() {
        let r = Pid::__from_parts(5, 42, 0);
        assert_eq!(r.to_string(), "<5.42.0>");
        assert!(!r.is_local());
        assert_ne!(r, Pid::new(42, 0));
        assert!(Pid::new(u32::MAX, u32::MAX) < r, "ordered by node first");
        assert_eq!(Pid::__from_parts(0, 3, 4), Pid::new(3, 4));
    }
}
