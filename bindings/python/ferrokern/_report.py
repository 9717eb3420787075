"""Streaming reports over corpora of any size: files of one document per line or JSON lines
(gzip detected by its magic bytes), read in chunks on all cores, in bounded memory.

::

    r = ferrokern.report(["day1.jsonl.gz", "day2.jsonl"], text_field="text")
    r["kv"]["top"]            # [[key, total], ...]
    r["emails"]["domains"]    # [[domain, count], ...]
    r.to_json()               # the JSON report (schema: docs/report.md)

A `Report` is also built and fed by hand (`Report(...)`, `feed_file`, `feed_texts`), merged
with another (`merge`), and written as *full* JSON (`to_json(full=True)`) that
`Report.from_json` loads back: that is how partial reports travel between processes
(see `ferrokern.dask`)."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import sys
import time
import zlib
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import accumulate
from typing import Any, Callable, Protocol, Union, cast

from ._native import DataError, Handle, check, ffi, lib
from ._text import Pattern, Texts, _Batch, _batches, _big_int, _max_digits

__all__ = ["report", "Report", "table_format"]

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


class ReadableBinary(Protocol):
    """A binary stream: ``sys.stdin.buffer``, an open pipe or socket file, ``io.BytesIO``."""

    def read(self, size: int = -1, /) -> bytes: ...


#: An input of `report`: a file path, or a binary stream.
Source = Union[PathLike, ReadableBinary]
#: A named pattern: a regex (findall mode), a compiled Pattern, or (regex or Pattern, mode)
#: with mode "findall" or "count".
PatternSpec = Union[str, Pattern, tuple[Union[str, Pattern], str]]

_EXTRACTORS = {"emails": lib.FK_REPORT_EMAILS, "kv": lib.FK_REPORT_KV}
_MODES = {"findall": lib.FK_REPORT_PATTERN_FINDALL, "count": lib.FK_REPORT_PATTERN_COUNT}
_OS_ERROR = re.compile(r"\(os error (\d+)\)")


def _parse_int(s: str) -> int:
    # json's int() is subject to sys.get_int_max_str_digits(); exact sums may be longer.
    return int(s) if len(s) < 4000 else _big_int(s)


def _loads(data: str | bytes) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(data, parse_int=_parse_int)
    return out


def _fspath(p: PathLike) -> bytes:
    return os.fsencode(os.fspath(p))


def _raise_os_error(e: Exception, path: PathLike) -> None:
    """Re-raise a library I/O error about `path` as the matching OSError subclass
    (FileNotFoundError, PermissionError, IsADirectoryError, ...), message kept."""
    m = _OS_ERROR.search(str(e))
    if isinstance(e, OSError) and m:
        msg = _OS_ERROR.sub("", str(e)).rstrip()
        if "cannot spill" in msg:  # about the spill directory (named in msg), not `path`
            raise OSError(int(m.group(1)), msg) from e
        raise OSError(int(m.group(1)), msg, os.fsdecode(os.fspath(path))) from e
    raise e


#: Bytes read from a stream per step (`Report.feed_stream`).
STREAM_CHUNK_BYTES = 8 << 20


class _Counted:
    """A read-only view of a binary stream that counts the bytes read from it and can push
    back what it read first (to sniff gzip's magic bytes on a stream that cannot seek)."""

    def __init__(self, stream: ReadableBinary) -> None:
        self.stream = stream
        self.back = b""
        self.count = 0

    def unread(self, data: bytes) -> None:
        self.back = data + self.back
        self.count -= len(data)

    def seek(self, offset: int, /) -> int:
        # gzip.GzipFile only seeks to rewind, which feed_stream never asks for.
        raise io.UnsupportedOperation("a stream fed to a report cannot seek")

    def read(self, size: int = -1, /) -> bytes:
        if self.back:
            data = self.back if size < 0 else self.back[:size]
            self.back = self.back[len(data) :]
            if size < 0 or len(data) < size:
                data += self.stream.read(size if size < 0 else size - len(data))
        else:
            data = self.stream.read(size)
        self.count += len(data)
        return data


class Report(Mapping[str, Any]):
    """A streaming report. Mapping-like: ``r["documents"]``, ``r["kv"]["top"]`` read the JSON
    summary (recomputed after each feed). Free it with `close()` or a ``with`` block (the
    garbage collector frees it otherwise).

    Arguments: `extractors` (any of ``"emails"``, ``"kv"``), `patterns` (``{name: spec}``,
    see `add_pattern`), `text_field` (None: one document per line; a name: JSON lines, the
    document is that string field), `top` (length of every top list), `totals` (list every
    kv key's total and document frequency), `max_line_bytes` (longer lines are invalid;
    0: 64 MiB), `chunk_size` (bytes per processing chunk, 256 to 1 GiB; 0: 2 MiB; never
    changes results), `memory_budget` (bytes to stay under, past which the per-key state
    spills, exactly, to a nameless file in `spill_dir`; None: 200 MiB, a run under 300 MB
    of RSS; 0: no limit; never changes results), `spill_dir` (None: ``$TMPDIR``, else /tmp).
    """

    _text_field: str | None = None

    def __init__(
        self,
        *,
        extractors: Iterable[str] = ("emails", "kv"),
        patterns: Mapping[str, PatternSpec] | None = None,
        text_field: str | None = None,
        top: int = 20,
        totals: bool = False,
        max_line_bytes: int = 0,
        chunk_size: int = 0,
        memory_budget: int | None = None,
        spill_dir: PathLike | None = None,
        _ptr: Any = None,
    ):
        self._cache: dict[str, Any] | None = None
        if _ptr is not None:
            self._h = Handle(_ptr, lib.fk_report_free, "report")
            return
        if isinstance(extractors, str):
            extractors = [extractors]
        bits = 0
        for e in extractors:
            if e not in _EXTRACTORS:
                raise ValueError(
                    f"unknown extractor {e!r}: expected 'emails' or 'kv' (named patterns go in patterns=)"
                )
            bits |= _EXTRACTORS[e]
        for name, v in (("top", top), ("max_line_bytes", max_line_bytes), ("chunk_size", chunk_size)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{name} must be a non-negative int, got {v!r}")
        if chunk_size > lib.FK_REPORT_MAX_CHUNK_BYTES:
            raise ValueError(
                f"chunk_size {chunk_size} is above the maximum of "
                f"{lib.FK_REPORT_MAX_CHUNK_BYTES} bytes (1 GiB)"
            )
        cfg = ffi.new("FkReportConfig*")
        check(lib.fk_report_config_default(cfg))
        cfg.extractors = bits
        cfg.options = lib.FK_REPORT_KV_TOTALS if totals else 0
        cfg.top = top
        cfg.max_digits = _max_digits()
        cfg.max_line_bytes = max_line_bytes
        cfg.chunk_bytes = chunk_size
        if memory_budget is not None:
            if not isinstance(memory_budget, int) or isinstance(memory_budget, bool) or memory_budget < 0:
                raise ValueError(f"memory_budget must be None or a non-negative int, got {memory_budget!r}")
            if memory_budget == 0:
                cfg.options |= lib.FK_REPORT_NO_MEMORY_LIMIT
            cfg.memory_budget = memory_budget
        spill = None
        if spill_dir is not None:
            spill = _fspath(spill_dir)
            cfg.spill_dir = ffi.from_buffer(spill)
            cfg.spill_dir_len = len(spill)
        field = None
        self._text_field = text_field
        if text_field is not None:
            if not isinstance(text_field, str):
                raise TypeError(f"text_field must be str or None, not {type(text_field).__name__}")
            field = text_field.encode("utf-8")
            cfg.text_field = ffi.from_buffer(field)
            cfg.text_field_len = len(field)
        out = ffi.new("FkReport**")
        check(lib.fk_report_new(cfg, out))
        self._h = Handle(out[0], lib.fk_report_free, "report")
        for name, spec in (patterns or {}).items():
            if isinstance(spec, tuple):
                self.add_pattern(name, spec[0], mode=spec[1])
            else:
                self.add_pattern(name, spec)

    # -- plumbing ------------------------------------------------------------------------

    def close(self) -> None:
        """Free the native report now (flushing any per-document output)."""
        self._h.close()

    @property
    def closed(self) -> bool:
        return self._h.closed

    def __enter__(self) -> Report:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._h.closed:
            return "<ferrokern.Report (closed)>"
        d = self._data()
        invalid = d["invalid"]["count"]
        return f"<ferrokern.Report documents={d['documents']} invalid={invalid} complete={d['complete']}>"

    # -- building ------------------------------------------------------------------------

    def add_pattern(
        self, name: str, pattern: str | Pattern, mode: str = "findall", ignore_case: bool = False
    ) -> None:
        """Add a named user pattern (before the first feed). ``mode="findall"`` counts each
        distinct match (group 1 if the pattern has groups, else the whole match);
        ``mode="count"`` only counts matches. Pattern semantics are `ferrokern.compile`'s."""
        if mode not in _MODES:
            raise ValueError(f"mode must be 'findall' or 'count', got {mode!r}")
        if not isinstance(name, str):
            raise TypeError(f"pattern name must be str, not {type(name).__name__}")
        pat = pattern if isinstance(pattern, Pattern) else Pattern(pattern, ignore_case)
        nb = name.encode("utf-8")
        with pat._h.borrow() as pp:
            check(self._h.call(lib.fk_report_add_pattern, nb, len(nb), pp, _MODES[mode]))
        self._cache = None

    def set_per_doc(self, path: PathLike | None) -> None:
        """Write one JSON line per document fed from now on to `path` (through a temporary
        file in its directory that replaces `path` when the output is closed, so a failed
        run leaves no partial file; `path` may not be an input the report has read):
        ``{"kv": {...}, "emails": [...]}`` exactly as `extract_and_aggregate` /
        `extract_emails` give for that document, or ``{"invalid": "reason"}``.
        ``None`` flushes and closes the output."""
        if path is None:
            check(self._h.call(lib.fk_report_set_per_doc, ffi.NULL, 0))
            return
        b = _fspath(path)
        try:
            check(self._h.call(lib.fk_report_set_per_doc, b, len(b)))
        except OSError as e:
            _raise_os_error(e, path)

    def feed_texts(self, texts: Texts) -> Report:
        """Feed each text as one document (one JSON line when `text_field` is set)."""
        self._cache = None
        for b in _batches(texts):
            check(self._h.call(lib.fk_report_feed_texts, b.ptr))
        return self

    def feed_file(
        self,
        path: PathLike,
        progress: Callable[[int, int], Any] | None = None,
        range: tuple[int, int] | None = None,  # noqa: A002 - the natural name
    ) -> Report:
        """Feed a file (gzip detected by its magic bytes), or with ``range=(start, end)`` the
        lines that start in that byte range (Hadoop-style splits: ranges that partition a
        file see every line once). `progress(bytes_done, bytes_total)` is called after each
        chunk; an exception raised in it cancels the feed and is re-raised here.

        Raises TypeError/ValueError for bad arguments before reading anything,
        FileNotFoundError/PermissionError/OSError naming the file (also for a range that
        starts or ends past the end of the file: it shrank since the range was planned;
        ``end=2**64 - 1`` reads to the end), ValueError (DataError) for truncated or corrupt
        gzip with the compressed offset. After an
        error the report is marked incomplete (``r["complete"]`` is False)."""
        # Every argument is checked before the library reads a byte: a bad one found
        # later would leave part of the file merged.
        b = _fspath(path)
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be a callable or None, not {type(progress).__name__}")
        if range is not None:
            if (
                not isinstance(range, tuple)
                or len(range) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in range)
            ):
                raise ValueError(f"range must be two non-negative ints, got {range!r}")
        cb = ffi.NULL
        failure: list[BaseException] = []
        if progress is not None:
            report_progress = progress

            def on_error(exc_type: type[BaseException], exc: BaseException, tb: object) -> int:
                failure.append(exc)
                return 1

            def call_progress(_user: Any, done: int, total: int) -> int:
                report_progress(done, total)
                return 0

            cb = ffi.callback("int32_t(void*, uint64_t, uint64_t)", call_progress, onerror=on_error)

        self._cache = None
        if range is None:
            status = self._h.call(lib.fk_report_feed_file, b, len(b), cb, ffi.NULL)
        else:
            start, end = range
            status = self._h.call(lib.fk_report_feed_file_range, b, len(b), start, end, cb, ffi.NULL)
        if failure:
            raise failure[0]
        try:
            check(status)
        except OSError as e:
            _raise_os_error(e, path)
        return self

    def feed_stream(
        self,
        stream: ReadableBinary,
        progress: Callable[[int, int], Any] | None = None,
        name: str = "<stream>",
    ) -> Report:
        """Feed a binary stream that cannot be opened by path or seeked (``sys.stdin.buffer``,
        a pipe, a socket file, an HTTP response): it is read in chunks, gunzipped when it
        starts with gzip's magic bytes (concatenated members, as ``gzip -d`` reads them),
        split into lines (a ``"\\r"`` before the ``"\\n"`` belongs to the terminator, as for
        files) and fed to the library as texts, so memory stays bounded by the chunk size and
        the longest line. `progress(bytes_read, 0)` is called after each chunk (the total
        is not known).

        Results are those of `feed_file` on the same bytes, except that invalid lines are
        named by their index among the texts fed (not a byte offset) and ``bytes`` counts
        the lines without their terminators. Raises ferrokern.DataError for truncated or
        corrupt gzip. After an error the report covers only part of the stream: discard it
        (unlike `feed_file`, the report cannot mark itself incomplete)."""
        src = _Counted(stream)
        head = src.read(2)
        if not isinstance(head, bytes):
            raise TypeError(
                f"feed_stream needs a binary stream (e.g. sys.stdin.buffer), got {type(head).__name__}"
            )
        src.unread(head)
        reader: ReadableBinary = src
        if head == b"\x1f\x8b":
            reader = gzip.GzipFile(fileobj=src, mode="rb")
        self._cache = None
        pending: list[bytes] = []
        while True:
            try:
                data = reader.read(STREAM_CHUNK_BYTES)
            except (EOFError, gzip.BadGzipFile, zlib.error) as e:  # only GzipFile raises these
                raise DataError(f"{name}: bad gzip data after compressed byte {src.count}: {e}") from None
            if not data:
                break
            cut = data.rfind(b"\n")
            if cut < 0:
                pending.append(data)
            else:
                pending.append(data[:cut])
                self._feed_lines(b"".join(pending))
                pending = [data[cut + 1 :]]
            if progress is not None:
                progress(src.count, 0)
        tail = b"".join(pending)
        if tail:  # a last line without "\n"
            self._feed_lines(tail)
        return self

    def feed_table(
        self,
        path: PathLike,
        column: str | None = None,
        progress: Callable[[int, int], Any] | None = None,
    ) -> Report:
        """Feed one string column of a Parquet file or an Arrow IPC file or stream
        (recognised by their magic bytes, see `table_format`), one document per row. The
        file is read in record batches through pyarrow (Parquet row group by row group),
        so memory stays bounded by a batch, and each batch's text buffers go to the library
        without a copy; a null row is an invalid document ("null value (no text)", named by
        its row index among the texts fed). `column`: the column's name; None takes the
        only string column (an error if there are several). The report must read plain
        documents (no `text_field`): the column holds the text itself. `progress(rows_done,
        rows_total)` is called after each batch (total 0 when not known, for a stream).
        Needs pyarrow (``pip install pyarrow``)."""
        if self._text_field is not None:
            raise ValueError(
                "feed_table needs a report without text_field (the column holds the documents "
                "themselves); name the column with column="
            )
        fmt = table_format(path)
        if fmt is None:
            raise ValueError(f"{os.fsdecode(os.fspath(path))!r} is neither Parquet nor Arrow IPC")
        self._cache = None
        for batch, done, total in _table_batches(path, fmt, column):
            self._feed_column(batch)
            if progress is not None:
                progress(done, total)
        return self

    def _feed_column(self, arr: Any) -> None:
        """Feed an Arrow string array: runs of non-null rows zero copy, runs of nulls as
        invalid documents."""
        if arr.null_count == 0:
            self.feed_texts(arr)
            return
        valid = arr.is_valid().to_pylist()
        i, n = 0, len(arr)
        while i < n:
            j = i
            while j < n and valid[j] == valid[i]:
                j += 1
            if valid[i]:
                self.feed_texts(arr.slice(i, j - i))
            else:
                check(self._h.call(lib.fk_report_feed_nulls, j - i))
            i = j

    def _feed_lines(self, data: bytes) -> None:
        """Feed the "\\n"-separated lines of `data` (one document each)."""
        lines = data.split(b"\n")
        # A CRLF line's "\r" is not content (the file reader drops it the same way).
        lines = [x[:-1] if x.endswith(b"\r") else x for x in lines]
        buf = bytearray().join(lines)
        offsets = array("q", [0])
        ends = accumulate(map(len, lines), initial=0)
        next(ends)
        offsets.extend(ends)
        b = _Batch.from_utf8(buf, offsets)
        check(self._h.call(lib.fk_report_feed_texts, b.ptr))

    def merge(self, other: Report) -> Report:
        """Add `other` (unchanged) into this report, as if its input came after this one's.
        Returns self."""
        if not isinstance(other, Report):
            raise TypeError(f"can only merge a Report, not {type(other).__name__}")
        if other is self:
            raise ValueError("cannot merge a report into itself")
        with other._h.borrow() as op:
            check(self._h.call(lib.fk_report_merge, op))
        self._cache = None
        return self

    # -- output --------------------------------------------------------------------------

    @staticmethod
    def _flags(full: bool, indent: bool) -> int:
        return (lib.FK_REPORT_JSON_FULL if full else 0) | (lib.FK_REPORT_JSON_PRETTY if indent else 0)

    def to_json(self, full: bool = False, indent: bool = False) -> str:
        """The report as JSON. ``full=True`` keeps every count (the form `from_json` loads
        and `merge` needs); the default keeps the top lists only."""
        out = ffi.new("FkBytes**")
        check(self._h.call(lib.fk_report_to_json, self._flags(full, indent), out))
        try:
            data, n = ffi.new("uint8_t**"), ffi.new("size_t*")
            check(lib.fk_bytes_data(out[0], data, n))
            text: str = ffi.buffer(data[0], n[0])[:].decode("utf-8")
            return text
        finally:
            lib.fk_bytes_free(out[0])

    def write_json(self, path: PathLike, full: bool = False, indent: bool = True) -> None:
        """Write the JSON report to `path` (straight from the library, atomically: a failed
        write leaves what was at `path`). ValueError if `path` is a file the report read."""
        b = _fspath(path)
        try:
            check(self._h.call(lib.fk_report_write_json, self._flags(full, indent), b, len(b)))
        except OSError as e:
            _raise_os_error(e, path)

    @classmethod
    def from_json(cls, data: str | bytes) -> Report:
        """Load a report written by ``to_json(full=True)``."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        out = ffi.new("FkReport**")
        check(lib.fk_report_from_json(data, len(data), out))
        return cls(_ptr=out[0])

    @property
    def spilled_bytes(self) -> int:
        """Bytes of per-key state this report wrote to its spill file (front-coded) because
        of its memory budget; 0 when everything stayed in memory."""
        n = ffi.new("uint64_t*")
        check(self._h.call(lib.fk_report_spill_stats, n, ffi.NULL))
        return int(n[0])

    def to_bytes(self) -> bytes:
        """The report's compact binary state (every count, like ``to_json(full=True)``, but
        front-coded, LZ4-compressed and checksummed): how partial reports travel between
        processes of the same ferrokern version (`ferrokern.dask` ships these). Keep or
        exchange reports as JSON; load these with `from_bytes`."""
        out = ffi.new("FkBytes**")
        check(self._h.call(lib.fk_report_to_state, out))
        try:
            data, n = ffi.new("uint8_t**"), ffi.new("size_t*")
            check(lib.fk_bytes_data(out[0], data, n))
            state: bytes = ffi.buffer(data[0], n[0])[:]
            return state
        finally:
            lib.fk_bytes_free(out[0])

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Report:
        """Load a report from `to_bytes`'s output. Raises ValueError for a truncated,
        corrupt (checksum), inconsistent or other-version state: never a smaller report."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"from_bytes needs bytes, not {type(data).__name__}")
        buf = ffi.from_buffer(data)
        out = ffi.new("FkReport**")
        check(lib.fk_report_from_state(buf, len(buf), out))
        return cls(_ptr=out[0])

    def merge_bytes(self, data: bytes | bytearray | memoryview) -> Report:
        """Add the report whose `to_bytes` output is `data`, as ``merge(from_bytes(data))``
        would, without building the second report (its maps go straight into this one's,
        or, past the memory budget, to its spill file as sorted runs). Raises ValueError for
        a corrupt state or a mismatched config, leaving this report unchanged. Returns
        self."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"merge_bytes needs bytes, not {type(data).__name__}")
        buf = ffi.from_buffer(data)
        check(self._h.call(lib.fk_report_merge_state, buf, len(buf)))
        self._cache = None
        return self

    def _data(self) -> dict[str, Any]:
        if self._cache is None:
            self._cache = _loads(self.to_json())
        return self._cache

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary as a dict (a fresh copy)."""
        return _loads(self.to_json())

    @property
    def complete(self) -> bool:
        """False when a feed failed or was cancelled: the report does not cover its input."""
        return bool(self._data()["complete"])

    def __getitem__(self, key: str) -> Any:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())


