//! Python `re`'s `\w`, `\d`, `\s` (str patterns), which are not Unicode's or the regex crate's.
//!
//! The differences are real and common enough to matter: Python's `\w` is `isalnum() or '_'`,
//! so it takes superscripts and fractions (`²`, `½`) but not combining marks (U+0301) or
//! connector punctuation other than `_` (U+203F); Python's `\s` takes the separators
//! U+001C..U+001F. The tables are generated from Python itself (tools/gen_unicode_tables.py).

use std::sync::OnceLock;

use super::unicode_tables::{PY_DIGIT, PY_SPACE, PY_WORD};

/// Class flags, as [`PyClasses::flags`] returns them.
pub(crate) const WORD: u8 = 1;
pub(crate) const SPACE: u8 = 2;
pub(crate) const DIGIT: u8 = 4;

/// Code points below this have their flags in [`low_table`]: the BMP and plane 1.
const TABLE_END: u32 = 0x2_0000;

/// Class flags for every code point of the BMP and of plane 1 (128 KiB, built once).
/// Plane 1 is in the table because emoji are there: social-media text is full of them,
/// and each one was a candidate lead byte (0xF0) for the kv scan's non-ASCII digits,
/// decided by two binary searches (`astral_flags`, 2 % of the report's per-document path
/// on issue 8's corpus).
fn low_table() -> &'static [u8; TABLE_END as usize] {
    static TABLE: OnceLock<Box<[u8; TABLE_END as usize]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t: Box<[u8; TABLE_END as usize]> = vec![0u8; TABLE_END as usize]
            .into_boxed_slice()
            .try_into()
            .expect("the table's length");
        let mut mark = |ranges: &mut dyn Iterator<Item = (u32, u32)>, flag: u8| {
            for (lo, hi) in ranges {
                for cp in lo..=hi.min(TABLE_END - 1) {
                    t[cp as usize] |= flag;
                }
            }
        };
        mark(&mut PY_WORD.iter().copied(), WORD);
        mark(&mut PY_SPACE.iter().copied(), SPACE);
        mark(&mut PY_DIGIT.iter().map(|&(a, b, _)| (a, b)), DIGIT);
        t
    })
}

fn in_ranges(ranges: &[(u32, u32)], cp: u32) -> bool {
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// [`PyClasses::flags`] past plane 1 (binary searches of the generated tables).
#[cold]
#[inline(never)]
fn astral_flags(c: char) -> u8 {
    let mut f = 0;
    if in_ranges(PY_WORD, c as u32) {
        f |= WORD;
    }
    if digit_value(c).is_some() {
        f |= DIGIT;
    }
    f // no astral whitespace exists
}

/// Looks up the class of a character; cheap to copy, holds the BMP table.
#[derive(Clone, Copy)]
pub struct PyClasses {
    low: &'static [u8; TABLE_END as usize],
}

impl Default for PyClasses {
    fn default() -> Self {
        Self::new()
    }
}

impl PyClasses {
    pub fn new() -> PyClasses {
        PyClasses { low: low_table() }
    }

    /// `WORD | SPACE | DIGIT` bits of `c`. The table lookup (BMP and plane 1) is inlined
    /// into the scanners' loops (a call per CJK character was a tenth of the kv scan's
    /// instructions); the table searches for the other planes are not.
    #[inline(always)]
    pub(crate) fn flags(&self, c: char) -> u8 {
        let cp = c as u32;
        if cp < TABLE_END {
            self.low[cp as usize]
        } else {
            astral_flags(c)
        }
    }

    // The kernels read `flags` directly; these two name the classes for the tests.
    #[cfg(test)]
    pub fn is_word(&self, c: char) -> bool {
        self.flags(c) & WORD != 0
    }
    #[inline]
    pub fn is_space(&self, c: char) -> bool {
        self.flags(c) & SPACE != 0
    }
    #[cfg(test)]
    pub fn is_digit(&self, c: char) -> bool {
        self.flags(c) & DIGIT != 0
    }
}

/// The decimal value Python's `int()` gives a `\d` character.
#[inline]
pub fn digit_value(c: char) -> Option<u8> {
    let cp = c as u32;
    if c.is_ascii_digit() {
        return Some((cp - b'0' as u32) as u8);
    }
    let i = PY_DIGIT.partition_point(|&(_, hi, _)| hi < cp);
    match PY_DIGIT.get(i) {
        Some(&(lo, _, zero)) if lo <= cp => Some((cp - zero) as u8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_differs_from_unicode_here() {
        let c = PyClasses::new();
        assert!(c.is_word('²') && c.is_word('½') && c.is_word('_') && c.is_word('中'));
        assert!(!c.is_word('\u{301}') && !c.is_word('\u{203F}') && !c.is_word('\u{200D}'));
        assert!(c.is_space('\x1c') && c.is_space('\x1f') && c.is_space('\u{3000}'));
        assert!(!c.is_space('\u{200B}'));
        assert!(c.is_digit('٣') && !c.is_digit('²') && c.is_word('٣'));
        assert!(c.is_digit('\u{1D7CE}') && c.is_word('\u{1D7CE}')); // mathematical bold zero
    }

    /// The table (BMP and plane 1) says what the searches say, for every code point of
    /// plane 1 (emoji, astral letters and digits, unassigned) and the edges of the BMP.
    #[test]
    fn table_equals_the_searches() {
        let c = PyClasses::new();
        for cp in (0..0x800)
            .chain(0xF000..TABLE_END)
            .chain(TABLE_END..TABLE_END + 0x1000)
        {
            if let Some(ch) = char::from_u32(cp) {
                let mut want = 0;
                if in_ranges(PY_WORD, cp) {
                    want |= WORD;
                }
                if in_ranges(PY_SPACE, cp) {
                    want |= SPACE;
                }
                if digit_value(ch).is_some() {
                    want |= DIGIT;
                }
                assert_eq!(c.flags(ch), want, "U+{cp:04X}");
                if cp >= 0x10000 {
                    assert_eq!(astral_flags(ch), want, "U+{cp:04X}");
                }
            }
        }
        assert!(c.is_digit('\u{1D7D7}') && !c.is_word('\u{1F600}') && c.is_word('\u{20000}'));
    }

    #[test]
    fn digit_values() {
        assert_eq!(digit_value('7'), Some(7));
        assert_eq!(digit_value('٣'), Some(3));
        assert_eq!(digit_value('\u{1D7D7}'), Some(9));
        assert_eq!(digit_value('a'), None);
        assert_eq!(digit_value('²'), None);
    }
}
