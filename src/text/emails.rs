//! `extract_emails`: Python's `EMAIL_RE.findall(text.lower())` with
//! `EMAIL_RE = [a-z0-9\.\-+_]+@[a-z0-9\.\-+_]+\.[a-z]+`.
//!
//! Lowering the whole text costs a copy; the pattern only ever matches ASCII, so we match
//! ASCII case-insensitively on the original text and lowercase the match instead. That is
//! exact except for the two non-ASCII characters whose `str.lower()` contains ASCII:
//! U+0130 (→ "i\u0307") and U+212A KELVIN SIGN (→ "k"). A text holding either is lowered
//! first, exactly as Python would, for those two. (Unicode case-insensitive matching would
//! be wrong the other way: it lets `ſ` U+017F match `s`.)

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

use super::results::StringTable;

fn email_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i-u:[a-z0-9.\-+_]+@[a-z0-9.\-+_]+\.[a-z]+)").expect("built-in pattern"))
}

/// The part of Python's `str.lower()` that the email pattern can see.
fn lower_for_ascii_matching(text: &str) -> Cow<'_, str> {
    // memchr's memmem (SIMD, prefiltered on the needle's rarest byte) rather than
    // `str::contains(char)`, which runs memchr on the last byte of the character's
    // encoding: 0xB0 and 0xAA are continuation bytes that CJK text is full of.
    static FINDERS: OnceLock<[memchr::memmem::Finder<'static>; 2]> = OnceLock::new();
    let [dotted_i, kelvin] = FINDERS.get_or_init(|| {
        [
            memchr::memmem::Finder::new("\u{130}".as_bytes()),
            memchr::memmem::Finder::new("\u{212A}".as_bytes()),
        ]
    });
    if dotted_i.find(text.as_bytes()).is_some() || kelvin.find(text.as_bytes()).is_some() {
        Cow::Owned(text.replace('\u{130}', "i\u{307}").replace('\u{212A}', "k"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Append the emails of `text` (lowercased) to `out`; returns how many.
pub fn extract_into(text: &str, out: &mut StringTable) -> usize {
    let mut n = 0;
    for_each_email(text, |e| {
        out.push(e);
        n += 1;
    });
    n
}

/// The regex path `for_each_email` replaced: its reference in tests, and the "before" of
/// the stage profile (`report::stages`).
pub(crate) fn for_each_email_regex(text: &str, mut f: impl FnMut(&str)) {
    let t = lower_for_ascii_matching(text);
    let mut buf = String::new();
    for m in email_regex().find_iter(&t) {
        buf.clear();
        buf.extend(m.as_str().chars().map(|c| c.to_ascii_lowercase()));
        f(&buf);
    }
}

/// `[a-z0-9.\-+_]` matched ASCII-case-insensitively (the pattern's local and domain
/// characters); never true of a byte of a non-ASCII character.
#[inline(always)]
fn is_email_char(c: u8) -> bool {
    EMAIL_CHARS[c as usize]
}

/// [`is_email_char`] as a table: one load per byte. The comparisons (digit? letter? one of
/// `.-+_`?) were a branch each, and in local parts that mix letters and digits at random
/// (`u91b72265b1f5@…`, handles, generated ids) which branch is taken is not predictable:
/// the scan of such emails cost twice that of all-digit ones (issue 9 profile).
static EMAIL_CHARS: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'_');
        c += 1;
    }
    t
};

/// Call `f` on every email of `text` (lowercased), in order.
///
/// Anchored on '@' (memchr) instead of a regex: a match holds exactly one '@' (it is not
/// a pattern character), so the leftmost match is at the first '@' that has a pattern
/// character before it (at or after the end of the previous match: the local part is
/// that run, cut there) and a domain after it. The domain is what greedy
/// `[...]+\.[a-z]+` backtracks to: the pattern characters after the '@', up to the
/// rightmost '.' that has one before it and a letter after it, then the letters after
/// that '.'. All pattern characters are ASCII, so the scan is over bytes.
/// `EMAIL_RE.find_iter` (the regex this replaced) is the tests' reference.
pub fn for_each_email(text: &str, mut f: impl FnMut(&str)) {
    // Most texts hold no '@' at all: one SIMD scan rules them out.
    if memchr::memchr(b'@', text.as_bytes()).is_none() {
        return;
    }
    let t = lower_for_ascii_matching(text);
    let b = t.as_bytes();
    let n = b.len();
    let mut buf = String::new();
    let mut floor = 0;
    for at in memchr::memchr_iter(b'@', b) {
        if at < floor {
            continue;
        }
        let mut start = at;
        while start > floor && is_email_char(b[start - 1]) {
            start -= 1;
        }
        if start == at {
            continue;
        }
        let mut run_end = at + 1;
        while run_end < n && is_email_char(b[run_end]) {
            run_end += 1;
        }
        // The rightmost '.' at p with at + 1 < p and a letter at p + 1 < run_end.
        let Some(dot) = (at + 2..run_end.saturating_sub(1))
            .rev()
            .find(|&p| b[p] == b'.' && b[p + 1].is_ascii_alphabetic())
        else {
            continue;
        };
        let mut end = dot + 1;
        while end < run_end && b[end].is_ascii_alphabetic() {
            end += 1;
        }
        // ASCII bytes only: start..end holds pattern characters (so `t[start..end]` is on
        // character boundaries). Most emails are lowercase already: handed over borrowed,
        // without a copy.
        let m = &t[start..end];
        if m.bytes().any(|c| c.is_ascii_uppercase()) {
            buf.clear();
            buf.push_str(m);
            buf.make_ascii_lowercase();
            f(&buf);
        } else {
            f(m);
        }
        floor = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails(t: &str) -> Vec<String> {
        let mut out = StringTable::default();
        extract_into(t, &mut out);
        out.iter().map(String::from).collect()
    }

    #[test]
    fn like_python() {
        assert_eq!(
            emails("Mail Bob.Smith+x@Example.COM, or 联系 li@163.com。"),
            ["bob.smith+x@example.com", "li@163.com"]
        );
        assert_eq!(emails("\u{212A}im@x.org"), ["kim@x.org"]);
        assert_eq!(emails("a\u{130}b@x.org"), ["b@x.org"]);
        assert_eq!(emails("\u{17F}am@x.org"), ["am@x.org"]);
        assert_eq!(emails("a@b.c.d@e.fg"), ["a@b.c.d"]);
        assert_eq!(emails("no at here."), Vec::<String>::new());
    }

    /// The '@'-anchored scanner against the regex it replaced, on random texts over every
    /// character class the pattern distinguishes (and the two lowering exceptions).
    #[test]
    fn anchored_scan_equals_the_regex() {
        const ALPHABET: &[&str] = &[
            "a", "Z", "q", "0", "9", ".", "..", "-", "+", "_", "@", "@@", " ", ",", "\u{130}", "\u{212A}",
            "\u{17F}", "价", "😀", "com", ".org", "x@y.z", "\u{e9}",
        ];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..100_000 {
            let len = (next() % 30) as usize;
            let t: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let lowered = lower_for_ascii_matching(&t);
            let want: Vec<String> = email_regex()
                .find_iter(&lowered)
                .map(|m| m.as_str().to_ascii_lowercase())
                .collect();
            assert_eq!(emails(&t), want, "text {t:?}");
        }
    }
}
