//! Arrow C Data Interface: texts in from any producer's `ArrowSchema`/`ArrowArray`
//! (string, large_string, string_view; nulls; sliced arrays), results out as Arrow arrays
//! that own the library's result buffers and free them in their `release` callback.
//!
//! The two structs are a hand-written `#[repr(C)]` mirror of the specification
//! (<https://arrow.apache.org/docs/format/CDataInterface.html>): they are ABI-frozen by the
//! spec, ten fields each, and the only Arrow things this layer needs. The `arrow-data` /
//! `arrow-schema` crates' `ffi` modules would bring arrow-buffer, half, num and friends into
//! every build for the same two structs, and their importer takes ownership of the array,
//! while the PyCapsule protocol lets a consumer simply borrow it for the call.

use std::any::Any;
use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::text::{FkArrowTexts, FkTexts, FK_LAYOUT_VIEWS, FK_OFFSETS_ARROW, FK_OFFSETS_I32, FK_OFFSETS_I64};
use super::{guard, handle_ref, null_err, out_arg, ref_arg, take_handle, with_batch, FfiResult};
use crate::error::{Error, ErrorKind};
use crate::ffi::reapi::{FkSplit, FkSubs};
use crate::ffi::text::{FkKeySums, FkMatches, FkPattern};
use crate::text::arrow::{split_groups, Bitmap};

/// Arrow C Data Interface `struct ArrowSchema` (see the specification).
#[repr(C)]
pub struct ArrowSchema {
    pub format: *const c_char,
    pub name: *const c_char,
    pub metadata: *const c_char,
    pub flags: i64,
    pub n_children: i64,
    pub children: *mut *mut ArrowSchema,
    pub dictionary: *mut ArrowSchema,
    pub release: Option<unsafe extern "C" fn(*mut ArrowSchema)>,
    pub private_data: *mut c_void,
}

/// Arrow C Data Interface `struct ArrowArray` (see the specification).
#[repr(C)]
pub struct ArrowArray {
    pub length: i64,
    pub null_count: i64,
    pub offset: i64,
    pub n_buffers: i64,
    pub n_children: i64,
    pub buffers: *mut *const c_void,
    pub children: *mut *mut ArrowArray,
    pub dictionary: *mut ArrowArray,
    pub release: Option<unsafe extern "C" fn(*mut ArrowArray)>,
    pub private_data: *mut c_void,
}

const ARROW_FLAG_NULLABLE: i64 = 2;

// ----------------------------------------------------------------------------------------
// Import
// ----------------------------------------------------------------------------------------

