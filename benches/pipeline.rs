//! In-process timings of the pipeline on one file: index, plan, and segment latency as a
//! long-running server sees it (one open source, segments requested in any order).
//!
//!     HAEMA_BENCH_FILE=film.mkv cargo bench --bench pipeline
//!
//! Without HAEMA_BENCH_FILE it measures the fixture film.
//!
//! scripts/bench.sh makes the media (1080p, 2-hour) and runs this beside the ffmpeg CLI.
//! Prints min / median / max over the runs; nothing is asserted (machines are noisy).

use std::path::PathBuf;
use std::time::Instant;

use haema::plan::{plan, DEFAULT_SEGMENT_SECS};
use haema::probe::probe;
use haema::segment::{SegmentId, Segmenter};

fn stats(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let med = ms[ms.len() / 2];
    format!(
        "min {:8.2} ms  median {:8.2} ms  max {:8.2} ms  (n={})",
        ms[0],
        med,
        ms[ms.len() - 1],
        ms.len()
    )
}

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed().as_secs_f64() * 1000.0)
}

fn main() {
    // Without a file of its own it measures the small fixture film, and says so: a bench run
    // always measures something (`cargo test --all-targets` runs it once too).
    let file = std::env::var_os("HAEMA_BENCH_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            eprintln!(
                "HAEMA_BENCH_FILE is not set: measuring the fixture film (scripts/bench.sh makes a 2-hour one)"
            );
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/library/Movies/Clock (2024)/Clock (2024).mkv")
        });
    let runs: usize = std::env::var("HAEMA_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    println!(
        "file: {} ({:.1} MB)",
        file.display(),
        std::fs::metadata(&file)
            .map(|m| m.len() as f64 / 1e6)
            .unwrap_or(0.0)
    );

    let _ = probe(&file).expect("probe"); // warm-up (page cache, FFmpeg init)
    let mut probe_ms = Vec::new();
    let mut plan_ms = Vec::new();
    let mut last = None;
    for _ in 0..runs.min(10) {
        let (info, t) = time(|| probe(&file).expect("probe"));
        probe_ms.push(t);
        let (pres, t) = time(|| plan(&info, DEFAULT_SEGMENT_SECS).expect("plan"));
        plan_ms.push(t);
        last = Some((info, pres));
    }
    let (info, pres) = last.expect("at least one run");
    println!(
        "index ({:?}, {} keyframes): {}",
        info.keyframes.source,
        info.keyframes.pts.len(),
        stats(probe_ms)
    );
    println!(
        "plan ({} segments):        {}",
        pres.timeline.len(),
        stats(plan_ms)
    );

    let mut seg = Segmenter::new(&info, &pres).expect("open");
    let n = pres.timeline.len();
    // Spread over the file, in a scattered order, as seeks would ask.
    let picks: Vec<usize> = (0..runs).map(|i| (i * 7919 + 13) % n).collect();
    let wanted = |r: &&haema::plan::Rendition| {
        r.id == "original"
            || r.id == "h264-720p"
            || (r.kind == haema::stream::Kind::Audio
                && (r.id.ends_with("-aac") || r.id.starts_with("audio")))
    };
    let mut seen_audio_copy = false;
    let mut seen_aac = false;
    for r in pres.renditions.iter().filter(wanted) {
        // One audio copy and one AAC transcode are enough.
        let is_aac = matches!(r.method, haema::plan::Method::Aac(_));
        if r.kind == haema::stream::Kind::Audio {
            if (is_aac && seen_aac) || (!is_aac && seen_audio_copy) {
                continue;
            }
            seen_aac |= is_aac;
            seen_audio_copy |= !is_aac;
        }
        let picks: Vec<usize> = match r.method {
            // Transcodes are slow: fewer runs.
            haema::plan::Method::Video(_) => picks.iter().copied().take(7).collect(),
            _ => picks.clone(),
        };
        let _ = seg
            .make(&r.id, SegmentId::Media(picks[0]))
            .expect("warm-up");
        let mut ms = Vec::new();
        let mut bytes = 0usize;
        for &k in &picks {
            let (b, t) = time(|| seg.make(&r.id, SegmentId::Media(k)).expect("segment"));
            bytes += b.len();
            ms.push(t);
        }
        let secs: f64 = picks
            .iter()
            .map(|&k| pres.timeline.duration_secs(k))
            .sum::<f64>()
            / picks.len() as f64;
        println!(
            "segment {:<16} {}  avg {:.0} kB, {:.1} s of media each",
            r.id,
            stats(ms),
            bytes as f64 / picks.len() as f64 / 1e3,
            secs
        );
    }
}
