//! Files as people's libraries hold them, made at test time the way people make them
//! (tests/corpus/make.sh: HandBrakeCLI's presets, mkvmerge, a DVB recording cut mid-stream, an
//! Xvid AVI, a phone's MOV, HDR10 and HLG, a recorder's fragmented MP4), each with the frame
//! number drawn in its pictures. Every variant the master playlist offers is judged by ffmpeg:
//! init and segments decode without a warning and show every frame the source shows, once, in
//! order. What a screen needs (upright, progressive, SDR in the rungs) is judged on the
//! pictures. Every bug a user reports about a file becomes a file here.

mod common;

use std::path::Path;
use std::process::Command;

use common::corpus::{corpus, cue_bars, joined, offered_videos};
use common::{ffmpeg_warnings, frame_numbers, run, tree};

/// Makes the tree of `file` and checks every variant its master offers: decodes without a
/// warning, and shows the frames the source shows, once each, in order. Every audio rendition
/// decodes without a warning. Returns the tree and the offered video renditions.
fn plays_every_frame_once_in_order(file: &Path) -> (tempfile::TempDir, Vec<String>) {
    let want = frame_numbers(file);
    assert!(
        !want.is_empty(),
        "ffmpeg read no frame of {}",
        file.display()
    );
    let t = tree(file);
    let offered = offered_videos(t.path());
    assert!(!offered.is_empty(), "the master offers no video");
    let scratch = tempfile::tempdir().expect("temp dir");
    for r in &offered {
        let joined = joined(t.path(), r, scratch.path());
        let warnings = ffmpeg_warnings(&joined, &[]);
        assert!(warnings.is_empty(), "{r} of {}: {warnings}", file.display());
        let got = frame_numbers(&joined);
        if got != want {
            let missing: Vec<u32> = want.iter().filter(|f| !got.contains(f)).copied().collect();
            let extra: Vec<u32> = got.iter().filter(|f| !want.contains(f)).copied().collect();
            panic!(
                "{r} of {}: {} frames where the source shows {}; missing {missing:?}, not in \
                 the source {extra:?}",
                file.display(),
                got.len(),
                want.len()
            );
        }
    }
    for r in common::renditions(t.path()) {
        if r.starts_with("audio-") {
            let joined = joined(t.path(), &r, scratch.path());
            let warnings = ffmpeg_warnings(&joined, &[]);
            assert!(warnings.is_empty(), "{r} of {}: {warnings}", file.display());
        }
    }
    (t, offered)
}

/// One line of ffprobe's CSV for the first video stream of `file`.
fn probe_video(file: &Path, entries: &str) -> String {
    common::ffprobe_video_csv(file, &["-show_entries", entries])
        .into_iter()
        .find(|l| !l.is_empty())
        .unwrap_or_default()
}

#[test]
fn a_handbrake_mp4_whose_aac_skips_its_priming_by_edit_list_plays_from_segment_0() {
    // HandBrake "Fast 720p30": x264 with B-frames, a 90 kHz video track, AAC whose edit list
    // skips the encoder's 1024 priming samples (its first packet at -21.3 ms).
    let (t, offered) = plays_every_frame_once_in_order(&corpus("handbrake.mp4"));
    assert_eq!(offered[0], "original", "the copy leads: {offered:?}");
    assert!(t.path().join("audio-1-und/0.m4s").exists());
}

#[test]
fn an_mp4_trimmed_mid_gop_shows_from_its_edit_and_never_the_hidden_pictures() {
    // ffmpeg -ss 5.3 -c copy: the edit list starts 128 pictures after the keyframe before it.
    let file = corpus("trimmed.mp4");
    let (t, offered) = plays_every_frame_once_in_order(&file);
    // The playlists run as long as the pictures shown: from the edit to the end.
    let listed: f64 = common::extinfs(t.path(), &offered[0]).iter().sum();
    let shown = frame_numbers(&file).len() as f64 / 24.0;
    assert!(
        (listed - shown).abs() < 1.0 / 24.0,
        "the playlist lists {listed:.3} s, the file shows {shown:.3} s"
    );
    assert!(
        !offered.contains(&"original".to_owned()),
        "a copy can't hide its first pictures from a player: {offered:?}"
    );
    assert_eq!(frame_numbers(&file)[0], 128, "the corpus file changed");
}

