//! A real browser as the client: hls.js in headless Chromium plays the static tree over HTTP,
//! seeks into the middle, and reads the picture clock to prove the frame shown at time t is
//! the frame of time t; video.js and shaka-player do the same through `haema serve`.
//!
//! Needs Debian's chromium and the npm packages of tests/browser (scripts/test.sh installs
//! both). Without them this test fails and says so: it never passes without having played.

mod common;

use std::path::Path;

use common::server::{temp_db, Server};
use common::*;

fn play(tree: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<&std::ffi::OsStr> = vec![tree.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    browser_report("play.mjs", &args)
}

/// hls.js playing a URL (a server's master playlist).
fn play_url(url: &str, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<&std::ffi::OsStr> = vec!["--url".as_ref(), url.as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    browser_report("play.mjs", &args)
}

/// The seek times of a tree's clock check (as `--at`) and the frames they must show, judged
/// by ffprobe (where frame 0 is shown) and the playlist's EXTINF list.
fn tree_clock_points(t: &Path) -> (String, Vec<u32>) {
    let whole = t.join("original.mp4");
    std::fs::write(&whole, concatenated(t, "original")).unwrap();
    let (times, want) = clock_points(&extinfs(t, "original"), first_frame_time(&whole));
    let at: Vec<String> = times.iter().map(|x| format!("{x:.4}")).collect();
    (at.join(","), want)
}

#[test]
fn hls_js_plays_seeks_and_shows_the_right_frame_for_the_time() {
    // The HEVC 10-bit file plays through its H.264 variant: Chromium can't decode HEVC. The
    // HEVC file and the Matroska file without Cues have open GOPs.
    for file in [mkv(), mp4(), mkv_no_cues(), hevc()] {
        let t = tree(&file);
        let (at, want) = tree_clock_points(t.path());
        let r = play(t.path(), &["--at", &at, "--seek", "0.6"]);
        assert_eq!(r["ok"], true, "{}: {r}", file.display());
        assert!(r["frames"].as_u64().unwrap() > 10, "{r}");
        if let Some(e) = clock_errors(&r, &want) {
            panic!("{}: {e}: {r}", file.display());
        }
        assert!(
            r["errors"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["fatal"] == false),
            "{r}"
        );
    }
}

#[test]
fn hls_js_switches_to_another_audio_language_and_keeps_playing() {
    let t = tree(&mp4());
    // The AAC group holds English (copied), German (AC-3 transcoded to AAC) and Spanish; the
    // AC-3 variant itself is filtered out by hls.js in Chromium, which can't decode AC-3.
    let r = play(t.path(), &["--audio", "1", "--seek", "0.3"]);
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        r["audio_tracks"],
        serde_json::json!(["eng", "deu", "spa"]),
        "{r}"
    );
    assert_eq!(r["audio_track"], 1, "{r}");
    // Not only what the script set: the German rendition's segments were fetched (hls.js
    // starts on English and fetches German only once switched) and sound was decoded.
    let fetched =
        |r: &serde_json::Value, what: &str| {
            r["requested"].as_array().unwrap().iter().any(|p| {
                p.as_str().unwrap().starts_with(what) && p.as_str().unwrap().ends_with(".m4s")
            })
        };
    assert!(fetched(&r, "/audio-2-deu-aac/"), "{r}");
    assert!(r["audio_decoded_bytes"].as_u64().unwrap() > 0, "{r}");
    let before = play(t.path(), &["--seek", "0.3"]);
    assert!(
        !fetched(&before, "/audio-2-deu-aac/"),
        "German fetched unasked: {before}"
    );
}

#[test]
fn hls_js_switches_quality_in_the_middle_of_playback_and_shows_the_right_frames_in_the_rung() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("720p.mkv");
    ffmpeg_make_clock(
        &file,
        "1280x720",
        16,
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=d=16",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "48",
            "-c:a",
            "aac",
        ],
    );
    let t = tree(&file);
    let (at, want) = tree_clock_points(t.path());
    // h264-360p, h264-480p, original (720p), as hls.js sorts them: switch to the first, then
    // seek and read the clock there, in a transcoded rung.
    let r = play(t.path(), &["--level", "0", "--seek", "0.7", "--at", &at]);
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["levels"].as_array().unwrap().len(), 3, "{r}");
    assert!(
        r["switch_ms"].as_i64().unwrap() >= 0,
        "playback stalled after the switch: {r}"
    );
    assert_eq!(r["level_after_switch"], 0, "{r}");
    assert_eq!(r["w"], 640, "{r}");
    assert_eq!(clock_errors(&r, &want), None, "{r}");
}

