//! JSON lines: pull one string field out of a line's JSON object without building the
//! whole value (what a report reads when its config names a text field).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The text of `field` in the JSON object on `line`, borrowed when it has no escapes;
/// otherwise the reason the line is invalid. Like Python's `json.loads(line)[field]`, the
/// last of duplicate keys wins; unlike it, NaN/Infinity and lone-surrogate escapes are
/// rejected (they are not JSON, and a lone surrogate is not text).
pub fn json_text_field<'a>(line: &'a [u8], field: &str) -> Result<Cow<'a, str>, String> {
    let mut buf = Vec::new();
    match fast::text_field(line, field, false, &mut buf) {
        Some(fast::Text::Line(s)) => Ok(Cow::Borrowed(s)),
        // Checked with SIMD (core's scalar check cost more than the copy).
        Some(fast::Text::Buf) => match simdutf8::basic::from_utf8(&buf) {
            Ok(s) => Ok(Cow::Owned(s.to_owned())),
            Err(_) => slow_text_field(line, field),
        },
        None => slow_text_field(line, field),
    }
}

/// [`json_text_field`] for a stream of lines: a text with escapes is unescaped into `buf`
/// (cleared first), which the caller keeps from line to line instead of allocating a
/// `String` per line.
///
/// `valid_utf8`: the caller has checked that `line` is valid UTF-8 (the chunk it was cut
/// from); otherwise the fast path checks the line first.
pub(crate) fn json_text_field_in<'a>(
    line: &'a [u8],
    field: &str,
    valid_utf8: bool,
    buf: &'a mut Vec<u8>,
) -> Result<Cow<'a, str>, String> {
    match fast::text_field(line, field, valid_utf8, buf) {
        Some(fast::Text::Line(s)) => Ok(Cow::Borrowed(s)),
        // The runs copied are whole UTF-8 sequences of a valid line and the escapes were
        // encoded from scalar values; checked anyway (with SIMD, a fraction of the
        // unescaping), so that a bug in the scanner cannot become an invalid str.
        Some(fast::Text::Buf) => match simdutf8::basic::from_utf8(buf) {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(_) => slow_text_field(line, field),
        },
        None => slow_text_field(line, field),
    }
}

/// The serde_json path: exact on every line, and the one that words the reasons.
pub(crate) fn slow_text_field<'a>(line: &'a [u8], field: &str) -> Result<Cow<'a, str>, String> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let found = TopSeed { field }
        .deserialize(&mut de)
        .and_then(|f| de.end().map(|_| f));
    match found {
        Ok(Found::Text(s)) => Ok(s),
        Ok(Found::Missing) => Err(format!("missing field {field:?}")),
        Ok(Found::Other(kind)) => Err(format!("field {field:?} is {kind}, not a string")),
        Ok(Found::NotObject(kind)) => Err(format!("the line is a JSON {kind}, not an object")),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

enum Found<'a> {
    Text(Cow<'a, str>),
    Missing,
    Other(&'static str),
    NotObject(&'static str),
}

/// A string that borrows from the input when it can.
struct MaybeBorrowed<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for MaybeBorrowed<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrOrKind).and_then(|v| match v {
            Ok(s) => Ok(MaybeBorrowed(s)),
            Err(_) => Err(de::Error::custom("key is not a string")),
        })
    }
}

/// Visits any value: a string comes back as text, anything else as the name of its kind
/// (after being consumed).
struct StrOrKind;

