//! The plan on real probes: bitmap subtitles, forced ones, a channel's rungs and sound.

use super::*;

/// A fixture with a PGS track added to its probe: `forced`, in `language`.
fn with_pgs(forced: bool, language: &str) -> (MediaInfo, usize) {
    let path = crate::fixture_files(&["mkv"]).remove(0);
    let mut info = crate::probe::probe_with(&path, crate::probe::Depth::Segments).unwrap();
    let audio = info
        .streams
        .iter()
        .position(|s| s.kind == Kind::Audio)
        .unwrap();
    let mut pgs = info.streams[audio].clone();
    pgs.index = info.streams.len();
    pgs.kind = Kind::Subtitle;
    pgs.codec = "hdmv_pgs_subtitle".into();
    pgs.forced = forced;
    pgs.default = false;
    pgs.language = Some(language.into());
    let spoken = info.streams[audio].language.clone();
    for s in info.streams.iter_mut().filter(|s| s.kind == Kind::Audio) {
        s.language = spoken.clone().or(Some("eng".into()));
    }
    info.streams.push(pgs);
    let n = info.streams.len() - 1;
    (info, n)
}

/// A channel cuts at keyframes: a rung cut finer on demand gets a twin cut at keyframes,
/// and anything else is used as it is.
#[test]
fn a_channel_gets_a_keyframe_cut_twin_of_a_rung_cut_finer() {
    let path = crate::fixture_files(&["mkv"])
        .into_iter()
        .find(|p| p.to_string_lossy().contains("Clock (2024)"))
        .unwrap();
    let info = crate::probe::probe_with(&path, crate::probe::Depth::Segments).unwrap();
    let mut p = plan(&info, 4.0).unwrap();
    let fine = p
        .rung_timeline
        .clone()
        .expect("the fixture has a GOP over 6 s");
    // The fixture's ladder has no rung (360p is its own size): one a channel adds is cut at
    // keyframes already; marked as the ladder's rungs are, it is cut finer.
    let rung = p.with_rung(&info, RungCodec::H264, 360).unwrap();
    assert_eq!(p.timeline_of(p.rendition(&rung).unwrap()), &p.timeline);
    assert_eq!(p.with_keyframe_cuts(&rung).unwrap(), rung);
    p.renditions
        .iter_mut()
        .find(|r| r.id == rung)
        .unwrap()
        .rung_cuts = true;
    assert_eq!(p.timeline_of(p.rendition(&rung).unwrap()), &fine);
    let twin = p.with_keyframe_cuts(&rung).unwrap();
    assert_eq!(twin, format!("{rung}-keyframes"));
    assert_eq!(p.timeline_of(p.rendition(&twin).unwrap()), &p.timeline);
    assert_eq!(p.with_keyframe_cuts(&twin).unwrap(), twin);
    assert_eq!(p.with_keyframe_cuts("original").unwrap(), "original");
}

/// A bitmap track gets rungs with it drawn in, apart from the master's variants; a forced
/// one in the spoken language takes the variants' place (no copy can show it), and one in
/// another language does not.
#[test]
fn forced_bitmap_subtitles_in_the_spoken_language_are_burned_into_every_offered_variant() {
    let (info, pgs) = with_pgs(false, "eng");
    let p = plan(&info, 4.0).unwrap();
    assert_eq!(p.burn_ins.len(), 1);
    assert!(
        p.burned(pgs).next().is_some(),
        "the source-size rung at least"
    );
    assert!(p.offered_videos().all(|r| r.burn.is_none()));
    assert!(p.offered_videos().any(|r| r.method == Method::Copy));
    assert!(p.skipped.iter().all(|s| s.stream != pgs));

    let spoken = info.streams.iter().find(|s| s.kind == Kind::Audio).unwrap();
    let spoken = spoken.language.clone().unwrap();
    let (info, pgs) = with_pgs(true, &spoken);
    let p = plan(&info, 4.0).unwrap();
    assert_eq!(p.forced_burn, Some(pgs));
    let offered: Vec<&str> = p.offered_videos().map(|r| r.id.as_str()).collect();
    let burned: Vec<&str> = p.burned(pgs).map(|r| r.id.as_str()).collect();
    assert_eq!(offered, burned);
    assert!(p.burn_ins[0].name.ends_with("(forced)"), "{:?}", p.burn_ins);

    let (info, _) = with_pgs(true, "jpn");
    let p = plan(&info, 4.0).unwrap();
    assert_eq!(p.forced_burn, None);
}

/// What a rung channel airs of a file's sound: AAC-LC stereo at 48 kHz whatever the
/// track, added beside the on-demand renditions and named for what it does; a rendition
/// that already is that is used as it is.
#[test]
fn a_rung_channel_airs_aac_stereo_at_48_khz_whatever_the_track() {
    let path = crate::fixture_files(&["mkv"]).remove(0);
    let mut info = crate::probe::probe_with(&path, crate::probe::Depth::Segments).unwrap();
    let default_aac = |pres: &Presentation| {
        let r = pres
            .renditions
            .iter()
            .find(|r| r.default && r.codecs.starts_with("mp4a"));
        r.unwrap().id.clone()
    };
    let target = |pres: &Presentation, id: &str| match &pres.rendition(id).unwrap().method {
        Method::Aac(t) => (t.channels, t.sample_rate),
        other => panic!("{id}: {other:?}"),
    };
    // The default track: AC-3 5.1 at 48 kHz, 5.1 AAC on demand.
    let mut pres = plan(&info, 4.0).unwrap();
    let on_demand = default_aac(&pres);
    assert_eq!(target(&pres, &on_demand), (6, 48_000));
    let stereo = pres.with_stereo_aac(&info, &on_demand).unwrap();
    assert_eq!(stereo, format!("{on_demand}-stereo"));
    assert_eq!(target(&pres, &stereo), (2, 48_000));
    assert_eq!(pres.with_stereo_aac(&info, &stereo).unwrap(), stereo);
    // The same track at 44.1 kHz: resampled, and the id says so.
    let a = pres.rendition(&on_demand).unwrap().stream;
    info.streams[a].sample_rate = 44_100;
    let mut pres = plan(&info, 4.0).unwrap();
    let on_demand_44 = default_aac(&pres);
    assert_eq!(
        target(&pres, &on_demand_44),
        (6, 44_100),
        "on demand: its own rate"
    );
    let resampled = pres.with_stereo_aac(&info, &on_demand_44).unwrap();
    assert_eq!(resampled, format!("{on_demand_44}-stereo-48k"));
    assert_eq!(target(&pres, &resampled), (2, 48_000));
}
