//! The per-key state of a report: compact maps from strings to counts.
//!
//! Measured on a corpus where every line brings a new kv key and a new email (issue 9),
//! the `HashMap<Box<str>, _>` this replaces cost ≈ 130–240 bytes per distinct key and most
//! of the run time went to one allocation per new key in every chunk, hashing each key
//! again when a chunk's map was merged into the report's, and freeing the keys one by one.
//! A [`KeyMap`] instead keeps
//!
//! * the key bytes of all its keys back to back in one arena (no allocation per key, and a
//!   whole chunk's keys are freed at once);
//! * per key a 16-byte slot (arena offset, length, 32-bit hash), so a merge never hashes
//!   a key again and a grow never touches the key bytes;
//! * an open-addressing table of `hash << 32 | slot index` entries ([`Table`]: 8 bytes a
//!   bucket, at most 3/4 full);
//! * the values in their own vector: `u64` counts, or for kv keys a 16-byte [`KvVal`] (a
//!   64-bit total with the rare sum that leaves `i64` moved to a side table of exact
//!   [`PyInt`]s).
//!
//! std's `HashMap` can only look up a key it owns, so it cannot store an index into an arena
//! and compare against the arena. hashbrown's `HashTable` can, and was used here, but it
//! offers no way to prefetch a bucket: at high cardinality almost every key a chunk brings
//! is new to the report, and merging a chunk's map into the report's spent a cache miss
//! per key waiting for the bucket (`RawTable::find`, a quarter of the merging thread, issue
//! 9). [`KeyMap::merge_from`] knows every key's hash in advance, so it prefetches the
//! bucket of the key a few places ahead; that needs the bucket's address, hence [`Table`].

use std::borrow::Cow;
use std::hash::Hasher;

use super::tally::KeyStat;
use crate::shared::hash::{FxHashMap, FxHasher};
use crate::shared::pyint::PyInt;

/// `key` as a `&str` if it is UTF-8. Keys are mostly short and ASCII, and for inputs
/// under 64 bytes `simdutf8` hands over to `core::str::from_utf8`, which was 5 % of a
/// spilled report's outputs (a feed, a summary, a full output and a state; every key of
/// the spill is checked as it is read back): a word-at-a-time ASCII test settles those.
#[inline]
pub(crate) fn key_str(key: &[u8]) -> Option<&str> {
    if key.is_ascii() {
        // SAFETY: ASCII bytes are UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(key) });
    }
    simdutf8::basic::from_utf8(key).ok()
}

/// The 32-bit hash of a key, stored with it so that merges and grows never hash again.
#[inline]
pub fn hash_key(key: &[u8]) -> u32 {
    let mut h = FxHasher::default();
    h.write(key);
    let x = h.finish();
    // Fx's multiply leaves the entropy in the high bits: fold them onto the low ones.
    ((x >> 32) ^ x) as u32
}

/// Fibonacci hashing: the bucket of a stored 32-bit hash is the top bits of this product,
/// which depend on every bit of the hash.
#[inline]
fn spread(h: u32) -> u64 {
    (h as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Ask the CPU to start loading the cache line at `p` (a hint: no effect on results).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    // SAFETY: a prefetch never faults and has no architectural effect, whatever the
    // address; SSE, the feature it needs, is part of the x86_64 baseline.
    unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8) }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn prefetch<T>(_p: *const T) {}

/// An entry of the key sort ([`KeyMap::sort_entries`]): 16 key bytes from some depth on as
/// two big-endian words (zero-padded), then [`DEEPER`] when that depth is not 0,
/// `real bytes << 32` (17 when more than 16 bytes remain) and the index.
pub(crate) type SortEntry = [u64; 3];

/// Set in a [`SortEntry`] re-read at a depth past 0 (it no longer holds the key's start).
const DEEPER: u64 = 1 << 63;

/// The real-byte count of a sort entry: 0–16, or 17 when the key goes on past the digit.
#[inline]
fn real_bytes(e: &SortEntry) -> u64 {
    (e[2] >> 32) & 0xff
}

/// The whole key of a sorted entry when the entry holds all of it (a key of at most 16
/// bytes, never re-read deeper), written to `buf`: its length. A walk in key order (a
/// spill) then needs neither the key's slot nor its bytes, two cache misses of three.
#[inline]
pub(crate) fn whole_key(e: &SortEntry, buf: &mut [u8; 16]) -> Option<usize> {
    let n = real_bytes(e);
    if e[2] & DEEPER != 0 || n > 16 {
        return None;
    }
    buf[..8].copy_from_slice(&e[0].to_be_bytes());
    buf[8..].copy_from_slice(&e[1].to_be_bytes());
    Some(n as usize)
}

/// An empty bucket (no entry has it: a slot index is below `u32::MAX`).
const EMPTY: u64 = u64::MAX;

/// Linear-probing hash table of `hash << 32 | slot index` entries, at most 3/4 full, its
/// size a power of two. A probe rejects a wrong key by the stored hash (no access to the
/// slots), and a grow rehashes from the entries alone.
#[derive(Clone, Default)]
struct Table {
    buckets: Vec<u64>,
    /// 64 − log2(buckets): the bucket of a key is `spread(hash) >> shift`.
    shift: u32,
    len: usize,
}

impl Table {
    /// Entries the table holds before it must grow.
    fn capacity(&self) -> usize {
        self.buckets.len() / 4 * 3
    }

