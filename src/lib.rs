//! Haema: a folder of films and series to HLS streams any player can open, with no
//! pre-encoding and no copies on disk.
//!
//! The pipeline, one module a stage:
//!
//! ```text
//! file --probe--> MediaInfo --plan--> Presentation --segment--> init / media segment bytes
//!                 (streams,           (timeline,            \
//!                  keyframes,          renditions)           --hls--> playlist text
//!                  index source)
//! ```
//!
//! [`media`] is the only module that touches FFmpeg (or holds `unsafe` code); [`rational`],
//! [`stream`], [`ladder`], [`timeline`], [`plan`], [`hls`], [`codecs`], [`subtitle`],
//! [`overlay`] and [`mp4`] are pure and tested on plain data. `docs/architecture.md` is the map.

// Every public item says why it is there.
#![warn(missing_docs)]

pub mod bench;
pub mod channel;
pub mod client;
pub mod codecs;
pub mod digest;
pub mod error;
pub mod es;
pub mod hls;
pub mod input;
pub mod ladder;
pub mod library;
pub mod media;
pub mod mkv;
pub mod mp4;
pub mod overlay;
pub mod picture;
pub mod plan;
pub mod probe;
pub mod rational;
pub mod resample;
pub mod segment;
pub mod server;
pub mod stream;
pub mod subtitle;
pub mod timeline;
pub mod tree;
pub mod tui;

pub use error::{Error, Result};

/// The bundled fixture media with these extensions (`fixtures/make-fixtures.sh` makes them),
/// for the unit tests that need real files.
#[cfg(test)]
pub(crate) fn fixture_files(extensions: &[&str]) -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/library");
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| extensions.iter().any(|x| e == *x))
        })
        .collect()
}
