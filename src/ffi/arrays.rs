//! Exports of the image and numeric kernels. Arrays are caller-owned strided buffers,
//! described by a pointer, a shape and strides in bytes (possibly negative or zero), and
//! borrowed for the duration of the call. This layer validates them and builds ndarray
//! views; the kernels live in `crate::image` and `crate::numeric`.

use std::ffi::c_void;
use std::ops::Range;

use ndarray::{ArrayView, ArrayViewMut, Axis, Ix1, Ix2, Ix3, IxDyn, ShapeBuilder};

use super::{check_no_overlap, guard, out_arg, slice_arg, span, FkStatus};
use crate::error::{Error, ErrorKind, Result};
use crate::image::{self, Border, Gray, Pixel, Real, SobelOut};
use crate::numeric;

/// Element type code: `uint8_t`.
pub const FK_DTYPE_U8: u32 = 1;
/// Element type code: `uint16_t` (native byte order).
pub const FK_DTYPE_U16: u32 = 2;
/// Element type code: `float` (native byte order).
pub const FK_DTYPE_F32: u32 = 3;
/// Element type code: `double` (native byte order).
pub const FK_DTYPE_F64: u32 = 4;

/// Sobel border mode: output pixels on the image border are 0 (the reference loop).
pub const FK_BORDER_ZERO: u32 = 0;
/// Sobel border mode: the edge pixel repeats (`aaa|abcd|ddd`).
pub const FK_BORDER_REPLICATE: u32 = 1;
/// Sobel border mode: mirror without repeating the edge (`dcb|abcd|cba`, OpenCV's default).
pub const FK_BORDER_REFLECT101: u32 = 2;
/// Sobel border mode: mirror repeating the edge (`cba|abcd|dcb`, scipy.ndimage's default;
/// for a 3×3 kernel the same values as `FK_BORDER_REPLICATE`).
pub const FK_BORDER_REFLECT: u32 = 3;

/// Largest `limit` `fk_count_primes` accepts (10^13).
pub const FK_MAX_PRIME_LIMIT: u64 = 10_000_000_000_000;
// Written out for cbindgen (it would export the kernel's name); kept equal at compile time.
const _: () = assert!(FK_MAX_PRIME_LIMIT == numeric::MAX_PRIME_LIMIT);

/// A read-only 2-D image: pixel (y, x) is at `data + y*row_stride + x*col_stride` (bytes).
/// Strides may be negative or zero; `data` must be aligned for `dtype` and the strides
/// multiples of its size. `height` and `width` must be at least 1.
#[repr(C)]
pub struct FkImage {
    pub data: *const c_void,
    /// One of `FK_DTYPE_U8`, `FK_DTYPE_U16`, `FK_DTYPE_F32`, `FK_DTYPE_F64`.
    pub dtype: u32,
    pub height: usize,
    pub width: usize,
    pub row_stride: isize,
    pub col_stride: isize,
}

/// A writable 2-D image, laid out as `FkImage`. Its elements must not overlap each other
/// (no zero strides) nor any input of the call.
#[repr(C)]
pub struct FkImageOut {
    pub data: *mut c_void,
    /// `FK_DTYPE_F32` or `FK_DTYPE_F64`.
    pub dtype: u32,
    pub height: usize,
    pub width: usize,
    pub row_stride: isize,
    pub col_stride: isize,
}

/// A read-only H×W×C colour image (C = 3: R, G, B; C = 4: R, G, B, A ignored): channel c
/// of pixel (y, x) is at `data + y*row_stride + x*col_stride + c*channel_stride` (bytes).
#[repr(C)]
pub struct FkColorImage {
    pub data: *const c_void,
    /// `FK_DTYPE_U8`, `FK_DTYPE_U16`, `FK_DTYPE_F32` or `FK_DTYPE_F64`.
    pub dtype: u32,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub row_stride: isize,
    pub col_stride: isize,
    pub channel_stride: isize,
}

fn dtype_name(code: u32) -> &'static str {
    match code {
        FK_DTYPE_U8 => "uint8",
        FK_DTYPE_U16 => "uint16",
        FK_DTYPE_F32 => "float32",
        FK_DTYPE_F64 => "float64",
        _ => "unknown",
    }
}

fn dtype_err(what: &str, code: u32, expected: &str) -> Error {
    Error::new(
        ErrorKind::Dtype,
        format!(
            "{what}: dtype code {code} ({}) is not supported; expected {expected}",
            dtype_name(code)
        ),
    )
}

