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
    if text.contains('\u{130}') || text.contains('\u{212A}') {
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

/// Call `f` on every email of `text` (lowercased), in order.
pub fn for_each_email(text: &str, mut f: impl FnMut(&str)) {
    // Most texts hold no '@' at all: one SIMD scan rules them out before any regex work.
    if memchr::memchr(b'@', text.as_bytes()).is_none() {
        return;
    }
    let t = lower_for_ascii_matching(text);
    let mut buf = String::new();
    for m in email_regex().find_iter(&t) {
        buf.clear();
        buf.extend(m.as_str().chars().map(|c| c.to_ascii_lowercase()));
        f(&buf);
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
}
