//! BANDWIDTH and AVERAGE-BANDWIDTH against what the variants measure, as Apple's validator
//! measures them: each variant's video segment plus its audio group's default segment, as
//! files, over the EXTINF.

mod common;

use std::path::Path;

use common::*;

/// A variant of a master playlist, as its STREAM-INF line declares it.
struct Variant {
    /// The video rendition's folder.
    video: String,
    /// The folder of its audio group's default rendition.
    audio: Option<String>,
    bandwidth: u64,
    average: u64,
}

/// The variants of a master playlist.
fn variants(tree: &std::path::Path) -> Vec<Variant> {
    let master = std::fs::read_to_string(tree.join("master.m3u8")).unwrap();
    let attr = |line: &str, name: &str| -> Option<String> {
        let at = line.find(&format!("{name}="))? + name.len() + 1;
        let rest = &line[at..];
        Some(match rest.strip_prefix('"') {
            Some(q) => q[..q.find('"')?].to_owned(),
            None => rest.split(',').next()?.to_owned(),
        })
    };
    let lines: Vec<&str> = master.lines().collect();
    let mut defaults = std::collections::HashMap::new();
    for l in lines
        .iter()
        .filter(|l| l.starts_with("#EXT-X-MEDIA:TYPE=AUDIO"))
    {
        let group = attr(l, "GROUP-ID").unwrap();
        let uri = attr(l, "URI").unwrap();
        let rendition = uri.split('/').next().unwrap().to_owned();
        if l.contains("DEFAULT=YES") || !defaults.contains_key(&group) {
            defaults.insert(group, rendition);
        }
    }
    lines
        .windows(2)
        .filter(|w| w[0].starts_with("#EXT-X-STREAM-INF:"))
        .map(|w| {
            let number = |line: &str, name| attr(line, name).unwrap().parse().unwrap();
            Variant {
                video: w[1].split('/').next().unwrap().to_owned(),
                audio: attr(w[0], "AUDIO").map(|g| defaults[&g].clone()),
                bandwidth: number(&w[0].replace("AVERAGE-BANDWIDTH", "AVG"), "BANDWIDTH"),
                average: number(w[0], "AVERAGE-BANDWIDTH"),
            }
        })
        .collect()
}

/// BANDWIDTH bounds what a player fetches, measured as Apple's validator does: each variant's
/// video segment plus its audio group's default segment, as files, over the EXTINF.
#[test]
fn every_variants_bandwidth_bounds_its_measured_peak() {
    for file in all() {
        let t = tree(&file);
        for v in variants(t.path()) {
            let (video, audio, bandwidth) = (&v.video, &v.audio, v.bandwidth);
            for (n, d) in extinfs(t.path(), video).iter().enumerate() {
                let bps = variant_bytes(t.path(), &v, n) as f64 * 8.0 / d;
                assert!(
                    bps <= bandwidth as f64,
                    "{}: {video}+{audio:?} segment {n}: {bps:.0} b/s over BANDWIDTH {bandwidth}",
                    file.display()
                );
            }
        }
    }
}

/// Bytes of a variant's segment `n`: its video segment plus its default audio's, as files.
fn variant_bytes(tree: &std::path::Path, v: &Variant, n: usize) -> u64 {
    let size = |r: &str| {
        std::fs::metadata(tree.join(r).join(format!("{n}.m4s")))
            .unwrap()
            .len()
    };
    size(&v.video) + v.audio.as_deref().map_or(0, size)
}

/// A variant's mean rate over the whole file, and its AVERAGE-BANDWIDTH: (measured, declared).
fn measured_mean(tree: &Path, v: &Variant) -> (f64, u64) {
    let durations = extinfs(tree, &v.video);
    let bytes: u64 = (0..durations.len())
        .map(|n| variant_bytes(tree, v, n))
        .sum();
    (
        bytes as f64 * 8.0 / durations.iter().sum::<f64>(),
        v.average,
    )
}

/// Fails unless every variant of `tree` selected by `which` measures within 15% of its
/// AVERAGE-BANDWIDTH, and returns how many were checked.
fn assert_averages(file: &Path, tree: &Path, which: impl Fn(&Variant) -> bool) -> usize {
    let mut checked = 0;
    for v in variants(tree).iter().filter(|v| which(v)) {
        let (mean, average) = measured_mean(tree, v);
        let ratio = mean / average as f64;
        eprintln!(
            "{}: {}+{:?}: measured {mean:.0} b/s, AVERAGE-BANDWIDTH {average} ({ratio:.3})",
            file.display(),
            v.video,
            v.audio
        );
        assert!(
            (0.85..=1.15).contains(&ratio),
            "{}: {}+{:?} measures {mean:.0} b/s against AVERAGE-BANDWIDTH {average}",
            file.display(),
            v.video,
            v.audio
        );
        checked += 1;
    }
    checked
}

/// AVERAGE-BANDWIDTH is what a variant measures over the file, within 15%: players budget by
/// it, and a figure far above it makes them pick lower quality than the line could carry.
/// A film-like file made here: busy picture (a transcoded rung too), pink-noise sound as AC-3
/// 5.1 (declared rate, AAC made from it), Opus (no rate in Matroska: measured from the
/// file's head) and AAC stereo, all muxed in Matroska byte ranges.
#[test]
fn every_variants_average_bandwidth_is_its_measured_mean() {
    let dir = tempfile::tempdir().unwrap();
    let film = dir.path().join("film.mkv");
    let noise = "anoisesrc=color=pink:amplitude=0.3:r=48000:d=12";
    ffmpeg_make(
        &film,
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=s=854x480:r=24,noise=alls=10:allf=t",
            "-f",
            "lavfi",
            "-i",
            &format!("{noise},pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0"),
            "-f",
            "lavfi",
            "-i",
            &format!("{noise},pan=stereo|c0=c0|c1=c0"),
            "-map",
            "0",
            "-map",
            "1",
            "-map",
            "2",
            "-map",
            "2",
            "-t",
            "12",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            "48",
            "-c:a:0",
            "ac3",
            "-b:a:0",
            "448k",
            "-c:a:1",
            "libopus",
            "-b:a:1",
            "96k",
            "-c:a:2",
            "aac",
            "-b:a:2",
            "128k",
        ],
    );
    let t = tree(&film);
    let checked = assert_averages(&film, t.path(), |_| true);
    assert!(
        checked >= 4,
        "original and a rung, with AAC, Opus and AC-3: {checked}"
    );
    assert!(
        t.path().join("h264-360p").is_dir(),
        "the 480p film has a 360p rung"
    );
}

/// The fixtures too, where the sound is not transcoded: their sound is pure beeps, on which
/// FFmpeg's AAC encoder spends well under its rate (240 of 384 kb/s for the MKV's 5.1; 387 of
/// 384 on pink noise, above).
#[test]
fn fixtures_average_bandwidth_is_their_measured_mean() {
    for file in all() {
        let t = tree(&file);
        // `audio-<n>-<lang>-aac`: AAC made from another codec.
        let transcoded_audio =
            |v: &Variant| v.audio.as_deref().is_some_and(|a| a.ends_with("-aac"));
        assert_averages(&file, t.path(), |v| !transcoded_audio(v));
    }
}
