//! FNV-1a, 64 bits: the one digest behind everything that must come out the same in every
//! process, on every machine and with every Rust version (`std`'s hashers promise none of
//! that): library ids, source and schedule versions, cache keys, ETags.
//!
//! Not a cryptographic hash: nothing here defends against a chosen collision, only against
//! chance ones (see [`crate::library::video_id`] for the odds).

/// FNV-1a 64 of `bytes` (the FNV reference's offset basis and prime). `const`, so that tests
/// can name a fixture's library id as a constant.
pub const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_the_fnv_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
