//! `haema tui`: a live dashboard of a running server, drawn from its `/api/v1/status`.
//!
//! [`draw`] renders an [`App`] (plain data: the last status JSON) and is tested on a
//! `TestBackend`; [`run`] owns the terminal, polls the server once a second on a thread, and
//! restores the terminal on exit and on a panic (ratatui's init installs the hook).

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Clear, Gauge, Paragraph, Row, Table, Wrap};
use ratatui::Frame;
use serde_json::Value;

/// The panes Tab moves between.
pub const PANES: [&str; 3] = ["Jobs", "Encoders", "Recent requests"];

/// What the dashboard shows.
#[derive(Debug, Default)]
pub struct App {
    /// The server's address, for the title.
    pub server: String,
    /// The last status the server sent.
    pub status: Option<Value>,
    /// Why the last poll failed, while it keeps failing.
    pub error: Option<String>,
    /// The pane with the focus.
    pub pane: usize,
    /// Scroll offset of each pane.
    pub scroll: [usize; 3],
    /// The help overlay is shown.
    pub help: bool,
}

impl App {
    /// Handles a key; returns false to quit.
    pub fn key(&mut self, code: KeyCode) -> bool {
        match code {
            KeyCode::Char('q') | KeyCode::Esc if !self.help || code == KeyCode::Char('q') => {
                return false
            }
            KeyCode::Esc => self.help = false,
            KeyCode::Char('?') => self.help = !self.help,
            KeyCode::Tab => self.pane = (self.pane + 1) % PANES.len(),
            KeyCode::BackTab => self.pane = (self.pane + PANES.len() - 1) % PANES.len(),
            KeyCode::Down => self.scroll[self.pane] += 1,
            KeyCode::Up => self.scroll[self.pane] = self.scroll[self.pane].saturating_sub(1),
            _ => {}
        }
        true
    }
}

/// The array under `key` of the status, or nothing.
fn list<'a>(status: &'a Value, key: &str) -> &'a [Value] {
    status[key].as_array().map(Vec::as_slice).unwrap_or(&[])
}

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

