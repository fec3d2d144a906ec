//! `haema probe FILE`: streams, codecs, keyframes and the streaming plan of one file.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;

use std::fmt::Write;

use crate::cmd::write_stdout;
use haema::plan::{plan, Presentation, DEFAULT_SEGMENT_SECS};
use haema::probe::{probe, MediaInfo};
use haema::stream::{Kind, StreamParams};

/// Arguments of `haema probe`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples:\n  haema probe movie.mkv\n  haema probe --json movie.mkv | jq '.keyframes | length'"
)]
pub struct Args {
    /// The media file.
    #[arg(required_unless_present = "encoders")]
    pub file: Option<PathBuf>,
    /// List every candidate video encoder and whether it opens on this machine (and why not).
    #[arg(long)]
    pub encoders: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Target segment duration in seconds (segments cut at the first keyframe at or after it).
    #[arg(long, default_value_t = DEFAULT_SEGMENT_SECS, value_name = "SECONDS")]
    pub segment_duration: f64,
}

/// Runs `haema probe`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.encoders {
        return write_stdout(encoders_text(args.json)?.as_bytes());
    }
    let file = args
        .file
        .as_deref()
        .expect("clap requires FILE without --encoders");
    let info = probe(file)?;
    let pres = plan(&info, args.segment_duration);
    let text = if args.json {
        json_text(&info, &pres)?
    } else {
        let mut s = streams_text(&info);
        s += &plan_text(&info, &pres, args.segment_duration);
        s
    };
    write_stdout(text.as_bytes())
}

/// `--encoders`: each candidate encoder, whether it opens here, and why not.
fn encoders_text(json: bool) -> anyhow::Result<String> {
    let list = haema::media::transcode::probe_encoders();
    if json {
        return Ok(serde_json::to_string_pretty(&list).context("serialising")? + "\n");
    }
    Ok(list
        .iter()
        .map(|e| {
            let state = if e.available {
                "available"
            } else {
                "unavailable"
            };
            format!("{:<14} {:<11} {}\n", e.name, state, e.detail)
        })
        .collect())
}

/// `--json`: the probe (without its byte counts), keyframe times in seconds, and the plan.
fn json_text(info: &MediaInfo, pres: &haema::Result<Presentation>) -> anyhow::Result<String> {
    let mut v = serde_json::to_value(info).context("serialising the probe")?;
    if let Some(o) = v.as_object_mut() {
        o.remove("bytes");
    }
    v["keyframes"] = serde_json::json!(info.keyframe_secs());
    v["keyframe_index"] = serde_json::json!({
        "source": info.keyframes.source,
        "count": info.keyframes.pts.len(),
        "elapsed_ms": info.keyframes.elapsed_ms,
    });
    v["plan"] = match pres {
        Ok(p) => serde_json::json!({
            "segments": p.timeline.len(),
            "segment_durations": p.timeline.durations(),
            "rung_segment_durations": p.rung_timeline.as_ref().map(|t| t.durations()),
            "independent_segments": p.independent,
            "renditions": p.renditions,
            "skipped": p.skipped,
        }),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    };
    Ok(serde_json::to_string_pretty(&v).context("serialising the probe")? + "\n")
}

/// One line a stream: kind, codec, profile, picture or sound, language, flags.
fn stream_line(st: &StreamParams) -> String {
    let mut line = format!("  #{} {:?} {}", st.index, st.kind, st.codec).to_lowercase();
    if let Some(p) = &st.profile {
        line += &format!(" ({p})");
    }
    match st.kind {
        Kind::Video => {
            line += &format!(", {}x{}", st.width, st.height);
            if let Some(fr) = st.frame_rate {
                line += &format!(", {:.3} fps", fr.as_f64());
            }
            if let Some(p) = &st.pixel_format {
                line += &format!(", {p}");
            }
            if let Some(d) = st.bit_depth {
                line += &format!(", {d}-bit");
            }
            if let Some(l) = st.level {
                line += &format!(", level {l}");
            }
        }
        Kind::Audio => {
            line += &format!(", {} Hz, {} ch", st.sample_rate, st.channels);
            if let Some(l) = &st.channel_layout {
                line += &format!(" ({l})");
            }
        }
        _ => {}
    }
    if let Some(l) = &st.language {
        line += &format!(", [{l}]");
    }
    if let Some(t) = &st.title {
        line += &format!(", \"{t}\"");
    }
    if st.default {
        line += ", default";
    }
    if st.forced {
        line += ", forced";
    }
    line
}

/// The container, its streams and its keyframes.
fn streams_text(info: &MediaInfo) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", info.path.display());
    let _ = writeln!(
        s,
        "  container {}, {:.3} s, {} bytes, {} kb/s",
        info.container,
        info.duration,
        info.size,
        info.bit_rate / 1000
    );
    for st in &info.streams {
        let _ = writeln!(s, "{}", stream_line(st));
    }
    let k = &info.keyframes;
    let _ = writeln!(
        s,
        "  keyframes: {} from {} in {:.1} ms",
        k.pts.len(),
        k.source.describe(),
        k.elapsed_ms
    );
    let secs = info.keyframe_secs();
    let shown: Vec<String> = secs.iter().take(12).map(|t| format!("{t:.3}")).collect();
    let _ = writeln!(
        s,
        "    {}{}",
        shown.join(" "),
        if secs.len() > 12 { " ..." } else { "" }
    );
    s
}

/// The streaming plan: segments, renditions, sidecars, and what is not offered.
fn plan_text(info: &MediaInfo, pres: &haema::Result<Presentation>, target: f64) -> String {
    let mut s = String::new();
    let p = match pres {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(s, "  plan: not streamable: {e}");
            return s;
        }
    };
    let _ = writeln!(
        s,
        "  plan: {} segments (target {} s), {}",
        p.timeline.len(),
        target,
        if p.independent {
            "every segment starts with an IDR frame"
        } else {
            "keyframes are not all IDR: segments not independent"
        }
    );
    if let Some(t) = &p.rung_timeline {
        let _ = writeln!(
            s,
            "  rungs: {} segments, cut between keyframes too (long GOPs)",
            t.len()
        );
    }
    for r in &p.renditions {
        let _ = writeln!(
            s,
            "    {:<16} {} stream #{} {} ({}), peak {} kb/s, average {} kb/s{}",
            r.id,
            r.method.describe(),
            r.stream,
            r.codecs,
            r.language,
            r.peak_bps / 1000,
            r.average_bps / 1000,
            if r.default { ", default" } else { "" }
        );
    }
    for sc in &info.sidecars {
        let _ = writeln!(s, "    sidecar: {}", sc.path.display());
    }
    for sk in &p.skipped {
        let _ = writeln!(s, "    not offered: stream #{}: {}", sk.stream, sk.reason);
    }
    s
}
