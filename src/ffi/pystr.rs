//! Texts given as CPython `str` objects, read in place (`FK_OFFSETS_PY_STRS`).
//!
//! Why: on millions of log lines the Python binding's own thread is what a per-text call
//! waits for, and turning a list of strs into one UTF-8 buffer (a per-str ASCII check, the
//! UTF-8 stand-ins of the non-ASCII ones, one join) was half of that thread's work. Given
//! the objects' addresses (a private slice of the caller's list, which keeps them alive),
//! the library copies their characters into UTF-8 itself, in the job that runs the kernel
//! on another thread (docs/python.md, "The strs read by the library").
//!
//! Nothing here depends on a Python at build time: the caller describes where a str keeps
//! its type, length, state bits and characters (`FkPyStrs`), having checked that
//! description on known strs first, and any object that does not fit it (another type, a
//! non-compact str, a lone surrogate) makes the call fail with `INVALID_VALUE`, after
//! which the binding encodes those texts itself (with its own error messages).

use std::ffi::c_void;

use crate::error::{Error, ErrorKind, Result};

/// Where the texts of an `FkTexts` with `offset_kind == FK_OFFSETS_PY_STRS` are: `n_texts`
/// CPython `str` objects, and the layout of such an object (all offsets in bytes from the
/// object's address). Only compact strs of exactly type `str_type` are read: ASCII ones
/// (`ascii` bit set) have their characters at `ascii_data_offset`, others at
/// `compact_data_offset`, `kind` bytes per character (1, 2 or 4, native byte order).
#[repr(C)]
pub struct FkPyStrs {
    /// `n_texts` object addresses.
    pub objects: *const *const c_void,
    /// The `str` type object: an object whose type pointer differs is refused.
    pub str_type: *const c_void,
    /// The object's type pointer.
    pub type_offset: usize,
    /// Its length in code points (a signed pointer-sized integer).
    pub length_offset: usize,
    /// Its 32-bit state word, holding the `kind` (3 bits), `compact` and `ascii` bits.
    pub state_offset: usize,
    pub ascii_data_offset: usize,
    pub compact_data_offset: usize,
    /// Bit positions in the state word.
    pub kind_shift: u32,
    pub compact_shift: u32,
    pub ascii_shift: u32,
}

