//! `bream-bench`: the million-process harness, and bream side by side with its peers.
//!
//! # What it is for
//!
//! One of bream's users spawns a million processes to see what a runtime is made
//! of. This binary is that test, done carefully: the same eight workloads
//! (`spawn`, `ring`, `pingpong`, `skynet`, `fanin`, `selective`, `call`,
//! `timers`) written once for bream (`workloads/`) and once for each peer — the
//! BEAM, Go, tokio and may — in `benches/peers/`, whose README is the single
//! definition every implementation follows.
//!
//! ```text
//! cargo run --release -p bream-bench -- spawn                 # the main job: 1,000,000 processes
//! cargo run --release -p bream-bench -- ring --processes 10000 --laps 1000 --runs 5
//! cargo run --release -p bream-bench -- compare all --plot compare.svg
//! ```
//!
//! # How it tells the truth (docs/architecture.md §8)
//!
//! - **Medians of several runs**, with min and max beside them: one time says
//!   nothing about the spread.
//! - **Ratios, measured in one sitting.** `compare` runs bream and every peer
//!   interleaved (A B C A B C ...) so that a machine that warms up, throttles or is
//!   shared drifts under all of them alike.
//! - **Each run in its own OS process** under `compare` (bream too: this binary
//!   runs itself as a child), so one run's memory never leaks into the next's.
//! - **Memory is `VmRSS + VmPTE`**, sampled when every process is alive and
//!   waiting, minus the same sum before the first spawn, divided by N. RSS alone
//!   would hide the page tables that a stack per process costs.
//! - **Results are checked** (skynet's sum, the ring's hop count, every spawned
//!   process messaged and finished): a fast wrong answer is a failed run.
//!
//! # The files
//!
//! | file | what |
//! |---|---|
//! | `cli.rs` | the command line |
//! | `workload.rs` | the eight workloads: names, parameters, defaults, checks, memory estimates |
//! | `workloads/` | bream's implementation of each workload, run inside a bream process |
//! | `run.rs` | one workload on bream in this OS process: runtime, runs, aggregation |
//! | `measure.rs` | `/proc/self/status`, `/proc/meminfo`, medians |
//! | `record.rs` | the JSON record every implementation prints, and how it is shown |
//! | `progress.rs` | the progress bar (indicatif), shown only on a terminal, after a second |
//! | `compare/` | peers: find, build, run interleaved, table, plot |
//! | `timeline.rs` | `trace`: one workload traced, summarised, drawn as an SVG timeline |
//! | `echo.rs` | the `echo` workload: bream's TCP server beside the BEAM's and tokio's (its own definition: benches/peers/echo/README.md) |
//! | `dist.rs` | the `dist` workload: two bream nodes beside two `erl` nodes, ping-pong and one-way over distribution |
//!
//! The user-facing chapter is docs/benchmarking.md.

mod cli;
mod compare;
mod dist;
mod echo;
mod measure;
mod progress;
mod record;
mod run;
mod timeline;
mod workload;
mod workloads;

use std::process::ExitCode;

fn main() -> ExitCode {
    // `echo` runs bream's TCP server as a child of this binary.
    if let Some(code) = echo::serve_if_child() {
        return code;
    }
    // `dist` runs bream's two nodes as children of this binary.
    if let Some(code) = dist::node_if_child() {
        return code;
    }
    let outcome = match cli::parse() {
        cli::Command::Run { workloads, opts } => run::run_standalone(&workloads, &opts),
        cli::Command::Compare(args) => compare::compare(&args),
        cli::Command::Echo(args) => echo::run(&args),
        cli::Command::Trace(args) => timeline::run(&args),
        cli::Command::Dist(args) => dist::run(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bream-bench: {message}");
            ExitCode::FAILURE
        }
    }
}
