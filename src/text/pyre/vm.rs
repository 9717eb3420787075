//! A Pike VM over regex-automata's Thompson NFA with Python's assertions and Python's
//! "no empty match at the start position" rule (`must_advance` in `_sre.c`).
//!
//! Why our own: regex-automata's engines give `\b`, `\B` and `$` the regex crate's meaning,
//! and know nothing of `must_advance`. A Pike VM runs every thread in lock step, so its time
//! is O(text × NFA states) whatever the pattern; its threads are kept in priority order, and
//! the first thread to reach a match wins, which is the order Python's backtracking tries
//! alternatives in (for repeats whose body cannot match empty; the lowering refuses those).

use regex_automata::nfa::thompson::{State, NFA};
use regex_automata::util::look::Look;
use regex_automata::util::primitives::StateID;

use crate::text::pyclass::{PyClasses, WORD};

pub struct Vm {
    nfa: NFA,
    slot_len: usize,
    classes: PyClasses,
}

struct Threads {
    dense: Vec<StateID>,
    sparse: Vec<usize>,
    /// `slot_len` slots per state, for the states that stop a closure (byte tests, match).
    slots: Vec<Option<usize>>,
}

impl Threads {
    fn new(states: usize, slot_len: usize) -> Threads {
        Threads {
            dense: Vec::with_capacity(states),
            sparse: vec![0; states],
            slots: vec![None; states * slot_len],
        }
    }
    fn contains(&self, sid: StateID) -> bool {
        let i = self.sparse[sid.as_usize()];
        i < self.dense.len() && self.dense[i] == sid
    }
    fn insert(&mut self, sid: StateID) -> bool {
        if self.contains(sid) {
            return false;
        }
        self.sparse[sid.as_usize()] = self.dense.len();
        self.dense.push(sid);
        true
    }
    fn clear(&mut self) {
        self.dense.clear();
    }
}

enum Frame {
    Explore(StateID),
    Restore(usize, Option<usize>),
}

/// Per-search memory; one per thread, reused across searches.
pub struct Cache {
    clist: Threads,
    nlist: Threads,
    stack: Vec<Frame>,
    scratch: Vec<Option<usize>>,
}

impl Vm {
    pub fn new(nfa: NFA) -> Vm {
        let slot_len = nfa.group_info().slot_len();
        Vm {
            nfa,
            slot_len,
            classes: PyClasses::new(),
        }
    }

    pub fn slot_len(&self) -> usize {
        self.slot_len
    }

    pub fn cache(&self) -> Cache {
        let n = self.nfa.states().len();
        Cache {
            clist: Threads::new(n, self.slot_len),
            nlist: Threads::new(n, self.slot_len),
            stack: Vec::new(),
            scratch: vec![None; self.slot_len],
        }
    }

    fn is_word(&self, c: Option<char>, ascii: bool) -> bool {
        match c {
            None => false,
            Some(c) if ascii => c.is_ascii_alphanumeric() || c == '_',
            Some(c) => self.classes.flags(c) & WORD != 0,
        }
    }

    /// Python's meaning of each assertion the lowering emits (see `lower.rs`).
    fn look(&self, look: Look, text: &str, at: usize) -> bool {
        let b = text.as_bytes();
        let len = b.len();
        let around = || {
            if !text.is_char_boundary(at) {
                return (None, None);
            }
            (text[..at].chars().next_back(), text[at..].chars().next())
        };
        match look {
            Look::Start => at == 0,
            Look::End => at == len,
            Look::StartLF => at == 0 || b[at - 1] == b'\n',
            Look::EndLF => at == len || b[at] == b'\n',
            // Python's non-multiline `$`: the end, or just before a final newline.
            Look::EndCRLF => at == len || (at + 1 == len && b[at] == b'\n'),
            Look::WordAscii | Look::WordUnicode => {
                let ascii = look == Look::WordAscii;
                let (x, y) = around();
                self.is_word(x, ascii) != self.is_word(y, ascii)
            }
            // `_sre`: `\B` never matches in an empty string.
            Look::WordAsciiNegate | Look::WordUnicodeNegate => {
                let ascii = look == Look::WordAsciiNegate;
                let (x, y) = around();
                len > 0 && self.is_word(x, ascii) == self.is_word(y, ascii)
            }
            _ => false,
        }
    }

