//! Integers the way Python's `int()` reads them and `+` adds them: any Unicode decimal digit,
//! any size. Values that fit in i64 stay machine integers; larger ones become sign-magnitude
//! base-10^18 numbers (addition and decimal printing are all we need).

use std::cmp::Ordering;

use crate::error::{Error, ErrorKind};
// Python's `\d` and `\s` tables live with the other class tables in `text`.
use crate::text::pyclass::{digit_value, PyClasses};

const BASE: u64 = 1_000_000_000_000_000_000; // 10^18
const BASE_DIGITS: usize = 18;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PyInt {
    Small(i64),
    /// Never holds a value that fits in i64; `mag` is little-endian base 10^18, no leading zero limbs.
    Big {
        neg: bool,
        mag: Vec<u64>,
    },
}

/// Why a string is not an int (the text Python would put in its ValueError).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntError {
    Invalid,
    TooManyDigits { digits: usize, limit: usize },
}

impl IntError {
    /// The text of the ValueError Python's `int(literal)` raises.
    pub fn python_message(&self, literal: &str) -> String {
        match self {
            IntError::Invalid => format!("invalid literal for int() with base 10: {}", py_repr(literal)),
            IntError::TooManyDigits { digits, limit } => format!(
                "Exceeds the limit ({limit} digits) for integer string conversion: value has {digits} digits; \
                 use sys.set_int_max_str_digits() to increase the limit"
            ),
        }
    }

    /// The kernel error for `literal` in text `text_index` of a batch (`INVALID_VALUE`,
    /// where the reference's `int()` raises).
    pub fn in_text(&self, literal: &str, text_index: usize) -> Error {
        Error::new(
            ErrorKind::InvalidValue,
            format!("text {text_index}: {}", self.python_message(literal)),
        )
    }

    /// Why a report document holding `literal` is invalid (the report counts it instead
    /// of failing).
    pub fn invalid_document(&self, literal: &str) -> String {
        format!("int() would raise ValueError: {}", self.python_message(literal))
    }
}

/// Python's repr() of a str, close enough for an error message.
fn py_repr(s: &str) -> String {
    let shown: String = if s.chars().count() > 200 {
        s.chars().take(200).chain("...".chars()).collect()
    } else {
        s.to_string()
    };
    format!("'{}'", shown.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn mag_cmp(a: &[u64], b: &[u64]) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.iter().rev().cmp(b.iter().rev()))
}

fn mag_add(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::with_capacity(long.len() + 1);
    let mut carry = 0u64;
    for (i, &l) in long.iter().enumerate() {
        let s = l + short.get(i).copied().unwrap_or(0) + carry;
        out.push(s % BASE);
        carry = s / BASE;
    }
    if carry > 0 {
        out.push(carry);
    }
    out
}

/// a - b for a >= b.
fn mag_sub(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0u64;
    for (i, &ai) in a.iter().enumerate() {
        let bi = b.get(i).copied().unwrap_or(0) + borrow;
        if ai >= bi {
            out.push(ai - bi);
            borrow = 0;
        } else {
            out.push(ai + BASE - bi);
            borrow = 1;
        }
    }
    while out.len() > 1 && *out.last().unwrap() == 0 {
        out.pop();
    }
    out
}

fn mag_of_u128(mut v: u128) -> Vec<u64> {
    let mut out = Vec::new();
    loop {
        out.push((v % BASE as u128) as u64);
        v /= BASE as u128;
        if v == 0 {
            return out;
        }
    }
}

impl PyInt {
    fn from_sign_mag(neg: bool, mag: Vec<u64>) -> PyInt {
        // Fold back to Small when it fits.
        if mag.len() <= 2 {
            let v = mag
                .iter()
                .rev()
                .fold(0u128, |acc, &l| acc * BASE as u128 + l as u128);
            if neg && v <= i64::MAX as u128 + 1 {
                return PyInt::Small((v as i128).wrapping_neg() as i64);
            }
            if !neg && v <= i64::MAX as u128 {
                return PyInt::Small(v as i64);
            }
        }
        PyInt::Big { neg, mag }
    }

    fn sign_mag(&self) -> (bool, Vec<u64>) {
        match self {
            PyInt::Small(v) => (*v < 0, mag_of_u128(v.unsigned_abs() as u128)),
            PyInt::Big { neg, mag } => (*neg, mag.clone()),
        }
    }