/// The UTF-8 of the `n` strs `d` describes, back to back, and the n+1 byte offsets of
/// each; `first` numbers text 0 in messages.
///
/// # Safety
/// `d.objects` must point to `n` addresses, each of an object that is readable at
/// `d.type_offset` (every Python object is), and every object whose type pointer equals
/// `d.str_type` must be a str laid out as `d` says: readable at the length and state
/// offsets and, if compact, for its characters. All of it must stay alive and unchanged
/// (bar bits outside kind/compact/ascii of the state word, such as CPython's interning
/// bits, which another thread may set meanwhile) until this returns.
pub(crate) unsafe fn utf8_of(d: &FkPyStrs, n: usize, first: usize) -> Result<(Vec<u8>, Vec<usize>)> {
    if d.str_type.is_null() {
        return Err(super::null_err("FkPyStrs.str_type"));
    }
    // SAFETY: the caller's contract (NULL, alignment and overflow are checked).
    let objects = unsafe { super::slice_arg(d.objects, n, "FkPyStrs.objects") }?;
    let mut data: Vec<u8> = Vec::with_capacity(n.saturating_mul(48));
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0);
    for (i, &obj) in objects.iter().enumerate() {
        let refuse = |why: &str| {
            Error::new(
                ErrorKind::InvalidValue,
                format!("texts[{}] is not read in place: {why}", first + i),
            )
        };
        if obj.is_null() {
            return Err(refuse("its address is NULL"));
        }
        let at = |off: usize| (obj as *const u8).wrapping_add(off);
        // The reads below: every one is unaligned-tolerant, and the state word is read
        // volatile because another thread may rewrite the bits around the ones read
        // (interning), never those.
        // SAFETY: the caller's contract: every object is readable at `type_offset`.
        let ty = unsafe { at(d.type_offset).cast::<*const c_void>().read_unaligned() };
        if ty != d.str_type {
            return Err(refuse("not an exact str"));
        }
        // SAFETY: as above (the object is a str).
        let len = unsafe { at(d.length_offset).cast::<isize>().read_unaligned() };
        // SAFETY: as above.
        let state = unsafe { std::ptr::read_volatile(at(d.state_offset).cast::<[u8; 4]>()) };
        let state = u32::from_ne_bytes(state);
        let bit = |shift: u32| (state >> shift) & 1 == 1;
        let len = usize::try_from(len).map_err(|_| refuse("a negative length"))?;
        if !bit(d.compact_shift) {
            return Err(refuse("not a compact str"));
        }
        if bit(d.ascii_shift) {
            // SAFETY: as above: a compact ASCII str's `len` characters, one byte each.
            let chars = unsafe { std::slice::from_raw_parts(at(d.ascii_data_offset), len) };
            data.extend_from_slice(chars);
        } else {
            let chars = at(d.compact_data_offset);
            let kind = (state >> d.kind_shift) & 7;
            let width = match kind {
                1 | 2 | 4 => kind as usize,
                _ => return Err(refuse(&format!("an unknown kind {kind}"))),
            };
            let bytes = len
                .checked_mul(width)
                .filter(|&b| b <= isize::MAX as usize)
                .ok_or_else(|| refuse("its length overflows"))?;
            // SAFETY: as above: a compact str's `len` characters, `width` bytes each.
            let raw = unsafe { std::slice::from_raw_parts(chars, bytes) };
            push_utf8(&mut data, raw, width).map_err(|c| {
                refuse(&format!(
                    "it holds the code point U+{c:04X}, which UTF-8 cannot encode"
                ))
            })?;
        }
        offsets.push(data.len());
    }
    Ok((data, offsets))
}

/// Append the UTF-8 of the characters in `raw`, `width` bytes each in native byte order;
/// Err(the code point) for a surrogate (Python strs may hold lone ones; UTF-8 cannot) or a
/// value past U+10FFFF.
///
/// 1- and 2-byte characters go through encoding_rs's converters (word-at-a-time ASCII runs:
/// a per-character loop cost ~3 ns per character, three times the kernel's own time on
/// lines of CJK text); 2-byte ones are first checked for surrogates, which encoding_rs would
/// pair or replace where Python refuses them.
fn push_utf8(out: &mut Vec<u8>, raw: &[u8], width: usize) -> std::result::Result<(), u32> {
    let n = raw.len() >> width.trailing_zeros(); // width is 1, 2 or 4: no division per str
    let start = out.len();
    // Zeroed room for the longest UTF-8 (2 bytes per Latin-1 character, 3 per 2-byte one,
    // 4 per 4-byte one; encoding_rs asks for no more), cut back to what was written.
    let most = match width {
        1 => 2,
        2 => 3,
        _ => 4,
    };
    out.resize(start + n * most, 0);
    let dst = &mut out[start..];
    let written = match width {
        1 => encoding_rs::mem::convert_latin1_to_utf8(raw, dst),
        2 => {
            let units = u16_units(raw);
            if units.iter().fold(false, |any, &u| any | (u & 0xF800 == 0xD800)) {
                let u = units.iter().find(|&&u| u & 0xF800 == 0xD800).copied();
                out.truncate(start);
                return Err(u.map_or(0xD800, u32::from));
            }
            encoding_rs::mem::convert_utf16_to_utf8(&units, dst)
        }
        _ => {
            let mut w = 0;
            for unit in raw.chunks_exact(4) {
                let c = u32::from_ne_bytes([unit[0], unit[1], unit[2], unit[3]]);
                if c < 0x80 {
                    dst[w] = c as u8;
                    w += 1;
                } else {
                    let Some(ch) = char::from_u32(c) else {
                        out.truncate(start);
                        return Err(c);
                    };
                    w += ch.encode_utf8(&mut dst[w..]).len();
                }
            }
            w
        }
    };
    out.truncate(start + written);
    Ok(())
}

