//! Video segments decoded, scaled (and padded to a channel's frame) and encoded at a rung;
//! black pictures for a channel's slate.

use ffmpeg_next as ff;

use super::{drain_encoder, ff_err, open_video_encoder};
use crate::error::Result;
use crate::ladder::VideoTarget;
use crate::media::hw::HwFrames;
use crate::media::{CodecParams, Packet};
use crate::overlay::{Chroma, Layer, Matrix};
use crate::rational::Rational;

/// How a transcoded video segment is encoded: encoder, rung, time base and frame rate of the
/// source.
#[derive(Debug, Clone, Copy)]
pub struct EncodeSpec<'a> {
    /// FFmpeg encoder name.
    pub encoder: &'a str,
    /// The rung.
    pub target: &'a VideoTarget,
    /// Time base of the timestamps (the source stream's).
    pub time_base: Rational,
    /// The source's frame rate, for the stream's timing info.
    pub frame_rate: Option<Rational>,
    /// Degrees clockwise the source's display matrix turns its pictures: the rung turns them
    /// so they stand upright.
    pub rotation: u16,
    /// Bitmap subtitles drawn into the pictures they are on screen for (times in
    /// `time_base`), after scaling: burned in.
    pub overlay: &'a [crate::overlay::BitmapCue],
}

/// The filter graph a segment's decoded frames go through before the scaler
/// ([`crate::picture::filter_chain`]): built for the first frame, fed every frame, drained.
struct PictureFilter {
    graph: ff::filter::Graph,
    /// The time base of the frames fed in, and given back.
    time_base: Rational,
}

impl PictureFilter {
    /// The graph for frames like `first`, or `None` when they need no picture work.
    fn for_frames(first: &ff::frame::Video, spec: &EncodeSpec<'_>) -> Result<Option<Self>> {
        let transfer =
            crate::media::params::transfer_name(first.color_transfer_characteristic().into());
        let pictures = crate::picture::Pictures {
            rotation: spec.rotation,
            interlaced: first.is_interlaced(),
            range: crate::stream::VideoRange::of_transfer(transfer.as_deref()),
        };
        let Some(chain) = crate::picture::filter_chain(&pictures) else {
            return Ok(None);
        };
        let mut graph = ff::filter::Graph::new();
        let aspect = first.aspect_ratio();
        let args = format!(
            "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
            first.width(),
            first.height(),
            ff::ffi::AVPixelFormat::from(first.format()) as i32,
            spec.time_base.num,
            spec.time_base.den,
            aspect.numerator().max(1),
            aspect.denominator().max(1),
        );
        let filter = |name: &str| {
            ff::filter::find(name).ok_or_else(|| crate::error::Error::Unsupported {
                path: "libavfilter".into(),
                reason: format!("FFmpeg's {name} filter is missing from this build"),
            })
        };
        let setup = ff_err("setting up the picture filters");
        graph.add(&filter("buffer")?, "in", &args).map_err(&setup)?;
        graph
            .add(&filter("buffersink")?, "out", "")
            .map_err(&setup)?;
        graph
            .output("in", 0)
            .and_then(|p| p.input("out", 0))
            .and_then(|p| p.parse(&chain))
            .map_err(&setup)?;
        graph.validate().map_err(&setup)?;
        Ok(Some(PictureFilter {
            graph,
            time_base: spec.time_base,
        }))
    }

    /// Feeds one decoded frame (`None`: the end) and hands each frame that comes out to `out`.
    fn run(
        &mut self,
        frame: Option<&ff::frame::Video>,
        out: &mut dyn FnMut(&ff::frame::Video) -> Result<()>,
    ) -> Result<()> {
        let mut src = self.graph.get("in").expect("added above");
        match frame {
            Some(f) => src.source().add(f),
            None => src.source().flush(),
        }
        .map_err(ff_err("filtering a picture"))?;
        let mut sink = self.graph.get("out").expect("added above");
        // Deinterlacers halve the time base (for field rate); PTS go back to the stream's.
        let out_tb: Rational = sink.sink().time_base().into();
        let mut filtered = ff::frame::Video::empty();
        while sink.sink().frame(&mut filtered).is_ok() {
            let pts = filtered
                .pts()
                .map(|t| crate::rational::convert(t, out_tb, self.time_base));
            filtered.set_pts(pts);
            out(&filtered)?;
        }
        Ok(())
    }
}

