//! `bream-bench dist` end to end at a small size: bream's two nodes (and the
//! Erlang peer's, where `erl` is installed) do every round trip and deliver
//! every one-way message, and the table comes out. Correctness only, never
//! timing (as tests/harness.rs).

use std::process::Command;

#[test]
fn dist_runs_both_phases_between_two_bream_nodes_and_prints_the_table() {
    let out = Command::new(env!("CARGO_BIN_EXE_bream-bench"))
        .args(["dist", "--round-trips", "300", "--messages", "3000"])
        .args(["--runs", "1", "--workers", "2", "--timeout", "60"])
        .output()
        .expect("run bream-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bream-bench dist failed:\n{stdout}\n{stderr}"
    );
    // A run whose round trips or one-way sum were wrong fails the command, so
    // a row in the table is a checked run.
    let row = |name: &str| stdout.lines().any(|l| l.starts_with(name));
    assert!(row("bream "), "no bream row:\n{stdout}\n{stderr}");
    let erl = Command::new("erl").arg("-version").output().is_ok();
    if erl {
        assert!(row("erlang "), "no erlang row:\n{stdout}\n{stderr}");
        assert!(stdout.contains("bream/erlang:"), "no ratio line:\n{stdout}");
    } else {
        eprintln!("SKIPPED the erlang half: `erl` is not on the PATH");
    }
}
