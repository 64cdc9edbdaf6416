//! `bream-bench compare <workload|all>`: bream side by side with every peer
//! installed on this machine.
//!
//! # The recipe
//!
//! 1. **Prepare** each implementation (`peers.rs`): find its tools, build it
//!    (`erlc`, `go build`, `cargo build --release` of the peer's own cargo
//!    project). One that cannot be prepared is skipped with a one-line note saying
//!    how to install it; the others go on.
//! 2. **Run interleaved.** For each workload, round after round, every
//!    implementation runs once per round, each run a fresh OS process (bream too:
//!    this binary runs itself with `--json --runs 1`). The order rotates each
//!    round (A B C, B C A, C A B, ...), so neither slow drift (thermal, another
//!    tenant) nor "who ran right after whom" favours anyone.
//! 3. **Check** every run's result; a wrong one, a crash, a non-zero exit or a run
//!    past `--timeout` marks that implementation failed for that workload (its
//!    remaining rounds are skipped: they would fail the same way) and the message
//!    goes in the table.
//! 4. **Aggregate** each implementation's runs (lower median, min, max) and print
//!    one table (`table.rs`): bream's ratio to each peer is the peer's median time
//!    divided by bream's, said in words ("bream 2.10× faster"). `--plot` draws
//!    the same (`plot.rs`), and checks bream's targets (`targets.rs`).

mod child;
mod peers;
mod plot;
mod table;
mod targets;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::CompareOpts;
use crate::measure::{check_memory, duration_ns};
use crate::progress::Progress;
use crate::record::Record;
use crate::workload::Workload;
pub use peers::Impl;
use peers::Prepared;

/// What became of one implementation on one workload.
#[derive(Debug, Clone)]
pub enum Cell {
    Ran(Record),
    Failed(String),
}

/// Every cell of the comparison, keyed by workload then implementation.
pub type Results = BTreeMap<Workload, BTreeMap<Impl, Cell>>;

pub fn compare(opts: &CompareOpts) -> Result<(), String> {
    let workloads = opts.workloads()?;
    let impls = selected(opts)?;
    if cfg!(debug_assertions) {
        eprintln!("bream-bench: note: a debug build of bream-bench runs bream unoptimised; use `cargo run --release -p bream-bench -- compare ...`.");
    }
    let peers = peers_dir()?;
    let mut prepared = Vec::new();
    for imp in impls {
        eprintln!("bream-bench: preparing {imp} ...");
        match imp.prepare(&peers) {
            Ok(p) => prepared.push(p),
            Err(note) => eprintln!("bream-bench: skipping {imp}: {note}"),
        }
    }
    if prepared.is_empty() {
        return Err(
            "nothing to compare: no implementation could be prepared (see the notes above)".into(),
        );
    }
    let versions: Vec<String> = prepared
        .iter()
        .map(|p| peers::version(p.imp, &peers))
        .collect();
    let about = format!("machine: {}\nversions: {}", machine(), versions.join(", "));
    let results = run_all(&workloads, &prepared, opts);
    if opts.run.json {
        for cell in results.values().flat_map(|m| m.values()) {
            if let Cell::Ran(r) = cell {
                println!("{}", serde_json::to_string(r).expect("a record serialises"));
            }
        }
    } else {
        print!(
            "{}",
            table::render(&results, opts.run.workers(), opts.run.runs, &about)
        );
        print!("{}", targets::render(&results));
    }
    if let Some(path) = &opts.plot {
        plot::draw(&results, path, opts.run.workers())?;
        eprintln!("bream-bench: wrote {}", path.display());
    }
    Ok(())
}

/// The CPU, how many of them, and the kernel: what the numbers were taken on.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, v)| v.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cpus} CPUs, Linux {}", kernel.trim())
}

/// `--impls`, or all of them.
fn selected(opts: &CompareOpts) -> Result<Vec<Impl>, String> {
    let Some(names) = &opts.impls else {
        return Ok(Impl::ALL.to_vec());
    };
    names
        .iter()
        .map(|n| {
            Impl::from_name(n).ok_or_else(|| {
                format!("unknown implementation {n:?}: expected bream, erlang, go, tokio or may")
            })
        })
        .collect()
}

/// benches/peers: `BREAM_BENCH_PEERS`, or where this crate was built from.
fn peers_dir() -> Result<PathBuf, String> {
    let dir = std::env::var_os("BREAM_BENCH_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/peers")));
    if dir.join("README.md").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "the peer programs are not at {} (run from a bream checkout, or set BREAM_BENCH_PEERS to its benches/peers)",
            dir.display()
        ))
    }
}

fn run_all(workloads: &[Workload], prepared: &[Prepared], opts: &CompareOpts) -> Results {
    let rounds = opts.run.runs as usize;
    let total = (workloads.len() * prepared.len() * rounds) as u64;
    let progress = Progress::new(total, "compare".into());
    let timeout = Duration::from_secs(opts.timeout);
    let mut results = Results::new();
    let mut done = 0u64;
    for &w in workloads {
        let p = w.params(&opts.run.sizes());
        let row = results.entry(w).or_default();
        if let Err(e) = w.check(p) {
            for imp in prepared {
                row.insert(imp.imp, Cell::Failed(e.clone()));
            }
            continue;
        }
        let mut runs: BTreeMap<Impl, Vec<Record>> = BTreeMap::new();
        for imp in prepared {
            if !opts.run.no_memory_check {
                let est = imp.imp.bytes_per_process_estimate();
                if let Err(e) =
                    check_memory(&format!("{w} on {}", imp.imp), w.peak_processes(p), est)
                {
                    row.insert(imp.imp, Cell::Failed(e));
                }
            }
        }
        for round in 0..rounds {
            for k in 0..prepared.len() {
                let imp = &prepared[(round + k) % prepared.len()];
                done += 1;
                if row.contains_key(&imp.imp) {
                    continue; // failed earlier: it would fail again
                }
                let outcome = child::run(imp.command(w, p, &opts.run), timeout)
                    .and_then(|out| Record::from_output(&out))
                    .and_then(|r| r.check_result(w.expected_result(p)).map(|()| r));
                match outcome {
                    Ok(r) => runs.entry(imp.imp).or_default().push(r),
                    Err(e) => {
                        progress.println(&format!("bream-bench: {w} on {}: {e}", imp.imp));
                        row.insert(imp.imp, Cell::Failed(e));
                    }
                }
                progress.meter().set(done);
            }
        }
        let mut line = format!("bream-bench: {w}:");
        for (imp, rs) in runs {
            let agg = Record::aggregate(&rs);
            line.push_str(&format!(" {imp} {}", duration_ns(agg.median_ns as f64)));
            row.entry(imp).or_insert(Cell::Ran(agg));
        }
        progress.println(&line);
    }
    results
}
