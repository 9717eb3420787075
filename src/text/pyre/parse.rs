//! Python's `re` pattern grammar (3.11, `re/_parser.py`), transcribed: same tokens, same
//! decisions, same error messages and positions (in code points), so that a pattern Python
//! rejects is rejected here and one it accepts gets the tree Python builds.
//!
//! Constructs that parse but cannot be matched with Python's meaning in linear time
//! (backreferences, look-around, conditionals) become [`Node::Unsupported`]; the lowering
//! refuses them only after the whole pattern parsed, so a syntax error later in the pattern
//! still wins, as it does in Python.

/// `re` flag values (`re.I`, ...), as `sre_constants` defines them.
pub const TEMPLATE: u32 = 1;
pub const IGNORECASE: u32 = 2;
pub const LOCALE: u32 = 4;
pub const MULTILINE: u32 = 8;
pub const DOTALL: u32 = 16;
pub const UNICODE: u32 = 32;
pub const VERBOSE: u32 = 64;
pub const DEBUG: u32 = 128;
pub const ASCII: u32 = 256;
const TYPE_FLAGS: u32 = ASCII | LOCALE | UNICODE;
const GLOBAL_FLAGS: u32 = DEBUG | TEMPLATE;

/// `_sre.MAXREPEAT` and `_sre.MAXGROUPS` on 64-bit CPython.
pub const MAXREPEAT: u64 = 4_294_967_295;
const MAXGROUPS: usize = 1_073_741_823;

/// Python's error: message and position in code points (`re.error.pos`). `unsupported`
/// marks the few places where Python's answer depends on data this build does not carry
/// exactly (non-ASCII group names, some `\N{...}` names): refused, never guessed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyntaxError {
    pub msg: String,
    pub pos: usize,
    pub unsupported: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Digit,
    NotDigit,
    Space,
    NotSpace,
    Word,
    NotWord,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Lit(u32),
    Range(u32, u32),
    Cat(Category),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// `^`
    Beginning,
    /// `\A`
    BeginningString,
    /// `$`
    End,
    /// `\Z`
    EndString,
    /// `\b`
    Boundary,
    /// `\B`
    NonBoundary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepeatKind {
    Greedy,
    Lazy,
    Possessive,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Lit(u32),
    NotLit(u32),
    Any,
    Set {
        negate: bool,
        items: Vec<Item>,
    },
    At(At),
    /// A group: capturing when `index` is set; `add`/`del` are scoped flags `(?i-s:...)`.
    Group {
        index: Option<u32>,
        name: Option<String>,
        add: u32,
        del: u32,
        body: Box<Node>,
    },
    Seq(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        min: u32,
        max: Option<u32>,
        kind: RepeatKind,
        body: Box<Node>,
        pos: usize,
    },
    Atomic {
        body: Box<Node>,
        pos: usize,
    },
    /// Parsed, valid Python, but refused by the lowering: `what` names the construct.
    Unsupported {
        what: &'static str,
        pos: usize,
    },
}

/// The parse: the tree, the global flags (inline `(?i)` at the start included, then fixed up
/// as `fix_flags` does), the number of groups and their names.
#[derive(Debug)]
pub struct Parsed {
    pub node: Node,
    pub flags: u32,
    pub groups: usize,
    /// Group names by group number (index 0: the whole match, never named). Taken from the
    /// parse, not the lowered tree: lowering drops a group repeated `{0}` times, and
    /// `re` still knows its name (`groupindex`, `groupdict`).
    pub names: Vec<Option<String>>,
}

/// A token of a pattern or a replacement template (`_parser.Tokenizer`): one home for both.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
    Char(char),
    /// A backslash and the character after it.
    Esc(char),
}

pub(super) struct Source {
    chars: Vec<char>,
    index: usize,
    next: Option<Tok>,
}

