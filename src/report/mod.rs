//! Streaming reports over corpora of any size (pure Rust; the C exports are in
//! `ffi::report`).
//!
//! A [`Report`] is configured with extractors (the built-in `emails` and `kv`, exactly as
//! `extract_emails` / `extract_and_aggregate`, and named user patterns), then fed texts
//! from memory, whole files, or byte ranges of files. It keeps only aggregate state
//! ([`Tally`]), which grows with the number of distinct keys/emails/matches, never with the
//! input. Two reports merge; a report serializes to JSON and loads back ([`json`]).
//!
//! Files are processed as a pipeline: one reader thread reads (and decompresses) chunks of
//! whole lines; each chunk becomes a task on the library's pool that produces a chunk
//! [`Tally`]; the calling thread merges chunk tallies strictly in input order, writes the
//! per-document lines, and calls the progress callback. At most `2 × threads` chunks are
//! in flight and `threads` more wait in the reader's queue, so memory is bounded by
//! about `(3 × threads + 2) × chunk_bytes` plus the aggregate state.
//!
//! Determinism: tallies merge by addition (associative and commutative) except the
//! invalid-line samples, which keep the first ones in input order, and every list in the
//! JSON is sorted by a total order (count descending, then code point order ascending).
//! So the report is identical for any thread count, chunk size or byte-range split.

mod bgzf;
pub mod config;
mod document;
pub mod json;
pub(crate) mod jsonl;
pub mod keys;
pub mod reader;
pub mod spill;
#[doc(hidden)]
pub mod stages;
pub mod state;
pub mod tally;

use std::collections::BTreeMap;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

pub use config::{Config, NamedPattern, PatternMode};
pub use tally::{InvalidLine, KeyStat, Pos, Tally};

use crate::error::{panic_error, Error, ErrorKind, Result};
use crate::parallel;
use crate::shared::files::{AtomicFile, FileId};
use crate::text::{Pattern, TextBatch};
use document::Processor;
use keys::{CountMap, KvMap};
use reader::{Item, Progress, Source};
use spill::{for_each_merged, MapId, MemMap, Pending, Spill};

/// The per-key maps of a tally, moved out of it to be spilled on a helper thread.
#[derive(Default)]
struct Maps {
    kv: KvMap,
    emails: CountMap,
    patterns: Vec<CountMap>,
}

impl Maps {
    /// Empty maps with the capacities of the tally's.
    fn like(t: &Tally) -> Maps {
        Maps {
            kv: t.kv.empty_like(),
            emails: t.emails.empty_like(),
            patterns: t.patterns.iter().map(|p| p.counts.empty_like()).collect(),
        }
    }

    /// Exchange these maps with the tally's.
    fn swap_with(&mut self, t: &mut Tally) {
        std::mem::swap(&mut self.kv, &mut t.kv);
        std::mem::swap(&mut self.emails, &mut t.emails);
        self.patterns.resize_with(t.patterns.len(), CountMap::default);
        for (m, p) in self.patterns.iter_mut().zip(&mut t.patterns) {
            std::mem::swap(m, &mut p.counts);
        }
    }

    /// Write every map of `cfg` as a run of `spill` (on two threads with `two_threads`,
    /// see [`Spill::spill_maps`]), then empty the maps, keeping their memory for the keys
    /// that follow.
    fn spill_into(&mut self, cfg: &Config, spill: &mut Spill, two_threads: bool) -> Result<()> {
        let map = |id| match id {
            MapId::Kv => MemMap::Kv(&self.kv),
            MapId::Emails => MemMap::Counts(&self.emails),
            MapId::Pattern(i) => MemMap::Counts(&self.patterns[i]),
        };
        let r = spill.spill_maps(map_ids(cfg).map(|id| (id, map(id))).collect(), two_threads);
        self.kv.clear();
        self.emails.clear();
        self.patterns.iter_mut().for_each(CountMap::clear);
        r
    }
}

/// A spill running on a helper thread (see [`Report::spill_behind`]): it owns the spill
/// file and the maps it writes, and gives both back, the maps emptied, when joined.
type Behind = std::thread::JoinHandle<(Spill, Maps, Result<()>)>;

/// How the chunk maps of one of a report's maps reach it while a file is fed, once the
/// report has spilled (see [`Report::route`]).
#[derive(Clone, Copy, Debug, Default)]
struct Route {
    /// Scattered into the spill's partitions ([`Pending`]), not merged.
    direct: bool,
    /// Chunk maps routed since a merge last taught something ([`Report::learn`]).
    routed: u32,
}

