//! The rest of `re` on batches: `search`/`match`/`fullmatch`, `finditer` spans, `sub`/`subn`
//! and `split`, per text, with Python's iteration rules (`_sre.c`'s `pattern_subx` and
//! `pattern_split` walk the text exactly as `findall` does: after an empty match the next
//! search starts at the same place with `must_advance`).

use super::batch::TextBatch;
use super::pattern::Pattern;
use super::pyre::template::{parse_template, Template};
use super::pyre::{findall_steps, Anchor, Searcher};
use super::results::{StringTable, TextOffsets};
use crate::error::{Error, ErrorKind, Result};

/// Per-text match spans: each match has `spans_per_match` = groups + 1 (start, end) pairs
/// (group 0 = the whole match) in code points, `-1, -1` for a group that did not take part.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spans {
    pub spans_per_match: usize,
    /// `2 * spans_per_match` per match.
    pub spans: Vec<i64>,
    /// n_texts + 1 offsets, counted in matches.
    pub text_offsets: TextOffsets,
}

/// Per-text `re.subn` results: the new string and the number of replacements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Substituted {
    /// One string per text.
    pub strings: StringTable,
    pub counts: Vec<u64>,
}

/// Per-text `re.split` results: items in order; `none[k]` is 1 where item k is `None` (a
/// captured separator group that did not take part; its string is empty).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pieces {
    pub items: StringTable,
    pub none: Vec<u8>,
    /// n_texts + 1 offsets, counted in items.
    pub text_offsets: TextOffsets,
}

/// What a batch search returns per text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanMode {
    /// `re.search` / `re.match` / `re.fullmatch`: zero or one match per text.
    Once(Anchor),
    /// `re.finditer`: every match.
    All,
}

/// Code-point positions of byte offsets at or after a known (byte, char) point.
struct CharPos<'t> {
    text: &'t str,
    ascii: bool,
}

impl CharPos<'_> {
    fn from(&self, (byte, ch): (usize, i64), to: usize) -> i64 {
        if self.ascii {
            return to as i64;
        }
        ch + self.text[byte..to].chars().count() as i64
    }
}

/// Push the spans of the searcher's last match (whole match at `m`), with `from` a known
/// (byte, char) point at or before the match start; returns the match start's point.
fn push_spans(
    out: &mut Vec<i64>,
    s: &Searcher<'_>,
    groups: usize,
    pos: &CharPos<'_>,
    from: (usize, i64),
    m: (usize, usize),
) -> (usize, i64) {
    let start = (m.0, pos.from(from, m.0));
    for g in 0..=groups {
        match s.group(g) {
            // Groups lie inside the match (no look-around), so they count from its start.
            Some((a, b)) if a >= m.0 => {
                let ca = pos.from(start, a);
                out.extend([ca, pos.from((a, ca), b)]);
            }
            Some((a, b)) => out.extend([pos.from((0, 0), a), pos.from((0, 0), b)]),
            None => out.extend([-1, -1]),
        }
    }
    start
}

/// `count`/`maxsplit` as `_sre` reads them: 0 = no limit; a negative one allows none.
fn limit(n: i64) -> Option<u64> {
    match n {
        0 => None,
        n if n < 0 => Some(0),
        n => Some(n as u64),
    }
}

impl Pattern {
    /// The matches of one text for `mode`, appended to `out` (spans in code points).
    pub fn spans_of(&self, text: &str, mode: SpanMode, out: &mut Vec<i64>) -> Result<usize> {
        let groups = self.groups();
        let mut s = self.engine().searcher(true);
        let pos = CharPos {
            text,
            ascii: text.is_ascii(),
        };
        match mode {
            SpanMode::Once(anchor) => match s.find_once(text, anchor)? {
                Some(m) => {
                    push_spans(out, &s, groups, &pos, (0, 0), m);
                    Ok(1)
                }
                None => Ok(0),
            },
            SpanMode::All => {
                let mut n = 0;
                let mut at = (0, 0);
                findall_steps(text, |p, adv| {
                    let m = s.find(text, p, adv)?;
                    at = push_spans(out, &s, groups, &pos, at, m);
                    n += 1;
                    Some(m)
                });
                Ok(n)
            }
        }
    }

    /// `search`/`match`/`fullmatch`/`finditer` spans of every text.
    pub fn spans(&self, batch: &TextBatch, mode: SpanMode) -> Result<Spans> {
        let per = self.groups() + 1;
        let parts = batch.map_chunks(|r| {
            let mut out = Spans {
                spans_per_match: per,
                ..Default::default()
            };
            let mut n = 0;
            for (_, t) in batch.texts(r) {
                n += self.spans_of(t?, mode, &mut out.spans)?;
                out.text_offsets.close(n);
            }
            Ok(out)
        })?;
        let mut out = Spans {
            spans_per_match: per,
            ..Default::default()
        };
        out.spans.reserve(parts.iter().map(|p| p.spans.len()).sum());
        for p in parts {
            out.spans.extend_from_slice(&p.spans);
            out.text_offsets.append(&p.text_offsets);
        }
        Ok(out)
    }

