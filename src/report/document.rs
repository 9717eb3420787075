//! The per-document work: run the configured extractors on one document, add what they
//! find to a [`Tally`], and (when the report writes per-document output) write the same
//! findings as one JSON line. One extraction path serves both, so the line and the counts
//! can never disagree.

use std::borrow::Cow;

use super::config::{Config, NamedPattern, PatternMode};
use super::jsonl::json_text_field_in;
use super::keys::{hash_key, prefetch};
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
    /// Inside [`Processor::lines`] without per-document output: documents' kv keys and
    /// emails go into [`Deferred`] and reach the chunk's maps a block of documents later.
    defer: bool,
    deferred: Deferred,
}

/// The kv keys and emails of the last few documents of a chunk, hashed, their buckets in
/// the chunk's maps prefetched, not yet added (see [`Processor::lines`]).
///
/// At high key cardinality almost every key is new to the chunk's map, so its bucket is a
/// cache miss (the chunk's tables, 512 KiB each at 2 MiB chunks, do not stay in a core's
/// cache; the tally was last cleared on the merging thread). Prefetching within one
/// document, as `apply` does, starts each load only a few keys before it is needed: the
/// load of the bucket was still a third of the per-document path's samples (issue 9,
/// eighth round). Here the loads of a whole block of documents are in flight while the
/// block is read, and the keys are added after it, in the same order as one by one.
#[derive(Default)]
struct Deferred {
    /// The block's kv keys and emails, back to back (copied: a text unescaped from JSON
    /// lives only as long as its document).
    bytes: Vec<u8>,
    /// Per kv pair: the key's range in `bytes`, its [`hash_key`], the value.
    kv: Vec<(usize, usize, u32, PyInt)>,
    /// Per email: its range in `bytes` and its [`hash_key`].
    emails: Vec<(usize, usize, u32)>,
    /// Per valid document: the end of its pairs in `kv` and of its emails in `emails`.
    docs: Vec<(usize, usize)>,
    /// Whether the next block's found keys are prefetched in stages: at least half
    /// of the last block's keys were already in the chunk's maps.
    stage: bool,
}

impl Deferred {
    /// Documents per block: enough that a block's loads cover a memory latency, few
    /// enough that its prefetched lines are still in L1 when the block is added.
    const DOCS: usize = 16;
    /// Keys per block (a block also ends here, for documents with many keys).
    const KEYS: usize = 128;
    /// Keys in the chunk's maps from which a block's found keys are prefetched in stages
    /// ([`Processor::add_deferred`]): smaller maps stay in the core's cache.
    const STAGE_FROM: usize = 8192;

