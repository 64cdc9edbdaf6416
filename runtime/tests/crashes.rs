//! How processes die and what they leave: a panic becomes `Panic(message)`, a
//! stack overflow `StackOverflow`, a kill unwinds a parked process at once and
//! runs its destructors. Mirrors the Erlang Reference Manual, "Processes"
//! chapter, §"Process Termination", and `erlang:exit/2` on a waiting process.

use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use bream::{receive, Down, Exit, ExitReason, Pid};

/// Sends `msg` to `to` when dropped: proof that a destructor ran.
struct Tell(Pid, &'static str);
impl Drop for Tell {
    fn drop(&mut self) {
        bream::send(self.0, self.1);
    }
}

#[test]
fn a_panic_becomes_the_exit_reason_and_reaches_links_and_monitors() {
    bream::run(|| {
        bream::trap_exit(true);
        let me = bream::self_pid();
        let child = bream::spawn_opt(
            bream::SpawnOpts {
                link: true,
                monitor: true,
                ..Default::default()
            },
            move || {
                let _t = Tell(me, "unwound");
                panic!("boom {}", 7);
            },
        )
        .unwrap()
        .0;
        assert_eq!(bream::receive::<&str>(), "unwound");
        let reason = ExitReason::Panic("boom 7".into());
        assert_eq!(
            bream::receive::<Exit>(),
            Exit {
                from: child,
                reason: reason.clone()
            }
        );
        assert_eq!(bream::receive::<Down>().reason, reason);
    });
}

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(n: u64) -> u64 {
    let buf = [n; 64];
    std::hint::black_box(&buf);
    recurse(n + 1) + buf[(n % 64) as usize]
}

#[test]
fn a_stack_overflow_ends_only_that_process() {
    bream::run(|| {
        bream::trap_exit(true);
        let child = bream::spawn_link(|| {
            std::hint::black_box(recurse(0));
        });
        assert_eq!(
            bream::receive::<Exit>(),
            Exit {
                from: child,
                reason: ExitReason::StackOverflow
            }
        );
        // The runtime goes on.
        let (_, m) = bream::spawn_monitor(|| {});
        assert_eq!(
            receive! { d: Down if d.monitor == m => d.reason },
            ExitReason::Normal
        );
    });
}

#[test]
fn killing_a_parked_process_unwinds_it_at_once_and_runs_its_destructors() {
    bream::run(|| {
        let me = bream::self_pid();
        let (pid, m) = bream::spawn_monitor(move || {
            let _t = Tell(me, "dropped");
            bream::send(me, "parked");
            loop {
                bream::receive::<()>();
            }
        });
        assert_eq!(bream::receive::<&str>(), "parked");
        bream::exit(pid, ExitReason::Kill);
        assert_eq!(bream::receive::<&str>(), "dropped");
        assert_eq!(
            receive! { d: Down if d.monitor == m => d.reason },
            ExitReason::Killed
        );
    });
}

#[test]
fn killing_a_sleeping_process_does_not_wait_for_the_sleep() {
    bream::run(|| {
        let me = bream::self_pid();
        let (pid, m) = bream::spawn_monitor(move || {
            let _t = Tell(me, "dropped");
            bream::send(me, "sleeping");
            bream::sleep(Duration::from_secs(3600));
        });
        assert_eq!(bream::receive::<&str>(), "sleeping");
        bream::exit(pid, ExitReason::Other("wake up".into()));
        assert_eq!(bream::receive::<&str>(), "dropped");
        assert_eq!(
            receive! { d: Down if d.monitor == m => d.reason },
            ExitReason::Other("wake up".into())
        );
    });
}

#[test]
fn a_kill_cannot_be_caught() {
    bream::run(|| {
        let me = bream::self_pid();
        let (pid, m) = bream::spawn_monitor(move || loop {
            let r = panic::catch_unwind(AssertUnwindSafe(|| {
                bream::send(me, "waiting");
                bream::receive::<()>();
            }));
            if r.is_err() {
                // Any bream call unwinds again: this message is never sent.
                bream::send(me, "survived");
            }
        });
        assert_eq!(bream::receive::<&str>(), "waiting");
        bream::exit(pid, ExitReason::Kill);
        assert_eq!(
            receive! { d: Down if d.monitor == m => d.reason },
            ExitReason::Killed
        );
        assert_eq!(bream::receive_timeout::<&str>(Duration::ZERO), None);
    });
}

#[test]
fn exit_self_unwinds_with_the_reason() {
    bream::run(|| {
        let me = bream::self_pid();
        let (_, m) = bream::spawn_monitor(move || {
            let _t = Tell(me, "dropped");
            bream::exit_self(ExitReason::Shutdown);
        });
        assert_eq!(bream::receive::<&str>(), "dropped");
        assert_eq!(
            receive! { d: Down if d.monitor == m => d.reason },
            ExitReason::Shutdown
        );
    });
}

#[test]
fn a_panicking_first_process_panics_out_of_run_with_its_message() {
    // The original payload is resumed, as `JoinHandle::join` hands it back: a
    // `&'static str` for a literal message, a `String` for a formatted one.
    let r = panic::catch_unwind(|| bream::run(|| panic!("first process failed")));
    let payload = r.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<&str>().copied(),
        Some("first process failed")
    );
    let n = 7;
    let r = panic::catch_unwind(move || bream::run(move || panic!("failed {n} times")));
    let payload = r.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("failed 7 times")
    );
}
