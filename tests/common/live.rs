//! Live channels as a client reads them: a live playlist's entries, and every programme it
//! lists fetched as one file (its init and its segments) for ffmpeg and ffprobe to judge.

use super::server::Server;

/// The URIs of a playlist, with the tags before each.
pub fn entries(playlist: &str) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut tags = Vec::new();
    for l in playlist.lines().skip(1) {
        if l.starts_with('#') {
            tags.push(l.to_owned());
        } else if !l.is_empty() {
            out.push((std::mem::take(&mut tags), l.to_owned()));
        }
    }
    out
}

/// Downloads a channel's listed segments with the init before each programme's first, as a
/// player reads them, into one file per programme.
pub fn programmes(s: &Server, channel: &str, dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let base = format!("/api/v1/channels/{channel}");
    let text = String::from_utf8(s.get(&format!("{base}/live.m3u8")).body).unwrap();
    let mut files: Vec<(std::path::PathBuf, Vec<u8>)> = Vec::new();
    for (tags, uri) in entries(&text) {
        if let Some(map) = tags.iter().find_map(|t| t.strip_prefix("#EXT-X-MAP:URI=")) {
            let init = s.get(&format!("{base}/{}", map.trim_matches('"')));
            assert_eq!(init.status, 200, "{map}");
            files.push((
                dir.join(format!("{channel}-{}.mp4", files.len())),
                init.body,
            ));
        }
        let seg = s.get(&format!("{base}/{uri}"));
        assert_eq!(
            seg.status,
            200,
            "{uri}: {}",
            String::from_utf8_lossy(&seg.body)
        );
        files.last_mut().unwrap().1.extend(seg.body);
    }
    files
        .into_iter()
        .map(|(p, bytes)| {
            std::fs::write(&p, bytes).unwrap();
            p
        })
        .collect()
}

/// First and last packet times (seconds) of a stream of a file, as ffprobe reads them.
pub fn packet_span(file: &std::path::Path, stream: &str) -> (f64, f64) {
    let out = super::run(
        std::process::Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", stream, "-show_entries"])
            .args(["packet=pts_time,duration_time", "-of", "csv=p=0"])
            .arg(file),
    );
    let rows: Vec<(f64, f64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (p, d) = l.split_once(',')?;
            Some((p.parse().ok()?, d.parse().unwrap_or(0.0)))
        })
        .collect();
    let first = rows.iter().map(|r| r.0).fold(f64::MAX, f64::min);
    let end = rows.iter().map(|r| r.0 + r.1).fold(f64::MIN, f64::max);
    (first, end)
}

/// A `secs` long 480x360 film at `path` (H.264 with B-frames, a keyframe every 4 s; AAC
/// stereo at `rate`, a 3 kHz tone).
pub fn square_film(path: &std::path::Path, secs: u32, rate: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let sine = format!("sine=f=3000:r={rate}:d={secs}");
    super::ffmpeg_make_clock(
        path,
        "480x360",
        secs,
        &[
            "-f", "lavfi", "-i", &sine, "-map", "0", "-map", "1", "-c:v", "libx264", "-g", "96",
            "-c:a", "aac", "-ac", "2",
        ],
    );
}
