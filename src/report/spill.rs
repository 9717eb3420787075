//! External aggregation: when a report's per-key state passes its memory budget, every map
//! is written to a temporary file and emptied; outputs read it back and add the values of
//! equal keys, so the result is exactly what an unbounded report gives (as DuckDB and Spark
//! aggregate).
//!
//! * A spill scatters a map's entries by hash into [`PARTS`] partitions, in the order the
//!   map holds them, unsorted (hash-partitioned aggregation). It wrote sorted runs until
//!   issue 9's sixteenth round: the sort and the walk in key order were most of a spilling
//!   feed's extra CPU (84–99 ns a key against 13–15 for the scatter,
//!   `bench/spill_partition.rs`), for an order that only some outputs need.
//! * What needs no order (a summary's top-N, distinct counts and domains) adds up one
//!   partition at a time in a hash map ([`for_each_unordered`]); what does (the full
//!   output, the binary state) sorts each partition into a run of a scratch file and merges
//!   those runs k-way with the map in memory ([`for_each_merged`]). A partition too big to
//!   add up within the budget is scattered again by the hash's next bits first, so memory
//!   stays bounded whatever the number of keys.
//! * A feed may also route chunk maps here without merging them (`Report::route`): their
//!   entries are scattered the same way into `Pending` buffers in memory and written as
//!   segments of the same partitions (`Spill::write_pending`); a partition does not care
//!   whether an entry came from the report's map or from a chunk's, nor how often its key
//!   repeats.
//! * Sorted runs remain for what arrives sorted: another report's merged entries
//!   ([`Spill::write_run`]) and a binary state's sections, kept as they are
//!   ([`Spill::write_raw_run`]); the k-way merge reads them with the partitions' runs.
//! * The file is created with `tempfile::tempfile_in`: on Linux an `O_TMPFILE` inode with no
//!   name (elsewhere one unlinked right after creation), so it is gone when the report is
//!   freed, when a feed fails or is cancelled, and even when the process is killed: nothing
//!   is ever left behind in the temporary directory. Scratch files of outputs likewise.
//! * One file per map of a report (created at the map's first spill), so that the maps of a
//!   tally spill on two threads at once ([`Spill::spill_maps`]). Entries are encoded as in
//!   `state.rs` ([`EntryWriter`]): a sorted run is its entries' number and the entries
//!   front-coded; a partition's segment is entries whose keys share nothing with the one
//!   before. Runs were LZ4 frames until issue 9's seventh round: LZ4 was a fifth of the
//!   spill thread's time (5 % of a spilling feed's CPU) for runs only 10–20 % smaller; the
//!   file is private to the process and read back once per output, so the bytes saved on
//!   disk were not worth the CPU.
//! * A write error (a full disk) is an `IO` error naming the directory; the feed that
//!   needed the spill fails and the report is marked incomplete. Nothing of a spill that
//!   failed half-way is recorded.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};

use super::keys::{hash_key, key_str, whole_key, CountMap, KvMap, SortEntry};
use super::state::{EntryReader, EntryWriter};
use super::tally::SPLIT_KEYS;
use crate::error::{panic_error, Error, ErrorKind, Result};
use crate::shared::pyint::PyInt;

/// What a run is written through: a buffered handle of the spill file.
type RunWriter<'f> = BufWriter<&'f File>;

/// A value of a merged map: a count, or a kv key's (total, documents).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    Count(u64),
    Kv(PyInt, u64),
}

impl Val {
    /// Add `other`; None when a 64-bit counter would overflow.
    fn add(&mut self, other: &Val) -> Option<()> {
        match (self, other) {
            (Val::Count(a), Val::Count(b)) => *a = a.checked_add(*b)?,
            (Val::Kv(t, d), Val::Kv(u, e)) => {
                t.add_assign(u);
                *d = d.checked_add(*e)?;
            }
            _ => return None,
        }
        Some(())
    }
}

/// Append `v` to `w` (the value of the entry whose key was just written).
fn put_val(w: &mut EntryWriter, v: &Val) {
    match v {
        Val::Count(c) => w.count(*c),
        Val::Kv(t, d) => w.kv(t, *d),
    }
}

/// The error of adding to `key`'s values past a 64-bit counter.
fn overflow(key: &[u8]) -> Error {
    Error::invalid(format!(
        "the count of {:?} would overflow a 64-bit counter",
        String::from_utf8_lossy(key)
    ))
}

#[derive(Clone, Copy, Debug)]
struct Seg {
    off: u64,
    len: u64,
}

/// Bits of a key's hash ([`hash_key`]) that choose its partition, at each level.
const PART_BITS: u32 = 6;
/// Partitions a spill scatters each map's entries into.
const PARTS: usize = 1 << PART_BITS;
/// Levels of partitioning the 32-bit hash allows: a partition at the last one is added up
/// whatever its size.
const LEVELS: u32 = 32 / PART_BITS;
/// A partition's buffer is written to the file, as a segment of it, once it holds this
/// many bytes (so a spill buffers at most `PARTS` × 32 KiB per map).
const SEGMENT_BYTES: usize = 32 << 10;
/// What a partition that is added up in memory may hold, at most, in the file, unless the
/// report sets it ([`Spill::with_leaf_bytes`]).
const LEAF_BYTES: u64 = 16 << 20;

/// The partition of a key whose [`hash_key`] is `hash`, at `level`: bits `6 level` to
/// `6 level + 5` of it. A map that adds up one partition holds keys that share those
/// bits; its table finds buckets by a multiplication that mixes all 32
/// (`keys::spread`), so they still spread.
#[inline]
fn part_of(hash: u32, level: u32) -> usize {
    (hash >> (PART_BITS * level)) as usize & (PARTS - 1)
}

/// The spilled runs of one report.
#[derive(Debug)]
pub struct Spill {
    dir: PathBuf,
    /// Per map (index 0 is kv, 1 emails, 2 + i pattern i): its file and runs.
    maps: Vec<MapRuns>,
    /// Spill events (each writes one run per non-empty map).
    pub spills: u64,
    /// What a partition added up in memory may hold in the file, at most: a bigger one is
    /// partitioned again ([`visit_parts`]).
    leaf_bytes: u64,
    /// Tests: the file every map writes to instead of a temporary file of its own.
    #[cfg(test)]
    over: Option<File>,
}

