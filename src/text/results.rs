//! Flat, variable-size results: every string of a result lives in one byte buffer with an
//! offsets array, so a caller reads everything through a handful of pointers.

use crate::error::{Error, ErrorKind, Result};
use crate::shared::counts::CountMap;
use crate::shared::hash::FxHashMap;
use crate::shared::pyint::PyInt;

/// Strings stored back to back: string i is `data[offsets[i]..offsets[i+1]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringTable {
    pub data: Vec<u8>,
    pub offsets: Vec<u64>,
}

impl Default for StringTable {
    fn default() -> Self {
        StringTable {
            data: Vec::new(),
            offsets: vec![0],
        }
    }
}

impl StringTable {
    #[inline]
    pub fn push(&mut self, s: &str) {
        self.data.extend_from_slice(s.as_bytes());
        self.offsets.push(self.data.len() as u64);
    }
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn get(&self, i: usize) -> &str {
        // Only ever filled from &str, so always UTF-8.
        std::str::from_utf8(&self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]).unwrap()
    }
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// Room for `bytes` more bytes in `strings` more strings.
    pub fn reserve(&mut self, (bytes, strings): (usize, usize)) {
        self.data.reserve(bytes);
        self.offsets.reserve(strings);
    }
    pub fn append(&mut self, other: &StringTable) {
        let base = self.data.len() as u64;
        self.data.extend_from_slice(&other.data);
        self.offsets.extend(other.offsets[1..].iter().map(|o| o + base));
    }
}

/// Sum of pairs, for reserving string tables.
trait Sum2 {
    fn sum2(self) -> (usize, usize);
}
impl<I: Iterator<Item = (usize, usize)>> Sum2 for I {
    fn sum2(self) -> (usize, usize) {
        self.fold((0, 0), |(a, b), (x, y)| (a + x, b + y))
    }
}

/// Running "n+1 offsets" over per-text item counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextOffsets(pub Vec<u64>);

impl Default for TextOffsets {
    fn default() -> Self {
        TextOffsets(vec![0])
    }
}

impl TextOffsets {
    /// Close the current text at `items_so_far` items.
    #[inline]
    pub fn close(&mut self, items_so_far: usize) {
        self.0.push(items_so_far as u64);
    }
    pub fn append(&mut self, other: &TextOffsets) {
        let base = *self.0.last().unwrap();
        self.0.extend(other.0[1..].iter().map(|o| o + base));
    }
    pub fn range(&self, text: usize) -> std::ops::Range<usize> {
        self.0[text] as usize..self.0[text + 1] as usize
    }
}

/// Per-text `findall` results: each match contributes `fields_per_match` strings (the whole
/// match when the pattern has no group, else one per group, `""` for a group that did not
/// take part).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Matches {
    pub fields: StringTable,
    pub fields_per_match: usize,
    /// n_texts + 1 offsets, counted in matches.
    pub text_offsets: TextOffsets,
}

impl Matches {
    pub fn concat(parts: Vec<Matches>, fields_per_match: usize) -> Matches {
        let mut out = Matches {
            fields_per_match,
            ..Default::default()
        };
        // Reserve the total once, then free each part as soon as it is copied: the peak is
        // the result plus one part, not twice the result (issue 10's RSS bound).
        out.fields
            .reserve(parts.iter().map(|p| (p.fields.data.len(), p.fields.len())).sum2());
        out.text_offsets
            .0
            .reserve(parts.iter().map(|p| p.text_offsets.0.len()).sum());
        for p in parts {
            out.fields.append(&p.fields);
            out.text_offsets.append(&p.text_offsets);
        }
        out
    }
    pub fn n_matches(&self) -> usize {
        *self.text_offsets.0.last().unwrap() as usize
    }
}

/// Per-text key → integer sums, keys in first-seen order (as a Python dict keeps them).
/// Sums that fit in i64 are in `values`; larger ones have `values[i] = 0` and their exact
/// decimal text in `big_decimal`, with `i` listed in `big_index` (ascending).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeySums {
    pub keys: StringTable,
    pub values: Vec<i64>,
    pub big_index: Vec<u64>,
    pub big_decimal: StringTable,
    /// n_texts + 1 offsets, counted in entries.
    pub text_offsets: TextOffsets,
}