#[test]
fn an_mkvmerge_remux_with_flac_ac3_and_srt_plays_every_frame() {
    let (t, offered) = plays_every_frame_once_in_order(&corpus("mkvmerge.mkv"));
    assert_eq!(offered[0], "original");
    let subs: Vec<String> = common::all_renditions(t.path())
        .into_iter()
        .filter(|r| r.starts_with("subs-"))
        .collect();
    assert_eq!(subs.len(), 1, "the SRT track as WebVTT: {subs:?}");
}

#[test]
fn a_dvb_recording_cut_mid_stream_is_deinterlaced_at_16_9_in_every_rung() {
    let file = corpus("recording.ts");
    let (t, offered) = plays_every_frame_once_in_order(&file);
    assert!(
        offered.iter().all(|r| r.starts_with("h264-")),
        "MPEG-2 is only transcoded: {offered:?}"
    );
    assert!(offered.contains(&"h264-576p".to_owned()), "{offered:?}");
    let scratch = tempfile::tempdir().expect("temp dir");
    let joined = joined(t.path(), "h264-576p", scratch.path());
    // Square pixels at the picture's 16:9 (720x576 at 64:45).
    assert_eq!(probe_video(&joined, "stream=width,height"), "1024,576");
    let (tff, progressive) = idet(&joined);
    let (src_tff, _) = idet(&file);
    assert!(
        src_tff > 0 && tff * 20 <= src_tff && progressive > tff * 10,
        "combed frames: source {src_tff} TFF, rung {tff} TFF / {progressive} progressive"
    );
}

/// ffmpeg's idet over a file's video: (frames found top-field-first interlaced, progressive),
/// multi-frame detection.
fn idet(file: &Path) -> (u32, u32) {
    let out = run(Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-i"])
        .arg(file)
        .args(["-map", "0:v:0", "-vf", "idet", "-f", "null", "-"]));
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("Multi frame detection"))
        .unwrap_or_else(|| panic!("no idet summary for {}: {text}", file.display()));
    let count = |key: &str| -> u32 {
        line.split(key)
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (count("TFF:"), count("Progressive:"))
}

#[test]
fn an_xvid_avi_with_b_frames_keeps_every_frame_at_every_cut() {
    // MPEG-4 ASP with B-frames after each keyframe shown before it, MP3; AVI has no PTS.
    let (_t, offered) = plays_every_frame_once_in_order(&corpus("xvid.avi"));
    assert!(
        offered.iter().all(|r| r.starts_with("h264-")),
        "{offered:?}"
    );
}

#[test]
fn a_phone_clip_stands_upright_in_the_copy_and_in_every_rung() {
    // Stored 1280x720, a display matrix turning it a quarter turn clockwise; variable frame
    // rate; mono AAC at 44.1 kHz. ffmpeg turns pictures by the matrix when it decodes, so the
    // frame numbers read upright only where the matrix is carried or the pictures turned.
    let file = corpus("phone.mov");
    let (t, offered) = plays_every_frame_once_in_order(&file);
    let scratch = tempfile::tempdir().expect("temp dir");
    for r in &offered {
        let joined = joined(t.path(), r, scratch.path());
        let size = probe_video(&joined, "stream=width,height");
        let rotation = probe_video(&joined, "stream_side_data=rotation");
        if r == "original" {
            assert_eq!(
                (size.as_str(), rotation.as_str()),
                ("1280,720", "-90"),
                "{r}"
            );
        } else {
            let (w, h) = size.split_once(',').expect("w,h");
            let (w, h): (u32, u32) = (w.parse().unwrap(), h.parse().unwrap());
            assert!(
                h > w && rotation.is_empty(),
                "{r}: {size}, rotation {rotation:?}"
            );
        }
    }
    assert!(offered.contains(&"h264-1280p".to_owned()), "{offered:?}");
}

/// PSNR (dB) of frame `n` of `a` against frame `n` of `b` as the filter `b_filter` makes it,
/// both at 640x360.
fn psnr_at_frame(a: &Path, b: &Path, b_filter: &str, n: u32) -> f64 {
    let graph = format!(
        "[0:v]select=eq(n\\,{n}),scale=640:360,format=yuv420p[a];\
         [1:v]select=eq(n\\,{n}),{b_filter},scale=640:360,format=yuv420p[b];[a][b]psnr"
    );
    let out = run(Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-i"])
        .arg(a)
        .arg("-i")
        .arg(b)
        .args(["-filter_complex", &graph, "-f", "null", "-"]));
    let text = String::from_utf8_lossy(&out.stderr);
    text.split("average:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no PSNR: {text}"))
}

