//! Many `haema serve` behind Debian's nginx with `proxy_cache` (issue 12): three instances,
//! each with its own database, scan the same library; nginx round-robins between them and
//! caches what they mark cacheable. Ids by path and versioned segment URLs are what make any
//! instance's answer good for every client.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::nginx::Nginx;
use common::server::{free_port, Server};
use common::*;

/// nginx on loopback with the README's configuration (its `nginx` block) in front of
/// `upstreams` (`host:port`), the first of them also the one that keeps watch progress.
fn readme_nginx(dir: &Path, upstreams: &[String]) -> Nginx {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let example = readme
        .split("```nginx\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the README's nginx block");
    let servers: String = upstreams
        .iter()
        .map(|u| format!("        server {u} max_fails=1 fail_timeout=3s;\n"))
        .collect();
    let body = example
        .trim()
        .strip_prefix("http {")
        .and_then(|b| b.strip_suffix('}'))
        .expect("the README's nginx block is one http {} block");
    let conf = body
        .replace("listen 8080;", "listen LISTEN;")
        .replace("/var/cache/haema", &format!("{}/cache", dir.display()))
        .replace(
            "        server 10.0.0.1:8096 max_fails=1 fail_timeout=3s;\n        server 10.0.0.2:8096 max_fails=1 fail_timeout=3s;\n        server 10.0.0.3:8096 max_fails=1 fail_timeout=3s;\n",
            &servers,
        )
        .replace("server 10.0.0.1:8096;", &format!("server {};", upstreams[0]))
        // The test's own log (nginx::Nginx::log reads it).
        .replace("    access_log /var/log/nginx/haema.log upstreams;\n", "");
    assert!(
        conf.contains(&upstreams[1])
            && conf.contains(&format!("server {};", upstreams[0]))
            && conf.contains("LISTEN")
            && !conf.contains("/var/log"),
        "the README's nginx block no longer has the lines this test replaces"
    );
    Nginx::start(dir, &conf)
}

/// Every URL a player of `video` may ask for: master, media playlists, and the init and
/// first segments of every rendition, as the playlists name them.
fn urls_of(addr: &str, video: i64, segments: usize) -> Vec<String> {
    let get = |p: &str| String::from_utf8(http("GET", addr, p, &[], b"").body).unwrap();
    let base = format!("/api/v1/video/{video}");
    let master = get(&format!("{base}/master.m3u8"));
    let mut urls = vec![format!("{base}/master.m3u8")];
    let media: Vec<String> = master
        .lines()
        .filter_map(|l| {
            l.split("URI=\"")
                .nth(1)
                .map(|u| u.split('"').next().unwrap().to_owned())
                .or_else(|| (!l.starts_with('#') && !l.is_empty()).then(|| l.to_owned()))
        })
        .collect();
    for m in media {
        let url = format!("{base}/{m}");
        let folder = url.rsplit_once('/').unwrap().0.to_owned();
        let text = get(&url);
        urls.push(url);
        let mut listed = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix("#EXT-X-MAP:URI=\"")
                    .map(|u| u.trim_end_matches('"').to_owned())
                    .or_else(|| (!l.starts_with('#') && !l.is_empty()).then(|| l.to_owned()))
            })
            .take(segments + 1);
        urls.extend(listed.by_ref().map(|u| format!("{folder}/{u}")));
    }
    urls
}

