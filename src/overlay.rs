//! Bitmap subtitles (Blu-ray PGS, DVD VobSub, DVB) drawn into a rung's pictures: burned in,
//! because HLS carries text subtitles only (RFC 8216 3.5: WebVTT) and players have no way to be
//! handed the bitmaps.
//!
//! Pure: the decoded bitmaps arrive as plain RGBA rectangles on the subtitle's canvas
//! (`media::subpicture` decodes them); here they are timed, scaled to the picture by area
//! averaging, and blended into its 4:2:0 planes in limited range (ITU-R BT.601 or BT.709).
//! Every step is a function of the cue and the picture size alone, so a segment made first,
//! last or on another server draws the same pixels.

/// One rectangle of a decoded subtitle picture, on the subtitle's canvas.
#[derive(Debug, Clone, PartialEq)]
pub struct BitmapRect {
    /// Left edge on the canvas, pixels.
    pub x: i32,
    /// Top edge on the canvas, pixels.
    pub y: i32,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Straight (not premultiplied) RGBA, row by row, 4 bytes a pixel.
    pub rgba: Vec<u8>,
}

/// A decoded subtitle event as the decoder gives it: when it starts, when it says it ends (if
/// it does: PGS never does, each display set lasting until the next), and what it shows (no
/// rectangles: it clears the screen).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Start, in the video's time base.
    pub start: i64,
    /// Its own end, where the format gives one (VobSub's stop command, DVB's page time-out).
    pub end: Option<i64>,
    /// The canvas the rectangles are placed on (PGS: the presentation's size; VobSub: the
    /// DVD's frame; DVB: the display definition, 720x576 without one).
    pub canvas: (u32, u32),
    /// What it shows.
    pub rects: Vec<BitmapRect>,
}

/// A subtitle picture on screen from `start` up to `end` (video time base, end excluded).
#[derive(Debug, Clone, PartialEq)]
pub struct BitmapCue {
    /// First tick shown.
    pub start: i64,
    /// First tick no longer shown.
    pub end: i64,
    /// See [`Event::canvas`].
    pub canvas: (u32, u32),
    /// What it shows.
    pub rects: Vec<BitmapRect>,
}

impl BitmapCue {
    /// Whether the cue is on screen at `pts`.
    pub fn shows_at(&self, pts: i64) -> bool {
        self.start <= pts && pts < self.end
    }
}

/// Cues from decoded events: each lasts until its own end or the next event's start,
/// whichever comes first (a later display set replaces the picture, an empty one clears it).
/// Events that show nothing leave no cue.
pub fn cues(mut events: Vec<Event>) -> Vec<BitmapCue> {
    events.sort_by_key(|e| e.start);
    let next_starts: Vec<Option<i64>> = (0..events.len())
        .map(|i| events.get(i + 1).map(|e| e.start))
        .collect();
    events
        .into_iter()
        .zip(next_starts)
        .filter(|(e, _)| !e.rects.is_empty())
        .map(|(e, next)| BitmapCue {
            start: e.start,
            end: e.end.unwrap_or(i64::MAX).min(next.unwrap_or(i64::MAX)),
            canvas: e.canvas,
            rects: e.rects,
        })
        .filter(|c| c.end > c.start)
        .collect()
}

/// The luma/chroma matrix of the pictures drawn into (ITU-R BT.601 and BT.709, limited range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matrix {
    /// Standard definition.
    Bt601,
    /// High definition.
    Bt709,
}

impl Matrix {
    /// The matrix conventional for pictures of this height (as FFmpeg's subtitle decoders
    /// choose when they turn a PGS palette into RGB): BT.709 above 576 lines.
    pub fn for_height(height: u32) -> Matrix {
        if height > 576 {
            Matrix::Bt709
        } else {
            Matrix::Bt601
        }
    }

    /// (Kr, Kb).
    fn coefficients(self) -> (f32, f32) {
        match self {
            Matrix::Bt601 => (0.299, 0.114),
            Matrix::Bt709 => (0.2126, 0.0722),
        }
    }
}

/// Which chroma component a plane holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chroma {
    /// Cb (U).
    Cb,
    /// Cr (V).
    Cr,
}

/// A cue scaled onto a picture: premultiplied RGBA (0 to 1) over a box of the picture whose
/// edges are even, so its 2x2 blocks are the chroma samples' blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    x: usize,
    y: usize,
    width: usize,
    height: usize,
    px: Vec<[f32; 4]>,
}