#[test]
fn hls_js_shows_subtitle_cues_at_their_time_with_their_text() {
    let t = tree(&mkv());
    // Track 0 is the English SRT; playing from 60% (about 12 s) loads the 12-14 s cue.
    let r = play(t.path(), &["--subs", "0", "--seek", "0.6"]);
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        r["subtitle_tracks"],
        serde_json::json!(["eng", "fra"]),
        "{r}"
    );
    let cues: Vec<&serde_json::Value> = r["text_tracks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["mode"] == "showing")
        .flat_map(|t| t["cues"].as_array().unwrap())
        .collect();
    let cue = cues
        .iter()
        .find(|c| c[2] == "Twelve to fourteen")
        .unwrap_or_else(|| panic!("cue not shown: {r}"));
    // The media element's clock runs ahead of the playlist's by the file's reorder delay
    // (under 0.1 s here), as the video frames do.
    let start = cue[0].as_f64().unwrap();
    let end = cue[1].as_f64().unwrap();
    assert!(
        (start - 12.0).abs() < 0.15 && (end - start - 2.0).abs() < 0.01,
        "{r}"
    );
}

/// video.js (VHS) and shaka-player, beside hls.js: every fixture through `haema serve`, seeks
/// to the first and last frame of three segments (forward, near the end, back into an early
/// one), the frame clock after each, and playing on after the last; the film with a subtitle
/// track showing. One player working proves little: they differ.
#[test]
fn video_js_and_shaka_play_every_fixture_through_the_server_and_seek_to_the_right_frame() {
    let (_d, db) = temp_db();
    let s = Server::start(&db);
    for video in IDS {
        let (at, want) = served_clock_points(&s.addr, video);
        for player in ["videojs", "shaka"] {
            let url = format!("http://{}/api/v1/video/{video}/master.m3u8", s.addr);
            let mut args = vec!["--player", player, "--url", &url, "--at", &at];
            // The film plays with its English subtitles showing.
            if video == MKV_ID {
                args.extend(["--subs", "eng"]);
            }
            let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
            let r = browser_report("players.mjs", &args);
            assert_eq!(
                r["ok"],
                true,
                "{player} video {video}: {r}\n{}",
                s.trouble()
            );
            if !r["stuck"].is_null() {
                eprintln!(
                    "{player} video {video} started only when asked again: {r}\n{}",
                    s.trouble()
                );
            }
            if let Some(e) = clock_errors(&r, &want) {
                panic!("{player} video {video}: {e}: {r}");
            }
            if video == MKV_ID {
                let cues = r["text_tracks"][0]["cues"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                assert!(
                    cues.iter().any(|c| c == "Twelve to fourteen"),
                    "{player}: subtitles not shown: {r}"
                );
            }
        }
    }
}

/// A film whose default audio is AC-3 5.1 with an AAC 44.1 kHz stereo track beside it (another
/// sample rate, another frame duration than the video's grid): video.js and shaka-player with
/// the second track selected seek to the right frame and play on.
#[test]
fn video_js_and_shaka_seek_to_the_right_frame_with_a_non_default_audio_rendition() {
    const ALT: i64 = haema::library::video_id("Movies/Alt (2024)/Alt (2024).mkv");
    let d = tempfile::tempdir().unwrap();
    let film = d.path().join("lib/Movies/Alt (2024)");
    std::fs::create_dir_all(&film).unwrap();
    ffmpeg_make_clock(
        &film.join("Alt (2024).mkv"),
        "640x360",
        20,
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=20:r=48000",
            "-f",
            "lavfi",
            "-i",
            "sine=f=660:d=20:r=44100",
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-map",
            "2:a",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            "48",
            "-c:a:0",
            "ac3",
            "-ac:a:0",
            "6",
            "-b:a:0",
            "448k",
            "-c:a:1",
            "aac",
            "-ac:a:1",
            "2",
            "-metadata:s:a:0",
            "language=eng",
            "-metadata:s:a:1",
            "language=spa",
            "-disposition:a:0",
            "default",
        ],
    );
    let s = Server::launch(
        &d.path().join("haema.db"),
        &d.path().join("lib"),
        0,
        &[],
        None,
        1,
    );
    let (at, want) = served_clock_points(&s.addr, ALT);
    let url = format!("http://{}/api/v1/video/{ALT}/master.m3u8", s.addr);
    for player in ["videojs", "shaka"] {
        let args = [
            "--player", player, "--url", &url, "--at", &at, "--audio", "spa",
        ];
        let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        let r = browser_report("players.mjs", &args);
        assert_eq!(r["ok"], true, "{player}: {r}\n{}", s.trouble());
        let lang = r["audio_language"].as_str().unwrap_or_default();
        assert!(lang == "spa" || lang == "es", "{player}: {r}");
        assert_eq!(clock_errors(&r, &want), None, "{player}: {r}");
    }
}

