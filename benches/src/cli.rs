//! The command line: `bream-bench <workload> [options]`, `bream-bench all`,
//! `bream-bench compare <workload|all> [options]`. No argument at all runs the
//! main job, `spawn` with a million processes.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::workload::{Sizes, Workload};

/// What `main` does.
pub enum Command {
    /// Run workloads on bream in this OS process.
    Run {
        workloads: Vec<Workload>,
        opts: RunOpts,
    },
    /// bream side by side with the peers.
    Compare(CompareOpts),
    /// The echo workload: bream's TCP server beside the BEAM's and tokio's.
    Echo(crate::echo::EchoArgs),
    /// Run one workload traced; summarise the trace and draw it (timeline.rs).
    Trace(crate::timeline::TraceOpts),
    /// The dist workload: two bream nodes beside two erl nodes.
    Dist(crate::dist::DistArgs),
}

#[derive(Parser, Debug)]
#[command(
    name = "bream-bench",
    version,
    about = "The million-process harness: bream's workloads, and bream side by side with the BEAM, Go, tokio and may.",
    after_help = "With no command, runs `spawn` (1,000,000 processes). Workloads are defined in benches/peers/README.md; docs/benchmarking.md explains the numbers."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    #[command(about = Workload::Spawn.summary())]
    Spawn(RunOpts),
    #[command(about = Workload::Ring.summary())]
    Ring(RunOpts),
    #[command(about = Workload::Pingpong.summary())]
    Pingpong(RunOpts),
    #[command(about = Workload::Skynet.summary())]
    Skynet(RunOpts),
    #[command(about = Workload::Fanin.summary())]
    Fanin(RunOpts),
    #[command(about = Workload::Selective.summary())]
    Selective(RunOpts),
    #[command(about = Workload::Call.summary())]
    Call(RunOpts),
    #[command(about = Workload::Timers.summary())]
    Timers(RunOpts),
    #[command(about = Workload::Backpressure.summary())]
    Backpressure(RunOpts),
    #[command(about = Workload::Idle.summary())]
    Idle(RunOpts),
    /// Every workload, one after the other, on bream.
    All(RunOpts),
    /// Run bream and every peer found on this machine, interleaved, and print one table.
    Compare(CompareOpts),
    /// C concurrent loopback connections × R round trips of 64 bytes: bream, the BEAM and tokio.
    Echo(crate::echo::EchoArgs),
    /// Run one workload traced, print a summary per worker, draw the timeline (--svg).
    Trace(crate::timeline::TraceOpts),
    /// Two nodes on loopback: ping-pong round trips and one-way messages/s over distribution, bream↔bream beside erl↔erl.
    Dist(crate::dist::DistArgs),
}

/// The options of a run.
#[derive(Args, Clone, Debug, Default)]
pub struct RunOpts {
    /// Processes (spawn, ring, timers, idle) or leaves (skynet, a power of 10).
    #[arg(long)]
    pub processes: Option<u64>,
    /// Laps of the token around the ring.
    #[arg(long)]
    pub laps: Option<u64>,
    /// Round trips (pingpong), messages per sender (fanin), receives (selective), calls (call).
    #[arg(long)]
    pub messages: Option<u64>,
    /// Senders (fanin, backpressure).
    #[arg(long)]
    pub senders: Option<u64>,
    /// Unmatched messages in the mailbox (selective).
    #[arg(long)]
    pub depth: Option<u64>,
    /// The receive timeout (timers), in milliseconds.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// idle: bream's processes wait without `hibernate_after` (their stacks stay resident), for comparison.
    #[arg(long)]
    pub no_freeze: bool,
    /// OS threads that run processes [default: the number of CPUs].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Runs of each workload (per implementation under `compare`); min/median/max are reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: u64,
    /// One JSON object per workload on stdout (the fields of benches/peers/README.md).
    #[arg(long)]
    pub json: bool,
    /// bream's stack per process, in bytes (suffixes K, M: `--stack-size 64K`) [default: the runtime's].
    #[arg(long, value_parser = parse_size)]
    pub stack_size: Option<usize>,
    /// bream's process limit [default: what the workload needs].
    #[arg(long)]
    pub max_processes: Option<usize>,
    /// Run even if the memory estimate says the machine is too small.
    #[arg(long)]
    pub no_memory_check: bool,
    /// Write a Perfetto trace of the (last) run here (docs/watch-it-run.md).
    #[arg(long)]
    pub trace: Option<PathBuf>,
}