/// One map's spilled runs, in a file of its own: two maps spilled at once on two threads
/// each append to their own file, with nothing buffered in memory.
#[derive(Debug, Default)]
struct MapRuns {
    /// Created at the map's first run.
    file: Option<File>,
    end: u64,
    /// Sorted runs.
    runs: Vec<Seg>,
    /// Per partition (none, or [`PARTS`] of them), its segments.
    parts: Vec<Vec<Seg>>,
    /// The partitions as sorted runs ([`sorted_parts`]), kept from the first ordered
    /// output for the next until the map spills again: a full report reads kv twice
    /// (totals, then document counts), and a state follows a full report. Their scratch
    /// files take as much disk again as the partitions, until the report is freed.
    sorted: std::sync::Mutex<Option<Arc<Vec<MapRuns>>>>,
    /// The sort buffer of the last sorted run written from a map, kept for the next:
    /// allocated afresh, its pages were faulted in and zeroed again at every run.
    scratch: Vec<SortEntry>,
    /// The encoding buffer of the last sorted run written from a map, kept for the next.
    run_buf: Vec<u8>,
    /// The partitions' encoding buffers of the last spill, kept for the next: the helper
    /// thread that spills is a new thread each time, whose allocator heap starts empty, so
    /// buffers grown afresh for every spill took fresh pages (a third of the allocator's
    /// new pages in a spilling feed, issue 9 seventh round).
    part_bufs: Vec<Vec<u8>>,
    /// The thread whose write of a run failed last (tests: a full disk during a spill on
    /// a helper thread must fail the feed, not vanish with the thread).
    #[cfg(test)]
    failed_on: Option<String>,
}

/// What receives the entries of a run being written, one call per key in order (key
/// bytes: a map in memory holds UTF-8 keys only, and checking them again cost 7 % of a
/// spilling run).
pub type Sink<'a> = dyn FnMut(&[u8], &Val) -> Result<()> + 'a;

/// Which map of a tally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapId {
    Kv,
    Emails,
    Pattern(usize),
}

impl MapId {
    pub(crate) fn index(self) -> usize {
        match self {
            MapId::Kv => 0,
            MapId::Emails => 1,
            MapId::Pattern(i) => 2 + i,
        }
    }
}

/// A map in memory, as a source of sorted entries.
pub enum MemMap<'a> {
    Kv(&'a KvMap),
    Counts(&'a CountMap),
}

/// How far ahead a walk in key order prefetches: the slot `2 × PREFETCH_AHEAD` entries
/// ahead, the key and value `PREFETCH_AHEAD` ahead.
const PREFETCH_AHEAD: usize = 8;

impl<'a> MemMap<'a> {
    /// Another view of the same map.
    pub fn same(&self) -> MemMap<'a> {
        match self {
            MemMap::Kv(m) => MemMap::Kv(m),
            MemMap::Counts(m) => MemMap::Counts(m),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            MemMap::Kv(m) => m.len(),
            MemMap::Counts(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub(crate) fn order(&self) -> Vec<u32> {
        match self {
            MemMap::Kv(m) => m.sorted_indices(),
            MemMap::Counts(m) => m.sorted_indices(),
        }
    }
    pub(crate) fn key_bytes(&self, i: usize) -> &[u8] {
        match self {
            MemMap::Kv(m) => m.map.key_bytes(i),
            MemMap::Counts(m) => m.key_bytes(i),
        }
    }

    /// The `i`-th key (in insertion order).
    fn key(&self, i: usize) -> &str {
        match self {
            MemMap::Kv(m) => m.key(i),
            MemMap::Counts(m) => m.key(i),
        }
    }

    /// The stored [`hash_key`] of entry `i`.
    fn hash_at(&self, i: usize) -> u32 {
        match self {
            MemMap::Kv(m) => m.map.hash_at(i),
            MemMap::Counts(m) => m.hash_at(i),
        }
    }
    /// Prefetch for a walk in `order` that is at position `j`: the slot of the entry
    /// `2 × AHEAD` places ahead, the key and value of the one `AHEAD` places ahead (whose
    /// slot was prefetched earlier). See [`super::keys::KeyMap::prefetch_entry`].
    #[inline]
    pub(crate) fn prefetch(&self, order: &[u32], j: usize) {
        self.prefetch_ahead(
            order.get(j + 2 * PREFETCH_AHEAD).copied(),
            order.get(j + PREFETCH_AHEAD).copied(),
        );
    }

    /// Prefetch the slot of entry `slot` and the key and value of entry `entry`.
    #[inline]
    fn prefetch_ahead(&self, slot: Option<u32>, entry: Option<u32>) {
        if let Some(i) = slot {
            match self {
                MemMap::Kv(m) => m.map.prefetch_slot(i as usize),
                MemMap::Counts(m) => m.prefetch_slot(i as usize),
            }
        }
        if let Some(i) = entry {
            match self {
                MemMap::Kv(m) => m.map.prefetch_entry(i as usize),
                MemMap::Counts(m) => m.prefetch_entry(i as usize),
            }
        }
    }

    /// Prefetch for a walk over sorted entries that is at position `j`: as
    /// [`Self::prefetch`], but an entry that holds its whole key ([`whole_key`]) needs
    /// only its value.
    #[inline]
    fn prefetch_sorted(&self, order: &[SortEntry], j: usize) {
        let idx = |e: &SortEntry| e[2] as u32 as usize;
        let whole = |e: &SortEntry| whole_key(e, &mut [0; 16]).is_some();
        if let Some(e) = order.get(j + 2 * PREFETCH_AHEAD).filter(|e| !whole(e)) {
            match self {
                MemMap::Kv(m) => m.map.prefetch_slot(idx(e)),
                MemMap::Counts(m) => m.prefetch_slot(idx(e)),
            }
        }
        if let Some(e) = order.get(j + PREFETCH_AHEAD) {
            match (self, whole(e)) {
                (MemMap::Kv(m), true) => m.map.prefetch_value(idx(e)),
                (MemMap::Kv(m), false) => m.map.prefetch_entry(idx(e)),
                (MemMap::Counts(m), true) => m.prefetch_value(idx(e)),
                (MemMap::Counts(m), false) => m.prefetch_entry(idx(e)),
            }
        }
    }

    /// The map's entries sorted by key into `v` (its memory reused).
    fn sort_into(&self, v: &mut Vec<SortEntry>) {
        match self {
            MemMap::Kv(m) => m.sort_entries(v),
            MemMap::Counts(m) => m.sort_entries(v),
        }
    }

    /// Write entry `i` as a partition's segment holds it: its key (sharing nothing with
    /// the entry before), then its value.
    #[inline]
    fn put_entry(&self, w: &mut EntryWriter, i: usize) {
        match self {
            MemMap::Kv(m) => {
                w.key_after(&[], m.map.key_bytes(i));
                w.kv(&m.total(i), m.docs(i));
            }
            MemMap::Counts(m) => {
                w.key_after(&[], m.key_bytes(i));
                w.count(*m.value(i));
            }
        }
    }

    fn val(&self, i: usize) -> Val {
        match self {
            MemMap::Kv(m) => Val::Kv(m.total(i).into_owned(), m.docs(i)),
            MemMap::Counts(m) => Val::Count(*m.value(i)),
        }
    }
}

/// Reads a segment of the spill file with positioned reads (the file is shared by all
/// runs, and `pread` needs no seek).
struct SegReader<'f> {
    file: &'f File,
    pos: u64,
    end: u64,
}

impl Read for SegReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = (self.end - self.pos).min(buf.len() as u64) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.pos += n as u64;
        Ok(n)
    }
}

