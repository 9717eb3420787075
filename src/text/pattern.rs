//! User patterns: compiled once, shared by all threads, run per text with `re.findall`'s
//! iteration rules.
//!
//! Semantics (documented in the README): the syntax is the regex crate's; `\w \W \d \D \s \S`
//! are rewritten to Python's classes and `\Z` to end-of-text, so common Python patterns give
//! Python's answers. Matching is leftmost-first, like Python's backtracking. Empty matches
//! follow Python 3.7+: an empty match may follow a non-empty one directly (`x*` on "abxd"
//! gives '', '', 'x', '', ''). One known difference: after an empty match at p, Python
//! retries at p for a non-empty match, which only differs for patterns that prefer an empty
//! alternative (`|a`), where we move on to p+1. `\b`, case folding and `$` use the regex
//! crate's meaning (Python's `$` also matches before a final newline).

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};
use regex_syntax::ast;

use super::batch::TextBatch;
use super::findall::Prefilter;
use super::kv::Aggregate;
use super::pyclass::{translate_python_anchors, translate_python_classes};
use super::results::{Frequencies, KeySums, Matches};
use crate::error::{Error, ErrorKind, Result};
use crate::shared::counts::CountMap;
use crate::shared::pyint::PyInt;

/// Compiled size limit: big enough for the Python classes, small enough to fail fast.
pub(crate) const SIZE_LIMIT: usize = 64 << 20;

#[derive(Debug, Clone)]
pub struct Pattern {
    regex: Regex,
    source: String,
    groups: usize,
    ignore_case: bool,
    /// Literals every match starts with, for the batch driver (`findall.rs`); found on
    /// first use, so compiling a pattern costs no more than before.
    prefilter: OnceLock<Option<Prefilter>>,
}

impl Pattern {
    pub fn new(pattern: &str, ignore_case: bool) -> Result<Pattern> {
        // Parse the user's own text first so errors point into what they wrote.
        if let Err(e) = ast::parse::Parser::new().parse(&translate_python_anchors(pattern)) {
            let kind = match e.kind() {
                ast::ErrorKind::UnsupportedBackreference => {
                    return Err(Error::new(
                        ErrorKind::PatternUnsupported,
                        format!("backreferences are not supported (the engine guarantees linear time): {e}"),
                    ))
                }
                ast::ErrorKind::UnsupportedLookAround => {
                    return Err(Error::new(
                        ErrorKind::PatternUnsupported,
                        format!("look-around (lookahead/lookbehind) is not supported (the engine guarantees linear time): {e}"),
                    ))
                }
                _ => ErrorKind::PatternSyntax,
            };
            return Err(Error::new(kind, format!("invalid pattern: {e}")));
        }
        let translated = translate_python_classes(pattern);
        let regex = RegexBuilder::new(&translated)
            .case_insensitive(ignore_case)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(limit) => Error::new(
                    ErrorKind::PatternTooLarge,
                    format!("pattern is too large: its compiled form exceeds {limit} bytes"),
                ),
                other => Error::new(ErrorKind::PatternSyntax, format!("invalid pattern: {other}")),
            })?;
        let groups = regex.captures_len() - 1;
        Ok(Pattern {
            regex,
            source: pattern.to_string(),
            groups,
            ignore_case,
            prefilter: OnceLock::new(),
        })
    }

    /// See the `prefilter` field.
    pub(crate) fn prefilter(&self) -> Option<&Prefilter> {
        self.prefilter
            .get_or_init(|| Prefilter::for_regex(self.regex.as_str(), self.ignore_case))
            .as_ref()
    }

    pub fn source(&self) -> &str {
        &self.source
    }
    /// The name of group `g` (1-based), if it is a named group.
    pub fn group_name(&self, g: usize) -> Option<&str> {
        self.regex.capture_names().nth(g).flatten()
    }
    /// Number of capture groups (group 0 not counted).
    pub fn groups(&self) -> usize {
        self.groups
    }
    pub fn ignore_case(&self) -> bool {
        self.ignore_case
    }
    /// Strings per match in `findall`: 1 without groups, else one per group.
    pub fn fields_per_match(&self) -> usize {
        self.groups.max(1)
    }

    /// Visit each match as `re.findall` iterates: `fields` gets the match (no groups) or
    /// every group (`""` for one that did not take part).
    pub fn for_each_match<'t>(&self, text: &'t str, mut f: impl FnMut(&mut dyn Iterator<Item = &'t str>)) {
        if self.groups == 0 {
            // No capture machinery needed: the plain search is faster.
            return self.for_each_group(text, 0, |s| f(&mut std::iter::once(s)));
        }
        let mut locs = self.regex.capture_locations();
        findall_steps(text, |pos| {
            let m = self.regex.captures_read_at(&mut locs, text, pos)?;
            f(&mut (1..=self.groups).map(|g| locs.get(g).map_or("", |(a, b)| &text[a..b])));
            Some((m.start(), m.end()))
        });
    }

    /// Number of `findall` matches in `text`.
    pub fn count(&self, text: &str) -> u64 {
        let mut n = 0;
        findall_steps(text, |pos| {
            let m = self.regex.find_at(text, pos)?;
            n += 1;
            Some((m.start(), m.end()))
        });
        n
    }

    /// The string of `group` (0 = whole match) for each match, as findall iterates.
    pub fn for_each_group<'t>(&self, text: &'t str, group: usize, mut f: impl FnMut(&'t str)) {
        if group == 0 {
            return findall_steps(text, |pos| {
                let m = self.regex.find_at(text, pos)?;
                f(m.as_str());
                Some((m.start(), m.end()))
            });
        }
        let mut locs = self.regex.capture_locations();
        findall_steps(text, |pos| {
            let m = self.regex.captures_read_at(&mut locs, text, pos)?;
            f(locs.get(group).map_or("", |(a, b)| &text[a..b]));
            Some((m.start(), m.end()))
        });
    }
}

