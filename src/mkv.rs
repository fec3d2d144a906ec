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

/// Whether the start of a Matroska file (its first few tens of KiB) shows Cues: listed in the
/// SeekHead, or present before the first Cluster.
pub fn has_cues(head: &[u8]) -> bool {
    let mut top = elements(head);
    let Some((EBML_HEADER, _)) = top.next() else {
        return false;
    };
    let Some((SEGMENT, segment)) = top.next() else {
        return false;
    };
    for (id, data) in elements(segment) {
        match id {
            CUES => return true,
            SEEK_HEAD => {
                let listed = elements(data)
                    .filter(|(id, _)| *id == SEEK)
                    .flat_map(|(_, seek)| elements(seek))
                    .any(|(id, v)| id == SEEK_ID && v == CUES.to_be_bytes());
                if listed {
                    return true;
                }
            }
            CLUSTER => return false,
            _ => {}
        }
    }
    false
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
    fn seekhead_listing_cues_means_cues() {
        let seek = el(
            SEEK,
            &[el(SEEK_ID, &CUES.to_be_bytes()), el(0x53AC, &[0x10, 0x00])].concat(),
        );
        let f = file(&[el(SEEK_HEAD, &seek), el(CLUSTER, &[0; 4])], false);
        assert!(has_cues(&f));
    }

    #[test]
    fn live_written_file_without_seekhead_has_no_cues() {
        let info = el(0x1549_A966, &[0; 3]);
        let f = file(&[info, el(CLUSTER, &[0; 8])], true);
        assert!(!has_cues(&f));
    }

    #[test]
    fn seekhead_without_cues_entry_has_no_cues() {
        let seek = el(SEEK, &el(SEEK_ID, &0x1549_A966u32.to_be_bytes()));
        let f = file(&[el(SEEK_HEAD, &seek), el(CLUSTER, &[0; 4])], false);
        assert!(!has_cues(&f));
    }

    #[test]
    fn garbage_is_not_matroska_with_cues() {
        assert!(!has_cues(b""));
        assert!(!has_cues(&[0xff; 100]));
        assert!(!has_cues(&[0x1A, 0x45, 0xDF, 0xA3, 0x00]));
    }
}
