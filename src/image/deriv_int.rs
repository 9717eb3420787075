//! The integer path of `cv2.Sobel` for uint8 images, as OpenCV's own. The horizontal pass
//! runs in 16-bit lanes (sixteen per AVX2 vector, twice the f32 path's: its sums are at
//! most 255·Σ|kx| ≤ 255·64), and so does the vertical one when every sum fits in an `i16`
//! (`255·Σ|kx|·Σ|ky| ≤ 32767`: ksize 1 and 3 at every order, ksize 5 up to order 3);
//! otherwise (ksize 7, order-4 axes) the vertical pass accumulates in `i32` lanes.
//! Mirrored taps are folded (`k·(a ± b)`: one multiply per pair). The interior of each
//! contiguous image row is filtered straight from the u8 row (no widened padded copy), and
//! the vertical pass runs inside the finishing loop (no row of sums stored and read back). The sums are exact
//! integers below 2²⁴ either way, as on the f32 path, so the results are that path's bit
//! for bit (every output type, every `scale` and `delta`): the finish is the same function
//! of the same integer `S`. The 16-bit arithmetic wraps, which cannot change a result that
//! fits (it is exact modulo 2¹⁶).
//!
//! A `Constant` border whose value is not an integer pixel value (or is -0.0) stays on the
//! f32 path ([`plan`] returns None).

use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use super::deriv::{deriv_kernels, finish_row, interpolate, padded_columns, Deriv, DerivOut, Finish, Sum};
use super::Border;

/// A kernel folded about its centre: `out[x] = c·p[x] + Σ k·(p[x+i] ± p[x-i])`, `-` when
/// the kernel is antisymmetric (odd order).
struct Folded {
    centre: i16,
    /// (offset i ≥ 1, k = kernel[r + i]) for the non-zero pairs.
    pairs: Vec<(usize, i16)>,
    odd: bool,
}

impl Folded {
    /// None when the kernel is neither symmetric nor antisymmetric (no Sobel kernel is).
    fn new(k: &[i32]) -> Option<Folded> {
        let r = k.len() / 2;
        let sym = (1..=r).all(|i| k[r - i] == k[r + i]);
        let anti = (1..=r).all(|i| k[r - i] == -k[r + i]);
        if !sym && !anti {
            return None;
        }
        let odd = !sym; // an all-zero side (k = [c]) counts as symmetric
        Some(Folded {
            centre: i16::try_from(k[r]).ok()?,
            pairs: (1..=r)
                .filter(|&i| k[r + i] != 0)
                .map(|i| i16::try_from(k[r + i]).ok().map(|v| (i, v)))
                .collect::<Option<_>>()?,
            odd,
        })
    }
}

/// An accumulator lane: `i16` (wrapping; exact when the bound fits) or `i32` (the vertical
/// pass of kernels whose sums exceed an i16: at most 255·64·20 < 2²⁴, exact in f32 too).
trait Lane: Sum + Default + Send + Sync + 'static + From<i16> + From<u8> {
    fn from16(v: i16) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
}
macro_rules! lane {
    ($($t:ty),*) => {$(
        impl Lane for $t {
            #[inline(always)]
            fn from16(v: i16) -> $t { v.into() }
            #[inline(always)]
            fn add(self, o: $t) -> $t { self.wrapping_add(o) }
            #[inline(always)]
            fn sub(self, o: $t) -> $t { self.wrapping_sub(o) }
            #[inline(always)]
            fn mul(self, o: $t) -> $t { self.wrapping_mul(o) }
        }
    )*};
}
lane!(i16, i32);
macro_rules! sum {
    ($($t:ty),*) => {$(
        impl Sum for $t {
            // Exact: |v| < 2²⁴ (see `Lane`), and `S + 0` is `S` for an integer.
            #[inline(always)]
            fn unit_f32(self) -> f32 { self as f32 }
            #[inline(always)]
            fn to_f64(self) -> f64 { self.into() }
        }
    )*};
}
sum!(i16, i32);

