//! Chapter 8: a supervision tree.
//!
//! What it teaches: a supervisor starts its children in order and restarts the
//! ones that die, following its strategy (here: the root is `OneForOne`, the
//! `pipeline` below it is `RestForOne`, so killing a stage restarts it and the
//! stages after it, and leaves the stages before it alone); `which_children`
//! shows who runs where; restart reports are `tracing` events.
//!
//! What it prints: the tree, which worker it kills, the restart reports, and the
//! tree again with the new pids.
//!
//! Run: `cargo run -p bream-stdlib --example 08_supervision_tree`

use std::time::Duration;

use bream::{Down, ExitReason};
use bream_stdlib::gen_server::{CallResult, GenServer, Init, ReplyTo};
use bream_stdlib::supervisor::{self, ChildSpec, ChildState, Strategy, Supervisor, SupervisorRef};

/// A worker that does nothing but exist (the example is about the tree).
struct Stage;

impl GenServer for Stage {
    type Args = ();
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        Init::ok(Stage)
    }
    fn handle_call(&mut self, _: (), _: ReplyTo<()>) -> CallResult<Self> {
        CallResult::reply(())
    }
}

fn tree() -> Supervisor {
    let pipeline = Supervisor::new(Strategy::RestForOne)
        .child(ChildSpec::gen_server::<Stage>("parse", ()))
        .child(ChildSpec::gen_server::<Stage>("transform", ()))
        .child(ChildSpec::gen_server::<Stage>("store", ()));
    Supervisor::new(Strategy::OneForOne)
        .child(ChildSpec::gen_server::<Stage>("logger", ()))
        .child(pipeline.child_spec("pipeline"))
}

/// Print `sup`'s subtree, indented by `depth`.
fn print_tree(sup: &SupervisorRef, depth: usize) {
    for child in supervisor::which_children(sup).unwrap() {
        let pid = match child.state {
            ChildState::Running(pid) => pid.to_string(),
            other => format!("{other:?}"),
        };
        println!(
            "{:indent$}{} {} ({:?})",
            "",
            child.id,
            pid,
            child.kind,
            indent = depth * 2
        );
        if let ChildState::Running(pid) = child.state {
            if child.kind == supervisor::ChildType::Supervisor {
                print_tree(&SupervisorRef::from_pid(pid), depth + 1);
            }
        }
    }
}

fn pid_of(sup: &SupervisorRef, id: &str) -> bream::Pid {
    let children = supervisor::which_children(sup).unwrap();
    match children.iter().find(|c| c.id == id).map(|c| c.state) {
        Some(ChildState::Running(pid)) => pid,
        other => panic!("{id} is {other:?}"),
    }
}

fn main() {
    // Show the supervisor's reports (restart events are at info level).
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_target(false)
        .without_time()
        .init();
    bream::run(|| {
        let root = tree().start_link().expect("the tree starts");
        println!("root {}", root.pid().unwrap());
        print_tree(&root, 1);

        let pipeline = SupervisorRef::from_pid(pid_of(&root, "pipeline"));
        let victim = pid_of(&pipeline, "transform");
        println!("\nkilling transform ({victim})");
        let monitor = bream::monitor(victim);
        bream::exit(victim, ExitReason::Kill);
        let down: Down = bream::receive();
        assert_eq!(down.monitor, monitor);
        // Wait until the pipeline has restarted transform and store.
        let restarted = |id| {
            let children = supervisor::which_children(&pipeline).unwrap();
            let child = children.iter().find(|c| c.id == id).unwrap();
            matches!(child.state, ChildState::Running(pid) if bream::is_alive(pid))
        };
        while pid_of(&pipeline, "transform") == victim || !restarted("store") {
            bream::sleep(Duration::from_millis(1));
        }

        println!("\nafter the restart (parse kept its pid; transform and store are new):");
        println!("root {}", root.pid().unwrap());
        print_tree(&root, 1);
    });
}
