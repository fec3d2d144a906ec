//! `haema tui`: a live dashboard of a running server, drawn from its `/api/v1/status`.
//!
//! [`draw`] renders an [`App`] (plain data: the last [`Status`], the server's own type), each
//! pane drawing itself (`panes`), and is tested on a `TestBackend`; [`run`] owns the terminal,
//! polls the server once a second on a thread, and restores the terminal on exit and on a
//! panic (ratatui's init installs the hook).

mod panes;

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::layout::{Constraint, Layout};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::server::status::Status;

/// The panes Tab moves between.
pub const PANES: [&str; 4] = ["Jobs", "Encoders", "Recent requests", "Channels"];

/// What the dashboard shows.
#[derive(Debug, Default)]
pub struct App {
    /// The server's address, for the title.
    pub server: String,
    /// The last status the server sent.
    pub status: Option<Status>,
    /// Why the last poll failed, while it keeps failing.
    pub error: Option<String>,
    /// The pane with the focus.
    pub pane: usize,
    /// Scroll offset of each pane.
    pub scroll: [usize; 4],
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

/// Draws the dashboard for the app's state, whatever the terminal's size: each pane draws
/// itself into its area.
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
    let [jobs_area, cache_area] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(middle);
    let [left, recent_area] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(bottom);
    // The channels share the bottom left with the encoders when there are any.
    let channels_rows = app.status.as_ref().map_or(0, |s| s.channels.len()) as u16;
    let [enc_area, channels_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(if channels_rows > 0 {
            channels_rows.min(8) + 2
        } else {
            0
        }),
    ])
    .areas(left);
    let empty = Status::default();
    let st = app.status.as_ref().unwrap_or(&empty);
    panes::title(f, top, app);
    panes::jobs(f, jobs_area, app, st);
    panes::cache(f, cache_area, st);
    panes::encoders(f, enc_area, app, st);
    panes::recent(f, recent_area, app, st);
    if channels_area.height > 0 {
        panes::channels(f, channels_area, app, st);
    }
    if app.help {
        panes::help(f, area);
    }
}

/// GETs the server's status.
pub fn fetch_status(server: &str, token: Option<&str>) -> Result<Status, String> {
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

    fn recorded() -> Status {
        serde_json::from_value(serde_json::json!({
            "uptime_secs": 3725.0, "requests": 42, "encoder": "libx264", "scanning": null,
            "queue": { "slots": 2, "running": 2, "waiting": 3, "refused": 0 },
            "cache": { "bytes": 268435456u64, "limit": 536870912u64, "entries": 7, "hits": 30, "misses": 10, "evictions": 2 },
            "jobs": [{ "video": "3", "rendition": "h264-720p", "segment": "12.m4s", "encoder": "libx264", "running_secs": 0.8, "progress": 0.5, "fps": 60.0, "speed": 2.5 }],
            "encoders": [{ "name": "libx264", "available": true, "detail": "opens" }, { "name": "h264_vaapi", "available": false, "detail": "does not open: Invalid argument" }],
            "recent": [{ "method": "GET", "path": "/api/v1/video/9/master.m3u8", "status": 404, "ms": 0.4, "error": "no video 9" }]
        }))
        .expect("the recorded status reads as the server's type")
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
        assert!(s.contains("transcodes 2/2, 3 waiting"), "{s}");
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