/// Checks an HDR file: every frame in every variant; the copy says its range in the master,
/// the H.264 rungs are SDR pictures tone-mapped, far closer to ffmpeg's own tone map of the
/// source than to its PQ/HLG code values shown as if they were SDR.
fn hdr_rungs_are_tone_mapped(name: &str, range: &str) {
    let file = corpus(name);
    let (t, offered) = plays_every_frame_once_in_order(&file);
    let master = std::fs::read_to_string(t.path().join("master.m3u8")).unwrap();
    assert!(master.contains(&format!("VIDEO-RANGE={range}")), "{master}");
    let rung = offered
        .iter()
        .find(|r| r.starts_with("h264-"))
        .expect("an H.264 rung");
    let scratch = tempfile::tempdir().expect("temp dir");
    let joined = joined(t.path(), rung, scratch.path());
    let tone_mapped = "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,\
                       tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv";
    let mapped = psnr_at_frame(&joined, &file, tone_mapped, 100);
    let as_sdr = psnr_at_frame(&joined, &file, "null", 100);
    assert!(
        mapped > as_sdr + 6.0,
        "{rung}: {mapped:.1} dB from the tone-mapped source, {as_sdr:.1} dB from its code \
         values read as SDR"
    );
}

#[test]
fn hdr10_rungs_are_tone_mapped_to_sdr_and_the_copy_is_offered_as_pq() {
    hdr_rungs_are_tone_mapped("hdr10.mkv", "PQ");
}

#[test]
fn hlg_rungs_are_tone_mapped_to_sdr_and_the_copy_is_offered_as_hlg() {
    hdr_rungs_are_tone_mapped("hlg.mkv", "HLG");
}

#[test]
fn a_recorders_fragmented_mp4_copy_keeps_the_keyframe_at_every_cut() {
    // Empty moov, a fragment per keyframe, B-frames: indexed by decode time.
    let (_t, offered) = plays_every_frame_once_in_order(&corpus("fragmented.mp4"));
    assert_eq!(offered[0], "original");
}

#[test]
fn handbrakes_x265_mkv_with_open_gops_plays_every_frame() {
    plays_every_frame_once_in_order(&corpus("x265-handbrake.mkv"));
}

#[test]
fn a_vp9_webm_plays_every_frame() {
    plays_every_frame_once_in_order(&corpus("vp9.webm"));
}

/// The cue box's row through its bars (y 264 of a 640x360 picture), and the box itself (x 200
/// to 440, y 240 to 288), as tests/corpus/sup.py draws it.
const BOX: (u32, u32, u32, u32) = (200, 240, 240, 48);

/// The bar count of a box's middle row ([`cue_bars`]).
fn bars(pixels: &[u8]) -> Option<usize> {
    let (_, _, w, h) = BOX;
    cue_bars(&pixels[(h / 2 * w) as usize..(h / 2 * w + w) as usize])
}

/// Each frame's box at 640x360 in grey (frame number, pixels), in the order shown.
fn boxes(file: &Path) -> Vec<(u32, Vec<u8>)> {
    let (x, y, w, h) = BOX;
    let out = run(Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-map", "0:v:0", "-fps_mode", "passthrough", "-vf"])
        .arg(format!("scale=640:360,crop={w}:{h}:{x}:{y},format=gray"))
        .args(["-f", "rawvideo", "-"]));
    assert!(
        out.status.success(),
        "ffmpeg could not decode {}",
        file.display()
    );
    let numbers = frame_numbers(file);
    let frames: Vec<Vec<u8>> = out
        .stdout
        .chunks((w * h) as usize)
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(numbers.len(), frames.len(), "{}", file.display());
    numbers.into_iter().zip(frames).collect()
}