/// `t = k·(hi ± lo)` (`first`) or `t += k·(hi ± lo)`, in wrapping arithmetic of `T`, over
/// rows of i16 (the padded or filtered rows) or u8 (an image row read in place).
#[inline(always)]
fn pair<I: Copy, T: Lane + From<I>>(t: &mut [T], lo: &[I], hi: &[I], k: i16, odd: bool, first: bool) {
    let (lo, hi, k) = (&lo[..t.len()], &hi[..t.len()], T::from16(k));
    let it = t.iter_mut().zip(lo.iter().zip(hi));
    let (a, b) = (T::from, T::from);
    match (odd, first) {
        (true, true) => it.for_each(|(t, (&x, &y))| *t = b(y).sub(a(x)).mul(k)),
        (false, true) => it.for_each(|(t, (&x, &y))| *t = b(y).add(a(x)).mul(k)),
        (true, false) => it.for_each(|(t, (&x, &y))| *t = t.add(b(y).sub(a(x)).mul(k))),
        (false, false) => it.for_each(|(t, (&x, &y))| *t = t.add(b(y).add(a(x)).mul(k))),
    }
}

/// `t = f` applied to rows: `row(j)` is the row at offset j (0 = the centre).
#[inline(always)]
fn apply<'r, I: Copy + 'r, T: Lane + From<I>>(f: &Folded, t: &mut [T], row: impl Fn(isize) -> &'r [I]) {
    let mut first = true;
    if f.centre != 0 {
        let (c, n) = (T::from16(f.centre), t.len());
        t.iter_mut()
            .zip(&row(0)[..n])
            .for_each(|(t, &v)| *t = T::from(v).mul(c));
        first = false;
    }
    for &(i, k) in &f.pairs {
        let i = i as isize;
        pair(t, row(-i), row(i), k, f.odd, first);
        first = false;
    }
    if first {
        t.fill(T::default()); // an all-zero kernel (not a Sobel kernel; kept total)
    }
}

/// Work shared by the bands of one call.
pub(super) struct Plan {
    hx: Folded,
    vy: Folded,
    rx: usize,
    ry: usize,
    /// The vertical pass needs i32 lanes (255·Σ|kx|·Σ|ky| > 32767).
    wide: bool,
    left: Vec<Option<usize>>,
    right: Vec<Option<usize>>,
    cval: i16,
    border: Border,
    scale: f64,
    delta: f64,
    /// Filter the interior of each contiguous image row straight from it ([`filter_direct`]);
    /// false: every row through the padded copy (the tests compare the two).
    pub(super) direct: bool,
}

/// The plan of the integer path, or None where it does not apply (see the module).
pub(super) fn plan(w: usize, d: Deriv, border: Border) -> Option<Plan> {
    let (kx, ky) = deriv_kernels(d.dx, d.dy, d.ksize).ok()?;
    let l1 = |k: &[i32]| k.iter().map(|v| u64::from(v.unsigned_abs())).sum::<u64>();
    // The horizontal pass is always in i16 (255·Σ|kx| ≤ 255·64); the vertical one in i32
    // when the whole sum may not fit.
    if 255 * l1(&kx) > i16::MAX as u64 {
        return None;
    }
    let wide = 255 * l1(&kx) * l1(&ky) > i16::MAX as u64;
    let cval = match border {
        Border::Zero => return None,
        // A negative zero or fractional cval would make the f32 path's sums differ (in the
        // sign of a zero, or by a fraction); keep those there.
        Border::Constant(v) if !(v.is_sign_positive() && v <= 255.0 && v.fract() == 0.0) => return None,
        Border::Constant(v) => v as i16,
        _ => 0,
    };
    let (rx, ry) = (kx.len() / 2, ky.len() / 2);
    Some(Plan {
        hx: Folded::new(&kx)?,
        vy: Folded::new(&ky)?,
        rx,
        ry,
        wide,
        left: (0..rx)
            .map(|i| interpolate(i as isize - rx as isize, w, border))
            .collect(),
        right: (0..rx)
            .map(|i| interpolate((w + i) as isize, w, border))
            .collect(),
        cval,
        border,
        scale: d.scale,
        delta: d.delta,
        direct: true,
    })
}

/// Input row `yy` (may lie outside the image), padded, filtered horizontally into `t`.
#[inline(always)]
fn filter_row(src: &ArrayView2<u8>, p: &Plan, yy: isize, pad: &mut [i16], t: &mut [i16]) {
    let (h, w, rx) = (src.nrows(), src.ncols(), p.rx);
    let y = interpolate(yy, h, p.border);
    if p.direct && w > 2 * rx {
        if let Some(row) = y.and_then(|y| src.row(y).to_slice()) {
            return filter_direct(row, p, pad, t);
        }
    }
    match y {
        None => pad.fill(p.cval),
        Some(y) => {
            let row = src.row(y);
            let dst = &mut pad[rx..rx + w];
            match row.as_slice() {
                Some(s) => dst.iter_mut().zip(s).for_each(|(d, &v)| *d = i16::from(v)),
                None => dst
                    .iter_mut()
                    .zip(row.iter())
                    .for_each(|(d, &v)| *d = i16::from(v)),
            }
            for (i, c) in p.left.iter().enumerate() {
                pad[i] = c.map_or(p.cval, |c| pad[rx + c]);
            }
            for (i, c) in p.right.iter().enumerate() {
                pad[rx + w + i] = c.map_or(p.cval, |c| pad[rx + c]);
            }
        }
    }
    let pad = &*pad;
    apply(&p.hx, t, |i| &pad[(rx as isize + i) as usize..]);
}

