//! Pattern compilation and `fk_findall` on arbitrary patterns (Python syntax), flags and
//! texts, against the slow path: the pattern's own per-text `re.findall`
//! ([`Pattern::for_each_match`]), one text at a time, without the batch driver, its literal
//! prefilter, its one-pass UTF-8 check or parallel chunks. (Equality with Python's `re`
//! itself is the job of the hypothesis differential tests in `test_pyre.py`, which have
//! Python at hand.)
//! Input: flags byte, then the pattern and the texts separated by 0xff bytes (never UTF-8).
#![no_main]

use std::ffi::c_void;
use std::ptr;

use ferrokern::ffi::text::{
    fk_findall, fk_matches_free, fk_matches_view, fk_pattern_free, fk_pattern_new, FkMatchesView, FkTexts,
    FK_FINDALL_LOWERCASE, FK_OFFSETS_I64, FK_PATTERN_IGNORE_CASE,
};
use ferrokern::ffi::FkStatus;
use ferrokern::text::Pattern;
use libfuzzer_sys::fuzz_target;

fn slow_findall(p: &Pattern, text: &str, lower: bool) -> Vec<String> {
    let mut out = Vec::new();
    p.for_each_match(text, |fields| {
        out.extend(fields.map(|f| if lower { f.to_lowercase() } else { f.to_string() }));
    });
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.split(|&b| b == 0xff);
    let pat = parts.next().unwrap_or_default();
    let texts: Vec<String> = parts
        .take(6)
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect();
    let (ignore_case, lower) = (flags & 1 != 0, flags & 2 != 0);
    let mut p = ptr::null_mut();
    let pflags = if ignore_case { FK_PATTERN_IGNORE_CASE } else { 0 };
    // SAFETY: `pat` is readable; `p` is a valid out-pointer.
    let st = unsafe { fk_pattern_new(pat.as_ptr(), pat.len(), pflags, &mut p) };
    assert!(!matches!(st, FkStatus::Panic | FkStatus::Internal), "{st:?}");
    if st != FkStatus::Ok {
        return;
    }
    let src = std::str::from_utf8(pat).expect("an accepted pattern is UTF-8");
    let re = Pattern::new(src, ignore_case).expect("the slow path compiles what the library compiled");

    let joined: String = texts.concat();
    let mut offsets = vec![0i64];
    for t in &texts {
        offsets.push(offsets.last().unwrap() + t.len() as i64);
    }
    let batch = FkTexts {
        data: joined.as_ptr(),
        data_len: joined.len(),
        offsets: offsets.as_ptr() as *const c_void,
        n_texts: texts.len(),
        offset_kind: FK_OFFSETS_I64,
        first_index: 0,
    };
    let mut m = ptr::null_mut();
    let opts = if lower { FK_FINDALL_LOWERCASE } else { 0 };
    // SAFETY: `p` is live; `batch` describes readable buffers; `m` is a valid out-pointer.
    assert_eq!(unsafe { fk_findall(p, &batch, opts, &mut m) }, FkStatus::Ok);
    let mut v = std::mem::MaybeUninit::<FkMatchesView>::uninit();
    // SAFETY: `m` is live; `v` is valid for writing a view.
    assert_eq!(unsafe { fk_matches_view(m, v.as_mut_ptr()) }, FkStatus::Ok);
    // SAFETY: initialised by the successful call above.
    let v = unsafe { v.assume_init() };
    // SAFETY: the view's arrays hold the lengths it states while `m` is live.
    let (fo, to, bytes) = unsafe {
        (
            std::slice::from_raw_parts(v.field_offsets, v.n_fields + 1),
            std::slice::from_raw_parts(v.text_offsets, v.n_texts + 1),
            std::slice::from_raw_parts(v.data, v.data_len),
        )
    };
    assert_eq!(v.n_texts, texts.len());
    let k = v.fields_per_match;
    for (i, t) in texts.iter().enumerate() {
        let want = slow_findall(&re, t, lower);
        let got: Vec<String> = (to[i] as usize * k..to[i + 1] as usize * k)
            .map(|f| String::from_utf8(bytes[fo[f] as usize..fo[f + 1] as usize].to_vec()).unwrap())
            .collect();
        assert_eq!(got, want, "text {i} {t:?}, pattern {src:?}");
    }
    // SAFETY: both are live and not used again.
    unsafe {
        fk_matches_free(m);
        fk_pattern_free(p);
    }
});
