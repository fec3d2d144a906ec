//! Master and media playlist text (RFC 8216, HLS version 7 with fMP4 segments).
//!
//! Pure: a [`Presentation`] in, text out. Golden tests below pin the exact bytes.

use std::fmt::Write;

use crate::error::{Error, Result};

use crate::plan::{audio_groups, Method, Presentation, Rendition};
use crate::stream::{Kind, VideoRange};

/// File name of media segment `n` of a rendition: `N.m4s`, or `N.vtt` for subtitles.
pub fn segment_name(r: &Rendition, n: usize) -> String {
    if r.kind == Kind::Subtitle {
        RenditionFile::Cues(n).name()
    } else {
        RenditionFile::Fragment(n).name()
    }
}

/// Which segment of a rendition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentId {
    /// The init segment (ftyp + moov).
    Init,
    /// Media segment N (moof + mdat), 0-based.
    Media(usize),
}

impl std::str::FromStr for SegmentId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s == "init" {
            return Ok(SegmentId::Init);
        }
        s.trim_end_matches(".m4s")
            .trim_end_matches(".vtt")
            .parse()
            .map(SegmentId::Media)
            .map_err(|_| {
                Error::BadRequest(format!(
                    "'{s}' is not a segment: give a number (0, 1, ...) or 'init'"
                ))
            })
    }
}

/// What a file name inside a rendition folder names: the one grammar of the names
/// [`segment_name`], [`INIT_NAME`] and [`MEDIA_PLAYLIST_NAME`] write, read back from a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenditionFile {
    /// The media playlist.
    Playlist,
    /// The init segment.
    Init,
    /// Media segment N as fMP4 (`N.m4s`).
    Fragment(usize),
    /// Media segment N as WebVTT (`N.vtt`).
    Cues(usize),
}

impl RenditionFile {
    /// Reads a file name; `None` for anything the tree never names.
    pub fn parse(name: &str) -> Option<RenditionFile> {
        let number = |digits: &str| digits.parse().ok();
        match name {
            MEDIA_PLAYLIST_NAME => Some(RenditionFile::Playlist),
            INIT_NAME => Some(RenditionFile::Init),
            _ => {
                if let Some(n) = name.strip_suffix(".m4s") {
                    number(n).map(RenditionFile::Fragment)
                } else {
                    number(name.strip_suffix(".vtt")?).map(RenditionFile::Cues)
                }
            }
        }
    }

    /// The file name: what [`RenditionFile::parse`] reads back.
    pub fn name(self) -> String {
        match self {
            RenditionFile::Playlist => MEDIA_PLAYLIST_NAME.to_owned(),
            RenditionFile::Init => INIT_NAME.to_owned(),
            RenditionFile::Fragment(n) => format!("{n}.m4s"),
            RenditionFile::Cues(n) => format!("{n}.vtt"),
        }
    }

    /// The segment this names in rendition `r`, if `r` has such a file: WebVTT renditions
    /// have numbered `.vtt` segments and no init; the others an init and `.m4s` segments.
    pub fn segment_in(self, r: &Rendition) -> Option<SegmentId> {
        let subtitles = r.kind == Kind::Subtitle;
        match self {
            RenditionFile::Playlist => None,
            RenditionFile::Init => (!subtitles).then_some(SegmentId::Init),
            RenditionFile::Fragment(n) => (!subtitles).then_some(SegmentId::Media(n)),
            RenditionFile::Cues(n) => subtitles.then_some(SegmentId::Media(n)),
        }
    }
}

/// The DATA-ID prefix of a master's EXT-X-SESSION-DATA naming a bitmap subtitle track: the
/// stream index follows (`net.haema.burn-in.3`).
pub const BURN_IN_DATA_ID: &str = "net.haema.burn-in";

/// File name of the init segment in a rendition folder.
pub const INIT_NAME: &str = "init.mp4";
/// File name of a rendition's media playlist.
pub const MEDIA_PLAYLIST_NAME: &str = "stream.m3u8";

fn quoted(s: &str) -> String {
    // RFC 8216 4.2: quoted-string can't contain " or line breaks.
    s.replace(['"', '\n', '\r'], "'")
}

/// The master playlist: audio groups (one per codec family) and one variant per group, all
/// pointing at the same video playlist, so a player picks the first variant it can decode.
pub fn master_playlist(p: &Presentation) -> String {
    master_playlist_with(p, "")
}

/// [`master_playlist`] with `query` (`?vt=...`, or empty) after every URI: relative URIs don't
/// inherit the playlist's own query (RFC 3986 5.2.2), so what authorizes the master must be
/// written into each URI it names.
pub fn master_playlist_with(p: &Presentation, query: &str) -> String {
    master(p, p.offered_videos().collect(), true, query)
}

