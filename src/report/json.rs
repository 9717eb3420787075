//! The report as JSON (the schema is documented in docs/report.md), and loading it back.
//!
//! Integers are JSON integers of any size: sums past 64 bits are written digit for digit
//! (serde_json's `arbitrary_precision`), so `json.loads` in Python gives exact ints.
//! Every list and map is in a total order (count descending then code point order, or
//! code point order for maps), so equal reports serialize to equal bytes.
//!
//! A *full* report also holds every count (all keys, all emails, all pattern matches):
//! that is the state needed to merge, and the only form [`from_json`] accepts. A summary
//! holds the top entries only (plus all kv totals when `kv_totals` is set).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::Write;
use std::str::FromStr;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::config::{Config, PatternMode, DEFAULT_CHUNK_BYTES};
use super::tally::{InvalidLine, KeyStat, PatternTally, Pos, Tally};
use super::Report;
use crate::error::{Error, ErrorKind, Result};
use crate::text::hash::FxHashMap;
use crate::text::pyint::PyInt;
use crate::text::Pattern;

pub(crate) const FORMAT: &str = "ferrokern.report";
pub(crate) const VERSION: u32 = 1;

/// Order of two Python ints.
pub fn cmp_int(a: &PyInt, b: &PyInt) -> Ordering {
    match (a, b) {
        (PyInt::Small(x), PyInt::Small(y)) => x.cmp(y),
        // A Big never fits in i64, so its sign decides against a Small.
        (PyInt::Small(_), PyInt::Big { neg, .. }) => {
            if *neg {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (PyInt::Big { neg, .. }, PyInt::Small(_)) => {
            if *neg {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (PyInt::Big { neg: an, mag: am }, PyInt::Big { neg: bn, mag: bm }) => match (an, bn) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            _ => {
                let m = am
                    .len()
                    .cmp(&bm.len())
                    .then_with(|| am.iter().rev().cmp(bm.iter().rev()));
                if *an {
                    m.reverse()
                } else {
                    m
                }
            }
        },
    }
}

/// A Python int as a JSON integer of any size.
struct Int<'a>(&'a PyInt);

impl Serialize for Int<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0 {
            PyInt::Small(v) => s.serialize_i64(*v),
            big => serde_json::Number::from_str(&big.to_decimal())
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
        }
    }
}

/// A JSON object whose entries keep the given order.
struct Entries<K, V>(Vec<(K, V)>);

impl<K, V> Entries<K, V> {
    fn new(it: impl Iterator<Item = (K, V)>) -> Self {
        Entries(it.collect())
    }
}

impl<K: Serialize, V: Serialize> Serialize for Entries<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Keys sorted by count descending, then code point order.
fn ranked<'a>(map: &'a FxHashMap<Box<str>, u64>) -> Vec<(&'a str, u64)> {
    let mut v: Vec<(&str, u64)> = map.iter().map(|(k, c)| (&**k, *c)).collect();
    // UTF-8 byte order is code point order, which is how Python compares str.
    v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.as_bytes().cmp(b.0.as_bytes())));
    v
}

fn sorted_keys<'a, V>(map: &'a FxHashMap<Box<str>, V>) -> Vec<(&'a str, &'a V)> {
    let mut v: Vec<(&str, &V)> = map.iter().map(|(k, s)| (&**k, s)).collect();
    v.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    v
}

fn top_of(map: &FxHashMap<Box<str>, u64>, top: usize) -> Vec<(&str, u64)> {
    let mut r = ranked(map);
    r.truncate(top);
    r
}

#[derive(Serialize)]
struct ConfigOut<'a> {
    extractors: Vec<&'static str>,
    patterns: Vec<PatternCfg>,
    text_field: Option<&'a str>,
    top: usize,
    kv_totals: bool,
    max_digits: usize,
    max_line_bytes: usize,
}

#[derive(Serialize, Deserialize)]
struct PatternCfg {
    name: String,
    pattern: String,
    ignore_case: bool,
    mode: String,
}

