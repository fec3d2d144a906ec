//! The one error type of Haema's core.
//!
//! Each kind is something a caller can act on: the CLI turns it into a message and an exit code,
//! the server into an HTTP status and a JSON body. Messages name the file and say what to do.

use std::path::PathBuf;

/// Errors of the core library (probe, timeline, segment, playlists).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file does not exist or can't be read at all.
    #[error("{path}: {reason}")]
    NotFound {
        /// The file asked for.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// The file was read but is not media FFmpeg understands, or it is damaged.
    #[error("{path}: not a readable media file ({reason})")]
    Corrupt {
        /// The file asked for.
        path: PathBuf,
        /// What FFmpeg said.
        reason: String,
    },
    /// The file is media, but Haema can't stream it (no video, an unsupported codec...).
    #[error("{path}: {reason}")]
    Unsupported {
        /// The file asked for.
        path: PathBuf,
        /// What is missing or not supported.
        reason: String,
    },
    /// The request names something the presentation does not have (segment past the end,
    /// unknown rendition).
    #[error("{0}")]
    BadRequest(String),
    /// FFmpeg failed while producing output.
    #[error("{context}: {source}")]
    Ffmpeg {
        /// What was being done.
        context: String,
        /// FFmpeg's error.
        source: ffmpeg_next::Error,
    },
    /// Reading or writing failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an FFmpeg error with what was being done.
    pub fn ffmpeg(context: impl Into<String>, source: ffmpeg_next::Error) -> Self {
        Error::Ffmpeg {
            context: context.into(),
            source,
        }
    }

    /// Whether the caller asked for something that is not there (HTTP 404 / 400 rather than 500).
    pub fn is_client_error(&self) -> bool {
        matches!(self, Error::NotFound { .. } | Error::BadRequest(_))
    }
}
