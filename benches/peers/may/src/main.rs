//! The may peer: every workload of benches/peers/README.md, defined there.
//!
//! A "process" is a may coroutine (stackful, like bream's); its mailbox is a
//! `may::sync::mpsc` channel. may allocates one mmap'd stack per coroutine with
//! an mprotect'ed guard page, so each coroutine costs VMAs and a million of them
//! meet `vm.max_map_count` (65530 by default): a spawn that fails is reported, with
//! how many coroutines were spawned, and the run exits 1 — `compare` shows it
//! failed. (may maps a coroutine's stack when it first runs, so the failure is
//! usually a panic inside may, which `exit_on_panic` turns into that message.)

use may::sync::mpsc;
use peer_common::{emit, fail, mem, since, Args, Report};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args = Args::parse("bream-peer-may");
    peer_common::exit_on_panic("bream-peer-may", || {
        format!("{} coroutines spawned", SPAWNED.load(Relaxed))
    });
    may::config().set_workers(args.workers);
    let (a, b) = (args.a, args.b);
    let workload = args.workload.clone();
    let report = go(move || match workload.as_str() {
        "spawn" => spawn_w(a),
        "ring" => ring_w(a, b),
        "pingpong" => pingpong_w(a),
        "skynet" => skynet_w(a),
        "fanin" => fanin_w(a, b),
        "selective" => selective_w(a, b),
        "call" => call_w(a),
        "timers" => timers_w(a, b),
        w => fail(&format!("bream-peer-may: unknown workload {w:?}")),
    })
    .join()
    .unwrap_or_else(|_| fail("bream-peer-may: the main coroutine panicked"));
    emit("may", &args, &report);
}

static SPAWNED: AtomicU64 = AtomicU64::new(0);

/// Spawn a coroutine, or exit 1 saying how far we got.
fn go<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> may::coroutine::JoinHandle<T> {
    // SAFETY: may's spawn is unsafe because a coroutine must not touch
    // thread-local storage (it may move between threads) and must fit its stack.
    // These bodies use no TLS and only shallow frames.
    match unsafe { may::coroutine::Builder::new().spawn(f) } {
        Ok(h) => {
            SPAWNED.fetch_add(1, Relaxed);
            h
        }
        Err(e) => fail(&format!(
            "may: spawn failed after {} coroutines: {e} (one mmap'd stack and guard per coroutine; see vm.max_map_count)",
            SPAWNED.load(Relaxed)
        )),
    }
}

/// The ready/done countdowns of README.md.
struct Countdown {
    n: u64,
    count: AtomicU64,
    main: mpsc::Sender<()>,
}

impl Countdown {
    fn new(n: u64) -> (Arc<Self>, mpsc::Receiver<()>) {
        let (main, rx) = mpsc::channel();
        (
            Arc::new(Countdown {
                n,
                count: AtomicU64::new(0),
                main,
            }),
            rx,
        )
    }
    fn arrive(&self) {
        if self.count.fetch_add(1, Relaxed) + 1 == self.n {
            let _ = self.main.send(());
        }
    }
}

fn spawn_w(n: u64) -> Report {
    let (ready, all_ready) = Countdown::new(n);
    let (done, all_done) = Countdown::new(n);
    let base = mem();
    let t0 = Instant::now();
    let mut boxes = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (tx, rx) = mpsc::channel::<u64>();
        let (ready, done) = (ready.clone(), done.clone());
        go(move || {
            ready.arrive();
            let _ = rx.recv();
            done.arrive();
        });
        boxes.push(tx);
    }
    let _ = all_ready.recv();
    let peak = mem();
    for (i, tx) in boxes.iter().enumerate() {
        let _ = tx.send(i as u64);
    }
    let _ = all_done.recv();
    let ns = since(t0);
    Report {
        ns,
        n,
        ops: n,
        result: Some(done.count.load(Relaxed)),
        bytes_per_process: Some(peak.saturating_sub(base) as f64 / n as f64),
        ..Report::default()
    }
}

fn ring_w(n: u64, laps: u64) -> Report {
    let total = n * laps;
    let (main_tx, main_rx) = mpsc::channel::<u64>();
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::channel::<u64>()).unzip();
    for (i, rx) in rxs.into_iter().enumerate() {
        let next = txs[(i + 1) % n as usize].clone();
        let main = main_tx.clone();
        go(move || {
            for _ in 0..laps {
                let t = rx.recv().expect("ring token");
                let _ = if t + 1 == total {
                    main.send(t + 1)
                } else {
                    next.send(t + 1)
                };
            }
        });
    }
    let t0 = Instant::now();
    let _ = txs[0].send(0);
    let hops = main_rx.recv().expect("ring result");
    Report {
        ns: since(t0),
        n,
        ops: total,
        result: Some(hops),
        ..Report::default()
    }
}

fn pingpong_w(n: u64) -> Report {
    let t0 = Instant::now();
    let (ping_tx, ping_rx) = mpsc::channel::<u64>();
    let (pong_tx, pong_rx) = mpsc::channel::<u64>();
    go(move || {
        while let Ok(i) = ping_rx.recv() {
            let _ = pong_tx.send(i);
        }
    });
    let mut ok = 0;
    for i in 0..n {
        let _ = ping_tx.send(i);
        if pong_rx.recv() == Ok(i) {
            ok += 1;
        }
    }
    drop(ping_tx);
    Report {
        ns: since(t0),
        n,
        ops: n,
        result: Some(ok),
        ..Report::default()
    }
}

