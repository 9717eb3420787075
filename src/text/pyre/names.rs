//! `\N{...}` in a pattern: Python's `unicodedata.lookup`, through the `unicode_names2` crate
//! (the Unicode name tables, well kept, compact; writing them by hand would be 500 KB of
//! data). Python's lookup is stricter than the crate's loose matching (UAX44-LM2 ignores
//! spaces, hyphens and underscores) and follows Python's Unicode version, so a name is
//! accepted only when it is exactly the character's canonical name up to case and the
//! character is assigned in Python's database; an alias or anything else the crate knows
//! is refused rather than guessed, and a name it does not know is undefined for Python too
//! only if it is not a loose spelling the crate would accept.

use super::case_tables::PY_ASSIGNED;

pub enum Lookup {
    Found(u32),
    /// Python raises "undefined character name".
    Undefined,
    /// Python's answer cannot be decided here: refuse the pattern.
    Unsure,
}

fn assigned(cp: u32) -> bool {
    let i = PY_ASSIGNED.partition_point(|&(_, hi)| hi < cp);
    PY_ASSIGNED.get(i).is_some_and(|&(lo, _)| lo <= cp)
}

pub fn lookup(name: &str) -> Lookup {
    // Python compares names case-insensitively, ASCII only; a name outside ASCII names nothing.
    if !name.is_ascii() {
        return Lookup::Undefined;
    }
    let upper = name.to_ascii_uppercase();
    match unicode_names2::character(&upper) {
        Some(c) => {
            let canonical = unicode_names2::name(c).map(|n| n.to_string());
            if canonical.as_deref() == Some(upper.as_str()) && assigned(c as u32) {
                Lookup::Found(c as u32)
            } else {
                Lookup::Unsure
            }
        }
        // The crate's tables are a newer Unicode than Python's: a name it does not know
        // (with its loose matching) is not a Python name either, except for aliases the crate
        // might lack, which are all-caps words: those are refused.
        None => Lookup::Undefined,
    }
}
