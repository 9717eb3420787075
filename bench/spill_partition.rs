//! Micro-benchmark behind docs/report.md's "Fifteenth round": what does a spill cost per
//! key when its run is sorted by key (what `spill.rs` does) against one that scatters the
//! map's keys by hash into partitions, unsorted (hash-partitioned external aggregation,
//! which would leave the ordering to the output)?
//!
//! The map is laid out as `report::keys::KeyMap` holds it: keys in an arena in insertion
//! order, a slot (offset, length) and a value per key. 2^20 keys of issue 9's corpus, half
//! its kv keys (`user` + 12 random hex digits, 16 bytes) and half its emails
//! (`u` + 12 hex digits + `@x` + up to 4 digits + `.com`, 21-24 bytes).
//!
//! * sorted: one 24-byte sort entry per key (16 key bytes, the real-byte count and the
//!   index, as `KeyMap::sort_entries` builds them), `sort_unstable_by_key`, then a walk in
//!   key order that reads each key (from its entry when it fits, else from the arena) and
//!   value with the slot and value prefetched ahead as `spill_map` does, front-coding each
//!   key against the one before into the run's buffer.
//! * partitioned: a walk in slot order (the arena and the values read front to back) that
//!   hashes each key (Fx, as `keys::hash_key`) and appends its length, bytes and value to
//!   one of 64 partition buffers.
//!
//! Both write the same values as varints; neither writes to a file (what the file costs is
//! the same per byte). Best of five, std only, outside the crate:
//!
//!     rustc -O --edition 2021 bench/spill_partition.rs -o /tmp/spill_partition && /tmp/spill_partition
use std::time::Instant;

fn rng(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

fn hex(out: &mut Vec<u8>, x: u64, digits: u32) {
    for k in (0..digits).rev() {
        let d = ((x >> (4 * k)) & 15) as u8;
        out.push(if d < 10 { b'0' + d } else { b'a' + d - 10 });
    }
}

/// The map's layout: keys in an arena, a slot per key, a value per key.
struct Map {
    arena: Vec<u8>,
    slots: Vec<(u32, u32)>,
    values: Vec<u64>,
}

impl Map {
    fn key(&self, i: usize) -> &[u8] {
        let (off, len) = self.slots[i];
        &self.arena[off as usize..(off + len) as usize]
    }
}

fn build(n: usize, seed: u64) -> Map {
    let mut s = 0x9E37_79B9_7F4A_7C15u64 ^ seed.wrapping_mul(0x2545_F491_4F6C_DD1D);
    let mut m = Map {
        arena: Vec::new(),
        slots: Vec::new(),
        values: Vec::new(),
    };
    for i in 0..n {
        let off = m.arena.len() as u32;
        let x = rng(&mut s) & ((1 << 48) - 1);
        if i % 2 == 0 {
            m.arena.extend_from_slice(b"user");
            hex(&mut m.arena, x, 12);
        } else {
            m.arena.push(b'u');
            hex(&mut m.arena, x, 12);
            m.arena.extend_from_slice(b"@x");
            m.arena
                .extend_from_slice((rng(&mut s) % 10_000).to_string().as_bytes());
            m.arena.extend_from_slice(b".com");
        }
        m.slots.push((off, m.arena.len() as u32 - off));
        m.values.push(1 + rng(&mut s) % 1000);
    }
    m
}

fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

#[cfg(target_arch = "x86_64")]
fn prefetch<T>(p: *const T) {
    // SAFETY: a prefetch never faults and has no architectural effect, whatever the address.
    unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8) }
}
#[cfg(not(target_arch = "x86_64"))]
fn prefetch<T>(_p: *const T) {}

type Entry = [u64; 3];

fn entry(m: &Map, i: usize) -> Entry {
    let (off, len) = m.slots[i];
    let (off, len) = (off as usize, len as usize);
    let mut b = [0u8; 16];
    let n = len.min(16);
    b[..n].copy_from_slice(&m.arena[off..off + n]);
    let w = u128::from_be_bytes(b);
    let real = if len > 16 { 17 } else { len as u64 };
    [(w >> 64) as u64, w as u64, (real << 32) | i as u64]
}

