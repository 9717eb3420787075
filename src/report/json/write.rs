//! Writing a report as JSON.

use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::{InvalidOut, PatternCfg, FORMAT, VERSION};
use crate::error::{panic_error, Error, ErrorKind, Result};
use crate::report::config::{Config, PatternMode};
use std::borrow::Cow;
use std::collections::BinaryHeap;

use crate::report::keys::CountMap;
use crate::report::spill::{for_each_merged, for_each_unordered, MapId, Val};
use crate::report::Report;
use crate::shared::counts::{top_n, ByCount};
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

/// Every entry of one map as a JSON object, keys in code point order, streamed from the
/// map in memory merged with its spilled runs (only a 4-byte sort index per key in memory
/// is extra).
struct Merged<'a> {
    r: &'a Report,
    id: MapId,
    field: Field,
}

#[derive(Clone, Copy)]
enum Field {
    Count,
    Total,
    Docs,
}

impl Serialize for Merged<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mem = self
            .r
            .maps()
            .into_iter()
            .find(|(i, _)| *i == self.id)
            .map(|(_, m)| m);
        let Some(mem) = mem else {
            return s.serialize_map(Some(0))?.end();
        };
        let mut m = s.serialize_map(None)?;
        let mut failed: Option<S::Error> = None;
        let res = for_each_merged(self.r.spill.as_ref(), self.id, mem, &mut |k, v| {
            let r = match (self.field, v) {
                (Field::Count, Val::Count(c)) => m.serialize_entry(k, c),
                (Field::Total, Val::Kv(t, _)) => m.serialize_entry(k, &Int(t)),
                (Field::Docs, Val::Kv(_, d)) => m.serialize_entry(k, d),
                _ => Ok(()),
            };
            r.map_err(|e| {
                failed = Some(e);
                Error::invalid("")
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        res.map_err(|e| serde::ser::Error::custom(e.message))?;
        m.end()
    }
}

/// A ranked entry with an owned key (a top list built while streaming spilled runs).
struct Ranked<C>(String, C);

impl<C: Ord> Ord for Ranked<C> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        ByCount(&self.0, &self.1).cmp(&ByCount(&o.0, &o.1))
    }
}
impl<C: Ord> PartialOrd for Ranked<C> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<C: Ord> PartialEq for Ranked<C> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o).is_eq()
    }
}
impl<C: Ord> Eq for Ranked<C> {}

/// Keep `(k, c)` if it is among the best `n` so far (the key is copied only then).
fn push_top<C: Ord>(heap: &mut BinaryHeap<Ranked<C>>, n: usize, k: &str, c: C) {
    if n == 0 {
        return;
    }
    if heap.len() < n {
        heap.push(Ranked(k.to_string(), c));
    } else if let Some(mut worst) = heap.peek_mut() {
        if ByCount(k, &c) < ByCount(&worst.0, &worst.1) {
            *worst = Ranked(k.to_string(), c);
        }
    }
}

fn ranked<C: Ord>(heap: BinaryHeap<Ranked<C>>) -> Vec<(Cow<'static, str>, C)> {
    heap.into_sorted_vec()
        .into_iter()
        .map(|r| (Cow::Owned(r.0), r.1))
        .collect()
}

/// What a summary needs of a spilled map, in one pass over its entries in no particular
/// order ([`for_each_unordered`]: nothing here depends on it, the top list ranking ties by
/// key): the number of distinct keys, the top `n` (by total for kv, else by count) and,
/// for emails, the count per domain.
struct Pass {
    distinct: u64,
    top_kv: BinaryHeap<Ranked<PyInt>>,
    top: BinaryHeap<Ranked<u64>>,
    domains: CountMap,
}

fn spilled_pass(r: &Report, id: MapId, n: usize, domains: bool) -> Result<Option<Pass>> {
    let Some(spill) = r.spill.as_ref().filter(|s| s.has_runs(id)) else {
        return Ok(None);
    };
    let mem = r.maps().into_iter().find(|(i, _)| *i == id).map(|(_, m)| m);
    let Some(mem) = mem else { return Ok(None) };
    let mut p = Pass {
        distinct: 0,
        top_kv: BinaryHeap::new(),
        top: BinaryHeap::new(),
        domains: CountMap::default(),
    };
    for_each_unordered(Some(spill), id, mem, &mut |k, v| {
        p.distinct += 1;
        match v {
            Val::Kv(t, _) => push_top(&mut p.top_kv, n, k, t.clone()),
            Val::Count(c) => {
                push_top(&mut p.top, n, k, *c);
                if domains {
                    p.domains.add(k.rsplit_once('@').map_or(k, |(_, d)| d), *c);
                }
            }
        }
        Ok(())
    })?;
    Ok(Some(p))
}

/// The spilled passes a summary needs ([`spilled_pass`]; None for a map without runs).
struct Passes {
    kv: Option<Pass>,
    emails: Option<Pass>,
    patterns: Vec<Option<Pass>>,
}

