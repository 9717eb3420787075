//! Text exports: batches in (Arrow string layout), pattern handles, flat result handles out.

use std::ffi::c_void;

use super::{
    check_no_overlap, free_handle, guard, handle_kind, handle_ref, into_handle, out_arg, slice_arg,
    slice_arg_mut, span, str_arg, with_batch, with_batch_spans, FfiResult, FkStatus,
};
use crate::error::{Error, ErrorKind};
use crate::text::{self, Frequencies, KeySums, Matches, Pattern};

/// `FkTexts.offset_kind`: `offsets` points to `n_texts + 1` `int32_t` (Arrow `utf8`).
pub const FK_OFFSETS_I32: u32 = 0;
/// `FkTexts.offset_kind`: `offsets` points to `n_texts + 1` `int64_t` (Arrow `large_utf8`).
pub const FK_OFFSETS_I64: u32 = 1;
/// `FkTexts.offset_kind`: `offsets` points to `n_texts` `uint64_t` lengths in Unicode code
/// points (Python's `len(str)`) of texts stored back to back from `data[0]`.
pub const FK_OFFSETS_CHAR_LENGTHS: u32 = 2;
/// `FkTexts.offset_kind`: `data` holds the texts back to back with one NUL byte between
/// neighbours (`n_texts - 1` NULs, none inside a text); `offsets` is not read (may be NULL).
/// A binding makes it with one `"\0".join(texts)` and one encode, no per-text step; a
/// text that holds NUL makes the NUL count differ and the call fail with `INVALID_VALUE`
/// (then pass lengths instead). The library copies the texts out of the separators.
pub const FK_OFFSETS_NUL_SEPARATED: u32 = 4;
/// `FkTexts.offset_kind`: the texts are CPython `str` objects, read in place: `offsets`
/// points to an `FkPyStrs` (their addresses and the layout of a str); `data`/`data_len` are
/// not read. An object the library does not read (not exactly a compact `str`, or holding
/// a lone surrogate) fails the call with `INVALID_VALUE` naming it: the binding then passes
/// those texts as UTF-8 itself. Every object must stay alive and unchanged until the call
/// (or the job) has ended.
pub const FK_OFFSETS_PY_STRS: u32 = 5;
/// `FkTexts.offset_kind`: an Arrow array (see `FkArrowTexts`): `offsets` points to an
/// `FkArrowTexts`, which says how the texts are laid out, whether some are null and, for
/// `FK_OFFSETS_I32`/`FK_OFFSETS_I64`, `data`/`data_len` are the string data as usual.
/// `fk_texts_from_arrow` fills both from the C Data Interface structs.
pub const FK_OFFSETS_ARROW: u32 = 3;
/// `FkArrowTexts.layout`: the Arrow string-view layout (`string_view`, polars' strings).
pub const FK_LAYOUT_VIEWS: u32 = 3;

/// The Arrow side of an `FkTexts` whose `offset_kind` is `FK_OFFSETS_ARROW` (a separate
/// struct, so `FkTexts` keeps its layout for every existing binding).
#[repr(C)]
pub struct FkArrowTexts {
    /// `FK_OFFSETS_I32` or `FK_OFFSETS_I64` (`offsets` is `n_texts + 1` offsets into the
    /// `FkTexts`' `data`), or `FK_LAYOUT_VIEWS`: `offsets` is `n_texts` 16-byte views
    /// (`int32_t` length, then the string itself if it is at most 12 bytes, else a 4-byte
    /// prefix, `int32_t` buffer index and `int32_t` offset into `buffers[index]`, which holds
    /// `buffer_lens[index]` bytes).
    pub layout: u32,
    pub offsets: *const c_void,
    /// Validity bitmap: bit `validity_offset + i` (LSB first) is 0 when text i is null; a
    /// null text reads as empty and Arrow outputs give null for it. Readable for
    /// `(validity_offset + n_texts + 7) / 8` bytes; NULL = no nulls.
    pub validity: *const u8,
    pub validity_offset: u64,
    /// `FK_LAYOUT_VIEWS` only: the variadic data buffers and their lengths in bytes.
    pub buffers: *const *const u8,
    pub buffer_lens: *const i64,
    pub n_buffers: usize,
}