fn spill_sorted(m: &Map, order: &mut Vec<Entry>, out: &mut Vec<u8>) {
    order.clear();
    order.extend((0..m.slots.len()).map(|i| entry(m, i)));
    order.sort_unstable_by_key(|e| (e[0], e[1], e[2]));
    out.clear();
    // The previous key, copied: a key its entry holds is never read from the arena.
    let mut prev: Vec<u8> = Vec::with_capacity(64);
    let mut cur = [0u8; 16];
    for j in 0..order.len() {
        if let Some(e) = order.get(j + 16) {
            prefetch(m.slots.as_ptr().wrapping_add(e[2] as u32 as usize));
        }
        if let Some(e) = order.get(j + 8) {
            let i = e[2] as u32 as usize;
            prefetch(m.arena.as_ptr().wrapping_add(m.slots[i].0 as usize));
            prefetch(m.values.as_ptr().wrapping_add(i));
        }
        let e = &order[j];
        let i = e[2] as u32 as usize;
        let real = ((e[2] >> 32) & 0xff) as usize;
        let k: &[u8] = if real <= 16 {
            cur[..8].copy_from_slice(&e[0].to_be_bytes());
            cur[8..].copy_from_slice(&e[1].to_be_bytes());
            &cur[..real]
        } else {
            m.key(i)
        };
        let shared = prev.iter().zip(k).take_while(|(a, b)| a == b).count();
        varint(out, shared as u64);
        varint(out, (k.len() - shared) as u64);
        out.extend_from_slice(&k[shared..]);
        varint(out, m.values[i]);
        prev.clear();
        prev.extend_from_slice(k);
    }
}

fn fx(key: &[u8]) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let mut h = 0u64;
    let mut c = key.chunks_exact(8);
    for w in &mut c {
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w.try_into().unwrap())).wrapping_mul(K);
    }
    for &b in c.remainder() {
        h = (h.rotate_left(5) ^ b as u64).wrapping_mul(K);
    }
    h
}

fn spill_partitioned(m: &Map, parts: &mut [Vec<u8>]) {
    for p in parts.iter_mut() {
        p.clear();
    }
    for i in 0..m.slots.len() {
        let k = m.key(i);
        let p = &mut parts[(fx(k) >> 58) as usize];
        varint(p, k.len() as u64);
        p.extend_from_slice(k);
        varint(p, m.values[i]);
    }
}

/// Read a varint at `*at`.
fn get_varint(b: &[u8], at: &mut usize) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let x = b[*at];
        *at += 1;
        v |= ((x & 0x7f) as u64) << shift;
        if x < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// The 20 largest (value, key) of a stream, as a top-20 summary keeps them (ties to the
/// smaller key, so a min-heap of (value, Reverse(key))).
struct Top20(std::collections::BinaryHeap<std::cmp::Reverse<(u64, std::cmp::Reverse<Vec<u8>>)>>);

impl Top20 {
    fn offer(&mut self, v: u64, k: &[u8]) {
        use std::cmp::Reverse;
        if self.0.len() < 20 {
            self.0.push(Reverse((v, Reverse(k.to_vec()))));
        } else if let Some(Reverse((min, Reverse(mk)))) = self.0.peek() {
            if v > *min || (v == *min && k < mk.as_slice()) {
                self.0.pop();
                self.0.push(Reverse((v, Reverse(k.to_vec()))));
            }
        }
    }
}

