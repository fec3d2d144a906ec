//! The real-world corpus (tests/corpus/make.sh), made on first use.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use super::run;

/// The corpus files the tests use, made together on first use: one run of make.sh makes each
/// lossless master once for all of them.
pub const USED: [&str; 12] = [
    "handbrake.mp4",
    "trimmed.mp4",
    "mkvmerge.mkv",
    "recording.ts",
    "xvid.avi",
    "phone.mov",
    "hdr10.mkv",
    "hlg.mkv",
    "fragmented.mp4",
    "x265-handbrake.mkv",
    "vp9.webm",
    "longgop.mkv",
];

/// The corpus file `name`, made on first use into a folder kept between runs (make.sh skips
/// what is there).
pub fn corpus(name: &str) -> PathBuf {
    static LOCK: Mutex<bool> = Mutex::new(false);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus");
    let mut made = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let names: Vec<&str> = if !*made && USED.contains(&name) {
        USED.to_vec()
    } else {
        vec![name]
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/make.sh");
    let out = run(Command::new("bash").arg(script).arg(&dir).args(&names));
    assert!(
        out.status.success(),
        "tests/corpus/make.sh could not make {names:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    *made |= names.len() > 1;
    dir.join(name)
}

/// The video renditions the master playlist of a tree offers, in its order.
pub fn offered_videos(tree: &Path) -> Vec<String> {
    let master = std::fs::read_to_string(tree.join("master.m3u8")).expect("master playlist");
    let mut out: Vec<String> = Vec::new();
    let mut lines = master.lines();
    while let Some(l) = lines.next() {
        if l.starts_with("#EXT-X-STREAM-INF") {
            let uri = lines.next().expect("a variant's URI");
            let r = uri.split('/').next().expect("rendition folder").to_owned();
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

/// A rendition of `tree` as one file (init, then every segment), written into `dir`.
pub fn joined(tree: &Path, rendition: &str, dir: &Path) -> PathBuf {
    let path = dir.join(format!("{rendition}.mp4"));
    std::fs::write(&path, super::concatenated(tree, rendition)).expect("write");
    path
}

/// The number of black bars across the middle row of a cue box tests/corpus/sup.py drew (x
/// 200 to 440 at y 264 of the picture at 640x360, grey): cue k has k. `None` where the row is
/// not the box's white and black (no subtitle there).
pub fn cue_bars(row: &[u8]) -> Option<usize> {
    // Inside the 4-pixel outline, with a pixel's grace for the scaler's edges.
    let inside = &row[6..row.len() - 6];
    let clear = inside.iter().filter(|&&p| !(50..=200).contains(&p)).count();
    if clear * 10 < inside.len() * 9 {
        return None;
    }
    let dark: Vec<bool> = inside.iter().map(|&p| p < 128).collect();
    Some(dark.windows(2).filter(|w| !w[0] && w[1]).count() + usize::from(dark[0]))
}