/// `fk_pattern_new` flag: case-insensitive matching (`re.IGNORECASE`).
pub const FK_PATTERN_IGNORE_CASE: u32 = 1;
/// `fk_pattern_new` flag: `^`/`$` at every line (`re.MULTILINE`).
pub const FK_PATTERN_MULTILINE: u32 = 2;
/// `fk_pattern_new` flag: `.` matches a newline too (`re.DOTALL`).
pub const FK_PATTERN_DOTALL: u32 = 4;
/// `fk_pattern_new` flag: verbose pattern syntax (`re.VERBOSE`).
pub const FK_PATTERN_VERBOSE: u32 = 8;
/// `fk_pattern_new` flag: ASCII-only `\w \d \s \b` and case rules (`re.ASCII`).
pub const FK_PATTERN_ASCII: u32 = 16;
/// `fk_findall` option: lowercase every result string (Unicode default lowercasing).
pub const FK_FINDALL_LOWERCASE: u32 = 1;

/// A batch of texts: one UTF-8 buffer and offsets, borrowed for the duration of a call.
/// Text i is `data[offsets[i] .. offsets[i+1]]`; offsets must be non-negative,
/// non-decreasing and at most `data_len`. `data` may be NULL when `data_len` is 0.
#[repr(C)]
pub struct FkTexts {
    pub data: *const u8,
    pub data_len: usize,
    /// `int32_t*`, `int64_t*` or `uint64_t*` according to `offset_kind`.
    pub offsets: *const c_void,
    pub n_texts: usize,
    /// One of `FK_OFFSETS_I32`, `FK_OFFSETS_I64`, `FK_OFFSETS_CHAR_LENGTHS`,
    /// `FK_OFFSETS_NUL_SEPARATED`, `FK_OFFSETS_ARROW`, `FK_OFFSETS_PY_STRS`.
    pub offset_kind: u32,
    /// The caller's number for text 0, used only in error messages ("text 5 is not valid
    /// UTF-8"), for a batch that is a slice of a longer list. 0 when zero-initialised.
    pub first_index: u64,
}

/// Read-only view of an `FkMatches`, valid until `fk_matches_free`.
/// Match j of text i is for j in `text_offsets[i] .. text_offsets[i+1]`; its fields are
/// strings `j*fields_per_match .. (j+1)*fields_per_match`; string k is
/// `data[field_offsets[k] .. field_offsets[k+1]]` (UTF-8, not NUL-terminated).
#[repr(C)]
pub struct FkMatchesView {
    pub data: *const u8,
    pub data_len: usize,
    /// `n_fields + 1` entries.
    pub field_offsets: *const u64,
    pub n_fields: usize,
    /// 1 for a pattern without groups, else the number of groups.
    pub fields_per_match: usize,
    /// `n_texts + 1` entries, counted in matches.
    pub text_offsets: *const u64,
    pub n_texts: usize,
}

