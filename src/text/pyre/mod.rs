//! User patterns with Python's `re` grammar and matching rules, in linear time, or refused.
//!
//! `parse` transcribes `re/_parser.py`; `lower` builds regex-syntax's `Hir` with Python's
//! meaning (classes, case rules, assertions) and refuses what cannot be matched exactly in
//! linear time; `vm` is a Pike VM with Python's assertions and `must_advance`. [`Engine`]
//! runs the fast regex-automata meta engine wherever it gives Python's answer and the VM
//! elsewhere, so common patterns keep their speed.

mod case_tables;
mod lower;
mod names;
pub mod parse;
pub mod template;
mod vm;

use std::sync::{Mutex, OnceLock};

use regex_automata::meta;
use regex_automata::nfa::thompson;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, Look};

use crate::error::{Error, ErrorKind, Result};

pub use parse::IGNORECASE;

/// Compiled size limit: big enough for the Python classes, small enough to fail fast.
const SIZE_LIMIT: usize = 64 << 20;

/// A compiled pattern: the fast engine when it is exact for this pattern, the Pike VM for
/// what it is not (Python's `\b`, `\B`, `$`, and the retry after an empty match).
pub struct Engine {
    fast: Option<meta::Regex>,
    vm: Option<vm::Vm>,
    caches: Mutex<Vec<vm::Cache>>,
    groups: usize,
    /// Literals one of which starts every match (None: a big or infinite set). Zero-width
    /// assertions (Python's `\b`, `$`) add nothing to a prefix, so they stay necessary.
    prefix: Option<Vec<Vec<u8>>>,
    /// Group names by group number (index 0: the whole match, never named).
    names: Vec<Option<String>>,
    /// The lowered pattern, kept for `full`.
    hir: Hir,
    /// `fullmatch`'s fast engine: the pattern followed by `\z`, whose leftmost-first match
    /// is the first match in priority order that ends at the end (what `_sre`'s `match_all`
    /// finds). Built on first use, so only `fullmatch` callers pay for it.
    full: OnceLock<std::result::Result<meta::Regex, Error>>,
}

/// Where a single search may match: `re.search` (anywhere), `re.match` (at the start),
/// `re.fullmatch` (the whole text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Search,
    Match,
    FullMatch,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("fast", &self.fast.is_some())
            .field("vm", &self.vm.is_some())
            .field("groups", &self.groups)
            .finish()
    }
}

/// The fast engine for `hir`, with the limits the regex crate's RegexBuilder set before
/// (size_limit and dfa_size_limit map to these), so the fast path is the engine it was.
fn build_meta(hir: &Hir) -> Result<meta::Regex> {
    let config = meta::Config::new()
        .nfa_size_limit(Some(SIZE_LIMIT))
        .hybrid_cache_capacity(SIZE_LIMIT);
    meta::Regex::builder()
        .configure(config)
        .build_from_hir(hir)
        .map_err(|e| match e.size_limit() {
            Some(l) => too_large(l),
            None => Error::new(ErrorKind::PatternSyntax, format!("invalid pattern: {e}")),
        })
}

fn too_large(limit: usize) -> Error {
    Error::new(
        ErrorKind::PatternTooLarge,
        format!("pattern is too large: its compiled form exceeds {limit} bytes"),
    )
}

