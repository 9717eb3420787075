//! Text kernels over a [`TextBatch`]: pure Rust, no FFI. Every kernel splits the batch into
//! byte-balanced chunks, runs them on the library's pool and concatenates the per-chunk
//! results in input order, so results do not depend on the thread count or chunking.
//!
//! The submodules are private: what other modules use is re-exported below, `pub` for the
//! FFI layer and the Rust tests, `pub(crate)` for the report's own per-document work.

pub mod arrow;
mod batch;
mod emails;
mod findall;
mod kv;
mod pattern;
mod pickle;
pub(crate) mod pyclass;
mod pyre;
mod reapi;
mod results;
mod unicode_tables;

pub use batch::{char_offsets, Offsets, TextBatch};
pub use pattern::Pattern;
pub use pickle::{key_sums_stream, matches_stream, pickle_key_sums, pickle_matches};
pub use pyre::Anchor;
pub use reapi::{Pieces, SpanMode, Spans, Substituted};
pub use results::{
    join_strings, join_unique_strings, Frequencies, KeySums, Matches, StringTable, TextOffsets,
};
pub use unicode_tables::PY_UNICODE_VERSION;

pub(crate) use batch::utf8;
pub(crate) use emails::{for_each_email, for_each_email_regex};
pub(crate) use kv::{for_each_kv, for_each_kv_digits, for_each_kv_states, Aggregate};
pub(crate) use pyclass::PyClasses;

use crate::error::Result;

/// The reference's `extract_and_aggregate`: per text, `(\w+)\s+(\d+)` summed per key.
/// `max_digits` is Python's int string-conversion limit (0 = none).
pub fn extract_and_aggregate(batch: &TextBatch, max_digits: usize) -> Result<KeySums> {
    let parts = batch.map_chunks(|r| {
        let mut out = KeySums::default();
        kv::aggregate_texts(batch.texts(r), max_digits, &mut out)?;
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
        for (_, t) in batch.texts(r) {
            emails::extract_into(t?, &mut out.fields);
            out.text_offsets.close(out.fields.len());
        }
        Ok(out)
    })?;
    Ok(Matches::concat(parts, 1))
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