/// Read-only view of an `FkKeySums`, valid until `fk_key_sums_free`.
/// Entry e of text i for e in `text_offsets[i] .. text_offsets[i+1]`, keys in first-seen
/// order; key e is `keys[key_offsets[e] .. key_offsets[e+1]]`.
///
/// BIG SUMS: `values[e]` is the sum only when it fits in int64. A larger sum (any size)
/// has `values[e] == 0` and its exact decimal text elsewhere: e is listed in `big_index`
/// (ascending), at position b, and the text (optional '-') is string b of
/// `big_data`/`big_offsets`. A reader that ignores `big_index` prints 0 for such a key.
/// `fk_key_sums_big_value` answers "is entry e big, and what is its text" in one call; or
/// walk `big_index` alongside e (both ascend).
#[repr(C)]
pub struct FkKeySumsView {
    pub keys: *const u8,
    pub keys_len: usize,
    /// `n_entries + 1` entries.
    pub key_offsets: *const u64,
    /// The sum of entry e if it fits in int64; 0 for a big sum (see `big_index`).
    pub values: *const i64,
    pub n_entries: usize,
    /// Entries whose sum does not fit in int64 (ascending); their `values[e]` is 0.
    pub big_index: *const u64,
    pub n_big: usize,
    pub big_data: *const u8,
    pub big_data_len: usize,
    /// `n_big + 1` entries.
    pub big_offsets: *const u64,
    /// `n_texts + 1` entries, counted in entries.
    pub text_offsets: *const u64,
    pub n_texts: usize,
}

/// Read-only view of an `FkFrequencies`, valid until `fk_frequencies_free`. Item i is
/// `data[offsets[i] .. offsets[i+1]]` seen `counts[i]` times; sorted by count descending,
/// ties by code point order ascending.
#[repr(C)]
pub struct FkFrequenciesView {
    pub data: *const u8,
    pub data_len: usize,
    /// `n_items + 1` entries.
    pub offsets: *const u64,
    pub counts: *const u64,
    pub n_items: usize,
}

/// A compiled pattern. Immutable: share it freely between threads; free it once.
pub struct FkPattern {
    _opaque: [u8; 0],
}
/// Per-text findall results (see `FkMatchesView`). Read-only after creation: read it from any
/// number of threads; free it once.
pub struct FkMatches {
    _opaque: [u8; 0],
}
/// Per-text key → sum results (see `FkKeySumsView`). Read-only after creation: read it from any
/// number of threads; free it once.
pub struct FkKeySums {
    _opaque: [u8; 0],
}
/// Batch-wide counts (see `FkFrequenciesView`). Read-only after creation: read it from any
/// number of threads; free it once.
pub struct FkFrequencies {
    _opaque: [u8; 0],
}
handle_kind!(FkPattern owns Pattern, tag 0x4b46_5041_5454_4552);
handle_kind!(FkMatches owns Matches, tag 0x4b46_4d41_5443_4845);
handle_kind!(FkKeySums owns KeySums, tag 0x4b46_4b45_5953_554d);
handle_kind!(FkFrequencies owns Frequencies, tag 0x4b46_4652_4551_5300);

/// Compile `pattern` (UTF-8, `len` bytes, not NUL-terminated) into `*out`.
/// `flags`: `FK_PATTERN_*` bits, Python's `re.I`, `re.M`, `re.S`, `re.X`, `re.A`. Syntax and
/// matching are Python's `re` (3.11) exactly; a pattern whose meaning cannot be matched
/// exactly in linear time is refused. Errors: `PATTERN_SYNTAX` (Python raises `re.error`),
/// `PATTERN_UNSUPPORTED` (backreferences, look-around, conditionals, some possessive and
/// atomic forms, repeats of sub-patterns that can match empty; the message names the
/// construct and its position), `PATTERN_TOO_LARGE`, `INVALID_UTF8`. Free with `fk_pattern_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `pattern` must be NULL (with a zero length) or readable for `len`
/// bytes; `out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_pattern_new(
    pattern: *const u8,
    len: usize,
    flags: u32,
    out: *mut *mut FkPattern,
) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let src = str_arg(pattern, len, "pattern")?;
        let known = [
            (FK_PATTERN_IGNORE_CASE, 2), // re.I
            (FK_PATTERN_MULTILINE, 8),   // re.M
            (FK_PATTERN_DOTALL, 16),     // re.S
            (FK_PATTERN_VERBOSE, 64),    // re.X
            (FK_PATTERN_ASCII, 256),     // re.A
        ];
        let all = known.iter().fold(0, |a, &(f, _)| a | f);
        if flags & !all != 0 {
            return Err(Error::invalid(format!("unknown pattern flags {flags:#x}")).into());
        }
        let re_flags = known
            .iter()
            .filter(|&&(f, _)| flags & f != 0)
            .fold(0, |a, &(_, r)| a | r);
        let p = Pattern::with_flags(src, re_flags)?;
        *out = into_handle(p);
        Ok(())
    })
}