/// A live channel's master playlist: its one variant, the live playlist beside it
/// (`live.m3u8`), every segment of it starting with an IDR picture.
pub fn channel_master(bandwidth: u64, codecs: &str, (width, height): (u32, u32)) -> String {
    format!(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},CODECS=\"{}\",RESOLUTION={width}x{height}\nlive.m3u8\n",
        quoted(codecs)
    )
}

/// The name of the master playlist of bitmap subtitle stream `stream` burned in, beside the
/// video's own master (so the URIs it names resolve the same).
pub fn burned_master_name(stream: usize) -> String {
    format!("master-burn-{stream}.m3u8")
}

/// The master playlist of bitmap subtitle stream `stream` burned in: the same audio, the rungs
/// with the subtitles drawn in as its video variants ([`Presentation::burned`]), no text
/// subtitles. A track of its own rather than variants beside the others: a player switches
/// variants by bandwidth, and would switch the subtitles on and off with them.
pub fn burned_master_playlist_with(p: &Presentation, stream: usize, query: &str) -> Result<String> {
    p.burn_in(stream)?;
    Ok(master(p, p.burned(stream).collect(), false, query))
}

/// A master playlist over `videos`, with the text subtitles group if `text_subs`.
fn master(p: &Presentation, videos: Vec<&Rendition>, text_subs: bool, query: &str) -> String {
    let mut s = String::from("#EXTM3U\n#EXT-X-VERSION:7\n");
    if p.independent || videos.iter().all(|r| r.method.is_transcode()) {
        s.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
    }
    // Each bitmap subtitle track, for a client that offers them (the web page): its name, and
    // its stream in the DATA-ID, which names its master (RFC 8216 4.3.4.4: a reverse-DNS id;
    // VALUE for people). Other clients ignore it.
    for b in &p.burn_ins {
        let _ = writeln!(
            s,
            "#EXT-X-SESSION-DATA:DATA-ID=\"{BURN_IN_DATA_ID}.{}\",VALUE=\"{}\",LANGUAGE=\"{}\"",
            b.stream,
            quoted(&b.name),
            quoted(&b.language)
        );
    }
    let groups = audio_groups(p);
    for (gid, members) in &groups {
        // At most one DEFAULT=YES per group (RFC 8216 4.3.4.1.1): the file's default audio if
        // it is in this group, else the group's first rendition.
        let default_id = group_default(members).id.clone();
        for r in members {
            let default = if r.id == default_id { "YES" } else { "NO" };
            let _ = writeln!(
                s,
                "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{gid}\",LANGUAGE=\"{}\",NAME=\"{}\",DEFAULT={default},AUTOSELECT=YES,CHANNELS=\"{}\",URI=\"{}/{MEDIA_PLAYLIST_NAME}{query}\"",
                quoted(&r.language),
                quoted(&r.name),
                r.channels.max(1),
                r.id
            );
        }
    }
    // Text subtitles, one group (RFC 8216 4.3.4.1: FORCED only for SUBTITLES; at most one
    // DEFAULT=YES).
    let subs: Vec<&Rendition> = p.subtitles().filter(|_| text_subs).collect();
    let default_sub = subs.iter().find(|r| r.default).map(|r| r.id.clone());
    for r in &subs {
        let _ = writeln!(
            s,
            "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",LANGUAGE=\"{}\",NAME=\"{}\",DEFAULT={},AUTOSELECT=YES,FORCED={},URI=\"{}/{MEDIA_PLAYLIST_NAME}{query}\"",
            quoted(&r.language),
            quoted(&r.name),
            if Some(&r.id) == default_sub.as_ref() { "YES" } else { "NO" },
            if r.forced { "YES" } else { "NO" },
            r.id
        );
    }
    // One variant per video rendition and audio group (RFC 8216 4.3.4.2: CODECS lists the
    // video's codec and the group's).
    let mut variant = |v: &Rendition, audio: Option<(&str, &[&Rendition])>| {
        let (peak_a, avg_a, codecs) = match audio {
            Some((_, members)) => (
                members.iter().map(|r| r.peak_bps).max().unwrap_or(0),
                members.iter().map(|r| r.average_bps).max().unwrap_or(0),
                format!("{},{}", v.codecs, members[0].codecs),
            ),
            None => (0, 0, v.codecs.clone()),
        };
        let (w, h) = match &v.method {
            Method::Video(t) => (t.width, t.height),
            _ => (p.width, p.height),
        };
        let _ = write!(
            s,
            "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{codecs}\",RESOLUTION={w}x{h}",
            (v.peak_bps + peak_a).max(1),
            (v.average_bps + avg_a).max(1),
        );
        if let Some(fr) = p.frame_rate {
            let _ = write!(s, ",FRAME-RATE={fr:.3}");
        }
        // RFC 8216bis 4.4.6.2: absent means SDR, so it is said where the original is HDR. The
        // copy keeps its range; rungs are tone-mapped to SDR (crate::picture).
        if p.video_range != VideoRange::Sdr {
            let range = match v.method {
                Method::Copy => p.video_range,
                _ => VideoRange::Sdr,
            };
            let _ = write!(s, ",VIDEO-RANGE={}", range.as_str());
        }
        if let Some((gid, _)) = audio {
            let _ = write!(s, ",AUDIO=\"{gid}\"");
        }
        if !subs.is_empty() {
            s.push_str(",SUBTITLES=\"subs\"");
        }
        let _ = writeln!(s, "\n{}/{MEDIA_PLAYLIST_NAME}{query}", v.id);
    };
    for v in videos {
        if groups.is_empty() {
            variant(v, None);
        }
        for (gid, members) in &groups {
            variant(v, Some((gid, members)));
        }
    }
    s
}