    fn full(&self) -> bool {
        self.docs.len() >= Self::DOCS || self.kv.len() + self.emails.len() >= Self::KEYS
    }
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
            defer: false,
            deferred: Deferred::default(),
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
    ///
    /// Without per-document output the documents' kv keys and emails are added to `t` a
    /// block of documents after they are read ([`Deferred`]), in the same order; all of
    /// them before this call returns.
    pub fn lines(&mut self, t: &mut Tally, out: &mut Vec<u8>, source: &str, base: u64, data: &[u8]) {
        self.defer = !self.per_doc;
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
        self.add_deferred(t);
        self.defer = false;
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
        if self.defer {
            return self.defer_doc(t, text);
        }
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

impl Processor<'_> {
    /// [`Processor::apply`] without per-document output, inside [`Processor::lines`]: the
    /// document's kv keys and emails are hashed, their buckets prefetched, and kept in
    /// [`Deferred`]; the block is added to `t` when full. Counters and patterns are
    /// applied now (the pattern maps are not deferred; each map still sees its keys in
    /// document order).
    fn defer_doc(&mut self, t: &mut Tally, text: &str) {
        t.documents += 1;
        let (sc, d) = (&mut self.scratch, &mut self.deferred);
        t.kv_pairs += sc.pairs.len() as u64;
        if self.cfg.emails {
            let before = d.emails.len();
            let (bytes, emails) = (&mut d.bytes, &mut d.emails);
            for_each_email(text, |e| {
                let h = hash_key(e.as_bytes());
                t.emails.prefetch(h);
                let from = bytes.len();
                bytes.extend_from_slice(e.as_bytes());
                emails.push((from, bytes.len(), h));
            });
            t.emails_total += (d.emails.len() - before) as u64;
        }
        for (from, to, v) in sc.pairs.drain(..) {
            let k = &text.as_bytes()[from..to];
            let h = hash_key(k);
            t.kv.prefetch(h);
            let at = d.bytes.len();
            d.bytes.extend_from_slice(k);
            d.kv.push((at, d.bytes.len(), h, v));
        }
        d.docs.push((d.kv.len(), d.emails.len()));
        if !self.cfg.patterns.is_empty() {
            let mut line = DocLine::new(None);
            for (p, pt) in self.cfg.patterns.iter().zip(t.patterns.iter_mut()) {
                apply_pattern(p, pt, text, &mut line);
            }
        }
        if d.full() {
            self.add_deferred(t);
        }
    }

    /// Add the deferred documents to `t`, each as [`Processor::apply`] adds one: its kv
    /// keys in order (a key's document count once per document), then its emails.
    fn add_deferred(&mut self, t: &mut Tally) {
        let (sc, d) = (&mut self.scratch, &mut self.deferred);
        let held = t.kv.len() + t.emails.len();
        if d.stage && held >= Deferred::STAGE_FROM {
            // Each key's bucket was prefetched when the key was found. A key the chunk's
            // map already holds costs two more dependent misses, its slot and then its key
            // bytes (compared) and value; so the slots of the whole block are prefetched,
            // then the key bytes behind them, before the block is added (as a report's
            // merge does, `KeyMap::merge_into`). Only while the last block found keys:
            // at high cardinality they are new, and the probes would find nothing.
            for &(_, _, h, _) in &d.kv {
                if let Some(i) = t.kv.map.prefetch_found_slot(h) {
                    // The key's last document number, read when it is added.
                    if let Some(x) = sc.seen.get(i) {
                        prefetch(x);
                    }
                }
            }
            for &(_, _, h) in &d.emails {
                let _ = t.emails.prefetch_found_slot(h);
            }
            for &(_, _, h, _) in &d.kv {
                t.kv.map.prefetch_found_key(h);
            }
            for &(_, _, h) in &d.emails {
                t.emails.prefetch_found_key(h);
            }
        }
        let (mut k0, mut e0) = (0, 0);
        for &(k1, e1) in &d.docs {
            sc.doc_no += 1;
            for (from, to, h, v) in &d.kv[k0..k1] {
                let i = t.kv.intern(&d.bytes[*from..*to], *h);
                if i >= sc.seen.len() {
                    sc.seen.resize(i + 1, 0);
                }
                let first = sc.seen[i] != sc.doc_no;
                sc.seen[i] = sc.doc_no;
                t.kv.add_at(i, v, first as u64);
            }
            for &(from, to, h) in &d.emails[e0..e1] {
                t.emails.add_hashed(&d.bytes[from..to], h, 1);
            }
            (k0, e0) = (k1, e1);
        }
        let (keys, added) = (d.kv.len() + d.emails.len(), t.kv.len() + t.emails.len() - held);
        d.stage = keys.saturating_sub(added) * 2 >= keys;
        d.bytes.clear();
        d.kv.clear();
        d.emails.clear();
        d.docs.clear();
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

    /// xorshift64: a reproducible stream of numbers below `n`.
    fn rng(mut seed: u64) -> impl FnMut(usize) -> usize {
        move |n| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        }
    }

    /// kv values: short, Unicode digits, `i64::MAX`, past it, leading zeros.
    const NUMS: [&str; 6] = [
        "1",
        "0",
        "٣٤",
        "9223372036854775807",
        "99999999999999999999",
        "007",
    ];

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
        let long = "1".repeat(31);
        let mut next = rng(0x2545_F491_4F6C_DD1D);
        let mut docs: Vec<Vec<u8>> = Vec::new();
        for _ in 0..3000 {
            let mut d = String::new();
            for _ in 0..next(40) {
                d.push_str(words[next(words.len())]);
                d.push_str([" ", "  ", "\t", "-"][next(4)]);
                // Mostly short numbers: the 31-digit one (invalid) in few documents.
                let n = if next(200) == 0 {
                    long.as_str()
                } else {
                    NUMS[next(NUMS.len())]
                };
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

    /// The deferred path (`Processor::lines` without per-document output: keys hashed and
    /// prefetched, added a block of documents later) gives exactly what the documents
    /// give one by one: the same counts, document counts and exact totals, the same
    /// invalid-line samples, and every map's keys in the same insertion order. Random
    /// chunks of plain and JSON lines: keys repeating within a document and across blocks,
    /// documents with more keys than a block holds, upper-case emails (lowercased copies),
    /// JSON escapes (a text that lives only as long as its document), sums past i64,
    /// numbers over max_digits and invalid UTF-8 (invalid documents), CRLF, empty lines.
    #[test]
    fn deferred_keys_equal_the_documents_one_by_one() {
        let mut next = rng(0x9E37_79B9_7F4A_7C15);
        let words = ["a", "b", "価格", "k_1", "Ünï", "x9", "user", "tag"];
        let mails = ["Bob@X.org", "bob@x.org", "u1@x2.com", "Z@Q.IO", "e.f@g.hi"];
        let plain = Config {
            max_digits: 25,
            ..cfg()
        };
        let json = Config {
            text_field: Some("t".to_string()),
            ..plain.clone()
        };
        let (mut seen_invalid, mut seen_big, mut seen_repeat) = (false, false, false);
        let (mut seen_long_doc, mut seen_staged) = (false, false);
        for round in 0..60 {
            let c = if round % 3 == 2 { &json } else { &plain };
            let mut data = Vec::new();
            let mut docs = Vec::new();
            // Every tenth chunk is large enough for its maps to pass `Deferred::STAGE_FROM`
            // (blocks prefetched in stages), with fresh keys drawn from fewer, so that many
            // repeat.
            let (ndocs, fresh) = if round % 10 == 9 {
                (6000, 5000)
            } else {
                (next(120), 100_000)
            };
            for _ in 0..ndocs {
                let mut d = String::new();
                // Now and then a document with more kv pairs than a block holds.
                let pairs = if next(30) == 0 { 300 } else { next(8) };
                for _ in 0..pairs {
                    d.push_str(words[next(words.len())]);
                    // A fresh key now and then, so that the maps keep growing.
                    if next(3) == 0 {
                        d.push_str(&next(fresh).to_string());
                    }
                    d.push(' ');
                    d.push_str(if next(300) == 0 {
                        "1234567890123456789012345678"
                    } else {
                        NUMS[next(NUMS.len())]
                    });
                    d.push(' ');
                    if next(4) == 0 {
                        d.push_str(mails[next(mails.len())]);
                        d.push(' ');
                    }
                    if next(6) == 0 {
                        d.push_str(&format!("U{}@X{}.COM ", next(1000), next(9)));
                    }
                }
                if c.text_field.is_some() {
                    // Escapes in some texts: unescaped into a buffer the next one reuses.
                    let body = serde_json::to_string(&d).unwrap();
                    let body = if next(2) == 0 {
                        body.replace('a', "\\u0061")
                    } else {
                        body
                    };
                    data.extend_from_slice(format!("{{\"t\": {body}}}").as_bytes());
                } else {
                    data.extend_from_slice(d.as_bytes());
                }
                match next(20) {
                    0 => data.extend_from_slice(b"\xff bad 1"),
                    1 => data.push(b'\r'),
                    _ => {}
                }
                data.push(b'\n');
                docs.push(d);
            }
            let one_by_one = |per_doc: bool| {
                let (mut t, mut o) = (Tally::new(c), Vec::new());
                let mut p = Processor::new(c, per_doc);
                let mut start = 0;
                for l in data.split_inclusive(|&b| b == b'\n') {
                    let content = l.strip_suffix(b"\n").unwrap_or(l);
                    p.line(
                        &mut t,
                        &mut o,
                        "<f>",
                        Pos::Offset(start as u64),
                        content,
                        l.len() as u64,
                    );
                    start += l.len();
                }
                (t, o)
            };
            let (mut t1, mut o1) = (Tally::new(c), Vec::new());
            Processor::new(c, false).lines(&mut t1, &mut o1, "<f>", 0, &data);
            let (t2, o2) = one_by_one(false);
            assert_eq!(t1, t2, "round {round}");
            assert!(o1.is_empty() && o2.is_empty());
            // With per-document output: the same tally through `lines` and one by one, the
            // same lines, and each valid document's line starts with the kv sums and emails
            // of a naive first-occurrence aggregation of its pairs.
            let (mut t3, mut o3) = (Tally::new(c), Vec::new());
            Processor::new(c, true).lines(&mut t3, &mut o3, "<f>", 0, &data);
            let (t4, o4) = one_by_one(true);
            assert_eq!(t3, t1, "round {round}");
            assert_eq!(t4, t1, "round {round}");
            assert_eq!(o3, o4, "round {round}");
            let out = String::from_utf8(o3).unwrap();
            assert_eq!(out.lines().count(), docs.len());
            for (i, (line, d)) in out.lines().zip(&docs).enumerate() {
                if !line.starts_with(r#"{"invalid":"#) {
                    let want = naive_kv_and_emails(d, c.max_digits);
                    assert!(line.starts_with(&want), "round {round}, line {i}");
                    seen_long_doc |= d.len() > 1000;
                }
            }
            let order = |t: &Tally| {
                let kv: Vec<(String, String, u64)> =
                    t.kv.iter()
                        .map(|(k, s)| (k.to_string(), s.total.to_decimal(), s.docs))
                        .collect();
                let em: Vec<(String, u64)> = t.emails.iter().map(|(k, n)| (k.to_string(), *n)).collect();
                let pt: Vec<Vec<(String, u64)>> = t
                    .patterns
                    .iter()
                    .map(|p| p.counts.iter().map(|(k, n)| (k.to_string(), *n)).collect())
                    .collect();
                (kv, em, pt)
            };
            assert_eq!(order(&t1), order(&t2), "round {round}");
            seen_staged |= t1.kv.len() + t1.emails.len() >= Deferred::STAGE_FROM;
            seen_invalid |= t1.invalid_count > 0;
            seen_big |= t1.kv.iter().any(|(_, s)| !matches!(s.total, PyInt::Small(_)));
            seen_repeat |= t1.kv.iter().any(|(_, s)| s.docs > 1) && t1.emails.values().any(|&n| n > 1);
        }
        assert!(seen_invalid && seen_big && seen_repeat && seen_long_doc && seen_staged);
    }

    /// The start of a valid document's per-document line, by the plainest means: its kv
    /// pairs summed per key in first-occurrence order (a linear search), then its emails.
    fn naive_kv_and_emails(text: &str, max_digits: usize) -> String {
        let mut keys: Vec<(&str, PyInt)> = Vec::new();
        for_each_kv(&PyClasses::new(), text, |k, digits| {
            let v = PyInt::from_digits(digits, max_digits).expect("a valid document");
            match keys.iter_mut().find(|(x, _)| *x == k) {
                Some((_, sum)) => sum.add_assign(&v),
                None => keys.push((k, v)),
            }
            Ok(())
        })
        .unwrap();
        let kv: Vec<String> = keys
            .iter()
            .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), v.to_decimal()))
            .collect();
        let mut emails = Vec::new();
        for_each_email(text, |e| emails.push(serde_json::to_string(e).unwrap()));
        format!("{{\"kv\":{{{}}},\"emails\":[{}]", kv.join(","), emails.join(","))
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
