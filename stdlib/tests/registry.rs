//! Registry, tested against Elixir's `Registry` documentation: start_link/1
//! (`keys: :unique | :duplicate`, `partitions:`), register/3, unregister/2,
//! lookup/2, dispatch/3, keys/2, values/3, update_value/3, count/1, and
//! "Registry is local ... entries are removed when the process exits".

mod watchdog;

use std::time::Duration;

use bream::{ExitReason, Pid};
use bream_stdlib::registry::{Keys, RegisterError, Registry};
use watchdog::{down, run, wait_until, PATIENCE};

/// Spawn a process that registers `key` in `reg` with `value`, reports, and
/// waits for a message to exit with that reason.
fn holder<K, V>(reg: &Registry<K, V>, key: K, value: V) -> Pid
where
    K: std::hash::Hash + Eq + Send + 'static,
    V: Send + 'static,
{
    let me = bream::self_pid();
    let reg = reg.clone();
    let pid = bream::spawn(move || {
        let r = reg.register(key, value);
        bream::send(me, (bream::self_pid(), r));
        let reason: ExitReason = bream::receive();
        if reason != ExitReason::Normal {
            bream::exit_self(reason);
        }
    });
    let (from, r): (Pid, Result<(), RegisterError>) =
        bream::receive_timeout(PATIENCE).expect("the holder's report");
    assert_eq!(from, pid);
    r.expect("the holder registered");
    pid
}

/// Registry.register/3 + lookup/2, unique keys: the key maps to the
/// registering process and its value; a second registration is refused with
/// the holder's pid (`{:error, {:already_registered, pid}}`).
#[test]
fn unique_register_and_lookup() {
    run(|| {
        let reg: Registry<String, u32> = Registry::new(Keys::Unique).start_link().unwrap();
        let me = bream::self_pid();
        reg.register("a".into(), 1).unwrap();
        assert_eq!(reg.lookup(&"a".to_string()), vec![(me, 1)]);
        assert_eq!(
            reg.register("a".into(), 2),
            Err(RegisterError::AlreadyRegistered(me))
        );
        let other = bream::spawn({
            let reg = reg.clone();
            move || {
                let r = reg.register("a".into(), 3);
                bream::send(me, r);
            }
        });
        let _ = other;
        assert_eq!(
            bream::receive_timeout::<Result<(), RegisterError>>(PATIENCE),
            Some(Err(RegisterError::AlreadyRegistered(me)))
        );
        assert!(reg.lookup(&"b".to_string()).is_empty());
    });
}

/// Registry: "each entry ... is automatically removed when the process
/// exits", for normal exits and crashes alike.
#[test]
fn entries_go_when_their_process_exits() {
    run(|| {
        let reg: Registry<u32> = Registry::new(Keys::Unique)
            .partitions(4)
            .start_link()
            .unwrap();
        let normal = holder(&reg, 1, ());
        let crash = holder(&reg, 2, ());
        assert_eq!(reg.count(), 2);
        let (m1, m2) = (bream::monitor(normal), bream::monitor(crash));
        bream::send(normal, ExitReason::Normal);
        bream::send(crash, ExitReason::Other("crash".into()));
        assert_eq!(down(m1), ExitReason::Normal);
        assert_eq!(down(m2), ExitReason::Other("crash".into()));
        // lookup never answers a dead pid, even before the cleanup ran.
        assert!(reg.lookup(&1).is_empty());
        assert!(reg.lookup(&2).is_empty());
        wait_until("the entries are cleaned up", || reg.count() == 0);
    });
}

