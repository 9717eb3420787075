//! The file/gzip line reader (`report::reader::Source`) on arbitrary file contents, chunk
//! sizes and line limits: never a panic; for a plain file every byte is accounted for once
//! (in a chunk of lines or in a skipped overlong line), and two byte ranges that split the
//! file see exactly what the whole file does. gzip input (magic 1f 8b) is decompressed:
//! corrupt or truncated streams must be errors, not panics.
//! Input: chunk selector, line-limit selector, split selector, then the file's bytes.
#![no_main]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ferrokern::report::reader::{Item, Source};

/// `end` meaning "to the end of the file" (`FK_RANGE_TO_END`).
const RANGE_TO_END: u64 = u64::MAX;
use libfuzzer_sys::fuzz_target;

fn path() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| std::env::temp_dir().join(format!("fk-fuzz-reader-{}", std::process::id())))
}

/// (bytes in line chunks, their concatenation, overlong lines' raw bytes), or the error.
fn read(range: Option<(u64, u64)>, chunk: usize, max_line: usize) -> Result<(Vec<u8>, u64), String> {
    let src = Source::open(path(), range).map_err(|e| e.message.clone())?;
    let (mut lines, mut skipped) = (Vec::new(), 0u64);
    src.run(chunk, max_line, |p| {
        match p.item {
            Item::Lines { data, .. } => lines.extend_from_slice(&data),
            Item::Overlong { raw_len, .. } => skipped += raw_len,
        }
        true
    })
    .map_err(|e| e.message.clone())?;
    Ok((lines, skipped))
}

fuzz_target!(|data: &[u8]| {
    let [c, m, s, file @ ..] = data else { return };
    let chunk = 256 + *c as usize * 8;
    let max_line = 1 + *m as usize * 4;
    std::fs::File::create(path()).unwrap().write_all(file).unwrap();
    let whole = read(None, chunk, max_line);
    if file.starts_with(&[0x1f, 0x8b]) {
        return; // gzip: no panic is the property (errors are expected for corrupt streams)
    }
    let (lines, skipped) = whole.expect("a plain file always reads");
    assert_eq!(
        lines.len() as u64 + skipped,
        file.len() as u64,
        "bytes lost or doubled"
    );
    let cut = (*s as u64 * file.len() as u64) / 255;
    let a = read(Some((0, cut)), chunk, max_line).expect("first range");
    let b = read(Some((cut, RANGE_TO_END)), chunk, max_line).expect("second range");
    let mut both = a.0;
    both.extend_from_slice(&b.0);
    assert_eq!(both, lines, "split at {cut}: ranges disagree with the whole file");
    assert_eq!(a.1 + b.1, skipped);
});
