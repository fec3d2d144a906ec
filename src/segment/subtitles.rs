//! WebVTT segments: cues from sidecar files or the file's own text subtitle streams, on the
//! playlist clock.

use super::{Segmenter, SUBTITLE_LOOKBACK_SECS};
use crate::error::{Error, Result};
use crate::media::Packet;
use crate::overlay::BitmapCue;
use crate::plan::SubtitleSource;
use crate::subtitle::{self, Format as SubFormat};

impl Segmenter<'_> {
    /// WebVTT segment `n`: the cues that overlap it, in playlist time, with the timestamp map
    /// that ties playlist time 0 to the fMP4 presentation clock (shift `D`, at 90 kHz).
    pub(super) fn subtitles(
        &mut self,
        n: usize,
        stream: usize,
        source: &SubtitleSource,
    ) -> Result<String> {
        let tl = &self.pres.timeline;
        let vtb = tl.time_base.as_f64();
        let origin = tl.origin() as f64 * vtb;
        let from = tl.start_secs(n);
        let to = from + tl.duration_secs(n);
        let cues: Vec<subtitle::Cue> = match source {
            SubtitleSource::Sidecar(k) => {
                let sc = self
                    .info
                    .sidecars
                    .get(*k)
                    .ok_or_else(|| Error::NoSuch(format!("no sidecar {k}")))?;
                let text = std::fs::read(&sc.path).map_err(|e| Error::Io {
                    context: format!("reading {}", sc.path.display()),
                    source: e,
                })?;
                // Sidecar times count from the start of the file's clock.
                subtitle::parse(sc.format, &String::from_utf8_lossy(&text))
                    .into_iter()
                    .map(|c| subtitle::Cue {
                        start: c.start - origin,
                        end: c.end - origin,
                        ..c
                    })
                    .collect()
            }
            SubtitleSource::Stream(format) => self.subtitle_packets(n, stream, *format)?,
        };
        let mpegts = (tl.shift as f64 * vtb * 90_000.0).round() as u64;
        Ok(subtitle::segment(&cues, from, to, mpegts))
    }

    /// Cues of a text subtitle stream that may overlap segment `n`.
    pub(super) fn subtitle_packets(
        &mut self,
        n: usize,
        stream: usize,
        format: SubFormat,
    ) -> Result<Vec<subtitle::Cue>> {
        let tl = &self.pres.timeline;
        let origin = tl.origin() as f64 * tl.time_base.as_f64();
        let stb = self.info.streams[stream].time_base.as_f64();
        let mut cues = Vec::new();
        let span = tl.span(n).expect("checked");
        for p in self.sparse_packets(span, stream)? {
            let Some(t) = p.time() else { continue };
            let text = subtitle::packet_text(format, p.data());
            let start = t as f64 * stb - origin;
            let dur = if p.duration > 0 {
                p.duration as f64 * stb
            } else {
                5.0
            };
            if !text.is_empty() {
                cues.push(subtitle::Cue {
                    start,
                    end: start + dur,
                    text,
                });
            }
        }
        Ok(cues)
    }

    /// The pictures of bitmap subtitle stream `stream` that may be on screen in `span` (video
    /// ticks), decoded, with times on the video's clock: what a burned-in rung draws.
    pub(super) fn bitmap_cues(
        &mut self,
        span: (i64, i64),
        stream: usize,
    ) -> Result<Vec<BitmapCue>> {
        let packets = self.sparse_packets(span, stream)?;
        let params = self.params(stream)?;
        let s = &self.info.streams[stream];
        let v = self
            .info
            .video_stream()
            .ok_or_else(|| Error::NoSuch("no video".into()))?;
        let events = crate::media::subpicture::bitmap_events(
            &params,
            &packets,
            s.time_base,
            v.time_base,
            (v.width, v.height),
        )?;
        Ok(crate::overlay::cues(events))
    }

    /// The packets of a sparse (subtitle) stream that may be shown in `(start, end)` (video
    /// ticks): from [`SUBTITLE_LOOKBACK_SECS`] before it to its end.
    fn sparse_packets(&mut self, (start, end): (i64, i64), stream: usize) -> Result<Vec<Packet>> {
        let tl = &self.pres.timeline;
        let vtb = tl.time_base.as_f64();
        let back = (SUBTITLE_LOOKBACK_SECS / vtb) as i64;
        let v = self.info.video.unwrap_or(0);
        if start - back <= tl.origin() || self.src.seek(v, start - back).is_err() {
            self.rewind();
        }
        // Subtitle packets are sparse: stop once the video is well past the segment.
        let stop = end + (2.0 / vtb) as i64;
        let mut out = Vec::new();
        while let Some(p) = self.src.read()? {
            let Some(t) = p.time() else { continue };
            if p.stream == v && t > stop {
                break;
            }
            if p.stream == stream {
                out.push(p);
            }
        }
        Ok(out)
    }
}
