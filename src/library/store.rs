//! The library database (SQLite): shows, videos with their cached probe, watch progress.
//!
//! Versioned with `PRAGMA user_version`; each migration runs once, in order, in a transaction.
//!
//! Ids are a function of what they name ([`crate::library::video_id`] of a video's path
//! relative to the library root, of a show's key), and paths are stored relative to the root:
//! two servers that scan the same library, in any order, from any mount point, agree on every
//! id. An id that changed (a database from before, a moved file) is kept in `aliases`, so old
//! links and watch progress keep working.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

/// Schema migrations, oldest first; the database's `user_version` is how many have run.
const MIGRATIONS: [&str; 2] = [
    r#"
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
"#,
    // Ids by path (the ids above were handed out in scan order) and paths relative to the
    // root: the scan that first runs after this rekeys every row (`library::adopt`); the old
    // ids answer through this table.
    r#"
CREATE TABLE aliases (
    kind TEXT NOT NULL CHECK (kind IN ('video', 'show')),
    old  INTEGER NOT NULL,
    id   INTEGER NOT NULL,
    PRIMARY KEY (kind, old)
);
"#,
];

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
    /// Path relative to the library root (absolute in a database no scan has adopted yet).
    pub path: String,
    /// File size when probed.
    pub size: i64,
    /// Modification time (seconds) when probed.
    pub mtime: i64,
}

/// A video as [`Store::catalogue`] lists it.
#[derive(Debug, Clone)]
pub struct CatalogueRow {
    /// Id.
    pub id: i64,
    /// Path relative to the library root.
    pub path: String,
    /// Its show's title.
    pub show: String,
    /// Season (episodes).
    pub season: Option<u32>,
    /// Episode number (episodes).
    pub episode: Option<u32>,
    /// Episode title.
    pub title: Option<String>,
    /// Cached probe JSON.
    pub probe: Option<String>,
}

