//! The library API: shows and their videos, artwork, watch progress, rescans. Reads go through
//! the [`Store`](crate::library::store::Store)'s typed queries; the JSON keeps the shape of the
//! original plan's API (ids as strings).

use serde_json::{json, Value};

use super::http::{etag_of, ApiError, ApiResult, Reply};
use super::route::Artwork;
use super::State;
use crate::library::store::{ProgressRecord, ShowRecord};

/// Past this fraction of its length a video counts as watched.
const WATCHED: f64 = 0.9;

fn progress_json(id: i64, p: &ProgressRecord) -> Value {
    json!({ "video_id": id.to_string(), "position": p.position, "duration": p.duration, "watched": p.watched, "updated_at": p.updated_at })
}

impl State {
    /// `POST /api/v1/scan`.
    pub(super) fn rescan(&self) -> ApiResult {
        let s = self.scan().map_err(|e| ApiError::new(500, e))?;
        Ok(Reply::json(
            200,
            &json!({ "found": s.found, "probed": s.probed, "removed": s.removed, "failed": s.failed.len() }),
        ))
    }

    fn show_json(&self, id: i64, show: ShowRecord) -> Result<Value, ApiError> {
        let art = |has: &Option<String>, name: &str| {
            has.as_ref().map(|_| format!("/api/v1/shows/{id}/{name}"))
        };
        let info = json!({ "id": id.to_string(), "title": show.title, "year": show.year, "thumbnail": art(&show.thumbnail, "thumbnail"), "banner": art(&show.banner, "banner") });
        let videos = self.db.lock().expect("db lock").show_videos(id)?;
        Ok(if show.kind == "movie" {
            json!({ "kind": "movie", "info": info, "video": videos.first().map(|v| v.id.to_string()) })
        } else {
            let episodes: Vec<Value> = videos
                .iter()
                .map(|v| {
                    json!({ "id": v.id.to_string(), "index": format!("S{:02}E{:02}", v.season.unwrap_or(0), v.episode.unwrap_or(0)), "title": v.title })
                })
                .collect();
            json!({ "kind": "series", "info": info, "episodes": episodes })
        })
    }

    /// `GET /api/v1/shows[?search=TEXT]`.
    pub(super) fn shows(&self, search: Option<&str>) -> ApiResult {
        let ids = self.db.lock().expect("db lock").show_ids(search)?;
        let mut list = Vec::with_capacity(ids.len());
        for id in ids {
            // A show removed by a scan between the two reads is left out.
            let show = self.db.lock().expect("db lock").show(id)?;
            if let Some(show) = show {
                list.push(self.show_json(id, show)?);
            }
        }
        Ok(Reply::json(200, &Value::Array(list)))
    }

    /// `GET /api/v1/shows/ID`.
    pub(super) fn show(&self, id: i64) -> ApiResult {
        let show = self.db.lock().expect("db lock").show(id)?;
        let show = show.ok_or_else(|| ApiError::new(404, format!("no show {id}")))?;
        Ok(Reply::json(200, &self.show_json(id, show)?))
    }

    /// `GET /api/v1/shows/ID/thumbnail|banner|fanart`.
    pub(super) fn artwork(&self, id: i64, which: Artwork) -> ApiResult {
        let show = self.db.lock().expect("db lock").show(id)?;
        let path = show.and_then(|s| match which {
            Artwork::Thumbnail => s.thumbnail,
            Artwork::Banner => s.banner,
            Artwork::Fanart => s.fanart,
        });
        let which = which.name();
        let Some(path) = path else {
            return Err(ApiError::new(404, format!("show {id} has no {which}")));
        };
        let bytes = std::fs::read(crate::library::resolve(&self.config.target, &path))
            .map_err(|e| ApiError::new(404, format!("show {id}: {which} unreadable: {e}")))?;
        Ok(Reply {
            status: 200,
            content_type: if path.ends_with(".png") {
                "image/png"
            } else {
                "image/jpeg"
            },
            etag: Some(etag_of(&format!("{path}:{}", bytes.len()))),
            body: std::sync::Arc::new(bytes),
            cache_control: "public, max-age=3600",
        })
    }

    /// `GET /api/v1/progress/ID`: where the video was left (0 if never played).
    pub(super) fn progress(&self, id: i64) -> ApiResult {
        let db = self.db.lock().expect("db lock");
        match db.progress(id)? {
            Some(p) => Ok(Reply::json(200, &progress_json(id, &p))),
            None if db.video_exists(id)? => Ok(Reply::json(
                200,
                &json!({ "video_id": id.to_string(), "position": 0.0, "duration": null, "watched": false }),
            )),
            None => Err(ApiError::new(404, format!("no video {id}"))),
        }
    }

    /// `PUT /api/v1/progress/ID` with `{"position": seconds}`.
    pub(super) fn set_progress(&self, id: i64, body: &[u8]) -> ApiResult {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::new(400, format!("body is not JSON: {e}")))?;
        let Some(position) = v["position"]
            .as_f64()
            .filter(|p| p.is_finite() && *p >= 0.0)
        else {
            return Err(ApiError::new(
                400,
                "give {\"position\": seconds} (a number >= 0)",
            ));
        };
        let duration = match self.load(id) {
            Ok(l) => Some(l.pres.timeline.total_secs()),
            Err(_) => v["duration"].as_f64(),
        };
        if !self.db.lock().expect("db lock").video_exists(id)? {
            return Err(ApiError::new(404, format!("no video {id}")));
        }
        let record = ProgressRecord {
            position,
            duration,
            watched: duration.is_some_and(|d| d > 0.0 && position >= WATCHED * d),
            updated_at: super::unix_now() as i64,
        };
        self.db.lock().expect("db lock").set_progress(id, &record)?;
        self.progress(id)
    }

    /// `GET /api/v1/progress`: videos started and not finished, most recent first.
    pub(super) fn continue_watching(&self) -> ApiResult {
        let db = self.db.lock().expect("db lock");
        let mut list = Vec::new();
        for id in db.in_progress()? {
            if let Some(p) = db.progress(id)? {
                list.push(progress_json(id, &p));
            }
        }
        Ok(Reply::json(200, &Value::Array(list)))
    }
}
