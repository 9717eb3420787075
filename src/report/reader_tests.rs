//! Tests of `reader.rs` (a file of their own to keep the reader short).

use super::*;
use std::io::Write;
use std::path::PathBuf;

fn tmp(name: &str, data: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("fk-reader-{}-{name}", std::process::id()));
    File::create(&p).unwrap().write_all(data).unwrap();
    p
}

/// Every line the source hands over, with its stream offset; an overlong line as
/// `<overlong content_len raw_len>`.
fn lines(p: &Path, range: Option<(u64, u64)>, chunk: usize, max_line: usize) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let src = Source::open(p, range).unwrap();
    src.run(chunk, max_line, |pr| {
        match pr.item {
            Item::Lines { data, base } => {
                let mut off = base;
                for l in data.split_inclusive(|&b| b == b'\n') {
                    out.push((off, String::from_utf8_lossy(l).into_owned()));
                    off += l.len() as u64;
                }
            }
            Item::Overlong {
                offset,
                content_len,
                raw_len,
                head,
            } => {
                assert!(head.len() <= 1024);
                out.push((offset, format!("<overlong {content_len} {raw_len}>")));
            }
        }
        true
    })
    .unwrap();
    out
}

fn sample() -> Vec<u8> {
    let mut d = Vec::new();
    for i in 0..60 {
        d.extend_from_slice(format!("line {i} {}\n", "y".repeat(i % 23)).as_bytes());
    }
    d.extend_from_slice(b"\n\nlast without newline");
    d
}

#[test]
fn byte_ranges_partition_the_lines() {
    let data = sample();
    let p = tmp("ranges", &data);
    let whole = lines(&p, None, 64, 1 << 20);
    assert_eq!(whole.len(), 63);
    assert_eq!(whole.last().unwrap().1, "last without newline");
    let size = data.len() as u64;
    for cut in 0..=size {
        let mut both = lines(&p, Some((0, cut)), 32, 1 << 20);
        both.extend(lines(&p, Some((cut, size)), 48, 1 << 20));
        assert_eq!(both, whole, "split at byte {cut}");
    }
    // `RANGE_TO_END` reads to the end; any other end past the file means the file shrank
    // since the range was planned: an error, not a silent clamp (issue 12, item 6); an
    // inverted range is refused.
    assert_eq!(lines(&p, Some((0, RANGE_TO_END)), 64, 1 << 20), whole);
    assert_eq!(lines(&p, Some((size, RANGE_TO_END)), 64, 1 << 20), vec![]);
    let e = Source::open(&p, Some((0, size + 1))).err().unwrap();
    assert!(
        e.message.contains("ends at") && e.message.contains("shorter than planned"),
        "{}",
        e.message
    );
    assert!(Source::open(&p, Some((5, 4))).is_err());
    // A start at the end is an empty range; past it, the file is shorter than planned.
    assert!(lines(&p, Some((size, size)), 64, 1 << 20).is_empty());
    let e = Source::open(&p, Some((size + 1, size + 10))).err().unwrap();
    assert!(e.message.contains("past the end of the file"), "{}", e.message);
    std::fs::remove_file(p).unwrap();
}

#[test]
fn overlong_lines_are_skipped_whatever_the_chunk() {
    let mut data = b"a 1\n".to_vec();
    data.extend(std::iter::repeat_n(b'x', 3000));
    data.extend_from_slice(b"\r\nb 2\n");
    data.extend(std::iter::repeat_n(b'z', 10));
    let p = tmp("overlong", &data);
    let want = vec![
        (0, "a 1\n".to_string()),
        (4, "<overlong 3000 3002>".to_string()),
        (3006, "b 2\n".to_string()),
        (3010, "z".repeat(10)),
    ];
    // The reader only skips a line longer than its chunk; a shorter one is handed over
    // and judged by the processor.
    for chunk in [16, 100, 1024] {
        assert_eq!(lines(&p, None, chunk, 20), want, "chunk {chunk}");
    }
    assert_eq!(lines(&p, None, 4096, 20)[1].1.len(), 3002);
    // A line of exactly the limit (its '\r' not counted) is not overlong.
    assert_eq!(
        lines(&p, None, 16, 3000)[1],
        (4, format!("{}\r\n", "x".repeat(3000)))
    );
    std::fs::remove_file(p).unwrap();
}