impl Source {
    pub(super) fn new(s: &str) -> Result<Source, SyntaxError> {
        let mut src = Source {
            chars: s.chars().collect(),
            index: 0,
            next: None,
        };
        src.advance()?;
        Ok(src)
    }
    pub(super) fn advance(&mut self) -> Result<(), SyntaxError> {
        let Some(&c) = self.chars.get(self.index) else {
            self.next = None;
            return Ok(());
        };
        if c == '\\' {
            let Some(&d) = self.chars.get(self.index + 1) else {
                return Err(SyntaxError {
                    msg: "bad escape (end of pattern)".into(),
                    pos: self.chars.len() - 1,
                    unsupported: false,
                });
            };
            self.next = Some(Tok::Esc(d));
            self.index += 2;
        } else {
            self.next = Some(Tok::Char(c));
            self.index += 1;
        }
        Ok(())
    }
    pub(super) fn tell(&self) -> usize {
        self.index
            - match self.next {
                None => 0,
                Some(Tok::Char(_)) => 1,
                Some(Tok::Esc(_)) => 2,
            }
    }
    fn seek(&mut self, index: usize) -> Result<(), SyntaxError> {
        self.index = index;
        self.advance()
    }
    pub(super) fn get(&mut self) -> Result<Option<Tok>, SyntaxError> {
        let t = self.next;
        self.advance()?;
        Ok(t)
    }
    pub(super) fn next_is(&self, c: char) -> bool {
        self.next == Some(Tok::Char(c))
    }
    fn matches(&mut self, c: char) -> Result<bool, SyntaxError> {
        if self.next_is(c) {
            self.advance()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }
    pub(super) fn next_char_in(&self, set: &str) -> Option<char> {
        match self.next {
            Some(Tok::Char(c)) if set.contains(c) => Some(c),
            _ => None,
        }
    }
    fn getwhile(&mut self, n: usize, set: &str) -> Result<String, SyntaxError> {
        let mut out = String::new();
        for _ in 0..n {
            match self.next_char_in(set) {
                Some(c) => {
                    out.push(c);
                    self.advance()?;
                }
                None => break,
            }
        }
        Ok(out)
    }
    /// `getuntil`: the name up to `terminator`, as Python spells the token (escapes included).
    pub(super) fn getuntil(&mut self, terminator: char, name: &str) -> Result<String, SyntaxError> {
        let mut result = String::new();
        loop {
            let c = self.next;
            self.advance()?;
            match c {
                None => {
                    if result.is_empty() {
                        return Err(self.error(format!("missing {name}"), 0));
                    }
                    let n = result.chars().count();
                    return Err(self.error(format!("missing {terminator}, unterminated name"), n));
                }
                Some(Tok::Char(c)) if c == terminator => {
                    if result.is_empty() {
                        return Err(self.error(format!("missing {name}"), 1));
                    }
                    return Ok(result);
                }
                Some(Tok::Char(c)) => result.push(c),
                Some(Tok::Esc(c)) => {
                    result.push('\\');
                    result.push(c);
                }
            }
        }
    }
    pub(super) fn error(&self, msg: impl Into<String>, offset: usize) -> SyntaxError {
        SyntaxError {
            msg: msg.into(),
            pos: self.tell().saturating_sub(offset),
            unsupported: false,
        }
    }
}

pub(super) const DIGITS: &str = "0123456789";
pub(super) const OCTDIGITS: &str = "01234567";
const HEXDIGITS: &str = "0123456789abcdefABCDEF";
const WHITESPACE: &str = " \t\n\r\x0b\x0c";
const SPECIAL_CHARS: &str = ".\\[{()*+?^$|";

fn flag_of(c: char) -> Option<u32> {
    Some(match c {
        'i' => IGNORECASE,
        'L' => LOCALE,
        'm' => MULTILINE,
        's' => DOTALL,
        'x' => VERBOSE,
        'a' => ASCII,
        't' => TEMPLATE,
        'u' => UNICODE,
        _ => return None,
    })
}

/// `_parser.State`.
struct State {
    flags: u32,
    names: Vec<Option<String>>,
    /// Per group (index 0 = the whole match): closed yet?
    closed: Vec<bool>,
    lookbehind_groups: Option<usize>,
    grouprefpos: Vec<(usize, usize)>,
}

impl State {
    fn groups(&self) -> usize {
        self.closed.len()
    }
    fn checkgroup(&self, gid: usize) -> bool {
        gid < self.groups() && self.closed[gid]
    }
    fn checklookbehindgroup(&self, gid: usize, src: &Source) -> Result<(), SyntaxError> {
        if let Some(lb) = self.lookbehind_groups {
            if !self.checkgroup(gid) {
                return Err(src.error("cannot refer to an open group", 0));
            }
            if gid >= lb {
                return Err(src.error(
                    "cannot refer to group defined in the same lookbehind subpattern",
                    0,
                ));
            }
        }
        Ok(())
    }
}

fn is_ascii_identifier(name: &str) -> Option<bool> {
    if !name.is_ascii() {
        return None; // str.isidentifier on non-ASCII: Unicode XID tables of Python's version
    }
    let mut cs = name.chars();
    Some(
        cs.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_'),
    )
}

/// Parse `pattern` with initial `flags` (the `re.compile` flags).
pub fn parse(pattern: &str, flags: u32) -> Result<Parsed, SyntaxError> {
    let mut src = Source::new(pattern)?;
    let mut state = State {
        flags,
        names: vec![None],
        closed: vec![true],
        lookbehind_groups: None,
        grouprefpos: Vec::new(),
    };
    let verbose = flags & VERBOSE != 0;
    let node = parse_sub(&mut src, &mut state, verbose, 0)?;
    // fix_flags for a str pattern
    if state.flags & LOCALE != 0 {
        return Err(SyntaxError {
            msg: "cannot use LOCALE flag with a str pattern".into(),
            pos: 0,
            unsupported: false,
        });
    }
    if state.flags & ASCII == 0 {
        state.flags |= UNICODE;
    } else if state.flags & UNICODE != 0 {
        return Err(SyntaxError {
            msg: "ASCII and UNICODE flags are incompatible".into(),
            pos: 0,
            unsupported: false,
        });
    }
    if src.next.is_some() {
        return Err(src.error("unbalanced parenthesis", 0));
    }
    for &(g, pos) in &state.grouprefpos {
        if g >= state.groups() {
            return Err(SyntaxError {
                msg: format!("invalid group reference {g}"),
                pos,
                unsupported: false,
            });
        }
    }
    Ok(Parsed {
        node,
        flags: state.flags,
        groups: state.groups() - 1,
        names: state.names,
    })
}

fn parse_sub(
    src: &mut Source,
    state: &mut State,
    mut verbose: bool,
    nested: usize,
) -> Result<Node, SyntaxError> {
    let mut items = Vec::new();
    loop {
        let first = nested == 0 && items.is_empty();
        items.push(parse_seq(src, state, verbose, nested + 1, first)?);
        if !src.matches('|')? {
            break;
        }
        if nested == 0 {
            verbose = state.flags & VERBOSE != 0;
        }
    }
    Ok(if items.len() == 1 {
        items.pop().expect("one item")
    } else {
        Node::Alt(items)
    })
}

fn is_repeat(n: &Node) -> bool {
    matches!(n, Node::Repeat { .. })
}

fn parse_seq(
    src: &mut Source,
    state: &mut State,
    mut verbose: bool,
    nested: usize,
    first: bool,
) -> Result<Node, SyntaxError> {
    let mut seq: Vec<Node> = Vec::new();
    while let Some(this) = src.next {
        let tok_pos = src.tell();
        if this == Tok::Char('|') || this == Tok::Char(')') {
            break;
        }
        src.advance()?;
        if verbose {
            if let Tok::Char(c) = this {
                if WHITESPACE.contains(c) {
                    continue;
                }
                if c == '#' {
                    loop {
                        match src.get()? {
                            None | Some(Tok::Char('\n')) => break,
                            _ => {}
                        }
                    }
                    continue;
                }
            }
        }
        let c = match this {
            Tok::Esc(e) => {
                seq.push(escape(src, e, state, tok_pos)?);
                continue;
            }
            Tok::Char(c) => c,
        };
        if !SPECIAL_CHARS.contains(c) {
            seq.push(Node::Lit(c as u32));
        } else if c == '[' {
            seq.push(parse_set(src)?);
        } else if "*+?{".contains(c) {
            let here = src.tell();
            let (min, max): (u64, Option<u64>) = match c {
                '?' => (0, Some(1)),
                '*' => (0, None),
                '+' => (1, None),
                _ => {
                    if src.next_is('}') {
                        seq.push(Node::Lit('{' as u32));
                        continue;
                    }
                    let mut lo = String::new();
                    while let Some(d) = src.next_char_in(DIGITS) {
                        lo.push(d);
                        src.advance()?;
                    }
                    let hi = if src.matches(',')? {
                        let mut hi = String::new();
                        while let Some(d) = src.next_char_in(DIGITS) {
                            hi.push(d);
                            src.advance()?;
                        }
                        hi
                    } else {
                        lo.clone()
                    };
                    if !src.matches('}')? {
                        seq.push(Node::Lit('{' as u32));
                        src.seek(here)?;
                        continue;
                    }
                    let too_large = || SyntaxError {
                        msg: "the repetition number is too large".into(),
                        pos: here,
                        unsupported: false,
                    };
                    let num = |s: &str| s.parse::<u64>().ok().filter(|&v| v < MAXREPEAT);
                    let min = if lo.is_empty() {
                        0
                    } else {
                        num(&lo).ok_or_else(too_large)?
                    };
                    let max = if hi.is_empty() {
                        None
                    } else {
                        let m = num(&hi).ok_or_else(too_large)?;
                        if m < min {
                            return Err(src.error("min repeat greater than max repeat", src.tell() - here));
                        }
                        Some(m)
                    };
                    (min, max)
                }
            };
            let width = src.tell() - here + 1;
            match seq.last() {
                None | Some(Node::At(_)) => return Err(src.error("nothing to repeat", width)),
                Some(n) if is_repeat(n) => return Err(src.error("multiple repeat", width)),
                _ => {}
            }
            let item = seq.pop().expect("checked above");
            let item = match item {
                Node::Group {
                    index: None,
                    add: 0,
                    del: 0,
                    body,
                    ..
                } => *body,
                other => other,
            };
            let kind = if src.matches('?')? {
                RepeatKind::Lazy
            } else if src.matches('+')? {
                RepeatKind::Possessive
            } else {
                RepeatKind::Greedy
            };
            // Both bounds are below MAXREPEAT = u32::MAX, so they fit.
            seq.push(Node::Repeat {
                min: min as u32,
                max: max.map(|m| m as u32),
                kind,
                body: Box::new(item),
                pos: here - 1,
            });
        } else if c == '.' {
            seq.push(Node::Any);
        } else if c == '(' {
            let start = src.tell() - 1;
            let mut capture = true;
            let mut atomic = false;
            let mut name = None;
            let mut add = 0;
            let mut del = 0;
            if src.matches('?')? {
                let Some(ch) = src.get()? else {
                    return Err(src.error("unexpected end of pattern", 0));
                };
                let ch = match ch {
                    Tok::Char(c) => c,
                    // `(?\x`: Python's `char` is the two-character escape, never an option.
                    Tok::Esc(e) => {
                        return Err(src.error(format!("unknown extension ?\\{e}"), 3));
                    }
                };
                match ch {
                    'P' => {
                        if src.matches('<')? {
                            let n = src.getuntil('>', "group name")?;
                            check_group_name(src, &n, 1)?;
                            name = Some(n);
                        } else if src.matches('=')? {
                            let n = src.getuntil(')', "group name")?;
                            check_group_name(src, &n, 1)?;
                            let len = n.chars().count();
                            let Some(gid) = state.names.iter().position(|x| x.as_deref() == Some(&n)) else {
                                return Err(src.error(format!("unknown group name {}", py_repr(&n)), len + 1));
                            };
                            if !state.checkgroup(gid) {
                                return Err(src.error("cannot refer to an open group", len + 1));
                            }
                            state.checklookbehindgroup(gid, src)?;
                            seq.push(Node::Unsupported {
                                what: "a backreference (?P=name)",
                                pos: start,
                            });
                            continue;
                        } else {
                            match src.get()? {
                                None => return Err(src.error("unexpected end of pattern", 0)),
                                Some(t) => {
                                    let s = tok_str(t);
                                    let n = s.chars().count();
                                    return Err(src.error(format!("unknown extension ?P{s}"), n + 2));
                                }
                            }
                        }
                    }
                    ':' => capture = false,
                    '#' => {
                        loop {
                            if src.next.is_none() {
                                return Err(src.error("missing ), unterminated comment", src.tell() - start));
                            }
                            if src.get()? == Some(Tok::Char(')')) {
                                break;
                            }
                        }
                        continue;
                    }
                    '=' | '!' | '<' => {
                        let mut ch = ch;
                        let mut behind = false;
                        let saved_lb = state.lookbehind_groups;
                        if ch == '<' {
                            let Some(t) = src.get()? else {
                                return Err(src.error("unexpected end of pattern", 0));
                            };
                            match t {
                                Tok::Char(c @ ('=' | '!')) => ch = c,
                                t => {
                                    let s = tok_str(t);
                                    let n = s.chars().count();
                                    return Err(src.error(format!("unknown extension ?<{s}"), n + 2));
                                }
                            }
                            behind = true;
                            if state.lookbehind_groups.is_none() {
                                state.lookbehind_groups = Some(state.groups());
                            }
                        }
                        parse_sub(src, state, verbose, nested + 1)?;
                        if behind && saved_lb.is_none() {
                            state.lookbehind_groups = None;
                        }
                        if !src.matches(')')? {
                            return Err(src.error("missing ), unterminated subpattern", src.tell() - start));
                        }
                        let what = match (behind, ch) {
                            (false, '=') => "a lookahead assertion (?=...)",
                            (false, _) => "a negative lookahead assertion (?!...)",
                            (true, '=') => "a lookbehind assertion (?<=...)",
                            (true, _) => "a negative lookbehind assertion (?<!...)",
                        };
                        seq.push(Node::Unsupported { what, pos: start });
                        continue;
                    }
                    '(' => {
                        let condname = src.getuntil(')', "group name")?;
                        let len = condname.chars().count();
                        match is_ascii_identifier(&condname) {
                            Some(true) => {
                                if !state.names.iter().any(|x| x.as_deref() == Some(&condname)) {
                                    return Err(src.error(
                                        format!("unknown group name {}", py_repr(&condname)),
                                        len + 1,
                                    ));
                                }
                            }
                            None => {
                                return Err(SyntaxError {
                                    msg: UNSUPPORTED_NAME.into(),
                                    pos: src.tell().saturating_sub(len + 1),
                                    unsupported: true,
                                });
                            }
                            Some(false) => {
                                // int(condname): optional sign and surrounding whitespace, '_' separators
                                let Some(g) = py_int(&condname) else {
                                    return Err(src.error(
                                        format!("bad character in group name {}", py_repr(&condname)),
                                        len + 1,
                                    ));
                                };
                                if g == 0 {
                                    return Err(src.error("bad group number", len + 1));
                                }
                                if g >= MAXGROUPS as u64 {
                                    return Err(src.error(format!("invalid group reference {g}"), len + 1));
                                }
                                let g = g as usize;
                                if !state.grouprefpos.iter().any(|&(x, _)| x == g) {
                                    state.grouprefpos.push((g, src.tell() - len - 1));
                                }
                            }
                        }
                        parse_seq(src, state, verbose, nested + 1, false)?;
                        if src.matches('|')? {
                            parse_seq(src, state, verbose, nested + 1, false)?;
                            if src.next_is('|') {
                                return Err(src.error("conditional backref with more than two branches", 0));
                            }
                        }
                        if !src.matches(')')? {
                            return Err(src.error("missing ), unterminated subpattern", src.tell() - start));
                        }
                        seq.push(Node::Unsupported {
                            what: "a conditional group (?(...)...)",
                            pos: start,
                        });
                        continue;
                    }
                    '>' => {
                        capture = false;
                        atomic = true;
                    }
                    c if flag_of(c).is_some() || c == '-' => match parse_flags(src, state, c)? {
                        None => {
                            if !first || !seq.is_empty() {
                                return Err(src.error(
                                    "global flags not at the start of the expression",
                                    src.tell() - start,
                                ));
                            }
                            verbose = state.flags & VERBOSE != 0;
                            continue;
                        }
                        Some((a, d)) => {
                            add = a;
                            del = d;
                            capture = false;
                        }
                    },
                    c => {
                        return Err(src.error(format!("unknown extension ?{c}"), 2));
                    }
                }
            }
            let group = if capture {
                let gid = state.groups();
                state.closed.push(false);
                state.names.push(None);
                if state.groups() > MAXGROUPS {
                    return Err(src.error("too many groups", 0));
                }
                if let Some(n) = &name {
                    if let Some(ogid) = state.names.iter().position(|x| x.as_ref() == Some(n)) {
                        let len = n.chars().count();
                        return Err(src.error(
                            format!(
                                "redefinition of group name {} as group {gid}; was group {ogid}",
                                py_repr(n)
                            ),
                            len + 1,
                        ));
                    }
                    state.names[gid] = Some(n.clone());
                }
                Some(gid)
            } else {
                None
            };
            let sub_verbose = (verbose || add & VERBOSE != 0) && del & VERBOSE == 0;
            let body = parse_sub(src, state, sub_verbose, nested + 1)?;
            if !src.matches(')')? {
                return Err(src.error("missing ), unterminated subpattern", src.tell() - start));
            }
            if let Some(g) = group {
                state.closed[g] = true;
            }
            if atomic {
                seq.push(Node::Atomic {
                    body: Box::new(body),
                    pos: start,
                });
            } else {
                seq.push(Node::Group {
                    index: group.map(|g| g as u32),
                    name,
                    add,
                    del,
                    body: Box::new(body),
                });
            }
        } else if c == '^' {
            seq.push(Node::At(At::Beginning));
        } else if c == '$' {
            seq.push(Node::At(At::End));
        }
    }
    Ok(if seq.len() == 1 {
        seq.pop().expect("one item")
    } else {
        Node::Seq(seq)
    })
}

fn check_group_name(src: &Source, name: &str, offset: usize) -> Result<(), SyntaxError> {
    match is_ascii_identifier(name) {
        Some(true) => Ok(()),
        Some(false) => {
            let len = name.chars().count();
            Err(src.error(
                format!("bad character in group name {}", py_repr(name)),
                len + offset,
            ))
        }
        None => Err(SyntaxError {
            msg: UNSUPPORTED_NAME.into(),
            pos: src.tell().saturating_sub(name.chars().count() + offset),
            unsupported: true,
        }),
    }
}

/// A group name outside ASCII: Python's `str.isidentifier` follows its own Unicode version's
/// XID tables, which this build does not carry, so such names are refused, not guessed.
pub const UNSUPPORTED_NAME: &str = "a non-ASCII group name";

fn tok_str(t: Tok) -> String {
    match t {
        Tok::Char(c) => c.to_string(),
        Tok::Esc(c) => format!("\\{c}"),
    }
}

/// Python's `int(s)` for the digits-only strings a condition name can be (ASCII only here).
fn py_int(s: &str) -> Option<u64> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return None;
    }
    let digits: String = t.chars().filter(|&c| c != '_').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<u64>().unwrap_or(u64::MAX))
}