fn border_arg(code: u32) -> Result<Border> {
    Ok(match code {
        FK_BORDER_ZERO => Border::Zero,
        FK_BORDER_REPLICATE => Border::Replicate,
        FK_BORDER_REFLECT101 => Border::Reflect101,
        FK_BORDER_REFLECT => Border::Reflect,
        _ => {
            return Err(Error::invalid(format!(
                "border = {code} is not one of FK_BORDER_ZERO/REPLICATE/REFLECT101/REFLECT (0..3)"
            )))
        }
    })
}

/// A validated strided layout: the byte range it touches and the view's parameters.
struct Layout {
    /// Lowest address touched.
    base: usize,
    /// Bytes from the lowest to one past the highest address touched.
    extent: Range<usize>,
    shape: Vec<usize>,
    /// Strides in elements (absolute values) and which axes run backwards.
    strides: Vec<usize>,
    negative: Vec<bool>,
}

/// Validate `shape`/`strides` (bytes) at `ptr` for elements of type T.
fn layout<T>(
    ptr: *const c_void,
    shape: &[usize],
    strides: &[isize],
    what: &str,
    allow_empty: bool,
) -> Result<Layout> {
    let elem = std::mem::size_of::<T>() as i128;
    let n: Option<usize> = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if n.is_none() || n.unwrap() as i128 * elem > isize::MAX as i128 {
        return Err(Error::invalid(format!(
            "{what}: shape {shape:?} overflows the address space"
        )));
    }
    if n == Some(0) {
        if allow_empty {
            let p = ptr as usize;
            return Ok(Layout {
                base: p,
                extent: p..p,
                shape: shape.to_vec(),
                strides: vec![0; shape.len()],
                negative: vec![false; shape.len()],
            });
        }
        return Err(Error::invalid(format!("{what} is empty (shape {shape:?})")));
    }
    if ptr.is_null() {
        return Err(super::null_err(what));
    }
    let (mut lo, mut hi) = (0i128, 0i128);
    for (&d, &s) in shape.iter().zip(strides) {
        if s as i128 % elem != 0 {
            return Err(Error::invalid(format!(
                "{what}: stride {s} bytes is not a multiple of the element size ({elem} bytes)"
            )));
        }
        let span = (d as i128 - 1) * s as i128;
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    let (start, end) = (ptr as usize as i128 + lo, ptr as usize as i128 + hi + elem);
    if start < 0 || end > usize::MAX as i128 || end - start > isize::MAX as i128 {
        return Err(Error::invalid(format!(
            "{what}: shape {shape:?} with strides {strides:?} bytes overflows the address space"
        )));
    }
    if (ptr as usize) % std::mem::align_of::<T>() != 0 {
        return Err(Error::invalid(format!(
            "{what} is not aligned to {} bytes (address {ptr:p}); copy it to an aligned buffer",
            std::mem::align_of::<T>()
        )));
    }
    Ok(Layout {
        base: start as usize,
        extent: start as usize..end as usize,
        shape: shape.to_vec(),
        strides: strides
            .iter()
            .map(|&s| (s.unsigned_abs()) / elem as usize)
            .collect(),
        negative: strides.iter().map(|&s| s < 0).collect(),
    })
}

/// Reject a writable layout whose elements overlap each other (a broadcast output would be
/// written by several threads at once). Sufficient test: sorted by stride, every axis must
/// step over the whole extent of the smaller ones.
fn check_distinct(l: &Layout, what: &str) -> Result<()> {
    let mut axes: Vec<(usize, usize)> = l
        .shape
        .iter()
        .zip(&l.strides)
        .filter(|(&d, _)| d > 1)
        .map(|(&d, &s)| (s, d))
        .collect();
    axes.sort();
    let mut covered = 1usize; // elements spanned by the smaller axes
    for (s, d) in axes {
        if s < covered {
            return Err(Error::new(
                ErrorKind::Overlap,
                format!("{what}: its elements overlap in memory (zero or interleaved strides); an output needs distinct elements"),
            ));
        }
        covered = s.saturating_mul(d);
    }
    Ok(())
}

unsafe fn make_view<'a, T>(l: &Layout) -> ArrayView<'a, T, IxDyn> {
    let mut v = ArrayView::from_shape_ptr(IxDyn(&l.shape).strides(IxDyn(&l.strides)), l.base as *const T);
    for (k, &neg) in l.negative.iter().enumerate() {
        if neg {
            v.invert_axis(Axis(k));
        }
    }
    v
}

unsafe fn make_view_mut<'a, T>(l: &Layout) -> ArrayViewMut<'a, T, IxDyn> {
    let mut v = ArrayViewMut::from_shape_ptr(IxDyn(&l.shape).strides(IxDyn(&l.strides)), l.base as *mut T);
    for (k, &neg) in l.negative.iter().enumerate() {
        if neg {
            v.invert_axis(Axis(k));
        }
    }
    v
}

fn dim<T, D: ndarray::Dimension>(v: ArrayView<'_, T, IxDyn>) -> ArrayView<'_, T, D> {
    v.into_dimensionality().expect("layout rank")
}
fn dim_mut<T, D: ndarray::Dimension>(v: ArrayViewMut<'_, T, IxDyn>) -> ArrayViewMut<'_, T, D> {
    v.into_dimensionality().expect("layout rank")
}

fn image_layout<T>(img: &FkImage, what: &str) -> Result<Layout> {
    layout::<T>(
        img.data,
        &[img.height, img.width],
        &[img.row_stride, img.col_stride],
        what,
        false,
    )
}
fn out_layout<T>(img: &FkImageOut, what: &str) -> Result<Layout> {
    let l = layout::<T>(
        img.data as *const c_void,
        &[img.height, img.width],
        &[img.row_stride, img.col_stride],
        what,
        false,
    )?;
    check_distinct(&l, what)?;
    Ok(l)
}
fn color_layout<T>(img: &FkColorImage, what: &str) -> Result<Layout> {
    if img.channels != 3 && img.channels != 4 {
        return Err(Error::invalid(format!(
            "{what} has {} channels; expected 3 (RGB) or 4 (RGBA)",
            img.channels
        )));
    }
    layout::<T>(
        img.data,
        &[img.height, img.width, img.channels],
        &[img.row_stride, img.col_stride, img.channel_stride],
        what,
        false,
    )
}

/// Optional outputs of one Sobel call, checked for the dtype they must share and for
/// overlaps with each other and the input.
unsafe fn sobel_outputs<'a, O: Real>(
    input: &Range<usize>,
    outs: [(*const FkImageOut, &str); 3],
) -> Result<[Option<ArrayViewMut<'a, O, Ix2>>; 3]> {
    let mut layouts: Vec<Option<(Layout, &str)>> = Vec::new();
    for (p, what) in outs {
        match p.as_ref() {
            None => layouts.push(None),
            Some(o) => {
                let l = out_layout::<O>(o, what)?;
                check_no_overlap(l.extent.clone(), input.clone(), what)?;
                for (other, other_what) in layouts.iter().flatten() {
                    check_no_overlap(
                        l.extent.clone(),
                        other.extent.clone(),
                        &format!("{what} and {other_what}"),
                    )?;
                }
                layouts.push(Some((l, what)));
            }
        }
    }
    let mut it = layouts
        .into_iter()
        .map(|l| l.map(|(l, _)| dim_mut::<O, Ix2>(make_view_mut::<O>(&l))));
    Ok([it.next().unwrap(), it.next().unwrap(), it.next().unwrap()])
}

unsafe fn sobel_typed<P: Pixel, A: Real, O: Real>(
    src: &FkImage,
    border: Border,
    outs: [(*const FkImageOut, &str); 3],
) -> Result<()> {
    let l = image_layout::<P>(src, "src")?;
    let [m, gx, gy] = sobel_outputs::<O>(&l.extent, outs)?;
    let view = dim::<P, Ix2>(make_view::<P>(&l));
    image::sobel::<A, O, _>(
        &Gray(view),
        border,
        SobelOut {
            magnitude: m.expect("checked"),
            gx,
            gy,
        },
    )
}

unsafe fn edges_typed<P: Pixel, A: Real, O: Real>(
    src: &FkColorImage,
    border: Border,
    out: *const FkImageOut,
) -> Result<()> {
    let l = color_layout::<P>(src, "src")?;
    let [m, _, _] = sobel_outputs::<O>(
        &l.extent,
        [(out, "magnitude"), (std::ptr::null(), ""), (std::ptr::null(), "")],
    )?;
    let view = dim::<P, Ix3>(make_view::<P>(&l));
    image::edges::<A, P, O>(
        view,
        border,
        SobelOut {
            magnitude: m.expect("checked"),
            gx: None,
            gy: None,
        },
    )
}

unsafe fn grayscale_typed<P: Pixel, O: Real>(src: &FkColorImage, out: &FkImageOut) -> Result<()> {
    let l = color_layout::<P>(src, "src")?;
    let o = out_layout::<O>(out, "out")?;
    check_no_overlap(o.extent.clone(), l.extent.clone(), "out")?;
    image::grayscale(
        dim::<P, Ix3>(make_view::<P>(&l)),
        dim_mut::<O, Ix2>(make_view_mut::<O>(&o)),
    )
}

/// Sobel gradient magnitude `sqrt(gx² + gy²)` of `src` into `magnitude`, and the gradients
/// into `gx` and `gy` unless they are NULL, with
/// `gx = (p[y-1,x+1] + 2p[y,x+1] + p[y+1,x+1]) - (p[y-1,x-1] + 2p[y,x-1] + p[y+1,x-1])` and
/// `gy = (p[y+1,x-1] + 2p[y+1,x] + p[y+1,x+1]) - (p[y-1,x-1] + 2p[y-1,x] + p[y-1,x+1])`.
/// `src`: any `FK_DTYPE_*`. Outputs: `FK_DTYPE_F32` or `FK_DTYPE_F64`, all the same, of the
/// input's height and width; computed in double precision when the input or the outputs are
/// `FK_DTYPE_F64`, else in single. `border`: one of `FK_BORDER_*`. A NaN in the input makes
/// NaN only the outputs whose formula uses it (its 8 neighbours). Images smaller than 3×3
/// are valid. Runs in parallel; results do not depend on the thread count.
/// Errors: `NULL_POINTER` (`src`, `magnitude` or a data pointer), `DTYPE` (unsupported or
/// mixed output dtypes), `INVALID_ARGUMENT` (empty image, shape mismatch, a stride that is
/// not a multiple of the element size, misaligned data, unknown border, byte extents that
/// overflow), `OVERLAP` (an output overlaps the input or another output, or itself).
#[no_mangle]
pub unsafe extern "C" fn fk_sobel(
    src: *const FkImage,
    border: u32,
    magnitude: *const FkImageOut,
    gx: *const FkImageOut,
    gy: *const FkImageOut,
) -> FkStatus {
    guard(|| {
        let src = src.as_ref().ok_or_else(|| super::null_err("src"))?;
        let m = magnitude.as_ref().ok_or_else(|| super::null_err("magnitude"))?;
        let border = border_arg(border)?;
        for (p, what) in [(gx, "gx"), (gy, "gy")] {
            if let Some(o) = p.as_ref() {
                if o.dtype != m.dtype {
                    return Err(Error::new(
                        ErrorKind::Dtype,
                        format!(
                            "{what} is {} but magnitude is {}; the outputs must share one dtype",
                            dtype_name(o.dtype),
                            dtype_name(m.dtype)
                        ),
                    )
                    .into());
                }
            }
        }
        let outs = [(magnitude, "magnitude"), (gx, "gx"), (gy, "gy")];
        match (src.dtype, m.dtype) {
            (FK_DTYPE_U8, FK_DTYPE_F32) => sobel_typed::<u8, f32, f32>(src, border, outs),
            (FK_DTYPE_U8, FK_DTYPE_F64) => sobel_typed::<u8, f64, f64>(src, border, outs),
            (FK_DTYPE_U16, FK_DTYPE_F32) => sobel_typed::<u16, f32, f32>(src, border, outs),
            (FK_DTYPE_U16, FK_DTYPE_F64) => sobel_typed::<u16, f64, f64>(src, border, outs),
            (FK_DTYPE_F32, FK_DTYPE_F32) => sobel_typed::<f32, f32, f32>(src, border, outs),
            (FK_DTYPE_F32, FK_DTYPE_F64) => sobel_typed::<f32, f64, f64>(src, border, outs),
            (FK_DTYPE_F64, FK_DTYPE_F32) => sobel_typed::<f64, f64, f32>(src, border, outs),
            (FK_DTYPE_F64, FK_DTYPE_F64) => sobel_typed::<f64, f64, f64>(src, border, outs),
            (FK_DTYPE_U8 | FK_DTYPE_U16 | FK_DTYPE_F32 | FK_DTYPE_F64, o) => {
                Err(dtype_err("magnitude", o, "FK_DTYPE_F32 or FK_DTYPE_F64"))
            }
            (s, _) => Err(dtype_err(
                "src",
                s,
                "FK_DTYPE_U8, FK_DTYPE_U16, FK_DTYPE_F32 or FK_DTYPE_F64",
            )),
        }?;
        Ok(())
    })
}

/// Luma `0.2989 R + 0.5870 G + 0.1140 B` of every pixel of `src` (computed in double
/// precision, as `np.dot(img[..., :3], [0.2989, 0.5870, 0.1140])`) into `out`
/// (`FK_DTYPE_F32` or `FK_DTYPE_F64`, height × width). Errors as for `fk_sobel`, and
/// `INVALID_ARGUMENT` for a channel count other than 3 or 4.
#[no_mangle]
pub unsafe extern "C" fn fk_grayscale(src: *const FkColorImage, out: *const FkImageOut) -> FkStatus {
    guard(|| {
        let src = src.as_ref().ok_or_else(|| super::null_err("src"))?;
        let out = out.as_ref().ok_or_else(|| super::null_err("out"))?;
        match (src.dtype, out.dtype) {
            (FK_DTYPE_U8, FK_DTYPE_F32) => grayscale_typed::<u8, f32>(src, out),
            (FK_DTYPE_U8, FK_DTYPE_F64) => grayscale_typed::<u8, f64>(src, out),
            (FK_DTYPE_U16, FK_DTYPE_F32) => grayscale_typed::<u16, f32>(src, out),
            (FK_DTYPE_U16, FK_DTYPE_F64) => grayscale_typed::<u16, f64>(src, out),
            (FK_DTYPE_F32, FK_DTYPE_F32) => grayscale_typed::<f32, f32>(src, out),
            (FK_DTYPE_F32, FK_DTYPE_F64) => grayscale_typed::<f32, f64>(src, out),
            (FK_DTYPE_F64, FK_DTYPE_F32) => grayscale_typed::<f64, f32>(src, out),
            (FK_DTYPE_F64, FK_DTYPE_F64) => grayscale_typed::<f64, f64>(src, out),
            (FK_DTYPE_U8 | FK_DTYPE_U16 | FK_DTYPE_F32 | FK_DTYPE_F64, o) => {
                Err(dtype_err("out", o, "FK_DTYPE_F32 or FK_DTYPE_F64"))
            }
            (s, _) => Err(dtype_err(
                "src",
                s,
                "FK_DTYPE_U8, FK_DTYPE_U16, FK_DTYPE_F32 or FK_DTYPE_F64",
            )),
        }?;
        Ok(())
    })
}

/// Sobel magnitude of the luma of `src` (as `fk_grayscale`, then `fk_sobel`) in one pass,
/// without storing the grayscale image. The luma is rounded to the working precision
/// (double when `src` or `magnitude` is `FK_DTYPE_F64`, else single) before the gradients.
/// Errors as for `fk_sobel` and `fk_grayscale`.
#[no_mangle]
pub unsafe extern "C" fn fk_edges(
    src: *const FkColorImage,
    border: u32,
    magnitude: *const FkImageOut,
) -> FkStatus {
    guard(|| {
        let src = src.as_ref().ok_or_else(|| super::null_err("src"))?;
        let m = magnitude.as_ref().ok_or_else(|| super::null_err("magnitude"))?;
        let border = border_arg(border)?;
        match (src.dtype, m.dtype) {
            (FK_DTYPE_U8, FK_DTYPE_F32) => edges_typed::<u8, f32, f32>(src, border, magnitude),
            (FK_DTYPE_U8, FK_DTYPE_F64) => edges_typed::<u8, f64, f64>(src, border, magnitude),
            (FK_DTYPE_U16, FK_DTYPE_F32) => edges_typed::<u16, f32, f32>(src, border, magnitude),
            (FK_DTYPE_U16, FK_DTYPE_F64) => edges_typed::<u16, f64, f64>(src, border, magnitude),
            (FK_DTYPE_F32, FK_DTYPE_F32) => edges_typed::<f32, f32, f32>(src, border, magnitude),
            (FK_DTYPE_F32, FK_DTYPE_F64) => edges_typed::<f32, f64, f64>(src, border, magnitude),
            (FK_DTYPE_F64, FK_DTYPE_F32) => edges_typed::<f64, f64, f32>(src, border, magnitude),
            (FK_DTYPE_F64, FK_DTYPE_F64) => edges_typed::<f64, f64, f64>(src, border, magnitude),
            (FK_DTYPE_U8 | FK_DTYPE_U16 | FK_DTYPE_F32 | FK_DTYPE_F64, o) => {
                Err(dtype_err("magnitude", o, "FK_DTYPE_F32 or FK_DTYPE_F64"))
            }
            (s, _) => Err(dtype_err(
                "src",
                s,
                "FK_DTYPE_U8, FK_DTYPE_U16, FK_DTYPE_F32 or FK_DTYPE_F64",
            )),
        }?;
        Ok(())
    })
}

/// The correctly rounded sum of `n` native-endian doubles (the exact sum rounded once, to
/// nearest even: `math.fsum` for finite values) into `*out`. Value i is read from
/// `data + i*stride` (bytes); `data` needs no alignment and `stride` may be negative, zero
/// or any byte count. NaN if any value is NaN or both infinities occur; ±inf if an
/// infinity occurs or the exact sum rounds beyond the largest double; -0.0 only when every
/// value is -0.0; 0.0 for `n` = 0 (`data` may then be NULL). Deterministic for any thread
/// count. Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (the byte range overflows).
#[no_mangle]
pub unsafe extern "C" fn fk_sum_f64(data: *const c_void, n: usize, stride: isize, out: *mut f64) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        if n == 0 {
            *out = 0.0;
            return Ok(());
        }
        if data.is_null() {
            return Err(super::null_err("data").into());
        }
        let l = layout::<u8>(data, &[n], &[stride], "data", false)?;
        let (lo, len) = (l.extent.start, l.extent.end - l.extent.start + 7);
        if lo.checked_add(len).is_none() || len > isize::MAX as usize {
            return Err(Error::invalid("data: the byte range overflows the address space").into());
        }
        let bytes = std::slice::from_raw_parts(lo as *const u8, len);
        *out = numeric::sum_bytes(bytes, data as usize - lo, n, stride)?;
        Ok(())
    })
}

