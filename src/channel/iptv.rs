//! What IPTV clients read (Plex, Jellyfin, Kodi, TiviMate, VLC): the M3U channel list with
//! its `tvg-` attributes, the XMLTV guide (xmltv.dtd), and the HDHomeRun tuner's JSON
//! (`discover.json`, `lineup.json`, `lineup_status.json`, as SiliconDust's devices answer and
//! Plex and Jellyfin read them). Pure text from plain data.

use std::fmt::Write;

/// A channel as guides list it.
#[derive(Debug, Clone, PartialEq)]
pub struct GuideChannel {
    /// The channel's URL id, also its XMLTV id (tvg-id).
    pub id: String,
    /// Channel number.
    pub number: u32,
    /// Name.
    pub name: String,
    /// Logo URL.
    pub logo: Option<String>,
    /// Group (group-title).
    pub group: Option<String>,
    /// Where a player tunes in (the live master playlist or stream).
    pub url: String,
}

/// A programme as guides list it.
#[derive(Debug, Clone, PartialEq)]
pub struct GuideProgramme {
    /// The channel's id.
    pub channel: String,
    /// Start, Unix microseconds.
    pub start_us: i64,
    /// End, Unix microseconds.
    pub end_us: i64,
    /// The show's or film's title.
    pub title: String,
    /// The episode's title.
    pub sub_title: Option<String>,
    /// A description.
    pub desc: Option<String>,
    /// Season and episode numbers, from 1.
    pub episode: Option<(u32, u32)>,
    /// A picture URL.
    pub icon: Option<String>,
}

/// Text escaped for XML character data and attribute values (XML 1.0 2.4, 3.3.3).
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newlines are not XML characters (2.2).
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// An M3U attribute value: quotes and line breaks would end it early.
fn m3u_value(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect()
}

/// The M3U channel list: `#EXTM3U url-tvg=...`, then per channel `#EXTINF:-1` with tvg-id,
/// tvg-name, tvg-chno, tvg-logo and group-title, a comma and the name, and the URL.
pub fn m3u(channels: &[GuideChannel], xmltv_url: &str) -> String {
    let mut s = format!("#EXTM3U url-tvg=\"{}\"\n", m3u_value(xmltv_url));
    for c in channels {
        let _ = write!(
            s,
            "#EXTINF:-1 tvg-id=\"{}\" tvg-name=\"{}\" tvg-chno=\"{}\"",
            m3u_value(&c.id),
            m3u_value(&c.name),
            c.number
        );
        if let Some(logo) = &c.logo {
            let _ = write!(s, " tvg-logo=\"{}\"", m3u_value(logo));
        }
        if let Some(group) = &c.group {
            let _ = write!(s, " group-title=\"{}\"", m3u_value(group));
        }
        let _ = writeln!(s, ",{}\n{}", c.name.replace(['\n', '\r'], " "), c.url);
    }
    s
}

/// An XMLTV time: `YYYYMMDDhhmmss +0000` (xmltv.dtd, "date and time ... and timezone").
pub fn xmltv_time(us: i64) -> String {
    let iso = super::iso8601(us);
    // 2026-01-01T00:00:00.000Z -> 20260101000000 +0000
    let digits: String = iso[..19].chars().filter(char::is_ascii_digit).collect();
    format!("{digits} +0000")
}

/// The XMLTV guide: each channel with its display-name and icon, then each programme with
/// start and stop, title, sub-title, desc, episode-num in the xmltv_ns (from 0) and onscreen
/// (S01E02) systems, and icon.
pub fn xmltv(channels: &[GuideChannel], programmes: &[GuideProgramme]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE tv SYSTEM \"xmltv.dtd\">\n<tv generator-info-name=\"haema\">\n",
    );
    for c in channels {
        let _ = writeln!(s, "  <channel id=\"{}\">", xml_escape(&c.id));
        let _ = writeln!(
            s,
            "    <display-name>{}</display-name>\n    <display-name>{}</display-name>",
            xml_escape(&c.name),
            c.number
        );
        if let Some(logo) = &c.logo {
            let _ = writeln!(s, "    <icon src=\"{}\"/>", xml_escape(logo));
        }
        s.push_str("  </channel>\n");
    }
    for p in programmes {
        let _ = writeln!(
            s,
            "  <programme start=\"{}\" stop=\"{}\" channel=\"{}\">",
            xmltv_time(p.start_us),
            xmltv_time(p.end_us),
            xml_escape(&p.channel)
        );
        let _ = writeln!(s, "    <title>{}</title>", xml_escape(&p.title));
        if let Some(t) = &p.sub_title {
            let _ = writeln!(s, "    <sub-title>{}</sub-title>", xml_escape(t));
        }
        if let Some(d) = &p.desc {
            let _ = writeln!(s, "    <desc>{}</desc>", xml_escape(d));
        }
        if let Some((season, episode)) = p.episode {
            let _ = writeln!(
                s,
                "    <episode-num system=\"xmltv_ns\">{}.{}.0/1</episode-num>\n    <episode-num system=\"onscreen\">S{season:02}E{episode:02}</episode-num>",
                season.saturating_sub(1),
                episode.saturating_sub(1)
            );
        }
        if let Some(icon) = &p.icon {
            let _ = writeln!(s, "    <icon src=\"{}\"/>", xml_escape(icon));
        }
        s.push_str("  </programme>\n");
    }
    s.push_str("</tv>\n");
    s
}