/// `re.findall`'s iteration, the one place that knows it: `find_at(pos)` looks for the next
/// match from `pos`, handles it and returns its byte span. The next search starts at the
/// match's end, or one character further after an empty match (Python 3.7+ rules).
fn findall_steps(text: &str, mut find_at: impl FnMut(usize) -> Option<(usize, usize)>) {
    let mut pos = 0;
    while pos <= text.len() {
        let Some((start, end)) = find_at(pos) else {
            break;
        };
        pos = if end > start { end } else { next_char(text, end) };
    }
}

/// The batch kernels of a pattern: each runs the per-text methods above on every text of a
/// batch, in parallel chunks, results in input order.
impl Pattern {
    /// `re.findall` per text; `lower` lowercases every result (Unicode default lowercasing,
    /// as `str.lower()`), inside the parallel chunks.
    pub fn findall(&self, batch: &TextBatch, lower: bool) -> Result<Matches> {
        super::findall::findall(self, batch, lower)
    }

    /// `len(re.findall(...))` per text, into `out` (one slot per text).
    pub fn count_into(&self, batch: &TextBatch, out: &mut [u64]) -> Result<()> {
        if out.len() < batch.len() {
            return Err(Error::new(
                ErrorKind::BufferTooSmall,
                format!(
                    "output holds {} counts but the batch has {} texts",
                    out.len(),
                    batch.len()
                ),
            ));
        }
        let parts = batch.map_chunks(|r| {
            batch
                .texts(r)
                .map(|(_, t)| Ok(self.count(t?)))
                .collect::<Result<Vec<u64>>>()
        })?;
        let mut i = 0;
        for p in parts {
            out[i..i + p.len()].copy_from_slice(&p);
            i += p.len();
        }
        Ok(())
    }

