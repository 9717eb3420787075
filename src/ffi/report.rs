//! Exports of the streaming report: a report handle configured with extractors, fed texts,
//! files or byte ranges of files, merged, and written to / read from JSON.

use std::ffi::c_void;
use std::sync::{Mutex, MutexGuard, TryLockError};

use super::text::{FkPattern, FkTexts};
use super::{
    free_handle, guard, handle_kind, handle_ref, into_handle, out_arg, path_arg, ref_arg, slice_arg, str_arg,
    with_batch, FfiResult, FkStatus, HandleError,
};
use crate::error::{Error, Result};
use crate::report::config::{DEFAULT_CHUNK_BYTES, DEFAULT_MAX_LINE_BYTES, DEFAULT_MEMORY_BUDGET};
use crate::report::{json, state, Config, PatternMode, Report};

/// `FkReportConfig.extractors`: the built-in `extract_emails`.
pub const FK_REPORT_EMAILS: u32 = 1;
/// `FkReportConfig.extractors`: the built-in `extract_and_aggregate` (key/value sums).
pub const FK_REPORT_KV: u32 = 2;
/// `FkReportConfig.options`: the JSON summary lists every key's total and document
/// frequency (`kv.totals`, `kv.document_frequencies`), not only the top.
pub const FK_REPORT_KV_TOTALS: u32 = 1;
/// `FkReportConfig.options`: no memory limit: the per-key state never spills
/// (`memory_budget` is ignored).
pub const FK_REPORT_NO_MEMORY_LIMIT: u32 = 2;
/// `fk_report_add_pattern` mode: count each distinct match (group 1 if the pattern has
/// groups, else the whole match): `total`, `distinct`, `top`.
pub const FK_REPORT_PATTERN_FINDALL: u32 = 0;
/// `fk_report_add_pattern` mode: only count matches (`total`).
pub const FK_REPORT_PATTERN_COUNT: u32 = 1;
/// Largest `FkReportConfig.chunk_bytes` accepted (1 GiB); a larger one is
/// `FK_STATUS_INVALID_ARGUMENT` (a chunk is allocated whole, several at once).
// A literal, not the kernel's constant: cbindgen and cffi need a plain number.
pub const FK_REPORT_MAX_CHUNK_BYTES: usize = 1073741824;
const _: () = assert!(FK_REPORT_MAX_CHUNK_BYTES == crate::report::config::MAX_CHUNK_BYTES);
/// `fk_report_to_json` / `fk_report_write_json` flag: write the full state (every count,
/// not only the top), which `fk_report_from_json` needs to load the report back.
pub const FK_REPORT_JSON_FULL: u32 = 1;
/// `fk_report_to_json` / `fk_report_write_json` flag: indent the JSON.
pub const FK_REPORT_JSON_PRETTY: u32 = 2;

/// How a report reads and what it extracts. Fill it with `fk_report_config_default`, then
/// change what you need. Borrowed for the duration of `fk_report_new` only.
#[repr(C)]
pub struct FkReportConfig {
    /// Bit set of `FK_REPORT_EMAILS` and `FK_REPORT_KV` (0 is allowed with named patterns).
    pub extractors: u32,
    /// Bit set of `FK_REPORT_KV_TOTALS`, `FK_REPORT_NO_MEMORY_LIMIT`.
    pub options: u32,
    /// Entries in every `top` list of the JSON.
    pub top: usize,
    /// NULL: one document per line. Otherwise JSON lines, and the document is this string
    /// field of each line's object (UTF-8, `text_field_len` bytes, not NUL-terminated).
    pub text_field: *const u8,
    pub text_field_len: usize,
    /// Python's `sys.get_int_max_str_digits()` (0 = no limit). A document holding a longer
    /// number is counted invalid (where the reference's `int()` raises ValueError).
    pub max_digits: usize,
    /// Longest line in bytes; a longer line is counted invalid and skipped without being
    /// held in memory. 0 = the default (64 MiB).
    pub max_line_bytes: usize,
    /// Bytes per processing chunk, 256 to `FK_REPORT_MAX_CHUNK_BYTES` (1 GiB), else
    /// `FK_STATUS_INVALID_ARGUMENT`; 0 = the default (2 MiB). Memory is about
    /// `(3 × threads + 2) × chunk_bytes` plus the aggregate state. Never changes a result.
    pub chunk_bytes: usize,
    /// Bytes of memory the report aims to stay under; past it the per-key state (kv keys,
    /// emails, pattern matches) spills, partitioned by hash, to a file in `spill_dir`
    /// and is merged back exactly when the report is written. 0 = the default (200 MiB:
    /// a whole run stays under 300 MB of RSS); the option `FK_REPORT_NO_MEMORY_LIMIT`:
    /// never spill.
    /// Never changes a result.
    pub memory_budget: usize,
    /// Directory of the spill file (UTF-8 or raw bytes, `spill_dir_len` bytes); NULL:
    /// `TMPDIR`, else /tmp. The file has no name (it vanishes when the report is freed,
    /// when a feed fails or is cancelled, and when the process dies).
    pub spill_dir: *const u8,
    pub spill_dir_len: usize,
}

