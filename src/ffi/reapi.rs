//! The rest of `re` on batches: `search`/`match`/`fullmatch`/`finditer` spans, `subn`,
//! `split`. Same conventions as `fk_findall`: a pattern handle and an `FkTexts` in, one flat
//! result handle out, read through a view, released by one free.

use super::text::{FkPattern, FkTexts};
use super::{
    free_handle, guard, handle_kind, handle_ref, into_handle, out_arg, str_arg, with_batch, FkStatus,
};
use crate::error::Error;
use crate::text::{Anchor, Pieces, SpanMode, Spans, Substituted};

/// `fk_search` mode: `re.search`, the first match anywhere (0 or 1 match per text).
pub const FK_SEARCH: u32 = 0;
/// `fk_search` mode: `re.match`, a match at the start (0 or 1 match per text).
pub const FK_MATCH: u32 = 1;
/// `fk_search` mode: `re.fullmatch`, a match of the whole text (0 or 1 match per text).
pub const FK_FULLMATCH: u32 = 2;
/// `fk_search` mode: `re.finditer`, every match (Python 3.7+ empty-match rules).
pub const FK_FINDITER: u32 = 3;

/// Read-only view of an `FkSpans`, valid until `fk_spans_free`. Match j of text i is for j
/// in `text_offsets[i] .. text_offsets[i+1]`; group g (0 = the whole match) of match j spans
/// code points `spans[2*(j*spans_per_match + g)] .. spans[2*(j*spans_per_match + g) + 1]`
/// of the text (Python `str` indices), both -1 for a group that did not take part.
#[repr(C)]
pub struct FkSpansView {
    /// `2 * n_matches * spans_per_match` entries.
    pub spans: *const i64,
    pub n_matches: usize,
    /// The pattern's groups + 1.
    pub spans_per_match: usize,
    /// `n_texts + 1` entries, counted in matches.
    pub text_offsets: *const u64,
    pub n_texts: usize,
}

/// Read-only view of an `FkSubs`, valid until `fk_subs_free`. The new text i is
/// `data[offsets[i] .. offsets[i+1]]` (UTF-8), made by `counts[i]` replacements.
#[repr(C)]
pub struct FkSubsView {
    pub data: *const u8,
    pub data_len: usize,
    /// `n_texts + 1` entries.
    pub offsets: *const u64,
    /// `n_texts` entries.
    pub counts: *const u64,
    pub n_texts: usize,
}

/// Read-only view of an `FkSplit`, valid until `fk_split_free`. Item k of text i is for k in
/// `text_offsets[i] .. text_offsets[i+1]`: `data[item_offsets[k] .. item_offsets[k+1]]`,
/// or Python's `None` when `is_none[k]` is 1 (a captured separator group that did not take
/// part; its string is empty).
#[repr(C)]
pub struct FkSplitView {
    pub data: *const u8,
    pub data_len: usize,
    /// `n_items + 1` entries.
    pub item_offsets: *const u64,
    /// `n_items` entries, 0 or 1.
    pub is_none: *const u8,
    pub n_items: usize,
    /// `n_texts + 1` entries, counted in items.
    pub text_offsets: *const u64,
    pub n_texts: usize,
}

/// Per-text match spans (see `FkSpansView`). Read-only after creation: read it from any
/// number of threads; free it once.
pub struct FkSpans {
    _opaque: [u8; 0],
}
/// Per-text `re.subn` results (see `FkSubsView`). Read-only after creation: read it from
/// any number of threads; free it once.
pub struct FkSubs {
    _opaque: [u8; 0],
}
/// Per-text `re.split` results (see `FkSplitView`). Read-only after creation: read it from
/// any number of threads; free it once.
pub struct FkSplit {
    _opaque: [u8; 0],
}
handle_kind!(FkSpans owns Spans, tag 0x4b46_5350_414e_5300);
handle_kind!(FkSubs owns Substituted, tag 0x4b46_5355_4253_0000);
handle_kind!(FkSplit owns Pieces, tag 0x4b46_5350_4c49_5400);

