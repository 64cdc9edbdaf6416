//! The `echo` workload: C concurrent loopback TCP connections, each doing R
//! round trips of a 64-byte message against an echo server; bream's server
//! side by side with the BEAM's and tokio's (benches/peers/echo/README.md is
//! the definition every server follows).
//!
//! # Wiring (for the lead: the exact lines to add to the harness)
//!
//! ```text
//! benches/src/main.rs:
//!     mod echo;                                   // beside the other `mod`s
//!     // first statement of main(): the bream server runs as a child of this binary
//!     if let Some(code) = echo::serve_if_child() { return code; }
//!     // in main()'s `match cli.command`:
//!     cli::Command::Echo(args) => echo::run(&args),
//! benches/src/cli.rs:
//!     // in `pub enum Command`:
//!     /// The echo workload: bream's TCP server beside the BEAM's and tokio's.
//!     Echo(crate::echo::EchoArgs),
//!     // in `enum Cmd`:
//!     /// C concurrent loopback connections × R round trips of 64 bytes: bream, the BEAM and tokio.
//!     Echo(crate::echo::EchoArgs),
//!     // in `parse()`, beside `Some(Cmd::Compare(c)) => ...`:
//!     Some(Cmd::Echo(a)) => return Command::Echo(a),
//! ```
//!
//! Then: `cargo run --release -p bream-bench -- echo` (defaults: 10,000
//! connections, 100 round trips, every server found). Needs `erl`/`erlc`
//! (Debian's erlang-base) for the BEAM and cargo for the tokio peer; a
//! missing peer is skipped with a note. Needs RLIMIT_NOFILE ≥ C + 256 in the
//! harness and in each server (the harness raises its soft limit to the
//! hard one, and children inherit it).
//!
//! # What is measured, and only that
//!
//! Every server runs as its own OS process with W worker threads (default:
//! the number of CPUs). The load generator is the same for all three: C
//! bream client processes in this OS process, on a bream runtime with W
//! workers. So all three servers face the same client, and the client's
//! cost is part of every figure alike (on a 2-core machine client and server
//! share the cores).
//!
//! 1. Start the server; wait for its "listening PORT" line.
//! 2. Connect all C clients; each does one round trip (so the server has
//!    accepted it and its handler runs) and reports. Not timed.
//! 3. With all C connections open and idle: the server's memory
//!    (`VmRSS + VmPTE` of its /proc/PID/status, minus the same before step
//!    2, divided by C) and its CPU time (utime + stime of /proc/PID/stat)
//!    over `--idle-ms`: an idle server with C open sockets should use none.
//! 4. Timed: release every client at once; each does R round trips (write
//!    64 bytes, read 64 bytes back), timing each one; stop when the last
//!    client is done. Round trips/s = C·R / elapsed; p50/p99 over all C·R
//!    round-trip latencies.
//! 5. Close everything; kill the server.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use bream::net::{TcpListener, TcpStream};

/// The environment variable that makes this binary an echo server (its value:
/// the worker count).
const SERVE_ENV: &str = "BREAM_BENCH_ECHO_SERVE";

/// The echo workload's options.
#[derive(clap::Args, Clone, Debug)]
pub struct EchoArgs {
    /// Concurrent connections (C).
    #[arg(long, default_value_t = 10_000)]
    pub connections: usize,
    /// Round trips per connection (R).
    #[arg(long, default_value_t = 100)]
    pub round_trips: usize,
    /// Bytes per message.
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Servers to run, comma-separated [default: bream,bream-active,erlang,tokio]
    /// (bream-active: bream's server in `{active, once}` mode, the BEAM peer's idiom).
    #[arg(long, value_delimiter = ',')]
    pub servers: Option<Vec<String>>,
    /// Worker threads of each server and of the client [default: the number of CPUs].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Runs per server, interleaved (bream, erlang, tokio, bream, ...); the median run is reported.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// How long to watch the idle server's CPU time, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub idle_ms: u64,
}

/// One run's figures.
#[derive(Clone, Debug)]
struct Figures {
    round_trips_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    bytes_per_connection: f64,
    idle_server_cpu_ms: f64,
    idle_client_cpu_ms: f64,
    /// CPU time the server spent per round trip in the timed section, µs.
    server_cpu_us_per_rt: f64,
    /// The same for the client (this OS process).
    client_cpu_us_per_rt: f64,
}

/// The environment variable that makes the bream server use active mode.
const ACTIVE_ENV: &str = "BREAM_BENCH_ECHO_ACTIVE";

