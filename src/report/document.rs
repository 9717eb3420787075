//! The per-document work: run the configured extractors on one document, add what they
//! find to a [`Tally`], and (when the report writes per-document output) write the same
//! findings as one JSON line. One extraction path serves both, so the line and the counts
//! can never disagree.

use std::borrow::Cow;

use super::config::{Config, NamedPattern, PatternMode};
use super::jsonl::json_text_field_in;
use super::keys::hash_key;
use super::tally::{PatternTally, Pos, Tally};
use crate::error::Error;
use crate::shared::pyint::PyInt;
use crate::text::{for_each_email, for_each_kv, utf8, PyClasses};

/// Runs the configured extractors on documents and adds them to a [`Tally`]; optionally
/// writes each document's own results as one JSON line.
///
/// One `Processor` serves a whole chunk of documents (the pipeline makes one per worker
/// and chunk) and keeps its per-document buffers in [`Scratch`] between them: allocation
/// was 14 % of the per-document path on issue 8's corpus, mostly buffers grown from empty
/// in every document (the unescaped text, the per-document kv sums and their index).
pub struct Processor<'c> {
    cfg: &'c Config,
    cls: PyClasses,
    per_doc: bool,
    scratch: Scratch,
}

/// Buffers reused from one document to the next (cleared, never shrunk).
#[derive(Default)]
struct Scratch {
    /// The unescaped text of a JSON string that holds escapes.
    unescaped: Vec<u8>,
    /// The document's kv pairs, held until every value has been read (an `int()` error
    /// makes the document invalid, and an invalid document contributes nothing): the key
    /// as a byte range of the text, and the value.
    pairs: Vec<(usize, usize, PyInt)>,
    /// The [`hash_key`] of each key of `pairs`.
    hashes: Vec<u32>,
    /// With per-document output: the document's distinct keys in first-seen order (as the
    /// byte range of their first occurrence in the text), with their sums in this document.
    doc_keys: Vec<(usize, usize, PyInt)>,
    /// Per index of the chunk tally's kv map: the number of the last document that held
    /// the key, so that a key counts each document once without a per-document map (the
    /// key is hashed once, for the chunk map, instead of once for a per-document map and
    /// again for the chunk map). Document numbers only grow, so an entry left by another
    /// tally (the caller may switch tallies between documents) is never taken as current.
    seen: Vec<u64>,
    /// With per-document output: where in `doc_keys` each key of the current document is
    /// (indexed like `seen`, valid where `seen` is current).
    slot: Vec<u32>,
    /// Number of the current document (from 1, so 0 in `seen` means never).
    doc_no: u64,
    /// The document's emails (as `for_each_email` gives them, lowercased), back to back,
    /// with the end of each and its [`hash_key`]: found before the kv keys are interned so
    /// that their buckets in the chunk's map are prefetched (see `apply`).
    emails: String,
    email_ends: Vec<(usize, u32)>,
}

