//! The C ABI. Thin and uniform: every export is a plain `#[no_mangle] pub extern "C" fn`
//! whose body is one call to [`guard`], which clears the thread's last error, runs the
//! closure under `catch_unwind` (no panic ever crosses into C), and turns the `Result` into
//! an [`FkStatus`] plus a last-error message. Argument conversion lives in the helpers
//! below; algorithms live in the kernel modules.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use std::ops::Range;
use std::path::PathBuf;

use crate::error::{panic_message, Error, ErrorKind, Result};
use crate::text::arrow::{Bitmap, Views};
use crate::text::{Offsets, TextBatch};
pub(crate) use handle::{free_handle, handle_kind, handle_ref, into_handle, take_handle, HandleKind};
use text::{
    FkArrowTexts, FkTexts, FK_LAYOUT_VIEWS, FK_OFFSETS_ARROW, FK_OFFSETS_CHAR_LENGTHS, FK_OFFSETS_I32,
    FK_OFFSETS_I64, FK_OFFSETS_NUL_SEPARATED, FK_OFFSETS_PY_STRS,
};

pub mod arrays;
pub mod arrow;
mod handle;
pub mod job;
pub mod pystr;
pub mod reapi;
pub mod report;
mod strided;
pub mod text;

/// ABI version: bumped on any incompatible change of an exported signature or struct.
pub const FK_ABI_VERSION: u32 = 3;

/// Status of a fallible call. `FK_STATUS_OK` is 0; on anything else
/// `fk_last_error_message()` says what was wrong.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FkStatus {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullPointer = 1,
    /// An argument is out of range or inconsistent (lengths, offsets, flags, shapes).
    InvalidArgument = 2,
    /// A text is not valid UTF-8; the message names the text and the byte.
    InvalidUtf8 = 3,
    /// The pattern does not parse.
    PatternSyntax = 4,
    /// The pattern is valid Python but cannot be matched exactly in linear time (backreferences,
    /// look-around, conditionals, ...): refused, the message names the construct.
    PatternUnsupported = 5,
    /// The compiled pattern exceeds the size limit.
    PatternTooLarge = 6,
    /// A value in the text cannot be converted (where Python's `int()` would raise).
    InvalidValue = 7,
    /// A caller-provided output buffer is too small.
    BufferTooSmall = 8,
    /// Input and output buffers overlap.
    Overlap = 9,
    /// Unsupported element type or memory layout.
    Dtype = 10,
    /// An allocation failed.
    OutOfMemory = 11,
    /// Reading a file failed.
    Io = 12,
    /// Malformed input data (truncated gzip, …).
    Data = 13,
    /// Cancelled by the caller's callback.
    Cancelled = 14,
    /// The handle is not a live object of the expected type (freed, or the wrong kind).
    InvalidHandle = 15,
    /// An internal error (a Rust panic, caught at the boundary). Please report it.
    Panic = 16,
    /// An internal failure that is not a panic at the boundary nor an allocation failure (a
    /// worker task lost, a panic caught inside a worker). Please report it.
    Internal = 17,
}

