//! The Arrow memory layouts the text kernels read besides plain offsets: validity bitmaps
//! (nulls) and string views (Arrow `string_view`, polars' native string layout), plus the
//! reshaping of flat results into Arrow columns. Pure Rust: the C Data Interface structs
//! that carry these buffers live in `ffi::arrow`.

use crate::error::{Error, Result};
use crate::text::{Matches, StringTable};

/// An Arrow validity bitmap: bit `offset + i` (LSB first) is 1 when item i is valid.
#[derive(Clone, Copy, Debug)]
pub struct Bitmap<'a> {
    bits: &'a [u8],
    offset: usize,
    len: usize,
}

impl<'a> Bitmap<'a> {
    /// `bits` must hold at least `offset + len` bits.
    pub fn new(bits: &'a [u8], offset: usize, len: usize) -> Result<Bitmap<'a>> {
        let need = offset
            .checked_add(len)
            .map(|b| b.div_ceil(8))
            .ok_or_else(|| Error::invalid("validity offset + length overflows"))?;
        if bits.len() < need {
            return Err(Error::invalid(format!(
                "validity bitmap holds {} bytes, {need} needed",
                bits.len()
            )));
        }
        Ok(Bitmap { bits, offset, len })
    }

    /// Bytes a bitmap of `offset + len` bits takes.
    pub fn bytes_for(offset: usize, len: usize) -> usize {
        offset.saturating_add(len).div_ceil(8)
    }

    #[inline]
    pub fn get(&self, i: usize) -> bool {
        let b = self.offset + i;
        self.bits[b >> 3] & (1 << (b & 7)) != 0
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bits realigned to start at bit 0 (what an exported array carries), and how many
    /// are 0 (nulls).
    pub fn realigned(&self) -> (Vec<u8>, usize) {
        let mut out = vec![0u8; self.len.div_ceil(8)];
        let mut nulls = 0;
        if self.offset.is_multiple_of(8) {
            let (start, n) = (self.offset / 8, out.len());
            out.copy_from_slice(&self.bits[start..start + n]);
            // Bits past `len` in the last byte are the producer's; clear them so the
            // null count below and any consumer see only ours.
            if !self.len.is_multiple_of(8) {
                if let Some(last) = out.last_mut() {
                    *last &= (1u8 << (self.len % 8)) - 1;
                }
            }
            let ones: usize = out.iter().map(|b| b.count_ones() as usize).sum();
            return (out, self.len - ones);
        }
        for i in 0..self.len {
            if self.get(i) {
                out[i >> 3] |= 1 << (i & 7);
            } else {
                nulls += 1;
            }
        }
        (out, nulls)
    }
}

/// Arrow string views: view i is 16 bytes, `len: i32` then either the string itself
/// (len <= 12, inline) or a 4-byte prefix, `buffer_index: i32`, `offset: i32` into one of
/// the variadic data buffers. All lengths and ranges are checked in [`Views::new`].
#[derive(Clone, Copy, Debug)]
pub struct Views<'a> {
    views: &'a [[u8; 16]],
    buffers: &'a [&'a [u8]],
}

