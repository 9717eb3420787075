//! `numpy.polyval` on `f64` arrays: coefficients highest degree first, Horner's rule,
//! bit for bit what numpy computes. numpy starts from `y = zeros_like(x)` and does
//! `y = y * x + c` for every coefficient, so the first step is `0 * x + c₀` (which is NaN
//! for an infinite `x`), and there is no fused multiply-add; we do exactly the same.
//!
//! Parallel over chunks of the array; within a chunk the loop runs over the coefficients
//! outside and the elements inside, so it vectorizes across elements.

use ndarray::{ArrayView1, ArrayViewMut1, Axis};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Elements per parallel task.
const TASK: usize = 1 << 14;

#[inline(always)]
fn horner(coeffs: &[f64], x: &[f64], y: &mut [f64]) {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &mut y[..n]);
    y.fill(0.0);
    for &c in coeffs {
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi = *yi * xi + c;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn horner_avx2(coeffs: &[f64], x: &[f64], y: &mut [f64]) {
    horner(coeffs, x, y)
}

fn horner_dispatch(coeffs: &[f64], x: &[f64], y: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just now).
        return unsafe { horner_avx2(coeffs, x, y) };
    }
    horner(coeffs, x, y)
}

/// Elements per stack buffer for strided views (small: rayon's worker stacks are too).
const BUF: usize = 1024;

/// One chunk: contiguous views go straight through; strided ones through stack buffers.
fn chunk(coeffs: &[f64], x: ArrayView1<f64>, mut out: ArrayViewMut1<f64>) {
    if let (Some(xs), Some(ys)) = (x.as_slice(), out.as_slice_mut()) {
        return horner_dispatch(coeffs, xs, ys);
    }
    let mut xb = [0.0f64; BUF];
    let mut yb = [0.0f64; BUF];
    for (x, mut out) in x.axis_chunks_iter(Axis(0), BUF).zip(out.axis_chunks_iter_mut(Axis(0), BUF)) {
        let n = x.len();
        for (b, v) in xb[..n].iter_mut().zip(x.iter()) {
            *b = *v;
        }
        horner_dispatch(coeffs, &xb[..n], &mut yb[..n]);
        for (o, v) in out.iter_mut().zip(&yb[..n]) {
            *o = *v;
        }
    }
}

/// `out[i] = polyval(coeffs, x[i])`. `x` and `out` must have the same length; they cannot
/// alias (use [`polyval_inplace`] for that).
pub fn polyval(coeffs: &[f64], x: ArrayView1<f64>, mut out: ArrayViewMut1<f64>) -> Result<()> {
    if x.len() != out.len() {
        return Err(Error::invalid(format!("polyval: x has {} elements but out has {}", x.len(), out.len())));
    }
    let xs: Vec<_> = x.axis_chunks_iter(Axis(0), TASK).collect();
    let ys: Vec<_> = out.axis_chunks_iter_mut(Axis(0), TASK).collect();
    crate::parallel::run(|| xs.into_par_iter().zip(ys).for_each(|(x, y)| chunk(coeffs, x, y)))
}

/// `x[i] = polyval(coeffs, x[i])`, in place.
pub fn polyval_inplace(coeffs: &[f64], mut x: ArrayViewMut1<f64>) -> Result<()> {
    let xs: Vec<_> = x.axis_chunks_iter_mut(Axis(0), TASK).collect();
    crate::parallel::run(|| {
        xs.into_par_iter().for_each(|mut x| {
            // Each element is read before its own result is written, through a buffer.
            let mut xb = [0.0f64; BUF];
            let mut yb = [0.0f64; BUF];
            for mut x in x.axis_chunks_iter_mut(Axis(0), BUF) {
                let n = x.len();
                for (b, v) in xb[..n].iter_mut().zip(x.iter()) {
                    *b = *v;
                }
                match x.as_slice_mut() {
                    Some(ys) => horner_dispatch(coeffs, &xb[..n], ys),
                    None => {
                        horner_dispatch(coeffs, &xb[..n], &mut yb[..n]);
                        for (o, v) in x.iter_mut().zip(&yb[..n]) {
                            *o = *v;
                        }
                    }
                }
            }
        })
    })
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
            let expect = if (x.len() - 1 - i) % 3 == 0 { reference(&coeffs, *b) } else { *b };
            assert_eq!(a.to_bits(), expect.to_bits());
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
