//! Sample-rate conversion of decoded sound: a windowed-sinc filter evaluated at each output
//! sample's own instant, so any span of output is a function of the input around it alone.
//! Two segments made apart (in two processes, in either order) join sample for sample as if
//! made at once, which a streaming resampler carrying state from call to call can't promise.
//! A rung channel airs every programme at one rate (AAC's configuration can't change
//! mid-stream for a player that keeps the first init): a 44.1 kHz film is brought to 48 kHz.
//!
//! Pure: plain numbers in and out. Positions are sample counts on a shared origin: output
//! sample `p` stands for the instant `p / rate_out`, input sample `i` for `i / rate_in`.

/// Zero crossings of the filter on each side, at the lower of the two rates: with a Blackman
/// window, 32 make the band between the cutoff and the lower Nyquist frequency narrow enough
/// that a 23 kHz tone taken from 48 to 44.1 kHz is left at under -34 dB (16 leave -27 dB), for
/// 64 multiplications a sample and channel.
const ZEROS: i64 = 32;

/// Where the filter passes (fraction of the lower Nyquist frequency): 20.9 kHz of 44.1 kHz's
/// 22.05, above what the AAC encoder keeps at a channel's bit rate.
const PASSBAND: f64 = 0.95;

/// Phases kept in a table when the rates' ratio has at most this many (44.1 -> 48 kHz has 160);
/// rarer ratios compute each sample's filter as they go.
const MAX_TABLE: i64 = 4096;

/// Input samples each side of an output sample's instant that it reads: how far beyond a
/// span the input must reach.
pub fn reach(rate_in: u32, rate_out: u32) -> i64 {
    let ratio = (f64::from(rate_out) / f64::from(rate_in.max(1))).min(1.0);
    (ZEROS as f64 / ratio).ceil() as i64
}

/// The output samples `from..to` (at `rate_out`) of planar sound whose sample 0 of each plane
/// is input position `start` (at `rate_in`); input outside the planes counts as silence.
pub fn resample(
    planes: &[Vec<f32>],
    start: i64,
    rate_in: u32,
    rate_out: u32,
    from: i64,
    to: i64,
) -> Vec<Vec<f32>> {
    let (rin, rout) = (i64::from(rate_in.max(1)), i64::from(rate_out.max(1)));
    let g = gcd(rin, rout);
    let phases = rout / g;
    let n = reach(rate_in, rate_out);
    // Cycles per input sample where the filter cuts: the lower rate's Nyquist, less a margin.
    let cutoff = 0.5 * PASSBAND * (rout as f64 / rin as f64).min(1.0);
    let table: Option<Vec<Vec<f64>>> = (phases <= MAX_TABLE).then(|| {
        (0..phases)
            .map(|q| kernel(q * g, rout, n, cutoff))
            .collect()
    });
    let len = usize::try_from(to - from).unwrap_or(0);
    let mut out = vec![vec![0f32; len]; planes.len()];
    for (j, p) in (from..to).enumerate() {
        // The instant p / rout in input samples: i0 + phase / rout.
        let at = i128::from(p) * i128::from(rin);
        let i0 = at.div_euclid(i128::from(rout)) as i64;
        let phase = at.rem_euclid(i128::from(rout)) as i64;
        let own;
        let weights = match &table {
            Some(t) => &t[(phase / g) as usize],
            None => {
                own = kernel(phase, rout, n, cutoff);
                &own
            }
        };
        let lo = i0 - n + 1 - start;
        for (plane, dst) in planes.iter().zip(out.iter_mut()) {
            let inside = usize::try_from(lo)
                .ok()
                .and_then(|lo| plane.get(lo..lo + weights.len()));
            dst[j] = match inside {
                Some(xs) => xs
                    .iter()
                    .zip(weights)
                    .map(|(&x, w)| f64::from(x) * w)
                    .sum::<f64>(),
                // At the edges: what lies outside the planes is silence.
                None => weights
                    .iter()
                    .enumerate()
                    .filter_map(|(k, w)| {
                        let i = usize::try_from(lo + k as i64).ok()?;
                        Some(f64::from(*plane.get(i)?) * w)
                    })
                    .sum::<f64>(),
            } as f32;
        }
    }
    out
}

