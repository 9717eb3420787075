//! The per-document work: run the configured extractors on one document, add what they
//! find to a [`Tally`], and (when the report writes per-document output) write the same
//! findings as one JSON line. One extraction path serves both, so the line and the counts
//! can never disagree.

use std::borrow::Cow;
use std::io::Write;

use super::config::{Config, NamedPattern, PatternMode};
use super::jsonl::json_text_field;
use super::tally::{KeyStat, PatternTally, Pos, Tally};
use crate::error::Error;
use crate::shared::pyint::PyInt;
use crate::text::{for_each_email, for_each_kv, utf8, Aggregate, PyClasses};

/// Runs the configured extractors on documents and adds them to a [`Tally`]; optionally
/// writes each document's own results as one JSON line.
pub struct Processor<'c> {
    cfg: &'c Config,
    cls: PyClasses,
    per_doc: bool,
}

/// One document's kv extraction, held until it is known to be valid so that an invalid
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
        let text = match self.document_text(line) {
            Ok(text) => text,
            Err(reason) => return self.invalid(t, out, source, pos, reason, line),
        };
        match self.extract_kv(&text) {
            Ok(r) => self.apply(t, out, &text, r),
            Err(reason) => self.invalid(t, out, source, pos, reason, line),
        }
    }

    /// The document's text, or why the line is invalid.
    fn document_text<'l>(&self, line: &'l [u8]) -> Result<Cow<'l, str>, String> {
        if line.len() > self.cfg.max_line_bytes {
            return Err(format!(
                "line of {} bytes exceeds the limit of {} bytes",
                line.len(),
                self.cfg.max_line_bytes
            ));
        }
        match &self.cfg.text_field {
            None => utf8(line)
                .map(Cow::Borrowed)
                .map_err(|at| format!("invalid UTF-8 at byte {at} of the line")),
            Some(field) => json_text_field(line, field),
        }
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

    fn extract_kv<'t>(&self, text: &'t str) -> Result<DocResult<'t>, String> {
        let mut kv = Aggregate::default();
        let mut kv_pairs = 0u64;
        if self.cfg.kv {
            let max = self.cfg.max_digits;
            for_each_kv(&self.cls, text, |k, digits| {
                // The reference's int() raises here; the document is invalid rather than
                // the whole run failing.
                let v = PyInt::from_digits(digits, max)
                    .map_err(|e| Error::invalid(e.invalid_document(digits)))?;
                kv.add(k, v);
                kv_pairs += 1;
                Ok(())
            })
            .map_err(|e| e.message)?;
        }
        Ok(DocResult { kv, kv_pairs })
    }

    /// Add a valid document's findings to `t` and, with per-document output, write them.
    fn apply(&self, t: &mut Tally, out: &mut Vec<u8>, text: &str, r: DocResult) {
        t.documents += 1;
        t.kv_pairs += r.kv_pairs;
        for (k, v) in &r.kv.entries {
            t.kv.add(
                k,
                KeyStat {
                    total: v.clone(),
                    docs: 1,
                },
            );
        }
        let mut line = DocLine::new(self.per_doc.then_some(out));
        if self.cfg.kv {
            line.key("kv");
            line.open(b'{');
            for (k, v) in &r.kv.entries {
                line.key(k);
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
            let mut n = 0;
            for_each_email(text, |e| {
                line.string(e);
                t.emails.add(e, 1);
                n += 1;
            });
            t.emails_total += n;
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
    fn number_i64(&mut self, n: i64) {
        self.sep();
        if let Some(o) = &mut self.out {
            // Writing into a Vec cannot fail.
            let _ = write!(o, "{n}");
        }
        self.comma = true;
    }
    fn number(&mut self, n: u64) {
        self.sep();
        if let Some(o) = &mut self.out {
            // Writing into a Vec cannot fail.
            let _ = write!(o, "{n}");
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
        let p = Processor::new(c, per_doc);
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
