//! Image kernels over strided ndarray views (any strides, including negative and zero for
//! inputs): Sobel gradient magnitude, grayscale (luma) conversion, and the two fused.
//!
//! Sobel runs as one pass over row bands in parallel. Each band keeps three padded rows of
//! the input converted to the working precision (a few kilobytes, in cache), so borders,
//! element types, strides and the luma of a colour image are all dealt with when a row is
//! loaded, and the inner loop sees three plain slices and vectorizes. Output rows are
//! written once. The formulas are evaluated in the order `fk_sobel` documents (that of the
//! reference double loop), without fused
//! multiply-adds, so results are bit for bit those of the obvious numpy expression in the
//! same precision.
//!
//! Precision: f64 when the input or the output is f64, else f32 (exact for u8 and u16
//! gradients, which are integers below 2²⁴).

use ndarray::{ArrayView2, ArrayView3, ArrayViewMut2, Axis};
use rayon::prelude::*;

use crate::error::{Error, Result};

pub mod deriv;
mod deriv_int;
pub use deriv::{sobel_deriv, sobel_deriv_u8, Deriv, DerivOut};

/// How pixels outside the image are obtained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Border {
    /// Border output pixels are 0 (the reference double loop, which only computes the
    /// interior).
    Zero,
    /// `aaa|abcd|ddd`.
    Replicate,
    /// `dcb|abcd|cba` (OpenCV's default, numpy's `pad(mode="reflect")`, scipy's `mirror`).
    Reflect101,
    /// `cba|abcd|dcb` (scipy.ndimage's default `reflect`, numpy's `symmetric`). With a 3×3
    /// kernel it gives the same values as `Replicate`.
    Reflect,
    /// `bcd|abcd|abc` (scipy's `wrap`, OpenCV's `BORDER_WRAP`, numpy's `pad(mode="wrap")`).
    Wrap,
    /// `vvv|abcd|vvv`: the image padded with a constant (scipy's `constant` with `cval`,
    /// OpenCV's `BORDER_CONSTANT`, numpy's `pad(mode="constant")`), converted to the working
    /// precision.
    Constant(f64),
}

impl Border {
    /// The input index used for index -1 (`low`) or `n` (high) of an axis of length n ≥ 1
    /// (for `Constant`, whose outside is no pixel, a placeholder the caller overwrites).
    fn outside(self, n: usize, low: bool) -> usize {
        match self {
            Border::Wrap => {
                if low {
                    n - 1
                } else {
                    0
                }
            }
            Border::Zero | Border::Replicate | Border::Reflect | Border::Constant(_) => {
                if low {
                    0
                } else {
                    n - 1
                }
            }
            Border::Reflect101 => match (n, low) {
                (1, _) => 0,
                (_, true) => 1,
                (_, false) => n - 2,
            },
        }
    }
}

/// An input element type.
pub trait Pixel: Copy + Send + Sync + 'static {
    fn to_f64(self) -> f64;
    fn to_f32(self) -> f32;
    /// The view itself when `Self` is `u8` (for kernels with a u8-only path), else None.
    fn u8_view(v: ArrayView2<'_, Self>) -> Option<ArrayView2<'_, u8>> {
        let _ = v;
        None
    }
}
macro_rules! pixel {
    ($($t:ty),*) => {$(
        impl Pixel for $t {
            #[inline(always)]
            fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)]
            fn to_f32(self) -> f32 { self as f32 }
        }
    )*};
}
pixel!(u16, f32, f64);
impl Pixel for u8 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
    fn u8_view(v: ArrayView2<'_, u8>) -> Option<ArrayView2<'_, u8>> {
        Some(v)
    }
}

