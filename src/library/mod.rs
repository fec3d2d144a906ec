//! The library: a folder of films and series, scanned into SQLite.
//!
//! The folder structure is the source of truth ([`names`]); the database ([`store`]) remembers
//! ids, probe results keyed by (path, size, mtime), and watch progress. A rescan probes only
//! what changed, carries the probe and progress of a file that moved (same size and time) to
//! its new id, keeps its old id as an alias, and drops what disappeared. A broken file never
//! stops a scan.
//!
//! Ids are a function of the path relative to the root ([`video_id`]), and paths are stored
//! relative to it: every server that scans the same library gives every video the same URL,
//! wherever the library is mounted.

pub mod ids;
pub mod names;
pub mod store;

use ids::relative;
pub use ids::{adopt, video_id};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use names::{classify, title_and_year, Entry};
use store::{Store, VideoRow};

/// Extensions of the files a scan picks up.
pub const VIDEO_EXTENSIONS: [&str; 12] = [
    "mkv", "mp4", "m4v", "mov", "avi", "webm", "ts", "m2ts", "mpg", "mpeg", "wmv", "flv",
];

/// Artwork file names beside a film or in a show's folder, by role.
const POSTERS: [&str; 4] = ["poster.jpg", "folder.jpg", "poster.png", "cover.jpg"];
const BANNERS: [&str; 2] = ["banner.jpg", "banner.png"];
const FANART: [&str; 3] = ["fanart.jpg", "backdrop.jpg", "fanart.png"];

/// Where a path stored in the library database is, for a library at `root`: paths are stored
/// relative to the root (an absolute one, from a database no scan has adopted, stays as it is).
pub fn resolve(root: &Path, stored: &str) -> PathBuf {
    if crate::input::is_url(Path::new(stored)) {
        return PathBuf::from(stored);
    }
    root.join(stored)
}

/// What a scan did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Video files found.
    pub found: usize,
    /// Probed (new or changed).
    pub probed: usize,
    /// Unchanged since the last scan (not probed).
    pub unchanged: usize,
    /// Moved or renamed (same size and time), ids kept.
    pub moved: usize,
    /// Gone since the last scan, dropped.
    pub removed: usize,
    /// Files that failed to probe, with why (still listed, playable or not).
    pub failed: Vec<(PathBuf, String)>,
}

/// Errors of a scan as a whole (a file that fails is not one: see [`Summary::failed`]).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The library folder can't be read.
    #[error("{0}: {1}")]
    Root(PathBuf, std::io::Error),
    /// The database failed.
    #[error("library database: {0}")]
    Db(#[from] rusqlite::Error),
}

struct Found {
    path: PathBuf,
    rel: PathBuf,
    size: i64,
    mtime: i64,
}

impl Found {
    /// The path as the database stores it.
    fn key(&self) -> String {
        self.rel.to_string_lossy().into_owned()
    }
}