impl<'de> Visitor<'de> for StrOrKind {
    type Value = Result<Cow<'de, str>, &'static str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Ok(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Ok(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Ok(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Err("null"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        // With arbitrary_precision, serde_json hands numbers over as a one-entry map.
        let mut number = false;
        while let Some((k, _)) = m.next_entry::<MaybeBorrowed, IgnoredAny>()? {
            number = k.0 == "$serde_json::private::Number";
        }
        Ok(Err(if number { "a number" } else { "an object" }))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err("an array"))
    }
}

struct TopSeed<'f> {
    field: &'f str,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Found<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Found<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

struct FieldValue;

impl<'de> DeserializeSeed<'de> for FieldValue {
    type Value = Result<Cow<'de, str>, &'static str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(StrOrKind)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Found<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Found<'de>, A::Error> {
        let mut found = Found::Missing;
        let mut is_number = false;
        while let Some(k) = m.next_key::<MaybeBorrowed>()? {
            if k.0 == "$serde_json::private::Number" {
                is_number = true;
                m.next_value::<IgnoredAny>()?;
            } else if k.0 == self.field {
                found = match m.next_value_seed(FieldValue)? {
                    Ok(s) => Found::Text(s),
                    Err(kind) => Found::Other(kind),
                };
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(if is_number {
            Found::NotObject("number")
        } else {
            found
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Found<'de>, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Found::NotObject("array"))
    }
    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("string"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("string"))
    }
    fn visit_unit<E>(self) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("null"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("number"))
    }
}

/// The fast path: a hand-written scanner for the lines a corpus is made of — valid UTF-8,
/// one object, the field present once as a string. It answers only when it is sure that
/// serde_json (the slow path) would accept the line with the same text, and gives up
/// (`None`) on everything else: a key with an escape, a second occurrence of the field,
/// a surrogate escape that is not a well-formed pair, nesting deeper than 64, any syntax
/// error, a missing or non-string field. Giving up is always safe (the slow path decides,
/// and words the reason); so the scanner may be stricter than serde_json but never
/// laxer. It validates the whole line as UTF-8 once with SIMD (stricter than serde_json,
/// which does not look inside ignored strings), finds a string's end with a
/// word-at-a-time search for '"', '\\' and control bytes, and borrows the text when it
/// holds no escape.
mod fast {

    /// Deeper nesting than this goes to the slow path (serde_json's own limit is 128).
    const MAX_DEPTH: u32 = 64;

    struct Scan<'a> {
        b: &'a [u8],
        i: usize,
    }

    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;

    /// Bytes of `w` (little endian) that are '"', '\\' or below 0x20 have their top bit set
    /// in the result (the classic SWAR zero-byte test; exact for the lowest such byte,
    /// which is all that is used).
    #[inline(always)]
    fn specials(w: u64) -> u64 {
        let q = w ^ (LO * b'"' as u64);
        let s = w ^ (LO * b'\\' as u64);
        let zq = q.wrapping_sub(LO) & !q;
        let zs = s.wrapping_sub(LO) & !s;
        let ctl = w.wrapping_sub(LO * 0x20) & !w;
        (zq | zs | ctl) & HI
    }

    /// 16 bytes at a time with SSE2 (part of the x86_64 baseline, so no runtime detection):
    /// what the 8-byte SWAR test does, twice as wide and without its carry tricks.
    /// memchr's `memchr2` would find '"' and '\\' but not the control bytes, which JSON
    /// forbids raw inside a string and the scanner must stop on.
    #[cfg(target_arch = "x86_64")]
    mod sse2 {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };

        /// The index of the first '"', '\\' or byte < 0x20 at or after `*i` among the
        /// whole 16-byte blocks of `b`; None when there is none, with `*i` moved past the
        /// blocks searched (fewer than 16 bytes remain to be searched from there).
        #[inline(always)]
        pub fn to_special(b: &[u8], i: &mut usize) -> Option<usize> {
            // SAFETY: SSE2 is always available on x86_64. Every load reads the 16 bytes
            // b[*i..*i + 16], within `b` by the loop condition (unaligned loads are allowed).
            unsafe {
                let quote = _mm_set1_epi8(b'"' as i8);
                let backslash = _mm_set1_epi8(b'\\' as i8);
                let ctl_max = _mm_set1_epi8(0x1f);
                while *i + 16 <= b.len() {
                    let v = _mm_loadu_si128(b.as_ptr().add(*i).cast());
                    // min(v, 0x1f) == v exactly for the bytes <= 0x1f (unsigned).
                    let ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, ctl_max), v);
                    let hit = _mm_or_si128(
                        _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                        ctl,
                    );
                    let m = _mm_movemask_epi8(hit) as u32;
                    if m != 0 {
                        return Some(*i + m.trailing_zeros() as usize);
                    }
                    *i += 16;
                }
            }
            None
        }
    }

    impl<'a> Scan<'a> {
        #[inline(always)]
        fn ws(&mut self) {
            while let Some(&c) = self.b.get(self.i) {
                // One compare for the usual case, a structural byte or a value's first
                // byte (all above ' '), before the four whitespace bytes.
                if c > b' ' || !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                self.i += 1;
            }
        }
        #[inline(always)]
        fn eat(&mut self, c: u8) -> Option<()> {
            if self.b.get(self.i) == Some(&c) {
                self.i += 1;
                Some(())
            } else {
                None
            }
        }
        /// From just after an opening '"': the index of the next '"', '\\' or control byte.
        #[inline(always)]
        fn to_special(&self, mut i: usize) -> Option<usize> {
            let b = self.b;
            #[cfg(target_arch = "x86_64")]
            if let Some(at) = sse2::to_special(b, &mut i) {
                return Some(at);
            }
            while i + 8 <= b.len() {
                let w = u64::from_le_bytes(b[i..i + 8].try_into().ok()?);
                let m = specials(w);
                if m != 0 {
                    return Some(i + (m.trailing_zeros() / 8) as usize);
                }
                i += 8;
            }
            (i..b.len()).find(|&j| matches!(b[j], b'"' | b'\\' | 0..=0x1f))
        }
        /// A string without escapes (a key): its bytes; the cursor moves past it.
        fn plain_string(&mut self) -> Option<&'a [u8]> {
            self.eat(b'"')?;
            let start = self.i;
            let end = self.to_special(start)?;
            if self.b[end] != b'"' {
                return None;
            }
            self.i = end + 1;
            Some(&self.b[start..end])
        }
        /// Skip a string with any valid escapes. Inlined for the usual string (no escape:
        /// one search), the escapes are walked out of line: a call per skipped string was
        /// a fifth of its cost.
        #[inline(always)]
        fn skip_string(&mut self) -> Option<()> {
            self.eat(b'"')?;
            let i = self.to_special(self.i)?;
            if self.b[i] == b'"' {
                self.i = i + 1;
                return Some(());
            }
            self.skip_escapes(i)
        }
        /// The rest of a string from `i`, a backslash or a control byte within it.
        #[inline(never)]
        fn skip_escapes(&mut self, mut i: usize) -> Option<()> {
            loop {
                match self.b[i] {
                    b'"' => {
                        self.i = i + 1;
                        return Some(());
                    }
                    b'\\' => {
                        i += 1;
                        match *self.b.get(i)? {
                            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 1,
                            b'u' => {
                                hex4(self.b.get(i + 1..i + 5)?)?;
                                i += 5;
                            }
                            _ => return None,
                        }
                    }
                    _ => return None,
                }
                i = self.to_special(i)?;
            }
        }
        /// A string value: borrowed if it holds no escape, else unescaped into `out`
        /// (cleared first; UTF-8 left to the caller to check).
        fn text(&mut self, out: &mut Vec<u8>) -> Option<Text<'a>> {
            self.eat(b'"')?;
            let start = self.i;
            let b = self.b;
            let mut i = self.to_special(start)?;
            if b[i] == b'"' {
                self.i = i + 1;
                // SAFETY: the whole line was validated as UTF-8 and `start..i` is bounded
                // by ASCII bytes ('"'), so it is on character boundaries.
                return Some(Text::Line(unsafe { std::str::from_utf8_unchecked(&b[start..i]) }));
            }
            out.clear();
            // Unescaping never lengthens the text (a two-byte escape stands for one byte,
            // `\uXXXX` for at most three, a twelve-byte surrogate pair for four), so the
            // rest of the line bounds it: one reservation, and no growth check ever
            // reallocates inside the loop.
            out.reserve(b.len() - start);
            let mut run = start;
            loop {
                out.extend_from_slice(&b[run..i]);
                if b[i] != b'\\' {
                    if b[i] == b'"' {
                        self.i = i + 1;
                        return Some(Text::Buf);
                    }
                    return None;
                }
                // `i` is at a backslash.
                if *b.get(i + 1)? == b'u' {
                    // A run of \u escapes (CJK text from `json.dumps` with its default
                    // ensure_ascii: every character one escape) is decoded escape after
                    // escape, without a search for the next special byte in between.
                    loop {
                        let u = hex4(b.get(i + 2..i + 6)?)?;
                        if u & 0xF800 == 0xD800 {
                            // A surrogate: only a high one followed by a low one is text.
                            let (c, used) = unicode_escape(&b[i + 2..])?;
                            push_char(out, c);
                            i += 2 + used;
                        } else {
                            push_bmp(out, u);
                            i += 6;
                        }
                        if b.get(i..i + 2) != Some(&b"\\u"[..]) {
                            break;
                        }
                    }
                } else {
                    let c = ESCAPE[*b.get(i + 1)? as usize];
                    if c == 0xff {
                        return None;
                    }
                    out.push(c);
                    i += 2;
                }
                run = i;
                i = self.to_special(i)?;
            }
        }
        /// `ws ':' ws` between a key and its value. `json.dumps` writes `": "`: that case is
        /// one two-byte compare and one look at the next byte.
        #[inline(always)]
        fn colon(&mut self) -> Option<()> {
            if self.b.get(self.i..self.i + 2) == Some(&b": "[..]) {
                self.i += 2;
            } else {
                self.ws();
                self.eat(b':')?;
            }
            self.ws();
            Some(())
        }
        /// After a value: `ws ','  ws` (true) or `ws` followed by `close`, consumed (false);
        /// None for anything else. `", "` (`json.dumps`) is one two-byte compare.
        #[inline(always)]
        fn comma_or(&mut self, close: u8) -> Option<bool> {
            if self.b.get(self.i..self.i + 2) == Some(&b", "[..]) {
                self.i += 2;
                self.ws();
                return Some(true);
            }
            self.ws();
            match *self.b.get(self.i)? {
                b',' => {
                    self.i += 1;
                    self.ws();
                    Some(true)
                }
                c if c == close => {
                    self.i += 1;
                    Some(false)
                }
                _ => None,
            }
        }
        /// Skip one value, nested ones included, without recursion: an explicit stack of
        /// the open containers (bit `d` of `arrays` set when the one at depth `d` is an
        /// array), one loop over values and one over what follows a value. A value whose
        /// containers nest deeper than `MAX_DEPTH` gives up (the slow path decides).
        fn skip_value(&mut self) -> Option<()> {
            let mut depth = 0u32;
            let mut arrays = 0u64;
            loop {
                // A value starts at `self.i`.
                match *self.b.get(self.i)? {
                    b'"' => self.skip_string()?,
                    open @ (b'{' | b'[') => {
                        if depth + 1 >= MAX_DEPTH {
                            return None;
                        }
                        self.i += 1;
                        self.ws();
                        let close = open + 2; // '}' and ']' are two after '{' and '['
                        if self.eat(close).is_none() {
                            depth += 1;
                            if open == b'[' {
                                arrays |= 1 << depth;
                            } else {
                                arrays &= !(1 << depth);
                                self.skip_string()?;
                                self.colon()?;
                            }
                            continue;
                        }
                    }
                    b't' => self.literal(b"true")?,
                    b'f' => self.literal(b"false")?,
                    b'n' => self.literal(b"null")?,
                    _ => self.number()?,
                }
                // A value has ended: close containers until one has a next element.
                loop {
                    if depth == 0 {
                        return Some(());
                    }
                    let array = arrays & (1 << depth) != 0;
                    if self.comma_or(if array { b']' } else { b'}' })? {
                        if !array {
                            self.skip_string()?;
                            self.colon()?;
                        }
                        break;
                    }
                    depth -= 1;
                }
            }
        }
        fn literal(&mut self, word: &[u8]) -> Option<()> {
            if self.b[self.i..].starts_with(word) {
                self.i += word.len();
                Some(())
            } else {
                None
            }
        }
        /// JSON's number grammar (what serde_json checks for a value it skips).
        fn number(&mut self) -> Option<()> {
            self.eat(b'-');
            let digits = |s: &mut Scan| {
                let from = s.i;
                // 8 bytes at a time (ids and counts are long digit runs): a byte is a
                // digit exactly when `x = byte ^ '0'` is below 10, i.e. when neither x's
                // top bit nor that of (x & 0x7f) + 0x76 is set; no carry crosses bytes.
                while s.i + 8 <= s.b.len() {
                    let Ok(w) = <[u8; 8]>::try_from(&s.b[s.i..s.i + 8]) else {
                        break;
                    };
                    let x = u64::from_le_bytes(w) ^ (LO * b'0' as u64);
                    let non_digit = (((x & !HI).wrapping_add(LO * 0x76)) | x) & HI;
                    if non_digit != 0 {
                        s.i += (non_digit.trailing_zeros() / 8) as usize;
                        return s.i > from;
                    }
                    s.i += 8;
                }
                while s.b.get(s.i).is_some_and(u8::is_ascii_digit) {
                    s.i += 1;
                }
                s.i > from
            };
            match *self.b.get(self.i)? {
                b'0' => self.i += 1,
                b'1'..=b'9' => {
                    digits(self);
                }
                _ => return None,
            }
            if self.eat(b'.').is_some() && !digits(self) {
                return None;
            }
            if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
                self.i += 1;
                if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                    self.i += 1;
                }
                if !digits(self) {
                    return None;
                }
            }
            Some(())
        }
    }

    /// What each byte after a backslash stands for in a two-byte escape; 0xff for the bytes
    /// that do not make one (`u` included: `\u` escapes are decoded apart).
    const ESCAPE: [u8; 256] = {
        let mut t = [0xffu8; 256];
        t[b'"' as usize] = b'"';
        t[b'\\' as usize] = b'\\';
        t[b'/' as usize] = b'/';
        t[b'b' as usize] = 8;
        t[b'f' as usize] = 12;
        t[b'n' as usize] = b'\n';
        t[b'r' as usize] = b'\r';
        t[b't' as usize] = b'\t';
        t
    };

    /// Append the UTF-8 of `u`, a code point of the BMP that is not a surrogate (so a
    /// scalar value, without `char::from_u32`'s check).
    #[inline(always)]
    fn push_bmp(out: &mut Vec<u8>, u: u32) {
        debug_assert!(u < 0x1_0000 && !(0xD800..0xE000).contains(&u));
        if u < 0x80 {
            out.push(u as u8);
        } else if u < 0x800 {
            out.extend_from_slice(&[0xc0 | (u >> 6) as u8, 0x80 | (u & 0x3f) as u8]);
        } else {
            out.extend_from_slice(&[
                0xe0 | (u >> 12) as u8,
                0x80 | ((u >> 6) & 0x3f) as u8,
                0x80 | (u & 0x3f) as u8,
            ]);
        }
    }

    /// Hex digit values by byte; 0xff for every byte that is not a hex digit.
    const HEX: [u8; 256] = {
        let mut t = [0xffu8; 256];
        let mut c = 0;
        while c < 256 {
            t[c] = match c as u8 {
                b'0'..=b'9' => c as u8 - b'0',
                b'a'..=b'f' => c as u8 - b'a' + 10,
                b'A'..=b'F' => c as u8 - b'A' + 10,
                _ => 0xff,
            };
            c += 1;
        }
        t
    };

    /// The value of exactly four hex digits (a `\u` escape's), by table: one lookup per
    /// digit and one test for all four.
    #[inline(always)]
    fn hex4(h: &[u8]) -> Option<u32> {
        let &[a, b, c, d] = h else { return None };
        let (a, b, c, d) = (HEX[a as usize], HEX[b as usize], HEX[c as usize], HEX[d as usize]);
        if (a | b | c | d) & 0xf0 != 0 {
            return None;
        }
        Some((a as u32) << 12 | (b as u32) << 8 | (c as u32) << 4 | d as u32)
    }

    /// Append `c` as UTF-8 (byte pushes: `encode_utf8` plus `extend_from_slice` was a
    /// `memcpy` call per escaped character).
    #[inline(always)]
    fn push_char(out: &mut Vec<u8>, c: char) {
        let c = c as u32;
        if c < 0x80 {
            out.push(c as u8);
        } else if c < 0x800 {
            out.extend_from_slice(&[0xc0 | (c >> 6) as u8, 0x80 | (c & 0x3f) as u8]);
        } else if c < 0x1_0000 {
            out.extend_from_slice(&[
                0xe0 | (c >> 12) as u8,
                0x80 | ((c >> 6) & 0x3f) as u8,
                0x80 | (c & 0x3f) as u8,
            ]);
        } else {
            out.extend_from_slice(&[
                0xf0 | (c >> 18) as u8,
                0x80 | ((c >> 12) & 0x3f) as u8,
                0x80 | ((c >> 6) & 0x3f) as u8,
                0x80 | (c & 0x3f) as u8,
            ]);
        }
    }

    /// The character of a `\\u` escape whose hex digits start `h`, and how many bytes it
    /// used (4, or 10 for a surrogate pair). None for a lone or reversed surrogate.
    fn unicode_escape(h: &[u8]) -> Option<(char, usize)> {
        let hi = hex4(h.get(..4)?)?;
        match hi {
            0xD800..=0xDBFF => {
                if h.get(4..6)? != b"\\u" {
                    return None;
                }
                let lo = hex4(h.get(6..10)?)?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return None;
                }
                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)).map(|c| (c, 10))
            }
            0xDC00..=0xDFFF => None,
            _ => char::from_u32(hi).map(|c| (c, 4)),
        }
    }

    /// Where the field's text is: in the line (no escapes), or unescaped into the buffer.
    pub enum Text<'a> {
        Line(&'a str),
        Buf,
    }

    /// `field`'s text, or None to let the slow path decide; `buf` receives the text when
    /// it holds escapes. `valid_utf8`: the caller has checked the whole line as UTF-8 (the
    /// borrowed text relies on it), so it is not checked again.
    pub fn text_field<'a>(
        line: &'a [u8],
        field: &str,
        valid_utf8: bool,
        buf: &mut Vec<u8>,
    ) -> Option<Text<'a>> {
        if !valid_utf8 && simdutf8::basic::from_utf8(line).is_err() {
            return None;
        }
        let mut s = Scan { b: line, i: 0 };
        s.ws();
        s.eat(b'{')?;
        s.ws();
        let mut found = None;
        if s.eat(b'}').is_none() {
            loop {
                let key = s.plain_string()?;
                if key == b"$serde_json::private::Number" {
                    return None;
                }
                s.colon()?;
                if key == field.as_bytes() {
                    if found.is_some() {
                        return None;
                    }
                    found = Some(s.text(buf)?);
                } else {
                    s.skip_value()?;
                }
                if !s.comma_or(b'}')? {
                    break;
                }
            }
        }
        s.ws();
        if s.i != line.len() {
            return None;
        }
        found
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The reference: JSON's number grammar, a byte at a time.
        fn number_end(b: &[u8]) -> Option<usize> {
            let mut i = usize::from(b.first() == Some(&b'-'));
            let run = |i: &mut usize| {
                let from = *i;
                while b.get(*i).is_some_and(u8::is_ascii_digit) {
                    *i += 1;
                }
                *i > from
            };
            match b.get(i)? {
                b'0' => i += 1,
                b'1'..=b'9' => {
                    run(&mut i);
                }
                _ => return None,
            }
            if b.get(i) == Some(&b'.') {
                i += 1;
                if !run(&mut i) {
                    return None;
                }
            }
            if matches!(b.get(i), Some(b'e' | b'E')) {
                i += 1;
                if matches!(b.get(i), Some(b'+' | b'-')) {
                    i += 1;
                }
                if !run(&mut i) {
                    return None;
                }
            }
            Some(i)
        }

        #[test]
        fn digit_runs_every_byte_in_every_lane() {
            // Every byte value right after a digit run of every length 0..=20, so each
            // lane of the 8-byte test meets each value, then the rest of a number.
            for n in 0..=20usize {
                for x in 0..=255u8 {
                    for tail in [&b""[..], b"123456789", b".5e+12345678901", b"e7"] {
                        let mut b = b"1".repeat(n.max(1));
                        b.push(x);
                        b.extend_from_slice(tail);
                        let mut s = Scan { b: &b, i: 0 };
                        let got = s.number().map(|()| s.i);
                        assert_eq!(got, number_end(&b), "{:?}", String::from_utf8_lossy(&b));
                    }
                }
            }
        }

        #[test]
        fn hex4_every_byte_in_every_place() {
            for x in 0..=255u8 {
                for at in 0..4 {
                    let mut h = *b"09aF";
                    h[at] = x;
                    let want = std::str::from_utf8(&h)
                        .ok()
                        .filter(|s| s.bytes().all(|c| c.is_ascii_hexdigit()))
                        .and_then(|s| u32::from_str_radix(s, 16).ok());
                    assert_eq!(hex4(&h), want, "{h:?}");
                }
            }
            assert_eq!(hex4(b"123"), None);
        }

        #[test]
        fn push_char_equals_encode_utf8() {
            for c in (0..0x11_0000)
                .step_by(7)
                .chain([0x7f, 0x80, 0x7ff, 0x800, 0xffff, 0x1_0000, 0x10_ffff])
            {
                let Some(c) = char::from_u32(c) else { continue };
                let mut out = Vec::new();
                push_char(&mut out, c);
                assert_eq!(out, c.to_string().as_bytes());
                if (c as u32) < 0x1_0000 {
                    out.clear();
                    push_bmp(&mut out, c as u32);
                    assert_eq!(out, c.to_string().as_bytes());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_field_extraction() {
        fn f(s: &str) -> Result<Cow<'_, str>, String> {
            json_text_field(s.as_bytes(), "text")
        }
        assert_eq!(f(r#"{"id": 1, "text": "a 1"}"#).unwrap(), "a 1");
        assert!(matches!(f(r#"{"text": "plain"}"#).unwrap(), Cow::Borrowed(_)));
        assert_eq!(
            f(r#"{"text": "e\u00e9\n", "x": [1, {"y": null}]}"#).unwrap(),
            "eé\n"
        );
        assert_eq!(f(r#"{"text": "first", "text": "last"}"#).unwrap(), "last");
        assert_eq!(f(r#"{"id": 1}"#).unwrap_err(), "missing field \"text\"");
        assert_eq!(
            f(r#"{"text": null}"#).unwrap_err(),
            "field \"text\" is null, not a string"
        );
        assert_eq!(
            f(r#"{"text": 12.5}"#).unwrap_err(),
            "field \"text\" is a number, not a string"
        );
        assert_eq!(
            f(r#"{"text": [1]}"#).unwrap_err(),
            "field \"text\" is an array, not a string"
        );
        assert_eq!(
            f(r#"[1, 2]"#).unwrap_err(),
            "the line is a JSON array, not an object"
        );
        assert_eq!(f(r#"7"#).unwrap_err(), "the line is a JSON number, not an object");
        assert!(f(r#"{"text": "a"} x"#)
            .unwrap_err()
            .starts_with("invalid JSON: trailing characters"));
        assert!(f(r#"{"text": "a""#).unwrap_err().starts_with("invalid JSON"));
        assert!(f(r#"{"text": "\ud800"}"#)
            .unwrap_err()
            .starts_with("invalid JSON"));
        assert!(f("").unwrap_err().starts_with("invalid JSON"));
        assert!(json_text_field(b"{\"text\": \"\xff\"}", "text")
            .unwrap_err()
            .starts_with("invalid JSON"));
    }
}

/// The fast path against serde_json on random lines: valid posts with every kind of
/// escape (surrogate pairs, lone and reversed surrogates, control escapes), nesting,
/// numbers, duplicate and escaped keys, then the same lines with random bytes changed,
/// cut or inserted. Whenever the fast path answers, serde_json must give the same text.
#[cfg(test)]
mod fast_path_props {
    use super::*;

    /// The fast path alone, its answer as a `Cow` (borrowed when the text is the line's).
    fn fast_text<'a>(line: &'a [u8], field: &str) -> Option<Cow<'a, str>> {
        let mut buf = Vec::new();
        match fast::text_field(line, field, false, &mut buf)? {
            fast::Text::Line(s) => Some(Cow::Borrowed(s)),
            fast::Text::Buf => Some(Cow::Owned(String::from_utf8(buf).expect("UTF-8"))),
        }
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            // xorshift64*: deterministic, good enough to spread test cases.
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[self.below(xs.len())]
        }
    }

    /// String pieces: the first `GOOD_PIECES` are valid inside a JSON string.
    const PIECES: &[&str] = &[
        "a",
        "price 12",
        " ",
        "价格 ٣٤",
        "😀",
        "Bob@Example.COM",
        "\\n",
        "\\\"",
        "\\\\",
        "\\/",
        "\\b\\f\\r\\t",
        "\\u4ef7\\u683c",
        "\\ud83d\\ude00",
        "\\u00e9",
        "\\u0000",
        "x\u{7f}",
        "é",
        "\\ud800",
        "\\udc00",
        "\\ud800\\u0041",
        "\\uZZZZ",
        "\\x",
        "\t",
        "\u{1}",
        "\\u12",
    ];
    const GOOD_PIECES: usize = 17;
    /// Values: the first `GOOD_VALUES` are valid JSON.
    const VALUES: &[&str] = &[
        "1",
        "-0",
        "0.5",
        "1e5",
        "-12.5E-3",
        "true",
        "false",
        "null",
        "[]",
        "{}",
        "[1, [2, {\"a\": [null]}]]",
        "{\"text\": 1}",
        "\"s\"",
        "\"\\u00e9\"",
        "\"\\ud800\"",
        "01",
        "1.",
        "-",
        "nul",
        "NaN",
        "[1,]",
        "{\"a\" 1}",
    ];
    const GOOD_VALUES: usize = 15;

    fn string(r: &mut Rng, clean: bool) -> String {
        let n = r.below(6);
        let set = if clean { &PIECES[..GOOD_PIECES] } else { PIECES };
        (0..n).map(|_| r.pick(set)).collect()
    }

    fn line(r: &mut Rng) -> Vec<u8> {
        // Half the lines are built from valid parts only, so that the fast path answers.
        let clean = r.below(2) == 0;
        let mut s = String::from(r.pick(&["{", " {", "{\r\n"]));
        let fields = r.below(6) + clean as usize;
        // A clean line has the field exactly once, as a string, and no key the fast path
        // leaves to the slow one.
        let at = r.below(fields.max(1));
        for i in 0..fields {
            if i > 0 {
                s.push_str(r.pick(&[",", ", ", " ,\t"]));
            }
            let key = if clean && i == at {
                "text"
            } else if clean {
                r.pick(&["id", "user", "", "lang"])
            } else {
                r.pick(&[
                    "text",
                    "id",
                    "te\\u0078t",
                    "user",
                    "",
                    "$serde_json::private::Number",
                ])
            };
            s.push_str(&format!("\"{key}\"{}", r.pick(&[":", " : ", ":\n"])));
            if r.below(3) > 0 || (clean && i == at) {
                s.push('"');
                s.push_str(&string(r, clean));
                s.push('"');
            } else {
                s.push_str(r.pick(if clean { &VALUES[..GOOD_VALUES] } else { VALUES }));
            }
        }
        s.push_str(r.pick(if clean {
            &["}", "} ", "}\r"]
        } else {
            &["}", "}x", "", "}\r"]
        }));
        let mut b = s.into_bytes();
        match r.below(if clean { 12 } else { 6 }) {
            0 if !b.is_empty() => {
                let i = r.below(b.len());
                b[i] = r.next() as u8;
            }
            1 if !b.is_empty() => {
                let i = r.below(b.len());
                b.truncate(i);
            }
            2 => {
                let i = r.below(b.len() + 1);
                b.insert(i, r.pick(&["\"", "\\", "{", "}", ",", "\u{0}"]).as_bytes()[0]);
            }
            _ => {}
        }
        b
    }

    #[test]
    fn fast_answers_agree_with_serde_json() {
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        let (mut answered, mut total) = (0, 0);
        for _ in 0..200_000 {
            let l = line(&mut r);
            total += 1;
            let slow = slow_text_field(&l, "text");
            if let Some(fast) = fast_text(&l, "text") {
                answered += 1;
                assert_eq!(
                    slow.as_deref(),
                    Ok(&*fast),
                    "line {:?}",
                    String::from_utf8_lossy(&l)
                );
                if !fast.contains(['\\', '"', '\n']) && !l.contains(&b'\\') {
                    assert!(matches!(fast, Cow::Borrowed(_)));
                }
            }
            assert_eq!(json_text_field(&l, "text"), slow);
            // A line known to be valid UTF-8 (its chunk was checked) skips the check and
            // answers the same.
            if std::str::from_utf8(&l).is_ok() {
                let mut buf = Vec::new();
                assert_eq!(json_text_field_in(&l, "text", true, &mut buf), slow);
            }
        }
        // The generator must exercise the fast path, not only the fallback.
        assert!(answered > total / 10, "{answered} of {total}");
    }

    #[test]
    fn nesting_around_the_depth_limit() {
        // Arrays, objects and both alternating, nested 0..=70 deep before and after the
        // field, empty and not, closed and cut: the iterative skip against serde_json (the
        // fast path may give up past its limit, never answer differently).
        let mut answered = 0;
        for depth in 0..=70 {
            for (open, close, inner) in [
                ("[", "]", "1"),
                ("{\"a\": ", "}", "\"s\""),
                ("[{\"b\":[", "]}]", "null"),
                ("[", "]", ""),
                ("{\"a\": ", "}", "{}"),
            ] {
                let v = format!("{}{inner}{}", open.repeat(depth), close.repeat(depth));
                for l in [
                    format!("{{\"x\": {v}, \"text\": \"t 1\"}}"),
                    format!("{{\"text\": \"t 1\", \"x\": [{v}, {v}], \"y\": 2}}"),
                    format!("{{\"text\": \"t 1\", \"x\": {}}}", &v[..v.len() / 2]),
                    format!("{{\"text\": \"t 1\", \"x\": {v}]}}"),
                ] {
                    let slow = slow_text_field(l.as_bytes(), "text");
                    if let Some(fast) = fast_text(l.as_bytes(), "text") {
                        answered += 1;
                        assert_eq!(slow.as_deref(), Ok(&*fast), "{l}");
                    }
                    assert_eq!(json_text_field(l.as_bytes(), "text"), slow, "{l}");
                }
            }
        }
        assert!(answered > 500, "{answered}");
    }

    #[test]
    fn long_texts_and_every_word_offset() {
        // Strings ending at every offset within the 8-byte words the scanner reads.
        for n in 0..40 {
            for esc in ["", "\\n", "\\ud83d\\ude00", "\\u4ef7"] {
                let text = format!("{}{esc}{}", "x".repeat(n), "y".repeat(n % 9));
                let l = format!("{{\"id\": {n}, \"text\": \"{text}\"}}");
                let fast = fast_text(l.as_bytes(), "text").expect("fast path");
                assert_eq!(Ok(fast), slow_text_field(l.as_bytes(), "text"));
            }
        }
        // Long runs of consecutive \u escapes (how ensure_ascii writes CJK and emoji),
        // with pairs, ASCII escapes and plain runs between them, cut at every length.
        let run = "\\u4ef7\\u683c\\ud83d\\ude00\\u0041\\u00e9x\\n\\u0031".repeat(50);
        for cut in 0..run.len() {
            let l = format!("{{\"text\": \"{}\", \"n\": 12345678901234567890}}", &run[..cut]);
            let slow = slow_text_field(l.as_bytes(), "text");
            match fast_text(l.as_bytes(), "text") {
                Some(fast) => assert_eq!(Ok(fast), slow),
                // The fast path gives up only on a cut inside an escape (invalid JSON).
                None => assert!(slow.is_err(), "{l}"),
            }
        }
        let big = format!("{{\"text\": \"{}\"}}", "价格 12 \\u00e9 ".repeat(100_000));
        assert_eq!(
            fast_text(big.as_bytes(), "text").map(|c| c.len()),
            slow_text_field(big.as_bytes(), "text").ok().map(|c| c.len())
        );
    }
}
