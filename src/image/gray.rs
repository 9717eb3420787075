//! The grayscale (luma) kernel: `R*0.2989 + G*0.5870 + B*0.1140` per pixel, in f64, in that
//! order and without fused multiply-adds (the documented formula, so the result does not
//! depend on the layout, the thread count or the instruction set).
//!
//! The conversion is pointwise, so the input and output views may be walked in any order as
//! long as both are walked alike. Before anything runs, both are flipped on axes where the
//! input has negative strides and transposed when the input's columns are further apart than
//! its rows; then rows of the input are read in memory order, and the two common row layouts
//! get straight-line loops that the compiler vectorizes (compiled twice: for the baseline
//! and, chosen at run time, for AVX2): interleaved pixels (`RGBRGB…`, `RGBARGBA…`, the
//! default numpy layout) and planar rows (`RR…`, `GG…`, `BB…`, e.g. `np.moveaxis` of a
//! channels-first array). Anything else takes a strided loop.

use ndarray::{ArrayView3, ArrayViewMut2, Axis};

use super::{band_rows, check_shape, luma, Pixel, Real};
use crate::error::{Error, Result};

/// One pixel's luma as `O`: the f64 formula, rounded once to `O`.
///
/// For u8 input and f32 output the same value comes from f32 arithmetic alone:
/// `2989 R + 5870 G + 1140 B` is an integer below 2²², exact in f32, and one correctly
/// rounded f32 division by 10000 gives the f32 nearest to the exact luma N/10000. The f64
/// formula rounds to that same f32: it is within a few f64 ulps of N/10000, while N/10000 is
/// never closer than 2⁻²⁵/10000 (relative) to a point halfway between two f32s (it is either
/// far from one, or a short dyadic number that is itself an f32). So eight f32 lanes per
/// vector instead of four f64 and no conversion; `exact_u8_f32_path` checks all 2²⁴ pixels.
/// (u8 is the only one-byte `Pixel`, f32 the only four-byte `Real`; the branch is resolved
/// at compile time.)
#[inline(always)]
fn px<P: Pixel, O: Real>(r: P, g: P, b: P) -> O {
    if std::mem::size_of::<P>() == 1 && std::mem::size_of::<O>() == 4 {
        let n = r.to_f32() * 2989.0 + g.to_f32() * 5870.0 + b.to_f32() * 1140.0;
        O::from_pixel(n / 10000.0)
    } else {
        O::from_f64(luma(r, g, b))
    }
}

/// `w` interleaved pixels of `C` channels: `src.len() >= w * C`, `dst.len() == w`.
#[inline(always)]
fn row_interleaved<P: Pixel, O: Real, const C: usize>(src: &[P], dst: &mut [O]) {
    let w = dst.len();
    let src = &src[..w * C];
    for (d, p) in dst.iter_mut().zip(src.chunks_exact(C)) {
        *d = px::<P, O>(p[0], p[1], p[2]);
    }
}

/// `src` and `dst` as u8 pixels and f32 outputs when `P` and `O` are those types.
#[inline(always)]
fn as_u8_f32<'a, P: Pixel, O: Real>(src: &'a [P], dst: &'a mut [O]) -> Option<(&'a [u8], &'a mut [f32])> {
    use std::any::TypeId;
    if TypeId::of::<P>() != TypeId::of::<u8>() || TypeId::of::<O>() != TypeId::of::<f32>() {
        return None;
    }
    // SAFETY: `P` is `u8` and `O` is `f32` (checked just above): the same slices, retyped
    // to what they are.
    unsafe {
        Some((
            std::slice::from_raw_parts(src.as_ptr().cast::<u8>(), src.len()),
            std::slice::from_raw_parts_mut(dst.as_mut_ptr().cast::<f32>(), dst.len()),
        ))
    }
}

/// [`row_interleaved`] for u8 pixels and f32 outputs, eight pixels per step: the same
/// integer `N = 2989 R + 5870 G + 1140 B` (two `vpmaddwd` on the channels spread to 16-bit
/// lanes by `vpshufb`), converted exactly to f32 and divided by 10000, so the same bits
/// as [`px`]. LLVM does not vectorize the 3-byte stride of `RGBRGB…` well on its own; this
/// is what makes small images as fast per pixel as large ones (issue 11).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn row_u8_f32_avx2<const C: usize>(src: &[u8], dst: &mut [f32]) {
    use std::arch::x86_64::*;
    let w = dst.len();
    let src = &src[..w * C];
    let mut x = 0;
    // Each lane loads 16 bytes from its first pixel: the last step must not read past the
    // row (4 pixels of 3 channels use 12 of the 16 bytes).
    while C * (x + 4) + 16 <= src.len() && x + 8 <= w {
        // SAFETY: bytes C·x .. C·(x+4)+16 are within `src` (loop condition); AVX2 as this
        // function requires.
        let y = luma8_avx2::<C>(src.as_ptr().add(C * x));
        // SAFETY: x + 8 <= w = dst.len().
        _mm256_storeu_ps(dst.as_mut_ptr().add(x), y);
        x += 8;
    }
    // The last pixels (up to 11: the loads above must stay within the row) in one more
    // step from a zero-padded copy, rather than one scalar division each: a 64-pixel row
    // would otherwise spend as long on its last 8 pixels as on the other 56.
    while x < w {
        let n = (w - x).min(8);
        let mut buf = [0u8; 4 * 8 + 16];
        buf[..C * n].copy_from_slice(&src[C * x..C * (x + n)]);
        let mut out = [0f32; 8];
        // SAFETY: bytes 0 .. 4C+16 lie within `buf` (48 bytes); `out` holds 8 floats; AVX2
        // as this function requires.
        _mm256_storeu_ps(out.as_mut_ptr(), luma8_avx2::<C>(buf.as_ptr()));
        dst[x..x + n].copy_from_slice(&out[..n]);
        x += n;
    }
}