/// `re.search` / `re.match` / `re.fullmatch` (at most one match per text) or `re.finditer`
/// (every match) on every text, by `mode` (`FK_SEARCH`, `FK_MATCH`, `FK_FULLMATCH`,
/// `FK_FINDITER`): spans of the match and its groups in code points. Result into `*out`;
/// free with `fk_spans_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `pattern` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `texts` must be NULL or
/// point to an `FkTexts` whose `data` and `offsets` are readable for the lengths it states;
/// `out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_search(
    pattern: *const FkPattern,
    texts: *const FkTexts,
    mode: u32,
    out: *mut *mut FkSpans,
) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let p = handle_ref(pattern)?;
        let mode = match mode {
            FK_SEARCH => SpanMode::Once(Anchor::Search),
            FK_MATCH => SpanMode::Once(Anchor::Match),
            FK_FULLMATCH => SpanMode::Once(Anchor::FullMatch),
            FK_FINDITER => SpanMode::All,
            m => return Err(Error::invalid(format!("unknown search mode {m}")).into()),
        };
        let r = with_batch(texts, |b| p.spans(b, mode))?;
        *out = into_handle(r);
        Ok(())
    })
}

/// `re.subn(pattern, repl, text, count)` on every text: `repl` (UTF-8, `repl_len` bytes) is a
/// Python replacement template (`\1`, `\g<name>`, `\g<0>`, `\n`, ...), parsed once; `count`
/// 0 replaces every match, a negative one none (as `_sre` reads it). Errors:
/// `PATTERN_SYNTAX` where Python raises `re.error` (or `IndexError`, for an unknown group
/// name) on the template, `PATTERN_UNSUPPORTED` for a group reference Python takes only
/// through `int()` (`\g<+1>`, non-ASCII digits; deprecated), `INVALID_UTF8`. Result into
/// `*out`; free with `fk_subs_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `pattern` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `texts` must be NULL or
/// point to an `FkTexts` whose `data` and `offsets` are readable for the lengths it states;
/// `repl` must be NULL (with a zero length) or readable for `repl_len` bytes; `out` must be
/// NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_subn(
    pattern: *const FkPattern,
    texts: *const FkTexts,
    repl: *const u8,
    repl_len: usize,
    count: i64,
    out: *mut *mut FkSubs,
) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let p = handle_ref(pattern)?;
        let template = p.template(str_arg(repl, repl_len, "repl")?)?;
        let r = with_batch(texts, |b| p.subn(b, &template, count))?;
        *out = into_handle(r);
        Ok(())
    })
}

/// `re.split(pattern, text, maxsplit)` on every text: the pieces between matches, with
/// every group of each separator match in between (`None` for one that did not take part);
/// `maxsplit` 0 splits at every match, a negative one at none. Result into `*out`; free with
/// `fk_split_free`.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `pattern` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `texts` must be NULL or
/// point to an `FkTexts` whose `data` and `offsets` are readable for the lengths it states;
/// `out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_split(
    pattern: *const FkPattern,
    texts: *const FkTexts,
    maxsplit: i64,
    out: *mut *mut FkSplit,
) -> FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let p = handle_ref(pattern)?;
        let r = with_batch(texts, |b| p.split(b, maxsplit))?;
        *out = into_handle(r);
        Ok(())
    })
}

/// The name of group `group` (1-based) of `pattern` into `*name` / `*name_len` (UTF-8, not
/// NUL-terminated, borrowed from `pattern` until it is freed), or NULL / 0 for an unnamed
/// group. `INVALID_ARGUMENT` if the pattern has no such group.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `pattern` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `name` and `name_len` must be
/// NULL or valid for writing one pointer and one `size_t`.
#[no_mangle]
pub unsafe extern "C" fn fk_pattern_group_name(
    pattern: *const FkPattern,
    group: usize,
    name: *mut *const u8,
    name_len: *mut usize,
) -> FkStatus {
    guard(|| {
        let name = out_arg(name, "name")?;
        let name_len = out_arg(name_len, "name_len")?;
        let p = handle_ref(pattern)?;
        if group == 0 || group > p.groups() {
            return Err(Error::invalid(format!(
                "group {group} does not exist: the pattern has groups 1 to {}",
                p.groups()
            ))
            .into());
        }
        // The pattern handle owns the name; the pointer stays valid until it is freed.
        (*name, *name_len) = match p.group_name(group) {
            Some(n) => (n.as_ptr(), n.len()),
            None => (std::ptr::null(), 0),
        };
        Ok(())
    })
}

