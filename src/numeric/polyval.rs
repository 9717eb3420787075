//! `numpy.polyval` on `f64` arrays: coefficients highest degree first, Horner's rule,
//! bit for bit what numpy computes. numpy starts from `y = zeros_like(x)` and does
//! `y = y * x + c` for every coefficient, so the first step is `0 * x + c₀` (which is NaN
//! for an infinite `x`), and there is no fused multiply-add; we do exactly the same.
//!
//! Parallel over chunks of the array; within a chunk the loop runs over the coefficients
//! outside and the elements inside, so it vectorizes across elements.

use ndarray::{ArrayView1, ArrayViewMut1, Axis};
use rayon::prelude::*;

use super::isa::{self, Isa};

use crate::error::{Error, Result};

/// Elements per parallel task.
const TASK: usize = 1 << 14;
/// Outputs at least this large (bytes) are written with non-temporal stores: they cannot
/// stay in cache anyway, and streaming them skips reading each output line before writing
/// it (a third of the memory traffic).
const STREAM_BYTES: usize = 16 << 20;

/// Horner for one element, numpy's way: `y = 0`, then `y = y·x + c` per coefficient,
/// a multiply and an add (never fused).
#[inline(always)]
fn horner1(coeffs: &[f64], x: f64) -> f64 {
    let mut y = 0.0;
    for &c in coeffs {
        y = y * x + c;
    }
    y
}

/// Portable kernel: groups of 16 elements with the coefficient loop inside (16 independent
/// chains, so that a long polynomial is not latency-bound), the results in registers.
#[inline(always)]
fn horner(coeffs: &[f64], x: &[f64], y: &mut [f64]) {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &mut y[..n]);
    const L: usize = 16;
    let n16 = n / L * L;
    for (xc, yc) in x[..n16].chunks_exact(L).zip(y[..n16].chunks_exact_mut(L)) {
        let mut acc = [0.0f64; L];
        for &c in coeffs {
            for j in 0..L {
                acc[j] = acc[j] * xc[j] + c;
            }
        }
        yc.copy_from_slice(&acc);
    }
    for (yi, &xi) in y[n16..].iter_mut().zip(&x[n16..]) {
        *yi = horner1(coeffs, xi);
    }
}

/// AVX-512: 32 elements (four vectors) per step; with `stream`, the stores are
/// non-temporal once `y` is 64-byte aligned (the first few elements are done one by one).
#[cfg(target_arch = "x86_64")]
// `k` also places each vector in memory (`i + lanes*k`): indexing states the layout plainly.
#[allow(clippy::needless_range_loop)]
#[target_feature(enable = "avx512f")]
unsafe fn horner_avx512(coeffs: &[f64], x: &[f64], y: &mut [f64], stream: bool) {
    use std::arch::x86_64::*;
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &mut y[..n]);
    let head = if stream {
        ((64 - (y.as_ptr() as usize % 64)) % 64 / 8).min(n)
    } else {
        0
    };
    for i in 0..head {
        y[i] = horner1(coeffs, x[i]);
    }
    let body = (n - head) / 32 * 32;
    let (xp, yp) = (x.as_ptr().wrapping_add(head), y.as_mut_ptr().wrapping_add(head));
    let mut i = 0;
    while i < body {
        let mut acc = [_mm512_setzero_pd(); 4];
        let mut xv = [_mm512_setzero_pd(); 4];
        for k in 0..4 {
            // SAFETY: head + i + 8k + 8 ≤ head + body ≤ n.
            xv[k] = unsafe { _mm512_loadu_pd(xp.add(i + 8 * k)) };
        }
        for &c in coeffs {
            let cv = _mm512_set1_pd(c);
            for k in 0..4 {
                acc[k] = _mm512_add_pd(_mm512_mul_pd(acc[k], xv[k]), cv);
            }
        }
        for k in 0..4 {
            // SAFETY: in bounds as above; with `stream`, yp + i + 8k is 64-byte aligned.
            unsafe {
                if stream {
                    _mm512_stream_pd(yp.add(i + 8 * k), acc[k]);
                } else {
                    _mm512_storeu_pd(yp.add(i + 8 * k), acc[k]);
                }
            }
        }
        i += 32;
    }
    if stream {
        _mm_sfence();
    }
    for j in head + body..n {
        y[j] = horner1(coeffs, x[j]);
    }
}

