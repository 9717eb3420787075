//! JSON-lines field extraction (`report::jsonl::json_text_field`, the streaming extractor
//! that skips everything but one field) against the slow path: parse the whole line into a
//! `serde_json::Value` and index it. Input: one byte choosing the field name, then the line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const FIELDS: [&str; 4] = ["text", "t", "", "body"];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, line)) = data.split_first() else {
        return;
    };
    let field = FIELDS[sel as usize % FIELDS.len()];
    let fast = ferrokern::fuzz_api::json_text_field(line, field);
    // Only where the slow path parses the line does it give an answer to compare with: the
    // fast path skips the other fields without building them, so it may accept a line whose
    // *other* parts the full parse rejects (documented in docs/guarantees.md).
    match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(m)) => match m.get(field) {
            Some(Value::String(s)) => match &fast {
                Ok(got) => assert_eq!(got.as_ref(), s.as_str()),
                Err(e) => panic!("fast path refused a line the full parse accepts: {e}"),
            },
            _ => assert!(fast.is_err(), "field {field:?} is not a string, yet extracted"),
        },
        Ok(_) => assert!(fast.is_err(), "not an object, yet a field extracted"),
        Err(_) => {}
    }
});
