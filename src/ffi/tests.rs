use super::*;
use std::ffi::CStr;

fn last() -> String {
    // SAFETY: the library returns a NUL-terminated string valid until the next call.
    unsafe { CStr::from_ptr(fk_last_error_message()) }
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_panic_becomes_a_status_and_a_message() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // keep the test output clean
    let st = guard(|| panic!("boom {}", 42));
    std::panic::set_hook(prev);
    assert_eq!(st, FkStatus::Panic);
    assert!(last().contains("boom 42"), "{}", last());
    assert_eq!(guard(|| Ok(())), FkStatus::Ok);
    assert_eq!(last(), "", "a successful call clears the message");
}

#[test]
fn errors_map_to_statuses_and_messages_are_per_thread() {
    let st = guard(|| Err(Error::new(ErrorKind::Dtype, "want f64").into()));
    assert_eq!(st, FkStatus::Dtype);
    std::thread::spawn(|| assert_eq!(last(), "")).join().unwrap();
    assert_eq!(last(), "want f64");
    assert_eq!(
        guard(|| Err(Error::invalid("nul \0 inside").into())),
        FkStatus::InvalidArgument
    );
    assert_eq!(last(), "nul \\0 inside");
}

#[test]
fn pointer_checks() {
    // SAFETY: every pointer given is NULL, or into `v` with a length the checks reject
    // before any read.
    unsafe {
        assert!(slice_arg::<u8>(std::ptr::null(), 0, "x").unwrap().is_empty());
        assert_eq!(
            slice_arg::<u8>(std::ptr::null(), 1, "x").unwrap_err().kind,
            ErrorKind::NullPointer
        );
        let v = [0u64; 4];
        let mis = (v.as_ptr() as *const u8).add(1) as *const u64;
        assert!(slice_arg(mis, 1, "x").unwrap_err().message.contains("aligned"));
        assert!(slice_arg(v.as_ptr(), usize::MAX / 2, "x")
            .unwrap_err()
            .message
            .contains("overflows"));
    }
    assert!(check_no_overlap(0..10, 5..15, "f").is_err());
    assert!(check_no_overlap(0..10, 10..15, "f").is_ok());
}
