//! Exports of the image and numeric kernels. Arrays are caller-owned strided buffers,
//! described by a pointer, a shape and strides in bytes (possibly negative or zero), and
//! borrowed for the duration of the call. This layer validates them and builds ndarray
//! views; the kernels live in `crate::image` and `crate::numeric`.

use std::ffi::c_void;
use std::ops::Range;

use ndarray::{ArrayViewMut, Ix1, Ix2, Ix3};

use super::report::{callback, FkProgressFn};
use super::strided::{check_distinct, dim, dim_mut, layout, make_view, make_view_mut, Layout};
use super::{check_no_overlap, guard, out_arg, ref_arg, slice_arg, span, FkStatus};
use crate::error::{Error, ErrorKind, Result};
use crate::image::{self, Border, Deriv, DerivOut, Gray, Pixel, Real, SobelOut};
use crate::numeric;

/// Element type code: `uint8_t`.
pub const FK_DTYPE_U8: u32 = 1;
/// Element type code: `uint16_t` (native byte order).
pub const FK_DTYPE_U16: u32 = 2;
/// Element type code: `float` (native byte order).
pub const FK_DTYPE_F32: u32 = 3;
/// Element type code: `double` (native byte order).
pub const FK_DTYPE_F64: u32 = 4;
/// Element type code: `int16_t` (native byte order; outputs of `fk_sobel_deriv` only).
pub const FK_DTYPE_I16: u32 = 5;

/// Sobel border mode: output pixels on the image border are 0 (the reference loop).
pub const FK_BORDER_ZERO: u32 = 0;
/// Sobel border mode: the edge pixel repeats (`aaa|abcd|ddd`).
pub const FK_BORDER_REPLICATE: u32 = 1;
/// Sobel border mode: mirror without repeating the edge (`dcb|abcd|cba`, OpenCV's default).
pub const FK_BORDER_REFLECT101: u32 = 2;
/// Sobel border mode: mirror repeating the edge (`cba|abcd|dcb`, scipy.ndimage's default;
/// for a 3×3 kernel the same values as `FK_BORDER_REPLICATE`).
pub const FK_BORDER_REFLECT: u32 = 3;
/// Sobel border mode: the image repeats periodically (`bcd|abcd|abc`, scipy's `wrap`,
/// OpenCV's `BORDER_WRAP`).
pub const FK_BORDER_WRAP: u32 = 4;
/// Sobel border mode: the image is padded with a constant (`vvv|abcd|vvv`, scipy's
/// `constant`, OpenCV's `BORDER_CONSTANT`): 0 for `fk_sobel`/`fk_edges`, `cval` for
/// `fk_sobel_cval`/`fk_edges_cval`. Unlike `FK_BORDER_ZERO`, border output pixels are
/// computed.
pub const FK_BORDER_CONSTANT: u32 = 5;

/// Largest `limit` `fk_count_primes` accepts (10^13).
pub const FK_MAX_PRIME_LIMIT: u64 = 10_000_000_000_000;
// Written out for cbindgen (it would export the kernel's name); kept equal at compile time.
const _: () = assert!(FK_MAX_PRIME_LIMIT == numeric::MAX_PRIME_LIMIT);
/// Largest `hi - lo` `fk_primes` accepts (2^32 numbers: at most about 2·10^8 primes).
pub const FK_MAX_PRIMES_SPAN: u64 = 4_294_967_296;
const _: () = assert!(FK_MAX_PRIMES_SPAN == numeric::MAX_PRIMES_SPAN);

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
        FK_DTYPE_I16 => "int16",
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

