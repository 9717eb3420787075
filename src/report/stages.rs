//! The per-stage cost of a report, for `examples/report_stages.rs` (issue 8's "measure
//! first"): each stage of the pipeline timed on its own, on one thread, over the same
//! input, so the per-byte figures add up to what one core spends (thread CPU time, so a
//! busy machine inflates them less than wall time would). The replaced paths are timed
//! too ("before" rows), in the same run. Not part of the API.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::config::Config;
use super::document::Processor;
use super::jsonl::json_text_field;
use super::jsonl::slow_text_field;
use super::tally::{Pos, Tally};
use crate::error::{Error, ErrorKind, Result};
use crate::shared::pyint::PyInt;
use crate::text::{
    for_each_email, for_each_email_regex, for_each_kv, for_each_kv_digits, for_each_kv_states, utf8,
    Aggregate, PyClasses,
};

/// This thread's CPU time: on a machine shared with other jobs, wall time would count the
/// time other processes had the core.
#[derive(Clone, Copy)]
struct Instant(f64);

impl Instant {
    fn now() -> Instant {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID always exists on Linux.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        Instant(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
    }
    fn elapsed(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64((Instant::now().0 - self.0).max(0.0))
    }
}

/// One timed stage: its name, seconds, and a note on what it covers.
pub struct Stage {
    pub name: &'static str,
    pub seconds: f64,
    pub note: &'static str,
}

fn io(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, e.to_string())
}

/// One of the kv scanners, for [`kv_pass`]: a trait rather than a closure because the
/// scanners take a generic `emit`, and a `dyn` one would add an indirect call per pair to
/// what is timed.
trait KvScan {
    fn scan<'t>(
        cls: &PyClasses,
        text: &'t str,
        emit: impl FnMut(&'t str, &'t str) -> Result<()>,
    ) -> Result<()>;
}

/// The current scanner ([`for_each_kv`]).
struct KvScanner;
/// The previous candidate search, every digit run ([`for_each_kv_digits`]).
struct KvDigits;
/// The state machine before that ([`for_each_kv_states`]).
struct KvStates;

impl KvScan for KvScanner {
    fn scan<'t>(
        cls: &PyClasses,
        text: &'t str,
        emit: impl FnMut(&'t str, &'t str) -> Result<()>,
    ) -> Result<()> {
        for_each_kv(cls, text, emit)
    }
}
impl KvScan for KvDigits {
    fn scan<'t>(
        cls: &PyClasses,
        text: &'t str,
        emit: impl FnMut(&'t str, &'t str) -> Result<()>,
    ) -> Result<()> {
        for_each_kv_digits(cls, text, emit)
    }
}
impl KvScan for KvStates {
    fn scan<'t>(
        cls: &PyClasses,
        text: &'t str,
        emit: impl FnMut(&'t str, &'t str) -> Result<()>,
    ) -> Result<()> {
        for_each_kv_states(cls, text, emit)
    }
}

/// The kv stage with scanner `S` over every text: the scan, int() of each value and the
/// per-document sums, as the pipeline does them.
fn kv_pass<S: KvScan>(cls: &PyClasses, texts: &[std::borrow::Cow<str>], cfg: &Config) {
    let mut agg = Aggregate::default();
    let mut pairs = 0u64;
    for s in texts {
        agg.clear();
        let _ = S::scan(cls, s, |k, d| {
            if let Ok(v) = PyInt::from_digits(d, cfg.max_digits) {
                agg.add(k, v);
            }
            pairs += 1;
            Ok(())
        });
    }
    std::hint::black_box(pairs);
}

type KvPass = fn(&PyClasses, &[std::borrow::Cow<str>], &Config);

