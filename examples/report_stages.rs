//! Per-stage cost of the streaming report on one core (issue 8): reading, inflating, line
//! splitting, JSON field extraction, UTF-8 validation, kv, emails, tallying, merging, each
//! timed alone over the same input, in ns per input byte.
//!
//! ```sh
//! python3 bench/corpus.py social 200 /tmp/social.jsonl
//! cargo run --release --example report_stages -- /tmp/social.jsonl content
//! cargo run --release --example report_stages -- /tmp/mixed.txt        # plain lines
//! ```

use std::path::Path;

use ferrokern::report::{stages, Config};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: report_stages FILE [JSON_FIELD]");
        std::process::exit(2);
    };
    let cfg = Config {
        text_field: args.get(1).cloned(),
        ..Config::default()
    };
    // Twice: the first run warms the page cache and the allocator; the second is printed.
    let _ = stages::measure(Path::new(path), &cfg);
    let (st, bytes) = match stages::measure(Path::new(path), &cfg) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}", e.message);
            std::process::exit(1);
        }
    };
    println!("{bytes} bytes (decompressed), one thread\n");
    println!("| stage | ns/byte | MB/s | what |\n|---|---:|---:|---|");
    for s in &st {
        let ns = s.seconds * 1e9 / bytes as f64;
        println!(
            "| {} | {ns:.2} | {:.0} | {} |",
            s.name,
            bytes as f64 / s.seconds / 1e6,
            s.note
        );
    }
}