/// `raw` as 2-byte units in native byte order: borrowed where it is aligned for `u16` (a
/// CPython str's characters always are), else copied.
fn u16_units(raw: &[u8]) -> std::borrow::Cow<'_, [u16]> {
    // SAFETY: every bit pattern is a valid u16, and `align_to` puts only whole, aligned
    // u16s in the middle part.
    match unsafe { raw.align_to::<u16>() } {
        ([], units, []) => std::borrow::Cow::Borrowed(units),
        _ => std::borrow::Cow::Owned(
            raw.chunks_exact(2)
                .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake str type and objects in CPython 3.12's 64-bit layout (type at 8, length at 16,
    /// state at 32, ASCII characters at 40, others at 56; kind bits 2-4, compact 5, ascii 6).
    struct Fakes {
        objs: Vec<Vec<u64>>,
    }

    const STR_TYPE: usize = 0x1000;

    fn layout(objects: &[*const c_void]) -> FkPyStrs {
        FkPyStrs {
            objects: objects.as_ptr(),
            str_type: STR_TYPE as *const c_void,
            type_offset: 8,
            length_offset: 16,
            state_offset: 32,
            ascii_data_offset: 40,
            compact_data_offset: 56,
            kind_shift: 2,
            compact_shift: 5,
            ascii_shift: 6,
        }
    }

    fn fake(s: &str, ty: usize, compact: bool) -> Vec<u64> {
        let cps: Vec<u32> = s.chars().map(u32::from).collect();
        let max = cps.iter().copied().max().unwrap_or(0);
        let (kind, ascii) = match max {
            0..=0x7F => (1, true),
            0x80..=0xFF => (1, false),
            0x100..=0xFFFF => (2, false),
            _ => (4, false),
        };
        let mut chars = Vec::new();
        for &c in &cps {
            match kind {
                1 => chars.push(c as u8),
                2 => chars.extend_from_slice(&(c as u16).to_ne_bytes()),
                _ => chars.extend_from_slice(&c.to_ne_bytes()),
            }
        }
        let head = if ascii { 40 } else { 56 };
        let mut bytes = vec![0u8; head + chars.len() + 4];
        bytes[8..16].copy_from_slice(&(ty as u64).to_ne_bytes());
        bytes[16..24].copy_from_slice(&(cps.len() as u64).to_ne_bytes());
        let state: u32 = 3 | (kind << 2) | (u32::from(compact) << 5) | (u32::from(ascii) << 6) | (1 << 7);
        bytes[32..36].copy_from_slice(&state.to_ne_bytes());
        bytes[head..head + chars.len()].copy_from_slice(&chars);
        bytes
            .chunks(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                u64::from_ne_bytes(w)
            })
            .collect()
    }

    impl Fakes {
        fn new(texts: &[&str]) -> Fakes {
            Fakes {
                objs: texts.iter().map(|s| fake(s, STR_TYPE, true)).collect(),
            }
        }
        fn ptrs(&self) -> Vec<*const c_void> {
            self.objs.iter().map(|o| o.as_ptr() as *const c_void).collect()
        }
    }

    #[test]
    fn every_kind_of_str_comes_out_as_its_utf8() {
        let texts = [
            "",
            "plain ascii",
            "caf\u{e9} \u{ff}",
            "\u{20ac}uro \u{7528}\u{6237}",
            "emoji \u{1F600} and \u{10FFFF}",
            "\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}",
        ];
        let f = Fakes::new(&texts);
        let ptrs = f.ptrs();
        // SAFETY: the fakes are laid out as `layout` says and outlive the call.
        let (data, offs) = unsafe { utf8_of(&layout(&ptrs), ptrs.len(), 0) }.unwrap();
        assert_eq!(data, texts.concat().as_bytes());
        let mut want = vec![0];
        for t in &texts {
            want.push(want.last().unwrap() + t.len());
        }
        assert_eq!(offs, want);
    }

    #[test]
    fn long_mixed_characters_of_every_width_aligned_or_not() {
        // Runs of ASCII (the converters' word-at-a-time paths) between wider characters,
        // at every length to 70, from aligned and unaligned 2-byte units.
        let alphabet: Vec<char> = "ab \u{7f}\u{80}\u{e9}\u{ff}\u{100}\u{7ff}\u{800}\u{7528}\u{fffd}\u{ffff}\u{10000}\u{1F600}\u{10FFFF}"
            .chars()
            .collect();
        let mut x = 0x9E37_79B9u32;
        for len in 0..70 {
            for width in [1usize, 2, 4] {
                let cs: Vec<char> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        let c = alphabet[x as usize % alphabet.len()];
                        let fits = (u32::from(c) < 0x100 && width == 1)
                            || (u32::from(c) < 0x10000 && width == 2)
                            || width == 4;
                        if !x.is_multiple_of(3) && fits {
                            c
                        } else {
                            'a'
                        }
                    })
                    .collect();
                let mut raw = vec![0u8]; // one byte first: the units start unaligned
                for &c in &cs {
                    let c = u32::from(c);
                    match width {
                        1 => raw.push(c as u8),
                        2 => raw.extend_from_slice(&(c as u16).to_ne_bytes()),
                        _ => raw.extend_from_slice(&c.to_ne_bytes()),
                    }
                }
                let want: String = cs.iter().collect();
                // A fresh Vec is aligned for u16; one byte into `raw` is not.
                let aligned = raw[1..].to_vec();
                for src in [&aligned[..], &raw[1..]] {
                    let mut out = b"kept".to_vec();
                    push_utf8(&mut out, src, width).unwrap();
                    assert_eq!(&out[4..], want.as_bytes(), "{len} {width}");
                }
            }
        }
    }

    #[test]
    fn objects_it_cannot_read_are_refused_by_index() {
        let base = Fakes::new(&["ok", "fine"]);
        let mut cases: Vec<(Vec<u64>, &str)> = vec![
            (fake("x", STR_TYPE + 8, true), "not an exact str"),
            (fake("x", STR_TYPE, false), "not a compact str"),
            (fake("caf\u{e9}", STR_TYPE, false), "not a compact str"),
        ];
        // A lone surrogate in a 2-byte str, and a value past U+10FFFF in a 4-byte one.
        let mut sur = fake("\u{20ac}\u{20ac}", STR_TYPE, true);
        sur[7] = (sur[7] & !0xFFFF_0000) | (0xD800 << 16);
        cases.push((sur, "U+D800"));
        let mut big = fake("\u{1F600}", STR_TYPE, true);
        big[7] = 0x11_0000;
        cases.push((big, "U+110000"));
        for (bad, why) in cases {
            let mut ptrs = base.ptrs();
            ptrs.insert(1, bad.as_ptr() as *const c_void);
            // SAFETY: as above.
            let e = unsafe { utf8_of(&layout(&ptrs), 3, 10) }.unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidValue, "{why}");
            assert!(
                e.message.starts_with("texts[11] ") && e.message.contains(why),
                "{}",
                e.message
            );
        }
        let mut ptrs = base.ptrs();
        ptrs.push(std::ptr::null());
        // SAFETY: as above (NULL is refused before any read).
        let e = unsafe { utf8_of(&layout(&ptrs), 3, 0) }.unwrap_err();
        assert!(
            e.message.contains("texts[2] ") && e.message.contains("NULL"),
            "{}",
            e.message
        );
    }
}