/// The border mode `code` names; `cval` is the padding of `FK_BORDER_CONSTANT`.
fn border_arg(code: u32, cval: f64) -> Result<Border> {
    Ok(match code {
        FK_BORDER_ZERO => Border::Zero,
        FK_BORDER_REPLICATE => Border::Replicate,
        FK_BORDER_REFLECT101 => Border::Reflect101,
        FK_BORDER_REFLECT => Border::Reflect,
        FK_BORDER_WRAP => Border::Wrap,
        FK_BORDER_CONSTANT => Border::Constant(cval),
        _ => {
            let known = "FK_BORDER_ZERO/REPLICATE/REFLECT101/REFLECT/WRAP/CONSTANT (0..5)";
            return Err(Error::invalid(format!("border = {code} is not one of {known}")));
        }
    })
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

/// A kernel run at the element types that the caller's dtype codes name: `P` the input's,
/// `A` the working precision (double when the input or the output is `FK_DTYPE_F64`, else
/// single), `O` the output's.
trait Typed {
    /// # Safety
    /// The export's own contract on the buffers it was given.
    unsafe fn run<P: Pixel, A: Real, O: Real>(self) -> Result<()>;
}

/// The one dtype dispatch of the image exports: pick `P`, `A`, `O` from the input's and the
/// output's codes (`out_what` names the output in errors) and run `k` with them.
///
/// # Safety
/// As [`Typed::run`].
unsafe fn dispatch(src: u32, out: u32, out_what: &str, k: impl Typed) -> Result<()> {
    // SAFETY: forwarded contract (every arm).
    unsafe {
        match (src, out) {
            (FK_DTYPE_U8, FK_DTYPE_F32) => k.run::<u8, f32, f32>(),
            (FK_DTYPE_U8, FK_DTYPE_F64) => k.run::<u8, f64, f64>(),
            (FK_DTYPE_U16, FK_DTYPE_F32) => k.run::<u16, f32, f32>(),
            (FK_DTYPE_U16, FK_DTYPE_F64) => k.run::<u16, f64, f64>(),
            (FK_DTYPE_F32, FK_DTYPE_F32) => k.run::<f32, f32, f32>(),
            (FK_DTYPE_F32, FK_DTYPE_F64) => k.run::<f32, f64, f64>(),
            (FK_DTYPE_F64, FK_DTYPE_F32) => k.run::<f64, f64, f32>(),
            (FK_DTYPE_F64, FK_DTYPE_F64) => k.run::<f64, f64, f64>(),
            (FK_DTYPE_U8 | FK_DTYPE_U16 | FK_DTYPE_F32 | FK_DTYPE_F64, o) => {
                Err(dtype_err(out_what, o, "FK_DTYPE_F32 or FK_DTYPE_F64"))
            }
            (s, _) => Err(dtype_err(
                "src",
                s,
                "FK_DTYPE_U8, FK_DTYPE_U16, FK_DTYPE_F32 or FK_DTYPE_F64",
            )),
        }
    }
}

struct SobelArgs<'a> {
    src: &'a FkImage,
    border: Border,
    outs: [(*const FkImageOut, &'a str); 3],
}

impl Typed for SobelArgs<'_> {
    unsafe fn run<P: Pixel, A: Real, O: Real>(self) -> Result<()> {
        let l = image_layout::<P>(self.src, "src")?;
        // SAFETY: the outputs are valid for their layouts (the export's contract), checked
        // for overlaps with the input and each other.
        let [m, gx, gy] = unsafe { sobel_outputs::<O>(&l.extent, self.outs) }?;
        // SAFETY: the input is valid for its layout (the export's contract).
        let view = dim::<P, Ix2>(unsafe { make_view::<P>(&l) });
        let out = SobelOut {
            magnitude: m.expect("checked"),
            gx,
            gy,
        };
        image::sobel::<A, O, _>(&Gray(view), self.border, out)
    }
}

struct EdgesArgs<'a> {
    src: &'a FkColorImage,
    border: Border,
    magnitude: *const FkImageOut,
}

