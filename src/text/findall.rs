//! The batch driver of [`Pattern::findall`]: runs the per-text `re.findall` of a pattern
//! over every text of a batch, in parallel chunks, and builds the flat result.
//!
//! On millions of short texts the regex search itself is cheap and the per-text cost is
//! the search's setup (a cache taken from the regex's pool, the search's bookkeeping) paid
//! for every text, most of which cannot match. So when every match of the pattern must
//! start with one of a small set of literals (`user=(\w+)` starts with `user=`), the
//! driver first scans a chunk's texts back to back for those literals with one
//! Aho-Corasick searcher (SIMD for few literals), and runs the regex only on the texts
//! that hold a whole occurrence. A text without one cannot have a match, so its result is
//! empty without any regex work; the results are the same as searching every text.

use aho_corasick::{AhoCorasick, Input, MatchKind};

use super::batch::TextBatch;
use super::pattern::Pattern;
use super::results::Matches;
use crate::error::Result;

/// Literals one of which every match of a pattern starts with.
#[derive(Debug, Clone)]
pub(crate) struct Prefilter {
    searcher: AhoCorasick,
}

impl Prefilter {
    /// The prefilter for a pattern every match of which starts with one of `literals`
    /// (the prefix literals of its Hir, [`crate::text::pyre::Engine::prefix_literals`]), or
    /// None when they cannot rule texts out: an empty literal (the pattern may match empty,
    /// `x*`, which the literals would wrongly rule out) or none at all.
    pub(crate) fn for_literals(literals: Vec<Vec<u8>>) -> Option<Prefilter> {
        if literals.is_empty() || literals.iter().any(|l| l.is_empty()) {
            return None;
        }
        // Standard semantics report the occurrence that ends first, which is what the
        // driver asks: "does an occurrence end inside this text?".
        let searcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&literals)
            .ok()?;
        Some(Prefilter { searcher })
    }

    /// The first-ending literal occurrence that starts at or after `from` and ends by `end`.
    #[inline]
    fn find(&self, data: &[u8], from: usize, end: usize) -> Option<(usize, usize)> {
        self.searcher
            .find(Input::new(&data[..end]).range(from..end))
            .map(|m| (m.start(), m.end()))
    }
}

/// `re.findall` per text over the whole batch; `lower` lowercases every result (Unicode
/// default lowercasing, as `str.lower()`), inside the parallel chunks.
pub(crate) fn findall(p: &Pattern, batch: &TextBatch, lower: bool) -> Result<Matches> {
    let k = p.fields_per_match();
    // The prefilter scans the chunk's bytes as one run: only for texts back to back.
    let pre = if batch.is_contiguous() {
        p.prefilter()
    } else {
        None
    };
    let parts = batch.map_chunks(|r| {
        let mut out = Matches {
            fields_per_match: k,
            ..Default::default()
        };
        out.text_offsets.0.reserve(r.len());
        if r.is_empty() {
            return Ok(out);
        }
        let valid = batch.texts_valid(r.clone());
        let data = batch.data();
        let chunk_end = pre.map_or(0, |_| batch.span(r.end - 1).end);
        // The next literal occurrence at or after the current text (None: no more in the chunk).
        let mut next = pre.and_then(|f| f.find(data, batch.span(r.start).start, chunk_end));
        let mut n = 0;
        for i in r {
            if let Some(f) = pre {
                let span = batch.span(i);
                if let Some((start, _)) = next {
                    if start < span.start {
                        // It began in an earlier text (and ran past it): look again from here.
                        next = f.find(data, span.start, chunk_end);
                    }
                }
                // A match lies inside its text, so it needs an occurrence ending in the text.
                if !matches!(next, Some((_, end)) if end <= span.end) {
                    if !valid {
                        batch.text(i)?; // still report the first invalid text, in order
                    }
                    out.text_offsets.close(n);
                    continue;
                }
            }
            let t = batch.text_in(i, valid)?;
            p.for_each_match(t, |fields| {
                for f in fields {
                    if lower {
                        out.fields.push(&f.to_lowercase());
                    } else {
                        out.fields.push(f);
                    }
                }
                n += 1;
            });
            out.text_offsets.close(n);
        }
        Ok(out)
    })?;
    Ok(Matches::concat(parts, k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Offsets;

    fn literals(p: &str, ignore_case: bool) -> bool {
        let pat = Pattern::new(p, ignore_case).unwrap();
        pat.prefilter().is_some()
    }

    #[test]
    fn prefilter_only_where_every_match_needs_a_literal() {
        assert!(literals(r"user=(\w+)", false));
        assert!(literals(r"user=(\w+)", true));
        assert!(literals(r"(?:GET|POST) (/\S*)", false));
        assert!(!literals(r"\w+@\w+", false)); // a big class first
        assert!(!literals(r"x*", false)); // may match empty
        assert!(!literals(r"(a|)", false));
        assert!(!literals(r"", false));
    }

    /// The prefiltered driver against the plain per-text search, on texts where literals
    /// straddle text boundaries, repeat, sit at the very ends, or appear in other case.
    #[test]
    fn same_results_as_searching_every_text() {
        let texts = [
            "user=a",
            "",
            "xuser",
            "=b user=c user=dd",
            "USER=e",
            "us",
            "er=f",
            "user=",
            "user=g",
            "é user=h é",
            "user=",
            "i",
            "pre user=j",
            "use",
            "r=k user",
            "=l",
        ];
        let mut data = Vec::new();
        let mut offs = vec![0i64];
        for t in texts {
            data.extend_from_slice(t.as_bytes());
            offs.push(data.len() as i64);
        }
        let b = TextBatch::new(&data, Offsets::I64(&offs)).unwrap();
        for (p, ic) in [
            (r"user=(\w+)", false),
            (r"user=(\w+)", true),
            (r"user=\w*", false),
            (r"(?:user|r)=(\w*)", false),
            (r"^user=(\w)$", false),
            (r"\w+=\w+", false),
        ] {
            let pat = Pattern::new(p, ic).unwrap();
            let got = findall(&pat, &b, false).unwrap();
            for (i, t) in texts.iter().enumerate() {
                let mut want = Vec::new();
                pat.for_each_match(t, |f| want.extend(f.map(String::from)));
                let r = got.text_offsets.range(i);
                let have: Vec<String> = (r.start * got.fields_per_match..r.end * got.fields_per_match)
                    .map(|j| got.fields.get(j).to_string())
                    .collect();
                assert_eq!(have, want, "pattern {p} (ignore_case {ic}), text {i} {t:?}");
            }
        }
    }

    #[test]
    fn invalid_text_without_a_literal_is_still_reported() {
        let data = b"user=a\xffno user=b";
        let b = TextBatch::new(data, Offsets::I64(&[0, 6, 9, 16])).unwrap();
        let pat = Pattern::new(r"user=(\w+)", false).unwrap();
        let e = findall(&pat, &b, false).unwrap_err();
        assert!(e.message.starts_with("text 1 "), "{}", e.message);
    }
}
