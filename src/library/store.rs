//! The library database (SQLite): shows, videos with their cached probe, watch progress.
//!
//! Versioned with `PRAGMA user_version`; each migration runs once, in order, in a transaction.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

/// Schema migrations, oldest first; the database's `user_version` is how many have run.
const MIGRATIONS: [&str; 1] = [r#"
CREATE TABLE shows (
    id        INTEGER PRIMARY KEY,
    key       TEXT NOT NULL UNIQUE,
    kind      TEXT NOT NULL CHECK (kind IN ('movie', 'series')),
    title     TEXT NOT NULL,
    year      INTEGER,
    folder    TEXT NOT NULL,
    thumbnail TEXT,
    banner    TEXT,
    fanart    TEXT
);
CREATE TABLE videos (
    id      INTEGER PRIMARY KEY,
    show_id INTEGER NOT NULL REFERENCES shows(id) ON DELETE CASCADE,
    path    TEXT NOT NULL UNIQUE,
    season  INTEGER,
    episode INTEGER,
    title   TEXT,
    size    INTEGER NOT NULL,
    mtime   INTEGER NOT NULL,
    probe   TEXT,
    error   TEXT
);
CREATE INDEX videos_show ON videos(show_id);
CREATE TABLE progress (
    video_id   INTEGER PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
    position   REAL NOT NULL,
    duration   REAL,
    watched    INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);
"#];

/// Errors of the library store.
pub type Result<T> = std::result::Result<T, rusqlite::Error>;

/// An open library database.
pub struct Store {
    conn: Connection,
}

/// A video row as the scanner compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoStamp {
    /// Stable id.
    pub id: i64,
    /// Absolute path.
    pub path: String,
    /// File size when probed.
    pub size: i64,
    /// Modification time (seconds) when probed.
    pub mtime: i64,
}

/// What the scanner writes for one video.
pub struct VideoRow<'a> {
    /// The show it belongs to.
    pub show_id: i64,
    /// Absolute path.
    pub path: &'a str,
    /// Season (episodes).
    pub season: Option<u32>,
    /// Episode number (episodes).
    pub episode: Option<u32>,
    /// Episode title.
    pub title: Option<&'a str>,
    /// File size.
    pub size: i64,
    /// Modification time, seconds.
    pub mtime: i64,
}

impl Store {
    /// Opens (creating if needed) and migrates a database file.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: usize = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The schema version (number of migrations applied).
    pub fn version(&self) -> Result<usize> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
    }

    /// Starts a transaction for a batch of writes.
    pub fn transaction(&mut self) -> Result<rusqlite::Transaction<'_>> {
        self.conn.transaction()
    }

    /// Every video's stamp.
    pub fn stamps(&self) -> Result<Vec<VideoStamp>> {
        let mut st = self
            .conn
            .prepare("SELECT id, path, size, mtime FROM videos")?;
        let rows = st.query_map([], |r| {
            Ok(VideoStamp {
                id: r.get(0)?,
                path: r.get(1)?,
                size: r.get(2)?,
                mtime: r.get(3)?,
            })
        })?;
        rows.collect()
    }

    /// The connection, for queries of the server and tests.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// Inserts or updates a show by key; returns its id (stable across rescans).
pub fn upsert_show(
    tx: &rusqlite::Transaction<'_>,
    key: &str,
    kind: &str,
    title: &str,
    year: Option<u16>,
    folder: &str,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO shows (key, kind, title, year, folder) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(key) DO UPDATE SET kind = excluded.kind, title = excluded.title, year = excluded.year, folder = excluded.folder",
        params![key, kind, title, year, folder],
    )?;
    tx.query_row("SELECT id FROM shows WHERE key = ?1", [key], |r| r.get(0))
}

/// Sets a show's artwork paths.
pub fn set_artwork(
    tx: &rusqlite::Transaction<'_>,
    show_id: i64,
    thumbnail: Option<&str>,
    banner: Option<&str>,
    fanart: Option<&str>,
) -> Result<()> {
    tx.execute(
        "UPDATE shows SET thumbnail = ?2, banner = ?3, fanart = ?4 WHERE id = ?1",
        params![show_id, thumbnail, banner, fanart],
    )?;
    Ok(())
}

/// Inserts or updates a video by path (or by id, for a renamed file); returns its id.
pub fn upsert_video(
    tx: &rusqlite::Transaction<'_>,
    id: Option<i64>,
    v: &VideoRow<'_>,
) -> Result<i64> {
    match id {
        Some(id) => {
            tx.execute(
                "UPDATE videos SET show_id = ?2, path = ?3, season = ?4, episode = ?5, title = ?6, size = ?7, mtime = ?8 WHERE id = ?1",
                params![id, v.show_id, v.path, v.season, v.episode, v.title, v.size, v.mtime],
            )?;
            Ok(id)
        }
        None => {
            tx.execute(
                "INSERT INTO videos (show_id, path, season, episode, title, size, mtime) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![v.show_id, v.path, v.season, v.episode, v.title, v.size, v.mtime],
            )?;
            Ok(tx.last_insert_rowid())
        }
    }
}

/// Stores a probe result (JSON) or the reason a file could not be probed.
pub fn set_probe(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    probe: Option<&str>,
    error: Option<&str>,
) -> Result<()> {
    tx.execute(
        "UPDATE videos SET probe = ?2, error = ?3 WHERE id = ?1",
        params![id, probe, error],
    )?;
    Ok(())
}

/// Drops videos by id, then shows left without videos.
pub fn remove_videos(tx: &rusqlite::Transaction<'_>, ids: &[i64]) -> Result<()> {
    for id in ids {
        tx.execute("DELETE FROM videos WHERE id = ?1", [id])?;
    }
    tx.execute(
        "DELETE FROM shows WHERE id NOT IN (SELECT show_id FROM videos)",
        [],
    )?;
    Ok(())
}

/// The cached probe JSON of a video, if it has one.
pub fn probe_json(conn: &Connection, id: i64) -> Result<Option<String>> {
    conn.query_row("SELECT probe FROM videos WHERE id = ?1", [id], |r| r.get(0))
        .optional()
        .map(Option::flatten)
}
