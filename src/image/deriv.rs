//! `cv2.Sobel`: one derivative of order (dx, dy) with OpenCV's separable kernels
//! (`cv2.getDerivKernels`, ksize 1/3/5/7), `scale`, `delta`, and an integer or float output
//! rounded and saturated as OpenCV's `saturate_cast` does (half to even).
//!
//! Like the 3×3 magnitude, a pass over row bands in parallel: each input row a band needs
//! is filtered horizontally once into a ring of `ky.len()` rows, and every output row is
//! the vertical combination of the ring, finished as `s·scale + delta` and converted in the
//! same loop ([`finish_row`]). A row the image holds in place in the filtering type has its
//! interior filtered straight from the image ([`filter_direct`]); only the columns within
//! `rx` of each end, and rows of another type or layout, go through a padded copy (border
//! columns added). Kernel taps are small integers and zero taps are skipped (OpenCV skips
//! the centre tap of its odd kernels too). The taps of an axis are applied in one pass per
//! row, in the kernel's order, whichever way a row is read (the same bits: tested).
//!
//! u8 images take the integer path ([`super::deriv_int`], [`sobel_deriv_u8`]): 16-bit
//! lanes as OpenCV's own, the same exact sums as filtering in f32, hence the same results.
//!
//! Exactness: u8 images are filtered in f32 (or integers, above), u16 and f64 images in f64, f32 images in f32
//! (as OpenCV does: its intermediate type is float32 unless the output is float64) or in f64
//! for a float64 output. For integer
//! images every filtered value is then an exact integer (at most 255·64·64 < 2²⁴ for u8 in
//! f32, 65535·64·64 < 2⁵³ for u16 in f64), so the result is the exact `S·scale + delta`
//! rounded once: OpenCV's own result whenever its float32 arithmetic is exact too (scale
//! and delta integers or halves, quarters…, e.g. the default 1 and 0). Float images
//! filtered in f64 are rounded once to the output type; f32 images filtered in f32 carry
//! float32 rounding of the same order as OpenCV's own (not its bits: the pip builds filter
//! through IPP, in an order we do not reproduce), at about twice the speed of f64.

use ndarray::{ArrayViewMut1, ArrayViewMut2, Axis};
use rayon::prelude::*;

use super::{Border, Real, RowSource};
use crate::error::{Error, Result};

/// Kernel sizes accepted (OpenCV's `ksize`; 1 means the 3-tap derivative without smoothing).
pub const KSIZES: [u32; 4] = [1, 3, 5, 7];

/// The derivative's parameters, as `cv2.Sobel` names them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deriv {
    pub dx: u32,
    pub dy: u32,
    pub ksize: u32,
    pub scale: f64,
    pub delta: f64,
}

/// OpenCV's unnormalised derivative kernel of `order` for one axis (`getSobelKernels`):
/// `(1 + z)^(n-1-order) · (z - 1)^order` with n = ksize (3 when ksize is 1 and order > 0).
fn axis_kernel(order: u32, ksize: u32) -> Vec<i32> {
    let n = if ksize == 1 && order > 0 {
        3
    } else {
        ksize as usize
    };
    let mut k = vec![1i32];
    for _ in 0..n - 1 - order as usize {
        let mut next = vec![0; k.len() + 1];
        for (i, &v) in k.iter().enumerate() {
            next[i] += v;
            next[i + 1] += v;
        }
        k = next;
    }
    for _ in 0..order {
        let mut next = vec![0; k.len() + 1];
        for (i, &v) in k.iter().enumerate() {
            next[i] -= v;
            next[i + 1] += v;
        }
        k = next;
    }
    k
}

/// `cv2.getDerivKernels(dx, dy, ksize)`: the horizontal and the vertical kernel, checked as
/// OpenCV checks them.
pub fn deriv_kernels(dx: u32, dy: u32, ksize: u32) -> Result<(Vec<i32>, Vec<i32>)> {
    if !KSIZES.contains(&ksize) {
        return Err(Error::invalid(format!("ksize = {ksize}; expected 1, 3, 5 or 7")));
    }
    if dx == 0 && dy == 0 {
        return Err(Error::invalid(
            "dx = dy = 0; at least one derivative order must be positive",
        ));
    }
    let taps = |order: u32| if ksize == 1 && order > 0 { 3 } else { ksize };
    for (name, order) in [("dx", dx), ("dy", dy)] {
        if order >= taps(order) {
            return Err(Error::invalid(format!(
                "{name} = {order} with ksize = {ksize}; the order must be below the kernel size ({}: \
                 ksize 1 allows orders up to 2)",
                taps(order)
            )));
        }
    }
    Ok((axis_kernel(dx, ksize), axis_kernel(dy, ksize)))
}