impl<'c> Processor<'c> {
    pub fn new(cfg: &'c Config, per_doc: bool) -> Processor<'c> {
        Processor {
            cfg,
            cls: PyClasses::new(),
            per_doc,
            scratch: Scratch::default(),
        }
    }

    /// Every line of `data`, a chunk of whole lines (each ending in '\n', except possibly
    /// the last), the first at stream offset `base` of `source`.
    ///
    /// The chunk is checked as UTF-8 once, with SIMD, instead of line by line: a line of a
    /// valid chunk is valid (lines are cut at '\n', an ASCII byte, which is never inside a
    /// multi-byte sequence), and the per-line check of lines of a few hundred bytes cost
    /// three times as much per byte (a call, its setup and a padded tail per line; 11 % of
    /// the per-document path on issue 8's corpus). A chunk with an invalid byte anywhere
    /// has its lines checked one by one, as before, so an invalid line is found and worded
    /// exactly as it was.
    pub fn lines(&mut self, t: &mut Tally, out: &mut Vec<u8>, source: &str, base: u64, data: &[u8]) {
        let valid = simdutf8::basic::from_utf8(data).is_ok();
        let n = data.len();
        // (end of the line's content, start of the next line): each '\n', then the end of
        // the data for a last line without one.
        let ends = memchr::memchr_iter(b'\n', data).map(|nl| (nl, nl + 1));
        let mut start = 0usize;
        for (end, next) in ends.chain(std::iter::once((n, n))) {
            if start == n && end == n {
                break; // the data ended with '\n' (or is empty): no unterminated line
            }
            let pos = Pos::Offset(base + start as u64);
            let line = strip_cr(&data[start..end]);
            self.doc_in(t, out, source, pos, line, (next - start) as u64, valid);
            start = next;
        }
    }

    /// One input line ('\n' already removed; `raw_len` counts it) at `pos` of `source`.
    pub fn line(
        &mut self,
        t: &mut Tally,
        out: &mut Vec<u8>,
        source: &str,
        pos: Pos,
        line: &[u8],
        raw_len: u64,
    ) {
        self.doc_in(t, out, source, pos, strip_cr(line), raw_len, false)
    }

    /// One document (a line without its terminator, or a text fed from memory).
    pub fn doc(
        &mut self,
        t: &mut Tally,
        out: &mut Vec<u8>,
        source: &str,
        pos: Pos,
        line: &[u8],
        raw_len: u64,
    ) {
        self.doc_in(t, out, source, pos, line, raw_len, false)
    }

    /// [`Processor::doc`], told whether `line` is known to be valid UTF-8 (then it is not
    /// checked again).
    #[allow(clippy::too_many_arguments)] // `doc`'s, plus what the caller knows of the bytes
    fn doc_in(
        &mut self,
        t: &mut Tally,
        out: &mut Vec<u8>,
        source: &str,
        pos: Pos,
        line: &[u8],
        raw_len: u64,
        valid_utf8: bool,
    ) {
        t.lines += 1;
        t.bytes += raw_len;
        // Taken out of the scratch for the document's lifetime: the text may borrow it.
        let mut unescaped = std::mem::take(&mut self.scratch.unescaped);
        match document_text(self.cfg, line, valid_utf8, &mut unescaped) {
            Ok(text) => match self.extract_kv(&text) {
                Ok(()) => self.apply(t, out, &text),
                Err(reason) => self.invalid(t, out, source, pos, reason, line),
            },
            Err(reason) => self.invalid(t, out, source, pos, reason, line),
        }
        self.scratch.unescaped = unescaped;
    }

    /// An overlong line that the reader skipped without holding it.
    #[allow(clippy::too_many_arguments)] // one per fact about the skipped line; a struct would only rename them
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

    /// A null value (a row of an Arrow/Parquet column without text): an invalid document.
    pub fn null(&self, t: &mut Tally, out: &mut Vec<u8>, source: &str, pos: Pos) {
        t.lines += 1;
        self.invalid(t, out, source, pos, "null value (no text)".to_string(), b"");
    }

    fn invalid(&self, t: &mut Tally, out: &mut Vec<u8>, source: &str, pos: Pos, reason: String, line: &[u8]) {
        if self.per_doc {
            out.extend_from_slice(b"{\"invalid\":");
            json_str(out, &reason);
            out.extend_from_slice(b"}\n");
        }
        t.add_invalid(source, pos, reason, line);
    }

    /// Read the document's kv pairs into `scratch.pairs`, or say why it is invalid.
    fn extract_kv(&mut self, text: &str) -> Result<(), String> {
        let pairs = &mut self.scratch.pairs;
        pairs.clear();
        if self.cfg.kv {
            let max = self.cfg.max_digits;
            let base = text.as_ptr() as usize;
            for_each_kv(&self.cls, text, |k, digits| {
                // The reference's int() raises here; the document is invalid rather than
                // the whole run failing.
                let v = PyInt::from_digits(digits, max)
                    .map_err(|e| Error::invalid(e.invalid_document(digits)))?;
                // `k` is a subslice of `text`: its offset is its address minus the text's.
                let at = k.as_ptr() as usize - base;
                pairs.push((at, at + k.len(), v));
                Ok(())
            })
            .map_err(|e| e.message)?;
        }
        Ok(())
    }

    /// Add a valid document's findings to `t` and, with per-document output, write them.
    fn apply(&mut self, t: &mut Tally, out: &mut Vec<u8>, text: &str) {
        t.documents += 1;
        let sc = &mut self.scratch;
        t.kv_pairs += sc.pairs.len() as u64;
        sc.doc_no += 1;
        sc.doc_keys.clear();
        // Hash every key of the document first and prefetch its bucket: at high key
        // cardinality almost every key is new to the chunk's map and its bucket a cache
        // miss (a quarter of this function's time in the issue 9 profile), and the misses
        // of a document's keys then overlap instead of coming one after another.
        sc.hashes.clear();
        // The emails too, hashed and their buckets prefetched now, added after the kv keys:
        // at high cardinality every email is new to the chunk's map, and its insertion
        // waited for the bucket (`KeyMap<u64>::add`, 9 % of a run, issue 9).
        sc.emails.clear();
        sc.email_ends.clear();
        if self.cfg.emails {
            let (emails, ends) = (&mut sc.emails, &mut sc.email_ends);
            for_each_email(text, |e| {
                let h = hash_key(e.as_bytes());
                t.emails.prefetch(h);
                emails.push_str(e);
                ends.push((emails.len(), h));
            });
        }
        for (from, to, _) in &sc.pairs {
            let h = hash_key(&text.as_bytes()[*from..*to]);
            t.kv.prefetch(h);
            sc.hashes.push(h);
        }
        for ((from, to, v), &h) in sc.pairs.drain(..).zip(&sc.hashes) {
            let k = &text.as_bytes()[from..to];
            let i = t.kv.intern(k, h);
            if i >= sc.seen.len() {
                sc.seen.resize(i + 1, 0);
                if self.per_doc {
                    sc.slot.resize(i + 1, 0);
                }
            }
            let first = sc.seen[i] != sc.doc_no;
            sc.seen[i] = sc.doc_no;
            t.kv.add_at(i, &v, first as u64);
            if self.per_doc {
                if first {
                    sc.slot[i] = sc.doc_keys.len() as u32;
                    sc.doc_keys.push((from, to, v));
                } else {
                    sc.doc_keys[sc.slot[i] as usize].2.add_assign(&v);
                }
            }
        }
        let mut line = DocLine::new(self.per_doc.then_some(out));
        if self.cfg.kv {
            line.key("kv");
            line.open(b'{');
            for (from, to, v) in &sc.doc_keys {
                line.key(&text[*from..*to]);
                match v {
                    // No String for the common case: written straight into the line.
                    PyInt::Small(n) => line.number_i64(*n),
                    big => line.raw(big.to_decimal().as_bytes()),
                }
            }
            line.close(b'}');
        }
        if self.cfg.emails {
            line.key("emails");
            line.open(b'[');
            let mut from = 0;
            for &(to, h) in &sc.email_ends {
                let e = &sc.emails[from..to];
                line.string(e);
                t.emails.add_hashed(e.as_bytes(), h, 1);
                from = to;
            }
            t.emails_total += sc.email_ends.len() as u64;
            line.close(b']');
        }
        if !self.cfg.patterns.is_empty() {
            line.key("patterns");
            line.open(b'{');
            for (p, pt) in self.cfg.patterns.iter().zip(t.patterns.iter_mut()) {
                line.key(&p.name);
                apply_pattern(p, pt, text, &mut line);
            }
            line.close(b'}');
        }
        line.finish();
    }
}

/// A line without the '\r' of a CRLF terminator (the "\r" belongs to the terminator).
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The document's text (borrowed from the line, or unescaped into `buf`), or why the line
/// is invalid.
fn document_text<'l>(
    cfg: &Config,
    line: &'l [u8],
    valid_utf8: bool,
    buf: &'l mut Vec<u8>,
) -> Result<Cow<'l, str>, String> {
    if line.len() > cfg.max_line_bytes {
        return Err(format!(
            "line of {} bytes exceeds the limit of {} bytes",
            line.len(),
            cfg.max_line_bytes
        ));
    }
    match &cfg.text_field {
        // SAFETY: the caller says `line` is valid UTF-8 (it checked the chunk the line was
        // cut from, see `Processor::lines`).
        None if valid_utf8 => Ok(Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(line) })),
        None => utf8(line)
            .map(Cow::Borrowed)
            .map_err(|at| format!("invalid UTF-8 at byte {at} of the line")),
        Some(field) => json_text_field_in(line, field, valid_utf8, buf),
    }
}