    /// Buckets needed for `n` entries.
    fn buckets_for(n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (n.saturating_mul(4) / 3 + 1).next_power_of_two().max(16)
        }
    }

    #[inline]
    fn home(&self, hash: u32) -> usize {
        (spread(hash) >> self.shift) as usize
    }

    /// Start loading the bucket where a probe for `hash` begins.
    #[inline]
    fn prefetch(&self, hash: u32) {
        if !self.buckets.is_empty() {
            prefetch(self.buckets.as_ptr().wrapping_add(self.home(hash)));
        }
    }

    /// The slot index of the entry with `hash` for which `eq` holds, or `Err(bucket)`: the
    /// empty bucket where it belongs (`Err(usize::MAX)` when the table has no buckets).
    #[inline]
    fn find(&self, hash: u32, mut eq: impl FnMut(usize) -> bool) -> Result<usize, usize> {
        if self.buckets.is_empty() {
            return Err(usize::MAX);
        }
        let mask = self.buckets.len() - 1;
        let mut b = self.home(hash);
        loop {
            let e = self.buckets[b];
            if e == EMPTY {
                return Err(b);
            }
            if (e >> 32) as u32 == hash && eq(e as u32 as usize) {
                return Ok(e as u32 as usize);
            }
            b = (b + 1) & mask;
        }
    }

    /// The slot index of the first entry on `hash`'s probe path whose stored hash is
    /// `hash`, without comparing keys: a guess at where that key lives, for prefetching
    /// only (another key with the same 32-bit hash may come first, and the key may be
    /// absent). [`Self::find`]'s probe, accepting the first hash that matches.
    #[inline]
    fn peek(&self, hash: u32) -> Option<usize> {
        self.find(hash, |_| true).ok()
    }

    /// Room for `more` entries beyond the current ones, growing (by doubling at least) if
    /// needed. The check is inlined (every insertion asks for room for one entry: it was
    /// a call per key); the growth is not.
    #[inline]
    fn reserve(&mut self, more: usize) {
        if self.len.saturating_add(more) > self.capacity() {
            self.grow(more);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, more: usize) {
        let need = self.len.saturating_add(more);
        let size = Self::buckets_for(need).max(self.buckets.len() * 2);
        let old = std::mem::replace(&mut self.buckets, vec![EMPTY; size]);
        self.shift = 64 - size.trailing_zeros();
        let mask = size - 1;
        for e in old.into_iter().filter(|&e| e != EMPTY) {
            let mut b = self.home((e >> 32) as u32);
            while self.buckets[b] != EMPTY {
                b = (b + 1) & mask;
            }
            self.buckets[b] = e;
        }
    }

    /// Put `entry` into `bucket`, the empty bucket a [`Self::find`] just returned (the
    /// table must have had room: see [`Self::reserve`]).
    #[inline]
    fn fill(&mut self, bucket: usize, entry: u64) {
        self.buckets[bucket] = entry;
        self.len += 1;
    }

    fn clear(&mut self) {
        if self.len > 0 {
            self.buckets.fill(EMPTY);
            self.len = 0;
        }
    }

    fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<u64>()
    }
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    off: u64,
    len: u32,
    hash: u32,
}

/// String key → `V`, keys interned in an arena (see the module documentation).
#[derive(Clone, Default)]
pub struct KeyMap<V> {
    /// Per key `hash << 32 | slot index`: a probe rejects a wrong key by its stored hash
    /// and a grow rehashes without touching the slots (both were cache misses into the
    /// slot vector, a fifth of the merging thread's time at high cardinality).
    table: Table,
    slots: Vec<Slot>,
    vals: Vec<V>,
    arena: Vec<u8>,
}

impl<V> KeyMap<V> {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The `i`-th key's bytes (UTF-8: only `&str` keys are inserted).
    #[inline]
    pub(crate) fn key_bytes(&self, i: usize) -> &[u8] {
        let s = self.slots[i];
        &self.arena[s.off as usize..s.off as usize + s.len as usize]
    }

    /// The `i`-th key (in insertion order).
    pub fn key(&self, i: usize) -> &str {
        // Only `&str` keys are ever inserted, so the bytes are UTF-8; a failure here would
        // be a bug, shown as an empty key rather than a panic.
        key_str(self.key_bytes(i)).unwrap_or("")
    }

    pub fn value(&self, i: usize) -> &V {
        &self.vals[i]
    }

    pub fn hash_at(&self, i: usize) -> u32 {
        self.slots[i].hash
    }

    /// The index of `key` (whose hash is `hash`), if present.
    #[inline]
    pub fn find(&self, key: &[u8], hash: u32) -> Option<usize> {
        self.table.find(hash, |i| self.key_bytes(i) == key).ok()
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        let k = key.as_bytes();
        self.find(k, hash_key(k)).map(|i| &self.vals[i])
    }

    /// The index of `key`, inserted with `init()` if absent; and whether it was inserted.
    #[inline]
    pub fn entry(&mut self, key: &[u8], hash: u32, init: impl FnOnce() -> V) -> (usize, bool) {
        // One probe finds the key or the bucket it goes to; room first, so that the
        // bucket stays valid.
        self.table.reserve(1);
        let (slots, arena) = (&self.slots, &self.arena);
        let found = self.table.find(hash, |i| {
            let s = slots[i];
            &arena[s.off as usize..s.off as usize + s.len as usize] == key
        });
        let bucket = match found {
            Ok(i) => return (i, false),
            Err(b) => b,
        };
        let i = self.slots.len();
        // More than 4 G keys would need hundreds of GB in one map; the memory budget
        // spills long before that. (`u32::MAX` itself is not an index: see `EMPTY`.)
        let idx = u32::try_from(i)
            .ok()
            .filter(|&x| x != u32::MAX)
            .expect("a report map holds fewer than 2^32 keys in memory");
        self.slots.push(Slot {
            off: self.arena.len() as u64,
            len: u32::try_from(key.len()).expect("a key is at most 4 GiB"),
            hash,
        });
        self.arena.extend_from_slice(key);
        self.vals.push(init());
        self.table.fill(bucket, ((hash as u64) << 32) | idx as u64);
        (i, true)
    }