/// Three servers behind nginx: every playlist, init and segment (copied and transcoded) is
/// byte-identical, ETag included, whichever instance made it; hls.js plays and seeks to the
/// right frames through nginx while one instance is killed and restarted; what nginx cached
/// is served again without an upstream. Prints the hit ratio and the bytes each upstream sent.
#[test]
fn servers_behind_nginx_answer_byte_identically_and_hls_js_plays_through_a_restart() {
    let d = tempfile::tempdir().unwrap();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let db = |i: usize| d.path().join(format!("haema-{i}.db"));
    let start = |i: usize| Server::launch(&db(i), &library(), ports[i], &[], None, 3);
    let (a, c) = (start(0), start(2));
    let b = std::sync::Mutex::new(Some(start(1)));
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();

    // Byte-identical answers, whichever instance makes them first (each makes its own).
    for video in [MKV_ID, HEVC_ID] {
        for url in urls_of(&addrs[0], video, 2) {
            let answers: Vec<HttpResponse> = addrs
                .iter()
                .map(|s| http("GET", s, &url, &[], b""))
                .collect();
            for (k, r) in answers.iter().enumerate() {
                assert_eq!(r.status, 200, "{url} from instance {k}");
                assert!(
                    r.body == answers[0].body && r.header("etag") == answers[0].header("etag"),
                    "{url}: instance {k} answers other bytes or another ETag"
                );
            }
        }
    }

    let nginx = readme_nginx(&d.path().join("nginx"), &addrs);
    // Progress goes to the one instance that keeps it, whichever way it comes in.
    let put = http(
        "PUT",
        &nginx.addr,
        &format!("/api/v1/progress/{MKV_ID}"),
        &[("Content-Type", "application/json")],
        br#"{"position": 4.5}"#,
    );
    assert_eq!(put.status, 200);
    assert_eq!(
        a.get(&format!("/api/v1/progress/{MKV_ID}")).json()["position"],
        4.5
    );

    // hls.js plays and seeks through nginx while instance 1 dies and comes back.
    let (at, want) = served_clock_points(&nginx.addr, MKV_ID);
    let url = format!("http://{}/api/v1/video/{MKV_ID}/master.m3u8", nginx.addr);
    let report = std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(1500));
            let dead = b.lock().unwrap().take().unwrap();
            let _ = Command::new("kill")
                .args(["-9", &dead.child.id().to_string()])
                .status();
            drop(dead);
            std::thread::sleep(Duration::from_secs(2));
            *b.lock().unwrap() = Some(start(1));
        });
        browser_report(
            "play.mjs",
            &["--url".as_ref(), url.as_ref(), "--at".as_ref(), at.as_ref()],
        )
    });
    assert_eq!(report["ok"], true, "{report}\n{}", a.trouble());
    if let Some(e) = clock_errors(&report, &want) {
        panic!("hls.js through nginx: {e}: {report}");
    }

    // Every rendition's first segments through nginx, twice: the second time all from its
    // cache, whichever upstream made them.
    let urls = urls_of(&nginx.addr, MKV_ID, 2);
    let mut before = 0;
    for round in 0..2 {
        before = nginx.log().len();
        for u in &urls {
            let r = http("GET", &nginx.addr, u, &[], b"");
            assert_eq!(r.status, 200, "{u} (round {round})");
        }
    }
    let log = nginx.log();
    let segments: Vec<&[String; 6]> = log[before..]
        .iter()
        .filter(|l| l[4].ends_with(".m4s") || l[4].ends_with(".mp4"))
        .collect();
    assert!(
        !segments.is_empty() && segments.iter().all(|l| l[1] == "HIT"),
        "segments asked for again come from the cache: {segments:?}"
    );

    let hits = log.iter().filter(|l| l[1] == "HIT").count();
    let mut bytes: std::collections::BTreeMap<&str, u64> = Default::default();
    for l in &log {
        // A retried request names every upstream it tried; the last one answered.
        let upstream = l[0].rsplit(", ").next().unwrap();
        if upstream != "-" {
            *bytes.entry(upstream).or_default() += l[3].parse::<u64>().unwrap_or(0);
        }
    }
    eprintln!(
        "nginx: {} requests, {hits} cache hits ({:.0}%); bytes per upstream: {bytes:?}",
        log.len(),
        100.0 * hits as f64 / log.len() as f64
    );
    assert!(
        bytes.len() >= 2,
        "requests went round the upstreams: {bytes:?}"
    );
    drop(c);
}