fn skynet(parent: mpsc::Sender<u64>, num: u64, size: u64) {
    go(move || {
        if size == 1 {
            let _ = parent.send(num);
            return;
        }
        let (tx, rx) = mpsc::channel();
        let sub = size / 10;
        for i in 0..10 {
            skynet(tx.clone(), num + i * sub, sub);
        }
        let sum: u64 = (0..10).map(|_| rx.recv().expect("skynet child")).sum();
        let _ = parent.send(sum);
    });
}

fn skynet_w(n: u64) -> Report {
    let t0 = Instant::now();
    let (tx, rx) = mpsc::channel();
    skynet(tx, 0, n);
    let sum = rx.recv().expect("skynet root");
    let ns = since(t0);
    if sum != n * (n - 1) / 2 {
        fail(&format!("skynet: wrong sum {sum}"));
    }
    Report {
        ns,
        n,
        ops: n,
        result: Some(sum),
        ..Report::default()
    }
}

fn fanin_w(senders: u64, per: u64) -> Report {
    let t0 = Instant::now();
    let (tx, rx) = mpsc::channel::<u64>();
    for _ in 0..senders {
        let tx = tx.clone();
        go(move || {
            for i in 1..=per {
                let _ = tx.send(i);
            }
        });
    }
    let (mut count, mut sum) = (0u64, 0u64);
    while count < senders * per {
        sum += rx.recv().expect("fanin message");
        count += 1;
    }
    let ns = since(t0);
    if sum != senders * per * (per + 1) / 2 {
        fail(&format!("fanin: wrong sum {sum}"));
    }
    Report {
        ns,
        n: senders * per,
        ops: senders * per,
        result: Some(count),
        ..Report::default()
    }
}

type Request = (u64, mpsc::Sender<u64>);

fn echo() -> mpsc::Sender<Request> {
    let (tx, rx) = mpsc::channel::<Request>();
    go(move || {
        while let Ok((i, reply)) = rx.recv() {
            let _ = reply.send(i + 1);
        }
    });
    tx
}

fn sel_rounds(echo: &mpsc::Sender<Request>, rounds: u64) -> u64 {
    let mut ok = 0;
    for i in 0..rounds {
        let (tx, rx) = mpsc::channel();
        let _ = echo.send((i, tx));
        if rx.recv() == Ok(i + 1) {
            ok += 1;
        }
    }
    ok
}

fn selective_w(depth: u64, rounds: u64) -> Report {
    let echo = echo();
    let (inbox_tx, inbox) = mpsc::channel::<u64>();
    for k in 1..=depth {
        let _ = inbox_tx.send(k);
    }
    let t0 = Instant::now();
    let ok = sel_rounds(&echo, rounds);
    let deep = since(t0);
    for k in 1..=depth {
        if inbox.recv() != Ok(k) {
            fail("selective: backlog out of order");
        }
    }
    let t1 = Instant::now();
    let ok2 = sel_rounds(&echo, rounds);
    let empty = since(t1);
    if ok2 != rounds {
        fail("selective: wrong reply in the empty phase");
    }
    Report {
        ns: deep,
        n: depth,
        ops: rounds,
        result: Some(ok),
        extra: vec![format!(
            "\"empty_per_op_ns\":{:.3}",
            empty as f64 / rounds as f64
        )],
        ..Report::default()
    }
}

fn call_w(n: u64) -> Report {
    let (server, requests) = mpsc::channel::<mpsc::Sender<u64>>();
    go(move || {
        let mut count = 0;
        while let Ok(reply) = requests.recv() {
            count += 1;
            let _ = reply.send(count);
        }
    });
    let t0 = Instant::now();
    let mut last = 0;
    for _ in 0..n {
        let (tx, rx) = mpsc::channel();
        let _ = server.send(tx);
        last = rx.recv().expect("call reply");
    }
    Report {
        ns: since(t0),
        n,
        ops: n,
        result: Some(last),
        ..Report::default()
    }
}

fn timers_w(n: u64, timeout_ms: u64) -> Report {
    let (ready, all_ready) = Countdown::new(n);
    let (done, all_done) = Countdown::new(n);
    let timeout = Duration::from_millis(timeout_ms);
    let base = mem();
    let t0 = Instant::now();
    for _ in 0..n {
        let (ready, done) = (ready.clone(), done.clone());
        go(move || {
            let (_tx, rx) = mpsc::channel::<u64>();
            ready.arrive();
            let _ = rx.recv_timeout(timeout);
            done.arrive();
        });
    }
    let _ = all_ready.recv();
    let t_ready = Instant::now();
    let alive = n - done.count.load(Relaxed);
    let peak = mem();
    let _ = all_done.recv();
    let late = t_ready.elapsed().as_nanos() as i128 - timeout.as_nanos() as i128;
    Report {
        ns: since(t0),
        n,
        ops: n,
        result: Some(done.count.load(Relaxed)),
        bytes_per_process: Some(peak.saturating_sub(base) as f64 / n as f64),
        extra: vec![
            format!("\"alive_at_sample\":{alive}"),
            format!("\"late_ns\":{late}"),
        ],
    }
}
