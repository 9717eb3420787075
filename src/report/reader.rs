//! Reading a file (or a byte range of one) as a stream of chunks of whole lines.
//!
//! * gzip is recognised by its magic bytes (1f 8b) and decompressed as it is read
//!   (concatenated members too, and zero padding after the last member is ignored, like
//!   `gzip -dc`). A gzip stream cannot be split, so a byte
//!   range of a gzip file is refused.
//! * A byte range `[start, end)` owns exactly the lines that *start* in it, like a Hadoop
//!   input split: a range with `start > 0` skips the line in progress at `start` (its
//!   owner is the range before), and a range reads past `end` to finish its last line. So
//!   the ranges of any partition of a file see every line exactly once.
//! * The file's size is taken when it is opened and nothing past it is read: data appended
//!   while the report runs is not part of it, so byte-range splits computed from one size
//!   agree. A file that ends *before* that size (truncated while being read) is an error.
//! * A line longer than `max_line_bytes` is never held in memory: it is skipped and
//!   reported as an [`Item::Overlong`].

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, Mutex};

use flate2::bufread::GzDecoder;

use super::bgzf::{self, Bgzf};

use crate::error::{Error, ErrorKind, Result};
use crate::shared::files::FileId;

/// A byte range's `end` meaning "to the end of the file, whatever its size" (`u64::MAX`,
/// `UINT64_MAX` in C); every other end must lie within the file.
pub(crate) const RANGE_TO_END: u64 = u64::MAX;

/// What the reader hands to the processing side.
pub enum Item {
    /// Whole lines (each ending in '\n', except possibly the last line of the input),
    /// the first starting at stream offset `base`.
    Lines { data: Chunk, base: u64 },
    /// A line too long to hold: where it starts, its length without terminator, its length
    /// with it, and its first bytes (for the invalid-line sample).
    Overlong {
        offset: u64,
        content_len: u64,
        raw_len: u64,
        head: Vec<u8>,
    },
}

/// The bytes of a chunk of lines. Dropped (when a worker is done with the chunk), its
/// buffer goes back to the reader for a later chunk: a new 2 MiB buffer per chunk was
/// fresh memory every time, whose pages the kernel faulted in and zeroed on first touch,
/// and which the reader then zeroed again before reading into it (together 5-9 % of the
/// report's CPU on one thread, issue 8's profile).
pub struct Chunk {
    data: Vec<u8>,
    pool: Pool,
}

impl Deref for Chunk {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.data
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.pool.give(std::mem::take(&mut self.data));
    }
}

/// Buffers of chunks the workers are done with, waiting to be filled again. There are
/// never more than the chunks in flight at once (the pipeline bounds those), and a buffer
/// that grew past twice the chunk size (a line longer than a chunk) is freed instead.
#[derive(Clone)]
struct Pool {
    free: Arc<Mutex<Vec<Vec<u8>>>>,
    /// The capacity of a chunk's buffer (the chunk size plus some slack).
    capacity: usize,
}

impl Pool {
    fn new(capacity: usize) -> Pool {
        Pool {
            free: Arc::default(),
            capacity,
        }
    }
    /// An empty buffer of at least the chunk's capacity.
    fn take(&self) -> Vec<u8> {
        let v = self.free.lock().ok().and_then(|mut f| f.pop());
        v.unwrap_or_else(|| Vec::with_capacity(self.capacity))
    }
    fn give(&self, mut v: Vec<u8>) {
        if v.capacity() < self.capacity || v.capacity() > 2 * self.capacity {
            return;
        }
        v.clear();
        if let Ok(mut f) = self.free.lock() {
            if f.len() < 64 {
                f.push(v);
            }
        }
    }
}

/// An item plus how far into the file (compressed bytes for gzip) the reader was.
pub struct Progress {
    pub item: Item,
    pub file_pos: u64,
}

/// Counts bytes taken from the file and notices when the file ends before its size at open.
pub(super) struct Counted {
    inner: io::Take<File>,
    count: u64,
    limit: u64,
    hit_eof: bool,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.hit_eof = true;
        }
        self.count += n as u64;
        Ok(n)
    }
}

