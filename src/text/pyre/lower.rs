//! The parsed Python pattern, lowered to regex-syntax's `Hir` with Python's meaning, built
//! directly (no pattern text is re-parsed with the regex crate's grammar).
//!
//! Character sets are computed as code-point sets the way `sre` matches them: `\w \d \s` are
//! Python's classes (or ASCII's under `(?a)`), and under IGNORECASE a set matches `ch` when
//! its lowered form contains `_sre.unicode_tolower(ch)` (with `_EXTRA_CASES`), which is
//! turned into the exact set of matching characters with Python's own tables.
//!
//! Assertions Python defines differently from the regex crate are encoded as look-arounds the
//! lowering never produces otherwise, and the Pike VM (`vm.rs`) gives them Python's meaning:
//! `Look::EndCRLF` is the non-multiline `$` (end, or before a final `\n`), `Look::WordUnicode`
//! and its negation are `\b`/`\B` with Python's `\w`, and both `\B`s fail on an empty text.

use regex_syntax::hir::{Capture, Class, ClassUnicode, ClassUnicodeRange, Hir, Look, Repetition};

use super::case_tables::{PY_CASED, PY_EXTRA_CASES, PY_LOWER};
use super::parse::{At, Category, Item, Node, RepeatKind, ASCII, DOTALL, IGNORECASE, MULTILINE, UNICODE};
use crate::text::unicode_tables::{PY_DIGIT, PY_SPACE, PY_WORD};

/// A construct refused, and where it starts (code points).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub what: String,
    pub pos: usize,
}

type Ranges = Vec<(u32, u32)>;
const MAX_CP: u32 = 0x10FFFF;

fn normalize(mut r: Ranges) -> Ranges {
    r.sort_unstable();
    let mut out: Ranges = Vec::with_capacity(r.len());
    for (lo, hi) in r {
        if let Some(last) = out.last_mut() {
            if lo <= last.1.saturating_add(1) {
                last.1 = last.1.max(hi);
                continue;
            }
        }
        out.push((lo, hi));
    }
    out
}

fn complement(r: &[(u32, u32)]) -> Ranges {
    let mut out = Vec::new();
    let mut next = 0u32;
    for &(lo, hi) in r {
        if lo > next {
            out.push((next, lo - 1));
        }
        next = hi + 1;
    }
    if next <= MAX_CP {
        out.push((next, MAX_CP));
    }
    out
}

fn contains(r: &[(u32, u32)], cp: u32) -> bool {
    let i = r.partition_point(|&(_, hi)| hi < cp);
    r.get(i).is_some_and(|&(lo, _)| lo <= cp)
}

fn intersect(a: &[(u32, u32)], b: &[(u32, u32)]) -> Ranges {
    complement(&normalize([complement(a), complement(b)].concat()))
}

fn lower_unicode(cp: u32) -> u32 {
    match PY_LOWER.binary_search_by_key(&cp, |&(c, _)| c) {
        Ok(i) => PY_LOWER[i].1,
        Err(_) => cp,
    }
}

fn fixes(cp: u32) -> &'static [u32] {
    match PY_EXTRA_CASES.binary_search_by_key(&cp, |&(c, _)| c) {
        Ok(i) => PY_EXTRA_CASES[i].1,
        Err(_) => &[],
    }
}

/// Code points whose simple lowercase differs from themselves.
fn changed_unicode() -> &'static [(u32, u32)] {
    static C: std::sync::OnceLock<Ranges> = std::sync::OnceLock::new();
    C.get_or_init(|| normalize(PY_LOWER.iter().map(|&(c, _)| (c, c)).collect()))
}

const ASCII_UPPER: &[(u32, u32)] = &[(0x41, 0x5A)];

/// The case rules in force: Unicode (`_sre.unicode_*` + `_EXTRA_CASES`) or ASCII.
#[derive(Clone, Copy)]
struct Case {
    ascii: bool,
}