/// Free a pattern. NULL is a no-op.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `pattern` may be any value: NULL, a freed handle and a pointer
/// this library did not return are no-ops. A handle that a running call is using (from another
/// thread, or from this call's progress callback) is freed when that call returns; calls made
/// after this one fail with `FK_STATUS_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn fk_pattern_free(pattern: *mut FkPattern) {
    free_handle(pattern);
}

/// Number of capture groups of `pattern` (group 0 not counted) into `*out`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `pattern` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `out` must be NULL or
/// valid for writing one `usize`.
#[no_mangle]
pub unsafe extern "C" fn fk_pattern_groups(pattern: *const FkPattern, out: *mut usize) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let p = handle_ref(pattern)?;
        *out = p.groups();
        Ok(())
    })
}

/// `re.findall` on every text: whole matches for a pattern without groups, else every group
/// (`""` for a group that did not take part); Python 3.7+ empty-match rules. `options`: 0 or
/// `FK_FINDALL_LOWERCASE`. Result into `*out`; free with `fk_matches_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `pattern` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `texts` must be NULL or
/// point to an `FkTexts` whose `data` and `offsets` are readable for the lengths it states;
/// `out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_findall(
    pattern: *const FkPattern,
    texts: *const FkTexts,
    options: u32,
    out: *mut *mut FkMatches,
) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let p = handle_ref(pattern)?;
        if options & !FK_FINDALL_LOWERCASE != 0 {
            return Err(Error::invalid(format!("unknown findall options {options:#x}")).into());
        }
        let m = with_batch(texts, |b| p.findall(b, options & FK_FINDALL_LOWERCASE != 0))?;
        *out = into_handle(m);
        Ok(())
    })
}

/// Number of `findall` matches of every text, into `out[0 .. n_texts]` (`out_len` must be
/// at least `texts->n_texts`, else `BUFFER_TOO_SMALL`; it must not overlap the input).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `pattern` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `texts` must be NULL or
/// point to an `FkTexts` whose `data` and `offsets` are readable for the lengths it states;
/// `out` must be NULL (with a zero length) or writable for `out_len` elements and not otherwise
/// accessed during the call.
#[no_mangle]
pub unsafe extern "C" fn fk_count(
    pattern: *const FkPattern,
    texts: *const FkTexts,
    out: *mut u64,
    out_len: usize,
) -> FkStatus {
    guard(|| {
        let p = handle_ref(pattern)?;
        let out = slice_arg_mut(out, out_len, "out")?;
        with_batch_spans(texts, |b, [data, offsets]| {
            check_no_overlap(span(out), data, "fk_count")?;
            check_no_overlap(span(out), offsets, "fk_count")?;
            p.count_into(b, out)
        })?;
        Ok(())
    })
}

/// Per text, `{group1: sum(int(group2))}` for a two-group pattern, keys in first-seen
/// order, integers read with Python's `int()` rules and summed exactly. `max_digits` is
/// Python's `sys.get_int_max_str_digits()` (0 = no limit): a longer number gives
/// `INVALID_VALUE`, as it raises ValueError in Python. Free with `fk_key_sums_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `pattern` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `texts` must be NULL or
/// point to an `FkTexts` whose `data` and `offsets` are readable for the lengths it states;
/// `out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_sum_by_key(
    pattern: *const FkPattern,
    texts: *const FkTexts,
    max_digits: usize,
    out: *mut *mut FkKeySums,
) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let p = handle_ref(pattern)?;
        let r = with_batch(texts, |b| p.sum_by_key(b, max_digits))?;
        *out = into_handle(r);
        Ok(())
    })
}

