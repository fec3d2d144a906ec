//! What the docs promise: the checked-in shell completions and man pages match the command
//! line, and the README's shell loop makes the same static tree as `--out`.

mod common;

use std::path::Path;

use common::*;

#[test]
fn checked_in_completions_and_man_pages_match_the_cli() {
    let out = tempfile::tempdir().unwrap();
    haema_ok(&["docs".as_ref(), "--out".as_ref(), out.path().as_os_str()]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut compared = 0;
    for dir in ["completions", "man"] {
        for e in std::fs::read_dir(out.path().join(dir)).unwrap().flatten() {
            let name = e.file_name();
            let fresh = std::fs::read(e.path()).unwrap();
            let checked_in = std::fs::read(root.join(dir).join(&name)).unwrap_or_default();
            assert!(
                fresh == checked_in,
                "{dir}/{} is out of date: run `cargo run -- docs --out .` and commit",
                name.to_string_lossy()
            );
            compared += 1;
        }
    }
    // bash, zsh, fish, PowerShell; haema and its eight public subcommands.
    assert_eq!(compared, 4 + 9);
}

/// The README's shell loop for a static tree, as the README has it.
fn readme_loop() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("    mkdir -p hls && haema playlist movie.mkv")
        .expect("the README has the static-tree loop");
    readme[start..]
        .lines()
        .take_while(|l| l.starts_with("    "))
        .map(|l| &l[4..])
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every file under a folder, by path relative to it, with its bytes.
fn files(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out: Vec<_> = walkdir::WalkDir::new(root)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap().to_owned();
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_readme_shell_loop_makes_the_same_tree_as_out_subtitles_included() {
    let dir = tempfile::tempdir().unwrap();
    // The MKV with subtitle streams: WebVTT renditions have no init and .vtt segments.
    std::fs::copy(mkv(), dir.path().join("movie.mkv")).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_haema")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = run(std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &readme_loop()])
        .current_dir(dir.path())
        .env("PATH", path));
    assert!(
        out.status.success(),
        "the README's loop failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = tree(&mkv());
    let (by_loop, by_out) = (files(&dir.path().join("hls")), files(t.path()));
    let names =
        |v: &[(std::path::PathBuf, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&by_loop), names(&by_out));
    assert!(by_loop
        .iter()
        .any(|(p, _)| p.extension().is_some_and(|e| e == "vtt")));
    for ((p, a), (_, b)) in by_loop.iter().zip(&by_out) {
        assert!(a == b, "{} differs", p.display());
    }
}