/// Burns a corpus file's bitmap subtitle track into its smallest rung, every segment made by
/// its own `haema segment` process from the last to the first, and judges each frame: inside a
/// cue's time, the box of that cue (its number of bars) over the picture; outside every cue,
/// the source's picture (no subtitle pixel).
fn bitmap_subtitles_are_drawn_during_their_cues_only(name: &str) {
    let file = corpus(name);
    let facts: serde_json::Value = serde_json::from_slice(
        &std::fs::read(file.with_extension(format!(
            "{}.json",
            file.extension().unwrap().to_str().unwrap()
        )))
        .unwrap(),
    )
    .unwrap();
    let fps = facts["clock_fps"].as_f64().unwrap();
    let cues: Vec<(f64, f64)> = facts["cues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
        .collect();
    let plan: serde_json::Value = serde_json::from_slice(&common::haema_ok(&[
        "probe".as_ref(),
        "--json".as_ref(),
        file.as_os_str(),
    ]))
    .unwrap();
    let burned: Vec<&str> = plan["plan"]["renditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["burn"].is_null())
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let rung = *burned.last().expect("a rung with the subtitles burned in");
    let count = common::rung_segment_count(&file);
    assert!(count > 1, "{name}: {plan}");
    let mut segments: Vec<Vec<u8>> = (0..count)
        .rev()
        .map(|n| {
            common::haema_ok(&[
                "segment".as_ref(),
                file.as_os_str(),
                n.to_string().as_ref(),
                "-r".as_ref(),
                rung.as_ref(),
            ])
        })
        .collect();
    segments.reverse();
    let init = common::haema_ok(&[
        "segment".as_ref(),
        file.as_os_str(),
        "init".as_ref(),
        "-r".as_ref(),
        rung.as_ref(),
    ]);
    let scratch = tempfile::tempdir().expect("temp dir");
    let joined = scratch.path().join("burned.mp4");
    std::fs::write(&joined, [vec![init], segments].concat().concat()).unwrap();
    let warnings = ffmpeg_warnings(&joined, &[]);
    assert!(warnings.is_empty(), "{rung} of {name}: {warnings}");

    let source: std::collections::HashMap<u32, Vec<u8>> = boxes(&file).into_iter().collect();
    let shown = boxes(&joined);
    assert_eq!(shown.len(), source.len(), "{rung} of {name}: every frame");
    let mut wrong = Vec::new();
    for (n, pixels) in &shown {
        let t = f64::from(*n) / fps;
        let cue = cues.iter().position(|(s, e)| *s <= t && t < *e);
        let diff = pixels
            .iter()
            .zip(&source[n])
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum::<u64>() as f64
            / pixels.len() as f64;
        let ok = match cue {
            Some(k) => bars(pixels) == Some(k + 1) && diff > 40.0,
            None => diff < 12.0,
        };
        if !ok {
            wrong.push(format!(
                "frame {n} ({t:.3} s, cue {cue:?}): bars {:?}, differs from the source by {diff:.1}",
                bars(pixels)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{rung} of {name}: {} frames wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn blu_ray_pgs_subtitles_are_burned_in_during_their_cues_only() {
    bitmap_subtitles_are_drawn_during_their_cues_only("pgs.mkv");
}

#[test]
fn dvd_vobsub_subtitles_are_burned_in_during_their_cues_only() {
    bitmap_subtitles_are_drawn_during_their_cues_only("vobsub.mkv");
}

#[test]
fn dvb_subtitles_of_a_recording_are_burned_in_during_their_cues_only() {
    bitmap_subtitles_are_drawn_during_their_cues_only("dvbsub.ts");
}

/// A screen recording with 20-s GOPs: its rungs are cut between keyframes too (no segment
/// longer than 6 s, every keyframe boundary of the copy kept), and every variant still shows
/// every frame once, in order, across the cuts. (`haema bench` and the README measure what it
/// does to starting and seeking.)
#[test]
fn a_20_s_gop_recording_has_rungs_cut_every_few_seconds_that_keep_every_frame() {
    let file = corpus("longgop.mkv");
    let (t, offered) = plays_every_frame_once_in_order(&file);
    assert_eq!(offered[0], "original", "{offered:?}");
    let ends = |r: &str| -> Vec<f64> {
        common::extinfs(t.path(), r)
            .iter()
            .scan(0.0, |at, d| {
                *at += d;
                Some(*at)
            })
            .collect()
    };
    let copy = ends("original");
    assert!(copy.len() <= 3, "keyframes every 20 s: {copy:?}");
    for r in offered.iter().filter(|r| r.starts_with("h264-")) {
        let durations = common::extinfs(t.path(), r);
        assert!(
            durations.iter().all(|d| *d <= 6.0 + 1e-6) && durations.len() > copy.len() * 3,
            "{r}: {durations:?}"
        );
        let rung = ends(r);
        for b in &copy {
            assert!(
                rung.iter().any(|e| (e - b).abs() < 1e-3),
                "{r} lacks the copy's boundary at {b}: {rung:?}"
            );
        }
    }
}
