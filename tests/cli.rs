//! The command line as a user meets it: probe output checked against ffprobe, and bad input
//! answered with one clear line and a non-zero exit, never a panic or a hang.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Stdio;

use common::*;

fn probe_json(file: &Path) -> serde_json::Value {
    let out = haema_ok(&["probe".as_ref(), "--json".as_ref(), file.as_os_str()]);
    serde_json::from_slice(&out).expect("probe --json prints JSON")
}

fn ffprobe_keyframes(file: &Path) -> Vec<f64> {
    let mut k: Vec<f64> = ffprobe_video_csv(file, &["-show_entries", "packet=pts_time,flags"])
        .iter()
        .filter(|l| l.contains('K'))
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect();
    k.sort_by(f64::total_cmp);
    k
}

#[test]
fn probe_keyframes_equal_ffprobes_packet_scan_and_name_their_source() {
    for (file, source) in [
        (mkv(), "matroska-cues"),
        (mp4(), "mp4-sample-table"),
        (hevc(), "mp4-sample-table"),
        (mkv_no_cues(), "packet-scan"),
    ] {
        let j = probe_json(&file);
        assert_eq!(j["keyframe_index"]["source"], source, "{}", file.display());
        let got: Vec<f64> = j["keyframes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let want = ffprobe_keyframes(&file);
        assert_eq!(
            got.len(),
            want.len(),
            "{}: {got:?} vs {want:?}",
            file.display()
        );
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() < 0.0015,
                "{}: keyframe {g} vs ffprobe {w}",
                file.display()
            );
        }
        assert!(
            (j["duration"].as_f64().unwrap() - 20.0).abs() < 0.05,
            "{}: duration {}",
            file.display(),
            j["duration"]
        );
    }
}

#[test]
fn probe_reports_streams_with_languages_codecs_and_the_plan() {
    let j = probe_json(&mkv());
    let streams = j["streams"].as_array().unwrap();
    let codecs: Vec<&str> = streams
        .iter()
        .map(|s| s["codec"].as_str().unwrap())
        .collect();
    assert_eq!(codecs, ["h264", "ac3", "aac", "opus", "subrip", "ass"]);
    let langs: Vec<&str> = streams[1..]
        .iter()
        .map(|s| s["language"].as_str().unwrap())
        .collect();
    assert_eq!(langs, ["eng", "fra", "jpn", "eng", "fra"]);
    assert_eq!(streams[5]["forced"], true);
    assert_eq!(streams[0]["width"], 640);
    assert_eq!(streams[0]["bit_depth"], 8);
    assert_eq!(streams[1]["channels"], 6);
    assert_eq!(streams[1]["default"], true);
    let plan = &j["plan"];
    // Keyframes 0,2,4,5,7,13,... s with a 4 s target: the 7-13 s GOP makes one long segment.
    let d: Vec<f64> = plan["segment_durations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let want = [4.0, 9.0, 4.0, 3.0];
    assert_eq!(d.len(), want.len());
    for (d, w) in d.iter().zip(want) {
        // Matroska's duration is rounded to 1 ms: the last segment may be 1 ms off.
        assert!((d - w).abs() <= 0.0011, "{d} vs {w}");
    }
    assert_eq!(plan["renditions"][0]["codecs"], "avc1.64001e");
    assert_eq!(
        probe_json(&hevc())["plan"]["renditions"][0]["codecs"],
        "hvc1.2.4.L63.90"
    );
}

#[test]
fn master_playlist_on_stdout_groups_audio_by_codec() {
    let text = String::from_utf8(haema_ok(&["playlist".as_ref(), mkv().as_os_str()])).unwrap();
    assert!(text.starts_with("#EXTM3U\n#EXT-X-VERSION:7\n"));
    assert_eq!(text.matches("#EXT-X-STREAM-INF").count(), 3);
    assert!(text.contains("CODECS=\"avc1.64001e,mp4a.40.2\""));
    assert!(text.contains(
        "LANGUAGE=\"eng\",NAME=\"English 5.1\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"6\""
    ));
    let media = String::from_utf8(haema_ok(&[
        "playlist".as_ref(),
        mkv().as_os_str(),
        "--media".as_ref(),
        "audio-2-fra".as_ref(),
    ]))
    .unwrap();
    assert!(media.contains("#EXT-X-TARGETDURATION:9\n"));
    assert!(media.ends_with("#EXT-X-ENDLIST\n"));
}

/// Exit codes haema(1) documents for each kind of failure.
const EXIT_USAGE: i32 = 2;
const EXIT_NOT_FOUND: i32 = 3;
const EXIT_CORRUPT: i32 = 4;
const EXIT_UNSUPPORTED: i32 = 5;
const EXIT_NO_SUCH: i32 = 6;

/// Runs haema expecting failure with exit code `code`; returns stderr.
fn haema_err(code: i32, args: &[&std::ffi::OsStr]) -> String {
    let out = run(haema().args(args));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "haema {args:?}: want exit {code}, got {:?}: {err}",
        out.status
    );
    assert!(!err.contains("panicked"), "haema {args:?} panicked: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "want one line, got: {err}"
    );
    err
}

