//! `haema bench`: measured speed of the pipeline, side by side with the ffmpeg CLI doing the
//! same job.
//!
//! Every row runs whole processes (Haema's own binary and its peer), interleaved run by run so
//! that both see the same machine, after one warm-up each; it reports minimum, median and
//! maximum wall time and the ratio of the medians. Nothing here asserts a speed: it measures.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::plan::{plan, Method, DEFAULT_SEGMENT_SECS};
use crate::probe::{probe_with, Depth};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Options {
    /// The media file.
    pub file: PathBuf,
    /// Runs per row after the warm-up.
    pub runs: usize,
    /// Video encoder for the transcode row.
    pub encoder: String,
    /// Transcoded rendition to time (default: the largest H.264 rung).
    pub rendition: Option<String>,
}

/// Wall-time statistics of one command over the runs, milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// The command line.
    pub command: String,
    /// Fastest run.
    pub min_ms: f64,
    /// Median run.
    pub median_ms: f64,
    /// Slowest run.
    pub max_ms: f64,
}

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What is measured.
    pub name: String,
    /// Haema's timing.
    pub haema: Timing,
    /// The ffmpeg CLI doing the same job, when it is on PATH.
    pub peer: Option<Timing>,
    /// Haema's median over the peer's (below 1: Haema is faster).
    pub ratio: Option<f64>,
    /// Seconds of media made per second of wall time, for segment rows.
    pub realtime: Option<f64>,
    /// Mean media seconds of the segments Haema made, for segment rows.
    pub media_secs: Option<f64>,
    /// Mean media seconds the peer cut (its `-t`), for segment rows: the same work.
    pub peer_media_secs: Option<f64>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The file measured.
    pub file: PathBuf,
    /// Runs per row.
    pub runs: usize,
    /// Largest resident memory of any Haema process, MiB.
    pub peak_memory_mib: f64,
    /// The rows.
    pub rows: Vec<Row>,
}

fn stats(command: String, mut ms: Vec<f64>) -> Timing {
    ms.sort_by(f64::total_cmp);
    Timing {
        command,
        min_ms: ms[0],
        median_ms: ms[ms.len() / 2],
        max_ms: ms[ms.len() - 1],
    }
}

/// Runs a command to completion with its output discarded: (wall time in ms, its peak
/// resident memory in MiB, from wait4's rusage).
fn time(cmd: &[String]) -> Result<(f64, f64)> {
    let t = Instant::now();
    let child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::Io {
            context: format!("running {}", cmd[0]),
            source: e,
        })?;
    let usage = crate::media::sys::wait_with_usage(child).map_err(|e| Error::Io {
        context: format!("waiting for {}", cmd[0]),
        source: e,
    })?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    if !usage.success {
        return Err(Error::Peer(format!("{} failed", cmd.join(" "))));
    }
    Ok((ms, usage.max_rss_kib as f64 / 1024.0))
}