/// Called on the feeding thread after each chunk of a file is merged (never per document)
/// with the bytes of the file (of the range, for a byte range; compressed bytes for gzip)
/// done so far and the total. Return 0 to go on, anything else to cancel the feed
/// (`FK_STATUS_CANCELLED`). Any other `fk_report_` call on the same report from here fails
/// with "busy", except `fk_report_free`, which is deferred: the report is freed when the
/// feed returns (its result is then of no use to anyone).
pub type FkProgressFn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, bytes_done: u64, bytes_total: u64) -> i32>;

/// `fk_report_feed_file_range`'s `end` meaning "to the end of the file" (`UINT64_MAX`).
pub const FK_RANGE_TO_END: u64 = 0xFFFF_FFFF_FFFF_FFFF;
const _: () = assert!(FK_RANGE_TO_END == crate::report::reader::RANGE_TO_END);

/// A streaming report. Not safe to use from two threads at once: a call made while
/// another call is using the report fails with `FK_STATUS_INVALID_ARGUMENT` ("busy")
/// instead of waiting. Free with `fk_report_free` (safe at any time, see there).
pub struct FkReport {
    _opaque: [u8; 0],
}
/// An owned byte buffer (a report's JSON). Read it with `fk_bytes_data`; free with
/// `fk_bytes_free`. Read-only after creation: read it from any number of threads.
pub struct FkBytes {
    _opaque: [u8; 0],
}
handle_kind!(FkReport owns Mutex<Report>, tag 0x4b46_5245_504f_5254);
handle_kind!(FkBytes owns Vec<u8>, tag 0x4b46_4259_5445_5300);

/// Lock a report without waiting (see `FkReport`).
fn lock(m: &Mutex<Report>) -> FfiResult<MutexGuard<'_, Report>> {
    match m.try_lock() {
        Ok(g) => Ok(g),
        Err(TryLockError::WouldBlock) => Err(Error::invalid(
            "the report is busy: another call is using it (a report must not be used from two threads at once, \
             nor from its own progress callback)",
        )
        .into()),
        Err(TryLockError::Poisoned(_)) => {
            Err(HandleError("the report is unusable: an internal error interrupted an earlier call on it".into()).into())
        }
    }
}

/// The Rust side of an `FkProgressFn` (also used by the long array kernels).
pub(super) fn callback(cb: FkProgressFn, user_data: *mut c_void) -> impl FnMut(u64, u64) -> bool {
    move |done, total| match cb {
        Some(f) => {
            // SAFETY: the caller promised a valid function for the duration of the feed.
            let go_on = unsafe { f(user_data, done, total) == 0 };
            // An fk_ call made inside the callback may have set this thread's message; the
            // feed itself has not failed (yet).
            super::set_last_error("");
            go_on
        }
        None => true,
    }
}

/// Fill `*out` with the defaults: both built-in extractors, top 20, no kv totals, plain
/// lines, `max_digits` 4300 (Python's default), default line limit and chunk size.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `out` must be NULL or valid for writing one `FkReportConfig`.
#[no_mangle]
pub unsafe extern "C" fn fk_report_config_default(out: *mut FkReportConfig) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let d = Config::default();
        *out = FkReportConfig {
            extractors: FK_REPORT_EMAILS | FK_REPORT_KV,
            options: 0,
            top: d.top,
            text_field: std::ptr::null(),
            text_field_len: 0,
            max_digits: d.max_digits,
            max_line_bytes: 0,
            chunk_bytes: 0,
            memory_budget: 0,
            spill_dir: std::ptr::null(),
            spill_dir_len: 0,
        };
        Ok(())
    })
}

