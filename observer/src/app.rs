//! The observer's state: the last two snapshots, what the table shows
//! (sorted, filtered, scrolled), the supervision tree (tree.rs), which of
//! the two views is on screen, and the keys that change them. No terminal
//! here (ui.rs draws), so it is tested as plain data.

use std::time::{Duration, Instant};

use bream::observer::wire::{Frame, ProcLine};

use crate::tree::{self, TreeLine};

/// Which view is on screen (`t` or Tab switches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The process table.
    Processes,
    /// The supervision tree.
    Tree,
}

/// A table column to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Pid,
    Name,
    Reductions,
    Queue,
    Memory,
}

impl Sort {
    pub fn title(self) -> &'static str {
        match self {
            Sort::Pid => "pid",
            Sort::Name => "name",
            Sort::Reductions => "reductions/s",
            Sort::Queue => "queue",
            Sort::Memory => "memory",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub proc: ProcLine,
    /// Reductions per second since the previous snapshot.
    pub rate: f64,
}

/// One worker's line.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerView {
    pub index: usize,
    pub spare: bool,
    pub state: String,
    /// Fraction of the interval spent running tasks.
    pub utilisation: f64,
    pub slices_per_s: f64,
    pub steals: u64,
}

/// What the keyboard is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Browse,
    /// Typing a filter.
    Filter(String),
    /// Asked "kill <pid>? y/n".
    ConfirmKill {
        bits: u64,
        pid: String,
    },
}

/// What a key asks the main loop to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    Quit,
    Kill(u64),
    Refresh,
}

#[derive(Debug)]
pub struct App {
    pub frame: Frame,
    prev: Option<(Frame, Instant)>,
    taken: Instant,
    pub rows: Vec<Row>,
    pub workers: Vec<WorkerView>,
    pub sort: Sort,
    pub filter: String,
    pub mode: Mode,
    pub selected: usize,
    pub refresh: Duration,
    pub message: String,
    pub view: View,
    /// The supervision tree, as drawn.
    pub tree: Vec<TreeLine>,
    /// The tree line the cursor is on.
    pub tree_selected: usize,
}

impl App {
    pub fn new(refresh: Duration) -> App {
        App {
            frame: Frame::default(),
            prev: None,
            taken: Instant::now(),
            rows: Vec::new(),
            workers: Vec::new(),
            sort: Sort::Reductions,
            filter: String::new(),
            mode: Mode::Browse,
            selected: 0,
            refresh,
            message: String::new(),
            view: View::Processes,
            tree: Vec::new(),
            tree_selected: 0,
        }
    }

    /// A new snapshot arrived.
    pub fn update(&mut self, frame: Frame, at: Instant) {
        let old = std::mem::replace(&mut self.frame, frame);
        self.prev = Some((old, self.taken));
        self.taken = at;
        self.rebuild();
    }

    fn rebuild(&mut self) {
        let (prev, dt) = match &self.prev {
            Some((f, t)) if !f.processes.is_empty() || !f.workers.is_empty() => (
                Some(f),
                self.taken.duration_since(*t).as_secs_f64().max(1e-3),
            ),
            _ => (None, 1.0),
        };
        let before: std::collections::HashMap<u64, u64> = prev
            .map(|f| f.processes.iter().map(|p| (p.bits, p.reductions)).collect())
            .unwrap_or_default();
        let needle = self.filter.to_lowercase();
        self.rows = self
            .frame
            .processes
            .iter()
            .filter(|p| needle.is_empty() || matches(p, &needle))
            .map(|p| Row {
                proc: p.clone(),
                rate: before
                    .get(&p.bits)
                    .map_or(0.0, |r| p.reductions.saturating_sub(*r) as f64 / dt),
            })
            .collect();
        self.workers = self
            .frame
            .workers
            .iter()
            .map(|w| {
                let old = prev.and_then(|f| f.workers.iter().find(|o| o.index == w.index));
                let total = |x: &bream::observer::wire::WorkerLine| {
                    x.running_us + x.searching_us + x.parked_us + x.poller_us
                };
                let (run, all, slices) = match old {
                    Some(o) => (
                        w.running_us.saturating_sub(o.running_us),
                        total(w).saturating_sub(total(o)),
                        w.slices.saturating_sub(o.slices),
                    ),
                    None => (w.running_us, total(w), w.slices),
                };
                WorkerView {
                    index: w.index,
                    spare: w.spare,
                    state: w.state.clone(),
                    utilisation: if all == 0 {
                        0.0
                    } else {
                        run as f64 / all as f64
                    },
                    slices_per_s: slices as f64 / dt,
                    steals: w.steals,
                }
            })
            .collect();
        self.sort_rows();
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.tree = tree::build(&self.frame);
        self.tree_selected = self.tree_selected.min(self.tree.len().saturating_sub(1));
    }

