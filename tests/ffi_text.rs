//! The text exports called as C would call them, through the Rust library.

use std::ffi::CStr;
use std::ptr;

use ferrokern::ffi::text::*;
use ferrokern::ffi::*;

fn batch(texts: &[&str]) -> (Vec<u8>, Vec<i64>) {
    let mut data = Vec::new();
    let mut offs = vec![0i64];
    for t in texts {
        data.extend_from_slice(t.as_bytes());
        offs.push(data.len() as i64);
    }
    (data, offs)
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(fk_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn extract_and_aggregate_through_the_abi() {
    let (data, offs) = batch(&["a 1 b 2 a 3", "价 12"]);
    let t = FkTexts {
        data: data.as_ptr(),
        data_len: data.len(),
        offsets: offs.as_ptr().cast(),
        n_texts: 2,
        offset_kind: FK_OFFSETS_I64,
        first_index: 0,
    };
    let mut h = ptr::null_mut();
    assert_eq!(
        unsafe { fk_extract_and_aggregate(&t, 4300, &mut h) },
        FkStatus::Ok
    );
    let mut v = std::mem::MaybeUninit::<FkKeySumsView>::uninit();
    assert_eq!(unsafe { fk_key_sums_view(h, v.as_mut_ptr()) }, FkStatus::Ok);
    let v = unsafe { v.assume_init() };
    assert_eq!(v.n_entries, 3);
    let values = unsafe { std::slice::from_raw_parts(v.values, 3) };
    assert_eq!(values, [4, 2, 12]);
    unsafe { fk_key_sums_free(h) };
    unsafe { fk_key_sums_free(ptr::null_mut()) };
}

#[test]
fn big_sums_are_flagged_per_entry() {
    let (data, offs) = batch(&["k 18446744073709551615 k 18446744073709551615 j 5"]);
    let t = FkTexts {
        data: data.as_ptr(),
        data_len: data.len(),
        offsets: offs.as_ptr().cast(),
        n_texts: 1,
        offset_kind: FK_OFFSETS_I64,
        first_index: 0,
    };
    let mut h = ptr::null_mut();
    assert_eq!(
        unsafe { fk_extract_and_aggregate(&t, 4300, &mut h) },
        FkStatus::Ok
    );
    let (mut p, mut n) = (ptr::null(), 0usize);
    assert_eq!(
        unsafe { fk_key_sums_big_value(h, 0, &mut p, &mut n) },
        FkStatus::Ok
    );
    assert_eq!(
        unsafe { std::slice::from_raw_parts(p, n) },
        b"36893488147419103230"
    );
    assert_eq!(
        unsafe { fk_key_sums_big_value(h, 1, &mut p, &mut n) },
        FkStatus::Ok
    );
    assert!(p.is_null() && n == 0);
    assert_eq!(
        unsafe { fk_key_sums_big_value(h, 2, &mut p, &mut n) },
        FkStatus::InvalidArgument
    );
    assert!(
        last_error().contains("entry 2 is out of range"),
        "{}",
        last_error()
    );
    unsafe { fk_key_sums_free(h) };
}

#[test]
fn bad_inputs_give_statuses_not_crashes() {
    let mut h = ptr::null_mut();
    assert_eq!(
        unsafe { fk_extract_emails(ptr::null(), &mut h) },
        FkStatus::NullPointer
    );
    assert!(last_error().contains("texts is NULL"));
    let (data, _) = batch(&["x"]);
    let offs = [0i64, 5];
    let t = FkTexts {
        data: data.as_ptr(),
        data_len: data.len(),
        offsets: offs.as_ptr().cast(),
        n_texts: 1,
        offset_kind: FK_OFFSETS_I64,
        first_index: 0,
    };
    assert_eq!(
        unsafe { fk_extract_emails(&t, &mut h) },
        FkStatus::InvalidArgument
    );
    assert!(
        last_error().contains("exceeds the data length 1"),
        "{}",
        last_error()
    );
    let mut p = ptr::null_mut();
    assert_eq!(
        unsafe { fk_pattern_new(b"(?<=a)b".as_ptr(), 7, 0, &mut p) },
        FkStatus::PatternUnsupported
    );
    assert!(p.is_null());
}

#[test]
fn messages_name_the_callers_index() {
    let data = b"ok\xff";
    let offs = [0i64, 2, 3];
    let t = FkTexts {
        data: data.as_ptr(),
        data_len: 3,
        offsets: offs.as_ptr().cast(),
        n_texts: 2,
        offset_kind: FK_OFFSETS_I64,
        first_index: 4000,
    };
    let mut h = ptr::null_mut();
    assert_eq!(unsafe { fk_extract_emails(&t, &mut h) }, FkStatus::InvalidUtf8);
    assert!(
        last_error().starts_with("text 4001 is not valid UTF-8"),
        "{}",
        last_error()
    );
}
