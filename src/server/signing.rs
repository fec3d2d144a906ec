//! Per-video access tokens in playlist URIs, so a player given only
//! `.../master.m3u8?token=T` can fetch everything the playlists name (VLC, Safari, TVs and IPTV
//! apps can't set an Authorization header).
//!
//! The server's token never goes into a URI it writes: each URI carries `vt=EXPIRES-SIG`, where
//! SIG is HMAC-SHA256 (RFC 2104) keyed with the server's token over the video id and the
//! expiry. It opens that one video's playlists and segments until it expires, so a URI that
//! lands in a log or a cache opens nothing else. Expiries are rounded to the hour, so every
//! server with the same token writes the same playlists within an hour, and a cache in front
//! can key segments on the path alone.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::stream::hex_bytes;

/// The query parameter that carries a per-video token.
pub const PARAM: &str = "vt";

/// How long a per-video token opens its video: a day, and up to an hour more.
const VALID_HOURS: u64 = 24;

/// Signs and checks per-video tokens with the server's token as the key.
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    /// A signer keyed with the server's access token.
    pub fn new(token: &str) -> Signer {
        Signer {
            key: token.as_bytes().to_vec(),
        }
    }

    fn mac(&self, video: i64, expires: u64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(format!("haema-video:{video}:{expires}").as_bytes());
        mac
    }

    /// The token for `video` to write into URIs at Unix time `now`.
    pub fn sign(&self, video: i64, now: u64) -> String {
        let expires = (now / 3600 + VALID_HOURS + 1) * 3600;
        let sig = hex_bytes::encode(&self.mac(video, expires).finalize().into_bytes());
        format!("{expires}-{sig}")
    }

    /// Whether `vt` opens `video` at Unix time `now`: signed with this key, for this video,
    /// not expired. The comparison takes the same time whatever the bytes.
    pub fn verify(&self, video: i64, vt: &str, now: u64) -> bool {
        let Some((expires, sig)) = vt.split_once('-') else {
            return false;
        };
        let Ok(expires) = expires.parse::<u64>() else {
            return false;
        };
        let Some(sig) = hex_bytes::decode(sig) else {
            return false;
        };
        now < expires && self.mac(video, expires).verify_slice(&sig).is_ok()
    }
}

/// Whether `given` is the server's `token`, compared in constant time as the per-video
/// tokens' signatures are: both are hashed first, so neither the length nor the place of the
/// first wrong byte shows in how long the answer takes.
pub fn token_matches(given: &str, token: &str) -> bool {
    use sha2::Digest;
    let (a, b) = (Sha256::digest(given), Sha256::digest(token));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_token_matches_itself_only() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cre", "s3cret"));
        assert!(!token_matches("s3creT", "s3cret"));
        assert!(!token_matches("", "s3cret"));
    }

    const NOW: u64 = 1_780_000_000;

    #[test]
    fn a_video_token_opens_its_video_until_it_expires_and_nothing_else() {
        let s = Signer::new("s3cret");
        let vt = s.sign(7, NOW);
        assert!(!vt.contains("s3cret"));
        assert!(s.verify(7, &vt, NOW));
        assert!(s.verify(7, &vt, NOW + 24 * 3600));
        assert!(!s.verify(7, &vt, NOW + 26 * 3600), "expired");
        assert!(!s.verify(8, &vt, NOW), "another video");
        assert!(
            !Signer::new("other").verify(7, &vt, NOW),
            "another server's key"
        );
        let (expires, sig) = vt.split_once('-').unwrap();
        let later = format!("{}-{sig}", expires.parse::<u64>().unwrap() + 3600);
        assert!(!s.verify(7, &later, NOW), "an expiry moved by hand");
        for junk in [
            "",
            "-",
            "12",
            "x-y",
            "99999999999-zz",
            &format!("{expires}-{}", &sig[2..]),
        ] {
            assert!(!s.verify(7, junk, NOW), "{junk:?}");
        }
    }

    #[test]
    fn tokens_are_the_same_within_an_hour_so_playlists_are_too() {
        let s = Signer::new("k");
        let hour = NOW / 3600 * 3600;
        assert_eq!(s.sign(1, hour), s.sign(1, hour + 3599));
        assert_ne!(s.sign(1, hour), s.sign(1, hour + 3600));
    }
}
