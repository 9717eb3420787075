//! The report's aggregate state, and the per-document work that fills it.
//!
//! A [`Tally`] is what one chunk of documents contributes and also what a whole report
//! holds: merging is addition of counts plus "first samples win" for invalid lines, so it
//! is associative, and merging chunk tallies in input order gives the same state whatever
//! the chunk size, thread count or byte-range split.

use std::borrow::Cow;
use std::fmt;
use std::io::Write;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::config::{Config, PatternMode, INVALID_SAMPLES, PREVIEW_CHARS};
use crate::text::emails::for_each_email;
use crate::text::hash::FxHashMap;
use crate::text::kv::{for_each_kv, Aggregate};
use crate::text::pyclass::PyClasses;
use crate::text::pyint::PyInt;

/// A key's total over all documents and the number of documents it appears in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyStat {
    pub total: PyInt,
    pub docs: u64,
}

/// A named pattern's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PatternTally {
    pub total: u64,
    /// Only filled in findall mode.
    pub counts: FxHashMap<Box<str>, u64>,
}

/// Where an invalid line was: a byte offset in a file's (decompressed) stream, or the
/// index of a text among all texts fed from memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pos {
    Offset(u64),
    Index(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidLine {
    pub source: String,
    pub pos: Pos,
    pub reason: String,
    pub preview: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Lines (or texts) read, valid or not.
    pub lines: u64,
    /// Valid documents.
    pub documents: u64,
    /// Bytes of the lines read, terminators included (decompressed for gzip).
    pub bytes: u64,
    pub invalid_count: u64,
    /// The first [`INVALID_SAMPLES`] invalid lines in input order.
    pub invalid: Vec<InvalidLine>,
    /// Number of `(\w+)\s+(\d+)` matches.
    pub kv_pairs: u64,
    pub kv: FxHashMap<Box<str>, KeyStat>,
    pub emails_total: u64,
    pub emails: FxHashMap<Box<str>, u64>,
    pub patterns: Vec<PatternTally>,
}

fn add_count(map: &mut FxHashMap<Box<str>, u64>, key: &str, n: u64) {
    // Look up by &str first: a key already present costs no allocation.
    match map.get_mut(key) {
        Some(c) => *c += n,
        None => {
            map.insert(key.into(), n);
        }
    }
}

fn merge_counts(dst: &mut FxHashMap<Box<str>, u64>, src: FxHashMap<Box<str>, u64>) {
    if dst.is_empty() {
        *dst = src;
        return;
    }
    for (k, n) in src {
        match dst.get_mut(&*k) {
            Some(c) => *c += n,
            None => {
                dst.insert(k, n);
            }
        }
    }
}

impl Tally {
    pub fn new(cfg: &Config) -> Tally {
        Tally {
            patterns: vec![PatternTally::default(); cfg.patterns.len()],
            ..Default::default()
        }
    }

    fn add_invalid(&mut self, source: &str, pos: Pos, reason: String, line: &[u8]) {
        self.invalid_count += 1;
        if self.invalid.len() < INVALID_SAMPLES {
            let head = &line[..line.len().min(PREVIEW_CHARS * 4)];
            let preview: String = String::from_utf8_lossy(head)
                .chars()
                .take(PREVIEW_CHARS)
                .collect();
            self.invalid.push(InvalidLine {
                source: source.to_string(),
                pos,
                reason,
                preview,
            });
        }
    }

    /// Add `other`, which covers input that comes after everything in `self`.
    pub fn merge(&mut self, other: Tally) {
        self.lines += other.lines;
        self.documents += other.documents;
        self.bytes += other.bytes;
        self.invalid_count += other.invalid_count;
        let room = INVALID_SAMPLES.saturating_sub(self.invalid.len());
        self.invalid.extend(other.invalid.into_iter().take(room));
        self.kv_pairs += other.kv_pairs;
        if self.kv.is_empty() {
            self.kv = other.kv;
        } else {
            for (k, s) in other.kv {
                match self.kv.get_mut(&*k) {
                    Some(d) => {
                        d.total.add_assign(&s.total);
                        d.docs += s.docs;
                    }
                    None => {
                        self.kv.insert(k, s);
                    }
                }
            }
        }
        self.emails_total += other.emails_total;
        merge_counts(&mut self.emails, other.emails);
        for (d, s) in self.patterns.iter_mut().zip(other.patterns) {
            d.total += s.total;
            merge_counts(&mut d.counts, s.counts);
        }
    }
}

/// Runs the configured extractors on documents and adds them to a [`Tally`]; optionally
/// writes each document's own results as one JSON line.
pub struct Processor<'c> {
    cfg: &'c Config,
    cls: PyClasses,
    per_doc: bool,
}

