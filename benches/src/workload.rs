//! The eight workloads, as data: names, their two parameters `a` and `b`, the
//! defaults, what `ops` and `result` are, the expected result, and how much memory
//! a run needs. benches/peers/README.md is the prose definition; this file is the
//! same table in code, used by bream's runs and by `compare` for the peers.

use std::fmt;

/// One workload of benches/peers/README.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Workload {
    Spawn,
    Ring,
    Pingpong,
    Skynet,
    Fanin,
    Selective,
    Call,
    Timers,
    /// Not in `ALL` (only bream, tokio and Go implement it): run by name.
    Backpressure,
    /// Not in `ALL` (bream, the BEAM, Go and tokio implement it): run by name.
    Idle,
}

/// The two parameters every implementation takes on its command line
/// (`<peer> <workload> <workers> <a> <b>`); `b` is 0 where unused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub a: u64,
    pub b: u64,
}

/// The size options of the command line, each `None` unless given.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sizes {
    pub processes: Option<u64>,
    pub laps: Option<u64>,
    pub messages: Option<u64>,
    pub senders: Option<u64>,
    pub depth: Option<u64>,
    pub timeout_ms: Option<u64>,
    /// `idle` on bream without `hibernate_after` (`--no-freeze`).
    pub no_freeze: bool,
}

