//! A supervision tree under a storm of random kills, against OTP Design
//! Principles, "Supervisor Behaviour" (Restart Strategy, Restart Intensity and
//! Period) and supervisor(3): whatever is killed, every supervisor that has not
//! given up restarts its permanent children, nothing outlives its supervisor,
//! and messages between live processes are not lost.
//!
//! The tree (three levels):
//!
//! ```text
//! root (OneForOne, never gives up)
//! ├── one     (OneForOne)   ─┐
//! ├── all     (OneForAll)    │ each: c0, c1, c2 (permanent counters, c1 traps
//! ├── rest    (RestForOne)   │ exits) and t (a temporary counter)
//! └── fragile (OneForOne, at most 2 restarts a second: it gives up often and
//!              root starts a fresh one)
//! ```
//!
//! For about three seconds one killer process, with a seeded random generator
//! (set `BREAM_STRESS_SEED` to replay a run), kills random workers and middle
//! supervisors, and checks counters between kills. Meanwhile two processes
//! outside the tree exchange numbered messages. Then it checks the tree, counts
//! every process with `bream::processes()`, stops the root, and counts again.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bream::{ExitReason, Pid};
use bream_stdlib::gen_server::{self, CallResult, GenServer, Init, ReplyTo, ServerRef};
use bream_stdlib::supervisor::{
    self, ChildSpec, ChildState, Restart, Shutdown, Strategy, Supervisor, SupervisorRef,
};
use common::{wait_until, PATIENCE};

/// How long the storm lasts (the whole file stays well under 15 s).
const STORM: Duration = Duration::from_secs(3);

struct Counter(u64);

impl GenServer for Counter {
    type Args = bool; // trap exits?
    type Call = ();
    type Reply = u64;
    type Cast = u64;
    type Info = ();
    type Continue = ();

    fn init(trap: bool) -> Init<Self> {
        bream::trap_exit(trap);
        Init::ok(Counter(0))
    }
    fn handle_call(&mut self, _: (), _: ReplyTo<u64>) -> CallResult<Self> {
        CallResult::reply(self.0)
    }
    fn handle_cast(&mut self, n: u64) -> gen_server::Next<Self> {
        self.0 += n;
        gen_server::Next::Wait
    }
}

fn middle(strategy: Strategy, intensity: u32) -> Supervisor {
    Supervisor::new(strategy)
        .intensity(intensity)
        .period(Duration::from_secs(1))
        .child(ChildSpec::gen_server::<Counter>("c0", false).shutdown(Shutdown::BrutalKill))
        .child(ChildSpec::gen_server::<Counter>("c1", true))
        .child(ChildSpec::gen_server::<Counter>("c2", false))
        .child(ChildSpec::gen_server::<Counter>("t", false).restart(Restart::Temporary))
}

fn tree() -> Supervisor {
    Supervisor::new(Strategy::OneForOne)
        .intensity(1_000_000)
        .period(Duration::from_secs(1))
        .child(middle(Strategy::OneForOne, 1_000_000).child_spec("one"))
        .child(middle(Strategy::OneForAll, 1_000_000).child_spec("all"))
        .child(middle(Strategy::RestForOne, 1_000_000).child_spec("rest"))
        .child(middle(Strategy::OneForOne, 2).child_spec("fragile"))
}

/// The tree as it is now: middle supervisors and their running children
/// (a supervisor that died meanwhile shows no children).
struct Snapshot {
    middles: Vec<(String, ChildState)>,
    workers: Vec<(String, Pid)>,
}

fn snapshot(root: &SupervisorRef) -> Snapshot {
    let middles: Vec<_> = supervisor::which_children(root)
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.state))
        .collect();
    let mut workers = Vec::new();
    for (_, state) in &middles {
        if let ChildState::Running(pid) = state {
            if let Ok(children) = supervisor::which_children(&SupervisorRef::from_pid(*pid)) {
                for c in children {
                    if let ChildState::Running(w) = c.state {
                        workers.push((c.id, w));
                    }
                }
            }
        }
    }
    Snapshot { middles, workers }
}

/// Every middle supervisor runs, with its three permanent counters alive.
fn settled(root: &SupervisorRef) -> bool {
    let snap = snapshot(root);
    snap.middles.len() == 4
        && snap
            .middles
            .iter()
            .all(|(_, s)| matches!(s, ChildState::Running(p) if bream::is_alive(*p)))
        && ["c0", "c1", "c2"].iter().all(|id| {
            snap.workers
                .iter()
                .filter(|(w, pid)| w == id && bream::is_alive(*pid))
                .count()
                == 4
        })
}