/// What the scanner writes for one video.
pub struct VideoRow<'a> {
    /// The show it belongs to.
    pub show_id: i64,
    /// Path relative to the library root.
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

    /// Every alias: (kind, old id, id now), kind `video` or `show`.
    pub fn aliases(&self) -> Result<Vec<(String, i64, i64)>> {
        let mut st = self.conn.prepare("SELECT kind, old, id FROM aliases")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    }

    /// Every show's id, key, folder and artwork, as stored: what [`crate::library::adopt`]
    /// rewrites.
    pub fn show_rows(&self) -> Result<Vec<ShowRow>> {
        let mut st = self
            .conn
            .prepare("SELECT id, key, folder, thumbnail, banner, fanart FROM shows")?;
        let rows = st.query_map([], |r| {
            Ok(ShowRow {
                id: r.get(0)?,
                key: r.get(1)?,
                folder: r.get(2)?,
                art: [r.get(3)?, r.get(4)?, r.get(5)?],
            })
        })?;
        rows.collect()
    }

    /// The connection, for tests.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// One video's row: where it is, its cached probe or why it failed, and its stamp.
    pub fn video(&self, id: i64) -> Result<Option<VideoRecord>> {
        self.conn
            .query_row(
                "SELECT path, probe, error, size, mtime FROM videos WHERE id = ?1",
                [id],
                |r| {
                    Ok(VideoRecord {
                        path: r.get(0)?,
                        probe: lossy_text(r.get_ref(1)?),
                        error: lossy_text(r.get_ref(2)?),
                        size: r.get(3)?,
                        mtime: r.get(4)?,
                    })
                },
            )
            .optional()
    }

    /// Records a video's new stamp and probe (its file changed since the scan).
    pub fn refresh_video(
        &self,
        id: i64,
        (size, mtime): (i64, i64),
        probe: Option<&str>,
        error: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE videos SET size = ?2, mtime = ?3, probe = ?4, error = ?5 WHERE id = ?1",
            params![id, size, mtime, probe, error],
        )?;
        Ok(())
    }

    /// Whether a video with this id exists.
    pub fn video_exists(&self, id: i64) -> Result<bool> {
        self.conn
            .query_row("SELECT count(*) FROM videos WHERE id = ?1", [id], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n > 0)
    }

    /// The ids of the shows whose title contains `search` (all without one), by title.
    pub fn show_ids(&self, search: Option<&str>) -> Result<Vec<i64>> {
        let mut st = self.conn.prepare(
            "SELECT id FROM shows WHERE ?1 IS NULL OR title LIKE '%' || ?1 || '%' ESCAPE '\\' ORDER BY title COLLATE NOCASE",
        )?;
        // The search is literal text: LIKE's wildcards in it are escaped.
        let q = search.map(|s| {
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        });
        let rows = st.query_map(params![q], |r| r.get(0))?;
        rows.collect()
    }

    /// One show's row.
    pub fn show(&self, id: i64) -> Result<Option<ShowRecord>> {
        self.conn
            .query_row(
                "SELECT kind, title, year, thumbnail, banner, fanart FROM shows WHERE id = ?1",
                [id],
                |r| {
                    Ok(ShowRecord {
                        kind: r.get(0)?,
                        title: r.get(1)?,
                        year: r.get(2)?,
                        thumbnail: r.get(3)?,
                        banner: r.get(4)?,
                        fanart: r.get(5)?,
                    })
                },
            )
            .optional()
    }

    /// A show's videos, in season and episode order (a film has one).
    pub fn show_videos(&self, show: i64) -> Result<Vec<EpisodeRecord>> {
        let mut st = self.conn.prepare(
            "SELECT id, season, episode, title FROM videos WHERE show_id = ?1 ORDER BY season, episode, path",
        )?;
        let rows = st.query_map([show], |r| {
            Ok(EpisodeRecord {
                id: r.get(0)?,
                season: r.get(1)?,
                episode: r.get(2)?,
                title: r.get(3)?,
            })
        })?;
        rows.collect()
    }

    /// Every video with its show's title, numbers and cached probe, by path: what channels
    /// choose their programmes from.
    pub fn catalogue(&self) -> Result<Vec<CatalogueRow>> {
        let mut st = self.conn.prepare(
            "SELECT v.id, v.path, s.title, v.season, v.episode, v.title, v.probe FROM videos v JOIN shows s ON s.id = v.show_id ORDER BY v.path",
        )?;
        let rows = st.query_map([], |r| {
            Ok(CatalogueRow {
                id: r.get(0)?,
                path: r.get(1)?,
                show: r.get(2)?,
                season: r.get(3)?,
                episode: r.get(4)?,
                title: r.get(5)?,
                probe: lossy_text(r.get_ref(6)?),
            })
        })?;
        rows.collect()
    }

    /// Where a video was left, if it was ever played.
    pub fn progress(&self, video: i64) -> Result<Option<ProgressRecord>> {
        self.conn
            .query_row(
                "SELECT position, duration, watched, updated_at FROM progress WHERE video_id = ?1",
                [video],
                |r| {
                    Ok(ProgressRecord {
                        position: r.get(0)?,
                        duration: r.get(1)?,
                        watched: r.get(2)?,
                        updated_at: r.get(3)?,
                    })
                },
            )
            .optional()
    }

    /// Records where a video was left.
    pub fn set_progress(&self, video: i64, p: &ProgressRecord) -> Result<()> {
        self.conn.execute(
            "INSERT INTO progress (video_id, position, duration, watched, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(video_id) DO UPDATE SET position = excluded.position, duration = excluded.duration, watched = excluded.watched, updated_at = excluded.updated_at",
            params![video, p.position, p.duration, p.watched, p.updated_at],
        )?;
        Ok(())
    }

    /// The videos started and not finished, most recently played first.
    pub fn in_progress(&self) -> Result<Vec<i64>> {
        let mut st = self.conn.prepare(
            "SELECT video_id FROM progress WHERE position > 0 AND watched = 0 ORDER BY updated_at DESC, video_id",
        )?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect()
    }
}