    /// Parse a `re.sub` replacement template for this pattern.
    pub fn template(&self, repl: &str) -> Result<Template> {
        parse_template(repl, self.groups(), |name| self.engine().group_index(name)).map_err(|e| {
            if e.unsupported {
                Error::new(
                    ErrorKind::PatternUnsupported,
                    format!("{} at position {} is not supported", e.msg, e.pos),
                )
            } else {
                Error::new(
                    ErrorKind::PatternSyntax,
                    format!("invalid replacement template: {} at position {}", e.msg, e.pos),
                )
            }
        })
    }

    /// `re.subn(pattern, repl, text, count)` on one text, the new text appended to `out`.
    pub fn subn_one(&self, text: &str, repl: &Template, count: i64, out: &mut String) -> u64 {
        let limit = limit(count);
        let literal = repl.literal();
        let mut s = self.engine().searcher(literal.is_none() && self.groups() > 0);
        let mut n = 0u64;
        let mut last = 0;
        findall_steps(text, |p, adv| {
            if limit.is_some_and(|l| n >= l) {
                return None;
            }
            let m = s.find(text, p, adv)?;
            out.push_str(&text[last..m.0]);
            match literal {
                Some(l) => out.push_str(l),
                None => repl.expand(out, |g| s.group(g).map(|(a, b)| &text[a..b])),
            }
            last = m.1;
            n += 1;
            Some(m)
        });
        out.push_str(&text[last..]);
        n
    }

    /// `re.subn` on every text.
    pub fn subn(&self, batch: &TextBatch, repl: &Template, count: i64) -> Result<Substituted> {
        let parts = batch.map_chunks(|r| {
            let mut out = Substituted::default();
            let mut buf = String::new();
            for (_, t) in batch.texts(r) {
                buf.clear();
                out.counts.push(self.subn_one(t?, repl, count, &mut buf));
                out.strings.push(&buf);
            }
            Ok(out)
        })?;
        let mut out = Substituted::default();
        for p in parts {
            out.strings.append(&p.strings);
            out.counts.extend_from_slice(&p.counts);
        }
        Ok(out)
    }

    /// `re.split(pattern, text, maxsplit)` on one text: `push(item)` with `None` for a
    /// group that did not take part.
    pub fn split_one<'t>(&self, text: &'t str, maxsplit: i64, mut push: impl FnMut(Option<&'t str>)) {
        let limit = limit(maxsplit);
        let groups = self.groups();
        let mut s = self.engine().searcher(groups > 0);
        let mut n = 0u64;
        let mut last = 0;
        findall_steps(text, |p, adv| {
            if limit.is_some_and(|l| n >= l) {
                return None;
            }
            let m = s.find(text, p, adv)?;
            push(Some(&text[last..m.0]));
            for g in 1..=groups {
                push(s.group(g).map(|(a, b)| &text[a..b]));
            }
            last = m.1;
            n += 1;
            Some(m)
        });
        push(Some(&text[last..]));
    }

