//! A rung channel over a library of mixed shapes, and one (rung or copy) whose file goes
//! missing between rescans: every programme airs in the channel's one 16:9 frame (a 4:3 film pillarboxed, not
//! stretched) with AAC stereo (a 5.1 film mixed down), and a programme whose segments can't be made airs as a slate (black picture,
//! silence, its own length) that decodes with the programme's own init: ffmpeg reads the
//! channel through it without a warning.

mod common;

use common::live::{entries, packet_span, programmes, square_film};
use common::server::Server;
use common::*;

/// The channel: the films of the library played as `profile`, in path order from the epoch.
fn config(profile: &str) -> String {
    format!(
        "channels:
  - name: Films
    number: 3
    sources: [Movies]
    order: sequential
    start: 2026-01-01T00:00:00Z
    profile: {profile}
"
    )
}

/// A library of films and a server on it 30 s after the epoch of a channel of them played as
/// `profile`, with the file of the second programme: for `h264-360p`, the fixture film (16:9,
/// its AC-3 sound made AAC, 20 s) and an 8 s 4:3 film with its sound at 44.1 kHz; for `copy`, a 12 s and an 8 s 4:3 film
/// alike (a copy channel's files agree). Both programmes are in the window, the 8 s film the
/// second.
fn films(dir: &std::path::Path, profile: &str) -> (Server, std::path::PathBuf) {
    let lib = dir.join("lib");
    let second = if profile == "copy" {
        square_film(
            &lib.join("Movies/Alpha (2024)/Alpha (2024).mkv"),
            12,
            48_000,
        );
        lib.join("Movies/Beta (2024)/Beta (2024).mkv")
    } else {
        let clock = lib.join("Movies/Clock (2024)");
        std::fs::create_dir_all(&clock).unwrap();
        std::fs::copy(mkv(), clock.join("Clock (2024).mkv")).unwrap();
        lib.join("Movies/Square (2024)/Square (2024).mkv")
    };
    // On the rung channel, at 44.1 kHz beside the fixture film's 48.
    square_film(&second, 8, if profile == "copy" { 48_000 } else { 44_100 });
    let cfg = dir.join("haema.yaml");
    std::fs::write(&cfg, config(profile)).unwrap();
    let s = Server::launch(
        &dir.join("haema.db"),
        &lib,
        0,
        &[
            "--config".as_ref(),
            cfg.as_os_str(),
            "--clock".as_ref(),
            "2026-01-01T00:00:30Z".as_ref(),
        ],
        None,
        2,
    );
    (s, second)
}

/// The frame size ffprobe reads from a file's video.
fn frame_size(file: &std::path::Path) -> String {
    ffprobe_video_csv(file, &["-show_entries", "stream=width,height"]).join(";")
}