    /// How far ahead [`Self::merge_into`] prefetches: enough keys to cover a memory
    /// latency, few enough that the lines are still in cache when their key comes.
    const AHEAD: usize = 16;

    /// For every entry `j` of `other` in order: its index in `self` (inserted with
    /// `init()` if absent) handed to `add(self, index, j)`, without hashing keys again.
    /// Room for all of `other` is made first so that no grow moves the table under a
    /// prefetch.
    ///
    /// A key new to `self` costs one cache miss, its bucket, prefetched [`Self::AHEAD`]
    /// places ahead (its hash is known). A key that `self` already holds costs three
    /// dependent ones: its bucket, then its slot, then its key bytes (compared) and value
    /// (added). When keys repeat across chunks but are too many for the cache (200 K
    /// distinct keys in 2 M lines), those were most of the merging thread, which then held
    /// up the whole feed (`memcmp` alone 20 % of all samples; the feed was slower than at
    /// 2 M distinct keys). So while keys are being found, the prefetches are staged, each
    /// on data the one before brought in: the bucket of the key `3 × AHEAD / 2` places
    /// ahead, the slot and value of the one `AHEAD` ahead (its bucket, cached by now,
    /// names the likely slot: [`Table::peek`]), and the key bytes of the one `AHEAD / 2`
    /// ahead (its slot cached by now). While keys are mostly new (high cardinality) the
    /// two peeks would find nothing, so they are skipped: whether to stage is decided
    /// every [`Self::WINDOW`] keys from how many of the last window were found.
    ///
    /// Returns how many keys of `other` `self` already held.
    fn merge_into<W>(
        &mut self,
        other: &KeyMap<W>,
        mut init: impl FnMut() -> V,
        mut add: impl FnMut(&mut Self, usize, usize),
    ) -> usize {
        self.reserve(other.len());
        self.arena.reserve(other.arena.len());
        let n = other.len();
        let (mut staged, mut found, mut held) = (false, 0, 0);
        for j in 0..n {
            if staged {
                if let Some(s) = other.slots.get(j + Self::AHEAD * 3 / 2) {
                    self.table.prefetch(s.hash);
                }
                if let Some(s) = other.slots.get(j + Self::AHEAD) {
                    let _ = self.prefetch_found_slot(s.hash);
                }
                if let Some(s) = other.slots.get(j + Self::AHEAD / 2) {
                    self.prefetch_found_key(s.hash);
                }
            } else if let Some(s) = other.slots.get(j + Self::AHEAD) {
                self.table.prefetch(s.hash);
            }
            let (i, new) = self.entry(other.key_bytes(j), other.slots[j].hash, &mut init);
            add(self, i, j);
            found += usize::from(!new);
            if j % Self::WINDOW == Self::WINDOW - 1 {
                staged = found >= Self::WINDOW / 8;
                held += found;
                found = 0;
            }
        }
        held + found
    }

    /// See [`Self::merge_into`].
    const WINDOW: usize = 64;

    pub fn value_mut(&mut self, i: usize) -> &mut V {
        &mut self.vals[i]
    }