class _Progress:
    """Progress over several inputs on stderr. On a terminal: tqdm when installed, else one
    line redrawn in place at most twice a second. Elsewhere (a log file, a pipe, a CI job)
    only when asked for (`enabled=True`): a new line every few seconds and after each input,
    which is what a captured stderr can show."""

    def __init__(self, sources: Sequence[Source], enabled: bool | None = None) -> None:
        tty = sys.stderr.isatty()
        self.enabled = tty if enabled is None else bool(enabled)
        self.tty = tty
        self.interval = 0.5 if tty else 2.0
        # A stream's size is not known in advance: then progress is shown in bytes only.
        self.total: int | None = None
        if not any(_is_stream(p) for p in sources):
            self.total = sum(_size(cast(PathLike, p)) for p in sources)
        self.base = 0
        self.pos = 0
        self.bar: Any = None
        self.last = 0.0
        if self.enabled and tty:
            try:
                import importlib

                tqdm = importlib.import_module("tqdm").tqdm  # optional, and untyped
                self.bar = tqdm(
                    total=self.total,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc="report",
                    file=sys.stderr,
                    dynamic_ncols=True,
                )
            except ImportError:
                self.bar = None

    def for_source(self) -> Callable[[int, int], None] | None:
        if not self.enabled:
            return None

        def update(done: int, total: int) -> None:
            self._set(self.base + done)

        return update

    def source_done(self, size: int | None) -> None:
        """An input is done: a file of `size` bytes, or a stream (None: as far as it was read)."""
        self.base = self.pos if size is None else self.base + size
        if self.enabled:
            self._set(self.base, force=True)

    def _set(self, pos: int, force: bool = False) -> None:
        if self.bar is not None:
            self.bar.update(max(0, pos - self.pos))
        else:
            now = time.monotonic()
            if force or now - self.last >= self.interval:
                self.last = now
                mb = f"{pos / 1e6:,.1f} MB"
                if self.total is not None:
                    pct = 100.0 * pos / self.total if self.total else 100.0
                    mb = f"{pct:5.1f}%  {mb} of {self.total / 1e6:,.1f} MB"
                sys.stderr.write(f"\rreport: {mb}" if self.tty else f"report: {mb}\n")
                sys.stderr.flush()
        self.pos = pos

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and self.tty:
            sys.stderr.write("\n")