/// [`filter_row`] of an image row read in place (`row.len() > 2·rx`), as the float path's
/// `deriv::filter_direct`: the interior columns `rx .. w - rx` straight from the u8 row, the
/// `rx` columns at each end from a short padded copy (`edge`, at least `3·rx` long). The
/// sums are exact integers either way.
#[inline(always)]
fn filter_direct(row: &[u8], p: &Plan, edge: &mut [i16], t: &mut [i16]) {
    let (w, rx) = (row.len(), p.rx);
    let (lo, hi) = (rx, w - rx);
    // Offset i from output column x (≥ rx) is image column x + i: row[x - rx + (rx + i)].
    apply(&p.hx, &mut t[lo..hi], |i| &row[(rx as isize + i) as usize..]);
    for (x0, x1) in [(0, lo), (hi, w)] {
        let e = &mut edge[..x1 - x0 + 2 * rx];
        for (v, c) in e.iter_mut().zip(padded_columns(x0, w, rx, &p.left, &p.right)) {
            *v = c.map_or(p.cval, |c| i16::from(row[c]));
        }
        let e = &*e;
        apply(&p.hx, &mut t[x0..x1], |i| &e[(rx as isize + i) as usize..]);
    }
}

/// `x ↦ c·r0[x] + Σ k·(hi[x] ± lo[x])` for x < n (centre and `P` folded pairs of `f`, `-`
/// when `ODD`; an antisymmetric kernel's centre is 0), in wrapping arithmetic of `T`: the
/// vertical pass of [`apply`] as a function of the column, so that it runs in the finishing
/// loop (an integer sum's value does not depend on the order).
#[inline(always)]
fn vsum<'r, T: Lane, const P: usize, const ODD: bool>(
    f: &Folded,
    row: impl Fn(isize) -> &'r [i16],
    n: usize,
) -> impl Fn(usize) -> T + 'r {
    let (c, r0) = (T::from16(f.centre), &row(0)[..n]);
    let lo: [&[i16]; P] = std::array::from_fn(|j| &row(-(f.pairs[j].0 as isize))[..n]);
    let hi: [&[i16]; P] = std::array::from_fn(|j| &row(f.pairs[j].0 as isize)[..n]);
    let k: [T; P] = std::array::from_fn(|j| T::from16(f.pairs[j].1));
    move |x| {
        let mut s = if ODD {
            T::default()
        } else {
            T::from16(r0[x]).mul(c)
        };
        for j in 0..P {
            let (a, b) = (T::from16(lo[j][x]), T::from16(hi[j][x]));
            s = s.add(if ODD { b.sub(a) } else { b.add(a) }.mul(k[j]));
        }
        s
    }
}

/// `$body` with `$s` bound to the vertical sums of `$f` over `$rows` ([`vsum`]), its pair
/// count and parity chosen once per row; `$acc` is the fallback row for other kernels.
macro_rules! with_vsum {
    ($t:ty, $f:expr, $rows:expr, $n:expr, $acc:expr, |$s:ident| $body:expr) => {
        match ($f.pairs.len(), $f.odd) {
            (0, _) => {
                let $s = vsum::<$t, 0, false>($f, $rows, $n);
                $body
            }
            (1, true) => {
                let $s = vsum::<$t, 1, true>($f, $rows, $n);
                $body
            }
            (1, false) => {
                let $s = vsum::<$t, 1, false>($f, $rows, $n);
                $body
            }
            (2, true) => {
                let $s = vsum::<$t, 2, true>($f, $rows, $n);
                $body
            }
            (2, false) => {
                let $s = vsum::<$t, 2, false>($f, $rows, $n);
                $body
            }
            (3, true) => {
                let $s = vsum::<$t, 3, true>($f, $rows, $n);
                $body
            }
            (3, false) => {
                let $s = vsum::<$t, 3, false>($f, $rows, $n);
                $body
            }
            _ => {
                let acc: &mut [$t] = $acc;
                apply($f, acc, $rows);
                let acc = &*acc;
                let $s = |x: usize| acc[x];
                $body
            }
        }
    };
}