impl From<ErrorKind> for FkStatus {
    fn from(k: ErrorKind) -> FkStatus {
        match k {
            ErrorKind::NullPointer => FkStatus::NullPointer,
            ErrorKind::InvalidArgument => FkStatus::InvalidArgument,
            ErrorKind::InvalidUtf8 => FkStatus::InvalidUtf8,
            ErrorKind::PatternSyntax => FkStatus::PatternSyntax,
            ErrorKind::PatternUnsupported => FkStatus::PatternUnsupported,
            ErrorKind::PatternTooLarge => FkStatus::PatternTooLarge,
            ErrorKind::InvalidValue => FkStatus::InvalidValue,
            ErrorKind::BufferTooSmall => FkStatus::BufferTooSmall,
            ErrorKind::Overlap => FkStatus::Overlap,
            ErrorKind::Dtype => FkStatus::Dtype,
            ErrorKind::OutOfMemory => FkStatus::OutOfMemory,
            ErrorKind::Io => FkStatus::Io,
            ErrorKind::Data => FkStatus::Data,
            ErrorKind::Cancelled => FkStatus::Cancelled,
            ErrorKind::Internal => FkStatus::Internal,
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn set_last_error(msg: &str) {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        // Every call clears the message first (`guard`); when it is clear already, that
        // costs nothing (otherwise three allocations and frees on every successful call).
        if msg.is_empty() && e.as_bytes().is_empty() {
            return;
        }
        *e = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    });
}

/// The calling thread's last error message (what `fk_last_error_message` gives it).
pub(crate) fn last_error() -> String {
    LAST_ERROR.with(|e| e.borrow().to_string_lossy().into_owned())
}

/// Internal: an error for a bad handle (it is not an [`ErrorKind`] because kernels never see handles).
pub(crate) struct HandleError(pub String);

pub(crate) enum FfiError {
    Kernel(Error),
    Handle(HandleError),
    /// A status and message that another thread's call ended with (a background job's,
    /// see `job`), reported on the thread that asks for the result.
    Relay(FkStatus, String),
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        FfiError::Kernel(e)
    }
}
impl From<HandleError> for FfiError {
    fn from(e: HandleError) -> Self {
        FfiError::Handle(e)
    }
}

pub(crate) type FfiResult<T> = std::result::Result<T, FfiError>;

/// Run an export's body: clear the last error, catch panics, map errors to a status.
pub(crate) fn guard(f: impl FnOnce() -> FfiResult<()>) -> FkStatus {
    set_last_error("");
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => FkStatus::Ok,
        Ok(Err(FfiError::Kernel(e))) => {
            set_last_error(&e.message);
            e.kind.into()
        }
        Ok(Err(FfiError::Handle(HandleError(m)))) => {
            set_last_error(&m);
            FkStatus::InvalidHandle
        }
        Ok(Err(FfiError::Relay(status, m))) => {
            set_last_error(&m);
            status
        }
        Err(payload) => {
            let what = panic_message(&*payload);
            set_last_error(&format!(
                "internal error (Rust panic caught at the C boundary): {what}; please report this"
            ));
            FkStatus::Panic
        }
    }
}

// ----------------------------------------------------------------------------------------
// Argument helpers: every export converts its raw arguments through these, so each check
// (NULL, length overflow, alignment, UTF-8, overlap) is written once.
// ----------------------------------------------------------------------------------------

/// Borrow `len` elements at `ptr`. NULL is accepted only for `len == 0`.
///
/// # Safety
/// Unless NULL (or `len == 0`), `ptr` must point to `len` initialised `T`s that stay valid
/// and unmodified for `'a`. NULL, overflow and misalignment are checked here.
pub(crate) unsafe fn slice_arg<'a, T>(ptr: *const T, len: usize, what: &str) -> Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    check_ptr(ptr, len, what)?;
    // SAFETY: non-NULL, aligned, the byte length fits in isize (checked above); validity
    // for `len` elements is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Mutable version of [`slice_arg`].
///
/// # Safety
/// As [`slice_arg`], and nothing else may read or write the elements during `'a`.
pub(crate) unsafe fn slice_arg_mut<'a, T>(ptr: *mut T, len: usize, what: &str) -> Result<&'a mut [T]> {
    if len == 0 {
        return Ok(&mut []);
    }
    check_ptr(ptr, len, what)?;
    // SAFETY: as in `slice_arg`; exclusive access is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

fn check_ptr<T>(ptr: *const T, len: usize, what: &str) -> Result<()> {
    if ptr.is_null() {
        return Err(Error::new(
            ErrorKind::NullPointer,
            format!("{what} is NULL but its length is {len}"),
        ));
    }
    let bytes = len
        .checked_mul(std::mem::size_of::<T>())
        .filter(|&b| b <= isize::MAX as usize);
    if bytes.is_none_or(|b| (ptr as usize).checked_add(b).is_none()) {
        return Err(Error::invalid(format!(
            "{what}: length {len} overflows the address space"
        )));
    }
    if !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Error::invalid(format!(
            "{what} is not aligned to {} bytes (address {:p})",
            std::mem::align_of::<T>(),
            ptr
        )));
    }
    Ok(())
}

