//! `haema scan` on a real folder and a real SQLite file: names, artwork, rescans, broken files,
//! and a probe cache that plans the same playlists as a fresh probe.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Copies the fixture library into a temp dir (the test changes it).
fn library_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = library();
    for e in walkdir::WalkDir::new(&src).into_iter().flatten() {
        let to = dir.path().join(e.path().strip_prefix(&src).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
    dir
}

/// Runs `haema scan` and returns its summary line.
fn scan(lib: &Path, db: &Path) -> String {
    let out = run(haema().args([
        "scan".as_ref(),
        lib.as_os_str(),
        "--db".as_ref(),
        db.as_os_str(),
    ]));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn db(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

/// A video row: id, path, season, episode, title.
type Row = (i64, String, Option<u32>, Option<u32>, Option<String>);

fn videos(path: &Path) -> Vec<Row> {
    let c = db(path);
    let mut st = c
        .prepare("SELECT id, path, season, episode, title FROM videos ORDER BY path")
        .unwrap();
    let rows = st
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn scan_indexes_films_and_episodes_with_their_artwork() {
    let lib = library_copy();
    let dbp = lib.path().join("haema.db");
    let line = scan(lib.path(), &dbp);
    assert!(
        line.contains("4 videos") && line.contains("4 probed") && line.contains("0 failed"),
        "{line}"
    );
    let c = db(&dbp);
    let mut st = c.prepare("SELECT kind, title, year, thumbnail IS NOT NULL, banner IS NOT NULL FROM shows ORDER BY title").unwrap();
    let shows: Vec<(String, String, Option<u16>, bool, bool)> = st
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        shows,
        vec![
            ("movie".into(), "Clock".into(), Some(2024), true, false),
            (
                "movie".into(),
                "Clock HEVC".into(),
                Some(2024),
                false,
                false
            ),
            ("series".into(), "Clockwork".into(), None, true, true),
        ]
    );
    let eps: Vec<_> = videos(&dbp)
        .into_iter()
        .filter(|v| v.2.is_some())
        .map(|v| (v.2, v.3, v.4))
        .collect();
    assert_eq!(
        eps,
        vec![
            (Some(1), Some(1), Some("Pilot".into())),
            (Some(1), Some(2), Some("No Cues".into()))
        ]
    );
    let version: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
    // Ids are a function of the path below the root, and paths are stored relative to it.
    for (id, path, ..) in videos(&dbp) {
        assert!(Path::new(&path).is_relative(), "{path}");
        assert_eq!(id, haema::library::video_id(&path), "{path}");
    }
}

#[test]
fn rescan_probes_only_what_changed_moves_ids_with_files_and_drops_what_vanished() {
    let lib = library_copy();
    let dbp = lib.path().join("haema.db");
    scan(lib.path(), &dbp);
    let before = videos(&dbp);
    let line = scan(lib.path(), &dbp);
    assert!(line.contains("0 probed, 4 unchanged"), "{line}");
    assert_eq!(
        videos(&dbp),
        before,
        "a rescan with nothing changed changes nothing"
    );

    // Rename an episode (same size and time: a move), delete a film, add a new file.
    let season = lib.path().join("Series/Clockwork/Season 01");
    let old = season.join("Clockwork - S01E02 - No Cues.mkv");
    let new = season.join("Clockwork - S01E03 - Renamed.mkv");
    std::fs::rename(&old, &new).unwrap();
    std::fs::remove_file(
        lib.path()
            .join("Movies/Clock HEVC (2024)/Clock HEVC (2024).mp4"),
    )
    .unwrap();
    let extra: PathBuf = lib.path().join("Loose Film.mp4");
    std::fs::copy(mp4(), &extra).unwrap();
    let line = scan(lib.path(), &dbp);
    assert!(
        line.contains("1 probed") && line.contains("1 moved") && line.contains("1 removed"),
        "{line}"
    );
    let after = videos(&dbp);
    let id_of = |v: &[Row], p: &Path| {
        v.iter()
            .find(|r| Path::new(&r.1).ends_with(p.file_name().unwrap()))
            .map(|r| r.0)
    };
    let (old_id, new_id) = (id_of(&before, &old).unwrap(), id_of(&after, &new).unwrap());
    assert_eq!(
        new_id,
        haema::library::video_id("Series/Clockwork/Season 01/Clockwork - S01E03 - Renamed.mkv"),
        "a moved file gets the id of its new path"
    );
    let alias: i64 = db(&dbp)
        .query_row(
            "SELECT id FROM aliases WHERE kind = 'video' AND old = ?1",
            [old_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(alias, new_id, "and its old id names it still");
    assert!(after
        .iter()
        .any(|r| r.4.as_deref() == Some("Renamed") && r.3 == Some(3)));
    assert!(
        !after.iter().any(|r| r.1.contains("Clock HEVC")),
        "a deleted file is dropped"
    );
    let shows: i64 = db(&dbp)
        .query_row(
            "SELECT count(*) FROM shows WHERE title = 'Clock HEVC'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(shows, 0, "a show without videos is dropped");
    assert!(after.iter().any(|r| r.1.ends_with("Loose Film.mp4")));
}

#[test]
fn a_broken_file_is_reported_and_never_stops_a_scan() {
    let lib = library_copy();
    std::fs::write(
        lib.path().join("Movies/broken.mkv"),
        b"this is not matroska at all",
    )
    .unwrap();
    std::fs::write(lib.path().join("Movies/empty.mp4"), b"").unwrap();
    let dbp = lib.path().join("haema.db");
    let line = scan(lib.path(), &dbp);
    assert!(
        line.contains("6 videos") && line.contains("2 failed"),
        "{line}"
    );
    assert!(
        line.contains("broken.mkv") && line.contains("empty.mp4"),
        "{line}"
    );
    let errors: i64 = db(&dbp)
        .query_row(
            "SELECT count(*) FROM videos WHERE error IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(errors, 2);
}

#[test]
fn the_cached_probe_plans_the_same_playlists_as_a_fresh_probe() {
    let lib = library_copy();
    let dbp = lib.path().join("haema.db");
    scan(lib.path(), &dbp);
    let all = videos(&dbp);
    assert_eq!(all.len(), 4);
    for (id, path, ..) in all {
        let json = haema::library::store::probe_json(&db(&dbp), id)
            .unwrap()
            .unwrap();
        let cached: haema::probe::MediaInfo = serde_json::from_str(&json).unwrap();
        let fresh =
            haema::probe::probe_with(&lib.path().join(&path), haema::probe::Depth::Playlists)
                .unwrap();
        assert_eq!(
            cached.digest(),
            fresh.digest(),
            "{path}: two probes of one file, one digest (its segment URLs' version)"
        );
        let a = haema::plan::plan(&cached, 4.0).unwrap();
        let b = haema::plan::plan(&fresh, 4.0).unwrap();
        assert_eq!(
            haema::hls::master_playlist(&a),
            haema::hls::master_playlist(&b),
            "{path}"
        );
        for r in &a.renditions {
            assert_eq!(
                haema::hls::media_playlist(&a, r),
                haema::hls::media_playlist(&b, r),
                "{path} {}",
                r.id
            );
        }
    }
}
