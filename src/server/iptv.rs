//! The channels as IPTV clients read them: an M3U playlist, an XMLTV guide, and an
//! HDHomeRun tuner's JSON (Plex, Jellyfin, Kodi, TiviMate and VLC add Haema with these). The
//! documents themselves are pure (`crate::channel::iptv`); this fills them from the
//! configured channels and the clock.

use super::http::{ApiError, ApiResult, Reply};
use super::State;
use crate::channel::iptv::{self, GuideChannel, GuideProgramme};
use crate::channel::lineup::Channel;

/// Hours of guide XMLTV gives.
const GUIDE_HOURS: i64 = 24;

impl State {
    /// Each configured channel as the guide names it, with the channel where it airs.
    fn guide_channels(&self, base: &str) -> Result<Vec<(GuideChannel, Option<Channel>)>, ApiError> {
        let all = self.channels()?;
        Ok(all
            .iter()
            .zip(&self.config.channels)
            .map(|(c, conf)| {
                (
                    GuideChannel {
                        id: conf.id(),
                        number: conf.number,
                        name: conf.name.clone(),
                        logo: conf.logo.clone(),
                        group: conf.group.clone(),
                        url: format!("{base}/api/v1/channels/{}/master.m3u8", conf.id()),
                    },
                    c.as_ref().ok().cloned(),
                )
            })
            .collect())
    }

    /// `GET /iptv/channels.m3u`.
    pub(super) fn iptv_m3u(&self, base: &str) -> ApiResult {
        let chans: Vec<GuideChannel> = self
            .guide_channels(base)?
            .into_iter()
            .map(|c| c.0)
            .collect();
        Ok(Reply::text(
            "audio/x-mpegurl; charset=utf-8",
            iptv::m3u(&chans, &format!("{base}/iptv/xmltv.xml")),
        ))
    }

    /// `GET /iptv/xmltv.xml`: the next 24 hours of every channel.
    pub(super) fn iptv_xmltv(&self, base: &str) -> ApiResult {
        let now = self.now_us();
        let chans = self.guide_channels(base)?;
        let mut programmes = Vec::new();
        for (g, c) in &chans {
            let Some(c) = c else { continue };
            for a in c.schedule.guide(now, now + GUIDE_HOURS * 3_600_000_000) {
                let item = &c.items[a.programme];
                programmes.push(GuideProgramme {
                    channel: g.id.clone(),
                    start_us: a.start_us,
                    end_us: a.end_us,
                    title: item.title.clone(),
                    sub_title: item.sub_title.clone(),
                    desc: None,
                    episode: item.episode,
                    icon: None,
                });
            }
        }
        let chans: Vec<GuideChannel> = chans.into_iter().map(|c| c.0).collect();
        Ok(Reply::text(
            "application/xml; charset=utf-8",
            iptv::xmltv(&chans, &programmes),
        ))
    }

    /// `GET /discover.json`, `/lineup.json`, `/lineup_status.json`: the HDHomeRun tuner.
    pub(super) fn hdhomerun(&self, base: &str, what: &str) -> ApiResult {
        Ok(Reply::json(
            200,
            &match what {
                "discover" => iptv::hdhr_discover(
                    base,
                    &format!("{:08X}", iptv::device_id(&self.config.db.to_string_lossy())),
                    self.config.channels.len().max(1),
                ),
                // Tuners take MPEG-TS: the lineup names each channel's TS stream.
                "lineup" => iptv::hdhr_lineup(
                    &self
                        .guide_channels(base)?
                        .into_iter()
                        .map(|(mut c, _)| {
                            c.url = c.url.replace("/master.m3u8", "/stream.ts");
                            c
                        })
                        .collect::<Vec<_>>(),
                ),
                _ => iptv::hdhr_lineup_status(),
            },
        ))
    }
}
