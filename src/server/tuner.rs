//! A channel as one MPEG-TS stream from the live edge (what the HDHomeRun lineup points tuners
//! at): the channel's own segments, remuxed through one muxer per connection, paced at the
//! channel's clock. The stream is made while the client reads it; nothing is made once it has
//! gone.

use std::sync::Arc;

use super::http::ApiError;
use super::route::Route;
use super::State;

/// MPEG-TS streams open at once, at most: each holds a thread and a muxer for as long as its
/// client watches.
pub const MAX_STREAMS: usize = 32;

/// Answers a request for a channel's TS stream on a thread of its own. A stream lasts as long
/// as its client watches: on the worker pool (8 threads by default) a few tuners would hold
/// every worker, and no player would get a segment. Past [`MAX_STREAMS`], a 503.
pub(super) fn stream_apart(
    state: &Arc<State>,
    req: tiny_http::Request,
    route: Result<Route, ApiError>,
) {
    let open: usize = state.streams.lock().expect("lock").values().sum();
    if open >= MAX_STREAMS {
        let busy = ApiError::new(
            503,
            format!("{open} MPEG-TS streams are open, the most this server runs; try again later"),
        );
        super::respond_isolated(state, req, Err(busy));
        return;
    }
    let state = state.clone();
    let spawned = std::thread::Builder::new()
        .name("tuner".into())
        .spawn(move || super::respond_isolated(&state, req, route));
    if let Err(e) = spawned {
        log::error!("no thread for an MPEG-TS stream: {e}");
    }
}

impl State {
    /// `GET /api/v1/channels/ID/stream.ts`: the channel as one MPEG-TS stream from the live
    /// edge, paced at the channel's clock (what the HDHomeRun lineup points tuners at). The
    /// stream is made while the client reads it; nothing is made once it has gone.
    pub(super) fn channel_stream(&self, id: &str) -> Result<ChannelTs<'_>, ApiError> {
        let on_air = self.channel(id)?;
        let c = &*on_air;
        let slot = c.schedule.at(self.now_us()).ok_or_else(|| {
            ApiError::new(404, format!("channel '{id}' starts at {}", c.config.start))
        })?;
        *self
            .streams
            .lock()
            .expect("lock")
            .entry(id.to_owned())
            .or_default() += 1;
        // The first segment now, so that a tuner can check the stream at once.
        let mut ts = ChannelTs {
            state: self,
            id: id.to_owned(),
            next: slot.sequence,
            ts: crate::channel::assemble::TsStream::default(),
            buf: Vec::new(),
            at: 0,
        };
        ts.buf = ts.next_segment()?;
        Ok(ts)
    }
}

/// A channel's MPEG-TS stream as a client reads it: one segment after another, each once the
/// channel's clock is within a segment of its air time, through one muxer for the whole
/// connection (continuity counters and clocks run on across programme changes).
pub struct ChannelTs<'a> {
    state: &'a State,
    id: String,
    next: u64,
    ts: crate::channel::assemble::TsStream,
    buf: Vec<u8>,
    at: usize,
}

impl ChannelTs<'_> {
    fn next_segment(&mut self) -> Result<Vec<u8>, ApiError> {
        let on_air = self.state.channel(&self.id)?;
        let c = &*on_air;
        let slot = c.schedule.by_sequence(self.next);
        // A segment ahead of the clock at most: the client's buffer, and no more.
        let ahead = slot.air_us - slot.duration_us - self.state.now_us();
        if ahead > 0 {
            std::thread::sleep(std::time::Duration::from_micros(ahead as u64));
        }
        let p = crate::channel::assemble::parts(self.state, c, self.next)?;
        let bytes = self.ts.next(&p)?;
        self.next += 1;
        Ok(bytes)
    }
}

impl Drop for ChannelTs<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.state.streams.lock().expect("lock").get_mut(&self.id) {
            *n = n.saturating_sub(1);
        }
    }
}

impl std::io::Read for ChannelTs<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.buf.len() {
            self.buf = self.next_segment().map_err(|e| {
                log::warn!("channel '{}' TS stream ends: {}", self.id, e.message);
                std::io::Error::other(e.message)
            })?;
            self.at = 0;
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