    /// Per text, `{key: sum(int(value))}` over a two-group (key, integer) pattern, keys in
    /// first-seen order; values parsed with Python's `int()` rules.
    pub fn sum_by_key(&self, batch: &TextBatch, max_digits: usize) -> Result<KeySums> {
        if self.groups() != 2 {
            return Err(Error::invalid(format!(
                "sum_by_key needs a pattern with exactly two capture groups (key, integer); this one has {}",
                self.groups()
            )));
        }
        let parts = batch.map_chunks(|r| {
            let mut out = KeySums::default();
            let mut agg = Aggregate::default();
            for (i, t) in batch.texts(r) {
                let t = t?;
                agg.clear();
                let mut err = None;
                self.for_each_match(t, |fields| {
                    if err.is_some() {
                        return;
                    }
                    let key = fields.next().unwrap_or("");
                    let val = fields.next().unwrap_or("");
                    match PyInt::parse_python(val, max_digits) {
                        Ok(v) => agg.add(key, v),
                        Err(e) => err = Some(e.in_text(val, i)),
                    }
                });
                if let Some(e) = err {
                    return Err(e);
                }
                for (k, v) in &agg.entries {
                    out.push(k, v);
                }
                out.text_offsets.close(out.values.len());
            }
            Ok(out)
        })?;
        Ok(KeySums::concat(parts))
    }

    /// Batch-wide counts of `group` (None: group 1 if the pattern has groups, else the whole
    /// match), most frequent first; `top` = 0 keeps all.
    pub fn frequencies(&self, batch: &TextBatch, group: Option<usize>, top: usize) -> Result<Frequencies> {
        let g = group.unwrap_or(if self.groups() > 0 { 1 } else { 0 });
        if g > self.groups() {
            return Err(Error::invalid(format!(
                "group {g} does not exist: the pattern has {} groups",
                self.groups()
            )));
        }
        let parts = batch.map_chunks(|r| {
            let mut m: CountMap<&str> = CountMap::default();
            for (_, t) in batch.texts(r) {
                self.for_each_group(t?, g, |s| m.add(s, 1));
            }
            Ok(m)
        })?;
        // Addition is commutative, so chunking cannot change the result.
        let mut total = CountMap::default();
        for p in parts {
            total.merge(p);
        }
        Ok(Frequencies::from_counts(&total, top))
    }
}

/// Byte index just past the character at `i` (or past the end, to stop iteration).
fn next_char(text: &str, i: usize) -> usize {
    match text[i..].chars().next() {
        Some(c) => i + c.len_utf8(),
        None => i + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findall(p: &str, t: &str) -> Vec<Vec<String>> {
        let pat = Pattern::new(p, false).unwrap();
        let mut v = Vec::new();
        pat.for_each_match(t, |it| v.push(it.map(String::from).collect()));
        v
    }

    #[test]
    fn empty_matches_like_python_37() {
        let got: Vec<String> = findall("x*", "abxd")
            .into_iter()
            .map(|mut v| v.remove(0))
            .collect();
        assert_eq!(got, ["", "", "x", "", ""]);
        assert_eq!(Pattern::new("x*", false).unwrap().count("abxd"), 5);
        let got: Vec<String> = findall("", "中文").into_iter().map(|mut v| v.remove(0)).collect();
        assert_eq!(got, ["", "", ""]);
    }

    #[test]
    fn groups_and_non_participating() {
        assert_eq!(
            findall(r"(a)|(b)", "ab"),
            vec![vec!["a".to_string(), "".into()], vec!["".into(), "b".into()]]
        );
        assert_eq!(
            findall(r"\w+", "x² e\u{301}"),
            vec![vec!["x²".to_string()], vec!["e".into()]]
        );
    }

    #[test]
    fn errors_are_classified() {
        assert_eq!(
            Pattern::new(r"(a)\1", false).unwrap_err().kind,
            ErrorKind::PatternUnsupported
        );
        assert_eq!(
            Pattern::new(r"a(?=b)", false).unwrap_err().kind,
            ErrorKind::PatternUnsupported
        );
        assert_eq!(
            Pattern::new(r"a(", false).unwrap_err().kind,
            ErrorKind::PatternSyntax
        );
        assert_eq!(
            Pattern::new(r"\w{1000}{1000}", false).unwrap_err().kind,
            ErrorKind::PatternTooLarge
        );
    }

    #[test]
    fn catastrophic_backtracking_is_linear() {
        let p = Pattern::new(r"(a+)+$", false).unwrap();
        let t = format!("{}!", "a".repeat(26));
        assert_eq!(p.count(&t), 0);
    }
}
