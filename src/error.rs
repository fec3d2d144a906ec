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
    /// The request names something the presentation does not have (a segment past the end, an
    /// unknown rendition, the init segment of a WebVTT rendition).
    #[error("{0}")]
    NoSuch(String),
    /// The request or an option is malformed or can't be honoured as given (a segment name that
    /// is not a number, an encoder this machine can't use).
    #[error("{0}")]
    BadRequest(String),
    /// FFmpeg failed while producing output.
    #[error("{context}: {reason}")]
    Ffmpeg {
        /// What was being done.
        context: String,
        /// What FFmpeg said (its error string).
        reason: String,
    },
    /// Another program or server Haema was driving failed or answered nonsense (the ffmpeg CLI
    /// in `bench`, a server under `bench --server`).
    #[error("{0}")]
    Peer(String),
    /// Too much work is queued: the request was not started. Try again shortly.
    #[error("{0}")]
    Busy(String),
    /// A bug: code panicked while making something. The request fails; the server goes on.
    #[error("internal error: {0}")]
    Bug(String),
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

impl Clone for Error {
    /// The same kind and message: what a cache hands every request that waited on one failed
    /// job. An I/O error keeps its kind and text (the OS error itself can't be copied).
    fn clone(&self) -> Error {
        match self {
            Error::NotFound { path, reason } => Error::NotFound {
                path: path.clone(),
                reason: reason.clone(),
            },
            Error::Corrupt { path, reason } => Error::Corrupt {
                path: path.clone(),
                reason: reason.clone(),
            },
            Error::Unsupported { path, reason } => Error::Unsupported {
                path: path.clone(),
                reason: reason.clone(),
            },
            Error::NoSuch(m) => Error::NoSuch(m.clone()),
            Error::BadRequest(m) => Error::BadRequest(m.clone()),
            Error::Ffmpeg { context, reason } => Error::Ffmpeg {
                context: context.clone(),
                reason: reason.clone(),
            },
            Error::Peer(m) => Error::Peer(m.clone()),
            Error::Busy(m) => Error::Busy(m.clone()),
            Error::Bug(m) => Error::Bug(m.clone()),
            Error::Io { context, source } => Error::Io {
                context: context.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
        }
    }
}

impl Error {
    /// The process exit code for this error, documented in `haema(1)`: 2 for a request or
    /// option that can't be honoured, 3 for a missing file, 4 for a damaged one, 5 for media
    /// Haema can't stream, 6 for a segment or rendition the file doesn't have, 1 for the rest.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BadRequest(_) => 2,
            Error::NotFound { .. } => 3,
            Error::Corrupt { .. } => 4,
            Error::Unsupported { .. } => 5,
            Error::NoSuch(_) => 6,
            Error::Ffmpeg { .. }
            | Error::Peer(_)
            | Error::Busy(_)
            | Error::Bug(_)
            | Error::Io { .. } => 1,
        }
    }
}