_PARQUET_MAGIC = b"PAR1"
_ARROW_FILE_MAGIC = b"ARROW1"
_ARROW_STREAM_MAGIC = b"\xff\xff\xff\xff"


def table_format(path: object) -> str | None:
    """``"parquet"``, ``"arrow-file"`` or ``"arrow-stream"`` when `path` is a file that
    starts with that format's magic bytes (whatever its name, as gzip is recognised),
    else None (also for a stream or a file that cannot be read: the feed reports that)."""
    if _is_stream(path):
        return None
    try:
        with open(cast(PathLike, path), "rb") as f:
            head = f.read(6)
    except (OSError, TypeError, ValueError):
        return None
    if head[:4] == _PARQUET_MAGIC:
        return "parquet"
    if head == _ARROW_FILE_MAGIC:
        return "arrow-file"
    if head[:4] == _ARROW_STREAM_MAGIC:
        return "arrow-stream"
    return None


def _string_column(schema: Any, column: str | None, name: str) -> str:
    import importlib

    pa: Any = importlib.import_module("pyarrow")  # untyped

    def is_text(t: Any) -> bool:
        return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))

    if column is None:
        texts = [f.name for f in schema if is_text(f.type)]
        if len(texts) != 1:
            raise ValueError(f"{name}: name the text column (column= / --column): string columns are {texts}")
        return str(texts[0])
    if column not in schema.names:
        raise ValueError(f"{name}: no column {column!r}; columns are {schema.names}")
    t = schema.field(column).type
    if not is_text(t):
        raise TypeError(f"{name}: column {column!r} is {t}, not a string column")
    return column