    /// `(key, value)` in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> + '_ {
        (0..self.len()).map(move |i| (self.key(i), &self.vals[i]))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(move |i| self.key(i))
    }

    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.vals.iter()
    }

    /// Indices of the entries in code point order of their keys (UTF-8 byte order is code
    /// point order, which is how Python compares str). See [`Self::sort_entries`].
    pub fn sorted_indices(&self) -> Vec<u32> {
        let mut v = Vec::new();
        self.sort_entries(&mut v);
        v.into_iter().map(|e| e[2] as u32).collect()
    }

    /// Fill `v` with one [`SortEntry`] per key, in code point order of the keys (the
    /// index of entry `e` is `e[2] as u32`). `v` is cleared first and its memory reused:
    /// a spill sorts into the same buffer every time instead of faulting in fresh pages.
    ///
    /// A comparison sort of indices compared key bytes in the arena: a cache miss and a
    /// `memcmp` per comparison, and 60 % of a spilling run's time (issue 9 profile). This is
    /// an MSD sort on 16-byte digits instead: each entry holds the next 16 key bytes
    /// (zero-padded, big-endian, as two words), how many of them are real, and the index,
    /// so an integer comparison orders it, and only groups sharing all 16 bytes are sorted
    /// again on the next 16. Zero padding plus the real-byte count (17 for "more than 16")
    /// is exactly lexicographic order (a key that ends sorts before any longer key with the
    /// same bytes). 24 bytes per key while sorting. The digit was 8 bytes before: the issue 9
    /// corpus's kv keys (`user` + 12 hex digits) then all shared their first digit with
    /// about ten others and went a level down, reading slot and key bytes again at random
    /// (the second level was most of a spill's sort, 5 % of a spilling feed).
    pub(crate) fn sort_entries(&self, v: &mut Vec<SortEntry>) {
        v.clear();
        v.extend((0..self.len() as u32).map(|i| self.digit(i, 0)));
        self.sort_digits(v);
    }

    /// The sort entry of key `i` at byte `depth` (see [`Self::sort_entries`]).
    #[inline]
    fn digit(&self, i: u32, depth: usize) -> SortEntry {
        let s = self.slots[i as usize];
        let (off, len) = (s.off as usize, s.len as usize);
        let start = off + depth.min(len);
        let rest = len.saturating_sub(depth);
        // One 16-byte load wherever the arena holds 16 bytes from here (past a short key's
        // end they are the next keys' bytes, masked off): copying a slice of variable
        // length byte by byte was 2 % of a spilling feed of short keys, and a `memcpy`
        // call per key and level before that.
        let word = match self
            .arena
            .get(start..start + 16)
            .and_then(|c| c.first_chunk::<16>())
        {
            Some(c) => {
                let keep = if rest >= 16 { !0 } else { !(!0u128 >> (8 * rest)) };
                u128::from_be_bytes(*c) & keep
            }
            None => {
                // The last keys of the arena: zero-padded copy.
                let mut b = [0u8; 16];
                for (d, s) in b.iter_mut().zip(&self.arena[start..off + len]) {
                    *d = *s;
                }
                u128::from_be_bytes(b)
            }
        };
        // 17: the key goes on, so it sorts after one that ends with these bytes.
        let n = if rest > 16 { 17 } else { rest };
        let deeper = if depth > 0 { DEEPER } else { 0 };
        [
            (word >> 64) as u64,
            word as u64,
            deeper | ((n as u64) << 32) | i as u64,
        ]
    }

    /// Sort `v` (entries at byte 0), then each group agreeing on 16 real bytes on the next
    /// 16, and so on. An explicit stack rather than recursion: two long keys sharing a
    /// prefix of a megabyte would otherwise recurse 2^16 deep.
    fn sort_digits(&self, v: &mut [SortEntry]) {
        // Same bytes and same real-byte count: the entries differ only by their index.
        let same = |a: &SortEntry, b: &SortEntry| a[0] == b[0] && a[1] == b[1] && a[2] >> 32 == b[2] >> 32;
        let mut todo = vec![(0usize, v.len(), 0usize)];
        while let Some((lo, hi, depth)) = todo.pop() {
            let part = &mut v[lo..hi];
            if depth > 0 {
                // A group's entries are scattered over the map: each digit is a cache miss
                // for the slot and one for the key bytes. The slot 16 entries ahead and the
                // key bytes 8 ahead are prefetched.
                for j in 0..part.len() {
                    if let Some(e) = part.get(j + 16) {
                        self.prefetch_slot(e[2] as u32 as usize);
                    }
                    if let Some(e) = part.get(j + 8) {
                        self.prefetch_key(e[2] as u32 as usize, depth);
                    }
                    part[j] = self.digit(part[j][2] as u32, depth);
                }
            }
            // Lexicographic on the words: the tuple compiles to three integer compares
            // (an array's `Ord` goes through a slice comparison).
            part.sort_unstable_by_key(|e| (e[0], e[1], e[2]));
            // Entries that agree on 16 bytes and go on past them are ordered only by their
            // index so far.
            let mut start = 0;
            while start < part.len() {
                let mut end = start + 1;
                while end < part.len() && same(&part[start], &part[end]) {
                    end += 1;
                }
                if end - start > 1 && real_bytes(&part[start]) == 17 {
                    todo.push((lo + start, lo + end, depth + 16));
                }
                start = end;
            }
        }
    }

    /// Start loading the slot of entry `i` (a hint; see [`Self::prefetch_entry`]).
    #[inline]
    pub(crate) fn prefetch_slot(&self, i: usize) {
        if i < self.slots.len() {
            prefetch(self.slots.as_ptr().wrapping_add(i));
        }
    }

    /// Start loading byte `depth` of the key of entry `i` (a hint, like
    /// [`Self::prefetch_entry`]).
    #[inline]
    fn prefetch_key(&self, i: usize, depth: usize) {
        if let Some(s) = self.slots.get(i) {
            prefetch(self.arena.as_ptr().wrapping_add(s.off as usize + depth));
        }
    }

    /// The second stage of prefetching a key this map may hold, once its bucket has been
    /// prefetched (see [`Self::merge_into`]): start loading the slot and value that the
    /// bucket names ([`Table::peek`]; nothing when it names none). Returns that guess at
    /// the key's index, for the caller's own per-index data.
    #[inline]
    pub(crate) fn prefetch_found_slot(&self, hash: u32) -> Option<usize> {
        let i = self.table.peek(hash)?;
        self.prefetch_slot(i);
        if i < self.vals.len() {
            prefetch(self.vals.as_ptr().wrapping_add(i));
        }
        Some(i)
    }

    /// The third stage, once the slot has arrived: start loading the key bytes it points
    /// to (compared when the key is looked up).
    #[inline]
    pub(crate) fn prefetch_found_key(&self, hash: u32) {
        if let Some(i) = self.table.peek(hash) {
            self.prefetch_whole_key(i);
        }
    }

    /// Start loading the key bytes of entry `i`, both cache lines when the key crosses
    /// into a second (a hint, like [`Self::prefetch_entry`]).
    #[inline]
    fn prefetch_whole_key(&self, i: usize) {
        if let Some(s) = self.slots.get(i) {
            let at = self.arena.as_ptr().wrapping_add(s.off as usize);
            prefetch(at);
            prefetch(at.wrapping_add((s.len as usize).saturating_sub(1)));
        }
    }

    /// Start loading the value of entry `i` (a hint, like [`Self::prefetch_entry`]).
    #[inline]
    pub(crate) fn prefetch_value(&self, i: usize) {
        if i < self.vals.len() {
            prefetch(self.vals.as_ptr().wrapping_add(i));
        }
    }

    /// Start loading the key bytes and the value of entry `i`. Walking a map in key order
    /// (a spill run, an output) visits its entries at random: a cache miss for the slot,
    /// then one for the key, then one for the value, per key. Prefetching the slot a few
    /// entries ahead and, once it has arrived, the key and value behind it hides them.
    #[inline]
    pub(crate) fn prefetch_entry(&self, i: usize) {
        if let Some(s) = self.slots.get(i) {
            prefetch(self.arena.as_ptr().wrapping_add(s.off as usize));
            prefetch(self.vals.as_ptr().wrapping_add(i));
        }
    }

    /// What [`Self::heap_bytes`] would be after adding `keys` new keys of `key_bytes` bytes
    /// in all (each vector grown as `Vec` grows, the table as [`Table::reserve`] does).
    pub fn heap_bytes_after(&self, keys: usize, key_bytes: usize) -> usize {
        let grown = |len: usize, cap: usize, more: usize| {
            let need = len.saturating_add(more);
            if need <= cap {
                cap
            } else {
                need.max(cap.saturating_mul(2))
            }
        };
        let need = self.len().saturating_add(keys);
        let buckets = if need <= self.table.capacity() {
            self.table.buckets.capacity()
        } else {
            Table::buckets_for(need).max(self.table.buckets.len() * 2)
        };
        buckets * std::mem::size_of::<u64>()
            + grown(self.slots.len(), self.slots.capacity(), keys) * std::mem::size_of::<Slot>()
            + grown(self.vals.len(), self.vals.capacity(), keys) * std::mem::size_of::<V>()
            + grown(self.arena.len(), self.arena.capacity(), key_bytes)
    }

    /// Bytes of all the keys, back to back.
    pub fn key_bytes_len(&self) -> usize {
        self.arena.len()
    }

    /// Bytes this map holds on the heap (capacities, not lengths: what the allocator gave).
    pub fn heap_bytes(&self) -> usize {
        self.table.heap_bytes()
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.vals.capacity() * std::mem::size_of::<V>()
            + self.arena.capacity()
    }

    /// Remove every entry, keeping the memory (chunk tallies are recycled: a fresh map
    /// would zero new pages and regrow its table for every chunk).
    pub fn clear(&mut self) {
        self.table.clear();
        self.slots.clear();
        self.vals.clear();
        self.arena.clear();
    }

    pub fn reserve(&mut self, n: usize) {
        self.table.reserve(n);
        self.slots.reserve(n);
        self.vals.reserve(n);
    }

    /// An empty map with this one's capacities (its [`Self::heap_bytes`] the same): for
    /// the second set of maps of a feed that spills on a helper thread, which would
    /// otherwise grow to the same size through every doubling, each a fresh allocation
    /// faulted in and zeroed, its contents copied and rehashed.
    pub fn empty_like(&self) -> Self {
        let n = self.table.buckets.len();
        KeyMap {
            table: Table {
                buckets: vec![EMPTY; n],
                shift: self.table.shift,
                len: 0,
            },
            slots: Vec::with_capacity(self.slots.capacity()),
            vals: Vec::with_capacity(self.vals.capacity()),
            arena: Vec::with_capacity(self.arena.capacity()),
        }
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for KeyMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A string → count map.
pub type CountMap = KeyMap<u64>;

impl KeyMap<u64> {
    /// Add `n` to `key`'s count. Counts are checked for overflow before reports merge
    /// (`Tally::merge_overflow`); within one report they count real occurrences.
    #[inline]
    pub fn add(&mut self, key: &str, n: u64) {
        let k = key.as_bytes();
        let (i, _) = self.entry(k, hash_key(k), || 0);
        self.vals[i] += n;
    }

    /// Add `n` to the count of `key`, whose [`hash_key`] is `hash`.
    #[inline]
    pub(crate) fn add_hashed(&mut self, key: &[u8], hash: u32, n: u64) {
        let (i, _) = self.entry(key, hash, || 0);
        self.vals[i] += n;
    }

    /// Start loading the bucket where a key with this [`hash_key`] would be (a hint: the
    /// per-document path finds a document's emails first and adds them after its kv keys).
    #[inline]
    pub(crate) fn prefetch(&self, hash: u32) {
        self.table.prefetch(hash);
    }

    /// Add every count of `other`, without hashing its keys again.
    pub fn merge(&mut self, other: KeyMap<u64>) {
        if self.is_empty() {
            *self = other;
            return;
        }
        self.merge_from(&other);
    }

    /// Add every count of `other`, leaving it as it is; how many of its keys were here.
    pub fn merge_from(&mut self, other: &KeyMap<u64>) -> usize {
        self.merge_into(other, || 0, |m, i, j| m.vals[i] += other.vals[j])
    }
}

impl PartialEq for KeyMap<u64> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl Eq for KeyMap<u64> {}

impl std::ops::Index<&str> for KeyMap<u64> {
    type Output = u64;
    fn index(&self, key: &str) -> &u64 {
        self.get(key).expect("no such key")
    }
}

impl<'a> FromIterator<(&'a str, u64)> for KeyMap<u64> {
    fn from_iter<I: IntoIterator<Item = (&'a str, u64)>>(it: I) -> Self {
        let mut m = KeyMap::default();
        for (k, n) in it {
            m.add(k, n);
        }
        m
    }
}