fn walk(root: &Path) -> Vec<Found> {
    let mut out: Vec<Found> = walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        // Hidden files and folders below the root are skipped; the root itself may be hidden.
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            e.path()
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| VIDEO_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
        })
        .filter_map(|e| {
            let (size, mtime) = crate::input::file_stamp(&e.metadata().ok()?)?;
            Some(Found {
                rel: e.path().strip_prefix(root).ok()?.to_path_buf(),
                path: e.path().to_path_buf(),
                size,
                mtime,
            })
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The show a file belongs to: (key, kind, title, year, folder).
fn show_of(
    root: &Path,
    f: &Found,
    entry: &Entry,
) -> (String, &'static str, String, Option<u16>, PathBuf) {
    match entry {
        Entry::Movie { title, year } => {
            // A film in its own folder owns the folder (and its artwork); a loose file is its
            // own show.
            let parent = f.rel.parent().filter(|p| !p.as_os_str().is_empty());
            let in_own_folder = parent
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .is_some_and(|n| title_and_year(n).0.eq_ignore_ascii_case(title));
            let folder = if in_own_folder {
                root.join(parent.expect("checked"))
            } else {
                f.path.clone()
            };
            (
                format!("movie:{}", relative(root, &folder).unwrap_or_default()),
                "movie",
                title.clone(),
                *year,
                folder,
            )
        }
        Entry::Episode { show, .. } => {
            // The show folder: the first folder below the library root that holds the episode
            // and is named after the show, else the file's folder.
            let folder = f
                .rel
                .ancestors()
                .filter(|a| !a.as_os_str().is_empty() && *a != f.rel)
                .find(|a| {
                    a.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| title_and_year(n).0.eq_ignore_ascii_case(show))
                })
                .map(|a| root.join(a))
                .unwrap_or_else(|| f.path.parent().unwrap_or(root).to_path_buf());
            (
                format!("series:{}", show.to_lowercase()),
                "series",
                show.clone(),
                None,
                folder,
            )
        }
    }
}

/// The first of `names` beside `folder` (or in it), relative to `root`.
fn artwork(root: &Path, folder: &Path, names: &[&str]) -> Option<String> {
    let dir = if folder.is_dir() {
        folder
    } else {
        folder.parent()?
    };
    names
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .and_then(|p| relative(root, &p))
}

/// An episode's season, number and title (none for a film).
fn episode_fields(entry: &Entry) -> (Option<u32>, Option<u32>, Option<&str>) {
    match entry {
        Entry::Episode {
            season,
            episode,
            title,
            ..
        } => (Some(*season), Some(*episode), title.as_deref()),
        Entry::Movie { .. } => (None, None, None),
    }
}

/// What the scanner stores for a video: its probe, as deep as planning and serving it needs
/// ([`crate::probe::Depth::Playlists`]), as JSON; or why it could not be probed. The probe
/// `haema scan` and the server's rescans both pass to [`scan`].
pub fn probe_json(path: &Path) -> Result<String, String> {
    let info = crate::probe::probe_with(path, crate::probe::Depth::Playlists)
        .map_err(|e| e.to_string())?;
    serde_json::to_string(&info).map_err(|e| e.to_string())
}

/// Scans `root` into the store. `probe` turns a file into its probe JSON (or an error message);
/// it runs on `threads` threads; `tick` is called per file (progress).
pub fn scan(
    store: &mut Store,
    root: &Path,
    threads: usize,
    probe: &(dyn Fn(&Path) -> Result<String, String> + Sync),
    tick: &(dyn Fn(&Path) + Sync),
) -> Result<Summary, ScanError> {
    std::fs::read_dir(root).map_err(|e| ScanError::Root(root.to_owned(), e))?;
    let root = root
        .canonicalize()
        .map_err(|e| ScanError::Root(root.to_owned(), e))?;
    adopt(store, &root)?;
    let files = walk(&root);
    // Remote videos are scanned by [`scan_remote`], from the config's list.
    let known: HashMap<String, store::VideoStamp> = store
        .stamps()?
        .into_iter()
        .filter(|s| !crate::input::is_url(Path::new(&s.path)))
        .map(|s| (s.path.clone(), s))
        .collect();
    let mut summary = Summary {
        found: files.len(),
        ..Default::default()
    };

    // Which files need a probe: new or changed. A new path whose size and time match a
    // vanished one is a move: its row (probe, watch progress) goes to the new path's id.
    let present: std::collections::HashSet<String> = files.iter().map(|f| f.key()).collect();
    let mut vanished: Vec<&store::VideoStamp> = known
        .values()
        .filter(|s| !present.contains(&s.path))
        .collect();
    vanished.sort_by_key(|s| s.id);
    let mut plan: Vec<(usize, Option<i64>, bool)> = Vec::new(); // (file, existing id, needs probe)
    for (i, f) in files.iter().enumerate() {
        match known.get(&f.key()) {
            Some(s) if s.size == f.size && s.mtime == f.mtime => {
                summary.unchanged += 1;
                plan.push((i, Some(s.id), false));
            }
            Some(s) => plan.push((i, Some(s.id), true)),
            None => match vanished
                .iter()
                .position(|s| s.size == f.size && s.mtime == f.mtime)
            {
                Some(k) => {
                    summary.moved += 1;
                    plan.push((i, Some(vanished.remove(k).id), false));
                }
                None => plan.push((i, None, true)),
            },
        }
    }

    // Probe in parallel; the database is written from this thread.
    let to_probe: Vec<usize> = plan.iter().filter(|p| p.2).map(|p| p.0).collect();
    let results: Mutex<HashMap<usize, Result<String, String>>> = Mutex::new(HashMap::new());
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1).min(to_probe.len().max(1)) {
            scope.spawn(|| loop {
                let Some(&i) = to_probe.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return;
                };
                let r = probe(&files[i].path);
                tick(&files[i].path);
                results.lock().expect("no panics while held").insert(i, r);
            });
        }
    });
    let mut results = results.into_inner().expect("no panics while held");

    let tx = store.transaction()?;
    for (i, id, needs_probe) in plan {
        let f = &files[i];
        let entry = classify(&f.rel);
        let (key, kind, title, year, folder) = show_of(&root, f, &entry);
        let folder_rel = relative(&root, &folder).unwrap_or_default();
        let show_id = store::upsert_show(&tx, &key, kind, &title, year, &folder_rel)?;
        store::set_artwork(
            &tx,
            show_id,
            artwork(&root, &folder, &POSTERS).as_deref(),
            artwork(&root, &folder, &BANNERS).as_deref(),
            artwork(&root, &folder, &FANART).as_deref(),
        )?;
        let (season, episode, ep_title) = episode_fields(&entry);
        let path = f.key();
        let vid = ids::video_id_for(&tx, &path)?;
        if let Some(old) = id.filter(|old| *old != vid) {
            // Moved: its row, probe and progress go to the new path's id.
            ids::rekey_video(&tx, old, vid)?;
        }
        let row = VideoRow {
            show_id,
            path: &path,
            season,
            episode,
            title: ep_title,
            size: f.size,
            mtime: f.mtime,
        };
        store::upsert_video(&tx, vid, &row)?;
        if needs_probe {
            summary.probed += 1;
            match results
                .remove(&i)
                .unwrap_or_else(|| Err("not probed".into()))
            {
                Ok(json) => store::set_probe(&tx, vid, Some(&json), None)?,
                Err(e) => {
                    store::set_probe(&tx, vid, None, Some(&e))?;
                    summary.failed.push((f.path.clone(), e));
                }
            }
        }
    }
    let gone: Vec<i64> = vanished.iter().map(|s| s.id).collect();
    summary.removed = gone.len();
    store::remove_videos(&tx, &gone)?;
    tx.commit()?;
    Ok(summary)
}

