//! HTTP transport: the answer type, the one mapping of the core's errors to statuses, and the
//! turning of a [`Reply`] into a tiny_http response (token, CORS, ETag and 304, HEAD).

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::route::Route;
use super::status::RecentRequest;
use super::State;
use crate::error::Error;

/// An HTTP answer before it becomes a tiny_http response.
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Content-Type.
    pub content_type: &'static str,
    /// Body, shared with the cache it may come from.
    pub body: Arc<Vec<u8>>,
    /// Cache-Control.
    pub cache_control: &'static str,
    /// Strong ETag, when the body is the same for the same URL.
    pub etag: Option<String>,
}

impl Reply {
    /// A JSON answer nobody should cache.
    pub fn json(status: u16, v: &impl Serialize) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: Arc::new(serde_json::to_vec(v).unwrap_or_default()),
            cache_control: "no-store",
            etag: None,
        }
    }

    /// The JSON error body every 4xx/5xx answer has: `{"error": ..., "status": ...}`.
    pub fn error(status: u16, msg: impl std::fmt::Display) -> Reply {
        Reply::json(
            status,
            &serde_json::json!({ "error": msg.to_string(), "status": status }),
        )
    }

    /// A playlist: short-lived in caches, since a rescan may change it.
    pub fn playlist(text: String) -> Reply {
        Reply {
            status: 200,
            content_type: "application/vnd.apple.mpegurl",
            etag: Some(etag_of(&text)),
            body: Arc::new(text.into_bytes()),
            cache_control: "public, max-age=10",
        }
    }

    /// A file compiled into the binary (the web page, hls.js).
    pub fn asset(content_type: &'static str, bytes: &'static [u8]) -> Reply {
        Reply {
            status: 200,
            content_type,
            etag: Some(etag_of(&format!(
                "{}:{}",
                bytes.len(),
                String::from_utf8_lossy(&bytes[..bytes.len().min(4096)])
            ))),
            body: Arc::new(bytes.to_vec()),
            cache_control: "public, max-age=300",
        }
    }

    /// Plain text, uncached (`/metrics`).
    pub fn text(content_type: &'static str, text: String) -> Reply {
        Reply {
            status: 200,
            content_type,
            body: Arc::new(text.into_bytes()),
            cache_control: "no-store",
            etag: None,
        }
    }

    fn empty(status: u16) -> Reply {
        Reply {
            status,
            content_type: "text/plain",
            body: Arc::new(Vec::new()),
            cache_control: "no-store",
            etag: None,
        }
    }
}

/// Why a request was not answered with what it asked for: a status and a message for the JSON
/// error body.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// What went wrong, for the client.
    pub message: String,
}

impl ApiError {
    /// An error with a status of the handler's choosing.
    pub fn new(status: u16, message: impl std::fmt::Display) -> ApiError {
        ApiError {
            status,
            message: message.to_string(),
        }
    }
}

/// The HTTP status of each kind of core error: the one place they are mapped.
pub fn status_of(e: &Error) -> u16 {
    match e {
        Error::NotFound { .. } | Error::NoSuch(_) => 404,
        Error::BadRequest(_) => 400,
        Error::Corrupt { .. } | Error::Unsupported { .. } => 422,
        Error::Busy(_) => 503,
        Error::Ffmpeg { .. } | Error::Io { .. } | Error::Peer(_) | Error::Bug(_) => 500,
    }
}

impl From<&Error> for ApiError {
    fn from(e: &Error) -> ApiError {
        ApiError::new(status_of(e), e)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError::from(&e)
    }
}

impl From<rusqlite::Error> for ApiError {
    /// The database's own message stays in the server's log: it names internals, not what the
    /// client can do.
    fn from(e: rusqlite::Error) -> ApiError {
        log::error!("library database: {e}");
        ApiError::new(
            500,
            "the library database could not be read; see the server's log",
        )
    }
}

/// What a handler returns.
pub type ApiResult = Result<Reply, ApiError>;

/// A stable ETag from a key (FNV-1a).
pub fn etag_of(key: &str) -> String {
    format!("\"{:016x}\"", crate::digest::fnv1a(key.as_bytes()))
}

/// A query parameter, decoded as `application/x-www-form-urlencoded` (`+` is a space,
/// percent escapes are bytes, text that isn't UTF-8 is replaced).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("ASCII header")
}