impl Deriv {
    /// The scale and delta OpenCV really applies for input type `P` and output type `O`:
    /// its kernels and delta are float32 unless the input or the output is float64; and
    /// for uint8 → int16 with a kernel that stays integral once scaled (scale an integer)
    /// it filters in integer arithmetic, `delta` rounded to an integer (half to even) first.
    pub fn as_opencv<P: 'static, O: 'static>(self) -> Deriv {
        use std::any::TypeId;
        let (p, o) = (TypeId::of::<P>(), TypeId::of::<O>());
        let mut d = self;
        if p != TypeId::of::<f64>() && o != TypeId::of::<f64>() {
            d.scale = f64::from(d.scale as f32);
            d.delta = f64::from(d.delta as f32);
        }
        let s = d.scale as f32;
        if p == TypeId::of::<u8>() && o == TypeId::of::<i16>() && s.is_finite() && s.fract() == 0.0 {
            d.delta = d.delta.round_ties_even();
        }
        d
    }
}

/// An output element type: the finished value `s·scale + delta` (f64) converted as
/// OpenCV's `saturate_cast` does (integers: rounded half to even, then clamped).
pub trait DerivOut: Copy + Send + Sync + 'static {
    fn finish(v: f64) -> Self;
    /// `finish(f64::from(v))` computed in f32 (the same value: an f32 rounds to an integer
    /// exactly in f32, and the clamp bounds are f32s), so that eight lanes run per vector
    /// where the f64 route runs four and converts twice.
    fn finish_f32(v: f32) -> Self;
}
macro_rules! int_out {
    ($($t:ty),*) => {$(
        impl DerivOut for $t {
            #[inline(always)]
            fn finish(v: f64) -> $t {
                // `as` saturates (and maps NaN to 0); the clamp is what OpenCV does.
                v.round_ties_even().clamp(<$t>::MIN as f64, <$t>::MAX as f64) as $t
            }
            #[inline(always)]
            fn finish_f32(v: f32) -> $t {
                v.round_ties_even().clamp(<$t>::MIN as f32, <$t>::MAX as f32) as $t
            }
        }
    )*};
}
int_out!(u8, u16, i16);
impl DerivOut for f32 {
    #[inline(always)]
    fn finish(v: f64) -> f32 {
        v as f32
    }
    #[inline(always)]
    fn finish_f32(v: f32) -> f32 {
        v
    }
}
impl DerivOut for f64 {
    #[inline(always)]
    fn finish(v: f64) -> f64 {
        v
    }
    #[inline(always)]
    fn finish_f32(v: f32) -> f64 {
        f64::from(v)
    }
}

/// OpenCV's `borderInterpolate`: the image index standing for index `p` of an axis of
/// length `n` ≥ 1, or None for a constant border (any number of reflections: a 7-tap
/// kernel over a 2-pixel image reflects more than once).
pub(super) fn interpolate(p: isize, n: usize, border: Border) -> Option<usize> {
    let len = n as isize;
    if (0..len).contains(&p) {
        return Some(p as usize);
    }
    Some(match border {
        Border::Constant(_) | Border::Zero => return None,
        Border::Replicate => {
            if p < 0 {
                0
            } else {
                n - 1
            }
        }
        Border::Wrap => p.rem_euclid(len) as usize,
        Border::Reflect | Border::Reflect101 => {
            if n == 1 {
                return Some(0);
            }
            let d = isize::from(border == Border::Reflect101);
            let mut p = p;
            while !(0..len).contains(&p) {
                p = if p < 0 {
                    -p - 1 + d
                } else {
                    len - 1 - (p - len) - d
                };
            }
            p as usize
        }
    })
}

/// Work shared by the bands of one call.
struct Plan<A> {
    /// Non-zero horizontal taps: (offset into the padded row, coefficient).
    kx: Vec<(usize, A)>,
    /// Vertical taps, all of them (ring slot j is input row y - ry + j).
    ky: Vec<A>,
    rx: usize,
    /// Image column standing for each padded column left and right of the image (None:
    /// the constant).
    left: Vec<Option<usize>>,
    right: Vec<Option<usize>>,
    cval: A,
    border: Border,
    finish: Finish,
    /// Filter the interior of each row the source holds in place straight from it
    /// ([`filter_direct`]); false: every row through the padded copy (the tests compare the two).
    direct: bool,
}

/// At most this many taps per axis (ksize 7).
const MAX_TAPS: usize = 7;

/// Input row `yy` (may lie outside the image) filtered horizontally into `t`.
#[inline(always)]
fn filter_row<A: Real, S: RowSource<A>>(src: &S, p: &Plan<A>, yy: isize, pad: &mut [A], t: &mut [A]) {
    let (h, w, rx) = (src.height(), src.width(), p.rx);
    let y = interpolate(yy, h, p.border);
    if p.direct && w > 2 * rx {
        if let Some(row) = y.and_then(|y| src.row(y)) {
            return filter_direct(row, p, pad, t);
        }
    }
    match y {
        None => pad.fill(p.cval),
        Some(y) => {
            src.load(y, &mut pad[rx..rx + w]);
            for (i, c) in p.left.iter().enumerate() {
                pad[i] = c.map_or(p.cval, |c| pad[rx + c]);
            }
            for (i, c) in p.right.iter().enumerate() {
                pad[rx + w + i] = c.map_or(p.cval, |c| pad[rx + c]);
            }
        }
    }
    filter_padded(p, pad, t);
}