impl Counted {
    /// `read` of up to `want` bytes onto the end of `buf`, into its spare capacity: the
    /// bytes are not zeroed first (`Read::read` needs an initialized slice, and zeroing a
    /// chunk before every read was 1.5 % of the report's CPU).
    #[cfg(unix)]
    fn read_append(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        let n = want.min(usize::try_from(self.inner.limit()).unwrap_or(usize::MAX));
        let got = if n == 0 {
            0 // `Take` at its limit reads nothing
        } else {
            buf.reserve(n);
            let spare = buf.spare_capacity_mut();
            // SAFETY: read(2) writes at most `n` bytes at the pointer, and the spare
            // capacity holds at least `n` (reserved above); the descriptor is the open
            // file's, borrowed for the call.
            let r = unsafe { libc::read(self.inner.get_ref().as_raw_fd(), spare.as_mut_ptr().cast(), n) };
            let Ok(got) = usize::try_from(r) else {
                return Err(io::Error::last_os_error());
            };
            // SAFETY: the kernel wrote (initialized) `got` <= `n` bytes after the length.
            unsafe { buf.set_len(buf.len() + got) };
            self.inner.set_limit(self.inner.limit() - got as u64);
            got
        };
        if got == 0 && want > 0 {
            self.hit_eof = true;
        }
        self.count += got as u64;
        Ok(got)
    }

    #[cfg(not(unix))]
    fn read_append(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
        read_append(self, buf, want)
    }
}

/// Concatenated gzip members, read as `gzip -dc` reads them: member after member, and
/// zero bytes after the last member (padding, as tape and block devices leave) are
/// ignored. Anything else after a member must be another member (else `InvalidInput`).
/// Generic over the buffered input so that the BGZF reader can hand its rest over to it
/// (a member without the BGZF size field, see `bgzf.rs`).
pub(super) struct Members<R: BufRead> {
    /// Always `Some` between calls; taken only while a new member's decoder is built.
    dec: Option<GzDecoder<R>>,
}

impl<R: BufRead> Members<R> {
    pub(super) fn new(r: R) -> Members<R> {
        Members {
            dec: Some(GzDecoder::new(r)),
        }
    }

    pub(super) fn get_ref(&self) -> &R {
        self.dec.as_ref().expect("a decoder between calls").get_ref()
    }
}

impl<R: BufRead> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let dec = self.dec.as_mut().expect("a decoder between calls");
            let n = dec.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // The member ended: what follows decides.
            let inner = dec.get_mut();
            let rest = inner.fill_buf()?;
            if rest.is_empty() {
                return Ok(0);
            }
            if rest[0] == 0 {
                loop {
                    let rest = inner.fill_buf()?;
                    if rest.is_empty() {
                        return Ok(0);
                    }
                    if rest.iter().any(|&b| b != 0) {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "non-zero data after the zero padding that follows the gzip stream",
                        ));
                    }
                    let n = rest.len();
                    inner.consume(n);
                }
            }
            // Another member: a fresh decoder on the same buffered input (the decoder
            // consumed exactly the member, so the input is at the next one's first byte).
            let old = self.dec.take().expect("a decoder between calls");
            self.dec = Some(GzDecoder::new(old.into_inner()));
        }
    }
}

// One `Input` per open file: boxing the decoder would only add an indirection to every read.
#[allow(clippy::large_enum_variant)]
enum Input {
    Plain(Counted),
    Gzip(Members<BufReader<Counted>>),
    /// BGZF: members inflated in parallel (see `bgzf.rs`).
    Bgzf(Box<Bgzf>),
}

impl Input {
    fn counted(&self) -> &Counted {
        match self {
            Input::Plain(c) => c,
            Input::Gzip(g) => g.get_ref().get_ref(),
            Input::Bgzf(b) => b.counted(),
        }
    }
}

/// An opened input: a file or a byte range of one.
pub struct Source {
    /// How the file is named in messages and invalid-line samples.
    pub name: String,
    input: Input,
    /// Buffers of chunks already processed, for the next ones (see [`Chunk`]).
    pool: Option<Pool>,
    gzip: bool,
    /// File offset where reading began (`start - 1` for a range that must skip a partial line).
    first_byte: u64,
    /// `start > 0`: drop everything up to and including the first '\n'.
    skip_partial: bool,
    /// Lines must start before this stream offset (plain ranges only).
    end: Option<u64>,
    /// File bytes this source is expected to cover, for progress.
    pub total: u64,
    /// File offset of the range's start, for progress.
    pub start: u64,
    /// The file's device and inode (no output may overwrite an input).
    pub id: FileId,
}