/// Registry.register/3: a unique key whose holder has exited can be taken at
/// once, and the old holder's cleanup does not remove the new entry.
#[test]
fn a_dead_holders_key_can_be_taken_at_once() {
    run(|| {
        let reg: Registry<&str> = Registry::new(Keys::Unique)
            .partitions(1)
            .start_link()
            .unwrap();
        for _ in 0..50 {
            let old = holder(&reg, "k", ());
            let m = bream::monitor(old);
            bream::exit(old, ExitReason::Kill);
            down(m);
            reg.register("k", ())
                .expect("the dead holder's key is free");
            // Let the old holder's cleanup run; the new entry stays.
            wait_until("one entry", || reg.count() == 1);
            bream::sleep(Duration::from_millis(1));
            assert_eq!(reg.lookup(&"k"), vec![(bream::self_pid(), ())]);
            reg.unregister(&"k");
            assert_eq!(reg.count(), 0);
        }
    });
}

/// Registry: entries are removed on exit even for a process that exits (or
/// is killed) right after registering (the link is made before the insert).
#[test]
fn a_process_that_dies_right_after_registering_leaves_nothing() {
    run(|| {
        let reg: Registry<u32> = Registry::new(Keys::Unique)
            .partitions(2)
            .start_link()
            .unwrap();
        let mut monitors = Vec::new();
        for i in 0..300u32 {
            let r = reg.clone();
            let (pid, m) = bream::spawn_monitor(move || {
                r.register(i, ()).unwrap();
                if i % 2 == 0 {
                    bream::exit_self(ExitReason::Other("at once".into()));
                }
                bream::receive::<()>();
            });
            if i % 2 == 1 {
                bream::exit(pid, ExitReason::Kill);
            }
            monitors.push(m);
        }
        for m in monitors {
            down(m);
        }
        wait_until("every entry is cleaned up", || reg.count() == 0);
    });
}

/// Registry.unregister/2: the entry goes, and a process with no keys left is
/// unlinked from the registry.
#[test]
fn unregister_removes_and_unlinks() {
    run(|| {
        let reg: Registry<u8> = Registry::new(Keys::Unique)
            .partitions(1)
            .start_link()
            .unwrap();
        let me = bream::self_pid();
        let links_before = bream::process_info(me).unwrap().links.len();
        reg.register(1, ()).unwrap();
        reg.register(2, ()).unwrap();
        assert_eq!(
            bream::process_info(me).unwrap().links.len(),
            links_before + 1
        );
        reg.unregister(&1);
        assert!(reg.lookup(&1).is_empty());
        assert_eq!(reg.lookup(&2), vec![(me, ())]);
        assert_eq!(
            bream::process_info(me).unwrap().links.len(),
            links_before + 1
        );
        reg.unregister(&2);
        assert_eq!(bream::process_info(me).unwrap().links.len(), links_before);
        assert_eq!(reg.count(), 0);
    });
}

/// `keys: :duplicate`: many processes under one key, one process more than
/// once; Registry.dispatch/3 reaches every live entry with its value.
#[test]
fn duplicate_keys_and_dispatch() {
    run(|| {
        let topics: Registry<&str, u32> = Registry::new(Keys::Duplicate)
            .partitions(3)
            .start_link()
            .unwrap();
        let subs: Vec<Pid> = (0..10).map(|i| holder(&topics, "news", i)).collect();
        topics.register("news", 100).unwrap();
        topics.register("news", 101).unwrap();
        let me = bream::self_pid();
        let mut seen = Vec::new();
        topics.dispatch(&"news", |entries| {
            for (pid, value) in entries {
                seen.push((*pid, *value));
            }
        });
        seen.sort();
        let mut expected: Vec<(Pid, u32)> = subs.iter().copied().zip(0..).collect();
        expected.push((me, 100));
        expected.push((me, 101));
        expected.sort();
        assert_eq!(seen, expected);
        assert_eq!(topics.values(&"news", me), vec![100, 101]);
        // dispatch on an empty key does not call the function.
        topics.dispatch(&"sports", |_| panic!("no entries, no call"));
        // One subscriber exits: it is skipped at once and cleaned up later.
        let m = bream::monitor(subs[0]);
        bream::send(subs[0], ExitReason::Normal);
        down(m);
        assert_eq!(topics.lookup(&"news").len(), 11);
        wait_until("cleanup", || topics.count() == 11);
        topics.unregister(&"news");
        assert_eq!(topics.lookup(&"news").len(), 9);
    });
}