def _table_batches(path: PathLike, fmt: str, column: str | None) -> Iterator[tuple[Any, int, int]]:
    """(string array, rows done, rows total) per record batch of one column."""
    import importlib

    try:
        pa: Any = importlib.import_module("pyarrow")  # untyped, like the Arrow input of _text
        ipc: Any = importlib.import_module("pyarrow.ipc")
        pq: Any = importlib.import_module("pyarrow.parquet")
    except ImportError as e:
        raise ImportError("reading Parquet or Arrow files needs pyarrow: pip install pyarrow") from e
    name = os.fsdecode(os.fspath(path))
    done = 0
    if fmt == "parquet":
        pf = pq.ParquetFile(path)
        col = _string_column(pf.schema_arrow, column, name)
        total = pf.metadata.num_rows
        batches: Iterable[Any] = pf.iter_batches(columns=[col])
    elif fmt == "arrow-file":
        f = ipc.open_file(pa.memory_map(os.fsdecode(os.fspath(path))))
        col = _string_column(f.schema, column, name)
        batches, total = (f.get_batch(i) for i in range(f.num_record_batches)), 0
    else:
        s = ipc.open_stream(pa.memory_map(os.fsdecode(os.fspath(path))))
        col = _string_column(s.schema, column, name)
        batches, total = s, 0
    for b in batches:
        arr = b.column(col)
        done += len(arr)
        yield arr, done, total