/// Where `Source::run` stands: `buf` always starts at a line start, at stream offset
/// `base`; its first `scanned` bytes are known to hold no '\n'.
struct Cursor {
    buf: Vec<u8>,
    eof: bool,
    base: u64,
    scanned: usize,
}

impl Cursor {
    /// Every complete line in the buffer, taken out (the rest, moved to a buffer from
    /// `pool`, stays), or None (and the buffer is marked scanned) when it holds no '\n'.
    fn take_complete_lines(&mut self, pool: &Pool) -> Option<Vec<u8>> {
        let Some(i) = memchr::memrchr(b'\n', &self.buf[self.scanned..]) else {
            self.scanned = self.buf.len();
            return None;
        };
        let n = self.scanned + i + 1;
        let mut next = pool.take();
        next.extend_from_slice(&self.buf[n..]);
        let mut data = std::mem::replace(&mut self.buf, next);
        data.truncate(n);
        self.scanned = 0;
        Some(data)
    }
}

/// `read` of up to `want` bytes onto the end of `buf` (zeroed first, as `Read` needs), at
/// most 64 KiB per call: zeroing a whole 2 MiB chunk before inflating into it went to
/// memory and back (past the L2 cache) and was a tenth of the inflating thread's time;
/// 64 KiB are still in cache when the decoder writes them.
fn read_append(r: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
    let want = want.min(64 << 10);
    let old = buf.len();
    buf.resize(old + want, 0);
    let r = r.read(&mut buf[old..]);
    buf.truncate(old + *r.as_ref().unwrap_or(&0));
    r
}

fn io_error(what: String, e: io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{what}: {e}"))
}

