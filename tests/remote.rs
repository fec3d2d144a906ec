//! Remote sources (issue 12): `haema probe|playlist|segment URL` against Debian's nginx
//! serving files with Range, judged by the local file's output (the same bytes) and by
//! nginx's access log (requests and bytes fetched). Also a server that answers slowly, one
//! that drops connections, one without Range support, a missing file and a closed port.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;

use common::nginx::Nginx;
use common::server::free_port;
use common::*;

/// nginx serving `root` at `/`, the same slowly at `/slow/`, without Range at `/norange/`.
fn file_server(dir: &Path, root: &Path) -> Nginx {
    let root = root.display();
    Nginx::start(
        dir,
        &format!(
            "    server {{
        listen LISTEN;
        root {root};
        location /slow/ {{ alias {root}/; limit_rate 2m; }}
        location /norange/ {{ alias {root}/; max_ranges 0; }}
    }}"
        ),
    )
}

/// A URL path for a file below the served root.
fn url_path(rel: &str) -> String {
    rel.split('/')
        .map(|p| form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join("/")
        .replace('+', "%20")
}

fn haema_out(args: &[&str]) -> Output {
    run(haema().args(args))
}

/// Every fixture read over HTTP gives the local file's playlists and segments, byte for
/// byte (the episode's sidecar subtitles aside: they are files beside the video, not in it).
#[test]
fn remote_files_give_the_playlists_and_segments_of_the_local_ones() {
    let d = tempfile::tempdir().unwrap();
    let nginx = file_server(&d.path().join("nginx"), &library());
    for file in all() {
        let rel = file.strip_prefix(library()).unwrap().to_str().unwrap();
        let url = format!("http://{}/{}", nginx.addr, url_path(rel));
        let local = file.to_str().unwrap();
        let probe = haema_out(&["probe", &url]);
        assert!(probe.status.success(), "{url}: {probe:?}");
        let has_sidecars = file.with_extension("en.srt").exists();
        if !has_sidecars {
            assert_eq!(
                haema_ok(&["playlist".as_ref(), url.as_ref()]),
                haema_ok(&["playlist".as_ref(), local.as_ref()]),
                "{rel}"
            );
        }
        // The copied and AAC renditions the master names (transcoded rungs take long, and
        // come from the same packets).
        let master = String::from_utf8(haema_ok(&["playlist".as_ref(), file.as_os_str()])).unwrap();
        let mut rids: Vec<&str> = master
            .lines()
            .filter_map(|l| {
                l.split("URI=\"")
                    .nth(1)
                    .or((!l.starts_with('#')).then_some(l))
            })
            .filter_map(|u| u.split('/').next())
            .filter(|r| *r == "original" || r.starts_with("audio-"))
            .collect();
        rids.sort();
        rids.dedup();
        assert!(rids.len() >= 2, "{master}");
        for r in rids {
            for seg in ["init", "0", "3"] {
                let make = |src: &str| {
                    haema_ok(&[
                        "segment".as_ref(),
                        src.as_ref(),
                        seg.as_ref(),
                        "--rendition".as_ref(),
                        r.as_ref(),
                    ])
                };
                assert!(make(&url) == make(local), "{rel} {r}/{seg}");
            }
        }
    }
    let log = nginx.log();
    assert!(log.iter().all(|l| l[2] == "206"), "only range requests");
}

/// The size of the `moov` box of an MP4, read from its top-level box headers.
fn moov_size(file: &Path) -> u64 {
    let f = std::fs::File::open(file).unwrap();
    let len = f.metadata().unwrap().len();
    let mut at = 0;
    while at < len {
        let mut h = [0u8; 16];
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut h, at).unwrap();
        let mut size = u64::from(u32::from_be_bytes(h[0..4].try_into().unwrap()));
        if size == 1 {
            size = u64::from_be_bytes(h[8..16].try_into().unwrap());
        }
        if &h[4..8] == b"moov" {
            return size;
        }
        at += size.max(8);
    }
    panic!("no moov in {}", file.display());
}