/// numpy.polyval: `out[i] = (…((0·x + c[0])·x + c[1])·x + …) + c[n_coeffs-1]` for `x[i]`,
/// coefficients highest degree first, without fused multiply-adds (bit for bit what numpy
/// computes; `n_coeffs` = 0 gives zeros). `x` has `n` doubles at byte stride `x_stride`,
/// `out` has `n` at `out_stride`; both aligned, strides multiples of 8, possibly negative.
/// `out` may be exactly `x` (same pointer and stride: in place); any other overlap, of
/// `out` with `x`, `coeffs` or itself, is `OVERLAP`. Errors: `NULL_POINTER`,
/// `INVALID_ARGUMENT` (misaligned, bad stride, overflow), `OVERLAP`.
#[no_mangle]
pub unsafe extern "C" fn fk_polyval_f64(
    coeffs: *const f64,
    n_coeffs: usize,
    x: *const f64,
    n: usize,
    x_stride: isize,
    out: *mut f64,
    out_stride: isize,
) -> FkStatus {
    guard(|| {
        let c = slice_arg(coeffs, n_coeffs, "coeffs")?;
        let lx = layout::<f64>(x as *const c_void, &[n], &[x_stride], "x", true)?;
        let lo = layout::<f64>(out as *const c_void, &[n], &[out_stride], "out", true)?;
        if n == 0 {
            return Ok(());
        }
        check_distinct(&lo, "out")?;
        check_no_overlap(lo.extent.clone(), span(c), "out and coeffs")?;
        if x as usize == out as usize && x_stride == out_stride {
            return Ok(numeric::polyval_inplace(
                c,
                dim_mut::<f64, Ix1>(make_view_mut::<f64>(&lo)),
            )?);
        }
        check_no_overlap(
            lo.extent.clone(),
            lx.extent.clone(),
            "out and x (only exactly the same buffer and stride is allowed)",
        )?;
        numeric::polyval(
            c,
            dim::<f64, Ix1>(make_view::<f64>(&lx)),
            dim_mut::<f64, Ix1>(make_view_mut::<f64>(&lo)),
        )?;
        Ok(())
    })
}

/// The number of primes p < `limit` into `*out` (segmented parallel sieve, linear in
/// `limit`: π(10^9) takes about 0.1 s on two cores, π(10^12) minutes). Errors: `NULL_POINTER`,
/// `INVALID_ARGUMENT` (`limit` above `FK_MAX_PRIME_LIMIT`).
#[no_mangle]
pub unsafe extern "C" fn fk_count_primes(limit: u64, out: *mut u64) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        *out = numeric::count_primes(limit)?;
        Ok(())
    })
}
