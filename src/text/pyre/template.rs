//! `re.sub`'s replacement templates: a transcription of `re/_parser.py`'s `parse_template`
//! (3.11) and `expand_template`, so `\1`, `\g<name>`, `\g<0>`, octal and the escapes mean
//! what they mean in Python, and what Python rejects is rejected here with its message.

use super::parse::{Source, SyntaxError, Tok, DIGITS, OCTDIGITS};

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

/// Parse `src` for a pattern with `groups` groups whose names `index_of` resolves.
/// Errors are Python's `re.error` (and its `IndexError` for an unknown group name, which the
/// library reports the same way); a group name Python accepts only through `int()`'s
/// leniency (`\g<+1>`, `\g< 1>`, non-ASCII digits; deprecated since 3.12) is refused.
pub fn parse_template(
    src: &str,
    groups: usize,
    index_of: impl Fn(&str) -> Option<usize>,
) -> Result<Template, SyntaxError> {
    let mut s = Source::new(src)?;
    let mut parts = Vec::new();
    let mut literal = String::new();
    let add_group =
        |index: u64, pos_offset: usize, s: &Source, literal: &mut String, parts: &mut Vec<Part>| {
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
        let c = match this {
            Tok::Char(c) => {
                literal.push(c);
                continue;
            }
            Tok::Esc(c) => c,
        };
        if c == 'g' {
            if !s.next_is('<') {
                return Err(s.error("missing <", 0));
            }
            s.advance()?;
            let name = s.getuntil('>', "group name")?;
            let name_len = name.chars().count();
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
                match s.next_char_in(OCTDIGITS) {
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
            if let Some(d) = s.next_char_in(DIGITS) {
                s.advance()?;
                digits.push(d);
                if OCTDIGITS.contains(c) && OCTDIGITS.contains(d) {
                    if let Some(e) = s.next_char_in(OCTDIGITS) {
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
