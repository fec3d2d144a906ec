//! The stub file libavformat parses in place of a real MP4 (see [`stub_file`]).

use super::{boxes, child};

/// A small file that libavformat's mov demuxer opens into the same streams and codec
/// parameters as the real one, in a fraction of the time: the `moov` with every track's
/// sample tables emptied (the sample description, stsd, kept byte for byte) and its edit list
/// dropped. Haema reads the samples itself from the real tables; libavformat only parses the
/// sample descriptions (avcC, hvcC, esds, dac3...).
/// The file's `ftyp` is kept as it was: its brands change how libavformat reads some boxes
/// (QuickTime `qt  ` language codes).
pub fn stub_file(ftyp: Option<&[u8]>, moov: &[u8]) -> Vec<u8> {
    fn bx(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
        out.extend_from_slice(&((body.len() + 8) as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
    }
    fn rewrite(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for b in boxes(data) {
            match &b.kind {
                b"edts" => {}
                b"trak" | b"mdia" | b"minf" => bx(&mut out, &b.kind, &rewrite(b.body)),
                b"stbl" => {
                    let mut stbl = Vec::new();
                    if let Some(stsd) = child(b.body, b"stsd") {
                        bx(&mut stbl, b"stsd", stsd.body);
                    }
                    // Empty 8.6.1.2 stts, 8.7.3 stsz, 8.7.4 stsc, 8.7.5 stco.
                    bx(&mut stbl, b"stts", &[0; 8]);
                    bx(&mut stbl, b"stsz", &[0; 12]);
                    bx(&mut stbl, b"stsc", &[0; 8]);
                    bx(&mut stbl, b"stco", &[0; 8]);
                    bx(&mut out, b"stbl", &stbl);
                }
                _ => bx(&mut out, &b.kind, b.body),
            }
        }
        out
    }
    let mut out = Vec::new();
    if let Some(ftyp) = ftyp {
        bx(&mut out, b"ftyp", ftyp);
    }
    bx(&mut out, b"moov", &rewrite(moov));
    bx(&mut out, b"mdat", &[]);
    out
}
