//! BGZF input (blocked gzip, as `bgzip` / htslib write it), inflated in parallel.
//!
//! A BGZF file is a series of ordinary gzip members, each at most 64 KiB compressed, whose
//! header carries the member's compressed size in a 'BC' extra subfield. So the reader
//! finds every member's end without inflating anything: it cuts the compressed bytes into
//! batches of whole members and hands each batch to the library's pool, keeping a bounded
//! number of batches in flight, and hands their output on strictly in file order. The line
//! splitting is the reader's own (`Source::run`) over that ordered byte stream, so lines
//! that cross member boundaries come out exactly as with `gzip -dc`.
//!
//! Members are inflated with libdeflate (the `libdeflater` crate): it inflates a whole
//! member held in memory into a buffer of the size the trailer gives, which is what a BGZF
//! member is, and does so markedly faster than a streaming inflate (see docs/report.md).
//! It checks each member's CRC-32 and length; a corrupt member is an error, as is a
//! truncated one, both reported in file order after the output of the members before.
//!
//! A member without the size field (a plain gzip member appended to a BGZF file) ends
//! the parallel part: what follows is read by the streaming decoder (`Members`), member
//! after member, like any other gzip file. Ordinary multi-member files (concatenated
//! `gzip` output) are not BGZF at all and take the streaming path from the start: their
//! member sizes are only known by inflating them.

use std::collections::VecDeque;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use super::reader::{Counted, Members};
use crate::parallel;

/// Decompressed bytes per batch (one task in the pool): large enough that the hand-off
/// (tens of microseconds) is small beside the inflate (about 2 ms), small enough that a
/// few batches in flight stay a few MiB.
const BATCH_OUT: usize = 1 << 20;
/// Compressed bytes read from the file at a time.
const READ_BYTES: usize = 1 << 18;
/// The most one deflate member can expand: 1032:1 is deflate's limit (a 258-byte match
/// per 2 bits), plus slack for the block headers. A trailer claiming more is corrupt.
const MAX_RATIO: usize = 1032;

/// Whether the gzip file begins with a BGZF member (read with `pread`, so the file's
/// position is left where it was).
pub(super) fn starts_bgzf(file: &std::fs::File) -> bool {
    let mut head = [0u8; 12];
    if file.read_exact_at(&mut head, 0).is_err() {
        return false;
    }
    let Some(xlen) = extra_len(&head) else {
        return false;
    };
    let mut extra = vec![0u8; xlen];
    if file.read_exact_at(&mut extra, 12).is_err() {
        return false;
    }
    block_size(&extra).is_some()
}

/// The length of the extra field of the gzip header `head` (its first 12 bytes), or None
/// when the header has no extra field (or is not a deflate gzip header).
fn extra_len(head: &[u8]) -> Option<usize> {
    if head[..3] != [0x1f, 0x8b, 8] || head[3] & 4 == 0 {
        return None;
    }
    Some(u16::from_le_bytes([head[10], head[11]]) as usize)
}

/// The member's total compressed size from the 'BC' subfield of the extra field `extra`
/// (the subfield holds the size minus one), or None when there is none.
fn block_size(extra: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + 4 <= extra.len() {
        let len = u16::from_le_bytes([extra[i + 2], extra[i + 3]]) as usize;
        if extra[i] == b'B' && extra[i + 1] == b'C' && len == 2 && i + 6 <= extra.len() {
            return Some(u16::from_le_bytes([extra[i + 4], extra[i + 5]]) as usize + 1);
        }
        i += 4 + len;
    }
    None
}

