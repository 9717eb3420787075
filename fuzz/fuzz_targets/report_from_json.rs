//! `fk_report_from_json` on arbitrary bytes, through the C entry point: never a panic at the
//! boundary; a report it accepts writes JSON that loads again to the same JSON (round trip).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ptr;

use ferrokern::ffi::report::{
    fk_bytes_data, fk_bytes_free, fk_report_free, fk_report_from_json, fk_report_to_json, FkReport,
    FK_REPORT_JSON_FULL,
};
use ferrokern::ffi::FkStatus;

/// The full JSON of a report.
fn to_json(r: *const FkReport) -> Vec<u8> {
    let mut b = ptr::null_mut();
    // SAFETY: `r` is a live report; `b` is a valid out-pointer.
    assert_eq!(
        unsafe { fk_report_to_json(r, FK_REPORT_JSON_FULL, &mut b) },
        FkStatus::Ok
    );
    let (mut p, mut n) = (ptr::null(), 0);
    // SAFETY: `b` is the live buffer just returned; the out-pointers are valid.
    assert_eq!(unsafe { fk_bytes_data(b, &mut p, &mut n) }, FkStatus::Ok);
    // SAFETY: `p` points to `n` bytes owned by `b`, which is freed only after the copy.
    let v = unsafe { std::slice::from_raw_parts(p, n) }.to_vec();
    // SAFETY: `b` is live and not used again.
    unsafe { fk_bytes_free(b) };
    v
}

fuzz_target!(|data: &[u8]| {
    let mut r = ptr::null_mut();
    // SAFETY: `data` is readable for its length; `r` is a valid out-pointer.
    let st = unsafe { fk_report_from_json(data.as_ptr(), data.len(), &mut r) };
    assert!(!matches!(st, FkStatus::Panic | FkStatus::Internal), "{st:?}");
    if st != FkStatus::Ok {
        assert!(r.is_null());
        return;
    }
    let json = to_json(r);
    let mut again = ptr::null_mut();
    // SAFETY: as above.
    let st = unsafe { fk_report_from_json(json.as_ptr(), json.len(), &mut again) };
    assert_eq!(
        st,
        FkStatus::Ok,
        "a report's own JSON must load: {}",
        String::from_utf8_lossy(&json)
    );
    assert_eq!(to_json(again), json, "the round trip changed the report");
    // SAFETY: both are live and not used again.
    unsafe {
        fk_report_free(r);
        fk_report_free(again);
    }
});
