//! The progress bar: shown on stderr when stdout and stderr are terminals and
//! the work has already taken a second. Otherwise (`--json > file`, a pipe,
//! CI) no bar is drawn, and each finished run prints one plain line on stderr
//! instead, so a piped or CI run still shows that it advances:
//!
//! ```text
//! bream-bench: spawn (bream): run 2/5 done in 1.21 s
//! ```
//!
//! The measured code never touches indicatif. It stores how far it is into a
//! [`Meter`] (one relaxed atomic store every few thousand operations) and a
//! ticker thread, asleep but for ten wake-ups a second, copies that into the bar.
//! So the bar costs the workload nothing it could measure, and a run that ends
//! within a second never draws at all.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long work runs before its bar appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);
/// How often the ticker copies the meter into the bar (indicatif redraws at most
/// this often anyway: it rate-limits to 20 Hz).
const TICK: Duration = Duration::from_millis(100);

/// Where measured code says how far it is. Cloned into bream processes; all
/// accesses are Relaxed: the bar is a picture, not a synchronisation.
#[derive(Clone, Debug, Default)]
pub struct Meter {
    /// Operations done in the current run. Written by the workload's main process.
    current: Arc<AtomicU64>,
    /// Operations of the runs already finished. Written by the runner between runs.
    finished: Arc<AtomicU64>,
    /// Without a bar: what the line printed at the end of each run needs.
    /// Set once by `Progress::new`; read by the runner's thread.
    lines: Option<Arc<Lines>>,
}

/// The one-line-per-run report of a [`Progress`] that draws no bar.
#[derive(Debug)]
struct Lines {
    /// Operations in all runs.
    len: u64,
    message: String,
    /// Runs finished so far. Written by the runner's thread only.
    runs: AtomicU64,
    /// When the current run began (the previous `run_done`, or the start).
    since: std::sync::Mutex<Instant>,
}

impl Meter {
    /// Record `done` operations into the current run.
    pub fn set(&self, done: u64) {
        self.current.store(done, Relaxed);
    }

    /// A run of `ops` operations ended: count it whole, start the next at 0.
    /// Without a bar, print one line saying so.
    pub fn run_done(&self, ops: u64) {
        self.finished.fetch_add(ops, Relaxed);
        self.current.store(0, Relaxed);
        if let Some(l) = &self.lines {
            let run = l.runs.fetch_add(1, Relaxed) + 1;
            let of = l.len.checked_div(ops).unwrap_or(run);
            let mut since = l.since.lock().unwrap_or_else(|e| e.into_inner());
            eprintln!("{}", run_line(&l.message, run, of, since.elapsed()));
            *since = Instant::now();
        }
    }

    fn position(&self) -> u64 {
        self.finished.load(Relaxed) + self.current.load(Relaxed)
    }
}

/// A bar of `len` operations, labelled `message`; finished (and erased) on drop.
#[derive(Debug)]
pub struct Progress {
    meter: Meter,
    stop: Arc<AtomicBool>,
    /// The bar, once the ticker has shown it (for [`Progress::println`]).
    shown: Arc<OnceLock<ProgressBar>>,
    ticker: Option<JoinHandle<()>>,
}

impl Progress {
    pub fn new(len: u64, message: String) -> Progress {
        let mut meter = Meter::default();
        let stop = Arc::new(AtomicBool::new(false));
        let wanted = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        if !wanted {
            meter.lines = Some(Arc::new(Lines {
                len,
                message: message.clone(),
                runs: AtomicU64::new(0),
                since: std::sync::Mutex::new(Instant::now()),
            }));
        }
        let shown = Arc::new(OnceLock::new());
        let ticker = wanted.then(|| {
            let (meter, stop, shown) = (meter.clone(), stop.clone(), shown.clone());
            std::thread::Builder::new()
                .name("bream-bench-progress".into())
                .spawn(move || tick(len, message, meter, stop, shown))
                .expect("spawn the progress thread")
        });
        Progress {
            meter,
            stop,
            shown,
            ticker,
        }
    }

    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Print a line on stderr above the bar (or plainly, when there is none).
    pub fn println(&self, line: &str) {
        match self.shown.get() {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.ticker.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// The line a finished run prints when there is no bar.
fn run_line(message: &str, run: u64, of: u64, took: Duration) -> String {
    format!(
        "bream-bench: {message}: run {run}/{of} done in {:.2} s",
        took.as_secs_f64()
    )
}

fn tick(
    len: u64,
    message: String,
    meter: Meter,
    stop: Arc<AtomicBool>,
    shown: Arc<OnceLock<ProgressBar>>,
) {
    let start = Instant::now();
    while start.elapsed() < SHOW_AFTER {
        std::thread::park_timeout(SHOW_AFTER.saturating_sub(start.elapsed()));
        if stop.load(Relaxed) {
            return;
        }
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg:<24} [{bar:32}] {percent:>3}%  {elapsed:>4}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message);
    let _ = shown.set(bar.clone());
    while !stop.load(Relaxed) {
        bar.set_position(meter.position().min(len));
        std::thread::park_timeout(TICK);
    }
    bar.finish_and_clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_counts_finished_runs_and_the_current_one() {
        let m = Meter::default();
        m.set(5);
        assert_eq!(m.position(), 5);
        m.run_done(10);
        m.set(3);
        assert_eq!(m.position(), 13);
    }

    #[test]
    fn a_run_without_a_bar_is_one_line() {
        assert_eq!(
            run_line("spawn (bream)", 2, 5, Duration::from_millis(1210)),
            "bream-bench: spawn (bream): run 2/5 done in 1.21 s"
        );
        // CI and a captured `cargo test` have no terminal: line mode.
        if std::io::stdout().is_terminal() && std::io::stderr().is_terminal() {
            return;
        }
        let p = Progress::new(20, "test".into());
        assert!(p.meter().lines.is_some());
        p.meter().run_done(10);
        p.meter().run_done(10);
        let l = p.meter().lines.as_ref().unwrap();
        assert_eq!(l.runs.load(Relaxed), 2);
    }

    #[test]
    fn a_progress_that_ends_quickly_stops_its_ticker() {
        let p = Progress::new(10, "test".into());
        p.meter().set(10);
        drop(p); // joins the ticker, if any: must not hang
    }
}