fn corrupt(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Compressed bytes from the file with a read position: members are parsed in place.
struct Raw {
    /// Taken by the streaming decoder when a member without the size field comes.
    src: Option<Counted>,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    /// File offset of `buf[0]`.
    base: u64,
}

impl Raw {
    /// Whether at least `n` bytes are available at `pos` (false only at the end of file).
    fn ensure(&mut self, n: usize) -> io::Result<bool> {
        while self.buf.len() - self.pos < n && !self.eof {
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.base += self.pos as u64;
                self.pos = 0;
            }
            let old = self.buf.len();
            self.buf.resize(old + n.max(READ_BYTES), 0);
            let Some(src) = self.src.as_mut() else {
                self.buf.truncate(old);
                self.eof = true;
                break;
            };
            let r = loop {
                match src.read(&mut self.buf[old..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            match r {
                Ok(got) => {
                    self.buf.truncate(old + got);
                    self.eof = got == 0;
                }
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        }
        Ok(self.buf.len() - self.pos >= n)
    }

    fn avail(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }
}

/// What the compressed input holds at the read position.
enum Next {
    /// A BGZF member of this many compressed bytes, expanding to this many.
    Member(usize, usize),
    /// The end of the input (possibly after zero padding).
    End,
    /// A gzip member without the size field: the streaming decoder takes over here.
    Plain,
}

/// One batch: whole members, their compressed bytes back to back.
struct Batch {
    data: Vec<u8>,
    /// Each member's (compressed length, decompressed length, file offset).
    members: Vec<(usize, usize, u64)>,
    out_len: usize,
}

type Done = io::Result<Vec<u8>>;

/// The input past the BGZF members: the bytes already read, then the rest of the file.
type Rest = BufReader<io::Chain<io::Cursor<Vec<u8>>, Counted>>;

pub(super) struct Bgzf {
    raw: Raw,
    /// Batches in flight (or done), in file order; each answers once.
    pending: VecDeque<(Receiver<Done>, usize)>,
    pending_out: usize,
    /// The output being handed out, and how much of it has been.
    out: Vec<u8>,
    out_pos: usize,
    /// No more batches: the end, an error (queued in order) or the streaming rest.
    stopped: bool,
    /// The rest of the input, past a member without the size field.
    rest: Option<Members<Rest>>,
    /// Inflate in the pool (more than one thread) or on the reading thread.
    parallel: bool,
    max_in_flight: usize,
}

impl Bgzf {
    pub(super) fn new(src: Counted) -> Bgzf {
        let threads = parallel::threads();
        Bgzf {
            raw: Raw {
                src: Some(src),
                buf: Vec::new(),
                pos: 0,
                eof: false,
                base: 0,
            },
            pending: VecDeque::new(),
            pending_out: 0,
            out: Vec::new(),
            out_pos: 0,
            stopped: false,
            rest: None,
            parallel: threads > 1,
            max_in_flight: threads + 2,
        }
    }

    pub(super) fn counted(&self) -> &Counted {
        match (&self.rest, &self.raw.src) {
            (Some(m), _) => m.get_ref().get_ref().get_ref().1,
            (None, Some(c)) => c,
            (None, None) => unreachable!("the input is with the streaming decoder once taken"),
        }
    }

    /// Look at what starts at the read position (consuming nothing).
    fn next(&mut self) -> io::Result<Next> {
        let at = self.raw.offset();
        if !self.raw.ensure(12)? {
            let a = self.raw.avail();
            if a.is_empty() {
                return Ok(Next::End);
            }
            if a[0] != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the gzip member at compressed byte {at} is cut short"),
                ));
            }
        }
        if self.raw.avail()[0] == 0 {
            // Zero padding after the last member (as `gzip -dc` allows): all the rest.
            loop {
                if self.raw.avail().iter().any(|&b| b != 0) {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "non-zero data after the zero padding that follows the gzip stream",
                    ));
                }
                self.raw.pos = self.raw.buf.len();
                if !self.raw.ensure(1)? {
                    return Ok(Next::End);
                }
            }
        }
        let Some(xlen) = extra_len(self.raw.avail()) else {
            return Ok(Next::Plain);
        };
        if !self.raw.ensure(12 + xlen)? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the gzip member at compressed byte {at} is cut short in its header"),
            ));
        }
        let Some(size) = block_size(&self.raw.avail()[12..12 + xlen]) else {
            return Ok(Next::Plain);
        };
        if size < 12 + xlen + 8 {
            return Err(corrupt(format!(
                "the BGZF member at compressed byte {at} gives an impossible size ({size} bytes)"
            )));
        }
        if !self.raw.ensure(size)? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the BGZF member at compressed byte {at} ({size} bytes) is cut short after {} bytes",
                    self.raw.avail().len()
                ),
            ));
        }
        let t = &self.raw.avail()[size - 4..size];
        let isize = u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize;
        if isize > size * MAX_RATIO {
            return Err(corrupt(format!(
                "the BGZF member at compressed byte {at} claims {isize} bytes of output from {size}: corrupt"
            )));
        }
        Ok(Next::Member(size, isize))
    }

    /// Cut the next batch of members and start inflating it; at the end of the BGZF
    /// members (or an error) stop batching.
    fn start_batch(&mut self) {
        let mut batch = Batch {
            data: Vec::new(),
            members: Vec::new(),
            out_len: 0,
        };
        let mut failed = None;
        while batch.out_len < BATCH_OUT {
            match self.next() {
                Ok(Next::Member(size, isize)) => {
                    let at = self.raw.offset();
                    batch
                        .data
                        .extend_from_slice(&self.raw.buf[self.raw.pos..self.raw.pos + size]);
                    self.raw.pos += size;
                    batch.members.push((size, isize, at));
                    batch.out_len += isize;
                }
                Ok(Next::End) => {
                    self.stopped = true;
                    break;
                }
                Ok(Next::Plain) => {
                    self.stopped = true;
                    let left = self.raw.buf.split_off(self.raw.pos);
                    self.raw.pos = 0;
                    if let Some(src) = self.raw.src.take() {
                        let chained = io::Cursor::new(left).chain(src);
                        self.rest = Some(Members::new(BufReader::with_capacity(1 << 16, chained)));
                    }
                    break;
                }
                Err(e) => {
                    self.stopped = true;
                    failed = Some(e);
                    break;
                }
            }
        }
        if !batch.members.is_empty() {
            let (tx, rx) = sync_channel(1);
            self.pending_out += batch.out_len;
            self.pending.push_back((rx, batch.out_len));
            self.inflate(batch, tx);
        }
        if let Some(e) = failed {
            // Answered in order, after the output of the members before it.
            let (tx, rx) = sync_channel(1);
            let _ = tx.send(Err(e));
            self.pending.push_back((rx, 0));
        }
    }

    fn inflate(&self, batch: Batch, tx: SyncSender<Done>) {
        let work = move || {
            // libdeflate does not panic on any input; a panic here would be our bug, and
            // in a pool task it would abort the process, so it comes back as an error.
            let r = catch_unwind(AssertUnwindSafe(|| inflate_batch(&batch)))
                .unwrap_or_else(|_| Err(io::Error::other("internal error while inflating")));
            let _ = tx.send(r);
        };
        if self.parallel {
            let mut work = Some(work);
            let spawned = parallel::run(|| {
                if let Some(w) = work.take() {
                    rayon::spawn(w);
                }
            });
            if spawned.is_err() {
                if let Some(w) = work.take() {
                    w();
                }
            }
        } else {
            work();
        }
    }
}