impl Case {
    fn lower(self, cp: u32) -> u32 {
        if self.ascii {
            if (0x41..=0x5A).contains(&cp) {
                cp + 32
            } else {
                cp
            }
        } else {
            lower_unicode(cp)
        }
    }
    fn iscased(self, cp: u32) -> bool {
        if self.ascii {
            (cp as u8 as u32 == cp) && (cp as u8).is_ascii_alphabetic()
        } else {
            contains(PY_CASED, cp)
        }
    }
    fn fixes(self, cp: u32) -> &'static [u32] {
        if self.ascii {
            &[]
        } else {
            fixes(cp)
        }
    }
    fn changed(self) -> &'static [(u32, u32)] {
        if self.ascii {
            ASCII_UPPER
        } else {
            changed_unicode()
        }
    }
    /// `{ch : lower(ch) in target}`: the characters an ignore-case test accepts.
    fn preimage(self, target: &[(u32, u32)]) -> Ranges {
        let changed = self.changed();
        let mut out = intersect(target, &complement(changed));
        for &(lo, hi) in changed {
            for cp in lo..=hi {
                if contains(target, self.lower(cp)) {
                    out.push((cp, cp));
                }
            }
        }
        normalize(out)
    }
}

fn category(c: Category, ascii: bool) -> Ranges {
    let (base, neg): (Ranges, bool) = match c {
        Category::Digit | Category::NotDigit => (
            if ascii {
                vec![(0x30, 0x39)]
            } else {
                PY_DIGIT.iter().map(|&(a, b, _)| (a, b)).collect()
            },
            c == Category::NotDigit,
        ),
        Category::Word | Category::NotWord => (
            if ascii {
                vec![(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
            } else {
                PY_WORD.to_vec()
            },
            c == Category::NotWord,
        ),
        Category::Space | Category::NotSpace => (
            if ascii {
                vec![(0x09, 0x0D), (0x20, 0x20)]
            } else {
                PY_SPACE.to_vec()
            },
            c == Category::NotSpace,
        ),
    };
    if neg {
        complement(&base)
    } else {
        base
    }
}

#[derive(Clone, Copy)]
struct Flags(u32);

impl Flags {
    fn has(self, f: u32) -> bool {
        self.0 & f != 0
    }
    fn ascii(self) -> bool {
        !self.has(UNICODE)
    }
    fn ignore_case(self) -> Option<Case> {
        self.has(IGNORECASE).then_some(Case { ascii: self.ascii() })
    }
    /// `_compiler._combine_flags`.
    fn combine(self, add: u32, del: u32) -> Flags {
        let mut f = self.0;
        if add & (ASCII | UNICODE | super::parse::LOCALE) != 0 {
            f &= !(ASCII | UNICODE | super::parse::LOCALE);
        }
        Flags((f | add) & !del)
    }
}

/// The code points a (positive) set of items matches, before negation.
fn set_ranges(items: &[Item], flags: Flags, pos: usize) -> Result<Ranges, Unsupported> {
    let ascii = flags.ascii();
    let exact = || {
        normalize(
            items
                .iter()
                .flat_map(|it| match *it {
                    Item::Lit(c) => vec![(c, c)],
                    Item::Range(a, b) => vec![(a, b)],
                    Item::Cat(c) => category(c, ascii),
                })
                .collect(),
        )
    };
    let Some(case) = flags.ignore_case() else {
        return Ok(exact());
    };
    // `_optimize_charset` with fixup: literals and ranges lowered (plus the extra cases),
    // categories kept; the set is case-insensitive only if something in it is cased.
    let mut lowered: Ranges = Vec::new();
    let mut hascased = false;
    let beyond_bmp = || Unsupported {
        what: "a case-insensitive character set with characters beyond U+FFFF".into(),
        pos,
    };
    for it in items {
        match *it {
            Item::Lit(c) => {
                let lo = case.lower(c);
                if lo > 0xFFFF {
                    return Err(beyond_bmp());
                }
                lowered.push((lo, lo));
                lowered.extend(case.fixes(lo).iter().map(|&k| (k, k)));
                hascased |= case.iscased(c);
            }
            Item::Range(a, b) => {
                if b > 0xFFFF {
                    return Err(beyond_bmp());
                }
                let r = [(a, b)];
                let mut img = intersect(&r, &complement(case.changed()));
                for (lo, hi) in intersect(&r, case.changed()) {
                    for cp in lo..=hi {
                        let l = case.lower(cp);
                        img.push((l, l));
                    }
                }
                let mut img = normalize(img);
                let extra: Ranges = PY_EXTRA_CASES
                    .iter()
                    .filter(|&&(k, _)| !case.ascii && contains(&img, k))
                    .flat_map(|&(_, v)| v.iter().map(|&x| (x, x)))
                    .collect();
                img.extend(extra);
                lowered.extend(img);
                hascased |= !intersect(
                    &r,
                    if case.ascii {
                        &[(0x41, 0x5A), (0x61, 0x7A)]
                    } else {
                        PY_CASED
                    },
                )
                .is_empty();
            }
            Item::Cat(c) => lowered.extend(category(c, ascii)),
        }
    }
    if !hascased {
        return Ok(exact());
    }
    Ok(case.preimage(&normalize(lowered)))
}

fn literal_ranges(c: u32, flags: Flags) -> Ranges {
    match flags.ignore_case() {
        Some(case) if case.iscased(c) => {
            let lo = case.lower(c);
            let mut target = vec![(lo, lo)];
            target.extend(case.fixes(lo).iter().map(|&k| (k, k)));
            case.preimage(&normalize(target))
        }
        _ => vec![(c, c)],
    }
}

fn class_hir(r: &[(u32, u32)]) -> Hir {
    let mut ranges = Vec::with_capacity(r.len() + 1);
    for &(lo, hi) in r {
        // Surrogates cannot occur in the UTF-8 texts matched, so they are simply dropped.
        for (a, b) in [(lo, hi.min(0xD7FF)), (lo.max(0xE000), hi)] {
            if a <= b {
                let (Some(a), Some(b)) = (char::from_u32(a), char::from_u32(b)) else {
                    continue;
                };
                ranges.push(ClassUnicodeRange::new(a, b));
            }
        }
    }
    Hir::class(Class::Unicode(ClassUnicode::new(ranges)))
}

/// What the matcher must know about the lowered pattern.
#[derive(Debug, Default, Clone, Copy)]
pub struct Needs {
    /// An assertion only the Pike VM implements with Python's meaning.
    pub python_looks: bool,
}

pub struct Lowering {
    needs: Needs,
}

/// The single-character sets a node matches, when it is one character wide and exact.
fn single_char(node: &Node, flags: Flags) -> Option<Ranges> {
    match node {
        Node::Lit(c) => Some(literal_ranges(*c, flags)),
        Node::NotLit(c) => Some(complement(&literal_ranges(*c, flags))),
        Node::Any => Some(if flags.has(DOTALL) {
            vec![(0, MAX_CP)]
        } else {
            complement(&[(0x0A, 0x0A)])
        }),
        Node::Set { negate, items } => {
            let r = set_ranges(items, flags, 0).ok()?;
            Some(if *negate { complement(&r) } else { r })
        }
        Node::Group {
            index: None,
            add,
            del,
            body,
            ..
        } => single_char(body, flags.combine(*add, *del)),
        _ => None,
    }
}

/// Where a node sits, for the possessive/atomic equivalence rules.
#[derive(Clone, Copy)]
enum Follow<'a> {
    /// Nothing follows: the end of the whole pattern (not inside a group or repeat).
    End,
    /// The next item of the same sequence, with the flags in force there.
    Next(&'a Node, Flags),
    /// Anything else: unknown.
    Unknown,
}

impl Lowering {
    pub fn new() -> Lowering {
        Lowering {
            needs: Needs::default(),
        }
    }
    pub fn needs(&self) -> Needs {
        self.needs
    }

    pub fn lower(&mut self, node: &Node, flags: u32) -> Result<Hir, Unsupported> {
        self.node(node, Flags(flags), Follow::End)
    }

    fn node(&mut self, node: &Node, flags: Flags, follow: Follow<'_>) -> Result<Hir, Unsupported> {
        Ok(match node {
            Node::Lit(_) | Node::NotLit(_) | Node::Any | Node::Set { .. } => {
                let r = match node {
                    Node::Set { negate, items } => {
                        let r = set_ranges(items, flags, 0)?;
                        if *negate {
                            complement(&r)
                        } else {
                            r
                        }
                    }
                    _ => single_char(node, flags).expect("single-character node"),
                };
                class_hir(&r)
            }
            Node::At(at) => {
                let look = match at {
                    At::Beginning if flags.has(MULTILINE) => Look::StartLF,
                    At::Beginning | At::BeginningString => Look::Start,
                    At::End if flags.has(MULTILINE) => Look::EndLF,
                    At::End => {
                        self.needs.python_looks = true;
                        Look::EndCRLF
                    }
                    At::EndString => Look::End,
                    At::Boundary if flags.ascii() => Look::WordAscii,
                    At::Boundary => {
                        self.needs.python_looks = true;
                        Look::WordUnicode
                    }
                    At::NonBoundary => {
                        self.needs.python_looks = true;
                        if flags.ascii() {
                            Look::WordAsciiNegate
                        } else {
                            Look::WordUnicodeNegate
                        }
                    }
                };
                Hir::look(look)
            }
            Node::Group {
                index,
                name,
                add,
                del,
                body,
            } => {
                let inner = flags.combine(*add, *del);
                // A group passes its follow on only when it is transparent (no capture).
                let f = if index.is_none() { follow } else { Follow::Unknown };
                let sub = self.node(body, inner, f)?;
                match index {
                    Some(i) => Hir::capture(Capture {
                        index: *i,
                        name: name.as_deref().map(Box::from),
                        sub: Box::new(sub),
                    }),
                    None => sub,
                }
            }
            Node::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, it) in items.iter().enumerate() {
                    let f = match items.get(i + 1) {
                        Some(next) => Follow::Next(next, flags),
                        None => follow,
                    };
                    out.push(self.node(it, flags, f)?);
                }
                Hir::concat(out)
            }
            Node::Alt(items) => {
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    out.push(self.node(it, flags, follow)?);
                }
                Hir::alternation(out)
            }
            Node::Repeat {
                min,
                max,
                kind,
                body,
                pos,
            } => {
                let sub = self.node(body, flags, Follow::Unknown)?;
                let unbounded_or_many = max.is_none_or(|m| m > 1);
                if unbounded_or_many && sub.properties().minimum_len() == Some(0) {
                    return Err(Unsupported {
                        what: "a repeated sub-pattern that can match the empty string (Python's \
                               backtracking stops such a loop in ways a linear-time engine does not reproduce)"
                            .into(),
                        pos: *pos,
                    });
                }
                if *kind == RepeatKind::Possessive && !possessive_is_greedy(body, *min, *max, flags, follow) {
                    return Err(Unsupported {
                        what: "a possessive quantifier where it is not provably the same as a greedy one"
                            .into(),
                        pos: *pos,
                    });
                }
                Hir::repetition(Repetition {
                    min: *min,
                    max: *max,
                    greedy: *kind != RepeatKind::Lazy,
                    sub: Box::new(sub),
                })
            }
            Node::Atomic { body, pos } => {
                let ok = match &**body {
                    Node::Repeat {
                        min,
                        max,
                        kind: RepeatKind::Greedy | RepeatKind::Possessive,
                        body: inner,
                        ..
                    } => possessive_is_greedy(inner, *min, *max, flags, follow),
                    other => deterministic(other, flags),
                };
                if !ok {
                    return Err(Unsupported {
                        what: "an atomic group (?>...) where it is not provably the same as a plain group"
                            .into(),
                        pos: *pos,
                    });
                }
                self.node(body, flags, Follow::Unknown)?
            }
            Node::Unsupported { what, pos } => {
                return Err(Unsupported {
                    what: (*what).into(),
                    pos: *pos,
                })
            }
        })
    }
}

