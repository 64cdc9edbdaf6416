//! `compare --plot out.svg`: the table as a chart a person would rather read.
//!
//! One group per workload. bream is the horizontal line at 1; each peer is a bar
//! from that line to its median time divided by bream's, on a log scale, labelled
//! with the ratio. A bar that rises means the peer took longer (bream is faster
//! by that factor); a bar that drops means bream is slower. Under each group:
//! the workload and bream's own time per operation. A peer that failed gets a ✗.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Cell, Impl, Results};
use crate::measure::duration_ns;

const SIZE: (u32, u32) = (1200, 640);

fn color(imp: Impl) -> RGBColor {
    match imp {
        Impl::Bream => RGBColor(20, 20, 20),
        Impl::Erlang => RGBColor(163, 31, 52),
        Impl::Go => RGBColor(0, 125, 156),
        Impl::Tokio => RGBColor(230, 145, 30),
        Impl::May => RGBColor(110, 90, 170),
    }
}

/// One bar: which group, which slot in it, the ratio (or `None`: failed).
struct Bar {
    group: usize,
    imp: Impl,
    ratio: Option<f64>,
}

pub fn draw(results: &Results, path: &Path, workers: usize) -> Result<(), String> {
    let (groups, bars) = layout(results);
    if groups.is_empty() {
        return Err(
            "--plot: bream has no successful run to compare against, so there is nothing to draw"
                .into(),
        );
    }
    let peers: Vec<Impl> = Impl::ALL
        .into_iter()
        .filter(|i| *i != Impl::Bream && bars.iter().any(|b| b.imp == *i))
        .collect();
    let ratios = bars.iter().filter_map(|b| b.ratio);
    // Room above and below the extreme bars for their labels.
    let lo = (ratios.clone().fold(1.0f64, f64::min) / 1.4).min(0.5);
    let hi = (ratios.fold(1.0f64, f64::max) * 1.4).max(2.0);
    render(path, &groups, &bars, &peers, (lo, hi), workers)
        .map_err(|e| format!("--plot {}: {e}", path.display()))
}

/// The groups (workload name, bream's per-op label) and the peers' bars.
fn layout(results: &Results) -> (Vec<(String, String)>, Vec<Bar>) {
    let mut groups = Vec::new();
    let mut bars = Vec::new();
    for (w, row) in results {
        let Some(Cell::Ran(bream)) = row.get(&Impl::Bream) else {
            continue;
        };
        let group = groups.len();
        groups.push((
            w.name().to_string(),
            format!("bream {} / {}", duration_ns(bream.per_op_ns), w.op_name()),
        ));
        for (imp, cell) in row.iter().filter(|(i, _)| **i != Impl::Bream) {
            let ratio = match cell {
                Cell::Ran(r) => Some(r.median_ns as f64 / bream.median_ns.max(1) as f64),
                Cell::Failed(_) => None,
            };
            bars.push(Bar {
                group,
                imp: *imp,
                ratio,
            });
        }
    }
    (groups, bars)
}

/// Two significant digits: `0.042×`, `0.25×`, `1.3×`, `25×`.
fn ratio_label(r: f64) -> String {
    let digits = (1 - r.log10().floor() as i32).max(0) as usize;
    format!("{r:.digits$}×")
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn render(
    path: &Path,
    groups: &[(String, String)],
    bars: &[Bar],
    peers: &[Impl],
    (lo, hi): (f64, f64),
    workers: usize,
) -> DrawResult {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!("bream vs its peers: peer time ÷ bream time ({workers} workers, medians)");
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(56)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..groups.len() as f64, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(0)
        .y_label_formatter(&|_| String::new()) // even with 0 labels, plotters draws "1.0"
        .y_desc("peer time ÷ bream time  (above 1: bream is faster)")
        .draw()?;
    // The 1-2-5 steps, drawn by hand: plotters' log axis leaves those below 1
    // unlabelled.
    let width = groups.len() as f64;
    for k in (lo.log10().floor() as i32)..=(hi.log10().ceil() as i32) {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(k);
            if v < lo || v > hi {
                continue;
            }
            let line = if m == 1.0 {
                BLACK.mix(0.15)
            } else {
                BLACK.mix(0.06)
            };
            chart.draw_series(LineSeries::new([(0.0, v), (width, v)], line))?;
            let (x, y) = chart.backend_coord(&(0.0, v));
            let label = ("sans-serif", 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center));
            let text = format!("{v:.*}×", (-k).max(0) as usize);
            root.draw(&Text::new(text, (x - 6, y), label))?;
        }
    }
    // bream: the line at 1.
    chart
        .draw_series(LineSeries::new(
            [(0.0, 1.0), (groups.len() as f64, 1.0)],
            color(Impl::Bream).stroke_width(2),
        ))?
        .label("bream (= 1)")
        .legend(|(x, y)| {
            PathElement::new([(x, y), (x + 18, y)], color(Impl::Bream).stroke_width(2))
        });
    let slot = 0.8 / peers.len().max(1) as f64;
    for (k, &imp) in peers.iter().enumerate() {
        let mine = bars.iter().filter(|b| b.imp == imp);
        let x0 = |b: &Bar| b.group as f64 + 0.1 + k as f64 * slot;
        chart
            .draw_series(mine.clone().filter_map(|b| {
                let r = b.ratio?;
                Some(Rectangle::new(
                    [(x0(b) + slot * 0.08, 1.0), (x0(b) + slot * 0.92, r)],
                    color(imp).filled(),
                ))
            }))?
            .label(imp.name())
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 12, y + 6)], color(imp).filled())
            });
        // Labels centred on their bar: above a bar that rises, below one that drops.
        chart.draw_series(mine.map(|b| {
            let (text, y, v) = match b.ratio {
                Some(r) if r >= 1.0 => (ratio_label(r), r * 1.04, VPos::Bottom),
                Some(r) => (ratio_label(r), r / 1.04, VPos::Top),
                None => ("✗".to_string(), 1.04, VPos::Bottom),
            };
            let font = ("sans-serif", 12).into_font().color(&color(imp));
            Text::new(
                text,
                (x0(b) + slot * 0.5, y),
                font.pos(Pos::new(HPos::Center, v)),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    for (g, (name, bream)) in groups.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(g as f64 + 0.5, lo));
        let top = Pos::new(HPos::Center, VPos::Top);
        let style = ("sans-serif", 16).into_font().color(&BLACK).pos(top);
        root.draw(&Text::new(name.clone(), (x, y + 8), style.clone()))?;
        let small = ("sans-serif", 12)
            .into_font()
            .color(&BLACK.mix(0.7))
            .pos(top);
        root.draw(&Text::new(bream.clone(), (x, y + 28), small))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_labels_keep_two_digits() {
        assert_eq!(ratio_label(0.0423), "0.042×");
        assert_eq!(ratio_label(0.25), "0.25×");
        assert_eq!(ratio_label(1.34), "1.3×");
        assert_eq!(ratio_label(25.2), "25×");
    }
}