/// If this OS process was started as the bream echo server, serve for ever
/// (until killed) and never return; otherwise `None`.
pub fn serve_if_child() -> Option<ExitCode> {
    let workers: usize = std::env::var(SERVE_ENV).ok()?.parse().unwrap_or(2);
    let active = std::env::var_os(ACTIVE_ENV).is_some();
    let rt = match bream::Runtime::builder().workers(workers).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bream echo server: cannot start the runtime: {e}");
            return Some(ExitCode::FAILURE);
        }
    };
    rt.block_on(move || serve_bream(active));
    Some(ExitCode::SUCCESS)
}

/// The bream echo server: a process per connection, blocking-style reads and
/// writes (examples/10_echo_server.rs is the same server, under a
/// supervisor); with `active`, the handler uses `{active, once}` as the
/// BEAM's does.
fn serve_bream(active: bool) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    println!("listening {}", l.local_addr().unwrap().port());
    loop {
        let Ok((conn, _)) = l.accept() else { continue };
        let _ = conn.set_nodelay(true);
        let handler = bream::spawn(move || {
            let conn: TcpStream = bream::receive();
            if active {
                return echo_active(&conn);
            }
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = conn.read(&mut buf) {
                if conn.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        });
        if conn.controlling_process(handler).is_ok() {
            bream::send(handler, conn);
        }
    }
}

/// The BEAM peer's loop in bream: `{active, once}`, re-armed after each chunk.
fn echo_active(conn: &TcpStream) {
    use bream::net::{Active, Tcp, TcpClosed, TcpError};
    if conn.set_active(Active::Once).is_err() {
        return;
    }
    loop {
        bream::receive! {
            Tcp { data, .. }: Tcp => {
                if conn.write_all(&data).is_err() || conn.set_active(Active::Once).is_err() {
                    return;
                }
            },
            _c: TcpClosed => return,
            _e: TcpError => return,
        }
    }
}

/// `bream-bench echo`.
pub fn run(args: &EchoArgs) -> Result<(), String> {
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    raise_fd_limit(args.connections)?;
    let servers = args.servers.clone().unwrap_or_else(|| {
        ["bream", "bream-active", "erlang", "tokio"]
            .map(String::from)
            .to_vec()
    });
    let mut ready = Vec::new();
    for s in &servers {
        match prepare(s) {
            Ok(p) => ready.push((s.clone(), p)),
            Err(why) => eprintln!("echo: skipping {s}: {why}"),
        }
    }
    let client = bream::Runtime::builder()
        .workers(workers)
        .build()
        .map_err(|e| format!("cannot start the client runtime: {e}"))?;
    println!(
        "echo: {} connections × {} round trips of {} bytes, {workers} workers per side, {} run(s)",
        args.connections, args.round_trips, args.size, args.runs
    );
    let mut results: Vec<(String, Vec<Figures>)> =
        ready.iter().map(|(s, _)| (s.clone(), Vec::new())).collect();
    for _ in 0..args.runs.max(1) {
        for (i, (name, prog)) in ready.iter().enumerate() {
            let f = one_run(&client, prog, workers, args).map_err(|e| format!("{name}: {e}"))?;
            eprintln!("  {name}: {:.0} round trips/s", f.round_trips_per_s);
            results[i].1.push(f);
        }
    }
    client.shutdown();
    print_table(&results);
    Ok(())
}

/// How to start one server.
enum Program {
    /// This binary, with `SERVE_ENV` set (and `ACTIVE_ENV` if the bool).
    Bream(PathBuf, bool),
    /// `erl` with the compiled module's directory.
    Erlang(PathBuf),
    /// The built tokio peer.
    Tokio(PathBuf),
}

fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/echo")
}

/// Build what a server needs (once per `bream-bench echo`).
fn prepare(name: &str) -> Result<Program, String> {
    match name {
        "bream" | "bream-active" => std::env::current_exe()
            .map(|exe| Program::Bream(exe, name == "bream-active"))
            .map_err(|e| e.to_string()),
        "erlang" => {
            let out = std::env::temp_dir().join("bream-bench-echo-ebin");
            std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
            let src = peers_dir().join("erlang/echo_server.erl");
            let st = Command::new("erlc")
                .arg("-o")
                .arg(&out)
                .arg(&src)
                .status()
                .map_err(|e| format!("erlc: {e} (apt-get install erlang-base)"))?;
            st.success()
                .then_some(Program::Erlang(out))
                .ok_or_else(|| format!("erlc failed on {}", src.display()))
        }
        "tokio" => {
            let dir = peers_dir();
            let target = dir.join("target");
            let st = Command::new("cargo")
                .args(["build", "--release", "--quiet", "--manifest-path"])
                .arg(dir.join("tokio/Cargo.toml"))
                .env("CARGO_TARGET_DIR", &target)
                .status()
                .map_err(|e| format!("cargo: {e}"))?;
            st.success()
                .then(|| Program::Tokio(target.join("release/bream-peer-echo-tokio")))
                .ok_or_else(|| "cargo build of the tokio peer failed".to_string())
        }
        other => Err(format!(
            "unknown server {other:?} (bream, bream-active, erlang, tokio)"
        )),
    }
}

