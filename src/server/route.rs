//! The server's URLs, decoded once from method and path into a [`Route`] (as moonfire-nvr's
//! `web/path.rs` does): the acceptor decides from it what may wait for a transcode, the token
//! check what is public, and the handlers get typed ids and file names, never raw text.

use super::http::{query_param, ApiError};
use crate::hls::RenditionFile;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// `GET /health`: the server is up.
    Health,
    /// `GET /` or `/index.html`: the web page.
    Page,
    /// `GET /hls.min.js`: the player library the page uses.
    HlsJs,
    /// `GET /api/v1/status`: jobs, caches, encoders, recent requests.
    Status,
    /// `GET /metrics`: Prometheus text.
    Metrics,
    /// `POST /api/v1/scan`: rescan the library.
    Scan,
    /// `GET /api/v1/shows[?search=TEXT]`.
    Shows {
        /// Text the titles must contain.
        search: Option<String>,
    },
    /// `GET /api/v1/shows/ID`.
    Show(i64),
    /// `GET /api/v1/shows/ID/thumbnail|banner|fanart`.
    Artwork(i64, Artwork),
    /// `GET /api/v1/video/ID/master.m3u8`.
    Master(i64),
    /// `GET /api/v1/video/ID/master-burn-STREAM.m3u8`: bitmap subtitle stream STREAM burned in
    /// ([`crate::hls::burned_master_name`]).
    BurnedMaster(i64, usize),
    /// `GET /api/v1/video/ID/RENDITION/[VERSION/]FILE`: a media playlist or a segment.
    Rendition {
        /// Video id.
        video: i64,
        /// Rendition id (the folder name of the static tree).
        rendition: String,
        /// The file in it.
        file: RenditionFile,
        /// The source's version a segment URL names (media playlists list segments under
        /// it; without one, a segment is served uncacheable).
        version: Option<String>,
    },
    /// `GET /api/v1/progress`: continue watching.
    ContinueWatching,
    /// `GET /api/v1/progress/ID`.
    Progress(i64),
    /// `PUT /api/v1/progress/ID`.
    SetProgress(i64),
    /// `GET /api/v1/channels`.
    Channels,
    /// `GET /api/v1/channels/ID/master.m3u8`.
    ChannelMaster(String),
    /// `GET /api/v1/channels/ID/live.m3u8`.
    ChannelLive(String),
    /// `GET /api/v1/channels/ID/stream.ts`: the channel as one MPEG-TS stream.
    ChannelStream(String),
    /// `GET /api/v1/channels/ID/VERSION/init-VIDEO.mp4`.
    ChannelInit {
        /// Channel id.
        id: String,
        /// Schedule version.
        version: String,
        /// The programme's video.
        video: i64,
    },
    /// `GET /api/v1/channels/ID/VERSION/SEQUENCE.m4s`.
    ChannelSegment {
        /// Channel id.
        id: String,
        /// Schedule version.
        version: String,
        /// Media sequence number.
        sequence: u64,
    },
    /// `GET /iptv/channels.m3u`.
    IptvM3u,
    /// `GET /iptv/xmltv.xml`.
    Xmltv,
    /// `GET /discover.json`, `/lineup.json`, `/lineup_status.json` (the name's stem).
    HdHomeRun(&'static str),
}

/// A show's pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Artwork {
    /// The poster.
    Thumbnail,
    /// The wide banner.
    Banner,
    /// The background.
    Fanart,
}

impl Artwork {
    /// The name in URLs and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Artwork::Thumbnail => "thumbnail",
            Artwork::Banner => "banner",
            Artwork::Fanart => "fanart",
        }
    }
}

fn id(text: &str, what: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::new(400, format!("'{text}' is not a {what} id")))
}