#[inline]
fn le_i32(b: &[u8]) -> i32 {
    i32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

impl<'a> Views<'a> {
    /// Check every view against the buffers: a length is non-negative, an inline string
    /// fits in its view, an out-of-line one lies inside an existing buffer.
    pub fn new(views: &'a [[u8; 16]], buffers: &'a [&'a [u8]]) -> Result<Views<'a>> {
        for (i, v) in views.iter().enumerate() {
            let len = le_i32(&v[0..4]);
            if len < 0 {
                return Err(Error::invalid(format!(
                    "string view {i} has a negative length {len}"
                )));
            }
            if len > 12 {
                let (b, o) = (le_i32(&v[8..12]), le_i32(&v[12..16]));
                let ok = usize::try_from(b)
                    .ok()
                    .and_then(|b| buffers.get(b))
                    .zip(usize::try_from(o).ok())
                    .is_some_and(|(buf, o)| o.checked_add(len as usize).is_some_and(|e| e <= buf.len()));
                if !ok {
                    return Err(Error::invalid(format!(
                        "string view {i} (length {len}, buffer {b}, offset {o}) lies outside the {} data buffer(s)",
                        buffers.len()
                    )));
                }
            }
        }
        Ok(Views { views, buffers })
    }

    pub fn len(&self) -> usize {
        self.views.len()
    }

    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    /// The bytes of string i (validated by `new`).
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        let v: &'a [u8; 16] = &self.views[i];
        let len = le_i32(&v[0..4]) as usize;
        if len <= 12 {
            &v[4..4 + len]
        } else {
            let (b, o) = (le_i32(&v[8..12]) as usize, le_i32(&v[12..16]) as usize);
            &self.buffers[b][o..o + len]
        }
    }

    pub fn total_bytes(&self) -> usize {
        self.views.iter().map(|v| le_i32(&v[0..4]) as usize).sum()
    }
}

/// The fields of a multi-group `findall` result split into one string column per group
/// (Arrow struct children are separate columns; the flat result interleaves them). Each
/// column's offsets count from 0 in its own data buffer.
pub fn split_groups(m: &Matches) -> Vec<StringTable> {
    let k = m.fields_per_match.max(1);
    let n = m.fields.len() / k;
    let mut cols: Vec<StringTable> = (0..k)
        .map(|_| StringTable {
            data: Vec::with_capacity(m.fields.data.len() / k),
            offsets: {
                let mut o = Vec::with_capacity(n + 1);
                o.push(0);
                o
            },
        })
        .collect();
    let (data, offs) = (&m.fields.data, &m.fields.offsets);
    for j in 0..n {
        for (g, col) in cols.iter_mut().enumerate() {
            let f = j * k + g;
            col.data
                .extend_from_slice(&data[offs[f] as usize..offs[f + 1] as usize]);
            col.offsets.push(col.data.len() as u64);
        }
    }
    cols
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{Offsets, TextBatch};

    fn view_inline(s: &str) -> [u8; 16] {
        let mut v = [0u8; 16];
        v[0..4].copy_from_slice(&(s.len() as i32).to_le_bytes());
        v[4..4 + s.len()].copy_from_slice(s.as_bytes());
        v
    }
    fn view_out(len: usize, buf: i32, off: i32, prefix: &[u8]) -> [u8; 16] {
        let mut v = [0u8; 16];
        v[0..4].copy_from_slice(&(len as i32).to_le_bytes());
        v[4..8].copy_from_slice(&prefix[..4]);
        v[8..12].copy_from_slice(&buf.to_le_bytes());
        v[12..16].copy_from_slice(&off.to_le_bytes());
        v
    }

    #[test]
    fn views_inline_and_out_of_line() {
        let b0 = b"xxhello world, long string".as_slice();
        let bufs = [b0];
        let views = [
            view_inline(""),
            view_inline("twelve bytes"),
            view_out(24, 0, 2, b"hell"),
        ];
        let v = Views::new(&views, &bufs).unwrap();
        let batch = TextBatch::from_views(v);
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.text(0).unwrap(), "");
        assert_eq!(batch.text(1).unwrap(), "twelve bytes");
        assert_eq!(batch.text(2).unwrap(), "hello world, long string");
        assert_eq!(batch.total_bytes(), 36);
        // Out of range: a buffer that does not exist, a range past the end, a negative length.
        assert!(Views::new(&[view_out(24, 1, 0, b"hell")], &bufs).is_err());
        assert!(Views::new(&[view_out(24, 0, 3, b"hell")], &bufs).is_err());
        let mut neg = view_inline("");
        neg[0..4].copy_from_slice(&(-1i32).to_le_bytes());
        assert!(Views::new(&[neg], &bufs).is_err());
    }

    #[test]
    fn nulls_read_as_empty_and_bitmaps_realign() {
        // Text 1 is null and its slot holds invalid UTF-8: never read.
        let data = b"ab\xffcd";
        let offs = [0i64, 2, 3, 5];
        let bits = [0b1111_1010u8]; // offset 1: texts 0, 2 valid, 1 null
        let bm = Bitmap::new(&bits, 1, 3).unwrap();
        let b = TextBatch::new(data, Offsets::I64(&offs))
            .unwrap()
            .with_validity(Some(bm));
        assert_eq!(b.text(0).unwrap(), "ab");
        assert!(b.is_null(1));
        assert_eq!(b.text(1).unwrap(), "");
        assert_eq!(b.text(2).unwrap(), "cd");
        assert_eq!(bm.realigned(), (vec![0b101], 1));
        let aligned = Bitmap::new(&[0xff, 0b0000_0001], 8, 3).unwrap();
        assert_eq!(aligned.realigned(), (vec![0b001], 2));
        assert!(Bitmap::new(&bits, 6, 3).is_err());
    }

    #[test]
    fn groups_split_into_columns() {
        let mut m = Matches {
            fields_per_match: 2,
            ..Default::default()
        };
        for s in ["a", "1", "", "22", "é", "3"] {
            m.fields.push(s);
        }
        let cols = split_groups(&m);
        assert_eq!(cols[0].iter().collect::<Vec<_>>(), ["a", "", "é"]);
        assert_eq!(cols[1].iter().collect::<Vec<_>>(), ["1", "22", "3"]);
    }
}