type RunStream<'f> = BufReader<SegReader<'f>>;

/// One run being read: its current entry.
struct Run<'f> {
    r: RunStream<'f>,
    left: u64,
    key: Vec<u8>,
    /// The first 16 bytes of `key` ([`head`]), so that the merge's tree orders runs by an
    /// integer comparison and reads the keys only when two heads are equal.
    head: u128,
    val: Val,
    kv: bool,
    /// Past its last entry.
    done: bool,
}

/// The first 16 bytes of `key` as a big-endian integer, zero-padded. Two keys whose heads
/// differ are in the order of their heads: at the first differing byte either both keys
/// have a real byte, or one has ended (a zero of padding) where the other's byte is not
/// zero, so the one that ended is a prefix of the other and sorts first. Equal heads say
/// nothing (`ab` and `ab\0`): the keys themselves decide ([`run_less`]).
#[inline]
fn head(key: &[u8]) -> u128 {
    match key.first_chunk::<16>() {
        Some(c) => u128::from_be_bytes(*c),
        None => {
            let mut b = [0u8; 16];
            b[..key.len()].copy_from_slice(key);
            u128::from_be_bytes(b)
        }
    }
}

/// The order of keys `a` and `b`, given their [`head`]s: the heads when they differ, else
/// the bytes. The merge compares keys about 2 log2(runs) + 2 times per key; compared as
/// slices, a `memcmp` call each, they made `memcmp` 18 % of a profile of a spilling feed
/// and three top-20 summaries (issue 9, fifteenth round).
#[inline]
fn key_order(a_head: u128, a: &[u8], b_head: u128, b: &[u8]) -> std::cmp::Ordering {
    if a_head != b_head {
        a_head.cmp(&b_head)
    } else {
        a.cmp(b)
    }
}

/// Whether run `a`'s current key sorts before run `b`'s ([`key_order`]), an exhausted run
/// after every other.
#[inline]
fn run_less(a: &Run<'_>, b: &Run<'_>) -> bool {
    match (a.done, b.done) {
        (false, false) => key_order(a.head, &a.key, b.head, &b.key).is_lt(),
        (a_done, b_done) => !a_done && b_done,
    }
}

fn io_read(dir: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!(
            "cannot read back the report's spilled state in '{}': {e}",
            dir.display()
        ),
    )
}

fn varint<R: BufRead>(r: &mut R) -> std::io::Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let mut b = [0u8];
        r.read_exact(&mut b)?;
        v |= ((b[0] & 0x7f) as u64) << shift;
        if b[0] & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "bad varint"))
}

impl Run<'_> {
    /// Read the next entry into `key`/`val`; false at the end of the run.
    fn advance(&mut self) -> std::io::Result<bool> {
        if self.left == 0 {
            return Ok(false);
        }
        self.left -= 1;
        let shared = varint(&mut self.r)? as usize;
        let len = varint(&mut self.r)? as usize;
        if shared > self.key.len() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "bad run"));
        }
        self.key.truncate(shared);
        let at = self.key.len();
        self.key.resize(at + len, 0);
        self.r.read_exact(&mut self.key[at..])?;
        self.head = head(&self.key);
        self.val = if self.kv {
            let docs = varint(&mut self.r)?;
            let mut tag = [0u8];
            self.r.read_exact(&mut tag)?;
            let total = if tag[0] == 0 {
                let z = varint(&mut self.r)?;
                PyInt::Small(((z >> 1) as i64) ^ -((z & 1) as i64))
            } else {
                let n = varint(&mut self.r)? as usize;
                let mut d = vec![0u8; n];
                self.r.read_exact(&mut d)?;
                let s = String::from_utf8(d).unwrap_or_default();
                PyInt::parse_python(&s, 0)
                    .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad total"))?
            };
            Val::Kv(total, docs)
        } else {
            Val::Count(varint(&mut self.r)?)
        };
        Ok(true)
    }
}

impl Spill {
    /// The spill of a report, its files in `dir` (the configured directory, else `TMPDIR`,
    /// else /tmp) once a map has a run to write.
    pub fn new(dir: Option<&Path>, maps: usize) -> Spill {
        Spill {
            dir: dir.map_or_else(std::env::temp_dir, Path::to_path_buf),
            maps: std::iter::repeat_with(MapRuns::default).take(maps).collect(),
            spills: 0,
            leaf_bytes: LEAF_BYTES,
            #[cfg(test)]
            over: None,
        }
    }

    /// A spill whose maps all write to `file` (tests: `/dev/full`, where every write fails
    /// with `ENOSPC` as on a full disk).
    #[cfg(test)]
    pub(crate) fn over(file: File, dir: &Path, maps: usize) -> Spill {
        Spill {
            over: Some(file),
            ..Spill::new(Some(dir), maps)
        }
    }