/// A working or output precision: f32 or f64.
pub trait Real:
    Copy
    + Send
    + Sync
    + Default
    + PartialEq
    + std::fmt::Debug
    + 'static
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
{
    const TWO: Self;
    fn sqrt(self) -> Self;
    fn from_pixel<P: Pixel>(p: P) -> Self;
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn cast<O: Real>(self) -> O;
}
impl Real for f32 {
    const TWO: f32 = 2.0;
    #[inline(always)]
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn from_pixel<P: Pixel>(p: P) -> f32 {
        p.to_f32()
    }
    #[inline(always)]
    fn from_f64(v: f64) -> f32 {
        v as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn cast<O: Real>(self) -> O {
        O::from_pixel(self)
    }
}
impl Real for f64 {
    const TWO: f64 = 2.0;
    #[inline(always)]
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn from_pixel<P: Pixel>(p: P) -> f64 {
        p.to_f64()
    }
    #[inline(always)]
    fn from_f64(v: f64) -> f64 {
        v
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn cast<O: Real>(self) -> O {
        O::from_pixel(self)
    }
}

/// Luma weights, as in `np.dot(img[..., :3], [0.2989, 0.5870, 0.1140])`.
pub const LUMA: [f64; 3] = [0.2989, 0.5870, 0.1140];

#[inline(always)]
fn luma<P: Pixel>(r: P, g: P, b: P) -> f64 {
    r.to_f64() * LUMA[0] + g.to_f64() * LUMA[1] + b.to_f64() * LUMA[2]
}

/// Something Sobel can read row by row in precision `A`.
pub trait RowSource<A>: Sync {
    fn height(&self) -> usize;
    fn width(&self) -> usize;
    /// Write row `y` into `dst` (`dst.len() == width`).
    fn load(&self, y: usize, dst: &mut [A]);
    /// Row `y` in place, when the image holds it as contiguous values of `A` itself (what
    /// `load` would copy unchanged): the derivatives filter a row's interior straight from
    /// it instead of a padded copy. None: read it through `load`.
    fn row(&self, y: usize) -> Option<&[A]> {
        let _ = y;
        None
    }
}

/// A single-channel image.
pub struct Gray<'a, P>(pub ArrayView2<'a, P>);
/// An H×W×C colour image (C = 3 or 4; channels R, G, B[, A]) read as its luma.
pub struct Luma<'a, P>(pub ArrayView3<'a, P>);

impl<P: Pixel, A: Real> RowSource<A> for Gray<'_, P> {
    fn height(&self) -> usize {
        self.0.nrows()
    }
    fn width(&self) -> usize {
        self.0.ncols()
    }
    #[inline]
    fn load(&self, y: usize, dst: &mut [A]) {
        let row = self.0.row(y);
        match row.as_slice() {
            Some(s) => dst.iter_mut().zip(s).for_each(|(d, &p)| *d = A::from_pixel(p)),
            None => dst
                .iter_mut()
                .zip(row.iter())
                .for_each(|(d, &p)| *d = A::from_pixel(p)),
        }
    }
    #[inline]
    fn row(&self, y: usize) -> Option<&[A]> {
        if std::any::TypeId::of::<P>() != std::any::TypeId::of::<A>() {
            return None;
        }
        let s = self.0.row(y).to_slice()?;
        // SAFETY: `P` is `A` (the TypeId check above), so the slice's elements are `A`s: same
        // size, alignment and validity; the borrow of the view is kept.
        Some(unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<A>(), s.len()) })
    }
}

impl<P: Pixel, A: Real> RowSource<A> for Luma<'_, P> {
    fn height(&self) -> usize {
        self.0.len_of(Axis(0))
    }
    fn width(&self) -> usize {
        self.0.len_of(Axis(1))
    }
    #[inline]
    fn load(&self, y: usize, dst: &mut [A]) {
        let row = self.0.index_axis(Axis(0), y);
        let c = row.ncols();
        match row.as_slice() {
            Some(s) => dst
                .iter_mut()
                .zip(s.chunks_exact(c))
                .for_each(|(d, px)| *d = A::from_f64(luma(px[0], px[1], px[2]))),
            None => dst
                .iter_mut()
                .zip(row.outer_iter())
                .for_each(|(d, px)| *d = A::from_f64(luma(px[0], px[1], px[2]))),
        }
    }
}

/// Sobel outputs: the magnitude and optionally the two gradients, all of the input's shape.
pub struct SobelOut<'a, O> {
    pub magnitude: ArrayViewMut2<'a, O>,
    pub gx: Option<ArrayViewMut2<'a, O>>,
    pub gy: Option<ArrayViewMut2<'a, O>>,
}

fn write_row<A: Real, O: Real>(src: &[A], mut dst: ndarray::ArrayViewMut1<O>) {
    match dst.as_slice_mut() {
        Some(d) => d.iter_mut().zip(src).for_each(|(o, &v)| *o = v.cast()),
        None => dst.iter_mut().zip(src).for_each(|(o, &v)| *o = v.cast()),
    }
}

