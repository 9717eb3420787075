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