impl Route {
    /// Decodes a request line's method and URL (path and query).
    pub fn decode(method: &str, url: &str) -> Result<Route, ApiError> {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let read = matches!(method, "GET" | "HEAD");
        Ok(match (read, method, parts.as_slice()) {
            (true, _, ["health"]) => Route::Health,
            (true, _, [""] | ["index.html"]) => Route::Page,
            (true, _, ["hls.min.js"]) => Route::HlsJs,
            (true, _, ["api", "v1", "status"]) => Route::Status,
            (true, _, ["metrics"]) => Route::Metrics,
            (_, "POST", ["api", "v1", "scan"]) => Route::Scan,
            (true, _, ["api", "v1", "shows"]) => Route::Shows {
                search: query_param(query, "search"),
            },
            (true, _, ["api", "v1", "shows", s]) => Route::Show(id(s, "show")?),
            (true, _, ["api", "v1", "shows", s, art]) => {
                let art = match *art {
                    "thumbnail" => Artwork::Thumbnail,
                    "banner" => Artwork::Banner,
                    "fanart" => Artwork::Fanart,
                    _ => return Err(ApiError::new(404, format!("nothing at {path}"))),
                };
                Route::Artwork(id(s, "show")?, art)
            }
            (true, _, ["api", "v1", "channels"]) => Route::Channels,
            (true, _, ["api", "v1", "channels", c, "master.m3u8"]) => {
                Route::ChannelMaster((*c).to_owned())
            }
            (true, _, ["api", "v1", "channels", c, "live.m3u8"]) => {
                Route::ChannelLive((*c).to_owned())
            }
            (true, _, ["api", "v1", "channels", c, "stream.ts"]) => {
                Route::ChannelStream((*c).to_owned())
            }
            (true, _, ["api", "v1", "channels", c, version, file]) => {
                let bad = || ApiError::new(404, format!("no {file} on channel {c}"));
                if let Some(v) = file
                    .strip_prefix("init-")
                    .and_then(|f| f.strip_suffix(".mp4"))
                {
                    Route::ChannelInit {
                        id: (*c).to_owned(),
                        version: (*version).to_owned(),
                        video: v.parse().map_err(|_| bad())?,
                    }
                } else {
                    Route::ChannelSegment {
                        id: (*c).to_owned(),
                        version: (*version).to_owned(),
                        sequence: file
                            .strip_suffix(".m4s")
                            .and_then(|n| n.parse().ok())
                            .ok_or_else(bad)?,
                    }
                }
            }
            (true, _, ["iptv", "channels.m3u"]) => Route::IptvM3u,
            (true, _, ["iptv", "xmltv.xml"]) => Route::Xmltv,
            (true, _, ["discover.json"]) => Route::HdHomeRun("discover"),
            (true, _, ["lineup.json"]) => Route::HdHomeRun("lineup"),
            (true, _, ["lineup_status.json"]) => Route::HdHomeRun("lineup_status"),
            (true, _, ["api", "v1", "video", v, rest @ ..]) => {
                let video = id(v, "video")?;
                match rest {
                    ["master.m3u8"] => Route::Master(video),
                    [name] if name.starts_with("master-burn-") => Route::BurnedMaster(
                        video,
                        name.strip_prefix("master-burn-")
                            .and_then(|n| n.strip_suffix(".m3u8"))
                            .and_then(|n| n.parse().ok())
                            .ok_or_else(|| {
                                ApiError::new(404, format!("no {name} for video {video}"))
                            })?,
                    ),
                    [rendition, name] => Route::Rendition {
                        video,
                        rendition: (*rendition).to_owned(),
                        file: RenditionFile::parse(name).ok_or_else(|| {
                            ApiError::new(404, format!("no {name} in {rendition}"))
                        })?,
                        version: None,
                    },
                    [rendition, version, name] => Route::Rendition {
                        video,
                        rendition: (*rendition).to_owned(),
                        file: RenditionFile::parse(name)
                            .filter(|f| *f != RenditionFile::Playlist)
                            .ok_or_else(|| {
                                ApiError::new(404, format!("no {name} in {rendition}/{version}"))
                            })?,
                        version: Some((*version).to_owned()),
                    },
                    _ => {
                        return Err(ApiError::new(
                            404,
                            format!("nothing at video {video}/{}", rest.join("/")),
                        ))
                    }
                }
            }
            (true, _, ["api", "v1", "progress"]) => Route::ContinueWatching,
            (true, _, ["api", "v1", "progress", v]) => Route::Progress(id(v, "video")?),
            (_, "PUT", ["api", "v1", "progress", v]) => Route::SetProgress(id(v, "video")?),
            (_, _, ["api", ..] | ["health"] | ["metrics"]) => {
                return Err(ApiError::new(
                    405,
                    format!("{method} is not allowed on {path}"),
                ))
            }
            _ => return Err(ApiError::new(404, format!("nothing at {path}"))),
        })
    }