/// Start the server; its pid and the address it listens on.
fn start(prog: &Program, workers: usize) -> Result<(Child, SocketAddr), String> {
    let mut cmd = match prog {
        Program::Bream(exe, active) => {
            let mut c = Command::new(exe);
            c.env(SERVE_ENV, workers.to_string());
            if *active {
                c.env(ACTIVE_ENV, "1");
            }
            c
        }
        Program::Erlang(ebin) => {
            let mut c = Command::new("erl");
            c.args(["-noshell", "+S", &format!("{workers}:{workers}"), "-pa"])
                .arg(ebin)
                .args(["-run", "echo_server", "main", "0"]);
            c
        }
        Program::Tokio(exe) => {
            let mut c = Command::new(exe);
            c.args(["0", &workers.to_string()]);
            c
        }
    };
    let mut child = cmd
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let mut line = String::new();
    let out = child.stdout.take().expect("piped stdout");
    BufReader::new(out)
        .read_line(&mut line)
        .map_err(|e| format!("reading the server's first line: {e}"))?;
    let port: u16 = line
        .trim()
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| {
            let _ = child.kill();
            format!("the server said {line:?}, not \"listening PORT\"")
        })?;
    Ok((child, SocketAddr::from(([127, 0, 0, 1], port))))
}

/// Messages between the client processes and the client's main process.
#[derive(Debug)]
enum Report {
    Connected(Result<(), String>),
    Done(Result<Vec<u32>, String>),
}

#[derive(Debug)]
struct Go;

/// Steps 1–5 of the module doc for one server.
fn one_run(
    client: &bream::Runtime,
    prog: &Program,
    workers: usize,
    args: &EchoArgs,
) -> Result<Figures, String> {
    let (mut child, addr) = start(prog, workers)?;
    let pid = child.id();
    let (c, r, size, idle) = (args.connections, args.round_trips, args.size, args.idle_ms);
    let outcome = client.block_on(move || drive(pid, addr, c, r, size, idle));
    let _ = child.kill();
    let _ = child.wait();
    outcome
}

/// The client side, inside a bream process.
fn drive(
    server: u32,
    addr: SocketAddr,
    c: usize,
    r: usize,
    size: usize,
    idle_ms: u64,
) -> Result<Figures, String> {
    let before = footprint(server);
    let main = bream::self_pid();
    let clients: Vec<bream::Pid> = (0..c)
        .map(|_| bream::spawn(move || client(main, addr, r, size)))
        .collect();
    let mut failure = None;
    for _ in 0..c {
        if let Report::Connected(Err(e)) = bream::receive::<Report>() {
            failure.get_or_insert(e);
        }
    }
    if let Some(e) = failure {
        clients
            .iter()
            .for_each(|p| bream::exit(*p, bream::ExitReason::Kill));
        return Err(format!("a client could not connect: {e}"));
    }
    let after = footprint(server);
    let (cpu0, own0) = (cpu_ms(server), cpu_ms(std::process::id()));
    bream::sleep(Duration::from_millis(idle_ms));
    let (cpu1, own1) = (cpu_ms(server), cpu_ms(std::process::id()));

    let (scpu0, ccpu0) = (cpu_ms(server), cpu_ms(std::process::id()));
    let t0 = Instant::now();
    for p in &clients {
        bream::send(*p, Go);
    }
    let mut lat = Vec::with_capacity(c * r);
    for _ in 0..c {
        match bream::receive::<Report>() {
            Report::Done(Ok(v)) => lat.extend(v),
            Report::Done(Err(e)) => failure = failure.or(Some(e)),
            Report::Connected(_) => unreachable!("every client connected already"),
        }
    }
    let elapsed = t0.elapsed();
    let (scpu1, ccpu1) = (cpu_ms(server), cpu_ms(std::process::id()));
    if let Some(e) = failure {
        return Err(format!("a client failed: {e}"));
    }
    lat.sort_unstable();
    let pct = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    Ok(Figures {
        round_trips_per_s: (c * r) as f64 / elapsed.as_secs_f64(),
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        bytes_per_connection: after.saturating_sub(before) as f64 / c as f64,
        idle_server_cpu_ms: cpu1 - cpu0,
        idle_client_cpu_ms: own1 - own0,
        server_cpu_us_per_rt: (scpu1 - scpu0) * 1000.0 / (c * r) as f64,
        client_cpu_us_per_rt: (ccpu1 - ccpu0) * 1000.0 / (c * r) as f64,
    })
}