/// A live channel in hls.js, joined 14 s after the channel's epoch (the pilot airs 0-20 s,
/// copied, then the open-GOP second episode as its source-size rung): it starts, and plays
/// through the programme change without a stall, an error or a frame out of order, the new
/// programme from its first picture. The episode's decode times run a reorder delay (85 ms)
/// ahead of its pictures, and hls.js maps a new discontinuity's first decode time to where the
/// last picture ended: it stepped over a hole that long, with a stall, until a programme's
/// first segment began decoding at its first picture (`mp4::decode_from_first_picture`).
#[test]
fn hls_js_plays_a_copy_channel_through_a_programme_change_without_a_stall() {
    plays_through_a_programme_change(14, "copy");
}

/// The same channel joined 34 s in: the episode (a rung) gives way to the pilot, copied with
/// B-frames. Shown from its first picture and without a stall: when the rung before it was
/// made to decode each picture when shown, Chromium dropped the pilot's first 2 s (its next
/// keyframe held).
#[test]
fn hls_js_plays_into_a_copied_b_frame_programme_from_its_first_picture() {
    plays_through_a_programme_change(34, "copy");
}

/// hls.js on a channel of rungs (`h264-360p`), joined 34 s in: the second episode gives way
/// to the pilot 6 s later, without a stall.
#[test]
fn hls_js_plays_a_rung_channel_through_a_programme_change_without_a_stall() {
    plays_through_a_programme_change(34, "h264-360p");
}

