//! `bream-bench trace <workload> --svg timeline.svg`: run a workload traced,
//! then draw the trace: one row per worker, time across, each time slice a
//! bar coloured by the process it ran, parked time a thin grey line, a steal
//! a red triangle on the thief's row, a wake a blue dot on the waker's row.
//!
//! The Perfetto UI (ui.perfetto.dev) shows the same file with flows and
//! zoom, but needs a browser with internet; this picture needs nothing, and
//! it is the one in docs/watch-it-run.md. A summary is printed as text too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bream::observer::decode::{self, EventType, Trace};
use clap::Args;
use plotters::prelude::*;

use crate::cli::{workloads_named, RunOpts};

/// The options of `bream-bench trace`.
#[derive(Args, Clone, Debug)]
pub struct TraceOpts {
    /// The workload to run traced (or, with `--from`, nothing).
    pub workload: Option<String>,
    #[command(flatten)]
    pub run: RunOpts,
    /// Where the trace goes [default: <workload>.pftrace].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Draw an existing trace instead of running a workload.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Draw the timeline as an SVG at this path.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Draw only from this many microseconds into the trace.
    #[arg(long, default_value_t = 0)]
    pub start_us: u64,
    /// Draw at most this many microseconds [default: enough for 4,000 slices].
    #[arg(long)]
    pub span_us: Option<u64>,
}

/// One bar on a worker's row.
#[derive(Debug, Clone)]
pub struct Bar {
    pub row: u32,
    pub from: u64,
    pub to: u64,
    /// The process's name, or `None` for a parked stretch.
    pub process: Option<String>,
}

/// A mark on a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Steal,
    Wake,
}

/// What the picture shows, read from a trace.
#[derive(Debug, Default)]
pub struct Timeline {
    pub rows: u32,
    pub bars: Vec<Bar>,
    pub marks: Vec<(u32, u64, Mark)>,
    /// Message flow arrows (sends paired with a slice of their receiver).
    pub flows: usize,
    pub end: u64,
}

/// Pairs each worker track's begins and ends into bars.
pub fn timeline(t: &Trace) -> Timeline {
    let mut tl = Timeline::default();
    let mut open: HashMap<u64, Vec<(u64, Option<String>)>> = HashMap::new();
    for e in &t.events {
        tl.end = tl.end.max(e.ts);
        // Messages only: an I/O readiness is a flow too (`I/O ready → ...`).
        if e.name.as_deref().is_some_and(|n| n.starts_with("send")) {
            tl.flows += e.flows.len();
        }
        let Some(row) = t.worker_of(e.track) else {
            continue;
        };
        tl.rows = tl.rows.max(row + 1);
        let name = e.name.clone().unwrap_or_default();
        match e.kind {
            EventType::Begin => {
                let process = (name != "parked").then_some(name);
                open.entry(e.track).or_default().push((e.ts, process));
            }
            EventType::End => {
                if let Some((from, process)) = open.get_mut(&e.track).and_then(Vec::pop) {
                    tl.bars.push(Bar {
                        row,
                        from,
                        to: e.ts,
                        process,
                    });
                }
            }
            EventType::Instant if name.starts_with("steal") => {
                tl.marks.push((row, e.ts, Mark::Steal))
            }
            EventType::Instant if name.starts_with("wake") => {
                tl.marks.push((row, e.ts, Mark::Wake))
            }
            _ => {}
        }
    }
    tl
}

/// A text summary: per worker, slices, busy time, steals, wakes.
pub fn summary(tl: &Timeline) -> String {
    let mut s = format!(
        "{:>8} {:>9} {:>12} {:>12} {:>7} {:>7}\n",
        "worker", "slices", "running", "parked", "steals", "wakes"
    );
    for row in 0..tl.rows {
        let bars = tl.bars.iter().filter(|b| b.row == row);
        let (slices, busy, parked) = bars.fold((0, 0, 0), |(n, busy, parked), b| {
            if b.process.is_some() {
                (n + 1, busy + (b.to - b.from), parked)
            } else {
                (n, busy, parked + (b.to - b.from))
            }
        });
        let count = |m| tl.marks.iter().filter(|x| x.0 == row && x.2 == m).count();
        s += &format!(
            "{row:>8} {slices:>9} {:>10}µs {:>10}µs {:>7} {:>7}\n",
            busy / 1000,
            parked / 1000,
            count(Mark::Steal),
            count(Mark::Wake)
        );
    }
    s += &format!("message flows: {}\n", tl.flows);
    s
}