    fn part_cx(&self, kv: bool) -> PartCx<'_> {
        PartCx {
            dir: &self.dir,
            leaf_bytes: self.leaf_bytes,
            kv,
        }
    }

    /// A partition that is added up in memory holds at most `n` bytes of the file (the
    /// report derives it from its budget; tests make it tiny).
    pub fn with_leaf_bytes(mut self, n: u64) -> Spill {
        self.leaf_bytes = n.max(1);
        self
    }

    /// Bytes written to the spill files so far.
    pub fn bytes(&self) -> u64 {
        self.maps.iter().map(|m| m.end).sum()
    }

    /// The runs of map `id`, made room for.
    fn map_mut(&mut self, id: MapId) -> &mut MapRuns {
        let i = id.index();
        if self.maps.len() <= i {
            self.maps.resize_with(i + 1, MapRuns::default);
        }
        &mut self.maps[i]
    }

    fn map(&self, id: MapId) -> Option<&MapRuns> {
        self.maps.get(id.index())
    }

    /// Create the file map `id` writes its runs to, unless it has one.
    fn ensure_file(&mut self, id: MapId) -> Result<()> {
        #[cfg(test)]
        if let Some(f) = &self.over {
            let f = f.try_clone().map_err(|e| io_write(&self.dir, e))?;
            self.map_mut(id).file.get_or_insert(f);
            return Ok(());
        }
        let dir = self.dir.clone();
        let m = self.map_mut(id);
        if m.file.is_none() {
            m.file = Some(tempfile::tempfile_in(&dir).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot create a spill file in '{}': {e}", dir.display()),
                )
            })?);
        }
        Ok(())
    }

    /// Write `entries` (sorted, distinct keys; `n` of them) as a run of map `id`.
    pub fn write_run(
        &mut self,
        id: MapId,
        n: u64,
        each: &mut dyn FnMut(&mut Sink) -> Result<()>,
    ) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.ensure_file(id)?;
        let dir = self.dir.clone();
        self.map_mut(id).append_run(&dir, |enc| {
            let mut w = EntryWriter::default();
            super::state::put_varint(&mut w.buf, n);
            let mut err: Option<std::io::Error> = None;
            each(&mut |k, v| {
                w.key(k);
                put_val(&mut w, v);
                if w.buf.len() >= 1 << 16 {
                    if let Err(e) = enc.write_all(&w.buf) {
                        err.get_or_insert(e);
                    }
                    w.buf.clear();
                }
                Ok(())
            })?;
            Ok(err.map_or(Ok(()), Err).and_then(|_| enc.write_all(&w.buf)))
        })
    }

    /// Write `entries` — `varint n` and `n` front-coded entries in strictly increasing key
    /// order, already checked (a section of a report state) — as a run of map `id`,
    /// without decoding them.
    pub fn write_raw_run(&mut self, id: MapId, entries: &[u8]) -> Result<()> {
        self.ensure_file(id)?;
        let dir = self.dir.clone();
        self.map_mut(id)
            .append_run(&dir, |enc| Ok(enc.write_all(entries)))
    }

    /// How many sorted runs each map has (to undo a merge that fails half-way; a merge
    /// writes no partitions).
    pub fn run_marks(&self) -> Vec<usize> {
        self.maps.iter().map(|m| m.runs.len()).collect()
    }

    /// Forget the runs written since [`Self::run_marks`] gave `marks` (their bytes stay in
    /// the files, unread, until the report is freed).
    pub fn truncate_runs(&mut self, marks: &[usize]) {
        for (i, m) in self.maps.iter_mut().enumerate() {
            m.runs.truncate(marks.get(i).copied().unwrap_or(0));
        }
    }

    /// Write each of `maps` as a run (see [`MapRuns::spill_map`]) and count one spill.
    ///
    /// With `two_threads`, when the kv map and the others each hold at least
    /// [`SPLIT_KEYS`] keys, the others are written on a second thread meanwhile: a
    /// spill (sort, then a walk in key order) was the busiest thread of a feed at high
    /// cardinality, and its maps are independent, each with its own file (issue 9). The
    /// runs are the same either way ([`crate::parallel::on_two_threads`]). On failure the
    /// first map's error is returned.
    pub fn spill_maps(&mut self, maps: Vec<(MapId, MemMap)>, two_threads: bool) -> Result<()> {
        self.spills += 1;
        // An empty map writes no run, and needs no file.
        for (id, m) in &maps {
            if !m.is_empty() {
                self.ensure_file(*id)?;
            }
        }
        let dir = self.dir.as_path();
        // One `&mut MapRuns` per map of the list, so that two threads can hold theirs.
        let mut slots: Vec<Option<&mut MapRuns>> = self.maps.iter_mut().map(Some).collect();
        let mut jobs = Vec::with_capacity(maps.len());
        for (id, m) in maps {
            let runs = slots
                .get_mut(id.index())
                .and_then(Option::take)
                .ok_or_else(|| Error::new(ErrorKind::Internal, "a map was listed twice in one spill"))?;
            jobs.push((runs, m));
        }
        let write = |jobs: Vec<(&mut MapRuns, MemMap)>| -> Result<()> {
            jobs.into_iter().try_for_each(|(runs, m)| runs.spill_map(dir, m))
        };
        let rest = if jobs.len() > 1 {
            jobs.split_off(1)
        } else {
            Vec::new()
        };
        let split = two_threads
            && jobs.iter().map(|(_, m)| m.len()).sum::<usize>() >= SPLIT_KEYS
            && rest.iter().map(|(_, m)| m.len()).sum::<usize>() >= SPLIT_KEYS;
        if !split {
            return write(jobs).and_then(|()| write(rest));
        }
        let (first, second) =
            crate::parallel::on_two_threads("ferrokern-spill2", || write(jobs), || write(rest));
        first.and(second.unwrap_or_else(|p| Err(panic_error("spilling", &*p))))
    }

    /// Write the entries `pending` holds as segments of map `id`'s partitions, and empty
    /// it (its buffers' memory kept). As a scatter: recorded only when every byte is
    /// written, the file cut back on an error (the entries are then lost with the feed,
    /// which fails).
    pub(crate) fn write_pending(&mut self, id: MapId, pending: &mut Pending) -> Result<()> {
        if pending.bytes == 0 {
            return Ok(());
        }
        self.ensure_file(id)?;
        let dir = self.dir.as_path();
        let runs = self
            .maps
            .get_mut(id.index())
            .ok_or_else(|| Error::new(ErrorKind::Internal, "a spill without the map"))?;
        pending.bytes = 0;
        let r = runs.scatter(dir, 0, |s| {
            (0..PARTS).try_for_each(|p| {
                // The pending buffer goes through the scatter's own flush and comes back
                // emptied.
                std::mem::swap(&mut s.parts[p].buf, &mut pending.parts[p].buf);
                let r = s.flush(p);
                std::mem::swap(&mut s.parts[p].buf, &mut pending.parts[p].buf);
                r
            })
        });
        if r.is_err() {
            pending.parts.iter_mut().for_each(|w| w.buf.clear());
        }
        r
    }

    /// Whether map `id` has anything spilled.
    pub fn has_runs(&self, id: MapId) -> bool {
        self.map(id).is_some_and(|m| !m.runs.is_empty() || m.has_parts())
    }

    /// The thread whose write of a run of map `id` failed last.
    #[cfg(test)]
    pub(crate) fn failed_on(&self, id: MapId) -> Option<&str> {
        self.map(id)?.failed_on.as_deref()
    }
}

fn io_write(dir: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!(
            "cannot spill the report's state to '{}' (its memory budget is exceeded): {e}",
            dir.display()
        ),
    )
}