/// Answers one tiny_http request whose route was decoded by the acceptor: token check, CORS,
/// ETag/304, HEAD.
pub fn respond(state: &State, mut req: tiny_http::Request, route: Result<Route, ApiError>) {
    let started = Instant::now();
    let method = req.method().as_str().to_ascii_uppercase();
    let url = req.url().to_owned();
    let get = |name: &'static str| {
        req.headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_owned())
    };
    let if_none_match = get("If-None-Match");
    let base = format!(
        "http://{}",
        get("Host").unwrap_or_else(|| format!("{}:{}", state.config.host, state.config.port))
    );
    let auth = get("Authorization");
    let mut body = Vec::new();
    let reader: &mut dyn std::io::Read = req.as_reader();
    // Bodies are small JSON (progress): 1 MiB is plenty.
    let _ = std::io::Read::read_to_end(&mut std::io::Read::take(reader, 1 << 20), &mut body);
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let route = route.map(|r| state.canonical(r));
    let public = route.as_ref().is_ok_and(Route::is_public);
    let authorized = match state.config.token.as_deref() {
        Some(token) if !public => {
            let given = auth
                .as_deref()
                .and_then(|a| a.strip_prefix("Bearer "))
                .map(str::to_owned)
                .or_else(|| query_param(query, "token"));
            given.is_some_and(|g| super::signing::token_matches(&g, token))
                || state.video_token_opens(&route, query)
        }
        _ => true,
    };
    // Who watches a channel: clients its segments are served to (not ones refused).
    if let (true, Ok(Route::ChannelSegment { id, .. }), Some(addr)) =
        (authorized, &route, req.remote_addr())
    {
        state.channel_viewer(id, addr.ip());
    }
    let stream = match &route {
        Ok(Route::ChannelStream(id)) if authorized && method == "GET" => {
            Some(state.channel_stream(id))
        }
        _ => None,
    };
    let reply = if let Some(Ok(ts)) = stream {
        // Streamed for as long as the client reads: no length, chunked.
        state.record(RecentRequest {
            method: method.clone(),
            path: path.to_owned(),
            status: 200,
            ms: (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
            error: None,
        });
        log::info!("{method} {path}: streaming");
        let resp = tiny_http::Response::new(tiny_http::StatusCode(200), Vec::new(), ts, None, None)
            .with_header(header("Content-Type", "video/mp2t"))
            .with_header(header("Cache-Control", "no-store"))
            .with_header(header("Access-Control-Allow-Origin", "*"));
        let _ = req.respond(resp);
        return;
    } else if let Some(Err(e)) = stream {
        Reply::error(e.status, e.message)
    } else if method == "OPTIONS" {
        Reply::empty(204)
    } else if !authorized {
        Reply::error(
            401,
            "an access token is required: Authorization: Bearer TOKEN, or ?token=TOKEN",
        )
    } else {
        route
            .and_then(|route| state.handle(route, &body, &base))
            .unwrap_or_else(|e| Reply::error(e.status, e.message))
    };
    state.record(RecentRequest {
        method: method.clone(),
        path: path.to_owned(),
        status: reply.status,
        ms: (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
        error: (reply.status >= 400)
            .then(|| serde_json::from_slice::<serde_json::Value>(&reply.body).ok())
            .flatten()
            .and_then(|e| e["error"].as_str().map(str::to_owned)),
    });
    let not_modified = reply.status == 200
        && reply.etag.is_some()
        && if_none_match.as_deref() == reply.etag.as_deref();
    let status = if not_modified { 304 } else { reply.status };
    // The body is read straight out of the shared (cached) buffer: no copy per response.
    let body = if not_modified {
        Arc::new(Vec::new())
    } else {
        reply.body.clone()
    };
    let len = body.len();
    log::info!(
        target: "haema::request",
        method = method.as_str(),
        path = path,
        status = status,
        bytes = len,
        ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        "{method} {path} {status}"
    );
    let mut resp = tiny_http::Response::new(
        tiny_http::StatusCode(status),
        Vec::new(),
        SharedBody { data: body, at: 0 },
        Some(len),
        None,
    )
    .with_header(header("Content-Type", reply.content_type))
    .with_header(header("Cache-Control", reply.cache_control))
    .with_header(header("Access-Control-Allow-Origin", "*"))
    .with_header(header(
        "Access-Control-Allow-Methods",
        "GET, HEAD, PUT, POST, OPTIONS",
    ))
    .with_header(header(
        "Access-Control-Allow-Headers",
        "Authorization, Content-Type, Range",
    ))
    .with_header(header("Access-Control-Expose-Headers", "ETag"))
    // The length is always known: send it (tiny_http would chunk bodies over 32 KiB for
    // HTTP/1.1 clients, and some players and caches want a Content-Length).
    .with_chunked_threshold(usize::MAX);
    if let Some(e) = &reply.etag {
        resp.add_header(header("ETag", e));
    }
    if status == 503 || status == 429 {
        // RFC 9110 10.2.3: when to ask again (players retry a failed segment on their own).
        resp.add_header(header("Retry-After", "2"));
    }
    let _ = req.respond(resp);
}

/// A response body read from a buffer the cache shares.
struct SharedBody {
    data: Arc<Vec<u8>>,
    at: usize,
}

impl std::io::Read for SharedBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.data[self.at.min(self.data.len())..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_core_error_has_its_status() {
        let path = std::path::PathBuf::from("f.mkv");
        let cases = [
            (
                Error::NotFound {
                    path: path.clone(),
                    reason: "gone".into(),
                },
                404,
            ),
            (Error::NoSuch("segment 9".into()), 404),
            (Error::BadRequest("x1".into()), 400),
            (Error::Busy("queue full".into()), 503),
            (Error::Bug("panicked".into()), 500),
            (
                Error::Corrupt {
                    path: path.clone(),
                    reason: "truncated".into(),
                },
                422,
            ),
            (
                Error::Unsupported {
                    path,
                    reason: "no video".into(),
                },
                422,
            ),
            (
                Error::Ffmpeg {
                    context: "encoding".into(),
                    reason: "bug".into(),
                },
                500,
            ),
        ];
        for (e, want) in cases {
            assert_eq!(ApiError::from(&e).status, want, "{e}");
        }
    }

    #[test]
    fn query_parameters_are_percent_decoded() {
        assert_eq!(
            query_param("a=1&search=caf%C3%A9+au+lait", "search").as_deref(),
            Some("café au lait")
        );
        assert_eq!(query_param("a=1", "b"), None);
        assert_eq!(query_param("t=%zz%4", "t").as_deref(), Some("%zz%4"));
    }
}
