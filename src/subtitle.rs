//! Text subtitles to WebVTT (W3C WebVTT, RFC 8216 3.5 for HLS): parsers for SRT, ASS/SSA and
//! WebVTT files, payload readers for subtitle packets in a container, and the segment text.
//!
//! Pure: text in, text out. Styles, positions and ASS drawings are dropped; italics, bold and
//! underline are kept where WebVTT can say them (`<i>`, `<b>`, `<u>`); line breaks are kept;
//! `&`, `<` and `>` in the text are escaped.

use std::fmt::Write;

/// One cue: shown from `start` to `end` (seconds on the source clock).
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// WebVTT cue text (escaped, with `<i>`/`<b>`/`<u>` tags and line breaks).
    pub text: String,
}

/// Text subtitle formats Haema reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// SubRip.
    Srt,
    /// Advanced SubStation Alpha / SubStation Alpha.
    Ass,
    /// WebVTT.
    Vtt,
    /// MP4 timed text (3GPP TS 26.245): a 16-bit length, then UTF-8.
    MovText,
}

impl Format {
    /// The format of a container stream by FFmpeg codec name; `None` for bitmap subtitles
    /// (PGS, VobSub, DVB), which WebVTT can't carry.
    pub fn from_codec(codec: &str) -> Option<Format> {
        match codec {
            "subrip" | "srt" | "text" => Some(Format::Srt),
            "ass" | "ssa" => Some(Format::Ass),
            "webvtt" => Some(Format::Vtt),
            "mov_text" => Some(Format::MovText),
            _ => None,
        }
    }

    /// The format of a sidecar file by extension.
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "srt" => Some(Format::Srt),
            "ass" | "ssa" => Some(Format::Ass),
            "vtt" => Some(Format::Vtt),
            _ => None,
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// SRT text (with its HTML-ish tags) to WebVTT cue text: `<i>`, `<b>`, `<u>` kept, other tags
/// (`<font ...>`) dropped, everything else escaped.
pub fn srt_text(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s.trim_matches(['\r', '\n']);
    while let Some(open) = rest.find('<') {
        out.push_str(&escape(&rest[..open]));
        let after = &rest[open..];
        match after.find('>') {
            Some(close) => {
                let tag = after[1..close].trim().to_ascii_lowercase();
                let (slash, name) = tag
                    .strip_prefix('/')
                    .map_or(("", tag.as_str()), |n| ("/", n));
                if matches!(name, "i" | "b" | "u") {
                    let _ = write!(out, "<{slash}{name}>");
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&escape(after));
                rest = "";
            }
        }
    }
    out.push_str(&escape(rest));
    out.replace("\r\n", "\n")
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// ASS dialogue text to WebVTT cue text: `\N`/`\n` become line breaks, `{\i1}`...`{\i0}`
/// become `<i>`...`</i>` (likewise `\b`, `\u`), other override codes are dropped, and text in
/// drawing mode (`{\p1}`...`{\p0}`) is dropped.
pub fn ass_text(s: &str) -> String {
    let mut out = String::new();
    let mut open: Vec<char> = Vec::new();
    let mut drawing = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                let mut block = String::new();
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                    block.push(d);
                }
                for code in block.split('\\').filter(|c| !c.is_empty()) {
                    let (name, value) = code.split_at(
                        code.find(|c: char| c.is_ascii_digit())
                            .unwrap_or(code.len()),
                    );
                    match (name, value) {
                        ("i" | "b" | "u", v) => {
                            let tag = name.chars().next().expect("non-empty");
                            let on = v != "0" && !v.is_empty();
                            if on && !open.contains(&tag) {
                                let _ = write!(out, "<{tag}>");
                                open.push(tag);
                            } else if !on && open.contains(&tag) {
                                let _ = write!(out, "</{tag}>");
                                open.retain(|t| *t != tag);
                            }
                        }
                        ("p", v) => drawing = v != "0",
                        _ => {}
                    }
                }
            }
            '\\' if matches!(chars.peek(), Some('N' | 'n')) => {
                chars.next();
                out.push('\n');
            }
            '\\' if chars.peek() == Some(&'h') => {
                chars.next();
                out.push('\u{a0}');
            }
            _ if drawing => {}
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    for tag in open.into_iter().rev() {
        let _ = write!(out, "</{tag}>");
    }
    out.trim().to_owned()
}

