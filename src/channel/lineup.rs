//! A configured channel made concrete against the library: which videos it plays, as which
//! video and audio renditions, and its [`Schedule`]. Built from the library's rows and cached
//! probes (plain data, no FFmpeg), so every process that reads the same library builds the
//! same channel, down to its version.

use super::config::{ChannelConfig, OrderName, Profile};
use super::{Order, Programme, Schedule, Slot};
use crate::ladder::RungCodec;
use crate::plan::{plan_for, Presentation, DEFAULT_SEGMENT_SECS};
use crate::probe::MediaInfo;
use crate::stream::Kind;
use crate::timeline::Timeline;

/// A video of the library as a channel sees it.
#[derive(Debug, Clone)]
pub struct LibraryVideo {
    /// Library id.
    pub id: i64,
    /// Path relative to the library folder, `/`-separated.
    pub relative: String,
    /// The show's (or film's) title.
    pub show: String,
    /// Season and episode numbers, for episodes.
    pub episode: Option<(u32, u32)>,
    /// The episode's title.
    pub title: Option<String>,
    /// The cached probe; `None` when the file could not be read.
    pub info: Option<MediaInfo>,
}

impl LibraryVideo {
    /// A catalogue row of the library at `root` (its probe read; a probe that doesn't read
    /// counts as a file that could not be read).
    pub fn from_row(
        row: crate::library::store::CatalogueRow,
        root: &std::path::Path,
    ) -> LibraryVideo {
        let path = std::path::Path::new(&row.path);
        let canonical = root.canonicalize().ok();
        let relative = path
            .strip_prefix(root)
            .ok()
            .or_else(|| canonical.as_deref().and_then(|c| path.strip_prefix(c).ok()))
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        LibraryVideo {
            id: row.id,
            relative,
            show: row.show,
            episode: row.season.zip(row.episode),
            title: row.title,
            info: row.probe.and_then(|p| serde_json::from_str(&p).ok()),
        }
    }
}

/// One programme of a channel: a video and how it is played.
#[derive(Debug, Clone)]
pub struct Item {
    /// Library id.
    pub video: i64,
    /// Its presentation, with the channel's rung added where its ladder lacks it.
    pub pres: Presentation,
    /// Its file's probe (the library's): what a slate is made from when the file can't be
    /// read.
    pub info: MediaInfo,
    /// The video rendition every segment comes from.
    pub video_rendition: String,
    /// The AAC rendition every segment's audio comes from.
    pub audio_rendition: String,
    /// Show or film title.
    pub title: String,
    /// Episode title.
    pub sub_title: Option<String>,
    /// Season and episode.
    pub episode: Option<(u32, u32)>,
    /// Its file's probe digest ([`MediaInfo::digest`]): a file replaced by another encode
    /// changes the channel's version.
    pub digest: u64,
}

/// A channel ready to air.
#[derive(Debug, Clone)]
pub struct Channel {
    /// As configured.
    pub config: ChannelConfig,
    /// URL id.
    pub id: String,
    /// Programmes, in the schedule's programme order.
    pub items: Vec<Item>,
    /// What airs when.
    pub schedule: Schedule,
    /// A digest of everything that decides the channel's bytes: part of its segment URLs, so
    /// a rescan that changes the schedule changes the URLs and no cache mixes the two.
    pub version: String,
    /// Videos its sources name that it leaves out, and why.
    pub left_out: Vec<String>,
}

/// How far ahead of the channel's epoch its media timeline starts: the first programme's
/// decode times (which run up to a reorder delay before its first picture) stay positive.
pub const LEAD_US: i64 = 10_000_000;

/// The form of a channel's assembly (its programmes' segments moved onto the channel's clock and
/// combined), in its version: bumped when the same schedule's inits or segments come out
/// different from the same programme segments, so that the URLs caches keep for good change
/// with them. The programme segments' own form is in [`crate::segment::bytes_version`].
const FORMAT: u32 = 4;

