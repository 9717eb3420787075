"""Text kernels: Python-exact regex extraction and aggregation over batches of str."""

from __future__ import annotations

import re
import sys
from array import array
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from itertools import accumulate, chain, islice
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Protocol, TypeVar, Union, cast, overload

from ._native import Handle, InvalidTextError, check, ffi, lib

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["Pattern", "extract_and_aggregate", "extract_emails"]


class ArrowArray(Protocol):
    """A pyarrow ``Array`` (Arrow's PyCapsule array interface)."""

    def __arrow_c_array__(self, requested_schema: Any = None) -> Any: ...


class ArrowStream(Protocol):
    """A pyarrow ``ChunkedArray`` or a polars ``Series`` (Arrow's PyCapsule stream interface)."""

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any: ...


#: What the text functions take: a sequence of str, or an Arrow string array (pyarrow
#: string / large_string / string_view, chunked or not, or a polars String Series), which
#: is read in place.
Texts = Union[Sequence[str], ArrowArray, ArrowStream]

_T = TypeVar("_T")
# Unbounded: numpy arrays only declare the buffer protocol to type checkers on Python 3.12+.
_Buffer = TypeVar("_Buffer")


def _max_digits() -> int:
    # Python's int() refuses longer digit strings (3.11+ and security releases); the
    # reference raises ValueError there, so the library must too.
    get = getattr(sys, "get_int_max_str_digits", None)
    return int(get()) if get else 0


#: UTF-8 bytes marshalled per library call for a list of str. The encoded copy is the only
#: memory ferrokern adds on top of the caller's input and the results, so slicing bounds it
#: whatever the batch size.
SLICE_BYTES = 1 << 26
#: strs encoded per step (one C-level map + join each).
_ENCODE_STEP = 2048


def _arrow(texts: object) -> Any:
    """`texts` as a pyarrow Array or ChunkedArray when it is an Arrow-backed array (polars
    Series included, through its zero-copy ``to_arrow()``), else None."""
    package = type(texts).__module__.split(".")[0]
    kind = type(texts).__name__
    if package in ("polars", "pyarrow") and kind in ("DataFrame", "LazyFrame", "Table", "RecordBatch"):
        # A table has no single text column to take: say so instead of failing inside.
        raise TypeError(
            f"texts must be one string column, not a {package} {kind}: pass a column, "
            "e.g. table['text'] (pyarrow) or df['text'] (polars)"
        )
    if package == "polars":
        return texts.to_arrow()  # type: ignore[attr-defined]
    return texts if package == "pyarrow" else None


