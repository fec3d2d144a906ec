//! Helpers shared by the integration tests: the fixtures, the real `haema` binary, and the
//! outside tools (ffmpeg, ffprobe, node) that judge its output.
#![allow(dead_code)]

pub mod corpus;
pub mod live;
pub mod nginx;
pub mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The committed fixture library.
pub fn library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/library")
}

/// H.264 + B-frames in Matroska with Cues; AC-3 5.1, AAC, Opus; irregular keyframes.
pub fn mkv() -> PathBuf {
    library().join("Movies/Clock (2024)/Clock (2024).mkv")
}
/// H.264 + B-frames in MP4 with an edit list; AAC and AC-3.
pub fn mp4() -> PathBuf {
    library().join("Series/Clockwork/Season 01/Clockwork - S01E01 - Pilot.mp4")
}
/// Matroska written to a pipe: no Cues, no duration; H.264 + Opus.
pub fn mkv_no_cues() -> PathBuf {
    library().join("Series/Clockwork/Season 01/Clockwork - S01E02 - No Cues.mkv")
}
/// HEVC Main 10 in MP4, tagged hvc1; AAC.
pub fn hevc() -> PathBuf {
    library().join("Movies/Clock HEVC (2024)/Clock HEVC (2024).mp4")
}

/// The fixtures' library ids: a function of each file's path below the library root, the
/// same in every server that scans the library.
pub const MKV_ID: i64 = haema::library::video_id("Movies/Clock (2024)/Clock (2024).mkv");
/// See [`MKV_ID`].
pub const HEVC_ID: i64 = haema::library::video_id("Movies/Clock HEVC (2024)/Clock HEVC (2024).mp4");
/// See [`MKV_ID`].
pub const MP4_ID: i64 =
    haema::library::video_id("Series/Clockwork/Season 01/Clockwork - S01E01 - Pilot.mp4");
/// See [`MKV_ID`].
pub const NO_CUES_ID: i64 =
    haema::library::video_id("Series/Clockwork/Season 01/Clockwork - S01E02 - No Cues.mkv");
/// Every fixture's id, the films first.
pub const IDS: [i64; 4] = [MKV_ID, HEVC_ID, MP4_ID, NO_CUES_ID];

/// Every fixture.
pub fn all() -> Vec<PathBuf> {
    vec![mkv(), mp4(), mkv_no_cues(), hevc()]
}

/// The `haema` binary cargo built for these tests.
pub fn haema() -> Command {
    Command::new(env!("CARGO_BIN_EXE_haema"))
}

/// Runs a command, returning its output; panics only if it could not start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"))
}

