//! Channels as the YAML config declares them, checked once: names, numbers, order, epoch and
//! profile. Which videos a channel's sources name is decided against the library
//! ([`ChannelConfig::matches`]), with plain data.

use serde::Deserialize;

/// One channel of the config's `channels:` list.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// What guides and players show.
    pub name: String,
    /// The channel number (tvg-chno, HDHomeRun GuideNumber).
    pub number: u32,
    /// Folders under the library, show titles, or files (relative to the library).
    pub sources: Vec<String>,
    /// `sequential` (library order) or `shuffle` (a new order each loop).
    #[serde(default)]
    pub order: OrderName,
    /// The shuffle's seed.
    #[serde(default)]
    pub seed: u64,
    /// The channel's epoch, RFC 3339 (`2026-01-01T00:00:00Z`).
    pub start: String,
    /// `copy`, or a rung (`h264-720p`) every programme is played as.
    #[serde(default = "copy")]
    pub profile: String,
    /// A picture for guides (a URL).
    #[serde(default)]
    pub logo: Option<String>,
    /// The guide group (group-title).
    #[serde(default)]
    pub group: Option<String>,
}

fn copy() -> String {
    "copy".into()
}

/// The order a channel's programmes play in.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OrderName {
    /// Library order.
    #[default]
    Sequential,
    /// Shuffled afresh on each loop.
    Shuffle,
}

/// What every programme of a channel is played as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The files' own video, stream-copied (their parameters must agree).
    Copy,
    /// H.264 at this height.
    H264(u32),
}

impl ChannelConfig {
    /// The channel's URL id: its name in lower case, runs of anything but letters and digits
    /// made one `-` ("Night Films" -> `night-films`).
    pub fn id(&self) -> String {
        let mut id = String::new();
        for c in self.name.chars() {
            if c.is_alphanumeric() {
                id.extend(c.to_lowercase());
            } else if !id.ends_with('-') && !id.is_empty() {
                id.push('-');
            }
        }
        id.trim_end_matches('-').to_owned()
    }

    /// The epoch as Unix microseconds.
    pub fn start_us(&self) -> Result<i64, String> {
        parse_rfc3339(&self.start).ok_or_else(|| {
            format!(
                "channel '{}': start '{}' is not an RFC 3339 time like 2026-01-01T00:00:00Z",
                self.name, self.start
            )
        })
    }

    /// The profile, checked.
    pub fn profile(&self) -> Result<Profile, String> {
        if self.profile == "copy" {
            return Ok(Profile::Copy);
        }
        self.profile
            .strip_prefix("h264-")
            .and_then(|p| p.strip_suffix('p'))
            .and_then(|h| h.parse::<u32>().ok())
            .filter(|h| (144..=2160).contains(h) && h % 2 == 0)
            .map(Profile::H264)
            .ok_or_else(|| {
                format!(
                    "channel '{}': profile '{}' is not copy or a rung like h264-720p",
                    self.name, self.profile
                )
            })
    }

    /// Whether a video belongs to the channel, and where among its sources: the index of the
    /// first source naming it (a folder it is under, its show's title, or its file), by its
    /// path relative to the library.
    pub fn matches(&self, relative_path: &str, show_title: &str) -> Option<usize> {
        self.sources.iter().position(|s| {
            let s = s.trim_matches('/');
            relative_path == s
                || relative_path
                    .strip_prefix(s)
                    .is_some_and(|rest| rest.starts_with('/'))
                || show_title.eq_ignore_ascii_case(s)
        })
    }
}

/// Checks a config's channels together: at least one source each, ids and numbers unique,
/// epochs and profiles readable.
pub fn check(channels: &[ChannelConfig]) -> Result<(), String> {
    for (i, c) in channels.iter().enumerate() {
        if c.id().is_empty() {
            return Err(format!("channel {}: a name is needed", c.number));
        }
        if c.sources.is_empty() {
            return Err(format!("channel '{}': no sources", c.name));
        }
        c.start_us()?;
        c.profile()?;
        if let Some(o) = channels[..i]
            .iter()
            .find(|o| o.id() == c.id() || o.number == c.number)
        {
            return Err(format!(
                "channels '{}' and '{}' share a name or number",
                o.name, c.name
            ));
        }
    }
    Ok(())
}