/// One named pattern on one document: its count (count mode) or its `re.findall` list.
fn apply_pattern(p: &NamedPattern, pt: &mut PatternTally, text: &str, line: &mut DocLine) {
    match p.mode {
        PatternMode::Count => {
            let n = p.pattern.count(text);
            pt.total += n;
            line.number(n);
        }
        PatternMode::Findall => {
            // The first field is the one counted: group 1, or the whole match when the
            // pattern has no groups (`NamedPattern::group`).
            let tuples = p.pattern.groups() > 1;
            line.open(b'[');
            p.pattern.for_each_match(text, |fields| {
                if tuples {
                    line.open(b'[');
                }
                for (j, f) in fields.enumerate() {
                    line.string(f);
                    if j == 0 {
                        pt.counts.add(f, 1);
                    }
                }
                if tuples {
                    line.close(b']');
                }
                pt.total += 1;
            });
            line.close(b']');
        }
    }
}

/// The per-document JSON line under construction, or nothing when the report writes no
/// per-document output (then every method is a no-op, and the extraction runs the same).
struct DocLine<'o> {
    out: Option<&'o mut Vec<u8>>,
    /// Whether the next value in the current object or array needs a ',' before it.
    comma: bool,
}

impl<'o> DocLine<'o> {
    fn new(out: Option<&'o mut Vec<u8>>) -> DocLine<'o> {
        let mut l = DocLine { out, comma: false };
        l.open(b'{');
        l
    }
    fn sep(&mut self) {
        if let Some(o) = &mut self.out {
            if self.comma {
                o.push(b',');
            }
        }
    }
    /// An object key; its value follows.
    fn key(&mut self, k: &str) {
        self.sep();
        if let Some(o) = &mut self.out {
            json_str(o, k);
            o.push(b':');
        }
        self.comma = false;
    }
    fn open(&mut self, bracket: u8) {
        self.sep();
        if let Some(o) = &mut self.out {
            o.push(bracket);
        }
        self.comma = false;
    }
    fn close(&mut self, bracket: u8) {
        if let Some(o) = &mut self.out {
            o.push(bracket);
        }
        self.comma = true;
    }
    fn raw(&mut self, bytes: &[u8]) {
        self.sep();
        if let Some(o) = &mut self.out {
            o.extend_from_slice(bytes);
        }
        self.comma = true;
    }
    fn string(&mut self, s: &str) {
        self.sep();
        if let Some(o) = &mut self.out {
            json_str(o, s);
        }
        self.comma = true;
    }
    /// itoa rather than `write!`: core::fmt's machinery was a tenth of the per-document
    /// output's cost (issue 8 profile); same digits.
    fn number_i64(&mut self, n: i64) {
        self.sep();
        if let Some(o) = &mut self.out {
            o.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        }
        self.comma = true;
    }
    fn number(&mut self, n: u64) {
        self.sep();
        if let Some(o) = &mut self.out {
            o.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        }
        self.comma = true;
    }
    fn finish(mut self) {
        self.close(b'}');
        if let Some(o) = &mut self.out {
            o.push(b'\n');
        }
    }
}

/// Append `s` as a JSON string, exactly as serde_json writes it.
fn json_str(out: &mut Vec<u8>, s: &str) {
    // Most strings (keys, emails, matches) need no escape: copied whole. serde_json
    // escapes exactly '"', '\\' and the control bytes below 0x20.
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Pattern;

    fn cfg() -> Config {
        let mut c = Config::default();
        c.add_pattern(
            "w",
            Pattern::new(r"([a-z])(\d)", false).unwrap(),
            PatternMode::Findall,
        )
        .unwrap();
        c.add_pattern("n", Pattern::new(r"\d", false).unwrap(), PatternMode::Count)
            .unwrap();
        c.add_pattern("x", Pattern::new(r"x+", false).unwrap(), PatternMode::Findall)
            .unwrap();
        c
    }

    fn run(c: &Config, per_doc: bool, docs: &[&[u8]]) -> (Tally, String) {
        let mut p = Processor::new(c, per_doc);
        let mut t = Tally::new(c);
        let mut out = Vec::new();
        for (i, d) in docs.iter().enumerate() {
            p.doc(&mut t, &mut out, "<t>", Pos::Index(i as u64), d, d.len() as u64);
        }
        (t, String::from_utf8(out).unwrap())
    }

    #[test]
    fn the_line_and_the_counts_come_from_one_pass() {
        let c = cfg();
        let docs: &[&[u8]] = &[
            b"a1 b2 a1 Bob@X.org xx 7 x",
            b"\xff",
            b"",
            b"k 99999999999999999999",
        ];
        let (with, lines) = run(&c, true, docs);
        let (without, none) = run(&c, false, docs);
        assert_eq!(with, without);
        assert_eq!(none, "");
        let want = [
            r#"{"kv":{"xx":7},"emails":["bob@x.org"],"patterns":{"w":[["a","1"],["b","2"],["a","1"]],"n":4,"x":["xx","x"]}}"#,
            r#"{"invalid":"invalid UTF-8 at byte 0 of the line"}"#,
            r#"{"kv":{},"emails":[],"patterns":{"w":[],"n":0,"x":[]}}"#,
            r#"{"kv":{"k":99999999999999999999},"emails":[],"patterns":{"w":[],"n":20,"x":[]}}"#,
        ];
        assert_eq!(lines.lines().collect::<Vec<_>>(), want);
        assert_eq!(with.documents, 3);
        assert_eq!(with.invalid_count, 1);
        assert_eq!(with.patterns[0].counts["a"], 2);
        assert_eq!(with.patterns[0].total, 3);
        assert_eq!(with.patterns[2].counts["xx"], 1);
        assert_eq!(with.patterns[1].total, 24);
        assert_eq!(with.emails_total, 1);
    }

    /// The kv part of a tally and the per-document lines as the path before scratch reuse
    /// and hash-once tallying computed them: a per-document `Aggregate` (first-seen order,
    /// exact sums), then one `KvMap::add` per distinct key with one document.
    fn reference_kv(c: &Config, docs: &[&[u8]]) -> (Vec<(String, String, u64)>, Vec<String>) {
        use super::super::tally::KeyStat;
        use crate::text::Aggregate;
        let cls = PyClasses::new();
        let mut kv = super::super::keys::KvMap::default();
        let mut lines = Vec::new();
        for d in docs {
            let Ok(text) = std::str::from_utf8(d) else {
                lines.push("invalid".to_string());
                continue;
            };
            let mut agg = Aggregate::default();
            let r = for_each_kv(&cls, text, |k, digits| {
                agg.add(
                    k,
                    PyInt::from_digits(digits, c.max_digits)
                        .map_err(|e| Error::invalid(e.invalid_document(digits)))?,
                );
                Ok(())
            });
            if r.is_err() {
                lines.push("invalid".to_string());
                continue;
            }
            let mut l = String::new();
            for (k, v) in &agg.entries {
                l.push_str(&format!("{k}={};", v.to_decimal()));
                kv.add(
                    k,
                    KeyStat {
                        total: v.clone(),
                        docs: 1,
                    },
                );
            }
            lines.push(l);
        }
        let mut all: Vec<_> = kv
            .iter()
            .map(|(k, s)| (k.to_string(), s.total.to_decimal(), s.docs))
            .collect();
        all.sort();
        (all, lines)
    }

    #[test]
    fn hash_once_tallying_equals_the_per_document_aggregate() {
        // Random documents from a few keys (so that keys repeat within and across
        // documents), numbers of any size (sums past i64), Unicode digits and words, and
        // documents made invalid by a number over max_digits; processed in chunks whose
        // tally is switched under one Processor, as the stage harness does.
        let c = Config {
            max_digits: 30,
            emails: false,
            ..Config::default()
        };
        let words = ["a", "b", "价格", "k_1", "Ünï", "x9", "a"];
        let nums = [
            "1",
            "0",
            "٣٤",
            "9223372036854775807",
            "99999999999999999999",
            "007",
            "1".repeat(31).leak(),
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut docs: Vec<Vec<u8>> = Vec::new();
        for _ in 0..3000 {
            let mut d = String::new();
            for _ in 0..next(40) {
                d.push_str(words[next(words.len())]);
                d.push_str([" ", "  ", "\t", "-"][next(4)]);
                // Mostly short numbers: the 31-digit one (invalid) in few documents.
                let n = if next(200) == 0 { nums[6] } else { nums[next(6)] };
                d.push_str(n);
                d.push(' ');
            }
            docs.push(d.into_bytes());
        }
        docs.push(b"\xff 1".to_vec());
        let refs: Vec<&[u8]> = docs.iter().map(|d| d.as_slice()).collect();
        let (want_kv, want_lines) = reference_kv(&c, &refs);
        let mut p = Processor::new(&c, true);
        let mut parts = Vec::new();
        let (mut t, mut out) = (Tally::new(&c), Vec::new());
        for (i, d) in refs.iter().enumerate() {
            p.doc(&mut t, &mut out, "<t>", Pos::Index(i as u64), d, d.len() as u64);
            if next(50) == 0 {
                parts.push(std::mem::replace(&mut t, Tally::new(&c)));
            }
        }
        parts.push(t);
        let mut all = Tally::new(&c);
        for t in parts {
            all.merge(t);
        }
        let mut got: Vec<_> = all
            .kv
            .iter()
            .map(|(k, s)| (k.to_string(), s.total.to_decimal(), s.docs))
            .collect();
        got.sort();
        assert_eq!(got, want_kv);
        let got_lines: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                match v.get("kv").and_then(|kv| kv.as_object()) {
                    // serde_json's map keeps insertion order (preserve_order) or sorts:
                    // read the keys from the raw line to keep the written order.
                    Some(_) => kv_in_written_order(l),
                    None => "invalid".to_string(),
                }
            })
            .collect();
        assert_eq!(got_lines, want_lines);
        assert!(all.invalid_count > 0 && all.documents > 2000);
    }