/// A kv key's total (when it fits in `i64` and is not `i64::MIN`, else in
/// [`KvMap::big`]) and the number of documents holding it.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvVal {
    small: i64,
    pub docs: u64,
}

/// `small` holds this when the exact total is in the side table.
const IN_BIG: i64 = i64::MIN;

/// Add `total` and `docs` to entry `i` of a kv map's values `vals` and side table `big`.
#[inline]
fn add_at(vals: &mut [KvVal], big: &mut FxHashMap<u32, PyInt>, i: usize, total: &PyInt, docs: u64) {
    let v = &mut vals[i];
    v.docs += docs;
    if v.small == IN_BIG {
        if let Some(b) = big.get_mut(&(i as u32)) {
            b.add_assign(total);
        }
        return;
    }
    if let PyInt::Small(t) = total {
        match v.small.checked_add(*t) {
            Some(s) if s != IN_BIG => {
                v.small = s;
                return;
            }
            _ => {}
        }
    }
    let mut b = PyInt::Small(v.small);
    b.add_assign(total);
    v.small = IN_BIG;
    big.insert(i as u32, b);
}

/// kv key → (exact total, document count), 16 bytes a key plus the key itself; totals
/// that leave `i64` live in a side table (rare: only sums of huge numbers).
#[derive(Clone, Default)]
pub struct KvMap {
    pub map: KeyMap<KvVal>,
    big: FxHashMap<u32, PyInt>,
}

