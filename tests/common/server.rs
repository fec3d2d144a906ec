//! A real `haema serve` for the integration tests: started on a free port, waited for until
//! its library is scanned, stopped (SIGTERM) when dropped.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::{haema, http, library, HttpResponse};

/// A running server; killed (SIGTERM first) when dropped.
pub struct Server {
    /// The server process.
    pub child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The token it was started with, sent on every request.
    pub token: Option<String>,
    /// Its log (requests with status and time, warnings), beside the database.
    pub log: std::path::PathBuf,
}

impl Server {
    /// Starts on the fixture library with a new database.
    pub fn start(db: &Path) -> Server {
        Server::start_with(db, &[], None)
    }

    /// Starts with extra arguments (`--config FILE`...) and the token they set, if any.
    pub fn start_with(db: &Path, extra: &[&std::ffi::OsStr], token: Option<&str>) -> Server {
        Server::launch(db, &library(), 0, extra, token, 3)
    }

    /// Starts on a given library and port, and waits until `shows` shows are listed.
    pub fn launch(
        db: &Path,
        target: &Path,
        port: u16,
        extra: &[&std::ffi::OsStr],
        token: Option<&str>,
        shows: usize,
    ) -> Server {
        let log = db.with_extension("log");
        let mut child = haema()
            .env("RUST_LOG", "info")
            .args(["serve", "-p", &port.to_string(), "--db"])
            .arg(db)
            .arg("-t")
            .arg(target)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("server log file"))
            .spawn()
            .unwrap();
        // The server says where it listens (the port it got, for port 0): this server, not
        // whatever else may listen on a port chosen before it started.
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let addr = first
            .strip_prefix("listening on http://")
            .and_then(|a| a.strip_suffix('/'))
            .unwrap_or_else(|| panic!("the server did not say where it listens: {first:?}"))
            .to_owned();
        std::thread::spawn(move || lines.for_each(drop));
        let server = Server {
            child,
            addr,
            token: token.map(str::to_owned),
            log,
        };
        // Up, and the start-up scan done.
        let up = super::wait_until(
            std::time::Duration::from_secs(30),
            std::time::Duration::from_millis(100),
            || {
                let scanned = std::net::TcpStream::connect(&server.addr).is_ok()
                    && server.get("/api/v1/status").json()["scanning"].is_null()
                    && server
                        .get("/api/v1/shows")
                        .json()
                        .as_array()
                        .is_some_and(|a| a.len() == shows);
                scanned.then_some(())
            },
        );
        if up.is_none() {
            panic!("the server did not come up with the library scanned");
        }
        server
    }

    /// What went wrong in the server so far, for a failing test's message: its warnings,
    /// errors and requests answered 4xx/5xx.
    pub fn trouble(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let bad: Vec<&str> = log
            .lines()
            .filter(|l| {
                l.contains(" WARN ")
                    || l.contains(" ERROR ")
                    || l.contains("status=4")
                    || l.contains("status=5")
            })
            .collect();
        format!("server trouble ({} lines): {}", bad.len(), bad.join("\n"))
    }

    /// GETs a path (with the token, if any).
    pub fn get(&self, path: &str) -> HttpResponse {
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        http("GET", &self.addr, path, &headers, b"")
    }
}

impl Drop for Server {
    /// SIGTERM, and the server must end cleanly (exit 0) unless a test killed it on purpose
    /// (SIGKILL) or is already failing.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().expect("waiting for the server");
        let killed = std::os::unix::process::ExitStatusExt::signal(&status) == Some(9);
        if !std::thread::panicking() && !killed {
            assert!(
                status.success(),
                "the server ended with {status} on SIGTERM"
            );
        }
    }
}

/// A port free now, for a server that must come back on the same one (most tests start on
/// port 0 and read the port the server got).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A temporary folder and a database path in it.
pub fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("haema.db");
    (d, p)
}