impl Typed for EdgesArgs<'_> {
    unsafe fn run<P: Pixel, A: Real, O: Real>(self) -> Result<()> {
        let l = color_layout::<P>(self.src, "src")?;
        let none = (std::ptr::null(), "");
        // SAFETY: as in `SobelArgs::run`.
        let [m, _, _] =
            unsafe { sobel_outputs::<O>(&l.extent, [(self.magnitude, "magnitude"), none, none]) }?;
        // SAFETY: as in `SobelArgs::run`.
        let view = dim::<P, Ix3>(unsafe { make_view::<P>(&l) });
        let out = SobelOut {
            magnitude: m.expect("checked"),
            gx: None,
            gy: None,
        };
        image::edges::<A, P, O>(view, self.border, out)
    }
}

struct GrayscaleArgs<'a> {
    src: &'a FkColorImage,
    out: &'a FkImageOut,
}

impl Typed for GrayscaleArgs<'_> {
    /// The luma is always computed in double precision: `A` is not used.
    unsafe fn run<P: Pixel, A: Real, O: Real>(self) -> Result<()> {
        let l = color_layout::<P>(self.src, "src")?;
        let o = out_layout::<O>(self.out, "out")?;
        check_no_overlap(o.extent.clone(), l.extent.clone(), "out")?;
        // SAFETY: both buffers are valid for their layouts (the export's contract) and do
        // not overlap (checked just above).
        let (input, output) = unsafe { (make_view::<P>(&l), make_view_mut::<O>(&o)) };
        image::grayscale(dim::<P, Ix3>(input), dim_mut::<O, Ix2>(output))
    }
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
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `src` must be NULL or point to an `FkImage` whose `data` is readable
/// at every element its shape and strides address; `magnitude` must be NULL or point to an
/// `FkImageOut` whose `data` is writable at every element its shape and strides address, and
/// not otherwise accessed during the call; `gx` must be NULL or point to an `FkImageOut` whose
/// `data` is writable at every element its shape and strides address, and not otherwise
/// accessed during the call; `gy` must be NULL or point to an `FkImageOut` whose `data` is
/// writable at every element its shape and strides address, and not otherwise accessed during
/// the call.
#[no_mangle]
pub unsafe extern "C" fn fk_sobel(
    src: *const FkImage,
    border: u32,
    magnitude: *const FkImageOut,
    gx: *const FkImageOut,
    gy: *const FkImageOut,
) -> FkStatus {
    // SAFETY: forwarded contract (the same as this export's).
    unsafe { fk_sobel_cval(src, border, 0.0, magnitude, gx, gy) }
}

/// `fk_sobel` with `cval`, the value of the pixels outside the image for
/// `FK_BORDER_CONSTANT` (converted to the working precision; NaN and infinities are
/// allowed and spread as any pixel does). Other border modes ignore `cval`. Errors as for
/// `fk_sobel`.
///
/// # Safety
/// As for `fk_sobel`.
#[no_mangle]
pub unsafe extern "C" fn fk_sobel_cval(
    src: *const FkImage,
    border: u32,
    cval: f64,
    magnitude: *const FkImageOut,
    gx: *const FkImageOut,
    gy: *const FkImageOut,
) -> FkStatus {
    guard(|| {
        let src = ref_arg(src, "src")?;
        let m = ref_arg(magnitude, "magnitude")?;
        let border = border_arg(border, cval)?;
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
        dispatch(src.dtype, m.dtype, "magnitude", SobelArgs { src, border, outs })?;
        Ok(())
    })
}

/// The parameters of `fk_sobel_deriv`, named as `cv2.Sobel` names them.
#[repr(C)]
pub struct FkSobelParams {
    /// Order of the x (column) derivative.
    pub dx: u32,
    /// Order of the y (row) derivative; `dx + dy` must be at least 1.
    pub dy: u32,
    /// 1, 3, 5 or 7: OpenCV's kernel size (1: the 3-tap derivative, no smoothing). Each
    /// order must be below the kernel size (below 3 for ksize 1).
    pub ksize: u32,
    /// One of `FK_BORDER_*` except `FK_BORDER_ZERO`; `FK_BORDER_REFLECT101` is OpenCV's
    /// default.
    pub border: u32,
    /// The result is `scale * S + delta`, S the filtered value (OpenCV's 1 and 0 by default).
    pub scale: f64,
    pub delta: f64,
    /// The value outside the image for `FK_BORDER_CONSTANT` (OpenCV's is 0).
    pub cval: f64,
}

