//! Just enough EBML (RFC 8794) to tell whether a Matroska file has Cues (RFC 9559 5.1.5).
//!
//! libavformat builds index entries from the packets it happens to read when a file has no
//! Cues, so its index alone can't say whether the keyframe list is complete. The SeekHead at the
//! front of the Segment can: it lists a Cues element when there is one. Pure: bytes in.

const EBML_HEADER: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const CUES: u32 = 0x1C53_BB6B;
const CLUSTER: u32 = 0x1F43_B675;

/// An element ID (RFC 8794 5: the length marker is kept as part of the ID).
fn read_id(b: &[u8]) -> Option<(u32, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 4 || b.len() < len {
        return None;
    }
    Some((
        b[..len].iter().fold(0u32, |a, x| (a << 8) | u32::from(*x)),
        len,
    ))
}

/// An element data size (RFC 8794 6: marker removed; all ones means unknown, `None` here).
fn read_size(b: &[u8]) -> Option<(Option<u64>, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || b.len() < len {
        return None;
    }
    let mask = if len == 8 { 0 } else { 0xffu8 >> len };
    let mut v = u64::from(first & mask);
    for x in &b[1..len] {
        v = (v << 8) | u64::from(*x);
    }
    let unknown = v == (1u64 << (7 * len)) - 1;
    Some(((!unknown).then_some(v), len))
}

/// Iterates (id, data) of the elements in `b`; an unknown size runs to the end of `b`.
fn elements(mut b: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    std::iter::from_fn(move || {
        let (id, il) = read_id(b)?;
        let (size, sl) = read_size(&b[il..])?;
        let start = il + sl;
        let end = match size {
            Some(s) => start.checked_add(usize::try_from(s).ok()?)?.min(b.len()),
            None => b.len(),
        };
        let data = &b[start..end];
        b = &b[end..];
        Some((id, data))
    })
}

/// Where the Cues of a Matroska file start (byte offset in the file), from the start of the
/// file (its first few tens of KiB): listed in the SeekHead, or present before the first
/// Cluster. `None` when the head shows no Cues. A truncated file may list Cues past its end:
/// compare with the file size.
pub fn cues_position(head: &[u8]) -> Option<u64> {
    let mut top = elements(head);
    let (EBML_HEADER, _) = top.next()? else {
        return None;
    };
    let (SEGMENT, segment) = top.next()? else {
        return None;
    };
    // SeekPosition counts from the first byte of the Segment's data.
    let segment_start = (segment.as_ptr() as usize - head.as_ptr() as usize) as u64;
    for (id, data) in elements(segment) {
        match id {
            CUES => return Some(data.as_ptr() as u64 - head.as_ptr() as u64),
            SEEK_HEAD => {
                for (_, seek) in elements(data).filter(|(id, _)| *id == SEEK) {
                    let mut is_cues = false;
                    let mut pos = None;
                    for (id, v) in elements(seek) {
                        match id {
                            SEEK_ID => is_cues = v == CUES.to_be_bytes(),
                            SEEK_POSITION => {
                                pos = Some(v.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
                            }
                            _ => {}
                        }
                    }
                    if let (true, Some(p)) = (is_cues, pos) {
                        return Some(segment_start + p);
                    }
                }
            }
            CLUSTER => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(id: u32, data: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = id
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        v.push(0x80 | data.len() as u8); // 1-byte size; test data is small
        v.extend_from_slice(data);
        v
    }

    fn file(segment_children: &[Vec<u8>], unknown_size: bool) -> Vec<u8> {
        let body = segment_children.concat();
        let mut v = el(EBML_HEADER, &[0x42, 0x82, 0x88]);
        v.extend(SEGMENT.to_be_bytes());
        if unknown_size {
            v.push(0xff);
        } else {
            v.extend([0x01, 0, 0, 0, 0, 0, 0, body.len() as u8]);
        }
        v.extend(body);
        v
    }

    #[test]
    fn seekhead_listing_cues_gives_their_file_offset() {
        let seek = el(
            SEEK,
            &[
                el(SEEK_ID, &CUES.to_be_bytes()),
                el(SEEK_POSITION, &[0x10, 0x00]),
            ]
            .concat(),
        );
        let f = file(&[el(SEEK_HEAD, &seek), el(CLUSTER, &[0; 4])], false);
        // EBML header (4 + 1 + 3 bytes), Segment ID (4) and 8-byte size: data starts at 20.
        assert_eq!(cues_position(&f), Some(20 + 0x1000));
    }

    #[test]
    fn live_written_file_without_seekhead_has_no_cues() {
        let info = el(0x1549_A966, &[0; 3]);
        let f = file(&[info, el(CLUSTER, &[0; 8])], true);
        assert_eq!(cues_position(&f), None);
    }

    #[test]
    fn seekhead_without_cues_entry_has_no_cues() {
        let seek = el(SEEK, &el(SEEK_ID, &0x1549_A966u32.to_be_bytes()));
        let f = file(&[el(SEEK_HEAD, &seek), el(CLUSTER, &[0; 4])], false);
        assert_eq!(cues_position(&f), None);
    }

    #[test]
    fn garbage_is_not_matroska_with_cues() {
        assert_eq!(cues_position(b""), None);
        assert_eq!(cues_position(&[0xff; 100]), None);
        assert_eq!(cues_position(&[0x1A, 0x45, 0xDF, 0xA3, 0x00]), None);
    }
}