#[test]
fn bad_files_get_one_clear_line_and_the_exit_code_of_their_kind() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.mkv");
    std::fs::write(&empty, b"").unwrap();
    let garbage = dir.path().join("garbage.mp4");
    std::fs::write(
        &garbage,
        (0..100_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let missing = dir.path().join("missing.mkv");
    for cmd in ["probe", "playlist"] {
        let e = |code, f: &std::path::Path| haema_err(code, &[cmd.as_ref(), f.as_os_str()]);
        assert!(e(EXIT_CORRUPT, &empty).contains("empty"));
        assert!(e(EXIT_CORRUPT, &garbage).contains("garbage.mp4"));
        assert!(e(EXIT_NOT_FOUND, &missing).contains("No such file"));
        assert!(e(EXIT_NOT_FOUND, dir.path()).contains("directory"));
    }
    let args = ["segment".as_ref(), garbage.as_os_str(), "0".as_ref()];
    assert!(haema_err(EXIT_CORRUPT, &args).contains("garbage.mp4"));
}

#[test]
fn a_file_without_video_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("song.mka");
    ffmpeg_make(
        &audio,
        &["-f", "lavfi", "-i", "sine=d=2", "-c:a", "libopus"],
    );
    let err = haema_err(EXIT_UNSUPPORTED, &["playlist".as_ref(), audio.as_os_str()]);
    assert!(err.contains("no video stream"), "{err}");
}

#[test]
fn bad_segment_requests_name_what_exists() {
    let f = mkv();
    let err = haema_err(
        EXIT_NO_SUCH,
        &["segment".as_ref(), f.as_os_str(), "4".as_ref()],
    );
    assert!(
        err.contains("segment 4 is past the end") && err.contains("0 to 3"),
        "{err}"
    );
    let err = haema_err(
        EXIT_NO_SUCH,
        &[
            "segment".as_ref(),
            f.as_os_str(),
            "0".as_ref(),
            "-r".as_ref(),
            "audio-9-xx".as_ref(),
        ],
    );
    assert!(
        err.contains("unknown rendition") && err.contains("audio-2-fra"),
        "{err}"
    );
    let err = haema_err(
        EXIT_USAGE,
        &["segment".as_ref(), f.as_os_str(), "x1".as_ref()],
    );
    assert!(err.contains("not a segment"), "{err}");
    let err = haema_err(
        EXIT_NO_SUCH,
        &[
            "playlist".as_ref(),
            f.as_os_str(),
            "--media".as_ref(),
            "nope".as_ref(),
        ],
    );
    assert!(err.contains("unknown rendition"), "{err}");
}

#[test]
fn probe_in_text_names_streams_keyframes_and_plan_and_lists_encoders() {
    let text = String::from_utf8(haema_ok(&["probe".as_ref(), mkv().as_os_str()])).unwrap();
    for want in [
        "container matroska,webm",
        "#0 video h264 (High), 640x360",
        "#1 audio ac3, 48000 Hz, 6 ch",
        "[fra]",
        "keyframes: ",
        "from Matroska Cues",
        "plan: ",
        "audio-1-eng-aac  aac 6 ch 384 kb/s",
        "subs-4-eng",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    let enc = String::from_utf8(haema_ok(&["probe".as_ref(), "--encoders".as_ref()])).unwrap();
    let x264 = enc
        .lines()
        .find(|l| l.starts_with("libx264 "))
        .expect("libx264 listed");
    assert!(x264.contains(" available "), "{x264}");
    assert!(enc
        .lines()
        .any(|l| l.starts_with("h264_vaapi ") && l.contains("unavailable")));
    let json: serde_json::Value = serde_json::from_slice(&haema_ok(&[
        "probe".as_ref(),
        "--encoders".as_ref(),
        "--json".as_ref(),
    ]))
    .unwrap();
    assert!(json
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "libx264" && e["available"] == true));
}

