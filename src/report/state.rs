//! The report's compact binary state: what a report needs to be merged into another in a
//! different process (a Dask worker), a fraction of the size of the full JSON and with no
//! number or string escaping to parse. JSON stays the human and interchange format; this
//! one is only read back by the same library version family.
//!
//! Layout (integers little-endian):
//!
//! ```text
//! "FKRSTATE"  u32 version  u64 payload length  u32 CRC-32 of the payload  payload
//! payload = LZ4 frame of:
//!   varint n, n bytes of JSON: config, errors, scalar counters, invalid samples
//!   kv (if extracted):      varint count, entries
//!   emails (if extracted):  varint count, entries
//!   each findall pattern:   varint count, entries
//! entry = varint shared-prefix length, varint suffix length, suffix, value
//!   (keys strictly increasing in byte order: front coding shares sorted prefixes)
//! value = varint count, or for kv: varint documents, then 0 + zigzag varint total,
//!   or 1 + varint length + decimal digits (a total outside i64)
//! ```
//!
//! A state whose length, checksum, compression, order or invariants are wrong is an
//! error naming what is wrong, never a smaller report.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use super::json::{check_counters, config_from, config_out, ConfigIn, ConfigOut, InvalidOut};
use super::keys::key_str;
use super::spill::{count_merged, for_each_merged, MapId, MemMap, Val};
use super::tally::Tally;
use super::{PatternMode, Report};
use crate::error::{Error, Result};
use crate::shared::pyint::PyInt;

const MAGIC: &[u8; 8] = b"FKRSTATE";
/// Bumped on any change of the layout; a state of another version is refused.
pub(crate) const STATE_VERSION: u32 = 1;
const HEADER_BYTES: usize = 8 + 4 + 8 + 4;

#[derive(Serialize)]
struct HeadOut<'a> {
    config: ConfigOut<'a>,
    errors: &'a [String],
    lines: u64,
    documents: u64,
    bytes: u64,
    invalid_count: u64,
    invalid: Vec<InvalidOut>,
    kv_pairs: u64,
    emails_total: u64,
    pattern_totals: Vec<u64>,
    texts_fed: u64,
}

#[derive(Deserialize)]
struct HeadIn {
    config: ConfigIn,
    errors: Vec<String>,
    lines: u64,
    documents: u64,
    bytes: u64,
    invalid_count: u64,
    invalid: Vec<InvalidOut>,
    kv_pairs: u64,
    emails_total: u64,
    pattern_totals: Vec<u64>,
    texts_fed: u64,
}

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::invalid(format!("not a valid report state: {msg}"))
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Front-coded sorted entries, appended to a buffer.
#[derive(Default)]
pub(crate) struct EntryWriter {
    prev: Vec<u8>,
    pub(crate) buf: Vec<u8>,
}