/// A UTF-8 string argument: `len` bytes at `p`, not NUL-terminated.
///
/// # Safety
/// As [`slice_arg`] for `len` bytes.
pub(crate) unsafe fn str_arg<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a str> {
    // SAFETY: forwarded contract.
    let b = unsafe { slice_arg(p, len, what) }?;
    std::str::from_utf8(b).map_err(|e| {
        Error::new(
            ErrorKind::InvalidUtf8,
            format!("{what} is not valid UTF-8 at byte {}", e.valid_up_to()),
        )
    })
}

/// A file path argument: `len` bytes at `p`, not NUL-terminated, not empty, no NUL inside
/// (any bytes on Unix, UTF-8 elsewhere).
///
/// # Safety
/// As [`slice_arg`] for `len` bytes.
pub(crate) unsafe fn path_arg(p: *const u8, len: usize) -> Result<PathBuf> {
    if p.is_null() {
        return Err(null_err("path"));
    }
    if len == 0 {
        return Err(Error::invalid("path is empty"));
    }
    // SAFETY: forwarded contract.
    let b = unsafe { slice_arg(p, len, "path") }?;
    if b.contains(&0) {
        return Err(Error::invalid("path contains a NUL byte"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(b)))
    }
    #[cfg(not(unix))]
    {
        // SAFETY: forwarded contract.
        Ok(PathBuf::from(unsafe { str_arg(p, len, "path") }?))
    }
}

/// A required input struct (`*const T` that must not be NULL).
///
/// # Safety
/// Unless NULL, `p` must point to a valid, aligned `T` that outlives `'a`.
pub(crate) unsafe fn ref_arg<'a, T>(p: *const T, what: &str) -> Result<&'a T> {
    // SAFETY: the caller's contract; NULL becomes an error.
    unsafe { p.as_ref() }.ok_or_else(|| null_err(what))
}

/// A required out-pointer, checked before any work is done (so a NULL one can never leave
/// a freshly built handle with no owner).
///
/// # Safety
/// Unless NULL, `out` must be valid for writes of a `T` and not aliased during `'a`.
pub(crate) unsafe fn out_arg<'a, T>(out: *mut T, what: &str) -> Result<&'a mut T> {
    // SAFETY: the caller's contract; NULL becomes an error.
    unsafe { out.as_mut() }
        .ok_or_else(|| Error::new(ErrorKind::NullPointer, format!("{what} (out-pointer) is NULL")))
}

pub(crate) fn null_err(what: &str) -> Error {
    Error::new(ErrorKind::NullPointer, format!("{what} is NULL"))
}

/// Byte span of a slice, for overlap checks.
pub(crate) fn span<T>(s: &[T]) -> Range<usize> {
    let a = s.as_ptr() as usize;
    a..a + std::mem::size_of_val(s)
}

pub(crate) fn check_no_overlap(out: Range<usize>, input: Range<usize>, what: &str) -> Result<()> {
    if out.start < input.end && input.start < out.end && !out.is_empty() && !input.is_empty() {
        return Err(Error::new(
            ErrorKind::Overlap,
            format!("{what}: the output buffer overlaps the input"),
        ));
    }
    Ok(())
}