/// Describe the Arrow string array `array` (type `schema`) as an `FkTexts` (`*out`, whose
/// `offset_kind` is `FK_OFFSETS_ARROW` and `offsets` points to `*layout`), without copying:
/// both point into the array's buffers and are valid while the array is (until its
/// `release`) and `*layout` is. Formats: `u` (string), `U` (large_string), `vu` (string_view); the array's
/// `offset` (a slice) and validity bitmap (nulls: a null text gives a null result) are
/// honoured. `out->first_index` is set to 0. Errors: `DTYPE` for another type (the message
/// names its format), `INVALID_ARGUMENT` for a released or malformed array.
///
/// # Safety
/// Every pointer argument is checked for NULL; beyond that the caller guarantees: `schema`
/// and `array` must be NULL or valid C Data Interface structs describing the same array,
/// whose buffers stay valid and unmodified while `*out` is used; `out` must be NULL or
/// valid for writing one `FkTexts`, `layout` one `FkArrowTexts`.
#[no_mangle]
pub unsafe extern "C" fn fk_texts_from_arrow(
    schema: *const ArrowSchema,
    array: *const ArrowArray,
    out: *mut FkTexts,
    layout: *mut FkArrowTexts,
) -> super::FkStatus {
    guard(|| {
        let out = out_arg(out, "out")?;
        let layout = out_arg(layout, "layout")?;
        // SAFETY: the caller's contract (NULL becomes an error).
        let s = unsafe { ref_arg(schema, "schema") }?;
        // SAFETY: as above.
        let a = unsafe { ref_arg(array, "array") }?;
        if s.release.is_none() || a.release.is_none() {
            return Err(Error::invalid("the Arrow schema or array is released").into());
        }
        if s.format.is_null() {
            return Err(null_err("schema.format").into());
        }
        // SAFETY: a live schema's format is a NUL-terminated string (the spec).
        let format = unsafe { CStr::from_ptr(s.format) }.to_bytes();
        let (len, offset) = (nonneg(a.length, "length")?, nonneg(a.offset, "offset")?);
        let want_buffers = match format {
            b"u" | b"U" => 3,
            b"vu" => 3, // at least: validity, views, variadic sizes
            _ => {
                let f = String::from_utf8_lossy(format);
                return Err(Error::new(
                    ErrorKind::Dtype,
                    format!("expected an Arrow string array (format u, U or vu), got format {f:?}"),
                )
                .into());
            }
        };
        let n_buffers = nonneg(a.n_buffers, "n_buffers")?;
        if n_buffers < want_buffers || a.buffers.is_null() {
            return Err(Error::invalid(format!("string array has {n_buffers} buffers")).into());
        }
        // SAFETY: a live array's `buffers` holds `n_buffers` pointers (the spec).
        let bufs = unsafe { std::slice::from_raw_parts(a.buffers, n_buffers) };
        let validity = if a.null_count != 0 && !bufs[0].is_null() {
            bufs[0] as *const u8
        } else {
            std::ptr::null()
        };
        let mut t = FkTexts {
            data: std::ptr::null(),
            data_len: 0,
            offsets: layout as *mut FkArrowTexts as *const c_void,
            n_texts: len,
            offset_kind: FK_OFFSETS_ARROW,
            first_index: 0,
        };
        let mut l = FkArrowTexts {
            layout: FK_OFFSETS_I64,
            offsets: std::ptr::null(),
            validity,
            validity_offset: offset as u64,
            buffers: std::ptr::null(),
            buffer_lens: std::ptr::null(),
            n_buffers: 0,
        };
        match format {
            b"u" | b"U" => {
                let width = if format == b"u" { 4 } else { 8 };
                l.layout = if width == 4 {
                    FK_OFFSETS_I32
                } else {
                    FK_OFFSETS_I64
                };
                if bufs[1].is_null() {
                    if len != 0 {
                        return Err(null_err("string array offsets").into());
                    }
                    // An empty array may omit its buffers; point at a zero offset.
                    static ZERO: i64 = 0;
                    l.offsets = &ZERO as *const i64 as *const c_void;
                } else {
                    // SAFETY: the spec: `offset + length + 1` offsets of `width` bytes.
                    l.offsets = unsafe { (bufs[1] as *const u8).add(offset * width) } as *const c_void;
                }
                // The spec gives no data length: it is the last offset, which TextBatch then
                // checks every other offset against.
                let last = if bufs[1].is_null() {
                    0
                } else if width == 4 {
                    // SAFETY: as above, entry `offset + length` exists.
                    i64::from(unsafe { *(bufs[1] as *const i32).add(offset + len) })
                } else {
                    // SAFETY: as above.
                    unsafe { *(bufs[1] as *const i64).add(offset + len) }
                };
                t.data_len = usize::try_from(last)
                    .map_err(|_| Error::invalid(format!("last string offset {last} is negative")))?;
                t.data = if bufs[2].is_null() && t.data_len == 0 {
                    std::ptr::null()
                } else {
                    bufs[2] as *const u8
                };
            }
            _ => {
                // string_view: validity, views, variadic data buffers..., their int64 sizes.
                l.layout = FK_LAYOUT_VIEWS;
                // SAFETY: the spec: `offset + length` 16-byte views.
                l.offsets = unsafe { (bufs[1] as *const u8).add(offset * 16) } as *const c_void;
                l.n_buffers = n_buffers - 3;
                // SAFETY: within `bufs` (n_buffers >= 3).
                l.buffers = unsafe { a.buffers.add(2) } as *const *const u8;
                l.buffer_lens = bufs[n_buffers - 1] as *const i64;
                if len == 0 && bufs[1].is_null() {
                    l.offsets = std::ptr::NonNull::<[u8; 16]>::dangling().as_ptr() as *const c_void;
                }
            }
        }
        *out = t;
        *layout = l;
        Ok(())
    })
}