/// Every spilled pass of `r`'s summary, kv's on this thread while a helper thread does the
/// emails' and the patterns' (when both sides have runs and the report may use more than
/// one thread): each pass is a k-way merge of one map's runs, independent of the others,
/// and at 20 M distinct keys the kv and emails passes took 11.5 s one after the other (issue
/// 9's summary of a spilled report; [`crate::parallel::on_two_threads`]).
fn spilled_passes(r: &Report) -> Result<Passes> {
    let cfg = r.config();
    let top = cfg.top;
    let kv = || {
        if cfg.kv {
            spilled_pass(r, MapId::Kv, top, false)
        } else {
            Ok(None)
        }
    };
    let others = || -> Result<(Option<Pass>, Vec<Option<Pass>>)> {
        let emails = if cfg.emails {
            spilled_pass(r, MapId::Emails, top, true)?
        } else {
            None
        };
        let patterns = (0..cfg.patterns.len())
            .map(|i| spilled_pass(r, MapId::Pattern(i), top, false))
            .collect::<Result<Vec<_>>>()?;
        Ok((emails, patterns))
    };
    let has_runs = |id| r.spill.as_ref().is_some_and(|s| s.has_runs(id));
    let split = crate::parallel::threads() > 1
        && has_runs(MapId::Kv)
        && (has_runs(MapId::Emails) || (0..cfg.patterns.len()).any(|i| has_runs(MapId::Pattern(i))));
    let (kv, others) = if !split {
        (kv(), others())
    } else {
        let (kv, others) = crate::parallel::on_two_threads("ferrokern-pass", kv, others);
        let others = others.unwrap_or_else(|p| Err(panic_error("merging spilled runs", &*p)));
        (kv, others)
    };
    let kv = kv?;
    let (emails, patterns) = others?;
    Ok(Passes { kv, emails, patterns })
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
    let passes = spilled_passes(r)?;
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
        kv: cfg.kv.then(|| kv_out(r, full, passes.kv)),
        emails: cfg.emails.then(|| emails_out(r, full, passes.emails)),
        patterns: (!cfg.patterns.is_empty()).then(|| patterns_out(r, full, passes.patterns)),
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
fn top_of(map: &CountMap, top: usize) -> Vec<(Cow<'_, str>, u64)> {
    top_n(map.iter().map(|(k, c)| (k, *c)), top)
        .into_iter()
        .map(|(k, c)| (Cow::Borrowed(k), c))
        .collect()
}

fn kv_out(r: &Report, full: bool, pass: Option<Pass>) -> KvOut<'_> {
    let (cfg, t) = (r.config(), &r.tally);
    let kv = &t.kv;
    let (distinct, top) = match pass {
        Some(p) => (p.distinct, ranked(p.top_kv)),
        None => (
            kv.len() as u64,
            top_n((0..kv.len()).map(|i| (kv.key(i), kv.total(i))), cfg.top)
                .into_iter()
                .map(|(k, v)| (Cow::Borrowed(k), v.into_owned()))
                .collect(),
        ),
    };
    let all = full || cfg.kv_totals;
    let merged = |field| Merged {
        r,
        id: MapId::Kv,
        field,
    };
    KvOut {
        pairs: t.kv_pairs,
        distinct,
        top: top.into_iter().map(|(k, v)| (k, IntOwned(v))).collect(),
        totals: all.then(|| merged(Field::Total)),
        document_frequencies: all.then(|| merged(Field::Docs)),
    }
}

fn emails_out(r: &Report, full: bool, pass: Option<Pass>) -> EmailsOut<'_> {
    let (cfg, t) = (r.config(), &r.tally);
    let (distinct, top, domains) = match pass {
        Some(p) => (p.distinct, ranked(p.top), p.domains),
        None => {
            let mut domains = CountMap::default();
            for (e, c) in t.emails.iter() {
                // The email pattern allows exactly one '@'.
                domains.add(e.rsplit_once('@').map_or(e, |(_, d)| d), *c);
            }
            (t.emails.len() as u64, top_of(&t.emails, cfg.top), domains)
        }
    };
    EmailsOut {
        total: t.emails_total,
        distinct,
        top,
        domains_distinct: domains.len() as u64,
        domains: top_of(&domains, cfg.top)
            .into_iter()
            .map(|(d, c)| (d.into_owned(), c))
            .collect(),
        counts: full.then_some(Merged {
            r,
            id: MapId::Emails,
            field: Field::Count,
        }),
    }
}

fn patterns_out(r: &Report, full: bool, passes: Vec<Option<Pass>>) -> Entries<&str, PatternOut<'_>> {
    let (cfg, t) = (r.config(), &r.tally);
    let mut out = Vec::new();
    let parts = cfg.patterns.iter().zip(&t.patterns).zip(passes);
    for (i, ((p, pt), pass)) in parts.enumerate() {
        let findall = p.mode == PatternMode::Findall;
        let (distinct, top) = match pass {
            Some(s) => (s.distinct, ranked(s.top)),
            None => (pt.counts.len() as u64, top_of(&pt.counts, cfg.top)),
        };
        let po = PatternOut {
            mode: p.mode.name(),
            total: pt.total,
            distinct: findall.then_some(distinct),
            top: findall.then_some(top),
            counts: (findall && full).then_some(Merged {
                r,
                id: MapId::Pattern(i),
                field: Field::Count,
            }),
        };
        out.push((p.name.as_str(), po));
    }
    Entries(out)
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
    top: Vec<(Cow<'a, str>, IntOwned)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    totals: Option<Merged<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    document_frequencies: Option<Merged<'a>>,
}

#[derive(Serialize)]
struct EmailsOut<'a> {
    total: u64,
    distinct: u64,
    top: Vec<(Cow<'a, str>, u64)>,
    domains_distinct: u64,
    domains: Vec<(String, u64)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<Merged<'a>>,
}

#[derive(Serialize)]
struct PatternOut<'a> {
    mode: &'static str,
    total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    distinct: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top: Option<Vec<(Cow<'a, str>, u64)>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<Merged<'a>>,
}
