//! File names to films and episodes: the folder structure is the source of truth.
//!
//! `Movies/Title (Year)/Title (Year).mkv` is a film; `Series/Show/Season NN/Show - S01E02 -
//! Title.mkv` is an episode, and so are the common variants (`1x02`, flat season folders,
//! `Specials` as season 0). Anything else is still playable, as a film named after its file.
//! Pure: paths in, names out.

use std::path::Path;

/// What a video file is, by its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A film.
    Movie {
        /// Title without the year.
        title: String,
        /// Year from `(YYYY)`, if any.
        year: Option<u16>,
    },
    /// An episode of a series.
    Episode {
        /// The series' name.
        show: String,
        /// Season number (0 for specials).
        season: u32,
        /// Episode number.
        episode: u32,
        /// Episode title, if the name has one.
        title: Option<String>,
    },
}

/// Folder names under which the first level holds series.
const SERIES_ROOTS: [&str; 5] = ["series", "shows", "tv", "tv shows", "anime"];

/// Finds an episode marker in a name: `S01E02` (any case, `S1E2`) or `1x02`; returns (season,
/// episode, byte range of the marker).
pub fn episode_marker(name: &str) -> Option<(u32, u32, std::ops::Range<usize>)> {
    let b = name.as_bytes();
    let digits = |from: usize| -> (u32, usize) {
        let mut end = from;
        while end < b.len() && b[end].is_ascii_digit() && end - from < 4 {
            end += 1;
        }
        (name[from..end].parse().unwrap_or(0), end)
    };
    for i in 0..b.len() {
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if !boundary {
            continue;
        }
        // SxxEyy
        if b[i].eq_ignore_ascii_case(&b's') && i + 1 < b.len() && b[i + 1].is_ascii_digit() {
            let (season, e) = digits(i + 1);
            if e < b.len()
                && b[e].eq_ignore_ascii_case(&b'e')
                && e + 1 < b.len()
                && b[e + 1].is_ascii_digit()
            {
                let (episode, end) = digits(e + 1);
                return Some((season, episode, i..end));
            }
        }
        // NxNN
        if b[i].is_ascii_digit() {
            let (season, x) = digits(i);
            if x < b.len()
                && (b[x] == b'x' || b[x] == b'X')
                && x + 1 < b.len()
                && b[x + 1].is_ascii_digit()
            {
                let (episode, end) = digits(x + 1);
                let after_ok = end >= b.len() || !b[end].is_ascii_alphanumeric();
                if after_ok && season < 100 {
                    return Some((season, episode, i..end));
                }
            }
        }
    }
    None
}

/// Separators people put between name parts: trims them and turns dots/underscores into
/// spaces when the name has no spaces at all (`The.Show.S01E02.mkv`).
fn clean(s: &str) -> String {
    let s = if s.contains(' ') {
        s.to_owned()
    } else {
        s.replace(['.', '_'], " ")
    };
    s.trim_matches(|c: char| c.is_whitespace() || c == '-' || c == '.' || c == '_')
        .to_owned()
}

/// `Title (2024)` to ("Title", Some(2024)).
pub fn title_and_year(s: &str) -> (String, Option<u16>) {
    let t = s.trim();
    if let (Some(open), true) = (t.rfind('('), t.ends_with(')')) {
        if let Ok(y) = t[open + 1..t.len() - 1].parse::<u16>() {
            if (1880..=2200).contains(&y) {
                return (clean(&t[..open]), Some(y));
            }
        }
    }
    (clean(t), None)
}

fn season_folder(name: &str) -> Option<u32> {
    let l = name.to_ascii_lowercase();
    if l == "specials" || l == "extras" {
        return Some(0);
    }
    l.strip_prefix("season")
        .or_else(|| l.strip_prefix("saison"))
        .or_else(|| l.strip_prefix("staffel"))
        .and_then(|n| n.trim().parse().ok())
}