/// `t[x] = Σ k·pad[x + o]` over the horizontal taps (o, k) in their order: `pad` holds the
/// padded columns from the one standing for `t[0]`'s leftmost tap on.
#[inline(always)]
fn filter_padded<A: Real>(p: &Plan<A>, pad: &[A], t: &mut [A]) {
    let n = t.len();
    let mut rows: [&[A]; MAX_TAPS] = [&[]; MAX_TAPS];
    let mut ks = [A::default(); MAX_TAPS];
    for (j, &(o, k)) in p.kx.iter().enumerate() {
        rows[j] = &pad[o..o + n];
        ks[j] = k;
    }
    let m = p.kx.len();
    taps(t, &rows[..m], &ks[..m]);
}

/// [`filter_row`] of an image row read in place (`row.len() > 2·rx`): the interior columns
/// `rx .. w - rx`, whose taps all fall inside the image, straight from `row`; only the `rx`
/// columns at each end from a short padded copy (`edge`, at least `3·rx` long). The same
/// taps in the same order on the same values as the padded row gives, so the same bits,
/// without first copying the whole row.
#[inline(always)]
fn filter_direct<A: Real>(row: &[A], p: &Plan<A>, edge: &mut [A], t: &mut [A]) {
    let (w, rx) = (row.len(), p.rx);
    let (lo, hi) = (rx, w - rx);
    // Padded column x + o is image column x + o - rx: for x ≥ rx, row[x - rx + o].
    filter_padded(p, row, &mut t[lo..hi]);
    for (x0, x1) in [(0, lo), (hi, w)] {
        let e = &mut edge[..x1 - x0 + 2 * rx];
        for (v, c) in e.iter_mut().zip(padded_columns(x0, w, rx, &p.left, &p.right)) {
            *v = c.map_or(p.cval, |c| row[c]);
        }
        filter_padded(p, e, &mut t[x0..x1]);
    }
}

/// The image column standing for each padded column from `x0` on (padded column x is image
/// column x - rx; `left`/`right`: the columns standing for the `rx` padded columns beyond
/// each end, None for the constant), for the edges of a row read in place.
#[inline(always)]
pub(super) fn padded_columns<'a>(
    x0: usize,
    w: usize,
    rx: usize,
    left: &'a [Option<usize>],
    right: &'a [Option<usize>],
) -> impl Iterator<Item = Option<usize>> + 'a {
    (x0..).map(move |x| match x.checked_sub(rx) {
        None => left[x],
        Some(c) if c >= w => right[c - w],
        Some(c) => Some(c),
    })
}

/// `t[x] = ((k0·r0[x] + k1·r1[x]) + k2·r2[x]) + …`: the taps in their order, so the float
/// rounding is that of one pass per tap, but in a single pass over `t` (the tap count is a
/// constant of the loop, which is unrolled over the taps and vectorized over x).
#[inline(always)]
fn taps<A: Real>(t: &mut [A], rows: &[&[A]], ks: &[A]) {
    match ks.len() {
        1 => taps_n::<A, 1>(t, rows, ks),
        2 => taps_n::<A, 2>(t, rows, ks),
        3 => taps_n::<A, 3>(t, rows, ks),
        4 => taps_n::<A, 4>(t, rows, ks),
        5 => taps_n::<A, 5>(t, rows, ks),
        6 => taps_n::<A, 6>(t, rows, ks),
        7 => taps_n::<A, 7>(t, rows, ks),
        _ => taps_passes(t, rows, ks),
    }
}

#[inline(always)]
fn taps_n<A: Real, const N: usize>(t: &mut [A], rows: &[&[A]], ks: &[A]) {
    let w = t.len();
    let r: [&[A]; N] = std::array::from_fn(|j| &rows[j][..w]);
    let k: [A; N] = std::array::from_fn(|j| ks[j]);
    for (x, t) in t.iter_mut().enumerate() {
        let mut s = k[0] * r[0][x];
        for j in 1..N {
            s = s + k[j] * r[j][x];
        }
        *t = s;
    }
}

/// One pass per tap (the same values as [`taps_n`]; any tap count).
fn taps_passes<A: Real>(t: &mut [A], rows: &[&[A]], ks: &[A]) {
    let w = t.len();
    t.iter_mut().zip(&rows[0][..w]).for_each(|(t, &v)| *t = ks[0] * v);
    for (r, &k) in rows.iter().zip(ks).skip(1) {
        t.iter_mut().zip(&r[..w]).for_each(|(t, &v)| *t = *t + k * v);
    }
}

/// How a row of sums is finished: `O::finish(S·scale + delta)`, or with `unit` (scale 1,
/// delta +0.0, and sums exact in f32 or filtered in f32: the caller's guarantee) in f32,
/// eight lanes per vector ([`DerivOut::finish_f32`]: the same values) through
/// [`Sum::unit_f32`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Finish {
    pub unit: bool,
    pub scale: f64,
    pub delta: f64,
}