/// Decodes a segment's packets (decode order, starting with its keyframe) and encodes the
/// frames; `progress(frames encoded, frames in the segment)` is called as it goes. Encodes the
/// frames presented in `keep` (what decodes outside it, the leading frames of the open GOPs
/// at either end, belongs to other segments).
/// Returns the encoder's parameters and its packets in order; packet PTS are the source PTS
/// of their frames, in `time_base`.
pub fn transcode_video(
    src: &CodecParams,
    packets: &[Packet],
    keep: std::ops::Range<i64>,
    out_spec: &EncodeSpec<'_>,
    progress: &dyn Fn(u64, u64),
) -> Result<(CodecParams, Vec<Packet>)> {
    let total = packets.len() as u64;
    let mut done = 0u64;
    let mut dctx =
        ff::codec::Context::from_parameters(src.0.clone()).map_err(ff_err("decoder set-up"))?;
    // Decoded pictures are the same whatever the threading. One thread: decoding runs beside
    // the encoder's two threads, and each frame thread more holds its own reference frames
    // (megabytes per 1080p transcode with FFmpeg's default).
    dctx.set_threading(ff::threading::Config {
        kind: ff::threading::Type::Frame,
        count: 1,
        ..Default::default()
    });
    let mut dec = dctx
        .decoder()
        .video()
        .map_err(ff_err("opening the video decoder"))?;
    let EncodeSpec {
        encoder: name,
        target,
        time_base,
        frame_rate,
        ..
    } = *out_spec;
    let (mut enc, hw) = open_video_encoder(name, target, time_base, frame_rate)?;
    let params = CodecParams(ff::codec::Parameters::from(&*enc));
    // What the scaler makes: the encoder's own format, or what is uploaded to its surfaces.
    let enc_format = hw.as_ref().map_or(enc.format(), HwFrames::sw_format);
    let mut scaler: Option<ff::software::scaling::Context> = None;
    let mut out = Vec::new();
    let mut decoded = ff::frame::Video::empty();
    // Each subtitle picture is scaled to the rung once, when first shown.
    let mut layers: Vec<(&crate::overlay::BitmapCue, Option<Option<Layer>>)> =
        out_spec.overlay.iter().map(|c| (c, None)).collect();

    let mut encode = |frame: &ff::frame::Video,
                      enc: &mut ff::encoder::Video,
                      out: &mut Vec<ff::Packet>|
     -> Result<()> {
        let Some(pts) = frame.pts() else {
            return Ok(());
        };
        if !keep.contains(&pts) {
            return Ok(());
        }
        let (width, height) = target.picture.unwrap_or((target.width, target.height));
        let sws = match &mut scaler {
            Some(s) => s,
            None => scaler.insert(
                ff::software::scaling::Context::get(
                    frame.format(),
                    frame.width(),
                    frame.height(),
                    enc_format,
                    width,
                    height,
                    ff::software::scaling::Flags::BICUBIC,
                )
                .map_err(ff_err("setting up the scaler"))?,
            ),
        };
        let mut scaled = ff::frame::Video::empty();
        sws.run(frame, &mut scaled)
            .map_err(ff_err("scaling a frame"))?;
        for (cue, layer) in layers.iter_mut() {
            if cue.shows_at(pts) {
                let layer = layer.get_or_insert_with(|| Layer::of(cue, (width, height)));
                if let Some(l) = layer {
                    burn(l, &mut scaled, Matrix::for_height(cue.canvas.1))?;
                }
            }
        }
        if target.picture.is_some() {
            scaled = boxed(&scaled, target.width, target.height)?;
        }
        scaled.set_pts(Some(pts));
        let mut scaled = match &hw {
            Some(hw) => hw.upload(&scaled)?,
            None => scaled,
        };
        scaled.set_kind(ff::picture::Type::None);
        enc.send_frame(&scaled)
            .map_err(ff_err("encoding a frame"))?;
        done += 1;
        progress(done, total);
        drain_encoder(enc, out)
    };

    // Decoded frames go through the picture filters, decided on the segment's first frame,
    // then to the scaler and the encoder. Each frame's best-effort timestamp becomes its PTS
    // before filtering, which keeps PTS.
    let mut filter: Option<Option<PictureFilter>> = None;
    let mut take = |decoded: &mut ff::frame::Video,
                    enc: &mut ff::encoder::Video,
                    out: &mut Vec<ff::Packet>|
     -> Result<()> {
        let pts = decoded.timestamp().or(decoded.pts());
        decoded.set_pts(pts);
        if filter.is_none() {
            filter = Some(PictureFilter::for_frames(decoded, out_spec)?);
        }
        match filter.as_mut().and_then(Option::as_mut) {
            Some(f) => f.run(Some(decoded), &mut |frame| encode(frame, enc, out)),
            None => encode(decoded, enc, out),
        }
    };
    for p in packets {
        dec.send_packet(&p.inner)
            .map_err(ff_err("decoding a packet"))?;
        while dec.receive_frame(&mut decoded).is_ok() {
            take(&mut decoded, &mut enc, &mut out)?;
        }
    }
    dec.send_eof().map_err(ff_err("flushing the decoder"))?;
    while dec.receive_frame(&mut decoded).is_ok() {
        take(&mut decoded, &mut enc, &mut out)?;
    }
    if let Some(Some(f)) = filter.as_mut() {
        f.run(None, &mut |frame| encode(frame, &mut enc, &mut out))?;
    }
    enc.send_eof().map_err(ff_err("flushing the encoder"))?;
    drain_encoder(&mut enc, &mut out)?;
    Ok((params, out.into_iter().map(Packet::encoded).collect()))
}

