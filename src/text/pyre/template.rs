//! `re.sub`'s replacement templates: a transcription of `re/_parser.py`'s `parse_template`
//! (3.11) and `expand_template`, so `\1`, `\g<name>`, `\g<0>`, octal and the escapes mean
//! what they mean in Python, and what Python rejects is rejected here with its message.

use super::parse::SyntaxError;

/// Python's `MAXGROUPS` on 64-bit builds (`_sre.MAXGROUPS`).
const MAXGROUPS: u64 = 1_073_741_823;

/// A parsed template: literal text and group references, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    /// Group number (0 = the whole match); a group that did not take part expands to "".
    Group(usize),
}

/// The template's tokens: a character, or a backslash and the character after it
/// (`Tokenizer.__next`), positions in code points.
struct Tokens {
    chars: Vec<char>,
    /// Index of the next token's first char.
    index: usize,
    next: Option<(char, Option<char>)>,
}

impl Tokens {
    fn new(src: &str) -> Result<Tokens, SyntaxError> {
        let mut t = Tokens {
            chars: src.chars().collect(),
            index: 0,
            next: None,
        };
        t.advance()?;
        Ok(t)
    }
    fn advance(&mut self) -> Result<(), SyntaxError> {
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
            self.next = Some(('\\', Some(d)));
            self.index += 2;
        } else {
            self.next = Some((c, None));
            self.index += 1;
        }
        Ok(())
    }
    fn get(&mut self) -> Result<Option<(char, Option<char>)>, SyntaxError> {
        let this = self.next;
        self.advance()?;
        Ok(this)
    }
    fn tell(&self) -> usize {
        self.index - self.next.map_or(0, |(_, d)| 1 + d.is_some() as usize)
    }
    fn error(&self, msg: impl Into<String>, offset: usize) -> SyntaxError {
        SyntaxError {
            msg: msg.into(),
            pos: self.tell().saturating_sub(offset),
            unsupported: false,
        }
    }
    /// The next token if it is a plain character among `set`.
    fn next_in(&self, set: &str) -> Option<char> {
        match self.next {
            Some((c, None)) if set.contains(c) => Some(c),
            _ => None,
        }
    }
}

const DIGITS: &str = "0123456789";
const OCTDIGITS: &str = "01234567";

fn push_tok(s: &mut String, (c, d): (char, Option<char>)) {
    s.push(c);
    if let Some(d) = d {
        s.push(d);
    }
}