/// A filtered sum: an f32/f64 of the float path or an integer lane of `deriv_int`.
pub(super) trait Sum: Copy {
    /// `S + 0` in f32 when the sum is an f32 (or an integer exact in f32): `s + -0.0` would
    /// keep a -0; `+0.0` makes it +0, as `s·1 + 0` does in f64.
    fn unit_f32(self) -> f32;
    fn to_f64(self) -> f64;
}
/// The float path's sums. `A` is f32 when `unit` holds, so the round trip through f64 is
/// exact and folds away.
impl<A: Real> Sum for A {
    #[inline(always)]
    fn unit_f32(self) -> f32 {
        (self + A::default()).to_f64() as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        Real::to_f64(self)
    }
}

/// Finish one row of `n` sums, `sum(x)` for column x: `out[x] = O::finish(S·scale + delta)`
/// (or the `unit` f32 route, [`Finish`]), straight into `out` when it is contiguous, else
/// into the scratch row `fin` and copied. `sum` is computed in the same loop, so a row of
/// sums need not be stored and read back. Both the float path ([`band`]) and the integer
/// path (`deriv_int::band`) finish through here, so their results are the same function of
/// the same sums.
#[inline(always)]
pub(super) fn finish_row<S: Sum, O: DerivOut>(
    mut out: ArrayViewMut1<O>,
    fin: &mut [O],
    f: Finish,
    n: usize,
    sum: impl Fn(usize) -> S,
) {
    let mut copy = false;
    let dst: &mut [O] = match out.as_slice_mut() {
        Some(d) => d,
        None => {
            copy = true;
            fin
        }
    };
    let dst = &mut dst[..n];
    if f.unit {
        for (x, o) in dst.iter_mut().enumerate() {
            *o = O::finish_f32(sum(x).unit_f32());
        }
    } else {
        for (x, o) in dst.iter_mut().enumerate() {
            *o = O::finish(sum(x).to_f64() * f.scale + f.delta);
        }
    }
    if copy {
        out.iter_mut().zip(&*fin).for_each(|(o, &v)| *o = v);
    }
}

/// The vertical taps finished in the same pass: [`finish_row`] of `Σ ks[j]·rows[j][x]`,
/// summed as [`taps`] sums (the taps in their order).
#[inline(always)]
fn finish_taps<A: Real, O: DerivOut>(
    out: ArrayViewMut1<O>,
    fin: &mut [O],
    acc: &mut [A],
    f: Finish,
    rows: &[&[A]],
    ks: &[A],
) {
    let n = acc.len();
    match ks.len() {
        1 => finish_row(out, fin, f, n, sum_n::<A, 1>(rows, ks, n)),
        2 => finish_row(out, fin, f, n, sum_n::<A, 2>(rows, ks, n)),
        3 => finish_row(out, fin, f, n, sum_n::<A, 3>(rows, ks, n)),
        4 => finish_row(out, fin, f, n, sum_n::<A, 4>(rows, ks, n)),
        5 => finish_row(out, fin, f, n, sum_n::<A, 5>(rows, ks, n)),
        6 => finish_row(out, fin, f, n, sum_n::<A, 6>(rows, ks, n)),
        7 => finish_row(out, fin, f, n, sum_n::<A, 7>(rows, ks, n)),
        _ => {
            taps_passes(acc, rows, ks);
            let acc = &*acc;
            finish_row(out, fin, f, n, |x| acc[x]);
        }
    }
}

/// `x ↦ ((k0·r0[x] + k1·r1[x]) + k2·r2[x]) + …` for x < n, as [`taps_n`] sums.
#[inline(always)]
fn sum_n<'r, A: Real, const N: usize>(rows: &[&'r [A]], ks: &[A], n: usize) -> impl Fn(usize) -> A + 'r {
    let r: [&[A]; N] = std::array::from_fn(|j| &rows[j][..n]);
    let k: [A; N] = std::array::from_fn(|j| ks[j]);
    move |x| {
        let mut s = k[0] * r[0][x];
        for j in 1..N {
            s = s + k[j] * r[j][x];
        }
        s
    }
}