/// Brings the library's remote videos (the config's `remote:` URLs) up to date: each URL is
/// classified by its path as a file would be (`.../Film (2024)/Film (2024).mkv` is a film), its
/// stamp read with one request (length and ETag or Last-Modified), and probed (by ranges) when
/// new or changed. A URL that doesn't answer keeps what the library knew of it; URLs no longer
/// listed are dropped. Ids are [`video_id`] of the URL.
pub fn scan_remote(
    store: &mut Store,
    urls: &[String],
    probe: &(dyn Fn(&Path) -> Result<String, String> + Sync),
) -> Result<Summary, ScanError> {
    let known: HashMap<String, store::VideoStamp> = store
        .stamps()?
        .into_iter()
        .filter(|s| crate::input::is_url(Path::new(&s.path)))
        .map(|s| (s.path.clone(), s))
        .collect();
    let mut summary = Summary {
        found: urls.len(),
        ..Default::default()
    };
    let tx = store.transaction()?;
    for url in urls {
        let path = Path::new(url);
        let Some((size, mtime)) = crate::input::stamp(path) else {
            summary
                .failed
                .push((path.to_owned(), "the server did not answer".into()));
            continue;
        };
        let before = known.get(url);
        let needs_probe = before.is_none_or(|s| (s.size, s.mtime) != (size, mtime));
        let named = PathBuf::from(crate::input::url_path(url).trim_start_matches('/'));
        let entry = classify(&named);
        let (key, kind, title, year, folder) = match &entry {
            Entry::Movie { title, year } => (
                format!("movie:{url}"),
                "movie",
                title.clone(),
                *year,
                url.clone(),
            ),
            Entry::Episode { show, .. } => (
                format!("series:{}", show.to_lowercase()),
                "series",
                show.clone(),
                None,
                url.rsplit_once('/')
                    .map_or(url.as_str(), |p| p.0)
                    .to_owned(),
            ),
        };
        let show_id = store::upsert_show(&tx, &key, kind, &title, year, &folder)?;
        let (season, episode, ep_title) = episode_fields(&entry);
        let vid = ids::video_id_for(&tx, url)?;
        let row = VideoRow {
            show_id,
            path: url,
            season,
            episode,
            title: ep_title,
            size,
            mtime,
        };
        store::upsert_video(&tx, vid, &row)?;
        if needs_probe {
            summary.probed += 1;
            match probe(path) {
                Ok(json) => store::set_probe(&tx, vid, Some(&json), None)?,
                Err(e) => {
                    store::set_probe(&tx, vid, None, Some(&e))?;
                    summary.failed.push((path.to_owned(), e));
                }
            }
        } else {
            summary.unchanged += 1;
        }
    }
    let gone: Vec<i64> = known
        .values()
        .filter(|s| !urls.contains(&s.path))
        .map(|s| s.id)
        .collect();
    summary.removed = gone.len();
    store::remove_videos(&tx, &gone)?;
    tx.commit()?;
    Ok(summary)
}
