//! Counting strings: one map type that adds and merges, and one order to list counts in.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::hash::Hash;
use std::ops::Deref;

use super::hash::FxHashMap;

/// A value that accumulates: a count, or any per-key statistic made of counts.
pub trait Count {
    /// Add `other` into `self`.
    fn absorb(&mut self, other: Self);
}

impl Count for u64 {
    #[inline]
    fn absorb(&mut self, other: u64) {
        *self += other;
    }
}

/// Key → count (or [`Count`] statistic). `K` is `Box<str>` for maps that outlive the input
/// and `&str` for per-chunk maps that borrow from it. Adding is commutative and
/// associative, so merging per-chunk maps in any grouping gives the same map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountMap<K: Eq + Hash, V = u64>(FxHashMap<K, V>);

impl<K: Eq + Hash, V> Default for CountMap<K, V> {
    fn default() -> Self {
        CountMap(FxHashMap::default())
    }
}

impl<K: Eq + Hash + Borrow<str>, V: Count> CountMap<K, V> {
    /// Add `value` to `key`'s entry. A key already present costs no allocation.
    #[inline]
    pub fn add<'k>(&mut self, key: &'k str, value: V)
    where
        K: From<&'k str>,
    {
        match self.0.get_mut(key) {
            Some(c) => c.absorb(value),
            None => {
                self.0.insert(key.into(), value);
            }
        }
    }

    /// Add every entry of `other`.
    pub fn merge(&mut self, other: CountMap<K, V>) {
        if self.0.is_empty() {
            *self = other;
            return;
        }
        for (k, v) in other.0 {
            match self.0.get_mut(k.borrow()) {
                Some(c) => c.absorb(v),
                None => {
                    self.0.insert(k, v);
                }
            }
        }
    }

    pub fn reserve(&mut self, n: usize) {
        self.0.reserve(n);
    }

    /// Entries in code point order of their keys.
    pub fn sorted_by_key(&self) -> Vec<(&str, &V)> {
        let mut v: Vec<(&str, &V)> = self.0.iter().map(|(k, c)| (k.borrow(), c)).collect();
        // UTF-8 byte order is code point order, which is how Python compares str.
        v.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        v
    }
}

impl<K: Eq + Hash + Borrow<str>> CountMap<K, u64> {
    /// Entries in [`ByCount`] order.
    pub fn ranked(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.0.iter().map(|(k, c)| (k.borrow(), *c)).collect();
        ByCount::sort(&mut v);
        v
    }
}

/// Read access to the entries (writes go through `add` and `merge`).
impl<K: Eq + Hash, V> Deref for CountMap<K, V> {
    type Target = FxHashMap<K, V>;
    fn deref(&self) -> &FxHashMap<K, V> {
        &self.0
    }
}

impl<K: Eq + Hash, V> FromIterator<(K, V)> for CountMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(it: I) -> Self {
        CountMap(it.into_iter().collect())
    }
}

impl<K: Eq + Hash, V> IntoIterator for CountMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::collections::hash_map::IntoIter<K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The order every ranked list of the library uses: count descending, then the string in
/// code point order ascending — Python's `sorted(items, key=lambda kv: (-kv[1], kv[0]))`.
/// A total order, so equal counts always list the same way.
#[derive(Debug, PartialEq, Eq)]
pub struct ByCount<'a, C>(pub &'a str, pub C);

impl<C: Ord> Ord for ByCount<'_, C> {
    fn cmp(&self, other: &Self) -> Ordering {
        // UTF-8 byte order is code point order, which is how Python compares str.
        other
            .1
            .cmp(&self.1)
            .then_with(|| self.0.as_bytes().cmp(other.0.as_bytes()))
    }
}

impl<C: Ord> PartialOrd for ByCount<'_, C> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl ByCount<'_, ()> {
    /// Sort `(string, count)` pairs in this order.
    pub fn sort<C: Ord>(items: &mut [(&str, C)]) {
        items.sort_unstable_by(|a, b| ByCount(a.0, &a.1).cmp(&ByCount(b.0, &b.1)));
    }
}

/// The first `n` of `items` in [`ByCount`] order, by a bounded heap: O(len · log n) time
/// and O(n) memory, where sorting everything would cost O(len · log len) and a list of all
/// items (a top-20 of millions of keys must not sort millions of keys).
pub fn top_n<'a, C: Ord>(items: impl Iterator<Item = (&'a str, C)>, n: usize) -> Vec<(&'a str, C)> {
    if n == 0 {
        return Vec::new();
    }
    // A max-heap in ByCount order: its top is the worst of the best n seen so far.
    let mut heap: BinaryHeap<ByCount<'a, C>> = BinaryHeap::with_capacity(n.min(1 << 16) + 1);
    for (k, c) in items {
        if heap.len() < n {
            heap.push(ByCount(k, c));
        } else if let Some(mut worst) = heap.peek_mut() {
            if ByCount(k, &c) < ByCount(worst.0, &worst.1) {
                *worst = ByCount(k, c);
            }
        }
    }
    heap.into_sorted_vec().into_iter().map(|b| (b.0, b.1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_merge_in_any_grouping() {
        let mut a: CountMap<Box<str>> = CountMap::default();
        a.add("x", 2);
        a.add("y", 1);
        let mut b: CountMap<Box<str>> = CountMap::default();
        b.add("x", 3);
        b.add("z", 4);
        let mut ab = a.clone();
        ab.merge(b.clone());
        let mut ba = b;
        ba.merge(a);
        assert_eq!(ab, ba);
        assert_eq!(ab["x"], 5);
        let mut empty: CountMap<Box<str>> = CountMap::default();
        empty.merge(ab.clone());
        assert_eq!(empty, ab);
    }

    #[test]
    fn ranked_by_count_then_code_point() {
        let mut m: CountMap<&str> = CountMap::default();
        for (k, n) in [("b", 2), ("é", 3), ("a", 2), ("z", 3), ("Z", 1)] {
            m.add(k, n);
        }
        assert_eq!(m.ranked(), [("z", 3), ("é", 3), ("a", 2), ("b", 2), ("Z", 1)]);
        let keys: Vec<&str> = m.sorted_by_key().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["Z", "a", "b", "z", "é"]);
    }

    #[test]
    fn top_n_is_the_head_of_the_full_ranking() {
        let mut m: CountMap<&str> = CountMap::default();
        let keys: Vec<String> = (0..500).map(|i| format!("k{}", (i * 7919) % 503)).collect();
        for (i, k) in keys.iter().enumerate() {
            m.add(k, (i % 13) as u64);
        }
        let all = m.ranked();
        for n in [0, 1, 2, 13, 100, 499, 500, 501] {
            let got = top_n(m.iter().map(|(k, c)| (*k, *c)), n);
            assert_eq!(got, all[..n.min(all.len())], "n = {n}");
        }
    }
}
