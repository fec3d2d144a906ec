//! Live channels: the library played as never-ending TV, as a pure function of wall-clock time.
//!
//! A channel is a list of programmes (videos, each with the segment durations of its own
//! on-demand playlists) looping forever from an epoch, in library order or shuffled afresh on
//! every loop. Nothing is stored that grows with time and nothing runs while nobody watches:
//! what airs at instant t, which segment of which file that is, its media sequence number and
//! its discontinuity sequence number are all computed from t, so every process (and every
//! server behind one cache) agrees on them. The live playlist follows RFC 8216 (sliding window,
//! 6.2.2) with a discontinuity where one file gives way to the next (4.3.2.3).
//!
//! Times are integer microseconds (Unix time for instants), so no sum drifts.
//!
//! [`config`] reads the YAML's channels; [`lineup`] makes one concrete against the library
//! (its programmes and renditions); [`assemble`] makes its inits and segments (and its MPEG-TS
//! stream) from the programmes' own segments; [`iptv`] writes what IPTV clients read (M3U,
//! XMLTV, HDHomeRun). The server's `channels` module serves them over HTTP.

pub mod assemble;
pub mod config;
pub mod iptv;
pub mod lineup;
pub mod ts;

use std::fmt::Write;

/// One programme of a channel: a video, and the durations of its segments (the EXTINF list of
/// its playlists), so channel time maps onto a segment of its on-demand stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Programme {
    /// The video's library id.
    pub video: String,
    /// What a guide shows.
    pub title: String,
    /// Segment durations, microseconds (all > 0).
    pub segments_us: Vec<i64>,
}

impl Programme {
    fn duration_us(&self) -> i64 {
        self.segments_us.iter().sum()
    }
}

/// The order programmes play in, each loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Library order, every loop.
    Sequential,
    /// A new permutation every loop, a function of the seed and the loop number only.
    Shuffle {
        /// The channel's seed.
        seed: u64,
    },
}

/// A channel's schedule: programmes, order and epoch.
#[derive(Debug, Clone)]
pub struct Schedule {
    programmes: Vec<Programme>,
    order: Order,
    start_us: i64,
    loop_us: i64,
    segments_per_loop: u64,
}

/// Where an instant (or a media sequence number) lands in a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Which loop of the schedule, from 0 at the epoch.
    pub loop_no: u64,
    /// Which place in that loop's order.
    pub position: usize,
    /// The programme there (an index into the schedule's programmes).
    pub programme: usize,
    /// The segment of that programme.
    pub segment: usize,
    /// When that segment starts airing, Unix microseconds.
    pub air_us: i64,
    /// Its duration, microseconds.
    pub duration_us: i64,
    /// Segments aired before it since the epoch: its EXT-X-MEDIA-SEQUENCE number.
    pub sequence: u64,
    /// Programme changes before it since the epoch: its discontinuity sequence number
    /// (RFC 8216 4.3.3.3).
    pub discontinuity: u64,
}

/// One programme's air time, for a guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Airing {
    /// The programme (an index into the schedule's programmes).
    pub programme: usize,
    /// Start, Unix microseconds.
    pub start_us: i64,
    /// End, Unix microseconds.
    pub end_us: i64,
}

impl Schedule {
    /// A schedule of `programmes` from `start_us`. Programmes without segments are left out;
    /// `None` when nothing is left to play.
    pub fn new(programmes: Vec<Programme>, order: Order, start_us: i64) -> Option<Schedule> {
        let programmes: Vec<Programme> = programmes
            .into_iter()
            .filter(|p| !p.segments_us.is_empty() && p.segments_us.iter().all(|d| *d > 0))
            .collect();
        if programmes.is_empty() {
            return None;
        }
        let loop_us = programmes.iter().map(Programme::duration_us).sum();
        let segments_per_loop = programmes.iter().map(|p| p.segments_us.len() as u64).sum();
        Some(Schedule {
            programmes,
            order,
            start_us,
            loop_us,
            segments_per_loop,
        })
    }

    /// The epoch, Unix microseconds.
    pub fn start_us(&self) -> i64 {
        self.start_us
    }