/// Draws the dashboard for the app's state, whatever the terminal's size.
pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.width < 40 || area.height < 10 {
        f.render_widget(
            Paragraph::new("haema tui: terminal too small (40x10 at least)")
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Percentage(45),
        Constraint::Min(5),
    ])
    .areas(area);
    let empty = Value::Null;
    let st = app.status.as_ref().unwrap_or(&empty);

    // Title line: server, uptime, requests, or why it can't be reached.
    let title = match (&app.error, &app.status) {
        (Some(e), _) => Line::styled(
            format!("{}: not reachable ({e}); retrying every second", app.server),
            Style::default().fg(Color::Red),
        ),
        (None, None) => Line::from(format!("{}: connecting...", app.server)),
        (None, Some(s)) => Line::from(format!(
            "{}  up {}  {} requests  encoder {}{}",
            app.server,
            duration(s["uptime_secs"].as_f64().unwrap_or(0.0)),
            s["requests"].as_u64().unwrap_or(0),
            s["encoder"].as_str().unwrap_or("?"),
            s["scanning"]
                .as_str()
                .map(|p| format!("  scanning {p}"))
                .unwrap_or_default()
        )),
    };
    f.render_widget(
        Paragraph::new(title).block(Block::default().borders(Borders::ALL).title("haema")),
        top,
    );

    // Jobs, and the cache beside them.
    let [jobs_area, cache_area] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(middle);
    let jobs: Vec<Row> = list(st, "jobs")
        .iter()
        .skip(app.scroll[0])
        .map(|j| {
            Row::new(vec![
                Cell::from(j["video"].as_str().unwrap_or("?").to_owned()),
                Cell::from(j["rendition"].as_str().unwrap_or("?").to_owned()),
                Cell::from(j["segment"].as_str().unwrap_or("?").to_owned()),
                Cell::from(j["encoder"].as_str().unwrap_or("?").to_owned()),
                Cell::from(format!(
                    "{:>3.0}%",
                    100.0 * j["progress"].as_f64().unwrap_or(0.0)
                )),
                Cell::from(format!("{:.0}", j["fps"].as_f64().unwrap_or(0.0))),
                Cell::from(format!("{:.1}x", j["speed"].as_f64().unwrap_or(0.0))),
                Cell::from(format!("{:.1}s", j["running_secs"].as_f64().unwrap_or(0.0))),
            ])
        })
        .collect();
    let table = Table::new(
        jobs,
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
    f.render_widget(table, jobs_area);

    let c = &st["cache"];
    let (bytes, limit) = (
        c["bytes"].as_f64().unwrap_or(0.0),
        c["limit"].as_f64().unwrap_or(0.0),
    );
    let (hits, misses) = (
        c["hits"].as_f64().unwrap_or(0.0),
        c["misses"].as_f64().unwrap_or(0.0),
    );
    let cache_block = Block::default().borders(Borders::ALL).title("Cache");
    let inner = cache_block.inner(cache_area);
    f.render_widget(cache_block, cache_area);
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
        Line::from(format!(
            "entries {}  evictions {}",
            c["entries"].as_u64().unwrap_or(0),
            c["evictions"].as_u64().unwrap_or(0)
        )),
    ];
    if let Some(d) = st["disk_cache"].as_object() {
        lines.push(Line::from(format!(
            "disk {} of {}, {} errors",
            mib(d["bytes"].as_f64().unwrap_or(0.0)),
            mib(d["limit"].as_f64().unwrap_or(0.0)),
            d["errors"].as_u64().unwrap_or(0)
        )));
    }
    f.render_widget(Paragraph::new(lines), text_area);

    // Encoders, and the last requests.
    let [enc_area, recent_area] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(bottom);
    let encoders: Vec<Line> = list(st, "encoders")
        .iter()
        .skip(app.scroll[1])
        .map(|e| {
            let ok = e["available"].as_bool().unwrap_or(false);
            Line::styled(
                format!(
                    "{} {:<13} {}",
                    if ok { "+" } else { "-" },
                    e["name"].as_str().unwrap_or("?"),
                    if ok {
                        "available"
                    } else {
                        e["detail"].as_str().unwrap_or("")
                    }
                ),
                Style::default().fg(if ok { Color::Green } else { Color::DarkGray }),
            )
        })
        .collect();
    f.render_widget(Paragraph::new(encoders).block(block(app, 1)), enc_area);
    let recent: Vec<Line> = list(st, "recent")
        .iter()
        .rev()
        .skip(app.scroll[2])
        .map(|r| {
            let status = r["status"].as_u64().unwrap_or(0);
            let text = format!(
                "{status} {:>6.1}ms {} {}{}",
                r["ms"].as_f64().unwrap_or(0.0),
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or(""),
                r["error"]
                    .as_str()
                    .map(|e| format!("  {e}"))
                    .unwrap_or_default()
            );
            Line::styled(
                text,
                Style::default().fg(if status >= 400 {
                    Color::Red
                } else {
                    Color::Reset
                }),
            )
        })
        .collect();
    f.render_widget(Paragraph::new(recent).block(block(app, 2)), recent_area);

    if app.help {
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
}

