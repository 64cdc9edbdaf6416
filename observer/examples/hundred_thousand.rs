//! A program worth observing: 100,000 processes waiting in a receive, a
//! registered `spinner` that burns reductions, a registered `sink` whose
//! mailbox only grows (fed by a `feeder`), a `ping`/`pong` pair that talks
//! all the time, and a supervision tree (the tree view, `t`):
//!
//! ```text
//! app_sup (one_for_one)
//! ├─ db     worker, permanent
//! ├─ pool   supervisor (simple_one_for_one, registered conn_sup): 300 `conn` workers
//! └─ cache  worker, transient
//! ```
//!
//! It serves the observer and runs until killed (or for the seconds given
//! as its second argument).
//!
//! ```text
//! cargo run -p bream-observer --example hundred_thousand -- 127.0.0.1:7700 &
//! cargo run -p bream-observer -- 127.0.0.1:7700
//! ```
//!
//! It prints `serving on ADDR with N processes` once everything is up.

use std::time::Duration;

use bream_stdlib::supervisor::{self, ChildSpec, Restart, Strategy, Supervisor, SupervisorRef};
use bream_stdlib::StartError;

/// The tree's children: a linked process that waits for a message.
fn idle() -> Result<bream::Pid, StartError> {
    Ok(bream::spawn_link(|| loop {
        let () = bream::receive();
    }))
}

/// Starts the supervision tree (unlinked: it outlives the caller).
fn tree(conns: u32) {
    let pool = Supervisor::new(Strategy::SimpleOneForOne)
        .name("conn_sup")
        .child(ChildSpec::dynamic_worker("conn", |_: u32| idle()));
    Supervisor::new(Strategy::OneForOne)
        .name("app_sup")
        .intensity(1000)
        .child(ChildSpec::worker("db", idle))
        .child(pool.child_spec("pool"))
        .child(ChildSpec::worker("cache", idle).restart(Restart::Transient))
        .start()
        .expect("the supervision tree");
    let pool = SupervisorRef::named("conn_sup");
    for i in 0..conns {
        supervisor::start_dynamic_child(&pool, i).expect("a conn");
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7700".into());
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(600);
    let n: usize = std::env::var("PROCESSES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let rt = bream::Runtime::builder().build().expect("a runtime");
    let server = rt
        .serve_observer(addr.as_str())
        .expect("the observer address");
    rt.block_on(move || {
        for _ in 0..n {
            bream::spawn(|| {
                let () = bream::receive();
            });
        }
        let spinner = bream::spawn(|| loop {
            bream::reduce(1000);
            if bream::receive_timeout::<()>(Duration::from_millis(1)).is_some() {
                return;
            }
        });
        bream::register("spinner", spinner).unwrap();
        let sink = bream::spawn(|| loop {
            bream::sleep(Duration::from_secs(3600));
        });
        bream::register("sink", sink).unwrap();
        let feeder = bream::spawn(move || loop {
            bream::send(sink, 0u64);
            bream::sleep(Duration::from_millis(10));
        });
        bream::register("feeder", feeder).unwrap();
        let pong = bream::spawn(|| loop {
            let from: bream::Pid = bream::receive();
            bream::send(from, ());
        });
        bream::register("pong", pong).unwrap();
        let ping = bream::spawn(move || loop {
            bream::send(pong, bream::self_pid());
            let () = bream::receive();
            bream::sleep(Duration::from_micros(200));
        });
        bream::register("ping", ping).unwrap();
        tree(300);
    });
    println!(
        "serving on {} with {} processes",
        server.addr(),
        rt.stats().processes_alive
    );
    std::thread::sleep(Duration::from_secs(secs));
    rt.shutdown();
}
