//! `skynet`: the skynet benchmark (github.com/atemerev/skynet). Each node with
//! size > 1 spawns 10 children and sums their answers; a leaf answers its
//! number. A spawn that fails travels up the tree as an `Err`.

use std::time::Instant;

use bream::{receive, self_pid, send, try_spawn, Pid};

use super::{since, Outcome};

type Answer = Result<u64, String>;

fn node(parent: Pid, num: u64, size: u64) {
    if size == 1 {
        send(parent, Answer::Ok(num));
        return;
    }
    let me = self_pid();
    let sub = size / 10;
    let mut children = 0;
    let mut answer = Ok(0);
    for i in 0..10 {
        match try_spawn(move || node(me, num + i * sub, sub)) {
            Ok(_) => children += 1,
            Err(e) => {
                answer = Err(format!("bream could not spawn a skynet node: {e}"));
                break;
            }
        }
    }
    for _ in 0..children {
        let child: Answer = receive();
        answer = match (answer, child) {
            (Ok(sum), Ok(x)) => Ok(sum + x),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
    }
    send(parent, answer);
}

pub fn run(leaves: u64) -> Result<Outcome, String> {
    let main = self_pid();
    let t0 = Instant::now();
    try_spawn(move || node(main, 0, leaves))
        .map_err(|e| format!("bream could not spawn skynet's root: {e}"))?;
    let sum = receive::<Answer>()?;
    Ok(Outcome::timed(since(t0), sum))
}