impl KvMap {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn key(&self, i: usize) -> &str {
        self.map.key(i)
    }

    pub fn docs(&self, i: usize) -> u64 {
        self.map.vals[i].docs
    }

    /// The exact total of entry `i`.
    pub fn total(&self, i: usize) -> Cow<'_, PyInt> {
        match self.map.vals[i].small {
            IN_BIG => Cow::Borrowed(&self.big[&(i as u32)]),
            s => Cow::Owned(PyInt::Small(s)),
        }
    }

    pub fn get(&self, key: &str) -> Option<KeyStat> {
        let k = key.as_bytes();
        self.map.find(k, hash_key(k)).map(|i| self.stat(i))
    }

    pub fn stat(&self, i: usize) -> KeyStat {
        KeyStat {
            total: self.total(i).into_owned(),
            docs: self.docs(i),
        }
    }

    /// Add `total` and `docs` to entry `i` (an index from [`Self::intern`]).
    #[inline]
    pub(crate) fn add_at(&mut self, i: usize, total: &PyInt, docs: u64) {
        add_at(&mut self.map.vals, &mut self.big, i, total, docs)
    }

    /// The index of `key` (whose [`hash_key`] is `hash`), inserted with a zero total and
    /// no documents if absent. The per-document path hashes each kv key once and adds to
    /// the entry by index (`report::document`).
    #[inline]
    pub(crate) fn intern(&mut self, key: &[u8], hash: u32) -> usize {
        self.map.entry(key, hash, KvVal::default).0
    }

    /// Start loading the bucket where a key with this [`hash_key`] would be (a hint: the
    /// per-document path hashes a document's keys first and interns them after).
    #[inline]
    pub(crate) fn prefetch(&self, hash: u32) {
        self.map.table.prefetch(hash);
    }

    /// Add `stat` to `key`'s entry.
    #[inline]
    pub fn add(&mut self, key: &str, stat: KeyStat) {
        let k = key.as_bytes();
        let (i, _) = self.map.entry(k, hash_key(k), KvVal::default);
        self.add_at(i, &stat.total, stat.docs);
    }

    /// Add every entry of `other`, without hashing its keys again.
    pub fn merge(&mut self, other: KvMap) {
        if self.is_empty() {
            *self = other;
            return;
        }
        self.merge_from(&other);
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.big.clear();
    }

    /// An empty map with this one's capacities (see [`KeyMap::empty_like`]).
    pub fn empty_like(&self) -> Self {
        KvMap {
            map: self.map.empty_like(),
            big: Default::default(),
        }
    }

    /// Add every entry of `other`, leaving it as it is; how many of its keys were here.
    pub fn merge_from(&mut self, other: &KvMap) -> usize {
        let mut map = std::mem::take(&mut self.map);
        let big = &mut self.big;
        let held = map.merge_into(&other.map, KvVal::default, |m, i, j| {
            let o = other.map.vals[j];
            if o.small == IN_BIG {
                add_at(&mut m.vals, big, i, &other.big[&(j as u32)], o.docs);
            } else {
                add_at(&mut m.vals, big, i, &PyInt::Small(o.small), o.docs);
            }
        });
        self.map = map;
        held
    }

    pub fn reserve(&mut self, n: usize) {
        self.map.reserve(n);
    }

    /// `(key, stat)` in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, KeyStat)> + '_ {
        (0..self.len()).map(move |i| (self.key(i), self.stat(i)))
    }

    pub fn sorted_indices(&self) -> Vec<u32> {
        self.map.sorted_indices()
    }

    /// See [`KeyMap::sort_entries`].
    pub(crate) fn sort_entries(&self, v: &mut Vec<SortEntry>) {
        self.map.sort_entries(v)
    }

    /// [`Self::heap_bytes`] after adding every key of `other` as a new one.
    pub fn heap_bytes_after(&self, other: &KvMap) -> usize {
        self.map.heap_bytes_after(other.len(), other.map.key_bytes_len()) + self.big.capacity() * 48
    }

    pub fn heap_bytes(&self) -> usize {
        // A side-table entry: the map's slot plus a boxed magnitude of a few limbs.
        self.map.heap_bytes() + self.big.capacity() * 48
    }
}

impl std::fmt::Debug for KvMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl PartialEq for KvMap {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, s)| other.get(k) == Some(s))
    }
}

impl Eq for KvMap {}