/// Encodes black pictures presented at `pts` (in the spec's time base), each one its own
/// frame: a channel's slate where a programme's segment can't be made. The encoder is opened
/// exactly as for the rung's real segments, so the slate decodes with the programme's init.
pub fn black_video(spec: &EncodeSpec<'_>, pts: &[i64]) -> Result<(CodecParams, Vec<Packet>)> {
    let enc = open_video_encoder(spec.encoder, spec.target, spec.time_base, spec.frame_rate)?;
    encode_black(spec, enc, pts)
}

/// Black H.264 pictures presented at `pts` that decode under another stream's init (a copied
/// programme's, made from its file): x264's, Annex B, with their own parameter sets in band
/// under id `in_band`, which the file's (id 0, as encoders write them) are not displaced by.
/// What a copy channel airs where a copied programme's segment can't be made.
pub fn black_h264_in_band(spec: &EncodeSpec<'_>, pts: &[i64], in_band: u8) -> Result<Vec<Packet>> {
    let enc = super::open_encoder(
        "libx264",
        spec.target,
        spec.time_base,
        spec.frame_rate,
        Some(in_band),
    )?;
    Ok(encode_black(spec, enc, pts)?.1)
}

/// Encodes a black picture at each of `pts` with an opened encoder, and drains it.
fn encode_black(
    spec: &EncodeSpec<'_>,
    (mut enc, hw): (ff::encoder::Video, Option<HwFrames>),
    pts: &[i64],
) -> Result<(CodecParams, Vec<Packet>)> {
    let params = CodecParams(ff::codec::Parameters::from(&*enc));
    let format = hw.as_ref().map_or(enc.format(), HwFrames::sw_format);
    let mut out = Vec::new();
    for &t in pts {
        let mut frame = black(format, spec.target.width, spec.target.height)?;
        frame.set_pts(Some(t));
        let mut frame = match &hw {
            Some(hw) => hw.upload(&frame)?,
            None => frame,
        };
        frame.set_kind(ff::picture::Type::None);
        enc.send_frame(&frame).map_err(ff_err("encoding a frame"))?;
        drain_encoder(&mut enc, &mut out)?;
    }
    enc.send_eof().map_err(ff_err("flushing the encoder"))?;
    drain_encoder(&mut enc, &mut out)?;
    Ok((params, out.into_iter().map(Packet::encoded).collect()))
}