/// A two-hour film on a remote server (moov at the end, as a plain mux leaves it): its
/// playlists come in at most four requests, and one of its segments, made by a fresh process,
/// costs its own bytes and the index (the moov) within 1.2x. Prints the figures, and those of
/// the same film in Matroska (read by libavformat through the same client).
#[test]
fn a_remote_two_hour_film_costs_its_index_and_its_segment_in_a_few_requests() {
    let d = tempfile::tempdir().unwrap();
    let films = d.path().join("films");
    std::fs::create_dir_all(&films).unwrap();
    let part = films.join("part.ts");
    ffmpeg_make(
        &part,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=24",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:r=48000",
            "-t",
            "60",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "96",
            "-keyint_min",
            "96",
            "-sc_threshold",
            "0",
            "-b:v",
            "300k",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
        ],
    );
    let list = films.join("list.txt");
    std::fs::write(&list, "file part.ts\n".repeat(120)).unwrap();
    for out in ["film.mp4", "film.mkv"] {
        ffmpeg_make(
            &films.join(out),
            &["-f", "concat", "-i", list.to_str().unwrap(), "-c", "copy"],
        );
    }
    std::fs::remove_file(&part).unwrap();
    let nginx = file_server(&d.path().join("nginx"), &films);
    let cost = |args: &[&str]| {
        let before = nginx.log().len();
        let out = haema_out(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        let log = nginx.log();
        let bytes: u64 = log[before..]
            .iter()
            .map(|l| l[3].parse::<u64>().unwrap())
            .sum();
        (out.stdout, log.len() - before, bytes)
    };
    for name in ["film.mp4", "film.mkv"] {
        let url = format!("http://{}/{name}", nginx.addr);
        let (_, playlist_requests, playlist_bytes) = cost(&["playlist", &url]);
        let ranges: Vec<String> = nginx.log().iter().map(|l| l[5].clone()).collect();
        let (segment, requests, bytes) = cost(&["segment", &url, "900"]);
        let local = films.join(name);
        assert!(
            segment == haema_ok(&["segment".as_ref(), local.as_os_str(), "900".as_ref()]),
            "{name}: segment 900 as the local file's"
        );
        eprintln!(
            "{name} (2 h, {} MB): playlist in {playlist_requests} requests, {} kB; segment 900 \
             ({} kB) by a fresh process in {requests} requests, {} kB",
            local.metadata().unwrap().len() / 1_000_000,
            playlist_bytes / 1000,
            segment.len() / 1000,
            bytes / 1000
        );
        if name.ends_with(".mp4") {
            let moov = moov_size(&local);
            assert!(
                playlist_requests <= 4,
                "{playlist_requests} requests: {ranges:?}"
            );
            assert!(
                bytes as f64 <= 1.2 * (segment.len() as u64 + moov) as f64,
                "{bytes} bytes fetched for a {} byte segment and a {moov} byte moov",
                segment.len()
            );
        }
    }

    // The same films as a server's remote: entries. The scan probes them once (kept in the
    // database); a server started afresh then makes a segment from the cached probe: what a
    // segment costs a server, the file's header and the segment's own bytes.
    let cfg = d.path().join("haema.yaml");
    let urls: Vec<String> = ["film.mp4", "film.mkv"]
        .iter()
        .map(|n| format!("http://{}/{n}", nginx.addr))
        .collect();
    std::fs::write(&cfg, format!("remote:\n  - {}\n  - {}\n", urls[0], urls[1])).unwrap();
    let (db, empty) = (d.path().join("haema.db"), d.path().join("library"));
    std::fs::create_dir_all(&empty).unwrap();
    let args = ["--config".as_ref(), cfg.as_os_str()];
    drop(common::server::Server::launch(
        &db, &empty, 0, &args, None, 2,
    ));
    let s = common::server::Server::launch(&db, &empty, 0, &args, None, 2);
    for (url, name) in urls.iter().zip(["film.mp4", "film.mkv"]) {
        let id = haema::library::video_id(url);
        let before = nginx.log().len();
        let r = s.get(&format!("/api/v1/video/{id}/original/900.m4s"));
        assert_eq!(r.status, 200, "{}", s.trouble());
        // What it prefetches next comes in meanwhile: let it settle, and say so.
        std::thread::sleep(std::time::Duration::from_secs(2));
        let log = nginx.log();
        let bytes: u64 = log[before..]
            .iter()
            .map(|l| l[3].parse::<u64>().unwrap())
            .sum();
        eprintln!(
            "{name}: segment 900 ({} kB) by a server with the probe cached, with its prefetch \
             of the next segments: {} requests, {} kB",
            r.body.len() / 1000,
            log.len() - before,
            bytes / 1000
        );
        if name == "film.mp4" {
            // Every source the server opens reads the moov: fetched once all the same.
            let moov = moov_size(&films.join(name));
            let whole_moovs = log[before..]
                .iter()
                .filter(|l| l[3].parse::<u64>().unwrap() >= moov - 16)
                .count();
            assert_eq!(whole_moovs, 1, "{:?}", &log[before..]);
        }
    }
}