/// Entries being scattered into partitions ([`MapRuns::scatter`]): a buffer per
/// partition, written at the end of the file as a segment of its partition when full.
struct Scatter<'a> {
    file: &'a File,
    dir: &'a Path,
    level: u32,
    parts: Vec<EntryWriter>,
    /// Where the next segment goes.
    end: u64,
    /// The segments written, per partition.
    segs: Vec<Vec<Seg>>,
}

impl Scatter<'_> {
    /// Add an entry whose key's [`hash_key`] is `hash`, written (key, then value) by
    /// `entry`.
    #[inline]
    fn push(&mut self, hash: u32, entry: impl FnOnce(&mut EntryWriter)) -> Result<()> {
        let p = part_of(hash, self.level);
        let w = &mut self.parts[p];
        entry(w);
        if w.buf.len() >= SEGMENT_BYTES {
            self.flush(p)?;
        }
        Ok(())
    }

    /// Write partition `p`'s buffer as a segment (positioned: no cursor to keep).
    fn flush(&mut self, p: usize) -> Result<()> {
        let buf = &mut self.parts[p].buf;
        if buf.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(buf, self.end)
            .map_err(|e| io_write(self.dir, e))?;
        let len = buf.len() as u64;
        self.segs[p].push(Seg { off: self.end, len });
        self.end += len;
        buf.clear();
        Ok(())
    }
}

/// Entries of chunk maps scattered into a map's partitions (of level 0) in memory, not
/// yet written ([`Spill::write_pending`]): at high cardinality a chunk's keys are nearly
/// all new to the report's maps, and merging them there only to spill them again was the
/// merging threads' whole work (issue 9, seventeenth round; see `Report::route`).
#[derive(Default)]
pub(crate) struct Pending {
    parts: Vec<EntryWriter>,
    /// Bytes the buffers hold.
    bytes: usize,
}

impl Pending {
    /// Add every entry of `m`, in the order it holds them.
    pub(crate) fn add(&mut self, m: &MemMap) {
        if self.parts.is_empty() {
            self.parts = (0..PARTS).map(|_| EntryWriter::with_buf(Vec::new())).collect();
        }
        for i in 0..m.len() {
            let w = &mut self.parts[part_of(m.hash_at(i), 0)];
            let before = w.buf.len();
            m.put_entry(w, i);
            self.bytes += w.buf.len() - before;
        }
    }

    /// Bytes held, written or not.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

impl MapRuns {
    /// Append one run, its content written by `fill`, at the end of the file and
    /// record it. `fill`'s own error is returned as is; a write error (from `fill` or the
    /// frame's end) becomes the spill error that names the directory `dir`.
    fn append_run(
        &mut self,
        dir: &Path,
        fill: impl FnOnce(&mut RunWriter<'_>) -> Result<std::io::Result<()>>,
    ) -> Result<()> {
        let Some(file) = &self.file else {
            return Err(Error::new(ErrorKind::Internal, "a spill run without its file"));
        };
        let start = self.end;
        // Runs are written at the file's cursor: put it where the last good run ended. A
        // failed run (a full disk) leaves part of its bytes behind the cursor, and the next
        // run, recorded as starting at `start`, would otherwise be written after them and
        // read back from the garbage.
        let mut f = file;
        f.seek(SeekFrom::Start(start)).map_err(|e| io_write(dir, e))?;
        let mut enc = BufWriter::with_capacity(1 << 16, file);
        // Every path is done with the writer before the file is cut back to `start`, which
        // gives the partial run's space back (best effort: the disk may be full); what a
        // failed run left in its buffer is discarded, not written once more by a drop.
        let done = match fill(&mut enc) {
            Err(e) => {
                let _ = enc.into_parts();
                let _ = file.set_len(start);
                return Err(e);
            }
            Ok(r) => r.and_then(|_| enc.flush()),
        };
        let _ = enc.into_parts();
        if let Err(e) = done {
            let _ = file.set_len(start);
            #[cfg(test)]
            {
                self.failed_on = std::thread::current().name().map(str::to_owned);
            }
            return Err(io_write(dir, e));
        }
        // Where this run ended (the file may be longer: the tail of an earlier failed run).
        let end = f.stream_position().map_err(|e| io_write(dir, e))?;
        self.end = end;
        self.runs.push(Seg {
            off: start,
            len: end - start,
        });
        Ok(())
    }

    /// A map's runs in a scratch file of its own, created in `dir` (an output's sorted
    /// partitions, or a partition being partitioned again).
    fn scratch_in(dir: &Path) -> Result<MapRuns> {
        let file = tempfile::tempfile_in(dir).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot create a scratch file in '{}': {e}", dir.display()),
            )
        })?;
        Ok(MapRuns {
            file: Some(file),
            ..MapRuns::default()
        })
    }

    fn has_parts(&self) -> bool {
        self.parts.iter().any(|p| !p.is_empty())
    }

    /// Scatter the entries `fill` gives (to [`Scatter::push`]) into this map's partitions
    /// at `level`, appended to its file. The new segments are recorded only when every
    /// byte is written: on any error the file is cut back to where it ended, and nothing
    /// of the failed scatter is ever read.
    fn scatter(
        &mut self,
        dir: &Path,
        level: u32,
        fill: impl FnOnce(&mut Scatter<'_>) -> Result<()>,
    ) -> Result<()> {
        let Some(file) = &self.file else {
            return Err(Error::new(ErrorKind::Internal, "a spill without its file"));
        };
        let mut bufs = std::mem::take(&mut self.part_bufs);
        bufs.resize_with(PARTS, Vec::new);
        let mut s = Scatter {
            file,
            dir,
            level,
            parts: bufs.into_iter().map(EntryWriter::with_buf).collect(),
            end: self.end,
            segs: vec![Vec::new(); PARTS],
        };
        let r = fill(&mut s).and_then(|()| (0..PARTS).try_for_each(|p| s.flush(p)));
        let Scatter { parts, end, segs, .. } = s;
        self.part_bufs = parts.into_iter().map(|w| w.buf).collect();
        if let Err(e) = r {
            let _ = file.set_len(self.end);
            #[cfg(test)]
            {
                self.failed_on = std::thread::current().name().map(str::to_owned);
            }
            return Err(e);
        }
        self.end = end;
        *self.sorted.get_mut().unwrap_or_else(PoisonError::into_inner) = None;
        self.parts.resize_with(PARTS, Vec::new);
        for (all, new) in self.parts.iter_mut().zip(segs) {
            all.extend(new);
        }
        Ok(())
    }

    /// Write an in-memory map into the partitions, in the order it holds its entries
    /// (the arena and the values read front to back), each key by its stored hash.
    fn spill_map(&mut self, dir: &Path, m: MemMap) -> Result<()> {
        if m.is_empty() {
            return Ok(());
        }
        self.scatter(dir, 0, |s| {
            (0..m.len()).try_for_each(|i| s.push(m.hash_at(i), |w| m.put_entry(w, i)))
        })
    }

    /// Write an in-memory map as a sorted run: sorted, then front-coded straight from the
    /// map's key bytes and values (not through [`Spill::write_run`]'s per-entry [`Val`]:
    /// each key is compared with the previous one in place, where the generic writer
    /// copied it as the previous key, and no value is cloned), in 64 KiB writes.
    fn write_sorted(&mut self, dir: &Path, m: MemMap) -> Result<()> {
        let mut order = std::mem::take(&mut self.scratch);
        m.sort_into(&mut order);
        let mut w = EntryWriter::with_buf(std::mem::take(&mut self.run_buf));
        let idx = |e: &SortEntry| e[2] as u32;
        let r = if order.is_empty() {
            Ok(())
        } else {
            self.append_run(dir, |out| {
                super::state::put_varint(&mut w.buf, order.len() as u64);
                // The previous key: in the map, or (None) the first `last_n` bytes of `last`
                // when its sort entry held all of it.
                let mut prev: Option<&[u8]> = Some(&[]);
                let (mut last, mut last_n) = ([0u8; 16], 0);
                for (j, e) in order.iter().enumerate() {
                    m.prefetch_sorted(&order, j);
                    let i = idx(e) as usize;
                    let mut cur = [0u8; 16];
                    let whole = whole_key(e, &mut cur);
                    let k = match whole {
                        Some(n) => &cur[..n],
                        None => m.key_bytes(i),
                    };
                    w.key_after(prev.unwrap_or(&last[..last_n]), k);
                    match whole {
                        Some(n) => (last, last_n, prev) = (cur, n, None),
                        None => prev = Some(m.key_bytes(i)),
                    }
                    match &m {
                        MemMap::Kv(kv) => w.kv(&kv.total(i), kv.docs(i)),
                        MemMap::Counts(c) => w.count(*c.value(i)),
                    }
                    if w.buf.len() >= 1 << 16 {
                        if let Err(e) = out.write_all(&w.buf) {
                            return Ok(Err(e));
                        }
                        w.buf.clear();
                    }
                }
                Ok(out.write_all(&w.buf))
            })
        };
        self.scratch = order;
        self.run_buf = w.buf;
        r
    }
}