/// Parse `src` for a pattern with `groups` groups whose names `index_of` resolves.
/// Errors are Python's `re.error` (and its `IndexError` for an unknown group name, which the
/// library reports the same way); a group name Python accepts only through `int()`'s
/// leniency (`\g<+1>`, `\g< 1>`, non-ASCII digits; deprecated since 3.12) is refused.
pub fn parse_template(
    src: &str,
    groups: usize,
    index_of: impl Fn(&str) -> Option<usize>,
) -> Result<Template, SyntaxError> {
    let mut s = Tokens::new(src)?;
    let mut parts = Vec::new();
    let mut literal = String::new();
    let add_group =
        |index: u64, pos_offset: usize, s: &Tokens, literal: &mut String, parts: &mut Vec<Part>| {
            if index > groups as u64 {
                return Err(s.error(format!("invalid group reference {index}"), pos_offset));
            }
            if !literal.is_empty() {
                parts.push(Part::Lit(std::mem::take(literal)));
            }
            parts.push(Part::Group(index as usize));
            Ok(())
        };
    while let Some(this) = s.get()? {
        let (first, Some(c)) = this else {
            literal.push(this.0);
            continue;
        };
        debug_assert_eq!(first, '\\');
        if c == 'g' {
            if s.next != Some(('<', None)) {
                return Err(s.error("missing <", 0));
            }
            s.advance()?;
            // Tokenizer.getuntil(">", "group name")
            let mut name = String::new();
            let mut name_len = 0; // in tokens' characters, as len(name)
            loop {
                let tok = s.next;
                s.advance()?;
                match tok {
                    None if name.is_empty() => return Err(s.error("missing group name", 0)),
                    None => return Err(s.error("missing >, unterminated name", name_len)),
                    Some(('>', None)) if name.is_empty() => return Err(s.error("missing group name", 1)),
                    Some(('>', None)) => break,
                    Some(t) => {
                        push_tok(&mut name, t);
                        name_len += 1 + t.1.is_some() as usize;
                    }
                }
            }
            let index = if !name.is_ascii() {
                return Err(SyntaxError {
                    msg: "a non-ASCII group name in a replacement template".into(),
                    pos: s.tell() - name_len - 1,
                    unsupported: true,
                });
            } else if is_identifier(&name) {
                match index_of(&name) {
                    Some(i) => i as u64,
                    // Python raises IndexError here, not re.error.
                    None => return Err(s.error(format!("unknown group name '{name}'"), name_len + 1)),
                }
            } else if name.bytes().all(|b| b.is_ascii_digit()) {
                let i = name.parse::<u64>().unwrap_or(u64::MAX);
                if i >= MAXGROUPS {
                    return Err(s.error(format!("invalid group reference {i}"), name_len + 1));
                }
                i
            } else if name.bytes().any(|b| b.is_ascii_digit())
                && name
                    .bytes()
                    .all(|b| b"0123456789+-_ \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f".contains(&b))
            {
                // int() may take it ("+1", " 1", "1_0", "-0"): Python accepts it with a
                // DeprecationWarning; not worth reproducing int()'s rules for.
                return Err(SyntaxError {
                    msg: format!(
                        "group reference '{name}' that is not plain ASCII digits in a replacement template"
                    ),
                    pos: s.tell() - name_len - 1,
                    unsupported: true,
                });
            } else {
                return Err(s.error(format!("bad character in group name '{name}'"), name_len + 1));
            };
            add_group(index, name_len + 1, &s, &mut literal, &mut parts)?;
        } else if c == '0' {
            let mut v = 0u32;
            for _ in 0..2 {
                match s.next_in(OCTDIGITS) {
                    Some(d) => {
                        v = v * 8 + d.to_digit(8).expect("octal digit");
                        s.advance()?;
                    }
                    None => break,
                }
            }
            literal.push(char::from_u32(v & 0xff).expect("a byte is a char"));
        } else if DIGITS.contains(c) {
            let mut digits = String::from(c);
            let mut isoctal = false;
            if let Some(d) = s.next_in(DIGITS) {
                s.advance()?;
                digits.push(d);
                if OCTDIGITS.contains(c) && OCTDIGITS.contains(d) {
                    if let Some(e) = s.next_in(OCTDIGITS) {
                        s.advance()?;
                        digits.push(e);
                        isoctal = true;
                        let v = u32::from_str_radix(&digits, 8).expect("octal digits");
                        if v > 0o377 {
                            return Err(s.error(
                                format!("octal escape value \\{digits} outside of range 0-0o377"),
                                digits.len() + 1,
                            ));
                        }
                        literal.push(char::from_u32(v).expect("a byte is a char"));
                    }
                }
            }
            if !isoctal {
                let index = digits.parse::<u64>().expect("one or two digits");
                add_group(index, digits.len(), &s, &mut literal, &mut parts)?;
            }
        } else {
            let esc = match c {
                'a' => Some('\x07'),
                'b' => Some('\x08'),
                'f' => Some('\x0c'),
                'n' => Some('\n'),
                'r' => Some('\r'),
                't' => Some('\t'),
                'v' => Some('\x0b'),
                '\\' => Some('\\'),
                _ => None,
            };
            match esc {
                Some(e) => literal.push(e),
                None if c.is_ascii_alphabetic() => return Err(s.error(format!("bad escape \\{c}"), 2)),
                None => {
                    literal.push('\\');
                    literal.push(c);
                }
            }
        }
    }
    if !literal.is_empty() {
        parts.push(Part::Lit(literal));
    }
    Ok(Template { parts })
}

fn is_identifier(name: &str) -> bool {
    let mut cs = name.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Template {
    /// `expand_template`: append the replacement for one match to `out`; `group(g)` gives
    /// group g's text, `None` for a group that did not take part (it expands to "").
    pub fn expand<'t>(&self, out: &mut String, group: impl Fn(usize) -> Option<&'t str>) {
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Group(g) => out.push_str(group(*g).unwrap_or("")),
            }
        }
    }

    /// Whether the template is one literal (or empty): no match's text is needed.
    pub fn literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Lit(s)] => Some(s),
            _ => None,
        }
    }
}