#[test]
fn a_tag_that_is_not_utf8_is_shown_lossily_and_the_video_still_plays() {
    // One flipped byte in the Matroska Language element of the French track: "fra" -> "fr\xff".
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-tag.mkv");
    let mut bytes = std::fs::read(mkv()).unwrap();
    let at = bytes
        .windows(7)
        .position(|w| w == b"\x22\xb5\x9c\x83fra")
        .expect("the fixture tags a French track");
    bytes[at + 6] = 0xff;
    std::fs::write(&bad, &bytes).unwrap();
    let j = probe_json(&bad);
    let langs: Vec<&str> = j["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["language"].as_str())
        .collect();
    assert!(langs.contains(&"fr\u{fffd}"), "{langs:?}");
    let master = String::from_utf8(haema_ok(&["playlist".as_ref(), bad.as_os_str()])).unwrap();
    // The damaged tag names no folder or URL: the rendition is "und".
    assert!(
        master.contains("URI=\"audio-2-und/stream.m3u8\""),
        "{master}"
    );
    assert!(!master.contains('\u{fffd}'), "{master}");
    let t = tree(&bad);
    let audio = t.path().join("a.mp4");
    std::fs::write(&audio, concatenated(t.path(), "audio-2-und")).unwrap();
    let w = ffmpeg_warnings(&audio, &[]);
    assert!(w.is_empty(), "{w}");
}

#[test]
fn truncated_matroska_plays_as_far_as_its_data_goes() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.mkv");
    let full = std::fs::read(mkv()).unwrap();
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    // The Cues sit at the end, so they are gone: the packet scan finds what is left.
    let j = probe_json(&cut);
    assert_eq!(j["keyframe_index"]["source"], "packet-scan");
    let d = j["duration"].as_f64().unwrap();
    assert!(d > 5.0 && d < 15.0, "duration {d}");
    let t = tree(&cut);
    let path = t.path().join("v.mp4");
    std::fs::write(&path, concatenated(t.path(), "original")).unwrap();
    assert!(ffmpeg_warnings(&path, &[]).is_empty());
}

#[test]
fn truncated_mp4_fails_past_its_data_with_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.mp4");
    let full = std::fs::read(mp4()).unwrap();
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    // faststart: the sample tables are whole, the data is half there.
    let j = probe_json(&cut);
    assert_eq!(j["keyframe_index"]["source"], "mp4-sample-table");
    // Before the cut: whole segments that decode cleanly with the init.
    let init = haema_ok(&["segment".as_ref(), cut.as_os_str(), "init".as_ref()]);
    for n in ["0", "1"] {
        let seg = haema_ok(&["segment".as_ref(), cut.as_os_str(), n.as_ref()]);
        let whole = dir.path().join(format!("{n}.mp4"));
        std::fs::write(&whole, [init.clone(), seg].concat()).unwrap();
        let w = ffmpeg_warnings(&whole, &[]);
        assert!(w.is_empty(), "segment {n}: {w}");
    }
    // Past it: a clear error naming the file, the damaged-file exit code, no panic.
    let out = run(haema().args(["segment".as_ref(), cut.as_os_str(), "4".as_ref()]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(EXIT_CORRUPT), "{err}");
    assert!(
        err.contains("cut.mp4") && err.contains("truncated"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    let mut child = haema()
        .args(["segment".as_ref(), mkv().as_os_str(), "1".as_ref()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 8];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bench_times_each_row_beside_the_ffmpeg_cli() {
    let out = haema_ok(&[
        "bench".as_ref(),
        hevc().as_os_str(),
        "-k".as_ref(),
        "1".as_ref(),
        "--json".as_ref(),
    ]);
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let names: Vec<&str> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "playlist (index read)",
            "copy segment (video)",
            "transcode h264-360p (libx264)"
        ]
    );
    for row in r["rows"].as_array().unwrap() {
        assert!(row["haema"]["median_ms"].as_f64().unwrap() > 0.0, "{row}");
        assert!(
            row["peer"]["command"].as_str().unwrap().starts_with("ff"),
            "{row}"
        );
        assert!(row["ratio"].as_f64().unwrap() > 0.0, "{row}");
    }
    assert!(r["peak_memory_mib"].as_f64().unwrap() > 1.0);
}

#[test]
fn bench_gives_the_peer_the_same_span_as_the_segment_it_times() {
    // Irregular keyframes: segments are not 4 s long, so a fixed `-t 4` would be other work.
    let out = haema_ok(&[
        "bench".as_ref(),
        mkv().as_os_str(),
        "-k".as_ref(),
        "3".as_ref(),
        "--json".as_ref(),
    ]);
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let segment_rows: Vec<&serde_json::Value> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| !row["media_secs"].is_null())
        .collect();
    assert!(segment_rows.len() >= 2, "{r}");
    for row in segment_rows {
        let ours = row["media_secs"].as_f64().unwrap();
        let peer = row["peer_media_secs"].as_f64().unwrap();
        assert!((ours - peer).abs() < 0.002, "{row}");
        assert!(
            (ours - 4.0).abs() > 0.01,
            "this file's segments are not 4 s: {row}"
        );
    }
    let md = String::from_utf8(haema_ok(&[
        "bench".as_ref(),
        mkv().as_os_str(),
        "-k".as_ref(),
        "1".as_ref(),
        "--markdown".as_ref(),
    ]))
    .unwrap();
    assert!(
        md.contains("| what | haema median (min-max) | ffmpeg CLI median | ratio | realtime |"),
        "{md}"
    );
    assert!(md.contains("| copy segment (video) |"), "{md}");
}
