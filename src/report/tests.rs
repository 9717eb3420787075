use super::*;

fn corpus() -> Vec<u8> {
    let mut s = Vec::new();
    for i in 0..3000 {
        match i % 7 {
            0 => s.extend_from_slice(b"\xff\xfe garbage 1\n"),
            1 => s.extend_from_slice(
                format!("Mail Bob{}@Example.com key{} {}\r\n", i % 5, i % 11, i).as_bytes(),
            ),
            2 => s.extend_from_slice("价格 12 数量 3 li@163.com\n".as_bytes()),
            3 => s.extend_from_slice(b"\n"),
            4 => s.extend_from_slice(format!("big {}\n", "9".repeat(30)).as_bytes()),
            _ => s.extend_from_slice(format!("k{} {} x{} {} a@b.org\n", i % 13, i, i % 3, i * 7).as_bytes()),
        }
    }
    s.extend_from_slice(b"last 5"); // no final newline
    s
}

fn tmp(name: &str, data: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("fk-report-{}-{name}", std::process::id()));
    std::fs::File::create(&p).unwrap().write_all(data).unwrap();
    p
}

fn json(r: &Report) -> String {
    let mut v = Vec::new();
    json::write_report(r, &mut v, true, false).unwrap();
    String::from_utf8(v).unwrap()
}

fn cfg(chunk: usize) -> Config {
    let mut c = Config {
        chunk_bytes: chunk,
        ..Config::default()
    };
    c.add_pattern(
        "words",
        Pattern::new(r"k(\d+)", false).unwrap(),
        PatternMode::Findall,
    )
    .unwrap();
    c.add_pattern("ats", Pattern::new(r"@", false).unwrap(), PatternMode::Count)
        .unwrap();
    c
}

fn run_file(c: Config, p: &Path, range: Option<(u64, u64)>) -> Report {
    let mut r = Report::new(c).unwrap();
    r.feed_file(p, range, &mut |_, _| true).unwrap();
    r
}

#[test]
fn same_report_for_any_chunking_threads_and_split() {
    let data = corpus();
    let p = tmp("split", &data);
    parallel::set_threads(1).unwrap();
    let one = json(&run_file(cfg(1 << 20), &p, None));
    parallel::set_threads(3).unwrap();
    let small = json(&run_file(cfg(300), &p, None));
    assert_eq!(one, small);
    for parts in [2u64, 3, 7, 50] {
        let size = data.len() as u64;
        let mut merged = Report::new(cfg(1000)).unwrap();
        for k in 0..parts {
            let r = run_file(cfg(512), &p, Some((size * k / parts, size * (k + 1) / parts)));
            merged.merge(&r).unwrap();
        }
        assert_eq!(one, json(&merged), "{parts} parts");
    }
    parallel::set_threads(0).unwrap();
    let back = json::read_report(one.as_bytes()).unwrap();
    assert_eq!(one, json(&back));
    std::fs::remove_file(p).unwrap();
}

#[test]
fn texts_and_lines_agree_on_counts() {
    let data = corpus();
    let p = tmp("texts", &data);
    let from_file = run_file(cfg(4096), &p, None);
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let mut buf = Vec::new();
    let mut offs = vec![0i64];
    for l in &lines {
        buf.extend_from_slice(l.strip_suffix(b"\r").unwrap_or(l));
        offs.push(buf.len() as i64);
    }
    let b = TextBatch::new(&buf, crate::text::Offsets::I64(&offs)).unwrap();
    let mut r = Report::new(cfg(4096)).unwrap();
    r.feed_texts(&b).unwrap();
    assert_eq!(r.tally.kv, from_file.tally.kv);
    assert_eq!(r.tally.emails, from_file.tally.emails);
    assert_eq!(r.tally.documents, from_file.tally.documents);
    assert_eq!(r.tally.invalid_count, from_file.tally.invalid_count);
    assert!(r.tally.invalid_count > 0);
    std::fs::remove_file(p).unwrap();
}

#[test]
fn gzip_whole_and_truncated() {
    let data = corpus();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&data).unwrap();
    let gz = enc.finish().unwrap();
    let plain = tmp("plain", &data);
    let good = tmp("good.gz", &gz);
    let want = json(&run_file(cfg(700), &plain, None));
    let got = json(&run_file(cfg(700), &good, None));
    assert_eq!(
        want,
        got.replace(&*good.to_string_lossy(), &plain.to_string_lossy())
    );
    let mut r = Report::new(cfg(700)).unwrap();
    let e = r.feed_file(&good, Some((0, 10)), &mut |_, _| true).unwrap_err();
    assert!(e.message.contains("cannot be split"), "{}", e.message);
    let cut = tmp("cut.gz", &gz[..gz.len() / 2]);
    let mut r = Report::new(cfg(700)).unwrap();
    let e = r.feed_file(&cut, None, &mut |_, _| true).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Data);
    assert!(
        e.message.contains(&format!("ends at byte {}", gz.len() / 2)),
        "{}",
        e.message
    );
    assert!(!r.is_complete());
    for p in [plain, good, cut] {
        std::fs::remove_file(p).unwrap();
    }
}

#[test]
fn overlong_lines_are_invalid_whatever_the_chunk() {
    let mut data = b"a 1\n".to_vec();
    data.extend(std::iter::repeat_n(b'x', 5000));
    data.extend_from_slice(b" 7\r\nb 2\nxxxxxxxxx 3\n");
    let p = tmp("long", &data);
    let mut outs = Vec::new();
    for chunk in [256, 1000, 100_000] {
        let c = Config {
            chunk_bytes: chunk,
            max_line_bytes: 1000,
            ..Config::default()
        };
        let r = run_file(c, &p, None);
        assert_eq!(r.tally.invalid_count, 1);
        assert_eq!(
            r.tally.invalid[0].reason,
            "line of 5002 bytes exceeds the limit of 1000 bytes"
        );
        assert_eq!(r.tally.documents, 3);
        outs.push(json(&r));
    }
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
    std::fs::remove_file(p).unwrap();
}

#[test]
fn missing_file_names_it() {
    let mut r = Report::new(Config::default()).unwrap();
    let e = r
        .feed_file(Path::new("/nonexistent/x.txt"), None, &mut |_, _| true)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(
        e.message.contains("'/nonexistent/x.txt'") && e.message.contains("os error 2"),
        "{}",
        e.message
    );
}

#[test]
fn big_sums_round_trip_exactly() {
    let p = tmp("big", format!("k {0}\nk {0}\nj 1\n", "9".repeat(40)).as_bytes());
    let r = run_file(Config::default(), &p, None);
    let j = json(&r);
    assert!(j.contains(&format!("[\"k\",1{}8]", "9".repeat(39))), "{j}");
    assert_eq!(json(&json::read_report(j.as_bytes()).unwrap()), j);
    std::fs::remove_file(p).unwrap();
}