/// AVX2: 16 elements (four vectors) per step, non-temporal stores as for AVX-512.
#[cfg(target_arch = "x86_64")]
// `k` also places each vector in memory (`i + lanes*k`): indexing states the layout plainly.
#[allow(clippy::needless_range_loop)]
#[target_feature(enable = "avx2")]
unsafe fn horner_avx2(coeffs: &[f64], x: &[f64], y: &mut [f64], stream: bool) {
    use std::arch::x86_64::*;
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &mut y[..n]);
    let head = if stream {
        ((32 - (y.as_ptr() as usize % 32)) % 32 / 8).min(n)
    } else {
        0
    };
    for i in 0..head {
        y[i] = horner1(coeffs, x[i]);
    }
    let body = (n - head) / 16 * 16;
    let (xp, yp) = (x.as_ptr().wrapping_add(head), y.as_mut_ptr().wrapping_add(head));
    let mut i = 0;
    while i < body {
        let mut acc = [_mm256_setzero_pd(); 4];
        let mut xv = [_mm256_setzero_pd(); 4];
        for k in 0..4 {
            // SAFETY: head + i + 4k + 4 ≤ head + body ≤ n.
            xv[k] = unsafe { _mm256_loadu_pd(xp.add(i + 4 * k)) };
        }
        for &c in coeffs {
            let cv = _mm256_set1_pd(c);
            for k in 0..4 {
                acc[k] = _mm256_add_pd(_mm256_mul_pd(acc[k], xv[k]), cv);
            }
        }
        for k in 0..4 {
            // SAFETY: in bounds as above; with `stream`, yp + i + 4k is 32-byte aligned.
            unsafe {
                if stream {
                    _mm256_stream_pd(yp.add(i + 4 * k), acc[k]);
                } else {
                    _mm256_storeu_pd(yp.add(i + 4 * k), acc[k]);
                }
            }
        }
        i += 16;
    }
    if stream {
        _mm_sfence();
    }
    for j in head + body..n {
        y[j] = horner1(coeffs, x[j]);
    }
}

fn horner_dispatch(isa: Isa, coeffs: &[f64], x: &[f64], y: &mut [f64], stream: bool) {
    match isa {
        // SAFETY: the CPU has the feature (`isa::best()` checked it).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { horner_avx512(coeffs, x, y, stream) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { horner_avx2(coeffs, x, y, stream) },
        Isa::Portable => {
            let _ = stream;
            horner(coeffs, x, y)
        }
    }
}

/// Elements per stack buffer for strided views (small: rayon's worker stacks are too).
const BUF: usize = 1024;

/// One chunk: contiguous views go straight through; strided ones through stack buffers.
fn chunk(isa: Isa, coeffs: &[f64], x: ArrayView1<f64>, mut out: ArrayViewMut1<f64>, stream: bool) {
    if let (Some(xs), Some(ys)) = (x.as_slice(), out.as_slice_mut()) {
        return horner_dispatch(isa, coeffs, xs, ys, stream);
    }
    let mut xb = [0.0f64; BUF];
    let mut yb = [0.0f64; BUF];
    for (x, mut out) in x
        .axis_chunks_iter(Axis(0), BUF)
        .zip(out.axis_chunks_iter_mut(Axis(0), BUF))
    {
        let n = x.len();
        for (b, v) in xb[..n].iter_mut().zip(x.iter()) {
            *b = *v;
        }
        horner_dispatch(isa, coeffs, &xb[..n], &mut yb[..n], false);
        for (o, v) in out.iter_mut().zip(&yb[..n]) {
            *o = *v;
        }
    }
}

/// `out[i] = polyval(coeffs, x[i])`. `x` and `out` must have the same length; they cannot
/// alias (use [`polyval_inplace`] for that).
pub fn polyval(coeffs: &[f64], x: ArrayView1<f64>, out: ArrayViewMut1<f64>) -> Result<()> {
    polyval_with(isa::best(), coeffs, x, out)
}

fn polyval_with(isa: Isa, coeffs: &[f64], x: ArrayView1<f64>, mut out: ArrayViewMut1<f64>) -> Result<()> {
    if x.len() != out.len() {
        return Err(Error::invalid(format!(
            "polyval: x has {} elements but out has {}",
            x.len(),
            out.len()
        )));
    }
    let stream = out.len() * 8 >= STREAM_BYTES;
    if crate::parallel::serial(out.len().saturating_mul(8)) {
        for (x, y) in x
            .axis_chunks_iter(Axis(0), TASK)
            .zip(out.axis_chunks_iter_mut(Axis(0), TASK))
        {
            chunk(isa, coeffs, x, y, stream);
        }
        return Ok(());
    }
    let xs: Vec<_> = x.axis_chunks_iter(Axis(0), TASK).collect();
    let ys: Vec<_> = out.axis_chunks_iter_mut(Axis(0), TASK).collect();
    crate::parallel::run(|| {
        xs.into_par_iter()
            .zip(ys)
            .for_each(|(x, y)| chunk(isa, coeffs, x, y, stream))
    })
}