fn nonneg(v: i64, what: &str) -> FfiResult<usize> {
    usize::try_from(v).map_err(|_| Error::invalid(format!("array {what} = {v} is negative")).into())
}

// ----------------------------------------------------------------------------------------
// Export
// ----------------------------------------------------------------------------------------

/// Arrays exported by this library and not yet released (all their nodes share one owner).
static LIVE_EXPORTS: AtomicUsize = AtomicUsize::new(0);

/// Number of exported Arrow arrays whose memory is still held (released when the consumer
/// calls `release` on the array and on every child it moved out). For tests: 0 once every
/// exported result has been dropped.
#[no_mangle]
pub extern "C" fn fk_arrow_live_exports() -> usize {
    LIVE_EXPORTS.load(Ordering::SeqCst)
}

/// What an exported array's buffers point into; dropped with the last node released.
struct Owner(#[allow(dead_code)] Vec<Box<dyn Any + Send + Sync>>);

impl Owner {
    fn new(parts: Vec<Box<dyn Any + Send + Sync>>) -> Arc<Owner> {
        LIVE_EXPORTS.fetch_add(1, Ordering::SeqCst);
        Arc::new(Owner(parts))
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        LIVE_EXPORTS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One array node to export: buffers are raw pointers into memory the [`Owner`] holds.
struct Node {
    format: &'static str,
    name: String,
    nullable: bool,
    len: usize,
    null_count: usize,
    buffers: Vec<*const c_void>,
    children: Vec<Node>,
}

struct ArrayPrivate {
    buffers: Vec<*const c_void>,
    children: Vec<*mut ArrowArray>,
    _owner: Arc<Owner>,
}

struct SchemaPrivate {
    _format: CString,
    _name: CString,
    children: Vec<*mut ArrowSchema>,
}

/// Release an exported array (the spec's `release` callback): release the children still
/// owned (not moved out), free the node's own bookkeeping, drop its hold on the owner.
unsafe extern "C" fn release_array(a: *mut ArrowArray) {
    // SAFETY: the consumer passes an array this library exported (or NULL).
    let Some(a) = (unsafe { a.as_mut() }) else { return };
    if a.release.is_none() {
        return;
    }
    // SAFETY: `private_data` is the `ArrayPrivate` leaked by `export_array`.
    let p = unsafe { Box::from_raw(a.private_data as *mut ArrayPrivate) };
    for &c in &p.children {
        // SAFETY: children are boxes leaked by `export_array`, each either still owned
        // (release set) or moved out by the consumer (release NULL, per the spec).
        unsafe {
            if let Some(r) = (*c).release {
                r(c);
            }
            drop(Box::from_raw(c));
        }
    }
    a.release = None;
    a.private_data = std::ptr::null_mut();
}

unsafe extern "C" fn release_schema(s: *mut ArrowSchema) {
    // SAFETY: the consumer passes a schema this library exported (or NULL).
    let Some(s) = (unsafe { s.as_mut() }) else { return };
    if s.release.is_none() {
        return;
    }
    // SAFETY: `private_data` is the `SchemaPrivate` leaked by `export_schema`.
    let p = unsafe { Box::from_raw(s.private_data as *mut SchemaPrivate) };
    for &c in &p.children {
        // SAFETY: as in `release_array`.
        unsafe {
            if let Some(r) = (*c).release {
                r(c);
            }
            drop(Box::from_raw(c));
        }
    }
    s.release = None;
    s.private_data = std::ptr::null_mut();
}

fn export_array(n: &Node, owner: &Arc<Owner>) -> ArrowArray {
    let children = n
        .children
        .iter()
        .map(|c| Box::into_raw(Box::new(export_array(c, owner))))
        .collect();
    let mut p = Box::new(ArrayPrivate {
        buffers: n.buffers.clone(),
        children,
        _owner: owner.clone(),
    });
    ArrowArray {
        length: n.len as i64,
        null_count: n.null_count as i64,
        offset: 0,
        n_buffers: p.buffers.len() as i64,
        n_children: p.children.len() as i64,
        buffers: p.buffers.as_mut_ptr(),
        children: p.children.as_mut_ptr(),
        dictionary: std::ptr::null_mut(),
        release: Some(release_array),
        private_data: Box::into_raw(p) as *mut c_void,
    }
}

fn export_schema(n: &Node) -> ArrowSchema {
    let children = n
        .children
        .iter()
        .map(|c| Box::into_raw(Box::new(export_schema(c))))
        .collect();
    // Formats are static ASCII; names come from patterns (UTF-8 without NUL: a regex group
    // name is a word).
    let format = CString::new(n.format).unwrap_or_default();
    let name = CString::new(n.name.as_str()).unwrap_or_default();
    let mut p = Box::new(SchemaPrivate {
        _format: format,
        _name: name,
        children,
    });
    ArrowSchema {
        format: p._format.as_ptr(),
        name: p._name.as_ptr(),
        metadata: std::ptr::null(),
        flags: if n.nullable { ARROW_FLAG_NULLABLE } else { 0 },
        n_children: p.children.len() as i64,
        children: p.children.as_mut_ptr(),
        dictionary: std::ptr::null_mut(),
        release: Some(release_schema),
        private_data: Box::into_raw(p) as *mut c_void,
    }
}

fn ptr<T>(v: &[T]) -> *const c_void {
    v.as_ptr() as *const c_void
}

/// A `large_string` node over a flat string table (zero copy).
fn string_node(name: &str, data: &[u8], offsets: &[u64]) -> Node {
    Node {
        format: "U",
        name: name.into(),
        nullable: true,
        len: offsets.len() - 1,
        null_count: 0,
        buffers: vec![std::ptr::null(), ptr(offsets), ptr(data)],
        children: vec![],
    }
}

/// The per-text validity of a result: the input's (realigned to bit 0), or none.
struct Validity {
    bits: Option<Vec<u8>>,
    nulls: usize,
}

/// # Safety
/// As `with_batch` for `texts` (NULL = no nulls).
unsafe fn validity_of(texts: *const FkTexts, n: usize) -> FfiResult<Validity> {
    if texts.is_null() {
        return Ok(Validity { bits: None, nulls: 0 });
    }
    // SAFETY: forwarded contract.
    let v = unsafe {
        with_batch(texts, |b| {
            if b.len() != n {
                return Err(Error::invalid(format!(
                    "texts has {} texts, the result {n}",
                    b.len()
                )));
            }
            Ok(b.validity().map(|bm: Bitmap| bm.realigned()))
        })
    }?;
    Ok(match v {
        Some((bits, nulls)) if nulls > 0 => Validity {
            bits: Some(bits),
            nulls,
        },
        _ => Validity { bits: None, nulls: 0 },
    })
}

/// Write the top node into the caller's structs.
fn emit(
    top: Node,
    parts: Vec<Box<dyn Any + Send + Sync>>,
    out_schema: &mut ArrowSchema,
    out_array: &mut ArrowArray,
) {
    let owner = Owner::new(parts);
    *out_schema = export_schema(&top);
    *out_array = export_array(&top, &owner);
}

/// A `large_list` node of `child` over per-text `text_offsets`, with the texts' validity.
fn list_node(text_offsets: &[u64], v: &Validity, child: Node) -> Node {
    Node {
        format: "+L",
        name: String::new(),
        nullable: true,
        len: text_offsets.len() - 1,
        null_count: v.nulls,
        buffers: vec![v.bits.as_deref().map_or(std::ptr::null(), ptr), ptr(text_offsets)],
        children: vec![child],
    }
}

/// Export a findall/extract_emails result as an Arrow array, consuming `matches` (it is
/// freed, also when an error is returned; never use it again). Type: `large_list<large_string>`
/// for one field per match (no group or one group), else `large_list<struct<...>>` with one
/// `large_string` field per group, named after the group's name in `pattern` (a named group)
/// or its number (`"1"`, `"2"`, ...; also for every group when `pattern` is NULL). The list
/// and its strings point into the result's own buffers (no copy; with several groups each
/// group's strings are gathered into their own buffer). `texts` (may be NULL: no nulls) is the
/// batch the result came from: text i null gives a null list i. The array owns the memory:
/// the consumer's `release` frees it.
///
/// # Safety
/// Every pointer argument is checked for NULL; beyond that the caller guarantees: `matches`
/// must be a live handle from this library, not used by another thread and never used again;
/// `pattern` must be NULL or a live pattern; `texts` as for `fk_findall`; `out_schema` and
/// `out_array` must be NULL or valid for writing one struct each (their old contents are
/// not released).
#[no_mangle]
pub unsafe extern "C" fn fk_matches_to_arrow(
    matches: *mut FkMatches,
    pattern: *const FkPattern,
    texts: *const FkTexts,
    out_schema: *mut ArrowSchema,
    out_array: *mut ArrowArray,
) -> super::FkStatus {
    guard(|| {
        // SAFETY: the caller's contract; from here on the result is ours (dropped on error).
        let m = unsafe { take_handle(matches) }?;
        let out_schema = out_arg(out_schema, "out_schema")?;
        let out_array = out_arg(out_array, "out_array")?;
        let names: Vec<String> = if pattern.is_null() {
            (1..=m.fields_per_match).map(|g| g.to_string()).collect()
        } else {
            // SAFETY: the caller's contract.
            let p = unsafe { handle_ref(pattern) }?;
            if p.fields_per_match() != m.fields_per_match {
                return Err(Error::invalid("the pattern is not the one that made these matches").into());
            }
            (1..=m.fields_per_match)
                .map(|g| p.group_name(g).map_or_else(|| g.to_string(), str::to_string))
                .collect()
        };
        let n = m.text_offsets.0.len() - 1;
        // SAFETY: the caller's contract.
        let v = unsafe { validity_of(texts, n) }?;
        let child = if m.fields_per_match <= 1 {
            string_node("item", &m.fields.data, &m.fields.offsets)
        } else {
            let cols = split_groups(&m);
            let node = Node {
                format: "+s",
                name: "item".into(),
                nullable: true,
                len: m.n_matches(),
                null_count: 0,
                buffers: vec![std::ptr::null()],
                children: cols
                    .iter()
                    .zip(&names)
                    .map(|(c, name)| string_node(name, &c.data, &c.offsets))
                    .collect(),
            };
            let top = list_node(&m.text_offsets.0, &v, node);
            emit(
                top,
                vec![m, Box::new(cols), Box::new(v.bits)],
                out_schema,
                out_array,
            );
            return Ok(());
        };
        let top = list_node(&m.text_offsets.0, &v, child);
        emit(top, vec![m, Box::new(v.bits)], out_schema, out_array);
        Ok(())
    })
}

/// Export a key-sums result (`fk_extract_and_aggregate`, `fk_sum_by_key`) as an Arrow array,
/// consuming `sums` (freed also on error). Type:
/// `large_list<struct<key: large_string, value: int64, value_decimal: large_string>>`, one
/// entry per key in first-seen order. `value` is the sum when it fits in int64; a larger sum
/// (any size, exact) has a null `value` and its decimal text in `value_decimal` (null for
/// every other entry). Keys and values point into the result's buffers (no copy). `texts`,
/// nulls and ownership as for `fk_matches_to_arrow`.
///
/// # Safety
/// As `fk_matches_to_arrow`, for `sums`.
#[no_mangle]
pub unsafe extern "C" fn fk_key_sums_to_arrow(
    sums: *mut FkKeySums,
    texts: *const FkTexts,
    out_schema: *mut ArrowSchema,
    out_array: *mut ArrowArray,
) -> super::FkStatus {
    guard(|| {
        // SAFETY: the caller's contract; from here on the result is ours.
        let s = unsafe { take_handle(sums) }?;
        let out_schema = out_arg(out_schema, "out_schema")?;
        let out_array = out_arg(out_array, "out_array")?;
        let n = s.text_offsets.0.len() - 1;
        // SAFETY: the caller's contract.
        let v = unsafe { validity_of(texts, n) }?;
        let entries = s.values.len();
        // Big sums: `value` null there, `value_decimal` holds the text there only (all
        // null, bitmap of zeros, offsets all zero when there is none).
        let mut value_bits: Option<Vec<u8>> = None;
        let mut dec_bits = vec![0u8; entries.div_ceil(8)];
        let mut dec_offsets = vec![0u64; entries + 1];
        if !s.big_index.is_empty() {
            let mut bits = vec![0xffu8; entries.div_ceil(8)];
            let mut pos = 0u64;
            let mut bi = s.big_index.iter().enumerate().peekable();
            for e in 0..entries {
                if let Some((b, _)) = bi.next_if(|&(_, &i)| i as usize == e) {
                    bits[e >> 3] &= !(1 << (e & 7));
                    dec_bits[e >> 3] |= 1 << (e & 7);
                    pos += s.big_decimal.offsets[b + 1] - s.big_decimal.offsets[b];
                }
                dec_offsets[e + 1] = pos;
            }
            value_bits = Some(bits);
        }
        let n_big = s.big_index.len();
        let fields = Node {
            format: "+s",
            name: "item".into(),
            nullable: true,
            len: entries,
            null_count: 0,
            buffers: vec![std::ptr::null()],
            children: vec![
                Node {
                    nullable: false,
                    ..string_node("key", &s.keys.data, &s.keys.offsets)
                },
                Node {
                    format: "l",
                    name: "value".into(),
                    nullable: true,
                    len: entries,
                    null_count: n_big,
                    buffers: vec![
                        value_bits.as_deref().map_or(std::ptr::null(), ptr),
                        ptr(&s.values),
                    ],
                    children: vec![],
                },
                Node {
                    format: "U",
                    name: "value_decimal".into(),
                    nullable: true,
                    len: entries,
                    null_count: entries - n_big,
                    buffers: vec![ptr(&dec_bits), ptr(&dec_offsets), ptr(&s.big_decimal.data)],
                    children: vec![],
                },
            ],
        };
        let top = list_node(&s.text_offsets.0, &v, fields);
        emit(
            top,
            vec![
                s,
                Box::new(v.bits),
                Box::new(value_bits),
                Box::new(dec_bits),
                Box::new(dec_offsets),
            ],
            out_schema,
            out_array,
        );
        Ok(())
    })
}

/// Export a `fk_subn` result as the `re.sub` strings: an Arrow `large_string` array, one
/// string per text (the replacement counts are not exported), consuming `subs` (freed also on
/// error). The strings point into the result's buffer (no copy). `texts` (may be NULL: no
/// nulls) is the batch the result came from: text i null gives a null string i. The array
/// owns the memory: the consumer's `release` frees it.
///
/// # Safety
/// As `fk_matches_to_arrow`, for `subs`.
#[no_mangle]
pub unsafe extern "C" fn fk_subs_to_arrow(
    subs: *mut FkSubs,
    texts: *const FkTexts,
    out_schema: *mut ArrowSchema,
    out_array: *mut ArrowArray,
) -> super::FkStatus {
    guard(|| {
        // SAFETY: the caller's contract; from here on the result is ours (dropped on error).
        let s = unsafe { take_handle(subs) }?;
        let out_schema = out_arg(out_schema, "out_schema")?;
        let out_array = out_arg(out_array, "out_array")?;
        // SAFETY: the caller's contract.
        let v = unsafe { validity_of(texts, s.counts.len()) }?;
        let mut top = string_node("", &s.strings.data, &s.strings.offsets);
        top.null_count = v.nulls;
        top.buffers[0] = v.bits.as_deref().map_or(std::ptr::null(), ptr);
        emit(top, vec![s, Box::new(v.bits)], out_schema, out_array);
        Ok(())
    })
}

/// Export a `fk_split` result as an Arrow `large_list<large_string>` array, consuming `split`
/// (freed also on error): list i holds the items of text i, a null item where Python gives
/// `None` (a captured separator group that did not take part). The items point into the
/// result's buffers (no copy). `texts`, nulls and ownership as for `fk_matches_to_arrow`.
///
/// # Safety
/// As `fk_matches_to_arrow`, for `split`.
#[no_mangle]
pub unsafe extern "C" fn fk_split_to_arrow(
    split: *mut FkSplit,
    texts: *const FkTexts,
    out_schema: *mut ArrowSchema,
    out_array: *mut ArrowArray,
) -> super::FkStatus {
    guard(|| {
        // SAFETY: the caller's contract; from here on the result is ours (dropped on error).
        let s = unsafe { take_handle(split) }?;
        let out_schema = out_arg(out_schema, "out_schema")?;
        let out_array = out_arg(out_array, "out_array")?;
        let n = s.text_offsets.0.len() - 1;
        // SAFETY: the caller's contract.
        let v = unsafe { validity_of(texts, n) }?;
        // Item validity: bit k clear where item k is None (no bitmap when there is none).
        let none_count = s.none.iter().filter(|&&b| b != 0).count();
        let item_bits = (none_count > 0).then(|| {
            let mut bits = vec![0u8; s.none.len().div_ceil(8)];
            for (k, _) in s.none.iter().enumerate().filter(|&(_, &b)| b == 0) {
                bits[k >> 3] |= 1 << (k & 7);
            }
            bits
        });
        let mut items = string_node("item", &s.items.data, &s.items.offsets);
        items.null_count = none_count;
        items.buffers[0] = item_bits.as_deref().map_or(std::ptr::null(), ptr);
        let top = list_node(&s.text_offsets.0, &v, items);
        emit(
            top,
            vec![s, Box::new(v.bits), Box::new(item_bits)],
            out_schema,
            out_array,
        );
        Ok(())
    })
}

/// The number of `findall` matches of every text as an Arrow `uint64` array (null for a null
/// text), owning its buffer.
///
/// # Safety
/// Every pointer argument is checked for NULL; beyond that the caller guarantees: `pattern`
/// must be NULL or a live pattern; `texts` as for `fk_findall`; `out_schema` and `out_array`
/// as for `fk_matches_to_arrow`.
#[no_mangle]
pub unsafe extern "C" fn fk_count_to_arrow(
    pattern: *const FkPattern,
    texts: *const FkTexts,
    out_schema: *mut ArrowSchema,
    out_array: *mut ArrowArray,
) -> super::FkStatus {
    guard(|| {
        let out_schema = out_arg(out_schema, "out_schema")?;
        let out_array = out_arg(out_array, "out_array")?;
        // SAFETY: the caller's contract.
        let p = unsafe { handle_ref(pattern) }?;
        // SAFETY: the caller's contract.
        let counts = unsafe {
            with_batch(texts, |b| {
                let mut c = vec![0u64; b.len()];
                p.count_into(b, &mut c)?;
                Ok(c)
            })
        }?;
        // SAFETY: the caller's contract.
        let v = unsafe { validity_of(texts, counts.len()) }?;
        let top = Node {
            format: "L",
            name: String::new(),
            nullable: true,
            len: counts.len(),
            null_count: v.nulls,
            buffers: vec![v.bits.as_deref().map_or(std::ptr::null(), ptr), ptr(&counts)],
            children: vec![],
        };
        emit(
            top,
            vec![Box::new(counts), Box::new(v.bits)],
            out_schema,
            out_array,
        );
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::text::fk_extract_emails;
    use crate::ffi::FkStatus;

    fn empty_schema() -> ArrowSchema {
        ArrowSchema {
            format: std::ptr::null(),
            name: std::ptr::null(),
            metadata: std::ptr::null(),
            flags: 0,
            n_children: 0,
            children: std::ptr::null_mut(),
            dictionary: std::ptr::null_mut(),
            release: None,
            private_data: std::ptr::null_mut(),
        }
    }
    fn empty_array() -> ArrowArray {
        ArrowArray {
            length: 0,
            null_count: 0,
            offset: 0,
            n_buffers: 0,
            n_children: 0,
            buffers: std::ptr::null_mut(),
            children: std::ptr::null_mut(),
            dictionary: std::ptr::null_mut(),
            release: None,
            private_data: std::ptr::null_mut(),
        }
    }

    #[test]
    fn string_array_in_list_out_and_released() {
        // A sliced `large_string` array with a null: texts 1..4 of
        // ["x", "A@b.co y", <null, bytes invalid>, "", "c@d.org"].
        let data = b"xA@b.co y\xffc@d.org";
        let offs: [i64; 6] = [0, 1, 9, 10, 10, 17];
        let validity = [0b1_1011u8];
        let mut bufs: [*const c_void; 3] = [ptr(&validity), ptr(&offs), ptr(data)];
        let fmt = CString::new("U").unwrap();
        unsafe extern "C" fn noop_s(s: *mut ArrowSchema) {
            // SAFETY: test structs on the stack.
            unsafe { (*s).release = None };
        }
        unsafe extern "C" fn noop_a(a: *mut ArrowArray) {
            // SAFETY: as above.
            unsafe { (*a).release = None };
        }
        let schema = ArrowSchema {
            format: fmt.as_ptr(),
            release: Some(noop_s),
            ..empty_schema()
        };
        let array = ArrowArray {
            length: 4,
            null_count: 1,
            offset: 1,
            n_buffers: 3,
            buffers: bufs.as_mut_ptr(),
            release: Some(noop_a),
            ..empty_array()
        };
        let before = fk_arrow_live_exports();
        // SAFETY: every struct above is valid and outlives the calls.
        unsafe {
            let mut t: FkTexts = std::mem::zeroed();
            let mut l: FkArrowTexts = std::mem::zeroed();
            assert_eq!(fk_texts_from_arrow(&schema, &array, &mut t, &mut l), FkStatus::Ok);
            assert_eq!(t.n_texts, 4);
            let mut m = std::ptr::null_mut();
            assert_eq!(fk_extract_emails(&t, &mut m), FkStatus::Ok);
            let (mut s, mut a) = (empty_schema(), empty_array());
            assert_eq!(
                fk_matches_to_arrow(m, std::ptr::null(), &t, &mut s, &mut a),
                FkStatus::Ok
            );
            assert_eq!(fk_arrow_live_exports(), before + 1);
            assert_eq!(CStr::from_ptr(s.format).to_bytes(), b"+L");
            assert_eq!((a.length, a.null_count, a.n_children), (4, 1, 1));
            let list_offs = std::slice::from_raw_parts(*a.buffers.add(1) as *const u64, 5);
            assert_eq!(list_offs, [0, 1, 1, 1, 2]);
            let bits = *(*a.buffers as *const u8);
            assert_eq!(bits & 0xf, 0b1101);
            let child = &**a.children;
            let co = std::slice::from_raw_parts(*child.buffers.add(1) as *const u64, 3);
            let cd = std::slice::from_raw_parts(*child.buffers.add(2) as *const u8, co[2] as usize);
            assert_eq!(cd, b"a@b.coc@d.org");
            (a.release.unwrap())(&mut a);
            (s.release.unwrap())(&mut s);
            assert!(a.release.is_none() && s.release.is_none());
            assert_eq!(fk_arrow_live_exports(), before);

            // Wrong type: a DTYPE error naming the format.
            let f2 = CString::new("i").unwrap();
            let bad = ArrowSchema {
                format: f2.as_ptr(),
                ..schema
            };
            assert_eq!(fk_texts_from_arrow(&bad, &array, &mut t, &mut l), FkStatus::Dtype);
        }
    }
}
