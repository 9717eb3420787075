use super::*;
use ndarray::{s, Array2, Array3};

/// The formula on an explicitly padded f64 image (the numpy reference, in Rust).
fn reference(img: &Array2<f64>, border: Border) -> (Array2<f64>, Array2<f64>, Array2<f64>) {
    let (h, w) = img.dim();
    let at = |y: isize, x: isize| -> f64 {
        let outside = y < 0 || x < 0 || y as usize >= h || x as usize >= w;
        match border {
            Border::Constant(c) if outside => return c,
            // Wrapping written independently of `Border::outside`.
            Border::Wrap => {
                return img[[
                    y.rem_euclid(h as isize) as usize,
                    x.rem_euclid(w as isize) as usize,
                ]]
            }
            _ => {}
        }
        let yy = if y < 0 {
            border.outside(h, true)
        } else if y as usize >= h {
            border.outside(h, false)
        } else {
            y as usize
        };
        let xx = if x < 0 {
            border.outside(w, true)
        } else if x as usize >= w {
            border.outside(w, false)
        } else {
            x as usize
        };
        img[[yy, xx]]
    };
    let mut m = Array2::zeros((h, w));
    let mut gx = Array2::zeros((h, w));
    let mut gy = Array2::zeros((h, w));
    for y in 0..h as isize {
        for x in 0..w as isize {
            if border == Border::Zero && (y == 0 || x == 0 || y == h as isize - 1 || x == w as isize - 1) {
                continue;
            }
            let p = |dy: isize, dx: isize| at(y + dy, x + dx);
            let a = (p(-1, 1) + 2.0 * p(0, 1) + p(1, 1)) - (p(-1, -1) + 2.0 * p(0, -1) + p(1, -1));
            let b = (p(1, -1) + 2.0 * p(1, 0) + p(1, 1)) - (p(-1, -1) + 2.0 * p(-1, 0) + p(-1, 1));
            gx[[y as usize, x as usize]] = a;
            gy[[y as usize, x as usize]] = b;
            m[[y as usize, x as usize]] = (a * a + b * b).sqrt();
        }
    }
    (m, gx, gy)
}

fn image(h: usize, w: usize) -> Array2<f64> {
    Array2::from_shape_fn((h, w), |(y, x)| {
        (((y * 31 + x * 17) % 23) as f64 - 7.5) * 0.37 + (y * x) as f64 * 1e-3
    })
}

#[test]
fn every_border_and_size_matches_the_formula() {
    for border in [
        Border::Zero,
        Border::Replicate,
        Border::Reflect101,
        Border::Reflect,
        Border::Wrap,
        Border::Constant(2.5),
        Border::Constant(0.0),
    ] {
        // The last size is above the serial threshold: the pool's banded path.
        for (h, w) in [
            (1, 1),
            (1, 5),
            (2, 2),
            (3, 3),
            (5, 1),
            (37, 53),
            (300, 7),
            (301, 197),
        ] {
            let img = image(h, w);
            let (want, wx, wy) = reference(&img, border);
            let mut m = Array2::zeros((h, w));
            let mut gx = Array2::zeros((h, w));
            let mut gy = Array2::zeros((h, w));
            let out = SobelOut {
                magnitude: m.view_mut(),
                gx: Some(gx.view_mut()),
                gy: Some(gy.view_mut()),
            };
            sobel::<f64, f64, _>(&Gray(img.view()), border, out).unwrap();
            assert_eq!(m, want, "{border:?} {h}×{w}");
            assert_eq!(gx, wx);
            assert_eq!(gy, wy);
        }
    }
}

#[test]
fn strided_views_and_thread_counts() {
    let base = image(120, 90);
    let t = base.t(); // transposed
    let f = base.slice(s![..;-1, 3..;2]); // flipped and strided
    for view in [t, f] {
        let owned = view.to_owned();
        let (want, _, _) = reference(&owned, Border::Reflect101);
        for threads in [1, 3] {
            crate::parallel::set_threads(threads).unwrap();
            let mut big = Array2::<f64>::zeros((view.nrows(), 2 * view.ncols()));
            let out = SobelOut {
                magnitude: big.slice_mut(s![.., ..;-2]),
                gx: None,
                gy: None,
            };
            sobel::<f64, f64, _>(&Gray(view), Border::Reflect101, out).unwrap();
            assert_eq!(big.slice(s![.., ..;-2]), want);
        }
    }
    crate::parallel::set_threads(0).unwrap();
}

#[test]
fn u8_to_f32_is_exact_gradient() {
    let img = Array2::from_shape_fn((20, 30), |(y, x)| ((y * 7 + x * x) % 256) as u8);
    let (want, _, _) = reference(&img.mapv(|v| v as f64), Border::Replicate);
    let mut m = Array2::<f32>::zeros((20, 30));
    sobel::<f32, f32, _>(
        &Gray(img.view()),
        Border::Replicate,
        SobelOut {
            magnitude: m.view_mut(),
            gx: None,
            gy: None,
        },
    )
    .unwrap();
    for (a, b) in m.iter().zip(want.iter()) {
        assert!((*a as f64 - b).abs() <= b * 1e-6, "{a} vs {b}");
    }
}

#[test]
fn nan_reaches_only_its_neighbours() {
    let mut img = image(9, 9);
    img[[4, 4]] = f64::NAN;
    let mut m = Array2::zeros((9, 9));
    sobel::<f64, f64, _>(
        &Gray(img.view()),
        Border::Replicate,
        SobelOut {
            magnitude: m.view_mut(),
            gx: None,
            gy: None,
        },
    )
    .unwrap();
    for ((y, x), v) in m.indexed_iter() {
        let near = y.abs_diff(4) <= 1 && x.abs_diff(4) <= 1 && (y, x) != (4, 4);
        assert_eq!(v.is_nan(), near, "({y}, {x})");
    }
}

#[test]
fn grayscale_and_edges() {
    let rgb = Array3::from_shape_fn((17, 23, 4), |(y, x, c)| ((y * 13 + x * 7 + c * 50) % 256) as u8);
    let mut g = Array2::<f64>::zeros((17, 23));
    grayscale(rgb.view(), g.view_mut()).unwrap();
    let want = Array2::from_shape_fn((17, 23), |(y, x)| {
        rgb[[y, x, 0]] as f64 * 0.2989 + rgb[[y, x, 1]] as f64 * 0.5870 + rgb[[y, x, 2]] as f64 * 0.1140
    });
    assert_eq!(g, want);
    let (ref_m, _, _) = reference(&want, Border::Zero);
    let mut m = Array2::<f64>::zeros((17, 23));
    edges::<f64, _, _>(
        rgb.slice(s![.., .., ..3]),
        Border::Zero,
        SobelOut {
            magnitude: m.view_mut(),
            gx: None,
            gy: None,
        },
    )
    .unwrap();
    assert_eq!(m, ref_m);
    assert!(grayscale(Array3::<u8>::zeros((2, 2, 2)).view(), g.slice_mut(s![..2, ..2])).is_err());
    assert!(grayscale(rgb.view(), Array2::<f64>::zeros((2, 2)).view_mut()).is_err());
}