/// The interior formula over a padded row triple: outputs x = 0..w use padded columns
/// x, x+1, x+2.
#[inline(always)]
fn sobel_row<A: Real>(r0: &[A], r1: &[A], r2: &[A], mag: &mut [A], gx: &mut [A], gy: &mut [A], want_g: bool) {
    let w = mag.len();
    let (r0, r1, r2) = (&r0[..w + 2], &r1[..w + 2], &r2[..w + 2]);
    let (gx, gy) = if want_g {
        (&mut gx[..w], &mut gy[..w])
    } else {
        (&mut gx[..0], &mut gy[..0])
    };
    let two = A::TWO;
    for x in 0..w {
        let (a0, a1, a2) = (r0[x], r0[x + 1], r0[x + 2]);
        let (b0, b2) = (r1[x], r1[x + 2]);
        let (c0, c1, c2) = (r2[x], r2[x + 1], r2[x + 2]);
        let h = (a2 + two * b2 + c2) - (a0 + two * b0 + c0);
        let v = (c0 + two * c1 + c2) - (a0 + two * a1 + a2);
        mag[x] = (h * h + v * v).sqrt();
        if want_g {
            gx[x] = h;
            gy[x] = v;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sobel_row_avx2<A: Real>(
    r0: &[A],
    r1: &[A],
    r2: &[A],
    mag: &mut [A],
    gx: &mut [A],
    gy: &mut [A],
    want_g: bool,
) {
    sobel_row(r0, r1, r2, mag, gx, gy, want_g)
}

/// One band of output rows `y0 .. y0 + mag.nrows()`.
///
/// Long on purpose: the three rolling row buffers and the output rows are borrowed
/// together in one loop, which splitting would turn into awkward borrows.
fn sobel_band<A: Real, O: Real, S: RowSource<A>>(
    src: &S,
    border: Border,
    y0: usize,
    mut out: SobelOut<O>,
    avx2: bool,
) {
    let (h, w) = (src.height(), src.width());
    let zero_border = border == Border::Zero;
    let mut rows: [Vec<A>; 3] = std::array::from_fn(|_| vec![A::default(); w + 2]);
    let mut held: [usize; 3] = [usize::MAX; 3];
    let (mut mag, mut gx, mut gy) = (
        vec![A::default(); w],
        vec![A::default(); w],
        vec![A::default(); w],
    );
    let want_g = out.gx.is_some() || out.gy.is_some();
    // The row index standing for a row of `cval` (no image row has it).
    const CONST_ROW: usize = usize::MAX - 1;
    let cval = match border {
        Border::Constant(v) => Some(A::from_f64(v)),
        _ => None,
    };
    let map = |y: isize| -> usize {
        if cval.is_some() && (y < 0 || y as usize >= h) {
            CONST_ROW
        } else if y < 0 {
            border.outside(h, true)
        } else if y as usize >= h {
            border.outside(h, false)
        } else {
            y as usize
        }
    };
    let (cl, cr) = (border.outside(w, true), border.outside(w, false));
    for dy in 0..out.magnitude.nrows() {
        let y = y0 + dy;
        if zero_border && (y == 0 || y + 1 >= h || w < 3) {
            out.magnitude.row_mut(dy).fill(O::default());
            for g in [out.gx.as_mut(), out.gy.as_mut()].into_iter().flatten() {
                g.row_mut(dy).fill(O::default());
            }
            continue;
        }
        let need = [map(y as isize - 1), y, map(y as isize + 1)];
        let mut slot = [0usize; 3];
        for k in 0..3 {
            slot[k] = match held.iter().position(|&r| r == need[k]) {
                Some(s) => s,
                None => {
                    let s = (0..3)
                        .find(|&s| !need.contains(&held[s]))
                        .expect("a free row slot");
                    let buf = &mut rows[s];
                    match cval {
                        Some(c) if need[k] == CONST_ROW => buf.fill(c),
                        Some(c) => {
                            src.load(need[k], &mut buf[1..=w]);
                            buf[0] = c;
                            buf[w + 1] = c;
                        }
                        None => {
                            src.load(need[k], &mut buf[1..=w]);
                            buf[0] = buf[cl + 1];
                            buf[w + 1] = buf[cr + 1];
                        }
                    }
                    held[s] = need[k];
                    s
                }
            };
        }
        let (r0, r1, r2) = (&rows[slot[0]], &rows[slot[1]], &rows[slot[2]]);
        #[cfg(target_arch = "x86_64")]
        if avx2 {
            // SAFETY: `avx2` is only true when the CPU supports AVX2.
            unsafe { sobel_row_avx2(r0, r1, r2, &mut mag, &mut gx, &mut gy, want_g) };
        } else {
            sobel_row(r0, r1, r2, &mut mag, &mut gx, &mut gy, want_g);
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = avx2;
            sobel_row(r0, r1, r2, &mut mag, &mut gx, &mut gy, want_g);
        }
        if zero_border {
            for v in [&mut mag, &mut gx, &mut gy] {
                v[0] = A::default();
                v[w - 1] = A::default();
            }
        }
        write_row(&mag, out.magnitude.row_mut(dy));
        if let Some(g) = out.gx.as_mut() {
            write_row(&gx, g.row_mut(dy));
        }
        if let Some(g) = out.gy.as_mut() {
            write_row(&gy, g.row_mut(dy));
        }
    }
}

fn check_shape<T>(what: &str, v: &ArrayViewMut2<T>, h: usize, w: usize) -> Result<()> {
    if v.dim() != (h, w) {
        return Err(Error::invalid(format!(
            "{what} is {}×{} but the image is {h}×{w}",
            v.nrows(),
            v.ncols()
        )));
    }
    Ok(())
}

/// Rows per parallel task: several bands per thread, but not so thin that the two extra
/// rows a band loads dominate.
fn band_rows(h: usize, w: usize) -> usize {
    let by_threads = h.div_ceil(crate::parallel::threads() * 4);
    let min_rows = (65536 / w.max(1)).clamp(4, 64);
    by_threads.max(min_rows).max(1)
}

/// Bands of an optional output (n Nones when absent).
fn split_rows<'b, O>(
    g: &'b mut Option<ArrayViewMut2<'_, O>>,
    band: usize,
    n: usize,
) -> Vec<Option<ArrayViewMut2<'b, O>>> {
    match g {
        Some(g) => g.axis_chunks_iter_mut(Axis(0), band).map(Some).collect(),
        None => (0..n).map(|_| None).collect(),
    }
}

/// Sobel gradient magnitude (and optionally gx, gy) of `src` in precision `A`, written to
/// `out` as `O`. Outputs must have the input's shape and must not alias the input or each
/// other (the caller guarantees the latter; views cannot express it).
pub fn sobel<A: Real, O: Real, S: RowSource<A>>(src: &S, border: Border, out: SobelOut<O>) -> Result<()> {
    let (h, w) = (src.height(), src.width());
    if h == 0 || w == 0 {
        return Err(Error::invalid(format!("the image is empty ({h}×{w})")));
    }
    check_shape("the magnitude output", &out.magnitude, h, w)?;
    if let Some(g) = &out.gx {
        check_shape("the gx output", g, h, w)?;
    }
    if let Some(g) = &out.gy {
        check_shape("the gy output", g, h, w)?;
    }
    #[cfg(target_arch = "x86_64")]
    let avx2 = std::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    let avx2 = false;
    if crate::parallel::serial(h.saturating_mul(w).saturating_mul(8)) {
        sobel_band(src, border, 0, out, avx2);
        return Ok(());
    }
    let band = band_rows(h, w);
    let SobelOut {
        mut magnitude,
        mut gx,
        mut gy,
    } = out;
    let mags: Vec<_> = magnitude.axis_chunks_iter_mut(Axis(0), band).collect();
    let n = mags.len();
    let gxs = split_rows(&mut gx, band, n);
    let gys = split_rows(&mut gy, band, n);
    crate::parallel::run(|| {
        mags.into_par_iter()
            .zip(gxs)
            .zip(gys)
            .enumerate()
            .for_each(|(i, ((m, gx), gy))| {
                sobel_band(src, border, i * band, SobelOut { magnitude: m, gx, gy }, avx2);
            })
    })
}

/// Luma of an H×W×C image (C = 3 or 4) into `out` (H×W), computed in f64 (see [`gray`]).
pub fn grayscale<P: Pixel, O: Real>(src: ArrayView3<P>, out: ArrayViewMut2<O>) -> Result<()> {
    gray::grayscale(src, out)
}

/// Sobel magnitude of the luma of an H×W×C image, in one pass (the luma is computed as
/// rows are loaded, never stored as an image).
pub fn edges<A: Real, P: Pixel, O: Real>(src: ArrayView3<P>, border: Border, out: SobelOut<O>) -> Result<()> {
    let c = src.len_of(Axis(2));
    if c != 3 && c != 4 {
        return Err(Error::invalid(format!(
            "the image has {c} channels; expected 3 (RGB) or 4 (RGBA)"
        )));
    }
    sobel::<A, O, _>(&Luma(src), border, out)
}

mod gray;
#[cfg(test)]
mod tests;
