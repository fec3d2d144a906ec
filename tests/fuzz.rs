//! Fuzz targets for every parser of bytes Haema did not write: the MP4 box, sample-table and
//! fragment readers, the Matroska SeekHead/Cues reader, the codec configuration records, the
//! subtitle parsers, and the URL and query decoding of the server.
//!
//! Each target is a bolero check: under `cargo test` (stable Rust) it replays its committed
//! corpus (`tests/__fuzz__/fuzz__<target>/corpus/`, written from the fixtures by
//! `scripts/fuzz-seeds.py`) and then runs random inputs for a bounded count; `scripts/fuzz.sh`
//! runs each one longer. Every input is tried as it is, and as a program of mutations (flips,
//! overwrites, cuts, insertions) applied to one of the corpus seeds, so random bytes reach deep
//! into real structures. The property is always the same: any bytes give a value or `None`,
//! never a panic or a hang. A finding goes into the corpus, so every test run replays it.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use haema::server::http::query_param;
use haema::server::route::Route;
use haema::subtitle::{self, Format};
use haema::{codecs, mkv, mp4};

/// Inputs up to this size: enough for a moov with a few tracks or a page of subtitles.
const MAX_LEN: usize = 64 * 1024;

/// The seeds of a target: its committed corpus.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    static SEEDS: OnceLock<Mutex<HashMap<String, Vec<Vec<u8>>>>> = OnceLock::new();
    let all = SEEDS.get_or_init(Default::default);
    let mut all = all.lock().unwrap();
    all.entry(target.to_owned())
        .or_insert_with(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/__fuzz__")
                .join(format!("fuzz__{target}"))
                .join("corpus");
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            files.sort();
            files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
        })
        .clone()
}

/// The input as it is, and as mutations of one of the target's seeds: the first byte picks
/// the seed, then each 4 bytes are (operation, position high, position low, value).
fn inputs(target: &str, input: &[u8]) -> Vec<Vec<u8>> {
    let seeds = seeds(target);
    let mut out = vec![input.to_vec()];
    let Some((&pick, program)) = input.split_first() else {
        return out;
    };
    if seeds.is_empty() {
        return out;
    }
    let mut m = seeds[pick as usize % seeds.len()].clone();
    for op in program.chunks_exact(4).take(16) {
        if m.is_empty() {
            break;
        }
        let at = usize::from(u16::from_be_bytes([op[1], op[2]])) * m.len() / 65536;
        match op[0] % 5 {
            0 => m[at] ^= 1 << (op[3] % 8),
            1 => m[at] = op[3],
            2 => m.truncate(at.max(1)),
            3 => m.insert(at, op[3]),
            _ => {
                // A length field made huge or zero: what damaged headers look like.
                let end = (at + 4).min(m.len());
                m[at..end].fill(if op[3] % 2 == 0 { 0xff } else { 0 });
            }
        }
    }
    out.push(m);
    out
}

#[test]
fn mp4_boxes_and_sample_tables() {
    bolero::check!()
        .with_max_len(MAX_LEN)
        .for_each(|input: &[u8]| {
            for data in inputs("mp4_boxes_and_sample_tables", input) {
                let data = &data[..];
                for b in mp4::boxes(data) {
                    let _ = mp4::contains_box(b.body, b"stbl");
                }
                if let Some(tracks) = mp4::parse_moov(data) {
                    for t in &tracks {
                        // Every sample the table claims, with its times and offset.
                        for (s, _) in t.samples().take(10_000) {
                            let _ = (s.dts, s.pts, s.size, s.sync);
                        }
                        let _ = t.keyframe_pts();
                    }
                }
                let _ = mp4::stub_file(None, data);
                let _ = mp4::read_top(&mut Cursor::new(data));
            }
        });
}

#[test]
fn mp4_fragments_and_init_segments() {
    bolero::check!()
        .with_max_len(MAX_LEN)
        .for_each(|input: &[u8]| {
            for data in inputs("mp4_fragments_and_init_segments", input) {
                let data = &data[..];
                let _ = mp4::parse_fragment(data);
                let _ = mp4::init_timescale(data);
            }
        });
}

#[test]
fn matroska_seekhead_and_cues() {
    bolero::check!()
        .with_max_len(MAX_LEN)
        .for_each(|input: &[u8]| {
            for data in inputs("matroska_seekhead_and_cues", input) {
                let data = &data[..];
                let _ = mkv::cues_position(data);
            }
        });
}

#[test]
fn codec_configuration_records() {
    bolero::check!()
        .with_max_len(4096)
        .for_each(|input: &[u8]| {
            for data in inputs("codec_configuration_records", input) {
                let data = &data[..];
                for codec in [
                    "h264", "hevc", "av1", "vp9", "aac", "opus", "ac3", "eac3", "flac", "mp3",
                ] {
                    let _ = codecs::codec_string(codec, data, Some(10));
                    let _ = codecs::has_idr(codec, data, codecs::nal_length_size(codec, data));
                }
                let _ = codecs::aac_object_type(data);
                let _ = codecs::annexb_nals(data).count();
            }
        });
}

#[test]
fn subtitle_files_and_packets() {
    bolero::check!()
        .with_max_len(MAX_LEN)
        .for_each(|input: &[u8]| {
            for data in inputs("subtitle_files_and_packets", input) {
                let data = &data[..];
                let text = String::from_utf8_lossy(data);
                for format in [Format::Srt, Format::Ass, Format::Vtt, Format::MovText] {
                    let cues = subtitle::parse(format, &text);
                    let _ = subtitle::segment(&cues, 0.0, 4.0, 0);
                    let _ = subtitle::packet_text(format, data);
                }
            }
        });
}

#[test]
fn urls_and_queries() {
    bolero::check!()
        .with_max_len(4096)
        .for_each(|input: &[u8]| {
            for data in inputs("urls_and_queries", input) {
                let data = &data[..];
                let url = String::from_utf8_lossy(data);
                for method in ["GET", "HEAD", "PUT", "POST", "DELETE"] {
                    if let Ok(route) = Route::decode(method, &url) {
                        let _ = (route.is_public(), route.is_segment(), route.video());
                    }
                }
                let _ = query_param(&url, "search");
                let _ = query_param(&url, "vt");
            }
        });
}