/// Luma of the first picture, scaled to 64x36 (ffmpeg's full-range gray: black is 0).
fn first_picture(file: &std::path::Path) -> Vec<u8> {
    let out = run(std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args([
            "-frames:v",
            "1",
            "-vf",
            "scale=64:36:flags=area,format=gray",
        ])
        .args(["-f", "rawvideo", "-"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn a_rung_channel_plays_a_4_3_film_pillarboxed_in_its_16_9_frame() {
    let d = tempfile::tempdir().unwrap();
    let (s, _) = films(d.path(), "h264-360p");
    let master = String::from_utf8(s.get("/api/v1/channels/films/master.m3u8").body).unwrap();
    assert!(master.contains("RESOLUTION=640x360"), "{master}");
    let files = programmes(&s, "films", d.path());
    assert!(files.len() >= 2, "both films listed: {files:?}");
    for f in &files {
        assert_eq!(frame_size(f), "640,360", "{f:?}");
        assert_eq!(ffmpeg_warnings(f, &[]), "", "{f:?}");
    }
    // The square film (the second programme): 480 of 640 columns, centred on black; 8 of 64
    // columns each side are the bars (80 of 640), and what is inside is the test picture.
    let luma = first_picture(&files[1]);
    let column = |x: usize| (0..36).map(|y| luma[y * 64 + x] as u32).collect::<Vec<_>>();
    for x in (0..7).chain(57..64) {
        assert!(
            column(x).iter().all(|&v| v <= 4),
            "bar column {x}: {:?}",
            column(x)
        );
    }
    let inside: Vec<u32> = (9..55).flat_map(column).collect();
    assert!(
        inside.iter().filter(|&&v| v > 40).count() > inside.len() / 2,
        "the picture is inside the bars"
    );
    // The 16:9 film fills the frame.
    let luma = first_picture(&files[0]);
    assert!(
        luma[18 * 64] > 20 && luma[18 * 64 + 63] > 20,
        "no bars on a 16:9 film"
    );
    // One sound configuration for the channel: the clock film's default track (AC-3 5.1, 5.1
    // AAC on demand) airs mixed down to stereo like the square film's, and the square film's
    // 44.1 kHz sound airs at 48 like the clock film's.
    for f in &files {
        let out = run(std::process::Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "a:0", "-of", "csv=p=0"])
            .args(["-show_entries", "stream=codec_name,channels,sample_rate"])
            .arg(f));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "aac,48000,2",
            "{f:?}"
        );
    }
    // Resampled segment by segment, the square film's tone runs on through every join.
    let worst = tone_error(&files[1], 3000.0);
    assert!(worst < 0.02, "the 3 kHz tone departs by {worst}");
}

/// The largest difference between a file's sound (its first channel at 48 kHz, from 0.1 s to
/// 0.1 s before its end) and the pure tone of `hz` that fits its first 0.1 s best: a click, a
/// sample lost or doubled at a segment join shows as a departure of the tone's size.
fn tone_error(file: &std::path::Path, hz: f64) -> f32 {
    let out = run(std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-map", "0:a", "-ac", "1", "-f", "f32le", "-"]));
    let x: Vec<f32> = out
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let w = 2.0 * std::f64::consts::PI * hz / 48_000.0;
    // Least squares of a*sin + b*cos over 0.1-0.2 s (past the encoder's first frame).
    let (mut ss, mut sc, mut cc, mut xs, mut xc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (k, &v) in x.iter().enumerate().take(9600).skip(4800) {
        let (s, c) = ((w * k as f64).sin(), (w * k as f64).cos());
        ss += s * s;
        sc += s * c;
        cc += c * c;
        xs += f64::from(v) * s;
        xc += f64::from(v) * c;
    }
    let det = ss * cc - sc * sc;
    let (a, b) = ((xs * cc - xc * sc) / det, (xc * ss - xs * sc) / det);
    x.iter()
        .enumerate()
        .take(x.len().saturating_sub(4800))
        .skip(4800)
        .map(|(k, &v)| (v - (a * (w * k as f64).sin() + b * (w * k as f64).cos()) as f32).abs())
        .fold(0.0, f32::max)
}

#[test]
fn a_programme_whose_file_is_gone_airs_as_a_slate_that_decodes_with_its_own_init() {
    slates_the_second_programme("h264-360p", "640,360");
}

/// On a copy channel too: the copied H.264 programme's init is made from the probe (the
/// file's own bytes), and its black pictures carry their parameter sets in band.
#[test]
fn a_copied_programme_whose_file_is_gone_airs_as_a_slate_that_decodes_with_its_own_init() {
    slates_the_second_programme("copy", "480,360");
}

/// Removes the file of the second programme of a `profile` channel's window and reads the
/// channel through it: its init and segments are the slate's (black, silent, the segments'
/// length, pictures `size`), and decode under its real init, under their own, and on through
/// the window.
fn slates_the_second_programme(profile: &str, size: &str) {
    let d = tempfile::tempdir().unwrap();
    let (s, square) = films(d.path(), profile);
    let base = "/api/v1/channels/films";
    let live = String::from_utf8(s.get(&format!("{base}/live.m3u8")).body).unwrap();
    // The square film's init and segments: from the second EXT-X-MAP to the next.
    let mut square_init = None;
    let mut square_segments = Vec::new();
    let mut maps = 0;
    for (tags, uri) in entries(&live) {
        if let Some(m) = tags.iter().find_map(|t| t.strip_prefix("#EXT-X-MAP:URI=")) {
            maps += 1;
            if maps == 2 {
                square_init = Some(m.trim_matches('"').to_owned());
            }
        }
        if maps == 2 {
            square_segments.push(uri);
        }
    }
    let square_init =
        square_init.unwrap_or_else(|| panic!("the square film is not listed:\n{live}"));
    assert_eq!(square_segments.len(), 2, "{live}");
    let real = s.get(&format!("{base}/{square_init}"));
    assert_eq!(real.status, 200);
    assert!(real.header("etag").is_some());

    // The file goes; no rescan has left it out yet.
    std::fs::remove_file(&square).unwrap();
    let init = s.get(&format!("{base}/{square_init}"));
    assert_eq!(init.status, 200, "{}", String::from_utf8_lossy(&init.body));
    assert!(init.header("etag").is_none(), "a slate is not for keeping");
    assert_eq!(init.header("cache-control"), Some("public, max-age=2"));
    let mut media = Vec::new();
    for uri in &square_segments {
        let seg = s.get(&format!("{base}/{uri}"));
        assert_eq!(seg.status, 200, "{}", String::from_utf8_lossy(&seg.body));
        media.extend(seg.body);
    }
    // A player that fetched the programme's real init before the file went decodes the
    // slate with it, and one that comes after gets the slate's own.
    let with_real = d.path().join("with-real-init.mp4");
    std::fs::write(&with_real, [real.body.clone(), media.clone()].concat()).unwrap();
    assert_eq!(
        ffmpeg_warnings(&with_real, &[]),
        "",
        "the slate decodes with the real init"
    );
    let slated = &d.path().join("slate.mp4");
    std::fs::write(slated, [init.body, media].concat()).unwrap();
    assert_eq!(
        ffmpeg_warnings(slated, &[]),
        "",
        "the slate decodes cleanly"
    );
    assert_eq!(frame_size(slated), size);
    // And the channel reads on through it: every programme of the window decodes.
    for f in programmes(&s, "films", d.path()) {
        assert_eq!(ffmpeg_warnings(&f, &[]), "", "{f:?}");
    }
    // Its own length: 8 s of pictures at the film's 24 fps, and of sound.
    let pictures = ffprobe_video_csv(slated, &["-show_entries", "packet=pts_time"]).len();
    assert!((190..=194).contains(&pictures), "{pictures} pictures");
    let luma = first_picture(slated);
    assert!(luma.iter().all(|&v| v <= 2), "black: {luma:?}");
    let out = run(std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "info", "-i"])
        .arg(slated)
        .args(["-map", "0:a", "-af", "volumedetect", "-f", "null", "-"]));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("max_volume: -91") || log.contains("max_volume: -inf"),
        "silence: {log}"
    );
    let (first, end) = packet_span(slated, "a");
    assert!((end - first - 8.0).abs() < 0.05, "sound {first}..{end}");
    // The server said why, in its log.
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(log.contains("airs as a slate"), "{log}");
}