#[derive(Serialize, Deserialize)]
struct InvalidOut {
    source: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    index: Option<u64>,
    reason: String,
    preview: String,
}

impl From<&InvalidLine> for InvalidOut {
    fn from(l: &InvalidLine) -> Self {
        let (offset, index) = match l.pos {
            Pos::Offset(o) => (Some(o), None),
            Pos::Index(i) => (None, Some(i)),
        };
        InvalidOut {
            source: l.source.clone(),
            offset,
            index,
            reason: l.reason.clone(),
            preview: l.preview.clone(),
        }
    }
}

/// Write `r` as JSON to `w` (buffer it: this writes many small pieces).
pub fn write_report<W: Write>(r: &Report, w: W, full: bool, pretty: bool) -> Result<()> {
    let cfg = r.config();
    let t = &r.tally;
    let mut extractors = Vec::new();
    if cfg.emails {
        extractors.push("emails");
    }
    if cfg.kv {
        extractors.push("kv");
    }
    let config = ConfigOut {
        extractors,
        patterns: cfg
            .patterns
            .iter()
            .map(|p| PatternCfg {
                name: p.name.clone(),
                pattern: p.pattern.source().to_string(),
                ignore_case: p.pattern.ignore_case(),
                mode: p.mode.name().into(),
            })
            .collect(),
        text_field: cfg.text_field.as_deref(),
        top: cfg.top,
        kv_totals: cfg.kv_totals,
        max_digits: cfg.max_digits,
        max_line_bytes: cfg.max_line_bytes,
    };
    let invalid: Vec<InvalidOut> = t.invalid.iter().map(InvalidOut::from).collect();

    let kv = cfg.kv.then(|| {
        let mut ranked: Vec<(&str, &KeyStat)> = t.kv.iter().map(|(k, s)| (&**k, s)).collect();
        ranked.sort_unstable_by(|a, b| {
            cmp_int(&b.1.total, &a.1.total).then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
        });
        let top: Vec<(&str, Int)> = ranked
            .iter()
            .take(cfg.top)
            .map(|(k, s)| (*k, Int(&s.total)))
            .collect();
        let all = (full || cfg.kv_totals).then(|| sorted_keys(&t.kv));
        KvOut {
            pairs: t.kv_pairs,
            distinct: t.kv.len() as u64,
            top,
            totals: all
                .as_ref()
                .map(|a| Entries::new(a.iter().map(|(k, s)| (*k, Int(&s.total))))),
            document_frequencies: all
                .as_ref()
                .map(|a| Entries::new(a.iter().map(|(k, s)| (*k, s.docs)))),
        }
    });

    let emails = cfg.emails.then(|| {
        let mut domains: FxHashMap<Box<str>, u64> = FxHashMap::default();
        for (e, c) in &t.emails {
            // The email pattern allows exactly one '@'.
            let d = e.rsplit_once('@').map_or(&**e, |(_, d)| d);
            match domains.get_mut(d) {
                Some(n) => *n += c,
                None => {
                    domains.insert(d.into(), *c);
                }
            }
        }
        EmailsOut {
            total: t.emails_total,
            distinct: t.emails.len() as u64,
            top: top_of(&t.emails, cfg.top),
            domains_distinct: domains.len() as u64,
            domains: top_of(&domains, cfg.top)
                .into_iter()
                .map(|(d, c)| (d.to_string(), c))
                .collect(),
            counts: full.then(|| Entries::new(sorted_keys(&t.emails).into_iter().map(|(k, c)| (k, *c)))),
        }
    });

    let patterns = (!cfg.patterns.is_empty()).then(|| {
        Entries::new(cfg.patterns.iter().zip(&t.patterns).map(move |(p, pt)| {
            let findall = p.mode == PatternMode::Findall;
            (
                p.name.as_str(),
                PatternOut {
                    mode: p.mode.name(),
                    total: pt.total,
                    distinct: findall.then_some(pt.counts.len() as u64),
                    top: findall.then(|| top_of(&pt.counts, cfg.top)),
                    counts: (findall && full)
                        .then(|| Entries::new(sorted_keys(&pt.counts).into_iter().map(|(k, c)| (k, *c)))),
                },
            )
        }))
    });

    let out = ReportOut {
        format: FORMAT,
        version: VERSION,
        full,
        complete: r.is_complete(),
        errors: &r.errors,
        config,
        lines: t.lines,
        documents: t.documents,
        bytes: t.bytes,
        invalid: InvalidSection {
            count: t.invalid_count,
            lines: invalid,
        },
        kv,
        emails,
        patterns,
    };
    let res = if pretty {
        let mut ser =
            serde_json::Serializer::with_formatter(w, serde_json::ser::PrettyFormatter::with_indent(b"  "));
        out.serialize(&mut ser)
    } else {
        let mut ser = serde_json::Serializer::new(w);
        out.serialize(&mut ser)
    };
    res.map_err(|e| {
        if e.is_io() {
            Error::new(ErrorKind::Io, format!("cannot write the report: {e}"))
        } else {
            Error::invalid(e.to_string())
        }
    })
}

