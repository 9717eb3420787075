//! A batch of texts in the Arrow string layout: one UTF-8 buffer plus n+1 offsets.
//! Borrowed, never copied; validated once up front (offsets) and per text (UTF-8) as the
//! kernels reach it.

use std::ops::Range;

use rayon::prelude::*;

use crate::error::{Error, ErrorKind, Result};
use crate::parallel;

/// `bytes` as `&str`, or the offset of the first invalid byte. simdutf8 validates several
/// times faster than std (validation was 44% of the emails kernel); std runs again only on
/// failure, to say where the text breaks.
#[inline]
pub fn utf8(bytes: &[u8]) -> std::result::Result<&str, usize> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(_) => std::str::from_utf8(bytes).map_err(|e| e.valid_up_to()),
    }
}

/// The offsets of a batch, in the caller's own integer width.
#[derive(Clone, Copy, Debug)]
pub enum Offsets<'a> {
    I32(&'a [i32]),
    I64(&'a [i64]),
    /// Already-validated byte offsets (used for batches the library builds itself).
    Usize(&'a [usize]),
}

impl Offsets<'_> {
    fn len(&self) -> usize {
        match self {
            Offsets::I32(o) => o.len(),
            Offsets::I64(o) => o.len(),
            Offsets::Usize(o) => o.len(),
        }
    }
    #[inline]
    fn get(&self, i: usize) -> i64 {
        match self {
            Offsets::I32(o) => o[i] as i64,
            Offsets::I64(o) => o[i],
            Offsets::Usize(o) => o[i] as i64,
        }
    }
}

/// n texts: text i is `data[offsets[i]..offsets[i+1]]`, or, in the Arrow string-view
/// layout, described by 16-byte view i (see [`crate::text::arrow`]). A text whose validity
/// bit is 0 (Arrow null) reads as empty, whatever bytes its slot covers.
#[derive(Clone, Copy, Debug)]
pub struct TextBatch<'a> {
    data: &'a [u8],
    offsets: Offsets<'a>,
    /// The caller's number for text 0 (a slice of a bigger list), used only in messages.
    first_index: usize,
    /// Arrow string views (then `offsets` is a dummy of n+1 zeros' length only).
    views: Option<super::arrow::Views<'a>>,
    /// Arrow validity bitmap and the bit of text 0; None = no nulls.
    validity: Option<super::arrow::Bitmap<'a>>,
}

impl<'a> TextBatch<'a> {
    /// Check the offsets: n+1 of them, non-negative, non-decreasing, within `data`.
    /// UTF-8 is checked per text by [`TextBatch::text`].
    pub fn new(data: &'a [u8], offsets: Offsets<'a>) -> Result<TextBatch<'a>> {
        if offsets.len() == 0 {
            return Err(Error::invalid("offsets must hold n_texts + 1 entries"));
        }
        let mut prev = offsets.get(0);
        if prev < 0 {
            return Err(Error::invalid(format!("offsets[0] = {prev} is negative")));
        }
        for i in 1..offsets.len() {
            let o = offsets.get(i);
            if o < prev {
                return Err(Error::invalid(format!(
                    "offsets are not monotonic: offsets[{i}] = {o} < offsets[{}] = {prev}",
                    i - 1
                )));
            }
            prev = o;
        }
        if prev as u64 > data.len() as u64 {
            return Err(Error::invalid(format!(
                "offsets[{}] = {prev} exceeds the data length {}",
                offsets.len() - 1,
                data.len()
            )));
        }
        Ok(TextBatch {
            data,
            offsets,
            first_index: 0,
            views: None,
            validity: None,
        })
    }

    /// A batch in the Arrow string-view layout (validated by [`super::arrow::Views::new`]).
    pub fn from_views(views: super::arrow::Views<'a>) -> TextBatch<'a> {
        TextBatch {
            data: &[],
            offsets: Offsets::Usize(&[]),
            first_index: 0,
            views: Some(views),
            validity: None,
        }
    }

    /// Mark the texts whose bit is 0 in `validity` as null: they read as empty texts.
    pub fn with_validity(mut self, validity: Option<super::arrow::Bitmap<'a>>) -> TextBatch<'a> {
        self.validity = validity;
        self
    }

    /// Whether text i is null (an Arrow null; never for batches without a validity bitmap).
    #[inline]
    pub fn is_null(&self, i: usize) -> bool {
        self.validity.is_some_and(|v| !v.get(i))
    }

    /// The validity bitmap, if the batch has one.
    pub fn validity(&self) -> Option<super::arrow::Bitmap<'a>> {
        self.validity
    }

    /// Build a batch from per-text lengths counted in Unicode code points (what Python's
    /// `len(str)` returns) over one UTF-8 buffer holding the texts back to back. This lets a
    /// caller encode a whole list of `str` with one `''.join(texts).encode()`.
    pub fn offsets_from_char_lengths(data: &[u8], char_lengths: &[u64]) -> Result<Vec<usize>> {
        let mut out = Vec::with_capacity(char_lengths.len() + 1);
        out.push(0usize);
        let mut pos = 0usize;
        for (i, &n) in char_lengths.iter().enumerate() {
            let mut left = n;
            // Walk n code points: count non-continuation bytes.
            while left > 0 {
                if pos >= data.len() {
                    return Err(Error::invalid(format!(
                        "character lengths exceed the data: text {i} needs {n} code points but the buffer ends"
                    )));
                }
                pos += 1;
                while pos < data.len() && (data[pos] & 0xC0) == 0x80 {
                    pos += 1;
                }
                left -= 1;
            }
            out.push(pos);
        }
        if pos != data.len() {
            return Err(Error::invalid(format!(
                "character lengths cover {pos} of {} data bytes",
                data.len()
            )));
        }
        Ok(out)
    }

    /// Number texts from `first` in error messages (the batch is a slice of the caller's list).
    pub fn with_first_index(mut self, first: usize) -> TextBatch<'a> {
        self.first_index = first;
        self
    }

    /// The caller's number for text `i`, as error messages name it.
    #[inline]
    pub fn caller_index(&self, i: usize) -> usize {
        self.first_index.saturating_add(i)
    }

    pub fn len(&self) -> usize {
        match &self.views {
            Some(v) => v.len(),
            None => self.offsets.len() - 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes covered by the texts.
    pub fn total_bytes(&self) -> usize {
        match &self.views {
            Some(v) => v.total_bytes(),
            None => (self.offsets.get(self.len()) - self.offsets.get(0)) as usize,
        }
    }

    #[inline]
    pub fn bytes(&self, i: usize) -> &'a [u8] {
        if self.is_null(i) {
            return &[];
        }
        match &self.views {
            Some(v) => v.get(i),
            None => &self.data[self.offsets.get(i) as usize..self.offsets.get(i + 1) as usize],
        }
    }

    /// Text i as `&str`, or an error naming the text and the byte where UTF-8 breaks.
    #[inline]
    pub fn text(&self, i: usize) -> Result<&'a str> {
        utf8(self.bytes(i)).map_err(|at| {
            let n = self.caller_index(i);
            Error::new(
                ErrorKind::InvalidUtf8,
                format!("text {n} is not valid UTF-8: invalid byte at offset {at} of the text"),
            )
        })
    }

    /// Texts `r` of the batch, each with the number error messages give it (the caller's
    /// index, see [`TextBatch::with_first_index`]).
    pub fn texts(&self, r: Range<usize>) -> impl Iterator<Item = (usize, Result<&'a str>)> + 'a {
        let b = *self;
        r.map(move |i| (b.caller_index(i), b.text(i)))
    }

    /// Contiguous ranges of texts of balanced byte weight.
    pub fn chunks(&self) -> Vec<Range<usize>> {
        let target = parallel::chunk_target(self.total_bytes());
        parallel::balanced_ranges(self.len(), target, 1 << 16, |i| self.bytes(i).len())
    }

    /// Run `f` on every chunk in parallel and return the per-chunk results in input order.
    /// The first error in input order wins, whatever thread hit it first.
    pub fn map_chunks<T: Send>(&self, f: impl Fn(Range<usize>) -> Result<T> + Sync) -> Result<Vec<T>> {
        let chunks = self.chunks();
        let results: Vec<Result<T>> = parallel::run(|| chunks.into_par_iter().map(&f).collect())?;
        results.into_iter().collect()
    }
}

