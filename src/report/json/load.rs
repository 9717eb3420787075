//! Loading a full report back from its JSON.

use std::collections::HashMap;

use serde::Deserialize;

use super::{InvalidOut, PatternCfg, FORMAT, VERSION};
use crate::error::{Error, Result};
use crate::report::config::{Config, PatternMode, DEFAULT_CHUNK_BYTES};
use crate::report::tally::{InvalidLine, KeyStat, PatternTally, Pos, Tally};
use crate::report::Report;
use crate::shared::counts::CountMap;
use crate::shared::pyint::PyInt;
use crate::text::Pattern;

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

fn to_map(m: HashMap<String, u64>) -> CountMap<Box<str>> {
    m.into_iter().map(|(k, v)| (k.into_boxed_str(), v)).collect()
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
    t.lines = r.lines;
    t.documents = r.documents;
    t.bytes = r.bytes;
    t.invalid_count = r.invalid.count;
    for l in r.invalid.lines {
        t.invalid.push(invalid_from(l)?);
    }
    if cfg.kv {
        kv_from(r.kv.ok_or_else(|| not_full("\"kv\""))?, &mut t)?;
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
                PatternMode::Count => CountMap::default(),
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

fn config_from(c: ConfigIn) -> Result<Config> {
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
    Ok(cfg)
}

fn invalid_from(l: InvalidOut) -> Result<InvalidLine> {
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