impl Workload {
    /// In the order `all` runs them.
    pub const ALL: [Workload; 8] = [
        Workload::Spawn,
        Workload::Ring,
        Workload::Pingpong,
        Workload::Skynet,
        Workload::Fanin,
        Workload::Selective,
        Workload::Call,
        Workload::Timers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Spawn => "spawn",
            Workload::Ring => "ring",
            Workload::Pingpong => "pingpong",
            Workload::Skynet => "skynet",
            Workload::Fanin => "fanin",
            Workload::Selective => "selective",
            Workload::Call => "call",
            Workload::Timers => "timers",
            Workload::Backpressure => "backpressure",
            Workload::Idle => "idle",
        }
    }

    /// Workloads run only by name (`bream-bench backpressure`,
    /// `bream-bench compare backpressure --impls bream,tokio,go`): not every
    /// peer implements them, so `all` leaves them out.
    pub const BY_NAME_ONLY: [Workload; 2] = [Workload::Backpressure, Workload::Idle];

    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL
            .into_iter()
            .chain(Workload::BY_NAME_ONLY)
            .find(|w| w.name() == name)
    }

    /// `a` and `b` from the command line's size options, with the defaults of
    /// benches/peers/README.md. Which option feeds which parameter is part of
    /// the workload's definition (and of `--help`).
    pub fn params(self, s: &Sizes) -> Params {
        let (a, b) = match self {
            Workload::Spawn => (s.processes.unwrap_or(1_000_000), 0),
            Workload::Ring => (s.processes.unwrap_or(10_000), s.laps.unwrap_or(1_000)),
            Workload::Pingpong => (s.messages.unwrap_or(1_000_000), 0),
            Workload::Skynet => (s.processes.unwrap_or(1_000_000), 0),
            Workload::Fanin => (s.senders.unwrap_or(4), s.messages.unwrap_or(2_500_000)),
            Workload::Backpressure => (s.senders.unwrap_or(4), s.messages.unwrap_or(1_000_000)),
            Workload::Selective => (s.depth.unwrap_or(10_000), s.messages.unwrap_or(100_000)),
            Workload::Call => (s.messages.unwrap_or(1_000_000), 0),
            Workload::Timers => (
                s.processes.unwrap_or(1_000_000),
                s.timeout_ms.unwrap_or(1_000),
            ),
            // b = 1: bream's processes freeze their stacks (the peers ignore b).
            Workload::Idle => (s.processes.unwrap_or(1_000_000), u64::from(!s.no_freeze)),
        };
        Params { a, b }
    }

    /// Refuse parameters the workload cannot run, with what to change.
    pub fn check(self, p: Params) -> Result<(), String> {
        let zero = |what: &str| Err(format!("{self}: {what} must be at least 1"));
        match self {
            Workload::Skynet if !is_power_of_ten(p.a) => Err(format!(
                "skynet: --processes is the number of leaves and must be a power of 10 \
                 (10, 100, ..., 1000000); got {}",
                p.a
            )),
            Workload::Ring if p.b == 0 => zero("--laps"),
            Workload::Fanin | Workload::Backpressure if p.b == 0 => zero("--messages"),
            Workload::Selective if p.b == 0 => zero("--messages"),
            _ if p.a == 0 => zero("the size"),
            _ => Ok(()),
        }
    }

    /// The size reported as `n` (benches/peers/README.md, the table's `n` column).
    pub fn n(self, p: Params) -> u64 {
        match self {
            Workload::Fanin | Workload::Backpressure => p.a * p.b,
            _ => p.a,
        }
    }

    /// What `per_op_ns` divides by.
    pub fn ops(self, p: Params) -> u64 {
        match self {
            Workload::Ring | Workload::Fanin | Workload::Backpressure => p.a * p.b,
            Workload::Selective => p.b,
            _ => p.a,
        }
    }

    /// What one op is, for people.
    pub fn op_name(self) -> &'static str {
        match self {
            Workload::Spawn | Workload::Timers => "process",
            Workload::Idle => "wake",
            Workload::Ring => "hop",
            Workload::Pingpong => "round trip",
            Workload::Skynet => "leaf",
            Workload::Fanin | Workload::Backpressure => "message",
            Workload::Selective => "receive",
            Workload::Call => "call",
        }
    }

    /// The result a correct run reports.
    pub fn expected_result(self, p: Params) -> u64 {
        match self {
            Workload::Skynet => p.a * (p.a - 1) / 2,
            Workload::Ring | Workload::Fanin | Workload::Backpressure => p.a * p.b,
            Workload::Selective => p.b,
            _ => p.a,
        }
    }

    /// How many processes can be alive at once (for `max_processes` and `+P`).
    pub fn peak_processes(self, p: Params) -> u64 {
        match self {
            Workload::Spawn | Workload::Ring | Workload::Timers | Workload::Idle => p.a,
            // 1 + 10 + 100 + ... + a leaves: a·10/9 nodes, all of which can be alive.
            Workload::Skynet => p.a / 9 * 10 + 1,
            Workload::Fanin => p.a,
            Workload::Backpressure => p.a + 1,
            Workload::Pingpong | Workload::Selective | Workload::Call => 1,
        }
    }

    /// One line for `--help` and the docs.
    pub fn summary(self) -> &'static str {
        match self {
            Workload::Spawn => "N processes each wait for one message; message all; wait for all to finish [--processes 1000000]",
            Workload::Ring => "a token passed around a ring of N processes, L laps [--processes 10000 --laps 1000]",
            Workload::Pingpong => "two processes, M round trips [--messages 1000000]",
            Workload::Skynet => "the skynet tree: 10 children per node, N leaves, sum checked [--processes 1000000]",
            Workload::Fanin => "S senders each send M messages to one receiver [--senders 4 --messages 2500000]",
            Workload::Selective => "a tagged reply received behind D unmatched messages, M times, vs an empty mailbox [--depth 10000 --messages 100000]",
            Workload::Call => "gen_server call round trips [--messages 1000000]",
            Workload::Timers => "N processes each in receive-after T ms, all woken by their timeout [--processes 1000000 --timeout-ms 1000]",
            Workload::Backpressure => "S senders each send M messages to one slow receiver bounded at 1024 (bream Block, tokio mpsc::channel(1024), Go chan 1024) [--senders 4 --messages 1000000]",
            Workload::Idle => "N processes idle in receive (bream: stacks frozen by hibernate_after); memory per idle process, then the cost of waking them all [--processes 1000000, --no-freeze]",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn is_power_of_ten(mut n: u64) -> bool {
    if n == 0 {
        return false;
    }
    while n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for w in Workload::ALL.into_iter().chain(Workload::BY_NAME_ONLY) {
            assert_eq!(Workload::from_name(w.name()), Some(w));
        }
        assert_eq!(Workload::from_name("nope"), None);
    }

    #[test]
    fn defaults_are_the_issue_sizes() {
        let d = Sizes::default();
        assert_eq!(Workload::Spawn.params(&d), Params { a: 1_000_000, b: 0 });
        assert_eq!(Workload::Ring.ops(Workload::Ring.params(&d)), 10_000_000);
        assert_eq!(Workload::Fanin.n(Workload::Fanin.params(&d)), 10_000_000);
        let sky = Workload::Skynet.params(&d);
        assert_eq!(Workload::Skynet.expected_result(sky), 499_999_500_000);
        assert_eq!(Workload::Skynet.peak_processes(sky), 1_111_111);
        assert_eq!(Workload::Idle.params(&d), Params { a: 1_000_000, b: 1 });
        let thawed = Sizes {
            no_freeze: true,
            ..d
        };
        assert_eq!(Workload::Idle.params(&thawed).b, 0);
    }

    #[test]
    fn skynet_needs_a_power_of_ten() {
        assert!(Workload::Skynet.check(Params { a: 1000, b: 0 }).is_ok());
        let err = Workload::Skynet
            .check(Params { a: 1234, b: 0 })
            .unwrap_err();
        assert!(err.contains("power of 10"), "{err}");
        assert!(!is_power_of_ten(0));
    }
}