/// Code-point offsets for byte offsets into UTF-8 `data` (both n+1 long, same strings), so
/// a caller holding the decoded text can slice it instead of decoding every piece.
pub fn char_offsets(data: &[u8], byte_offsets: &[u64], out: &mut [u64]) -> Result<()> {
    if out.len() != byte_offsets.len() {
        return Err(Error::invalid(format!(
            "output holds {} offsets, input has {}",
            out.len(),
            byte_offsets.len()
        )));
    }
    let mut chars = 0u64;
    let mut prev = 0usize;
    for (i, &o) in byte_offsets.iter().enumerate() {
        let o = o as usize;
        if o < prev || o > data.len() {
            return Err(Error::invalid(format!(
                "byte offset {i} = {o} is not monotonic or exceeds the data ({})",
                data.len()
            )));
        }
        if o < data.len() && (data[o] & 0xC0) == 0x80 {
            return Err(Error::invalid(format!(
                "byte offset {i} = {o} is not at a character boundary"
            )));
        }
        chars += data[prev..o].iter().filter(|&&b| (b & 0xC0) != 0x80).count() as u64;
        out[i] = chars;
        prev = o;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_offsets() {
        let d = b"hello";
        assert!(TextBatch::new(d, Offsets::I64(&[])).is_err());
        assert!(TextBatch::new(d, Offsets::I64(&[-1, 2])).is_err());
        assert!(TextBatch::new(d, Offsets::I64(&[0, 3, 2]))
            .unwrap_err()
            .message
            .contains("monotonic"));
        assert!(TextBatch::new(d, Offsets::I32(&[0, 6]))
            .unwrap_err()
            .message
            .contains("exceeds"));
        let b = TextBatch::new(d, Offsets::I32(&[1, 3, 5])).unwrap();
        assert_eq!(b.text(0).unwrap(), "el");
        assert_eq!(b.text(1).unwrap(), "lo");
    }

    #[test]
    fn names_the_bad_text() {
        let d = b"ok\xffno";
        let b = TextBatch::new(d, Offsets::I64(&[0, 2, 5])).unwrap();
        let e = b.text(1).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidUtf8);
        assert!(e.message.contains("text 1"), "{}", e.message);
    }

    #[test]
    fn messages_use_the_callers_numbering() {
        let b = TextBatch::new(b"ok\xff", Offsets::I64(&[0, 2, 3]))
            .unwrap()
            .with_first_index(500);
        assert!(b.text(1).unwrap_err().message.starts_with("text 501 "));
    }

    #[test]
    fn char_lengths_to_offsets() {
        let s = "aé中😀b";
        let o = TextBatch::offsets_from_char_lengths(s.as_bytes(), &[2, 0, 2, 1]).unwrap();
        assert_eq!(o, vec![0, 3, 3, 10, 11]);
        assert!(TextBatch::offsets_from_char_lengths(s.as_bytes(), &[2, 9]).is_err());
        assert!(TextBatch::offsets_from_char_lengths(s.as_bytes(), &[2]).is_err());
    }
}