    /// The programmes, in library order.
    pub fn programmes(&self) -> &[Programme] {
        &self.programmes
    }

    /// The order of loop `loop_no`: programme indexes. A shuffle is Fisher-Yates driven by
    /// SplitMix64 seeded with the seed and the loop number: the same in every process.
    pub fn order_of(&self, loop_no: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.programmes.len()).collect();
        if let Order::Shuffle { seed } = self.order {
            let mut state = seed ^ loop_no.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            for i in (1..order.len()).rev() {
                let j = (split_mix64(&mut state) % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
        }
        order
    }

    /// The longest segment rounded to whole seconds (RFC 8216 4.3.3.1: every EXTINF rounded
    /// to the nearest integer must not exceed it), over the whole schedule: one
    /// EXT-X-TARGETDURATION for the channel whatever airs.
    pub fn target_duration(&self) -> u64 {
        let longest = self
            .programmes
            .iter()
            .flat_map(|p| &p.segments_us)
            .max()
            .copied()
            .unwrap_or(1);
        ((longest + 500_000) / 1_000_000).max(1) as u64
    }

    /// What airs at `t_us` (Unix microseconds); `None` before the epoch.
    pub fn at(&self, t_us: i64) -> Option<Slot> {
        let since = t_us.checked_sub(self.start_us).filter(|d| *d >= 0)?;
        let loop_no = (since / self.loop_us) as u64;
        let mut into = since % self.loop_us;
        let order = self.order_of(loop_no);
        let mut sequence = loop_no * self.segments_per_loop;
        let mut air_us = self.start_us + loop_no as i64 * self.loop_us;
        for (position, &programme) in order.iter().enumerate() {
            let p = &self.programmes[programme];
            if into >= p.duration_us() {
                into -= p.duration_us();
                air_us += p.duration_us();
                sequence += p.segments_us.len() as u64;
                continue;
            }
            for (segment, &d) in p.segments_us.iter().enumerate() {
                if into < d {
                    return Some(Slot {
                        loop_no,
                        position,
                        programme,
                        segment,
                        air_us,
                        duration_us: d,
                        sequence,
                        discontinuity: loop_no * self.programmes.len() as u64 + position as u64,
                    });
                }
                into -= d;
                air_us += d;
                sequence += 1;
            }
        }
        unreachable!("an offset within the loop lands in one of its programmes")
    }

    /// The segment with media sequence number `sequence` (what [`Schedule::at`] gives for its
    /// air time).
    pub fn by_sequence(&self, sequence: u64) -> Slot {
        let loop_no = sequence / self.segments_per_loop;
        let mut left = sequence % self.segments_per_loop;
        let order = self.order_of(loop_no);
        let mut air_us = self.start_us + loop_no as i64 * self.loop_us;
        for (position, &programme) in order.iter().enumerate() {
            let p = &self.programmes[programme];
            let n = p.segments_us.len() as u64;
            if left >= n {
                left -= n;
                air_us += p.duration_us();
                continue;
            }
            let segment = left as usize;
            air_us += p.segments_us[..segment].iter().sum::<i64>();
            return Slot {
                loop_no,
                position,
                programme,
                segment,
                air_us,
                duration_us: p.segments_us[segment],
                sequence,
                discontinuity: loop_no * self.programmes.len() as u64 + position as u64,
            };
        }
        unreachable!("a sequence number within the loop lands in one of its programmes")
    }

    /// The programmes airing between `from_us` and `until_us` (the one airing at `from_us`
    /// first), for guides.
    pub fn guide(&self, from_us: i64, until_us: i64) -> Vec<Airing> {
        let mut out = Vec::new();
        let Some(first) = self.at(from_us.max(self.start_us)) else {
            return out;
        };
        let (mut loop_no, mut position) = (first.loop_no, first.position);
        let p = &self.programmes[first.programme];
        let mut start = first.air_us - p.segments_us[..first.segment].iter().sum::<i64>();
        while start < until_us {
            let order = self.order_of(loop_no);
            let programme = order[position];
            let end = start + self.programmes[programme].duration_us();
            out.push(Airing {
                programme,
                start_us: start,
                end_us: end,
            });
            start = end;
            position += 1;
            if position == order.len() {
                position = 0;
                loop_no += 1;
            }
        }
        out
    }

    /// The live media playlist at `now_us` (RFC 8216 6.2.2): the last `window` segments that
    /// have started airing. `uri(slot)` names a segment and `init(slot)` its programme's init
    /// segment. No EXT-X-PLAYLIST-TYPE and no EXT-X-ENDLIST; EXT-X-DISCONTINUITY-SEQUENCE from
    /// the first playlist on; at a programme change EXT-X-DISCONTINUITY, the new EXT-X-MAP
    /// and EXT-X-PROGRAM-DATE-TIME (air time), as on the first segment. `None` before the
    /// epoch.
    pub fn live_playlist(
        &self,
        now_us: i64,
        window: usize,
        uri: &dyn Fn(&Slot) -> String,
        init: &dyn Fn(&Slot) -> String,
    ) -> Option<String> {
        let last = self.at(now_us)?;
        let first = last.sequence.saturating_sub(window.max(1) as u64 - 1);
        let slots: Vec<Slot> = (first..=last.sequence)
            .map(|s| self.by_sequence(s))
            .collect();
        let mut s = String::new();
        let _ = write!(
            s,
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{}\n#EXT-X-DISCONTINUITY-SEQUENCE:{}\n#EXT-X-INDEPENDENT-SEGMENTS\n",
            self.target_duration(),
            slots[0].sequence,
            slots[0].discontinuity
        );
        for (i, slot) in slots.iter().enumerate() {
            let changed = i > 0 && slot.discontinuity != slots[i - 1].discontinuity;
            if changed {
                s.push_str("#EXT-X-DISCONTINUITY\n");
            }
            if i == 0 || changed {
                let _ = writeln!(s, "#EXT-X-MAP:URI=\"{}\"", init(slot));
                let _ = writeln!(s, "#EXT-X-PROGRAM-DATE-TIME:{}", iso8601(slot.air_us));
            }
            let _ = writeln!(
                s,
                "#EXTINF:{:.6},\n{}",
                slot.duration_us as f64 / 1e6,
                uri(slot)
            );
        }
        Some(s)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small, well-mixed generator whose sequence is
/// fixed by its seed on every platform.
fn split_mix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Unix microseconds as an ISO 8601 UTC time with milliseconds (`2026-01-01T00:00:00.000Z`),
/// the form EXT-X-PROGRAM-DATE-TIME takes (RFC 8216 4.3.2.6). Days to civil date after
/// Howard Hinnant's `civil_from_days`.
pub fn iso8601(us: i64) -> String {
    let ms = us.div_euclid(1000);
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    fn programme(video: &str, segments: &[i64]) -> Programme {
        Programme {
            video: video.into(),
            title: format!("Film {video}"),
            segments_us: segments.iter().map(|s| s * S).collect(),
        }
    }

    /// Three films: 4+4+2 s, 4+3 s, 5 s: a 22 s loop of 6 segments, from t = 1000 s.
    fn schedule(order: Order) -> Schedule {
        Schedule::new(
            vec![
                programme("a", &[4, 4, 2]),
                programme("b", &[4, 3]),
                programme("c", &[5]),
            ],
            order,
            1000 * S,
        )
        .unwrap()
    }

    #[test]
    fn sequence_and_discontinuity_numbers_count_on_across_loops() {
        let s = schedule(Order::Sequential);
        assert_eq!(s.at(999 * S), None, "before the epoch nothing airs");
        let first = s.at(1000 * S).unwrap();
        assert_eq!(
            (first.sequence, first.discontinuity, first.segment),
            (0, 0, 0)
        );
        // 1011 s: film b (from 1010 s), its first segment.
        let b = s.at(1011 * S).unwrap();
        assert_eq!(
            (b.programme, b.segment, b.sequence, b.discontinuity),
            (1, 0, 3, 1)
        );
        assert_eq!(b.air_us, 1010 * S);
        // Loop 2 (from 1044 s), film c (from 1044 + 17 s): 2 loops x 6 segments + 5 before.
        let c = s.at(1062 * S).unwrap();
        assert_eq!(
            (c.loop_no, c.programme, c.sequence, c.discontinuity),
            (2, 2, 17, 8)
        );
        assert_eq!(c.air_us, 1061 * S);
    }

    #[test]
    fn a_sequence_number_leads_back_to_the_slot_of_its_air_time() {
        for order in [Order::Sequential, Order::Shuffle { seed: 7 }] {
            let s = schedule(order);
            for seq in 0..40 {
                let slot = s.by_sequence(seq);
                assert_eq!(s.at(slot.air_us), Some(slot), "{order:?} {seq}");
                assert_eq!(s.at(slot.air_us + slot.duration_us - 1), Some(slot));
            }
        }
    }

    #[test]
    fn shuffle_is_a_permutation_fixed_by_seed_and_loop() {
        let s = schedule(Order::Shuffle { seed: 7 });
        let again = schedule(Order::Shuffle { seed: 7 });
        let orders: Vec<Vec<usize>> = (0..20).map(|k| s.order_of(k)).collect();
        for (k, o) in orders.iter().enumerate() {
            assert_eq!(*o, again.order_of(k as u64));
            let mut sorted = o.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2]);
        }
        assert!(
            orders.iter().any(|o| *o != orders[0]),
            "every loop the same"
        );
        let other = schedule(Order::Shuffle { seed: 8 });
        assert!((0..20).any(|k| other.order_of(k) != orders[k as usize]));
    }

    #[test]
    fn target_duration_bounds_every_rounded_segment_of_the_whole_schedule() {
        let mut s = schedule(Order::Sequential);
        assert_eq!(s.target_duration(), 5);
        s.programmes[1].segments_us[1] = 6_400_000;
        assert_eq!(s.target_duration(), 6);
        s.programmes[1].segments_us[1] = 6_600_000;
        assert_eq!(s.target_duration(), 7);
    }

    #[test]
    fn live_playlist_slides_with_discontinuities_where_films_change() {
        let s = schedule(Order::Sequential);
        let uri = |x: &Slot| format!("{}.m4s", x.sequence);
        let init = |x: &Slot| format!("init-{}.mp4", s.programmes[x.programme].video);
        // 1015.5 s: b's second segment (from 1014 s) is the newest; a window of 4.
        let text = s.live_playlist(1_015_500_000, 4, &uri, &init).unwrap();
        let expected = "#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:5
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI=\"init-a.mp4\"
#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:16:44.000Z
#EXTINF:4.000000,
1.m4s
#EXTINF:2.000000,
2.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI=\"init-b.mp4\"
#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:16:50.000Z
#EXTINF:4.000000,
3.m4s
#EXTINF:3.000000,
4.m4s
";
        assert_eq!(text, expected);
        // Once a's segments slide out, the discontinuity sequence counts the change they
        // took with them, and the first segment carries the map and the date.
        let later = s.live_playlist(1016 * S, 2, &uri, &init).unwrap();
        assert!(
            later.contains("#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n"),
            "{later}"
        );
        assert!(!later.contains("#EXT-X-DISCONTINUITY\n"), "{later}");
        assert!(later.contains("#EXT-X-MAP:URI=\"init-b.mp4\""), "{later}");
        assert!(!later.contains("ENDLIST") && !later.contains("PLAYLIST-TYPE"));
    }

    #[test]
    fn guide_lists_the_programme_airing_now_and_those_after_it() {
        let s = schedule(Order::Sequential);
        let g = s.guide(1005 * S, 1030 * S);
        let shown: Vec<(usize, i64, i64)> = g
            .iter()
            .map(|a| (a.programme, a.start_us / S, a.end_us / S))
            .collect();
        assert_eq!(
            shown,
            [
                (0, 1000, 1010),
                (1, 1010, 1017),
                (2, 1017, 1022),
                (0, 1022, 1032)
            ]
        );
    }

    #[test]
    fn iso8601_dates_are_civil_utc_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        // 2026-01-01T00:00:00Z and a leap day.
        assert_eq!(
            iso8601(1_767_225_600 * S + 1500),
            "2026-01-01T00:00:00.001Z"
        );
        assert_eq!(iso8601(951_782_400 * S), "2000-02-29T00:00:00.000Z");
    }
}