/// Batch-wide counts of one group of every match (`group` < 0: group 1 if the pattern has
/// groups, else the whole match; 0: the whole match), most frequent first, ties by code
/// point order; `top` = 0 keeps all. Free with `fk_frequencies_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `pattern` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `texts` must be NULL or
/// point to an `FkTexts` whose `data` and `offsets` are readable for the lengths it states;
/// `out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_frequencies(
    pattern: *const FkPattern,
    texts: *const FkTexts,
    group: i64,
    top: usize,
    out: *mut *mut FkFrequencies,
) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let p = handle_ref(pattern)?;
        let g = if group < 0 { None } else { Some(group as usize) };
        let r = with_batch(texts, |b| p.frequencies(b, g, top))?;
        *out = into_handle(r);
        Ok(())
    })
}

/// Exactly Python's `[EMAIL_RE.findall(t.lower()) for t in texts]` with
/// `EMAIL_RE = r"[a-z0-9\.\-+_]+@[a-z0-9\.\-+_]+\.[a-z]+"`. Free with `fk_matches_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `texts` must be NULL or point to an `FkTexts` whose `data` and
/// `offsets` are readable for the lengths it states; `out` must be NULL or valid for writing
/// one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_extract_emails(texts: *const FkTexts, out: *mut *mut FkMatches) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let r = with_batch(texts, text::extract_emails)?;
        *out = into_handle(r);
        Ok(())
    })
}

/// Exactly Python's per-text `{key: sum(int(value))}` over `re.findall(r"(\w+)\s+(\d+)", t)`,
/// Unicode classes and digits as Python has them, sums of any size. `max_digits` as for
/// `fk_sum_by_key`. Free with `fk_key_sums_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `texts` must be NULL or point to an `FkTexts` whose `data` and
/// `offsets` are readable for the lengths it states; `out` must be NULL or valid for writing
/// one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_extract_and_aggregate(
    texts: *const FkTexts,
    max_digits: usize,
    out: *mut *mut FkKeySums,
) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let r = with_batch(texts, |b| text::extract_and_aggregate(b, max_digits))?;
        *out = into_handle(r);
        Ok(())
    })
}

/// Fill `*view` with pointers into `matches` (valid until it is freed).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `matches` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `view` must be NULL or
/// valid for writing one `FkMatchesView`.
#[no_mangle]
pub unsafe extern "C" fn fk_matches_view(matches: *const FkMatches, view: *mut FkMatchesView) -> FkStatus {
    guard(|| {
        let view = out_arg(view, "view")?;
        let m = handle_ref(matches)?;
        let v = FkMatchesView {
            data: m.fields.data.as_ptr(),
            data_len: m.fields.data.len(),
            field_offsets: m.fields.offsets.as_ptr(),
            n_fields: m.fields.len(),
            fields_per_match: m.fields_per_match,
            text_offsets: m.text_offsets.0.as_ptr(),
            n_texts: m.text_offsets.0.len() - 1,
        };
        *view = v;
        Ok(())
    })
}

/// Free a matches result. NULL is a no-op.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `matches` may be any value: NULL, a freed handle and a pointer
/// this library did not return are no-ops. A handle that a running call is using (from another
/// thread, or from this call's progress callback) is freed when that call returns; calls made
/// after this one fail with `FK_STATUS_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn fk_matches_free(matches: *mut FkMatches) {
    free_handle(matches);
}