def _size(path: PathLike) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0  # the feed raises the proper error


def _stream_name(stream: object) -> str:
    name = getattr(stream, "name", None)
    return name if isinstance(name, str) else "<stream>"


def _is_stream(p: object) -> bool:
    return callable(getattr(p, "read", None))


def check_outputs(sources: Sequence[Source], outputs: Iterable[PathLike | None]) -> None:
    """Raise ValueError if an output path is one of the inputs: the same file by device and
    inode (any name for it: a link, ``./x``), standard input redirected from it included.
    Called before any output is created, so a mistake never truncates an input."""
    ids: dict[tuple[int, int], str] = {}
    for src in sources:
        try:
            if _is_stream(src):
                fileno = getattr(src, "fileno", None)
                st = os.fstat(fileno()) if callable(fileno) else None
                name = _stream_name(src)
            else:
                st = os.stat(cast(PathLike, src))
                name = os.fsdecode(os.fspath(cast(PathLike, src)))
        except (OSError, ValueError, io.UnsupportedOperation):
            continue  # no such file (the feed reports it) or a stream without a file
        if st is not None:
            ids.setdefault((st.st_dev, st.st_ino), name)
    for out in outputs:
        if out is None:
            continue
        try:
            st = os.stat(out)
        except OSError:
            continue  # does not exist yet: cannot be an input
        same = ids.get((st.st_dev, st.st_ino))
        if same is not None:
            raise ValueError(
                f"the output {os.fsdecode(os.fspath(out))!r} is the input {same!r}; "
                "refusing to overwrite an input"
            )


