//! Links: `erlang:link/1` and `erlang:unlink/1` (ERTS reference manual), and the
//! "Processes" chapter of the Erlang Reference Manual, §"Links".

use std::time::Duration;

use bream::{receive, Down, Exit, ExitReason, Pid};

fn wait_forever() {
    loop {
        bream::receive::<()>();
    }
}

#[test]
fn links_are_bidirectional() {
    bream::run(|| {
        bream::trap_exit(true);
        let me = bream::self_pid();
        // The child makes the link; both ends show it.
        let child = bream::spawn(move || {
            bream::link(me);
            bream::send(me, "linked");
            wait_forever();
        });
        assert_eq!(bream::receive::<&str>(), "linked");
        assert_eq!(bream::process_info(child).unwrap().links, vec![me]);
        assert_eq!(bream::process_info(me).unwrap().links, vec![child]);
        bream::exit(child, ExitReason::Other("bye".into()));
        assert_eq!(
            bream::receive::<Exit>(),
            Exit {
                from: child,
                reason: ExitReason::Other("bye".into())
            }
        );
        assert!(bream::process_info(me).unwrap().links.is_empty());
    });
}

#[test]
fn linking_twice_makes_one_link_and_linking_to_oneself_does_nothing() {
    bream::run(|| {
        bream::trap_exit(true);
        let me = bream::self_pid();
        bream::link(me);
        assert!(bream::process_info(me).unwrap().links.is_empty());
        let child = bream::spawn(wait_forever);
        bream::link(child);
        bream::link(child);
        assert_eq!(bream::process_info(me).unwrap().links, vec![child]);
        bream::exit(child, ExitReason::Kill);
        assert_eq!(bream::receive::<Exit>().from, child);
        assert_eq!(
            bream::receive_timeout::<Exit>(Duration::from_millis(5)),
            None,
            "one link, one signal"
        );
    });
}

#[test]
fn linking_to_a_dead_pid_gives_a_trapping_caller_noproc() {
    bream::run(|| {
        bream::trap_exit(true);
        let (dead, m) = bream::spawn_monitor(|| {});
        receive! { d: Down if d.monitor == m => () }
        bream::link(dead);
        assert_eq!(
            bream::receive::<Exit>(),
            Exit {
                from: dead,
                reason: ExitReason::NoProc
            }
        );
        assert!(bream::process_info(bream::self_pid())
            .unwrap()
            .links
            .is_empty());
    });
}

#[test]
fn linking_to_a_dead_pid_kills_a_non_trapping_caller_with_noproc() {
    bream::run(|| {
        let (dead, m) = bream::spawn_monitor(|| {});
        receive! { d: Down if d.monitor == m => () }
        let (_, m2) = bream::spawn_monitor(move || {
            bream::link(dead);
            unreachable!("the NoProc exit signal ends the caller");
        });
        assert_eq!(
            receive! { d: Down if d.monitor == m2 => d.reason },
            ExitReason::NoProc
        );
    });
}

#[test]
fn after_unlink_the_link_has_no_effect() {
    bream::run(|| {
        let me = bream::self_pid();
        let (child, m) = bream::spawn_monitor(move || {
            bream::link(me);
            bream::unlink(me);
            bream::send(me, "unlinked");
            bream::receive::<()>();
            bream::exit_self(ExitReason::Other("crash".into()));
        });
        assert_eq!(bream::receive::<&str>(), "unlinked");
        bream::send(child, ());
        assert_eq!(
            receive! { d: Down if d.monitor == m => d.reason },
            ExitReason::Other("crash".into())
        );
        // Still alive: the crash did not reach us.
        assert!(bream::is_alive(me));
    });
}

#[test]
fn spawn_link_links_before_the_child_runs() {
    bream::run(|| {
        bream::trap_exit(true);
        // The child dies at once; the link must already be there.
        for _ in 0..100 {
            let child = bream::spawn_link(|| panic!("instant"));
            assert_eq!(
                bream::receive::<Exit>(),
                Exit {
                    from: child,
                    reason: ExitReason::Panic("instant".into())
                }
            );
        }
    });
}

#[test]
fn a_chain_of_100_000_linked_processes_dies_when_its_head_crashes() {
    const N: usize = 100_000;
    let rt = bream::Runtime::builder()
        .stack_size(16 * 1024)
        .build()
        .unwrap();
    rt.block_on(|| {
        let root = bream::self_pid();
        // Each link of the chain spawns the next one linked, reports its pid,
        // and waits; the head crashes when told.
        fn link_of(root: Pid, left: usize) -> impl FnOnce() + Send + 'static {
            move || {
                bream::send(root, bream::self_pid());
                if left > 1 {
                    bream::spawn_link(link_of(root, left - 1));
                }
                if bream::receive::<&str>() == "crash" {
                    panic!("head crashed");
                }
            }
        }
        let head = bream::spawn(link_of(root, N));
        let mut monitors = Vec::with_capacity(N);
        for _ in 0..N {
            monitors.push(bream::monitor(bream::receive::<Pid>()));
        }
        bream::send(head, "crash");
        for _ in 0..N {
            let d: Down = bream::receive();
            assert_eq!(d.reason, ExitReason::Panic("head crashed".into()));
        }
        assert_eq!(bream::processes(), vec![root]);
    });
    rt.shutdown();
}
