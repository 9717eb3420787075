//! `extract_and_aggregate`: per text, `(\w+)\s+(\d+)` with Python's classes, summed per key
//! with Python's `int()`, keys in first-seen order.
//!
//! A hand-written scanner instead of a regex: one pass per text, no capture machinery, and
//! linear where Python's backtracking is quadratic (on a long word run with no space after
//! it, `re` retries from every position of the run). It gives exactly the matches of
//! Python's leftmost, greedy search, because `\w` and `\s` are disjoint and `\d` is within
//! `\w`:
//! * a match starting inside a word run extends `\w+` to the run's end (backtracking to a
//!   shorter run would leave a word character where `\s` must be), so the leftmost match
//!   starts where the run starts, or where the previous match ended if that is later;
//! * after the spaces, `\d+` takes the maximal digit run, and the next search starts right
//!   after it — possibly in the middle of a word run (`"a 1b 2"` gives `a→1`, `b→2`).

use std::sync::OnceLock;

use super::pyclass::{PyClasses, DIGIT as D, SPACE as S, WORD as W};
use super::results::KeySums;
use super::unicode_tables::PY_DIGIT;
use crate::error::Result;
use crate::shared::hash::{eq_short, FxHashMap};
use crate::shared::pyint::PyInt;

/// Python's classes for ASCII, so the common case needs no decoding and no table walk.
const ASCII_FLAGS: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphabetic() || c == b'_' {
            t[b] = W;
        } else if c.is_ascii_digit() {
            t[b] = W | D;
        } else if matches!(c, b'\t'..=b'\r' | 0x1c..=b' ') {
            t[b] = S;
        }
        b += 1;
    }
    t
};

/// Class flags and byte length of the character starting at `b[i]`.
#[inline(always)]
fn class_at(cls: &PyClasses, b: &[u8], i: usize) -> (u8, usize) {
    let x = b[i];
    if x < 0x80 {
        return (ASCII_FLAGS[x as usize], 1);
    }
    // `b` is a &str's bytes and `i` a character boundary, so the sequence is complete.
    let (cp, len) = if x < 0xE0 {
        (((x as u32 & 0x1F) << 6) | (b[i + 1] as u32 & 0x3F), 2)
    } else if x < 0xF0 {
        (
            ((x as u32 & 0x0F) << 12) | ((b[i + 1] as u32 & 0x3F) << 6) | (b[i + 2] as u32 & 0x3F),
            3,
        )
    } else {
        let cp = ((x as u32 & 0x07) << 18)
            | ((b[i + 1] as u32 & 0x3F) << 12)
            | ((b[i + 2] as u32 & 0x3F) << 6)
            | (b[i + 3] as u32 & 0x3F);
        (cp, 4)
    };
    // SAFETY: decoded from valid UTF-8, so a Unicode scalar value.
    (cls.flags(unsafe { char::from_u32_unchecked(cp) }), len)
}

/// Lead bytes (of their UTF-8 encoding) of every non-ASCII character in Python's `\d`.
fn digit_leads() -> &'static [bool; 256] {
    static LEADS: OnceLock<[bool; 256]> = OnceLock::new();
    LEADS.get_or_init(|| {
        let mut t = [false; 256];
        for &(lo, hi, _) in PY_DIGIT {
            // The lead byte grows with the code point, so a range's leads are an interval.
            let lead = |cp: u32| char::from_u32(cp).map(|c| c.encode_utf8(&mut [0; 4]).as_bytes()[0]);
            if let (Some(a), Some(b)) = (lead(lo), lead(hi)) {
                for x in a..=b {
                    t[x as usize] = x >= 0x80;
                }
            }
        }
        t
    })
}

