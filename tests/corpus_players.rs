//! The real-world corpus (tests/corpus/make.sh) in three players: hls.js, video.js and
//! shaka-player in headless Chromium play each file through `haema serve`, seek forward into
//! the middle, near the end and back into an early segment, and read the frame number drawn
//! in the picture after each seek: the frame shown at t must be the frame of t, and playback
//! must go on. A turned phone clip reads right only when the player stands it upright.
//!
//! Needs Chromium and the npm packages of tests/browser, as tests/browser.rs does.

mod common;

use common::corpus::{corpus, cue_bars, USED};
use common::server::{temp_db, Server};
use common::{browser_report, ffprobe_video_csv, frame_numbers, frame_times, http};

/// The files, as a user's library would hold them side by side: the corpus the tests use,
/// but for HLG (its players' path is HDR10's).
fn files() -> Vec<&'static str> {
    USED.into_iter().filter(|f| *f != "hlg.mkv").collect()
}

/// Every rendition the master of a served video names (variants and audio), each made whole
/// as a player would fetch it: the players then never wait for a transcode, so what they are
/// judged on is playback, not how fast this machine encodes. Returns the bytes of the first
/// variant's video (init and every segment).
fn fetch_everything(addr: &str, video: i64) -> Vec<u8> {
    let base = format!("/api/v1/video/{video}");
    let get = |path: &str| {
        let r = http("GET", addr, &format!("{base}/{path}"), &[], b"");
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        r.body
    };
    let master = String::from_utf8(get("master.m3u8")).expect("text");
    let folder = |uri: &str| uri.split('/').next().expect("folder").to_owned();
    let mut renditions: Vec<String> = Vec::new();
    let mut lines = master.lines();
    while let Some(l) = lines.next() {
        let found = if l.starts_with("#EXT-X-STREAM-INF") {
            lines.next().map(folder)
        } else {
            l.split("URI=\"").nth(1).map(folder)
        };
        if let Some(r) = found.filter(|r| !renditions.contains(r)) {
            renditions.push(r);
        }
    }
    let first = master
        .lines()
        .skip_while(|l| !l.starts_with("#EXT-X-STREAM-INF"))
        .nth(1)
        .map(folder)
        .expect("a variant");
    let mut first_bytes = Vec::new();
    for r in &renditions {
        let playlist = String::from_utf8(get(&format!("{r}/stream.m3u8"))).expect("text");
        let mut bytes = if playlist.contains("#EXT-X-MAP") {
            get(&format!("{r}/init.mp4"))
        } else {
            Vec::new()
        };
        for seg in playlist
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            bytes.extend(get(&format!("{r}/{seg}")));
        }
        if *r == first {
            first_bytes = bytes;
        }
    }
    first_bytes
}

/// The seek points of a served video, from the first variant its master offers: the middle of
/// three frames (in the middle, at nine tenths, early) as (time, index), every frame's number
/// in the order shown, and whether the frame rate varies.
fn clock_points(addr: &str, video: i64) -> (Vec<(f64, usize)>, Vec<u32>, bool) {
    let bytes = fetch_everything(addr, video);
    let tmp = tempfile::tempdir().expect("temp dir");
    let whole = tmp.path().join("variant.mp4");
    std::fs::write(&whole, bytes).expect("write");
    // Players put the start of the playlist where the video's first segment starts decoding
    // (its tfdt), which is where the file's timeline sits on the player's clock.
    let origin = ffprobe_video_csv(
        &whole,
        &[
            "-show_entries",
            "packet=dts_time",
            "-read_intervals",
            "%+#1",
        ],
    )
    .iter()
    .find_map(|l| l.parse::<f64>().ok())
    .expect("the first packet's decode time");
    let times: Vec<f64> = frame_times(&whole, &[])
        .iter()
        .map(|t| t - origin)
        .collect();
    let numbers = frame_numbers(&whole);
    assert_eq!(times.len(), numbers.len(), "video {video}");
    let n = times.len();
    assert!(n > 10, "video {video}: {n} frames");
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let shortest = gaps.iter().copied().fold(f64::MAX, f64::min);
    let vfr = gaps.iter().any(|&g| g > shortest * 1.5);
    let points = [n / 2, n * 9 / 10, 3]
        .iter()
        .map(|&k| ((times[k] + times[k + 1]) / 2.0, k))
        .collect();
    (points, numbers, vfr)
}