    fn sort_rows(&mut self) {
        let by = self.sort;
        self.rows.sort_by(|a, b| match by {
            Sort::Pid => a.proc.bits.cmp(&b.proc.bits),
            Sort::Name => (a.proc.name.is_none(), &a.proc.name, a.proc.bits).cmp(&(
                b.proc.name.is_none(),
                &b.proc.name,
                b.proc.bits,
            )),
            Sort::Reductions => b
                .rate
                .total_cmp(&a.rate)
                .then(b.proc.reductions.cmp(&a.proc.reductions)),
            Sort::Queue => b.proc.queue.cmp(&a.proc.queue),
            Sort::Memory => b.proc.memory.cmp(&a.proc.memory),
        });
    }

    /// The row the cursor is on.
    pub fn current(&self) -> Option<&Row> {
        self.rows.get(self.selected)
    }

    fn set_sort(&mut self, s: Sort) {
        self.sort = s;
        self.sort_rows();
        self.selected = 0;
        self.message = format!("sorted by {}", s.title());
    }

    fn move_by(&mut self, d: isize) {
        let (cursor, len) = match self.view {
            View::Processes => (&mut self.selected, self.rows.len()),
            View::Tree => (&mut self.tree_selected, self.tree.len()),
        };
        let last = len.saturating_sub(1) as isize;
        *cursor = (*cursor as isize + d).clamp(0, last.max(0)) as usize;
    }

    /// The pid under the cursor, in whichever view is on: (bits, shown).
    fn selected_pid(&self) -> Option<(u64, String)> {
        match self.view {
            View::Processes => self.current().map(|r| (r.proc.bits, r.proc.pid.clone())),
            View::Tree => {
                let l = self.tree.get(self.tree_selected)?;
                Some((l.bits?, l.pid.clone()?))
            }
        }
    }

    fn switch_view(&mut self) {
        (self.view, self.message) = match self.view {
            View::Processes => (
                View::Tree,
                format!("supervision tree: {} lines", self.tree.len()),
            ),
            View::Tree => (View::Processes, "process table".into()),
        };
    }

    /// A key, as a character or a named key.
    pub fn key(&mut self, k: Key) -> Action {
        match std::mem::replace(&mut self.mode, Mode::Browse) {
            Mode::Filter(mut text) => {
                match k {
                    Key::Enter => {
                        self.filter = text;
                        self.selected = 0;
                        self.rebuild();
                        self.message = if self.filter.is_empty() {
                            "filter cleared".into()
                        } else {
                            format!("filter: {}", self.filter)
                        };
                    }
                    Key::Esc => {}
                    Key::Backspace => {
                        text.pop();
                        self.mode = Mode::Filter(text);
                    }
                    Key::Char(c) => {
                        text.push(c);
                        self.mode = Mode::Filter(text);
                    }
                    _ => self.mode = Mode::Filter(text),
                }
                Action::None
            }
            Mode::ConfirmKill { bits, pid } => {
                if k == Key::Char('y') {
                    self.message = format!("kill {pid}: sent");
                    Action::Kill(bits)
                } else {
                    self.message = format!("kill {pid}: cancelled");
                    Action::None
                }
            }
            Mode::Browse => self.browse_key(k),
        }
    }

    fn browse_key(&mut self, k: Key) -> Action {
        match k {
            Key::Char('q') | Key::Esc if self.filter.is_empty() || k == Key::Char('q') => {
                return Action::Quit
            }
            Key::Esc => {
                self.filter.clear();
                self.rebuild();
                self.message = "filter cleared".into();
            }
            Key::Char('p') => self.set_sort(Sort::Pid),
            Key::Char('n') => self.set_sort(Sort::Name),
            Key::Char('r') => self.set_sort(Sort::Reductions),
            Key::Char('l') => self.set_sort(Sort::Queue),
            Key::Char('m') => self.set_sort(Sort::Memory),
            Key::Char('/') => self.mode = Mode::Filter(String::new()),
            Key::Char('k') => {
                if let Some((bits, pid)) = self.selected_pid() {
                    self.mode = Mode::ConfirmKill { bits, pid };
                }
            }
            Key::Char('t') | Key::Tab => self.switch_view(),
            Key::Char('+') => {
                self.refresh = (self.refresh / 2).max(Duration::from_millis(100));
                self.message = format!("refresh every {:?}", self.refresh);
            }
            Key::Char('-') => {
                self.refresh = (self.refresh * 2).min(Duration::from_secs(10));
                self.message = format!("refresh every {:?}", self.refresh);
            }
            Key::Char(' ') => return Action::Refresh,
            Key::Up => self.move_by(-1),
            Key::Down => self.move_by(1),
            Key::PageUp => self.move_by(-20),
            Key::PageDown => self.move_by(20),
            Key::Home => self.move_by(-(isize::MAX / 2)),
            Key::End => self.move_by(isize::MAX / 2),
            _ => {}
        }
        Action::None
    }
}

