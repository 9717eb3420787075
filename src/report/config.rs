//! What a report extracts and how input lines are read.

use crate::error::{Error, Result};
use crate::text::Pattern;

/// Default size of the pieces of input processed as one task: big enough that per-chunk
/// overhead (one task, one partial map per chunk) does not show, small enough that
/// `chunks in flight × chunk size` stays a few tens of MB.
pub(crate) const DEFAULT_CHUNK_BYTES: usize = 2 << 20;
/// Largest chunk size accepted: a chunk is allocated whole and about `3 × threads + 2` are
/// in memory at once, so a larger one is a mistake that would exhaust memory.
pub(crate) const MAX_CHUNK_BYTES: usize = 1 << 30;
/// Smallest chunk size accepted (tests use tiny chunks to exercise the chunk seams).
pub(crate) const MIN_CHUNK_BYTES: usize = 256;
/// Default longest line: a longer line is counted invalid and skipped without being held
/// in memory. Raise it to process longer documents (memory grows with it).
pub(crate) const DEFAULT_MAX_LINE_BYTES: usize = 64 << 20;
/// Default memory budget of a report: with it the peak RSS of a whole run (Python, the
/// library, the input pipeline and the per-key state) stays under 300 MB at any key
/// cardinality; past it the per-key state spills to disk (see `spill.rs`).
pub(crate) const DEFAULT_MEMORY_BUDGET: usize = 200 << 20;
/// How many invalid lines are kept as samples (the count covers all of them).
pub(crate) const INVALID_SAMPLES: usize = 10;
/// Characters of an invalid line shown in its sample.
pub(crate) const PREVIEW_CHARS: usize = 80;

/// What a named user pattern contributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatternMode {
    /// Count every distinct match (group 1 if the pattern has groups, else the whole match):
    /// `total`, `distinct`, `top`. Per document: `re.findall`'s list.
    Findall,
    /// Only count matches: `total`. Per document: the number of matches.
    Count,
}

impl PatternMode {
    pub fn name(self) -> &'static str {
        match self {
            PatternMode::Findall => "findall",
            PatternMode::Count => "count",
        }
    }
    pub fn parse(s: &str) -> Result<PatternMode> {
        match s {
            "findall" => Ok(PatternMode::Findall),
            "count" => Ok(PatternMode::Count),
            other => Err(Error::invalid(format!(
                "unknown pattern mode {other:?} (expected \"findall\" or \"count\")"
            ))),
        }
    }
}

#[derive(Clone, Debug)]
pub struct NamedPattern {
    pub name: String,
    pub pattern: Pattern,
    pub mode: PatternMode,
}

impl NamedPattern {
    /// The group whose strings a findall-mode pattern counts.
    pub fn group(&self) -> usize {
        if self.pattern.groups() > 0 {
            1
        } else {
            0
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// The built-in `extract_emails`.
    pub emails: bool,
    /// The built-in `extract_and_aggregate`.
    pub kv: bool,
    pub patterns: Vec<NamedPattern>,
    /// `None`: one document per line. `Some(f)`: JSON lines, the document is field `f`.
    pub text_field: Option<String>,
    /// Entries in each `top` list.
    pub top: usize,
    /// Write every key's total and document frequency (not only the top) in the summary.
    pub kv_totals: bool,
    /// Python's `sys.get_int_max_str_digits()` (0 = no limit): a document holding a longer
    /// number is invalid, where the reference's `int()` raises.
    pub max_digits: usize,
    /// Longer lines are invalid and skipped.
    pub max_line_bytes: usize,
    /// Processing granularity; never changes a result.
    pub chunk_bytes: usize,
    /// Bytes of memory the report aims to stay under (0 = no limit: never spill). Past
    /// it the per-key state spills, exactly, to `spill_dir`. Never changes a result.
    pub memory_budget: usize,
    /// Where spill files go (None: `TMPDIR`, else /tmp). They have no name and vanish
    /// when the report is freed, fails, or the process dies.
    pub spill_dir: Option<std::path::PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            emails: true,
            kv: true,
            patterns: Vec::new(),
            text_field: None,
            top: 20,
            kv_totals: false,
            max_digits: 4300,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            spill_dir: None,
        }
    }
}

