//! The real-world corpus (tests/corpus/make.sh), made on first use.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use super::run;

/// The corpus file `name`, made on first use into a folder kept between runs (make.sh skips
/// what is there). One make at a time: they share the masters.
pub fn corpus(name: &str) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus");
    let _one = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/make.sh");
    let out = run(Command::new("bash").arg(script).arg(&dir).arg(name));
    assert!(
        out.status.success(),
        "tests/corpus/make.sh could not make {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