/// Output rows `y0 .. y0 + out.nrows()`.
#[inline(always)]
fn band<A: Real, O: DerivOut, S: RowSource<A>>(src: &S, p: &Plan<A>, y0: usize, mut out: ArrayViewMut2<O>) {
    let w = src.width();
    let ry = p.ky.len() / 2;
    let mut pad = vec![A::default(); w + 2 * p.rx];
    let mut ring: Vec<Vec<A>> = (0..p.ky.len()).map(|_| vec![A::default(); w]).collect();
    let mut acc = vec![A::default(); w];
    let mut fin = vec![O::finish(0.0); w];
    for dy in 0..out.nrows() {
        let y = (y0 + dy) as isize;
        if dy == 0 {
            for (j, t) in ring.iter_mut().enumerate() {
                filter_row(src, p, y - ry as isize + j as isize, &mut pad, t);
            }
        } else {
            ring.rotate_left(1);
            let last = ring.last_mut().expect("at least one tap");
            filter_row(src, p, y + ry as isize, &mut pad, last);
        }
        // The first tap always, then the non-zero ones (the vertical kernels' end taps are
        // ±1, never 0).
        let mut rows: [&[A]; MAX_TAPS] = [&[]; MAX_TAPS];
        let mut ks = [A::default(); MAX_TAPS];
        let mut m = 0;
        for (j, (k, row)) in p.ky.iter().zip(&ring).enumerate() {
            if j == 0 || *k != A::default() {
                rows[m] = &row[..];
                ks[m] = *k;
                m += 1;
            }
        }
        // The next row's input (when read in place) and output are requested while this
        // row is finished, a block at a time, so that they arrive before they are needed:
        // without it, the first read of each input row and the first store into each output
        // row waited on memory (about half of the samples, perf), and those waits do not
        // overlap the arithmetic.
        let next_in = interpolate(y + ry as isize + 1, src.height(), p.border).and_then(|yy| src.row(yy));
        let next_out = (dy + 1 < out.nrows())
            .then(|| out.row(dy + 1).as_slice().map(|s| s.as_ptr()))
            .flatten();
        let mut row = out.row_mut(dy);
        let mut a = 0;
        while a < w {
            let b = (a + PREFETCH_BLOCK).min(w);
            if let Some(r) = next_in {
                prefetch(r[a..b].as_ptr().cast(), (b - a) * std::mem::size_of::<A>());
            }
            if let Some(o) = next_out {
                prefetch(o.wrapping_add(a).cast(), (b - a) * std::mem::size_of::<O>());
            }
            let rs: [&[A]; MAX_TAPS] = std::array::from_fn(|j| if j < m { &rows[j][a..b] } else { &[][..] });
            finish_taps(
                row.slice_mut(ndarray::s![a..b]),
                &mut fin[a..b],
                &mut acc[a..b],
                p.finish,
                &rs[..m],
                &ks[..m],
            );
            a = b;
        }
    }
}

/// Columns finished per block, before which the next rows' lines for those columns are
/// requested: 256 was the fastest of 128/256/512/1024 (float32, ksize 3–7, one thread).
const PREFETCH_BLOCK: usize = 256;

/// Ask the CPU to start loading the `bytes` from `p` (one request per 64-byte line) into
/// the cache, for a row the next step reads or writes: it arrives while this step computes.
#[inline(always)]
fn prefetch(p: *const u8, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    for off in (0..bytes).step_by(64) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: SSE is part of x86-64's baseline; a prefetch is a hint that reads nothing
        // architecturally and cannot fault, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, bytes);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn band_avx2<A: Real, O: DerivOut, S: RowSource<A>>(
    src: &S,
    p: &Plan<A>,
    y0: usize,
    out: ArrayViewMut2<O>,
) {
    band(src, p, y0, out)
}

fn run_band<A: Real, O: DerivOut, S: RowSource<A>>(
    src: &S,
    p: &Plan<A>,
    y0: usize,
    out: ArrayViewMut2<O>,
    avx2: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is only true when the CPU supports AVX2.
        return unsafe { band_avx2(src, p, y0, out) };
    }
    let _ = avx2;
    band(src, p, y0, out)
}

/// The checks every derivative call makes before filtering.
fn check(h: usize, w: usize, out: (usize, usize), border: Border) -> Result<()> {
    if h == 0 || w == 0 {
        return Err(Error::invalid(format!("the image is empty ({h}×{w})")));
    }
    if out != (h, w) {
        return Err(Error::invalid(format!(
            "the output is {}×{} but the image is {h}×{w}",
            out.0, out.1
        )));
    }
    if border == Border::Zero {
        return Err(Error::invalid(
            "border FK_BORDER_ZERO is the 3×3 magnitude's reference loop; derivatives take \
             REPLICATE, REFLECT101 (OpenCV's default), REFLECT, WRAP or CONSTANT",
        ));
    }
    Ok(())
}

/// [`sobel_deriv`] of a u8 image (filtered in f32): through the 16-bit integer path
/// ([`super::deriv_int`]) where it applies, which gives the same bits faster.
pub fn sobel_deriv_u8<O: DerivOut>(
    src: ndarray::ArrayView2<u8>,
    d: Deriv,
    border: Border,
    out: ArrayViewMut2<O>,
) -> Result<()> {
    let (h, w) = src.dim();
    check(h, w, out.dim(), border)?;
    deriv_kernels(d.dx, d.dy, d.ksize)?;
    match super::deriv_int::plan(w, d, border) {
        Some(plan) => super::deriv_int::run(&src, &plan, out),
        None => sobel_deriv::<f32, O, _>(&super::Gray(src), d, border, out),
    }
}

/// `cv2.Sobel(src, ddepth, d.dx, d.dy, ksize=d.ksize, scale=d.scale, delta=d.delta,
/// borderType=border)` of `src`, filtered in precision `A`, into `out` (the input's shape).
/// `Border::Zero` is the magnitude's reference-loop mode and is refused here; `Constant(v)`
/// pads with v (OpenCV's `BORDER_CONSTANT` pads with 0).
pub fn sobel_deriv<A: Real, O: DerivOut, S: RowSource<A>>(
    src: &S,
    d: Deriv,
    border: Border,
    out: ArrayViewMut2<O>,
) -> Result<()> {
    sobel_deriv_as(src, d, border, out, true)
}

