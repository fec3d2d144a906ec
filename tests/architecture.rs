//! The layout's rules, checked on the source tree (docs/architecture.md explains them).

use std::path::{Path, PathBuf};

fn sources() -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    walkdir::WalkDir::new(&src)
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

/// Code lines only: comments say "unsafe" and "FFmpeg" freely.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_start()))
        .filter(|(_, l)| !l.starts_with("//"))
}

#[test]
fn ffmpeg_and_unsafe_code_live_only_under_media() {
    let media = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/media");
    let mut found = Vec::new();
    for file in sources().into_iter().filter(|p| !p.starts_with(&media)) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in code_lines(&text) {
            let words: Vec<&str> = line
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .collect();
            if words
                .iter()
                .any(|w| matches!(*w, "unsafe" | "ffmpeg_next" | "ffmpeg_sys_next" | "libc"))
            {
                found.push(format!("{}:{n}: {line}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "FFmpeg, libc and unsafe code belong under src/media/:\n{}",
        found.join("\n")
    );
}

#[test]
fn source_files_stay_short_or_say_why_not() {
    const LIMIT: usize = 600;
    let mut long = Vec::new();
    for file in sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines = text.lines().count();
        let head: String = text.lines().take(20).collect::<Vec<_>>().join("\n");
        if lines > LIMIT && !head.contains("Longer than 600 lines because") {
            long.push(format!("{}: {lines} lines", file.display()));
        }
    }
    assert!(
        long.is_empty(),
        "split these by job, or say at the top why not (\"Longer than 600 lines because ...\"):\n{}",
        long.join("\n")
    );
}