/// HDHomeRun `discover.json`: who the tuner is and where its lineup is (`base` is the
/// server's URL, no trailing slash).
pub fn hdhr_discover(base: &str, device_id: &str, tuners: usize) -> serde_json::Value {
    serde_json::json!({
        "FriendlyName": "Haema",
        "Manufacturer": "Haema",
        "ModelNumber": "HDTC-2US",
        "FirmwareName": "hdhomeruntc_atsc",
        "FirmwareVersion": "20200101",
        "DeviceID": device_id,
        "DeviceAuth": "haema",
        "TunerCount": tuners,
        "BaseURL": base,
        "LineupURL": format!("{base}/lineup.json"),
    })
}

/// An HDHomeRun DeviceID for a server: 32 bits from a digest of something that names it (its
/// database), the same on every start.
pub fn device_id(name: &str) -> u32 {
    let h = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    h
}

/// HDHomeRun `lineup.json`: GuideNumber, GuideName and URL per channel.
pub fn hdhr_lineup(channels: &[GuideChannel]) -> serde_json::Value {
    channels
        .iter()
        .map(|c| {
            serde_json::json!({
                "GuideNumber": c.number.to_string(),
                "GuideName": c.name,
                "URL": c.url,
            })
        })
        .collect()
}

/// HDHomeRun `lineup_status.json`: no channel scan is ever running (the lineup is the config).
pub fn hdhr_lineup_status() -> serde_json::Value {
    serde_json::json!({
        "ScanInProgress": 0,
        "ScanPossible": 0,
        "Source": "Cable",
        "SourceList": ["Cable"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> GuideChannel {
        GuideChannel {
            id: "night-films".into(),
            number: 7,
            name: "Night \"Films\" & <More>".into(),
            logo: Some("http://h/logo.png?a=1&b=2".into()),
            group: Some("Films".into()),
            url: "http://h/api/v1/channels/night-films/master.m3u8".into(),
        }
    }

    #[test]
    fn m3u_lists_each_channel_with_its_tvg_attributes_and_url() {
        let text = m3u(&[channel()], "http://h/iptv/xmltv.xml");
        assert_eq!(
            text,
            "#EXTM3U url-tvg=\"http://h/iptv/xmltv.xml\"\n\
             #EXTINF:-1 tvg-id=\"night-films\" tvg-name=\"Night 'Films' & <More>\" tvg-chno=\"7\" tvg-logo=\"http://h/logo.png?a=1&b=2\" group-title=\"Films\",Night \"Films\" & <More>\n\
             http://h/api/v1/channels/night-films/master.m3u8\n"
        );
    }

    #[test]
    fn xmltv_escapes_text_and_numbers_episodes_both_ways() {
        let p = GuideProgramme {
            channel: "night-films".into(),
            start_us: 1_767_225_600_000_000,
            end_us: 1_767_225_620_500_000,
            title: "Clock & Co".into(),
            sub_title: Some("<Pilot>".into()),
            desc: None,
            episode: Some((1, 2)),
            icon: None,
        };
        let text = xmltv(&[channel()], &[p]);
        assert!(text.contains("<programme start=\"20260101000000 +0000\" stop=\"20260101000020 +0000\" channel=\"night-films\">"), "{text}");
        assert!(text.contains("<title>Clock &amp; Co</title>"));
        assert!(text.contains("<sub-title>&lt;Pilot&gt;</sub-title>"));
        assert!(text.contains("<episode-num system=\"xmltv_ns\">0.1.0/1</episode-num>"));
        assert!(text.contains("<episode-num system=\"onscreen\">S01E02</episode-num>"));
        assert!(text
            .contains("<display-name>Night &quot;Films&quot; &amp; &lt;More&gt;</display-name>"));
        assert!(text.contains("<icon src=\"http://h/logo.png?a=1&amp;b=2\"/>"));
    }

    #[test]
    fn hdhomerun_lineup_names_each_channel_by_number() {
        let l = hdhr_lineup(&[channel()]);
        assert_eq!(l[0]["GuideNumber"], "7");
        assert_eq!(l[0]["URL"], channel().url);
        let d = hdhr_discover("http://h:8080", "12345678", 2);
        assert_eq!(d["LineupURL"], "http://h:8080/lineup.json");
    }
}