impl KeySums {
    pub fn concat(parts: Vec<KeySums>) -> KeySums {
        let mut out = KeySums::default();
        // As `Matches::concat`: reserve once, free each part once copied.
        out.keys
            .reserve(parts.iter().map(|p| (p.keys.data.len(), p.keys.len())).sum2());
        out.values.reserve(parts.iter().map(|p| p.values.len()).sum());
        out.text_offsets
            .0
            .reserve(parts.iter().map(|p| p.text_offsets.0.len()).sum());
        for p in parts {
            let base = out.values.len() as u64;
            out.keys.append(&p.keys);
            out.values.extend_from_slice(&p.values);
            out.big_index.extend(p.big_index.iter().map(|i| i + base));
            out.big_decimal.append(&p.big_decimal);
            out.text_offsets.append(&p.text_offsets);
        }
        out
    }
    pub fn push(&mut self, key: &str, value: &PyInt) {
        self.keys.push(key);
        match value {
            PyInt::Small(v) => self.values.push(*v),
            big => {
                self.big_index.push(self.values.len() as u64);
                self.big_decimal.push(&big.to_decimal());
                self.values.push(0);
            }
        }
    }
    /// Entry i's value as decimal text.
    pub fn value_decimal(&self, i: usize) -> String {
        match self.big_index.binary_search(&(i as u64)) {
            Ok(j) => self.big_decimal.get(j).to_string(),
            Err(_) => self.values[i].to_string(),
        }
    }
}

/// Batch-wide counts in [`ByCount`](crate::shared::counts::ByCount) order (count descending,
/// then code point order).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frequencies {
    pub items: StringTable,
    pub counts: Vec<u64>,
}

impl Frequencies {
    /// The counts of `map`, ranked; the first `top` (0 = all).
    pub fn from_counts(map: &CountMap<&str>, top: usize) -> Frequencies {
        let mut ranked = map.ranked();
        if top > 0 {
            ranked.truncate(top);
        }
        let mut out = Frequencies::default();
        for (s, c) in ranked {
            out.items.push(s);
            out.counts.push(c);
        }
        out
    }
}

/// Write strings `offsets[0..n+1]` of `data` into `out` separated by `sep` (n-1 separators,
/// none after the last), so a caller can split them apart with one call. Fails if a string
/// contains `sep` (the split would then be wrong) or `out` is not exactly the needed size.
pub fn join_strings(data: &[u8], offsets: &[u64], sep: u8, out: &mut [u8]) -> Result<()> {
    let n = offsets.len().saturating_sub(1);
    let (first, last) = (
        offsets.first().copied().unwrap_or(0) as usize,
        offsets.last().copied().unwrap_or(0) as usize,
    );
    if offsets.windows(2).any(|w| w[0] > w[1]) || last > data.len() {
        return Err(Error::invalid("offsets are not monotonic or exceed the data"));
    }
    let need = last - first + n.saturating_sub(1);
    if out.len() != need {
        return Err(Error::new(
            ErrorKind::BufferTooSmall,
            format!("output must hold exactly {need} bytes, it holds {}", out.len()),
        ));
    }
    if memchr::memchr(sep, &data[first..last]).is_some() {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            format!("a string contains the separator byte {sep:#04x}"),
        ));
    }
    let mut pos = 0;
    for (k, w) in offsets.windows(2).enumerate() {
        if k > 0 {
            out[pos] = sep;
            pos += 1;
        }
        let s = &data[w[0] as usize..w[1] as usize];
        out[pos..pos + s.len()].copy_from_slice(s);
        pos += s.len();
    }
    Ok(())
}

