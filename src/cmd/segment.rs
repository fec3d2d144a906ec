//! `haema segment FILE N|init`: one segment on stdout.

use std::path::PathBuf;

use clap::Args as ClapArgs;

use crate::cmd::write_stdout;
use haema::plan::DEFAULT_SEGMENT_SECS;
use haema::segment::{make_one, SegmentId};

/// Arguments of `haema segment`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  haema segment movie.mkv init > init.mp4
  haema segment movie.mkv 12 > 12.m4s
  haema segment movie.mkv 3 --rendition audio-1-eng > 3.m4s
  haema segment movie.mkv 12 --rendition h264-720p --encoder h264_qsv > 12.m4s

  # A static HLS tree, one segment at a time (what `haema playlist --out` does in one go):
  haema playlist movie.mkv --out hls
  for r in hls/*/; do
    r=$(basename \"$r\"); n=$(grep -c '^#EXTINF' \"hls/$r/stream.m3u8\")
    haema segment movie.mkv init --rendition \"$r\" > \"hls/$r/init.mp4\"
    for i in $(seq 0 $((n - 1))); do haema segment movie.mkv \"$i\" --rendition \"$r\" > \"hls/$r/$i.m4s\"; done
  done")]
pub struct Args {
    /// The media file.
    pub file: PathBuf,
    /// Segment number (0-based) or `init`.
    pub segment: String,
    /// Rendition: a folder name of the `--out` tree (`original`, `h264-720p`, `audio-1-eng`,
    /// `audio-1-eng-aac`...). Default: the first video rendition.
    #[arg(long, short)]
    pub rendition: Option<String>,
    /// Video encoder for transcoded renditions: libx264 (default), h264_nvenc, h264_qsv,
    /// h264_vaapi...; HEVC encoders (libx265, hevc_*) make `hevc-<height>p` rungs (`haema probe
    /// --encoders` lists what works here).
    #[arg(long, short)]
    pub encoder: Option<String>,
    /// Target segment duration in seconds; must match the playlist's.
    #[arg(long, default_value_t = DEFAULT_SEGMENT_SECS, value_name = "SECONDS")]
    pub segment_duration: f64,
}

/// Runs `haema segment`.
pub fn run(args: Args) -> anyhow::Result<()> {
    haema::media::sys::keep_freed_memory();
    let id: SegmentId = args.segment.parse()?;
    let bytes = make_one(
        &args.file,
        args.segment_duration,
        args.rendition.as_deref(),
        args.encoder.as_deref(),
        id,
    )?;
    write_stdout(&bytes)
}