/// A group's DEFAULT=YES rendition: the file's default audio if it is in the group, else the
/// group's first.
fn group_default<'a>(members: &[&'a Rendition]) -> &'a Rendition {
    members.iter().find(|r| r.default).unwrap_or(&members[0])
}

/// Where a client starts: the video of the first variant the master lists (Apple's HLS
/// authoring rules: players start there) and its audio group's default rendition. The
/// server prepares their first segments as soon as the master is asked for.
pub fn first_variant(p: &Presentation) -> (Option<&Rendition>, Option<&Rendition>) {
    let audio = audio_groups(p).first().map(|(_, m)| group_default(m));
    (p.offered_videos().next(), audio)
}

/// A rendition's media playlist: every rendition is cut at the video's keyframes, so their
/// EXTINF lists are the same, but for rungs of a file with long GOPs, which are cut finer
/// ([`Presentation::timeline_of`]).
pub fn media_playlist(p: &Presentation, r: &Rendition) -> String {
    media_playlist_with(p, r, "", "")
}

/// [`media_playlist`] with `folder` before and `query` after the URI of every segment:
/// the server puts the source's version in a folder of the segment URLs (so a replaced file
/// gets new ones) and a token in the query (see [`master_playlist_with`]).
pub fn media_playlist_with(p: &Presentation, r: &Rendition, folder: &str, query: &str) -> String {
    let durations = p.timeline_of(r).durations();
    // RFC 8216 4.3.3.1: every EXTINF rounded to the nearest integer <= TARGETDURATION.
    let target = durations
        .iter()
        .map(|d| d.round() as u64)
        .max()
        .unwrap_or(1)
        .max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n"
    );
    // Audio frames are all sync samples; a video rung starts every segment with an IDR; the
    // original only when every cut of the file is at one.
    if p.independent || r.kind != Kind::Video || r.method.is_transcode() {
        s.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
    }
    // WebVTT segments stand alone; fMP4 ones need the init segment (RFC 8216 4.3.2.5).
    if r.kind != Kind::Subtitle {
        let _ = writeln!(s, "#EXT-X-MAP:URI=\"{folder}{INIT_NAME}{query}\"");
    }
    for (n, d) in durations.iter().enumerate() {
        let _ = writeln!(s, "#EXTINF:{d:.6},\n{folder}{}{query}", segment_name(r, n));
    }
    s.push_str("#EXT-X-ENDLIST\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Method;
    use crate::rational::Rational;
    use crate::stream::Kind;
    use crate::timeline::Timeline;

    fn rendition(
        id: &str,
        kind: Kind,
        codecs: &str,
        lang: &str,
        group: Option<&str>,
        default: bool,
    ) -> Rendition {
        Rendition {
            id: id.into(),
            kind,
            stream: 0,
            method: Method::Copy,
            codecs: codecs.into(),
            language: lang.into(),
            name: format!("{lang} \"quoted\""),
            channels: if kind == Kind::Audio { 2 } else { 0 },
            default,
            group: group.map(str::to_owned),
            forced: false,
            peak_bps: 1_000_000,
            average_bps: 500_000,
            burn: None,
            rung_cuts: false,
        }
    }

    fn presentation() -> Presentation {
        let tl = Timeline::new(&[0, 4000, 13000, 17000], 20000, 4000, 84, 0)
            .unwrap()
            .with_time_base(Rational::new(1, 1000));
        Presentation {
            timeline: tl,
            renditions: vec![
                rendition("original", Kind::Video, "avc1.640028", "und", None, true),
                rendition(
                    "audio-1-eng",
                    Kind::Audio,
                    "ac-3",
                    "eng",
                    Some("audio-ac3"),
                    true,
                ),
                rendition(
                    "audio-2-fra",
                    Kind::Audio,
                    "mp4a.40.2",
                    "fra",
                    Some("audio-aac"),
                    false,
                ),
            ],
            skipped: vec![],
            independent: true,
            width: 640,
            height: 360,
            frame_rate: Some(24.0),
            hidden_start: false,
            video_range: VideoRange::Sdr,
            burn_ins: vec![],
            forced_burn: None,
            rung_timeline: None,
        }
    }

    /// An H.264 rung at 640x360.
    fn rung_360p() -> crate::ladder::VideoTarget {
        crate::ladder::VideoTarget {
            width: 640,
            height: 360,
            max_bitrate: 900_000,
            codec: crate::ladder::RungCodec::H264,
            level: 30,
            picture: None,
        }
    }

    #[test]
    fn an_hdr_original_says_its_range_and_its_rungs_say_sdr() {
        let mut p = presentation();
        p.video_range = VideoRange::Pq;
        let mut rung = rendition("h264-360p", Kind::Video, "avc1.64001e", "und", None, false);
        rung.method = Method::Video(rung_360p());
        p.renditions.insert(1, rung);
        let text = master_playlist(&p);
        let lines: Vec<&str> = text.lines().collect();
        let mut seen = 0;
        for w in lines.windows(2) {
            if w[0].starts_with("#EXT-X-STREAM-INF") {
                let want = if w[1].starts_with("original/") {
                    "PQ"
                } else {
                    "SDR"
                };
                assert!(w[0].contains(&format!("VIDEO-RANGE={want}")), "{text}");
                seen += 1;
            }
        }
        assert!(seen >= 2, "{text}");
        p.video_range = VideoRange::Sdr;
        assert!(!master_playlist(&p).contains("VIDEO-RANGE"));
    }

    #[test]
    fn master_playlist_golden() {
        let expected = "#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio-aac\",LANGUAGE=\"fra\",NAME=\"fra 'quoted'\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"audio-2-fra/stream.m3u8\"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio-ac3\",LANGUAGE=\"eng\",NAME=\"eng 'quoted'\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"audio-1-eng/stream.m3u8\"
#EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=1000000,CODECS=\"avc1.640028,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=24.000,AUDIO=\"audio-aac\"
original/stream.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=1000000,CODECS=\"avc1.640028,ac-3\",RESOLUTION=640x360,FRAME-RATE=24.000,AUDIO=\"audio-ac3\"
original/stream.m3u8
";
        assert_eq!(master_playlist(&presentation()), expected);
    }

    /// The golden master's first variant is the original with the AAC group, whose default
    /// is its only member (the file's default sound, AC-3, is in the other group).
    #[test]
    fn a_client_starts_on_the_first_variants_video_and_its_groups_default_audio() {
        let p = presentation();
        let (video, audio) = first_variant(&p);
        assert_eq!(video.map(|r| r.id.as_str()), Some("original"));
        assert_eq!(audio.map(|r| r.id.as_str()), Some("audio-2-fra"));
    }

    #[test]
    fn media_playlist_golden_with_long_gop_segment() {
        let p = presentation();
        let expected = "#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:9
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI=\"init.mp4\"
#EXTINF:4.000000,
0.m4s
#EXTINF:9.000000,
1.m4s
#EXTINF:4.000000,
2.m4s
#EXTINF:3.000000,
3.m4s
#EXT-X-ENDLIST
";
        assert_eq!(media_playlist(&p, p.video()), expected);
    }

    #[test]
    fn open_gop_hevc_video_is_not_claimed_independent_but_audio_is() {
        let mut p = presentation();
        p.independent = false;
        p.renditions[0].codecs = "hvc1.2.4.L63.90".into();
        assert!(!master_playlist(&p).contains("INDEPENDENT"));
        assert!(!media_playlist(&p, p.video()).contains("INDEPENDENT"));
        assert!(media_playlist(&p, &p.renditions[1]).contains("#EXT-X-INDEPENDENT-SEGMENTS"));
    }

    /// A bitmap subtitle track: named in the file's master (EXT-X-SESSION-DATA), its rungs
    /// only in its own master, where they are the only video and no text subtitles are
    /// offered beside the drawn ones.
    #[test]
    fn a_bitmap_track_is_named_in_the_master_and_its_burned_rungs_are_its_own_masters() {
        let mut p = presentation();
        p.renditions.push(Rendition {
            id: "h264-360p-burn-5".into(),
            method: Method::Video(rung_360p()),
            burn: Some(5),
            ..rendition(
                "h264-360p-burn-5",
                Kind::Video,
                "avc1.64001e",
                "und",
                None,
                false,
            )
        });
        p.renditions.push(rendition(
            "subs-4-eng",
            Kind::Subtitle,
            "wvtt",
            "eng",
            Some("subs"),
            false,
        ));
        p.burn_ins.push(crate::plan::BurnIn {
            stream: 5,
            name: "English \"SDH\" (PGS)".into(),
            language: "eng".into(),
            forced: false,
        });
        let master = master_playlist(&p);
        assert!(master.contains(
            "#EXT-X-SESSION-DATA:DATA-ID=\"net.haema.burn-in.5\",VALUE=\"English 'SDH' (PGS)\",LANGUAGE=\"eng\"\n"
        ), "{master}");
        assert!(!master.contains("burn-5/"), "{master}");
        let burned = burned_master_playlist_with(&p, 5, "?vt=x").unwrap();
        let variants: Vec<&str> = burned.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            variants,
            vec!["h264-360p-burn-5/stream.m3u8?vt=x"; 2],
            "one per audio group: {burned}"
        );
        assert!(!burned.contains("TYPE=SUBTITLES") && !burned.contains("SUBTITLES=\""));
        assert!(burned.contains("#EXT-X-INDEPENDENT-SEGMENTS"));
        assert_eq!(burned_master_name(5), "master-burn-5.m3u8");
        assert!(
            burned_master_playlist_with(&p, 4, "").is_err(),
            "a text track"
        );
    }

    #[test]
    fn open_gop_h264_original_gives_way_to_its_idr_rung_in_the_master() {
        let mut p = presentation();
        p.independent = false;
        let target = rung_360p();
        p.renditions.push(Rendition {
            method: Method::Video(target),
            ..rendition("h264-360p", Kind::Video, "avc1.64001e", "und", None, false)
        });
        let master = master_playlist(&p);
        assert!(!master.contains("original/"), "{master}");
        assert_eq!(
            master.matches("\nh264-360p/stream.m3u8").count(),
            2,
            "{master}"
        );
        // Every offered segment starts with an IDR now; the copy's own playlist says it doesn't.
        assert!(master.contains("#EXT-X-INDEPENDENT-SEGMENTS"));
        assert!(!media_playlist(&p, p.video()).contains("INDEPENDENT"));
        assert!(media_playlist(&p, &p.renditions[3]).contains("INDEPENDENT"));
    }

    #[test]
    fn target_duration_bounds_every_rounded_extinf() {
        let mut p = presentation();
        p.timeline = Timeline::new(&[0, 4600, 8600], 12499, 4000, 0, 0)
            .unwrap()
            .with_time_base(Rational::new(1, 1000));
        let text = media_playlist(&p, p.video());
        assert!(text.contains("#EXT-X-TARGETDURATION:5\n"), "{text}");
    }

    #[test]
    fn video_only_file_has_one_variant_without_audio_group() {
        let mut p = presentation();
        p.renditions.truncate(1);
        let m = master_playlist(&p);
        assert_eq!(m.matches("#EXT-X-STREAM-INF").count(), 1);
        assert!(m.contains("CODECS=\"avc1.640028\""));
        assert!(!m.contains("AUDIO="));
    }

    #[test]
    fn subtitle_renditions_get_a_group_forced_flags_and_vtt_playlists() {
        let mut p = presentation();
        let mut sub = rendition(
            "subs-3-fra",
            Kind::Subtitle,
            "wvtt",
            "fra",
            Some("subs"),
            false,
        );
        sub.forced = true;
        sub.name = "Français".into();
        sub.method = Method::Subtitles(crate::plan::SubtitleSource::Sidecar(0));
        p.renditions.push(sub);
        let m = master_playlist(&p);
        assert!(m.contains("#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",LANGUAGE=\"fra\",NAME=\"Français\",DEFAULT=NO,AUTOSELECT=YES,FORCED=YES,URI=\"subs-3-fra/stream.m3u8\"\n"), "{m}");
        assert_eq!(m.matches(",SUBTITLES=\"subs\"\n").count(), 2, "{m}");
        let media = media_playlist(&p, &p.renditions[3]);
        assert!(!media.contains("EXT-X-MAP"), "{media}");
        assert!(media.contains("#EXTINF:9.000000,\n1.vtt\n"), "{media}");
    }
}
