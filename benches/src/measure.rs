//! What the harness reads from the kernel, and the one statistic it reports.
//!
//! Memory per process is `(VmRSS + VmPTE)` from `/proc/self/status`: the pages
//! the OS process has resident plus the page tables that map them. Page tables
//! matter here: a stack per process is a mapping per process, and at a million
//! processes their page tables are megabytes that `VmRSS` does not count.
//! `VmHWM` (the RSS high-water mark) is reported as `peak_rss_bytes`.
//!
//! Before a run, [`check_memory`] compares an estimate of what the run needs with
//! `MemAvailable` from `/proc/meminfo`, so a machine that is too small gets a
//! sentence saying so, not an OOM kill half-way through.

/// The fields of `/proc/self/status` the harness uses, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status {
    pub vm_rss: u64,
    pub vm_pte: u64,
    pub vm_hwm: u64,
}

impl Status {
    /// Read `/proc/self/status` now. Zeroes where the kernel has no such file
    /// (the harness then reports zero memory rather than failing a timing run).
    pub fn now() -> Status {
        std::fs::read_to_string("/proc/self/status")
            .map(|text| Status::parse(&text))
            .unwrap_or_default()
    }

    pub fn parse(text: &str) -> Status {
        Status {
            vm_rss: kib_field(text, "VmRSS") * 1024,
            vm_pte: kib_field(text, "VmPTE") * 1024,
            vm_hwm: kib_field(text, "VmHWM") * 1024,
        }
    }

    /// `VmRSS + VmPTE`: what a process costs, by the definition of docs/architecture.md §8.
    pub fn footprint(&self) -> u64 {
        self.vm_rss + self.vm_pte
    }
}

/// `VmRSS + VmPTE` now, in bytes.
pub fn footprint_now() -> u64 {
    Status::now().footprint()
}

/// A `Key:   1234 kB` line of a /proc file, in KiB (0 if absent).
fn kib_field(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `MemAvailable` from `/proc/meminfo`, in bytes; `None` if it cannot be read.
pub fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    Some(kib_field(&text, "MemAvailable") * 1024).filter(|&b| b > 0)
}

/// Refuse a run whose estimate does not fit in 90% of `MemAvailable`.
/// `what` names the run; `per_process` is the estimate's basis, shown to the user.
pub fn check_memory(what: &str, processes: u64, per_process: u64) -> Result<(), String> {
    let Some(available) = mem_available() else {
        return Ok(());
    };
    let needed = processes.saturating_mul(per_process);
    let usable = available / 10 * 9;
    if needed <= usable {
        return Ok(());
    }
    let fits = usable / per_process.max(1);
    Err(format!(
        "{what} needs about {} ({} processes × ~{} each, an estimate) but only {} is \
         available (MemAvailable in /proc/meminfo). Lower --processes to about {} or free \
         memory; --no-memory-check runs it anyway.",
        bytes(needed as f64),
        thousands(processes),
        bytes(per_process as f64),
        bytes(available as f64),
        thousands(fits),
    ))
}

/// The lower median: the middle run, or the lower of the two middle runs, so the
/// median is always a run that happened. Sorts `v`.
pub fn lower_median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[(v.len() - 1) / 2]
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes for people: `2.7 KiB`, `1.9 GiB`.
pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut unit = 0;
    while v.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Nanoseconds for people, three significant digits: `412 ns`, `2.41 µs`,
/// `24.1 ms`, `5.40 s`.
pub fn duration_ns(ns: f64) -> String {
    let (v, unit) = if ns < 1e3 {
        return format!("{ns:.0} ns");
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    format!("{} {unit}", sig3(v))
}

/// `v` (at least 1) with three significant digits.
fn sig3(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let text = "Name:\tx\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\nVmPTE:\t      16 kB\n";
        let s = Status::parse(text);
        assert_eq!(
            s,
            Status {
                vm_rss: 1 << 20,
                vm_pte: 16 << 10,
                vm_hwm: 2 << 20
            }
        );
        assert_eq!(s.footprint(), (1 << 20) + (16 << 10));
    }

    #[test]
    fn reads_this_process() {
        let s = Status::now();
        assert!(s.vm_rss > 0 && s.vm_hwm >= s.vm_rss, "{s:?}");
    }

    #[test]
    fn median_is_a_run() {
        assert_eq!(lower_median(&mut [5, 1, 3]), 3);
        assert_eq!(lower_median(&mut [4, 1, 3, 2]), 2);
        assert_eq!(lower_median(&mut [7]), 7);
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(bytes(2867.0), "2.8 KiB");
        assert_eq!(duration_ns(412.0), "412 ns");
        assert_eq!(duration_ns(5.4e9), "5.40 s");
        assert_eq!(duration_ns(892_150.0), "892 µs");
        assert_eq!(duration_ns(24_130_000.0), "24.1 ms");
    }

    #[test]
    fn refuses_what_cannot_fit() {
        let err = check_memory("spawn", u64::MAX / 2, 1 << 20).unwrap_err();
        assert!(
            err.contains("--processes") && err.contains("MemAvailable"),
            "{err}"
        );
        assert!(check_memory("spawn", 1, 1).is_ok());
    }
}
