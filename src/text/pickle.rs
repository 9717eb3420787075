//! Per-text results as a pickle stream (protocol 4 opcodes, no globals), so a Python caller
//! builds all of a batch's result objects with one `pickle.loads`: the unpickler makes each
//! list, dict and str in C, with no Python-level step per text. On millions of log lines,
//! most with no result, making the per-text objects is the whole conversion; building them
//! from Python (one list copy per text, then the non-empty ones placed by index) cost
//! several times the unpickler's loop (issue 15).
//!
//! The stream uses only MARK, EMPTY_LIST/APPEND/APPENDS/LIST, EMPTY_DICT/SETITEMS,
//! TUPLE, unicode and integer opcodes, and MEMOIZE/BINGET/LONG_BINGET for repeated dict
//! keys: it can only make builtin containers, strs and ints.

use super::results::{KeySums, Matches, StringTable};
use crate::error::{Error, ErrorKind, Result};
use crate::shared::hash::{FxHashMap, ShortKey};

const PROTO4: &[u8] = b"\x80\x04";
const MARK: u8 = b'(';
const STOP: u8 = b'.';
const EMPTY_LIST: u8 = b']';
const APPEND: u8 = b'a';
const APPENDS: u8 = b'e';
const LIST: u8 = b'l';
const EMPTY_DICT: u8 = b'}';
const SETITEM: u8 = b's';
const SETITEMS: u8 = b'u';
const TUPLE: u8 = b't';
const SHORT_BINUNICODE: u8 = 0x8c;
const BINUNICODE8: u8 = 0x8d;
const BININT1: u8 = b'K';
const BININT2: u8 = b'M';
const BININT: u8 = b'J';
const LONG1: u8 = 0x8a;
const MEMOIZE: u8 = 0x94;
const BINGET: u8 = b'h';
const LONG_BINGET: u8 = b'j';

/// Distinct keys a key-sums stream memoizes at most (the unpickler's memo holds them for
/// the whole load); keys past that are written in full at each occurrence.
const MEMO_KEYS: usize = 1 << 16;

/// Where the stream goes: a byte count (first pass, the size) or a buffer of that size.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
    #[inline]
    fn op(&mut self, op: u8) {
        self.put(&[op]);
    }
    #[inline]
    fn str(&mut self, s: &[u8]) {
        if s.len() < 256 {
            self.put(&[SHORT_BINUNICODE, s.len() as u8]);
        } else {
            self.op(BINUNICODE8);
            self.put(&(s.len() as u64).to_le_bytes());
        }
        self.put(s);
    }
    #[inline]
    fn int(&mut self, v: i64) {
        if (0..256).contains(&v) {
            self.put(&[BININT1, v as u8]);
        } else if (0..65536).contains(&v) {
            self.op(BININT2);
            self.put(&(v as u16).to_le_bytes());
        } else if let Ok(v) = i32::try_from(v) {
            self.op(BININT);
            self.put(&v.to_le_bytes());
        } else {
            // LONG1: n little-endian two's complement bytes (8 is never too few for i64).
            self.put(&[LONG1, 8]);
            self.put(&v.to_le_bytes());
        }
    }
}

struct Count(usize);
impl Sink for Count {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

struct Write<'a> {
    out: &'a mut [u8],
    pos: usize,
}
impl Sink for Write<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        // In bounds: the buffer holds at least the size the counting pass found, or the
        // stream's upper bound (`matches_bound`, `key_sums_bound`).
        self.out[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }
}

#[inline]
fn field(t: &StringTable, i: usize) -> &[u8] {
    &t.data[t.offsets[i] as usize..t.offsets[i + 1] as usize]
}

