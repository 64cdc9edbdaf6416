//! The observer's state: the last two snapshots, what the table shows
//! (sorted, filtered, scrolled), and the keys that change it. No terminal
//! here (ui.rs draws), so it is tested as plain data.

use std::time::{Duration, Instant};

use bream::observer::wire::{Frame, ProcLine};

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
        let last = self.rows.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + d).clamp(0, last.max(0)) as usize;
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
                if let Some(r) = self.current() {
                    self.mode = Mode::ConfirmKill {
                        bits: r.proc.bits,
                        pid: r.proc.pid.clone(),
                    };
                }
            }
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
            Key::Home => self.selected = 0,
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
}