impl Layer {
    /// `cue` scaled from its canvas onto a `width`x`height` picture, or `None` where nothing of
    /// it falls inside.
    pub fn of(cue: &BitmapCue, (width, height): (u32, u32)) -> Option<Layer> {
        let (cw, ch) = (cue.canvas.0.max(1), cue.canvas.1.max(1));
        let sx = f64::from(width) / f64::from(cw);
        let sy = f64::from(height) / f64::from(ch);
        let span = |at: i32, len: u32, scale: f64, limit: u32| {
            let a = (f64::from(at) * scale).floor().max(0.0) as usize;
            let b = ((f64::from(at) + f64::from(len)) * scale).ceil() as usize;
            (a, b.min(limit as usize))
        };
        // Rectangles whose pixels are all there (a damaged one is left out, never read past).
        let rects: Vec<&BitmapRect> = cue
            .rects
            .iter()
            .filter(|r| r.rgba.len() >= r.width as usize * r.height as usize * 4)
            .collect();
        let boxes: Vec<((usize, usize), (usize, usize))> = rects
            .iter()
            .map(|r| {
                (
                    span(r.x, r.width, sx, width),
                    span(r.y, r.height, sy, height),
                )
            })
            .collect();
        let x0 = boxes.iter().map(|b| b.0 .0).min()? & !1;
        let y0 = boxes.iter().map(|b| b.1 .0).min()? & !1;
        let even_up = |v: usize, limit: u32| ((v + 1) & !1).min(limit as usize & !1);
        let x1 = even_up(boxes.iter().map(|b| b.0 .1).max()?, width);
        let y1 = even_up(boxes.iter().map(|b| b.1 .1).max()?, height);
        if x1 <= x0 || y1 <= y0 {
            return None;
        }
        let mut layer = Layer {
            x: x0,
            y: y0,
            width: x1 - x0,
            height: y1 - y0,
            px: vec![[0.0; 4]; (x1 - x0) * (y1 - y0)],
        };
        for (r, ((ax, bx), (ay, by))) in rects.iter().zip(&boxes) {
            let cols = weights(*ax..(*bx).min(x1), sx, r.x, r.width);
            let rows = weights(*ay..(*by).min(y1), sy, r.y, r.height);
            // Horizontal pass: every source row onto the layer's columns, premultiplied.
            let w = r.width as usize;
            let across: Vec<[f32; 4]> = (0..r.height as usize)
                .flat_map(|row| {
                    let line = &r.rgba[row * w * 4..(row + 1) * w * 4];
                    cols.iter().map(move |(_, taps)| {
                        let mut acc = [0.0f32; 4];
                        for &(i, wt) in taps {
                            let p = &line[i * 4..i * 4 + 4];
                            let a = f32::from(p[3]) / 255.0;
                            for c in 0..3 {
                                acc[c] += wt * a * f32::from(p[c]) / 255.0;
                            }
                            acc[3] += wt * a;
                        }
                        acc
                    })
                })
                .collect();
            // Vertical pass, composited over what earlier rectangles drew.
            for (dy, taps) in &rows {
                for (k, (dx, _)) in cols.iter().enumerate() {
                    let mut acc = [0.0f32; 4];
                    for &(i, wt) in taps {
                        let p = across[i * cols.len() + k];
                        for c in 0..4 {
                            acc[c] += wt * p[c];
                        }
                    }
                    let at = (dy - y0) * layer.width + (dx - x0);
                    let under = layer.px[at];
                    for c in 0..4 {
                        layer.px[at][c] = (acc[c] + under[c] * (1.0 - acc[3])).clamp(0.0, 1.0);
                    }
                }
            }
        }
        Some(layer)
    }

    /// Blends the layer into a luma plane (`stride` bytes a row).
    pub fn blend_luma(&self, plane: &mut [u8], stride: usize, m: Matrix) {
        let (kr, kb) = m.coefficients();
        for row in 0..self.height {
            for col in 0..self.width {
                let [r, g, b, a] = self.px[row * self.width + col];
                if a <= 0.0 {
                    continue;
                }
                let y = kr * r + (1.0 - kr - kb) * g + kb * b;
                let at = (self.y + row) * stride + self.x + col;
                if let Some(v) = plane.get_mut(at) {
                    *v = to_u8(f32::from(*v) * (1.0 - a) + 16.0 * a + 219.0 * y);
                }
            }
        }
    }