/// GETs the status JSON.
pub fn fetch_status(server: &str, token: Option<&str>) -> Result<Value, String> {
    let (code, body) = crate::client::get(server, "/api/v1/status", token)?;
    if code != 200 {
        return Err(format!("HTTP {code}"));
    }
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// Runs the dashboard until q or Esc.
pub fn run(server: &str, token: Option<String>) -> anyhow::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (srv, tok) = (server.to_owned(), token.clone());
    std::thread::spawn(move || loop {
        if tx.send(fetch_status(&srv, tok.as_deref())).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(700));
    });
    let mut terminal = ratatui::init();
    let mut app = App {
        server: server.to_owned(),
        ..Default::default()
    };
    let result = (|| -> anyhow::Result<()> {
        let mut last_draw = Instant::now() - Duration::from_secs(1);
        loop {
            let mut changed = false;
            while let Ok(r) = rx.try_recv() {
                match r {
                    Ok(v) => {
                        app.status = Some(v);
                        app.error = None;
                    }
                    Err(e) => app.error = Some(e),
                }
                changed = true;
            }
            if changed || last_draw.elapsed() > Duration::from_millis(500) {
                terminal.draw(|f| draw(f, &app))?;
                last_draw = Instant::now();
            }
            if event::poll(Duration::from_millis(100))? {
                match event::read()? {
                    Event::Key(k) if k.kind == KeyEventKind::Press => {
                        if !app.key(k.code) {
                            return Ok(());
                        }
                        terminal.draw(|f| draw(f, &app))?;
                    }
                    Event::Resize(..) => {
                        terminal.draw(|f| draw(f, &app))?;
                    }
                    _ => {}
                }
            }
        }
    })();
    ratatui::restore();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn screen(app: &App, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(f, app)).unwrap();
        let buf = t.backend().buffer().clone();
        (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| buf[(x, y)].symbol().to_owned())
                    .collect::<String>()
                    + "\n"
            })
            .collect()
    }

    fn recorded() -> Value {
        serde_json::json!({
            "uptime_secs": 3725.0, "requests": 42, "encoder": "libx264", "scanning": null,
            "cache": { "bytes": 268435456u64, "limit": 536870912u64, "entries": 7, "hits": 30, "misses": 10, "evictions": 2 },
            "jobs": [{ "video": "3", "rendition": "h264-720p", "segment": "12.m4s", "encoder": "libx264", "running_secs": 0.8, "progress": 0.5, "fps": 60.0, "speed": 2.5 }],
            "encoders": [{ "name": "libx264", "available": true, "detail": "opens" }, { "name": "h264_vaapi", "available": false, "detail": "does not open: Invalid argument" }],
            "recent": [{ "method": "GET", "path": "/api/v1/video/9/master.m3u8", "status": 404, "ms": 0.4, "error": "no video 9" }]
        })
    }

    #[test]
    fn dashboard_shows_jobs_cache_encoders_and_errors() {
        let app = App {
            server: "127.0.0.1:8080".into(),
            status: Some(recorded()),
            ..Default::default()
        };
        let s = screen(&app, 100, 30);
        assert!(s.contains("up 1h 02m  42 requests"), "{s}");
        assert!(s.contains("h264-720p") && s.contains("12.m4s"), "{s}");
        assert!(
            s.contains(" 50%") && s.contains("60") && s.contains("2.5x"),
            "{s}"
        );
        assert!(s.contains("256.0 MiB of 512.0 MiB"), "{s}");
        assert!(s.contains("hit rate 75%"), "{s}");
        assert!(s.contains("+ libx264") && s.contains("- h264_vaapi"), "{s}");
        assert!(s.contains("404") && s.contains("no video 9"), "{s}");
    }

    #[test]
    fn an_unreachable_server_is_said_and_a_tiny_terminal_survives() {
        let app = App {
            server: "127.0.0.1:9".into(),
            error: Some("Connection refused".into()),
            ..Default::default()
        };
        assert!(screen(&app, 100, 30).contains("not reachable (Connection refused); retrying"));
        assert!(screen(&app, 20, 5).contains("too small"));
        assert!(screen(&app, 1, 1).len() <= 2);
    }

    #[test]
    fn keys_move_focus_scroll_toggle_help_and_quit() {
        let mut app = App {
            status: Some(recorded()),
            ..Default::default()
        };
        assert!(app.key(KeyCode::Tab));
        assert_eq!(app.pane, 1);
        assert!(app.key(KeyCode::BackTab));
        assert_eq!(app.pane, 0);
        app.key(KeyCode::Down);
        app.key(KeyCode::Down);
        app.key(KeyCode::Up);
        assert_eq!(app.scroll[0], 1);
        app.key(KeyCode::Char('?'));
        assert!(screen(&app, 100, 30).contains("next pane"));
        assert!(app.key(KeyCode::Esc), "Esc closes the help first");
        assert!(!app.help);
        assert!(!app.key(KeyCode::Esc));
        assert!(!app.key(KeyCode::Char('q')));
    }
}
