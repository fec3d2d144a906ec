//! Packet-level checks of the MP4 reader against libavformat's own reading.

use super::*;
use crate::stream::Kind;

/// What a packet carries that a muxer or decoder reads.
#[derive(Debug, Clone, PartialEq)]
struct Fields {
    stream: usize,
    pts: Option<i64>,
    dts: Option<i64>,
    duration: i64,
    keyframe: bool,
    discard: bool,
    pos: i64,
    data: Vec<u8>,
    skip: Vec<u8>,
}

fn fields(p: &Packet) -> Fields {
    let skip = p
        .inner
        .side_data()
        .find(|s| s.kind() == ff::packet::side_data::Type::SkipSamples)
        .map(|s| s.data().to_vec())
        .unwrap_or_default();
    Fields {
        stream: p.stream,
        pts: p.pts,
        dts: p.dts,
        duration: p.duration,
        keyframe: p.keyframe,
        discard: p.inner.flags().bits() & ffi::AV_PKT_FLAG_DISCARD != 0,
        pos: p.pos,
        data: p.data().to_vec(),
        skip,
    }
}

#[test]
fn mp4_samples_read_from_the_tables_equal_libavformats_packets() {
    let files = crate::fixture_files(&["mp4"]);
    assert!(
        files.len() >= 2,
        "fixtures missing: run fixtures/make-fixtures.sh"
    );
    for path in files {
        let mut ours = Source::open(&path, OpenMode::Header).unwrap();
        let mut theirs = Source::open_with(&path, OpenMode::Header, false).unwrap();
        assert!(ours.reads_sample_tables() && !theirs.reads_sample_tables());
        let (a, b) = (ours.streams(), theirs.streams());
        assert_eq!(a.len(), b.len());
        for (a, b) in a.iter().zip(&b) {
            assert_eq!(
                (
                    &a.codec,
                    a.width,
                    a.height,
                    a.sample_rate,
                    a.channels,
                    &a.extradata
                ),
                (
                    &b.codec,
                    b.width,
                    b.height,
                    b.sample_rate,
                    b.channels,
                    &b.extradata
                ),
            );
            assert_eq!(
                (a.time_base, a.bit_rate, a.frame_rate),
                (b.time_base, b.bit_rate, b.frame_rate)
            );
            assert_eq!(
                (&a.language, a.default, a.video_delay),
                (&b.language, b.default, b.video_delay)
            );
        }
        // Per stream: libavformat runs AC-3 and E-AC-3 through its parser, which hands
        // each packet out one read later, so the interleaving differs; each stream's
        // packets must not.
        let per_stream = |src: &mut Source, limit: usize| {
            let mut out: Vec<Vec<Fields>> = vec![Vec::new(); a.len()];
            for _ in 0..limit {
                let Some(p) = src.read().unwrap() else { break };
                out[p.stream].push(fields(&p));
            }
            out
        };
        // Read to the end, every stream's packets are the same, all of them; a read of the
        // first packets after a seek may cut each stream off at a different point (exact:
        // false), by at most the two packets the interleaving can differ by.
        let same_prefix = |x: &[Vec<Fields>], y: &[Vec<Fields>], what: &str, exact: bool| {
            for (s, (x, y)) in x.iter().zip(y).enumerate() {
                if exact {
                    assert_eq!(x.len(), y.len(), "{path:?} {what} stream {s}: packet count");
                }
                // After a seek libavformat may start the other streams a frame earlier
                // (it searches them by decode time less their first corrected time):
                // compare from the first packet both have.
                let from = y
                    .iter()
                    .position(|p| p.pts == x.first().and_then(|q| q.pts));
                if exact {
                    assert_eq!(from, Some(0), "{path:?} {what} stream {s}: first packet");
                }
                let y = &y[from.unwrap_or(0)..];
                let n = x.len().min(y.len());
                assert!(n + 2 >= x.len().max(y.len()), "{path:?} {what} stream {s}");
                for i in 0..n {
                    assert!(
                        x[i] == y[i],
                        "{path:?} {what} stream {s} packet {i}: {:?} vs {:?}",
                        (x[i].pts, x[i].dts, x[i].pos),
                        (y[i].pts, y[i].dts, y[i].pos)
                    );
                }
            }
        };
        same_prefix(
            &per_stream(&mut ours, usize::MAX),
            &per_stream(&mut theirs, usize::MAX),
            "whole file",
            true,
        );
        // After a seek to a keyframe in the middle, and after a rewind, the same again.
        let video = a.iter().position(|s| s.kind == Kind::Video).unwrap();
        let key = ours
            .mp4_track(video)
            .unwrap()
            .keyframe_pts()
            .get(2)
            .copied()
            .unwrap();
        for rewind in [false, true] {
            if rewind {
                ours.rewind(video, 0).unwrap();
                theirs.rewind(video, 0).unwrap();
            } else {
                ours.seek(video, key).unwrap();
                theirs.seek(video, key).unwrap();
            }
            let what = if rewind { "rewind" } else { "seek" };
            same_prefix(
                &per_stream(&mut ours, 200),
                &per_stream(&mut theirs, 200),
                what,
                false,
            );
        }
    }
}