/// Validate an `FkTexts` and run `f` on the batch it describes.
///
/// # Safety
/// Unless NULL, `texts` must point to a valid `FkTexts` whose buffers are valid for their
/// stated lengths (see `FkTexts`) and unmodified during the call.
pub(crate) unsafe fn with_batch<R>(
    texts: *const FkTexts,
    f: impl FnOnce(&TextBatch) -> Result<R>,
) -> Result<R> {
    // SAFETY: forwarded contract.
    unsafe { with_batch_spans(texts, |b, _| f(b)) }
}

/// [`with_batch`], also giving `f` the byte spans of the caller's data and offsets
/// buffers, for overlap checks against an output buffer.
///
/// # Safety
/// As [`with_batch`].
pub(crate) unsafe fn with_batch_spans<R>(
    texts: *const FkTexts,
    f: impl FnOnce(&TextBatch, [Range<usize>; 2]) -> Result<R>,
) -> Result<R> {
    // The caller's contract covers `texts` and the buffers it names; `slice_arg` checks
    // NULL, overflow and alignment for each offset type.
    // SAFETY: see above.
    let t = unsafe { ref_arg(texts, "texts") }?;
    // SAFETY: see above.
    let data = unsafe { slice_arg(t.data, t.data_len, "texts.data") }?;
    let first = usize::try_from(t.first_index).unwrap_or(usize::MAX);
    let n1 = t
        .n_texts
        .checked_add(1)
        .ok_or_else(|| Error::invalid(format!("texts.n_texts = {} overflows", t.n_texts)))?;
    let arrow = if t.offset_kind == FK_OFFSETS_ARROW {
        // SAFETY: see above (for FK_OFFSETS_ARROW, `offsets` points to an `FkArrowTexts`).
        Some(unsafe { ref_arg(t.offsets as *const FkArrowTexts, "texts.offsets (FkArrowTexts)") }?)
    } else {
        None
    };
    let validity = match arrow {
        Some(a) if !a.validity.is_null() => {
            let off = usize::try_from(a.validity_offset)
                .map_err(|_| Error::invalid("validity_offset overflows"))?;
            // SAFETY: see above (the bitmap covers `validity_offset + n_texts` bits).
            let bits = unsafe { slice_arg(a.validity, Bitmap::bytes_for(off, t.n_texts), "validity") }?;
            Some(Bitmap::new(bits, off, t.n_texts)?)
        }
        _ => None,
    };
    let (kind, offsets) = match arrow {
        Some(a) => (a.layout, a.offsets),
        None => (t.offset_kind, t.offsets),
    };
    let run =
        |b: TextBatch, spans: [Range<usize>; 2]| f(&b.with_first_index(first).with_validity(validity), spans);
    match kind {
        FK_OFFSETS_I32 => {
            // SAFETY: see above.
            let o = unsafe { slice_arg(offsets as *const i32, n1, "texts.offsets") }?;
            run(TextBatch::new(data, Offsets::I32(o))?, [span(data), span(o)])
        }
        FK_OFFSETS_I64 => {
            // SAFETY: see above.
            let o = unsafe { slice_arg(offsets as *const i64, n1, "texts.offsets") }?;
            run(TextBatch::new(data, Offsets::I64(o))?, [span(data), span(o)])
        }
        FK_OFFSETS_CHAR_LENGTHS if arrow.is_none() => {
            // SAFETY: see above.
            let lens = unsafe { slice_arg(t.offsets as *const u64, t.n_texts, "texts.offsets") }?;
            let offs = TextBatch::offsets_from_char_lengths(data, lens)?;
            run(TextBatch::new(data, Offsets::Usize(&offs))?, [span(data), span(lens)])
        }
        FK_OFFSETS_NUL_SEPARATED if arrow.is_none() => {
            let starts = TextBatch::separated_starts(data, t.n_texts)?;
            run(TextBatch::separated(data, &starts), [span(data), span(data)])
        }
        FK_OFFSETS_PY_STRS if arrow.is_none() => {
            // SAFETY: see above (`offsets` points to an `FkPyStrs` whose objects are as it says).
            let strs = unsafe { ref_arg(t.offsets as *const pystr::FkPyStrs, "texts.offsets (FkPyStrs)") }?;
            // SAFETY: see above.
            let (data, offs) = unsafe { pystr::utf8_of(strs, t.n_texts, first) }?;
            // The object addresses are the caller's buffer an output must not overlap.
            let start = strs.objects as usize;
            let objects = start..start.saturating_add(t.n_texts.saturating_mul(std::mem::size_of::<usize>()));
            run(TextBatch::new(&data, Offsets::Usize(&offs))?, [objects.clone(), objects])
        }
        FK_LAYOUT_VIEWS if arrow.is_some() => {
            let Some(a) = arrow else { unreachable!() };
            // SAFETY: see above (`n_texts` 16-byte views, `n_buffers` buffers and lengths).
            let views = unsafe { slice_arg(offsets as *const [u8; 16], t.n_texts, "texts.offsets") }?;
            // SAFETY: see above.
            let ptrs = unsafe { slice_arg(a.buffers, a.n_buffers, "buffers") }?;
            // SAFETY: see above.
            let lens = unsafe { slice_arg(a.buffer_lens, a.n_buffers, "buffer_lens") }?;
            let bufs = ptrs
                .iter()
                .zip(lens)
                .enumerate()
                .map(|(i, (&p, &n))| {
                    let n = usize::try_from(n)
                        .map_err(|_| Error::invalid(format!("buffer_lens[{i}] = {n} is negative")))?;
                    // SAFETY: see above (buffer i is readable for `buffer_lens[i]` bytes).
                    unsafe { slice_arg(p, n, "buffers[i]") }
                })
                .collect::<Result<Vec<&[u8]>>>()?;
            run(TextBatch::from_views(Views::new(views, &bufs)?), [span(views), span(views)])
        }
        k => Err(Error::invalid(format!(
            "texts.offset_kind (or FkArrowTexts.layout) = {k} is not one of FK_OFFSETS_I32/I64/CHAR_LENGTHS/NUL_SEPARATED/ARROW/PY_STRS (layout: I32/I64/VIEWS)"
        ))),
    }
}

