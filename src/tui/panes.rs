//! The dashboard's panes, each drawing itself into the area it is given (as gitui's components
//! do): the title line, live jobs, the caches, the encoders, recent requests, and the help.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Clear, Gauge, Paragraph, Row, Table};
use ratatui::Frame;

use super::{App, PANES};
use crate::server::status::Status;

fn duration(secs: f64) -> String {
    let s = secs as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s / 60 % 60),
    }
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

/// The frame of a pane Tab can focus, highlighted when it has the focus.
fn block(app: &App, pane: usize) -> Block<'static> {
    let style = if app.pane == pane {
        Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(style)
        .title(PANES[pane])
}

/// Server, uptime, requests, or why it can't be reached.
pub fn title(f: &mut Frame, area: Rect, app: &App) {
    let line = match (&app.error, &app.status) {
        (Some(e), _) => Line::styled(
            format!("{}: not reachable ({e}); retrying every second", app.server),
            Style::default().fg(Color::Red),
        ),
        (None, None) => Line::from(format!("{}: connecting...", app.server)),
        (None, Some(s)) => Line::from(format!(
            "{}  up {}  {} requests  encoder {}  transcodes {}/{}, {} waiting{}",
            app.server,
            duration(s.uptime_secs),
            s.requests,
            s.encoder,
            s.queue.running,
            s.queue.slots,
            s.queue.waiting,
            s.scanning
                .as_deref()
                .map(|p| format!("  scanning {p}"))
                .unwrap_or_default()
        )),
    };
    f.render_widget(
        Paragraph::new(line).block(Block::default().borders(Borders::ALL).title("haema")),
        area,
    );
}

/// Segments being made, with their progress and speed.
pub fn jobs(f: &mut Frame, area: Rect, app: &App, st: &Status) {
    let rows: Vec<Row> = st
        .jobs
        .iter()
        .skip(app.scroll[0])
        .map(|j| {
            Row::new(vec![
                Cell::from(j.video.clone()),
                Cell::from(j.rendition.clone()),
                Cell::from(j.segment.clone()),
                Cell::from(j.encoder.clone()),
                Cell::from(format!("{:>3.0}%", 100.0 * j.progress)),
                Cell::from(format!("{:.0}", j.fps)),
                Cell::from(format!("{:.1}x", j.speed)),
                Cell::from(format!("{:.1}s", j.running_secs)),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(5),
            Constraint::Min(11),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(6),
            Constraint::Length(6),
        ],
    )
    .header(
        Row::new(vec![
            "video",
            "rendition",
            "segment",
            "encoder",
            "done",
            "fps",
            "speed",
            "time",
        ])
        .style(Style::default().add_modifier(Modifier::BOLD)),
    )
    .block(block(app, 0));
    f.render_widget(table, area);
}

/// The memory cache's use against its limit, hit rate, and the disk cache.
pub fn cache(f: &mut Frame, area: Rect, st: &Status) {
    let c = &st.cache;
    let (bytes, limit) = (c.bytes as f64, c.limit as f64);
    let (hits, misses) = (c.hits as f64, c.misses as f64);
    let frame = Block::default().borders(Borders::ALL).title("Cache");
    let inner = frame.inner(area);
    f.render_widget(frame, area);
    let [gauge_area, text_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    let ratio = if limit > 0.0 {
        (bytes / limit).clamp(0.0, 1.0)
    } else {
        0.0
    };
    f.render_widget(
        Gauge::default()
            .gauge_style(Style::default().fg(Color::Green))
            .ratio(ratio)
            .label(format!("{} of {}", mib(bytes), mib(limit))),
        gauge_area,
    );
    let hit_rate = if hits + misses > 0.0 {
        100.0 * hits / (hits + misses)
    } else {
        0.0
    };
    let mut lines = vec![
        Line::from(format!(
            "hit rate {hit_rate:.0}%  ({hits} hits, {misses} misses)"
        )),
        Line::from(format!("entries {}  evictions {}", c.entries, c.evictions)),
    ];
    if let Some(d) = &st.disk_cache {
        lines.push(Line::from(format!(
            "disk {} of {}, {} errors",
            mib(d.bytes as f64),
            mib(d.limit as f64),
            d.errors
        )));
    }
    f.render_widget(Paragraph::new(lines), text_area);
}

/// Every candidate encoder: available, or why not.
pub fn encoders(f: &mut Frame, area: Rect, app: &App, st: &Status) {
    let lines: Vec<Line> = st
        .encoders
        .iter()
        .skip(app.scroll[1])
        .map(|e| {
            let ok = e.available;
            Line::styled(
                format!(
                    "{} {:<13} {}",
                    if ok { "+" } else { "-" },
                    e.name,
                    if ok { "available" } else { e.detail.as_str() }
                ),
                Style::default().fg(if ok { Color::Green } else { Color::DarkGray }),
            )
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(block(app, 1)), area);
}

/// The last requests, newest first, errors in red.
pub fn recent(f: &mut Frame, area: Rect, app: &App, st: &Status) {
    let lines: Vec<Line> = st
        .recent
        .iter()
        .rev()
        .skip(app.scroll[2])
        .map(|r| {
            let text = format!(
                "{} {:>6.1}ms {} {}{}",
                r.status,
                r.ms,
                r.method,
                r.path,
                r.error
                    .as_deref()
                    .map(|e| format!("  {e}"))
                    .unwrap_or_default()
            );
            Line::styled(
                text,
                Style::default().fg(if r.status >= 400 {
                    Color::Red
                } else {
                    Color::Reset
                }),
            )
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(block(app, 2)), area);
}

/// The live channels: number, name, what is on, how many watch (green when someone does).
pub fn channels(f: &mut Frame, area: Rect, app: &App, st: &Status) {
    let lines: Vec<Line> = st
        .channels
        .iter()
        .skip(app.scroll[3])
        .map(|c| {
            Line::styled(
                format!(
                    "{:>3} {:<14} {:>2} watching  {}",
                    c.number, c.name, c.watching, c.now
                ),
                Style::default().fg(if c.watching > 0 {
                    Color::Green
                } else {
                    Color::Reset
                }),
            )
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(block(app, 3)), area);
}

/// The keys, over the middle of the screen.
pub fn help(f: &mut Frame, area: Rect) {
    let w = area.width.min(50);
    let h = area.height.min(9);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(vec![
            Line::from("q, Esc     quit"),
            Line::from("Tab        next pane (Shift-Tab: previous)"),
            Line::from("Up, Down   scroll the pane"),
            Line::from("?          this help"),
        ])
        .block(Block::default().borders(Borders::ALL).title("Help")),
        r,
    );
}
