//! Caller-owned strided arrays: validating a (pointer, shape, byte strides) triple once and
//! turning it into an ndarray view. Used by the array exports in `arrays.rs`.

use std::ffi::c_void;
use std::ops::Range;

use ndarray::{ArrayBase, ArrayView, ArrayViewMut, Axis, IxDyn, RawData, ShapeBuilder, StrideShape};

use crate::error::{Error, ErrorKind, Result};

/// A validated strided layout: the byte range it touches and the view's parameters.
pub(super) struct Layout {
    /// Lowest address touched.
    pub(super) base: usize,
    /// Bytes from the lowest to one past the highest address touched.
    pub(super) extent: Range<usize>,
    pub(super) shape: Vec<usize>,
    /// Strides in elements (absolute values) and which axes run backwards.
    pub(super) strides: Vec<usize>,
    pub(super) negative: Vec<bool>,
}

/// Validate `shape`/`strides` (bytes) at `ptr` for elements of type T.
pub(super) fn layout<T>(
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
    if !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
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
pub(super) fn check_distinct(l: &Layout, what: &str) -> Result<()> {
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

/// A read-only view of a validated layout.
///
/// # Safety
/// Every element of `l` must be an initialised `T`, valid and not written by anyone else
/// for `'a` (`layout` checked alignment, stride multiples and address overflow).
pub(super) unsafe fn make_view<'a, T>(l: &Layout) -> ArrayView<'a, T, IxDyn> {
    // SAFETY: the caller's contract; shape and strides (in elements, from `base`, the
    // lowest address) describe exactly the elements `layout` validated.
    let v = unsafe { ArrayView::from_shape_ptr(l.view_shape(), l.base as *const T) };
    l.orient(v)
}

/// A writable view of a validated layout.
///
/// # Safety
/// As [`make_view`], with exclusive access for `'a`; the elements must be distinct
/// ([`check_distinct`]).
pub(super) unsafe fn make_view_mut<'a, T>(l: &Layout) -> ArrayViewMut<'a, T, IxDyn> {
    // SAFETY: as in `make_view`, plus the caller's exclusivity contract.
    let v = unsafe { ArrayViewMut::from_shape_ptr(l.view_shape(), l.base as *mut T) };
    l.orient(v)
}

impl Layout {
    /// Shape and (non-negative) element strides of the view before `orient`.
    fn view_shape(&self) -> StrideShape<IxDyn> {
        IxDyn(&self.shape).strides(IxDyn(&self.strides))
    }

    /// Turn the axes that run backwards in memory around (the view was built from the
    /// lowest address with positive strides).
    fn orient<S: RawData>(&self, mut v: ArrayBase<S, IxDyn>) -> ArrayBase<S, IxDyn> {
        for (k, &neg) in self.negative.iter().enumerate() {
            if neg {
                v.invert_axis(Axis(k));
            }
        }
        v
    }
}

pub(super) fn dim<T, D: ndarray::Dimension>(v: ArrayView<'_, T, IxDyn>) -> ArrayView<'_, T, D> {
    v.into_dimensionality().expect("layout rank")
}
pub(super) fn dim_mut<T, D: ndarray::Dimension>(v: ArrayViewMut<'_, T, IxDyn>) -> ArrayViewMut<'_, T, D> {
    v.into_dimensionality().expect("layout rank")
}