/// One document's extraction, held until it is known to be valid so that an invalid
/// document contributes nothing but its invalid count.
struct DocResult<'t> {
    kv: Aggregate<'t>,
    kv_pairs: u64,
}

impl<'c> Processor<'c> {
    pub fn new(cfg: &'c Config, per_doc: bool) -> Processor<'c> {
        Processor {
            cfg,
            cls: PyClasses::new(),
            per_doc,
        }
    }

    /// One input line ('\n' already removed; `raw_len` counts it) at `pos` of `source`.
    pub fn line(&self, t: &mut Tally, out: &mut Vec<u8>, source: &str, pos: Pos, line: &[u8], raw_len: u64) {
        // A CRLF file's lines end in "\r\n": the "\r" belongs to the terminator.
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.doc(t, out, source, pos, line, raw_len)
    }

    /// One document (a line without its terminator, or a text fed from memory).
    pub fn doc(&self, t: &mut Tally, out: &mut Vec<u8>, source: &str, pos: Pos, line: &[u8], raw_len: u64) {
        t.lines += 1;
        t.bytes += raw_len;
        if line.len() > self.cfg.max_line_bytes {
            let reason = format!(
                "line of {} bytes exceeds the limit of {} bytes",
                line.len(),
                self.cfg.max_line_bytes
            );
            return self.invalid(t, out, source, pos, reason, line);
        }
        let text: Cow<str> = match &self.cfg.text_field {
            None => match crate::text::batch::utf8(line) {
                Ok(s) => Cow::Borrowed(s),
                Err(at) => {
                    let reason = format!("invalid UTF-8 at byte {at} of the line");
                    return self.invalid(t, out, source, pos, reason, line);
                }
            },
            Some(field) => match json_text_field(line, field) {
                Ok(s) => s,
                Err(reason) => return self.invalid(t, out, source, pos, reason, line),
            },
        };
        match self.extract(&text) {
            Ok(r) => self.apply(t, out, &text, r),
            Err(reason) => self.invalid(t, out, source, pos, reason, line),
        }
    }

    /// An overlong line that the reader skipped without holding it.
    pub fn overlong(
        &self,
        t: &mut Tally,
        out: &mut Vec<u8>,
        source: &str,
        offset: u64,
        content_len: u64,
        raw_len: u64,
        head: &[u8],
    ) {
        t.lines += 1;
        t.bytes += raw_len;
        let reason = format!(
            "line of {content_len} bytes exceeds the limit of {} bytes",
            self.cfg.max_line_bytes
        );
        self.invalid(t, out, source, Pos::Offset(offset), reason, head);
    }

    fn invalid(&self, t: &mut Tally, out: &mut Vec<u8>, source: &str, pos: Pos, reason: String, line: &[u8]) {
        if self.per_doc {
            out.extend_from_slice(b"{\"invalid\":");
            json_str(out, &reason);
            out.extend_from_slice(b"}\n");
        }
        t.add_invalid(source, pos, reason, line);
    }

    fn extract<'t>(&self, text: &'t str) -> Result<DocResult<'t>, String> {
        let mut kv = Aggregate::default();
        let mut kv_pairs = 0u64;
        if self.cfg.kv {
            let max = self.cfg.max_digits;
            for_each_kv(&self.cls, text, |k, digits| {
                // The reference's int() raises here; the document is invalid rather than
                // the whole run failing.
                let v = PyInt::from_digits(digits, max)
                    .map_err(|e| crate::error::Error::invalid(e.python_message(digits)))?;
                kv.add(k, v);
                kv_pairs += 1;
                Ok(())
            })
            .map_err(|e| format!("int() would raise ValueError: {}", e.message))?;
        }
        Ok(DocResult { kv, kv_pairs })
    }

    fn apply(&self, t: &mut Tally, out: &mut Vec<u8>, text: &str, r: DocResult) {
        t.documents += 1;
        t.kv_pairs += r.kv_pairs;
        for (k, v) in &r.kv.entries {
            match t.kv.get_mut(*k) {
                Some(s) => {
                    s.total.add_assign(v);
                    s.docs += 1;
                }
                None => {
                    t.kv.insert(
                        (*k).into(),
                        KeyStat {
                            total: v.clone(),
                            docs: 1,
                        },
                    );
                }
            }
        }
        if self.per_doc {
            out.push(b'{');
            let mut first_field = true;
            let mut field = |out: &mut Vec<u8>, name: &str| {
                if !first_field {
                    out.push(b',');
                }
                first_field = false;
                json_str(out, name);
                out.push(b':');
            };
            if self.cfg.kv {
                field(out, "kv");
                out.push(b'{');
                for (i, (k, v)) in r.kv.entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json_str(out, k);
                    out.push(b':');
                    out.extend_from_slice(v.to_decimal().as_bytes());
                }
                out.push(b'}');
            }
            if self.cfg.emails {
                field(out, "emails");
                out.push(b'[');
                let mut n = 0;
                for_each_email(text, |e| {
                    if n > 0 {
                        out.push(b',');
                    }
                    json_str(out, e);
                    n += 1;
                    add_count(&mut t.emails, e, 1);
                });
                t.emails_total += n;
                out.push(b']');
            }
            if !self.cfg.patterns.is_empty() {
                field(out, "patterns");
                out.push(b'{');
                for (i, (p, pt)) in self.cfg.patterns.iter().zip(t.patterns.iter_mut()).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json_str(out, &p.name);
                    out.push(b':');
                    match p.mode {
                        PatternMode::Count => {
                            let n = p.pattern.count(text);
                            pt.total += n;
                            let _ = write!(out, "{n}");
                        }
                        PatternMode::Findall => {
                            let g = p.group();
                            let tuples = p.pattern.groups() > 1;
                            out.push(b'[');
                            let mut m = 0;
                            p.pattern.for_each_match(text, |fields| {
                                if m > 0 {
                                    out.push(b',');
                                }
                                m += 1;
                                if tuples {
                                    out.push(b'[');
                                }
                                for (j, f) in fields.enumerate() {
                                    if j > 0 {
                                        out.push(b',');
                                    }
                                    json_str(out, f);
                                    if j + 1 == g.max(1) {
                                        add_count(&mut pt.counts, f, 1);
                                    }
                                }
                                if tuples {
                                    out.push(b']');
                                }
                            });
                            pt.total += m;
                            out.push(b']');
                        }
                    }
                }
                out.push(b'}');
            }
            out.extend_from_slice(b"}\n");
        } else {
            if self.cfg.emails {
                let mut n = 0;
                for_each_email(text, |e| {
                    add_count(&mut t.emails, e, 1);
                    n += 1;
                });
                t.emails_total += n;
            }
            for (p, pt) in self.cfg.patterns.iter().zip(t.patterns.iter_mut()) {
                match p.mode {
                    PatternMode::Count => pt.total += p.pattern.count(text),
                    PatternMode::Findall => p.pattern.for_each_group(text, p.group(), |s| {
                        add_count(&mut pt.counts, s, 1);
                        pt.total += 1;
                    }),
                }
            }
        }
    }
}

/// Append `s` as a JSON string.
pub(crate) fn json_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

// ---------------------------------------------------------------------------------------
// JSON lines: pull one string field out of an object without building the whole value.
// ---------------------------------------------------------------------------------------

/// The text of `field` in the JSON object on `line`, borrowed when it has no escapes;
/// otherwise the reason the line is invalid. Like Python's `json.loads(line)[field]`, the
/// last of duplicate keys wins; unlike it, NaN/Infinity and lone-surrogate escapes are
/// rejected (they are not JSON, and a lone surrogate is not text).
pub fn json_text_field<'a>(line: &'a [u8], field: &str) -> Result<Cow<'a, str>, String> {
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
