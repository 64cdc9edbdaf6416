//! A bounded mailbox with `Overflow::Kill` under a real supervisor (issue 14:
//! "with Kill, the receiver dies with the reason and its supervisor restarts
//! it"); OTP Design Principles, "Supervisor Behaviour", Restart Strategy
//! (one_for_one), with the kill as OTP's `max_heap_size` kill of a process.

use std::sync::mpsc;
use std::time::Duration;

use bream::{ExitReason, MailboxLimit, Overflow, Pid, SpawnOpts};
use bream_stdlib::supervisor::{self, ChildSpec, ChildState, Strategy, Supervisor};

fn within<R: Send + 'static>(secs: u64, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(r)) => r,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("the test did not finish within {secs} s: a hang"),
    }
}

#[derive(Debug)]
struct Hello(Pid);

#[test]
fn a_worker_killed_by_its_mailbox_limit_is_restarted_by_its_supervisor() {
    within(30, || {
        bream::run(|| {
            let me = bream::self_pid();
            // A worker that never receives, with room for 8 messages or 64
            // bytes: it says hello (so the test knows each incarnation).
            let spec = ChildSpec::worker("sink", move || {
                let opts = SpawnOpts {
                    link: true,
                    mailbox_limit: Some(MailboxLimit::new(8, Overflow::Kill).bytes(64)),
                    ..Default::default()
                };
                let (pid, _) = bream::spawn_opt(opts, move || {
                    bream::send(me, Hello(bream::self_pid()));
                    loop {
                        bream::sleep(Duration::from_secs(1));
                    }
                })
                .map_err(|e| {
                    bream_stdlib::StartError::Init(ExitReason::Panic(e.to_string().into()))
                })?;
                Ok(pid)
            });
            let sup = Supervisor::new(Strategy::OneForOne)
                .intensity(10)
                .period(Duration::from_secs(60))
                .child(spec)
                .start()
                .unwrap();
            let Hello(first) = bream::receive();
            let m = bream::monitor(first);
            // Past the count bound: eight u8s fit, the ninth kills.
            for i in 0..9u8 {
                bream::send(first, i);
            }
            let d: bream::Down = bream::receive();
            assert_eq!(
                (d.monitor, d.reason),
                (m, ExitReason::MailboxFull { limit: 8 })
            );
            let Hello(second) = bream::receive();
            assert_ne!(second, first);
            let children = supervisor::which_children(&sup).unwrap();
            assert_eq!(children[0].state, ChildState::Running(second));
            // Past the byte budget: two [u8; 32] fit, a third kills.
            let m = bream::monitor(second);
            for _ in 0..3 {
                bream::send(second, [0u8; 32]);
            }
            let d: bream::Down = bream::receive();
            assert_eq!(
                (d.monitor, d.reason),
                (m, ExitReason::MailboxFull { limit: 8 })
            );
            let Hello(third) = bream::receive();
            assert_ne!(third, second);
            supervisor::stop(&sup, ExitReason::Shutdown, Duration::from_secs(5)).unwrap();
        });
    });
}