/// A text column read whatever its bytes: databases written before tags were read lossily may
/// hold text that is not UTF-8, and a damaged tag must not make a video unplayable.
fn lossy_text(v: rusqlite::types::ValueRef<'_>) -> Option<String> {
    match v {
        rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
            Some(String::from_utf8_lossy(b).into_owned())
        }
        _ => None,
    }
}

/// A video as the server reads it.
#[derive(Debug, Clone)]
pub struct VideoRecord {
    /// Path relative to the library root (join it with the root: [`crate::library::resolve`]).
    pub path: String,
    /// Cached probe (JSON), when the file could be probed.
    pub probe: Option<String>,
    /// Why it could not be probed.
    pub error: Option<String>,
    /// File size when probed.
    pub size: i64,
    /// Modification time (seconds) when probed.
    pub mtime: i64,
}

/// A show (a film or a series) as the API lists it.
#[derive(Debug, Clone)]
pub struct ShowRecord {
    /// `movie` or `series`.
    pub kind: String,
    /// Title from the folder name.
    pub title: String,
    /// Year from the folder name.
    pub year: Option<i64>,
    /// Poster image path (relative to the library root, as every path here).
    pub thumbnail: Option<String>,
    /// Banner image path.
    pub banner: Option<String>,
    /// Background image path.
    pub fanart: Option<String>,
}

/// A video of a show, as the show's listing has it.
#[derive(Debug, Clone)]
pub struct EpisodeRecord {
    /// Video id.
    pub id: i64,
    /// Season (episodes).
    pub season: Option<u32>,
    /// Episode number (episodes).
    pub episode: Option<u32>,
    /// Episode title.
    pub title: Option<String>,
}

/// Where a video was left.
#[derive(Debug, Clone, Copy)]
pub struct ProgressRecord {
    /// Seconds into the video.
    pub position: f64,
    /// The video's length, when known.
    pub duration: Option<f64>,
    /// Played past 90%.
    pub watched: bool,
    /// When, in Unix seconds.
    pub updated_at: i64,
}

/// A show's row as [`crate::library::adopt`] reads it.
#[derive(Debug, Clone)]
pub struct ShowRow {
    /// Id.
    pub id: i64,
    /// `movie:<folder>` or `series:<title>`.
    pub key: String,
    /// Its folder (or a loose film's file).
    pub folder: String,
    /// Thumbnail, banner and fanart paths.
    pub art: [Option<String>; 3],
}

/// Inserts or updates a show by key; returns its id (a function of the key).
pub fn upsert_show(
    tx: &rusqlite::Transaction<'_>,
    key: &str,
    kind: &str,
    title: &str,
    year: Option<u16>,
    folder: &str,
) -> Result<i64> {
    let id = super::ids::show_id_for(tx, key)?;
    tx.execute(
        "INSERT INTO shows (id, key, kind, title, year, folder) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, title = excluded.title, year = excluded.year, folder = excluded.folder",
        params![id, key, kind, title, year, folder],
    )?;
    Ok(id)
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

/// Inserts or updates the video of id `id` (its probe, if any, is kept).
pub fn upsert_video(tx: &rusqlite::Transaction<'_>, id: i64, v: &VideoRow<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO videos (id, show_id, path, season, episode, title, size, mtime) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(id) DO UPDATE SET show_id = excluded.show_id, path = excluded.path, season = excluded.season, episode = excluded.episode, title = excluded.title, size = excluded.size, mtime = excluded.mtime",
        params![id, v.show_id, v.path, v.season, v.episode, v.title, v.size, v.mtime],
    )?;
    Ok(())
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
    tx.execute(
        "DELETE FROM aliases WHERE (kind = 'video' AND id NOT IN (SELECT id FROM videos))
            OR (kind = 'show' AND id NOT IN (SELECT id FROM shows))",
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
