//! Chapter 4: links, monitors and exit signals.
//!
//! What it teaches: a link ties two processes' fates — when one dies
//! abnormally, the other dies too, unless it traps exits, in which case the
//! death arrives as an `Exit` message. A monitor is one-way and never kills:
//! it delivers a `Down` message. A panic is just another exit reason.
//!
//! What it prints: what a monitor saw, what a trapping supervisor-like process
//! saw, and that an unlinked bystander survived.
//!
//! Run: `cargo run -p bream --example 04_links_and_monitors`

use bream::{receive, Down, Exit, ExitReason};

fn main() {
    bream::run(|| {
        // A monitor: one-way, never kills.
        let (pid, _) = bream::spawn_monitor(|| panic!("worker failed"));
        let down: Down = bream::receive();
        println!("monitor: {pid} went down with reason: {}", down.reason);

        // A link with trap_exit: the death becomes a message.
        bream::trap_exit(true);
        let worker = bream::spawn_link(|| bream::exit_self(ExitReason::Other("disk full".into())));
        let Exit { from, reason } = bream::receive();
        assert_eq!(from, worker);
        println!("trapping parent: linked {from} exited with reason: {reason}");

        // A link without trap_exit: the crash spreads along the link.
        let me = bream::self_pid();
        let (middle, m) = bream::spawn_monitor(move || {
            let _child = bream::spawn_link(|| panic!("child crashed"));
            bream::send(me, "middle is waiting");
            bream::receive::<()>(); // never returns: the crash kills us first
        });
        let bystander = bream::spawn(bream::receive::<()>);
        let _: &str = bream::receive();
        let reason = receive! { d: Down if d.monitor == m => d.reason };
        println!("non-trapping middle {middle} died with its child's reason: {reason}");
        println!(
            "the bystander {bystander} is alive: {}",
            bream::is_alive(bystander)
        );

        // Kill cannot be trapped.
        let trapper = bream::spawn_opt(
            bream::SpawnOpts {
                trap_exit: true,
                monitor: true,
                ..Default::default()
            },
            || loop {
                bream::receive::<Exit>();
            },
        )
        .unwrap();
        bream::exit(trapper.0, ExitReason::Kill);
        let down: Down = bream::receive();
        println!(
            "exit(pid, Kill) on a trapping process: it went down with {}",
            down.reason
        );
        bream::send(bystander, ());
    });
}
