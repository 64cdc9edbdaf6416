//! The tokio peer: every workload of benches/peers/README.md, defined there.
//!
//! A "process" is a task; its mailbox is an unbounded mpsc channel (the actor
//! idiom); a reply is a `oneshot`. Main is a task spawned on the runtime, so it
//! runs on a worker like every other process (the `block_on` thread is not one).

use peer_common::{emit, fail, mem, since, Args, Report};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

fn main() {
    let args = Args::parse("bream-peer-tokio");
    peer_common::exit_on_panic("bream-peer-tokio", String::new);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_time()
        .build()
        .expect("build the tokio runtime");
    let (a, b) = (args.a, args.b);
    let report = match args.workload.as_str() {
        "spawn" => rt.block_on(rt.spawn(spawn_w(a))),
        "ring" => rt.block_on(rt.spawn(ring_w(a, b))),
        "pingpong" => rt.block_on(rt.spawn(pingpong_w(a))),
        "skynet" => rt.block_on(rt.spawn(skynet_w(a))),
        "fanin" => rt.block_on(rt.spawn(fanin_w(a, b))),
        "selective" => rt.block_on(rt.spawn(selective_w(a, b))),
        "call" => rt.block_on(rt.spawn(call_w(a))),
        "timers" => rt.block_on(rt.spawn(timers_w(a, b))),
        "backpressure" => rt.block_on(rt.spawn(backpressure_w(a, b))),
        "idle" => rt.block_on(rt.spawn(idle_w(a))),
        w => fail(&format!("bream-peer-tokio: unknown workload {w:?}")),
    }
    .expect("the main task panicked");
    emit("tokio", &args, &report);
}

/// The ready/done countdowns of README.md: the task that brings one to `n`
/// sends main a message.
struct Countdown {
    n: u64,
    count: AtomicU64,
    main: mpsc::UnboundedSender<()>,
}