/// Output rows `y0 .. y0 + out.nrows()`.
#[inline(always)]
fn band<T: Lane, O: DerivOut>(src: &ArrayView2<u8>, p: &Plan, y0: usize, mut out: ArrayViewMut2<O>) {
    let w = src.ncols();
    let ry = p.ry;
    let mut pad = vec![0i16; w + 2 * p.rx];
    let mut ring: Vec<Vec<i16>> = (0..2 * ry + 1).map(|_| vec![0; w]).collect();
    let mut acc = vec![T::default(); w];
    let mut fin = vec![O::finish(0.0); w];
    // As the f32 path (`deriv::band`): scale 1 and delta +0 finish `S + 0` in f32.
    let unit = p.scale == 1.0 && p.delta.to_bits() == 0;
    let finish = Finish {
        unit,
        scale: p.scale,
        delta: p.delta,
    };
    let same_i16 = std::any::TypeId::of::<O>() == std::any::TypeId::of::<i16>()
        && std::any::TypeId::of::<T>() == std::any::TypeId::of::<i16>();
    let mut acc16 = vec![0i16; if same_i16 { w } else { 0 }];
    for dy in 0..out.nrows() {
        let y = (y0 + dy) as isize;
        if dy == 0 {
            for (j, t) in ring.iter_mut().enumerate() {
                filter_row(src, p, y - ry as isize + j as isize, &mut pad, t);
            }
        } else {
            ring.rotate_left(1);
            let last = ring.last_mut().expect("at least one row");
            filter_row(src, p, y + ry as isize, &mut pad, last);
        }
        let mut row = out.row_mut(dy);
        let ring = &ring;
        let rows = |j: isize| &ring[(ry as isize + j) as usize][..];
        if unit && same_i16 {
            if let Some(d) = row.as_slice_mut() {
                // SAFETY: `O` is `i16` (the TypeId check of `same_i16`), so the slice's elements
                // are i16s: same size, alignment and validity.
                let d = unsafe { std::slice::from_raw_parts_mut(d.as_mut_ptr().cast::<i16>(), d.len()) };
                // S fits in an i16, and finishing an i16 with scale 1 and delta 0 is the
                // identity (rounding an integer, clamping it to its own range).
                let d = &mut d[..w];
                with_vsum!(i16, &p.vy, rows, w, &mut acc16, |s| d
                    .iter_mut()
                    .enumerate()
                    .for_each(|(x, o)| *o = s(x)));
                continue;
            }
        }
        with_vsum!(T, &p.vy, rows, w, &mut acc, |s| finish_row(
            row, &mut fin, finish, w, s
        ));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn band_avx2<T: Lane, O: DerivOut>(src: &ArrayView2<u8>, p: &Plan, y0: usize, out: ArrayViewMut2<O>) {
    band::<T, O>(src, p, y0, out)
}

fn run_band<O: DerivOut>(src: &ArrayView2<u8>, p: &Plan, y0: usize, out: ArrayViewMut2<O>, avx2: bool) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is only true when the CPU supports AVX2.
        return unsafe {
            if p.wide {
                band_avx2::<i32, O>(src, p, y0, out)
            } else {
                band_avx2::<i16, O>(src, p, y0, out)
            }
        };
    }
    let _ = avx2;
    if p.wide {
        band::<i32, O>(src, p, y0, out)
    } else {
        band::<i16, O>(src, p, y0, out)
    }
}

/// Run the plan over the whole image (shapes already checked by the caller).
pub(super) fn run<O: DerivOut>(
    src: &ArrayView2<u8>,
    plan: &Plan,
    out: ArrayViewMut2<O>,
) -> crate::error::Result<()> {
    let (h, w) = src.dim();
    #[cfg(target_arch = "x86_64")]
    let avx2 = std::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    let avx2 = false;
    if crate::parallel::serial(h.saturating_mul(w).saturating_mul(8)) {
        run_band(src, plan, 0, out, avx2);
        return Ok(());
    }
    let rows = super::band_rows(h, w).max(8 * (2 * plan.ry + 1));
    let mut out = out;
    let bands: Vec<_> = out.axis_chunks_iter_mut(Axis(0), rows).collect();
    crate::parallel::run(|| {
        bands
            .into_par_iter()
            .enumerate()
            .for_each(|(i, o)| run_band(src, plan, i * rows, o, avx2))
    })
}