/// The text of a subtitle packet as a container carries it, as WebVTT cue text.
pub fn packet_text(format: Format, payload: &[u8]) -> String {
    match format {
        Format::Srt => srt_text(&String::from_utf8_lossy(payload)),
        // Matroska ASS blocks: ReadOrder, Layer, Style, Name, MarginL, MarginR, MarginV,
        // Effect, Text (the text may itself hold commas).
        Format::Ass => {
            let s = String::from_utf8_lossy(payload);
            ass_text(s.splitn(9, ',').nth(8).unwrap_or(&s))
        }
        Format::Vtt => String::from_utf8_lossy(payload).trim().to_owned(),
        Format::MovText => {
            let len = payload
                .get(..2)
                .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]) as usize);
            let text = payload.get(2..2 + len).unwrap_or(&[]);
            escape(String::from_utf8_lossy(text).trim())
        }
    }
}

/// Parses `HH:MM:SS,mmm` / `HH:MM:SS.mmm` / `MM:SS.mmm` / ASS `H:MM:SS.cc`.
fn parse_time(s: &str) -> Option<f64> {
    let s = s.trim().replace(',', ".");
    let parts: Vec<&str> = s.split(':').collect();
    let (h, m, sec) = match parts.as_slice() {
        [h, m, s] => (
            h.parse::<f64>().ok()?,
            m.parse::<f64>().ok()?,
            s.parse::<f64>().ok()?,
        ),
        [m, s] => (0.0, m.parse::<f64>().ok()?, s.parse::<f64>().ok()?),
        _ => return None,
    };
    Some(h * 3600.0 + m * 60.0 + sec)
}

/// Parses an SRT or WebVTT file: blocks of `start --> end` and text lines.
fn parse_timed_blocks(text: &str, to_text: fn(&str) -> String) -> Vec<Cue> {
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    let mut cues = Vec::new();
    for block in text.split("\n\n") {
        let mut lines = block.lines().skip_while(|l| !l.contains("-->"));
        let Some(timing) = lines.next() else { continue };
        let mut parts = timing.split("-->");
        let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
            continue;
        };
        // WebVTT cue settings follow the end time after a space.
        let b = b.split_whitespace().next().unwrap_or("");
        let (Some(start), Some(end)) = (parse_time(a), parse_time(b)) else {
            continue;
        };
        let body: Vec<&str> = lines.collect();
        let text = to_text(&body.join("\n"));
        if !text.is_empty() && end > start {
            cues.push(Cue { start, end, text });
        }
    }
    cues
}

/// Parses a SubRip file.
pub fn parse_srt(text: &str) -> Vec<Cue> {
    parse_timed_blocks(text, srt_text)
}

/// Parses a WebVTT file (cue text kept as it is).
pub fn parse_vtt(text: &str) -> Vec<Cue> {
    parse_timed_blocks(text, |s| s.trim().to_owned())
}

/// Parses an ASS/SSA file's `[Events]` Dialogue lines, by their Format line.
pub fn parse_ass(text: &str) -> Vec<Cue> {
    let mut fields: Vec<String> = Vec::new();
    let mut in_events = false;
    let mut cues = Vec::new();
    for line in text.trim_start_matches('\u{feff}').lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_events = line.eq_ignore_ascii_case("[events]");
            continue;
        }
        if !in_events {
            continue;
        }
        if let Some(f) = line.strip_prefix("Format:") {
            fields = f
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect();
        } else if let Some(d) = line.strip_prefix("Dialogue:") {
            let values: Vec<&str> = d.splitn(fields.len().max(1), ',').collect();
            let get = |name: &str| {
                fields
                    .iter()
                    .position(|f| f == name)
                    .and_then(|i| values.get(i))
            };
            let (Some(start), Some(end), Some(text)) = (get("start"), get("end"), get("text"))
            else {
                continue;
            };
            let (Some(start), Some(end)) = (parse_time(start), parse_time(end)) else {
                continue;
            };
            let text = ass_text(text);
            if !text.is_empty() && end > start {
                cues.push(Cue { start, end, text });
            }
        }
    }
    cues.sort_by(|a, b| a.start.total_cmp(&b.start));
    cues
}

/// Parses a sidecar file's text by format.
pub fn parse(format: Format, text: &str) -> Vec<Cue> {
    match format {
        Format::Srt => parse_srt(text),
        Format::Ass => parse_ass(text),
        Format::Vtt | Format::MovText => parse_vtt(text),
    }
}