#[test]
fn gzip_is_read_whole_and_cannot_be_split() {
    let data = sample();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&data).unwrap();
    let gz = enc.finish().unwrap();
    let (plain, zipped) = (tmp("plain", &data), tmp("gz", &gz));
    assert_eq!(
        lines(&zipped, None, 64, 1 << 20),
        lines(&plain, None, 64, 1 << 20)
    );
    assert_eq!(lines(&zipped, Some((0, gz.len() as u64)), 64, 1 << 20).len(), 63);
    let e = Source::open(&zipped, Some((0, 10))).err().unwrap();
    assert!(e.message.contains("cannot be split"), "{}", e.message);
    for p in [plain, zipped] {
        std::fs::remove_file(p).unwrap();
    }
}

#[test]
fn gzip_members_and_zero_padding_read_like_gzip_dc() {
    let data = sample();
    let half = data.len() / 2;
    let mut gz = Vec::new();
    for part in [&data[..half], &data[half..], &b""[..]] {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(part).unwrap();
        gz.extend(enc.finish().unwrap());
    }
    let plain = tmp("pad-plain", &data);
    let want = lines(&plain, None, 64, 1 << 20);
    // Three members (the last one empty: it ends in zero bytes of its own), then padding.
    for pad in [0usize, 1, 512, 100_000] {
        let mut padded = gz.clone();
        padded.extend(std::iter::repeat_n(0u8, pad));
        let p = tmp("padded", &padded);
        assert_eq!(lines(&p, None, 64, 1 << 20), want, "{pad} zero bytes of padding");
        std::fs::remove_file(p).unwrap();
    }
    // Garbage after the padding is still an error.
    let mut bad = gz.clone();
    bad.extend_from_slice(b"\0\0junk");
    let p = tmp("padded-junk", &bad);
    let src = Source::open(&p, None).unwrap();
    let e = src.run(64, 1 << 20, |_| true).err().unwrap();
    assert!(e.message.contains("corrupt gzip"), "{}", e.message);
    for p in [plain, p] {
        std::fs::remove_file(p).unwrap();
    }
}

#[test]
fn emit_can_stop_the_reader() {
    let p = tmp("stop", &sample());
    let mut calls = 0;
    Source::open(&p, None)
        .unwrap()
        .run(16, 1 << 20, |_| {
            calls += 1;
            false
        })
        .unwrap();
    assert_eq!(calls, 1);
    std::fs::remove_file(p).unwrap();
}

#[test]
fn split_ranges_cover_the_size() {
    assert_eq!(split_ranges(10, 4), [(0, 4), (4, 8), (8, 10)]);
    assert_eq!(split_ranges(0, 4), [(0, 0)]);
    assert_eq!(split_ranges(3, 0), [(0, 1), (1, 2), (2, 3)]);
}

/// `data` as BGZF (what `bgzip` writes): members of `block` input bytes, each a gzip
/// member whose header carries its compressed size in the 'BC' subfield, then the empty
/// end-of-file member.
fn bgzf(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut parts: Vec<&[u8]> = data.chunks(block).collect();
    parts.push(b"");
    for part in parts {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(part).unwrap();
        let deflated = enc.finish().unwrap();
        let bsize = (18 + deflated.len() + 8 - 1) as u16;
        out.extend_from_slice(&[0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0]);
        out.extend_from_slice(&bsize.to_le_bytes());
        out.extend_from_slice(&deflated);
        out.extend_from_slice(&crc32fast::hash(part).to_le_bytes());
        out.extend_from_slice(&(part.len() as u32).to_le_bytes());
    }
    out
}