impl Engine {
    /// Compile `pattern` with `re` flags (`re.I`, `re.M`, `re.S`, `re.X`, `re.A`, `re.U`).
    pub fn new(pattern: &str, flags: u32) -> Result<Engine> {
        let parsed = parse::parse(pattern, flags).map_err(|e| {
            if e.unsupported {
                Error::new(
                    ErrorKind::PatternUnsupported,
                    format!("{} at position {} is not supported (ferrokern matches exactly like Python's re, or refuses)", e.msg, e.pos),
                )
            } else {
                Error::new(ErrorKind::PatternSyntax, format!("invalid pattern: {} at position {}", e.msg, e.pos))
            }
        })?;
        let mut lowering = lower::Lowering::new();
        let hir = lowering.lower(&parsed.node, parsed.flags).map_err(|u| {
            Error::new(
                ErrorKind::PatternUnsupported,
                format!(
                    "{} at position {} is not supported: ferrokern matches exactly like Python's re in linear time, or refuses",
                    u.what, u.pos
                ),
            )
        })?;
        let needs = lowering.needs();
        let nullable = hir.properties().minimum_len() == Some(0);
        let fast = if needs.python_looks {
            None
        } else {
            Some(build_meta(&hir)?)
        };
        let vm = if needs.python_looks || nullable {
            let nfa = thompson::Compiler::new()
                .configure(
                    thompson::Config::new()
                        .nfa_size_limit(Some(SIZE_LIMIT))
                        .shrink(false)
                        .which_captures(thompson::WhichCaptures::All),
                )
                .build_from_hir(&hir)
                .map_err(|e| match e.size_limit() {
                    Some(l) => too_large(l),
                    None => Error::new(ErrorKind::PatternSyntax, format!("invalid pattern: {e}")),
                })?;
            Some(vm::Vm::new(nfa))
        } else {
            None
        };
        let prefix = Extractor::new()
            .kind(ExtractKind::Prefix)
            .extract(&hir)
            .literals()
            .map(|ls| ls.iter().map(|l| l.as_bytes().to_vec()).collect());
        Ok(Engine {
            fast,
            vm,
            caches: Mutex::new(Vec::new()),
            groups: parsed.groups,
            prefix,
            names: parsed.names,
            hir,
            full: OnceLock::new(),
        })
    }

    /// The group number of `(?P<name>...)`, if the pattern has that name.
    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.as_deref() == Some(name))
    }

    /// See the `full` field (only called when the fast engine exists).
    fn full(&self) -> Result<&meta::Regex> {
        self.full
            .get_or_init(|| build_meta(&Hir::concat(vec![self.hir.clone(), Hir::look(Look::End)])))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The literals one of which every match starts with, if the set is small and finite
    /// (it may hold the empty literal: the pattern can match empty).
    pub fn prefix_literals(&self) -> Option<Vec<Vec<u8>>> {
        self.prefix.clone()
    }

    /// The name of group `g` (`(?P<name>...)`), if it has one.
    pub fn group_name(&self, g: usize) -> Option<&str> {
        self.names.get(g).and_then(|n| n.as_deref())
    }

    /// Number of capture groups (group 0 not counted).
    pub fn groups(&self) -> usize {
        self.groups
    }

    fn with_vm<R>(&self, f: impl FnOnce(&vm::Vm, &mut vm::Cache) -> R) -> R {
        let vm = self
            .vm
            .as_ref()
            .expect("the VM is built whenever it can be needed");
        let mut cache = self
            .caches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_else(|| vm.cache());
        let r = f(vm, &mut cache);
        self.caches.lock().unwrap_or_else(|p| p.into_inner()).push(cache);
        r
    }

    /// A searcher for one text: reusable state for successive searches.
    pub fn searcher(&self, want_groups: bool) -> Searcher<'_> {
        let slot_len = 2 * (self.groups + 1);
        Searcher {
            engine: self,
            slots: vec![None; slot_len],
            caps: match (&self.fast, want_groups) {
                (Some(r), true) => Some(r.create_captures()),
                _ => None,
            },
            full_caps: None,
        }
    }
}

/// State for successive searches of one pattern; `slots` holds the last match's groups.
pub struct Searcher<'e> {
    engine: &'e Engine,
    slots: Vec<Option<usize>>,
    caps: Option<Captures>,
    /// For `fullmatch`'s engine (see `Engine::full`).
    full_caps: Option<Captures>,
}

