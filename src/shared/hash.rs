//! A small, fast, deterministic hasher for short string keys (FxHash's multiply-rotate).
//! SipHash's DoS resistance buys nothing for per-text maps that live for microseconds, and
//! determinism keeps results reproducible across runs.

use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

/// The 8 bytes of `s` from `i` as a word (little-endian, so results do not depend on the
/// machine). The one way `FxHasher::write` and `eq_short` read overlapping loads.
#[inline]
fn load8(s: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(s[i..i + 8].try_into().unwrap())
}

/// The 4 bytes of `s` from `i` (see `load8`).
#[inline]
fn load4(s: &[u8], i: usize) -> u64 {
    u32::from_le_bytes(s[i..i + 4].try_into().unwrap()) as u64
}

impl FxHasher {
    #[inline]
    fn mix(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    /// Words of 8 bytes, and the bytes left over read as overlapping loads (the last 8
    /// bytes, or the first and last 4, or three single bytes) rather than copied into a
    /// zeroed word: copying a variable-length tail was a memcpy call per key and most of
    /// the cost of hashing short keys (kv keys, emails, memoized pickle keys). Given the
    /// length, the loads still cover every byte, so equal-length keys that differ anywhere
    /// give different words; the length itself goes into the state first (callers such as
    /// `report::keys::hash_key` write the bytes alone, and "ab" and "abb" load alike).
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        self.0 = self.0.wrapping_add(n as u64);
        if n >= 8 {
            let mut i = 0;
            while i + 8 <= n {
                self.mix(load8(bytes, i));
                i += 8;
            }
            if i < n {
                self.mix(load8(bytes, n - 8)); // the tail, overlapping the last whole word
            }
        } else if n >= 4 {
            self.mix(load4(bytes, 0) | load4(bytes, n - 4) << 32);
        } else if n > 0 {
            self.mix(bytes[0] as u64 | (bytes[n / 2] as u64) << 8 | (bytes[n - 1] as u64) << 16);
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(i as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

/// Byte-string equality for short keys without a call: keys of up to 16 bytes compare as
/// two overlapping words (or halves, or bytes), longer ones through `==` (memcmp). Slice
/// `==` always calls memcmp, which dominated the lookups of short keys (kv keys, pickle
/// memo keys) that are mostly a few bytes long.
#[inline]
pub fn eq_short(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => load4(a, 0) == load4(b, 0) && load4(a, n - 4) == load4(b, n - 4),
        8..=16 => load8(a, 0) == load8(b, 0) && load8(a, n - 8) == load8(b, n - 8),
        _ => a == b,
    }
}

/// A byte-string map key hashed and compared for short keys: the bytes alone are hashed
/// (`FxHasher::write` feeds in the length itself, so `Hash for [u8]`'s length prefix would
/// be a second multiply), and compared with [`eq_short`].
#[derive(Clone, Copy, Debug)]
pub struct ShortKey<'a>(pub &'a [u8]);

impl PartialEq for ShortKey<'_> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        eq_short(self.0, other.0)
    }
}

impl Eq for ShortKey<'_> {}

impl std::hash::Hash for ShortKey<'_> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(b: &[u8]) -> u64 {
        let mut x = FxHasher::default();
        x.write(b);
        x.finish()
    }

    /// Every length from 0 to 40 (each way of reading a tail), one byte changed at every
    /// position, gives another hash; and keys that load alike at different lengths differ.
    #[test]
    fn every_byte_and_the_length_count() {
        for n in 0..40usize {
            let base: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37).wrapping_add(1)).collect();
            for i in 0..n {
                let mut other = base.clone();
                other[i] ^= 0x5a;
                assert_ne!(h(&base), h(&other), "length {n}, byte {i}");
            }
        }
        assert_ne!(h(b"ab"), h(b"abb"));
        assert_ne!(h(b"abab"), h(b"ababab"));
        assert_ne!(h(b""), h(b"\0"));
    }

    /// `eq_short` agrees with `==` for every length to 40 and a change at every byte,
    /// and on different lengths with a shared prefix.
    #[test]
    fn eq_short_is_slice_equality() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(91).wrapping_add(7)).collect();
            assert!(eq_short(&a, &a.clone()));
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 1;
                assert!(!eq_short(&a, &b), "length {n}, byte {i}");
            }
            assert!(!eq_short(&a, &a[..n.saturating_sub(1)]) || n == 0);
        }
    }
}