/// Class flags and start of the character that ends just before `b[i]` (`i > 0`, a
/// character boundary of a `&str`).
#[inline(always)]
fn class_before(cls: &PyClasses, b: &[u8], i: usize) -> (u8, usize) {
    let x = b[i - 1];
    if x < 0x80 {
        return (ASCII_FLAGS[x as usize], i - 1);
    }
    // A three-byte character (CJK, kana, most punctuation; the walk back over a CJK key
    // takes one per character): decoded in place, without the search for its lead.
    if i >= 3 && b[i - 3] & 0xF0 == 0xE0 && b[i - 2] & 0xC0 == 0x80 {
        let cp = ((b[i - 3] as u32 & 0x0F) << 12) | ((b[i - 2] as u32 & 0x3F) << 6) | (x as u32 & 0x3F);
        // SAFETY: b[i - 3..i] is a whole three-byte sequence of valid UTF-8 (a lead
        // 0xE0..0xEF then two continuation bytes ending at a character boundary), so
        // `cp` is a scalar value.
        return (cls.flags(unsafe { char::from_u32_unchecked(cp) }), i - 3);
    }
    let mut j = i - 1;
    while b[j] & 0xC0 == 0x80 {
        j -= 1;
    }
    (class_at(cls, b, j).0, j)
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The next position at or after `i` that may start a `\d` character: an ASCII digit,
/// or the lead byte of a non-ASCII decimal digit (then checked by decoding). Eight bytes
/// at a time: a word with no ASCII digit and no byte >= 0x80 is skipped whole.
#[inline(always)]
fn next_digit(cls: &PyClasses, leads: &[bool; 256], b: &[u8], mut i: usize) -> Option<usize> {
    let n = b.len();
    #[inline(always)]
    fn is_digit_at(cls: &PyClasses, leads: &[bool; 256], b: &[u8], k: usize) -> bool {
        let x = b[k];
        // A continuation byte is never in `leads`, so `k` is a character boundary here.
        x.is_ascii_digit() || (leads[x as usize] && class_at(cls, b, k).0 & D != 0)
    }
    let is_digit_at = |k: usize| is_digit_at(cls, leads, b, k);
    #[cfg(target_arch = "x86_64")]
    while i + 16 <= n {
        let mut m = sse2::candidates(b, i);
        while m != 0 {
            let k = i + m.trailing_zeros() as usize;
            if is_digit_at(k) {
                return Some(k);
            }
            m &= m - 1;
        }
        i += 16;
    }
    while i + 8 <= n {
        let w = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        // Top bit of each byte that is >= 0x30 and < 0x3A (ASCII digits), or >= 0xC0 (a
        // lead byte: every non-ASCII digit starts with one; continuation bytes 0x80..0xBF
        // are left out, so CJK text costs one candidate per character, not three).
        // (x + 0x50) has its top bit set for x >= 0x30, (x + 0x46) for x >= 0x3A; done on
        // the low 7 bits so that no carry crosses bytes (`& !w` drops the bytes >= 0x80
        // whose low 7 bits look like a digit). `w & (w << 1)` has a byte's top
        // bit set when its two top bits are (the shift's carry into the next byte lands
        // on bit 0, which HI masks off).
        let low = w & !HI;
        let ge30 = low.wrapping_add(LO * 0x50);
        let ge3a = low.wrapping_add(LO * 0x46);
        let mut m = ((ge30 & !ge3a & !w) | (w & (w << 1))) & HI;
        while m != 0 {
            let k = i + (m.trailing_zeros() / 8) as usize;
            if is_digit_at(k) {
                return Some(k);
            }
            m &= m - 1;
        }
        i += 8;
    }
    (i..n).find(|&k| is_digit_at(k))
}

/// The candidate search 16 bytes at a time with SSE2 (part of the x86_64 baseline, so no
/// runtime detection), and narrower than the 8-byte SWAR one: besides ASCII digits it only
/// takes the lead bytes 0xD9..=0xE1 and 0xEA..=0xF4, a superset of the lead bytes of every
/// non-ASCII `\d` (`digit_leads`; the test `sse2_candidates_cover_every_digit_lead` holds
/// it to that). That leaves out 0xE2..=0xE9 — general punctuation, CJK punctuation, kana
/// and the CJK ideographs — and the Latin, Greek and Cyrillic leads, which the SWAR test
/// takes as candidates one character at a time.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8, _mm_sub_epi8,
    };

    /// The ranges (inclusive, unsigned) whose bytes are candidates.
    pub(super) const RANGES: [(u8, u8); 3] = [(b'0', b'9'), (0xD9, 0xE1), (0xEA, 0xF4)];

    /// Bit j set when `b[i + j]` (j < 16) is a candidate. `i + 16 <= b.len()`.
    #[inline(always)]
    pub(super) fn candidates(b: &[u8], i: usize) -> u32 {
        assert!(i + 16 <= b.len());
        // SAFETY: SSE2 is always available on x86_64; the load reads b[i..i + 16], in
        // bounds by the assert above (unaligned loads are allowed).
        unsafe {
            let v = _mm_loadu_si128(b.as_ptr().add(i).cast());
            // x in lo..=hi (unsigned) exactly when min(x - lo, hi - lo) == x - lo (wrapping).
            let within = |lo: u8, hi: u8| -> __m128i {
                let d = _mm_sub_epi8(v, _mm_set1_epi8(lo as i8));
                _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8((hi - lo) as i8)), d)
            };
            let [a, c, e] = RANGES;
            let m = _mm_or_si128(_mm_or_si128(within(a.0, a.1), within(c.0, c.1)), within(e.0, e.1));
            _mm_movemask_epi8(m) as u32
        }
    }

    /// ASCII `\s` (Python's: `\t`..`\r` and U+001C..U+0020), as inclusive ranges.
    pub(super) const ASCII_SPACE: [(u8, u8); 2] = [(0x09, 0x0D), (0x1C, 0x20)];

    /// `x` in lo..=hi (unsigned), per lane: min(x - lo, hi - lo) == x - lo (wrapping).
    #[inline(always)]
    fn within(v: __m128i, lo: u8, hi: u8) -> __m128i {
        // SAFETY: SSE2 is always available on x86_64; register-only operations.
        unsafe {
            let d = _mm_sub_epi8(v, _mm_set1_epi8(lo as i8));
            _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8((hi - lo) as i8)), d)
        }
    }

    /// The 16 bytes at `p` (unaligned).
    ///
    /// # Safety
    /// `p..p + 16` must be readable.
    #[inline(always)]
    unsafe fn load(p: *const u8) -> __m128i {
        // SAFETY: the caller guarantees the 16 bytes are readable; SSE2 is always
        // available on x86_64 (unaligned loads are allowed).
        unsafe { _mm_loadu_si128(p.cast()) }
    }

    /// Bit j set when lane j of `v` is a candidate of [`candidates`] (an ASCII digit or a
    /// digit's possible lead byte) and lane j of `prev` (the byte before it) is an ASCII
    /// `\s` or >= 0x80 (the last byte of a non-ASCII character, which may be a `\s`
    /// such as U+3000 or U+00A0).
    #[inline(always)]
    fn after_space(v: __m128i, prev: __m128i) -> u32 {
        let [a, c, e] = RANGES;
        let digit = _or(_or(within(v, a.0, a.1), within(v, c.0, c.1)), within(v, e.0, e.1));
        let [s0, s1] = ASCII_SPACE;
        let space = _or(within(prev, s0.0, s0.1), within(prev, s1.0, s1.1));
        // SAFETY: SSE2 is always available on x86_64; register-only operations. The sign
        // bit of `prev` (its movemask) is the byte >= 0x80 test.
        unsafe { _mm_movemask_epi8(_mm_and_si128(digit, _or(space, prev))) as u32 }
    }

    /// The first position k >= `i` that may start the `\d+` of a match: `b[k]` is a
    /// candidate of [`candidates`] and `b[k - 1]` an ASCII `\s` or >= 0x80 (see
    /// [`after_space`]). A digit after a letter, '/', '=', '@', '+' or another digit — in
    /// handles, URLs, hashes and dates, most digit runs of social-media text — can never
    /// follow `\s+`, so it is not visited at all. Position 0 has nothing before it.
    #[inline(always)]
    pub(super) fn next_after_space(b: &[u8], i: usize) -> Option<usize> {
        let n = b.len();
        let mut i = i.max(1);
        let p = b.as_ptr();
        // Whole blocks: b[i - 1..i + 16] is within `b`.
        while i + 16 <= n {
            // SAFETY: i >= 1 and i + 16 <= n, so both 16-byte loads are within `b`.
            let m = unsafe { after_space(load(p.add(i)), load(p.add(i - 1))) };
            if m != 0 {
                return Some(i + m.trailing_zeros() as usize);
            }
            i += 16;
        }
        if i >= n {
            return None;
        }
        // The tail, 1..=15 bytes.
        let m = if n >= 17 {
            // The text's last 16 bytes (and the 16 before each), shifted to start at i.
            // SAFETY: n >= 17, so n - 17..n is within `b`.
            let m = unsafe { after_space(load(p.add(n - 16)), load(p.add(n - 17))) };
            m >> (i - (n - 16))
        } else {
            // A short text: a zero-padded copy (zero is no candidate and no space), with
            // one zero byte before it.
            let mut t = [0u8; 33];
            t[1..=n].copy_from_slice(b);
            // SAFETY: i <= 15, so t[i + 1..i + 17] and t[i..i + 16] are within `t`.
            unsafe { after_space(load(t.as_ptr().add(i + 1)), load(t.as_ptr().add(i))) }
        };
        (m != 0).then(|| i + m.trailing_zeros() as usize)
    }

    #[inline(always)]
    fn _or(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is always available on x86_64; register-only.
        unsafe { _mm_or_si128(a, b) }
    }
}

