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

use super::json::{check_tally, config_from, config_out, ConfigIn, ConfigOut, InvalidOut};
use super::keys::CountMap;
use super::spill::{count_merged, for_each_merged, MapId, MemMap, Val};
use super::tally::{PatternTally, Tally};
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

impl EntryWriter {
    pub(crate) fn key(&mut self, k: &[u8]) {
        let shared = self.prev.iter().zip(k).take_while(|(a, b)| a == b).count();
        put_varint(&mut self.buf, shared as u64);
        put_varint(&mut self.buf, (k.len() - shared) as u64);
        self.buf.extend_from_slice(&k[shared..]);
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

    /// The next key; keys must be strictly increasing (a repeat or a step back is corrupt).
    pub(crate) fn key(&mut self) -> Result<&str> {
        let shared = self.varint()?;
        let len = self.varint()?;
        if shared > self.key.len() as u64 {
            return Err(bad("a key shares more bytes than the previous key has"));
        }
        let suffix = self.bytes(len)?;
        let before = (self.started).then(|| self.key.clone());
        self.key.truncate(shared as usize);
        self.key.extend_from_slice(suffix);
        if let Some(b) = before {
            if b.as_slice() >= self.key.as_slice() {
                return Err(bad("its keys are not in strictly increasing order"));
            }
        }
        self.started = true;
        simdutf8::basic::from_utf8(&self.key).map_err(|_| bad("a key is not UTF-8"))
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

/// Map `id` of `r` (merged with its spilled runs), in key order.
fn write_map(w: &mut EntryWriter, r: &Report, id: MapId, mem: MemMap) -> Result<()> {
    let spill = r.spill.as_ref();
    let n = match spill {
        Some(s) if s.has_runs(id) => count_merged(spill, id, mem.same())?,
        _ => mem.len() as u64,
    };
    w.prev.clear();
    put_varint(&mut w.buf, n);
    for_each_merged(spill, id, mem, &mut |k, v| {
        w.key(k.as_bytes());
        match v {
            Val::Count(c) => w.count(*c),
            Val::Kv(t, d) => w.kv(t, *d),
        }
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
    let mut w = EntryWriter::default();
    put_varint(&mut w.buf, head.len() as u64);
    w.buf.extend_from_slice(&head);
    for (id, m) in r.maps() {
        write_map(&mut w, r, id, m)?;
    }
    let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(&w.buf);
    let payload = enc
        .finish()
        .map_err(|e| Error::invalid(format!("cannot compress the state: {e}")))?;
    let mut out = Vec::with_capacity(HEADER_BYTES + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&STATE_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

fn read_counts(r: &mut EntryReader, what: &str) -> Result<(CountMap, u64)> {
    let n = r.varint()?;
    let mut m = CountMap::default();
    m.reserve(n.min(1 << 24) as usize);
    let mut sum = 0u64;
    // One key buffer for all entries (an allocation per key was a tenth of a load).
    let mut k = String::new();
    for _ in 0..n {
        k.clear();
        k.push_str(r.key()?);
        let c = r.count_value()?;
        if c == 0 {
            return Err(bad(format!("{what} has a count of 0 for {k:?}")));
        }
        sum = sum
            .checked_add(c)
            .ok_or_else(|| bad(format!("the counts of {what} overflow")))?;
        m.add(&k, c);
    }
    r.started = false;
    r.key.clear();
    Ok((m, sum))
}

impl EntryReader<'_> {
    fn count_value(&mut self) -> Result<u64> {
        self.varint()
    }
}

/// Load a report from [`write_state`]'s bytes.
pub fn read_state(data: &[u8]) -> Result<Report> {
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
    if cfg.kv {
        let n = rd.varint()?;
        t.kv.reserve(n.min(1 << 24) as usize);
        let mut k = String::new();
        for _ in 0..n {
            k.clear();
            k.push_str(rd.key()?);
            let (total, docs) = rd.kv()?;
            t.kv.add(&k, super::tally::KeyStat { total, docs });
        }
        rd.started = false;
        rd.key.clear();
    }
    if cfg.emails {
        let (m, sum) = read_counts(&mut rd, "emails")?;
        if sum != t.emails_total {
            return Err(bad("emails: the total is not the sum of the counts"));
        }
        t.emails = m;
    }
    for ((p, pt), total) in cfg
        .patterns
        .iter()
        .zip(t.patterns.iter_mut())
        .zip(head.pattern_totals)
    {
        let counts = match p.mode {
            PatternMode::Count => CountMap::default(),
            PatternMode::Findall => {
                let what = format!("patterns.{}", p.name);
                let (m, sum) = read_counts(&mut rd, &what)?;
                if sum != total {
                    return Err(bad(format!("{what}: the total is not the sum of the counts")));
                }
                m
            }
        };
        *pt = PatternTally { total, counts };
    }
    if !rd.at_end() {
        return Err(bad("it has bytes after its last section"));
    }
    check_tally(&cfg, &t, &[]).map_err(|e| bad(e.message))?;
    report.tally = t;
    report.errors = head.errors;
    report.texts_fed = head.texts_fed;
    report.fed = true;
    report.enforce_budget()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        for n in 0..s.len() {
            assert!(read_state(&s[..n]).is_err(), "truncated to {n} bytes");
        }
        for i in 0..s.len() {
            for bit in [0x01u8, 0x80] {
                let mut c = s.clone();
                c[i] ^= bit;
                assert!(read_state(&c).is_err(), "byte {i} ^ {bit:#x}");
            }
        }
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