/// `repr()` of a str, enough for error messages (names are ASCII here).
fn py_repr(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

fn parse_flags(src: &mut Source, state: &mut State, mut ch: char) -> Result<Option<(u32, u32)>, SyntaxError> {
    let mut add = 0;
    let mut del = 0;
    if ch != '-' {
        loop {
            let flag = flag_of(ch).expect("caller checked");
            if ch == 'L' {
                return Err(src.error("bad inline flags: cannot use 'L' flag with a str pattern", 0));
            }
            add |= flag;
            if flag & TYPE_FLAGS != 0 && add & TYPE_FLAGS != flag {
                return Err(src.error("bad inline flags: flags 'a', 'u' and 'L' are incompatible", 0));
            }
            match src.get()? {
                None => return Err(src.error("missing -, : or )", 0)),
                Some(Tok::Char(c)) if ")-:".contains(c) => {
                    ch = c;
                    break;
                }
                Some(Tok::Char(c)) if flag_of(c).is_some() => ch = c,
                Some(t) => {
                    let alpha = matches!(t, Tok::Char(c) if c.is_alphabetic());
                    let n = tok_str(t).chars().count();
                    return Err(src.error(
                        if alpha {
                            "unknown flag"
                        } else {
                            "missing -, : or )"
                        },
                        n,
                    ));
                }
            }
        }
    }
    if ch == ')' {
        state.flags |= add;
        return Ok(None);
    }
    if add & GLOBAL_FLAGS != 0 {
        return Err(src.error("bad inline flags: cannot turn on global flag", 1));
    }
    if ch == '-' {
        match src.get()? {
            None => return Err(src.error("missing flag", 0)),
            Some(Tok::Char(c)) if flag_of(c).is_some() => ch = c,
            Some(t) => {
                let alpha = matches!(t, Tok::Char(c) if c.is_alphabetic());
                let n = tok_str(t).chars().count();
                return Err(src.error(if alpha { "unknown flag" } else { "missing flag" }, n));
            }
        }
        loop {
            let flag = flag_of(ch).expect("checked");
            if flag & TYPE_FLAGS != 0 {
                return Err(src.error("bad inline flags: cannot turn off flags 'a', 'u' and 'L'", 0));
            }
            del |= flag;
            match src.get()? {
                None => return Err(src.error("missing :", 0)),
                Some(Tok::Char(':')) => break,
                Some(Tok::Char(c)) if flag_of(c).is_some() => ch = c,
                Some(t) => {
                    let alpha = matches!(t, Tok::Char(c) if c.is_alphabetic());
                    let n = tok_str(t).chars().count();
                    return Err(src.error(if alpha { "unknown flag" } else { "missing :" }, n));
                }
            }
        }
    }
    if del & GLOBAL_FLAGS != 0 {
        return Err(src.error("bad inline flags: cannot turn off global flag", 1));
    }
    if add & del != 0 {
        return Err(src.error("bad inline flags: flag turned on and off", 1));
    }
    Ok(Some((add, del)))
}

/// A class escape's meaning inside or outside a set.
enum Esc {
    Lit(u32),
    Cat(Category),
    At(At),
    /// `\1` outside a set.
    GroupRef,
}

fn category(e: char) -> Option<Category> {
    Some(match e {
        'd' => Category::Digit,
        'D' => Category::NotDigit,
        's' => Category::Space,
        'S' => Category::NotSpace,
        'w' => Category::Word,
        'W' => Category::NotWord,
        _ => return None,
    })
}

fn simple_escape(e: char) -> Option<u32> {
    Some(match e {
        'a' => 7,
        'b' => 8,
        'f' => 12,
        'n' => 10,
        'r' => 13,
        't' => 9,
        'v' => 11,
        '\\' => 92,
        _ => return None,
    })
}

/// `\x`, `\u`, `\U`, `\N{...}`: shared by `_escape` and `_class_escape`.
fn numeric_escape(src: &mut Source, e: char) -> Result<Option<u32>, SyntaxError> {
    let n = match e {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        'N' => {
            if !src.matches('{')? {
                return Err(src.error("missing {", 0));
            }
            let name = src.getuntil('}', "character name")?;
            let n = name.chars().count() + 4;
            return match super::names::lookup(&name) {
                super::names::Lookup::Found(c) => Ok(Some(c)),
                super::names::Lookup::Undefined => {
                    Err(src.error(format!("undefined character name {}", py_repr(&name)), n))
                }
                super::names::Lookup::Unsure => Err(SyntaxError {
                    unsupported: true,
                    ..src.error(
                        format!("the character name {} (not a canonical Unicode name this build can check against Python's)", py_repr(&name)),
                        n,
                    )
                }),
            };
        }
        _ => return Ok(None),
    };
    let digits = src.getwhile(n, HEXDIGITS)?;
    if digits.len() != n {
        return Err(src.error(format!("incomplete escape \\{e}{digits}"), digits.len() + 2));
    }
    let v = u32::from_str_radix(&digits, 16).expect("hex digits");
    if v > 0x10FFFF {
        return Err(src.error(format!("bad escape \\{e}{digits}"), digits.len() + 2));
    }
    Ok(Some(v))
}

fn class_escape(src: &mut Source, e: char) -> Result<Esc, SyntaxError> {
    if let Some(v) = simple_escape(e) {
        return Ok(Esc::Lit(v));
    }
    if let Some(c) = category(e) {
        return Ok(Esc::Cat(c));
    }
    if let Some(v) = numeric_escape(src, e)? {
        return Ok(Esc::Lit(v));
    }
    if OCTDIGITS.contains(e) {
        let more = src.getwhile(2, OCTDIGITS)?;
        let s = format!("{e}{more}");
        let v = u32::from_str_radix(&s, 8).expect("octal");
        if v > 0o377 {
            return Err(src.error(
                format!("octal escape value \\{s} outside of range 0-0o377"),
                s.len() + 1,
            ));
        }
        return Ok(Esc::Lit(v));
    }
    if DIGITS.contains(e) || e.is_ascii_alphabetic() {
        return Err(src.error(format!("bad escape \\{e}"), 2));
    }
    Ok(Esc::Lit(e as u32))
}

fn escape(src: &mut Source, e: char, state: &mut State, pos: usize) -> Result<Node, SyntaxError> {
    let esc = escape_inner(src, e, state)?;
    Ok(match esc {
        Esc::Lit(v) => Node::Lit(v),
        Esc::Cat(c) => Node::Set {
            negate: false,
            items: vec![Item::Cat(c)],
        },
        Esc::At(a) => Node::At(a),
        Esc::GroupRef => Node::Unsupported {
            what: "a backreference",
            pos,
        },
    })
}

fn escape_inner(src: &mut Source, e: char, state: &mut State) -> Result<Esc, SyntaxError> {
    match e {
        'A' => return Ok(Esc::At(At::BeginningString)),
        'b' => return Ok(Esc::At(At::Boundary)),
        'B' => return Ok(Esc::At(At::NonBoundary)),
        'Z' => return Ok(Esc::At(At::EndString)),
        _ => {}
    }
    if let Some(c) = category(e) {
        return Ok(Esc::Cat(c));
    }
    if let Some(v) = simple_escape(e) {
        return Ok(Esc::Lit(v));
    }
    if let Some(v) = numeric_escape(src, e)? {
        return Ok(Esc::Lit(v));
    }
    if e == '0' {
        let more = src.getwhile(2, OCTDIGITS)?;
        return Ok(Esc::Lit(
            u32::from_str_radix(&format!("0{more}"), 8).expect("octal"),
        ));
    }
    if DIGITS.contains(e) {
        let mut s = e.to_string();
        if let Some(d) = src.next_char_in(DIGITS) {
            src.advance()?;
            s.push(d);
            if OCTDIGITS.contains(e) && OCTDIGITS.contains(d) {
                if let Some(d3) = src.next_char_in(OCTDIGITS) {
                    src.advance()?;
                    s.push(d3);
                    let v = u32::from_str_radix(&s, 8).expect("octal");
                    if v > 0o377 {
                        return Err(src.error(
                            format!("octal escape value \\{s} outside of range 0-0o377"),
                            s.len() + 1,
                        ));
                    }
                    return Ok(Esc::Lit(v));
                }
            }
        }
        let group: usize = s.parse().expect("digits");
        if group < state.groups() {
            if !state.checkgroup(group) {
                return Err(src.error("cannot refer to an open group", s.len() + 1));
            }
            state.checklookbehindgroup(group, src)?;
            return Ok(Esc::GroupRef);
        }
        return Err(src.error(format!("invalid group reference {group}"), s.len()));
    }
    if e.is_ascii_alphabetic() {
        return Err(src.error(format!("bad escape \\{e}"), 2));
    }
    Ok(Esc::Lit(e as u32))
}

fn parse_set(src: &mut Source) -> Result<Node, SyntaxError> {
    let here = src.tell() - 1;
    let negate = src.matches('^')?;
    let mut set: Vec<Item> = Vec::new();
    let unterminated = |src: &Source| src.error("unterminated character set", src.tell() - here);
    loop {
        let Some(this) = src.get()? else {
            return Err(unterminated(src));
        };
        if this == Tok::Char(']') && !set.is_empty() {
            break;
        }
        let code1 = match this {
            Tok::Esc(e) => class_escape(src, e)?,
            Tok::Char(c) => Esc::Lit(c as u32),
        };
        if src.matches('-')? {
            let Some(that) = src.get()? else {
                return Err(unterminated(src));
            };
            if that == Tok::Char(']') {
                set.push(esc_item(code1));
                set.push(Item::Lit('-' as u32));
                break;
            }
            let code2 = match that {
                Tok::Esc(e) => class_escape(src, e)?,
                Tok::Char(c) => Esc::Lit(c as u32),
            };
            let (Esc::Lit(lo), Esc::Lit(hi)) = (&code1, &code2) else {
                let (a, b) = (tok_str(this), tok_str(that));
                let n = a.chars().count() + 1 + b.chars().count();
                return Err(src.error(format!("bad character range {a}-{b}"), n));
            };
            if hi < lo {
                let (a, b) = (tok_str(this), tok_str(that));
                let n = a.chars().count() + 1 + b.chars().count();
                return Err(src.error(format!("bad character range {a}-{b}"), n));
            }
            set.push(Item::Range(*lo, *hi));
        } else {
            set.push(esc_item(code1));
        }
    }
    // `_uniq` does not change the meaning; a lone literal becomes LITERAL / NOT_LITERAL.
    if set.len() == 1 || set.iter().all(|i| *i == set[0]) {
        if let Item::Lit(c) = set[0] {
            return Ok(if negate { Node::NotLit(c) } else { Node::Lit(c) });
        }
    }
    Ok(Node::Set { negate, items: set })
}

fn esc_item(e: Esc) -> Item {
    match e {
        Esc::Lit(c) => Item::Lit(c),
        Esc::Cat(c) => Item::Cat(c),
        Esc::At(_) | Esc::GroupRef => unreachable!("class escapes are literals or categories"),
    }
}