    /// Python `int()` of a run of `\d` characters (what `(\d+)` captured). `limit` is
    /// `sys.get_int_max_str_digits()` (0: no limit).
    pub fn from_digits(s: &str, limit: usize) -> Result<PyInt, IntError> {
        // The common case (a short run of ASCII digits, within the limit) without the
        // per-character decode and the digit buffer of the general path: 18 digits always
        // fit in i64. Anything else (non-ASCII digits, longer runs, a limit below the
        // length) takes the general path, which the tests hold this one to.
        let b = s.as_bytes();
        if !b.is_empty() && b.len() <= 18 && (limit == 0 || b.len() <= limit) {
            let mut v = 0u64;
            for &c in b {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    return Self::parse_digits(s.chars(), false, limit);
                }
                v = v * 10 + d as u64;
            }
            return Ok(PyInt::Small(v as i64));
        }
        Self::parse_digits(s.chars(), false, limit)
    }

    fn parse_digits(chars: impl Iterator<Item = char>, neg: bool, limit: usize) -> Result<PyInt, IntError> {
        let mut digits: Vec<u8> = Vec::new();
        let mut small: u64 = 0;
        for c in chars {
            let d = digit_value(c).ok_or(IntError::Invalid)?;
            if digits.len() < 18 {
                small = small * 10 + d as u64;
            }
            digits.push(d);
        }
        if digits.is_empty() {
            return Err(IntError::Invalid);
        }
        if limit > 0 && digits.len() > limit {
            return Err(IntError::TooManyDigits {
                digits: digits.len(),
                limit,
            });
        }
        if digits.len() <= 18 {
            return Ok(PyInt::Small(if neg { -(small as i64) } else { small as i64 }));
        }
        let mut mag = Vec::with_capacity(digits.len() / BASE_DIGITS + 1);
        let mut end = digits.len();
        while end > 0 {
            let start = end.saturating_sub(BASE_DIGITS);
            mag.push(digits[start..end].iter().fold(0u64, |a, &d| a * 10 + d as u64));
            end = start;
        }
        while mag.len() > 1 && *mag.last().unwrap() == 0 {
            mag.pop();
        }
        let zero = mag.len() == 1 && mag[0] == 0;
        Ok(PyInt::from_sign_mag(neg && !zero, mag))
    }

    /// Python `int(s)` for base 10: surrounding whitespace, one sign, digits with single
    /// underscores between them.
    pub fn parse_python(s: &str, limit: usize) -> Result<PyInt, IntError> {
        let cls = PyClasses::new();
        let t = s.trim_matches(|c| cls.is_space(c));
        let (neg, body) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        if body.starts_with('_') || body.ends_with('_') || body.contains("__") {
            return Err(IntError::Invalid);
        }
        Self::parse_digits(body.chars().filter(|&c| c != '_'), neg, limit)
    }

    pub fn add(&self, other: &PyInt) -> PyInt {
        if let (PyInt::Small(a), PyInt::Small(b)) = (self, other) {
            if let Some(s) = a.checked_add(*b) {
                return PyInt::Small(s);
            }
        }
        let (an, am) = self.sign_mag();
        let (bn, bm) = other.sign_mag();
        if an == bn {
            return PyInt::from_sign_mag(an, mag_add(&am, &bm));
        }
        match mag_cmp(&am, &bm) {
            Ordering::Equal => PyInt::Small(0),
            Ordering::Greater => PyInt::from_sign_mag(an, mag_sub(&am, &bm)),
            Ordering::Less => PyInt::from_sign_mag(bn, mag_sub(&bm, &am)),
        }
    }

    pub fn add_assign(&mut self, other: &PyInt) {
        if let (PyInt::Small(a), PyInt::Small(b)) = (&*self, other) {
            if let Some(s) = a.checked_add(*b) {
                *self = PyInt::Small(s);
                return;
            }
        }
        *self = self.add(other);
    }

    /// Decimal text, as Python's `str()` prints it.
    pub fn to_decimal(&self) -> String {
        match self {
            PyInt::Small(v) => v.to_string(),
            PyInt::Big { neg, mag } => {
                let mut s = String::with_capacity(mag.len() * BASE_DIGITS + 1);
                if *neg {
                    s.push('-');
                }
                s.push_str(&mag.last().unwrap().to_string());
                for l in mag.iter().rev().skip(1) {
                    s.push_str(&format!("{l:018}"));
                }
                s
            }
        }
    }
}

