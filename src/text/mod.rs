//! Text kernels over a [`TextBatch`]: pure Rust, no FFI. Every kernel splits the batch into
//! byte-balanced chunks, runs them on the library's pool and concatenates the per-chunk
//! results in input order, so results do not depend on the thread count or chunking.

pub mod batch;
pub mod emails;
pub mod hash;
pub mod kv;
pub mod pattern;
pub mod pyclass;
pub mod pyint;
pub mod results;
mod unicode_tables;

pub use batch::{Offsets, TextBatch};
pub use pattern::Pattern;
pub use results::{Frequencies, KeySums, Matches, StringTable, TextOffsets};
pub use unicode_tables::PY_UNICODE_VERSION;

use hash::FxHashMap;
use pyint::PyInt;

use crate::error::{Error, ErrorKind, Result};

/// Texts `r` of the batch, each with the number error messages should give it.
fn texts_of<'a>(
    batch: &TextBatch<'a>,
    r: std::ops::Range<usize>,
) -> impl Iterator<Item = (usize, Result<&'a str>)> + 'a {
    let b = *batch;
    r.map(move |i| (b.caller_index(i), b.text(i)))
}

/// The reference's `extract_and_aggregate`: per text, `(\w+)\s+(\d+)` summed per key.
/// `max_digits` is Python's int string-conversion limit (0 = none).
pub fn extract_and_aggregate(batch: &TextBatch, max_digits: usize) -> Result<KeySums> {
    let parts = batch.map_chunks(|r| {
        let mut out = KeySums::default();
        kv::aggregate_texts(texts_of(batch, r), max_digits, &mut out)?;
        Ok(out)
    })?;
    Ok(KeySums::concat(parts))
}

/// The reference's `extract_emails`: per text, the emails of `text.lower()`.
pub fn extract_emails(batch: &TextBatch) -> Result<Matches> {
    let parts = batch.map_chunks(|r| {
        let mut out = Matches {
            fields_per_match: 1,
            ..Default::default()
        };
        for (_, t) in texts_of(batch, r) {
            emails::extract_into(t?, &mut out.fields);
            out.text_offsets.close(out.fields.len());
        }
        Ok(out)
    })?;
    Ok(Matches::concat(parts, 1))
}

impl Pattern {
    /// `re.findall` per text; `lower` lowercases every result (Unicode default lowercasing,
    /// as `str.lower()`), inside the parallel chunks.
    pub fn findall(&self, batch: &TextBatch, lower: bool) -> Result<Matches> {
        let k = self.fields_per_match();
        let parts = batch.map_chunks(|r| {
            let mut out = Matches {
                fields_per_match: k,
                ..Default::default()
            };
            let mut n = 0;
            for (_, t) in texts_of(batch, r) {
                self.for_each_match(t?, |fields| {
                    for f in fields {
                        if lower {
                            out.fields.push(&f.to_lowercase());
                        } else {
                            out.fields.push(f);
                        }
                    }
                    n += 1;
                });
                out.text_offsets.close(n);
            }
            Ok(out)
        })?;
        Ok(Matches::concat(parts, k))
    }

    /// `len(re.findall(...))` per text, into `out` (one slot per text).
    pub fn count_into(&self, batch: &TextBatch, out: &mut [u64]) -> Result<()> {
        if out.len() < batch.len() {
            return Err(Error::new(
                ErrorKind::BufferTooSmall,
                format!(
                    "output holds {} counts but the batch has {} texts",
                    out.len(),
                    batch.len()
                ),
            ));
        }
        let parts = batch.map_chunks(|r| {
            texts_of(batch, r)
                .map(|(_, t)| Ok(self.count(t?)))
                .collect::<Result<Vec<u64>>>()
        })?;
        let mut i = 0;
        for p in parts {
            out[i..i + p.len()].copy_from_slice(&p);
            i += p.len();
        }
        Ok(())
    }

    /// Per text, `{key: sum(int(value))}` over a two-group (key, integer) pattern, keys in
    /// first-seen order; values parsed with Python's `int()` rules.
    pub fn sum_by_key(&self, batch: &TextBatch, max_digits: usize) -> Result<KeySums> {
        if self.groups() != 2 {
            return Err(Error::invalid(format!(
                "sum_by_key needs a pattern with exactly two capture groups (key, integer); this one has {}",
                self.groups()
            )));
        }
        let parts = batch.map_chunks(|r| {
            let mut out = KeySums::default();
            let mut agg = kv::Aggregate::default();
            for (i, t) in texts_of(batch, r) {
                let t = t?;
                agg.clear();
                let mut err = None;
                self.for_each_match(t, |fields| {
                    if err.is_some() {
                        return;
                    }
                    let key = fields.next().unwrap_or("");
                    let val = fields.next().unwrap_or("");
                    match PyInt::parse_python(val, max_digits) {
                        Ok(v) => agg.add(key, v),
                        Err(e) => {
                            err = Some(Error::new(
                                ErrorKind::InvalidValue,
                                format!("text {i}: {}", e.python_message(val)),
                            ))
                        }
                    }
                });
                if let Some(e) = err {
                    return Err(e);
                }
                for (k, v) in &agg.entries {
                    out.push(k, v);
                }
                out.text_offsets.close(out.values.len());
            }
            Ok(out)
        })?;
        Ok(KeySums::concat(parts))
    }

    /// Batch-wide counts of `group` (None: group 1 if the pattern has groups, else the whole
    /// match), most frequent first; `top` = 0 keeps all.
    pub fn frequencies(&self, batch: &TextBatch, group: Option<usize>, top: usize) -> Result<Frequencies> {
        let g = group.unwrap_or(if self.groups() > 0 { 1 } else { 0 });
        if g > self.groups() {
            return Err(Error::invalid(format!(
                "group {g} does not exist: the pattern has {} groups",
                self.groups()
            )));
        }
        let parts = batch.map_chunks(|r| {
            let mut m: FxHashMap<&str, u64> = FxHashMap::default();
            for (_, t) in texts_of(batch, r) {
                self.for_each_group(t?, g, |s| *m.entry(s).or_insert(0) += 1);
            }
            Ok(m)
        })?;
        Ok(merge_counts(parts, top))
    }
}

/// Merge per-chunk counts (commutative, so chunking cannot change the result).
pub fn merge_counts<'a>(parts: Vec<FxHashMap<&'a str, u64>>, top: usize) -> Frequencies {
    let mut it = parts.into_iter();
    let mut total = it.next().unwrap_or_default();
    for p in it {
        for (k, v) in p {
            *total.entry(k).or_insert(0) += v;
        }
    }
    Frequencies::from_counts(total.into_iter(), top)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel;

    fn batch_of(texts: &[&str]) -> (Vec<u8>, Vec<i64>) {
        let mut data = Vec::new();
        let mut offs = vec![0i64];
        for t in texts {
            data.extend_from_slice(t.as_bytes());
            offs.push(data.len() as i64);
        }
        (data, offs)
    }

    #[test]
    fn same_results_for_any_thread_count_and_chunking() {
        let texts: Vec<String> = (0..5000)
            .map(|i| {
                if i == 77 {
                    "big 1 ".repeat(30_000)
                } else {
                    format!(
                        "user{} {} 名字 {} Mail{}@Host{}.com x",
                        i % 13,
                        i,
                        i % 7,
                        i % 5,
                        i % 3
                    )
                }
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
        let (data, offs) = batch_of(&refs);
        let b = TextBatch::new(&data, Offsets::I64(&offs)).unwrap();
        let p = Pattern::new(r"(\w+)@(\w+)", true).unwrap();
        let run = || {
            (
                extract_and_aggregate(&b, 4300).unwrap(),
                extract_emails(&b).unwrap(),
                p.findall(&b, false).unwrap(),
                p.frequencies(&b, None, 0).unwrap(),
            )
        };
        parallel::set_threads(1).unwrap();
        let one = run();
        parallel::set_threads(4).unwrap();
        let four = run();
        parallel::set_threads(0).unwrap();
        assert_eq!(one, four);
        assert!(b.chunks().len() > 1);
        assert_eq!(one.0.text_offsets.range(77).len(), 1);
        assert_eq!(one.0.values[one.0.text_offsets.range(77).start], 30_000);
    }

    #[test]
    fn first_bad_text_in_input_order_is_reported() {
        let mut texts: Vec<Vec<u8>> = (0..3000).map(|i| format!("t {i}").into_bytes()).collect();
        texts[2500] = b"\xff".to_vec();
        texts[1200] = b"a\xc3".to_vec();
        let mut data = Vec::new();
        let mut offs = vec![0i64];
        for t in &texts {
            data.extend_from_slice(t);
            offs.push(data.len() as i64);
        }
        let b = TextBatch::new(&data, Offsets::I64(&offs)).unwrap();
        let e = extract_and_aggregate(&b, 0).unwrap_err();
        assert!(e.message.starts_with("text 1200 "), "{}", e.message);
    }

    #[test]
    fn count_and_sum_by_key() {
        let (data, offs) = batch_of(&["a=1 b=-2 a=+3", "x=1_0", "y=q"]);
        let b = TextBatch::new(&data, Offsets::I64(&offs)).unwrap();
        let p = Pattern::new(r"(\w+)=(\S+)", false).unwrap();
        let mut counts = [0u64; 3];
        p.count_into(&b, &mut counts).unwrap();
        assert_eq!(counts, [3, 1, 1]);
        let e = p.sum_by_key(&b, 4300).unwrap_err();
        assert_eq!(e.message, "text 2: invalid literal for int() with base 10: 'q'");
        let (data, offs) = batch_of(&["a=1 b=-2 a=+3", "x=1_0"]);
        let b = TextBatch::new(&data, Offsets::I64(&offs)).unwrap();
        let s = p.sum_by_key(&b, 4300).unwrap();
        assert_eq!(s.values, [4, -2, 10]);
        assert!(Pattern::new(r"(\w+)", false).unwrap().sum_by_key(&b, 0).is_err());
        assert!(p.count_into(&b, &mut [0u64; 1]).is_err());
    }
}