/// Keys a chunk map must hold to be routed: a smaller one costs little to merge, and its
/// merge says too little of whether keys repeat.
const ROUTE_MIN_KEYS: usize = 1024;

/// After this many chunk maps routed to the spill, the next is merged anyway (and the
/// next again, until one teaches something), to learn whether its keys repeat now.
const ROUTE_PROBE_EVERY: u32 = 16;

/// Source name of documents fed from memory, in invalid-line samples.
pub(crate) const TEXTS_SOURCE: &str = "<texts>";

/// The per-document output: written to a temporary file that replaces `path` only when
/// the output is closed with the report complete (`shared::files::AtomicFile`).
struct PerDoc {
    out: AtomicFile,
}

impl PerDoc {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| self.error(e))
    }
    fn error(&self, e: std::io::Error) -> Error {
        Error::new(
            ErrorKind::Io,
            format!(
                "cannot write the per-document output '{}': {e}",
                self.out.path().display()
            ),
        )
    }
    fn commit(self) -> Result<()> {
        let path = self.out.path().to_path_buf();
        self.out.commit().map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot write the per-document output '{}': {e}", path.display()),
            )
        })
    }
}

pub struct Report {
    config: Arc<Config>,
    pub tally: Tally,
    /// Why the report does not cover all the input it was given (a failed or cancelled
    /// feed). Empty means complete.
    pub errors: Vec<String>,
    /// Texts fed from memory so far (numbers the invalid-text samples).
    texts_fed: u64,
    fed: bool,
    per_doc: Option<PerDoc>,
    /// Identities of the files fed so far: no output of this report may overwrite one.
    inputs: Vec<FileId>,
    /// Cleared chunk tallies, reused by the next chunks (see [`Spare`]).
    spare: Arc<Spare>,
    /// The per-key state written to disk when it passed the memory budget.
    pub spill: Option<Spill>,
    /// While a file is fed: spill on a helper thread, the feed going on meanwhile.
    behind_ok: bool,
    /// The spill running on the helper thread (it holds `spill` meanwhile).
    behind: Option<Behind>,
    /// The maps the last helper spill gave back, emptied, their memory kept for the next.
    spare_maps: Option<Maps>,
    /// The thread count of the file being fed (0 between feeds): asked once per feed, not
    /// at every chunk — `parallel::threads()` reads the environment and the CPU count
    /// (cgroup files), 0.6 % of a spilling feed's samples on the merging thread (issue 9).
    feed_threads: usize,
    /// Per map (by [`MapId`] index): how its chunk maps are taken in during a feed.
    routes: Vec<Route>,
    /// Per map (by [`MapId`] index): chunk entries routed to the spill, not yet written.
    /// Empty whenever no file is being fed.
    pending: Vec<Pending>,
    /// Chunk maps routed to the spill so far.
    pub routed: u64,
}

/// What finished chunks leave for the next ones: their tallies and their per-document
/// output buffers, cleared, their memory kept. At high key cardinality a fresh tally per
/// chunk spent a third of the run zeroing new pages and regrowing hash tables; with
/// per-document output a fresh buffer per chunk did the same (8 % of a per-document run's
/// samples in the kernel's `clear_page_erms` under the allocator, against 1 % without the
/// output, issue 8). Only ones of a modest size are kept, at most a few of each.
#[derive(Default)]
struct Spare {
    tallies: Mutex<Vec<Tally>>,
    outputs: Mutex<Vec<Vec<u8>>>,
}

impl Spare {
    /// A cleared tally and an empty output buffer, reused when there are some.
    fn take(&self, cfg: &Config) -> (Tally, Vec<u8>) {
        let t = self.tallies.lock().ok().and_then(|mut v| v.pop());
        let out = self.outputs.lock().ok().and_then(|mut v| v.pop());
        (t.unwrap_or_else(|| Tally::new(cfg)), out.unwrap_or_default())
    }