/// hls.js joins a `profile` channel `secs` after its epoch and plays 22 s through the
/// programme change 6 s later: no stall, and the new programme shown from its first second.
fn plays_through_a_programme_change(secs: u32, profile: &str) {
    let (d, s) = live_channel_server(secs, profile);
    let url = format!("http://{}/api/v1/channels/clock-tv/master.m3u8", s.addr);
    let r = play_url(&url, &["--live", "22"]);
    assert_eq!(r["ok"], true, "{r}\n{}", s.trouble());
    let change = programme_change(&r);
    assert_eq!(r["stalls"], serde_json::json!([]), "{r}");
    let after = r["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["t"].as_f64().unwrap() > change)
        .and_then(|x| x["frame"].as_i64());
    assert!(
        after.is_some_and(|f| f < 24),
        "the new programme begins at frame {after:?}: {r}"
    );
    drop(d);
}

/// hls.js joins a copy channel in the middle of a programme with open GOPs (the second
/// episode, x264 open-gop: each segment's first frames lean on the GOP before). Played as the
/// file's own bytes, Chromium failed on the first of them ("PIPELINE_ERROR_DECODE: Failed to
/// send video packet", fatal); the channel plays it as its source-size rung (an IDR at every
/// cut), so a join anywhere decodes, frame after frame.
#[test]
fn hls_js_joins_a_copy_channel_in_the_middle_of_an_open_gop_programme() {
    // 38 s in: the episode airs 20-40 s, its segments from 24 s on start with open GOPs.
    let (d, s) = live_channel_server(38, "copy");
    let url = format!("http://{}/api/v1/channels/clock-tv/master.m3u8", s.addr);
    let r = play_url(&url, &["--live", "6"]);
    assert_eq!(r["ok"], true, "{r}\n{}", s.trouble());
    // The first sample may be taken before the first picture is painted.
    let frames: Vec<i64> = r["samples"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .filter_map(|x| x["frame"].as_i64())
        .collect();
    assert!(
        frames.first().is_some_and(|f| (96..480).contains(f)) && frames.len() > 10,
        "joined the episode after its first segment: {frames:?}"
    );
    assert!(
        frames.windows(2).all(|w| w[0] <= w[1] || w[1] + 240 < w[0]),
        "the frame clock only moves forward (or starts again at the next programme): {frames:?}"
    );
    drop(d);
}

/// hls.js on a copy channel whose second programme's file is gone (no rescan yet): the
/// programme airs as its slate, black pictures carrying their own parameter sets in band
/// under the file's own init, and hls.js plays from the first programme through the slate
/// into the first again without an error or a stall.
#[test]
fn hls_js_plays_through_a_copied_programmes_slate_without_a_stall() {
    let d = tempfile::tempdir().unwrap();
    let lib = d.path().join("lib");
    common::live::square_film(
        &lib.join("Movies/Alpha (2024)/Alpha (2024).mkv"),
        12,
        48_000,
    );
    let beta = lib.join("Movies/Beta (2024)/Beta (2024).mkv");
    common::live::square_film(&beta, 8, 48_000);
    let cfg = d.path().join("haema.yaml");
    std::fs::write(
        &cfg,
        "channels:\n  - name: Films\n    number: 3\n    sources: [Movies]\n    order: sequential\n    start: 2026-01-01T00:00:00Z\n",
    )
    .unwrap();
    let args = [
        "--config".as_ref(),
        cfg.as_os_str(),
        "--clock".as_ref(),
        "2026-01-01T00:00:06Z".as_ref(),
    ];
    let s = Server::launch(&d.path().join("haema.db"), &lib, 0, &args, None, 2);
    std::fs::remove_file(&beta).unwrap();
    // Alpha airs 0-12 s, Beta's slate 12-20 s, Alpha 20-32 s, and again. Joined 6 s in,
    // hls.js starts somewhere in the window (at 0 s, or 12 s on a busy machine): 30 s of
    // playing take in a whole slate and Alpha after it.
    let url = format!("http://{}/api/v1/channels/films/master.m3u8", s.addr);
    let r = play_url(&url, &["--live", "30"]);
    assert_eq!(r["ok"], true, "{r}\n{}", s.trouble());
    assert_eq!(r["stalls"], serde_json::json!([]), "{r}");
    let samples: Vec<(f64, i64)> = r["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| Some((x["t"].as_f64()?, x["frame"].as_i64()?)))
        .collect();
    // A run of black (the clock reads 0) as long as most of Beta's 8 s, then Alpha again.
    let (mut black_since, mut through) = (None, false);
    for w in samples.windows(2) {
        match (w[0].1, w[1].1) {
            (0, 0) => {
                black_since.get_or_insert(w[0].0);
            }
            (0, f) if (1..240).contains(&f) => {
                through |= black_since.is_some_and(|t0| w[0].0 - t0 > 5.5);
                black_since = None;
            }
            _ => black_since = None,
        }
    }
    assert!(through, "the slate, then Alpha: {samples:?}");
    assert!(std::fs::read_to_string(&s.log)
        .unwrap()
        .contains("airs as a slate"));
    drop(d);
}

/// video.js (VHS) and shaka-player join the same live channel, its epoch 14 s before now on
/// the real clock (shaka places the live edge by PROGRAM-DATE-TIME against the wall clock),
/// and play 22 s through the programme change: no fatal error, the picture never held while
/// the position moved, the frame clock starts again once and otherwise only moves forward.
/// (shaka-player used to hold the pilot's last picture for 4-5 s at the change: the episode's
/// sound started 21 ms before its picture, so its first decode time came before the pilot's
/// last sound's, and Chromium, in segments mode, dropped the episode's video up to its next
/// keyframe. Each programme's sound is now cut to its picture's span.)
#[test]
fn video_js_and_shaka_play_a_live_channel_through_a_programme_change() {
    for player in ["videojs", "shaka"] {
        let d = tempfile::tempdir().unwrap();
        let cfg = d.path().join("haema.yaml");
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64;
        let start = haema::channel::iso8601(now_us - 14_000_000);
        std::fs::write(
            &cfg,
            format!("channels:\n  - name: Clock TV\n    number: 5\n    sources: [Series]\n    start: {start}\n"),
        )
        .unwrap();
        let s = Server::start_with(
            &d.path().join("haema.db"),
            &["--config".as_ref(), cfg.as_os_str()],
            None,
        );
        let url = format!("http://{}/api/v1/channels/clock-tv/master.m3u8", s.addr);
        let args = ["--player", player, "--url", &url, "--live", "22"];
        let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        let r = browser_report("players.mjs", &args);
        assert_eq!(r["ok"], true, "{player}: {r}\n{}", s.trouble());
        programme_change(&r);
        // The longest time the position moved while the picture did not.
        let mut held: f64 = 0.0;
        let mut since: Option<(i64, f64)> = None;
        for x in r["samples"].as_array().unwrap() {
            let (f, t) = (x["frame"].as_i64().unwrap_or(-1), x["t"].as_f64().unwrap());
            match since {
                Some((g, t0)) if g == f => held = held.max(t - t0),
                _ => since = Some((f, t)),
            }
        }
        assert!(held < 0.5, "{player}: the picture held {held:.1} s: {r}");
        eprintln!("{player}: joined the live channel in {} ms", r["start_ms"]);
    }
}

/// A server whose clock is `secs` into a channel of the series (the pilot, 20 s, then the
/// second episode, 20 s, and again) played as `profile`: at 14 s, a programme change 6 s
/// after a player joins.
fn live_channel_server(secs: u32, profile: &str) -> (tempfile::TempDir, Server) {
    let d = tempfile::tempdir().unwrap();
    let clock = format!("2026-01-01T00:00:{secs:02}Z");
    let cfg = d.path().join("haema.yaml");
    std::fs::write(
        &cfg,
        format!("channels:\n  - name: Clock TV\n    number: 5\n    sources: [Series]\n    start: 2026-01-01T00:00:00Z\n    profile: {profile}\n"),
    )
    .unwrap();
    let args = [
        "--config".as_ref(),
        cfg.as_os_str(),
        "--clock".as_ref(),
        clock.as_ref(),
    ];
    let s = Server::start_with(&d.path().join("haema.db"), &args, None);
    (d, s)
}

/// The position where a live report's frame clock starts again (the programme change), after
/// checking it does so once and otherwise only moves forward.
fn programme_change(r: &serde_json::Value) -> f64 {
    let samples = r["samples"].as_array().unwrap();
    let frames: Vec<i64> = samples
        .iter()
        .filter_map(|x| x["frame"].as_i64())
        .filter(|f| *f >= 0)
        .collect();
    let restarts = frames.windows(2).filter(|w| w[1] + 240 < w[0]).count();
    assert_eq!(restarts, 1, "one programme change seen: {frames:?}");
    // Between the change and the ends, the clock only moves forward.
    let backwards = frames
        .windows(2)
        .filter(|w| w[1] < w[0] && w[1] + 240 >= w[0])
        .count();
    assert_eq!(backwards, 0, "{frames:?}");
    samples
        .windows(2)
        .find(|w| w[1]["frame"].as_i64().unwrap_or(0) + 240 < w[0]["frame"].as_i64().unwrap_or(0))
        .map(|w| w[0]["t"].as_f64().unwrap())
        .unwrap()
}