fn emit_matches(m: &Matches, tuples: bool, s: &mut impl Sink) {
    let k = m.fields_per_match.max(1);
    let one_field = k == 1 || !tuples;
    s.put(PROTO4);
    s.op(MARK);
    for w in m.text_offsets.0.windows(2) {
        let (a, b) = (w[0] as usize, w[1] as usize);
        s.op(EMPTY_LIST);
        if a == b {
            continue;
        }
        // Items this list gets: a flattened multi-field match adds one per field.
        let items = if one_field { (b - a) * k } else { b - a };
        if items > 1 {
            s.op(MARK);
        }
        for j in a..b {
            // Without `tuples` a multi-field match is flattened, as the view reads; with
            // them each match is a tuple of its fields.
            if !one_field {
                s.op(MARK);
            }
            for f in j * k..(j + 1) * k {
                s.str(field(&m.fields, f));
            }
            if !one_field {
                s.op(TUPLE);
            }
        }
        s.op(if items > 1 { APPENDS } else { APPEND });
    }
    s.op(LIST);
    s.op(STOP);
}

fn emit_key_sums(r: &KeySums, s: &mut impl Sink) {
    // Keys repeat across texts (a few names over millions of pairs): each distinct key is
    // written once and memoized, later occurrences are a memo get, so the unpickler makes
    // one str per distinct key and shares it (as `_strings(unique=True)` does on the view
    // path) instead of decoding every occurrence. Both passes (count, write) see the keys
    // in the same order, so they agree on the stream.
    let mut memo: FxHashMap<ShortKey<'_>, u32> = FxHashMap::default();
    s.put(PROTO4);
    s.op(MARK);
    for w in r.text_offsets.0.windows(2) {
        let (a, b) = (w[0] as usize, w[1] as usize);
        s.op(EMPTY_DICT);
        if a == b {
            continue;
        }
        if b - a > 1 {
            s.op(MARK);
        }
        for e in a..b {
            let key = field(&r.keys, e);
            match memo.get(&ShortKey(key)) {
                Some(&i) if i < 256 => s.put(&[BINGET, i as u8]),
                Some(&i) => {
                    s.op(LONG_BINGET);
                    s.put(&i.to_le_bytes());
                }
                None => {
                    s.str(key);
                    if memo.len() < MEMO_KEYS {
                        // The unpickler numbers memo entries in the order they come.
                        memo.insert(ShortKey(key), memo.len() as u32);
                        s.op(MEMOIZE);
                    }
                }
            }
            s.int(r.values[e]);
        }
        s.op(if b - a > 1 { SETITEMS } else { SETITEM });
    }
    s.op(LIST);
    s.op(STOP);
}

/// A size that always holds the stream of [`pickle_matches`] (exact size or more): 5 bytes
/// of frame (PROTO, MARK, LIST, STOP), 3 per text (EMPTY_LIST, and MARK ... APPENDS), 2 per
/// match (MARK ... TUPLE), 9 per field (BINUNICODE8 and its length) and the fields' bytes.
/// A caller that knows these counts (`FkMatchesView`) sizes its buffer once from it, and
/// the stream is written in one pass (see [`pickle_matches`]).
pub fn matches_bound(m: &Matches) -> usize {
    let n_texts = m.text_offsets.0.len().saturating_sub(1);
    let n_fields = m.fields.offsets.len().saturating_sub(1);
    let n_matches = n_fields / m.fields_per_match.max(1);
    5 + 3 * n_texts + 2 * n_matches + 9 * n_fields + m.fields.data.len()
}

/// As [`matches_bound`] for [`pickle_key_sums`]: 5 + 3 per text + 20 per entry (a key:
/// BINUNICODE8 + length + MEMOIZE, or a memo get of at most 5 bytes; a value: LONG1 of 8
/// bytes at most, 10) + the keys' bytes.
pub fn key_sums_bound(r: &KeySums) -> usize {
    let n_texts = r.text_offsets.0.len().saturating_sub(1);
    5 + 3 * n_texts + 20 * r.values.len() + r.keys.data.len()
}

/// The per-text results of `m` (`re.findall` lists: strs, or tuples of strs when `tuples`
/// and a match has several fields) as a pickle stream into `out`. Returns the stream's
/// size; when `out` is shorter nothing is written (call again with that size). With `out`
/// at least [`matches_bound`] long the stream is written in one pass, without the
/// counting pass (which emitted the whole stream once more only to size it).
pub fn pickle_matches(m: &Matches, tuples: bool, out: &mut [u8]) -> usize {
    write_sized(
        out,
        matches_bound(m),
        |c| emit_matches(m, tuples, c),
        |w| emit_matches(m, tuples, w),
    )
}