fn run_err(p: &Path) -> String {
    let src = Source::open(p, None).unwrap();
    src.run(64, 1 << 20, |_| true).err().unwrap().message
}

#[test]
fn bgzf_reads_like_the_plain_file_on_one_and_two_threads() {
    // A corpus of many members, so that batches (1 MiB of output) hold many and lines
    // cross member boundaries anywhere; small members (7 bytes) cut lines everywhere.
    let mut data = Vec::new();
    for i in 0..40_000 {
        data.extend_from_slice(format!("line {i} {}\n", "é".repeat(i % 31)).as_bytes());
    }
    data.extend_from_slice(b"last without newline");
    let plain = tmp("bgzf-plain", &data);
    for threads in [1, 2] {
        crate::parallel::set_local_threads(threads).unwrap();
        for (block, chunk) in [(65280, 1 << 16), (7, 1000), (1000, 64)] {
            let z = tmp("bgzf", &bgzf(&data, block));
            assert_eq!(
                lines(&z, None, chunk, 1 << 20),
                lines(&plain, None, chunk, 1 << 20),
                "{threads} threads, members of {block} bytes, chunks of {chunk}"
            );
            std::fs::remove_file(z).unwrap();
        }
    }
    crate::parallel::set_local_threads(0).unwrap();
    std::fs::remove_file(plain).unwrap();
}

#[test]
fn bgzf_then_plain_members_and_padding_read_like_gzip_dc() {
    let data = sample();
    let half = data.len() / 2;
    let mut z = bgzf(&data[..half], 100);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&data[half..]).unwrap();
    z.extend(enc.finish().unwrap());
    z.extend(bgzf(b"", 10));
    let plain = tmp("bgzf-mixed-plain", &data);
    let want = lines(&plain, None, 64, 1 << 20);
    for pad in [0usize, 3, 70_000] {
        let mut padded = z.clone();
        padded.extend(std::iter::repeat_n(0u8, pad));
        let p = tmp("bgzf-mixed", &padded);
        assert_eq!(lines(&p, None, 64, 1 << 20), want, "{pad} zero bytes of padding");
        std::fs::remove_file(p).unwrap();
    }
    // Padding straight after BGZF members, then garbage: an error.
    let mut bad = bgzf(&data, 100);
    bad.extend_from_slice(b"\0\0junk");
    let p = tmp("bgzf-junk", &bad);
    assert!(run_err(&p).contains("corrupt gzip"), "{}", run_err(&p));
    for p in [plain, p] {
        std::fs::remove_file(p).unwrap();
    }
}

#[test]
fn truncated_or_corrupt_bgzf_is_an_error() {
    let data = sample();
    let z = bgzf(&data, 200);
    let first = u16::from_le_bytes([z[16], z[17]]) as usize + 1;
    // Cut anywhere past the first member's header: in a header, in a member's data, or
    // exactly at a member boundary before the end-of-file member is missing (that last
    // is a complete gzip stream, as `gzip -dc` sees it; only cuts inside members are
    // truncations).
    for cut in [first + 5, first + 17, first + 40, z.len() - 3] {
        let p = tmp("bgzf-cut", &z[..cut]);
        let e = run_err(&p);
        assert!(
            e.contains("truncated gzip") && e.contains("cut short"),
            "cut at {cut}: {e}"
        );
        std::fs::remove_file(p).unwrap();
    }
    // A flipped byte in the deflate data or the CRC of the second member.
    let second = u16::from_le_bytes([z[first + 16], z[first + 17]]) as usize + 1;
    for at in [first + 20, first + second - 6] {
        let mut bad = z.clone();
        bad[at] ^= 0x55;
        let p = tmp("bgzf-bad", &bad);
        let e = run_err(&p);
        assert!(
            e.contains("corrupt gzip") && e.contains(&format!("compressed byte {first}")),
            "flip at {at}: {e}"
        );
        std::fs::remove_file(p).unwrap();
    }
}