    /// The route with its video ids passed through `video` and its show ids through `show`:
    /// how an old id (an alias) reaches what it names now.
    pub fn map_ids(self, video: impl Fn(i64) -> i64, show: impl Fn(i64) -> i64) -> Route {
        match self {
            Route::Show(id) => Route::Show(show(id)),
            Route::Artwork(id, which) => Route::Artwork(show(id), which),
            Route::Master(id) => Route::Master(video(id)),
            Route::BurnedMaster(id, sub) => Route::BurnedMaster(video(id), sub),
            Route::Rendition {
                video: id,
                rendition,
                file,
                version,
            } => Route::Rendition {
                video: video(id),
                rendition,
                file,
                version,
            },
            Route::Progress(id) => Route::Progress(video(id)),
            Route::SetProgress(id) => Route::SetProgress(video(id)),
            other => other,
        }
    }

    /// What anyone may fetch from a server with a token: it holds no library data.
    pub fn is_public(&self) -> bool {
        matches!(self, Route::Health | Route::Page | Route::HlsJs)
    }

    /// The video a route serves, if it is one of a video's playlists or segments: what a
    /// per-video token may open.
    pub fn video(&self) -> Option<i64> {
        match self {
            Route::Master(id) | Route::BurnedMaster(id, _) | Route::Rendition { video: id, .. } => {
                Some(*id)
            }
            _ => None,
        }
    }

