//! The image and numeric exports called as C would call them, through the Rust library:
//! results on small known inputs, and the status of each kind of bad call.
//!
//! Every `unsafe` call below passes pointers to live locals (or NULL on purpose) with the
//! shapes and strides they really have, which is each export's `# Safety` contract.

use std::ffi::{c_void, CStr};
use std::ptr;

use ferrokern::ffi::arrays::*;
use ferrokern::ffi::*;

fn last_error() -> String {
    unsafe { CStr::from_ptr(fk_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn gray_u8(px: &[u8], h: usize, w: usize) -> FkImage {
    FkImage {
        data: px.as_ptr().cast(),
        dtype: FK_DTYPE_U8,
        height: h,
        width: w,
        row_stride: w as isize,
        col_stride: 1,
    }
}

fn out_f64(buf: &mut [f64], h: usize, w: usize) -> FkImageOut {
    FkImageOut {
        data: buf.as_mut_ptr().cast(),
        dtype: FK_DTYPE_F64,
        height: h,
        width: w,
        row_stride: (w * 8) as isize,
        col_stride: 8,
    }
}

#[test]
fn sobel_of_a_vertical_edge() {
    // Columns 0,0,10: gx at the centre is (10 + 20 + 10) - 0 = 40, gy = 0.
    let px = [0u8, 0, 10, 0, 0, 10, 0, 0, 10];
    let src = gray_u8(&px, 3, 3);
    let (mut m, mut gx, mut gy) = ([0f64; 9], [0f64; 9], [0f64; 9]);
    let (om, ogx, ogy) = (
        out_f64(&mut m, 3, 3),
        out_f64(&mut gx, 3, 3),
        out_f64(&mut gy, 3, 3),
    );
    assert_eq!(
        unsafe { fk_sobel(&src, FK_BORDER_ZERO, &om, &ogx, &ogy) },
        FkStatus::Ok
    );
    assert_eq!((m[4], gx[4], gy[4]), (40.0, 40.0, 0.0));
    assert_eq!(m[0], 0.0, "zero border");
    let st = unsafe { fk_sobel(&src, FK_BORDER_REPLICATE, &om, ptr::null(), ptr::null()) };
    assert_eq!(st, FkStatus::Ok);
    assert_eq!(m[5], 40.0, "the edge column repeats past the border");
}

#[test]
fn grayscale_and_edges_dispatch_on_dtype() {
    let rgb = [1.0f32, 1.0, 1.0, 2.0, 2.0, 2.0];
    let color = |dtype: u32, channels: usize| FkColorImage {
        data: rgb.as_ptr().cast(),
        dtype,
        height: 1,
        width: 2,
        channels,
        row_stride: 24,
        col_stride: 12,
        channel_stride: 4,
    };
    let src = color(FK_DTYPE_F32, 3);
    let mut g = [0f64; 2];
    let out = out_f64(&mut g, 1, 2);
    assert_eq!(unsafe { fk_grayscale(&src, &out) }, FkStatus::Ok);
    let luma = 0.2989 + 0.5870 + 0.1140;
    assert!(
        (g[0] - luma).abs() < 1e-6 && (g[1] - 2.0 * luma).abs() < 1e-6,
        "{g:?}"
    );
    let mut m = [9f64; 2];
    let om = out_f64(&mut m, 1, 2);
    assert_eq!(unsafe { fk_edges(&src, FK_BORDER_ZERO, &om) }, FkStatus::Ok);
    assert_eq!(m, [0.0, 0.0]);

    let mut bad = out_f64(&mut g, 1, 2);
    bad.dtype = FK_DTYPE_U8;
    assert_eq!(unsafe { fk_grayscale(&src, &bad) }, FkStatus::Dtype);
    assert!(
        last_error().contains("out: dtype code 1 (uint8)"),
        "{}",
        last_error()
    );
    assert_eq!(unsafe { fk_grayscale(&color(99, 3), &out) }, FkStatus::Dtype);
    assert!(last_error().starts_with("src: dtype code 99"), "{}", last_error());
    assert_eq!(
        unsafe { fk_grayscale(&color(FK_DTYPE_F32, 2), &out) },
        FkStatus::InvalidArgument
    );
}

#[test]
fn image_errors_are_statuses() {
    let px = [0u8; 16];
    let src = gray_u8(&px, 4, 4);
    let mut m = [0f64; 16];
    let om = out_f64(&mut m, 4, 4);
    assert_eq!(
        unsafe { fk_sobel(ptr::null(), 0, &om, ptr::null(), ptr::null()) },
        FkStatus::NullPointer
    );
    assert_eq!(
        unsafe { fk_sobel(&src, 9, &om, ptr::null(), ptr::null()) },
        FkStatus::InvalidArgument
    );
    let mut broadcast = out_f64(&mut m, 4, 4);
    broadcast.row_stride = 0;
    let st = unsafe { fk_sobel(&src, 0, &broadcast, ptr::null(), ptr::null()) };
    assert_eq!(st, FkStatus::Overlap);
    let mut gx = [0f32; 16];
    let ogx = FkImageOut {
        data: gx.as_mut_ptr().cast(),
        dtype: FK_DTYPE_F32,
        height: 4,
        width: 4,
        row_stride: 16,
        col_stride: 4,
    };
    assert_eq!(
        unsafe { fk_sobel(&src, 0, &om, &ogx, ptr::null()) },
        FkStatus::Dtype
    );
    assert!(last_error().contains("must share one dtype"), "{}", last_error());
    let in_place = FkImageOut {
        data: px.as_ptr() as *mut c_void,
        dtype: FK_DTYPE_F64,
        height: 4,
        width: 4,
        row_stride: 32,
        col_stride: 8,
    };
    let st = unsafe { fk_sobel(&src, 0, &in_place, ptr::null(), ptr::null()) };
    assert!(
        matches!(st, FkStatus::Overlap | FkStatus::InvalidArgument),
        "{st:?}"
    );
}

#[test]
fn sum_polyval_and_primes() {
    let v = [1e100, 1.0, -1e100, 2.0];
    let mut s = 0.0;
    assert_eq!(
        unsafe { fk_sum_f64(v.as_ptr().cast(), 4, 8, &mut s) },
        FkStatus::Ok
    );
    assert_eq!(s, 3.0, "exact sum, rounded once");
    let st = unsafe { fk_sum_f64(v.as_ptr().cast(), 3, isize::MAX, &mut s) };
    assert_eq!(st, FkStatus::InvalidArgument, "the byte range overflows");
    assert_eq!(unsafe { fk_sum_f64(ptr::null(), 0, 8, &mut s) }, FkStatus::Ok);
    assert_eq!(s, 0.0);
    assert_eq!(
        unsafe { fk_sum_f64(ptr::null(), 1, 8, &mut s) },
        FkStatus::NullPointer
    );

    let c = [2.0, 0.0, 1.0]; // 2x² + 1
    let mut x = [0.0, 1.0, 3.0];
    let mut y = [0.0; 3];
    let st = unsafe { fk_polyval_f64(c.as_ptr(), 3, x.as_ptr(), 3, 8, y.as_mut_ptr(), 8) };
    assert_eq!(st, FkStatus::Ok);
    assert_eq!(y, [1.0, 3.0, 19.0]);
    let xp = x.as_mut_ptr();
    assert_eq!(
        unsafe { fk_polyval_f64(c.as_ptr(), 3, xp, 3, 8, xp, 8) },
        FkStatus::Ok
    );
    assert_eq!(x, [1.0, 3.0, 19.0], "in place");
    let st = unsafe { fk_polyval_f64(c.as_ptr(), 3, xp, 2, 8, xp.wrapping_add(1), 8) };
    assert_eq!(st, FkStatus::Overlap);

    let mut n = 0u64;
    assert_eq!(unsafe { fk_count_primes(100, &mut n) }, FkStatus::Ok);
    assert_eq!(n, 25);
    assert_eq!(
        unsafe { fk_count_primes(FK_MAX_PRIME_LIMIT + 1, &mut n) },
        FkStatus::InvalidArgument
    );
    assert_eq!(
        unsafe { fk_count_primes(10, ptr::null_mut()) },
        FkStatus::NullPointer
    );
}