    /// Blends the layer into a 4:2:0 chroma plane of `which` component: one sample every
    /// `step` bytes (1 planar; 2 for NV12's interleaved plane, passed from its first Cb or Cr
    /// byte), `stride` bytes a row. Each sample takes the mean of its 2x2 block of the layer.
    pub fn blend_chroma(
        &self,
        plane: &mut [u8],
        stride: usize,
        step: usize,
        which: Chroma,
        m: Matrix,
    ) {
        let (kr, kb) = m.coefficients();
        for row in 0..self.height / 2 {
            for col in 0..self.width / 2 {
                let mut p = [0.0f32; 4];
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let q = self.px[(row * 2 + dy) * self.width + col * 2 + dx];
                    for c in 0..4 {
                        p[c] += q[c] / 4.0;
                    }
                }
                let [r, g, b, a] = p;
                if a <= 0.0 {
                    continue;
                }
                let y = kr * r + (1.0 - kr - kb) * g + kb * b;
                let c = match which {
                    Chroma::Cb => (b - y) / (2.0 * (1.0 - kb)),
                    Chroma::Cr => (r - y) / (2.0 * (1.0 - kr)),
                };
                let at = (self.y / 2 + row) * stride + (self.x / 2 + col) * step;
                if let Some(v) = plane.get_mut(at) {
                    *v = to_u8(f32::from(*v) * (1.0 - a) + 128.0 * a + 224.0 * c);
                }
            }
        }
    }
}