/// The step of [`row_u8_f32_avx2`]: the luma of the eight pixels at `p` (of `C` channels).
///
/// # Safety
/// The CPU must support AVX2, and bytes `0 .. 4·C + 16` from `p` must be readable (each
/// 128-bit lane loads 16 bytes from its first pixel).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn luma8_avx2<const C: usize>(p: *const u8) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    // Per 128-bit lane, four pixels: (R, G) as 16-bit pairs, and (B, 0). Constants: once
    // inlined, LLVM keeps them out of the caller's loop.
    let (rg, bz) = if C == 3 {
        (
            _mm256_broadcastsi128_si256(_mm_setr_epi8(
                0, -1, 1, -1, 3, -1, 4, -1, 6, -1, 7, -1, 9, -1, 10, -1,
            )),
            _mm256_broadcastsi128_si256(_mm_setr_epi8(
                2, -1, -1, -1, 5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1,
            )),
        )
    } else {
        (
            _mm256_broadcastsi128_si256(_mm_setr_epi8(
                0, -1, 1, -1, 4, -1, 5, -1, 8, -1, 9, -1, 12, -1, 13, -1,
            )),
            _mm256_broadcastsi128_si256(_mm_setr_epi8(
                2, -1, -1, -1, 6, -1, -1, -1, 10, -1, -1, -1, 14, -1, -1, -1,
            )),
        )
    };
    let wrg = _mm256_set1_epi32((5870 << 16) | 2989);
    let wb = _mm256_set1_epi32(1140);
    // SAFETY (both loads): bytes 0..16 and 4C..4C+16 from `p` are readable (the contract).
    let lo = _mm_loadu_si128(p.cast());
    let hi = _mm_loadu_si128(p.add(4 * C).cast());
    let v = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(lo), hi);
    let n = _mm256_add_epi32(
        _mm256_madd_epi16(_mm256_shuffle_epi8(v, rg), wrg),
        _mm256_madd_epi16(_mm256_shuffle_epi8(v, bz), wb),
    );
    _mm256_div_ps(_mm256_cvtepi32_ps(n), _mm256_set1_ps(10000.0))
}

/// `dst.len()` pixels from three contiguous channel rows (each at least that long).
#[inline(always)]
fn row_planar<P: Pixel, O: Real>(r: &[P], g: &[P], b: &[P], dst: &mut [O]) {
    for (((d, &r), &g), &b) in dst.iter_mut().zip(r).zip(g).zip(b) {
        *d = px::<P, O>(r, g, b);
    }
}

/// The luma of the band `src` (rows × W × C, strides normalized as the module says) into
/// `out` (rows × W). `tmp` is scratch for an output row that is not contiguous.
#[inline(always)]
fn band<P: Pixel, O: Real>(src: &ArrayView3<P>, out: &mut ArrayViewMut2<O>, tmp: &mut Vec<O>, avx2: bool) {
    let (h, w, c) = src.dim();
    for y in 0..h {
        let row = src.index_axis(Axis(0), y);
        let mut orow = out.row_mut(y);
        let direct = orow.as_slice_mut().is_some();
        if !direct {
            tmp.resize(w, O::default());
        }
        let dst: &mut [O] = match orow.as_slice_mut() {
            Some(d) => d,
            None => &mut tmp[..],
        };
        if let Some(s) = row.as_slice() {
            // Standard layout of the W × C row: interleaved pixels.
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                if let Some((s8, d32)) = as_u8_f32(s, dst) {
                    // SAFETY: `avx2` is true only when the CPU reports AVX2.
                    unsafe {
                        if c == 3 {
                            row_u8_f32_avx2::<3>(s8, d32)
                        } else {
                            row_u8_f32_avx2::<4>(s8, d32)
                        }
                    }
                    if !direct {
                        orow.iter_mut().zip(tmp.iter()).for_each(|(o, &v)| *o = v);
                    }
                    continue;
                }
            }
            let _ = avx2;
            if c == 3 {
                row_interleaved::<P, O, 3>(s, dst);
            } else {
                row_interleaved::<P, O, 4>(s, dst);
            }
        } else if let (Some(r), Some(g), Some(b)) = (
            row.column(0).to_slice(),
            row.column(1).to_slice(),
            row.column(2).to_slice(),
        ) {
            row_planar(r, g, b, dst);
        } else {
            for (d, p) in dst.iter_mut().zip(row.outer_iter()) {
                *d = px::<P, O>(p[0], p[1], p[2]);
            }
        }
        if !direct {
            orow.iter_mut().zip(tmp.iter()).for_each(|(o, &v)| *o = v);
        }
    }
}