/// A partition's entries added up ([`visit_parts`]), in a map like a tally's.
enum Agg {
    Kv(KvMap),
    Counts(CountMap),
}

impl Agg {
    fn new(kv: bool) -> Agg {
        if kv {
            Agg::Kv(KvMap::default())
        } else {
            Agg::Counts(CountMap::default())
        }
    }

    fn view(&self) -> MemMap<'_> {
        match self {
            Agg::Kv(m) => MemMap::Kv(m),
            Agg::Counts(m) => MemMap::Counts(m),
        }
    }

    /// Empty it, its memory kept for the next partition.
    fn clear(&mut self) {
        match self {
            Agg::Kv(m) => m.clear(),
            Agg::Counts(m) => m.clear(),
        }
    }

    /// Add `v` to the entry of `key`, whose [`hash_key`] is `hash`; an error when a 64-bit
    /// counter would overflow.
    fn add(&mut self, key: &[u8], hash: u32, v: &Val) -> Result<()> {
        let added = match (self, v) {
            (Agg::Kv(m), Val::Kv(t, d)) => {
                let i = m.intern(key, hash);
                m.docs(i).checked_add(*d).map(|_| m.add_at(i, t, *d))
            }
            (Agg::Counts(m), Val::Count(n)) => {
                let (i, _) = m.entry(key, hash, || 0);
                let c = m.value_mut(i);
                c.checked_add(*n).map(|sum| *c = sum)
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::Internal,
                    "a spilled value of the wrong kind",
                ))
            }
        };
        added.ok_or_else(|| overflow(key))
    }
}

/// Call `f` with every entry of `m`, in the order it holds them.
fn for_each_in(m: &MemMap, f: &mut dyn FnMut(&str, &Val) -> Result<()>) -> Result<()> {
    (0..m.len()).try_for_each(|i| f(m.key(i), &m.val(i)))
}

/// Call `f` with every entry of the partition segments `segs` of `file`, their keys
/// checked as UTF-8 (only this process writes the file, but a disk can fail).
fn read_segments(
    cx: &PartCx,
    file: &File,
    segs: &[Seg],
    buf: &mut Vec<u8>,
    f: &mut dyn FnMut(&[u8], &Val) -> Result<()>,
) -> Result<()> {
    let bad = |_: Error| io_read(cx.dir, std::io::ErrorKind::InvalidData.into());
    for seg in segs {
        buf.resize(seg.len as usize, 0);
        file.read_exact_at(buf, seg.off).map_err(|e| io_read(cx.dir, e))?;
        let mut rd = EntryReader::new(buf);
        while !rd.at_end() {
            let key = rd.unordered_key().map_err(bad)?;
            key_str(key).ok_or_else(|| io_read(cx.dir, std::io::ErrorKind::InvalidData.into()))?;
            let v = if cx.kv {
                let (t, d) = rd.kv().map_err(bad)?;
                Val::Kv(t, d)
            } else {
                Val::Count(rd.varint().map_err(bad)?)
            };
            f(key, &v)?;
        }
    }
    Ok(())
}

/// Where an output reads one map's partitions: the spill's directory (scratch files,
/// errors), the most a partition added up in memory may hold in the file, and whether
/// the values are kv's.
struct PartCx<'a> {
    dir: &'a Path,
    leaf_bytes: u64,
    kv: bool,
}

/// The indices `idx` of entries of `mem`, grouped by their partition at `level`; and the
/// bounds of each partition's group (`PARTS + 1` of them).
fn group_by_part(mem: &MemMap, idx: &[u32], level: u32) -> (Vec<u32>, Vec<usize>) {
    let part = |i: u32| part_of(mem.hash_at(i as usize), level);
    let mut bounds = vec![0usize; PARTS + 1];
    for &i in idx {
        bounds[part(i) + 1] += 1;
    }
    for p in 0..PARTS {
        bounds[p + 1] += bounds[p];
    }
    let mut next = bounds.clone();
    let mut out = vec![0u32; idx.len()];
    for &i in idx {
        let p = part(i);
        out[next[p]] = i;
        next[p] += 1;
    }
    (out, bounds)
}

