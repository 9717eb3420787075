//! Micro-benchmark behind docs/report.md's "Fourteenth round": does sorting a spill's keys
//! in cache-sized chunks and k-way merging the chunks beat one sort of the whole set?
//! (the question of a sort-based path at high cardinality). 2^20 sort entries shaped like
//! issue 9's kv keys (`user` + 12 random hex digits, two big-endian words and an index, as
//! `report::keys::SortEntry`), sorted whole and in chunks as the spill sorts them
//! (`sort_unstable_by_key` on the three words), then the chunks merged with a binary heap.
//! Best of five, std only, outside the crate:
//!
//!     rustc -O --edition 2021 bench/sort_chunks.rs -o /tmp/sort_chunks && /tmp/sort_chunks
use std::time::Instant;
type E = [u64; 3];
fn key(i: u64, x: u64) -> E {
    // "user" + 12 hex digits of x, as two big-endian words
    let hex = |v: u64| -> u8 {
        let d = (v & 15) as u8;
        if d < 10 {
            b'0' + d
        } else {
            b'a' + d - 10
        }
    };
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(b"user");
    for k in 0..12 {
        b[4 + k] = hex(x >> (4 * (11 - k)));
    }
    [
        u64::from_be_bytes(b[..8].try_into().unwrap()),
        u64::from_be_bytes(b[8..].try_into().unwrap()),
        (16u64 << 32) | i,
    ]
}
fn rng(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}
fn main() {
    let n: usize = 1 << 20;
    let mut s = 0x9E3779B97F4A7C15u64;
    let base: Vec<E> = (0..n as u64)
        .map(|i| key(i, rng(&mut s) & ((1 << 48) - 1)))
        .collect();
    for chunk in [n, 1 << 17, 1 << 15, 1 << 13] {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let mut v = base.clone();
            let t = Instant::now();
            for c in v.chunks_mut(chunk) {
                c.sort_unstable_by_key(|e| (e[0], e[1], e[2]));
            }
            best = best.min(t.elapsed().as_secs_f64());
            std::hint::black_box(&v);
        }
        println!("sort in chunks of {chunk}: {:.1} ns/key", best * 1e9 / n as f64);
    }
    // k-way merge of sorted chunks (binary heap of run heads), counting keys out
    for chunk in [1 << 15, 1 << 13] {
        let mut v = base.clone();
        for c in v.chunks_mut(chunk) {
            c.sort_unstable_by_key(|e| (e[0], e[1], e[2]));
        }
        let runs: Vec<&[E]> = v.chunks(chunk).collect();
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            let mut heap = std::collections::BinaryHeap::new();
            for (r, run) in runs.iter().enumerate() {
                heap.push(std::cmp::Reverse(((run[0][0], run[0][1], run[0][2]), r, 0usize)));
            }
            let mut out = 0u64;
            let mut last = (0, 0, 0);
            while let Some(std::cmp::Reverse((k, r, j))) = heap.pop() {
                out = out.wrapping_add(k.2 ^ last.0);
                last = k;
                if j + 1 < runs[r].len() {
                    let e = runs[r][j + 1];
                    heap.push(std::cmp::Reverse(((e[0], e[1], e[2]), r, j + 1)));
                }
            }
            best = best.min(t.elapsed().as_secs_f64());
            std::hint::black_box(out);
        }
        println!(
            "k-way merge of {} runs of {chunk}: {:.1} ns/key",
            n / chunk,
            best * 1e9 / n as f64
        );
    }
}