/// A colour per process name (stable: a hash of the name).
fn colour(name: &str) -> RGBColor {
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let hue = (h % 360) as f64 / 360.0;
    let c = HSLColor(hue, 0.65, 0.5).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

/// Draws `tl` between `from` and `to` (ns) as an SVG at `path`.
pub fn draw(tl: &Timeline, path: &Path, from: u64, to: u64, title: &str) -> Result<(), String> {
    let rows = tl.rows.max(1);
    let height = 150 + 50 * rows;
    let root = SVGBackend::new(path, (1400, height)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| format!("--svg {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let x = (from as f64 / 1e3)..(to.max(from + 1) as f64 / 1e3);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(10)
        // Room above the rows for the legend.
        .build_cartesian_2d(x, 0f64..f64::from(rows) + 0.7)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("µs since the trace began")
        .y_labels(0)
        .disable_y_mesh()
        .draw()
        .map_err(|e| err(&e))?;
    let y_of = |row: u32| f64::from(rows - 1 - row);
    let visible = |a: u64, b: u64| b >= from && a <= to;
    let clip = |t: u64| t.clamp(from, to) as f64 / 1e3;
    let bars = tl.bars.iter().filter(|b| visible(b.from, b.to)).map(|b| {
        let y = y_of(b.row);
        let (lo, hi, style) = match &b.process {
            Some(p) => (y + 0.15, y + 0.85, colour(p).filled()),
            None => (y + 0.45, y + 0.55, RGBColor(190, 190, 190).filled()),
        };
        Rectangle::new([(clip(b.from), lo), (clip(b.to), hi)], style)
    });
    chart.draw_series(bars).map_err(|e| err(&e))?;
    // Each row's name, at its top left.
    let names = (0..rows).map(|r| {
        Text::new(
            format!("worker {r}"),
            (from as f64 / 1e3, y_of(r) + 1.0),
            ("sans-serif", 13),
        )
    });
    chart.draw_series(names).map_err(|e| err(&e))?;
    let marks = tl.marks.iter().filter(|m| visible(m.1, m.1));
    chart
        .draw_series(
            marks
                .clone()
                .filter(|m| m.2 == Mark::Steal)
                .map(|m| TriangleMarker::new((clip(m.1), y_of(m.0) + 0.92), 6, RED.filled())),
        )
        .map_err(|e| err(&e))?
        .label("steal")
        .legend(|(x, y)| TriangleMarker::new((x, y), 6, RED.filled()));
    chart
        .draw_series(
            marks
                .filter(|m| m.2 == Mark::Wake)
                .map(|m| Circle::new((clip(m.1), y_of(m.0) + 0.08), 4, BLUE.filled())),
        )
        .map_err(|e| err(&e))?
        .label("wake a parked worker")
        .legend(|(x, y)| Circle::new((x, y), 4, BLUE.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

/// The window to draw: from `start_us`, for `span_us` or enough for 4,000
/// slices.
fn window(tl: &Timeline, opts: &TraceOpts) -> (u64, u64) {
    let from = opts.start_us * 1000;
    if let Some(span) = opts.span_us {
        return (from, from + span * 1000);
    }
    let mut ends: Vec<u64> = tl
        .bars
        .iter()
        .filter(|b| b.process.is_some() && b.from >= from)
        .map(|b| b.to)
        .collect();
    ends.sort_unstable();
    let to = ends.get(3999).copied().unwrap_or(tl.end);
    (from, to.max(from + 1))
}

/// `bream-bench trace`.
pub fn run(opts: &TraceOpts) -> Result<(), String> {
    let (path, title) = match (&opts.from, &opts.workload) {
        (Some(p), _) => (p.clone(), format!("{}", p.display())),
        (None, Some(w)) => {
            let ws = workloads_named(w)?;
            let [w] = ws.as_slice() else {
                return Err("trace runs one workload".into());
            };
            let path = opts
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("{}.pftrace", w.name())));
            let mut run = opts.run.clone();
            run.runs = 1;
            run.trace = Some(path.clone());
            crate::run::run_bream(*w, &run)?.print_human(*w);
            let title = format!("{} on {} workers", w.name(), run.workers());
            (path, title)
        }
        (None, None) => return Err("trace: name a workload, or --from a trace file".into()),
    };
    let t = decode::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let tl = timeline(&t);
    println!("trace: {} ({} events)", path.display(), t.events.len());
    print!("{}", summary(&tl));
    let dropped = t.events.iter().filter_map(|e| e.name.as_deref());
    if let Some(note) = dropped.into_iter().find(|n| n.contains("events dropped")) {
        println!("note: {note}: the trace is incomplete");
    }
    if let Some(svg) = &opts.svg {
        let (from, to) = window(&tl, opts);
        draw(&tl, svg, from, to, &title)?;
        println!(
            "timeline: {} ({}µs to {}µs)",
            svg.display(),
            from / 1000,
            to / 1000
        );
    }
    Ok(())
}