impl Config {
    /// Bytes the per-key state may hold in memory before it spills: the budget less the
    /// input pipeline (chunks queued and in flight, and their tallies), halved because a
    /// hash table that doubles briefly holds its old and new arrays, and a spill sorts an
    /// index. 0 means spill after every chunk (tiny budgets, as tests use).
    pub fn state_budget(&self, threads: usize) -> usize {
        if self.memory_budget == 0 {
            return usize::MAX;
        }
        let pipeline = (5 * threads + 2).saturating_mul(self.chunk_bytes);
        self.memory_budget.saturating_sub(pipeline) / 2
    }

    pub fn validate(&self) -> Result<()> {
        if self.chunk_bytes < MIN_CHUNK_BYTES {
            return Err(Error::invalid(format!(
                "chunk size {} is below the minimum of {MIN_CHUNK_BYTES} bytes",
                self.chunk_bytes
            )));
        }
        if self.chunk_bytes > MAX_CHUNK_BYTES {
            return Err(Error::invalid(format!(
                "chunk size {} is above the maximum of {MAX_CHUNK_BYTES} bytes (1 GiB)",
                self.chunk_bytes
            )));
        }
        for (i, p) in self.patterns.iter().enumerate() {
            if self.patterns[..i].iter().any(|q| q.name == p.name) {
                return Err(Error::invalid(format!(
                    "the pattern name {:?} is given twice; each named pattern needs its own name",
                    p.name
                )));
            }
        }
        if self.max_line_bytes == 0 {
            return Err(Error::invalid("the maximum line length must be at least 1 byte"));
        }
        if let Some(f) = &self.text_field {
            if f.is_empty() {
                return Err(Error::invalid("the JSON text field name is empty"));
            }
        }
        Ok(())
    }

    pub fn add_pattern(&mut self, name: &str, pattern: Pattern, mode: PatternMode) -> Result<()> {
        if name.is_empty() {
            return Err(Error::invalid("a pattern name must not be empty"));
        }
        if self.patterns.iter().any(|p| p.name == name) {
            return Err(Error::invalid(format!(
                "a pattern named {name:?} is already in the report"
            )));
        }
        self.patterns.push(NamedPattern {
            name: name.to_string(),
            pattern,
            mode,
        });
        Ok(())
    }

    /// Why two reports cannot be merged: they must have extracted the same things from the
    /// same kind of lines. `top`, `kv_totals` and `chunk_bytes` only shape the output, so
    /// they may differ (the destination's are kept).
    pub fn merge_mismatch(&self, other: &Config) -> Option<String> {
        let pat = |c: &Config| {
            c.patterns
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        p.pattern.source().to_string(),
                        p.pattern.ignore_case(),
                        p.mode,
                    )
                })
                .collect::<Vec<_>>()
        };
        if (self.emails, self.kv) != (other.emails, other.kv) {
            return Some("they run different built-in extractors".into());
        }
        if pat(self) != pat(other) {
            return Some("they have different named patterns".into());
        }
        if self.text_field != other.text_field {
            return Some(format!(
                "their text fields differ ({:?} vs {:?})",
                self.text_field, other.text_field
            ));
        }
        if self.max_digits != other.max_digits {
            return Some(format!(
                "their integer digit limits differ ({} vs {})",
                self.max_digits, other.max_digits
            ));
        }
        if self.max_line_bytes != other.max_line_bytes {
            return Some(format!(
                "their line length limits differ ({} vs {})",
                self.max_line_bytes, other.max_line_bytes
            ));
        }
        None
    }
}
