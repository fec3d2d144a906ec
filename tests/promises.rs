//! What the README promises and nothing else tested: sources of other kinds (hev1-tagged and
//! 8-bit HEVC, MPEG-2), subtitles from WebVTT and mov_text streams and a `.vtt` sidecar, the
//! 5.1 AAC layout, the 90% watched boundary, `--host`, and the web page behind a token. Each is
//! judged by ffmpeg/ffprobe, the HTTP answers, or Chromium.

mod common;

use std::path::Path;
use std::process::Command;

use common::server::{temp_db, Server};
use common::*;

fn ffprobe_streams(path: &Path) -> serde_json::Value {
    let out = run(Command::new("ffprobe")
        .args(["-v", "error", "-show_streams", "-of", "json"])
        .arg(path));
    serde_json::from_slice(&out.stdout).expect("ffprobe JSON")
}

/// Decodes a whole rendition with ffmpeg: no warning, and every frame of the picture clock
/// from 0 to `frames - 1`, in order.
fn assert_rendition_shows_every_frame(tree: &Path, rendition: &str, frames: usize) {
    let whole = tree.join(format!("{rendition}.mp4"));
    std::fs::write(&whole, concatenated(tree, rendition)).unwrap();
    let w = ffmpeg_warnings(&whole, &[]);
    assert!(w.is_empty(), "{rendition}: {w}");
    let shown = frame_numbers(&whole);
    assert_eq!(shown, (0..frames as u32).collect::<Vec<_>>(), "{rendition}");
}

/// Makes a 6 s 640x360 file with the frame clock; `args` adds inputs, maps and codecs.
fn make(path: &Path, args: &[&str]) {
    ffmpeg_make_clock(path, "640x360", 6, args);
}

/// [`make`] with H.264 video and the cues of `srt` as an English subtitle stream in `codec`.
fn make_with_subtitles(path: &Path, srt: &Path, codec: &str) {
    let srt = srt.to_str().unwrap();
    make(
        path,
        &[
            "-i",
            srt,
            "-map",
            "0:v",
            "-map",
            "1:s",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "24",
            "-c:s",
            codec,
            "-metadata:s:s:0",
            "language=eng",
        ],
    );
}

#[test]
fn an_hev1_tagged_hevc_file_is_copied_as_hvc1_and_plays_through_its_h264_rung() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hev1.mp4");
    make(
        &file,
        &[
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "keyint=24:min-keyint=24:log-level=error",
            "-tag:v",
            "hev1",
        ],
    );
    assert!(std::fs::read(&file)
        .unwrap()
        .windows(4)
        .any(|w| w == b"hev1"));
    let t = tree(&file);
    let init = std::fs::read(t.path().join("original/init.mp4")).unwrap();
    assert!(init.windows(4).any(|w| w == b"hvc1") && !init.windows(4).any(|w| w == b"hev1"));
    let master = std::fs::read_to_string(t.path().join("master.m3u8")).unwrap();
    assert!(master.contains("CODECS=\"hvc1."), "{master}");
    assert_eq!(
        ffprobe_streams(&t.path().join("original/init.mp4"))["streams"][0]["codec_tag_string"],
        "hvc1"
    );
    for r in ["original", "h264-360p"] {
        assert_rendition_shows_every_frame(t.path(), r, 144);
    }
}

#[test]
fn an_mpeg2_source_is_offered_as_h264_at_its_own_size_showing_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mpeg2.mkv");
    make(
        &file,
        &["-c:v", "mpeg2video", "-q:v", "4", "-g", "24", "-bf", "2"],
    );
    let t = tree(&file);
    let master = std::fs::read_to_string(t.path().join("master.m3u8")).unwrap();
    assert!(
        !master.contains("original/"),
        "MPEG-2 has no fMP4 copy: {master}"
    );
    assert!(
        master.contains("RESOLUTION=640x360") && master.contains("h264-360p/"),
        "{master}"
    );
    assert_rendition_shows_every_frame(t.path(), "h264-360p", 144);
}