struct DerivArgs<'a> {
    src: &'a FkImage,
    d: Deriv,
    border: Border,
    out: &'a FkImageOut,
}

impl DerivArgs<'_> {
    /// # Safety
    /// The export's contract on `src` and `out`.
    unsafe fn run<P: Pixel, A: Real, O: DerivOut>(self) -> Result<()> {
        let l = image_layout::<P>(self.src, "src")?;
        let o = out_layout::<O>(self.out, "out")?;
        check_no_overlap(o.extent.clone(), l.extent.clone(), "out")?;
        // SAFETY: both buffers are valid for their layouts (the export's contract) and do
        // not overlap (checked just above).
        let (input, output) = unsafe { (make_view::<P>(&l), make_view_mut::<O>(&o)) };
        let d = self.d.as_opencv::<P, O>();
        let (input, output) = (dim::<P, Ix2>(input), dim_mut::<O, Ix2>(output));
        // u8 images filtered in f32 (the only u8 route) may take the 16-bit integer path.
        if std::any::TypeId::of::<A>() == std::any::TypeId::of::<f32>() {
            if let Some(u8s) = P::u8_view(input.view()) {
                return image::sobel_deriv_u8::<O>(u8s, d, self.border, output);
            }
        }
        image::sobel_deriv::<A, O, _>(&Gray(input), d, self.border, output)
    }

    /// Pick the output type; `P` and `A` are already chosen.
    ///
    /// # Safety
    /// As [`DerivArgs::run`].
    unsafe fn out<P: Pixel, A: Real>(self) -> Result<()> {
        // SAFETY: forwarded contract (every arm).
        unsafe {
            match self.out.dtype {
                FK_DTYPE_U8 => self.run::<P, A, u8>(),
                FK_DTYPE_U16 => self.run::<P, A, u16>(),
                FK_DTYPE_I16 => self.run::<P, A, i16>(),
                FK_DTYPE_F32 => self.run::<P, A, f32>(),
                FK_DTYPE_F64 => self.run::<P, A, f64>(),
                o => Err(dtype_err(
                    "out",
                    o,
                    "FK_DTYPE_U8, FK_DTYPE_U16, FK_DTYPE_I16, FK_DTYPE_F32 or FK_DTYPE_F64",
                )),
            }
        }
    }
}