/// The end of a sorted spill: a k-way merge of the runs (front-coded), equal keys added,
/// into a top-20.
fn end_sorted(runs: &[Vec<u8>]) -> u64 {
    use std::cmp::Reverse;
    struct Cur<'a> {
        b: &'a [u8],
        at: usize,
        key: Vec<u8>,
        val: u64,
    }
    fn next(c: &mut Cur) -> bool {
        if c.at >= c.b.len() {
            return false;
        }
        let shared = get_varint(c.b, &mut c.at) as usize;
        let n = get_varint(c.b, &mut c.at) as usize;
        c.key.truncate(shared);
        c.key.extend_from_slice(&c.b[c.at..c.at + n]);
        c.at += n;
        c.val = get_varint(c.b, &mut c.at);
        true
    }
    let mut curs: Vec<Cur> = runs
        .iter()
        .map(|b| Cur {
            b,
            at: 0,
            key: Vec::new(),
            val: 0,
        })
        .collect();
    let mut heap = std::collections::BinaryHeap::new();
    for (r, c) in curs.iter_mut().enumerate() {
        if next(c) {
            heap.push(Reverse((c.key.clone(), r)));
        }
    }
    let mut top = Top20(Default::default());
    let (mut key, mut val) = (Vec::<u8>::new(), 0u64);
    let mut n = 0u64;
    while let Some(Reverse((k, r))) = heap.pop() {
        if k != key {
            if !key.is_empty() {
                top.offer(val, &key);
                n += 1;
            }
            key = k;
            val = 0;
        }
        val += curs[r].val;
        if next(&mut curs[r]) {
            heap.push(Reverse((curs[r].key.clone(), r)));
        }
    }
    top.offer(val, &key);
    n + 1
}

/// The end of a partitioned spill: each partition's segments (one per spill) added up in
/// a hash map, then into a top-20.
fn end_partitioned(spills: &[Vec<Vec<u8>>]) -> u64 {
    #[derive(Default)]
    struct Fx(u64);
    impl std::hash::Hasher for Fx {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, b: &[u8]) {
            self.0 = fx(b);
        }
    }
    let mut top = Top20(Default::default());
    let mut n = 0u64;
    let mut map: std::collections::HashMap<&[u8], u64, std::hash::BuildHasherDefault<Fx>> =
        Default::default();
    for p in 0..spills[0].len() {
        map.clear();
        for s in spills {
            let b = &s[p];
            let mut at = 0;
            while at < b.len() {
                let len = get_varint(b, &mut at) as usize;
                let k = &b[at..at + len];
                at += len;
                *map.entry(k).or_insert(0) += get_varint(b, &mut at);
            }
        }
        for (k, v) in &map {
            top.offer(*v, k);
        }
        n += map.len() as u64;
    }
    n
}

fn main() {
    for n in [1usize << 18, 1 << 20] {
        let m = build(n, 0);
        let mut order = Vec::new();
        let mut out = Vec::new();
        let mut parts = vec![Vec::new(); 64];
        let (mut sorted, mut part) = (f64::MAX, f64::MAX);
        for _ in 0..5 {
            let t = Instant::now();
            spill_sorted(&m, &mut order, &mut out);
            sorted = sorted.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            spill_partitioned(&m, &mut parts);
            part = part.min(t.elapsed().as_secs_f64());
        }
        let bytes: usize = parts.iter().map(Vec::len).sum();
        println!(
            "{n} keys: sorted run {:.1} ns/key ({} bytes), 64 hash partitions {:.1} ns/key ({} bytes)",
            sorted * 1e9 / n as f64,
            out.len(),
            part * 1e9 / n as f64,
            bytes
        );
    }
    // The end: 8 spills of 2^17 keys each (other seeds: all keys distinct, as in issue 9's
    // corpus), merged into a top-20.
    let maps: Vec<Map> = (1..=8).map(|r| build(1 << 17, r)).collect();
    let runs: Vec<Vec<u8>> = maps
        .iter()
        .map(|m| {
            let mut out = Vec::new();
            spill_sorted(m, &mut Vec::new(), &mut out);
            out
        })
        .collect();
    let spills: Vec<Vec<Vec<u8>>> = maps
        .iter()
        .map(|m| {
            let mut parts = vec![Vec::new(); 64];
            spill_partitioned(m, &mut parts);
            parts
        })
        .collect();
    let (mut sorted, mut part) = (f64::MAX, f64::MAX);
    let (mut ns, mut np) = (0, 0);
    for _ in 0..5 {
        let t = Instant::now();
        ns = end_sorted(&runs);
        sorted = sorted.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        np = end_partitioned(&spills);
        part = part.min(t.elapsed().as_secs_f64());
    }
    assert_eq!(ns, np, "both ends see every key once");
    println!(
        "end, 8 spills of {} keys into a top-20: k-way merge of sorted runs {:.1} ns/key, \
         partitions added up in a hash map {:.1} ns/key",
        1 << 17,
        sorted * 1e9 / ns as f64,
        part * 1e9 / np as f64
    );
}