/// The frames a player showed at the clock points, against the frames of those times: a
/// message naming the wrong ones, or `None`. As in tests/browser.rs, a player may be off by at
/// most one frame, the same way at every point (it may put its origin where the video starts
/// rather than where the earliest track does), counted in frames shown; with a variable frame
/// rate such a shift moves the frame at one point and not at another, so each point may be
/// one frame off or exact, never off the other way. Where frames are not evenly spaced
/// (`vfr`), Chromium picks the frame to show around a gap by its estimate of frame duration,
/// so a point may be one frame off either way.
fn clock_errors(
    r: &serde_json::Value,
    points: &[(f64, usize)],
    numbers: &[u32],
    vfr: bool,
) -> Option<String> {
    let got: Vec<i64> = r["clock"]
        .as_array()
        .map(|c| c.iter().map(|x| x["got"].as_i64().unwrap_or(-1)).collect())
        .unwrap_or_default();
    if got.len() != points.len() {
        return Some(format!(
            "{} frames read, {} asked for",
            got.len(),
            points.len()
        ));
    }
    let index = |g: i64| numbers.iter().position(|&n| i64::from(n) == g);
    let offsets: Vec<Option<i64>> = got
        .iter()
        .zip(points)
        .map(|(&g, &(_, k))| index(g).map(|i| i as i64 - k as i64))
        .collect();
    let late = offsets.iter().flatten().any(|&o| o > 0);
    let early = offsets.iter().flatten().any(|&o| o < 0);
    let wrong: Vec<String> = got
        .iter()
        .zip(points)
        .zip(&offsets)
        .filter(|(_, o)| o.is_none_or(|o| o.abs() > 1) || (late && early && !vfr))
        .map(|((g, (t, k)), _)| format!("frame {g} shown at {t:.3} s, where {} is", numbers[*k]))
        .collect();
    (!wrong.is_empty()).then(|| wrong.join("; "))
}

