//! The supervision tree, built from a snapshot's `child` lines: each
//! supervisor published its own children (id, pid, worker or supervisor,
//! restart type); a child that is a supervisor and runs has published its
//! own, so the lists link up through pids. The roots are the publishers
//! that are nobody's child (a top supervisor, started by a plain process).
//! No terminal here: ui.rs draws the lines.

use std::collections::{HashMap, HashSet};

use bream::observer::wire::{ChildLine, Frame};

/// One line of the drawn tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeLine {
    /// The box-drawing prefix (`├─ `, `│  └─ `...), empty for a root.
    pub prefix: String,
    /// The child's id; for a root, its registered name or `supervisor`.
    pub id: String,
    /// Its pid as shown, if it runs.
    pub pid: Option<String>,
    /// Its pid bits (what `kill` takes), if it runs.
    pub bits: Option<u64>,
    /// `worker` or `supervisor`.
    pub kind: String,
    /// `permanent`, `transient`, `temporary`; empty for a root.
    pub restart: String,
    /// Its status from the process table (`-` if not running).
    pub status: String,
    /// Its mailbox length, if it runs.
    pub queue: Option<u64>,
}

/// The tree of `frame`, depth first, roots in pid order, children in each
/// supervisor's order.
pub fn build(frame: &Frame) -> Vec<TreeLine> {
    let mut by_parent: HashMap<u64, Vec<&ChildLine>> = HashMap::new();
    for c in &frame.children {
        by_parent.entry(c.parent).or_default().push(c);
    }
    let is_child: HashSet<u64> = frame.children.iter().filter_map(|c| c.bits).collect();
    let procs: HashMap<u64, &bream::observer::wire::ProcLine> =
        frame.processes.iter().map(|p| (p.bits, p)).collect();
    let mut roots: Vec<u64> = by_parent
        .keys()
        .copied()
        .filter(|b| !is_child.contains(b))
        .collect();
    roots.sort_unstable();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for root in roots {
        let p = procs.get(&root);
        out.push(TreeLine {
            prefix: String::new(),
            id: p
                .and_then(|p| p.name.clone())
                .unwrap_or_else(|| "supervisor".into()),
            pid: p.map(|p| p.pid.clone()),
            bits: Some(root),
            kind: "supervisor".into(),
            restart: String::new(),
            status: p.map_or("-".into(), |p| p.status.clone()),
            queue: p.map(|p| p.queue),
        });
        seen.insert(root);
        below(root, "", &by_parent, &procs, &mut seen, &mut out);
    }
    out
}

/// The lines under `parent`, each prefixed by `indent`.
fn below(
    parent: u64,
    indent: &str,
    by_parent: &HashMap<u64, Vec<&ChildLine>>,
    procs: &HashMap<u64, &bream::observer::wire::ProcLine>,
    seen: &mut HashSet<u64>,
    out: &mut Vec<TreeLine>,
) {
    let Some(children) = by_parent.get(&parent) else {
        return;
    };
    for (i, c) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let p = c.bits.and_then(|b| procs.get(&b));
        // A child registered under a name other than its id shows both.
        let id = match p.and_then(|p| p.name.as_deref()) {
            Some(name) if name != c.id => format!("{} ({name})", c.id),
            _ => c.id.clone(),
        };
        out.push(TreeLine {
            prefix: format!("{indent}{}", if last { "└─ " } else { "├─ " }),
            id,
            pid: c.pid.clone(),
            bits: c.bits,
            kind: c.kind.clone(),
            restart: c.restart.clone(),
            status: p.map_or("-".into(), |p| p.status.clone()),
            queue: p.map(|p| p.queue),
        });
        // `seen`: a snapshot is not taken at one instant, so a pid could
        // show up twice; never loop.
        if let Some(b) = c.bits.filter(|b| seen.insert(*b)) {
            let indent = format!("{indent}{}", if last { "   " } else { "│  " });
            below(b, &indent, by_parent, procs, seen, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bream::observer::wire::ProcLine;

    fn proc(bits: u64, name: Option<&str>) -> ProcLine {
        ProcLine {
            bits,
            pid: format!("<0.{bits}.0>"),
            status: "Waiting".into(),
            name: name.map(str::to_string),
            ..ProcLine::default()
        }
    }

    fn child(parent: u64, bits: Option<u64>, kind: &str, id: &str) -> ChildLine {
        ChildLine {
            parent,
            bits,
            pid: bits.map(|b| format!("<0.{b}.0>")),
            kind: kind.into(),
            restart: "permanent".into(),
            id: id.into(),
        }
    }

    #[test]
    fn nested_supervisors_draw_as_a_tree() {
        let frame = Frame {
            processes: vec![
                proc(1, Some("app_sup")),
                proc(2, None),
                proc(3, None),
                proc(4, None),
                proc(5, None),
            ],
            children: vec![
                child(1, Some(2), "worker", "db"),
                child(1, Some(3), "supervisor", "pool"),
                child(1, None, "worker", "cache"),
                child(3, Some(4), "worker", "conn 1"),
                child(3, Some(5), "worker", "conn 2"),
            ],
            ..Frame::default()
        };
        let lines: Vec<String> = build(&frame)
            .iter()
            .map(|l| format!("{}{} {}", l.prefix, l.id, l.pid.as_deref().unwrap_or("-")))
            .collect();
        assert_eq!(
            lines,
            [
                "app_sup <0.1.0>",
                "├─ db <0.2.0>",
                "├─ pool <0.3.0>",
                "│  ├─ conn 1 <0.4.0>",
                "│  └─ conn 2 <0.5.0>",
                "└─ cache -",
            ]
        );
    }
}