/// [`sobel_deriv`], with `direct` false reading every row through the padded copy (the
/// tests compare the two).
fn sobel_deriv_as<A: Real, O: DerivOut, S: RowSource<A>>(
    src: &S,
    d: Deriv,
    border: Border,
    out: ArrayViewMut2<O>,
    direct: bool,
) -> Result<()> {
    let (h, w) = (src.height(), src.width());
    check(h, w, out.dim(), border)?;
    let (kx, ky) = deriv_kernels(d.dx, d.dy, d.ksize)?;
    let real = |k: i32| A::from_f64(f64::from(k));
    let rx = kx.len() / 2;
    let mut taps: Vec<(usize, A)> = kx
        .iter()
        .enumerate()
        .filter(|(_, &k)| k != 0)
        .map(|(o, &k)| (o, real(k)))
        .collect();
    if taps.is_empty() {
        taps.push((0, A::default()));
    }
    let plan = Plan {
        kx: taps,
        ky: ky.iter().map(|&k| real(k)).collect(),
        rx,
        left: (0..rx)
            .map(|i| interpolate(i as isize - rx as isize, w, border))
            .collect(),
        right: (0..rx)
            .map(|i| interpolate((w + i) as isize, w, border))
            .collect(),
        cval: A::from_f64(match border {
            Border::Constant(v) => v,
            _ => 0.0,
        }),
        border,
        finish: Finish {
            unit: d.scale == 1.0
                && d.delta.to_bits() == 0
                && std::any::TypeId::of::<A>() == std::any::TypeId::of::<f32>(),
            scale: d.scale,
            delta: d.delta,
        },
        direct,
    };
    #[cfg(target_arch = "x86_64")]
    let avx2 = std::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    let avx2 = false;
    if crate::parallel::serial(h.saturating_mul(w).saturating_mul(8)) {
        run_band(src, &plan, 0, out, avx2);
        return Ok(());
    }
    // Each band filters ky.len() - 1 rows beyond its own: keep bands several times taller.
    let rows = super::band_rows(h, w).max(8 * plan.ky.len());
    let mut out = out;
    let bands: Vec<_> = out.axis_chunks_iter_mut(Axis(0), rows).collect();
    crate::parallel::run(|| {
        bands
            .into_par_iter()
            .enumerate()
            .for_each(|(i, o)| run_band(src, &plan, i * rows, o, avx2))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Gray;
    use ndarray::Array2;

    #[test]
    fn kernels_are_opencvs() {
        assert_eq!(deriv_kernels(1, 0, 1).unwrap(), (vec![-1, 0, 1], vec![1]));
        assert_eq!(deriv_kernels(0, 2, 1).unwrap(), (vec![1], vec![1, -2, 1]));
        assert_eq!(deriv_kernels(1, 0, 3).unwrap(), (vec![-1, 0, 1], vec![1, 2, 1]));
        assert_eq!(deriv_kernels(2, 0, 5).unwrap().0, vec![1, 0, -2, 0, 1]);
        assert_eq!(
            deriv_kernels(1, 0, 7).unwrap(),
            (vec![-1, -4, -5, 0, 5, 4, 1], vec![1, 6, 15, 20, 15, 6, 1])
        );
        assert_eq!(deriv_kernels(0, 2, 7).unwrap().1, vec![1, 2, -1, -4, -1, 2, 1]);
        for (dx, dy, k) in [(0, 0, 3), (3, 0, 3), (3, 0, 1), (0, 7, 7), (1, 0, 2), (1, 0, 9)] {
            assert!(deriv_kernels(dx, dy, k).is_err(), "{dx} {dy} {k}");
        }
    }

    #[test]
    fn interpolate_is_border_interpolate() {
        let r101: Vec<_> = (-4..6)
            .map(|p| interpolate(p, 2, Border::Reflect101).unwrap())
            .collect();
        assert_eq!(r101, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
        let r: Vec<_> = (-3..5)
            .map(|p| interpolate(p, 2, Border::Reflect).unwrap())
            .collect();
        assert_eq!(r, [1, 1, 0, 0, 1, 1, 0, 0]);
        assert_eq!(interpolate(-1, 3, Border::Wrap), Some(2));
        assert_eq!(interpolate(-1, 3, Border::Constant(1.0)), None);
    }

    /// Direct 2-D correlation with the kernels' outer product, in f64.
    fn reference(img: &Array2<f64>, d: Deriv, border: Border) -> Array2<f64> {
        let (kx, ky) = deriv_kernels(d.dx, d.dy, d.ksize).unwrap();
        let (h, w) = img.dim();
        let (rx, ry) = (kx.len() as isize / 2, ky.len() as isize / 2);
        let cval = if let Border::Constant(c) = border { c } else { 0.0 };
        Array2::from_shape_fn((h, w), |(y, x)| {
            let mut s = 0.0;
            for (j, &b) in ky.iter().enumerate() {
                for (i, &a) in kx.iter().enumerate() {
                    let yy = interpolate(y as isize + j as isize - ry, h, border);
                    let xx = interpolate(x as isize + i as isize - rx, w, border);
                    let v = match (yy, xx) {
                        (Some(yy), Some(xx)) => img[[yy, xx]],
                        _ => cval,
                    };
                    s += f64::from(a * b) * v;
                }
            }
            s * d.scale + d.delta
        })
    }

    #[test]
    fn matches_direct_correlation() {
        let borders = [
            Border::Replicate,
            Border::Reflect101,
            Border::Reflect,
            Border::Wrap,
            Border::Constant(3.0),
        ];
        for (h, w) in [(1, 1), (2, 3), (5, 4), (37, 29), (300, 7)] {
            let img = Array2::from_shape_fn((h, w), |(y, x)| ((y * 31 + x * 17) % 23) as f64);
            for ksize in KSIZES {
                for (dx, dy) in [(1, 0), (0, 1), (1, 1), (2, 0), (0, 2), (2, 1), (3, 0)] {
                    let d = Deriv {
                        dx,
                        dy,
                        ksize,
                        scale: 0.5,
                        delta: -2.0,
                    };
                    if deriv_kernels(dx, dy, ksize).is_err() {
                        continue;
                    }
                    for border in borders {
                        let want = reference(&img, d, border);
                        let mut got = Array2::<f64>::zeros((h, w));
                        sobel_deriv::<f64, f64, _>(&Gray(img.view()), d, border, got.view_mut()).unwrap();
                        assert_eq!(got, want, "{h}×{w} {d:?} {border:?}");
                        let mut got16 = Array2::<i16>::zeros((h, w));
                        sobel_deriv::<f64, i16, _>(&Gray(img.view()), d, border, got16.view_mut()).unwrap();
                        assert_eq!(got16, want.mapv(i16::finish), "{h}×{w} {d:?} {border:?}");
                    }
                }
            }
        }
    }

    /// u8 images filtered in f32 with scale 1 and delta 0 take the f32 finish
    /// (`DerivOut::finish_f32`): the same values as the f64 reference, saturation of i16 and
    /// u8 outputs included (ksize 7 sums of 255s reach ±2²⁰), and +0.0 for a zero sum.
    #[test]
    fn unit_f32_finish_matches_f64() {
        let img = Array2::from_shape_fn((23, 41), |(y, x)| {
            if (y * 7 + x * 3) % 5 < 2 {
                255u8
            } else {
                (x * 13) as u8
            }
        });
        let as_f64 = img.mapv(f64::from);
        for ksize in KSIZES {
            for (dx, dy) in [(1, 0), (0, 1), (1, 1), (2, 0)] {
                if deriv_kernels(dx, dy, ksize).is_err() {
                    continue;
                }
                let d = Deriv {
                    dx,
                    dy,
                    ksize,
                    scale: 1.0,
                    delta: 0.0,
                };
                let want = reference(&as_f64, d, Border::Reflect101);
                let mut i16s = Array2::<i16>::zeros(img.dim());
                sobel_deriv::<f32, i16, _>(&Gray(img.view()), d, Border::Reflect101, i16s.view_mut())
                    .unwrap();
                assert_eq!(i16s, want.mapv(i16::finish), "{d:?}");
                let mut u8s = Array2::<u8>::zeros(img.dim());
                sobel_deriv::<f32, u8, _>(&Gray(img.view()), d, Border::Reflect101, u8s.view_mut()).unwrap();
                assert_eq!(u8s, want.mapv(u8::finish), "{d:?}");
                let mut f32s = Array2::<f32>::zeros(img.dim());
                sobel_deriv::<f32, f32, _>(&Gray(img.view()), d, Border::Reflect101, f32s.view_mut())
                    .unwrap();
                let bits = |a: &Array2<f32>| a.mapv(f32::to_bits);
                assert_eq!(bits(&f32s), bits(&want.mapv(f32::finish)), "{d:?}");
            }
        }
        // A flat image: every sum is ±0 before the finish; the result is +0.0 as in f64.
        let flat = Array2::<u8>::zeros((4, 5));
        let d = Deriv {
            dx: 1,
            dy: 0,
            ksize: 3,
            scale: 1.0,
            delta: 0.0,
        };
        let mut out = Array2::<f32>::from_elem((4, 5), 1.0);
        sobel_deriv::<f32, f32, _>(&Gray(flat.view()), d, Border::Reflect101, out.view_mut()).unwrap();
        assert!(out.iter().all(|v| v.to_bits() == 0));
    }

    /// The fused tap loop rounds as one pass per tap does, for every tap count.
    #[test]
    fn fused_taps_round_as_passes() {
        let mut x = 0x9e37_79b9u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as f32 / u32::MAX as f32 - 0.5) * 1e3
        };
        let data: Vec<Vec<f32>> = (0..9).map(|_| (0..37).map(|_| next()).collect()).collect();
        let ks: Vec<f32> = vec![-1.0, 6.0, -15.0, 20.0, 0.3, 4.0, 1.0, -2.0, 7.0];
        for n in 1..=9 {
            let rows: Vec<&[f32]> = data[..n].iter().map(|r| &r[..]).collect();
            let (mut a, mut b) = (vec![0f32; 37], vec![0f32; 37]);
            taps(&mut a, &rows, &ks[..n]);
            taps_passes(&mut b, &rows, &ks[..n]);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "{n} taps");
        }
    }

    /// Rows read in place ([`filter_direct`]) give the padded path's bits: random shapes
    /// (widths below, at and just above the kernel's), every ksize, order and border, f32 and
    /// f64 images filtered in their own type (the only ones read in place) into float and
    /// integer outputs, unit and non-unit finishes, and layouts read in place (contiguous,
    /// rows reversed, a window of a wider array) or not (columns reversed, transposed, every
    /// other column), into contiguous and strided outputs.
    #[test]
    fn direct_rows_match_padded() {
        let mut x = 0x2545_f491u32;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let borders = [
            Border::Replicate,
            Border::Reflect101,
            Border::Reflect,
            Border::Wrap,
            Border::Constant(-1.5),
        ];
        let mut shapes = vec![(1, 1), (3, 2), (3, 6), (2, 7), (9, 8), (5, 15), (4, 16)];
        for _ in 0..8 {
            shapes.push((1 + next() as usize % 24, 1 + next() as usize % 70));
        }
        let mut direct_rows = 0;
        for (h, w) in shapes {
            // Values of every sign and scale, exact zeros of both signs among them.
            let mut value = || match next() % 16 {
                0 => -0.0,
                1 => 0.0,
                2 => (next() % 1000) as f64 * 1e30,
                _ => (next() as f64 / u32::MAX as f64 - 0.5) * 2f64.powi((next() % 40) as i32 - 20),
            };
            let big = Array2::from_shape_fn((h + 3, 2 * w + 5), |_| value());
            let flat = big.slice(ndarray::s![..h, ..w]).to_owned();
            let t = Array2::from_shape_fn((w, h), |(x, y)| flat[[y, x]]);
            let (big32, flat32, t32) = (
                big.mapv(|v| v as f32),
                flat.mapv(|v| v as f32),
                t.mapv(|v| v as f32),
            );
            macro_rules! views {
                ($big:expr, $flat:expr, $t:expr) => {
                    [
                        $flat.view(),
                        $flat.slice(ndarray::s![..;-1, ..]),
                        $big.slice(ndarray::s![1..h + 1, 3..w + 3]),
                        $flat.slice(ndarray::s![.., ..;-1]),
                        $t.t(),
                        $big.slice(ndarray::s![2..h + 2, ..2 * w;2]),
                    ]
                };
            }
            for (v, v32) in views!(big, flat, t).into_iter().zip(views!(big32, flat32, t32)) {
                direct_rows += usize::from(v.row(0).as_slice().is_some());
                for ksize in KSIZES {
                    for (dx, dy) in [(1, 0), (0, 1), (1, 1), (2, 0), (0, 2), (3, 1), (1, 4)] {
                        if deriv_kernels(dx, dy, ksize).is_err() {
                            continue;
                        }
                        for (scale, delta) in [(1.0, 0.0), (0.3, -7.25)] {
                            let d = Deriv {
                                dx,
                                dy,
                                ksize,
                                scale,
                                delta,
                            };
                            for border in borders {
                                same::<f64, f64, _>(&Gray(v), d, border);
                                same::<f64, i16, _>(&Gray(v), d, border);
                                same::<f32, f32, _>(&Gray(v32), d, border);
                                same::<f32, u8, _>(&Gray(v32), d, border);
                            }
                        }
                    }
                }
            }
        }
        assert!(direct_rows >= 3 * 14, "{direct_rows}");
    }

    /// `sobel_deriv_as` with rows read in place and through the padded copy, into a
    /// contiguous and a strided output: the same bits.
    fn same<A: Real, O: DerivOut + std::fmt::Debug, S: RowSource<A>>(src: &S, d: Deriv, border: Border) {
        let (h, w) = (src.height(), src.width());
        let run = |direct: bool, strided: bool| {
            let mut big = Array2::from_elem((h, 2 * w), O::finish(1.0));
            let out = if strided {
                big.slice_mut(ndarray::s![.., ..;2])
            } else {
                big.slice_mut(ndarray::s![.., ..w])
            };
            let mut out = out;
            sobel_deriv_as(src, d, border, out.view_mut(), direct).unwrap();
            // Debug tells -0.0 from +0.0, and tells apart any two floats but NaNs (none here).
            out.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>()
        };
        let want = run(false, false);
        for strided in [false, true] {
            assert_eq!(
                run(true, strided),
                want,
                "{h}×{w} {d:?} {border:?} strided {strided}"
            );
        }
    }

    #[test]
    fn rounding_and_saturation() {
        assert_eq!(u8::finish(2.5), 2);
        assert_eq!(u8::finish(3.5), 4);
        assert_eq!(u8::finish(-7.0), 0);
        assert_eq!(u8::finish(300.0), 255);
        assert_eq!(i16::finish(-40000.0), i16::MIN);
        assert_eq!(i16::finish(-2.5), -2);
        assert_eq!(u16::finish(70000.0), u16::MAX);
    }

    #[test]
    fn zero_border_refused() {
        let img = Array2::<f64>::zeros((4, 4));
        let mut out = Array2::<f64>::zeros((4, 4));
        let d = Deriv {
            dx: 1,
            dy: 0,
            ksize: 3,
            scale: 1.0,
            delta: 0.0,
        };
        assert!(sobel_deriv::<f64, f64, _>(&Gray(img.view()), d, Border::Zero, out.view_mut()).is_err());
    }
}