impl Countdown {
    fn new(n: u64) -> (Arc<Self>, mpsc::UnboundedReceiver<()>) {
        let (main, rx) = mpsc::unbounded_channel();
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

async fn spawn_w(n: u64) -> Report {
    let (ready, mut all_ready) = Countdown::new(n);
    let (done, mut all_done) = Countdown::new(n);
    let base = mem();
    let t0 = Instant::now();
    let mut boxes = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
        let (ready, done) = (ready.clone(), done.clone());
        tokio::spawn(async move {
            ready.arrive();
            rx.recv().await;
            done.arrive();
        });
        boxes.push(tx);
    }
    all_ready.recv().await;
    let peak = mem();
    for (i, tx) in boxes.iter().enumerate() {
        let _ = tx.send(i as u64);
    }
    all_done.recv().await;
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

async fn ring_w(n: u64, laps: u64) -> Report {
    let total = n * laps;
    let (main_tx, mut main_rx) = mpsc::unbounded_channel::<u64>();
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::unbounded_channel::<u64>()).unzip();
    for (i, mut rx) in rxs.into_iter().enumerate() {
        let next = txs[(i + 1) % n as usize].clone();
        let main = main_tx.clone();
        tokio::spawn(async move {
            for _ in 0..laps {
                let t = rx.recv().await.expect("ring token");
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
    let hops = main_rx.recv().await.expect("ring result");
    Report {
        ns: since(t0),
        n,
        ops: total,
        result: Some(hops),
        ..Report::default()
    }
}

async fn pingpong_w(n: u64) -> Report {
    let t0 = Instant::now();
    let (ping_tx, mut ping_rx) = mpsc::unbounded_channel::<u64>();
    let (pong_tx, mut pong_rx) = mpsc::unbounded_channel::<u64>();
    tokio::spawn(async move {
        while let Some(i) = ping_rx.recv().await {
            let _ = pong_tx.send(i);
        }
    });
    let mut ok = 0;
    for i in 0..n {
        let _ = ping_tx.send(i);
        if pong_rx.recv().await == Some(i) {
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

fn skynet(parent: mpsc::UnboundedSender<u64>, num: u64, size: u64) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if size == 1 {
            let _ = parent.send(num);
            return;
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        let sub = size / 10;
        for i in 0..10 {
            skynet(tx.clone(), num + i * sub, sub);
        }
        let mut sum = 0;
        for _ in 0..10 {
            sum += rx.recv().await.expect("skynet child");
        }
        let _ = parent.send(sum);
    })
}

async fn skynet_w(n: u64) -> Report {
    let t0 = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel();
    skynet(tx, 0, n);
    let sum = rx.recv().await.expect("skynet root");
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

async fn fanin_w(senders: u64, per: u64) -> Report {
    let t0 = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
    for _ in 0..senders {
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 1..=per {
                let _ = tx.send(i);
            }
        });
    }
    let (mut count, mut sum) = (0u64, 0u64);
    while count < senders * per {
        sum += rx.recv().await.expect("fanin message");
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

/// `backpressure`'s receiver work per message (README.md): 64 rounds of a
/// 64-bit LCG.
fn slow(mut x: u64) -> u64 {
    for _ in 0..64 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    }
    x
}

async fn backpressure_w(senders: u64, per: u64) -> Report {
    let t0 = Instant::now();
    let (tx, mut rx) = mpsc::channel::<u64>(1024);
    for _ in 0..senders {
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 1..=per {
                let _ = tx.send(i).await; // waits while the channel is full
            }
        });
    }
    drop(tx);
    let (mut count, mut sum, mut acc) = (0u64, 0u64, 0u64);
    while count < senders * per {
        let v = rx.recv().await.expect("backpressure message");
        acc ^= slow(v);
        sum += v;
        count += 1;
    }
    let ns = since(t0);
    if sum != senders * per * (per + 1) / 2 || acc == 42 {
        fail(&format!("backpressure: wrong sum {sum}"));
    }
    Report {
        ns,
        n: senders * per,
        ops: senders * per,
        result: Some(count),
        ..Report::default()
    }
}

type Request = (u64, oneshot::Sender<u64>);

fn echo() -> mpsc::UnboundedSender<Request> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
    tokio::spawn(async move {
        while let Some((i, reply)) = rx.recv().await {
            let _ = reply.send(i + 1);
        }
    });
    tx
}

async fn sel_rounds(echo: &mpsc::UnboundedSender<Request>, rounds: u64) -> u64 {
    let mut ok = 0;
    for i in 0..rounds {
        let (tx, rx) = oneshot::channel();
        let _ = echo.send((i, tx));
        if rx.await == Ok(i + 1) {
            ok += 1;
        }
    }
    ok
}

async fn selective_w(depth: u64, rounds: u64) -> Report {
    let echo = echo();
    let (inbox_tx, mut inbox) = mpsc::unbounded_channel::<u64>();
    for k in 1..=depth {
        let _ = inbox_tx.send(k);
    }
    let t0 = Instant::now();
    let ok = sel_rounds(&echo, rounds).await;
    let deep = since(t0);
    for k in 1..=depth {
        if inbox.recv().await != Some(k) {
            fail("selective: backlog out of order");
        }
    }
    let t1 = Instant::now();
    let ok2 = sel_rounds(&echo, rounds).await;
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

async fn call_w(n: u64) -> Report {
    let (server, mut requests) = mpsc::unbounded_channel::<oneshot::Sender<u64>>();
    tokio::spawn(async move {
        let mut count = 0;
        while let Some(reply) = requests.recv().await {
            count += 1;
            let _ = reply.send(count);
        }
    });
    let t0 = Instant::now();
    let mut last = 0;
    for _ in 0..n {
        let (tx, rx) = oneshot::channel();
        let _ = server.send(tx);
        last = rx.await.expect("call reply");
    }
    Report {
        ns: since(t0),
        n,
        ops: n,
        result: Some(last),
        ..Report::default()
    }
}

async fn timers_w(n: u64, timeout_ms: u64) -> Report {
    let (ready, mut all_ready) = Countdown::new(n);
    let (done, mut all_done) = Countdown::new(n);
    let timeout = Duration::from_millis(timeout_ms);
    let base = mem();
    let t0 = Instant::now();
    for _ in 0..n {
        let (ready, done) = (ready.clone(), done.clone());
        tokio::spawn(async move {
            let (_tx, mut rx) = mpsc::unbounded_channel::<u64>();
            let wait = tokio::time::timeout(timeout, rx.recv());
            ready.arrive();
            let _ = wait.await;
            done.arrive();
        });
    }
    all_ready.recv().await;
    let t_ready = Instant::now();
    let alive = n - done.count.load(Relaxed);
    let peak = mem();
    all_done.recv().await;
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

/// What an idle task is sent: a ping (reply on the oneshot, wait again) or
/// "wake and return".
enum Idle {
    Ping(oneshot::Sender<()>),
    Wake,
}

async fn idle_w(n: u64) -> Report {
    let (ready, mut all_ready) = Countdown::new(n);
    let (done, mut all_done) = Countdown::new(n);
    let base = mem();
    let mut boxes = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (tx, mut rx) = mpsc::unbounded_channel::<Idle>();
        let (ready, done) = (ready.clone(), done.clone());
        tokio::spawn(async move {
            ready.arrive();
            while let Some(Idle::Ping(reply)) = rx.recv().await {
                let _ = reply.send(());
            }
            done.arrive();
        });
        boxes.push(tx);
    }
    all_ready.recv().await;
    let idle = mem();
    let k = n.min(1000);
    let mut rtts = Vec::with_capacity(k as usize);
    for i in 0..k {
        let t = Instant::now();
        let (reply, pong) = oneshot::channel();
        let _ = boxes[(i * n / k) as usize].send(Idle::Ping(reply));
        pong.await.expect("an idle task replies");
        rtts.push(since(t));
    }
    rtts.sort_unstable();
    let t0 = Instant::now();
    for tx in &boxes {
        let _ = tx.send(Idle::Wake);
    }
    all_done.recv().await;
    let ns = since(t0);
    Report {
        ns,
        n,
        ops: n,
        result: Some(done.count.load(Relaxed)),
        bytes_per_process: Some(idle.saturating_sub(base) as f64 / n as f64),
        extra: vec![format!("\"wake_rtt_ns\":{}", rtts[(k as usize - 1) / 2])],
    }
}