/// Like [`join_strings`], but each distinct string once, in first-seen order: `ids[k]` is
/// the position of string k's value among them. Returns (bytes written, distinct strings).
/// Result strings repeat a lot (kv keys, the same email in many texts), and each distinct
/// one then becomes one Python str instead of one per occurrence. `out` must hold at least
/// the strings' total length plus n - 1 bytes; `ids` exactly n entries.
pub fn join_unique_strings(
    data: &[u8],
    offsets: &[u64],
    sep: u8,
    out: &mut [u8],
    ids: &mut [u64],
) -> Result<(usize, usize)> {
    let n = offsets.len().saturating_sub(1);
    let (first, last) = (
        offsets.first().copied().unwrap_or(0) as usize,
        offsets.last().copied().unwrap_or(0) as usize,
    );
    if offsets.windows(2).any(|w| w[0] > w[1]) || last > data.len() {
        return Err(Error::invalid("offsets are not monotonic or exceed the data"));
    }
    if ids.len() != n {
        return Err(Error::invalid(format!(
            "ids holds {} entries, there are {n} strings",
            ids.len()
        )));
    }
    let need = last - first + n.saturating_sub(1);
    if out.len() < need {
        return Err(Error::new(
            ErrorKind::BufferTooSmall,
            format!("output must hold at least {need} bytes, it holds {}", out.len()),
        ));
    }
    if memchr::memchr(sep, &data[first..last]).is_some() {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            format!("a string contains the separator byte {sep:#04x}"),
        ));
    }
    let mut seen: FxHashMap<&[u8], u64> = FxHashMap::default();
    let mut pos = 0;
    for (k, w) in offsets.windows(2).enumerate() {
        let s = &data[w[0] as usize..w[1] as usize];
        let next = seen.len() as u64;
        let id = *seen.entry(s).or_insert_with(|| {
            if next > 0 {
                out[pos] = sep;
                pos += 1;
            }
            out[pos..pos + s.len()].copy_from_slice(s);
            pos += s.len();
            next
        });
        ids[k] = id;
    }
    Ok((pos, seen.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(items: &[&str]) -> StringTable {
        let mut t = StringTable::default();
        for s in items {
            t.push(s);
        }
        t
    }

    #[test]
    fn string_tables_append() {
        let mut a = table(&["ab", "", "é"]);
        a.append(&table(&["x", "yz"]));
        assert_eq!(a.iter().collect::<Vec<_>>(), ["ab", "", "é", "x", "yz"]);
        assert_eq!(a.offsets, [0, 2, 2, 4, 5, 7]);
        assert!(StringTable::default().is_empty());
    }

    #[test]
    fn concat_rebases_offsets_and_big_indexes() {
        let mut m1 = Matches {
            fields_per_match: 2,
            ..Default::default()
        };
        m1.fields = table(&["a", "1"]);
        m1.text_offsets.close(1);
        m1.text_offsets.close(1);
        let mut m2 = Matches {
            fields_per_match: 2,
            ..Default::default()
        };
        m2.fields = table(&["b", "2", "c", "3"]);
        m2.text_offsets.close(2);
        let m = Matches::concat(vec![m1, m2], 2);
        assert_eq!(m.text_offsets.0, [0, 1, 1, 3]);
        assert_eq!(m.n_matches(), 3);
        assert_eq!(m.text_offsets.range(2), 1..3);

        let big = PyInt::parse_python("123456789012345678901234567890", 0).unwrap();
        let mut k1 = KeySums::default();
        k1.push("a", &PyInt::Small(-4));
        k1.text_offsets.close(1);
        let mut k2 = KeySums::default();
        k2.push("b", &big);
        k2.push("c", &PyInt::Small(7));
        k2.text_offsets.close(2);
        let k = KeySums::concat(vec![k1, k2]);
        assert_eq!(k.values, [-4, 0, 7]);
        assert_eq!(k.big_index, [1]);
        assert_eq!(k.value_decimal(1), "123456789012345678901234567890");
        assert_eq!(k.value_decimal(2), "7");
        assert_eq!(k.text_offsets.0, [0, 1, 3]);
    }

    #[test]
    fn frequencies_are_ranked_and_cut() {
        let mut m: CountMap<&str> = CountMap::default();
        for (s, n) in [("b", 2), ("a", 2), ("c", 5)] {
            m.add(s, n);
        }
        let all = Frequencies::from_counts(&m, 0);
        assert_eq!(all.items.iter().collect::<Vec<_>>(), ["c", "a", "b"]);
        assert_eq!(all.counts, [5, 2, 2]);
        assert_eq!(Frequencies::from_counts(&m, 2).counts, [5, 2]);
    }

    #[test]
    fn unique_strings_in_first_seen_order() {
        let t = table(&["ab", "", "c", "ab", "", "é", "c"]);
        let mut out = vec![0u8; 32];
        let mut ids = vec![0u64; 7];
        let (used, n) = join_unique_strings(&t.data, &t.offsets, 0, &mut out, &mut ids).unwrap();
        assert_eq!(&out[..used], "ab\0\0c\0é".as_bytes());
        assert_eq!((n, ids), (4, vec![0, 1, 2, 0, 1, 3, 2]));
        let e = join_unique_strings(&t.data, &t.offsets, 0, &mut [0u8; 4], &mut [0u64; 7]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BufferTooSmall);
        let e = join_unique_strings(&t.data, &t.offsets, b'b', &mut out, &mut [0u64; 7]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidValue);
        assert!(join_unique_strings(&t.data, &t.offsets, 0, &mut out, &mut [0u64; 6]).is_err());
        assert_eq!(
            join_unique_strings(b"", &[0], 0, &mut [], &mut []).unwrap(),
            (0, 0)
        );
    }

    #[test]
    fn join_strings_checks_sizes_and_separators() {
        let t = table(&["ab", "", "c"]);
        let mut out = vec![0u8; 5];
        join_strings(&t.data, &t.offsets, 0, &mut out).unwrap();
        assert_eq!(out, b"ab\0\0c");
        let e = join_strings(&t.data, &t.offsets, 0, &mut [0u8; 4]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BufferTooSmall);
        let e = join_strings(&t.data, &t.offsets, b'b', &mut out).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidValue);
        let e = join_strings(&t.data, &[0, 3, 2], 0, &mut out).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        join_strings(b"", &[0], 0, &mut []).unwrap();
    }
}