fn inflate_batch(batch: &Batch) -> Done {
    let mut out = vec![0u8; batch.out_len];
    let mut d = libdeflater::Decompressor::new();
    let (mut i, mut o) = (0, 0);
    for &(size, isize, at) in &batch.members {
        match d.gzip_decompress(&batch.data[i..i + size], &mut out[o..o + isize]) {
            Ok(n) if n == isize => {}
            Ok(n) => {
                return Err(corrupt(format!(
                    "the BGZF member at compressed byte {at} inflates to {n} bytes, its trailer says {isize}"
                )))
            }
            Err(_) => {
                return Err(corrupt(format!(
                    "the BGZF member at compressed byte {at} does not inflate (bad deflate data, CRC-32 or length)"
                )))
            }
        }
        i += size;
        o += isize;
    }
    Ok(out)
}

impl Read for Bgzf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_pos < self.out.len() || buf.is_empty() {
                let n = buf.len().min(self.out.len() - self.out_pos);
                buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            while !self.stopped
                && self.pending.len() < self.max_in_flight
                && self.pending_out < self.max_in_flight * BATCH_OUT
            {
                self.start_batch();
            }
            match self.pending.pop_front() {
                Some((rx, len)) => {
                    self.pending_out -= len;
                    self.out = rx
                        .recv()
                        .map_err(|_| io::Error::other("an inflate task was lost"))??;
                    self.out_pos = 0;
                }
                None => {
                    return match &mut self.rest {
                        Some(m) => m.read(buf),
                        None => Ok(0),
                    }
                }
            }
        }
    }
}