    /// `k=v;` for each entry of the line's "kv" object, in the order written.
    fn kv_in_written_order(line: &str) -> String {
        let body = &line[line.find("{\"kv\":{").unwrap() + 7..];
        let body = &body[..body.find('}').unwrap()];
        let mut s = String::new();
        if body.is_empty() {
            return s;
        }
        // Keys here are words without '"', ',' or ':'; values are integers.
        for e in body.split(',') {
            let (k, v) = e.split_once(':').unwrap();
            s.push_str(&format!("{}={v};", k.trim_matches('"')));
        }
        s
    }

    /// A chunk checked as UTF-8 once (`Processor::lines`) gives what its lines give one by
    /// one: valid chunks, chunks with an invalid byte in one line (then every line is
    /// checked), CRLF lines, a last line without '\n', plain text and a JSON field.
    #[test]
    fn a_chunk_checked_once_equals_its_lines() {
        let json = Config {
            text_field: Some("content".to_string()),
            ..cfg()
        };
        let chunks: &[&[u8]] = &[
            "a 1 价格 2 😀 3 x@y.org\nb 22\r\n\nlast 7".as_bytes(),
            b"ok 1\nbad \xff 2\nok 3\n",
            b"\xe4\xbb\nsplit 9\n",
            "{\"content\": \"k 5 \\u4ef7 6 😀 7\"}\n{\"content\": 1}\n{\"content\": \"e@x.io\"}\r\n"
                .as_bytes(),
            b"{\"content\": \"a \xff 1\"}\n{\"content\": \"b 2\"}\n",
            b"",
        ];
        for c in [cfg(), json] {
            for data in chunks {
                let (mut t1, mut o1) = (Tally::new(&c), Vec::new());
                let mut p = Processor::new(&c, true);
                p.lines(&mut t1, &mut o1, "<f>", 10, data);
                let (mut t2, mut o2) = (Tally::new(&c), Vec::new());
                let mut p = Processor::new(&c, true);
                let mut start = 0;
                for (i, l) in data.split_inclusive(|&b| b == b'\n').enumerate() {
                    let content = l.strip_suffix(b"\n").unwrap_or(l);
                    let pos = Pos::Offset(10 + start as u64);
                    p.line(&mut t2, &mut o2, "<f>", pos, content, l.len() as u64);
                    start += l.len();
                    assert!(i < 10);
                }
                assert_eq!(t1, t2, "{:?}", String::from_utf8_lossy(data));
                assert_eq!(o1, o2, "{:?}", String::from_utf8_lossy(data));
            }
        }
    }

    #[test]
    fn json_str_equals_serde_json() {
        for s in [
            "",
            "plain",
            "价格😀",
            "q\"b\\s",
            "\u{1}\n\t\u{1f}",
            "\u{7f}\u{2028}",
            "a\u{0}",
        ] {
            let mut out = Vec::new();
            json_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn an_int_error_makes_the_document_invalid() {
        let c = Config {
            max_digits: 3,
            ..Config::default()
        };
        let (t, lines) = run(&c, true, &[b"a 1 b 12345"]);
        assert_eq!(t.documents, 0);
        assert!(t.kv.is_empty());
        assert!(
            lines.starts_with(r#"{"invalid":"int() would raise ValueError: Exceeds the limit (3 digits)"#)
        );
    }
}