#[cfg(test)]
mod tests {
    use super::super::deriv::{sobel_deriv, KSIZES};
    use super::super::Gray;
    use super::*;
    use ndarray::Array2;

    /// The integer path against the f32 path, bit for bit: every ksize and order it takes,
    /// every border (constant values it takes and refuses), every output type, unit and
    /// non-unit scale/delta (saturating), widths below, around and above the kernel's and
    /// the vector lengths, rows read in place (contiguous, reversed, a window of a wider
    /// image) and through the padded copy (forced, and for transposed or every-other-column
    /// views), and images of 255s and 0s (the extreme sums).
    #[test]
    fn matches_f32_path() {
        let borders = [
            Border::Replicate,
            Border::Reflect101,
            Border::Reflect,
            Border::Wrap,
            Border::Constant(0.0),
            Border::Constant(255.0),
            Border::Constant(7.0),
        ];
        let mut taken = 0;
        for (h, w) in [
            (1, 1),
            (2, 3),
            (3, 6),
            (4, 7),
            (6, 8),
            (5, 17),
            (19, 33),
            (40, 64),
        ] {
            let imgs = [
                Array2::from_shape_fn((h, w), |(y, x)| ((y * 131 + x * 71 + y * x * 13) % 256) as u8),
                Array2::from_shape_fn((h, w), |(y, x)| if (x + y / 2) % 3 == 0 { 255 } else { 0 }),
            ];
            for img in &imgs {
                let wide = Array2::from_shape_fn((h + 2, 2 * w + 3), |(y, x)| img[[y % h, (x / 2) % w]]);
                let views = [
                    img.view(),
                    img.slice(ndarray::s![..;-1, ..]).reversed_axes(),
                    img.slice(ndarray::s![..;-1, ..]),
                    wide.slice(ndarray::s![1..h + 1, 3..w + 3]),
                    wide.slice(ndarray::s![..h, 1..2 * w + 1;2]),
                ];
                for v in views {
                    for ksize in KSIZES {
                        for (dx, dy) in [
                            (1, 0),
                            (0, 1),
                            (1, 1),
                            (2, 0),
                            (0, 2),
                            (2, 1),
                            (3, 0),
                            (0, 3),
                            (4, 0),
                        ] {
                            if deriv_kernels(dx, dy, ksize).is_err() {
                                continue;
                            }
                            for (scale, delta) in
                                [(1.0, 0.0), (1.0, -0.0), (3.0, 1.0), (0.5, 0.25), (-2.0, 100.0)]
                            {
                                let d = Deriv {
                                    dx,
                                    dy,
                                    ksize,
                                    scale,
                                    delta,
                                };
                                for border in borders {
                                    let Some(mut p) = plan(v.ncols(), d, border) else {
                                        continue;
                                    };
                                    taken += 1;
                                    // Rows read in place where they can be, and every row
                                    // through the padded copy.
                                    check::<i16>(&v, &p, d, border);
                                    check::<u8>(&v, &p, d, border);
                                    check::<u16>(&v, &p, d, border);
                                    check::<f32>(&v, &p, d, border);
                                    check::<f64>(&v, &p, d, border);
                                    p.direct = false;
                                    check::<i16>(&v, &p, d, border);
                                    check::<f32>(&v, &p, d, border);
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(taken > 1000, "{taken}");
        // Where the path does not apply.
        let d = |dx, ksize| Deriv {
            dx,
            dy: 0,
            ksize,
            scale: 1.0,
            delta: 0.0,
        };
        let wide = |dx, ksize| plan(8, d(dx, ksize), Border::Reflect101).unwrap().wide;
        assert!(wide(1, 7) && wide(4, 5) && !wide(1, 5) && !wide(1, 3));
        for c in [-0.0, 0.5, 256.0, -1.0] {
            assert!(plan(8, d(1, 3), Border::Constant(c)).is_none(), "{c}");
        }
    }

    fn check<O: DerivOut + PartialEq + std::fmt::Debug>(
        src: &ArrayView2<u8>,
        p: &Plan,
        d: Deriv,
        border: Border,
    ) {
        let mut want = Array2::from_elem(src.dim(), O::finish(1.0));
        sobel_deriv::<f32, O, _>(&Gray(src.view()), d, border, want.view_mut()).unwrap();
        let mut got = Array2::from_elem(src.dim(), O::finish(1.0));
        run(src, p, got.view_mut()).unwrap();
        // Compared through Debug, which tells -0.0 from +0.0 (no NaN can occur here).
        let bits = |a: &Array2<O>| a.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "{:?} {d:?} {border:?}", src.dim());
    }
}
