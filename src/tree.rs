//! A complete static HLS tree on disk, made with every core: what `haema playlist --out` writes.
//!
//! `DIR/master.m3u8`, and per rendition `DIR/<rendition>/stream.m3u8`, `init.mp4` and
//! `<N>.m4s`. The bytes are the ones `haema segment` prints: the same [`Segmenter`] makes both.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::hls;
use crate::plan::Presentation;
use crate::probe::MediaInfo;
use crate::segment::{SegmentId, Segmenter};

/// What writing a tree produced.
#[derive(Debug, Clone, Default)]
pub struct TreeStats {
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::Io {
        context: format!("writing {}", path.display()),
        source: e,
    })
}

/// The renditions a tree holds: all but the rungs with bitmap subtitles burned in, which
/// would multiply the work by the number of subtitle tracks; `serve` and `haema segment`
/// make those on request.
fn in_tree(pres: &Presentation) -> impl Iterator<Item = &crate::plan::Rendition> {
    pres.renditions.iter().filter(|r| r.burn.is_none())
}

/// Every segment job of a presentation: (rendition id, segment).
pub fn jobs(pres: &Presentation) -> Vec<(String, SegmentId)> {
    let mut out = Vec::new();
    for r in in_tree(pres) {
        if r.kind != crate::stream::Kind::Subtitle {
            out.push((r.id.clone(), SegmentId::Init));
        }
        for n in 0..pres.timeline_of(r).len() {
            out.push((r.id.clone(), SegmentId::Media(n)));
        }
    }
    out
}

/// Writes the whole tree under `dir` with `threads` workers; `tick` is called after each
/// segment (for a progress bar).
pub fn write_tree(
    info: &MediaInfo,
    pres: &Presentation,
    dir: &Path,
    threads: usize,
    encoder: &str,
    tick: &(dyn Fn() + Sync),
) -> Result<TreeStats> {
    let mkdir = |p: &Path| {
        std::fs::create_dir_all(p).map_err(|e| Error::Io {
            context: format!("creating {}", p.display()),
            source: e,
        })
    };
    mkdir(dir)?;
    let mut stats = TreeStats::default();
    let master = hls::master_playlist(pres);
    write(&dir.join("master.m3u8"), master.as_bytes())?;
    stats.files += 1;
    stats.bytes += master.len() as u64;
    for r in in_tree(pres) {
        mkdir(&dir.join(&r.id))?;
        let text = hls::media_playlist(pres, r);
        write(
            &dir.join(&r.id).join(hls::MEDIA_PLAYLIST_NAME),
            text.as_bytes(),
        )?;
        stats.files += 1;
        stats.bytes += text.len() as u64;
    }

    let jobs = jobs(pres);
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let written = Mutex::new((0usize, 0u64));
    let fail = |e: Error| {
        failure
            .lock()
            .expect("no panics while held")
            .get_or_insert(e);
    };
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1).min(jobs.len()) {
            scope.spawn(|| {
                let mut seg = match Segmenter::new(info, pres) {
                    Ok(s) => s.with_encoder(encoder),
                    Err(e) => return fail(e),
                };
                let mut one = |rid: &str, id: SegmentId| -> Result<usize> {
                    let name = match id {
                        SegmentId::Init => hls::INIT_NAME.to_owned(),
                        SegmentId::Media(n) => hls::segment_name(pres.rendition(rid)?, n),
                    };
                    let bytes = seg.make(rid, id)?;
                    write(&dir.join(rid).join(name), &bytes)?;
                    Ok(bytes.len())
                };
                while failure.lock().expect("no panics while held").is_none() {
                    let Some((rid, id)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return;
                    };
                    match one(rid, *id) {
                        Ok(len) => {
                            let mut w = written.lock().expect("no panics while held");
                            w.0 += 1;
                            w.1 += len as u64;
                            tick();
                        }
                        Err(e) => return fail(e),
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().expect("no panics while held") {
        return Err(e);
    }
    let (files, bytes) = written.into_inner().expect("no panics while held");
    stats.files += files;
    stats.bytes += bytes;
    Ok(stats)
}