/// Every process that should exist: the tree's and the test's own.
fn expected_processes(root: &SupervisorRef) -> BTreeSet<Pid> {
    let snap = snapshot(root);
    let mut all: BTreeSet<Pid> = snap.workers.iter().map(|(_, p)| *p).collect();
    for (_, state) in &snap.middles {
        if let ChildState::Running(p) = state {
            all.insert(*p);
        }
    }
    all.insert(root.pid().unwrap());
    all.insert(bream::self_pid());
    all
}

/// Cast `k` increments to a counter between two reads. If the same process
/// answered both reads it was alive throughout, so it must have seen every cast.
fn check_counter(pid: Pid, k: u64) -> bool {
    let counter = ServerRef::<Counter>::from_pid(pid);
    let Ok(before) = gen_server::call(&counter, (), PATIENCE) else {
        return false;
    };
    for _ in 0..k {
        gen_server::cast(&counter, 1);
    }
    match gen_server::call(&counter, (), PATIENCE) {
        Ok(after) => {
            assert_eq!(after, before + k, "a live counter lost casts");
            true
        }
        Err(_) => false, // killed meanwhile by a restart: nothing to check
    }
}

/// Two processes outside the tree: one sends 0..n, the other checks that they
/// all arrive, in order, and reports to `report`.
fn message_pair(n: u64, report: Pid) {
    let receiver = bream::spawn(move || {
        for expected in 0..n {
            let got: u64 = bream::receive();
            assert_eq!(got, expected, "a message between live processes was lost");
        }
        bream::send(report, ("pair done", n));
    });
    bream::spawn(move || {
        for i in 0..n {
            bream::send(receiver, i);
            if i % 64 == 0 {
                bream::yield_now();
            }
        }
    });
}

#[test]
fn a_three_level_tree_survives_a_storm_of_random_kills() {
    let seed = std::env::var("BREAM_STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("BREAM_STRESS_SEED={seed}");
    bream::run(move || {
        let mut rng = fastrand::Rng::with_seed(seed);
        let root = tree().start().expect("the tree starts");
        let baseline = bream::processes().len();
        assert_eq!(
            baseline,
            1 + 1 + 4 * 5,
            "test + root + 4 × (middle + 4 workers)"
        );
        message_pair(50_000, bream::self_pid());

        let (mut kills, mut checks) = (0u32, 0u32);
        let start = Instant::now();
        while start.elapsed() < STORM {
            let snap = snapshot(&root);
            match rng.u32(0..10) {
                0..=5 if !snap.workers.is_empty() => {
                    let (_, victim) = snap.workers[rng.usize(..snap.workers.len())];
                    let reason = if rng.bool() {
                        ExitReason::Kill
                    } else {
                        ExitReason::Other("chaos".into())
                    };
                    bream::exit(victim, reason);
                    kills += 1;
                }
                6 => {
                    let (_, state) = &snap.middles[rng.usize(..snap.middles.len())];
                    if let ChildState::Running(pid) = state {
                        bream::exit(*pid, ExitReason::Kill);
                        kills += 1;
                    }
                }
                _ if !snap.workers.is_empty() => {
                    let (_, pid) = snap.workers[rng.usize(..snap.workers.len())];
                    if check_counter(pid, rng.u64(1..20)) {
                        checks += 1;
                    }
                }
                _ => {}
            }
            bream::sleep(Duration::from_micros(200));
        }
        println!("storm: {kills} kills, {checks} counter checks");

        // The root never gives up; every middle supervisor is running (a fresh
        // one if it gave up) with its permanent children.
        wait_until(|| settled(&root));
        assert!(bream::is_alive(root.pid().unwrap()));
        let done = bream::receive_timeout::<(&str, u64)>(PATIENCE);
        assert_eq!(done, Some(("pair done", 50_000)));

        // Nothing leaked: the processes are exactly the tree's and ours.
        wait_until(|| {
            let now: BTreeSet<Pid> = bream::processes().into_iter().collect();
            now == expected_processes(&root)
        });

        // Stopping the root stops everything under it.
        root.stop(ExitReason::Shutdown, PATIENCE).unwrap();
        wait_until(|| bream::processes() == vec![bream::self_pid()]);
        assert!(kills > 0 && checks > 0);
    });
}