/// Fill `*view` with pointers into `sums` (valid until it is freed).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `sums` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `view` must be NULL or
/// valid for writing one `FkKeySumsView`.
#[no_mangle]
pub unsafe extern "C" fn fk_key_sums_view(sums: *const FkKeySums, view: *mut FkKeySumsView) -> FkStatus {
    guard(|| {
        let view = out_arg(view, "view")?;
        let s = handle_ref(sums)?;
        let v = FkKeySumsView {
            keys: s.keys.data.as_ptr(),
            keys_len: s.keys.data.len(),
            key_offsets: s.keys.offsets.as_ptr(),
            values: s.values.as_ptr(),
            n_entries: s.values.len(),
            big_index: s.big_index.as_ptr(),
            n_big: s.big_index.len(),
            big_data: s.big_decimal.data.as_ptr(),
            big_data_len: s.big_decimal.data.len(),
            big_offsets: s.big_decimal.offsets.as_ptr(),
            text_offsets: s.text_offsets.0.as_ptr(),
            n_texts: s.text_offsets.0.len() - 1,
        };
        *view = v;
        Ok(())
    })
}

/// Whether the sum of entry `entry` is too large for `values[entry]`: if so, `*text` and
/// `*text_len` receive its exact decimal text (optional '-', not NUL-terminated, borrowed
/// from `sums` until it is freed); if it fits in int64, `*text = NULL`, `*text_len = 0` and
/// `values[entry]` is the sum. `INVALID_ARGUMENT` if `entry >= n_entries`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `sums` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `text` and `text_len`
/// must be NULL or valid for writing one pointer and one `size_t`.
#[no_mangle]
pub unsafe extern "C" fn fk_key_sums_big_value(
    sums: *const FkKeySums,
    entry: usize,
    text: *mut *const u8,
    text_len: *mut usize,
) -> FkStatus {
    guard(|| {
        let text = out_arg(text, "text")?;
        let text_len = out_arg(text_len, "text_len")?;
        let s = handle_ref(sums)?;
        if entry >= s.values.len() {
            return Err(Error::invalid(format!(
                "entry {entry} is out of range ({} entries)",
                s.values.len()
            ))
            .into());
        }
        // SAFETY: `out_arg` checked both pointers for NULL and alignment; the caller
        // guarantees they are valid for one write each.
        (*text, *text_len) = match s.big_index.binary_search(&(entry as u64)) {
            Ok(b) => {
                let big = s.big_decimal.get(b);
                (big.as_ptr(), big.len())
            }
            Err(_) => (std::ptr::null(), 0),
        };
        Ok(())
    })
}

/// The per-text results of `matches` as a Python pickle stream (protocol 4 opcodes that
/// make only lists, tuples and strs): one list per text, of strs, or of tuples of strs when
/// `tuples` is non-zero and a match has several fields (`re.findall`'s shape). `*needed`
/// receives the stream's size; the stream is written to `out` only when `out_len` is at
/// least that (else `BUFFER_TOO_SMALL`, nothing written: call again with a bigger buffer).
/// An `out_len` of at least `5 + 3*n_texts + 2*n_matches + 9*n_fields + data_len` (from
/// `fk_matches_view`; `n_matches = n_fields / fields_per_match`) always holds the stream:
/// then one call suffices and the stream is written in one pass, `*needed` giving its
/// exact size (the bytes past it are left as they were). A binding with an unpickler
/// builds every result object in one C-level call.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `matches` must be NULL or a live handle from this library (NULL is
/// an error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `out` must be NULL (with a
/// zero length) or writable for `out_len` bytes and not otherwise accessed during the call;
/// `needed` must be NULL or valid for writing one `size_t`.
#[no_mangle]
pub unsafe extern "C" fn fk_matches_pickle(
    matches: *const FkMatches,
    tuples: u32,
    out: *mut u8,
    out_len: usize,
    needed: *mut usize,
) -> FkStatus {
    guard(|| {
        let needed = out_arg(needed, "needed")?;
        let m = handle_ref(matches)?;
        let w = slice_arg_mut(out, out_len, "out")?;
        *needed = text::pickle_matches(&m, tuples != 0, w);
        stream_fits(*needed, out_len)
    })
}

/// The one rule of the two pickle writers' size protocol: the writer reports the stream's
/// size in `*needed` whatever `out` holds, and a stream larger than `out` is
/// `BUFFER_TOO_SMALL` (so a caller asks with `out_len == 0`, then calls again).
fn stream_fits(needed: usize, out_len: usize) -> FfiResult<()> {
    if needed > out_len {
        return Err(Error::new(
            ErrorKind::BufferTooSmall,
            format!("the stream takes {needed} bytes, out holds {out_len}"),
        )
        .into());
    }
    Ok(())
}