/// Add up each partition of `parts` (segments of `file`, split at `level`) with the
/// entries of `mem` listed in its index list (None: the map in memory is left out) in
/// `agg`, and call `leaf` with it. A partition holding more than `cx.leaf_bytes` of the
/// file is first scattered by the next level's bits to a scratch file, whose pieces are
/// visited in turn (the file is gone once they are): what is in memory at once stays
/// bounded whatever the number of keys.
fn visit_parts(
    cx: &PartCx,
    file: &File,
    parts: &[Vec<Seg>],
    level: u32,
    mem: Option<(&MemMap, &[u32])>,
    agg: &mut Agg,
    leaf: &mut dyn FnMut(&Agg) -> Result<()>,
) -> Result<()> {
    let groups = mem.map(|(m, idx)| (m, group_by_part(m, idx, level)));
    let mut buf = Vec::new();
    for p in 0..PARTS {
        let segs = parts.get(p).map_or(&[][..], Vec::as_slice);
        let mem_p = groups.as_ref().map(|(m, (idx, b))| (*m, &idx[b[p]..b[p + 1]]));
        if segs.iter().map(|s| s.len).sum::<u64>() > cx.leaf_bytes && level + 1 < LEVELS {
            let mut sub = MapRuns::scratch_in(cx.dir)?;
            sub.scatter(cx.dir, level + 1, |s| {
                read_segments(cx, file, segs, &mut buf, &mut |k, v| {
                    s.push(hash_key(k), |w| {
                        w.key_after(&[], k);
                        put_val(w, v);
                    })
                })
            })?;
            if let Some(sub_file) = &sub.file {
                visit_parts(cx, sub_file, &sub.parts, level + 1, mem_p, agg, leaf)?;
            }
            continue;
        }
        if segs.is_empty() && mem_p.is_none_or(|(_, idx)| idx.is_empty()) {
            continue;
        }
        agg.clear();
        read_segments(cx, file, segs, &mut buf, &mut |k, v| agg.add(k, hash_key(k), v))?;
        if let Some((m, idx)) = mem_p {
            for &i in idx {
                let i = i as usize;
                agg.add(m.key_bytes(i), m.hash_at(i), &m.val(i))?;
            }
        }
        leaf(agg)?;
    }
    Ok(())
}

/// Call `f` with every entry of map `id`, the values of its spill and of the map in
/// memory added up, in no particular order: what a summary needs (distinct keys, a
/// top-N, domains) without the sort that key order costs. The partitions are added up
/// one at a time ([`visit_parts`]); a map with sorted runs (merged or loaded reports) is
/// merged in key order instead ([`for_each_merged`]). An overflowing counter or an
/// unreadable spill is an error.
pub fn for_each_unordered(
    spill: Option<&Spill>,
    id: MapId,
    mem: MemMap,
    f: &mut dyn FnMut(&str, &Val) -> Result<()>,
) -> Result<()> {
    let kv = matches!(mem, MemMap::Kv(_));
    match spill.and_then(|s| Some((s, s.map(id)?))) {
        Some((_, m)) if !m.runs.is_empty() => for_each_merged(spill, id, mem, f),
        Some((s, m @ MapRuns { file: Some(file), .. })) if m.has_parts() => {
            let all: Vec<u32> = (0..mem.len() as u32).collect();
            let mut agg = Agg::new(kv);
            visit_parts(
                &s.part_cx(kv),
                file,
                &m.parts,
                0,
                Some((&mem, &all)),
                &mut agg,
                &mut |a| for_each_in(&a.view(), f),
            )
        }
        _ => for_each_in(&mem, f),
    }
}

/// The partitions of `m`, a map of `s`, each added up and sorted into a run of a scratch
/// file: what an ordered output does before its first key, once until the map spills
/// again ([`MapRuns::sorted`]). When the report may use more than one thread, the two
/// halves of the partitions are done at once on two threads (into a scratch file each):
/// on two cores that halves the wait.
fn sorted_parts(s: &Spill, m: &MapRuns, kv: bool) -> Result<Arc<Vec<MapRuns>>> {
    let mut kept = m.sorted.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(done) = &*kept {
        return Ok(done.clone());
    }
    let done = Arc::new(sort_parts(s, m, kv)?);
    *kept = Some(done.clone());
    Ok(done)
}

/// What [`sorted_parts`] keeps.
fn sort_parts(s: &Spill, m: &MapRuns, kv: bool) -> Result<Vec<MapRuns>> {
    let Some(file) = &m.file else {
        return Ok(Vec::new());
    };
    let sort = |from: usize, to: usize| -> Result<MapRuns> {
        let mut out = MapRuns::scratch_in(&s.dir)?;
        let mut agg = Agg::new(kv);
        let parts: Vec<Vec<Seg>> = (0..PARTS)
            .map(|p| match m.parts.get(p) {
                Some(segs) if (from..to).contains(&p) => segs.clone(),
                _ => Vec::new(),
            })
            .collect();
        visit_parts(&s.part_cx(kv), file, &parts, 0, None, &mut agg, &mut |a| {
            out.write_sorted(&s.dir, a.view())
        })?;
        Ok(out)
    };
    if crate::parallel::threads() < 2 {
        return Ok(vec![sort(0, PARTS)?]);
    }
    let (a, b) =
        crate::parallel::on_two_threads("ferrokern-sort", || sort(0, PARTS / 2), || sort(PARTS / 2, PARTS));
    let b = b.unwrap_or_else(|p| Err(panic_error("sorting spilled partitions", &*p)));
    Ok(vec![a?, b?])
}

