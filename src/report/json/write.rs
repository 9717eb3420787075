//! Writing a report as JSON.

use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::{InvalidOut, PatternCfg, FORMAT, VERSION};
use crate::error::{Error, ErrorKind, Result};
use crate::report::config::{Config, PatternMode};
use crate::report::keys::{CountMap, KvMap};
use crate::report::tally::Tally;
use crate::report::Report;
use crate::shared::counts::top_n;
use crate::shared::files::AtomicFile;
use crate::shared::pyint::PyInt;

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

/// An owned Python int as a JSON integer of any size.
struct IntOwned(PyInt);

impl Serialize for IntOwned {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Int(&self.0).serialize(s)
    }
}

/// A JSON object whose entries keep the given order.
struct Entries<K, V>(Vec<(K, V)>);

/// Every count of a map as a JSON object, keys in code point order, written straight
/// from the map (only the 4-byte sort index of each key is extra memory).
struct SortedCounts<'a> {
    map: &'a CountMap,
    order: Vec<u32>,
}

impl<'a> SortedCounts<'a> {
    fn new(map: &'a CountMap) -> Self {
        SortedCounts {
            map,
            order: map.sorted_indices(),
        }
    }
}

impl Serialize for SortedCounts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.order.len()))?;
        for &i in &self.order {
            m.serialize_entry(self.map.key(i as usize), self.map.value(i as usize))?;
        }
        m.end()
    }
}

/// Every kv key's total or document count, keys in code point order, streamed.
struct SortedKv<'a> {
    map: &'a KvMap,
    order: &'a [u32],
    docs: bool,
}

impl Serialize for SortedKv<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.order.len()))?;
        for &i in self.order {
            let (k, i) = (self.map.key(i as usize), i as usize);
            if self.docs {
                m.serialize_entry(k, &self.map.docs(i))?;
            } else {
                m.serialize_entry(k, &Int(&self.map.total(i)))?;
            }
        }
        m.end()
    }
}

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

#[derive(Serialize)]
pub(in crate::report) struct ConfigOut<'a> {
    extractors: Vec<&'static str>,
    patterns: Vec<PatternCfg>,
    text_field: Option<&'a str>,
    top: usize,
    kv_totals: bool,
    max_digits: usize,
    max_line_bytes: usize,
}

/// Write `r` as JSON to `w` (buffer it: this writes many small pieces).
pub fn write_report<W: Write>(r: &Report, w: W, full: bool, pretty: bool) -> Result<()> {
    let (cfg, t) = (r.config(), &r.tally);
    let kv_order = (cfg.kv && (full || cfg.kv_totals)).then(|| t.kv.sorted_indices());
    let out = ReportOut {
        format: FORMAT,
        version: VERSION,
        full,
        complete: r.is_complete(),
        errors: &r.errors,
        config: config_out(cfg),
        lines: t.lines,
        documents: t.documents,
        bytes: t.bytes,
        invalid: InvalidSection {
            count: t.invalid_count,
            lines: t.invalid.iter().map(InvalidOut::from).collect(),
        },
        kv: cfg.kv.then(|| kv_out(cfg, t, kv_order.as_deref())),
        emails: cfg.emails.then(|| emails_out(cfg, t, full)),
        patterns: (!cfg.patterns.is_empty()).then(|| patterns_out(cfg, t, full)),
    };
    let res = if pretty {
        let indent = serde_json::ser::PrettyFormatter::with_indent(b"  ");
        out.serialize(&mut serde_json::Serializer::with_formatter(w, indent))
    } else {
        out.serialize(&mut serde_json::Serializer::new(w))
    };
    res.map_err(|e| {
        if e.is_io() {
            Error::new(ErrorKind::Io, format!("cannot write the report: {e}"))
        } else {
            Error::invalid(e.to_string())
        }
    })
}

/// Write `r` as JSON to the file at `path` atomically: to a temporary file in its
/// directory, renamed over `path` only once complete, so a failure (a full disk) leaves
/// whatever was at `path` intact. Refuses a `path` that is one of the report's inputs.
/// Errors name the file.
pub fn write_report_file(r: &Report, path: &Path, full: bool, pretty: bool) -> Result<()> {
    r.check_not_input(path, "report output")?;
    let io = |e: std::io::Error| Error::new(ErrorKind::Io, format!("cannot write '{}': {e}", path.display()));
    let mut f = AtomicFile::create(path).map_err(io)?;
    write_report(r, &mut f, full, pretty)?;
    f.commit().map_err(io)
}

pub(in crate::report) fn config_out(cfg: &Config) -> ConfigOut<'_> {
    let mut extractors = Vec::new();
    if cfg.emails {
        extractors.push("emails");
    }
    if cfg.kv {
        extractors.push("kv");
    }
    ConfigOut {
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
    }
}

/// The first `top` entries of `map` in ranked order (a bounded heap, not a sort).
fn top_of(map: &CountMap, top: usize) -> Vec<(&str, u64)> {
    top_n(map.iter().map(|(k, c)| (k, *c)), top)
}

fn kv_out<'a>(cfg: &Config, t: &'a Tally, order: Option<&'a [u32]>) -> KvOut<'a> {
    let kv = &t.kv;
    let top = top_n((0..kv.len()).map(|i| (kv.key(i), kv.total(i))), cfg.top)
        .into_iter()
        .map(|(k, v)| (k, IntOwned(v.into_owned())))
        .collect();
    KvOut {
        pairs: t.kv_pairs,
        distinct: kv.len() as u64,
        top,
        totals: order.map(|order| SortedKv {
            map: kv,
            order,
            docs: false,
        }),
        document_frequencies: order.map(|order| SortedKv {
            map: kv,
            order,
            docs: true,
        }),
    }
}

fn emails_out<'a>(cfg: &Config, t: &'a Tally, full: bool) -> EmailsOut<'a> {
    let mut domains = CountMap::default();
    for (e, c) in t.emails.iter() {
        // The email pattern allows exactly one '@'.
        domains.add(e.rsplit_once('@').map_or(e, |(_, d)| d), *c);
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
        counts: full.then(|| SortedCounts::new(&t.emails)),
    }
}

fn patterns_out<'a>(cfg: &'a Config, t: &'a Tally, full: bool) -> Entries<&'a str, PatternOut<'a>> {
    Entries::new(cfg.patterns.iter().zip(&t.patterns).map(move |(p, pt)| {
        let findall = p.mode == PatternMode::Findall;
        let out = PatternOut {
            mode: p.mode.name(),
            total: pt.total,
            distinct: findall.then_some(pt.counts.len() as u64),
            top: findall.then(|| top_of(&pt.counts, cfg.top)),
            counts: (findall && full).then(|| SortedCounts::new(&pt.counts)),
        };
        (p.name.as_str(), out)
    }))
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
    top: Vec<(&'a str, IntOwned)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    totals: Option<SortedKv<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    document_frequencies: Option<SortedKv<'a>>,
}

#[derive(Serialize)]
struct EmailsOut<'a> {
    total: u64,
    distinct: u64,
    top: Vec<(&'a str, u64)>,
    domains_distinct: u64,
    domains: Vec<(String, u64)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<SortedCounts<'a>>,
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
    counts: Option<SortedCounts<'a>>,
}