/// Create an empty report into `*out`. Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (unknown
/// extractor or option bits, chunk size below 256, empty text field), `INVALID_UTF8` (text
/// field). Free with `fk_report_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `config` must be NULL or point to an `FkReportConfig` (its
/// `text_field` readable for `text_field_len` bytes); `out` must be NULL or valid for writing
/// one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_report_new(config: *const FkReportConfig, out: *mut *mut FkReport) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let c = ref_arg(config, "config")?;
        if c.extractors & !(FK_REPORT_EMAILS | FK_REPORT_KV) != 0 {
            return Err(Error::invalid(format!("unknown extractor bits {:#x}", c.extractors)).into());
        }
        if c.options & !(FK_REPORT_KV_TOTALS | FK_REPORT_NO_MEMORY_LIMIT) != 0 {
            return Err(Error::invalid(format!("unknown report options {:#x}", c.options)).into());
        }
        let text_field = if c.text_field.is_null() {
            None
        } else {
            Some(str_arg(c.text_field, c.text_field_len, "text_field")?.to_string())
        };
        let cfg = Config {
            emails: c.extractors & FK_REPORT_EMAILS != 0,
            kv: c.extractors & FK_REPORT_KV != 0,
            patterns: Vec::new(),
            text_field,
            top: c.top,
            kv_totals: c.options & FK_REPORT_KV_TOTALS != 0,
            max_digits: c.max_digits,
            max_line_bytes: if c.max_line_bytes == 0 {
                DEFAULT_MAX_LINE_BYTES
            } else {
                c.max_line_bytes
            },
            chunk_bytes: if c.chunk_bytes == 0 {
                DEFAULT_CHUNK_BYTES
            } else {
                c.chunk_bytes
            },
            memory_budget: match c.memory_budget {
                _ if c.options & FK_REPORT_NO_MEMORY_LIMIT != 0 => 0,
                0 => DEFAULT_MEMORY_BUDGET,
                b => b,
            },
            spill_dir: if c.spill_dir.is_null() {
                None
            } else {
                Some(path_arg(c.spill_dir, c.spill_dir_len)?)
            },
        };
        *out = into_handle::<FkReport>(Mutex::new(Report::new(cfg)?));
        Ok(())
    })
}

/// Free a report (flushing its per-document output, if any; use
/// `fk_report_set_per_doc(report, NULL, 0)` first to learn of a write error). NULL is a no-op.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `report` may be any value: NULL, a freed handle and a pointer
/// this library did not return are no-ops. A handle that a running call is using (from another
/// thread, or from this call's progress callback) is freed when that call returns; calls made
/// after this one fail with `FK_STATUS_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn fk_report_free(report: *mut FkReport) {
    free_handle(report);
}

/// Add a named user pattern (`name`: UTF-8, `name_len` bytes, unique, not empty) in mode
/// `FK_REPORT_PATTERN_FINDALL` or `FK_REPORT_PATTERN_COUNT`. The report keeps its own
/// reference to the compiled pattern: `pattern` may be freed afterwards. Only before the
/// first feed (`INVALID_ARGUMENT` after).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `report` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `name` must be NULL (with
/// a zero length) or readable for `name_len` bytes; `pattern` must be NULL or a live handle
/// from this library (NULL is an error, a freed or foreign one is
/// FK_STATUS_INVALID_HANDLE).
#[no_mangle]
pub unsafe extern "C" fn fk_report_add_pattern(
    report: *mut FkReport,
    name: *const u8,
    name_len: usize,
    pattern: *const FkPattern,
    mode: u32,
) -> FkStatus {
    guard(|| {
        let r = handle_ref(report)?;
        let p = handle_ref(pattern)?;
        let name = str_arg(name, name_len, "name")?;
        let mode = match mode {
            FK_REPORT_PATTERN_FINDALL => PatternMode::Findall,
            FK_REPORT_PATTERN_COUNT => PatternMode::Count,
            m => return Err(Error::invalid(format!("unknown pattern mode {m}")).into()),
        };
        lock(&r)?.add_pattern(name, p.clone(), mode)?;
        Ok(())
    })
}

