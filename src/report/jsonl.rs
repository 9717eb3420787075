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
    if let Some(text) = fast::text_field(line, field) {
        return Ok(text);
    }
    slow_text_field(line, field)
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
    use std::borrow::Cow;

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
                if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
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
        /// Skip a string with any valid escapes.
        fn skip_string(&mut self) -> Option<()> {
            self.eat(b'"')?;
            let mut i = self.i;
            loop {
                i = self.to_special(i)?;
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
            }
        }
        /// A string value, borrowed if it holds no escape, else unescaped.
        fn text(&mut self) -> Option<Cow<'a, str>> {
            self.eat(b'"')?;
            let start = self.i;
            let mut i = self.to_special(start)?;
            if self.b[i] == b'"' {
                self.i = i + 1;
                // SAFETY: the whole line was validated as UTF-8 and `start..i` is bounded
                // by ASCII bytes ('"'), so it is on character boundaries.
                return Some(Cow::Borrowed(unsafe {
                    std::str::from_utf8_unchecked(&self.b[start..i])
                }));
            }
            let mut out: Vec<u8> = Vec::with_capacity(i - start + 16);
            let mut run = start;
            loop {
                match self.b[i] {
                    b'"' => {
                        out.extend_from_slice(&self.b[run..i]);
                        self.i = i + 1;
                        // The runs copied are whole UTF-8 sequences of a valid line and the
                        // escapes were encoded from scalar values; checked anyway (with
                        // SIMD, a fraction of core's scalar check that this replaced, and a
                        // bug here must not become invalid str).
                        simdutf8::basic::from_utf8(&out).ok()?;
                        // SAFETY: `out` was validated as UTF-8 on the line above.
                        return Some(Cow::Owned(unsafe { String::from_utf8_unchecked(out) }));
                    }
                    b'\\' => {
                        out.extend_from_slice(&self.b[run..i]);
                        i += 1;
                        let c = match *self.b.get(i)? {
                            b'"' => b'"',
                            b'\\' => b'\\',
                            b'/' => b'/',
                            b'b' => 8,
                            b'f' => 12,
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'u' => {
                                let (ch, used) = unicode_escape(&self.b[i + 1..])?;
                                let mut buf = [0u8; 4];
                                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                                i += 1 + used;
                                run = i;
                                i = self.to_special(i)?;
                                continue;
                            }
                            _ => return None,
                        };
                        out.push(c);
                        i += 1;
                        run = i;
                        i = self.to_special(i)?;
                    }
                    _ => return None,
                }
            }
        }
        fn skip_value(&mut self, depth: u32) -> Option<()> {
            match *self.b.get(self.i)? {
                b'"' => self.skip_string(),
                b'{' => {
                    if depth >= MAX_DEPTH {
                        return None;
                    }
                    self.i += 1;
                    self.ws();
                    if self.eat(b'}').is_some() {
                        return Some(());
                    }
                    loop {
                        self.skip_string()?;
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                        self.skip_value(depth + 1)?;
                        self.ws();
                        if self.eat(b',').is_some() {
                            self.ws();
                            continue;
                        }
                        return self.eat(b'}');
                    }
                }
                b'[' => {
                    if depth >= MAX_DEPTH {
                        return None;
                    }
                    self.i += 1;
                    self.ws();
                    if self.eat(b']').is_some() {
                        return Some(());
                    }
                    loop {
                        self.skip_value(depth + 1)?;
                        self.ws();
                        if self.eat(b',').is_some() {
                            self.ws();
                            continue;
                        }
                        return self.eat(b']');
                    }
                }
                b't' => self.literal(b"true"),
                b'f' => self.literal(b"false"),
                b'n' => self.literal(b"null"),
                _ => self.number(),
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

    fn hex4(h: &[u8]) -> Option<u32> {
        let mut v = 0u32;
        for &c in h {
            v = v * 16 + (c as char).to_digit(16)?;
        }
        Some(v)
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

    /// `field`'s text, or None to let the slow path decide.
    pub fn text_field<'a>(line: &'a [u8], field: &str) -> Option<Cow<'a, str>> {
        if simdutf8::basic::from_utf8(line).is_err() {
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
                s.ws();
                s.eat(b':')?;
                s.ws();
                if key == field.as_bytes() {
                    if found.is_some() {
                        return None;
                    }
                    found = Some(s.text()?);
                } else {
                    s.skip_value(1)?;
                }
                s.ws();
                if s.eat(b',').is_some() {
                    s.ws();
                    continue;
                }
                s.eat(b'}')?;
                break;
            }
        }
        s.ws();
        if s.i != line.len() {
            return None;
        }
        found
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
            if let Some(fast) = fast::text_field(&l, "text") {
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
        }
        // The generator must exercise the fast path, not only the fallback.
        assert!(answered > total / 10, "{answered} of {total}");
    }

    #[test]
    fn long_texts_and_every_word_offset() {
        // Strings ending at every offset within the 8-byte words the scanner reads.
        for n in 0..40 {
            for esc in ["", "\\n", "\\ud83d\\ude00", "\\u4ef7"] {
                let text = format!("{}{esc}{}", "x".repeat(n), "y".repeat(n % 9));
                let l = format!("{{\"id\": {n}, \"text\": \"{text}\"}}");
                let fast = fast::text_field(l.as_bytes(), "text").expect("fast path");
                assert_eq!(Ok(fast), slow_text_field(l.as_bytes(), "text"));
            }
        }
        let big = format!("{{\"text\": \"{}\"}}", "价格 12 \\u00e9 ".repeat(100_000));
        assert_eq!(
            fast::text_field(big.as_bytes(), "text").map(|c| c.len()),
            slow_text_field(big.as_bytes(), "text").ok().map(|c| c.len())
        );
    }
}
