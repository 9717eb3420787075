//! Text batch validation (`FkTexts` → `TextBatch`, the front door of every text kernel) on
//! arbitrary offsets, offset kinds, first indexes and bytes, through `fk_count`: never a
//! panic; a batch is accepted exactly when a slow, obvious check says it is valid (offsets
//! in range and non-decreasing, every text valid UTF-8), and then the counts are right.
//! Input: kind byte, count byte, first_index (8 bytes), n+1 offsets (8 bytes each), data.
#![no_main]

use std::ffi::c_void;
use std::ptr;

use ferrokern::ffi::text::{
    fk_count, fk_pattern_new, FkPattern, FkTexts, FK_OFFSETS_CHAR_LENGTHS, FK_OFFSETS_I32, FK_OFFSETS_I64,
};
use ferrokern::ffi::FkStatus;
use libfuzzer_sys::fuzz_target;

struct Pat(*mut FkPattern);
// SAFETY: an FkPattern is immutable and documented as shareable between threads.
unsafe impl Send for Pat {}
// SAFETY: as above.
unsafe impl Sync for Pat {}

fn pattern() -> *const FkPattern {
    static P: std::sync::OnceLock<Pat> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let mut p = ptr::null_mut();
        let src = b"a";
        // SAFETY: `src` is readable; `p` is a valid out-pointer.
        assert_eq!(
            unsafe { fk_pattern_new(src.as_ptr(), src.len(), 0, &mut p) },
            FkStatus::Ok
        );
        Pat(p)
    })
    .0
}

fuzz_target!(|input: &[u8]| {
    let [kind, n, rest @ ..] = input else { return };
    let n = (*n % 8) as usize;
    if rest.len() < 8 + 8 * (n + 1) {
        return;
    }
    let (first, rest) = rest.split_at(8);
    let first_index = u64::from_le_bytes(first.try_into().unwrap());
    let (raw, data) = rest.split_at(8 * (n + 1));
    let words: Vec<u64> = raw
        .chunks(8)
        .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
        .collect();
    // Small offsets are the interesting ones: fold most values into the data's range.
    let words: Vec<u64> = words
        .iter()
        .map(|&w| {
            if w >> 63 == 0 {
                w % (data.len() as u64 + 2)
            } else {
                w
            }
        })
        .collect();
    let kind = [FK_OFFSETS_I32, FK_OFFSETS_I64, FK_OFFSETS_CHAR_LENGTHS, 77][*kind as usize % 4];
    let i32s: Vec<i32> = words.iter().map(|&w| w as i32).collect();
    let offsets: *const c_void = if kind == FK_OFFSETS_I32 {
        i32s.as_ptr().cast()
    } else {
        words.as_ptr().cast()
    };
    let texts = FkTexts {
        data: data.as_ptr(),
        data_len: data.len(),
        offsets,
        n_texts: n,
        offset_kind: kind,
        first_index,
    };
    let mut out = vec![u64::MAX; n];
    // SAFETY: `texts` describes readable buffers of the stated lengths (n+1 offsets of the
    // stated width); `out` has room for `n` counts.
    let st = unsafe { fk_count(pattern(), &texts, out.as_mut_ptr(), out.len()) };
    assert!(!matches!(st, FkStatus::Panic | FkStatus::Internal), "{st:?}");
    // The slow path: which byte spans the batch describes, if valid.
    let spans: Option<Vec<(usize, usize)>> = match kind {
        FK_OFFSETS_I32 | FK_OFFSETS_I64 => {
            let offs: Vec<i128> = if kind == FK_OFFSETS_I32 {
                i32s.iter().map(|&v| v as i128).collect()
            } else {
                words.iter().map(|&v| v as i64 as i128).collect()
            };
            let ok = offs.iter().all(|&o| o >= 0 && o <= data.len() as i128)
                && offs.windows(2).all(|w| w[0] <= w[1]);
            ok.then(|| offs.windows(2).map(|w| (w[0] as usize, w[1] as usize)).collect())
        }
        FK_OFFSETS_CHAR_LENGTHS => {
            // Consecutive texts of the given lengths in characters, from byte 0.
            let s = std::str::from_utf8(data).ok();
            s.and_then(|s| {
                let mut bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
                bounds.push(s.len());
                let mut at = 0usize; // in characters
                let mut spans = Vec::new();
                for &l in &words[..n] {
                    let end = at.checked_add(usize::try_from(l).ok()?)?;
                    spans.push((*bounds.get(at)?, *bounds.get(end)?));
                    at = end;
                }
                // The lengths must cover the whole buffer.
                (at == bounds.len() - 1).then_some(spans)
            })
        }
        _ => None,
    };
    let valid = spans
        .as_ref()
        .is_some_and(|sp| sp.iter().all(|&(a, b)| std::str::from_utf8(&data[a..b]).is_ok()));
    assert_eq!(
        st == FkStatus::Ok,
        valid,
        "status {st:?} for kind {kind}, spans {spans:?}"
    );
    if let Some(sp) = spans.filter(|_| valid) {
        for (i, (a, b)) in sp.into_iter().enumerate() {
            assert_eq!(out[i], data[a..b].iter().filter(|&&c| c == b'a').count() as u64);
        }
    }
});