/// Time each stage over the file at `path` (plain or gzip) with `cfg` (its `text_field`
/// chooses JSON lines). Returns the stages and the decompressed byte count.
pub fn measure(path: &Path, cfg: &Config) -> Result<(Vec<Stage>, u64)> {
    let mut stages = Vec::new();
    let mut add = |name, t: Instant, note| {
        stages.push(Stage {
            name,
            seconds: t.elapsed().as_secs_f64(),
            note,
        })
    };
    // Reading: the file into memory (page cache warm after the first run).
    let t = Instant::now();
    let mut raw = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut raw))
        .map_err(io)?;
    add("read", t, "read(2) of the file into memory (CPU time)");
    let data = if raw.starts_with(&[0x1f, 0x8b]) {
        let t = Instant::now();
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(io)?;
        add("inflate", t, "gzip members, flate2 + zlib-rs");
        out
    } else {
        raw
    };
    // Line splitting.
    let t = Instant::now();
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', &data) {
        let l = &data[start..nl];
        lines.push(l.strip_suffix(b"\r").unwrap_or(l));
        start = nl + 1;
    }
    if start < data.len() {
        lines.push(&data[start..]);
    }
    add("split lines", t, "memchr for '\\n', CRLF strip");

    // The documents' texts: JSON field extraction (escape-free strings borrowed, the
    // others unescaped), or UTF-8 validation of plain lines.
    let mut texts: Vec<std::borrow::Cow<str>> = Vec::with_capacity(lines.len());
    match &cfg.text_field {
        Some(field) => {
            let (plain, esc): (Vec<&[u8]>, Vec<&[u8]>) =
                lines.iter().partition(|l| memchr::memchr(b'\\', l).is_none());
            for (name, set, note) in [
                (
                    "JSON field, lines without '\\'",
                    &plain,
                    "parse + validate, text borrowed",
                ),
                (
                    "JSON field, lines with '\\'",
                    &esc,
                    "parse + validate + unescape into a String",
                ),
            ] {
                let t = Instant::now();
                for l in set.iter() {
                    if let Ok(s) = json_text_field(l, field) {
                        texts.push(s);
                    }
                }
                add(name, t, note);
            }
            let t = Instant::now();
            let mut ok = 0usize;
            for l in &lines {
                ok += slow_text_field(l, field).is_ok() as usize;
            }
            std::hint::black_box(ok);
            add(
                "(before: JSON field with serde_json only, all lines)",
                t,
                "the previous path, for comparison",
            );
            // What validating the extracted texts again would cost (serde_json has already
            // validated them while parsing): the share of UTF-8 validation in the above.
            let t = Instant::now();
            let mut ok = 0usize;
            for s in &texts {
                ok += utf8(s.as_bytes()).is_ok() as usize;
            }
            std::hint::black_box(ok);
            add(
                "UTF-8 validation (of the texts)",
                t,
                "simdutf8; inside the JSON stages above already",
            );
        }
        None => {
            let t = Instant::now();
            for l in &lines {
                if let Ok(s) = utf8(l) {
                    texts.push(std::borrow::Cow::Borrowed(s));
                }
            }
            add("UTF-8 validation", t, "simdutf8 over each line");
        }
    }
    let cls = PyClasses::new();
    if cfg.kv {
        let passes: [(&str, KvPass, &str); 3] = [
            (
                "kv",
                kv_pass::<KvScanner>,
                "(\\w+)\\s+(\\d+) scan + int() + per-document sums",
            ),
            (
                "(before: kv visiting every digit run)",
                kv_pass::<KvDigits>,
                "the previous candidate search, same check, int() and sums",
            ),
            (
                "(before: kv with the state machine)",
                kv_pass::<KvStates>,
                "the previous scanner, for comparison",
            ),
        ];
        for (name, pass, note) in passes {
            let t = Instant::now();
            pass(&cls, &texts, cfg);
            add(name, t, note);
        }
    }
    if cfg.emails {
        let t = Instant::now();
        let mut n = 0usize;
        for s in &texts {
            for_each_email(s, |e| n += e.len());
        }
        std::hint::black_box(n);
        add("emails", t, "memchr '@', pattern checked around it, lowercased");
        let t = Instant::now();
        let mut n = 0usize;
        for s in &texts {
            if memchr::memchr(b'@', s.as_bytes()).is_some() {
                for_each_email_regex(s, |e| n += e.len());
            }
        }
        std::hint::black_box(n);
        add(
            "(before: emails with the regex)",
            t,
            "the previous path, for comparison",
        );
    }
    drop(texts);
    // The whole per-document path (everything above from the line on, plus tallying), in
    // 2 MiB chunk tallies as the pipeline makes them; then their in-order merge.
    let mut p = Processor::new(cfg, false);
    let mut chunks = Vec::new();
    let t = Instant::now();
    let (mut t_chunk, mut out, mut size) = (Tally::new(cfg), Vec::new(), 0usize);
    for (i, l) in lines.iter().enumerate() {
        p.line(
            &mut t_chunk,
            &mut out,
            "<stages>",
            Pos::Index(i as u64),
            l,
            l.len() as u64 + 1,
        );
        size += l.len() + 1;
        if size >= 2 << 20 {
            chunks.push(std::mem::replace(&mut t_chunk, Tally::new(cfg)));
            size = 0;
        }
    }
    chunks.push(t_chunk);
    add(
        "per-document total",
        t,
        "Processor::line on every line: extraction + kv + emails + chunk tallies",
    );
    let t = Instant::now();
    let mut all = Tally::new(cfg);
    for c in chunks {
        all.merge(c);
    }
    std::hint::black_box(all.documents);
    add("merge", t, "chunk tallies into the report, in order");
    // With per-document output.
    let mut p = Processor::new(cfg, true);
    let t = Instant::now();
    let mut t_all = Tally::new(cfg);
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        p.line(
            &mut t_all,
            &mut out,
            "<stages>",
            Pos::Index(i as u64),
            l,
            l.len() as u64 + 1,
        );
        if out.len() > 1 << 20 {
            out.clear();
        }
    }
    add(
        "per-document total, with per-doc JSON",
        t,
        "as above, writing each document's JSON line (to memory)",
    );
    Ok((stages, data.len() as u64))
}