/// Call `f` with every entry of map `id`, merged over the spill of `spill` and the map in
/// memory, keys in code point order, values of equal keys added: each partition is added
/// up and sorted into a run of a scratch file ([`visit_parts`]), and those runs, the
/// sorted runs and the map in memory are merged k-way. An overflowing counter or an
/// unreadable run is an error.
pub fn for_each_merged(
    spill: Option<&Spill>,
    id: MapId,
    mem: MemMap,
    f: &mut dyn FnMut(&str, &Val) -> Result<()>,
) -> Result<()> {
    let kv = matches!(mem, MemMap::Kv(_));
    let spilled = spill.and_then(|s| Some((s, s.map(id)?)));
    let sorted_parts = match spilled {
        Some((s, m)) if m.has_parts() => sorted_parts(s, m, kv)?,
        _ => Arc::default(),
    };
    let mut sources: Vec<(&File, &[Seg])> = Vec::new();
    if let Some((
        _,
        MapRuns {
            file: Some(file),
            runs,
            ..
        },
    )) = spilled
    {
        sources.push((file, runs));
    }
    for o in sorted_parts.iter() {
        if let Some(file) = &o.file {
            sources.push((file, &o.runs[..]));
        }
    }
    // 64 KiB of buffer a run, less when there are many (partitions partitioned again).
    let n: usize = sources.iter().map(|(_, r)| r.len()).sum();
    let cap = ((8usize << 20) / n.max(1)).clamp(4 << 10, 1 << 16);
    let dir = spill.map_or(Path::new(""), |s| s.dir.as_path());
    let mut runs: Vec<Run> = Vec::new();
    for (file, segs) in sources {
        for seg in segs {
            let rd = SegReader {
                file,
                pos: seg.off,
                end: seg.off + seg.len,
            };
            let mut r = BufReader::with_capacity(cap, rd);
            let left = varint(&mut r).map_err(|e| io_read(dir, e))?;
            let mut run = Run {
                r,
                left,
                key: Vec::new(),
                head: 0,
                val: Val::Count(0),
                kv,
                done: false,
            };
            if run.advance().map_err(|e| io_read(dir, e))? {
                runs.push(run);
            }
        }
    }
    let order = mem.order();
    let mut mi = 0usize;
    // A tree of losers finds the run with the smallest key: a 20 M-key report has dozens
    // of runs per map, and a linear scan for the smallest key cost a comparison per run
    // per key (most of a minute for the summary alone).
    let mut losers = Losers::new(&runs);
    let mut key: Vec<u8> = Vec::new();
    loop {
        mem.prefetch(&order, mi);
        let top = losers.winner().map(|t| &runs[t]).filter(|r| !r.done);
        let mem_key = order.get(mi).map(|&i| mem.key_bytes(i as usize));
        // Which of the smallest run key and the next key in memory comes first (both when
        // equal), and that key's head.
        let (from_runs, from_mem, best, key_head) = match (top, mem_key) {
            (Some(t), Some(m)) => {
                let h = head(m);
                let ord = key_order(t.head, &t.key, h, m);
                if ord.is_le() {
                    (true, ord.is_eq(), t.key.as_slice(), t.head)
                } else {
                    (false, true, m, h)
                }
            }
            (Some(t), None) => (true, false, t.key.as_slice(), t.head),
            (None, Some(m)) => (false, true, m, head(m)),
            (None, None) => break,
        };
        key.clear();
        key.extend_from_slice(best);
        let mut acc: Option<Val> = None;
        let add = |v: &Val, acc: &mut Option<Val>| -> Result<()> {
            match acc {
                None => *acc = Some(v.clone()),
                Some(a) => a.add(v).ok_or_else(|| overflow(&key))?,
            }
            Ok(())
        };
        if from_mem {
            add(&mem.val(order[mi] as usize), &mut acc)?;
            mi += 1;
        }
        // Every run whose current key is this one wins in turn (keys within a run are
        // distinct and ascending).
        while let Some(t) = losers.winner().filter(|_| from_runs) {
            let r = &mut runs[t];
            if r.done || key_order(r.head, &r.key, key_head, &key).is_ne() {
                break;
            }
            add(&r.val, &mut acc)?;
            r.done = !r.advance().map_err(|e| io_read(dir, e))?;
            losers.replay(&runs);
        }
        let k = key_str(&key).ok_or_else(|| io_read(dir, std::io::ErrorKind::InvalidData.into()))?;
        if let Some(v) = acc {
            f(k, &v)?;
        }
    }
    Ok(())
}

/// A tree of losers over runs (a tournament, as in Knuth's replacement selection): the
/// run with the smallest current key wins; after it advances, one game per level of the
/// tree finds the next winner, log2(runs) comparisons where a binary heap's sift-down made
/// two per level. Node `i` of `tree` (1 ≤ i < runs) holds the loser of the game between
/// its children `2i` and `2i + 1`, a node `runs + j` being run `j`; `tree[0]` holds the
/// winner. The games compare the runs' [`head`]s, kept side by side in `heads` (an
/// exhausted run's is `u128::MAX`, above any UTF-8 key's: no UTF-8 byte is 0xff), and read
/// the runs only when two heads are equal: with the partitions of a spill, 64 runs of
/// interleaved keys, the games were a sixth of writing a full report.
struct Losers {
    tree: Vec<usize>,
    heads: Vec<u128>,
}

impl Losers {
    fn new(runs: &[Run<'_>]) -> Losers {
        let mut l = Losers {
            tree: vec![0; runs.len()],
            heads: runs.iter().map(Losers::head_of).collect(),
        };
        if !runs.is_empty() {
            l.tree[0] = l.play(runs, 1);
        }
        l
    }

    fn head_of(r: &Run<'_>) -> u128 {
        if r.done {
            u128::MAX
        } else {
            r.head
        }
    }

    /// Whether run `a` sorts before run `b`.
    #[inline]
    fn less(&self, runs: &[Run<'_>], a: usize, b: usize) -> bool {
        let (ha, hb) = (self.heads[a], self.heads[b]);
        ha < hb || (ha == hb && run_less(&runs[a], &runs[b]))
    }

    /// Play the games below `node`, recording their losers; the winner.
    fn play(&mut self, runs: &[Run<'_>], node: usize) -> usize {
        if node >= runs.len() {
            return node - runs.len();
        }
        let (a, b) = (self.play(runs, 2 * node), self.play(runs, 2 * node + 1));
        let (win, lose) = if self.less(runs, b, a) { (b, a) } else { (a, b) };
        self.tree[node] = lose;
        win
    }

    /// The run with the smallest current key (an exhausted one when all are).
    fn winner(&self) -> Option<usize> {
        self.tree.first().copied()
    }

    /// Find the winner again after the last one advanced: its games, from its leaf up.
    fn replay(&mut self, runs: &[Run<'_>]) {
        let mut win = self.tree[0];
        self.heads[win] = Losers::head_of(&runs[win]);
        let mut node = (win + runs.len()) / 2;
        while node > 0 {
            let other = self.tree[node];
            // A select, not a branch: which run wins is a coin toss for interleaved runs,
            // and a mispredicted branch per level was most of a merge's time.
            let (w, l) = if self.less(runs, other, win) {
                (other, win)
            } else {
                (win, other)
            };
            self.tree[node] = l;
            win = w;
            node /= 2;
        }
        self.tree[0] = win;
    }
}

/// The number of distinct keys of map `id`, merged (one pass, in no order).
pub fn count_merged(spill: Option<&Spill>, id: MapId, mem: MemMap) -> Result<u64> {
    let mut n = 0u64;
    for_each_unordered(spill, id, mem, &mut |_, _| {
        n += 1;
        Ok(())
    })?;
    Ok(n)
}