#[test]
fn the_aac_rendition_of_5_1_sound_has_six_channels_in_the_standard_5_1_layout() {
    let t = tree(&mkv());
    let init = t.path().join("audio-1-eng-aac/init.mp4");
    let whole = t.path().join("aac.mp4");
    std::fs::write(&whole, concatenated(t.path(), "audio-1-eng-aac")).unwrap();
    for path in [&init, &whole] {
        let s = &ffprobe_streams(path)["streams"][0];
        assert_eq!(
            (
                s["codec_name"].as_str(),
                s["channels"].as_u64(),
                s["channel_layout"].as_str()
            ),
            (Some("aac"), Some(6), Some("5.1")),
            "{s}"
        );
    }
}

#[test]
fn webvtt_and_mov_text_streams_and_a_vtt_sidecar_become_webvtt_renditions_with_their_cues() {
    let dir = tempfile::tempdir().unwrap();
    let srt = dir.path().join("cues.srt");
    std::fs::write(&srt, "1\n00:00:01,000 --> 00:00:02,500\nFrom the stream\n").unwrap();
    let vtt = dir.path().join("Film.vtt");
    std::fs::write(
        &vtt,
        "WEBVTT\n\n00:00:03.000 --> 00:00:04.000\nFrom the sidecar\n",
    )
    .unwrap();
    // A WebVTT stream in Matroska; a mov_text stream in MP4 with Film.vtt beside it.
    let mkv_file = dir.path().join("webvtt.mkv");
    let mp4_file = dir.path().join("Film.mp4");
    for (file, codec) in [(&mkv_file, "webvtt"), (&mp4_file, "mov_text")] {
        make_with_subtitles(file, &srt, codec);
    }
    for (file, want) in [
        (&mkv_file, vec!["From the stream"]),
        (&mp4_file, vec!["From the stream", "From the sidecar"]),
    ] {
        let t = tree(file);
        let master = std::fs::read_to_string(t.path().join("master.m3u8")).unwrap();
        let subs: Vec<String> = all_renditions(t.path())
            .into_iter()
            .filter(|r| r.starts_with("subs-"))
            .collect();
        assert_eq!(
            subs.len(),
            want.len(),
            "{}: {subs:?}\n{master}",
            file.display()
        );
        assert_eq!(
            master.matches("TYPE=SUBTITLES").count(),
            want.len(),
            "{master}"
        );
        let mut text = String::new();
        for r in &subs {
            for n in 0..segment_count(t.path(), r) {
                let cue =
                    std::fs::read_to_string(t.path().join(r).join(format!("{n}.vtt"))).unwrap();
                assert!(cue.starts_with("WEBVTT"), "{cue}");
                text.push_str(&cue);
            }
        }
        for w in want {
            assert!(text.contains(w), "{}: no {w:?} in {text}", file.display());
        }
    }
}

