//! Chapter 1: hello, processes.
//!
//! What it teaches: `bream::run` starts a runtime and runs a first process;
//! `spawn` starts more; `send` moves a value into a mailbox; `receive` waits
//! for a value of one type. A process is identified by its `Pid`.
//!
//! What it prints: a greeting from each of three processes, then "done".
//!
//! Run: `cargo run -p bream --example 01_hello`

fn main() {
    bream::run(|| {
        let me = bream::self_pid();
        println!("hello from the first process, {me}");
        for i in 1..=3u32 {
            bream::spawn(move || {
                let greeting = format!("hello from process {i}, {}", bream::self_pid());
                bream::send(me, greeting);
            });
        }
        // Messages from different processes may arrive in any order.
        let mut lines: Vec<String> = (0..3).map(|_| bream::receive::<String>()).collect();
        lines.sort();
        for line in lines {
            println!("{line}");
        }
        println!("done");
    });
}