def _as_sequence(texts: Any) -> Sequence[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a sequence of str, not a single " + type(texts).__name__)
    return texts if isinstance(texts, (list, tuple)) else list(texts)


def _bad_text(chunk: Sequence[str], first_index: int) -> NoReturn:
    """Raise the precise error for the first text of `chunk` that cannot be encoded."""
    for j, t in enumerate(chunk):
        if not isinstance(t, str):
            raise TypeError(f"texts[{first_index + j}] is {type(t).__name__}, expected str") from None
        try:
            t.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidTextError(
                f"texts[{first_index + j}] contains a lone surrogate {t[e.start]!r} at index {e.start}, "
                "which is not valid Unicode text and cannot be encoded as UTF-8"
            ) from None
    raise TypeError("texts must be a sequence of str")


def _batches(texts: Texts, slice_bytes: int | None = None) -> Iterator[_Batch]:
    """The one way texts reach the library: `_Batch` objects covering `texts` in order, at
    least one even for no texts. An Arrow array is one batch and a chunked array one per
    chunk, both zero copy; a sequence of str is encoded in slices of about `slice_bytes` of
    UTF-8 (default SLICE_BYTES). Each batch knows the index of its first text, so errors
    name the caller's index."""
    arrow = _arrow(texts)
    if arrow is not None:
        chunks = getattr(arrow, "chunks", None)  # a ChunkedArray
        if chunks is None:
            yield _Batch.from_arrow(arrow, 0)
            return
        first = 0
        for chunk in chunks:
            yield _Batch.from_arrow(chunk, first)
            first += len(chunk)
        if not chunks:
            yield _Batch.from_utf8(bytearray(), array("q", [0]))
        return
    texts = _as_sequence(texts)
    limit = SLICE_BYTES if slice_bytes is None else slice_bytes
    n, start = len(texts), 0
    while True:
        # Encode each str on its own: ''.join() would first widen the whole batch to its
        # widest character (one emoji makes it 4 bytes per character), and byte offsets
        # spare the library a walk over the data.
        data = bytearray()
        offsets = array("q", [0])
        i, step = start, 16
        while i < n and len(data) < limit:
            chunk = texts[i : i + step]
            try:
                encoded = list(map(str.encode, chunk))
            except (TypeError, UnicodeEncodeError):
                _bad_text(chunk, i)
            joined = b"".join(encoded)
            data += joined
            ends = accumulate(map(len, encoded), initial=offsets[-1])
            next(ends)
            offsets.extend(ends)
            i += len(chunk)
            # Size the next step from the bytes per text seen so far, so a slice of big
            # documents stays near its limit instead of overshooting by a whole step.
            per_text = max(len(joined) // len(chunk), 1)
            step = max(1, min(_ENCODE_STEP, (limit - len(data)) // per_text))
        yield _Batch.from_utf8(data, offsets, first_index=start)
        start = i
        if start >= n:
            return


class _Batch:
    """An FkTexts describing a batch, plus the objects that keep its memory alive. Made by
    `_batches`; ``_Batch(texts)`` is the single batch of texts that fit in one (benchmarks
    use it to time the kernel alone)."""

    __slots__ = ("ptr", "keep", "n")

    ptr: Any
    keep: tuple[Any, ...]
    n: int

    def __init__(self, texts: Texts) -> None:
        batches = _batches(texts, slice_bytes=1 << 62)
        b = next(batches)
        if next(batches, None) is not None:
            raise ValueError("these texts span several Arrow chunks: use _batches()")
        self.ptr, self.keep, self.n = b.ptr, b.keep, b.n

    @classmethod
    def from_utf8(cls, data: bytearray, offsets: array[int], first_index: int = 0) -> _Batch:
        self = cls.__new__(cls)
        self.n = len(offsets) - 1
        d = ffi.from_buffer(data)
        o = ffi.from_buffer("int64_t[]", offsets)
        self.keep = (data, offsets, d, o)
        self.ptr = ffi.new(
            "FkTexts*",
            {
                "data": d,
                "data_len": len(data),
                "offsets": o,
                "n_texts": self.n,
                "offset_kind": lib.FK_OFFSETS_I64,
                "first_index": first_index,
            },
        )
        return self

    @classmethod
    def from_arrow(cls, arr: Any, first_index: int) -> _Batch:
        """A pyarrow string array (not chunked), zero copy."""
        import importlib

        pa: Any = importlib.import_module("pyarrow")  # installed when an Arrow array came in; untyped
        if pa.types.is_string_view(arr.type):
            arr = arr.cast(pa.large_string())
        if pa.types.is_string(arr.type):
            kind, width = lib.FK_OFFSETS_I32, 4
        elif pa.types.is_large_string(arr.type):
            kind, width = lib.FK_OFFSETS_I64, 8
        else:
            raise TypeError(f"expected an Arrow string array, got type {arr.type}")
        if arr.null_count:
            raise InvalidTextError(
                f"the Arrow array holds {arr.null_count} null(s); fill them first (e.g. .fill_null(''))"
            )
        self = cls.__new__(cls)
        _, offsets, data = arr.buffers()
        self.n = len(arr)
        # Zero copy: point straight at Arrow's buffers (offsets shifted for sliced arrays).
        self.keep = (arr,)
        self.ptr = ffi.new(
            "FkTexts*",
            {
                "data": ffi.cast("uint8_t*", data.address if data is not None else 0),
                "data_len": data.size if data is not None else 0,
                "offsets": ffi.cast("void*", offsets.address + arr.offset * width),
                "n_texts": self.n,
                "offset_kind": kind,
                "first_index": first_index,
            },
        )
        return self


def _strings(data_ptr: Any, data_len: int, offsets_ptr: Any, n: int) -> list[str]:
    """n strings from a flat UTF-8 buffer + n+1 byte offsets."""
    if n == 0:
        return []
    # Fast path: the library joins them with NUL (after checking none contains one: true
    # for kv keys and emails, usual for matches), and one decode + split makes the strs.
    joined = bytearray(data_len + n - 1)
    status = lib.fk_join_strings(data_ptr, data_len, offsets_ptr, n, 0, ffi.from_buffer(joined), len(joined))
    if status == 0:
        return joined.decode("utf-8").split("\0")
    if status != lib.FK_STATUS_INVALID_VALUE:
        check(status)
    # Some string holds a NUL: slice one decoded str by code-point offsets instead.
    data = ffi.buffer(data_ptr, data_len)[:]
    s = data.decode("utf-8")
    offs: list[int] = ffi.unpack(offsets_ptr, n + 1)
    if len(s) != len(data):
        char_offs = ffi.new("uint64_t[]", n + 1)
        check(lib.fk_utf8_char_offsets(data_ptr, data_len, offsets_ptr, n + 1, char_offs))
        offs = ffi.unpack(char_offs, n + 1)
    return [s[a:b] for a, b in zip(offs, offs[1:])]


def _big_int(s: str) -> int:
    # int() of a long decimal string may exceed sys.get_int_max_str_digits(); build it in
    # pieces so exact sums of any size come back.
    neg = s.startswith("-")
    digits = s[1:] if neg else s
    v = 0
    for i in range(0, len(digits), 4000):
        chunk = digits[i : i + 4000]
        v = v * 10 ** len(chunk) + int(chunk)
    return -v if neg else v


def _matches_result(ptr: Any, tuples: bool) -> list[list[Any]]:
    try:
        v = ffi.new("FkMatchesView*")
        check(lib.fk_matches_view(ptr, v))
        fields: list[Any] = _strings(v.data, v.data_len, v.field_offsets, v.n_fields)
        k = v.fields_per_match
        if tuples and k > 1:
            fields = list(zip(*[iter(fields)] * k))
        to: list[int] = ffi.unpack(v.text_offsets, v.n_texts + 1)
        return [fields[a:b] for a, b in zip(to, to[1:])]
    finally:
        lib.fk_matches_free(ptr)


def _key_sums_result(ptr: Any) -> list[dict[str, int]]:
    try:
        v = ffi.new("FkKeySumsView*")
        check(lib.fk_key_sums_view(ptr, v))
        keys = _strings(v.keys, v.keys_len, v.key_offsets, v.n_entries)
        vals: list[int] = ffi.unpack(v.values, v.n_entries) if v.n_entries else []
        if v.n_big:
            big = _strings(v.big_data, v.big_data_len, v.big_offsets, v.n_big)
            for i, s in zip(ffi.unpack(v.big_index, v.n_big), big):
                vals[i] = _big_int(s)
        to: list[int] = ffi.unpack(v.text_offsets, v.n_texts + 1)
        pairs = zip(keys, vals)
        return [dict(islice(pairs, b - a)) if b > a else {} for a, b in zip(to, to[1:])]
    finally:
        lib.fk_key_sums_free(ptr)


def _frequencies_result(ptr: Any) -> list[tuple[str, int]]:
    try:
        v = ffi.new("FkFrequenciesView*")
        check(lib.fk_frequencies_view(ptr, v))
        items = _strings(v.data, v.data_len, v.offsets, v.n_items)
        counts: list[int] = ffi.unpack(v.counts, v.n_items) if v.n_items else []
        return list(zip(items, counts))
    finally:
        lib.fk_frequencies_free(ptr)


#: Slice size when per-text results are pipelined: small enough that encoding, the
#: library call and result conversion of neighbouring slices overlap well.
PIPELINE_SLICE_BYTES = 1 << 23


def _per_text(
    texts: Texts, handle_type: str, call: Callable[[Any, Any], int], convert: Callable[[Any], list[_T]]
) -> list[_T]:
    """Run `call(batch_ptr, out_handle_ptr)` on every slice of `texts` and concatenate the
    converted per-text results (`convert` frees each handle).

    With several slices the work is pipelined: a worker thread runs the library call on
    slice i (which releases the GIL) while this thread encodes slice i+1 and converts slice
    i-1. Results stay in input order; an error frees whatever is still in flight."""

    def run(b: _Batch) -> Any:
        out = ffi.new(handle_type + "**")
        check(call(b.ptr, out))  # in the thread that made the call: the message is per thread
        return out[0]

    batches = _batches(texts, PIPELINE_SLICE_BYTES)
    first = next(batches)
    second = next(batches, None)
    if second is None:
        return convert(run(first))
    from concurrent.futures import ThreadPoolExecutor

    free = {"FkKeySums": lib.fk_key_sums_free, "FkMatches": lib.fk_matches_free}[handle_type]
    result: list[_T] = []
    with ThreadPoolExecutor(1, thread_name_prefix="ferrokern") as ex:
        pending: Future[Any] | None = ex.submit(run, first)
        try:
            for b in chain((second,), batches):
                assert pending is not None
                handle = pending.result()
                pending = ex.submit(run, b)
                result += convert(handle)
            assert pending is not None
            handle, pending = pending.result(), None
            result += convert(handle)
        finally:
            if pending is not None:  # an error left a call in flight: free what it makes
                try:
                    free(pending.result())
                except Exception:  # noqa: BLE001 - the first error is the one to report
                    pass
    return result


def extract_and_aggregate(texts: Texts) -> list[dict[str, int]]:
    """Exactly the reference::

        KV_RE = re.compile(r"(\\w+)\\s+(\\d+)")
        [{key: sum(int(v) ...)} for each text]   # keys in first-seen order

    with Python's own meaning of ``\\w``, ``\\s``, ``\\d`` and ``int()`` (any Unicode decimal
    digit, sums of any size, ValueError past ``sys.get_int_max_str_digits()``)."""
    limit = _max_digits()
    return _per_text(
        texts, "FkKeySums", lambda b, out: lib.fk_extract_and_aggregate(b, limit, out), _key_sums_result
    )


def extract_emails(texts: Texts) -> list[list[str]]:
    """Exactly ``[EMAIL_RE.findall(t.lower()) for t in texts]`` with
    ``EMAIL_RE = re.compile(r"[a-z0-9\\.\\-+_]+@[a-z0-9\\.\\-+_]+\\.[a-z]+")``."""
    return _per_text(texts, "FkMatches", lib.fk_extract_emails, lambda h: _matches_result(h, tuples=False))


class Pattern:
    """A compiled pattern, shared by all worker threads. Use as a context manager or call
    `close()` to free it deterministically; the garbage collector frees it otherwise.

    Semantics: the syntax is the Rust regex crate's (no backreferences or look-around: they
    raise PatternError); ``\\w \\d \\s`` and their negations mean what they mean in Python,
    ``\\Z`` is end of text; matching is leftmost-first like Python's. See the README for the
    remaining differences (``\\b``, case folding, ``$``, empty-alternative patterns)."""

    pattern: str
    ignore_case: bool
    groups: int

    def __init__(self, pattern: str, ignore_case: bool = False) -> None:
        if not isinstance(pattern, str):
            raise TypeError(f"pattern must be str, not {type(pattern).__name__}")
        if not isinstance(ignore_case, bool):
            raise TypeError(
                f"ignore_case must be a bool, not {type(ignore_case).__name__} "
                "(for re flags use ferrokern.compile(pattern, flags))"
            )
        try:
            src = pattern.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidTextError("pattern contains a lone surrogate") from None
        out = ffi.new("FkPattern**")
        check(lib.fk_pattern_new(src, len(src), lib.FK_PATTERN_IGNORE_CASE if ignore_case else 0, out))
        self._h = Handle(out[0], lib.fk_pattern_free, "pattern")
        n = ffi.new("size_t*")
        check(lib.fk_pattern_groups(out[0], n))
        self.pattern = pattern
        self.ignore_case = ignore_case
        self.groups = int(n[0])

    def __repr__(self) -> str:
        state = " (closed)" if self._h.closed else ""
        return f"ferrokern.compile({self.pattern!r}, ignore_case={self.ignore_case}){state}"

    def close(self) -> None:
        self._h.close()

    def __enter__(self) -> Pattern:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def findall(self, texts: Texts, lower: bool = False) -> list[list[Any]]:
        """``re.findall`` per text: strings with no group or one group, tuples with more,
        ``''`` for a group that did not take part. ``lower=True`` lowercases the results."""
        opts = lib.FK_FINDALL_LOWERCASE if lower else 0
        return _per_text(
            texts,
            "FkMatches",
            lambda b, out: self._h.call(lib.fk_findall, b, opts, out),
            lambda h: _matches_result(h, tuples=True),
        )

    @overload
    def count(self, texts: Texts, out: None = None) -> list[int]: ...
    @overload
    def count(self, texts: Texts, out: _Buffer) -> _Buffer: ...

    def count(self, texts: Texts, out: _Buffer | None = None) -> list[int] | _Buffer:
        """Number of findall matches per text. With ``out`` (a writable uint64 buffer, e.g.
        a numpy array of len(texts)), counts are written there and ``out`` is returned."""
        if out is None:
            result: list[int] = []
            for b in _batches(texts):
                buf = ffi.new("uint64_t[]", max(b.n, 1))
                check(self._h.call(lib.fk_count, b.ptr, buf, b.n))
                result += ffi.unpack(buf, b.n) if b.n else []
            return result
        mv = memoryview(cast("Buffer", out))  # TypeError if it is not a buffer
        if mv.readonly:
            raise ValueError("out is read-only")
        if mv.itemsize != 8 or mv.format.lstrip("@=<") not in ("Q", "L"):  # native unsigned 64-bit
            raise TypeError(f"out must hold uint64 (format 'Q'), got format {mv.format!r}")
        if not mv.c_contiguous:
            raise ValueError("out must be contiguous")
        dst = ffi.from_buffer("uint64_t[]", out, require_writable=True)
        room, done = mv.nbytes // 8, 0
        for b in _batches(texts):
            # Each batch fills the next b.n slots; the library checks that they fit.
            check(self._h.call(lib.fk_count, b.ptr, dst + done, room - done))
            done += b.n
        return out

    def sum_by_key(self, texts: Texts) -> list[dict[str, int]]:
        """Per text, ``{group1: sum(int(group2))}`` for a two-group pattern, keys in
        first-seen order, with Python's ``int()`` rules."""
        limit = _max_digits()
        return _per_text(
            texts,
            "FkKeySums",
            lambda b, out: self._h.call(lib.fk_sum_by_key, b, limit, out),
            _key_sums_result,
        )

    def frequencies(self, texts: Texts, group: int | None = None, top: int = 0) -> list[tuple[str, int]]:
        """Batch-wide ``[(string, count), ...]`` of one group of every match (default: group 1
        if the pattern has groups, else the whole match), most frequent first, ties in code
        point order; ``top`` > 0 keeps only that many."""
        if group is not None and (not isinstance(group, int) or group < 0):
            raise ValueError(f"group must be a non-negative int or None, got {group!r}")
        if not isinstance(top, int) or top < 0:
            raise ValueError(f"top must be a non-negative int, got {top!r}")
        g = -1 if group is None else group

        def run(b: _Batch, keep: int) -> list[tuple[str, int]]:
            out = ffi.new("FkFrequencies**")
            check(self._h.call(lib.fk_frequencies, b.ptr, g, keep, out))
            return _frequencies_result(out[0])

        batches = _batches(texts)
        first = next(batches)
        second = next(batches, None)
        if second is None:  # one call: the library ranks and cuts to `top` itself
            return run(first, top)
        # Counts are additive across slices; re-rank with the same tie rule.
        total: dict[str, int] = {}
        for b in (first, second, *batches):
            for k, c in run(b, 0):
                total[k] = total.get(k, 0) + c
        merged = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))
        return merged[:top] if top else merged


#: The `re` flags `compile` accepts: IGNORECASE, and UNICODE, which is what a str pattern
#: means in Python 3 anyway (so it changes nothing). The library has no multi-line, dotall,
#: verbose or ASCII modes; silently ignoring one of those would change results.
_FLAGS_SUPPORTED = int(re.IGNORECASE | re.UNICODE)  # an int: ~ of a RegexFlag drops unknown bits


def _flag_names(bits: int) -> str:
    names = []
    for flag in re.RegexFlag:
        if flag.value and bits & flag.value == flag.value and flag.name:
            names.append(f"re.{flag.name}")
            bits &= ~flag.value
    if bits:
        names.append(f"unknown bits {bits:#x}")
    return ", ".join(names)


def compile(  # noqa: A001 - mirrors re.compile; not in __all__, so `import *` never shadows the builtin
    pattern: str, flags: int = 0, *, ignore_case: bool = False
) -> Pattern:
    """Compile `pattern` once; use the result from any number of threads.

    `flags` are `re` flags: ``re.IGNORECASE`` (``re.I``; the same as ``ignore_case=True``)
    and ``re.UNICODE`` (``re.U``, the default for str patterns) are supported; any other
    flag (``re.MULTILINE``, ``re.DOTALL``, ``re.VERBOSE``, ``re.ASCII``, ...) raises
    ValueError naming it, rather than being ignored."""
    if isinstance(flags, bool) or not isinstance(flags, int):
        raise TypeError(
            f"flags must be re flags such as re.IGNORECASE, not {type(flags).__name__}"
            + (
                " (for case-insensitive matching pass re.IGNORECASE or ignore_case=True)"
                if flags is True
                else ""
            )
        )
    unsupported = int(flags) & ~_FLAGS_SUPPORTED
    if flags < 0 or unsupported:
        raise ValueError(
            f"unsupported flag(s) {_flag_names(unsupported) if flags >= 0 else flags}: ferrokern supports "
            "re.IGNORECASE (and re.UNICODE, which str patterns mean anyway)"
        )
    if not isinstance(ignore_case, bool):
        raise TypeError(f"ignore_case must be a bool, not {type(ignore_case).__name__}")
    return Pattern(pattern, ignore_case or bool(flags & re.IGNORECASE))
