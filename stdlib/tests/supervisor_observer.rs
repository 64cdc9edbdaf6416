//! The supervision tree as the observer sees it: each supervisor publishes
//! its children (bream::observer::publish_children), and a snapshot hangs
//! them on its row. This mirrors what OTP's `supervisor:which_children/1`
//! returns (supervisor(3): `{Id, Child, Type, Modules}`), read from outside
//! the supervisor, as Erlang's observer draws its "Applications" tree: the
//! tree must follow restarts, one level at a time.

mod common;

use bream::observer::{snapshot, ChildKind, ChildRow};
use bream::Pid;
use bream_stdlib::supervisor::{self, ChildSpec, Restart, Strategy, Supervisor};
use common::*;

/// One published child: (id, pid, kind, restart).
type Child = (String, Option<Pid>, ChildKind, &'static str);

/// The children `pid` published, if any.
fn published(pid: Pid) -> Option<Vec<Child>> {
    let snap = snapshot();
    let row = snap.processes.iter().find(|r| r.pid == pid)?;
    let rows: &[ChildRow] = row.children.as_deref()?;
    Some(
        rows.iter()
            .map(|c| (c.id.clone(), c.pid, c.kind, c.restart))
            .collect(),
    )
}

fn patient(strategy: Strategy) -> Supervisor {
    Supervisor::new(strategy)
        .intensity(100)
        .period(std::time::Duration::from_secs(60))
}

/// Runs `body` in a fresh runtime on its own thread: a hang fails the test.
fn run(body: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        bream::run(body);
        let _ = tx.send(());
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("the test did not finish within 60 s (a hang, or it panicked)");
}

#[test]
fn a_nested_tree_follows_restarts() {
    run(|| {
        let log = bream::self_pid();
        let pool = patient(Strategy::OneForOne)
            .child(tracked("w1", log))
            .child(tracked("w2", log).restart(Restart::Transient));
        let top = patient(Strategy::OneForOne)
            .child(tracked("db", log))
            .child(pool.child_spec("pool"))
            .start_link()
            .unwrap();
        let top_pid = top.pid().unwrap();
        let db = started("db");
        let (w1, w2) = (started("w1"), started("w2"));
        let tree = published(top_pid).expect("the top supervisor published");
        assert_eq!(tree.len(), 2);
        assert_eq!(
            tree[0],
            ("db".into(), Some(db), ChildKind::Worker, "permanent")
        );
        let (id, pool_pid, kind, restart) = tree[1].clone();
        assert_eq!(
            (id.as_str(), kind, restart),
            ("pool", ChildKind::Supervisor, "permanent")
        );
        let pool_pid = pool_pid.expect("the pool runs");
        assert_eq!(
            published(pool_pid).expect("the pool published"),
            vec![
                ("w1".into(), Some(w1), ChildKind::Worker, "permanent"),
                ("w2".into(), Some(w2), ChildKind::Worker, "transient"),
            ]
        );
        assert_eq!(published(db), None, "a worker publishes nothing");

        // A worker one level down crashes: only the pool's list changes.
        crash(w1);
        let w1b = started("w1");
        wait_until(|| published(pool_pid).unwrap()[0].1 == Some(w1b));
        assert_eq!(published(pool_pid).unwrap()[1].1, Some(w2));
        assert_eq!(published(top_pid).unwrap()[1].1, Some(pool_pid));

        // The pool itself is killed: the top restarts it; the new pool
        // publishes new workers, and the old pool's list is gone with it.
        bream::exit(pool_pid, bream::ExitReason::Kill);
        let mut restarted = Vec::new();
        while restarted.len() < 2 {
            if let Event::Started(id, pid) = event() {
                restarted.push((id, pid));
            }
        }
        wait_until(|| {
            published(top_pid).unwrap()[1]
                .1
                .is_some_and(|p| p != pool_pid)
        });
        let pool2 = published(top_pid).unwrap()[1].1.unwrap();
        assert_eq!(published(pool_pid), None, "the dead pool's list is gone");
        wait_until(|| published(pool2).is_some_and(|c| c.len() == 2));
        let now: Vec<_> = published(pool2)
            .unwrap()
            .into_iter()
            .map(|(id, pid, _, _)| (id, pid.unwrap()))
            .collect();
        let expected: Vec<_> = restarted
            .into_iter()
            .map(|(id, pid)| (id.to_string(), pid))
            .collect();
        assert_eq!(now, expected);
        assert_eq!(published(top_pid).unwrap()[0].1, Some(db));

        // Terminated by hand: the child stays in the spec, with no pid.
        supervisor::terminate_child(&top, "db").unwrap();
        wait_until(|| published(top_pid).unwrap()[0].1.is_none());
        supervisor::stop(&top, bream::ExitReason::Normal, PATIENCE).unwrap();
        wait_until(|| published(top_pid).is_none());
    });
}

#[test]
fn a_big_simple_one_for_one_publishes_all_its_children() {
    // Past the eager limit (256) the publish is deferred: it must still come.
    run(|| {
        let sup = patient(Strategy::SimpleOneForOne)
            .child(ChildSpec::dynamic_worker("conn", |_: u32| {
                Ok(bream::spawn_link(|| {
                    let () = bream::receive();
                }))
            }))
            .start_link()
            .unwrap();
        let pid = sup.pid().unwrap();
        for i in 0..300u32 {
            supervisor::start_dynamic_child(&sup, i).unwrap();
        }
        wait_until(|| published(pid).is_some_and(|c| c.len() == 300));
        let c = published(pid).unwrap();
        assert!(c.iter().all(|(id, p, k, r)| id == "conn"
            && p.is_some()
            && *k == ChildKind::Worker
            && *r == "permanent"));
        supervisor::stop(&sup, bream::ExitReason::Normal, PATIENCE).unwrap();
    });
}
