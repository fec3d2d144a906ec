//! Ids by path: a video's id is a function of its path below the library root, a show's of
//! its key, so every server that scans the same library agrees on every URL. An id that
//! changes (a database from before, a file that moved) stays reachable as an alias.

use std::path::Path;

use rusqlite::{params, OptionalExtension};

use super::store::{self, Result, Store};

/// Ids live in [2^52, 2^53): above any id a database handed out in scan order (so an old id
/// is never a new one), and exact in a JavaScript number.
const ID_BASE: u64 = 1 << 52;

/// The id of the video at `relative` (its path below the library root, as stored), or of the
/// show with that key: FNV-1a, 52 bits of it. Two of 10 000 paths share one with odds of about
/// 1 in 10^8; the store then gives the later one the next id up ([`video_id_for`]).
/// `const`, so that tests can name a fixture's id.
pub const fn video_id(relative: &str) -> i64 {
    (ID_BASE | (crate::digest::fnv1a(relative.as_bytes()) & (ID_BASE - 1))) as i64
}

/// A path as the database stores it: relative to `root`, `None` when it is not below it.
pub(super) fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    Some(rel.to_string_lossy().into_owned())
}

/// Brings a database up to ids by path and paths relative to `root` (a database from before
/// migration 2, or one whose rows were written by a scan of another root): every row below
/// the root gets its relative path and the id of it, the old id kept as an alias. Rows not
/// below the root are left for the scan to drop as vanished.
pub fn adopt(store: &mut Store, root: &Path) -> Result<()> {
    let videos = store.stamps()?;
    let shows = store.show_rows()?;
    let tx = store.transaction()?;
    for v in videos {
        let path = Path::new(&v.path);
        let rel = if path.is_absolute() {
            match relative(root, path) {
                Some(rel) => rel,
                None => continue,
            }
        } else {
            v.path.clone()
        };
        if rel != v.path {
            set_video_path(&tx, v.id, &rel)?;
        }
        let id = video_id_for(&tx, &rel)?;
        if id != v.id {
            rekey_video(&tx, v.id, id)?;
        }
    }
    for mut show in shows {
        let rel = |p: &str| {
            let path = Path::new(p);
            match path.is_absolute() {
                true => relative(root, path),
                false => Some(p.to_owned()),
            }
        };
        let Some(folder) = rel(&show.folder) else {
            continue;
        };
        let key = match show.key.strip_prefix("movie:") {
            Some(f) => match rel(f) {
                Some(f) => format!("movie:{f}"),
                None => continue,
            },
            None => show.key.clone(),
        };
        let art = show.art.clone().map(|a| a.and_then(|a| rel(&a)));
        if (&key, &folder, &art) != (&show.key, &show.folder, &show.art) {
            (show.key, show.folder, show.art) = (key, folder, art);
            set_show_paths(&tx, &show)?;
        }
        let id = show_id_for(&tx, &show.key)?;
        if id != show.id {
            rekey_show(&tx, show.id, id)?;
        }
    }
    tx.commit()
}

/// The id a video at `path` (relative to the root) gets: [`crate::library::video_id`], or
/// the next one up in the (about one in 10^8 for 10 000 files) case that another path has it.
pub fn video_id_for(tx: &rusqlite::Transaction<'_>, path: &str) -> Result<i64> {
    free_id(
        tx,
        "SELECT path FROM videos WHERE id = ?1",
        video_id(path),
        path,
    )
}

/// The id a show with this key gets (see [`video_id_for`]).
pub fn show_id_for(tx: &rusqlite::Transaction<'_>, key: &str) -> Result<i64> {
    free_id(
        tx,
        "SELECT key FROM shows WHERE id = ?1",
        video_id(key),
        key,
    )
}

fn free_id(tx: &rusqlite::Transaction<'_>, owner: &str, mut id: i64, name: &str) -> Result<i64> {
    loop {
        let taken: Option<String> = tx.query_row(owner, [id], |r| r.get(0)).optional()?;
        match taken {
            Some(other) if other != name => id += 1,
            _ => return Ok(id),
        }
    }
}

/// Gives a video a new id, its progress with it, and keeps the old one as an alias (as do the
/// aliases that named the old one). Foreign keys are checked at commit.
pub fn rekey_video(tx: &rusqlite::Transaction<'_>, old: i64, new: i64) -> Result<()> {
    tx.pragma_update(None, "defer_foreign_keys", "ON")?;
    tx.execute("UPDATE videos SET id = ?2 WHERE id = ?1", [old, new])?;
    tx.execute(
        "UPDATE progress SET video_id = ?2 WHERE video_id = ?1",
        [old, new],
    )?;
    alias(tx, "video", old, new)
}

/// Gives a show a new id, its videos following (see [`rekey_video`]).
pub fn rekey_show(tx: &rusqlite::Transaction<'_>, old: i64, new: i64) -> Result<()> {
    tx.pragma_update(None, "defer_foreign_keys", "ON")?;
    tx.execute("UPDATE shows SET id = ?2 WHERE id = ?1", [old, new])?;
    tx.execute(
        "UPDATE videos SET show_id = ?2 WHERE show_id = ?1",
        [old, new],
    )?;
    alias(tx, "show", old, new)
}

fn alias(tx: &rusqlite::Transaction<'_>, kind: &str, old: i64, new: i64) -> Result<()> {
    tx.execute(
        "UPDATE aliases SET id = ?3 WHERE kind = ?1 AND id = ?2",
        params![kind, old, new],
    )?;
    tx.execute(
        "INSERT INTO aliases (kind, old, id) VALUES (?1, ?2, ?3)
         ON CONFLICT(kind, old) DO UPDATE SET id = excluded.id",
        params![kind, old, new],
    )?;
    // An id that is live again (a file moved back) is nobody's alias.
    tx.execute(
        "DELETE FROM aliases WHERE kind = ?1 AND old = ?2",
        params![kind, new],
    )?;
    Ok(())
}

/// Rewrites a show's key, folder and artwork (relative to the root now).
pub fn set_show_paths(tx: &rusqlite::Transaction<'_>, row: &store::ShowRow) -> Result<()> {
    tx.execute(
        "UPDATE shows SET key = ?2, folder = ?3, thumbnail = ?4, banner = ?5, fanart = ?6 WHERE id = ?1",
        params![row.id, row.key, row.folder, row.art[0], row.art[1], row.art[2]],
    )?;
    Ok(())
}

/// Rewrites a video's path.
pub fn set_video_path(tx: &rusqlite::Transaction<'_>, id: i64, path: &str) -> Result<()> {
    tx.execute(
        "UPDATE videos SET path = ?2 WHERE id = ?1",
        params![id, path],
    )?;
    Ok(())
}
