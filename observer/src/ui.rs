//! Drawing the observer with ratatui: a header with the counters, one
//! utilisation gauge per worker, the process table (only the rows that fit
//! are built: a table of 100,000 processes costs what its screen costs) or
//! the supervision tree, and a footer with the keys.

use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, LineGauge, Paragraph, Row, Table};
use ratatui::Frame;

use crate::app::{App, Mode, Sort, View};

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

pub fn draw(f: &mut Frame, app: &App, addr: &str) {
    let shown: Vec<_> = app
        .workers
        .iter()
        .filter(|w| !w.spare || w.slices_per_s > 0.0)
        .collect();
    let [head, workers, table, foot] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(shown.len() as u16 + 2),
        Constraint::Min(5),
        Constraint::Length(2),
    ])
    .areas(f.area());
    let c = &app.frame.counts;
    let header = vec![
        Line::from(format!(
            "bream-observer  {addr}  uptime {:.1}s  refresh {:?}",
            app.frame.uptime_us as f64 / 1e6,
            app.refresh
        )),
        Line::from(format!(
            "processes {}  spawned {}  messages {}  exits: normal {} shutdown {} killed {} panic {} overflow {} noproc {} other {}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
        )),
    ];
    f.render_widget(
        Paragraph::new(header).block(Block::default().borders(Borders::BOTTOM)),
        head,
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" scheduler utilisation ");
    let inner = block.inner(workers);
    f.render_widget(block, workers);
    let rows = Layout::vertical(vec![Constraint::Length(1); shown.len()]).split(inner);
    for (w, area) in shown.iter().zip(rows.iter()) {
        let label = format!(
            "{} {:<2} {:>5.1}% {:<9} {:>8.0} slices/s {:>6} steals ",
            if w.spare { "stand-in" } else { "worker  " },
            w.index,
            w.utilisation * 100.0,
            w.state,
            w.slices_per_s,
            w.steals
        );
        let g = LineGauge::default()
            .ratio(w.utilisation.clamp(0.0, 1.0))
            .label(label)
            .filled_style(Style::default().fg(Color::Green));
        f.render_widget(g, *area);
    }
    match app.view {
        View::Processes => draw_table(f, app, table),
        View::Tree => draw_tree(f, app, table),
    }
    let help = match &app.mode {
        Mode::Filter(text) => format!("filter: {text}█   (Enter apply, Esc cancel)"),
        Mode::ConfirmKill { pid, .. } => format!("kill {pid}? (y/n)"),
        Mode::Browse => "sort: p pid  n name  r reductions/s  l queue  m memory │ / filter │ k kill │ t tree │ +/- refresh │ ↑↓ PgUp │ q quit".into(),
    };
    let status = if app.filter.is_empty() {
        app.message.clone()
    } else {
        format!("[filter: {}] {}", app.filter, app.message)
    };
    f.render_widget(
        Paragraph::new(vec![Line::from(help), Line::from(status)]),
        foot,
    );
}

fn draw_table(f: &mut Frame, app: &App, area: ratatui::layout::Rect) {
    let visible = area.height.saturating_sub(3) as usize;
    let first = app.selected.saturating_sub(visible.saturating_sub(1));
    let title = format!(
        " processes: {} shown of {} │ sorted by {} │ row {} ",
        app.rows.len(),
        app.frame.processes.len(),
        app.sort.title(),
        if app.rows.is_empty() {
            0
        } else {
            app.selected + 1
        }
    );
    let head_cell = |s: Sort, text: &'static str| {
        let style = if app.sort == s {
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        };
        Cell::from(text).style(style)
    };
    let header = Row::new(vec![
        head_cell(Sort::Pid, "pid"),
        head_cell(Sort::Name, "name"),
        Cell::from("status").style(Style::default().add_modifier(Modifier::BOLD)),
        head_cell(Sort::Reductions, "reds/s"),
        Cell::from("reductions").style(Style::default().add_modifier(Modifier::BOLD)),
        head_cell(Sort::Queue, "queue"),
        head_cell(Sort::Memory, "memory"),
    ]);
    let rows = app
        .rows
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, r)| {
            let p = &r.proc;
            let row = Row::new(vec![
                Cell::from(p.pid.clone()),
                Cell::from(p.name.clone().unwrap_or_default()),
                Cell::from(p.status.clone()),
                Cell::from(format!("{:.0}", r.rate)),
                Cell::from(p.reductions.to_string()),
                Cell::from(p.queue.to_string()),
                Cell::from(bytes(p.memory)),
            ]);
            if i == app.selected {
                row.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                row
            }
        });
    let widths = [
        Constraint::Length(14),
        Constraint::Length(18),
        Constraint::Length(12),
        Constraint::Length(10),
        Constraint::Length(12),
        Constraint::Length(8),
        Constraint::Length(10),
    ];
    let t = Table::new(rows, widths)
        .header(header)
        .block(Block::default().borders(Borders::ALL).title(title));
    f.render_widget(t, area);
}

/// The supervision tree: one line per supervisor and child, the cursor's
/// line reversed; only the lines that fit are built.
fn draw_tree(f: &mut Frame, app: &App, area: ratatui::layout::Rect) {
    let visible = area.height.saturating_sub(3) as usize;
    let first = app.tree_selected.saturating_sub(visible.saturating_sub(1));
    let roots = app.tree.iter().filter(|l| l.prefix.is_empty()).count();
    let title = format!(
        " supervision tree: {} lines, {} at the top │ row {} │ t: back to processes ",
        app.tree.len(),
        roots,
        if app.tree.is_empty() {
            0
        } else {
            app.tree_selected + 1
        }
    );
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let header = Row::new(vec![
        Cell::from("id").style(bold),
        Cell::from("pid").style(bold),
        Cell::from("type").style(bold),
        Cell::from("restart").style(bold),
        Cell::from("status").style(bold),
        Cell::from("queue").style(bold),
    ]);
    let rows = app
        .tree
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, l)| {
            let row = Row::new(vec![
                Cell::from(format!("{}{}", l.prefix, l.id)),
                Cell::from(l.pid.clone().unwrap_or_else(|| "-".into())),
                Cell::from(l.kind.clone()),
                Cell::from(l.restart.clone()),
                Cell::from(l.status.clone()),
                Cell::from(l.queue.map_or(String::new(), |q| q.to_string())),
            ]);
            if i == app.tree_selected {
                row.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                row
            }
        });
    let widths = [
        Constraint::Min(30),
        Constraint::Length(14),
        Constraint::Length(11),
        Constraint::Length(10),
        Constraint::Length(12),
        Constraint::Length(8),
    ];
    let empty = app.tree.is_empty();
    let t = Table::new(rows, widths)
        .header(header)
        .block(Block::default().borders(Borders::ALL).title(title));
    f.render_widget(t, area);
    if empty {
        let inner = Block::default().borders(Borders::ALL).inner(area);
        let note = Paragraph::new(
            "  no supervisors: a bream_stdlib supervisor publishes its children here \
             (bream::observer::publish_children)",
        );
        if inner.height > 2 {
            let r = ratatui::layout::Rect {
                y: inner.y + 2,
                height: 1,
                ..inner
            };
            f.render_widget(note, r);
        }
    }
}