/// The filter's weights for input samples `i0 - n + 1 ..= i0 + n` at an instant `phase / rout`
/// past `i0`: a Blackman-windowed sinc cut at `cutoff` cycles per input sample, scaled so that
/// the weights add up to 1 (steady sound keeps its level at every phase).
fn kernel(phase: i64, rout: i64, n: i64, cutoff: f64) -> Vec<f64> {
    let frac = phase as f64 / rout as f64;
    let mut w: Vec<f64> = (-n + 1..=n)
        .map(|k| {
            let d = k as f64 - frac;
            let u = d / n as f64;
            if u.abs() >= 1.0 {
                return 0.0;
            }
            let x = 2.0 * cutoff * d;
            let sinc = if x == 0.0 {
                1.0
            } else {
                (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
            };
            let window = 0.42
                + 0.5 * (std::f64::consts::PI * u).cos()
                + 0.08 * (2.0 * std::f64::consts::PI * u).cos();
            sinc * window
        })
        .collect();
    let sum: f64 = w.iter().sum();
    if sum != 0.0 {
        w.iter_mut().for_each(|v| *v /= sum);
    }
    w
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs().max(1)
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f64, from: i64, len: usize) -> Vec<f32> {
        (0..len)
            .map(|k| {
                let t = (from + k as i64) as f64 / f64::from(rate);
                (2.0 * std::f64::consts::PI * hz * t).sin() as f32 * 0.5
            })
            .collect()
    }

    /// The largest difference between two runs of samples.
    fn worst(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max)
    }

    #[test]
    fn a_tone_at_44_1_khz_comes_out_the_same_tone_at_48_khz_in_phase() {
        let input = sine(44_100, 1000.0, 0, 44_100);
        let out = resample(&[input], 0, 44_100, 48_000, 4800, 43_200);
        let want = sine(48_000, 1000.0, 4800, 38_400);
        let worst = worst(&out[0], &want);
        assert!(worst < 1e-3, "off by {worst}");
    }

    #[test]
    fn spans_made_apart_join_exactly_as_one_span() {
        let input = vec![
            sine(44_100, 440.0, -2000, 20_000),
            sine(44_100, 97.0, -2000, 20_000),
        ];
        let whole = resample(&input, -2000, 44_100, 48_000, 0, 9000);
        let a = resample(&input, -2000, 44_100, 48_000, 0, 4321);
        let b = resample(&input, -2000, 44_100, 48_000, 4321, 9000);
        for c in 0..2 {
            assert_eq!([a[c].clone(), b[c].clone()].concat(), whole[c]);
        }
    }

    #[test]
    fn steady_sound_keeps_its_level_and_tones_above_the_lower_nyquist_are_removed() {
        let dc = vec![0.25f32; 10_000];
        let out = resample(&[dc], 0, 44_100, 48_000, 1000, 9000);
        assert!(out[0].iter().all(|v| (v - 0.25).abs() < 1e-6));
        // 48 -> 44.1 kHz: a 23 kHz tone has no place below 22.05 kHz.
        let high = sine(48_000, 23_000.0, 0, 48_000);
        let out = resample(&[high], 0, 48_000, 44_100, 4410, 39_690);
        let peak = out[0].iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(peak < 0.01, "{peak}");
    }

    #[test]
    fn rates_without_a_small_ratio_compute_their_filter_per_sample() {
        // 44_100 -> 47_999: 47_999 phases, over the table's limit; the same tone comes out.
        let input = sine(44_100, 1000.0, 0, 8820);
        let out = resample(&[input], 0, 44_100, 47_999, 2000, 7000);
        let want = sine(47_999, 1000.0, 2000, 5000);
        let worst = worst(&out[0], &want);
        assert!(worst < 1e-3, "off by {worst}");
    }
}