    fn give(&self, mut t: Tally, mut out: Vec<u8>, cfg: &Config, threads: usize) {
        // A chunk's tally and output are about the size of its chunk; a much larger one (a
        // huge chunk) is freed rather than kept.
        let modest = 4 * cfg.chunk_bytes + (1 << 20);
        let keep = 2 * threads + 2;
        if t.heap_bytes() <= modest {
            t.clear();
            push_upto(&self.tallies, t, keep);
        }
        if out.capacity() > 0 && out.capacity() <= modest {
            out.clear();
            push_upto(&self.outputs, out, keep);
        }
    }

    fn clear(&self) {
        if let Ok(mut v) = self.tallies.lock() {
            v.clear();
        }
        if let Ok(mut v) = self.outputs.lock() {
            v.clear();
        }
    }
}

/// Push `x` onto the pool unless it already holds `keep` items.
fn push_upto<T>(pool: &Mutex<Vec<T>>, x: T, keep: usize) {
    if let Ok(mut v) = pool.lock() {
        if v.len() < keep {
            v.push(x);
        }
    }
}

/// Called after each chunk with (bytes done, bytes total) of the current file; returning
/// false cancels the feed.
pub type ProgressFn<'a> = dyn FnMut(u64, u64) -> bool + 'a;

type ChunkResult = std::thread::Result<(Tally, Vec<u8>)>;

/// The maps a report with `config` keeps: kv, emails, each findall pattern's.
fn map_ids(config: &Config) -> impl Iterator<Item = MapId> + '_ {
    let patterns = config.patterns.iter().enumerate();
    (config.kv.then_some(MapId::Kv).into_iter())
        .chain(config.emails.then_some(MapId::Emails))
        .chain(
            patterns
                .filter(|(_, p)| p.mode == PatternMode::Findall)
                .map(|(i, _)| MapId::Pattern(i)),
        )
}

/// A spill for the maps of a report with `config` (a [`MapId`] each for kv, emails and
/// every pattern), its files in the configured directory.
fn new_spill(config: &Config) -> Spill {
    // A partition added up in memory takes about three times its bytes in the file (the
    // key, its slot, its table bucket and value, against the key and a few bytes): an
    // eighth of the state's budget keeps it well within the other half.
    let budget = config.state_budget(crate::parallel::threads()) as u64;
    Spill::new(config.spill_dir.as_deref(), 2 + config.patterns.len())
        .with_leaf_bytes((budget / 8).clamp(1 << 20, 256 << 20))
}

impl Report {
    pub fn new(config: Config) -> Result<Report> {
        config.validate()?;
        let tally = Tally::new(&config);
        Ok(Report {
            config: Arc::new(config),
            tally,
            errors: Vec::new(),
            texts_fed: 0,
            fed: false,
            per_doc: None,
            inputs: Vec::new(),
            spare: Arc::default(),
            spill: None,
            behind_ok: false,
            behind: None,
            spare_maps: None,
            feed_threads: 0,
            routes: Vec::new(),
            pending: Vec::new(),
            routed: 0,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn is_complete(&self) -> bool {
        self.errors.is_empty()
    }

    /// Add a named pattern; only before anything is fed (every document must see every
    /// extractor).
    pub fn add_pattern(&mut self, name: &str, pattern: Pattern, mode: PatternMode) -> Result<()> {
        if self.fed {
            return Err(Error::invalid(
                "patterns must be added before the first document is fed",
            ));
        }
        let mut cfg = (*self.config).clone();
        cfg.add_pattern(name, pattern, mode)?;
        self.tally = Tally::new(&cfg);
        self.spare.clear();
        self.config = Arc::new(cfg);
        Ok(())
    }

    /// Write one JSON line per document fed from now on to `path`, or with `None` close the
    /// current output. The lines go to a temporary file in `path`'s directory that replaces
    /// `path` when the output is closed (here, or when the report is dropped complete), so
    /// a failed run never leaves a partial file at `path`. `path` must not be a file this
    /// report has read (compared by device and inode).
    pub fn set_per_doc(&mut self, path: Option<&Path>) -> Result<()> {
        if let Some(old) = self.per_doc.take() {
            old.commit()?;
        }
        if let Some(p) = path {
            self.check_not_input(p, "per-document output")?;
            let out = AtomicFile::create(p).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot create the per-document output '{}': {e}", p.display()),
                )
            })?;
            self.per_doc = Some(PerDoc { out });
        }
        Ok(())
    }