impl RunOpts {
    pub fn sizes(&self) -> Sizes {
        Sizes {
            processes: self.processes,
            laps: self.laps,
            messages: self.messages,
            senders: self.senders,
            depth: self.depth,
            timeout_ms: self.timeout_ms,
            no_freeze: self.no_freeze,
        }
    }

    pub fn workers(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }
}

#[derive(Args, Clone, Debug)]
pub struct CompareOpts {
    /// A workload, or `all`.
    pub what: String,
    #[command(flatten)]
    pub run: RunOpts,
    /// Also draw the comparison as an SVG chart at this path.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Which implementations, comma-separated [default: bream,erlang,go,tokio,may].
    #[arg(long, value_delimiter = ',')]
    pub impls: Option<Vec<String>>,
    /// Seconds one run may take before it is killed and counted as failed.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

impl CompareOpts {
    pub fn workloads(&self) -> Result<Vec<Workload>, String> {
        workloads_named(&self.what)
    }
}

/// `all` or one workload's name.
pub fn workloads_named(what: &str) -> Result<Vec<Workload>, String> {
    if what == "all" {
        return Ok(Workload::ALL.to_vec());
    }
    Workload::from_name(what).map(|w| vec![w]).ok_or_else(|| {
        let names: Vec<_> = Workload::ALL
            .iter()
            .chain(&Workload::BY_NAME_ONLY)
            .map(|w| w.name())
            .collect();
        format!(
            "unknown workload {what:?}: expected one of {} or all",
            names.join(", ")
        )
    })
}

/// `65536`, `64K`, `64KiB`, `1M`: bytes.
fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let num: usize = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (try 65536 or 64K)"))?;
    let mul = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        _ => return Err(format!("{s:?}: unknown unit (use K or M)")),
    };
    num.checked_mul(mul)
        .ok_or_else(|| format!("{s:?} is too large"))
}

pub fn parse() -> Command {
    let cli = Cli::parse();
    let (w, opts) = match cli.command {
        None => (
            Workload::Spawn,
            RunOpts {
                runs: 3,
                ..RunOpts::default()
            },
        ),
        Some(Cmd::Compare(c)) => return Command::Compare(c),
        Some(Cmd::Echo(a)) => return Command::Echo(a),
        Some(Cmd::Trace(a)) => return Command::Trace(a),
        Some(Cmd::Dist(a)) => return Command::Dist(a),
        Some(Cmd::All(o)) => {
            return Command::Run {
                workloads: Workload::ALL.to_vec(),
                opts: o,
            }
        }
        Some(Cmd::Spawn(o)) => (Workload::Spawn, o),
        Some(Cmd::Ring(o)) => (Workload::Ring, o),
        Some(Cmd::Pingpong(o)) => (Workload::Pingpong, o),
        Some(Cmd::Skynet(o)) => (Workload::Skynet, o),
        Some(Cmd::Fanin(o)) => (Workload::Fanin, o),
        Some(Cmd::Selective(o)) => (Workload::Selective, o),
        Some(Cmd::Call(o)) => (Workload::Call, o),
        Some(Cmd::Timers(o)) => (Workload::Timers, o),
        Some(Cmd::Backpressure(o)) => (Workload::Backpressure, o),
        Some(Cmd::Idle(o)) => (Workload::Idle, o),
    };
    Command::Run {
        workloads: vec![w],
        opts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_take_suffixes() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert!(parse_size("64Q").is_err());
    }

    #[test]
    fn all_and_names() {
        assert_eq!(workloads_named("all").unwrap().len(), 8);
        assert_eq!(workloads_named("ring").unwrap(), vec![Workload::Ring]);
        assert!(workloads_named("rings")
            .unwrap_err()
            .contains("expected one of"));
    }
}
