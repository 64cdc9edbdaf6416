//! One workload on bream, in this OS process: a fresh runtime per run (built with
//! the options of the command line, shut down after the run), `--runs` runs,
//! aggregated into one [`Record`]. `compare` runs this binary once per run, so
//! under `compare` every bream run is also a fresh OS process.

use crate::cli::RunOpts;
use crate::measure::{check_memory, Status};
use crate::progress::{Meter, Progress};
use crate::record::Record;
use crate::workload::{Params, Workload};
use crate::workloads::{self, Outcome};

/// What the memory check assumes one bream process costs (stack pages touched,
/// the process's record, its mailbox): a round figure above what `spawn`
/// measured (5.5 KiB on 2026-11-22), so the check refuses only what surely
/// cannot fit. Lower it when bream's processes get smaller.
pub const BREAM_BYTES_PER_PROCESS: u64 = 6 << 10;

/// Headroom over the workload's peak in the default process limit: main, echo
/// processes, the gen_server — and anything the runtime starts itself.
const PROCESS_LIMIT_HEADROOM: u64 = 1024;

/// `bream-bench <workload>...`: run each, print the human report or JSON.
pub fn run_standalone(workloads: &[Workload], opts: &RunOpts) -> Result<(), String> {
    if cfg!(debug_assertions) && !opts.json {
        eprintln!("bream-bench: note: this is a debug build; its times mean little. Use `cargo run --release -p bream-bench`.");
    }
    for (i, &w) in workloads.iter().enumerate() {
        let rec = run_bream(w, opts)?;
        if opts.json {
            println!(
                "{}",
                serde_json::to_string(&rec).expect("a record serialises")
            );
        } else {
            if i > 0 {
                println!();
            }
            rec.print_human(w);
        }
    }
    Ok(())
}

/// `--runs` runs of `w` on bream, aggregated and checked.
pub fn run_bream(w: Workload, opts: &RunOpts) -> Result<Record, String> {
    let p = w.params(&opts.sizes());
    w.check(p)?;
    if !opts.no_memory_check {
        check_memory(
            &format!("{w} on bream"),
            w.peak_processes(p),
            BREAM_BYTES_PER_PROCESS,
        )?;
    }
    let progress = Progress::new(w.ops(p) * opts.runs, format!("{w} (bream)"));
    let mut runs = Vec::new();
    for _ in 0..opts.runs {
        let outcome = run_once(w, p, opts, progress.meter())?;
        progress.meter().run_done(w.ops(p));
        runs.push(record(w, p, opts.workers(), outcome));
    }
    drop(progress);
    let rec = Record::aggregate(&runs);
    rec.check_result(w.expected_result(p))?;
    Ok(rec)
}

/// One run in a fresh runtime.
fn run_once(w: Workload, p: Params, opts: &RunOpts, meter: &Meter) -> Result<Outcome, String> {
    let max_processes = opts
        .max_processes
        .unwrap_or((w.peak_processes(p) + PROCESS_LIMIT_HEADROOM) as usize);
    let mut builder = bream::Runtime::builder()
        .workers(opts.workers())
        .max_processes(max_processes);
    if let Some(bytes) = opts.stack_size {
        builder = builder.stack_size(bytes);
    }
    if let Some(path) = &opts.trace {
        builder = builder.trace(path);
    }
    let runtime = builder
        .build()
        .map_err(|e| format!("could not start bream's runtime: {e}"))?;
    let meter = meter.clone();
    let outcome = runtime.block_on(move || workloads::run(w, p, &meter));
    runtime.shutdown();
    outcome.map_err(|e| format!("{w}: {e}"))
}

fn record(w: Workload, p: Params, workers: usize, o: Outcome) -> Record {
    let ops = w.ops(p);
    Record {
        imp: "bream".into(),
        workload: w.name().into(),
        workers,
        n: w.n(p),
        ops,
        runs: 1,
        median_ns: o.ns,
        min_ns: o.ns,
        max_ns: o.ns,
        per_op_ns: o.ns as f64 / ops.max(1) as f64,
        bytes_per_process: o.bytes_per_process,
        result: Some(o.result),
        peak_rss_bytes: Status::now().vm_hwm,
        extra: o
            .extra
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}