/// The timescale of a channel's video track, whatever its programmes' own: the MPEG clock,
/// which holds milliseconds and the common frame rates exactly. One for the whole channel,
/// because a player may keep the first init's across programmes (GStreamer's hlsdemux does;
/// see [`crate::mp4::retime`]).
pub const VIDEO_TIMESCALE: u32 = 90_000;

impl Channel {
    /// Builds a channel from its config and the library's videos, its segments made with video
    /// encoder `encoder` (rungs, and the slate). An error says why nothing can air (no source
    /// names a playable video, or copied videos disagree in their parameters).
    pub fn build(
        config: &ChannelConfig,
        videos: &[LibraryVideo],
        encoder: &str,
    ) -> Result<Channel, String> {
        let profile = config.profile()?;
        let start_us = config.start_us()?;
        let mut named: Vec<(usize, &LibraryVideo)> = videos
            .iter()
            .filter_map(|v| config.matches(&v.relative, &v.show).map(|k| (k, v)))
            .collect();
        named.sort_by(|a, b| (a.0, &a.1.relative).cmp(&(b.0, &b.1.relative)));
        let mut items = Vec::new();
        let mut left_out = Vec::new();
        for (_, v) in named {
            match item(v, profile) {
                Ok(i) => items.push(i),
                Err(why) => left_out.push(format!("{}: {why}", v.relative)),
            }
        }
        if profile == Profile::Copy {
            check_copies_agree(config, &items)?;
        }
        let programmes = items
            .iter()
            .map(|i| Programme {
                video: i.video.to_string(),
                title: i.title.clone(),
                segments_us: i
                    .pres
                    .timeline
                    .durations()
                    .iter()
                    .map(|d| (d * 1e6).round() as i64)
                    .collect(),
            })
            .collect::<Vec<_>>();
        let order = match config.order {
            OrderName::Sequential => Order::Sequential,
            OrderName::Shuffle => Order::Shuffle { seed: config.seed },
        };
        let digest = crate::digest::fnv1a(
            format!(
                "{FORMAT}|{}|{}|{:?}|{}|{:?}",
                config.profile,
                start_us,
                order,
                items
                    .iter()
                    .map(|i| format!(
                        "{}:{}:{}:{:x}",
                        i.video,
                        i.video_rendition,
                        i.audio_rendition,
                        crate::segment::bytes_version(i.digest, encoder)
                    ))
                    .collect::<Vec<_>>()
                    .join(","),
                programmes
                    .iter()
                    .map(|p| &p.segments_us)
                    .collect::<Vec<_>>()
            )
            .as_bytes(),
        );
        let schedule = Schedule::new(programmes, order, start_us).ok_or_else(|| {
            format!(
                "channel '{}': none of its sources ({}) names a playable video{}",
                config.name,
                config.sources.join(", "),
                if left_out.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", left_out.join("; "))
                }
            )
        })?;
        Ok(Channel {
            config: config.clone(),
            id: config.id(),
            items,
            schedule,
            version: format!("{digest:016x}"),
            left_out,
        })
    }

    /// When the programme of `slot` started airing, Unix microseconds.
    pub fn programme_start_us(&self, slot: &Slot) -> i64 {
        let p = &self.schedule.programmes()[slot.programme];
        slot.air_us - p.segments_us[..slot.segment].iter().sum::<i64>()
    }

    /// The peak bits per second of any programme, video and audio together (the master's
    /// BANDWIDTH), and the codecs and size of the first (CODECS, RESOLUTION).
    pub fn variant(&self) -> (u64, String, (u32, u32)) {
        let peak = |i: &Item, id: &str| i.pres.rendition(id).map_or(0, |r| r.peak_bps);
        let bandwidth = self
            .items
            .iter()
            .map(|i| peak(i, &i.video_rendition) + peak(i, &i.audio_rendition))
            .max()
            .unwrap_or(0);
        let first = &self.items[0];
        let codecs = [&first.video_rendition, &first.audio_rendition]
            .iter()
            .filter_map(|id| first.pres.rendition(id).ok().map(|r| r.codecs.clone()))
            .collect::<Vec<_>>()
            .join(",");
        let size = match first
            .pres
            .rendition(&first.video_rendition)
            .map(|r| &r.method)
        {
            Ok(crate::plan::Method::Video(t)) => (t.width, t.height),
            _ => (first.pres.width, first.pres.height),
        };
        (bandwidth, codecs, size)
    }
}