    /// An error if `path` names a file this report has read.
    pub(crate) fn check_not_input(&self, path: &Path, what: &str) -> Result<()> {
        match FileId::of_path(path) {
            Some(id) if self.inputs.contains(&id) => Err(Error::invalid(format!(
                "the {what} '{}' is one of the report's input files; refusing to overwrite it",
                path.display()
            ))),
            _ => Ok(()),
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        self.errors.push(e.message.clone());
        e
    }

    /// The maps of this report's config: (which, the map in memory).
    pub(crate) fn maps(&self) -> Vec<(MapId, MemMap<'_>)> {
        map_ids(&self.config).map(|id| (id, self.tally.map(id))).collect()
    }

    /// Whether part of the per-key state is on disk.
    pub fn spilled(&self) -> bool {
        self.spill.is_some()
    }

    /// (bytes written to the spill file, number of spills).
    pub fn spill_stats(&self) -> (u64, u64) {
        self.spill.as_ref().map_or((0, 0), |s| (s.bytes(), s.spills))
    }

    /// The library's thread count: the one of the file being fed, else asked now.
    fn threads(&self) -> usize {
        match self.feed_threads {
            0 => parallel::threads(),
            n => n,
        }
    }

    fn spill_file(&mut self) -> &mut Spill {
        self.spill.get_or_insert_with(|| new_spill(&self.config))
    }

    /// Spill the per-key state when it passes the budget, freeing its memory (after a
    /// load, a merge of reports, or a chunk larger than the budget; the feed otherwise
    /// spills ahead, see [`Self::make_room`]).
    fn enforce_budget(&mut self) -> Result<()> {
        if self.tally.heap_bytes() <= self.config.state_budget(self.threads()) {
            return Ok(());
        }
        self.spill_now(false)
    }

    /// Spill the maps in memory before merging `incoming` into them could take them past
    /// the budget (counting every key of `incoming` as new, and every vector grown as it
    /// would grow), so their capacity stays within it, and keep their memory for the keys
    /// that follow. Emptying them by freeing, as before, made the report regrow its maps
    /// from nothing after every spill: new pages zeroed, every table rehashed again (a
    /// tenth of a spilling run's merging thread in the issue 9 profile).
    ///
    /// While a file is fed the maps get half the state's budget, and a spill runs on a
    /// helper thread ([`Self::spill_behind`]) while the next half fills.
    fn make_room(&mut self, incoming: &Tally) -> Result<()> {
        let mut budget = self.config.state_budget(self.threads());
        if self.behind_ok {
            budget /= 2;
        }
        if self.tally.maps_empty() || self.tally.heap_bytes_after_merge(incoming) <= budget {
            return Ok(());
        }
        // Memory kept past the budget (a first chunk larger than it) would make every
        // following chunk spill: freed instead.
        let keep = self.tally.heap_bytes() <= budget;
        if keep && self.behind_ok {
            return self.spill_behind();
        }
        self.spill_now(keep)
    }

    /// Whether chunk maps may be routed to the spill: while a file is fed, once the
    /// report has spilled.
    fn routing(&self) -> bool {
        self.behind_ok && (self.spill.is_some() || self.behind.is_some())
    }

    /// Route the maps of chunk tally `t` that are taken in directly ([`Route::direct`]) to
    /// the spill: their entries scattered into the partitions in memory ([`Pending`]),
    /// written out now and then, the maps emptied before the rest of `t` is merged. At
    /// high cardinality nearly every key of a chunk is new to the report's maps, which
    /// spill again and again: merging a key there (a cache miss into a table of half the
    /// budget) only for the next spill to write it was the merging threads' whole work,
    /// about a sixth of a spilling feed's CPU, where scattering it from the chunk's small
    /// map reads memory in order (issue 9, seventeenth round). After
    /// [`ROUTE_PROBE_EVERY`] chunks routed, a map's chunk map is merged anyway, so that
    /// [`Self::learn`] sees whether its keys repeat now. The result is the same either
    /// way: outputs add up the spill and the maps in memory.
    fn route(&mut self, t: &mut Tally) -> Result<()> {
        if !self.routing() {
            return Ok(());
        }
        // A route and a buffer per map of a tally, by MapId index.
        let n = 2 + self.config.patterns.len();
        self.routes.resize(n, Route::default());
        self.pending.resize_with(n, Pending::default);
        for id in map_ids(&self.config) {
            let (r, p) = (&mut self.routes[id.index()], &mut self.pending[id.index()]);
            if !r.direct || r.routed >= ROUTE_PROBE_EVERY {
                continue;
            }
            r.routed += 1;
            p.add(&t.map(id));
            t.clear_map(id);
            self.routed += 1;
        }
        let (bytes, limit) = (
            self.pending.iter().map(Pending::bytes).sum::<usize>(),
            self.pending_limit(),
        );
        if bytes >= limit {
            // While a helper spill runs, the entries wait (up to twice the limit) rather
            // than the feed for it.
            self.write_pending(bytes >= 2 * limit)?;
        }
        Ok(())
    }

    /// Learn from the merge of chunk tally `t` (`held[i]` of the keys of its map `i` were
    /// in the report's map, which held `before[i]` keys) whether each map's keys are
    /// mostly new: then its next chunk maps are routed to the spill ([`Self::route`]).
    /// A merge into a map that held fewer keys than the chunk's (just spilled, or kept
    /// small by routing) says nothing: every key is new to an empty map.
    fn learn(&mut self, t: &Tally, before: &[usize], held: &[usize]) {
        if !self.routing() {
            return;
        }
        for (i, n) in t.map_lens().into_iter().enumerate() {
            if n > 0 && before[i] >= n {
                if let Some(r) = self.routes.get_mut(i) {
                    // Fewer than a quarter of its keys were there to add to.
                    r.direct = n >= ROUTE_MIN_KEYS && held[i] * 4 < n;
                    r.routed = 0;
                }
            }
        }
    }

    /// What the routed entries in memory may reach before they are written: a 64th of
    /// the state's budget, between 4 KiB and 4 MiB (segments of up to 64 KiB). They are
    /// held besides the maps (the maps' half budgets keep their capacity, so counting
    /// these against them would spill the maps at every chunk merged, and routing would
    /// never learn): up to twice that while a helper spill runs, so at most a 32nd of the
    /// budget, and 8 MiB, more.
    fn pending_limit(&self) -> usize {
        (self.config.state_budget(self.threads()) / 64).clamp(4 << 10, 4 << 20)
    }

    /// Write the routed entries held in memory to the spill. With `wait` false, not while
    /// a helper spill is running.
    fn write_pending(&mut self, wait: bool) -> Result<()> {
        if self.pending.iter().all(|p| p.bytes() == 0) {
            return Ok(());
        }
        if !wait && self.behind.as_ref().is_some_and(|h| !h.is_finished()) {
            return Ok(());
        }
        self.finish_behind()?;
        let spill = self.spill.get_or_insert_with(|| new_spill(&self.config));
        for id in map_ids(&self.config) {
            if let Some(p) = self.pending.get_mut(id.index()) {
                spill.write_pending(id, p)?;
            }
        }
        Ok(())
    }

    /// Hand the maps to a helper thread that writes them as runs, and go on with the maps
    /// the previous helper spill gave back (emptied, their memory kept) — the two sets
    /// each within half the state's budget, so memory stays as with one set spilled in
    /// place. On the merging thread a spill (sort, front-coding, LZ4) was three quarters
    /// of its time at high cardinality, the chunk workers idle meanwhile (issue 9).
    /// A previous helper spill still running is waited for first. An earlier attempt that
    /// spilled kv and emails on two threads into one file held both compressed runs in
    /// memory and passed 300 MB of RSS; here nothing but the maps themselves is doubled,
    /// and they are halved. The helper writes kv while a second thread writes the other
    /// maps, each map to a file of its own ([`Spill::spill_maps`]).
    fn spill_behind(&mut self) -> Result<()> {
        self.finish_behind()?;
        let mut spill = self.spill.take().unwrap_or_else(|| new_spill(&self.config));
        // The first time, the second set starts at the first one's size, which it would
        // reach anyway: the maps of the set being spilled were within its half.
        let mut maps = match self.spare_maps.take() {
            Some(m) => m,
            None => Maps::like(&self.tally),
        };
        maps.swap_with(&mut self.tally);
        let cfg = self.config.clone();
        let two_threads = self.threads() > 1;
        let h = std::thread::Builder::new()
            .name("ferrokern-spill".into())
            .spawn(move || {
                let r = maps.spill_into(&cfg, &mut spill, two_threads);
                (spill, maps, r)
            })
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot start a thread to spill the report's state: {e}"),
                )
            })?;
        self.behind = Some(h);
        Ok(())
    }

    /// Wait for the helper spill, if one runs, and take the spill file back.
    fn finish_behind(&mut self) -> Result<()> {
        let Some(h) = self.behind.take() else {
            return Ok(());
        };
        let (spill, maps, r) = h.join().map_err(|p| panic_error("spilling", &*p))?;
        self.spill = Some(spill);
        self.spare_maps = Some(maps);
        r
    }

    /// Write every map in memory as a run and empty it: cleared with its memory kept for
    /// reuse (`keep`), or freed.
    fn spill_now(&mut self, keep: bool) -> Result<()> {
        self.finish_behind()?;
        let mut spill = self.spill.take().unwrap_or_else(|| new_spill(&self.config));
        let r = spill.spill_maps(self.maps(), self.threads() > 1);
        self.spill = Some(spill);
        r?;
        let t = &mut self.tally;
        if keep {
            t.kv.clear();
            t.emails.clear();
            for p in &mut t.patterns {
                p.counts.clear();
            }
        } else {
            t.kv = Default::default();
            t.emails = Default::default();
            for p in &mut t.patterns {
                p.counts = Default::default();
            }
        }
        Ok(())
    }

    /// Merge a chunk's tally and write its per-document output, then keep both for reuse.
    fn absorb(&mut self, mut t: Tally, per_doc: Vec<u8>) -> Result<()> {
        self.route(&mut t)?;
        self.make_room(&t)?;
        let before = self.tally.map_lens();
        let held = self.tally.merge_from(&t, self.threads() > 1);
        self.learn(&t, &before, &held);
        // Past the budget only when the maps were empty before (one chunk's maps are larger
        // than the whole budget): spilled now, as any state over the budget.
        let r = self.enforce_budget().and_then(|()| match &mut self.per_doc {
            Some(pd) => pd.write(&per_doc),
            None => Ok(()),
        });
        self.spare.give(t, per_doc, &self.config, self.threads());
        r
    }

    /// Feed every text of `batch` as one document (as one line of JSON when the report
    /// reads JSON lines). Texts are not split at newlines; a text that is not UTF-8 is an
    /// invalid document, not an error.
    pub fn feed_texts(&mut self, batch: &TextBatch) -> Result<()> {
        self.fed = true;
        let cfg = self.config.clone();
        let per_doc = self.per_doc.is_some();
        let first = self.texts_fed;
        let ranges = batch.chunks();
        let spare = self.spare.clone();
        let parts: Vec<(Tally, Vec<u8>)> = parallel::run(|| {
            ranges
                .into_par_iter()
                .map(|r| {
                    let mut p = Processor::new(&cfg, per_doc);
                    let (mut t, mut out) = spare.take(&cfg);
                    for i in r {
                        let b = batch.bytes(i);
                        p.doc(
                            &mut t,
                            &mut out,
                            TEXTS_SOURCE,
                            Pos::Index(first + i as u64),
                            b,
                            b.len() as u64,
                        );
                    }
                    (t, out)
                })
                .collect()
        })?;
        self.texts_fed += batch.len() as u64;
        for (t, out) in parts {
            self.absorb(t, out).map_err(|e| self.fail(e))?;
        }
        self.flush_per_doc().map_err(|e| self.fail(e))
    }

    /// Count `n` null values (rows without text, from Arrow or Parquet) as invalid
    /// documents, numbered as the next `n` texts fed from memory.
    pub fn feed_nulls(&mut self, n: u64) -> Result<()> {
        self.fed = true;
        let cfg = self.config.clone();
        let p = Processor::new(&cfg, self.per_doc.is_some());
        let mut t = Tally::new(&cfg);
        let mut out = Vec::new();
        for i in 0..n {
            p.null(&mut t, &mut out, TEXTS_SOURCE, Pos::Index(self.texts_fed + i));
            if out.len() >= 1 << 20 {
                self.absorb(
                    std::mem::replace(&mut t, Tally::new(&cfg)),
                    std::mem::take(&mut out),
                )
                .map_err(|e| self.fail(e))?;
            }
        }
        self.texts_fed += n;
        self.absorb(t, out).map_err(|e| self.fail(e))?;
        self.flush_per_doc().map_err(|e| self.fail(e))
    }

    /// Push the per-document lines of a feed to the file before the feed returns, so that
    /// a write error (a full disk) fails the feed that caused it and marks the report
    /// incomplete now, not only when the output is closed (issue 12 item 5). One write
    /// call per feed, not per document.
    fn flush_per_doc(&mut self) -> Result<()> {
        match &mut self.per_doc {
            Some(pd) => pd.out.flush().map_err(|e| pd.error(e)),
            None => Ok(()),
        }
    }

    /// Feed a file, or with `range = Some((start, end))` the lines that start in that byte
    /// range of it. On failure (or cancellation) the report keeps what it merged so far
    /// but is marked incomplete, with the error in `errors`.
    pub fn feed_file(
        &mut self,
        path: &Path,
        range: Option<(u64, u64)>,
        progress: &mut ProgressFn,
    ) -> Result<()> {
        self.fed = true;
        self.behind_ok = true;
        let r = self
            .open_input(path, range)
            .and_then(|src| self.feed_source(src, progress));
        // Whatever happened, no spill runs on once the call returns and every routed entry
        // is written: every output and merge reads the spill file and the maps in place.
        // The maps set aside for the next helper spill are freed.
        let done = self.finish_behind();
        let routed = self.write_pending(true);
        self.behind_ok = false;
        self.feed_threads = 0;
        self.routes.clear();
        self.pending.clear();
        self.spare_maps = None;
        let r = r.and(done).and(routed).and_then(|()| self.flush_per_doc());
        r.map_err(|e| self.fail(e))
    }

    /// Open an input, refusing one that is the per-document output being written (by
    /// device and inode, so any name for it is caught) before reading a byte of it.
    fn open_input(&mut self, path: &Path, range: Option<(u64, u64)>) -> Result<Source> {
        if let (Some(pd), Some(id)) = (&self.per_doc, FileId::of_path(path)) {
            if FileId::of_path(pd.out.path()) == Some(id) {
                return Err(Error::invalid(format!(
                    "the input '{}' is also the per-document output '{}'; refusing to read a file that will be overwritten",
                    path.display(),
                    pd.out.path().display()
                )));
            }
        }
        let src = Source::open(path, range)?;
        if !self.inputs.contains(&src.id) {
            self.inputs.push(src.id);
        }
        Ok(src)
    }

    fn feed_source(&mut self, src: Source, progress: &mut ProgressFn) -> Result<()> {
        let threads = parallel::threads();
        self.feed_threads = threads;
        let (chunk, max_line) = (self.config.chunk_bytes, self.config.max_line_bytes);
        let (item_tx, item_rx) = sync_channel::<Result<Progress>>(threads);
        let name: Arc<str> = src.name.as_str().into();
        let total = src.total;
        std::thread::scope(|s| {
            s.spawn(move || {
                // The same pool as the caller's (BGZF members are inflated in it): this
                // thread gets the caller's thread count, a per-thread limit included.
                let _ = parallel::set_local_threads(threads);
                let r = src.run(chunk, max_line, |p| item_tx.send(Ok(p)).is_ok());
                if let Err(e) = r {
                    let _ = item_tx.send(Err(e));
                }
            });
            // item_rx is moved in, so it is dropped when `drive` returns for any reason,
            // which stops the reader at its next send.
            self.drive(item_rx, 2 * threads, &name, total, progress)
        })
    }

    fn drive(
        &mut self,
        items: Receiver<Result<Progress>>,
        max_in_flight: usize,
        name: &Arc<str>,
        total: u64,
        progress: &mut ProgressFn,
    ) -> Result<()> {
        let (res_tx, res_rx) = channel::<(u64, ChunkResult, u64)>();
        let mut pending: BTreeMap<u64, (ChunkResult, u64)> = BTreeMap::new();
        let (mut next_seq, mut next_merge, mut in_flight) = (0u64, 0u64, 0usize);
        let mut reader_done = false;
        loop {
            while in_flight < max_in_flight && !reader_done {
                // Block for the reader only when no chunk is being processed.
                let msg = if in_flight == 0 {
                    items.recv().ok()
                } else {
                    match items.try_recv() {
                        Ok(m) => Some(m),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => None,
                    }
                };
                match msg {
                    None => reader_done = true,
                    Some(Err(e)) => return Err(e),
                    Some(Ok(p)) => {
                        self.spawn_chunk(next_seq, p, name.clone(), res_tx.clone())?;
                        next_seq += 1;
                        in_flight += 1;
                    }
                }
            }
            if in_flight == 0 {
                return Ok(());
            }
            let (seq, r, pos) = res_rx
                .recv()
                .map_err(|_| Error::new(ErrorKind::Internal, "a worker task was lost"))?;
            in_flight -= 1;
            pending.insert(seq, (r, pos));
            while let Some((r, pos)) = pending.remove(&next_merge) {
                next_merge += 1;
                let (t, out) = r.map_err(|p| panic_error("processing a chunk", &*p))?;
                self.absorb(t, out)?;
                if !progress(pos, total) {
                    return Err(Error::new(
                        ErrorKind::Cancelled,
                        "cancelled by the progress callback",
                    ));
                }
            }
        }
    }

    fn spawn_chunk(
        &self,
        seq: u64,
        p: Progress,
        name: Arc<str>,
        tx: Sender<(u64, ChunkResult, u64)>,
    ) -> Result<()> {
        let cfg = self.config.clone();
        let per_doc = self.per_doc.is_some();
        let spare = self.spare.clone();
        let Progress { item, file_pos } = p;
        parallel::run(move || {
            rayon::spawn(move || {
                // A panic must come back as a value: in a spawned task it would abort.
                let r = catch_unwind(AssertUnwindSafe(|| {
                    process_item(&cfg, &name, item, per_doc, spare.take(&cfg))
                }));
                let _ = tx.send((seq, r, file_pos));
            })
        })
    }

    /// Merge `other` (covering input after this report's) into this report.
    pub fn merge(&mut self, other: &Report) -> Result<()> {
        if let Some(why) = self.config.merge_mismatch(&other.config) {
            return Err(Error::invalid(format!("cannot merge these reports: {why}")));
        }
        if let Some(why) = self.tally.merge_overflow(&other.tally) {
            return Err(Error::invalid(format!("cannot merge these reports: {why}")));
        }
        if self.spill.is_some() || other.spill.is_some() {
            // Out of core: `other`'s merged maps become one more run of each of ours
            // (equal keys add up when the runs are merged; an overflow is found there).
            let mut maps_only = other.tally.clone();
            maps_only.kv = Default::default();
            maps_only.emails = Default::default();
            for p in &mut maps_only.patterns {
                p.counts = Default::default();
            }
            let spill = self.spill_file();
            for (id, m) in other.maps() {
                // Without runs of its own, `other`'s map is its merged map: its length is
                // the count (a counting pass sorted and walked it once more, issue 9).
                let n = match &other.spill {
                    Some(s) if s.has_runs(id) => {
                        spill::count_merged(other.spill.as_ref(), id, MemMap::same(&m))?
                    }
                    _ => m.len() as u64,
                };
                spill.write_run(id, n, &mut |f| {
                    for_each_merged(other.spill.as_ref(), id, MemMap::same(&m), &mut |k, v| {
                        f(k.as_bytes(), v)
                    })
                })?;
            }
            self.tally.merge(maps_only);
        } else {
            self.tally.merge_from(&other.tally, self.threads() > 1);
            self.enforce_budget()?;
        }
        self.errors.extend(other.errors.iter().cloned());
        self.texts_fed += other.texts_fed;
        self.fed = true;
        Ok(())
    }

    /// Flush the per-document output (it still replaces its path only when closed).
    pub fn flush(&mut self) -> Result<()> {
        if let Some(pd) = &mut self.per_doc {
            pd.out.flush().map_err(|e| pd.error(e))?;
        }
        Ok(())
    }
}

impl Drop for Report {
    /// A report dropped with its per-document output open publishes it if the report is
    /// complete (as closing would; an error cannot be reported here), and otherwise
    /// discards it, so a failed run leaves no partial file at the path.
    fn drop(&mut self) {
        if let Some(pd) = self.per_doc.take() {
            if self.errors.is_empty() {
                let _ = pd.commit();
            }
        }
    }
}

fn process_item(
    cfg: &Config,
    source: &str,
    item: Item,
    per_doc: bool,
    (mut t, mut out): (Tally, Vec<u8>),
) -> (Tally, Vec<u8>) {
    let mut p = Processor::new(cfg, per_doc);
    match item {
        Item::Lines { data, base } => p.lines(&mut t, &mut out, source, base, &data),
        Item::Overlong {
            offset,
            content_len,
            raw_len,
            head,
        } => {
            p.overlong(&mut t, &mut out, source, offset, content_len, raw_len, &head);
        }
    }
    (t, out)
}

#[cfg(test)]
mod tests;