def _as_paths(paths: Source | Iterable[Source]) -> list[Source]:
    if isinstance(paths, (str, bytes, os.PathLike)) or _is_stream(paths):
        return [cast(Source, paths)]
    return list(cast("Iterable[Source]", paths))


def report(
    paths: Source | Iterable[Source],
    *,
    extractors: Iterable[str] = ("emails", "kv"),
    patterns: Mapping[str, PatternSpec] | None = None,
    text_field: str | None = None,
    top: int = 20,
    totals: bool = False,
    progress: bool | None = None,
    per_doc: PathLike | None = None,
    max_line_bytes: int = 0,
    chunk_size: int = 0,
    memory_budget: int | None = None,
    spill_dir: PathLike | None = None,
    column: str | None = None,
) -> Report:
    """Run the extractors over every line of every input (in order) and return the `Report`.

    Parquet and Arrow IPC inputs (recognised by their magic bytes) are read with
    `Report.feed_table`: one document per row of the string column `column` (default:
    `text_field` if given, else the only string column); then every input must be one.

    `paths`: file paths, or binary streams (``sys.stdin.buffer``, a pipe, ...) read with
    `Report.feed_stream`. `progress`: None (default) shows progress on stderr when it is a
    terminal (tqdm if installed); True always shows it (a line every few seconds when
    stderr is not a terminal); False never. `per_doc` writes one JSON line per document.
    Other arguments as for `Report`. Raises FileNotFoundError (etc.) naming a missing file,
    ferrokern.DataError for truncated gzip, ValueError (before anything is written) when
    `per_doc` is one of the inputs."""
    sources = _as_paths(paths)
    check_outputs(sources, [per_doc])
    tables = [table_format(p) is not None for p in sources]
    if any(tables):
        if not all(tables):
            raise ValueError(
                "Parquet/Arrow inputs cannot be mixed with line files in one report (a table's "
                "column holds documents, a line file's lines do); run them as two reports and merge"
            )
        column = column if column is not None else text_field
        text_field = None
    r = Report(
        extractors=extractors,
        patterns=patterns,
        text_field=text_field,
        top=top,
        totals=totals,
        max_line_bytes=max_line_bytes,
        chunk_size=chunk_size,
        memory_budget=memory_budget,
        spill_dir=spill_dir,
    )
    try:
        if per_doc is not None:
            r.set_per_doc(per_doc)
        bar = _Progress(sources, progress)
        try:
            for p in sources:
                if _is_stream(p):
                    r.feed_stream(cast(ReadableBinary, p), progress=bar.for_source(), name=_stream_name(p))
                    bar.source_done(None)
                elif any(tables):
                    r.feed_table(cast(PathLike, p), column)
                    bar.source_done(_size(cast(PathLike, p)))
                else:
                    path = cast(PathLike, p)
                    r.feed_file(path, progress=bar.for_source())
                    bar.source_done(_size(path))
        finally:
            bar.close()
        if per_doc is not None:
            r.set_per_doc(None)
    except BaseException:
        r.close()
        raise
    return r


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return str(n)