/// The per-text dicts of `sums` as a Python pickle stream (protocol 4 opcodes that make
/// only dicts, strs and ints), as [`fk_matches_pickle`]. Each distinct key is written once
/// and memoized (MEMOIZE), its later occurrences are memo gets (BINGET / LONG_BINGET), so
/// the unpickler makes one str per distinct key. `INVALID_VALUE` when a sum does not fit in
/// 64 bits (read those through `fk_key_sums_view`). An `out_len` of at least
/// `5 + 3*n_texts + 20*n_entries + keys_len` (from `fk_key_sums_view`) always holds the
/// stream, written in one pass.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `sums` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `out` must be NULL (with a
/// zero length) or writable for `out_len` bytes and not otherwise accessed during the call;
/// `needed` must be NULL or valid for writing one `size_t`.
#[no_mangle]
pub unsafe extern "C" fn fk_key_sums_pickle(
    sums: *const FkKeySums,
    out: *mut u8,
    out_len: usize,
    needed: *mut usize,
) -> FkStatus {
    guard(|| {
        let needed = out_arg(needed, "needed")?;
        let s = handle_ref(sums)?;
        let w = slice_arg_mut(out, out_len, "out")?;
        *needed = text::pickle_key_sums(&s, w)?;
        stream_fits(*needed, out_len)
    })
}

/// Free a key-sums result. NULL is a no-op.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `sums` may be any value: NULL, a freed handle and a pointer
/// this library did not return are no-ops. A handle that a running call is using (from another
/// thread, or from this call's progress callback) is freed when that call returns; calls made
/// after this one fail with `FK_STATUS_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn fk_key_sums_free(sums: *mut FkKeySums) {
    free_handle(sums);
}

/// Fill `*view` with pointers into `freqs` (valid until it is freed).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `freqs` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `view` must be NULL or
/// valid for writing one `FkFrequenciesView`.
#[no_mangle]
pub unsafe extern "C" fn fk_frequencies_view(
    freqs: *const FkFrequencies,
    view: *mut FkFrequenciesView,
) -> FkStatus {
    guard(|| {
        let view = out_arg(view, "view")?;
        let f = handle_ref(freqs)?;
        let v = FkFrequenciesView {
            data: f.items.data.as_ptr(),
            data_len: f.items.data.len(),
            offsets: f.items.offsets.as_ptr(),
            counts: f.counts.as_ptr(),
            n_items: f.counts.len(),
        };
        *view = v;
        Ok(())
    })
}

/// Free a frequencies result. NULL is a no-op.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `freqs` may be any value: NULL, a freed handle and a pointer
/// this library did not return are no-ops. A handle that a running call is using (from another
/// thread, or from this call's progress callback) is freed when that call returns; calls made
/// after this one fail with `FK_STATUS_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn fk_frequencies_free(freqs: *mut FkFrequencies) {
    free_handle(freqs);
}

/// Convert `n` byte offsets into the UTF-8 buffer `data` to code-point offsets (what a
/// Python `str` is indexed by), into `out[0 .. n]`. Offsets must be non-decreasing, within
/// `data` and at character boundaries.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `data` must be NULL (with a zero length) or readable for `data_len`
/// bytes; `byte_offsets` must be NULL (with a zero length) or readable for `n` elements; `out`
/// must be NULL (with a zero length) or writable for `n` elements and not otherwise accessed
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn fk_utf8_char_offsets(
    data: *const u8,
    data_len: usize,
    byte_offsets: *const u64,
    n: usize,
    out: *mut u64,
) -> FkStatus {
    guard(|| {
        let d = slice_arg(data, data_len, "data")?;
        let b = slice_arg(byte_offsets, n, "byte_offsets")?;
        let o = slice_arg_mut(out, n, "out")?;
        check_no_overlap(span(o), span(b), "fk_utf8_char_offsets")?;
        check_no_overlap(span(o), span(d), "fk_utf8_char_offsets")?;
        text::char_offsets(d, b, o)?;
        Ok(())
    })
}