impl Searcher<'_> {
    /// Python's `sre_search` from `pos`: the leftmost match, where with `must_advance` an empty
    /// match at `pos` itself does not count. Returns the match's byte span; with groups
    /// wanted, [`Searcher::group`] reads them.
    pub fn find(&mut self, text: &str, pos: usize, must_advance: bool) -> Option<(usize, usize)> {
        let e = self.engine;
        let Some(fast) = &e.fast else {
            return self.vm_find(text, pos, false, must_advance, false);
        };
        let mut from = pos;
        if must_advance {
            // Only the Pike VM knows the rule; it need only try matches starting at `pos`.
            if let Some(m) = self.vm_find(text, pos, true, true, false) {
                return Some(m);
            }
            from = next_char(text, pos);
            if from > text.len() {
                return None;
            }
        }
        let input = Input::new(text).range(from..);
        match &mut self.caps {
            Some(caps) => {
                fast.search_captures(&input, caps);
                let m = caps.get_match()?;
                for g in 0..=e.groups {
                    let span = caps.get_group(g);
                    self.slots[2 * g] = span.map(|s| s.start);
                    self.slots[2 * g + 1] = span.map(|s| s.end);
                }
                Some((m.start(), m.end()))
            }
            None => {
                let m = fast.search(&input)?;
                self.slots[0] = Some(m.start());
                self.slots[1] = Some(m.end());
                Some((m.start(), m.end()))
            }
        }
    }

    /// One `re.search` / `re.match` / `re.fullmatch` of the whole text, groups included
    /// ([`Searcher::group`] reads them; make the searcher with `want_groups`).
    pub fn find_once(&mut self, text: &str, anchor: Anchor) -> Result<Option<(usize, usize)>> {
        let e = self.engine;
        let Some(fast) = &e.fast else {
            return Ok(match anchor {
                Anchor::Search => self.vm_find(text, 0, false, false, false),
                Anchor::Match => self.vm_find(text, 0, true, false, false),
                Anchor::FullMatch => self.vm_find(text, 0, true, false, true),
            });
        };
        let (re, caps) = match anchor {
            Anchor::Search => return Ok(self.find(text, 0, false)),
            Anchor::Match => (fast, &mut self.caps),
            Anchor::FullMatch => (e.full()?, &mut self.full_caps),
        };
        let caps = caps.get_or_insert_with(|| re.create_captures());
        re.search_captures(&Input::new(text).anchored(Anchored::Yes), caps);
        let Some(m) = caps.get_match() else {
            return Ok(None);
        };
        for g in 0..=e.groups {
            let span = caps.get_group(g);
            self.slots[2 * g] = span.map(|s| s.start);
            self.slots[2 * g + 1] = span.map(|s| s.end);
        }
        Ok(Some((m.start(), m.end())))
    }

    fn vm_find(
        &mut self,
        text: &str,
        pos: usize,
        anchored: bool,
        must_advance: bool,
        match_all: bool,
    ) -> Option<(usize, usize)> {
        let slots = &mut self.slots;
        let found = self
            .engine
            .with_vm(|vm, cache| {
                let mut out = vec![None; vm.slot_len()];
                let ok = vm.search(cache, text, pos, anchored, must_advance, match_all, &mut out);
                ok.then(|| {
                    let n = slots.len().min(out.len());
                    slots[..n].copy_from_slice(&out[..n]);
                })
            })
            .is_some();
        if !found {
            return None;
        }
        Some((self.slots[0]?, self.slots[1]?))
    }

    /// Byte span of group `g` of the last match, `None` if it did not take part.
    pub fn group(&self, g: usize) -> Option<(usize, usize)> {
        Some((self.slots[2 * g]?, self.slots[2 * g + 1]?))
    }
}

/// Byte index just past the character at `i` (or past the end).
pub fn next_char(text: &str, i: usize) -> usize {
    match text[i..].chars().next() {
        Some(c) => i + c.len_utf8(),
        None => i + 1,
    }
}

/// `re.findall`'s iteration (`_sre.c` `pattern_findall`): search from `pos`; after an empty
/// match the next search starts at the same place with `must_advance`.
pub fn findall_steps(text: &str, mut find: impl FnMut(usize, bool) -> Option<(usize, usize)>) {
    let mut pos = 0;
    let mut must_advance = false;
    while pos <= text.len() {
        let Some((start, end)) = find(pos, must_advance) else {
            break;
        };
        must_advance = start == end;
        pos = end;
    }
}

#[cfg(test)]
mod tests;