/// The per-text dicts of `r` as a pickle stream into `out`, as [`pickle_matches`] (one
/// pass from [`key_sums_bound`] bytes). Sums past i64 are not written (the caller reads
/// them from the view): an error when there are any.
pub fn pickle_key_sums(r: &KeySums, out: &mut [u8]) -> Result<usize> {
    if !r.big_index.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            "the result holds sums past 64 bits: read them through the view",
        ));
    }
    Ok(write_sized(
        out,
        key_sums_bound(r),
        |c| emit_key_sums(r, c),
        |w| emit_key_sums(r, w),
    ))
}

/// The stream of `m` for a binding that builds results with an unpickler, or None where
/// its view builds them faster. The one home of that choice (bindings/python and the
/// background jobs of `ffi::job` ask here): the stream when most texts have no match (log
/// lines: the unpickler makes every empty list in one C loop) or when each match is one
/// str (the stream is written where the call ran, off the binding's thread); not for
/// dense tuples, which the view gives as flat fields to zip (docs/python.md, "Convert").
pub fn matches_stream(m: &Matches, tuples: bool) -> Option<Vec<u8>> {
    let n_texts = m.text_offsets.0.len().saturating_sub(1);
    let n_matches = m.fields.offsets.len().saturating_sub(1) / m.fields_per_match.max(1);
    let sparse = n_matches.saturating_mul(8) < n_texts;
    if !(sparse || !tuples || m.fields_per_match <= 1) {
        return None;
    }
    let mut out = vec![0u8; matches_bound(m)];
    let n = pickle_matches(m, tuples, &mut out);
    out.truncate(n);
    Some(out)
}

/// The stream of `r` (as [`matches_stream`]), or None when a sum needs more than 64 bits
/// (the view carries those as decimal text).
pub fn key_sums_stream(r: &KeySums) -> Option<Vec<u8>> {
    let mut out = vec![0u8; key_sums_bound(r)];
    let n = pickle_key_sums(r, &mut out).ok()?;
    out.truncate(n);
    Some(out)
}