/// Call `emit(key, digits)` for every `(\w+)\s+(\d+)` match of `text`, in order.
///
/// Skips to the next digit run that may follow `\s` and verifies backwards: the digit
/// must follow `\s+`, which must follow a word character at or after where the search
/// resumes (`floor`, the end of the previous match); the key is that word run, cut at
/// `floor`. This is Python's leftmost match because each word run followed by `\s+\d`
/// corresponds to exactly one such digit (the first after the spaces), in the same
/// order; `\d+` then takes the maximal run. Digit-free stretches — most of a text — cost
/// a few instructions per sixteen bytes.
///
/// On x86_64 the search skips every digit whose preceding byte is an ASCII non-space
/// (`sse2::next_after_space`): such a digit either continues a run (not a match
/// start) or starts one that no `\s` precedes, which the backward check would reject
/// without moving `floor` — so leaving it out changes no answer. A candidate after a
/// byte of 0x80 or more may be after a non-ASCII space or after a digit (then not a run
/// start); the backward check decides both exactly. `for_each_kv_states` (the state machine this
/// replaced) and `for_each_kv_digits` (the previous search, every run start) are the
/// references the tests hold it to.
#[inline]
pub fn for_each_kv<'t>(
    cls: &PyClasses,
    text: &'t str,
    emit: impl FnMut(&'t str, &'t str) -> Result<()>,
) -> Result<()> {
    #[cfg(target_arch = "x86_64")]
    {
        let b = text.as_bytes();
        scan_kv(cls, text, emit, |i| sse2::next_after_space(b, i))
    }
    #[cfg(not(target_arch = "x86_64"))]
    for_each_kv_digits(cls, text, emit)
}

