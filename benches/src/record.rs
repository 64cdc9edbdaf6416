//! The record every implementation prints: one JSON object per workload, the
//! fields of benches/peers/README.md. bream prints it with `--json`; each peer
//! prints one per run; `compare` parses them all with the same code and
//! aggregates runs with [`Record::aggregate`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::measure::{bytes, duration_ns, lower_median, thousands};
use crate::workload::Workload;

/// One workload's figures, for one run or aggregated over several.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Who ran it: `bream`, `erlang`, `go`, `tokio`, `may`.
    #[serde(rename = "impl")]
    pub imp: String,
    pub workload: String,
    pub workers: usize,
    pub n: u64,
    pub ops: u64,
    pub runs: usize,
    pub median_ns: u64,
    pub min_ns: u64,
    pub max_ns: u64,
    pub per_op_ns: f64,
    /// spawn, timers and idle; `null` elsewhere.
    pub bytes_per_process: Option<f64>,
    /// The workload's checked result; `null` where there is none.
    pub result: Option<u64>,
    /// `VmHWM` at the end of the run(s).
    pub peak_rss_bytes: u64,
    /// Workload-specific fields: `empty_per_op_ns` (selective), `alive_at_sample`
    /// and `late_ns` (timers), `wake_rtt_ns` (idle; bream adds `freeze`,
    /// `frozen_at_sample` and `pte_bytes_per_process`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Record {
    /// Parse the last line of `stdout` that is a JSON object.
    pub fn from_output(stdout: &str) -> Result<Record, String> {
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .ok_or("printed no JSON line")?;
        serde_json::from_str(line)
            .map_err(|e| format!("printed a JSON line bream-bench cannot read ({e}): {line}"))
    }

    /// Several runs of one implementation as one record: min, lower median and max
    /// of the times; `per_op_ns` from the median; memory the largest of the runs
    /// (the conservative figure); extra fields from the median run.
    pub fn aggregate(runs: &[Record]) -> Record {
        assert!(!runs.is_empty(), "aggregate of no runs");
        let mut times: Vec<u64> = runs.iter().map(|r| r.median_ns).collect();
        let median = lower_median(&mut times);
        let median_run = runs
            .iter()
            .find(|r| r.median_ns == median)
            .unwrap_or(&runs[0]);
        let mut out = median_run.clone();
        out.runs = runs.iter().map(|r| r.runs).sum();
        out.min_ns = runs.iter().map(|r| r.min_ns).min().unwrap_or(median);
        out.max_ns = runs.iter().map(|r| r.max_ns).max().unwrap_or(median);
        out.median_ns = median;
        out.per_op_ns = median as f64 / out.ops.max(1) as f64;
        out.bytes_per_process = runs
            .iter()
            .filter_map(|r| r.bytes_per_process)
            .reduce(f64::max);
        out.peak_rss_bytes = runs.iter().map(|r| r.peak_rss_bytes).max().unwrap_or(0);
        out
    }

    /// Compare the result with what the workload must give.
    pub fn check_result(&self, expected: u64) -> Result<(), String> {
        match self.result {
            Some(r) if r == expected => Ok(()),
            Some(r) => Err(format!(
                "{} {}: wrong result {r}, expected {expected}",
                self.imp, self.workload
            )),
            None => Err(format!(
                "{} {}: reported no result",
                self.imp, self.workload
            )),
        }
    }

    pub fn extra_f64(&self, key: &str) -> Option<f64> {
        self.extra.get(key).and_then(Value::as_f64)
    }

    /// The per-workload note: what else a person should see.
    pub fn note(&self) -> String {
        match self.workload.as_str() {
            "selective" => match self.extra_f64("empty_per_op_ns") {
                Some(e) => format!(
                    "empty mailbox {}: deep/empty {:.2}×",
                    duration_ns(e),
                    self.per_op_ns / e.max(f64::MIN_POSITIVE)
                ),
                None => String::new(),
            },
            "timers" => {
                let late = self
                    .extra_f64("late_ns")
                    .map(|l| format!("last wakeup {} after the last deadline", duration_ns(l)));
                let alive = self
                    .extra_f64("alive_at_sample")
                    .filter(|&a| a < self.n as f64);
                match (late, alive) {
                    (Some(l), Some(a)) => format!(
                        "{l}; *only {} of {} alive at the memory sample (a longer --timeout-ms measures it)",
                        thousands(a as u64),
                        thousands(self.n)
                    ),
                    (Some(l), None) => l,
                    _ => String::new(),
                }
            }
            "idle" => {
                let rtt = self
                    .extra_f64("wake_rtt_ns")
                    .map(|r| format!("one wake's round trip {}", duration_ns(r)));
                let frozen = match self.extra.get("freeze").and_then(Value::as_bool) {
                    Some(true) => "stacks frozen",
                    Some(false) => "not frozen (--no-freeze)",
                    None => "",
                };
                [rtt.as_deref().unwrap_or(""), frozen]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ")
            }
            _ => String::new(),
        }
    }

    /// The human report of `bream-bench <workload>`.
    pub fn print_human(&self, workload: Workload) {
        let op = workload.op_name();
        println!(
            "{}  n = {}, {} workers, {} run{}",
            self.workload,
            thousands(self.n),
            self.workers,
            self.runs,
            if self.runs == 1 { "" } else { "s" }
        );
        println!(
            "  time          median {}  (min {}, max {})",
            duration_ns(self.median_ns as f64),
            duration_ns(self.min_ns as f64),
            duration_ns(self.max_ns as f64)
        );
        println!("  per {op:<10} {}", duration_ns(self.per_op_ns));
        if matches!(
            workload,
            Workload::Ring | Workload::Fanin | Workload::Backpressure
        ) {
            println!("  throughput    {:.2} M messages/s", 1e3 / self.per_op_ns);
        }
        if let (Some(b), Workload::Idle) = (self.bytes_per_process, workload) {
            println!("  memory        {} per idle process (VmRSS + VmPTE with all N waiting, minus the baseline, / N)", bytes(b));
        } else if let Some(b) = self.bytes_per_process {
            println!("  memory        {} per process (VmRSS + VmPTE at the peak, minus the baseline, / N)", bytes(b));
        }
        println!("  peak RSS      {}", bytes(self.peak_rss_bytes as f64));
        if let Some(r) = self.result {
            println!("  result        {} (checked)", thousands(r));
        }
        let note = self.note();
        if !note.is_empty() {
            println!("  note          {note}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ns: u64) -> Record {
        Record::from_output(&format!(
            "noise\n{{\"impl\":\"go\",\"workload\":\"spawn\",\"workers\":2,\"n\":10,\"ops\":10,\"runs\":1,\
             \"median_ns\":{ns},\"min_ns\":{ns},\"max_ns\":{ns},\"per_op_ns\":1.0,\
             \"bytes_per_process\":{ns}.5,\"result\":10,\"peak_rss_bytes\":{ns},\"late_ns\":7}}\n"
        ))
        .unwrap()
    }

    #[test]
    fn parses_a_peer_line_with_extra_fields() {
        let r = rec(100);
        assert_eq!(r.imp, "go");
        assert_eq!(r.extra_f64("late_ns"), Some(7.0));
        assert!(Record::from_output("no json here").is_err());
    }

    #[test]
    fn aggregates_runs() {
        let a = Record::aggregate(&[rec(300), rec(100), rec(200), rec(400)]);
        assert_eq!(
            (a.min_ns, a.median_ns, a.max_ns, a.runs),
            (100, 200, 400, 4)
        );
        assert_eq!(a.per_op_ns, 20.0);
        assert_eq!(a.bytes_per_process, Some(400.5));
        assert_eq!(a.peak_rss_bytes, 400);
    }

    #[test]
    fn checks_results() {
        assert!(rec(1).check_result(10).is_ok());
        assert!(rec(1)
            .check_result(11)
            .unwrap_err()
            .contains("wrong result"));
    }
}