/// Copy the `n` strings `data[offsets[k] .. offsets[k+1]]` (k < n; `offsets` has n + 1
/// entries, e.g. a view's) into `out`, separated by the byte `sep`, so a caller can split
/// them with one call. `out_len` must be exactly the strings' total length plus n - 1
/// (`BUFFER_TOO_SMALL` otherwise). `INVALID_VALUE` if a string contains `sep`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `data` must be NULL (with a zero length) or readable for `data_len`
/// bytes; `offsets` must be NULL (with a zero length) or readable for `n + 1` elements; `out`
/// must be NULL (with a zero length) or writable for `out_len` bytes and not otherwise accessed
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn fk_join_strings(
    data: *const u8,
    data_len: usize,
    offsets: *const u64,
    n: usize,
    sep: u8,
    out: *mut u8,
    out_len: usize,
) -> FkStatus {
    guard(|| {
        let d = slice_arg(data, data_len, "data")?;
        let o = slice_arg(
            offsets,
            n.checked_add(1).ok_or_else(|| Error::invalid("n overflows"))?,
            "offsets",
        )?;
        let w = slice_arg_mut(out, out_len, "out")?;
        check_no_overlap(span(w), span(d), "fk_join_strings")?;
        check_no_overlap(span(w), span(o), "fk_join_strings")?;
        text::join_strings(d, o, sep, w)?;
        Ok(())
    })
}

/// [`fk_join_strings`] with each distinct string written once, in first-seen order:
/// `ids[k]` (k < n) receives the position of string k's value among the distinct strings.
/// `out_len` must be at least the strings' total length plus n - 1 (`BUFFER_TOO_SMALL`
/// otherwise); `*out_used` receives the bytes written and `*n_unique` the number of
/// distinct strings. `INVALID_VALUE` if a string contains `sep`. For callers that make one
/// object per distinct string (the Python package: one str per distinct kv key or email).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `data` must be NULL (with a zero length) or readable for `data_len`
/// bytes; `offsets` must be NULL (with a zero length) or readable for `n + 1` elements; `out`
/// must be NULL (with a zero length) or writable for `out_len` bytes and `ids` for `n`
/// elements, neither otherwise accessed during the call; `out_used` and `n_unique` must be
/// NULL or valid for writing one `size_t` each.
#[no_mangle]
pub unsafe extern "C" fn fk_join_unique_strings(
    data: *const u8,
    data_len: usize,
    offsets: *const u64,
    n: usize,
    sep: u8,
    out: *mut u8,
    out_len: usize,
    ids: *mut u64,
    out_used: *mut usize,
    n_unique: *mut usize,
) -> FkStatus {
    guard(|| {
        let out_used = out_arg(out_used, "out_used")?;
        let n_unique = out_arg(n_unique, "n_unique")?;
        let d = slice_arg(data, data_len, "data")?;
        let o = slice_arg(
            offsets,
            n.checked_add(1).ok_or_else(|| Error::invalid("n overflows"))?,
            "offsets",
        )?;
        let w = slice_arg_mut(out, out_len, "out")?;
        let i = slice_arg_mut(ids, n, "ids")?;
        for s in [span(w), span(i)] {
            check_no_overlap(s.clone(), span(d), "fk_join_unique_strings")?;
            check_no_overlap(s, span(o), "fk_join_unique_strings")?;
        }
        check_no_overlap(span(w), span(i), "fk_join_unique_strings")?;
        let (used, unique) = text::join_unique_strings(d, o, sep, w, i)?;
        *out_used = used;
        *n_unique = unique;
        Ok(())
    })
}
