//! Rational numbers and exact tick arithmetic: time bases, frame rates, rescaling.
//!
//! Plain integers, no FFmpeg: the timeline, the MP4 reader and writer and the muxer all rescale
//! with the same rounding, so every process computes the same timestamps.

/// A rational number as FFmpeg uses it for time bases and frame rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rational {
    /// Numerator.
    pub num: i64,
    /// Denominator (never 0 for a valid time base).
    pub den: i64,
}

impl Rational {
    /// A new rational.
    pub const fn new(num: i64, den: i64) -> Self {
        Rational { num, den }
    }

    /// As a float; 0 when the denominator is 0 (FFmpeg's "unknown").
    pub fn as_f64(self) -> f64 {
        if self.den == 0 {
            0.0
        } else {
            self.num as f64 / self.den as f64
        }
    }
}

/// Divides rounding half away from zero, exactly, in 128-bit.
pub fn div_round(num: i128, den: i128) -> i128 {
    assert!(den != 0, "division by zero in timestamp arithmetic");
    let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
    if num >= 0 {
        (num + den / 2) / den
    } else {
        -((-num + den / 2) / den)
    }
}

/// Converts ticks of one time base into another, rounding to nearest.
pub fn convert(v: i64, from: Rational, to: Rational) -> i64 {
    if from == to {
        return v;
    }
    div_round(
        v as i128 * from.num as i128 * to.den as i128,
        from.den as i128 * to.num as i128,
    ) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(
            convert(1, Rational::new(1, 1000), Rational::new(1, 16000)),
            16
        );
    }
}