/// A proxy in front of `upstream` that closes every other connection it accepts after
/// reading the request, without an answer.
fn dropping_proxy(upstream: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let Ok(mut client) = client else { continue };
            if n % 2 == 0 {
                let mut buf = [0u8; 4096];
                let _ = client.read(&mut buf);
                drop(client);
                continue;
            }
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
                let _ = s2.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let (mut client, mut server) = (client, server);
                let _ = std::io::copy(&mut server, &mut client);
                let _ = client.flush();
            });
        }
    });
    addr
}

/// A slow server and one that drops connections still give the local file's bytes (the
/// client tries again); a server without Range, a missing file and a closed port give clear
/// errors and non-zero exits, fast.
#[test]
fn slow_and_dropping_servers_give_the_same_bytes_and_bad_ones_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let nginx = file_server(&d.path().join("nginx"), &library());
    let rel = "Movies/Clock (2024)/Clock (2024).mkv";
    let local = haema_ok(&["segment".as_ref(), mkv().as_os_str(), "2".as_ref()]);
    let proxy = dropping_proxy(nginx.addr.clone());
    for base in [
        format!("http://{}/slow", nginx.addr),
        format!("http://{proxy}"),
    ] {
        let url = format!("{base}/{}", url_path(rel));
        let out = haema_out(&["segment", &url, "2"]);
        assert!(
            out.status.success() && out.stdout == local,
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let closed = format!("http://127.0.0.1:{}/x.mkv", free_port());
    let cases = [
        (
            format!("http://{}/norange/{}", nginx.addr, url_path(rel)),
            "range requests",
        ),
        (format!("http://{}/nothing.mkv", nginx.addr), "404"),
        (closed, "Connection"),
    ];
    for (url, says) in cases {
        let started = std::time::Instant::now();
        let out = haema_out(&["probe", &url]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{url}: {err}");
        assert!(
            err.lines().last().unwrap_or("").contains(says),
            "{url}: {err}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "{url}: gave up only after {:?}",
            started.elapsed()
        );
    }
}

/// A URL in the config's `remote:` list is served like a library file: listed as a film
/// (named by its path), its id a function of the URL, its segments the local file's bytes.
#[test]
fn a_server_serves_the_configs_remote_urls_like_library_files() {
    let d = tempfile::tempdir().unwrap();
    let nginx = file_server(&d.path().join("nginx"), &library());
    let url = format!(
        "http://{}/{}",
        nginx.addr,
        url_path("Movies/Clock (2024)/Clock (2024).mkv")
    );
    let cfg = d.path().join("haema.yaml");
    std::fs::write(&cfg, format!("remote:\n  - {url}\n")).unwrap();
    let empty = d.path().join("library");
    std::fs::create_dir_all(&empty).unwrap();
    let s = common::server::Server::launch(
        &d.path().join("haema.db"),
        &empty,
        0,
        &["--config".as_ref(), cfg.as_os_str()],
        None,
        1,
    );
    let shows = s.get("/api/v1/shows").json();
    let id = haema::library::video_id(&url);
    assert_eq!(shows[0]["info"]["title"], "Clock", "{shows}");
    assert_eq!(shows[0]["video"], id.to_string(), "{shows}");
    let master = s.get(&format!("/api/v1/video/{id}/master.m3u8"));
    assert_eq!(master.status, 200);
    let seg = s.get(&format!("/api/v1/video/{id}/original/2.m4s"));
    let local = haema_ok(&["segment".as_ref(), mkv().as_os_str(), "2".as_ref()]);
    assert!(seg.status == 200 && seg.body == local, "{}", s.trouble());
}