impl std::ops::Index<&str> for KvMap {
    type Output = KvVal;
    fn index(&self, key: &str) -> &KvVal {
        let k = key.as_bytes();
        let i = self.map.find(k, hash_key(k)).expect("no such key");
        &self.map.vals[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `key_str` agrees with `std::str::from_utf8` on ASCII, multi-byte and invalid keys,
    /// short and long (past 64 bytes `simdutf8` validates on its own).
    #[test]
    fn key_str_is_utf8_validation() {
        let mut keys: Vec<Vec<u8>> = vec![b"".to_vec(), b"user1f".to_vec(), "价格".into(), b"\xff".to_vec()];
        keys.push("é".as_bytes()[..1].to_vec());
        for n in [7, 8, 15, 16, 63, 64, 65, 200] {
            keys.push(vec![b'a'; n]);
            let mut bad = vec![b'a'; n];
            bad[n - 1] = 0x80;
            keys.push(bad);
            let mut wide = vec![b'a'; n];
            wide.extend_from_slice("ü".as_bytes());
            keys.push(wide.clone());
            wide.pop();
            keys.push(wide);
        }
        for k in &keys {
            assert_eq!(key_str(k), std::str::from_utf8(k).ok(), "{k:?}");
        }
    }

    #[test]
    fn counts_add_merge_and_sort() {
        let mut a = CountMap::default();
        for (k, n) in [("b", 2), ("é", 3), ("a", 2), ("b", 1)] {
            a.add(k, n);
        }
        let mut b = CountMap::default();
        b.add("z", 1);
        b.add("a", 5);
        let mut ab = a.clone();
        ab.merge(b.clone());
        let mut ba = b;
        ba.merge(a);
        assert_eq!(ab, ba);
        assert_eq!(ab["a"], 7);
        assert_eq!(ab["b"], 3);
        let keys: Vec<&str> = ab.sorted_indices().iter().map(|&i| ab.key(i as usize)).collect();
        assert_eq!(keys, ["a", "b", "z", "é"]);
        assert!(ab.heap_bytes() > 0);
    }

    /// The MSD sort against a plain sort of the keys where its digits matter: keys sharing
    /// long prefixes (one of 100 000 bytes, so 12 500 levels of 8-byte digits, which a
    /// recursive sort would not survive), keys that are prefixes of one another, lengths
    /// on and either side of 8-byte boundaries, NUL and non-ASCII bytes in the shared part
    /// and after it.
    #[test]
    fn sorted_indices_on_long_shared_prefixes() {
        let mut keys: Vec<String> = Vec::new();
        for prefix_len in [
            0usize, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000, 100_000,
        ] {
            let base: String = (0..prefix_len)
                .map(|i| ['a', 'b', '\0', 'é', 'z'][(i * 7 / 3) % 5])
                .collect();
            keys.push(base.clone());
            for tail in [
                "",
                "\0",
                "a",
                "a\0",
                "aa",
                "ab",
                "b",
                "é",
                "\u{10ffff}",
                "abcdefgh",
                "abcdefghi",
                "abcdefgh\0",
                "abcdefghijklmnop",
                "abcdefghijklmnopq",
                "abcdefghijklmnoo",
                "abcdefghijklmnop\0",
                "abcdefgg",
                "\u{7f}",
                "\u{80}",
            ] {
                keys.push(format!("{base}{tail}"));
                // The same tail behind a prefix one character shorter and one byte longer.
                if let Some((cut, _)) = base.char_indices().next_back() {
                    keys.push(format!("{}{tail}", &base[..cut]));
                }
                keys.push(format!("{base}a{tail}"));
            }
        }
        // Insertion order must not leak into the result: insert in two different orders.
        let mut want: Vec<String> = keys.clone();
        want.sort();
        want.dedup();
        for order in [false, true] {
            let mut m = CountMap::default();
            let it: Box<dyn Iterator<Item = &String>> = if order {
                Box::new(keys.iter().rev())
            } else {
                Box::new(keys.iter())
            };
            for k in it {
                m.add(k, 1);
            }
            let got: Vec<&str> = m.sorted_indices().iter().map(|&i| m.key(i as usize)).collect();
            assert_eq!(got.len(), want.len());
            // Key by key, with a readable message (the keys can be 100 KB long).
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    *g == w.as_str(),
                    "got a key of {} bytes where one of {} bytes belongs (ends {:?} / {:?})",
                    g.len(),
                    w.len(),
                    &g.as_bytes()[g.len().saturating_sub(24)..],
                    &w.as_bytes()[w.len().saturating_sub(24)..]
                );
            }
            // A sort entry holds its whole key exactly when the key has at most 16 bytes.
            let mut v = Vec::new();
            m.sort_entries(&mut v);
            for e in &v {
                let k = m.key_bytes(e[2] as u32 as usize);
                let mut buf = [0u8; 16];
                match whole_key(e, &mut buf) {
                    Some(n) => assert_eq!(&buf[..n], k),
                    None => assert!(k.len() > 16, "{k:?} is held whole"),
                }
            }
            // Spilled (the walk takes short keys from the sort entries) and read back: the
            // same keys in the same order, with their counts.
            let mut spill = crate::report::spill::Spill::new(None, 2);
            use crate::report::spill::{for_each_merged, MapId, MemMap};
            spill
                .spill_maps(vec![(MapId::Emails, MemMap::Counts(&m))], false)
                .unwrap();
            let empty = CountMap::default();
            let mut back = Vec::new();
            for_each_merged(
                Some(&spill),
                MapId::Emails,
                MemMap::Counts(&empty),
                &mut |k, v| {
                    back.push((k.to_owned(), format!("{v:?}")));
                    Ok(())
                },
            )
            .unwrap();
            let mut mem = Vec::new();
            for_each_merged(None, MapId::Emails, MemMap::Counts(&m), &mut |k, v| {
                mem.push((k.to_owned(), format!("{v:?}")));
                Ok(())
            })
            .unwrap();
            assert_eq!(back.len(), want.len());
            assert!(back == mem, "the spilled run reads back other keys or counts");
        }
    }

