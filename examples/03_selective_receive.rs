//! Chapter 3: selective receive.
//!
//! What it teaches: `receive!` picks, in arrival order, the first message some
//! arm accepts — arms test the type, a pattern, and a guard — and leaves the
//! others in the mailbox, in order, for later. `after` gives up after a while
//! (`after Duration::ZERO` only looks). `make_ref` + `marker r;` make waiting
//! for one reply cheap however long the backlog is.
//!
//! What it prints: the order in which a priority-first receive takes messages,
//! then what a marker receive skipped.
//!
//! Run: `cargo run -p bream --example 03_selective_receive`

use std::time::Duration;

use bream::receive;

enum Job {
    Urgent(u32),
    Normal(u32),
}

fn main() {
    bream::run(|| {
        let me = bream::self_pid();
        for (i, urgent) in [(1, false), (2, true), (3, false), (4, true)] {
            bream::send(
                me,
                if urgent {
                    Job::Urgent(i)
                } else {
                    Job::Normal(i)
                },
            );
        }
        // Urgent jobs first, even though they arrived later; then the rest in order.
        let mut order = Vec::new();
        loop {
            let job = receive! {
                Job::Urgent(n): Job => format!("urgent {n}"),
                after Duration::ZERO => receive! {
                    Job::Normal(n): Job => format!("normal {n}"),
                    Job::Urgent(n): Job => format!("urgent {n}"),
                    after Duration::ZERO => break,
                },
            };
            order.push(job);
        }
        println!("taken in this order: {}", order.join(", "));

        // A guard can look inside the message.
        bream::send(me, (7u32, "seven"));
        bream::send(me, (42u32, "forty-two"));
        let big = receive! { (n, name): (u32, &str) if n > 10 => format!("{name} ({n})") };
        println!("first number above 10: {big}");
        let left = bream::receive::<(u32, &str)>();
        println!("left for later, still there: {left:?}");

        // A backlog of 100,000 messages, then a request tagged with a fresh ref.
        for i in 0..100_000u32 {
            bream::send(me, i);
        }
        let r = bream::make_ref();
        let server = bream::spawn(|| {
            let (from, tag): (bream::Pid, bream::Ref) = bream::receive();
            bream::send(from, (tag, "the reply"));
        });
        bream::send(server, (me, r));
        let mut looked_at = 0;
        let reply = receive! { marker r;
            (t, v): (bream::Ref, &str) if { looked_at += 1; t == r } => v,
        };
        println!(
            "got {reply:?} after looking at {looked_at} message(s), behind a backlog of 100000"
        );
    });
}
