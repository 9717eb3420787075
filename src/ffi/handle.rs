//! Opaque handles: a boxed value behind a type tag, so that a freed or foreign pointer
//! passed back is (usually) caught instead of used.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{null_err, FfiResult, HandleError};

/// What a handle pointer really points to: the tag first (offset 0, so checking the tag of
/// a pointer to any handle type reads inside its allocation), then the value. The tag is
/// checked on every use: cheap insurance against a freed or foreign pointer being passed
/// back (it catches most, it cannot catch all).
#[repr(C)]
pub(crate) struct Tagged<T> {
    tag: u64,
    inner: T,
}

/// Implemented by each opaque `Fk*` handle type (a zero-sized marker the header declares as
/// an incomplete struct) to name what it owns.
pub(crate) trait HandleKind {
    type Inner;
    const TAG: u64;
    const NAME: &'static str;
}

/// Whether `p` (not NULL) is aligned for a handle and carries `H`'s tag.
///
/// # Safety
/// `p` must be readable for 8 bytes when it is aligned (any pointer the library returned
/// as a handle, live or freed-but-not-unmapped, is).
unsafe fn has_tag<H: HandleKind>(p: *const H) -> bool {
    (p as usize).is_multiple_of(std::mem::align_of::<Tagged<H::Inner>>())
        // SAFETY: aligned (checked first) and readable (the caller's contract); the tag is
        // the first field of every `Tagged`.
        && unsafe { *(p as *const u64) } == H::TAG
}

/// Borrow what a handle owns, after checking its tag.
///
/// # Safety
/// Unless NULL, `p` must be a pointer the library returned as a handle (of any type); it
/// must not be freed during `'a`.
pub(crate) unsafe fn handle_ref<'a, H: HandleKind>(p: *const H) -> FfiResult<&'a H::Inner> {
    if p.is_null() {
        return Err(null_err(H::NAME).into());
    }
    // SAFETY: the caller's contract.
    if !unsafe { has_tag(p) } {
        return Err(HandleError(format!(
            "{} handle is not live (already freed, or not a {})",
            H::NAME,
            H::NAME
        ))
        .into());
    }
    // SAFETY: the tag says `p` came from `into_handle::<H>`, so it is a live
    // `Tagged<H::Inner>` (a freed one has its tag wiped).
    Ok(unsafe { &(*(p as *const Tagged<H::Inner>)).inner })
}

/// Box a value into a handle pointer.
pub(crate) fn into_handle<H: HandleKind>(v: H::Inner) -> *mut H {
    Box::into_raw(Box::new(Tagged {
        tag: H::TAG,
        inner: v,
    })) as *mut H
}

/// Free a handle: NULL is a no-op; the tag is wiped first so a second free is detected
/// (as far as the allocator has not reused the memory). A pointer without the tag is left
/// alone: leaking is the only safe thing to do with it.
///
/// # Safety
/// As [`handle_ref`]; no other thread may be using the handle.
pub(crate) unsafe fn free_handle<H: HandleKind>(p: *mut H) {
    // SAFETY: the caller's contract.
    if p.is_null() || !unsafe { has_tag(p) } {
        return;
    }
    // SAFETY: tagged, so it is the `Box<Tagged<H::Inner>>` that `into_handle` leaked, and
    // nobody else uses it (the caller's contract).
    let mut b = unsafe { Box::from_raw(p as *mut Tagged<H::Inner>) };
    b.tag = 0;
    // A destructor that panicked (say, one that flushes a file) must not unwind into C.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(b)));
}

/// Take what a handle owns out of it, after checking its tag, and free the handle: the
/// caller owns the value from now on (a consuming export, e.g. to Arrow).
///
/// # Safety
/// As [`free_handle`].
pub(crate) unsafe fn take_handle<H: HandleKind>(p: *mut H) -> FfiResult<Box<H::Inner>> {
    // SAFETY: the caller's contract; the tag check rejects a freed or foreign pointer.
    unsafe { handle_ref(p as *const H) }?;
    // SAFETY: tagged, so it is the `Box<Tagged<H::Inner>>` that `into_handle` leaked.
    let mut b = unsafe { Box::from_raw(p as *mut Tagged<H::Inner>) };
    b.tag = 0;
    let Tagged { inner, .. } = *b;
    Ok(Box::new(inner))
}

/// Tie an opaque handle type (written out as a plain struct, so cbindgen sees it) to what
/// it owns.
macro_rules! handle_kind {
    ($name:ident owns $inner:ty, tag $tag:expr) => {
        impl $crate::ffi::HandleKind for $name {
            type Inner = $inner;
            const TAG: u64 = $tag;
            const NAME: &'static str = stringify!($name);
        }
    };
}
pub(crate) use handle_kind;