/// A node that can match at most one string at any position (so committing to its first
/// match, as an atomic group does, changes nothing): single characters in sequence.
fn deterministic(node: &Node, flags: Flags) -> bool {
    match node {
        Node::Seq(items) => items.iter().all(|n| deterministic(n, flags)),
        Node::Group { add, del, body, .. } => deterministic(body, flags.combine(*add, *del)),
        Node::At(_) => true,
        Node::Repeat {
            min,
            max: Some(max),
            body,
            ..
        } if min == max => deterministic(body, flags),
        n => single_char(n, flags).is_some(),
    }
}

/// Is `body{min,max}+` the same as the greedy `body{min,max}` where it stands? True when
/// backtracking into the greedy repeat could never help: the body matches at most one string
/// (a fixed sequence of characters) and the repeat is exact or nothing follows in the whole
/// pattern; or the body is one character from a set C and the next item is one character
/// from a set disjoint from C (giving back a C cannot let it match).
fn possessive_is_greedy(body: &Node, min: u32, max: Option<u32>, flags: Flags, follow: Follow<'_>) -> bool {
    if Some(min) == max && deterministic(body, flags) {
        return true;
    }
    // At the very end, the greedy repeat's first choice (as many as possible) is the match.
    if matches!(follow, Follow::End) && deterministic(body, flags) {
        return true;
    }
    let Some(c) = single_char(body, flags) else {
        return false;
    };
    match follow {
        Follow::End => true,
        Follow::Next(next, nflags) => match single_char(next, nflags) {
            Some(d) => intersect(&c, &d).is_empty(),
            None => false,
        },
        Follow::Unknown => false,
    }
}
