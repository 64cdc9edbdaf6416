//! The comparison as a text table: one block per workload, one row per
//! implementation, bream first, and bream's ratio to each peer in words.

use std::fmt::Write;

use super::{Cell, Impl, Results};
use crate::measure::{bytes, duration_ns, thousands};

/// bream's ratio to a peer, as a sentence: `ratio` is the peer's median time
/// divided by bream's (both did the same work, so it is also bream's speed-up).
pub fn ratio_words(ratio: f64) -> String {
    if ratio >= 1.0 {
        format!("bream {ratio:.2}× faster")
    } else {
        format!("bream {:.2}× slower", 1.0 / ratio)
    }
}

pub fn render(results: &Results, workers: usize, runs: u64, about: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nbream-bench compare: {workers} workers, {runs} run{} of each, interleaved; medians (min–max).",
        if runs == 1 { "" } else { "s" }
    );
    let _ = writeln!(s, "{about}");
    let _ = writeln!(
        s,
        "\"bream N× faster\" = the peer's median time ÷ bream's median time, for the same work.\n"
    );
    let _ = writeln!(
        s,
        "{:<10} {:<7} {:>10} {:>21} {:>12} {:>10}  {:<22} note",
        "workload", "impl", "median", "(min–max)", "per op", "mem/proc", "vs bream"
    );
    for (w, row) in results {
        let bream = match row.get(&Impl::Bream) {
            Some(Cell::Ran(r)) => Some(r.median_ns as f64),
            _ => None,
        };
        let mut first = true;
        for (imp, cell) in row {
            let label = if first {
                format!("{w} ")
            } else {
                String::new()
            };
            first = false;
            match cell {
                Cell::Ran(r) => {
                    let vs = match (bream, *imp) {
                        (_, Impl::Bream) => "—".to_string(),
                        (Some(b), _) => ratio_words(r.median_ns as f64 / b),
                        (None, _) => String::new(),
                    };
                    // A `*` marks memory sampled while not every process was alive
                    // (timers, when spawning outlasts the timeout): see the note.
                    let partial = r
                        .extra_f64("alive_at_sample")
                        .is_some_and(|a| a < r.n as f64);
                    let mem = r
                        .bytes_per_process
                        .map(|b| format!("{}{}", bytes(b), if partial { "*" } else { "" }))
                        .unwrap_or_default();
                    let line = format!(
                        "{:<10} {:<7} {:>10} {:>21} {:>12} {:>10}  {:<22} {}",
                        label,
                        imp.name(),
                        duration_ns(r.median_ns as f64),
                        format!(
                            "({}–{})",
                            duration_ns(r.min_ns as f64),
                            duration_ns(r.max_ns as f64)
                        ),
                        duration_ns(r.per_op_ns),
                        mem,
                        vs,
                        r.note()
                    );
                    let _ = writeln!(s, "{}", line.trim_end());
                }
                Cell::Failed(why) => {
                    let _ = writeln!(s, "{:<10} {:<7} failed: {why}", label, imp.name());
                }
            }
        }
        if let Some(Cell::Ran(r)) = row.values().next() {
            let _ = writeln!(
                s,
                "{:<10} (n = {}, per op = per {})",
                "",
                thousands(r.n),
                op_of(&r.workload)
            );
        }
    }
    s
}

fn op_of(workload: &str) -> &'static str {
    crate::workload::Workload::from_name(workload).map_or("op", |w| w.op_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_read_the_right_way_round() {
        assert_eq!(ratio_words(2.1), "bream 2.10× faster");
        assert_eq!(ratio_words(0.5), "bream 2.00× slower");
    }
}
