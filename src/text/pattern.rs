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

use regex::{Regex, RegexBuilder};
use regex_syntax::ast;

use super::pyclass::{translate_python_anchors, translate_python_classes};
use crate::error::{Error, ErrorKind, Result};

/// Compiled size limit: big enough for the Python classes, small enough to fail fast.
pub(crate) const SIZE_LIMIT: usize = 64 << 20;

#[derive(Debug, Clone)]
pub struct Pattern {
    regex: Regex,
    source: String,
    groups: usize,
    ignore_case: bool,
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
        })
    }

    pub fn source(&self) -> &str {
        &self.source
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
        let mut locs = self.regex.capture_locations();
        let mut pos = 0;
        while pos <= text.len() {
            let Some(m) = self.regex.captures_read_at(&mut locs, text, pos) else {
                break;
            };
            let (s, e) = (m.start(), m.end());
            if self.groups == 0 {
                f(&mut std::iter::once(m.as_str()));
            } else {
                f(&mut (1..=self.groups).map(|g| locs.get(g).map_or("", |(a, b)| &text[a..b])));
            }
            pos = if e > s { e } else { next_char(text, e) };
        }
    }

    /// Number of `findall` matches in `text`.
    pub fn count(&self, text: &str) -> u64 {
        let mut n = 0;
        let mut pos = 0;
        while pos <= text.len() {
            let Some(m) = self.regex.find_at(text, pos) else {
                break;
            };
            n += 1;
            pos = if m.end() > m.start() {
                m.end()
            } else {
                next_char(text, m.end())
            };
        }
        n
    }

    /// The string of `group` (0 = whole match) for each match, as findall iterates.
    pub fn for_each_group<'t>(&self, text: &'t str, group: usize, mut f: impl FnMut(&'t str)) {
        if group == 0 {
            let mut pos = 0;
            while pos <= text.len() {
                let Some(m) = self.regex.find_at(text, pos) else {
                    break;
                };
                f(m.as_str());
                pos = if m.end() > m.start() {
                    m.end()
                } else {
                    next_char(text, m.end())
                };
            }
            return;
        }
        let mut locs = self.regex.capture_locations();
        let mut pos = 0;
        while pos <= text.len() {
            let Some(m) = self.regex.captures_read_at(&mut locs, text, pos) else {
                break;
            };
            f(locs.get(group).map_or("", |(a, b)| &text[a..b]));
            pos = if m.end() > m.start() {
                m.end()
            } else {
                next_char(text, m.end())
            };
        }
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