/// Unix microseconds of an RFC 3339 time (`2026-01-01T00:00:00Z`, with optional fraction and
/// a `Z` or `+HH:MM` offset). Days from civil date after Howard Hinnant's `days_from_civil`.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    let (clock, offset_s) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, off) = time.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (h, m) = off[1..].split_once(':')?;
        (
            c,
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60),
        )
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.splitn(3, ':');
    let (h, mi, sec): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let micros: i64 = if frac.is_empty() {
        0
    } else if frac.len() <= 6 && frac.bytes().all(|b| b.is_ascii_digit()) {
        format!("{frac:0<6}").parse().ok()?
    } else {
        return None;
    };
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec - offset_s) * 1_000_000) + micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::iso8601;

    fn channel(yaml: &str) -> ChannelConfig {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn the_issues_example_reads_and_checks() {
        let c = channel(
            "name: Night Films\nnumber: 1\nsources: [\"Movies\"]\norder: shuffle\nseed: 7\nstart: 2026-01-01T00:00:00Z\nprofile: h264-720p\n",
        );
        assert_eq!(c.id(), "night-films");
        assert_eq!(c.order, OrderName::Shuffle);
        assert_eq!(c.profile(), Ok(Profile::H264(720)));
        assert_eq!(c.start_us(), Ok(1_767_225_600_000_000));
        assert!(check(std::slice::from_ref(&c)).is_ok());
        let twin = ChannelConfig {
            name: "Night films!".into(),
            number: 2,
            ..c.clone()
        };
        assert!(check(&[c, twin]).unwrap_err().contains("share"));
    }

    #[test]
    fn bad_profiles_epochs_and_fields_say_what_is_wrong() {
        let c = channel("name: A\nnumber: 1\nsources: [x]\nstart: 2026-01-01T00:00:00Z\n");
        assert_eq!(c.profile(), Ok(Profile::Copy));
        let bad = ChannelConfig {
            profile: "h264-fast".into(),
            ..c.clone()
        };
        assert!(bad.profile().unwrap_err().contains("h264-720p"));
        let bad = ChannelConfig {
            start: "yesterday".into(),
            ..c.clone()
        };
        assert!(bad.start_us().unwrap_err().contains("RFC 3339"));
        assert!(serde_yaml::from_str::<ChannelConfig>(
            "name: A\nnumber: 1\nsources: []\nstart: x\ncolour: red\n"
        )
        .is_err());
    }

    #[test]
    fn rfc3339_reads_back_what_iso8601_writes_and_honours_offsets() {
        for us in [
            0,
            1_767_225_600_123_000,
            951_782_400_000_000,
            4_102_444_799_999_000,
        ] {
            assert_eq!(parse_rfc3339(&iso8601(us)), Some(us), "{}", iso8601(us));
        }
        assert_eq!(
            parse_rfc3339("2026-01-01T01:30:00+01:30"),
            parse_rfc3339("2026-01-01T00:00:00Z")
        );
        for bad in [
            "2026-13-01T00:00:00Z",
            "2026-01-01",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.1234567Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn sources_name_folders_shows_and_files_but_not_prefixes_of_names() {
        let c = channel(
            "name: A\nnumber: 1\nsources: [Movies, Clockwork, \"Series/Other/a.mkv\"]\nstart: 2026-01-01T00:00:00Z\n",
        );
        assert_eq!(
            c.matches("Movies/Clock (2024)/Clock (2024).mkv", "Clock"),
            Some(0)
        );
        assert_eq!(c.matches("Movies2/x.mkv", "x"), None);
        assert_eq!(
            c.matches("Series/Clockwork/Season 01/e.mp4", "clockwork"),
            Some(1)
        );
        assert_eq!(c.matches("Series/Other/a.mkv", "Other"), Some(2));
    }
}
