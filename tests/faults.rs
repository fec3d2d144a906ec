//! Faults a media server meets in the wild, each with the real server or command: killed in
//! the middle of writing, its disk cache taken away, clients that hang up or hold connections
//! open and send nothing. Nothing acknowledged is lost, and a player keeps playing.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::server::{temp_db, Server};
use common::*;

fn kill9(pid: u32) {
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
}

#[test]
fn a_scan_killed_midway_leaves_a_database_that_opens_and_a_rescan_completes() {
    // Many films (hard links: no disk space), so the scan is still running when it is killed.
    let (d, db) = temp_db();
    let movies = d.path().join("lib/Movies");
    for i in 0..300 {
        let folder = movies.join(format!("Film {i} (2024)"));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::hard_link(mkv(), folder.join(format!("Film {i} (2024).mkv"))).unwrap();
    }
    let lib = d.path().join("lib");
    let mut scan = haema()
        .arg("scan")
        .arg(&lib)
        .arg("--db")
        .arg(&db)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once rows are being written (the database exists and has grown).
    let t = Instant::now();
    while std::fs::metadata(&db).map_or(0, |m| m.len()) < 8192
        && t.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(30));
    kill9(scan.id());
    let _ = scan.wait();
    // The database is whole, and a rescan finishes the job.
    let store = haema::library::store::Store::open(&db).expect("opens after kill -9");
    let check: String = store
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(store);
    let out = run(haema().arg("scan").arg(&lib).arg("--db").arg(&db));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = haema::library::store::Store::open(&db).unwrap();
    let n: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM videos WHERE probe IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 300);
}

#[test]
fn progress_acknowledged_before_a_kill_9_is_there_after_a_restart() {
    let (_d, db) = temp_db();
    let s = Server::launch(&db, &library(), 0, &[], None, 3);
    let addr = s.addr.clone();
    // Positions written one after another; the server is killed while they keep coming.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let acknowledged = std::sync::Mutex::new(0.0f64);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut pos = 1.0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let body = format!("{{\"position\": {pos}}}");
                let Ok(mut c) = TcpStream::connect(&addr) else { break };
                let req = format!(
                    "PUT /api/v1/progress/{MKV_ID} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if c.write_all(req.as_bytes()).is_err() {
                    break;
                }
                let mut answer = String::new();
                let _ = c.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.1 200") {
                    *acknowledged.lock().unwrap() = pos;
                }
                pos += 1.0;
            }
        });
        std::thread::sleep(Duration::from_millis(400));
        kill9(s.child.id());
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    drop(s);
    let last = *acknowledged.lock().unwrap();
    assert!(last > 1.0, "some writes were acknowledged");
    let s = Server::launch(&db, &library(), 0, &[], None, 3);
    let got = s.get(&format!("/api/v1/progress/{MKV_ID}")).json()["position"]
        .as_f64()
        .unwrap();
    // The last acknowledged write, or the one in flight when the kill came.
    assert!(
        got == last || got == last + 1.0,
        "acknowledged {last}, found {got}"
    );
}

#[test]
fn a_disk_cache_folder_deleted_while_serving_is_made_again_and_serving_goes_on() {
    let (d, db) = temp_db();
    let cache = d.path().join("segments");
    let args: [&std::ffi::OsStr; 2] = ["--cache-path".as_ref(), cache.as_os_str()];
    let s = Server::start_with(&db, &args, None);
    assert_eq!(
        s.get(&format!("/api/v1/video/{MKV_ID}/original/0.m4s"))
            .status,
        200
    );
    // The prefetcher may be writing the next segments into it meanwhile (ENOTEMPTY): delete
    // until it is gone, as a user's `rm -rf` run again would.
    for _ in 0..100 {
        match std::fs::remove_dir_all(&cache) {
            Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => {
                other.unwrap();
                break;
            }
        }
    }
    // Other segments: made, served, and kept in the folder made again.
    for n in 0..4 {
        assert_eq!(
            s.get(&format!("/api/v1/video/{MP4_ID}/original/{n}.m4s"))
                .status,
            200
        );
    }
    assert_eq!(
        s.get(&format!("/api/v1/video/{MKV_ID}/original/0.m4s"))
            .status,
        200
    );
    assert!(
        std::fs::read_dir(&cache).is_ok_and(|d| d.count() >= 4),
        "the cache folder is there again, with the new segments"
    );
    assert_eq!(s.get("/health").status, 200);
}

#[test]
fn clients_that_hang_up_mid_segment_cost_nothing_lasting() {
    let (_d, db) = temp_db();
    let s = Server::start(&db);
    for n in 0..5 {
        // Ask for a transcode and for a copy, and go away before the answer.
        for r in ["h264-360p", "original"] {
            let mut c = TcpStream::connect(&s.addr).unwrap();
            let req =
                format!("GET /api/v1/video/{HEVC_ID}/{r}/{n}.m4s HTTP/1.1\r\nHost: x\r\n\r\n");
            c.write_all(req.as_bytes()).unwrap();
            drop(c);
        }
    }
    // Read a few bytes of a big answer, then hang up.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.write_all(
        format!("GET /api/v1/video/{MKV_ID}/original/1.m4s HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let mut head = [0u8; 64];
    c.read_exact(&mut head).unwrap();
    drop(c);
    // Everything still answers, and every segment asked for and abandoned can be had.
    for n in 0..5 {
        assert_eq!(
            s.get(&format!("/api/v1/video/{HEVC_ID}/h264-360p/{n}.m4s"))
                .status,
            200
        );
    }
    let metrics = String::from_utf8(s.get("/metrics").body).unwrap();
    assert!(metrics.contains("haema_panics_total 0\n"), "{metrics}");
}

#[test]
fn a_thousand_idle_connections_do_not_stop_a_player() {
    let (_d, db) = temp_db();
    let s = Server::start(&db);
    // This process holds a thousand sockets too: raise its own open-file limit (the server
    // raises its own).
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write a struct we own.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max.min(8192);
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    // Slowloris: connections that send half a request line and then nothing.
    let mut idle = Vec::new();
    for _ in 0..1000 {
        match TcpStream::connect(&s.addr) {
            Ok(mut c) => {
                let _ = c.write_all(b"GET /api/v1/sh");
                idle.push(c);
            }
            Err(e) => panic!("connection {} refused: {e}", idle.len()),
        }
    }
    // A player plays on: the master, a media playlist and every segment, each quickly.
    let master = s.get(&format!("/api/v1/video/{MKV_ID}/master.m3u8"));
    assert_eq!(master.status, 200);
    let mut slowest = Duration::ZERO;
    for n in 0..4 {
        let t = Instant::now();
        assert_eq!(
            s.get(&format!("/api/v1/video/{MKV_ID}/original/{n}.m4s"))
                .status,
            200
        );
        slowest = slowest.max(t.elapsed());
    }
    assert!(
        slowest < Duration::from_secs(5),
        "a segment took {slowest:?}"
    );
    assert_eq!(s.get("/health").status, 200);
    drop(idle);
}