/// `x[i] = polyval(coeffs, x[i])`, in place.
pub fn polyval_inplace(coeffs: &[f64], mut x: ArrayViewMut1<f64>) -> Result<()> {
    let isa = isa::best();
    let serial = crate::parallel::serial(x.len().saturating_mul(8));
    let xs: Vec<_> = x.axis_chunks_iter_mut(Axis(0), TASK).collect();
    let each = |mut x: ArrayViewMut1<f64>| {
        // Each element is read before its own result is written, through a buffer.
        let mut xb = [0.0f64; BUF];
        let mut yb = [0.0f64; BUF];
        for mut x in x.axis_chunks_iter_mut(Axis(0), BUF) {
            let n = x.len();
            for (b, v) in xb[..n].iter_mut().zip(x.iter()) {
                *b = *v;
            }
            match x.as_slice_mut() {
                Some(ys) => horner_dispatch(isa, coeffs, &xb[..n], ys, false),
                None => {
                    horner_dispatch(isa, coeffs, &xb[..n], &mut yb[..n], false);
                    for (o, v) in x.iter_mut().zip(&yb[..n]) {
                        *o = *v;
                    }
                }
            }
        }
    };
    if serial {
        xs.into_iter().for_each(each);
        return Ok(());
    }
    crate::parallel::run(|| xs.into_par_iter().for_each(each))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array1};

    fn reference(coeffs: &[f64], x: f64) -> f64 {
        let mut y = 0.0;
        for &c in coeffs {
            y = y * x + c;
        }
        y
    }

    #[test]
    fn matches_horner_for_every_layout() {
        let x = Array1::from_iter((0..50_000).map(|i| (i as f64 - 25_000.0) / 777.0));
        let coeffs = [1.5, -2.0, 0.25, 3.0];
        let want: Vec<u64> = x.iter().map(|&v| reference(&coeffs, v).to_bits()).collect();

        let mut out = Array1::zeros(x.len());
        polyval(&coeffs, x.view(), out.view_mut()).unwrap();
        assert_eq!(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);

        // Reversed input into a strided output.
        let mut big = Array1::zeros(2 * x.len());
        let xr = x.slice(s![..;-1]);
        polyval(&coeffs, xr, big.slice_mut(s![..;2])).unwrap();
        let got: Vec<u64> = big.slice(s![..;2]).iter().rev().map(|v| v.to_bits()).collect();
        assert_eq!(got, want);

        let mut y = x.clone();
        polyval_inplace(&coeffs, y.view_mut()).unwrap();
        assert_eq!(y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);
        let mut z = x.clone();
        polyval_inplace(&coeffs, z.slice_mut(s![..;-3])).unwrap();
        for (i, (a, b)) in z.iter().zip(x.iter()).enumerate() {
            let expect = if (x.len() - 1 - i) % 3 == 0 {
                reference(&coeffs, *b)
            } else {
                *b
            };
            assert_eq!(a.to_bits(), expect.to_bits());
        }
    }

    /// Every kernel this CPU can run, with and without streaming stores, on every offset
    /// of the output (alignment peeling), lengths around the vector widths, polynomials of
    /// degree 0 to 20 and special values: bit for bit the scalar reference.
    #[test]
    fn every_kernel_matches_reference() {
        let isas = isa::available();
        let mut xs: Vec<f64> = (0..300).map(|i| (i as f64 - 150.0) / 7.0).collect();
        xs.extend([
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -0.0,
            0.0,
            1e300,
            -1e-300,
            5e-324,
        ]);
        let coeff_sets: Vec<Vec<f64>> = vec![
            vec![],
            vec![3.0],
            vec![1.0, 2.0, 0.0],
            vec![0.1, -0.7, 1e-3, 2.5, -1.0],
            (0..21).map(|k| 1.0 / (k as f64 + 1.0)).collect(),
        ];
        for coeffs in &coeff_sets {
            for &isa in &isas {
                for stream in [false, true] {
                    for off in 0..8 {
                        for len in [0, 1, 7, 8, 15, 16, 31, 32, 33, 100, xs.len() - off] {
                            let x = &xs[off..off + len];
                            let mut buf = vec![0.0f64; len + 8];
                            let y = &mut buf[off..off + len];
                            horner_dispatch(isa, coeffs, x, y, stream);
                            for (i, (&yi, &xi)) in y.iter().zip(x).enumerate() {
                                let want = reference(coeffs, xi);
                                assert!(
                                    yi.to_bits() == want.to_bits() || (yi.is_nan() && want.is_nan()),
                                    "{isa:?} stream {stream} off {off} len {len} i {i}: {yi} != {want}"
                                );
                            }
                        }
                    }
                }
            }
        }
        // The parallel driver with streaming stores (output above STREAM_BYTES).
        let n = STREAM_BYTES / 8 + 12_345;
        let x = Array1::from_iter((0..n).map(|i| (i % 1000) as f64 / 37.0 - 13.0));
        let mut out = Array1::zeros(n + 1);
        let coeffs = [1.0, 2.0, 0.0];
        polyval(&coeffs, x.view(), out.slice_mut(s![1..])).unwrap();
        for (o, &v) in out.iter().skip(1).zip(x.iter()) {
            assert_eq!(o.to_bits(), reference(&coeffs, v).to_bits());
        }
    }

    #[test]
    fn numpy_edge_semantics() {
        let x = Array1::from(vec![f64::INFINITY, -0.0, 2.0]);
        let mut out = Array1::zeros(3);
        polyval(&[1.0, 2.0, 0.0], x.view(), out.view_mut()).unwrap();
        assert!(out[0].is_nan()); // 0·inf in numpy's first step
        assert_eq!(out[2], 8.0);
        polyval(&[], x.view(), out.view_mut()).unwrap();
        assert_eq!(out.to_vec(), vec![0.0; 3]);
        assert!(polyval(&[1.0], x.view(), Array1::zeros(2).view_mut()).is_err());
    }
}
