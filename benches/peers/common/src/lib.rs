//! What the Rust peers (tokio, may) share: the command line, the memory sample and
//! the JSON line of benches/peers/README.md. No dependencies, so each peer's
//! Cargo.lock stays small.

use std::time::Instant;

/// `<peer> <workload> <workers> <a> <b>`, parsed.
pub struct Args {
    pub workload: String,
    pub workers: usize,
    pub a: u64,
    pub b: u64,
}

impl Args {
    /// Parse `std::env::args`, or exit 2 with a usage line.
    pub fn parse(peer: &str) -> Args {
        let v: Vec<String> = std::env::args().skip(1).collect();
        let num = |s: &String| s.parse::<u64>().ok();
        match v.as_slice() {
            [w, workers, a, b] => match (num(workers), num(a), num(b)) {
                (Some(workers), Some(a), Some(b)) => {
                    return Args {
                        workload: w.clone(),
                        workers: workers as usize,
                        a,
                        b,
                    }
                }
                _ => {}
            },
            _ => {}
        }
        eprintln!("usage: {peer} <workload> <workers> <a> <b> (see benches/peers/README.md)");
        std::process::exit(2);
    }
}

/// One run's figures; `emit` turns them into the JSON line.
#[derive(Default)]
pub struct Report {
    pub ns: u64,
    pub n: u64,
    pub ops: u64,
    pub result: Option<u64>,
    pub bytes_per_process: Option<f64>,
    /// Extra `"key":value` pairs, already formatted.
    pub extra: Vec<String>,
}

/// `VmRSS + VmPTE` and `VmHWM`, in bytes, from `/proc/self/status`.
pub fn proc_status() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kb = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (kb("VmRSS") + kb("VmPTE"), kb("VmHWM"))
}

/// `VmRSS + VmPTE` in bytes.
pub fn mem() -> u64 {
    proc_status().0
}

/// Nanoseconds since `t0`.
pub fn since(t0: Instant) -> u64 {
    t0.elapsed().as_nanos() as u64
}

/// Print the run's JSON line on stdout.
pub fn emit(imp: &str, args: &Args, r: &Report) {
    let (_, hwm) = proc_status();
    let opt_u = |v: Option<u64>| v.map_or("null".to_string(), |v| v.to_string());
    let opt_f = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.3}"));
    let mut fields = vec![
        format!("\"impl\":\"{imp}\""),
        format!("\"workload\":\"{}\"", args.workload),
        format!("\"workers\":{}", args.workers),
        format!("\"n\":{}", r.n),
        format!("\"ops\":{}", r.ops),
        "\"runs\":1".to_string(),
        format!("\"median_ns\":{}", r.ns),
        format!("\"min_ns\":{}", r.ns),
        format!("\"max_ns\":{}", r.ns),
        format!("\"per_op_ns\":{:.3}", r.ns as f64 / r.ops.max(1) as f64),
        format!("\"bytes_per_process\":{}", opt_f(r.bytes_per_process)),
        format!("\"result\":{}", opt_u(r.result)),
        format!("\"peak_rss_bytes\":{hwm}"),
    ];
    fields.extend(r.extra.iter().cloned());
    println!("{{{}}}", fields.join(","));
}

/// Make any panic, on any thread or coroutine, end the run at once with one
/// line on stderr. A runtime that catches a task's panic would otherwise leave
/// main waiting forever for a message that will not come; `compare` would only
/// see a timeout, not the cause.
pub fn exit_on_panic(peer: &'static str, detail: fn() -> String) {
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        eprintln!("{peer}: panicked: {msg} ({})", detail());
        std::process::exit(1);
    }));
}

/// Exit 1 with a message on stderr: a wrong result is a failed run.
pub fn fail(msg: &str) -> ! {
    eprintln!("{msg}");
    std::process::exit(1);
}
