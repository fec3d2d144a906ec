//! The checked-in shell completions and man pages match the command line.

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
    // bash, zsh, fish, PowerShell; haema and its seven public subcommands.
    assert_eq!(compared, 4 + 8);
}