/// The length of the longest common prefix of `a` and `b`, 8 bytes at a time (front-coding
/// sorted keys compares every key with the previous one; byte by byte it was a visible part
/// of writing a spill run).
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut n = 0;
    while let (Some(x), Some(y)) = (a[n..].first_chunk::<8>(), b[n..].first_chunk::<8>()) {
        let diff = u64::from_le_bytes(*x) ^ u64::from_le_bytes(*y);
        if diff != 0 {
            return n + diff.trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    n + a[n..].iter().zip(&b[n..]).take_while(|(x, y)| x == y).count()
}

/// Append `k` front-coded against `prev` (shared prefix length, suffix length, suffix) to
/// `buf`; the shared length.
fn put_key(buf: &mut Vec<u8>, prev: &[u8], k: &[u8]) -> usize {
    let shared = common_prefix(prev, k);
    put_varint(buf, shared as u64);
    put_varint(buf, (k.len() - shared) as u64);
    buf.extend_from_slice(&k[shared..]);
    shared
}

impl EntryWriter {
    /// A writer appending to `buf` (emptied first; its memory reused).
    pub(crate) fn with_buf(mut buf: Vec<u8>) -> EntryWriter {
        buf.clear();
        EntryWriter {
            prev: Vec::new(),
            buf,
        }
    }

    /// Front-code `k` against `prev`, the key written before it, which the caller still
    /// holds (a spill run's keys are borrowed from the map for the whole run), so that
    /// `self.prev` need not copy every key once more.
    pub(crate) fn key_after(&mut self, prev: &[u8], k: &[u8]) {
        put_key(&mut self.buf, prev, k);
    }

    pub(crate) fn key(&mut self, k: &[u8]) {
        let shared = put_key(&mut self.buf, &self.prev, k);
        self.prev.truncate(shared);
        self.prev.extend_from_slice(&k[shared..]);
    }

    pub(crate) fn count(&mut self, n: u64) {
        put_varint(&mut self.buf, n);
    }

    pub(crate) fn kv(&mut self, total: &PyInt, docs: u64) {
        put_varint(&mut self.buf, docs);
        match total {
            PyInt::Small(v) => {
                self.buf.push(0);
                put_varint(&mut self.buf, ((v << 1) ^ (v >> 63)) as u64);
            }
            big => {
                let d = big.to_decimal();
                self.buf.push(1);
                put_varint(&mut self.buf, d.len() as u64);
                self.buf.extend_from_slice(d.as_bytes());
            }
        }
    }
}

/// Reads what [`EntryWriter`] wrote, checking every step.
pub(crate) struct EntryReader<'a> {
    data: &'a [u8],
    pos: usize,
    key: Vec<u8>,
    started: bool,
}