/// Classifies a video by its path relative to the library root.
pub fn classify(rel: &Path) -> Entry {
    let stem = rel.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    let folders: Vec<&str> = rel
        .parent()
        .map(|p| p.iter().filter_map(|c| c.to_str()).collect())
        .unwrap_or_default();
    let under_series = folders
        .first()
        .is_some_and(|f| SERIES_ROOTS.contains(&f.to_ascii_lowercase().as_str()));
    // The show: the folder above "Season NN", else the first folder under a series root.
    let season_idx = folders.iter().rposition(|f| season_folder(f).is_some());
    let show_folder = match season_idx {
        Some(i) if i > 0 => Some(folders[i - 1]),
        _ if under_series => folders.get(1).copied(),
        _ => None,
    };
    if let Some((season, episode, range)) = episode_marker(stem) {
        let before = clean(&stem[..range.start]);
        let after = clean(&stem[range.end..]);
        let show = show_folder
            .map(|f| title_and_year(f).0)
            .filter(|s| !s.is_empty())
            .unwrap_or(before);
        let season = if season_idx.is_some_and(|i| season_folder(folders[i]) == Some(0)) {
            0
        } else {
            season
        };
        return Entry::Episode {
            show: if show.is_empty() {
                "Unknown".into()
            } else {
                show
            },
            season,
            episode,
            title: (!after.is_empty()).then_some(after),
        };
    }
    // "Show/Season 2/03 - Title.mkv": a number first in a season folder.
    if let (Some(show), Some(i)) = (show_folder, season_idx) {
        let n: String = stem.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(episode) = n.parse::<u32>() {
            let title = clean(&stem[n.len()..]);
            return Entry::Episode {
                show: title_and_year(show).0,
                season: season_folder(folders[i]).unwrap_or(1),
                episode,
                title: (!title.is_empty()).then_some(title),
            };
        }
    }
    let (title, year) = title_and_year(stem);
    Entry::Movie { title, year }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(show: &str, season: u32, episode: u32, title: Option<&str>) -> Entry {
        Entry::Episode {
            show: show.into(),
            season,
            episode,
            title: title.map(str::to_owned),
        }
    }

    #[test]
    fn movies_take_title_and_year() {
        assert_eq!(
            classify(Path::new("Movies/Clock (2024)/Clock (2024).mkv")),
            Entry::Movie {
                title: "Clock".into(),
                year: Some(2024)
            }
        );
        assert_eq!(
            classify(Path::new("random/Some.Film.mp4")),
            Entry::Movie {
                title: "Some Film".into(),
                year: None
            }
        );
    }

    #[test]
    fn episodes_in_season_folders() {
        assert_eq!(
            classify(Path::new(
                "Series/Clockwork/Season 01/Clockwork - S01E02 - No Cues.mkv"
            )),
            ep("Clockwork", 1, 2, Some("No Cues"))
        );
        assert_eq!(
            classify(Path::new("Series/Show (2010)/Season 2/show.s02e10.mkv")),
            ep("Show", 2, 10, None)
        );
        assert_eq!(
            classify(Path::new("TV/Show/Season 3/04 - Title.mkv")),
            ep("Show", 3, 4, Some("Title"))
        );
    }

    #[test]
    fn episode_variants_flat_folders_and_specials() {
        assert_eq!(
            classify(Path::new("Series/Show/Show 1x02 The Title.mkv")),
            ep("Show", 1, 2, Some("The Title"))
        );
        assert_eq!(
            classify(Path::new("Series/Show/Specials/Show - S00E01.mkv")),
            ep("Show", 0, 1, None)
        );
        assert_eq!(
            classify(Path::new("downloads/The.Show.S03E04.720p.mkv")),
            ep("The Show", 3, 4, Some("720p"))
        );
    }

    #[test]
    fn markers_need_word_boundaries() {
        assert_eq!(episode_marker("Clocks1e2"), None);
        assert_eq!(episode_marker("1920x1080 demo"), None);
        assert_eq!(
            episode_marker("Show S1E2").map(|m| (m.0, m.1)),
            Some((1, 2))
        );
    }
}