#[derive(Serialize)]
struct ReportOut<'a> {
    format: &'static str,
    version: u32,
    full: bool,
    complete: bool,
    errors: &'a [String],
    config: ConfigOut<'a>,
    lines: u64,
    documents: u64,
    bytes: u64,
    invalid: InvalidSection,
    #[serde(skip_serializing_if = "Option::is_none")]
    kv: Option<KvOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    emails: Option<EmailsOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patterns: Option<Entries<&'a str, PatternOut<'a>>>,
}

#[derive(Serialize)]
struct InvalidSection {
    count: u64,
    lines: Vec<InvalidOut>,
}

#[derive(Serialize)]
struct KvOut<'a> {
    pairs: u64,
    distinct: u64,
    top: Vec<(&'a str, Int<'a>)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    totals: Option<Entries<&'a str, Int<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    document_frequencies: Option<Entries<&'a str, u64>>,
}

#[derive(Serialize)]
struct EmailsOut<'a> {
    total: u64,
    distinct: u64,
    top: Vec<(&'a str, u64)>,
    domains_distinct: u64,
    domains: Vec<(String, u64)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<Entries<&'a str, u64>>,
}

#[derive(Serialize)]
struct PatternOut<'a> {
    mode: &'static str,
    total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    distinct: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top: Option<Vec<(&'a str, u64)>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<Entries<&'a str, u64>>,
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ReportIn {
    format: String,
    version: u32,
    full: bool,
    errors: Vec<String>,
    config: ConfigIn,
    lines: u64,
    documents: u64,
    bytes: u64,
    invalid: InvalidIn,
    kv: Option<KvIn>,
    emails: Option<EmailsIn>,
    #[serde(default)]
    patterns: HashMap<String, PatternIn>,
}

#[derive(Deserialize)]
struct ConfigIn {
    extractors: Vec<String>,
    patterns: Vec<PatternCfg>,
    text_field: Option<String>,
    top: usize,
    kv_totals: bool,
    max_digits: usize,
    max_line_bytes: usize,
}

#[derive(Deserialize)]
struct InvalidIn {
    count: u64,
    lines: Vec<InvalidOut>,
}

#[derive(Deserialize)]
struct KvIn {
    pairs: u64,
    totals: Option<HashMap<String, serde_json::Number>>,
    document_frequencies: Option<HashMap<String, u64>>,
}

#[derive(Deserialize)]
struct EmailsIn {
    total: u64,
    counts: Option<HashMap<String, u64>>,
}

#[derive(Deserialize)]
struct PatternIn {
    total: u64,
    counts: Option<HashMap<String, u64>>,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::invalid(format!("not a loadable report JSON: {}", msg.into()))
}

fn not_full(what: &str) -> Error {
    bad(format!(
        "{what} is missing; only a full report (written with the FULL flag, which keeps every count) can be loaded back"
    ))
}

fn to_map(m: HashMap<String, u64>) -> FxHashMap<Box<str>, u64> {
    m.into_iter().map(|(k, v)| (k.into_boxed_str(), v)).collect()
}

/// Load a report written by [`write_report`] with `full = true`.
pub fn read_report(data: &[u8]) -> Result<Report> {
    let r: ReportIn = serde_json::from_slice(data).map_err(|e| bad(e.to_string()))?;
    if r.format != FORMAT {
        return Err(bad(format!("its format is {:?}, expected {FORMAT:?}", r.format)));
    }
    if r.version != VERSION {
        return Err(bad(format!(
            "it is version {}, this library reads version {VERSION}",
            r.version
        )));
    }
    if !r.full {
        return Err(not_full("the full state"));
    }
    let c = r.config;
    let mut cfg = Config {
        emails: false,
        kv: false,
        patterns: Vec::new(),
        text_field: c.text_field,
        top: c.top,
        kv_totals: c.kv_totals,
        max_digits: c.max_digits,
        max_line_bytes: c.max_line_bytes,
        chunk_bytes: DEFAULT_CHUNK_BYTES,
    };
    for e in &c.extractors {
        match e.as_str() {
            "emails" => cfg.emails = true,
            "kv" => cfg.kv = true,
            other => return Err(bad(format!("unknown extractor {other:?}"))),
        }
    }
    for p in &c.patterns {
        let pat = Pattern::new(&p.pattern, p.ignore_case)?;
        cfg.add_pattern(&p.name, pat, PatternMode::parse(&p.mode)?)?;
    }
    let mut report = Report::new(cfg)?;
    let cfg = report.config().clone();
    let mut t = Tally::new(&cfg);
    t.lines = r.lines;
    t.documents = r.documents;
    t.bytes = r.bytes;
    t.invalid_count = r.invalid.count;
    for l in r.invalid.lines {
        let pos = match (l.offset, l.index) {
            (Some(o), None) => Pos::Offset(o),
            (None, Some(i)) => Pos::Index(i),
            _ => {
                return Err(bad(
                    "an invalid-line sample needs exactly one of \"offset\" and \"index\"",
                ))
            }
        };
        t.invalid.push(InvalidLine {
            source: l.source,
            pos,
            reason: l.reason,
            preview: l.preview,
        });
    }
    if cfg.kv {
        let kv = r.kv.ok_or_else(|| not_full("\"kv\""))?;
        let totals = kv.totals.ok_or_else(|| not_full("\"kv.totals\""))?;
        let mut docs = kv
            .document_frequencies
            .ok_or_else(|| not_full("\"kv.document_frequencies\""))?;
        t.kv_pairs = kv.pairs;
        t.kv.reserve(totals.len());
        for (k, n) in totals {
            let total = PyInt::parse_python(n.as_str(), 0)
                .map_err(|_| bad(format!("kv total of {k:?} is not an integer: {n}")))?;
            let d = docs
                .remove(&k)
                .ok_or_else(|| bad(format!("kv key {k:?} has a total but no document frequency")))?;
            t.kv.insert(k.into_boxed_str(), KeyStat { total, docs: d });
        }
        if let Some(k) = docs.keys().next() {
            return Err(bad(format!("kv key {k:?} has a document frequency but no total")));
        }
    }
    if cfg.emails {
        let e = r.emails.ok_or_else(|| not_full("\"emails\""))?;
        t.emails_total = e.total;
        t.emails = to_map(e.counts.ok_or_else(|| not_full("\"emails.counts\""))?);
    }
    let mut pin = r.patterns;
    for (p, pt) in cfg.patterns.iter().zip(t.patterns.iter_mut()) {
        let j = pin
            .remove(&p.name)
            .ok_or_else(|| bad(format!("pattern {:?} has no entry in \"patterns\"", p.name)))?;
        *pt = PatternTally {
            total: j.total,
            counts: match p.mode {
                PatternMode::Count => FxHashMap::default(),
                PatternMode::Findall => to_map(
                    j.counts
                        .ok_or_else(|| not_full(&format!("\"patterns.{}.counts\"", p.name)))?,
                ),
            },
        };
    }
    report.tally = t;
    report.errors = r.errors;
    report.fed = true;
    Ok(report)
}