#[test]
fn ninety_percent_played_is_the_watched_boundary() {
    let (_d, db) = temp_db();
    let s = Server::start(&db);
    // The MP4 episode lasts 20 s: 17.9 s is 89.5%, 18 s is 90%.
    let put = |pos: f64| {
        let body = format!(r#"{{"position": {pos}}}"#);
        let r = http(
            "PUT",
            &s.addr,
            &format!("/api/v1/progress/{MP4_ID}"),
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        r.json()["watched"].as_bool()
    };
    assert_eq!(put(17.9), Some(false));
    assert_eq!(put(18.0), Some(true));
}

#[test]
fn host_chooses_the_address_the_server_listens_on() {
    let (_d, db) = temp_db();
    let s = Server::start_with(&db, &["--host".as_ref(), "127.0.0.2".as_ref()], None);
    assert!(s.addr.starts_with("127.0.0.2:"), "{}", s.addr);
    assert_eq!(s.get("/health").status, 200);
    let port = s.addr.rsplit(':').next().unwrap();
    assert!(
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(),
        "also listening on 127.0.0.1"
    );
}

#[test]
fn the_web_page_works_behind_a_token_given_in_its_address() {
    let (_d, db) = temp_db();
    let s = Server::start_with(
        &db,
        &["--token".as_ref(), "s3cret".as_ref()],
        Some("s3cret"),
    );
    let auth = [("Authorization", "Bearer s3cret")];
    http(
        "PUT",
        &s.addr,
        &format!("/api/v1/progress/{MKV_ID}"),
        &auth,
        br#"{"position": 12}"#,
    );
    // Without the token the API refuses; the page given it in its address lists, resumes and
    // plays (every API call, playlist and segment carries it).
    assert_eq!(http("GET", &s.addr, "/api/v1/shows", &[], b"").status, 401);
    let url = format!("http://{}/?token=s3cret", s.addr);
    let r = browser_report("page.mjs", &[url.as_ref(), "Clock".as_ref()]);
    assert_eq!(r["ok"], true, "{r}");
    let resumed = r["resumed_at"].as_f64().unwrap();
    assert!((11.5..14.0).contains(&resumed), "{r}");
}

/// Bitmap subtitles (PGS, VobSub) can't become WebVTT: they are offered burned in, in their
/// own master, and a track whose bytes are not the bitmaps they claim to be never costs the
/// picture: its burned rung shows every frame, and the file's own master plays as before. A
/// Matroska file's text track is relabelled to make such a track: its CodecID `S_TEXT/UTF8`
/// becomes `S_HDMV/PGS` or `S_VOBSUB`, padded with zeros to the same length (EBML strings may
/// be). (tests/corpus.rs judges real PGS, VobSub and DVB tracks burned in.)
#[test]
fn damaged_bitmap_subtitles_are_offered_burned_in_and_never_cost_the_picture() {
    let dir = tempfile::tempdir().unwrap();
    let srt = dir.path().join("cues.srt");
    std::fs::write(&srt, "1\n00:00:01,000 --> 00:00:02,000\nhello\n").unwrap();
    let text = dir.path().join("text.mkv");
    make_with_subtitles(&text, &srt, "srt");
    let bytes = std::fs::read(&text).unwrap();
    for (codec_id, name) in [
        (&b"S_HDMV/PGS\0"[..], "hdmv_pgs_subtitle"),
        (&b"S_VOBSUB\0\0\0"[..], "dvd_subtitle"),
    ] {
        let at = bytes
            .windows(11)
            .position(|w| w == b"S_TEXT/UTF8")
            .expect("the text track's CodecID");
        let mut relabelled = bytes.clone();
        relabelled[at..at + 11].copy_from_slice(codec_id);
        let file = dir.path().join(format!("{name}.mkv"));
        std::fs::write(&file, relabelled).unwrap();
        assert_eq!(ffprobe_streams(&file)["streams"][1]["codec_name"], name);
        let probe = String::from_utf8(haema_ok(&["probe".as_ref(), file.as_os_str()])).unwrap();
        assert!(probe.contains("h264-360p-burn-1"), "{probe}");
        let t = tree(&file);
        let master = std::fs::read_to_string(t.path().join("master.m3u8")).unwrap();
        assert!(!master.contains("SUBTITLES"), "{master}");
        assert!(
            master.contains("#EXT-X-SESSION-DATA:DATA-ID=\"net.haema.burn-in.1\""),
            "{master}"
        );
        assert_rendition_shows_every_frame(t.path(), "original", 144);
        // Not in the tree (made on request): made here beside it, with a playlist that counts
        // its segments.
        let burned = t.path().join("h264-360p-burn-1");
        std::fs::create_dir_all(&burned).unwrap();
        let segments = rung_segment_count(&file);
        std::fs::write(burned.join("stream.m3u8"), "#EXTINF:1,\n".repeat(segments)).unwrap();
        for (seg, out) in std::iter::once(("init".to_owned(), "init.mp4".to_owned()))
            .chain((0..segments).map(|n| (n.to_string(), format!("{n}.m4s"))))
        {
            let bytes = haema_ok(&[
                "segment".as_ref(),
                file.as_os_str(),
                seg.as_ref(),
                "-r".as_ref(),
                "h264-360p-burn-1".as_ref(),
            ]);
            std::fs::write(burned.join(out), bytes).unwrap();
        }
        assert_rendition_shows_every_frame(t.path(), "h264-360p-burn-1", 144);
    }
}
