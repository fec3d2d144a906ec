//! What a rung does to a source's pictures before it scales them: weaves interlaced fields
//! into progressive frames, stands a turned picture upright, and maps HDR to SDR. Written as
//! an FFmpeg filter chain (libavfilter's syntax), chosen from plain facts about the frames, so
//! the choice is tested here without FFmpeg; `media::transcode` runs it.
//!
//! Every filter here works on the frames of one segment alone and in the same way each time,
//! so a rung's segment is the same bytes whichever process makes it, in any order.

use crate::stream::VideoRange;

/// What the decoded pictures of a segment are, as far as the rung's picture work goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pictures {
    /// Degrees clockwise the source's display matrix turns them (0, 90, 180, 270).
    pub rotation: u16,
    /// The first decoded frame is interlaced (two fields woven into one picture).
    pub interlaced: bool,
    /// The transfer characteristic of the first decoded frame.
    pub range: VideoRange,
}

/// The filter chain that makes `p` into upright, progressive SDR pictures in yuv420p (the
/// rungs' 8-bit H.264 and HEVC Main), or `None` when the pictures are that already.
///
/// - Interlaced: `bwdif` (motion-adaptive, better than yadif on motion at the same cost), one
///   frame per frame so the frame rate and every timestamp stay the source's, field order from
///   each frame (`parity=auto`), and only frames flagged interlaced touched (`deint=interlaced`:
///   broadcast mixes progressive and interlaced material).
/// - Turned: `transpose` a quarter turn either way, or both flips for a half turn, as the
///   ffmpeg CLI's autorotate does.
/// - PQ or HLG: to linear light (`zscale`, nominal peak 100 cd/m2), BT.709 primaries in linear
///   float, Hable's filmic curve, then BT.709 transfer and matrix in limited range. Hable keeps
///   detail in both the shadows and the highlights and needs no knowledge of the mastering
///   display (which many files lack), which is why Jellyfin and Plex's software paths offer
///   it; Mobius keeps in-range colours more exact but clips bright highlights, Reinhard
///   darkens the whole picture. `desat=0` leaves colour to the curve.
pub fn filter_chain(p: &Pictures) -> Option<String> {
    let mut chain: Vec<&str> = Vec::new();
    if p.interlaced {
        chain.push("bwdif=mode=send_frame:parity=auto:deint=interlaced");
    }
    match p.rotation % 360 {
        90 => chain.push("transpose=clock"),
        180 => chain.push("hflip,vflip"),
        270 => chain.push("transpose=cclock"),
        _ => {}
    }
    if p.range != VideoRange::Sdr {
        chain.push(
            "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,\
             tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p",
        );
    }
    (!chain.is_empty()).then(|| chain.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pictures(rotation: u16, interlaced: bool, range: VideoRange) -> Pictures {
        Pictures {
            rotation,
            interlaced,
            range,
        }
    }

    #[test]
    fn upright_progressive_sdr_pictures_go_straight_to_the_scaler() {
        assert_eq!(filter_chain(&pictures(0, false, VideoRange::Sdr)), None);
        assert_eq!(filter_chain(&pictures(360, false, VideoRange::Sdr)), None);
    }

    #[test]
    fn each_quarter_turn_is_undone_the_way_the_ffmpeg_cli_autorotates() {
        let turn = |r| filter_chain(&pictures(r, false, VideoRange::Sdr)).unwrap();
        assert_eq!(turn(90), "transpose=clock");
        assert_eq!(turn(180), "hflip,vflip");
        assert_eq!(turn(270), "transpose=cclock");
    }

    #[test]
    fn interlaced_hdr_turned_pictures_are_woven_before_turning_and_tone_mapped_last() {
        let chain = filter_chain(&pictures(90, true, VideoRange::Pq)).unwrap();
        let bwdif = chain.find("bwdif=mode=send_frame").unwrap();
        let turn = chain.find("transpose=clock").unwrap();
        let map = chain.find("tonemap=tonemap=hable").unwrap();
        assert!(bwdif < turn && turn < map, "{chain}");
        assert!(chain.ends_with("format=yuv420p"));
    }

    #[test]
    fn hlg_is_tone_mapped_like_pq() {
        assert_eq!(
            VideoRange::of_transfer(Some("arib-std-b67")),
            VideoRange::Hlg
        );
        assert_eq!(VideoRange::of_transfer(Some("bt709")), VideoRange::Sdr);
        let hlg = filter_chain(&pictures(0, false, VideoRange::Hlg)).unwrap();
        assert_eq!(Some(hlg), filter_chain(&pictures(0, false, VideoRange::Pq)));
    }
}