    /// Follow epsilon transitions from `sid` at `at` into `list`, in priority order,
    /// with the thread's slots in `cache.scratch`.
    fn closure(
        &self,
        list: &mut Threads,
        stack: &mut Vec<Frame>,
        slots: &mut [Option<usize>],
        sid: StateID,
        text: &str,
        at: usize,
    ) {
        stack.push(Frame::Explore(sid));
        while let Some(frame) = stack.pop() {
            let mut sid = match frame {
                Frame::Restore(slot, old) => {
                    slots[slot] = old;
                    continue;
                }
                Frame::Explore(sid) => sid,
            };
            loop {
                if !list.insert(sid) {
                    break;
                }
                match self.nfa.state(sid) {
                    State::ByteRange { .. } | State::Sparse(_) | State::Dense(_) | State::Match { .. } => {
                        let i = sid.as_usize() * self.slot_len;
                        list.slots[i..i + self.slot_len].copy_from_slice(slots);
                        break;
                    }
                    State::Fail => break,
                    State::Look { look, next } => {
                        if !self.look(*look, text, at) {
                            break;
                        }
                        sid = *next;
                    }
                    State::Union { alternates } => {
                        let Some((&first, rest)) = alternates.split_first() else {
                            break;
                        };
                        for &alt in rest.iter().rev() {
                            stack.push(Frame::Explore(alt));
                        }
                        sid = first;
                    }
                    State::BinaryUnion { alt1, alt2 } => {
                        stack.push(Frame::Explore(*alt2));
                        sid = *alt1;
                    }
                    State::Capture { next, slot, .. } => {
                        let s = slot.as_usize();
                        if s < self.slot_len {
                            stack.push(Frame::Restore(s, slots[s]));
                            slots[s] = Some(at);
                        }
                        sid = *next;
                    }
                }
            }
        }
    }

    /// The leftmost-first match at or after `start` (only at `start` when `anchored`), its
    /// slots written to `out` (`slot_len` entries: group g is `out[2g]..out[2g+1]`). With
    /// `must_advance`, an empty match at `start` does not count (Python then goes on to the
    /// next alternative in priority order, exactly as here). With `match_all` (`fullmatch`,
    /// `_sre`'s `match_all`), only a match ending at the end of `text` counts, in the same way.
    #[allow(clippy::too_many_arguments)]
    pub fn search(
        &self,
        cache: &mut Cache,
        text: &str,
        start: usize,
        anchored: bool,
        must_advance: bool,
        match_all: bool,
        out: &mut [Option<usize>],
    ) -> bool {
        let Cache {
            clist,
            nlist,
            stack,
            scratch,
        } = cache;
        clist.clear();
        nlist.clear();
        let bytes = text.as_bytes();
        let len = bytes.len();
        let start_id = self.nfa.start_anchored();
        let mut matched = false;
        let mut at = start;
        loop {
            if !matched && (at == start || !anchored) && text.is_char_boundary(at) {
                scratch.fill(None);
                self.closure(clist, stack, scratch, start_id, text, at);
            }
            if clist.dense.is_empty() && (matched || anchored) {
                break;
            }
            for i in 0..clist.dense.len() {
                let sid = clist.dense[i];
                let next = match self.nfa.state(sid) {
                    State::Match { .. } => {
                        if (must_advance && at == start) || (match_all && at != len) {
                            continue;
                        }
                        let j = sid.as_usize() * self.slot_len;
                        out[..self.slot_len].copy_from_slice(&clist.slots[j..j + self.slot_len]);
                        matched = true;
                        break; // lower-priority threads lose
                    }
                    _ if at >= len => None,
                    State::ByteRange { trans } => trans.matches_byte(bytes[at]).then_some(trans.next),
                    State::Sparse(s) => s.matches_byte(bytes[at]),
                    State::Dense(d) => d.matches_byte(bytes[at]),
                    _ => None,
                };
                if let Some(next) = next {
                    let j = sid.as_usize() * self.slot_len;
                    scratch.copy_from_slice(&clist.slots[j..j + self.slot_len]);
                    self.closure(nlist, stack, scratch, next, text, at + 1);
                }
            }
            if at >= len {
                break;
            }
            std::mem::swap(clist, nlist);
            nlist.clear();
            at += 1;
        }
        matched
    }
}
