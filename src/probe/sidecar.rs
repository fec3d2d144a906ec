//! Subtitle files beside a video (`Film.en.srt`, `Film.fr.forced.ass`, `Film.vtt`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A subtitle file beside a video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// The file.
    pub path: PathBuf,
    /// Its format, from the extension.
    pub format: crate::subtitle::Format,
    /// Language from the name (`Film.en.srt`), if any.
    pub language: Option<String>,
    /// Marked `.forced` in the name.
    pub forced: bool,
    /// Marked `.default` in the name.
    pub default: bool,
}

/// Finds the subtitle files named after a video: `<stem>[.<lang>][.forced|.default|.sdh].<ext>`
/// in its folder, sorted by name so that the list (and the rendition ids) is stable.
pub fn find_sidecars(video: &Path) -> Vec<Sidecar> {
    let (Some(dir), Some(stem)) = (video.parent(), video.file_stem().and_then(|s| s.to_str()))
    else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<Sidecar> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_name()?.to_str()?.to_owned();
            let rest = name.strip_prefix(stem)?;
            let (middle, ext) = rest.rsplit_once('.')?;
            let format = crate::subtitle::Format::from_extension(ext)?;
            if !middle.is_empty() && !middle.starts_with('.') {
                return None; // "Film 2.srt" belongs to "Film 2", not "Film"
            }
            let mut sc = Sidecar {
                path: path.clone(),
                format,
                language: None,
                forced: false,
                default: false,
            };
            for token in middle.split('.').filter(|t| !t.is_empty()) {
                match token.to_ascii_lowercase().as_str() {
                    "forced" => sc.forced = true,
                    "default" => sc.default = true,
                    "sdh" | "cc" | "hi" => {}
                    t if (2..=3).contains(&t.len())
                        && t.chars().all(|c| c.is_ascii_alphabetic()) =>
                    {
                        sc.language = Some(t.to_owned())
                    }
                    _ => {}
                }
            }
            Some(sc)
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}