/// Write one JSON line per document fed from now on, in input order, to the file at
/// `path` (`path_len` bytes, not NUL-terminated). The lines go to a temporary file in
/// `path`'s directory that replaces `path` when the output is closed (`path` NULL, or
/// `fk_report_free` of a complete report); a report that is incomplete when freed discards
/// it, so a failed run never leaves a partial file at `path`. A `path` that is a file the
/// report has read is `INVALID_ARGUMENT`, and so is feeding the file that is the open
/// per-document output (compared by device and inode), before anything is read or written:
/// `{"kv": {...}, "emails": [...], "patterns": {...}}` with the extractors the report runs
/// (each exactly what `extract_and_aggregate` / `extract_emails` / `re.findall` give for
/// that document), or `{"invalid": "reason"}`. `path` NULL: flush and close the current
/// output (reports a write error as `IO`).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `report` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `path` must be NULL (with
/// a zero length) or readable for `path_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn fk_report_set_per_doc(
    report: *mut FkReport,
    path: *const u8,
    path_len: usize,
) -> FkStatus {
    guard(|| {
        let r = handle_ref(report)?;
        let p = if path.is_null() {
            None
        } else {
            Some(path_arg(path, path_len)?)
        };
        lock(&r)?.set_per_doc(p.as_deref())?;
        Ok(())
    })
}

/// Feed every text of `texts` as one document (parsed as one JSON line when the report
/// reads JSON lines). Call it as often as needed: the buffers are only read during the
/// call. A text that is not valid UTF-8 or not a valid JSON line is counted invalid (its
/// sample names its index among all texts fed), not an error. Errors: `NULL_POINTER`,
/// `INVALID_ARGUMENT` (bad offsets), `IO` (writing the per-document output).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `report` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `texts` must be NULL or
/// point to an `FkTexts` whose `data` and `offsets` are readable for the lengths it states.
#[no_mangle]
pub unsafe extern "C" fn fk_report_feed_texts(report: *mut FkReport, texts: *const FkTexts) -> FkStatus {
    guard(|| {
        let r = handle_ref(report)?;
        let mut g = lock(&r)?;
        with_batch(texts, |b| g.feed_texts(b))?;
        Ok(())
    })
}

/// Count `n` null values (rows of an Arrow or Parquet column with no text) as invalid
/// documents, reason "null value (no text)", numbered as the next `n` texts (they take
/// their place among the texts fed, so later invalid samples keep the caller's row index).
/// With per-document output each is an `{"invalid": ...}` line. Errors: `NULL_POINTER`,
/// `IO` (writing the per-document output).
///
/// # Safety
/// None beyond the type system: `report` may be any pointer value (NULL is an error, a freed
/// or foreign one is FK_STATUS_INVALID_HANDLE).
#[no_mangle]
pub unsafe extern "C" fn fk_report_feed_nulls(report: *mut FkReport, n: u64) -> FkStatus {
    guard(|| {
        let r = handle_ref(report)?;
        lock(&r)?.feed_nulls(n)?;
        Ok(())
    })
}

/// Feed the file at `path` (`path_len` bytes, not NUL-terminated), one document per line
/// ('\n'; a '\r' before it is dropped), gzip-decompressed when it starts with the gzip
/// magic bytes. `progress` may be NULL. Errors: `IO` (cannot open/read, naming the file
/// and the OS error as "(os error N)"; the file shrank while being read), `DATA`
/// (truncated or corrupt gzip, with the compressed byte offset), `CANCELLED`. On any error
/// the report keeps what was merged before it but is marked incomplete (`"complete":
/// false` and the message in `"errors"` of its JSON).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `report` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `path` must be NULL (with
/// a zero length) or readable for `path_len` bytes; `progress`, if not NULL, must be safe to
/// call with `user_data` from the calling thread during the call.
#[no_mangle]
pub unsafe extern "C" fn fk_report_feed_file(
    report: *mut FkReport,
    path: *const u8,
    path_len: usize,
    progress: FkProgressFn,
    user_data: *mut c_void,
) -> FkStatus {
    guard(|| {
        let r = handle_ref(report)?;
        let path = path_arg(path, path_len)?;
        let mut cb = callback(progress, user_data);
        lock(&r)?.feed_file(&path, None, &mut cb)?;
        Ok(())
    })
}

