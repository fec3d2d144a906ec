//! A mutation campaign over every fixture: truncations, and byte flips in the header, in the
//! index and anywhere, through `probe`, `playlist` and `segment` as processes and through a
//! running server. Every run must end by itself, with success or one clear line and a
//! documented exit code (or an HTTP error with a JSON body): no signal, no panic, no hang.
//!
//! `HAEMA_MUTATIONS=N` (default 12) sets how many mutations of each kind each fixture gets;
//! `scripts/mutate.sh` runs a larger campaign and prints the counts.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// How long one command may run on a damaged file before it counts as a hang.
const HANG: Duration = Duration::from_secs(30);

/// A deterministic generator (xorshift64*), so a failing mutation can be made again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Where a file keeps its index: an MP4's moov, a Matroska file's Cues (near the end), else
/// the last tenth.
fn index_range(bytes: &[u8]) -> (usize, usize) {
    if let Some(at) = bytes.windows(4).position(|w| w == b"moov") {
        let start = at.saturating_sub(4);
        let size = u32::from_be_bytes(bytes[start..start + 4].try_into().unwrap()) as usize;
        return (start, (start + size.max(8)).min(bytes.len()));
    }
    if let Some(at) = bytes
        .windows(4)
        .rposition(|w| w == [0x1C, 0x53, 0xBB, 0x6B])
    {
        return (at, bytes.len());
    }
    (bytes.len() * 9 / 10, bytes.len())
}

/// The mutated copies of one fixture, written into `dir`.
fn mutants(fixture: &Path, dir: &Path, per_kind: usize, seed: u64) -> Vec<PathBuf> {
    let bytes = std::fs::read(fixture).unwrap();
    let ext = fixture.extension().unwrap().to_str().unwrap();
    let mut rng = Rng(seed | 1);
    let mut out = Vec::new();
    let mut write = |name: String, data: &[u8]| {
        let p = dir.join(format!("{name}.{ext}"));
        std::fs::write(&p, data).unwrap();
        out.push(p);
    };
    let (index_from, index_to) = index_range(&bytes);
    for k in 0..per_kind {
        let cut = match k {
            0 => 1,
            1 => 100,
            2 => bytes.len() - 1,
            _ => 1 + rng.below(bytes.len() - 1),
        };
        write(format!("cut-{cut}"), &bytes[..cut]);
        for (kind, from, to) in [
            ("head", 0, 4096.min(bytes.len())),
            ("index", index_from, index_to),
            ("any", 0, bytes.len()),
        ] {
            let mut m = bytes.clone();
            let flips = 1 + rng.below(8);
            let mut at = Vec::new();
            for _ in 0..flips {
                let i = from + rng.below(to - from);
                m[i] ^= 1 << rng.below(8);
                at.push(i);
            }
            write(format!("{kind}-{}", at[0]), &m);
        }
    }
    out
}

/// What one run did.
#[derive(Debug)]
enum Outcome {
    Ok,
    /// A clean failure: a documented exit code and one line.
    Refused,
}

/// Runs haema on a damaged file and judges the run.
fn judge(args: &[&std::ffi::OsStr]) -> Result<Outcome, String> {
    let mut child = haema()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let Some(status) = wait_until(HANG, Duration::from_millis(5), || {
        child.try_wait().ok().flatten()
    }) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("hang: {args:?} ran past {HANG:?}"));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    if err.contains("panicked") {
        return Err(format!("panic: {args:?}: {err}"));
    }
    match status.code() {
        Some(0) => Ok(Outcome::Ok),
        Some(code @ 1..=6) => {
            let lines: Vec<&str> = err.lines().collect();
            if lines.len() != 1 || !lines[0].starts_with("haema: ") {
                return Err(format!("unclear error: {args:?} (exit {code}): {err}"));
            }
            Ok(Outcome::Refused)
        }
        Some(code) => Err(format!("undocumented exit {code}: {args:?}: {err}")),
        None => Err(format!("killed by a signal ({status}): {args:?}: {err}")),
    }
}

fn per_kind() -> usize {
    std::env::var("HAEMA_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

#[test]
fn damaged_files_never_crash_hang_or_panic_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let (mut runs, mut refused) = (0, 0);
    for (i, fixture) in all().iter().enumerate() {
        for m in mutants(fixture, dir.path(), per_kind(), 0x9E37_79B9 + i as u64) {
            let f = m.as_os_str();
            for args in [
                vec!["probe".as_ref(), "--json".as_ref(), f],
                vec!["playlist".as_ref(), f],
                vec!["segment".as_ref(), f, "0".as_ref()],
                vec![
                    "segment".as_ref(),
                    f,
                    "init".as_ref(),
                    "-r".as_ref(),
                    "audio-1-eng".as_ref(),
                ],
                vec!["segment".as_ref(), f, "2".as_ref()],
            ] {
                runs += 1;
                match judge(&args) {
                    Ok(Outcome::Ok) => {}
                    Ok(Outcome::Refused) => refused += 1,
                    Err(e) => problems.push(e),
                }
            }
        }
    }
    println!(
        "{runs} runs on damaged files: {refused} clear refusals, {} problems",
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_server_on_damaged_files_answers_every_request_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let movies = dir.path().join("lib/Movies");
    let mut ids = Vec::new();
    for (i, fixture) in all().iter().enumerate() {
        for m in mutants(fixture, dir.path(), 3, 0x51ED + i as u64) {
            let n = ids.len() + 1;
            let folder = movies.join(format!("Damaged {n} (2024)"));
            std::fs::create_dir_all(&folder).unwrap();
            let ext = m.extension().unwrap().to_str().unwrap().to_owned();
            let name = format!("Damaged {n} (2024).{ext}");
            std::fs::rename(&m, folder.join(&name)).unwrap();
            ids.push(haema::library::video_id(&format!(
                "Movies/Damaged {n} (2024)/{name}"
            )));
        }
    }
    let port = common::server::free_port();
    let db = dir.path().join("haema.db");
    let mut child = haema()
        .args(["serve", "-p", &port.to_string(), "--db"])
        .arg(&db)
        .arg("-t")
        .arg(dir.path().join("lib"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let get = |path: &str| http("GET", &addr, path, &[], b"");
    let mut scanned = false;
    for _ in 0..300 {
        if std::net::TcpStream::connect(&addr).is_ok()
            && get("/api/v1/status").json()["scanning"].is_null()
            && get("/api/v1/shows")
                .json()
                .as_array()
                .is_some_and(|a| !a.is_empty())
        {
            scanned = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(scanned, "the server did not scan the damaged library");
    let mut problems = Vec::new();
    for id in ids {
        for path in [
            format!("/api/v1/video/{id}/master.m3u8"),
            format!("/api/v1/video/{id}/original/stream.m3u8"),
            format!("/api/v1/video/{id}/original/init.mp4"),
            format!("/api/v1/video/{id}/original/0.m4s"),
            format!("/api/v1/video/{id}/original/1.m4s"),
        ] {
            let r = get(&path);
            let json_error = r.status >= 400
                && serde_json::from_slice::<serde_json::Value>(&r.body)
                    .is_ok_and(|j| j["error"].is_string());
            if r.status != 200 && !json_error {
                problems.push(format!("{path}: {} without a JSON error", r.status));
            }
        }
        if get("/health").status != 200 {
            problems.push(format!("health failed after video {id}"));
        }
    }
    let metrics = String::from_utf8(get("/metrics").body).unwrap();
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    assert!(
        child.wait().unwrap().success(),
        "the server ended cleanly on SIGTERM"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(metrics.contains("haema_panics_total 0\n"), "{metrics}");
}