// ----------------------------------------------------------------------------------------
// Library-wide exports
// ----------------------------------------------------------------------------------------

/// The library version as a NUL-terminated string (static storage; never free it).
#[no_mangle]
pub extern "C" fn fk_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// The ABI version the library was built with; compare with `FK_ABI_VERSION` from the header.
#[no_mangle]
pub extern "C" fn fk_abi_version() -> u32 {
    FK_ABI_VERSION
}

/// The message of the last failed call on this thread ("" if the last call succeeded).
/// The pointer is valid until the next `fk_` call on the same thread; copy it to keep it.
/// Thread-safe: every thread has its own message.
#[no_mangle]
pub extern "C" fn fk_last_error_message() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Set the worker-thread count for later calls (all threads of the process); 0 restores the
/// default (`FERROKERN_THREADS`, else every core). Results never depend on it.
#[no_mangle]
pub extern "C" fn fk_set_threads(n: usize) -> FkStatus {
    guard(|| Ok(crate::parallel::set_threads(n)?))
}

/// Limit the calls made from the calling thread to at most `n` worker threads (0 removes the
/// limit; other threads keep the process-wide count). For a pipeline that runs library calls
/// on one thread while another thread of the process works at the same time: `n` = cores - 1
/// leaves that thread a core of its own. Results never depend on it.
#[no_mangle]
pub extern "C" fn fk_set_local_threads(n: usize) -> FkStatus {
    guard(|| Ok(crate::parallel::set_local_threads(n)?))
}

/// The worker-thread count the next parallel call from this thread will use.
#[no_mangle]
pub extern "C" fn fk_threads() -> usize {
    crate::parallel::threads()
}

#[cfg(test)]
mod tests;