/// Feed the lines of `path` that start in the byte range `[start, end)` (`end` =
/// `FK_RANGE_TO_END` reads to the end of the file; a `start` or any other `end` past the end
/// of the file is `FK_STATUS_IO` and marks the report incomplete: the file is shorter than
/// planned, it shrank since the range was computed), like a Hadoop input split: a range starting inside a line leaves that
/// line to the range before, and the last line is read to its end past `end`. Ranges that
/// partition a file therefore see each line exactly once, and merging their reports in
/// range order gives the whole file's report. A gzip file cannot be split: its only
/// accepted range is the whole file (`INVALID_ARGUMENT` otherwise). Otherwise as
/// `fk_report_feed_file`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `report` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `path` must be NULL (with
/// a zero length) or readable for `path_len` bytes; `progress`, if not NULL, must be safe to
/// call with `user_data` from the calling thread during the call.
#[no_mangle]
pub unsafe extern "C" fn fk_report_feed_file_range(
    report: *mut FkReport,
    path: *const u8,
    path_len: usize,
    start: u64,
    end: u64,
    progress: FkProgressFn,
    user_data: *mut c_void,
) -> FkStatus {
    guard(|| {
        let r = handle_ref(report)?;
        let path = path_arg(path, path_len)?;
        let mut cb = callback(progress, user_data);
        lock(&r)?.feed_file(&path, Some((start, end)), &mut cb)?;
        Ok(())
    })
}

/// Add `src` (unchanged) into `dst`, as if `dst` had also been fed `src`'s input after its
/// own. Merging partial reports in input order gives the report of the whole input. Both
/// must extract the same things from the same kind of lines (`INVALID_ARGUMENT`
/// otherwise, and for `dst == src`); `dst` keeps its `top` and options. A counter that
/// would pass 2^64 - 1 is `INVALID_ARGUMENT` and leaves `dst` unchanged (never a wrap).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `dst` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `src` must be NULL or a
/// live handle from this library (NULL is an error, a freed or foreign one is
/// FK_STATUS_INVALID_HANDLE).
#[no_mangle]
pub unsafe extern "C" fn fk_report_merge(dst: *mut FkReport, src: *const FkReport) -> FkStatus {
    guard(|| {
        let d = handle_ref(dst)?;
        let s = handle_ref(src)?;
        if std::ptr::eq(&*d, &*s) {
            return Err(Error::invalid("cannot merge a report into itself").into());
        }
        let mut dg = lock(&d)?;
        let sg = lock(&s)?;
        dg.merge(&sg)?;
        Ok(())
    })
}

/// The report as JSON (UTF-8) into `*out`. `flags`: bit set of `FK_REPORT_JSON_FULL`
/// (every count, loadable by `fk_report_from_json`) and `FK_REPORT_JSON_PRETTY`. The schema
/// is in docs/report.md. Free with `fk_bytes_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `report` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `out` must be NULL or
/// valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_report_to_json(
    report: *const FkReport,
    flags: u32,
    out: *mut *mut FkBytes,
) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let r = handle_ref(report)?;
        let (full, pretty) = json_flags(flags)?;
        let mut buf = Vec::new();
        json::write_report(&*lock(&r)?, &mut buf, full, pretty)?;
        *out = into_handle::<FkBytes>(buf);
        Ok(())
    })
}

/// Write the report as JSON to the file at `path`, atomically: to a temporary file in the
/// same directory, renamed over `path` only when complete, so a failed write (a full disk)
/// leaves what was at `path` intact. `flags` as for `fk_report_to_json`. Errors: `IO`
/// naming the file; `INVALID_ARGUMENT` when `path` is a file the report has read (same
/// device and inode, whatever its name).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `report` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `path` must be NULL (with
/// a zero length) or readable for `path_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn fk_report_write_json(
    report: *const FkReport,
    flags: u32,
    path: *const u8,
    path_len: usize,
) -> FkStatus {
    guard(|| {
        let r = handle_ref(report)?;
        let (full, pretty) = json_flags(flags)?;
        let path = path_arg(path, path_len)?;
        json::write_report_file(&*lock(&r)?, &path, full, pretty)?;
        Ok(())
    })
}

fn json_flags(flags: u32) -> Result<(bool, bool)> {
    if flags & !(FK_REPORT_JSON_FULL | FK_REPORT_JSON_PRETTY) != 0 {
        return Err(Error::invalid(format!("unknown JSON flags {flags:#x}")));
    }
    Ok((
        flags & FK_REPORT_JSON_FULL != 0,
        flags & FK_REPORT_JSON_PRETTY != 0,
    ))
}

/// Load a report from JSON written with `FK_REPORT_JSON_FULL` (`len` bytes at `data`) into
/// `*out`, ready to be merged or fed more input. Errors: `INVALID_ARGUMENT` (not JSON, not
/// a full report of a version this library reads, inconsistent), pattern errors if a
/// pattern no longer compiles. Free with `fk_report_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `data` must be NULL (with a zero length) or readable for `len` bytes;
/// `out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_report_from_json(
    data: *const u8,
    len: usize,
    out: *mut *mut FkReport,
) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let d = slice_arg(data, len, "data")?;
        let r = json::read_report(d)?;
        *out = into_handle::<FkReport>(Mutex::new(r));
        Ok(())
    })
}