/// How many ticks of a track's `timescale` its decode times move to land on the channel's
/// timeline: the programme's air time from the epoch (plus [`LEAD_US`]), less the shift `D`
/// its own playlists start at (so picture and sound move together, as they were).
pub fn shift_ticks(
    programme_air_us: i64,
    epoch_us: i64,
    timeline: &Timeline,
    timescale: u32,
) -> i64 {
    let air = i128::from(programme_air_us - epoch_us + LEAD_US) * i128::from(timescale);
    (air + 500_000).div_euclid(1_000_000) as i64 - in_ticks(timeline, timeline.shift, timescale)
}

/// Where a programme's picture starts and ends on its own playlists' clock, in ticks of a
/// track's `timescale`: from its shift `D` for as long as its timeline lasts. A channel keeps
/// each programme's sound within it, so that sound never decodes before the programme before
/// it has finished (see [`crate::mp4::keep_samples`]).
pub fn picture_span_ticks(timeline: &Timeline, timescale: u32) -> (i64, i64) {
    let start = timeline.shift;
    let ticks = |t| in_ticks(timeline, t, timescale);
    (
        ticks(start),
        ticks(start + timeline.end - timeline.origin()),
    )
}

/// Ticks of a timeline's time base as ticks of `timescale`, rounded.
fn in_ticks(timeline: &Timeline, t: i64, timescale: u32) -> i64 {
    let (num, den) = (
        i128::from(timeline.time_base.num) * i128::from(timescale),
        i128::from(timeline.time_base.den.max(1)),
    );
    ((i128::from(t) * num + den / 2).div_euclid(den)) as i64
}

fn item(v: &LibraryVideo, profile: Profile) -> Result<Item, String> {
    let info = v.info.as_ref().ok_or("its file could not be read")?;
    let mut pres =
        plan_for(info, DEFAULT_SEGMENT_SECS, RungCodec::H264).map_err(|e| e.to_string())?;
    let video_rendition = match profile {
        Profile::Copy => {
            if pres.rendition("original").is_err() {
                return Err("its video can't be copied into fMP4; use a rung profile".into());
            }
            // What a player is offered of it on demand: the copy, or for H.264 cut in open
            // GOPs its source-size rung (an IDR at every cut). A viewer joins a channel at
            // any segment, and Chromium can't decode an open GOP's leading frames without
            // the GOP before (hls.js joining mid-programme: a fatal decode error).
            let offered = pres
                .offered_videos()
                .next()
                .map_or("original", |r| r.id.as_str())
                .to_owned();
            pres.with_keyframe_cuts(&offered)
                .map_err(|e| e.to_string())?
        }
        Profile::H264(h) => pres
            .with_rung(info, RungCodec::H264, h)
            .map_err(|e| e.to_string())?,
    };
    // The default AAC rendition, else the first one (every audio track has one: copied or
    // made).
    let aac: Vec<&crate::plan::Rendition> = pres
        .renditions
        .iter()
        .filter(|r| r.kind == Kind::Audio && r.codecs.starts_with("mp4a"))
        .collect();
    let audio = aac
        .iter()
        .find(|r| r.default)
        .or(aac.first())
        .ok_or("it has no audio")?
        .id
        .clone();
    // A rung channel airs AAC stereo (players and tuners never see a layout change); a copy
    // channel the files' own, which must agree (`check_copies_agree`).
    let audio_rendition = match profile {
        Profile::Copy => audio,
        Profile::H264(_) => pres
            .with_stereo_aac(info, &audio)
            .map_err(|e| e.to_string())?,
    };
    Ok(Item {
        video: v.id,
        audio_rendition,
        video_rendition,
        title: v.show.clone(),
        sub_title: v.title.clone(),
        episode: v.episode,
        digest: info.digest(),
        pres,
        info: info.clone(),
    })
}