fn matches(p: &ProcLine, needle: &str) -> bool {
    p.pid.contains(needle)
        || p.status.to_lowercase().contains(needle)
        || p.name
            .as_deref()
            .is_some_and(|n| n.to_lowercase().contains(needle))
}

/// The keys the observer knows (crossterm's, narrowed: app.rs stays free of
/// the terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Backspace,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Tab,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(bits: u64, name: Option<&str>, reductions: u64, queue: u64) -> ProcLine {
        ProcLine {
            bits,
            pid: format!("<0.{bits}.0>"),
            status: "Waiting".into(),
            reductions,
            queue,
            memory: 1000 + bits,
            name: name.map(str::to_string),
        }
    }

    fn app() -> App {
        let mut a = App::new(Duration::from_secs(1));
        let t0 = Instant::now();
        let f = |r: u64| Frame {
            processes: vec![
                proc(1, Some("alpha"), 10, 0),
                proc(2, None, r, 5),
                proc(3, Some("beta"), 0, 1),
            ],
            ..Frame::default()
        };
        a.update(f(100), t0);
        a.update(f(1100), t0 + Duration::from_secs(1));
        a
    }

    #[test]
    fn rates_sort_and_filter() {
        let mut a = app();
        assert_eq!(a.rows[0].proc.bits, 2, "busiest first");
        assert!((a.rows[0].rate - 1000.0).abs() < 1.0);
        a.key(Key::Char('l'));
        assert_eq!(a.rows[0].proc.bits, 2, "longest queue first");
        a.key(Key::Char('p'));
        assert_eq!(
            a.rows.iter().map(|r| r.proc.bits).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        for k in [Key::Char('/'), Key::Char('b'), Key::Char('e'), Key::Enter] {
            a.key(k);
        }
        assert_eq!(a.rows.len(), 1);
        assert_eq!(a.rows[0].proc.name.as_deref(), Some("beta"));
        a.key(Key::Esc);
        assert_eq!(a.rows.len(), 3);
    }

    #[test]
    fn kill_asks_first() {
        let mut a = app();
        a.key(Key::Char('p'));
        a.key(Key::Down);
        assert_eq!(a.key(Key::Char('k')), Action::None);
        assert_eq!(a.key(Key::Char('y')), Action::Kill(2));
        a.key(Key::Char('k'));
        assert_eq!(a.key(Key::Char('n')), Action::None);
        assert_eq!(a.key(Key::Char('q')), Action::Quit);
    }

    #[test]
    fn the_tree_view_kills_what_its_cursor_is_on() {
        use bream::observer::wire::ChildLine;
        let mut a = App::new(Duration::from_secs(1));
        let child = |bits| ChildLine {
            parent: 1,
            bits: Some(bits),
            pid: Some(format!("<0.{bits}.0>")),
            kind: "worker".into(),
            restart: "permanent".into(),
            id: format!("w{bits}"),
        };
        a.update(
            Frame {
                processes: vec![
                    proc(1, Some("sup"), 0, 0),
                    proc(2, None, 0, 0),
                    proc(3, None, 0, 0),
                ],
                children: vec![child(2), child(3)],
                ..Frame::default()
            },
            Instant::now(),
        );
        a.key(Key::Char('t'));
        assert_eq!(a.view, View::Tree);
        assert_eq!(a.tree.len(), 3, "the supervisor and its two workers");
        a.key(Key::End);
        a.key(Key::Char('k'));
        assert_eq!(a.key(Key::Char('y')), Action::Kill(3));
        a.key(Key::Tab);
        assert_eq!(a.view, View::Processes);
    }
}