/// [`for_each_kv`] visiting the start of every digit run (the previous search; the
/// reference of the space-filtered one in tests and in the stage profile).
pub(crate) fn for_each_kv_digits<'t>(
    cls: &PyClasses,
    text: &'t str,
    emit: impl FnMut(&'t str, &'t str) -> Result<()>,
) -> Result<()> {
    let leads = digit_leads();
    let b = text.as_bytes();
    scan_kv(cls, text, emit, |i| next_digit(cls, leads, b, i))
}

/// The match loop of [`for_each_kv`] over the candidates `next(i)` gives (the first at or
/// after `i`): each an ASCII digit or the lead byte of a possible non-ASCII one, at a
/// character boundary. Every digit run start that follows `\s` must be among them.
#[inline(always)]
fn scan_kv<'t>(
    cls: &PyClasses,
    text: &'t str,
    mut emit: impl FnMut(&'t str, &'t str) -> Result<()>,
    mut next: impl FnMut(usize) -> Option<usize>,
) -> Result<()> {
    let b = text.as_bytes();
    let n = b.len();
    let (mut floor, mut i) = (0usize, 0usize);
    while let Some(d) = next(i) {
        // The digit run from d (maximal when d starts one; d may be inside a run, then
        // the backward check below rejects it, since a digit is not `\s`).
        let mut end = d;
        while end < n {
            let x = b[end];
            if x.is_ascii_digit() {
                end += 1;
                continue;
            }
            if x < 0x80 {
                break;
            }
            let (f, l) = class_at(cls, b, end);
            if f & D == 0 {
                break;
            }
            end += l;
        }
        if end == d {
            // A lead byte that does not start a digit.
            i = d + class_at(cls, b, d).1;
            continue;
        }
        i = end;
        // Backwards: \s+ then \w, both at or after floor.
        let mut e = d;
        while e > floor {
            let (f, j) = class_before(cls, b, e);
            if f & S == 0 {
                break;
            }
            e = j;
        }
        if e == d || e <= floor {
            continue;
        }
        let (f, mut q) = class_before(cls, b, e);
        if f & W == 0 {
            continue;
        }
        while q > floor {
            let (f, j) = class_before(cls, b, q);
            if f & W == 0 {
                break;
            }
            q = j;
        }
        emit(&text[q..e], &text[d..end])?;
        floor = end;
    }
    Ok(())
}