    /// Keys that all share one hash probe one long chain from the same home bucket, which
    /// wraps past the table's end; every key is still found, counted once, and merged, and
    /// a cleared map (memory kept) starts empty.
    #[test]
    fn colliding_hashes_wrap_and_merge() {
        let mut a = CountMap::default();
        for round in 0..2 {
            for i in 0..700u64 {
                let k = format!("c{i}");
                let (at, new) = a.entry(k.as_bytes(), 0xdead_beef, || 0);
                assert_eq!(new, round == 0);
                a.vals[at] += i;
            }
        }
        assert_eq!(a.len(), 700);
        let mut b = CountMap::default();
        for i in 0..700u64 {
            let k = format!("c{}", i + 350);
            let (at, _) = b.entry(k.as_bytes(), 0xdead_beef, || 0);
            b.vals[at] += 1;
        }
        a.merge_from(&b);
        assert_eq!(a.len(), 1050);
        for i in 0..1050u64 {
            let k = format!("c{i}");
            let want = if i < 700 { 2 * i } else { 0 } + u64::from((350..1050).contains(&i));
            assert_eq!(a.find(k.as_bytes(), 0xdead_beef).map(|j| a.vals[j]), Some(want));
        }
        assert_eq!(a.find(b"nope", 0xdead_beef), None);
        let cap = a.heap_bytes();
        a.clear();
        assert!(a.is_empty() && a.heap_bytes() == cap && a.get("c1").is_none());
        a.add("c1", 3);
        assert_eq!(a["c1"], 3);
    }

    /// A merge gives what adding the other map's keys one by one gives (same values, new
    /// keys appended in the same order) while its prefetching switches between staged and
    /// plain: windows of keys the map holds alternate with windows of new keys, and with
    /// only 16 distinct hashes `Table::peek` often names another key's slot.
    #[test]
    fn merge_equals_adding_one_by_one_as_the_staging_switches() {
        for hash_bits in [32u32, 4] {
            let hash = |k: &str| hash_key(k.as_bytes()) & ((1u64 << hash_bits) - 1) as u32;
            let put = |m: &mut CountMap, k: &str, n: u64| {
                let (i, _) = m.entry(k.as_bytes(), hash(k), || 0);
                *m.value_mut(i) += n;
            };
            let mut a = CountMap::default();
            for i in 0..3000u64 {
                put(&mut a, &format!("k{i}"), i);
            }
            let mut b = CountMap::default();
            for block in 0..40u64 {
                for t in 0..100u64 {
                    let k = if block % 3 == 2 {
                        format!("n{block}-{t}")
                    } else {
                        format!("k{}", (block * 977 + t * 31) % 3000)
                    };
                    put(&mut b, &k, block + t);
                }
            }
            let mut want = a.clone();
            for (k, &n) in b.iter() {
                put(&mut want, k, n);
            }
            a.merge_from(&b);
            assert_eq!(a.len(), want.len());
            assert!(
                a.iter().zip(want.iter()).all(|(x, y)| x == y),
                "{hash_bits} hash bits"
            );
        }
    }

    /// The budget check's forecast is an upper bound of what a merge really allocates
    /// (so a feed that spills ahead never passes its budget), from empty maps, maps with
    /// room, and maps that must grow.
    #[test]
    fn heap_bytes_after_bounds_a_merge() {
        for (have, incoming) in [(0u64, 10u64), (5, 5), (100, 1000), (3000, 3000), (6000, 100)] {
            let mut a = CountMap::default();
            for i in 0..have {
                a.add(&format!("a{i}"), 1);
            }
            let mut b = CountMap::default();
            for i in 0..incoming {
                b.add(&format!("b{i}-{}", "x".repeat(i as usize % 40)), 1);
            }
            let forecast = a.heap_bytes_after(b.len(), b.key_bytes_len());
            a.merge_from(&b);
            assert!(
                a.heap_bytes() <= forecast,
                "{have} + {incoming}: {} > {forecast}",
                a.heap_bytes()
            );
        }
    }

    #[test]
    fn many_keys_survive_growth() {
        let mut m = CountMap::default();
        for i in 0..10_000u64 {
            m.add(&format!("k{i}"), i);
        }
        for i in 0..10_000u64 {
            m.add(&format!("k{i}"), 1);
        }
        assert_eq!(m.len(), 10_000);
        assert!((0..10_000u64).all(|i| m[format!("k{i}").as_str()] == i + 1));
    }

    #[test]
    fn kv_totals_leave_i64_exactly_and_come_back() {
        let stat = |t: i64, d| KeyStat {
            total: PyInt::Small(t),
            docs: d,
        };
        let mut a = KvMap::default();
        a.add("k", stat(i64::MAX, 1));
        a.add("k", stat(1, 1));
        assert_eq!(a.get("k").unwrap().total.to_decimal(), "9223372036854775808");
        a.add("k", stat(-1, 1));
        assert_eq!(a.get("k").unwrap().total, PyInt::Small(i64::MAX));
        assert_eq!(a["k"].docs, 3);
        // i64::MIN itself is a legal total (it lives in the side table).
        a.add("m", stat(i64::MIN, 1));
        assert_eq!(a.get("m").unwrap().total, PyInt::Small(i64::MIN));
        let mut b = KvMap::default();
        b.add("m", stat(-1, 2));
        b.add("n", stat(4, 1));
        b.add("m", stat(0, 0));
        a.merge(b);
        assert_eq!(a.get("m").unwrap().total.to_decimal(), "-9223372036854775809");
        assert_eq!(a.get("m").unwrap().docs, 3);
        assert_eq!(a.get("n").unwrap().total, PyInt::Small(4));
    }
}
