//! Loading a full report back from its JSON.

use std::collections::HashMap;

use serde::Deserialize;

use super::{InvalidOut, PatternCfg, FORMAT, VERSION};
use crate::error::{Error, Result};
use crate::report::config::{Config, PatternMode, DEFAULT_CHUNK_BYTES, INVALID_SAMPLES};
use crate::report::keys::CountMap;
use crate::report::tally::{InvalidLine, KeyStat, PatternTally, Pos, Tally};
use crate::report::Report;
use crate::shared::pyint::PyInt;
use crate::text::Pattern;

#[derive(Deserialize)]
struct ReportIn {
    format: String,
    version: u32,
    full: bool,
    complete: bool,
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
pub(in crate::report) struct ConfigIn {
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
    distinct: Option<u64>,
    totals: Option<HashMap<String, serde_json::Number>>,
    document_frequencies: Option<HashMap<String, u64>>,
}

#[derive(Deserialize)]
struct EmailsIn {
    total: u64,
    distinct: Option<u64>,
    counts: Option<HashMap<String, u64>>,
}

#[derive(Deserialize)]
struct PatternIn {
    total: u64,
    distinct: Option<u64>,
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

fn to_map(m: HashMap<String, u64>) -> CountMap {
    m.iter().map(|(k, v)| (k.as_str(), *v)).collect()
}

/// Load a report written by [`write_report`](super::write_report) with `full = true`.
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
    let mut report = Report::new(config_from(r.config)?)?;
    let cfg = report.config().clone();
    let mut t = Tally::new(&cfg);
    // (what, stated number of distinct entries), checked against the loaded maps.
    let mut distinct: Vec<(String, Option<u64>)> = Vec::new();
    t.lines = r.lines;
    t.documents = r.documents;
    t.bytes = r.bytes;
    t.invalid_count = r.invalid.count;
    for l in r.invalid.lines {
        t.invalid.push(invalid_from(l)?);
    }
    if cfg.kv {
        let kv = r.kv.ok_or_else(|| not_full("\"kv\""))?;
        distinct.push(("kv".into(), kv.distinct));
        kv_from(kv, &mut t)?;
    }
    if cfg.emails {
        let e = r.emails.ok_or_else(|| not_full("\"emails\""))?;
        distinct.push(("emails".into(), e.distinct));
        t.emails_total = e.total;
        t.emails = to_map(e.counts.ok_or_else(|| not_full("\"emails.counts\""))?);
    }
    let mut pin = r.patterns;
    for (p, pt) in cfg.patterns.iter().zip(t.patterns.iter_mut()) {
        let j = pin
            .remove(&p.name)
            .ok_or_else(|| bad(format!("pattern {:?} has no entry in \"patterns\"", p.name)))?;
        if p.mode == PatternMode::Findall {
            distinct.push((format!("patterns.{}", p.name), j.distinct));
        }
        *pt = PatternTally {
            total: j.total,
            counts: match p.mode {
                PatternMode::Count => CountMap::default(),
                PatternMode::Findall => to_map(
                    j.counts
                        .ok_or_else(|| not_full(&format!("\"patterns.{}.counts\"", p.name)))?,
                ),
            },
        };
    }
    if let Some(name) = pin.keys().next() {
        return Err(bad(format!(
            "\"patterns\" has counts for {name:?}, which is not a pattern of the report's config"
        )));
    }
    if r.complete != r.errors.is_empty() {
        return Err(bad(format!(
            "\"complete\" is {} but \"errors\" has {} entries (an incomplete report says why)",
            r.complete,
            r.errors.len()
        )));
    }
    check_tally(&cfg, &t, &distinct)?;
    report.tally = t;
    report.errors = r.errors;
    report.fed = true;
    report.enforce_budget()?;
    Ok(report)
}

/// Every invariant a report maintains, so that a loaded report is one this library could
/// have produced (a hand-edited or corrupted one is refused, not merged into others).
pub(in crate::report) fn check_tally(
    cfg: &Config,
    t: &Tally,
    distinct: &[(String, Option<u64>)],
) -> Result<()> {
    check_counters(t)?;
    check_maps(cfg, t, distinct)
}

/// The invariants of a tally's counters and samples (not its maps).
pub(in crate::report) fn check_counters(t: &Tally) -> Result<()> {
    if t.documents > t.lines {
        return Err(bad(format!(
            "it has {} documents but only {} lines",
            t.documents, t.lines
        )));
    }
    if t.invalid_count != t.lines - t.documents {
        return Err(bad(format!(
            "invalid.count is {} but lines - documents is {}",
            t.invalid_count,
            t.lines - t.documents
        )));
    }
    let samples = t.invalid_count.min(INVALID_SAMPLES as u64);
    if t.invalid.len() as u64 != samples {
        return Err(bad(format!(
            "invalid.lines has {} samples, expected {samples}",
            t.invalid.len()
        )));
    }
    Ok(())
}

fn check_maps(cfg: &Config, t: &Tally, distinct: &[(String, Option<u64>)]) -> Result<()> {
    for (what, stated) in distinct {
        let have = match what.as_str() {
            "kv" => t.kv.len(),
            "emails" => t.emails.len(),
            name => {
                let i = cfg
                    .patterns
                    .iter()
                    .position(|p| format!("patterns.{}", p.name) == name)
                    .unwrap_or(0);
                t.patterns.get(i).map_or(0, |p| p.counts.len())
            }
        } as u64;
        if let Some(n) = stated {
            if *n != have {
                return Err(bad(format!("{what}.distinct is {n} but it has {have} entries")));
            }
        }
    }
    let mut key_docs = 0u64;
    for i in 0..t.kv.len() {
        let (k, s) = (t.kv.key(i), t.kv.stat(i));
        if s.docs == 0 || s.docs > t.documents {
            return Err(bad(format!(
                "kv key {k:?} is in {} documents, not between 1 and documents ({})",
                s.docs, t.documents
            )));
        }
        key_docs = key_docs.saturating_add(s.docs);
    }
    // Each (document, key) is at least one pair.
    if cfg.kv && key_docs > t.kv_pairs {
        return Err(bad(format!(
            "kv.pairs is {} but the document frequencies add up to {key_docs}",
            t.kv_pairs
        )));
    }
    let sum = |m: &CountMap| m.values().try_fold(0u64, |a, &n| a.checked_add(n));
    let exact = |what: &str, m: &CountMap, total: u64| -> Result<()> {
        if let Some((k, _)) = m.iter().find(|(_, &n)| n == 0) {
            return Err(bad(format!("{what} has a count of 0 for {k:?}")));
        }
        if sum(m) != Some(total) {
            return Err(bad(format!(
                "{what}: the total {total} is not the sum of the counts"
            )));
        }
        Ok(())
    };
    if cfg.emails {
        if let Some(k) = t.emails.keys().find(|k| !k.contains('@')) {
            return Err(bad(format!("{k:?} in emails.counts is not an email address")));
        }
        exact("emails", &t.emails, t.emails_total)?;
    }
    for (p, pt) in cfg.patterns.iter().zip(&t.patterns) {
        if p.mode == PatternMode::Findall {
            exact(&format!("patterns.{}", p.name), &pt.counts, pt.total)?;
        }
    }
    Ok(())
}

pub(in crate::report) fn config_from(c: ConfigIn) -> Result<Config> {
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
        ..Config::default()
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
    Ok(cfg)
}

pub(in crate::report) fn invalid_from(l: InvalidOut) -> Result<InvalidLine> {
    let pos = match (l.offset, l.index) {
        (Some(o), None) => Pos::Offset(o),
        (None, Some(i)) => Pos::Index(i),
        _ => {
            return Err(bad(
                "an invalid-line sample needs exactly one of \"offset\" and \"index\"",
            ))
        }
    };
    Ok(InvalidLine {
        source: l.source,
        pos,
        reason: l.reason,
        preview: l.preview,
    })
}

fn kv_from(kv: KvIn, t: &mut Tally) -> Result<()> {
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
        t.kv.add(&k, KeyStat { total, docs: d });
    }
    if let Some(k) = docs.keys().next() {
        return Err(bad(format!("kv key {k:?} has a document frequency but no total")));
    }
    Ok(())
}