impl<'a> EntryReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        EntryReader {
            data,
            pos: 0,
            key: Vec::new(),
            started: false,
        }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.data.len()
    }

    /// Forget the previous key (a new section starts).
    fn restart(&mut self) {
        self.started = false;
        self.key.clear();
    }

    /// The next key and its value (read by `val`), the key checked as [`Self::key`] does.
    pub(crate) fn entry<T>(&mut self, val: impl FnOnce(&mut Self) -> Result<T>) -> Result<(&str, T)> {
        self.next_key()?;
        let v = val(self)?;
        let k = key_str(&self.key).ok_or_else(|| bad("a key is not UTF-8"))?;
        Ok((k, v))
    }

    pub(crate) fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .data
                .get(self.pos)
                .ok_or_else(|| bad("it ends in the middle of a number"))?;
            self.pos += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("a number is longer than 64 bits"))
    }

    fn bytes(&mut self, n: u64) -> Result<&'a [u8]> {
        let n = usize::try_from(n).map_err(|_| bad("a length is too large"))?;
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| bad("it ends in the middle of a string"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// The next key of entries in no particular order (a spill's partitions,
    /// `spill.rs`), not front-coded: it shares nothing with the one before, and is
    /// borrowed from the data. UTF-8 is the caller's to check.
    pub(crate) fn unordered_key(&mut self) -> Result<&'a [u8]> {
        if self.varint()? != 0 {
            return Err(bad("an unordered key shares bytes with the one before"));
        }
        let len = self.varint()?;
        self.bytes(len)
    }

    /// The next key; keys must be strictly increasing (a repeat or a step back is corrupt).
    #[cfg(test)]
    pub(crate) fn key(&mut self) -> Result<&str> {
        self.next_key()?;
        key_str(&self.key).ok_or_else(|| bad("a key is not UTF-8"))
    }

    fn next_key(&mut self) -> Result<()> {
        let shared = self.varint()?;
        let len = self.varint()?;
        if shared > self.key.len() as u64 {
            return Err(bad("a key shares more bytes than the previous key has"));
        }
        let shared = shared as usize;
        let suffix = self.bytes(len)?;
        // The new key is the old one's first `shared` bytes and `suffix`, so it is greater
        // exactly when `suffix` is greater than the old key's rest (compared in place: a
        // copy of the previous key per entry was a tenth of a load).
        if self.started && suffix <= &self.key[shared..] {
            return Err(bad("its keys are not in strictly increasing order"));
        }
        self.key.truncate(shared);
        self.key.extend_from_slice(suffix);
        self.started = true;
        Ok(())
    }

    pub(crate) fn kv(&mut self) -> Result<(PyInt, u64)> {
        let docs = self.varint()?;
        let tag = self.bytes(1)?[0];
        let total = match tag {
            0 => {
                let z = self.varint()?;
                PyInt::Small(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            1 => {
                let n = self.varint()?;
                let d = std::str::from_utf8(self.bytes(n)?).map_err(|_| bad("a total is not decimal"))?;
                PyInt::parse_python(d, 0).map_err(|_| bad("a total is not decimal"))?
            }
            _ => return Err(bad("a kv total has an unknown tag")),
        };
        Ok((total, docs))
    }
}

/// A state's entries, compressed as they are written: the raw state of a big report used to
/// be built whole before its compression, and the frame then copied behind its header
/// (`to_bytes()` of a 20 M-key report peaked at 2.1 GB of RSS for a 488 MB state).
struct Packer {
    w: EntryWriter,
    enc: lz4_flex::frame::FrameEncoder<Vec<u8>>,
}

impl Packer {
    /// The frame is written behind room for the header, filled in by [`Self::finish`].
    fn new() -> Packer {
        Packer {
            w: EntryWriter::default(),
            enc: lz4_flex::frame::FrameEncoder::new(vec![0; HEADER_BYTES]),
        }
    }

    /// Hand the encoded entries to the compressor once they pass 1 MiB.
    #[inline]
    fn pass_on(&mut self) {
        if self.w.buf.len() >= 1 << 20 {
            self.compress();
        }
    }

    fn compress(&mut self) {
        // Writing into a Vec cannot fail.
        let _ = self.enc.write_all(&self.w.buf);
        self.w.buf.clear();
    }

    /// The state: its header (magic, version, the frame's length and CRC-32), then the frame.
    fn finish(mut self) -> Result<Vec<u8>> {
        self.compress();
        let mut out = self
            .enc
            .finish()
            .map_err(|e| Error::invalid(format!("cannot compress the state: {e}")))?;
        let payload = &out[HEADER_BYTES..];
        let (len, crc) = (
            (payload.len() as u64).to_le_bytes(),
            crc32fast::hash(payload).to_le_bytes(),
        );
        let head = [MAGIC, &STATE_VERSION.to_le_bytes()[..], &len, &crc].concat();
        out[..HEADER_BYTES].copy_from_slice(&head);
        Ok(out)
    }
}

/// A map with no spilled runs, in key order, straight from its arena: the merging walk
/// copied every key, checked it as UTF-8 and cloned every value on the way, and
/// `EntryWriter` copied it once more as the previous key — most of a Dask split's
/// `to_bytes` (issue 9 profile: `memmove` 27 %, of which these copies).
fn write_mem_map(p: &mut Packer, mem: &MemMap) -> Result<()> {
    let order = mem.order();
    put_varint(&mut p.w.buf, order.len() as u64);
    let mut prev: &[u8] = &[];
    for &i in &order {
        let i = i as usize;
        let k = mem.key_bytes(i);
        let shared = prev.iter().zip(k).take_while(|(a, b)| a == b).count();
        let w = &mut p.w;
        put_varint(&mut w.buf, shared as u64);
        put_varint(&mut w.buf, (k.len() - shared) as u64);
        w.buf.extend_from_slice(&k[shared..]);
        match mem {
            MemMap::Counts(m) => w.count(*m.value(i)),
            MemMap::Kv(m) => w.kv(&m.total(i), m.docs(i)),
        }
        prev = k;
        p.pass_on();
    }
    p.w.prev.clear();
    Ok(())
}

/// Map `id` of `r` (merged with its spilled runs), in key order.
fn write_map(p: &mut Packer, r: &Report, id: MapId, mem: MemMap) -> Result<()> {
    let spill = r.spill.as_ref();
    let n = match spill {
        Some(s) if s.has_runs(id) => count_merged(spill, id, mem.same())?,
        _ => return write_mem_map(p, &mem),
    };
    p.w.prev.clear();
    put_varint(&mut p.w.buf, n);
    for_each_merged(spill, id, mem, &mut |k, v| {
        p.w.key(k.as_bytes());
        match v {
            Val::Count(c) => p.w.count(*c),
            Val::Kv(t, d) => p.w.kv(t, *d),
        }
        p.pass_on();
        Ok(())
    })
}

/// The binary state of `r`.
pub fn write_state(r: &Report) -> Result<Vec<u8>> {
    let (cfg, t) = (r.config(), &r.tally);
    let head = HeadOut {
        config: config_out(cfg),
        errors: &r.errors,
        lines: t.lines,
        documents: t.documents,
        bytes: t.bytes,
        invalid_count: t.invalid_count,
        invalid: t.invalid.iter().map(InvalidOut::from).collect(),
        kv_pairs: t.kv_pairs,
        emails_total: t.emails_total,
        pattern_totals: t.patterns.iter().map(|p| p.total).collect(),
        texts_fed: r.texts_fed,
    };
    let head = serde_json::to_vec(&head).map_err(|e| Error::invalid(e.to_string()))?;
    let mut p = Packer::new();
    put_varint(&mut p.w.buf, head.len() as u64);
    p.w.buf.extend_from_slice(&head);
    for (id, m) in r.maps() {
        write_map(&mut p, r, id, m)?;
    }
    p.finish()
}

/// One map's entries in a checked state: `raw[start..end]` is `varint n` and the `n`
/// entries, which is exactly what a spill run holds (so a big state's maps can become
/// runs of another report without being decoded into hash maps: issue 9's Dask merge).
struct Section {
    id: MapId,
    start: usize,
    end: usize,
    n: u64,
}

/// A state checked whole (framing, checksum, key order, UTF-8, values, sums and the
/// invariants of its counters), its maps still encoded.
pub(crate) struct Parsed {
    /// The config, counters, samples and errors; its maps empty.
    report: Report,
    raw: Vec<u8>,
    sections: Vec<Section>,
}

/// Walk one section, checking every entry; its entry count.
fn check_section(rd: &mut EntryReader, id: MapId, t: &Tally, total: u64, what: &str) -> Result<Section> {
    let start = rd.pos;
    let n = rd.varint()?;
    let mut sum = 0u64;
    for _ in 0..n {
        let (k, c) = rd.entry(|rd| match id {
            MapId::Kv => rd.kv().map(|(_, docs)| docs),
            _ => rd.varint(),
        })?;
        if id == MapId::Kv {
            if c == 0 || c > t.documents {
                return Err(bad(format!(
                    "kv key {k:?} is in {c} documents, not between 1 and documents ({})",
                    t.documents
                )));
            }
        } else if c == 0 {
            return Err(bad(format!("{what} has a count of 0 for {k:?}")));
        } else if id == MapId::Emails && !k.contains('@') {
            return Err(bad(format!("{k:?} in emails.counts is not an email address")));
        }
        // For kv the document counts: each (document, key) is at least one pair.
        sum = sum
            .checked_add(c)
            .ok_or_else(|| bad(format!("the counts of {what} overflow")))?;
    }
    if id == MapId::Kv {
        if sum > total {
            return Err(bad(format!(
                "kv.pairs is {total} but the document frequencies add up to {sum}"
            )));
        }
    } else if sum != total {
        return Err(bad(format!("{what}: the total is not the sum of the counts")));
    }
    rd.restart();
    Ok(Section {
        id,
        start,
        end: rd.pos,
        n,
    })
}

/// Check [`write_state`]'s bytes whole, without building its maps.
pub(crate) fn parse_state(data: &[u8]) -> Result<Parsed> {
    if data.len() < HEADER_BYTES || &data[..8] != MAGIC {
        return Err(bad(
            "it does not start with the state's magic bytes (is it a report state?)",
        ));
    }
    let version = u32::from_le_bytes(data[8..12].try_into().unwrap_or_default());
    if version != STATE_VERSION {
        return Err(bad(format!(
            "it is version {version}, this library reads version {STATE_VERSION}"
        )));
    }
    let len = u64::from_le_bytes(data[12..20].try_into().unwrap_or_default());
    let crc = u32::from_le_bytes(data[20..24].try_into().unwrap_or_default());
    let payload = &data[HEADER_BYTES..];
    if payload.len() as u64 != len {
        return Err(bad(format!(
            "its payload is {} bytes, the header says {len} (truncated or padded)",
            payload.len()
        )));
    }
    if crc32fast::hash(payload) != crc {
        return Err(bad("its checksum does not match (corrupt)"));
    }
    let mut raw = Vec::new();
    lz4_flex::frame::FrameDecoder::new(payload)
        .read_to_end(&mut raw)
        .map_err(|e| bad(format!("cannot decompress it: {e}")))?;
    let mut rd = EntryReader::new(&raw);
    let n = rd.varint()?;
    let head: HeadIn = serde_json::from_slice(rd.bytes(n)?).map_err(|e| bad(format!("its header: {e}")))?;
    let mut report = Report::new(config_from(head.config)?)?;
    let cfg = report.config().clone();
    let mut t = Tally::new(&cfg);
    t.lines = head.lines;
    t.documents = head.documents;
    t.bytes = head.bytes;
    t.invalid_count = head.invalid_count;
    for l in head.invalid {
        t.invalid.push(super::json::invalid_from(l)?);
    }
    t.kv_pairs = head.kv_pairs;
    t.emails_total = head.emails_total;
    if head.pattern_totals.len() != cfg.patterns.len() {
        return Err(bad(
            "it has a total for a different number of patterns than its config",
        ));
    }
    check_counters(&t).map_err(|e| bad(e.message))?;
    let mut sections = Vec::new();
    if cfg.kv {
        sections.push(check_section(&mut rd, MapId::Kv, &t, t.kv_pairs, "kv")?);
    }
    if cfg.emails {
        sections.push(check_section(
            &mut rd,
            MapId::Emails,
            &t,
            t.emails_total,
            "emails",
        )?);
    }
    for (i, (p, total)) in cfg.patterns.iter().zip(head.pattern_totals).enumerate() {
        t.patterns[i].total = total;
        if p.mode == PatternMode::Findall {
            let what = format!("patterns.{}", p.name);
            sections.push(check_section(&mut rd, MapId::Pattern(i), &t, total, &what)?);
        }
    }
    if !rd.at_end() {
        return Err(bad("it has bytes after its last section"));
    }
    report.tally = t;
    report.errors = head.errors;
    report.texts_fed = head.texts_fed;
    report.fed = true;
    Ok(Parsed {
        report,
        raw,
        sections,
    })
}

/// A generous bound on the bytes `sections` would take decoded into maps, to decide
/// between decoding them and keeping them as runs: per key its 16-byte slot, a value of
/// up to 16 bytes and an 8-byte table bucket at 3/4 load, doubled because vectors and
/// tables grow by doubling; the key bytes at most 4 times their front-coded size. An
/// estimate that fit where the merged maps then did not cost a whole spill (sorting
/// every key in memory) right after the decode: 1.5 s of a 1.7 s merge of five states.
fn memory_estimate(sections: &[Section]) -> usize {
    sections
        .iter()
        .map(|s| (s.end - s.start).saturating_mul(4) + (s.n as usize).saturating_mul(96))
        .sum()
}

/// Decode the maps of a checked state into `t`'s maps, which are empty (the keys of a
/// checked section are distinct, so nothing can overflow).
fn load_into(raw: &[u8], sections: &[Section], t: &mut Tally) -> Result<()> {
    for s in sections {
        let mut rd = EntryReader::new(&raw[s.start..s.end]);
        let n = rd.varint()?;
        let m = match s.id {
            MapId::Kv => {
                t.kv.reserve(n.min(1 << 24) as usize);
                for _ in 0..n {
                    let (k, (total, docs)) = rd.entry(|rd| rd.kv())?;
                    t.kv.add(k, super::tally::KeyStat { total, docs });
                }
                continue;
            }
            MapId::Emails => &mut t.emails,
            MapId::Pattern(i) => match t.patterns.get_mut(i) {
                Some(p) => &mut p.counts,
                None => return Err(bad("it has counts for a pattern its config lacks")),
            },
        };
        m.reserve(n.min(1 << 24) as usize);
        for _ in 0..n {
            let (k, c) = rd.entry(|rd| rd.varint())?;
            m.add(k, c);
        }
    }
    Ok(())
}

/// Load a report from [`write_state`]'s bytes.
pub fn read_state(data: &[u8]) -> Result<Report> {
    let Parsed {
        mut report,
        raw,
        sections,
    } = parse_state(data)?;
    let budget = report.config().state_budget(crate::parallel::threads());
    if memory_estimate(&sections) <= budget {
        load_into(&raw, &sections, &mut report.tally)?;
        report.enforce_budget()?;
    } else {
        // Too big to decode within the budget: its maps become runs as they are.
        let spill = report.spill_file();
        for s in sections.iter().filter(|s| s.n > 0) {
            spill.write_raw_run(s.id, &raw[s.start..s.end])?;
        }
    }
    Ok(report)
}

impl Report {
    /// Add a report given as [`write_state`]'s bytes (input after everything in `self`),
    /// as [`Report::merge`] of [`read_state`] would, without building a second report:
    /// the state is checked whole first (a corrupt one changes nothing), then its maps are
    /// decoded into this report's while they fit its memory budget, and otherwise appended
    /// to its spill file as sorted runs just as they are (no hashing, no sorting: on issue
    /// 9's 1.15 M-key Dask merge, decoding every state into maps, merging them and spilling
    /// the result again was most of the client's time).
    pub fn merge_state(&mut self, data: &[u8]) -> Result<()> {
        let p = parse_state(data)?;
        self.merge_parsed(p)
    }

    fn merge_parsed(&mut self, p: Parsed) -> Result<()> {
        if let Some(why) = self.config.merge_mismatch(&p.report.config) {
            return Err(Error::invalid(format!("cannot merge these reports: {why}")));
        }
        let big = self.spill.is_some()
            || self
                .tally
                .heap_bytes()
                .saturating_add(memory_estimate(&p.sections))
                > self.config.state_budget(crate::parallel::threads());
        if !big {
            let Parsed {
                mut report,
                raw,
                sections,
            } = p;
            load_into(&raw, &sections, &mut report.tally)?;
            return self.merge(&report);
        }
        // Only the counters can overflow here (the maps' sums are checked where the runs
        // are merged, as for any spilled report).
        if let Some(why) = self.tally.merge_overflow(&p.report.tally) {
            return Err(Error::invalid(format!("cannot merge these reports: {why}")));
        }
        let spill = self.spill_file();
        let marks = spill.run_marks();
        for s in &p.sections {
            if s.n == 0 {
                continue;
            }
            if let Err(e) = spill.write_raw_run(s.id, &p.raw[s.start..s.end]) {
                // Nothing of `p` is counted: forget the runs already written.
                spill.truncate_runs(&marks);
                return Err(e);
            }
        }
        let mut other = p.report;
        self.tally.merge(std::mem::take(&mut other.tally));
        self.errors.append(&mut other.errors);
        self.texts_fed += other.texts_fed;
        self.fed = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_matches_a_byte_by_byte_count() {
        let words: [&[u8]; 9] = [
            b"",
            b"a",
            b"abcdefg",
            b"abcdefgh",
            b"abcdefghi",
            b"abcdefgh\0ijklmnop",
            b"abcdefgh\0ijklmnoq",
            b"abcdefghijklmnopqrstuvwxyz",
            "abcdefgh\u{e9}".as_bytes(),
        ];
        for a in words {
            for b in words {
                let want = a.iter().zip(b).take_while(|(x, y)| x == y).count();
                assert_eq!(common_prefix(a, b), want, "{a:?} / {b:?}");
            }
        }
    }
    use crate::report::config::Config;
    use crate::report::tally::{KeyStat, Pos};
    use crate::text::Pattern;

    fn sample() -> Report {
        let mut cfg = Config::default();
        cfg.add_pattern("w", Pattern::new(r"(\w+)!", false).unwrap(), PatternMode::Findall)
            .unwrap();
        cfg.add_pattern("n", Pattern::new(r"\d", false).unwrap(), PatternMode::Count)
            .unwrap();
        let mut r = Report::new(cfg).unwrap();
        let t = &mut r.tally;
        t.lines = 6;
        t.documents = 5;
        t.bytes = 99;
        t.kv_pairs = 5;
        let big = PyInt::parse_python("-100000000000000000000", 0).unwrap();
        t.kv.add("neg", KeyStat { total: big, docs: 1 });
        t.kv.add(
            "négatif",
            KeyStat {
                total: PyInt::Small(i64::MIN),
                docs: 2,
            },
        );
        t.kv.add(
            "b",
            KeyStat {
                total: PyInt::Small(3),
                docs: 2,
            },
        );
        t.emails_total = 4;
        t.emails.add("x@b.org", 1);
        t.emails.add("xy@b.org", 3);
        t.patterns[0].total = 3;
        t.patterns[0].counts.add("hi", 2);
        t.patterns[0].counts.add("yo", 1);
        t.patterns[1].total = 7;
        t.add_invalid("f.txt", Pos::Offset(12), "bad".into(), b"\xffline");
        r.errors.push("it failed".into());
        r
    }

    #[test]
    fn round_trips_exactly() {
        let r = sample();
        let s = write_state(&r).unwrap();
        let back = read_state(&s).unwrap();
        assert_eq!(back.tally, r.tally);
        assert_eq!(back.errors, r.errors);
        assert_eq!(write_state(&back).unwrap(), s);
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_an_error() {
        let s = write_state(&sample()).unwrap();
        // The same checks hold for a merge from bytes, which must then change nothing.
        let mut dst = read_state(&s).unwrap();
        for n in 0..s.len() {
            assert!(read_state(&s[..n]).is_err(), "truncated to {n} bytes");
            assert!(dst.merge_state(&s[..n]).is_err(), "merge, truncated to {n} bytes");
        }
        for i in 0..s.len() {
            for bit in [0x01u8, 0x80] {
                let mut c = s.clone();
                c[i] ^= bit;
                assert!(read_state(&c).is_err(), "byte {i} ^ {bit:#x}");
                assert!(dst.merge_state(&c).is_err(), "merge, byte {i} ^ {bit:#x}");
            }
        }
        assert_eq!(write_state(&dst).unwrap(), s, "failed merges changed nothing");
        let mut longer = s.clone();
        longer.push(0);
        assert!(read_state(&longer)
            .err()
            .unwrap()
            .message
            .contains("truncated or padded"));
    }

    #[test]
    fn a_well_formed_state_that_breaks_an_invariant_is_refused() {
        // Rebuild a state whose checksum is right but whose keys are out of order.
        let mut w = EntryWriter::default();
        w.key(b"b");
        w.key(b"a");
        let mut r = EntryReader::new(&w.buf);
        assert!(r.key().is_ok());
        assert!(r.key().unwrap_err().message.contains("strictly increasing"));
        let mut r = sample();
        r.tally.emails_total = 5;
        let s = write_state(&r).unwrap();
        assert!(read_state(&s).err().unwrap().message.contains("not the sum"));
    }
}