fn on_path(tool: &str) -> bool {
    Command::new(tool)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The segments a row's runs cut (run `runs` is the warm-up), with their starts and lengths
/// as the ffmpeg peer is told them, and the mean media seconds of the measured runs.
struct Cuts {
    segments: Vec<usize>,
    starts: Vec<String>,
    lengths: Vec<String>,
    media_secs: Option<f64>,
}

impl Cuts {
    /// Scattered segments of `tl` (`origin`: the first keyframe's time in the file, seconds).
    fn of(tl: &crate::timeline::Timeline, origin: f64, runs: usize) -> Cuts {
        let n = tl.len();
        let segments: Vec<usize> = (0..=runs).map(|i| (i * 7919 + 13) % n).collect();
        Cuts {
            starts: segments
                .iter()
                .map(|&k| format!("{:.3}", origin + tl.start_secs(k)))
                .collect(),
            lengths: segments
                .iter()
                .map(|&k| format!("{:.3}", tl.duration_secs(k)))
                .collect(),
            media_secs: Some(
                segments[..runs]
                    .iter()
                    .map(|&k| tl.duration_secs(k))
                    .sum::<f64>()
                    / runs as f64,
            ),
            segments,
        }
    }
}

/// Measures every row; `progress` is told what runs.
pub fn run(opts: &Options, haema: &Path, progress: &dyn Fn(&str)) -> Result<Report> {
    let info = probe_with(&opts.file, Depth::Playlists)?;
    let pres = plan(&info, DEFAULT_SEGMENT_SECS)?;
    let file = opts.file.display().to_string();
    let exe = haema.display().to_string();
    let runs = opts.runs.max(1);
    let origin = info.keyframes.pts[0] as f64 * info.keyframes.time_base.as_f64();
    let has_ffmpeg = on_path("ffmpeg");
    let has_ffprobe = on_path("ffprobe");

    type Cmd = Box<dyn Fn(usize) -> Vec<String>>;
    let strings = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    // Run i of each row cuts segment i of its `Cuts` (scattered, as seeks would ask; each run's
    // pair uses the same one); the ffmpeg peer cuts the same span (the segment's own start
    // and duration, from the playlist: a long GOP makes a long segment, but for a rung cut
    // finer) with `middle` as its codec arguments, into the same fragmented MP4.
    let keyframe_cuts = Cuts::of(&pres.timeline, origin, runs);
    let ffmpeg_cut = |middle: Vec<String>, cuts: &Cuts| -> Option<Cmd> {
        let (starts, lengths, file) = (cuts.starts.clone(), cuts.lengths.clone(), file.clone());
        has_ffmpeg.then(|| {
            Box::new(move |i: usize| {
                let mut c = strings(&[
                    "ffmpeg",
                    "-v",
                    "error",
                    "-ss",
                    &starts[i],
                    "-i",
                    &file,
                    "-t",
                    &lengths[i],
                ]);
                c.extend(middle.iter().cloned());
                c.extend(strings(&[
                    "-f",
                    "mp4",
                    "-movflags",
                    "frag_keyframe+empty_moov+default_base_moof",
                    "-",
                ]));
                c
            }) as Cmd
        })
    };
    let haema_segment = |extra: Vec<String>, cuts: &Cuts| -> Cmd {
        let (exe, file, segments) = (exe.clone(), file.clone(), cuts.segments.clone());
        Box::new(move |i: usize| {
            let mut c = strings(&[&exe, "segment", &file, &segments[i].to_string()]);
            c.extend(extra.iter().cloned());
            c
        })
    };

    let mut rows: Vec<(String, Cmd, Option<Cmd>, Option<f64>)> = Vec::new();
    {
        let (exe, file) = (exe.clone(), file.clone());
        let f2 = file.clone();
        let peer: Option<Cmd> = has_ffprobe.then(|| {
            Box::new(move |_: usize| {
                strings(&[
                    "ffprobe",
                    "-v",
                    "error",
                    "-select_streams",
                    "v:0",
                    "-show_entries",
                    "packet=pts_time,flags",
                    "-of",
                    "csv",
                    &f2,
                ])
            }) as Cmd
        });
        rows.push((
            "playlist (index read)".into(),
            Box::new(move |_| strings(&[&exe, "playlist", &file])),
            peer,
            None,
        ));
    }
    rows.push((
        "copy segment (video)".into(),
        haema_segment(Vec::new(), &keyframe_cuts),
        ffmpeg_cut(strings(&["-map", "0:v:0", "-c", "copy"]), &keyframe_cuts),
        keyframe_cuts.media_secs,
    ));
    let rung = match &opts.rendition {
        Some(r) => Some(pres.rendition(r)?.clone()),
        None => pres
            .videos()
            .find(|r| matches!(r.method, Method::Video(_)))
            .cloned(),
    };
    if let Some((r, Method::Video(t))) = rung.map(|r| (r.clone(), r.method)) {
        let rate = format!("{}k", t.max_bitrate / 1000);
        let average = format!("{}k", t.bitrate() / 1000);
        let enc = opts.encoder.clone();
        let cuts = Cuts::of(pres.timeline_of(&r), origin, runs);
        rows.push((
            format!("transcode {} ({enc})", r.id),
            haema_segment(strings(&["-r", &r.id, "-e", &enc]), &cuts),
            ffmpeg_cut(
                strings(&[
                    "-map",
                    "0:v:0",
                    "-vf",
                    &format!("scale={}:{}", t.width, t.height),
                    "-c:v",
                    &enc,
                    "-preset",
                    "veryfast",
                    "-b:v",
                    &average,
                    "-maxrate",
                    &rate,
                    "-bufsize",
                    &rate,
                    "-bf",
                    "0",
                ]),
                &cuts,
            ),
            cuts.media_secs,
        ));
    }
    if let Some(a) = pres.audio().find(|r| matches!(r.method, Method::Aac(_))) {
        rows.push((
            format!("aac segment {}", a.id),
            haema_segment(strings(&["-r", &a.id]), &keyframe_cuts),
            ffmpeg_cut(
                strings(&["-map", &format!("0:{}", a.stream), "-c:a", "aac"]),
                &keyframe_cuts,
            ),
            keyframe_cuts.media_secs,
        ));
    }

    let mut out = Vec::new();
    let mut peak = 0f64;
    for (name, ours, peer, media_secs) in rows {
        progress(&name);
        // Warm-up: page cache, dynamic linking.
        time(&ours(runs))?;
        if let Some(p) = &peer {
            time(&p(runs))?;
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for i in 0..runs {
            let (ms, mib) = time(&ours(i))?;
            a.push(ms);
            peak = peak.max(mib);
            if let Some(p) = &peer {
                b.push(time(&p(i))?.0);
            }
            progress(&name);
        }
        // What the peer was asked to cut, read back from its own command lines.
        let peer_media_secs = peer.as_ref().filter(|_| media_secs.is_some()).map(|p| {
            (0..runs)
                .filter_map(|i| {
                    let c = p(i);
                    let t = c.iter().position(|a| a == "-t")?;
                    c.get(t + 1)?.parse::<f64>().ok()
                })
                .sum::<f64>()
                / runs as f64
        });
        let haema = stats(ours(0).join(" "), a);
        let peer = peer.map(|p| stats(p(0).join(" "), b));
        out.push(Row {
            ratio: peer.as_ref().map(|p| haema.median_ms / p.median_ms),
            realtime: media_secs.map(|s| s * 1000.0 / haema.median_ms),
            media_secs,
            peer_media_secs,
            name,
            haema,
            peer,
        });
    }
    Ok(Report {
        file: opts.file.clone(),
        runs,
        peak_memory_mib: peak,
        rows: out,
    })
}

/// The report as a Markdown table (for the README).
pub fn markdown(r: &Report) -> String {
    let mut s = format!(
        "`haema bench {}` ({} runs, peak memory {:.0} MiB)\n\n| what | haema median (min-max) | ffmpeg CLI median | ratio | realtime |\n| --- | --- | --- | --- | --- |\n",
        r.file.display(),
        r.runs,
        r.peak_memory_mib
    );
    for row in &r.rows {
        s.push_str(&format!(
            "| {} | {:.1} ms ({:.1}-{:.1}) | {} | {} | {} |\n",
            row.name,
            row.haema.median_ms,
            row.haema.min_ms,
            row.haema.max_ms,
            row.peer
                .as_ref()
                .map_or("-".into(), |p| format!("{:.1} ms", p.median_ms)),
            row.ratio.map_or("-".into(), |x| format!("{x:.2}x")),
            row.realtime.map_or("-".into(), |x| format!("{x:.1}x")),
        ));
    }
    s
}

/// The report as aligned text (for a terminal).
pub fn text(r: &Report) -> String {
    let mut s = format!(
        "{} ({} runs each, interleaved with the peer)\n",
        r.file.display(),
        r.runs
    );
    for row in &r.rows {
        s.push_str(&format!(
            "{:<34} median {:>8.1} ms  min {:>8.1}  max {:>8.1}",
            row.name, row.haema.median_ms, row.haema.min_ms, row.haema.max_ms
        ));
        if let (Some(p), Some(x)) = (&row.peer, row.ratio) {
            s.push_str(&format!("   ffmpeg {:>8.1} ms  ratio {x:.2}x", p.median_ms));
        }
        if let Some(rt) = row.realtime {
            s.push_str(&format!("   {rt:.1}x realtime"));
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "peak memory of a haema process: {:.0} MiB\n",
        r.peak_memory_mib
    ));
    s
}

/// What `haema bench --server` measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// The server.
    pub server: String,
    /// Simulated viewers.
    pub clients: usize,
    /// Seconds they played.
    pub seconds: f64,
    /// Requests answered.
    pub requests: u64,
    /// Requests that failed (non-200 or connection errors).
    pub errors: u64,
    /// Bytes received per second, MB/s.
    pub throughput_mb_s: f64,
    /// Latency percentiles over all requests, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// Plays `clients` simulated viewers against a server for `seconds`: each picks a video, reads
/// its master and first variant playlist, then fetches segment after segment, seeking now and
/// then. Bounded in time; only the named server is contacted.
pub fn serve_load(
    server: &str,
    token: Option<&str>,
    clients: usize,
    seconds: f64,
) -> Result<LoadReport> {
    let shows_body = crate::client::get(server, "/api/v1/shows", token)
        .map_err(Error::Peer)?
        .1;
    let shows: serde_json::Value = serde_json::from_slice(&shows_body)
        .map_err(|e| Error::Peer(format!("{server}: /api/v1/shows: {e}")))?;
    let mut videos: Vec<String> = Vec::new();
    for s in shows.as_array().into_iter().flatten() {
        videos.extend(s["video"].as_str().map(str::to_owned));
        videos.extend(
            s["episodes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["id"].as_str().map(str::to_owned)),
        );
    }
    if videos.is_empty() {
        return Err(Error::Peer(format!("{server} lists no videos")));
    }
    let deadline = Instant::now() + std::time::Duration::from_secs_f64(seconds.max(0.1));
    let results: std::sync::Mutex<(Vec<f64>, u64, u64)> = std::sync::Mutex::new((Vec::new(), 0, 0));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for c in 0..clients.max(1) {
            let (videos, results) = (&videos, &results);
            scope.spawn(move || {
                let video = &videos[c % videos.len()];
                let base = format!("/api/v1/video/{video}");
                let timed = |path: &str| {
                    let t = Instant::now();
                    let r = crate::client::get(server, path, token);
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    let mut g = results.lock().expect("no panics while held");
                    g.0.push(ms);
                    match r {
                        Ok((200, body)) => {
                            g.1 += body.len() as u64;
                            Some(body)
                        }
                        _ => {
                            g.2 += 1;
                            None
                        }
                    }
                };
                let Some(master) = timed(&format!("{base}/master.m3u8")) else {
                    return;
                };
                let master = String::from_utf8_lossy(&master).into_owned();
                let Some(variant) = master
                    .lines()
                    .find(|l| !l.starts_with('#') && !l.is_empty())
                else {
                    return;
                };
                let rendition = variant.split('/').next().unwrap_or("original").to_owned();
                let Some(media) = timed(&format!("{base}/{variant}")) else {
                    return;
                };
                let count = String::from_utf8_lossy(&media)
                    .lines()
                    .filter(|l| l.starts_with("#EXTINF"))
                    .count()
                    .max(1);
                let mut n = c % count;
                let mut k = 0usize;
                while Instant::now() < deadline {
                    timed(&format!("{base}/{rendition}/{n}.m4s"));
                    k += 1;
                    // Play on; every seventh segment, seek.
                    n = if k.is_multiple_of(7) {
                        (n + count / 2 + 1) % count
                    } else {
                        (n + 1) % count
                    };
                }
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let (mut lat, bytes, errors) = results.into_inner().expect("no panics while held");
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Ok(LoadReport {
        server: server.to_owned(),
        clients,
        seconds: elapsed,
        requests: lat.len() as u64,
        errors,
        throughput_mb_s: bytes as f64 / 1e6 / elapsed,
        p50_ms: pct(0.5),
        p90_ms: pct(0.9),
        p99_ms: pct(0.99),
    })
}