/// The scanner `for_each_kv` replaced, kept as its reference in tests and as the "before"
/// of the stage profile (`report::stages`): one state machine over every character.
///
/// One tight loop per state (outside, word, spaces, digits) instead of a per-character
/// `match state`: the hot loops are "skip while the class is X", which is what the CPU
/// predicts well (1.4x the single-loop version on the benchmark corpus, same output).
/// The states are labelled loops of one function, so it is longer than most on purpose.
pub(crate) fn for_each_kv_states<'t>(
    cls: &PyClasses,
    text: &'t str,
    mut emit: impl FnMut(&'t str, &'t str) -> Result<()>,
) -> Result<()> {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    'outside: loop {
        // Outside: skip to the next word character.
        loop {
            if i >= n {
                return Ok(());
            }
            let (f, l) = class_at(cls, b, i);
            if f & W != 0 {
                break;
            }
            i += l;
        }
        let mut key_start = i;
        'word: loop {
            // Word: i is at a word character; take the whole run.
            let (f, l) = loop {
                if i >= n {
                    return Ok(());
                }
                let (f, l) = class_at(cls, b, i);
                if f & W == 0 {
                    break (f, l);
                }
                i += l;
            };
            if f & S == 0 {
                i += l;
                continue 'outside;
            }
            let key_end = i;
            i += l;
            // Spaces.
            let (f, l) = loop {
                if i >= n {
                    return Ok(());
                }
                let (f, l) = class_at(cls, b, i);
                if f & S == 0 {
                    break (f, l);
                }
                i += l;
            };
            if f & D != 0 {
                // Digits: the maximal run, then the next search starts right after it.
                let digits_start = i;
                i += l;
                let (f, l) = loop {
                    if i >= n {
                        return emit(&text[key_start..key_end], &text[digits_start..]);
                    }
                    let (f, l) = class_at(cls, b, i);
                    if f & D == 0 {
                        break (f, l);
                    }
                    i += l;
                };
                emit(&text[key_start..key_end], &text[digits_start..i])?;
                if f & W != 0 {
                    key_start = i;
                    i += l;
                    continue 'word;
                }
                i += l;
                continue 'outside;
            }
            if f & W != 0 {
                key_start = i;
                i += l;
                continue 'word;
            }
            i += l;
            continue 'outside;
        }
    }
}

/// Per-text key → sum, in first-seen key order. Small maps are searched linearly (most
/// texts have a handful of keys); past 16 keys an index map takes over.
#[derive(Default)]
pub struct Aggregate<'t> {
    pub entries: Vec<(&'t str, PyInt)>,
    index: FxHashMap<&'t str, usize>,
}

impl<'t> Aggregate<'t> {
    pub fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
    }

    #[inline]
    pub fn add(&mut self, key: &'t str, value: PyInt) {
        let slot = if self.entries.len() <= 16 {
            self.entries
                .iter()
                .position(|(k, _)| eq_short(k.as_bytes(), key.as_bytes()))
        } else {
            if self.index.is_empty() {
                for (i, (k, _)) in self.entries.iter().enumerate() {
                    self.index.insert(k, i);
                }
            }
            self.index.get(key).copied()
        };
        match slot {
            Some(i) => self.entries[i].1.add_assign(&value),
            None => {
                if !self.index.is_empty() {
                    self.index.insert(key, self.entries.len());
                }
                self.entries.push((key, value));
            }
        }
    }
}

/// Parse a `\d+` run the way `int()` does, naming the text on failure.
#[inline]
fn parse_value(digits: &str, text_index: usize, max_digits: usize) -> Result<PyInt> {
    // Short ASCII runs take `from_digits`'s own fast path (no per-value buffer).
    PyInt::from_digits(digits, max_digits).map_err(|e| e.in_text(digits, text_index))
}

