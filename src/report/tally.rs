//! The report's aggregate state and its merge.
//!
//! A [`Tally`] is what one chunk of documents contributes and also what a whole report
//! holds: merging is addition of counts plus "first samples win" for invalid lines, so it
//! is associative, and merging chunk tallies in input order gives the same state whatever
//! the chunk size, thread count or byte-range split.

use super::config::{Config, INVALID_SAMPLES, PREVIEW_CHARS};
pub use super::keys::{CountMap, KvMap};
use super::spill::{MapId, MemMap};
use crate::shared::pyint::PyInt;

/// A key's total over all documents and the number of documents it appears in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyStat {
    pub total: PyInt,
    pub docs: u64,
}

/// A named pattern's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PatternTally {
    pub total: u64,
    /// Only filled in findall mode.
    pub counts: CountMap,
}

/// Where an invalid line was: a byte offset in a file's (decompressed) stream, or the
/// index of a text among all texts fed from memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pos {
    Offset(u64),
    Index(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidLine {
    pub source: String,
    pub pos: Pos,
    pub reason: String,
    pub preview: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Lines (or texts) read, valid or not.
    pub lines: u64,
    /// Valid documents.
    pub documents: u64,
    /// Bytes of the lines read, terminators included (decompressed for gzip).
    pub bytes: u64,
    pub invalid_count: u64,
    /// The first [`INVALID_SAMPLES`] invalid lines in input order.
    pub invalid: Vec<InvalidLine>,
    /// Number of `(\w+)\s+(\d+)` matches.
    pub kv_pairs: u64,
    pub kv: KvMap,
    pub emails_total: u64,
    pub emails: CountMap,
    pub patterns: Vec<PatternTally>,
}

/// Keys that each half of a tally's maps (kv, and the counting maps: emails, patterns)
/// must hold before [`Tally::merge_from`] merges them, or [`super::spill::Spill::spill_maps`]
/// writes them, on two threads: starting a thread costs tens of microseconds, merging
/// 4,096 new keys about a hundred (≈ 27 ns a key at high cardinality, issue 9's profile).
pub(crate) const SPLIT_KEYS: usize = 4096;

/// Add the counts of `other`'s counting maps (emails, and each pattern's) to `emails` and
/// `patterns` (the other half of [`Tally::merge_from`]); how many of each map's keys were
/// there already, into `held` (emails, then the patterns').
fn merge_counts(emails: &mut CountMap, patterns: &mut [PatternTally], other: &Tally, held: &mut [usize]) {
    held[0] = emails.merge_from(&other.emails);
    for ((d, s), h) in patterns.iter_mut().zip(&other.patterns).zip(&mut held[1..]) {
        *h = d.counts.merge_from(&s.counts);
    }
}

impl Tally {
    pub fn new(cfg: &Config) -> Tally {
        Tally {
            patterns: vec![PatternTally::default(); cfg.patterns.len()],
            ..Default::default()
        }
    }

    /// Count an invalid line, keeping it as a sample while there is room.
    pub fn add_invalid(&mut self, source: &str, pos: Pos, reason: String, line: &[u8]) {
        self.invalid_count += 1;
        if self.invalid.len() < INVALID_SAMPLES {
            let head = &line[..line.len().min(PREVIEW_CHARS * 4)];
            let preview: String = String::from_utf8_lossy(head)
                .chars()
                .take(PREVIEW_CHARS)
                .collect();
            self.invalid.push(InvalidLine {
                source: source.to_string(),
                pos,
                reason,
                preview,
            });
        }
    }

    /// Why adding `other` to `self` would overflow a 64-bit counter, naming it; None when
    /// it fits. Checked before a report merge so that an overflow is an error, never a wrap.
    pub fn merge_overflow(&self, other: &Tally) -> Option<String> {
        let sums = [
            ("lines", self.lines, other.lines),
            ("documents", self.documents, other.documents),
            ("bytes", self.bytes, other.bytes),
            ("invalid.count", self.invalid_count, other.invalid_count),
            ("kv.pairs", self.kv_pairs, other.kv_pairs),
            ("emails.total", self.emails_total, other.emails_total),
        ];
        for (what, a, b) in sums {
            if a.checked_add(b).is_none() {
                return Some(format!("{what} would overflow ({a} + {b})"));
            }
        }
        for j in 0..other.kv.len() {
            let k = other.kv.key(j);
            if let Some(mine) = self.kv.get(k) {
                if mine.docs.checked_add(other.kv.docs(j)).is_none() {
                    return Some(format!("the document count of key {k:?} would overflow"));
                }
            }
        }
        let maps = std::iter::once(("emails", &self.emails, &other.emails)).chain(
            self.patterns
                .iter()
                .zip(&other.patterns)
                .map(|(a, b)| ("a pattern's counts", &a.counts, &b.counts)),
        );
        for (what, mine, theirs) in maps {
            for (k, n) in theirs.iter() {
                if mine.get(k).is_some_and(|m| m.checked_add(*n).is_none()) {
                    return Some(format!("the count of {k:?} in {what} would overflow"));
                }
            }
        }
        for (a, b) in self.patterns.iter().zip(&other.patterns) {
            if a.total.checked_add(b.total).is_none() {
                return Some("a pattern's total would overflow".into());
            }
        }
        None
    }

    /// Add `other` (input after everything in `self`), leaving `other` as it is so that a
    /// chunk's tally can be cleared and reused.
    ///
    /// With `two_threads`, when `other` brings at least [`SPLIT_KEYS`] keys both to
    /// the kv map and to the counting maps (emails, patterns), the counting maps are merged
    /// on a second thread while this one merges kv: the maps are independent, and the
    /// report merges its chunks' tallies on one thread, in order, which at high
    /// cardinality is the pipeline's bottleneck when the state stays in memory (the
    /// merging thread busy all the time, the chunk workers idle half of it; issue 9).
    /// The result is the same either way ([`crate::parallel::on_two_threads`]).
    ///
    /// Returns how many keys of each of `other`'s maps this tally already held, by
    /// [`super::spill::MapId`] index (kv, emails, then each pattern).
    pub fn merge_from(&mut self, other: &Tally, two_threads: bool) -> Vec<usize> {
        self.lines += other.lines;
        self.documents += other.documents;
        self.bytes += other.bytes;
        self.invalid_count += other.invalid_count;
        let room = INVALID_SAMPLES.saturating_sub(self.invalid.len());
        self.invalid.extend(other.invalid.iter().take(room).cloned());
        self.kv_pairs += other.kv_pairs;
        self.emails_total += other.emails_total;
        for (d, s) in self.patterns.iter_mut().zip(&other.patterns) {
            d.total += s.total;
        }
        let counted = other.emails.len() + other.patterns.iter().map(|p| p.counts.len()).sum::<usize>();
        let split = two_threads && other.kv.len() >= SPLIT_KEYS && counted >= SPLIT_KEYS;
        let Tally {
            kv, emails, patterns, ..
        } = self;
        let mut held = vec![0; 2 + patterns.len()];
        let (held_kv, held_counted) = held.split_at_mut(1);
        let mut merge_kv = || held_kv[0] = kv.merge_from(&other.kv);
        let mut merge_counted = || merge_counts(emails, patterns, other, held_counted);
        if !split {
            merge_kv();
            merge_counted();
        } else if let (_, Err(panic)) =
            crate::parallel::on_two_threads("ferrokern-merge", merge_kv, merge_counted)
        {
            std::panic::resume_unwind(panic);
        }
        held
    }

    /// Back to an empty tally, keeping the memory of its maps.
    pub fn clear(&mut self) {
        let Tally {
            lines,
            documents,
            bytes,
            invalid_count,
            invalid,
            kv_pairs,
            kv,
            emails_total,
            emails,
            patterns,
        } = self;
        for n in [lines, documents, bytes, invalid_count, kv_pairs, emails_total] {
            *n = 0;
        }
        invalid.clear();
        kv.clear();
        emails.clear();
        for p in patterns {
            p.total = 0;
            p.counts.clear();
        }
    }

    /// Bytes the maps hold on the heap (the per-key state; the rest is a few hundred bytes).
    pub fn heap_bytes(&self) -> usize {
        self.kv.heap_bytes()
            + self.emails.heap_bytes()
            + self.patterns.iter().map(|p| p.counts.heap_bytes()).sum::<usize>()
    }

    /// What [`Self::heap_bytes`] can be after [`Self::merge_from`] of `other`, at worst
    /// (every key of `other` new here).
    pub fn heap_bytes_after_merge(&self, other: &Tally) -> usize {
        self.kv.heap_bytes_after(&other.kv)
            + self
                .emails
                .heap_bytes_after(other.emails.len(), other.emails.key_bytes_len())
            + self
                .patterns
                .iter()
                .zip(&other.patterns)
                .map(|(a, b)| {
                    a.counts
                        .heap_bytes_after(b.counts.len(), b.counts.key_bytes_len())
                })
                .sum::<usize>()
    }

    /// The number of keys of each map, by [`MapId`] index (kv, emails, each pattern's).
    pub fn map_lens(&self) -> Vec<usize> {
        [self.kv.len(), self.emails.len()]
            .into_iter()
            .chain(self.patterns.iter().map(|p| p.counts.len()))
            .collect()
    }

    /// Map `id`.
    pub fn map(&self, id: MapId) -> MemMap<'_> {
        match id {
            MapId::Kv => MemMap::Kv(&self.kv),
            MapId::Emails => MemMap::Counts(&self.emails),
            MapId::Pattern(i) => MemMap::Counts(&self.patterns[i].counts),
        }
    }

    /// Empty map `id`, keeping its memory.
    pub fn clear_map(&mut self, id: MapId) {
        match id {
            MapId::Kv => self.kv.clear(),
            MapId::Emails => self.emails.clear(),
            MapId::Pattern(i) => self.patterns[i].counts.clear(),
        }
    }

    /// Whether every map is empty.
    pub fn maps_empty(&self) -> bool {
        self.kv.is_empty() && self.emails.is_empty() && self.patterns.iter().all(|p| p.counts.is_empty())
    }

    /// Add `other`, which covers input that comes after everything in `self`.
    pub fn merge(&mut self, other: Tally) {
        self.lines += other.lines;
        self.documents += other.documents;
        self.bytes += other.bytes;
        self.invalid_count += other.invalid_count;
        let room = INVALID_SAMPLES.saturating_sub(self.invalid.len());
        self.invalid.extend(other.invalid.into_iter().take(room));
        self.kv_pairs += other.kv_pairs;
        self.kv.merge(other.kv);
        self.emails_total += other.emails_total;
        self.emails.merge(other.emails);
        for (d, s) in self.patterns.iter_mut().zip(other.patterns) {
            d.total += s.total;
            d.counts.merge(s.counts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(t: &mut Tally, i: u64) {
        t.add_invalid("f", Pos::Offset(i), format!("bad {i}"), b"line");
    }

    #[test]
    fn merge_adds_counts_and_keeps_the_first_samples() {
        let cfg = Config::default();
        let (mut a, mut b) = (Tally::new(&cfg), Tally::new(&cfg));
        for i in 0..7 {
            invalid(&mut a, i);
        }
        for i in 7..14 {
            invalid(&mut b, i);
        }
        a.kv.add(
            "k",
            KeyStat {
                total: PyInt::Small(i64::MAX),
                docs: 1,
            },
        );
        b.kv.add(
            "k",
            KeyStat {
                total: PyInt::Small(1),
                docs: 2,
            },
        );
        b.emails.add("x@y.z", 3);
        a.merge(b);
        assert_eq!(a.invalid_count, 14);
        assert_eq!(a.invalid.len(), INVALID_SAMPLES);
        assert_eq!(
            a.invalid.last().unwrap().reason,
            format!("bad {}", INVALID_SAMPLES - 1)
        );
        assert_eq!(a.kv.get("k").unwrap().total.to_decimal(), "9223372036854775808");
        assert_eq!(a.kv["k"].docs, 3);
        assert_eq!(a.emails["x@y.z"], 3);
    }

    #[test]
    fn an_overflowing_merge_is_detected_before_anything_changes() {
        let cfg = Config::default();
        let (mut a, mut b) = (Tally::new(&cfg), Tally::new(&cfg));
        a.lines = u64::MAX;
        b.lines = 3;
        assert!(a.merge_overflow(&b).unwrap().contains("lines"));
        b.lines = 0;
        assert_eq!(a.merge_overflow(&b), None);
        a.emails.add("x@y.z", u64::MAX);
        b.emails.add("x@y.z", 1);
        assert!(a.merge_overflow(&b).unwrap().contains("x@y.z"));
    }
}