def _summary(r: Report, seconds: float, n_inputs: int, output: str | None, per_doc: str | None) -> str:
    """The few lines the CLI and the demo print about a finished report."""
    d = r.to_dict()
    rate = d["bytes"] / seconds / 1e6 if seconds > 0 else 0.0
    out = [
        f"ferrokern report: {n_inputs} input(s), {_human(d['bytes'])} in {seconds:.2f} s ({rate:,.1f} MB/s)"
    ]
    inv = d["invalid"]
    out.append(f"  documents  {d['documents']:,} valid of {d['lines']:,} lines; {inv['count']:,} invalid")
    for x in inv["lines"][:3]:
        where = f"byte {x['offset']}" if "offset" in x else f"text {x.get('index')}"
        out.append(f"             invalid: {x['source']} {where}: {x['reason']}")
    if "kv" in d:
        kv = d["kv"]
        top = ", ".join(f"{k}={v}" for k, v in kv["top"][:5])
        out.append(f"  kv         {kv['pairs']:,} pairs, {kv['distinct']:,} distinct keys; top: {top or '-'}")
    if "emails" in d:
        e = d["emails"]
        top = ", ".join(f"{k} ({v})" for k, v in e["domains"][:5])
        out.append(
            f"  emails     {e['total']:,} found, {e['distinct']:,} distinct; top domains: {top or '-'}"
        )
    for name, p in d.get("patterns", {}).items():
        extra = ""
        if "top" in p:
            extra = f", {p['distinct']:,} distinct; top: " + ", ".join(f"{k} ({v})" for k, v in p["top"][:5])
        out.append(f"  {name:<10} {p['total']:,} matches{extra}")
    spilled = r.spilled_bytes
    if spilled:
        out.append(
            f"  spilled    {_human(spilled)} of per-key state to disk (memory budget), merged back exactly"
        )
    if output:
        out.append(f"  report     {output}")
    if per_doc:
        out.append(f"  per-doc    {per_doc}")
    return "\n".join(out)