fn to_u8(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// For each picture column (or row) in `range`, the source texels of a rectangle at `origin`
/// `len` texels long that its footprint covers, each weighted by the share of the footprint it
/// covers (area averaging: a downscale keeps thin strokes as grey, an upscale repeats texels).
fn weights(
    range: std::ops::Range<usize>,
    scale: f64,
    origin: i32,
    len: u32,
) -> Vec<(usize, Vec<(usize, f32)>)> {
    range
        .map(|d| {
            let a = d as f64 / scale - f64::from(origin);
            let b = (d + 1) as f64 / scale - f64::from(origin);
            let lo = a.floor().max(0.0) as usize;
            let hi = (b.ceil().max(0.0) as usize).min(len as usize);
            let taps = (lo..hi)
                .filter_map(|i| {
                    let cover = b.min(i as f64 + 1.0) - a.max(i as f64);
                    (cover > 0.0).then_some((i, (cover * scale) as f32))
                })
                .collect();
            (d, taps)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(x: i32, y: i32, w: u32, h: u32, rgba: [u8; 4]) -> BitmapRect {
        BitmapRect {
            x,
            y,
            width: w,
            height: h,
            rgba: rgba.repeat((w * h) as usize),
        }
    }

    fn cue(rects: Vec<BitmapRect>, canvas: (u32, u32)) -> BitmapCue {
        BitmapCue {
            start: 0,
            end: 10,
            canvas,
            rects,
        }
    }

    /// A picture of `w`x`h`, limited-range black: (Y, U, V) planes.
    fn black(w: usize, h: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        (vec![16; w * h], vec![128; w * h / 4], vec![128; w * h / 4])
    }

    fn draw(c: &BitmapCue, w: usize, h: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (mut y, mut u, mut v) = black(w, h);
        if let Some(l) = Layer::of(c, (w as u32, h as u32)) {
            let m = Matrix::for_height(h as u32);
            l.blend_luma(&mut y, w, m);
            l.blend_chroma(&mut u, w / 2, 1, Chroma::Cb, m);
            l.blend_chroma(&mut v, w / 2, 1, Chroma::Cr, m);
        }
        (y, u, v)
    }

    #[test]
    fn an_opaque_white_box_is_limited_range_white_exactly_where_it_is() {
        let c = cue(vec![solid(4, 2, 6, 4, [255, 255, 255, 255])], (16, 8));
        let (y, u, v) = draw(&c, 16, 8);
        for row in 0..8 {
            for col in 0..16 {
                let inside = (4..10).contains(&col) && (2..6).contains(&row);
                assert_eq!(
                    y[row * 16 + col],
                    if inside { 235 } else { 16 },
                    "{col},{row}"
                );
            }
        }
        assert!(u.iter().chain(&v).all(|&c| c == 128), "white has no colour");
    }

    #[test]
    fn a_half_transparent_pixel_blends_half_way() {
        let c = cue(vec![solid(0, 0, 2, 2, [255, 255, 255, 128])], (4, 4));
        let (y, ..) = draw(&c, 4, 4);
        // 16 + (235 - 16) * 128/255 = 125.9
        assert_eq!(y[0], 126);
        assert_eq!(y[3], 16);
    }

    #[test]
    fn a_canvas_twice_the_picture_lands_at_half_the_coordinates_with_its_edges_averaged() {
        // A 3-texel-wide bar at x 4..7 on a 16-wide canvas: x 2..3.5 of an 8-wide picture.
        let c = cue(vec![solid(4, 0, 3, 16, [255, 255, 255, 255])], (16, 16));
        let (y, ..) = draw(&c, 8, 8);
        let row: Vec<u8> = y[8 * 4..8 * 5].to_vec();
        // Pixel 3 is half covered: half way from black to white (125.5, rounded down in f32).
        assert_eq!(row, vec![16, 16, 235, 125, 16, 16, 16, 16]);
    }

    #[test]
    fn red_raises_cr_lowers_cb_and_takes_its_luma_from_the_matrix() {
        let c = cue(vec![solid(0, 0, 8, 8, [255, 0, 0, 255])], (8, 8));
        let (_, u, v) = draw(&c, 8, 8);
        assert!(v[0] > 230 && u[0] < 110, "Cr {} Cb {}", v[0], u[0]);
        // BT.709 red (Y 63, Cb 102, Cr 240) vs BT.601 (Y 81, Cb 90, Cr 240).
        let c = cue(vec![solid(0, 0, 2, 2, [255, 0, 0, 255])], (2, 2));
        let l = Layer::of(&c, (2, 2)).unwrap();
        let mut y = vec![16u8; 4];
        l.blend_luma(&mut y, 2, Matrix::Bt709);
        assert_eq!(y[0], 63);
        let mut y = vec![16u8; 4];
        l.blend_luma(&mut y, 2, Matrix::Bt601);
        assert_eq!(y[0], 81);
    }

    #[test]
    fn nv12_interleaved_chroma_is_written_every_other_byte() {
        let c = cue(vec![solid(0, 0, 4, 2, [255, 0, 0, 255])], (4, 2));
        let l = Layer::of(&c, (4, 2)).unwrap();
        let mut uv = vec![128u8; 4];
        l.blend_chroma(&mut uv, 4, 2, Chroma::Cb, Matrix::Bt709);
        l.blend_chroma(&mut uv[1..], 4, 2, Chroma::Cr, Matrix::Bt709);
        assert_eq!(uv, vec![102, 240, 102, 240]);
    }

    #[test]
    fn a_rect_outside_the_picture_draws_nothing_and_one_across_its_edge_is_clipped() {
        let out = cue(vec![solid(20, 20, 4, 4, [255; 4])], (16, 16));
        assert_eq!(Layer::of(&out, (16, 16)), None);
        let across = cue(vec![solid(14, 14, 4, 4, [255; 4])], (16, 16));
        let (y, ..) = draw(&across, 16, 16);
        assert_eq!(y[15 * 16 + 15], 235);
        assert_eq!(y[13 * 16 + 13], 16);
    }

    #[test]
    fn a_truncated_bitmap_is_ignored_rather_than_read_past_and_the_others_drawn() {
        let mut r = solid(0, 0, 4, 4, [255; 4]);
        r.rgba.truncate(10);
        assert_eq!(Layer::of(&cue(vec![r.clone()], (8, 8)), (8, 8)), None);
        let whole = solid(4, 4, 2, 2, [255; 4]);
        let (y, ..) = draw(&cue(vec![r, whole], (8, 8)), 8, 8);
        assert_eq!((y[0], y[4 * 8 + 4]), (16, 235));
    }

    #[test]
    fn each_event_lasts_until_its_own_end_or_the_next_and_clearing_events_leave_no_cue() {
        let ev = |start, end, shows: bool| Event {
            start,
            end,
            canvas: (4, 4),
            rects: if shows {
                vec![solid(0, 0, 1, 1, [255; 4])]
            } else {
                vec![]
            },
        };
        let got = cues(vec![
            ev(50, None, false),
            ev(0, None, true),
            ev(20, Some(30), true),
            ev(60, None, true),
        ]);
        let spans: Vec<(i64, i64)> = got.iter().map(|c| (c.start, c.end)).collect();
        assert_eq!(spans, vec![(0, 20), (20, 30), (60, i64::MAX)]);
        assert!(got[0].shows_at(0) && got[0].shows_at(19) && !got[0].shows_at(20));
    }
}