/// Python's order of ints (what `sorted()` uses).
impl Ord for PyInt {
    fn cmp(&self, other: &PyInt) -> Ordering {
        match (self, other) {
            (PyInt::Small(x), PyInt::Small(y)) => x.cmp(y),
            // A Big never fits in i64, so its sign decides against a Small.
            (PyInt::Small(_), PyInt::Big { neg, .. }) => {
                if *neg {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (PyInt::Big { neg, .. }, PyInt::Small(_)) => {
                if *neg {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (PyInt::Big { neg: an, mag: am }, PyInt::Big { neg: bn, mag: bm }) => match (an, bn) {
                (false, true) => Ordering::Greater,
                (true, false) => Ordering::Less,
                _ => {
                    let m = mag_cmp(am, bm);
                    if *an {
                        m.reverse()
                    } else {
                        m
                    }
                }
            },
        }
    }
}

impl PartialOrd for PyInt {
    fn partial_cmp(&self, other: &PyInt) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_python() {
        assert_eq!(PyInt::from_digits("0042", 0).unwrap(), PyInt::Small(42));
        assert_eq!(PyInt::from_digits("١٢٣", 0).unwrap(), PyInt::Small(123));
        assert_eq!(PyInt::from_digits("1١۲", 0).unwrap(), PyInt::Small(112));
        let big = "123456789012345678901234567890";
        assert_eq!(PyInt::from_digits(big, 0).unwrap().to_decimal(), big);
        assert_eq!(PyInt::from_digits(&"0".repeat(40), 0).unwrap(), PyInt::Small(0));
        assert!(matches!(
            PyInt::from_digits(&"1".repeat(4301), 4300),
            Err(IntError::TooManyDigits { digits: 4301, .. })
        ));
        assert_eq!(
            PyInt::parse_python(" -1_000\u{3000}", 0).unwrap(),
            PyInt::Small(-1000)
        );
        assert_eq!(PyInt::parse_python("+7", 0).unwrap(), PyInt::Small(7));
        for bad in ["", "-", "1__0", "_1", "1_", "12a", "--1", "²"] {
            assert!(PyInt::parse_python(bad, 0).is_err(), "{bad:?}");
        }
    }

    /// The ASCII fast path of `from_digits` against the general path, at every length
    /// around its 18-digit bound, with limits below, at and above the length, and with a
    /// non-ASCII digit at every position (which must leave the fast path).
    #[test]
    fn from_digits_fast_path_equals_the_general_path() {
        let general = |s: &str, limit| PyInt::parse_digits(s.chars(), false, limit);
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for len in 1..=40usize {
            for _ in 0..50 {
                let ascii: String = (0..len).map(|_| char::from(b'0' + (next() % 10) as u8)).collect();
                let at = (next() as usize) % len;
                let mixed: String = ascii
                    .chars()
                    .enumerate()
                    .map(|(i, c)| if i == at { '\u{0663}' } else { c })
                    .collect();
                for s in [
                    ascii.as_str(),
                    mixed.as_str(),
                    "9".repeat(len).as_str(),
                    "0".repeat(len).as_str(),
                ] {
                    for limit in [0, 1, len.saturating_sub(1), len, len + 1, 4300] {
                        assert_eq!(
                            PyInt::from_digits(s, limit),
                            general(s, limit),
                            "{s:?} limit {limit}"
                        );
                    }
                }
            }
        }
        assert_eq!(PyInt::from_digits("", 0), Err(IntError::Invalid));
        assert_eq!(PyInt::from_digits("12a", 0), Err(IntError::Invalid));
        assert_eq!(PyInt::from_digits("1 2", 0), Err(IntError::Invalid));
    }

    #[test]
    fn adds_past_64_bits_and_back() {
        let mut s = PyInt::Small(i64::MAX);
        s.add_assign(&PyInt::Small(1));
        assert_eq!(s.to_decimal(), "9223372036854775808");
        assert!(matches!(s, PyInt::Big { .. }));
        s.add_assign(&PyInt::Small(-2));
        assert_eq!(s, PyInt::Small(i64::MAX - 1));
        let mut m = PyInt::Small(i64::MIN);
        m.add_assign(&PyInt::Small(-1));
        assert_eq!(m.to_decimal(), "-9223372036854775809");
        let a = PyInt::parse_python("999999999999999999999999999999999999", 0).unwrap();
        assert_eq!(
            a.add(&PyInt::Small(1)).to_decimal(),
            "1000000000000000000000000000000000000"
        );
        let b = PyInt::parse_python("-1000000000000000000000000000000000000", 0).unwrap();
        assert_eq!(a.add(&b), PyInt::Small(-1));
    }

    #[test]
    fn orders_like_python() {
        let big = |s: &str| PyInt::parse_python(s, 0).unwrap();
        let mut v = [
            big("99999999999999999999"),
            PyInt::Small(-5),
            big("-99999999999999999999"),
            PyInt::Small(7),
            big("-100000000000000000000"),
            big("100000000000000000000"),
            PyInt::Small(0),
        ];
        v.sort();
        let got: Vec<String> = v.iter().map(PyInt::to_decimal).collect();
        assert_eq!(
            got,
            [
                "-100000000000000000000",
                "-99999999999999999999",
                "-5",
                "0",
                "7",
                "99999999999999999999",
                "100000000000000000000"
            ]
        );
    }

    #[test]
    fn error_messages() {
        let e = PyInt::from_digits("x", 0).unwrap_err();
        assert_eq!(e.in_text("x", 4).kind, ErrorKind::InvalidValue);
        assert_eq!(
            e.in_text("x", 4).message,
            "text 4: invalid literal for int() with base 10: 'x'"
        );
        assert_eq!(
            e.invalid_document("x"),
            "int() would raise ValueError: invalid literal for int() with base 10: 'x'"
        );
    }
}