/// [`band`] compiled with AVX2 enabled (wider vectors for the conversions and the products).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn band_avx2<P: Pixel, O: Real>(src: &ArrayView3<P>, out: &mut ArrayViewMut2<O>, tmp: &mut Vec<O>) {
    band(src, out, tmp, true)
}

fn run_band<P: Pixel, O: Real>(src: &ArrayView3<P>, mut out: ArrayViewMut2<O>, avx2: bool) {
    let mut tmp = Vec::new();
    // Both images contiguous (numpy's default layout): all pixels are one row of h·w, so
    // the per-row work (views, the vector loop's tail) is paid once, not h times: what
    // matters for small images (issue 11). The map is pointwise: the same values.
    let (h, w, c) = src.dim();
    if h > 1 && out.is_standard_layout() {
        if let Some(s) = src.to_slice() {
            let whole = ArrayView3::from_shape((1, h * w, c), s).expect("h·w·c elements");
            let flat = out
                .view_mut()
                .into_shape_with_order((1, h * w))
                .expect("standard layout");
            return run_band(&whole, flat, avx2);
        }
    }
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is true only when the CPU reports AVX2 (see `grayscale`).
        unsafe { band_avx2(src, &mut out, &mut tmp) };
        return;
    }
    let _ = avx2;
    band(src, &mut out, &mut tmp, false)
}

/// Luma of an H×W×C image (C = 3 or 4) into `out` (H×W), computed in f64.
pub fn grayscale<P: Pixel, O: Real>(src: ArrayView3<P>, out: ArrayViewMut2<O>) -> Result<()> {
    let (h, w, c) = src.dim();
    if h == 0 || w == 0 {
        return Err(Error::invalid(format!("the image is empty ({h}×{w})")));
    }
    if c != 3 && c != 4 {
        return Err(Error::invalid(format!(
            "the image has {c} channels; expected 3 (RGB) or 4 (RGBA)"
        )));
    }
    check_shape("the output", &out, h, w)?;
    let (mut src, mut out) = (src, out);
    // Walk the input in memory order (the output follows: the map is pointwise).
    for ax in [Axis(0), Axis(1)] {
        if src.stride_of(ax) < 0 {
            src.invert_axis(ax);
            out.invert_axis(ax);
        }
    }
    if src.stride_of(Axis(1)) > src.stride_of(Axis(0)) {
        src.swap_axes(0, 1);
        out.swap_axes(0, 1);
    }
    #[cfg(target_arch = "x86_64")]
    let avx2 = std::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    let avx2 = false;
    let (h, w) = (src.len_of(Axis(0)), src.len_of(Axis(1)));
    if crate::parallel::serial(h.saturating_mul(w).saturating_mul(c * std::mem::size_of::<P>())) {
        run_band(&src, out, avx2);
        return Ok(());
    }
    let rows = band_rows(h, w);
    let outs: Vec<_> = out.axis_chunks_iter_mut(Axis(0), rows).collect();
    crate::parallel::run(|| {
        use rayon::prelude::*;
        outs.into_par_iter().enumerate().for_each(|(i, o)| {
            let n = o.nrows();
            let s = src.slice_axis(Axis(0), ndarray::Slice::from(i * rows..i * rows + n));
            run_band(&s, o, avx2);
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX2 rows against the scalar ones, for every width up to 40 (every tail) and
    /// pixel values covering every byte in every channel position.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_rows_equal_scalar_rows() {
        if !std::is_x86_feature_detected!("avx2") {
            return;
        }
        let bytes: Vec<u8> = (0..4 * 300u32).map(|i| (i * 97 + i / 256 * 31) as u8).collect();
        for w in 0..=40 {
            for start in (0..bytes.len() - 4 * w).step_by(101) {
                let (mut a, mut b) = (vec![0f32; w], vec![0f32; w]);
                let s3 = &bytes[start..start + 3 * w];
                // SAFETY: AVX2 checked above.
                unsafe { row_u8_f32_avx2::<3>(s3, &mut a) };
                row_interleaved::<u8, f32, 3>(s3, &mut b);
                assert_eq!(a, b, "C=3 w={w}");
                let s4 = &bytes[start..start + 4 * w];
                // SAFETY: as above.
                unsafe { row_u8_f32_avx2::<4>(s4, &mut a) };
                row_interleaved::<u8, f32, 4>(s4, &mut b);
                assert_eq!(a, b, "C=4 w={w}");
            }
        }
    }

    /// The f32 path for u8 pixels against the f64 formula, for every pixel value.
    #[test]
    fn exact_u8_f32_path() {
        for r in 0..=255u8 {
            for g in 0..=255u8 {
                for b in 0..=255u8 {
                    let want = luma(r, g, b) as f32;
                    let got: f32 = px(r, g, b);
                    assert_eq!(got.to_bits(), want.to_bits(), "{r} {g} {b}");
                }
            }
        }
    }
}
