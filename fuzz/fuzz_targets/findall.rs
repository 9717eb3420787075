//! Pattern compilation and `fk_findall` on arbitrary patterns, flags and texts, against a
//! slow path written here from the documented semantics (Python 3.7+ `re.findall`: whole
//! match without groups, else every group, "" for a group that did not take part; after an
//! empty match the search moves one character on), using the `regex` crate directly on the
//! same translated pattern, one text at a time, no batching, no parallel chunks.
//! Input: flags byte, then the pattern and the texts separated by 0xff bytes (never UTF-8).
#![no_main]

use std::ffi::c_void;
use std::ptr;

use ferrokern::ffi::text::{
    fk_findall, fk_matches_free, fk_matches_view, fk_pattern_free, fk_pattern_new, FkMatchesView, FkTexts,
    FK_FINDALL_LOWERCASE, FK_OFFSETS_I64, FK_PATTERN_IGNORE_CASE,
};
use ferrokern::ffi::FkStatus;
use libfuzzer_sys::fuzz_target;
use regex::RegexBuilder;

fn slow_findall(re: &regex::Regex, text: &str, lower: bool) -> Vec<String> {
    let groups = re.captures_len() - 1;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos <= text.len() {
        let Some(c) = re.captures_at(text, pos) else { break };
        let m = c.get(0).unwrap();
        let fields: Vec<&str> = if groups == 0 {
            vec![m.as_str()]
        } else {
            (1..=groups)
                .map(|g| c.get(g).map_or("", |x| x.as_str()))
                .collect()
        };
        out.extend(
            fields
                .into_iter()
                .map(|f| if lower { f.to_lowercase() } else { f.to_string() }),
        );
        pos = if m.end() > m.start() {
            m.end()
        } else {
            m.end() + text[m.end()..].chars().next().map_or(1, char::len_utf8)
        };
    }
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
    let re = RegexBuilder::new(&ferrokern::fuzz_api::translate_python_classes(src))
        .case_insensitive(ignore_case)
        .size_limit(64 << 20)
        .dfa_size_limit(64 << 20)
        .build()
        .expect("the slow path compiles what the library compiled");

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
