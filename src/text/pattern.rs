//! User patterns: compiled once, shared by all threads, run per text with `re.findall`'s
//! iteration rules.
//!
//! Semantics: Python's `re`, exactly, or the pattern is refused (`text/pyre`): the syntax is
//! parsed with Python's grammar, classes, case rules and assertions are Python's, and after
//! an empty match the same position is retried for a non-empty one, as `_sre` does. What
//! cannot be matched that way in linear time is a `PatternUnsupported` error naming it.

use std::sync::OnceLock;

use super::batch::TextBatch;
use super::findall::Prefilter;
use super::kv::Aggregate;
use super::pyre::{self, findall_steps, Engine};
use super::results::{Frequencies, KeySums, Matches};
use crate::error::{Error, ErrorKind, Result};
use crate::shared::counts::CountMap;
use crate::shared::pyint::PyInt;

/// Cloning shares the compiled engine (reports hold their patterns by value).
#[derive(Debug, Clone)]
pub struct Pattern {
    engine: std::sync::Arc<Engine>,
    source: String,
    groups: usize,
    flags: u32,
    /// Literals every match starts with, for the batch driver (`findall.rs`); found on
    /// first use from the engine's Hir, so compiling a pattern costs no more than before.
    prefilter: std::sync::Arc<OnceLock<Option<Prefilter>>>,
}

impl Pattern {
    pub fn new(pattern: &str, ignore_case: bool) -> Result<Pattern> {
        Pattern::with_flags(pattern, if ignore_case { pyre::IGNORECASE } else { 0 })
    }

    /// Compile with `re` flag values (`re.I`, `re.M`, `re.S`, `re.X`, `re.A`, `re.U`).
    pub fn with_flags(pattern: &str, flags: u32) -> Result<Pattern> {
        let engine = std::sync::Arc::new(Engine::new(pattern, flags)?);
        let groups = engine.groups();
        Ok(Pattern {
            engine,
            source: pattern.to_string(),
            groups,
            flags,
            prefilter: Default::default(),
        })
    }

    /// The compiled engine (for the other `re` kernels, `reapi.rs`).
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// See the `prefilter` field.
    pub(crate) fn prefilter(&self) -> Option<&Prefilter> {
        self.prefilter
            .get_or_init(|| self.engine.prefix_literals().and_then(Prefilter::for_literals))
            .as_ref()
    }

    /// The name of group `g` (1-based; `(?P<name>...)`), if it has one.
    pub fn group_name(&self, g: usize) -> Option<&str> {
        self.engine.group_name(g)
    }

    pub fn source(&self) -> &str {
        &self.source
    }
    /// Number of capture groups (group 0 not counted).
    pub fn groups(&self) -> usize {
        self.groups
    }
    pub fn ignore_case(&self) -> bool {
        self.flags & pyre::IGNORECASE != 0
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
        let mut s = self.engine.searcher(true);
        findall_steps(text, |pos, adv| {
            let m = s.find(text, pos, adv)?;
            f(&mut (1..=self.groups).map(|g| s.group(g).map_or("", |(a, b)| &text[a..b])));
            Some(m)
        });
    }

    /// Number of `findall` matches in `text`.
    pub fn count(&self, text: &str) -> u64 {
        let mut n = 0;
        let mut s = self.engine.searcher(false);
        findall_steps(text, |pos, adv| {
            let m = s.find(text, pos, adv)?;
            n += 1;
            Some(m)
        });
        n
    }

    /// The string of `group` (0 = whole match) for each match, as findall iterates.
    pub fn for_each_group<'t>(&self, text: &'t str, group: usize, mut f: impl FnMut(&'t str)) {
        let mut s = self.engine.searcher(group > 0);
        findall_steps(text, |pos, adv| {
            let m = s.find(text, pos, adv)?;
            f(s.group(group).map_or("", |(a, b)| &text[a..b]));
            Some(m)
        });
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
            Pattern::new(r"(?:\w{1000}){1000}", false).unwrap_err().kind,
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
