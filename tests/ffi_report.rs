//! The report exports called as C would call them, through the Rust library: the life of
//! a report handle, its JSON, and the status of each kind of bad call.
//!
//! Every `unsafe` call below passes pointers to live locals (or NULL on purpose) with the
//! lengths they hold, which is the contract each export's `# Safety` section states.

use std::ffi::{c_void, CStr};
use std::ptr;

use ferrokern::ffi::report::*;
use ferrokern::ffi::text::*;
use ferrokern::ffi::*;

fn last_error() -> String {
    unsafe { CStr::from_ptr(fk_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn tmp(name: &str, data: &[u8]) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("fk-ffi-report-{}-{name}", std::process::id()));
    std::fs::write(&p, data).unwrap();
    p
}

fn new_report() -> *mut FkReport {
    let mut cfg = std::mem::MaybeUninit::<FkReportConfig>::uninit();
    assert_eq!(
        unsafe { fk_report_config_default(cfg.as_mut_ptr()) },
        FkStatus::Ok
    );
    let mut cfg = unsafe { cfg.assume_init() };
    cfg.chunk_bytes = 256;
    let mut r = ptr::null_mut();
    assert_eq!(unsafe { fk_report_new(&cfg, &mut r) }, FkStatus::Ok);
    r
}

fn json(r: *const FkReport, flags: u32) -> serde_json::Value {
    let mut b = ptr::null_mut();
    assert_eq!(unsafe { fk_report_to_json(r, flags, &mut b) }, FkStatus::Ok);
    let (mut data, mut len) = (ptr::null(), 0usize);
    assert_eq!(unsafe { fk_bytes_data(b, &mut data, &mut len) }, FkStatus::Ok);
    let v = serde_json::from_slice(unsafe { std::slice::from_raw_parts(data, len) }).unwrap();
    unsafe { fk_bytes_free(b) };
    v
}

fn feed_file(r: *mut FkReport, path: &std::path::Path) -> FkStatus {
    let p = path.to_str().unwrap();
    unsafe { fk_report_feed_file(r, p.as_ptr(), p.len(), None, ptr::null_mut()) }
}

#[test]
fn feed_merge_write_and_load_back() {
    let a = tmp("a.txt", b"k 1 x@y.org\nk 2\n");
    let b = tmp("b.txt", b"\xff\nj 5 k 1\n");
    let (ra, rb) = (new_report(), new_report());
    let name = "digits";
    let mut pat = ptr::null_mut();
    assert_eq!(
        unsafe { fk_pattern_new(r"\d".as_ptr(), 2, 0, &mut pat) },
        FkStatus::Ok
    );
    for r in [ra, rb] {
        let st = unsafe { fk_report_add_pattern(r, name.as_ptr(), name.len(), pat, FK_REPORT_PATTERN_COUNT) };
        assert_eq!(st, FkStatus::Ok);
    }
    unsafe { fk_pattern_free(pat) }; // the reports keep their own reference
    assert_eq!(feed_file(ra, &a), FkStatus::Ok);
    assert_eq!(feed_file(rb, &b), FkStatus::Ok);
    assert_eq!(unsafe { fk_report_merge(ra, rb) }, FkStatus::Ok);
    let v = json(ra, 0);
    assert_eq!(v["lines"], 4);
    assert_eq!(v["invalid"]["count"], 1);
    assert_eq!(v["kv"]["top"], serde_json::json!([["j", 5], ["k", 4]]));
    assert_eq!(
        v["patterns"]["digits"]["total"], 4,
        "the invalid line counts nothing"
    );

    let out = std::env::temp_dir().join(format!("fk-ffi-report-{}-out.json", std::process::id()));
    let o = out.to_str().unwrap();
    let st = unsafe { fk_report_write_json(ra, FK_REPORT_JSON_FULL, o.as_ptr(), o.len()) };
    assert_eq!(st, FkStatus::Ok);
    let text = std::fs::read(&out).unwrap();
    let mut back = ptr::null_mut();
    assert_eq!(
        unsafe { fk_report_from_json(text.as_ptr(), text.len(), &mut back) },
        FkStatus::Ok
    );
    assert_eq!(json(back, FK_REPORT_JSON_FULL), json(ra, FK_REPORT_JSON_FULL));
    for r in [ra, rb, back] {
        unsafe { fk_report_free(r) };
    }
    unsafe { fk_report_free(ptr::null_mut()) };
    for p in [a, b, out] {
        std::fs::remove_file(p).unwrap();
    }
}

#[test]
fn texts_and_per_document_lines() {
    let r = new_report();
    let per_doc = std::env::temp_dir().join(format!("fk-ffi-report-{}-docs.jsonl", std::process::id()));
    let p = per_doc.to_str().unwrap();
    assert_eq!(
        unsafe { fk_report_set_per_doc(r, p.as_ptr(), p.len()) },
        FkStatus::Ok
    );
    let data = b"a 1\xffb 2 Me@X.com";
    let offs = [0i64, 3, 4, 16];
    let t = FkTexts {
        data: data.as_ptr(),
        data_len: data.len(),
        offsets: offs.as_ptr().cast(),
        n_texts: 3,
        offset_kind: FK_OFFSETS_I64,
        first_index: 0,
    };
    assert_eq!(unsafe { fk_report_feed_texts(r, &t) }, FkStatus::Ok);
    assert_eq!(unsafe { fk_report_set_per_doc(r, ptr::null(), 0) }, FkStatus::Ok);
    let lines = std::fs::read_to_string(&per_doc).unwrap();
    assert_eq!(
        lines,
        "{\"kv\":{\"a\":1},\"emails\":[]}\n{\"invalid\":\"invalid UTF-8 at byte 0 of the line\"}\n\
         {\"kv\":{\"b\":2},\"emails\":[\"me@x.com\"]}\n"
    );
    assert_eq!(json(r, 0)["invalid"]["lines"][0]["index"], 1);
    unsafe { fk_report_free(r) };
    std::fs::remove_file(per_doc).unwrap();
}

unsafe extern "C" fn stop_at_once(calls: *mut c_void, _done: u64, _total: u64) -> i32 {
    *(calls as *mut u32) += 1;
    1
}

#[test]
fn errors_are_statuses_with_messages() {
    let r = new_report();
    let mut out = ptr::null_mut();
    assert_eq!(
        unsafe { fk_report_new(ptr::null(), &mut out) },
        FkStatus::NullPointer
    );
    assert!(last_error().contains("config is NULL"), "{}", last_error());
    assert_eq!(feed_file(r, std::path::Path::new("/nonexistent/x")), FkStatus::Io);
    assert!(last_error().contains("'/nonexistent/x'"), "{}", last_error());
    let st = unsafe { fk_report_feed_file(r, ptr::null(), 3, None, ptr::null_mut()) };
    assert_eq!(st, FkStatus::NullPointer);
    let bad_path = b"a\0b";
    let st = unsafe { fk_report_feed_file(r, bad_path.as_ptr(), 3, None, ptr::null_mut()) };
    assert_eq!(st, FkStatus::InvalidArgument);
    assert!(last_error().contains("NUL"), "{}", last_error());

    let big = tmp("big.txt", &b"k 1\n".repeat(500));
    let mut calls = 0u32;
    let b = big.to_str().unwrap();
    let st = unsafe {
        fk_report_feed_file(
            r,
            b.as_ptr(),
            b.len(),
            Some(stop_at_once),
            (&mut calls as *mut u32).cast(),
        )
    };
    assert_eq!(st, FkStatus::Cancelled);
    assert_eq!(calls, 1);
    assert_eq!(json(r, 0)["complete"], false);

    assert_eq!(unsafe { fk_report_merge(r, r) }, FkStatus::InvalidArgument);
    let mut bytes = ptr::null_mut();
    assert_eq!(
        unsafe { fk_report_to_json(r, 8, &mut bytes) },
        FkStatus::InvalidArgument
    );
    assert!(last_error().contains("unknown JSON flags"), "{}", last_error());
    assert_eq!(
        unsafe { fk_report_from_json(b"{}".as_ptr(), 2, &mut out) },
        FkStatus::InvalidArgument
    );
    let nope = "/nonexistent/dir/out.json";
    let st = unsafe { fk_report_write_json(r, 0, nope.as_ptr(), nope.len()) };
    assert_eq!(st, FkStatus::Io);
    assert!(last_error().contains(nope), "{}", last_error());
    let name = "late";
    let mut pat = ptr::null_mut();
    assert_eq!(
        unsafe { fk_pattern_new(b"x".as_ptr(), 1, 0, &mut pat) },
        FkStatus::Ok
    );
    let st = unsafe { fk_report_add_pattern(r, name.as_ptr(), name.len(), pat, FK_REPORT_PATTERN_FINDALL) };
    assert_eq!(
        st,
        FkStatus::InvalidArgument,
        "patterns only before the first feed"
    );
    let st = unsafe { fk_report_add_pattern(r, name.as_ptr(), name.len(), pat, 7) };
    assert_eq!(st, FkStatus::InvalidArgument);
    unsafe { fk_pattern_free(pat) };

    // A handle of the wrong type is refused by its tag.
    let st = unsafe { fk_report_feed_texts(pat.cast(), ptr::null()) };
    assert!(
        matches!(st, FkStatus::InvalidHandle | FkStatus::NullPointer),
        "{st:?}"
    );
    unsafe { fk_report_free(r) };
    std::fs::remove_file(big).unwrap();
}