    /// `re.split` on every text.
    pub fn split(&self, batch: &TextBatch, maxsplit: i64) -> Result<Pieces> {
        let parts = batch.map_chunks(|r| {
            let mut out = Pieces::default();
            for (_, t) in batch.texts(r) {
                self.split_one(t?, maxsplit, |item| {
                    out.items.push(item.unwrap_or(""));
                    out.none.push(item.is_none() as u8);
                });
                out.text_offsets.close(out.none.len());
            }
            Ok(out)
        })?;
        let mut out = Pieces::default();
        for p in parts {
            out.items.append(&p.items);
            out.none.extend_from_slice(&p.none);
            out.text_offsets.append(&p.text_offsets);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::pyre::template::Part;
    use crate::text::Offsets;

    fn pat(p: &str) -> Pattern {
        Pattern::new(p, false).unwrap()
    }

    fn sub(p: &str, repl: &str, t: &str, count: i64) -> (String, u64) {
        let p = pat(p);
        let tpl = p.template(repl).unwrap();
        let mut out = String::new();
        let n = p.subn_one(t, &tpl, count, &mut out);
        (out, n)
    }

    fn split(p: &str, t: &str, maxsplit: i64) -> Vec<Option<String>> {
        let mut v = Vec::new();
        pat(p).split_one(t, maxsplit, |x| v.push(x.map(String::from)));
        v
    }

    fn once(p: &str, t: &str, a: Anchor) -> Option<Vec<i64>> {
        let mut v = Vec::new();
        (pat(p).spans_of(t, SpanMode::Once(a), &mut v).unwrap() == 1).then_some(v)
    }

    #[test]
    fn sub_empty_match_rules_of_python_37() {
        // re.sub('x*', '-', 'abxd') == '-a-b--d-' (3.7+: an empty match right after a
        // non-empty one is replaced too).
        assert_eq!(sub("x*", "-", "abxd", 0), ("-a-b--d-".into(), 5));
        assert_eq!(sub("x*", "-", "abxd", 2), ("-a-bxd".into(), 2));
        assert_eq!(sub("", "-", "ab", -1), ("ab".into(), 0));
        assert_eq!(sub("a|(b)", r"[\1\g<0>]", "abc", 0), ("[a][bb]c".into(), 2));
        assert_eq!(
            sub("(?P<w>é+)", r"<\g<w>\n\g<1>>", "xéé", 0),
            ("x<éé\néé>".into(), 1)
        );
        assert_eq!(sub("a", r"\-\&\\", "a", 0), (r"\-\&\".into(), 1));
    }

    #[test]
    fn split_like_python() {
        let s = |v: &[Option<&str>]| v.iter().map(|x| x.map(String::from)).collect::<Vec<_>>();
        // re.split('x*', 'axbc') == ['', 'a', '', 'b', 'c', '']
        assert_eq!(
            split("x*", "axbc", 0),
            s(&[Some(""), Some("a"), Some(""), Some("b"), Some("c"), Some("")])
        );
        // re.split('(x)|(y)', 'axbyc') == ['a', 'x', None, 'b', None, 'y', 'c']
        assert_eq!(
            split("(x)|(y)", "axbyc", 0),
            s(&[Some("a"), Some("x"), None, Some("b"), None, Some("y"), Some("c")])
        );
        assert_eq!(split(",", "a,b,c", 1), s(&[Some("a"), Some("b,c")]));
        assert_eq!(split(",", "a,b", -1), s(&[Some("a,b")]));
        assert_eq!(split(",", "", 0), s(&[Some("")]));
    }

    #[test]
    fn search_match_fullmatch_spans_in_code_points() {
        assert_eq!(once("b(c)?", "ééb", Anchor::Search), Some(vec![2, 3, -1, -1]));
        assert_eq!(once("b", "ééb", Anchor::Match), None);
        assert_eq!(once("é(é)", "ééb", Anchor::Match), Some(vec![0, 2, 1, 2]));
        // The first match in priority order that ends at the end, on both engines.
        assert_eq!(once("a|ab", "ab", Anchor::FullMatch), Some(vec![0, 2]));
        assert_eq!(
            once(r"(a|ab)(\b)", "ab", Anchor::FullMatch),
            Some(vec![0, 2, 0, 2, 2, 2])
        );
        assert_eq!(once("a|ab", "abc", Anchor::FullMatch), None);
        assert_eq!(once(r"x*$", "a\n", Anchor::Search), Some(vec![1, 1]));
    }

    #[test]
    fn finditer_spans_cover_the_batch() {
        let data = "aéa\nxx";
        let offsets = [0i64, 5, 5, 7];
        let b = TextBatch::new(data.as_bytes(), Offsets::I64(&offsets)).unwrap();
        let s = pat("(a)|x").spans(&b, SpanMode::All).unwrap();
        assert_eq!(s.spans_per_match, 2);
        assert_eq!(s.text_offsets.0, vec![0, 2, 2, 4]);
        assert_eq!(s.spans, vec![0, 1, 0, 1, 2, 3, 2, 3, 0, 1, -1, -1, 1, 2, -1, -1]);
    }

    #[test]
    fn template_parser_follows_parse_template() {
        let p = pat("(?P<a>x)(y)");
        let t = |s: &str| p.template(s);
        assert_eq!(
            t(r"\g<a>-\2\0\08\101\n").unwrap().parts,
            vec![
                Part::Group(1),
                Part::Lit("-".into()),
                Part::Group(2),
                Part::Lit("\0\u{0}8A\n".into())
            ]
        );
        assert_eq!(t(r"\g<0>").unwrap().parts, vec![Part::Group(0)]);
        for bad in [
            r"\3", r"\g<3>", r"\g<b>", r"\g<a", r"\g<>", r"\g", r"\x41", r"\400", "\\", r"\g<1a>x",
        ] {
            let e = t(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::PatternSyntax, "{bad}: {}", e.message);
        }
        assert_eq!(t(r"\g<+1>").unwrap_err().kind, ErrorKind::PatternUnsupported);
        assert_eq!(t(r"\g< 1>").unwrap_err().kind, ErrorKind::PatternUnsupported);
        assert_eq!(t(r"\g<é>").unwrap_err().kind, ErrorKind::PatternUnsupported);
        assert_eq!(t(r"\g<a-b>").unwrap_err().kind, ErrorKind::PatternSyntax);
        assert_eq!(t("plain").unwrap().literal(), Some("plain"));
    }
}