/// `cv2.Sobel(src, ddepth, dx, dy, ksize, scale, delta, borderType)`: one derivative of
/// `src` with OpenCV's separable kernels (`cv2.getDerivKernels(dx, dy, ksize)`, applied as
/// a correlation: `out[y, x] = scale * Σ ky[j] kx[i] p[y+j-ry, x+i-rx] + delta`), into `out`
/// of the input's height and width. `src`: `FK_DTYPE_U8`, `U16`, `F32` or `F64`. `out`:
/// `FK_DTYPE_U8`, `U16`, `I16` (rounded half to even and saturated, as OpenCV's
/// `saturate_cast`), `F32` or `F64` (OpenCV's `ddepth`; any pair is accepted). u8 images are
/// filtered in 16/32-bit integers (exact sums, as OpenCV's integer path), u16 and double
/// images in double, float images in single
/// precision as OpenCV does (in double for an `F64` output); integer images are filtered exactly,
/// so the result is `scale * S + delta` computed in double and rounded once to the output
/// type: bit for bit OpenCV's whenever OpenCV's float arithmetic is exact too (scale and
/// delta integers or dyadic fractions, e.g. the defaults 1 and 0; not u16 images with ksize
/// 7, which OpenCV filters inexactly in float32). Outside pixels follow `params->border`
/// for any image size (several reflections when the kernel is larger than the image).
/// Runs in parallel; results do not depend on the thread count.
/// Errors: `NULL_POINTER` (`src`, `params`, `out` or a data pointer), `DTYPE` (unsupported
/// input or output dtype), `INVALID_ARGUMENT` (ksize not 1/3/5/7, dx + dy = 0, an order not
/// below the kernel size, unknown border or `FK_BORDER_ZERO`, empty image, shape mismatch,
/// bad stride or alignment, byte extents that overflow), `OVERLAP` (`out` overlaps `src`
/// or itself).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `src` must be NULL or point to an `FkImage` whose `data` is readable
/// at every element its shape and strides address; `params` must be NULL or point to an
/// `FkSobelParams`; `out` must be NULL or point to an `FkImageOut` whose `data` is writable at
/// every element its shape and strides address, and not otherwise accessed during the call.
#[no_mangle]
pub unsafe extern "C" fn fk_sobel_deriv(
    src: *const FkImage,
    params: *const FkSobelParams,
    out: *const FkImageOut,
) -> FkStatus {
    guard(|| {
        let src = ref_arg(src, "src")?;
        let p = ref_arg(params, "params")?;
        let out = ref_arg(out, "out")?;
        let border = border_arg(p.border, p.cval)?;
        let d = Deriv {
            dx: p.dx,
            dy: p.dy,
            ksize: p.ksize,
            scale: p.scale,
            delta: p.delta,
        };
        let a = DerivArgs { src, d, border, out };
        // u8 sums are exact in single precision (below 2^24), u16 sums need double. A
        // float32 image is filtered in float32, as OpenCV filters it (its intermediate
        // type is float32 unless the output is float64), unless the output is float64.
        match src.dtype {
            FK_DTYPE_U8 => a.out::<u8, f32>(),
            FK_DTYPE_U16 => a.out::<u16, f64>(),
            FK_DTYPE_F32 if out.dtype == FK_DTYPE_F64 => a.out::<f32, f64>(),
            FK_DTYPE_F32 => a.out::<f32, f32>(),
            FK_DTYPE_F64 => a.out::<f64, f64>(),
            s => Err(dtype_err(
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
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `src` must be NULL or point to an `FkColorImage` whose `data` is
/// readable at every element its shape and strides address; `out` must be NULL or point to an
/// `FkImageOut` whose `data` is writable at every element its shape and strides address, and
/// not otherwise accessed during the call.
#[no_mangle]
pub unsafe extern "C" fn fk_grayscale(src: *const FkColorImage, out: *const FkImageOut) -> FkStatus {
    guard(|| {
        let src = ref_arg(src, "src")?;
        let out = ref_arg(out, "out")?;
        dispatch(src.dtype, out.dtype, "out", GrayscaleArgs { src, out })?;
        Ok(())
    })
}

/// `fk_grayscale` with both images' fields passed as arguments: `src` is `src_dtype`,
/// `height` × `width` × `channels` with strides `src_row_stride`, `src_col_stride`,
/// `src_channel_stride`; `out` is `out_dtype`, `height` × `width` with strides
/// `out_row_stride`, `out_col_stride` (all as in `FkColorImage` and `FkImageOut`).
/// Exists for bindings that pay per object built for a call (Python's cffi: two structs
/// cost more than the whole conversion of a 64×64 image); the result and every error are
/// those of `fk_grayscale` (`NULL_POINTER` now naming `src` or `out` for a NULL data pointer).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `src` must be readable at every element its shape and strides
/// address; `out` must be writable at every element its shape and strides address, and not
/// otherwise accessed during the call.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fk_grayscale_strided(
    src: *const c_void,
    src_dtype: u32,
    height: usize,
    width: usize,
    channels: usize,
    src_row_stride: isize,
    src_col_stride: isize,
    src_channel_stride: isize,
    out: *mut c_void,
    out_dtype: u32,
    out_row_stride: isize,
    out_col_stride: isize,
) -> FkStatus {
    let src = FkColorImage {
        data: src,
        dtype: src_dtype,
        height,
        width,
        channels,
        row_stride: src_row_stride,
        col_stride: src_col_stride,
        channel_stride: src_channel_stride,
    };
    let out = FkImageOut {
        data: out,
        dtype: out_dtype,
        height,
        width,
        row_stride: out_row_stride,
        col_stride: out_col_stride,
    };
    // SAFETY: the two structs describe the caller's buffers, for which this export has the
    // same contract as `fk_grayscale`.
    unsafe { fk_grayscale(&src, &out) }
}

/// Sobel magnitude of the luma of `src` (as `fk_grayscale`, then `fk_sobel`) in one pass,
/// without storing the grayscale image. The luma is rounded to the working precision
/// (double when `src` or `magnitude` is `FK_DTYPE_F64`, else single) before the gradients.
/// Errors as for `fk_sobel` and `fk_grayscale`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `src` must be NULL or point to an `FkColorImage` whose `data` is
/// readable at every element its shape and strides address; `magnitude` must be NULL or point
/// to an `FkImageOut` whose `data` is writable at every element its shape and strides address,
/// and not otherwise accessed during the call.
#[no_mangle]
pub unsafe extern "C" fn fk_edges(
    src: *const FkColorImage,
    border: u32,
    magnitude: *const FkImageOut,
) -> FkStatus {
    // SAFETY: forwarded contract (the same as this export's).
    unsafe { fk_edges_cval(src, border, 0.0, magnitude) }
}

/// `fk_edges` with `cval`, the luma of the pixels outside the image for
/// `FK_BORDER_CONSTANT` (as in `fk_sobel_cval`). Errors as for `fk_edges`.
///
/// # Safety
/// As for `fk_edges`.
#[no_mangle]
pub unsafe extern "C" fn fk_edges_cval(
    src: *const FkColorImage,
    border: u32,
    cval: f64,
    magnitude: *const FkImageOut,
) -> FkStatus {
    guard(|| {
        let src = ref_arg(src, "src")?;
        let m = ref_arg(magnitude, "magnitude")?;
        let border = border_arg(border, cval)?;
        dispatch(
            src.dtype,
            m.dtype,
            "magnitude",
            EdgesArgs {
                src,
                border,
                magnitude,
            },
        )?;
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
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `data` must be readable for 8 bytes at `data + i*stride` for every i
/// < `n`; `out` must be NULL or valid for writing one `f64`.
#[no_mangle]
pub unsafe extern "C" fn fk_sum_f64(data: *const c_void, n: usize, stride: isize, out: *mut f64) -> FkStatus {
    // SAFETY: forwarded contract (the same as this export's); no callback.
    unsafe { fk_sum_f64_progress(data, n, stride, None, std::ptr::null_mut(), out) }
}

/// `fk_sum_f64`, cancellable: while the sum runs, `progress(user_data, values_done, n)` is
/// called on the calling thread about every 50 ms (never for sums that finish sooner, and
/// not at all when `progress` is NULL). A nonzero return cancels the sum: the workers stop
/// within one task of 65536 values and the call returns `FK_STATUS_CANCELLED` without
/// writing `*out`. Python uses this to stop on SIGINT. Errors as for `fk_sum_f64`, and
/// `CANCELLED`.
///
/// # Safety
/// As for `fk_sum_f64`; `progress`, when not NULL, must be safe to call with `user_data`
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn fk_sum_f64_progress(
    data: *const c_void,
    n: usize,
    stride: isize,
    progress: FkProgressFn,
    user_data: *mut c_void,
    out: *mut f64,
) -> FkStatus {
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
        let mut cb = callback(progress, user_data);
        let poll = progress.map(|_| &mut cb as &mut dyn FnMut(u64, u64) -> bool);
        *out = numeric::sum_bytes_polled(bytes, data as usize - lo, n, stride, poll)?;
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
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `coeffs` must be NULL (with a zero length) or readable for `n_coeffs`
/// elements; `x` must be readable at `x + i*x_stride` (bytes) for every i < `n`; `out` must be
/// NULL or valid for writing one `f64`.
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
        if std::ptr::eq(x, out) && x_stride == out_stride {
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
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `out` must be NULL or valid for writing one `u64`.
#[no_mangle]
pub unsafe extern "C" fn fk_count_primes(limit: u64, out: *mut u64) -> FkStatus {
    // SAFETY: forwarded contract (the same as this export's); no callback.
    unsafe { fk_count_primes_progress(limit, None, std::ptr::null_mut(), out) }
}

/// `fk_count_primes`, cancellable: while the sieve runs, `progress(user_data,
/// segments_done, segments)` is called on the calling thread about every 50 ms (not at all
/// when `progress` is NULL). A nonzero return cancels the count: every worker stops at its
/// next segment (well under a millisecond) and the call returns `FK_STATUS_CANCELLED`
/// without writing `*out`. Python uses this to stop on SIGINT. Errors as for
/// `fk_count_primes`, and `CANCELLED`.
///
/// # Safety
/// As for `fk_count_primes`; `progress`, when not NULL, must be safe to call with
/// `user_data` during the call.
#[no_mangle]
pub unsafe extern "C" fn fk_count_primes_progress(
    limit: u64,
    progress: FkProgressFn,
    user_data: *mut c_void,
    out: *mut u64,
) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let mut cb = callback(progress, user_data);
        let poll = progress.map(|_| &mut cb as &mut dyn FnMut(u64, u64) -> bool);
        *out = numeric::count_primes_polled(limit, poll)?;
        Ok(())
    })
}

/// An upper bound on the number of primes p with `lo` ≤ p < `hi` into `*out`: a capacity
/// that is always enough for `fk_primes` (about twice the actual count for large ranges;
/// 0 when `hi` ≤ `lo`). Errors: `NULL_POINTER`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `out` must be NULL or valid for writing one `u64`.
#[no_mangle]
pub unsafe extern "C" fn fk_primes_capacity(lo: u64, hi: u64, out: *mut u64) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        *out = numeric::primes_between_bound(lo, hi);
        Ok(())
    })
}

/// The primes p with `lo` ≤ p < `hi`, ascending, into `out[0..*n_out]` (`out` holds
/// `capacity` values; `fk_primes_capacity` gives a capacity that always suffices).
/// `progress` (or NULL) as for `fk_count_primes_progress`. Errors: `NULL_POINTER` (`out`
/// with a nonzero capacity, or `n_out`), `INVALID_ARGUMENT` (`hi` above
/// `FK_MAX_PRIME_LIMIT`, `hi - lo` above `FK_MAX_PRIMES_SPAN`, `capacity` smaller than the
/// number of primes: the message gives it, `out` is then unspecified), `CANCELLED`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `out` must be NULL (with a zero capacity) or writable for
/// `capacity` elements and not otherwise accessed during the call; `n_out` must be NULL or
/// valid for writing one `size_t`; `progress`, when not NULL, must be safe to call with
/// `user_data` during the call.
#[no_mangle]
pub unsafe extern "C" fn fk_primes(
    lo: u64,
    hi: u64,
    out: *mut u64,
    capacity: usize,
    n_out: *mut usize,
    progress: FkProgressFn,
    user_data: *mut c_void,
) -> FkStatus {
    guard(|| {
        let n_out = out_arg(n_out, "n_out")?;
        *n_out = 0;
        let buf: &mut [u64] = if capacity == 0 {
            &mut []
        } else {
            if out.is_null() {
                return Err(super::null_err("out").into());
            }
            if !(out as usize).is_multiple_of(std::mem::align_of::<u64>()) {
                return Err(Error::invalid("out: not aligned for uint64_t").into());
            }
            if capacity > isize::MAX as usize / 8 {
                return Err(Error::invalid("out: the capacity overflows the address space").into());
            }
            std::slice::from_raw_parts_mut(out, capacity)
        };
        let mut cb = callback(progress, user_data);
        let poll = progress.map(|_| &mut cb as &mut dyn FnMut(u64, u64) -> bool);
        *n_out = numeric::primes_between(lo, hi, buf, poll)?;
        Ok(())
    })
}