/// `extract_and_aggregate` over texts `range` of the batch, appending to `out`.
pub fn aggregate_texts<'t>(
    texts: impl Iterator<Item = (usize, Result<&'t str>)>,
    max_digits: usize,
    out: &mut KeySums,
) -> Result<()> {
    let cls = PyClasses::new();
    let mut agg = Aggregate::default();
    for (i, text) in texts {
        let text = text?;
        agg.clear();
        for_each_kv(&cls, text, |k, v| {
            agg.add(k, parse_value(v, i, max_digits)?);
            Ok(())
        })?;
        for (k, v) in &agg.entries {
            out.push(k, v);
        }
        out.text_offsets.close(out.values.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn kv(text: &str) -> Vec<(String, String)> {
        let mut v = Vec::new();
        for_each_kv(&PyClasses::new(), text, |k, d| {
            v.push((k.to_string(), d.to_string()));
            Ok(())
        })
        .unwrap();
        v
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sse2_candidates_cover_every_digit_lead() {
        let leads = digit_leads();
        for x in 0..=255u8 {
            let want = x.is_ascii_digit() || leads[x as usize];
            let got = sse2::RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&x));
            assert!(got || !want, "lead byte {x:#x} of a digit is not a candidate");
            // The vector test is the range test, at every lane.
            let mut b = [b'a'; 31];
            for lane in 0..16 {
                b[lane] = x;
                assert_eq!(sse2::candidates(&b, 0) >> lane & 1 == 1, got, "{x:#x} at {lane}");
                assert_eq!(sse2::candidates(&b, lane) & 1 == 1, got);
                b[lane] = b'a';
            }
        }
    }

    /// The space-filtered search against its definition, for every pair of (previous
    /// byte, byte) classes at every position and every start, in short texts (the padded
    /// copy), whole blocks and the shifted tail of a long text.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sse2_next_after_space_equals_its_definition() {
        let digitish = |x: u8| sse2::RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&x));
        let spaceish = |x: u8| x >= 0x80 || sse2::ASCII_SPACE.iter().any(|&(lo, hi)| (lo..=hi).contains(&x));
        // One representative byte of each class, and every class boundary.
        let bytes = [
            0u8, 0x08, 0x09, 0x0D, 0x0E, 0x1B, 0x1C, 0x20, 0x21, b'/', b'0', b'9', b':', b'a', 0x7F, 0x80,
            0xBF, 0xC0, 0xD8, 0xD9, 0xE1, 0xE2, 0xE9, 0xEA, 0xF4, 0xF5, 0xFF,
        ];
        for len in [1usize, 2, 5, 16, 17, 33, 40] {
            for &p in &bytes {
                for &x in &bytes {
                    for at in 0..len {
                        let mut b = vec![b'a'; len];
                        b[at] = x;
                        if at > 0 {
                            b[at - 1] = p;
                        }
                        for i in 0..=len {
                            let want = (i.max(1)..len).find(|&k| digitish(b[k]) && spaceish(b[k - 1]));
                            let got = sse2::next_after_space(&b, i);
                            assert_eq!(got, want, "len {len} prev {p:#x} byte {x:#x} at {at} from {i}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn matches_python_findall() {
        // Expected values are Python 3.11's re.findall(r"(\w+)\s+(\d+)", text).
        assert_eq!(kv("a 1b 2"), pairs(&[("a", "1"), ("b", "2")]));
        assert_eq!(kv("abc123 45x"), pairs(&[("abc123", "45")]));
        assert_eq!(kv("x  \t 7"), pairs(&[("x", "7")]));
        assert_eq!(kv("x y 1"), pairs(&[("y", "1")]));
        assert_eq!(kv("x, 1"), pairs(&[]));
        assert_eq!(kv("k\x1c5"), pairs(&[("k", "5")]));
        assert_eq!(kv("x² ٣٤"), pairs(&[("x²", "٣٤")]));
        assert_eq!(kv("e\u{301} 1"), pairs(&[]));
        assert_eq!(kv("1 2 3"), pairs(&[("1", "2")]));
        assert_eq!(kv("价格 12 数量 3"), pairs(&[("价格", "12"), ("数量", "3")]));
    }

    #[test]
    fn aggregates_in_first_seen_order() {
        let mut out = KeySums::default();
        let texts = ["b 1 a 2 b 3", "", "z 99999999999999999999"];
        aggregate_texts(texts.iter().enumerate().map(|(i, t)| (i, Ok(*t))), 4300, &mut out).unwrap();
        assert_eq!(out.keys.iter().collect::<Vec<_>>(), vec!["b", "a", "z"]);
        assert_eq!(out.values[..2], [4, 2]);
        assert_eq!(out.value_decimal(2), "99999999999999999999");
        assert_eq!(out.text_offsets.0, vec![0, 2, 2, 3]);
    }

    #[test]
    fn many_keys_switch_to_the_index() {
        let text: String = (0..100).map(|i| format!("k{} {} ", i % 40, i)).collect();
        let mut out = KeySums::default();
        aggregate_texts(std::iter::once((0, Ok(text.as_str()))), 0, &mut out).unwrap();
        assert_eq!(out.keys.len(), 40);
        assert_eq!(out.values[0], 40 + 80);
    }

    #[test]
    fn too_many_digits_is_python_valueerror() {
        let t = format!("k {}", "1".repeat(4301));
        let mut out = KeySums::default();
        let e = aggregate_texts(std::iter::once((3, Ok(t.as_str()))), 4300, &mut out).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidValue);
        assert!(
            e.message.starts_with("text 3: Exceeds the limit (4300 digits)"),
            "{}",
            e.message
        );
    }

    /// The skip-and-verify scanner against the state machine on random texts over an
    /// alphabet of every class boundary: ASCII and Unicode digits (Arabic-Indic,
    /// fullwidth, mathematical bold in the supplementary planes), digit-like word
    /// characters that are not `\d` (`²`, `½`), CJK, emoji, combining marks, Python-only
    /// spaces (U+001C, U+3000, U+00A0), at every length and alignment.
    #[test]
    fn skip_scanner_equals_the_state_machine() {
        const ALPHABET: &[&str] = &[
            "a",
            "Z",
            "_",
            "0",
            "7",
            "9",
            " ",
            "  ",
            "\t",
            "\n",
            "\x1c",
            "\u{3000}",
            "\u{a0}",
            "٣",
            "١٢",
            "１",
            "𝟙",
            "²",
            "½",
            "价",
            "格",
            "😀",
            "e\u{301}",
            "-",
            ",",
            "@",
            ".",
            "x1",
            "k 12",
            "价格 34",
            "\u{85}",
            "ß",
            "İ",
            // Continuation bytes 0xB0..0xB9 (their low 7 bits read as ASCII digits) and a
            // lead byte of the digit leads' set in a non-digit: the candidate search
            // must neither take them for digits nor lose the digit after them.
            "°",
            "¹",
            "ٹ",
            "\u{e50}",
            "𝟎",
            "\u{ff10}",
        ];
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        fn run(which: u8, cls: &PyClasses, t: &str) -> Vec<(String, String)> {
            let mut v = Vec::new();
            let push = |k: &str, d: &str| {
                v.push((k.to_string(), d.to_string()));
                Ok(())
            };
            match which {
                0 => for_each_kv(cls, t, push).unwrap(),
                1 => for_each_kv_digits(cls, t, push).unwrap(),
                _ => for_each_kv_states(cls, t, push).unwrap(),
            }
            v
        }
        let cls = PyClasses::new();
        for _ in 0..100_000 {
            let len = (next() % 40) as usize;
            let t: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let want = run(2, &cls, &t);
            assert_eq!(run(0, &cls, &t), want, "text {t:?}");
            assert_eq!(run(1, &cls, &t), want, "text {t:?}");
        }
        // Long runs: digits and words across many 8-byte words.
        for t in [
            format!("{} {}", "w".repeat(1000), "1".repeat(1000)),
            format!("{}价 ٣{}", "中".repeat(300), "x 5 ".repeat(300)),
            "9 ".repeat(2000),
        ] {
            assert_eq!(run(0, &cls, &t), run(2, &cls, &t));
            assert_eq!(run(1, &cls, &t), run(2, &cls, &t));
        }
    }

    #[test]
    fn digit_leads_cover_every_unicode_digit() {
        let cls = PyClasses::new();
        let leads = digit_leads();
        for c in (0x80..0x11_0000).filter_map(char::from_u32) {
            if cls.is_digit(c) {
                assert!(leads[c.encode_utf8(&mut [0; 4]).as_bytes()[0] as usize], "{c:?}");
            }
        }
    }
}