fn timestamp(t: f64) -> String {
    let ms = (t.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// One WebVTT segment: the cues that overlap `[from, to)` (seconds of playlist time), with an
/// `X-TIMESTAMP-MAP` (RFC 8216 3.5) that ties playlist time 0 to `mpegts` (90 kHz ticks of the
/// media's presentation clock, the clock of the fMP4 segments' tfdt). A cue that spans
/// segments is written in each; players merge identical cues.
pub fn segment(cues: &[Cue], from: f64, to: f64, mpegts: u64) -> String {
    let mut s = format!("WEBVTT\nX-TIMESTAMP-MAP=LOCAL:00:00:00.000,MPEGTS:{mpegts}\n");
    for c in cues.iter().filter(|c| c.end > from && c.start < to) {
        let _ = write!(
            s,
            "\n{} --> {}\n{}\n",
            timestamp(c.start),
            timestamp(c.end),
            c.text
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srt_keeps_italics_and_line_breaks_and_escapes_the_rest() {
        let cues = parse_srt("1\r\n00:00:01,500 --> 00:00:03,000\r\n<i>Hello</i> & <font color=\"red\">bye</font>\r\nsecond < line\r\n\r\n2\r\n00:01:00,000 --> 00:01:02,250\r\nTwo\r\n");
        assert_eq!(
            cues,
            vec![
                Cue {
                    start: 1.5,
                    end: 3.0,
                    text: "<i>Hello</i> &amp; bye\nsecond &lt; line".into()
                },
                Cue {
                    start: 60.0,
                    end: 62.25,
                    text: "Two".into()
                },
            ]
        );
    }

    #[test]
    fn ass_drops_styles_and_drawings_keeps_bold_italic_and_breaks() {
        assert_eq!(
            ass_text(r"{\an8\i1}Top{\i0} line\Nnext {\b1}bold"),
            "<i>Top</i> line\nnext <b>bold</b>"
        );
        assert_eq!(ass_text(r"{\p1}m 0 0 l 100 0 100 100{\p0}Sign"), "Sign");
        assert_eq!(ass_text(r"a < b & c"), "a &lt; b &amp; c");
    }

    #[test]
    fn ass_file_dialogues_follow_the_format_line() {
        let ass = "[Script Info]\nTitle: x\n\n[V4+ Styles]\nFormat: Name, Fontname\nStyle: Default,Arial\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: 0,0:00:02.00,0:00:04.50,Default,,0,0,0,,Hello, world\nDialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\i1}First\n";
        let cues = parse_ass(ass);
        assert_eq!(cues.len(), 2);
        assert_eq!(
            cues[0],
            Cue {
                start: 1.0,
                end: 2.0,
                text: "<i>First</i>".into()
            }
        );
        assert_eq!(cues[1].text, "Hello, world");
        assert_eq!(cues[1].end, 4.5);
    }

    #[test]
    fn matroska_ass_packets_carry_text_after_eight_fields() {
        assert_eq!(
            packet_text(Format::Ass, b"3,0,Default,,0,0,0,,Hi, {\\b1}you"),
            "Hi, <b>you</b>"
        );
        let mut mov = vec![0, 5];
        mov.extend_from_slice(b"A & B");
        assert_eq!(packet_text(Format::MovText, &mov), "A &amp; B");
    }

    #[test]
    fn vtt_files_parse_with_cue_settings_and_short_times() {
        let cues = parse_vtt("WEBVTT\n\nid1\n00:01.000 --> 00:02.500 align:start\nHi\n");
        assert_eq!(
            cues,
            vec![Cue {
                start: 1.0,
                end: 2.5,
                text: "Hi".into()
            }]
        );
    }

    #[test]
    fn segment_golden_has_the_timestamp_map_and_overlapping_cues_only() {
        let cues = vec![
            Cue {
                start: 1.0,
                end: 2.0,
                text: "a".into(),
            },
            Cue {
                start: 3.5,
                end: 4.5,
                text: "b".into(),
            },
            Cue {
                start: 9.0,
                end: 10.0,
                text: "c".into(),
            },
        ];
        assert_eq!(
            segment(&cues, 4.0, 8.0, 7650),
            "WEBVTT\nX-TIMESTAMP-MAP=LOCAL:00:00:00.000,MPEGTS:7650\n\n00:00:03.500 --> 00:00:04.500\nb\n"
        );
        assert_eq!(timestamp(3723.0456), "01:02:03.046");
    }

    #[test]
    fn bitmap_subtitles_have_no_text_format() {
        assert_eq!(Format::from_codec("hdmv_pgs_subtitle"), None);
        assert_eq!(Format::from_codec("dvd_subtitle"), None);
        assert_eq!(Format::from_codec("subrip"), Some(Format::Srt));
        assert_eq!(Format::from_extension("ASS"), Some(Format::Ass));
    }
}