/// The report's compact binary state into `*out`: every count, like the full JSON, but
/// front-coded, LZ4-compressed and checksummed (a fraction of the JSON's size, and no
/// numbers to parse), for moving partial reports between processes of the same library
/// version (`fk_report_from_state`). JSON stays the format to keep or exchange. Free with
/// `fk_bytes_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `report` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `out` must be NULL or
/// valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_report_to_state(report: *const FkReport, out: *mut *mut FkBytes) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let r = handle_ref(report)?;
        let buf = state::write_state(&*lock(&r)?)?;
        *out = into_handle::<FkBytes>(buf);
        Ok(())
    })
}

/// Load a report from the bytes `fk_report_to_state` wrote (`len` bytes at `data`) into
/// `*out`. A state that is truncated, corrupt (checksum), of another state version, or
/// inconsistent is `INVALID_ARGUMENT` with a message saying what is wrong, never a report
/// with less in it. Free with `fk_report_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `data` must be NULL (with a zero length) or readable for `len` bytes;
/// `out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_report_from_state(
    data: *const u8,
    len: usize,
    out: *mut *mut FkReport,
) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let d = slice_arg(data, len, "data")?;
        let r = state::read_state(d)?;
        *out = into_handle::<FkReport>(Mutex::new(r));
        Ok(())
    })
}

/// Add the report whose `fk_report_to_state` bytes are the `len` bytes at `data` into
/// `dst`, as `fk_report_from_state` then `fk_report_merge` would, without building the
/// second report: the state is checked whole first, then its maps are decoded into `dst`'s
/// while they fit `dst`'s memory budget and otherwise written, still sorted and encoded,
/// to `dst`'s spill file (how Dask merges partial reports). A truncated, corrupt or
/// inconsistent state, a mismatched config or a counter that would overflow is
/// `INVALID_ARGUMENT` and leaves `dst` unchanged; so does a failed spill write (`IO`).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `dst` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `data` must be NULL (with a
/// zero length) or readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn fk_report_merge_state(dst: *mut FkReport, data: *const u8, len: usize) -> FkStatus {
    guard(|| {
        let d = handle_ref(dst)?;
        let bytes = slice_arg(data, len, "data")?;
        lock(&d)?.merge_state(bytes)?;
        Ok(())
    })
}

/// How much of the report's per-key state went to disk because of its memory budget:
/// `*bytes` written to its spill file (front-coded) and `*spills` (times the state was
/// written out). Both 0 when it stayed in memory. Either pointer may be NULL.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `report` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `bytes` and `spills`
/// must each be NULL or valid for writing one `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn fk_report_spill_stats(
    report: *const FkReport,
    bytes: *mut u64,
    spills: *mut u64,
) -> FkStatus {
    guard(|| {
        let r = handle_ref(report)?;
        let (b, n) = lock(&r)?.spill_stats();
        if !bytes.is_null() {
            *out_arg(bytes, "bytes")? = b;
        }
        if !spills.is_null() {
            *out_arg(spills, "spills")? = n;
        }
        Ok(())
    })
}

/// Point `*data` / `*len` at the buffer's bytes (valid until `fk_bytes_free`).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `bytes` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `data` must be NULL or
/// valid for writing one pointer; `len` must be NULL or valid for writing one `usize`.
#[no_mangle]
pub unsafe extern "C" fn fk_bytes_data(
    bytes: *const FkBytes,
    data: *mut *const u8,
    len: *mut usize,
) -> FkStatus {
    guard(|| {
        let data = out_arg(data, "data")?;
        let len = out_arg(len, "len")?;
        let b = handle_ref(bytes)?;
        *data = b.as_ptr();
        *len = b.len();
        Ok(())
    })
}

/// Free a byte buffer. NULL is a no-op.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `bytes` may be any value: NULL, a freed handle and a pointer
/// this library did not return are no-ops. A handle that a running call is using (from another
/// thread, or from this call's progress callback) is freed when that call returns; calls made
/// after this one fail with `FK_STATUS_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn fk_bytes_free(bytes: *mut FkBytes) {
    free_handle(bytes);
}