/// Runs haema and expects success; returns stdout.
pub fn haema_ok(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = run(haema().args(args));
    assert!(
        out.status.success(),
        "haema {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Writes the static HLS tree of a file into a new temp dir.
pub fn tree(file: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    haema_ok(&[
        "playlist".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        dir.path().as_os_str(),
    ]);
    dir
}

/// All rendition folders of a tree, sorted.
pub fn all_renditions(tree: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(tree)
        .expect("tree")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The fMP4 (audio and video) rendition folders of a tree, sorted.
pub fn renditions(tree: &Path) -> Vec<String> {
    all_renditions(tree)
        .into_iter()
        .filter(|r| !r.starts_with("subs-"))
        .collect()
}

/// Number of media segments in a rendition's playlist.
pub fn segment_count(tree: &Path, rendition: &str) -> usize {
    let text = std::fs::read_to_string(tree.join(rendition).join("stream.m3u8")).expect("playlist");
    text.lines().filter(|l| l.starts_with("#EXTINF")).count()
}

/// EXTINF durations of a media playlist.
pub fn extinfs(tree: &Path, rendition: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(tree.join(rendition).join("stream.m3u8")).expect("playlist");
    text.lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| l.trim_end_matches(',').parse().expect("EXTINF number"))
        .collect()
}

/// init.mp4 followed by every media segment of a rendition, in order.
pub fn concatenated(tree: &Path, rendition: &str) -> Vec<u8> {
    let dir = tree.join(rendition);
    let mut all = std::fs::read(dir.join("init.mp4")).expect("init");
    for n in 0..segment_count(tree, rendition) {
        all.extend(std::fs::read(dir.join(format!("{n}.m4s"))).expect("segment"));
    }
    all
}

/// What `ffmpeg -v warning` prints when decoding `input` to nowhere (empty means clean).
pub fn ffmpeg_warnings(input: &Path, extra: &[&str]) -> String {
    let out = run(Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-v", "warning", "-i"])
        .arg(input)
        .args(extra)
        .args(["-f", "null", "-"]));
    assert!(
        out.status.success(),
        "ffmpeg failed on {}: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A deterministic shuffle (xorshift), so a failure is reproducible.
pub fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

/// Makes a media file with the ffmpeg CLI (`ffmpeg -nostdin -v error -y ARGS OUT`).
pub fn ffmpeg_make(out: &Path, args: &[&str]) {
    let res = run(Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(out));
    assert!(
        res.status.success(),
        "ffmpeg making {}: {}",
        out.display(),
        String::from_utf8_lossy(&res.stderr)
    );
}

/// A minimal HTTP/1.1 response.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP request over a fresh connection (the test client; nobody's library).
pub fn http(
    method: &str,
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Runs one of tests/browser's scripts (hls.js or Haema's page in headless Chromium) and
/// returns the JSON report it prints. Fails, saying what to run, when Chromium or the npm
/// packages are missing: a browser test never passes without having played.
pub fn browser_report(script: &str, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        ["hls.js", "video.js", "shaka-player", "playwright-core"]
            .iter()
            .all(|p| dir.join("node_modules").join(p).is_dir()),
        "the players or playwright-core are missing: run scripts/test.sh (or `npm ci --prefix tests/browser`)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "no Chromium at {chromium}: run scripts/test.sh (it installs Debian's chromium)"
    );
    // One browser at a time: players judged on stalls must not be starved by each other.
    static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let out = run(Command::new("node").arg(dir.join(script)).args(args));
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.trim()).unwrap_or_else(|_| {
        panic!(
            "{script} printed no report: {line}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The fixtures' frame rate: frame `k` of a fixture is shown from `k / FPS` on.
pub const FPS: f64 = 24.0;

/// The frame numbers drawn in the pictures of `input` (a file, or a URL ffmpeg can open), in
/// the order ffmpeg's decoder shows them. The fixtures draw the number in binary along the
/// bottom of a 640x360 picture: 20 blocks of 32x32, bit 0 at the left, white for 1
/// (fixtures/make-fixtures.sh); ffmpeg scales any rendition back to 640x360 and averages each
/// block to one pixel. Read by ffmpeg, never by Haema.
pub fn frame_numbers(input: &Path) -> Vec<u32> {
    let out = run(Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(input)
        .args(["-map", "0:v:0", "-fps_mode", "passthrough", "-vf"])
        .arg("scale=640:360,crop=640:32:0:328,scale=20:1:flags=area,format=gray")
        .args(["-f", "rawvideo", "-"]));
    assert!(
        out.status.success(),
        "ffmpeg could not decode {}: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks(20)
        .map(|bits| {
            bits.iter()
                .enumerate()
                .filter(|(_, &b)| b >= 128)
                .map(|(i, _)| 1u32 << i)
                .sum()
        })
        .collect()
}

/// The lines ffprobe prints for the first video stream of `input` as CSV without section
/// names, given what to show (`-show_entries ...` and any other options).
pub fn ffprobe_video_csv(input: &Path, show: &[&str]) -> Vec<String> {
    let out = run(Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-of", "csv=p=0"])
        .args(show)
        .arg(input));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().trim_end_matches(',').to_owned())
        .collect()
}

/// When ffprobe says each frame of `input` is shown, in seconds, in the order shown (`show`
/// adds options: `-read_intervals %+#1` for the first frame only).
pub fn frame_times(input: &Path, show: &[&str]) -> Vec<f64> {
    let mut args = vec!["-show_entries", "frame=best_effort_timestamp_time"];
    args.extend(show);
    ffprobe_video_csv(input, &args)
        .iter()
        .filter_map(|l| l.parse().ok())
        .collect()
}

/// When the first frame of `input` is shown, in seconds, as ffprobe reads it: where frame 0
/// sits on a player's clock.
pub fn first_frame_time(input: &Path) -> f64 {
    frame_times(input, &["-read_intervals", "%+#1"])
        .first()
        .copied()
        .unwrap_or_else(|| panic!("ffprobe found no frame in {}", input.display()))
}

/// Where a player test seeks, and the frame it must then show: the first and the last frame of
/// a segment in the middle, of the last, and of the second (forward, to the end, back into an
/// early segment, from where a test can play on), from a media playlist's EXTINF list and the
/// time frame 0 is shown.
/// Each time is the middle of its frame, so a timing error of one frame shows.
pub fn clock_points(extinf: &[f64], origin: f64) -> (Vec<f64>, Vec<u32>) {
    let mut starts = vec![0.0];
    for d in extinf {
        starts.push(starts.last().unwrap() + d);
    }
    let n = extinf.len();
    let mut order = vec![n / 2, n - 1, 1.min(n - 1)];
    order.dedup();
    let mut frames = Vec::new();
    for s in order {
        let first = (starts[s] * FPS).round() as u32;
        let mut last = (starts[s + 1] * FPS).round() as u32 - 1;
        if s + 1 == n {
            // The file's very last frame can end before a player's timeline does not: hls.js
            // puts the origin where the video starts, and when the audio starts earlier (by
            // less than a frame) the last frame's time lies past its end (see
            // `clock_errors`). The one before it is still the last segment's.
            last -= 1;
        }
        frames.extend([first, last]);
    }
    let times = frames
        .iter()
        .map(|&k| origin + (k as f64 + 0.5) / FPS)
        .collect();
    (times, frames)
}

/// The frames a player showed at the times `clock_points` chose, against the frames it should
/// have: a message naming each wrong one, or `None`. Every frame must be off by the same
/// amount, at most one frame: a player may put the stream's origin where its video starts
/// rather than where the earliest track does (hls.js does, when audio starts first), which
/// moves every frame alike by less than one; a wrong segment or a wrong decode time moves
/// one point and not the others.
pub fn clock_errors(report: &serde_json::Value, want: &[u32]) -> Option<String> {
    let got: Vec<i64> = report["clock"]
        .as_array()
        .map(|c| c.iter().map(|x| x["got"].as_i64().unwrap_or(-1)).collect())
        .unwrap_or_default();
    if got.len() != want.len() {
        return Some(format!(
            "{} frames read, {} asked for",
            got.len(),
            want.len()
        ));
    }
    let offset = got[0] - i64::from(want[0]);
    let wrong: Vec<String> = want
        .iter()
        .zip(&got)
        .filter(|(w, g)| offset.abs() > 1 || **g - i64::from(**w) != offset)
        .map(|(w, g)| format!("frame {g} shown where {w} belongs"))
        .collect();
    (!wrong.is_empty()).then(|| wrong.join("; "))
}

/// [`clock_points`] of a video served at `addr` (`--at`'s text and the frames), from its
/// original rendition's playlist and first segment as a client gets them.
pub fn served_clock_points(addr: &str, video: i64) -> (String, Vec<u32>) {
    let base = format!("/api/v1/video/{video}/original");
    let get = |path: &str| http("GET", addr, &format!("{base}/{path}"), &[], b"").body;
    let playlist = String::from_utf8(get("stream.m3u8")).expect("playlist text");
    let extinf: Vec<f64> = playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| l.trim_end_matches(',').parse().expect("EXTINF number"))
        .collect();
    let tmp = tempfile::tempdir().expect("temp dir");
    let head = tmp.path().join("head.mp4");
    std::fs::write(&head, [get("init.mp4"), get("0.m4s")].concat()).expect("write");
    let (times, want) = clock_points(&extinf, first_frame_time(&head));
    let at: Vec<String> = times.iter().map(|x| format!("{x:.4}")).collect();
    (at.join(","), want)
}

/// GStreamer's video sink for [`strip_frame_numbers`]: the bottom 640x32 strip of every frame,
/// grey, into `raw`.
pub fn strip_sink(raw: &Path) -> String {
    format!(
        "video-sink=videoconvert ! videoscale ! video/x-raw,format=GRAY8,width=640,height=360 \
         ! videocrop top=328 ! filesink location={}",
        raw.display()
    )
}

/// The frame numbers of the strips [`strip_sink`] wrote, in the order shown: one 640x32 strip
/// per frame; bit i is the block at x = 32 i, read on its middle row.
pub fn strip_frame_numbers(raw: &Path) -> Vec<u32> {
    std::fs::read(raw)
        .unwrap_or_default()
        .chunks_exact(640 * 32)
        .map(|strip| {
            (0..20)
                .filter(|i| strip[16 * 640 + 32 * i + 16] >= 128)
                .map(|i| 1 << i)
                .sum()
        })
        .collect()
}

/// Makes `out` with ffmpeg from `secs` seconds of test picture at 24 fps and `size` (`WxH`,
/// square pixels: a 480x360 picture is 4:3, not 16:9 squeezed), with the fixtures'
/// frame-number clock drawn in it (see [`frame_numbers`]), as input 0;
/// `args` adds inputs, maps and codecs. Media made at test time carries the same clock as the
/// committed fixtures.
pub fn ffmpeg_make_clock(out: &Path, size: &str, secs: u32, args: &[&str]) {
    let graph = format!(
        "testsrc2=s=640x360:r=24:d={secs},format=yuv420p[bg];\
         nullsrc=s=640x32:r=24:d={secs},format=yuv420p,\
         geq=lum='16+219*mod(floor(N/pow(2,floor(X/32))),2)':cb=128:cr=128[bits];\
         [bg][bits]overlay=0:328:format=yuv420,scale={},setsar=1[out0]",
        size.replace('x', ":")
    );
    let mut all = vec!["-f", "lavfi", "-i", &graph];
    all.extend(args);
    ffmpeg_make(out, &all);
}

/// Whether an RFC 6381 CODECS entry agrees with what ffprobe reads from the rendition it
/// names (`dir`: its init and first segment; codec, profile, level): `Err` says how not. The
/// judge is ffprobe's reading of the stream, never Haema's codec-string code.
pub fn codecs_agree(entry: &str, dir: &Path) -> Result<(), String> {
    let tmp = tempfile::tempdir().expect("temp dir");
    let init = tmp.path().join("head.mp4");
    let mut head = std::fs::read(dir.join("init.mp4")).map_err(|e| e.to_string())?;
    head.extend(std::fs::read(dir.join("0.m4s")).map_err(|e| e.to_string())?);
    std::fs::write(&init, head).map_err(|e| e.to_string())?;
    let out = run(Command::new("ffprobe")
        .args(["-v", "error", "-show_streams", "-of", "json"])
        .arg(&init));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let s = &j["streams"][0];
    let (name, profile, level) = (
        s["codec_name"].as_str().unwrap_or(""),
        s["profile"].as_str().unwrap_or(""),
        s["level"].as_i64().unwrap_or(-1),
    );
    let parts: Vec<&str> = entry.split('.').collect();
    let ok = match parts[0] {
        // ISO/IEC 14496-15 / RFC 6381: avc1.PPCCLL in hex: profile_idc, constraints, level.
        "avc1" => {
            let idc = match profile {
                "Baseline" | "Constrained Baseline" => 0x42,
                "Main" => 0x4d,
                "High" => 0x64,
                "High 10" => 0x6e,
                _ => -1,
            };
            let hex = parts.get(1).copied().unwrap_or("");
            name == "h264"
                && hex.len() == 6
                && i64::from_str_radix(&hex[..2], 16) == Ok(idc)
                && i64::from_str_radix(&hex[4..], 16) == Ok(level)
        }
        // ISO/IEC 14496-15 E.3: hvc1.<profile>.<compat>.<tier><level>...
        "hvc1" => {
            let idc = match profile {
                "Main" => "1",
                "Main 10" => "2",
                _ => "?",
            };
            name == "hevc"
                && s["codec_tag_string"] == "hvc1"
                && parts.get(1) == Some(&idc)
                && parts.get(3).map(|t| &t[1..]) == Some(&level.to_string())
        }
        "mp4a" => name == "aac" && entry == "mp4a.40.2" && profile == "LC",
        "ac-3" => name == "ac3",
        "ec-3" => name == "eac3",
        "opus" => name == "opus",
        "fLaC" => name == "flac",
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{entry} vs ffprobe's {name} {profile} level {level} in {}",
            init.display()
        ))
    }
}

/// How many segments the rungs of `file` have (`haema probe --json`): the copy's, or more
/// where long GOPs are cut finer in the rungs.
pub fn rung_segment_count(file: &Path) -> usize {
    let plan: serde_json::Value = serde_json::from_slice(&haema_ok(&[
        "probe".as_ref(),
        "--json".as_ref(),
        file.as_os_str(),
    ]))
    .expect("probe JSON");
    plan["plan"]["rung_segment_durations"]
        .as_array()
        .map(Vec::len)
        .or(plan["plan"]["segments"].as_u64().map(|n| n as usize))
        .expect("a plan")
}

/// Asks `ready` again every `every` until it gives an answer or `within` has passed: how the
/// tests wait for another process (a server up, a file written, a child exited), never with a
/// fixed sleep. `None` when the time ran out.
pub fn wait_until<T>(
    within: std::time::Duration,
    every: std::time::Duration,
    mut ready: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(v) = ready() {
            return Some(v);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(every);
    }
}