/// Fill `*view` with pointers into `spans` (valid until it is freed).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `spans` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `view` must be NULL or
/// valid for writing one `FkSpansView`.
#[no_mangle]
pub unsafe extern "C" fn fk_spans_view(spans: *const FkSpans, view: *mut FkSpansView) -> FkStatus {
    guard(|| {
        let view = out_arg(view, "view")?;
        let s = handle_ref(spans)?;
        *view = FkSpansView {
            spans: s.spans.as_ptr(),
            n_matches: s.spans.len() / (2 * s.spans_per_match),
            spans_per_match: s.spans_per_match,
            text_offsets: s.text_offsets.0.as_ptr(),
            n_texts: s.text_offsets.0.len() - 1,
        };
        Ok(())
    })
}

/// Free a spans result. NULL is a no-op.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `spans` may be any value: NULL, a freed handle and a pointer
/// this library did not return are no-ops. A handle that a running call is using (from another
/// thread, or from this call's progress callback) is freed when that call returns; calls made
/// after this one fail with `FK_STATUS_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn fk_spans_free(spans: *mut FkSpans) {
    free_handle(spans);
}

/// Fill `*view` with pointers into `subs` (valid until it is freed).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `subs` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `view` must be NULL or
/// valid for writing one `FkSubsView`.
#[no_mangle]
pub unsafe extern "C" fn fk_subs_view(subs: *const FkSubs, view: *mut FkSubsView) -> FkStatus {
    guard(|| {
        let view = out_arg(view, "view")?;
        let s = handle_ref(subs)?;
        *view = FkSubsView {
            data: s.strings.data.as_ptr(),
            data_len: s.strings.data.len(),
            offsets: s.strings.offsets.as_ptr(),
            counts: s.counts.as_ptr(),
            n_texts: s.counts.len(),
        };
        Ok(())
    })
}

/// Free a subn result. NULL is a no-op.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `subs` may be any value: NULL, a freed handle and a pointer
/// this library did not return are no-ops. A handle that a running call is using (from another
/// thread, or from this call's progress callback) is freed when that call returns; calls made
/// after this one fail with `FK_STATUS_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn fk_subs_free(subs: *mut FkSubs) {
    free_handle(subs);
}

/// Fill `*view` with pointers into `split` (valid until it is freed).
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `split` must be NULL or a live handle from this library (NULL is an
/// error, a freed or foreign one is FK_STATUS_INVALID_HANDLE); `view` must be NULL or
/// valid for writing one `FkSplitView`.
#[no_mangle]
pub unsafe extern "C" fn fk_split_view(split: *const FkSplit, view: *mut FkSplitView) -> FkStatus {
    guard(|| {
        let view = out_arg(view, "view")?;
        let s = handle_ref(split)?;
        *view = FkSplitView {
            data: s.items.data.as_ptr(),
            data_len: s.items.data.len(),
            item_offsets: s.items.offsets.as_ptr(),
            is_none: s.none.as_ptr(),
            n_items: s.none.len(),
            text_offsets: s.text_offsets.0.as_ptr(),
            n_texts: s.text_offsets.0.len() - 1,
        };
        Ok(())
    })
}

/// Free a split result. NULL is a no-op.
///
/// # Safety
/// Every pointer argument is checked for NULL, alignment and size overflow; beyond that
/// the caller guarantees: `split` may be any value: NULL, a freed handle and a pointer
/// this library did not return are no-ops. A handle that a running call is using (from another
/// thread, or from this call's progress callback) is freed when that call returns; calls made
/// after this one fail with `FK_STATUS_INVALID_HANDLE`.
#[no_mangle]
pub unsafe extern "C" fn fk_split_free(split: *mut FkSplit) {
    free_handle(split);
}