#[test]
fn hls_js_video_js_and_shaka_play_every_corpus_file_and_seek_to_the_right_frame() {
    let lib = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let files = files();
    for &name in &files {
        let file = corpus(name);
        let to = lib.path().join(name);
        if std::fs::hard_link(&file, &to).is_err() {
            std::fs::copy(&file, &to).expect("copy into the library");
        }
    }
    let (_d, db) = temp_db();
    let s = Server::launch(&db, lib.path(), 0, &[], None, files.len());
    let mut failures = Vec::new();
    for &name in &files {
        let video = haema::library::video_id(name);
        let (points, numbers, vfr) = clock_points(&s.addr, video);
        let at: Vec<String> = points.iter().map(|(t, _)| format!("{t:.4}")).collect();
        let at = at.join(",");
        let url = format!("http://{}/api/v1/video/{video}/master.m3u8", s.addr);
        for player in ["hls.js", "videojs", "shaka"] {
            // A second try where the first fails: the first failure is printed, and only two
            // in a row fail the test (a browser on a loaded machine can miss a 15 s seek
            // deadline; a wrong frame shows in both).
            let mut verdicts = Vec::new();
            for _ in 0..2 {
                let r = if player == "hls.js" {
                    let args = ["--url", &url, "--at", &at, "--seek", "0.6"];
                    let args: Vec<&std::ffi::OsStr> =
                        args.iter().map(std::ffi::OsStr::new).collect();
                    browser_report("play.mjs", &args)
                } else {
                    let args = ["--player", player, "--url", &url, "--at", &at];
                    let args: Vec<&std::ffi::OsStr> =
                        args.iter().map(std::ffi::OsStr::new).collect();
                    browser_report("players.mjs", &args)
                };
                let verdict = if r["ok"] != true {
                    let brief = serde_json::json!({
                        "clock": r["clock"], "errors": r["errors"], "error": r["error"],
                        "stuck": r["stuck"], "start_ms": r["start_ms"], "seek_ms": r["seek_ms"],
                        "plays_on_ms": r["plays_on_ms"], "stalls": r["stalls"],
                    });
                    Some(format!("{player} {name}: did not play: {brief}"))
                } else {
                    clock_errors(&r, &points, &numbers, vfr)
                        .map(|e| format!("{player} {name}: {e}"))
                };
                match verdict {
                    None => break,
                    Some(v) => {
                        eprintln!("{v}");
                        verdicts.push(v);
                    }
                }
            }
            if verdicts.len() == 2 {
                failures.extend(verdicts);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        s.trouble()
    );
}

#[test]
fn clock_errors_allow_each_point_one_frame_off_the_same_way() {
    let numbers: Vec<u32> = vec![0, 1, 2, 4, 5, 7, 8, 9];
    let points = [(0.0, 2), (0.0, 5), (0.0, 6)];
    let report = |got: [i64; 3]| serde_json::json!({ "clock": got.iter().map(|g| serde_json::json!({ "got": g })).collect::<Vec<_>>() });
    let check = |got, vfr| clock_errors(&report(got), &points, &numbers, vfr);
    assert_eq!(check([2, 7, 8], false), None);
    // One frame late everywhere, across a skipped number: still one frame.
    assert_eq!(check([4, 8, 9], false), None);
    // Late at one point only (a variable frame rate).
    assert_eq!(check([2, 8, 8], false), None);
    assert!(check([5, 9, 9], false).is_some());
    assert!(check([3, 7, 8], false).is_some());
    // Early at one point and late at another: only around a variable frame rate's gaps.
    assert!(check([1, 8, 8], false).is_some());
    assert_eq!(check([1, 8, 8], true), None);
    assert!(check([1, 9, 8], true).is_some());
}

/// A Blu-ray rip's PGS track in Haema's own web page: offered in the subtitle menu, and once
/// chosen the picture has it drawn in during its cue (cue 1, one bar, 2 to 4 s) and not
/// outside it.
#[test]
fn the_web_page_burns_in_a_blu_ray_rips_pgs_subtitles_when_they_are_chosen() {
    let lib = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let file = corpus("pgs.mkv");
    let to = lib.path().join("Subtitled.mkv");
    if std::fs::hard_link(&file, &to).is_err() {
        std::fs::copy(&file, &to).expect("copy into the library");
    }
    let (_d, db) = temp_db();
    let s = Server::launch(&db, lib.path(), 0, &[], None, 1);
    let base = format!("http://{}", s.addr);
    let args = [base.as_str(), "Subtitled", "3.0", "6.0"];
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let r = browser_report("burn.mjs", &args);
    assert_eq!(r["ok"], true, "{r}\n{}", s.trouble());
    assert_eq!(r["selected"], "English (PGS) (burned in)", "{r}");
    let row = |k: &str| -> Vec<u8> {
        r[k]["row"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u8)
            .collect()
    };
    // The frames shown are of cue 1's time (frames 48 to 95 at 24 fps) and of no cue's (4 to
    // 8 s): the player's clock starts where the file's first stream does, a few frames off.
    let frame = |k: &str| r[k]["frame"].as_i64().unwrap();
    assert!((48..96).contains(&frame("in_cue")), "{r}");
    assert!((96..192).contains(&frame("outside")), "{r}");
    assert_eq!(cue_bars(&row("in_cue")), Some(1), "{r}");
    assert_eq!(cue_bars(&row("outside")), None, "{r}");
}