    /// Whether answering may take a transcode (an init or media segment): such requests go to
    /// the worker pool, the rest are answered by the acceptors at once.
    pub fn is_segment(&self) -> bool {
        match self {
            Route::Rendition { file, .. } => *file != RenditionFile::Playlist,
            Route::ChannelInit { .. } | Route::ChannelSegment { .. } | Route::ChannelStream(_) => {
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_decode_to_routes_and_everything_else_to_errors() {
        let seg = |video, rendition: &str, file| {
            Ok(Route::Rendition {
                video,
                rendition: rendition.into(),
                file,
                version: None,
            })
        };
        let table: Vec<(&str, &str, Result<Route, u16>)> = vec![
            ("GET", "/health", Ok(Route::Health)),
            ("HEAD", "/health", Ok(Route::Health)),
            ("GET", "/", Ok(Route::Page)),
            ("GET", "/index.html", Ok(Route::Page)),
            ("GET", "/hls.min.js", Ok(Route::HlsJs)),
            ("GET", "/api/v1/status", Ok(Route::Status)),
            ("GET", "/metrics", Ok(Route::Metrics)),
            ("POST", "/api/v1/scan", Ok(Route::Scan)),
            ("GET", "/api/v1/scan", Err(405)),
            ("GET", "/api/v1/shows", Ok(Route::Shows { search: None })),
            (
                "GET",
                "/api/v1/shows?search=the%20clock",
                Ok(Route::Shows {
                    search: Some("the clock".into()),
                }),
            ),
            ("GET", "/api/v1/shows/7", Ok(Route::Show(7))),
            ("GET", "/api/v1/shows/x", Err(400)),
            (
                "GET",
                "/api/v1/shows/7/fanart",
                Ok(Route::Artwork(7, Artwork::Fanart)),
            ),
            ("GET", "/api/v1/shows/7/poster", Err(404)),
            ("GET", "/api/v1/video/3/master.m3u8", Ok(Route::Master(3))),
            (
                "GET",
                "/api/v1/video/3/master-burn-4.m3u8",
                Ok(Route::BurnedMaster(3, 4)),
            ),
            ("GET", "/api/v1/video/3/master-burn-x.m3u8", Err(404)),
            ("GET", "/api/v1/video/abc/master.m3u8", Err(400)),
            (
                "GET",
                "/api/v1/video/3/original/stream.m3u8",
                seg(3, "original", RenditionFile::Playlist),
            ),
            (
                "GET",
                "/api/v1/video/3/original/init.mp4",
                seg(3, "original", RenditionFile::Init),
            ),
            (
                "GET",
                "/api/v1/video/3/original/12.m4s",
                seg(3, "original", RenditionFile::Fragment(12)),
            ),
            (
                "GET",
                "/api/v1/video/3/subs-2-eng/0.vtt",
                seg(3, "subs-2-eng", RenditionFile::Cues(0)),
            ),
            (
                "GET",
                "/api/v1/video/3/original/0a1b2c/12.m4s",
                Ok(Route::Rendition {
                    video: 3,
                    rendition: "original".into(),
                    file: RenditionFile::Fragment(12),
                    version: Some("0a1b2c".into()),
                }),
            ),
            (
                "GET",
                "/api/v1/video/3/original/0a1b2c/stream.m3u8",
                Err(404),
            ),
            ("GET", "/api/v1/video/3/original/x.m4s", Err(404)),
            ("GET", "/api/v1/video/3/original/..%2fhaema.db", Err(404)),
            ("GET", "/api/v1/video/1/../../../../etc/passwd", Err(404)),
            ("GET", "/api/v1/progress", Ok(Route::ContinueWatching)),
            ("GET", "/api/v1/progress/4", Ok(Route::Progress(4))),
            ("PUT", "/api/v1/progress/4", Ok(Route::SetProgress(4))),
            ("PUT", "/api/v1/progress/four", Err(400)),
            ("DELETE", "/api/v1/progress/4", Err(405)),
            ("GET", "/api/v1/channels", Ok(Route::Channels)),
            (
                "GET",
                "/api/v1/channels/films/master.m3u8",
                Ok(Route::ChannelMaster("films".into())),
            ),
            (
                "GET",
                "/api/v1/channels/films/live.m3u8",
                Ok(Route::ChannelLive("films".into())),
            ),
            (
                "GET",
                "/api/v1/channels/films/stream.ts",
                Ok(Route::ChannelStream("films".into())),
            ),
            (
                "GET",
                "/api/v1/channels/films/0a1b/init-42.mp4",
                Ok(Route::ChannelInit {
                    id: "films".into(),
                    version: "0a1b".into(),
                    video: 42,
                }),
            ),
            (
                "GET",
                "/api/v1/channels/films/0a1b/1234.m4s",
                Ok(Route::ChannelSegment {
                    id: "films".into(),
                    version: "0a1b".into(),
                    sequence: 1234,
                }),
            ),
            ("GET", "/api/v1/channels/films/0a1b/init-x.mp4", Err(404)),
            ("GET", "/api/v1/channels/films/0a1b/-1.m4s", Err(404)),
            ("GET", "/iptv/channels.m3u", Ok(Route::IptvM3u)),
            ("GET", "/iptv/xmltv.xml", Ok(Route::Xmltv)),
            ("GET", "/discover.json", Ok(Route::HdHomeRun("discover"))),
            ("GET", "/lineup.json", Ok(Route::HdHomeRun("lineup"))),
            (
                "GET",
                "/lineup_status.json",
                Ok(Route::HdHomeRun("lineup_status")),
            ),
            ("POST", "/health", Err(405)),
            ("GET", "/nothing/here", Err(404)),
        ];
        for (method, url, want) in table {
            let got = Route::decode(method, url).map_err(|e| e.status);
            assert_eq!(got, want, "{method} {url}");
        }
    }

    #[test]
    fn only_segments_wait_for_the_pool_and_only_the_page_and_health_are_public() {
        let r = |url| Route::decode("GET", url).unwrap();
        assert!(r("/api/v1/video/1/original/0.m4s").is_segment());
        assert!(r("/api/v1/video/1/original/init.mp4").is_segment());
        assert!(r("/api/v1/video/1/subs-2-eng/3.vtt").is_segment());
        assert!(!r("/api/v1/video/1/original/stream.m3u8").is_segment());
        assert!(!r("/api/v1/video/1/master.m3u8").is_segment());
        assert!(r("/health").is_public() && r("/").is_public() && r("/hls.min.js").is_public());
        assert!(!r("/api/v1/status").is_public() && !r("/api/v1/shows").is_public());
    }
}