/// The sizing rule of both streams, in one place: with `out` at least `bound` long the
/// stream is written in one pass; otherwise a counting pass sizes it, and when `out` is
/// shorter than that nothing is written. Returns the stream's size. (The emitter comes
/// twice, once per sink type, so each pass is monomorphic: no dynamic call per byte run.)
fn write_sized(
    out: &mut [u8],
    bound: usize,
    count: impl FnOnce(&mut Count),
    write: impl FnOnce(&mut Write<'_>),
) -> usize {
    if out.len() < bound {
        let mut c = Count(0);
        count(&mut c);
        if out.len() < c.0 {
            return c.0; // nothing written
        }
    }
    let mut w = Write { out, pos: 0 };
    write(&mut w);
    w.pos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_for_empty_single_and_several_results() {
        let mut m = Matches {
            fields_per_match: 1,
            ..Default::default()
        };
        m.text_offsets.close(0);
        m.fields.push("a");
        m.text_offsets.close(1);
        m.fields.push("b");
        m.fields.push("c");
        m.text_offsets.close(3);
        let n = pickle_matches(&m, true, &mut []);
        let mut out = vec![0u8; n];
        assert_eq!(pickle_matches(&m, true, &mut out), n);
        assert_eq!(out, b"\x80\x04(]]\x8c\x01aa](\x8c\x01b\x8c\x01cel.");
        let mut r = KeySums::default();
        r.text_offsets.close(0);
        r.keys.push("k");
        r.values.push(-1);
        r.text_offsets.close(1);
        let n = pickle_key_sums(&r, &mut []).unwrap();
        let mut out = vec![0u8; n];
        pickle_key_sums(&r, &mut out).unwrap();
        assert_eq!(out, b"\x80\x04(}}\x8c\x01k\x94J\xff\xff\xff\xffsl.");
    }

    /// A buffer of the bound's size gets the same stream in one pass (and the bound holds
    /// the longest forms: a 300-byte field, BINUNICODE8; a value past i32, LONG1), with the
    /// exact size reported; one byte short of the exact size still writes nothing.
    #[test]
    fn one_pass_from_the_bound_writes_the_same_stream() {
        let mut m = Matches {
            fields_per_match: 2,
            ..Default::default()
        };
        m.text_offsets.close(0);
        m.fields.push(&"x".repeat(300));
        m.fields.push("");
        m.text_offsets.close(1);
        for tuples in [false, true] {
            let n = pickle_matches(&m, tuples, &mut []);
            let mut exact = vec![0u8; n];
            assert_eq!(pickle_matches(&m, tuples, &mut exact), n);
            let bound = matches_bound(&m);
            assert!(bound >= n);
            let mut big = vec![7u8; bound + 3];
            assert_eq!(pickle_matches(&m, tuples, &mut big), n);
            assert_eq!(&big[..n], &exact[..]);
            assert!(big[n..].iter().all(|&b| b == 7), "nothing past the stream");
            let mut short = vec![7u8; n - 1];
            assert_eq!(pickle_matches(&m, tuples, &mut short), n);
            assert!(short.iter().all(|&b| b == 7), "nothing written when too short");
        }
        let mut r = KeySums::default();
        r.keys.push(&"k".repeat(300));
        r.values.push(i64::MIN);
        r.keys.push(&"k".repeat(300));
        r.values.push(1 << 40);
        r.text_offsets.close(2);
        let n = pickle_key_sums(&r, &mut []).unwrap();
        let mut exact = vec![0u8; n];
        pickle_key_sums(&r, &mut exact).unwrap();
        let mut big = vec![7u8; key_sums_bound(&r)];
        assert_eq!(pickle_key_sums(&r, &mut big).unwrap(), n);
        assert_eq!(&big[..n], &exact[..]);
    }

    /// A key seen before is a memo get: BINGET for the first 256 distinct keys, LONG_BINGET
    /// past them (300 distinct keys, then each again).
    #[test]
    fn repeated_keys_are_memo_gets() {
        let mut r = KeySums::default();
        r.keys.push("k");
        r.values.push(1);
        r.keys.push("j");
        r.values.push(2);
        r.text_offsets.close(2);
        r.keys.push("k");
        r.values.push(3);
        r.text_offsets.close(3);
        let mut out = vec![0u8; pickle_key_sums(&r, &mut []).unwrap()];
        pickle_key_sums(&r, &mut out).unwrap();
        assert_eq!(
            out,
            b"\x80\x04(}(\x8c\x01k\x94K\x01\x8c\x01j\x94K\x02u}h\x00K\x03sl."
        );
        let mut r = KeySums::default();
        for round in 0..2 {
            for i in 0..300 {
                r.keys.push(&format!("k{i}"));
                r.values.push(round);
                r.text_offsets.close(r.values.len());
            }
        }
        let mut out = vec![0u8; pickle_key_sums(&r, &mut []).unwrap()];
        pickle_key_sums(&r, &mut out).unwrap();
        let tail = b"}j\x2b\x01\x00\x00K\x01sl."; // key 299 again: LONG_BINGET 299
        assert!(out.ends_with(tail), "{:?}", &out[out.len() - 20..]);
        assert!(
            out.windows(4).any(|w| w == b"}h\xffK"),
            "key 255 again: BINGET 255"
        );
    }

    /// An empty text, then one match of a two-group pattern: flattened (no `tuples`) it appends two strs, so it
    /// needs MARK ... APPENDS, not APPEND (which would append one item to the str before it).
    #[test]
    fn a_single_flattened_multi_field_match_appends_every_field() {
        let mut m = Matches {
            fields_per_match: 2,
            ..Default::default()
        };
        m.text_offsets.close(0);
        m.fields.push("c");
        m.fields.push("3");
        m.text_offsets.close(1);
        let mut out = vec![0u8; pickle_matches(&m, false, &mut [])];
        pickle_matches(&m, false, &mut out);
        assert_eq!(out, b"\x80\x04(]](\x8c\x01c\x8c\x013el.");
        let mut out = vec![0u8; pickle_matches(&m, true, &mut [])];
        pickle_matches(&m, true, &mut out);
        assert_eq!(out, b"\x80\x04(]](\x8c\x01c\x8c\x013tal.");
    }
}
