//! The report as JSON (the schema is documented in docs/report.md), and loading it back.
//!
//! Integers are JSON integers of any size: sums past 64 bits are written digit for digit
//! (serde_json's `arbitrary_precision`), so `json.loads` in Python gives exact ints.
//! Every list and map is in a total order (count descending then code point order, or
//! code point order for maps), so equal reports serialize to equal bytes.
//!
//! A *full* report also holds every count (all keys, all emails, all pattern matches):
//! that is the state needed to merge, and the only form [`read_report`] accepts. A summary
//! holds the top entries only (plus all kv totals when `kv_totals` is set).
//!
//! [`write`] turns a report into JSON, [`load`] reads a full one back; the types both
//! sides share are here.

mod load;
mod write;

pub use load::read_report;
pub(in crate::report) use load::{check_counters, config_from, invalid_from, ConfigIn};
pub(in crate::report) use write::{config_out, ConfigOut};
pub use write::{write_report, write_report_file};

use serde::{Deserialize, Serialize};

use super::tally::{InvalidLine, Pos};

pub(crate) const FORMAT: &str = "ferrokern.report";
pub(crate) const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
pub(super) struct PatternCfg {
    pub(super) name: String,
    pub(super) pattern: String,
    pub(super) ignore_case: bool,
    pub(super) mode: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct InvalidOut {
    pub(super) source: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(super) offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(super) index: Option<u64>,
    pub(super) reason: String,
    pub(super) preview: String,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::config::{Config, PatternMode};
    use crate::report::tally::KeyStat;
    use crate::report::Report;
    use crate::shared::pyint::PyInt;
    use crate::text::Pattern;

    fn report(top: usize) -> Report {
        let mut cfg = Config {
            top,
            ..Config::default()
        };
        cfg.add_pattern("w", Pattern::new(r"(\w+)!", false).unwrap(), PatternMode::Findall)
            .unwrap();
        cfg.add_pattern("n", Pattern::new(r"\d", false).unwrap(), PatternMode::Count)
            .unwrap();
        let mut r = Report::new(cfg).unwrap();
        let t = &mut r.tally;
        t.lines = 5;
        t.documents = 4;
        t.bytes = 99;
        t.kv_pairs = 4;
        let big = PyInt::parse_python("-100000000000000000000", 0).unwrap();
        t.kv.add("neg", KeyStat { total: big, docs: 1 });
        t.kv.add(
            "b",
            KeyStat {
                total: PyInt::Small(3),
                docs: 2,
            },
        );
        t.kv.add(
            "a",
            KeyStat {
                total: PyInt::Small(3),
                docs: 1,
            },
        );
        t.emails_total = 4;
        t.emails.add("x@b.org", 1);
        t.emails.add("y@b.org", 1);
        t.emails.add("z@a.org", 2);
        t.patterns[0].total = 3;
        t.patterns[0].counts.add("hi", 2);
        t.patterns[0].counts.add("yo", 1);
        t.patterns[1].total = 7;
        t.add_invalid("f.txt", Pos::Offset(12), "bad".into(), b"\xffline");
        r
    }

    fn to_value(r: &Report, full: bool) -> serde_json::Value {
        let mut v = Vec::new();
        write_report(r, &mut v, full, false).unwrap();
        serde_json::from_slice(&v).unwrap()
    }

    #[test]
    fn summary_lists_are_ranked_and_cut_to_top() {
        let v = to_value(&report(2), false);
        assert_eq!(v["format"], "ferrokern.report");
        assert_eq!(v["full"], false);
        assert_eq!(v["kv"]["top"], serde_json::json!([["a", 3], ["b", 3]]));
        assert_eq!(v["kv"]["distinct"], 3);
        assert!(v["kv"].get("totals").is_none());
        assert_eq!(
            v["emails"]["top"],
            serde_json::json!([["z@a.org", 2], ["x@b.org", 1]])
        );
        assert_eq!(
            v["emails"]["domains"],
            serde_json::json!([["a.org", 2], ["b.org", 2]])
        );
        assert!(v["emails"].get("counts").is_none());
        assert_eq!(
            v["patterns"]["w"]["top"],
            serde_json::json!([["hi", 2], ["yo", 1]])
        );
        assert_eq!(
            v["patterns"]["n"],
            serde_json::json!({"mode": "count", "total": 7})
        );
        assert_eq!(
            v["invalid"]["lines"][0],
            serde_json::json!({"source": "f.txt", "offset": 12, "reason": "bad", "preview": "\u{fffd}line"})
        );
    }

    #[test]
    fn full_report_holds_every_count_exactly_and_loads_back() {
        let r = report(1);
        let mut text = Vec::new();
        write_report(&r, &mut text, true, true).unwrap();
        let s = String::from_utf8(text.clone()).unwrap();
        assert!(s.contains("\"neg\": -100000000000000000000"), "{s}");
        let back = read_report(&text).unwrap();
        assert_eq!(back.tally, r.tally);
        assert_eq!(back.config().patterns.len(), 2);
        let mut again = Vec::new();
        write_report(&back, &mut again, true, true).unwrap();
        assert_eq!(again, text);
    }

    #[test]
    fn loader_names_what_is_wrong() {
        let r = report(3);
        let full = to_value(&r, true);
        let err = |v: &serde_json::Value| read_report(v.to_string().as_bytes()).err().unwrap().message;
        assert!(err(&to_value(&r, false)).contains("only a full report"));
        let mut v = full.clone();
        v["format"] = "other".into();
        assert!(err(&v).contains("its format is \"other\""));
        let mut v = full.clone();
        v["version"] = 9.into();
        assert!(err(&v).contains("version 9"));
        let mut v = full.clone();
        v["kv"]["document_frequencies"]
            .as_object_mut()
            .unwrap()
            .remove("a");
        assert!(err(&v).contains("kv key \"a\" has a total but no document frequency"));
        let mut v = full.clone();
        v["kv"]["totals"]["a"] = "x".into();
        assert!(err(&v).starts_with("not a loadable report JSON"));
        let mut v = full.clone();
        v["invalid"]["lines"][0]["index"] = 3.into();
        assert!(err(&v).contains("exactly one of \"offset\" and \"index\""));
        let mut v = full.clone();
        v["patterns"].as_object_mut().unwrap().remove("w");
        assert!(err(&v).contains("pattern \"w\" has no entry"));
        let mut v = full;
        v["config"]["extractors"] = serde_json::json!(["emails", "nope"]);
        assert!(err(&v).contains("unknown extractor \"nope\""));
        assert!(read_report(b"{").is_err());
    }

    #[test]
    fn loader_refuses_reports_that_break_an_invariant() {
        let full = to_value(&report(3), true);
        assert!(read_report(full.to_string().as_bytes()).is_ok());
        let err = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut v = full.clone();
            edit(&mut v);
            read_report(v.to_string().as_bytes()).err().map(|e| e.message)
        };
        type Edit = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "6 documents but only 5 lines",
                Box::new(|v| v["documents"] = 6.into()),
            ),
            (
                "invalid.count is 2",
                Box::new(|v| v["invalid"]["count"] = 2.into()),
            ),
            ("kv.pairs is 1", Box::new(|v| v["kv"]["pairs"] = 1.into())),
            ("kv.distinct is 9", Box::new(|v| v["kv"]["distinct"] = 9.into())),
            (
                "emails: the total 5",
                Box::new(|v| v["emails"]["total"] = 5.into()),
            ),
            (
                "patterns.w: the total 4",
                Box::new(|v| v["patterns"]["w"]["total"] = 4.into()),
            ),
            (
                "is in 5 documents",
                Box::new(|v| v["kv"]["document_frequencies"]["b"] = 5.into()),
            ),
            (
                "not an email address",
                Box::new(|v| {
                    let c = v["emails"]["counts"].as_object_mut().unwrap();
                    c.remove("x@b.org");
                    c.insert("nobody".into(), 1.into());
                }),
            ),
            (
                "not a pattern of the report's config",
                Box::new(|v| v["patterns"]["ghost"] = serde_json::json!({"total": 0, "counts": {}})),
            ),
            (
                "\"complete\" is false",
                Box::new(|v| v["complete"] = false.into()),
            ),
            (
                "samples, expected 1",
                Box::new(|v| v["invalid"]["lines"] = serde_json::json!([])),
            ),
        ];
        for (want, edit) in cases {
            let got = err(&*edit).unwrap_or_else(|| panic!("loaded a report with {want:?}"));
            assert!(got.contains(want), "{want:?} not in {got:?}");
        }
    }
}
