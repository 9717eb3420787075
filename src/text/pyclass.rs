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

/// Class flags for every BMP code point (64 KiB, built once).
fn bmp_table() -> &'static [u8; 0x10000] {
    static TABLE: OnceLock<Box<[u8; 0x10000]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Box::new([0u8; 0x10000]);
        let mut mark = |ranges: &mut dyn Iterator<Item = (u32, u32)>, flag: u8| {
            for (lo, hi) in ranges {
                for cp in lo..=hi.min(0xFFFF) {
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

/// [`PyClasses::flags`] outside the BMP (binary searches of the generated tables).
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
    bmp: &'static [u8; 0x10000],
}

impl Default for PyClasses {
    fn default() -> Self {
        Self::new()
    }
}

impl PyClasses {
    pub fn new() -> PyClasses {
        PyClasses { bmp: bmp_table() }
    }

    /// `WORD | SPACE | DIGIT` bits of `c`. The BMP lookup is inlined into the scanners'
    /// loops (a call per CJK character was a tenth of the kv scan's instructions); the
    /// table searches for the other planes are not.
    #[inline(always)]
    pub(crate) fn flags(&self, c: char) -> u8 {
        let cp = c as u32;
        if cp < 0x10000 {
            self.bmp[cp as usize]
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

    #[test]
    fn digit_values() {
        assert_eq!(digit_value('7'), Some(7));
        assert_eq!(digit_value('٣'), Some(3));
        assert_eq!(digit_value('\u{1D7D7}'), Some(9));
        assert_eq!(digit_value('a'), None);
        assert_eq!(digit_value('²'), None);
    }
}
