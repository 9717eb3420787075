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

/// n texts: text i is `data[offsets[i]..offsets[i+1] - gap]`, or, in the Arrow string-view
/// layout, described by 16-byte view i (see [`crate::text::arrow`]). A text whose validity
/// bit is 0 (Arrow null) reads as empty, whatever bytes its slot covers.
#[derive(Clone, Copy, Debug)]
pub struct TextBatch<'a> {
    data: &'a [u8],
    offsets: Offsets<'a>,
    /// Bytes after each text that belong to no text: 1 for NUL-separated texts read in
    /// place (see [`TextBatch::separated`]), else 0.
    gap: usize,
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
            gap: 0,
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
            gap: 0,
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
            // Most texts are ASCII: if the next n bytes are, they are exactly n code points,
            // checked a word at a time instead of walking byte by byte (the walk was a
            // third of the kernel time on millions of 40-byte lines).
            if let Ok(len) = usize::try_from(n) {
                if let Some(s) = pos.checked_add(len).and_then(|end| data.get(pos..end)) {
                    if s.is_ascii() {
                        pos += len;
                        out.push(pos);
                        continue;
                    }
                }
            }
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

    /// Where each of `n` texts stored with one NUL byte between neighbours starts, and one
    /// past the data's end (as if a NUL followed the last text): the n+1 offsets that
    /// [`TextBatch::separated`] reads the texts with, in place. Exactly n-1 NULs must be
    /// there, which proves that no text holds one (else a split would cut a text in two).
    pub fn separated_starts(data: &[u8], n: usize) -> Result<Vec<usize>> {
        let wrong_count = || {
            Error::new(
                ErrorKind::InvalidValue,
                format!(
                    "the data does not hold exactly {} NUL separators for {n} texts (a text contains NUL?)",
                    n - 1
                ),
            )
        };
        if n == 0 {
            if !data.is_empty() {
                return Err(Error::invalid("no texts, but the data is not empty"));
            }
            return Ok(vec![0]);
        }
        // `n` comes from the caller and no offsets array backs it: more texts than the data
        // has room for separators is an error before anything is sized by `n`.
        if n - 1 > data.len() {
            return Err(wrong_count());
        }
        let mut starts = Vec::with_capacity(n + 1);
        starts.push(0usize);
        let complete = for_each_nul(data, |p| {
            starts.push(p + 1);
            starts.len() <= n // one NUL too many: stop, reported below
        });
        if !complete || starts.len() != n {
            return Err(wrong_count());
        }
        starts.push(data.len() + 1);
        Ok(starts)
    }

    /// The texts of `data` at `starts` from [`TextBatch::separated_starts`], read in place:
    /// text i is `data[starts[i]..starts[i+1] - 1]`. No copy of the data: on millions of
    /// 40-byte log lines, copying each text out (one `memchr` and one `memcpy` per text) was
    /// a quarter of a findall job.
    pub fn separated(data: &'a [u8], starts: &'a [usize]) -> TextBatch<'a> {
        debug_assert!(starts.first() == Some(&0) && starts.last() == Some(&(data.len() + 1)));
        TextBatch {
            data,
            offsets: Offsets::Usize(starts),
            gap: 1,
            first_index: 0,
            views: None,
            validity: None,
        }
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
            None => (self.offsets.get(self.len()) - self.offsets.get(0)) as usize - self.gap * self.len(),
        }
    }

    #[inline]
    pub fn bytes(&self, i: usize) -> &'a [u8] {
        if self.is_null(i) {
            return &[];
        }
        match &self.views {
            Some(v) => v.get(i),
            None => &self.data[self.span(i)],
        }
    }

    /// Whether the texts lie back to back in one buffer (the offsets layout, not Arrow
    /// string views): only then do [`TextBatch::span`] and [`TextBatch::data`] apply.
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.views.is_none()
    }

    /// Where text i lies in [`TextBatch::data`] (contiguous batches only; a null text's
    /// span covers its slot's bytes, which [`TextBatch::bytes`] does not return).
    #[inline]
    pub fn span(&self, i: usize) -> Range<usize> {
        debug_assert!(self.is_contiguous());
        self.offsets.get(i) as usize..self.offsets.get(i + 1) as usize - self.gap
    }

    /// The whole buffer the offsets point into (texts `r` lie in `data()[span(r.start).start
    /// .. span(r.end - 1).end]`, in order, back to back or one separator byte apart).
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Whether every text of `r` is valid UTF-8, checked in one pass over their bytes: the
    /// texts lie back to back, so they are all valid exactly when their concatenation is
    /// and every boundary between them falls on a character start. One SIMD validation of
    /// a whole chunk instead of one call per text, which costs more than the text itself
    /// on 40-byte log lines.
    fn all_utf8(&self, r: Range<usize>) -> bool {
        if r.is_empty() {
            return true;
        }
        if !self.is_contiguous() || self.validity.is_some() {
            // Views are not back to back, and a null's slot bytes are not its text: check
            // each text (the caller falls back to per-text validation on `false`).
            return false;
        }
        // Separators (NUL) between the texts are ASCII: they change neither answer.
        let (start, end) = (self.span(r.start).start, self.span(r.end - 1).end);
        simdutf8::basic::from_utf8(&self.data[start..end]).is_ok()
            && (r.start + 1..r.end).all(|i| {
                let o = self.offsets.get(i) as usize;
                o >= end || (self.data[o] & 0xC0) != 0x80
            })
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
        let valid = self.all_utf8(r.clone());
        r.map(move |i| {
            let t = if valid {
                // SAFETY: `all_utf8` checked that text i is valid UTF-8.
                Ok(unsafe { std::str::from_utf8_unchecked(b.bytes(i)) })
            } else {
                // Some text is broken: check each, so the error names the first one.
                b.text(i)
            };
            (b.caller_index(i), t)
        })
    }

    /// Text i as `&str` when the caller knows from [`TextBatch::texts_valid`] that the
    /// texts of its range are valid UTF-8; checked otherwise.
    #[inline]
    pub(crate) fn text_in(&self, i: usize, valid: bool) -> Result<&'a str> {
        if valid {
            // SAFETY: the caller passes `valid` from `texts_valid` over a range holding i.
            Ok(unsafe { std::str::from_utf8_unchecked(self.bytes(i)) })
        } else {
            self.text(i)
        }
    }

    /// Whether every text of `r` is valid UTF-8 (one pass; see `all_utf8`).
    pub(crate) fn texts_valid(&self, r: Range<usize>) -> bool {
        self.all_utf8(r)
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

/// `f(p)` for every p where `data[p] == 0`, in order, while `f` returns true; whether every
/// NUL was visited. One pass, a 16-byte block at a time, instead of one `memchr` call per
/// NUL: with a NUL every few dozen bytes each call's setup costs more than its scan.
fn for_each_nul(data: &[u8], mut f: impl FnMut(usize) -> bool) -> bool {
    let mut blocks = data.chunks_exact(16);
    let mut base = 0;
    for block in &mut blocks {
        let mut mask = zero_bytes_16(block.try_into().expect("16 bytes"));
        while mask != 0 {
            if !f(base + mask.trailing_zeros() as usize) {
                return false;
            }
            mask &= mask - 1;
        }
        base += 16;
    }
    for (k, &b) in blocks.remainder().iter().enumerate() {
        if b == 0 && !f(base + k) {
            return false;
        }
    }
    true
}

/// Bit k set where `block[k] == 0`.
#[inline]
fn zero_bytes_16(block: &[u8; 16]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_setzero_si128};
        // SAFETY: SSE2 is part of the x86_64 baseline; the load is unaligned and reads
        // exactly the 16 bytes of `block`.
        unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast());
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) as u32
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        block
            .iter()
            .enumerate()
            .fold(0u32, |m, (k, &b)| m | (((b == 0) as u32) << k))
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
    fn chunk_validation_checks_every_boundary() {
        // "é" split between two texts: the concatenation is valid, the texts are not.
        let d = "aé".as_bytes();
        let b = TextBatch::new(d, Offsets::I64(&[0, 2, 3])).unwrap();
        let got: Vec<_> = b.texts(0..2).map(|(_, t)| t.is_ok()).collect();
        assert_eq!(got, [false, false]);
        let b = TextBatch::new(d, Offsets::I64(&[0, 1, 3])).unwrap();
        let got: Vec<_> = b.texts(0..2).map(|(_, t)| t.unwrap()).collect();
        assert_eq!(got, ["a", "é"]);
        // Empty texts at the end of the buffer, and a sub-range.
        let b = TextBatch::new(d, Offsets::I64(&[0, 1, 3, 3])).unwrap();
        assert!(b.texts(1..3).all(|(_, t)| t.is_ok()));
        assert!(b.texts_valid(0..3));
        let b = TextBatch::new(b"ok\xffno", Offsets::I64(&[0, 2, 5])).unwrap();
        assert!(!b.texts_valid(0..2) && b.texts_valid(0..1));
    }

    #[test]
    fn nul_separated_texts() {
        let texts = |data: &[u8], n| {
            let starts = TextBatch::separated_starts(data, n).unwrap();
            let b = TextBatch::separated(data, &starts);
            let all: Vec<String> = b.texts(0..b.len()).map(|(_, t)| t.unwrap().to_owned()).collect();
            (all, b.total_bytes())
        };
        assert_eq!(
            texts(b"ab\0\0c\0", 4),
            (vec!["ab".into(), "".into(), "c".into(), "".into()], 3)
        );
        assert_eq!(texts(b"", 1), (vec!["".into()], 0));
        assert_eq!(TextBatch::separated_starts(b"", 0).unwrap(), vec![0]);
        // A NUL inside a text makes one too many; one too few is caught too.
        assert!(TextBatch::separated_starts(b"a\0b\0c", 2).is_err());
        assert!(TextBatch::separated_starts(b"a\0b", 3).is_err());
        assert!(TextBatch::separated_starts(b"a", 0).is_err());
        // More texts than the data has room for: an error, not an allocation sized by `n`.
        assert!(TextBatch::separated_starts(b"a\0b", 1 << 40).is_err());
        assert!(TextBatch::separated_starts(b"", usize::MAX).is_err());
    }

    /// The block-wise NUL scan against a byte loop, at every length and alignment around
    /// the 16-byte blocks, with NULs dense, sparse and at block edges; and the texts read
    /// in place against the same texts given by offsets.
    #[test]
    fn separated_texts_read_in_place_equal_the_split() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in 0..200 {
            for density in [2u64, 5, 17, 64] {
                let data: Vec<u8> = (0..len)
                    .map(|_| match next() % density {
                        0 => 0,
                        1 => 0xC3, // half of "é": some texts are not valid UTF-8
                        2 => 0xA9,
                        _ => b'a' + (next() % 26) as u8,
                    })
                    .collect();
                let nuls: Vec<usize> = (0..len).filter(|&p| data[p] == 0).collect();
                let mut seen = Vec::new();
                assert!(for_each_nul(&data, |p| {
                    seen.push(p);
                    true
                }));
                assert_eq!(seen, nuls);
                let n = nuls.len() + 1;
                assert!(TextBatch::separated_starts(&data, n + 1).is_err());
                if n > 1 {
                    assert!(TextBatch::separated_starts(&data, n - 1).is_err());
                }
                let starts = TextBatch::separated_starts(&data, n).unwrap();
                let b = TextBatch::separated(&data, &starts);
                let split: Vec<&[u8]> = data.split(|&c| c == 0).collect();
                let mut offs = vec![0usize];
                let packed: Vec<u8> = split.concat();
                for t in &split {
                    offs.push(offs.last().unwrap() + t.len());
                }
                let plain = TextBatch::new(&packed, Offsets::Usize(&offs)).unwrap();
                assert_eq!(b.len(), n);
                assert_eq!(b.total_bytes(), plain.total_bytes());
                for (i, want) in split.iter().enumerate() {
                    assert_eq!(b.bytes(i), *want);
                    assert_eq!(b.text(i).ok(), plain.text(i).ok());
                }
                let r = 0..n;
                let mine: Vec<_> = b
                    .texts(r.clone())
                    .map(|(i, t)| (i, t.map_err(|e| e.message)))
                    .collect();
                let theirs: Vec<_> = plain
                    .texts(r)
                    .map(|(i, t)| (i, t.map_err(|e| e.message)))
                    .collect();
                assert_eq!(mine, theirs);
            }
        }
    }

    #[test]
    fn char_lengths_to_offsets() {
        let s = "aé中😀b";
        let o = TextBatch::offsets_from_char_lengths(s.as_bytes(), &[2, 0, 2, 1]).unwrap();
        assert_eq!(o, vec![0, 3, 3, 10, 11]);
        assert!(TextBatch::offsets_from_char_lengths(s.as_bytes(), &[2, 9]).is_err());
        assert!(TextBatch::offsets_from_char_lengths(s.as_bytes(), &[2]).is_err());
        // ASCII fast path, then a walk, then past the end.
        let s = "abcdé f";
        let o = TextBatch::offsets_from_char_lengths(s.as_bytes(), &[3, 2, 2]).unwrap();
        assert_eq!(o, vec![0, 3, 6, 8]);
        assert!(TextBatch::offsets_from_char_lengths(s.as_bytes(), &[3, 2, 2, 1]).is_err());
        assert!(TextBatch::offsets_from_char_lengths(s.as_bytes(), &[u64::MAX]).is_err());
    }
}