/// A copy channel plays the files' own video and sound: a player can't be told mid-stream
/// that the codec, the picture size or the sound's layout or rate changed, so they must agree.
fn check_copies_agree(config: &ChannelConfig, items: &[Item]) -> Result<(), String> {
    let describe = |i: &Item| {
        let codecs = |id: &str| {
            i.pres
                .rendition(id)
                .map(|r| r.codecs.clone())
                .unwrap_or_default()
        };
        let (channels, rate) = i
            .pres
            .rendition(&i.audio_rendition)
            .ok()
            .and_then(|r| i.info.stream(r.stream).map(|s| (r.channels, s.sample_rate)))
            .unwrap_or_default();
        format!(
            "{} {}x{} with {} sound, {channels} channels at {rate} Hz",
            codecs(&i.video_rendition),
            i.pres.width,
            i.pres.height,
            codecs(&i.audio_rendition),
        )
    };
    let Some(first) = items.first() else {
        return Ok(());
    };
    for i in &items[1..] {
        if describe(i) != describe(first) {
            return Err(format!(
                "channel '{}' copies its videos, but video {} is {} and video {} is {}: use a rung profile (like h264-720p) or sources that agree",
                config.name,
                first.video,
                describe(first),
                i.video,
                describe(i)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rational::Rational;

    /// A channel's URLs name what its bytes are made of: the programmes' files, and what makes
    /// their segments (the encoder; [`crate::segment::bytes_version`]).
    #[test]
    fn a_channels_version_changes_with_the_encoder_and_each_programmes_file() {
        let path = crate::fixture_files(&["mkv"]).remove(0);
        let info = crate::probe::probe_with(&path, crate::probe::Depth::Segments).unwrap();
        let video = |info: MediaInfo| LibraryVideo {
            id: 1,
            relative: "Film.mkv".into(),
            show: "Film".into(),
            episode: None,
            title: None,
            info: Some(info),
        };
        let config: ChannelConfig = serde_yaml::from_str(
            "{name: Films, number: 1, sources: [Film], start: '2026-01-01T00:00:00Z', profile: h264-360p}",
        )
        .unwrap();
        let version = |videos: &[LibraryVideo], encoder: &str| {
            Channel::build(&config, videos, encoder).unwrap().version
        };
        let base = version(&[video(info.clone())], "libx264");
        assert_eq!(base, version(&[video(info.clone())], "libx264"));
        assert_ne!(base, version(&[video(info.clone())], "h264_vaapi"));
        let mut other = info.clone();
        other.size += 1;
        assert_ne!(base, version(&[video(other)], "libx264"));
    }

    #[test]
    fn shift_puts_the_programme_at_its_air_time_less_its_own_start() {
        let tl = Timeline::new(&[0, 48], 96, 48, 2, 0)
            .unwrap()
            .with_time_base(Rational::new(1, 24));
        // D = 2 frames at 24 fps = 1/12 s; at 90 kHz 7500 ticks.
        let epoch = 1_000_000_000;
        assert_eq!(shift_ticks(epoch, epoch, &tl, 90_000), 900_000 - 7500);
        assert_eq!(
            shift_ticks(epoch + 20_500_000, epoch, &tl, 48_000),
            (30_500_000 * 48_000 / 1_000_000) - 4000
        );
    }
}