impl Source {
    /// Open `path`; `range` is `Some((start, end))` to read only the lines starting in
    /// `[start, end)`. `end` = [`RANGE_TO_END`] means "to the end of the file"; any other
    /// `start` or `end` past the end of the file is an error (the file is shorter than
    /// whoever planned the range thought: reading less and calling it complete would lose
    /// lines silently).
    pub fn open(path: &Path, range: Option<(u64, u64)>) -> Result<Source> {
        let name = path.display().to_string();
        let mut file = File::open(path).map_err(|e| io_error(format!("cannot open '{name}'"), e))?;
        let meta = file
            .metadata()
            .map_err(|e| io_error(format!("cannot stat '{name}'"), e))?;
        if meta.is_dir() {
            return Err(Error::new(
                ErrorKind::Io,
                format!("cannot read '{name}': it is a directory"),
            ));
        }
        let size = meta.len();
        let mut magic = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match file.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(format!("cannot read '{name}'"), e)),
            }
        }
        let gzip = got == 2 && magic == [0x1f, 0x8b];
        let (start, end) = match range {
            None => (0, size),
            Some((s, e)) => {
                if s > e {
                    return Err(Error::invalid(format!(
                        "byte range of '{name}' starts at {s}, after its end {e}"
                    )));
                }
                if s > size {
                    // The file is shorter than whoever planned this range thought: reading
                    // nothing and calling it complete would lose the lines silently.
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!(
                            "byte range of '{name}' starts at {s}, past the end of the file ({size} bytes): the file is shorter than planned"
                        ),
                    ));
                }
                if gzip && (s != 0 || e < size) {
                    return Err(Error::invalid(format!(
                        "'{name}' is gzip-compressed: a gzip stream cannot be split into byte ranges; read it whole"
                    )));
                }
                if e > size && e != RANGE_TO_END {
                    // The range was planned on a longer file (it shrank since): clamping
                    // would read less than planned and call it complete.
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!(
                            "byte range of '{name}' ends at {e}, past the end of the file ({size} bytes): the file is shorter than planned (use end = {RANGE_TO_END} to read to the end)"
                        ),
                    ));
                }
                (s.min(size), e.min(size))
            }
        };
        let skip_partial = start > 0;
        let first_byte = if skip_partial { start - 1 } else { 0 };
        file.seek(SeekFrom::Start(first_byte))
            .map_err(|e| io_error(format!("cannot seek in '{name}'"), e))?;
        let limit = size - first_byte;
        let counted = Counted {
            inner: file.take(limit),
            count: 0,
            limit,
            hit_eof: false,
        };
        let input = if gzip && bgzf::starts_bgzf(counted.inner.get_ref()) {
            Input::Bgzf(Box::new(Bgzf::new(counted)))
        } else if gzip {
            Input::Gzip(Members::new(BufReader::with_capacity(1 << 16, counted)))
        } else {
            Input::Plain(counted)
        };
        Ok(Source {
            name,
            input,
            pool: None,
            gzip,
            first_byte,
            skip_partial,
            end: if range.is_some() && !gzip { Some(end) } else { None },
            total: if gzip { size } else { end - start },
            start,
            id: FileId::of(&meta),
        })
    }

    /// Bytes of the file consumed so far, relative to the range start (for progress).
    fn file_pos(&self) -> u64 {
        (self.first_byte + self.input.counted().count)
            .saturating_sub(self.start)
            .min(self.total)
    }

    fn read_some(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<usize> {
        let old = buf.len();
        let r = loop {
            let r = match &mut self.input {
                Input::Plain(c) => c.read_append(buf, want),
                Input::Gzip(g) => read_append(g, buf, want),
                Input::Bgzf(b) => read_append(&mut **b, buf, want),
            };
            match r {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match r {
            Ok(n) => {
                if n == 0 {
                    self.check_not_shrunk()?;
                }
                Ok(n)
            }
            Err(e) => {
                buf.truncate(old);
                self.check_not_shrunk()?;
                Err(self.read_error(e))
            }
        }
    }

    fn check_not_shrunk(&self) -> Result<()> {
        let c = self.input.counted();
        if c.hit_eof && c.count < c.limit {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "'{}' shrank while being read: it had {} bytes when opened but ended at byte {}",
                    self.name,
                    self.first_byte + c.limit,
                    self.first_byte + c.count
                ),
            ));
        }
        Ok(())
    }

    fn read_error(&self, e: io::Error) -> Error {
        let at = self.first_byte + self.input.counted().count;
        if !self.gzip {
            return io_error(format!("error reading '{}' near byte {at}", self.name), e);
        }
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::new(
                ErrorKind::Data,
                format!(
                    "'{}': truncated gzip stream: the compressed data ends at byte {at} before the stream is complete ({e})",
                    self.name
                ),
            )
        } else if matches!(e.kind(), io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData) {
            Error::new(
                ErrorKind::Data,
                format!(
                    "'{}': corrupt gzip data near compressed byte {at}: {e}",
                    self.name
                ),
            )
        } else {
            io_error(
                format!("error reading '{}' near compressed byte {at}", self.name),
                e,
            )
        }
    }

    /// Read the whole source, handing each chunk of whole lines to `emit` (which returns
    /// false to stop early). Chunks are about `chunk` bytes; a line is never split.
    pub fn run(
        mut self,
        chunk: usize,
        max_line: usize,
        mut emit: impl FnMut(Progress) -> bool,
    ) -> Result<()> {
        let pool = Pool::new(chunk + 1024);
        self.pool = Some(pool.clone());
        let mut cur = Cursor {
            buf: pool.take(),
            eof: false,
            base: self.first_byte,
            scanned: 0,
        };
        if self.skip_partial && !self.skip_partial_line(&mut cur, chunk)? {
            return Ok(());
        }
        loop {
            if self.end.is_some_and(|end| cur.base >= end) {
                return Ok(());
            }
            while !cur.eof && cur.buf.len() < chunk {
                let want = chunk - cur.buf.len();
                if self.read_some(&mut cur.buf, want)? == 0 {
                    cur.eof = true;
                }
            }
            if cur.buf.is_empty() {
                return Ok(());
            }
            // A range ends with the line that holds its last byte.
            if let Some(n) = self.range_end_in(&cur) {
                cur.buf.truncate(n);
                emit(self.lines(std::mem::take(&mut cur.buf), cur.base));
                return Ok(());
            }
            if let Some(data) = cur.take_complete_lines(&pool) {
                let len = data.len() as u64;
                if !emit(self.lines(data, cur.base)) {
                    return Ok(());
                }
                cur.base += len;
                continue;
            }
            // No complete line in buf.
            if cur.eof {
                // The last line, without terminator.
                emit(self.lines(std::mem::take(&mut cur.buf), cur.base));
                return Ok(());
            }
            // `max_line + 1`: a CRLF line's '\r' is not content, and a line of exactly the
            // limit must be judged by the processor, whatever the chunk size.
            if cur.buf.len() > max_line.saturating_add(1) {
                let item = self.skip_overlong(&mut cur, chunk)?;
                if !emit(item) {
                    return Ok(());
                }
                continue;
            }
            // The line is longer than a chunk but allowed: read on.
            let grow = chunk
                .min(max_line.saturating_add(2).saturating_sub(cur.buf.len()))
                .max(1);
            if self.read_some(&mut cur.buf, grow)? == 0 {
                cur.eof = true;
            }
        }
    }

    fn lines(&self, data: Vec<u8>, base: u64) -> Progress {
        let pool = self.pool.clone().expect("a pool while running");
        Progress {
            item: Item::Lines {
                data: Chunk { data, pool },
                base,
            },
            file_pos: self.file_pos(),
        }
    }

    /// Drop the line in progress at a range's start: it belongs to the range before
    /// (reading from start-1 makes a line that begins exactly at `start` ours). False when
    /// the input ends first.
    fn skip_partial_line(&mut self, cur: &mut Cursor, chunk: usize) -> Result<bool> {
        loop {
            if self.read_some(&mut cur.buf, chunk)? == 0 {
                return Ok(false);
            }
            if let Some(i) = memchr::memchr(b'\n', &cur.buf) {
                cur.buf.drain(..=i);
                cur.base += i as u64 + 1;
                return Ok(true);
            }
            cur.base += cur.buf.len() as u64;
            cur.buf.clear();
        }
    }

    /// For a byte range whose last byte is in the buffer: the length of the buffer up to
    /// the end of the line holding that byte, once that line is complete.
    fn range_end_in(&self, cur: &Cursor) -> Option<usize> {
        let end = self.end?;
        let last = (end - cur.base - 1) as usize; // index of the range's last byte in buf
        if last >= cur.buf.len() {
            return None;
        }
        let from = last.max(cur.scanned);
        memchr::memchr(b'\n', &cur.buf[from..]).map(|i| from + i + 1)
    }

    /// The overlong line at the start of the buffer, skipped to its end without holding
    /// it; the cursor moves past it.
    fn skip_overlong(&mut self, cur: &mut Cursor, chunk: usize) -> Result<Progress> {
        let offset = cur.base;
        let head: Vec<u8> = cur.buf[..cur.buf.len().min(1024)].to_vec();
        let (content_len, raw_len, rest) = self.skip_line(std::mem::take(&mut cur.buf), chunk)?;
        cur.base += raw_len;
        cur.buf = rest;
        cur.scanned = 0;
        cur.eof = false;
        Ok(Progress {
            item: Item::Overlong {
                offset,
                content_len,
                raw_len,
                head,
            },
            file_pos: self.file_pos(),
        })
    }

    /// Skip the rest of a line whose first `buf.len()` bytes (no '\n' among them) are in
    /// `buf`. Returns its length without and with the terminator, and the bytes after it.
    /// The content length leaves out a '\r' before the '\n', as the processor does.
    fn skip_line(&mut self, mut buf: Vec<u8>, chunk: usize) -> Result<(u64, u64, Vec<u8>)> {
        let mut len = buf.len() as u64;
        let mut last = buf.last().copied();
        loop {
            buf.clear();
            if self.read_some(&mut buf, chunk)? == 0 {
                let content = if last == Some(b'\r') { len - 1 } else { len };
                return Ok((content, len, Vec::new()));
            }
            if let Some(i) = memchr::memchr(b'\n', &buf) {
                let before = if i > 0 { Some(buf[i - 1]) } else { last };
                let raw = len + i as u64 + 1;
                let content = if before == Some(b'\r') { raw - 2 } else { raw - 1 };
                let rest = buf[i + 1..].to_vec();
                return Ok((content, raw, rest));
            }
            len += buf.len() as u64;
            last = buf.last().copied().or(last);
        }
    }
}

/// Split `path`'s bytes into ranges of about `target` bytes, for workers (gzip files come
/// back as one range: they cannot be split). Offsets need not fall on line boundaries.
pub fn split_ranges(size: u64, target: u64) -> Vec<(u64, u64)> {
    let target = target.max(1);
    let mut out = Vec::new();
    let mut s = 0;
    while s < size {
        let e = (s + target).min(size);
        out.push((s, e));
        s = e;
    }
    if out.is_empty() {
        out.push((0, 0));
    }
    out
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