/// One client process: connect, report, wait for Go, R timed round trips.
fn client(main: bream::Pid, addr: SocketAddr, r: usize, size: usize) {
    let conn = match TcpStream::connect(addr) {
        Ok(c) => c,
        Err(e) => return bream::send(main, Report::Connected(Err(e.to_string()))),
    };
    let _ = conn.set_nodelay(true);
    let msg = vec![0x5a_u8; size];
    let mut back = vec![0u8; size];
    // One untimed round trip: the server has accepted this connection and
    // its handler is running before the idle measurement starts.
    let warm = conn
        .write_all(&msg)
        .and_then(|()| conn.read_exact(&mut back));
    bream::send(main, Report::Connected(warm.map_err(|e| e.to_string())));
    bream::receive::<Go>();
    let mut lat = Vec::with_capacity(r);
    let result = (|| {
        for _ in 0..r {
            let t = Instant::now();
            conn.write_all(&msg)?;
            conn.read_exact(&mut back)?;
            lat.push(t.elapsed().as_nanos().min(u32::MAX as u128) as u32);
        }
        Ok::<_, std::io::Error>(())
    })();
    bream::send(
        main,
        Report::Done(result.map(|()| lat).map_err(|e| e.to_string())),
    );
}

/// `VmRSS + VmPTE` of process `pid`, in bytes (0 if unreadable).
fn footprint(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (kib("VmRSS") + kib("VmPTE")) * 1024
}

/// utime + stime of process `pid` (all its threads), in milliseconds.
fn cpu_ms(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at ')'.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5): 12 and 13 after ')'.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 * 1000.0 / hz
}

/// Raise RLIMIT_NOFILE's soft limit to the hard one; fail if C connections
/// cannot fit.
fn raise_fd_limit(c: usize) -> Result<(), String> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid out-pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Ok(());
    }
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: a valid rlimit with soft == hard.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    let need = c as libc::rlim_t + 256;
    if lim.rlim_cur < need {
        return Err(format!(
            "{c} connections need RLIMIT_NOFILE ≥ {need}, the hard limit is {}: \
             raise `ulimit -Hn` or pass a smaller --connections",
            lim.rlim_max
        ));
    }
    Ok(())
}

/// The median run (by round trips/s) of each server, then the ratios the
/// issue's targets name.
fn print_table(results: &[(String, Vec<Figures>)]) {
    let med: Vec<(&str, Figures)> = results
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(n, v)| {
            let mut v = v.clone();
            v.sort_by(|a, b| a.round_trips_per_s.total_cmp(&b.round_trips_per_s));
            (n.as_str(), v[v.len() / 2].clone())
        })
        .collect();
    println!(
        "{:<8} {:>14} {:>9} {:>9} {:>11} {:>11} {:>11} {:>12} {:>12}",
        "server",
        "round trips/s",
        "p50 µs",
        "p99 µs",
        "bytes/conn",
        "srv CPU/rt",
        "cli CPU/rt",
        "idle srv CPU",
        "idle cli CPU"
    );
    for (n, f) in &med {
        println!(
            "{:<8} {:>14.0} {:>9.1} {:>9.1} {:>11.0} {:>8.1} µs {:>8.1} µs {:>9.0} ms {:>9.0} ms",
            n,
            f.round_trips_per_s,
            f.p50_us,
            f.p99_us,
            f.bytes_per_connection,
            f.server_cpu_us_per_rt,
            f.client_cpu_us_per_rt,
            f.idle_server_cpu_ms,
            f.idle_client_cpu_ms
        );
    }
    let get = |name: &str| med.iter().find(|(n, _)| *n == name).map(|(_, f)| f);
    if let (Some(b), Some(a)) = (get("bream"), get("bream-active")) {
        println!(
            "bream active-once / passive: {:.2}× round trips/s, {:.1} vs {:.1} µs server CPU per round trip",
            a.round_trips_per_s / b.round_trips_per_s,
            a.server_cpu_us_per_rt,
            b.server_cpu_us_per_rt
        );
    }
    let Some(b) = get("bream") else { return };
    if let Some(e) = get("erlang") {
        let x = b.round_trips_per_s / e.round_trips_per_s;
        println!(
            "bream/BEAM round trips/s: {x:.2}× (target ≥ 2×: {}); p99 {:.1} vs {:.1} µs (target: no worse: {})",
            verdict(x >= 2.0),
            b.p99_us,
            e.p99_us,
            verdict(b.p99_us <= e.p99_us)
        );
    }
    if let Some(t) = get("tokio") {
        let x = b.round_trips_per_s / t.round_trips_per_s;
        println!(
            "bream/tokio round trips/s: {x:.2}× (target ≥ 0.8×: {})",
            verdict(x >= 0.8)
        );
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}