/// The planes of the 4:2:0 formats the encoders here take, as (plane, how many luma columns
/// make one byte of it, how many luma rows make one of its rows, black's value: BT.601/709
/// limited-range Y 16, Cb Cr 128). yuv420p has three; nv12 two, its second interleaving U
/// and V, as many bytes wide as the luma.
fn planes(format: ff::format::Pixel) -> Result<&'static [(usize, u32, u32, u8)]> {
    use ff::format::Pixel;
    match format {
        Pixel::YUV420P => Ok(&[(0, 1, 1, 16), (1, 2, 2, 128), (2, 2, 2, 128)]),
        Pixel::NV12 => Ok(&[(0, 1, 1, 16), (1, 1, 2, 128)]),
        other => Err(crate::error::Error::Unsupported {
            path: "scaler".into(),
            reason: format!("can't box or blank {other:?} pictures (yuv420p or nv12 only)"),
        }),
    }
}

/// Blends a subtitle layer into a scaled picture of one of the [`planes`] formats.
fn burn(layer: &Layer, frame: &mut ff::frame::Video, m: Matrix) -> Result<()> {
    let nv12 = frame.format() == ff::format::Pixel::NV12;
    planes(frame.format())?;
    let stride = frame.stride(0);
    layer.blend_luma(frame.data_mut(0), stride, m);
    let stride = frame.stride(1);
    if nv12 {
        layer.blend_chroma(frame.data_mut(1), stride, 2, Chroma::Cb, m);
        layer.blend_chroma(&mut frame.data_mut(1)[1..], stride, 2, Chroma::Cr, m);
    } else {
        layer.blend_chroma(frame.data_mut(1), stride, 1, Chroma::Cb, m);
        let stride = frame.stride(2);
        layer.blend_chroma(frame.data_mut(2), stride, 1, Chroma::Cr, m);
    }
    Ok(())
}

/// A black picture of `format`.
fn black(format: ff::format::Pixel, width: u32, height: u32) -> Result<ff::frame::Video> {
    let mut frame = ff::frame::Video::new(format, width, height);
    for &(plane, _, _, value) in planes(format)? {
        frame.data_mut(plane).fill(value);
    }
    Ok(frame)
}

/// `picture` centred on a black `width`x`height` frame of its format (at even offsets, so
/// chroma lines up).
fn boxed(picture: &ff::frame::Video, width: u32, height: u32) -> Result<ff::frame::Video> {
    let format = picture.format();
    let mut frame = black(format, width, height)?;
    let x0 = (width.saturating_sub(picture.width()) / 2) & !1;
    let y0 = (height.saturating_sub(picture.height()) / 2) & !1;
    for &(plane, wdiv, hdiv, _) in planes(format)? {
        let (src_stride, dst_stride) = (picture.stride(plane), frame.stride(plane));
        let row = (picture.width() / wdiv) as usize;
        let rows = (picture.height() / hdiv) as usize;
        let (x, y) = ((x0 / wdiv) as usize, (y0 / hdiv) as usize);
        let src = picture.data(plane);
        let dst = frame.data_mut(plane);
        for r in 0..rows {
            let to = (y + r) * dst_stride + x;
            dst[to..to + row].copy_from_slice(&src[r * src_stride..r * src_stride + row]);
        }
    }
    Ok(frame)
}