/// Registry.keys/2, values/3, update_value/3.
#[test]
fn keys_values_and_update_value() {
    run(|| {
        let reg: Registry<String, u32> = Registry::new(Keys::Unique).start_link().unwrap();
        let me = bream::self_pid();
        reg.register("x".into(), 1).unwrap();
        reg.register("y".into(), 2).unwrap();
        let mut keys = reg.keys(me);
        keys.sort();
        assert_eq!(keys, vec!["x".to_string(), "y".to_string()]);
        assert_eq!(reg.values(&"y".to_string(), me), vec![2]);
        assert_eq!(
            reg.update_value(&"x".to_string(), |v| v + 10),
            Some((11, 1))
        );
        assert_eq!(reg.lookup(&"x".to_string()), vec![(me, 11)]);
        assert_eq!(reg.update_value(&"z".to_string(), |v| v + 1), None);
    });
}

/// Registry.start_link/1: the registry is linked to its starter and stops
/// with it; its linked registrants get the exit signal (and die unless they
/// trap exits); then it answers nothing and refuses registrations.
#[test]
fn a_stopped_registry_forgets_everything() {
    run(|| {
        let me = bream::self_pid();
        let (owner, m) = bream::spawn_monitor(move || {
            let reg: Registry<u32> = Registry::new(Keys::Unique).start_link().unwrap();
            reg.register(1, ()).unwrap();
            bream::send(me, reg.clone());
            bream::receive::<()>();
            bream::exit_self(ExitReason::Other("owner quits".into()));
        });
        let reg: Registry<u32> = bream::receive_timeout(PATIENCE).unwrap();
        assert!(reg.is_running());
        bream::send(owner, ());
        assert_eq!(down(m), ExitReason::Other("owner quits".into()));
        wait_until("the registry stops", || !reg.is_running());
        assert_eq!(reg.count(), 0);
        assert_eq!(reg.register(2, ()), Err(RegisterError::NotRunning));
    });
}

/// Registry `partitions:` with many processes: many registrations from many
/// processes at once, every one found, all gone after the processes exit.
/// A few seconds at most; `BREAM_REGISTRY_SOAK=<processes>` scales it up
/// (1,000 keys each: `BREAM_REGISTRY_SOAK=1000` is a million entries).
#[test]
fn many_processes_register_many_keys() {
    let procs: u32 = std::env::var("BREAM_REGISTRY_SOAK")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let per = if procs > 200 { 1000 } else { 250 };
    run(move || {
        let reg: Registry<(u32, u32), u32> = Registry::new(Keys::Unique).start_link().unwrap();
        let dup: Registry<u32> = Registry::new(Keys::Duplicate).start_link().unwrap();
        let me = bream::self_pid();
        let mut workers = Vec::new();
        for p in 0..procs {
            let (reg, dup) = (reg.clone(), dup.clone());
            workers.push(bream::spawn_monitor(move || {
                for k in 0..per {
                    reg.register((p, k), p * k).unwrap();
                }
                dup.register(p % 7, ()).unwrap();
                bream::send(me, p);
                bream::receive::<()>();
            }));
        }
        for _ in 0..procs {
            bream::receive_timeout::<u32>(PATIENCE).expect("a worker registered");
        }
        let total = (procs * per) as usize;
        assert_eq!(reg.count(), total);
        for p in (0..procs).step_by(17) {
            for k in (0..per).step_by(31) {
                let found = reg.lookup(&(p, k));
                assert_eq!(found, vec![(workers[p as usize].0, p * k)]);
            }
        }
        let subscribers: usize = (0..7).map(|t| dup.lookup(&t).len()).sum();
        assert_eq!(subscribers, procs as usize);
        for (pid, _) in &workers {
            bream::send(*pid, ());
        }
        for (_, m) in workers {
            assert_eq!(down(m), ExitReason::Normal);
        }
        wait_until("every entry is cleaned up", || {
            reg.count() == 0 && dup.count() == 0
        });
    });
}
