"""Text kernels: Python-exact regex extraction and aggregation over batches of str."""

from __future__ import annotations

import gc
import os
import pickle
import platform
import re
import sys
import sysconfig
import threading
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from itertools import accumulate, chain, islice, repeat
from operator import sub
from time import perf_counter
from typing import TYPE_CHECKING, Any, Callable, Literal, NoReturn, Protocol, TypeVar, Union, cast, overload

from . import _arrow
from ._arrow import Output
from ._native import Handle, InvalidTextError, check, error, ffi, lib
from ._re import Match, _ReMethods

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["Match", "Pattern", "extract_and_aggregate", "extract_emails"]


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
#: strs per library call at most (a slice ends at whichever of the two limits comes first).
SLICE_TEXTS = 1 << 22
#: strs encoded per step (one C-level join + encode, or map + join, each).
_ENCODE_STEP = 4096


def _arrow_legacy(texts: object) -> Any:
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


#: Whether the library reads the strs of a list or tuple in place where `_PY_STRS` allows it (False: they
#: are encoded here, to measure what that saves; bench/bench_tiny.py --encode-here).
_STRS_IN_PLACE = True


#: Whether a chunk may be joined first when the one before it says so (see `_utf8_join`);
#: False takes the per-str flags for every chunk, as before (bench/bench_encode.py's A/B).
_JOIN_FIRST = True


def _str_data_heads() -> tuple[int, int] | None:
    """Where CPython keeps a compact str's characters, as offsets from the str's address
    (`id`): for an ASCII str and for another str of one byte per character; None where
    that cannot be confirmed (another Python, another layout), and then every str is
    encoded to bytes as before.

    Why: the UTF-8 of a slice of log lines is a joined str of one byte per character (the
    Latin-1 stand-ins of `_utf8_join`), and its `encode` only copied those bytes into a new
    bytes object (a 650 KB copy per slice of 16 k lines, ~10 % of the main thread's time in
    a pipelined call). The library reads them in the str instead, which the batch keeps
    alive; a str is immutable (no in-place resize while another reference, the batch's,
    exists). The offsets come from `sys.getsizeof` and are checked by reading fresh strs
    back through them, so a wrong guess cannot read outside the object."""
    if platform.python_implementation() != "CPython":
        return None
    heads = []
    for probe in ("ferrokern: an ASCII str", "ferrokern: caf\xe9 \xff, one byte each"):
        s = "".join([probe[:9], probe[9:]])  # made now, as a join makes them
        head = sys.getsizeof(s) - len(s) - 1  # the header; one NUL after the characters
        if head < 0 or ffi.buffer(ffi.cast("char *", id(s) + head), len(s))[:] != s.encode("latin-1"):
            return None
        heads.append(head)
    return heads[0], heads[1]


#: See `_str_data_heads`.
_STR_DATA = _str_data_heads()


def _str_data(s: str) -> Any:
    """A pointer to the characters of `s`, a str of one byte per character (`_STR_DATA`)."""
    assert _STR_DATA is not None
    return ffi.cast("char *", id(s) + _STR_DATA[0 if s.isascii() else 1])


def _py_strs_layout() -> tuple[dict[str, Any], int] | None:
    """Where CPython keeps a str's type, length, state bits and characters, for the library
    to read the strs of a list or tuple in place (FK_OFFSETS_PY_STRS), and where after an
    object's address a list keeps the address of its item array, and a tuple its items
    (the same offset: the end of the variable-size object head); None where that
    cannot be confirmed (another Python, a free-threaded build, another layout), and then
    texts are encoded here as before.

    Why: on millions of log lines this thread is what a per-text call waits for, and the
    encode (a per-str ASCII flag, the stand-ins of non-ASCII strs, the join) was half its
    work; the library now does it in the job, on another thread (docs/python.md, "The strs
    read by the library"). Every offset is checked here on fresh strs of each kind (and an
    interned one) and a fresh list and tuple, by reading them back, before the library is given it;
    an object the description does not fit is refused by the library, never misread."""
    if _STR_DATA is None or sysconfig.get_config_var("Py_GIL_DISABLED"):
        return None
    word = ffi.sizeof("void *")
    # PyObject_HEAD (refcount, type), then length and hash, then the state word.
    layout: dict[str, Any] = {
        "str_type": ffi.cast("void *", id(str)),
        "type_offset": word,
        "length_offset": 2 * word,
        "state_offset": 4 * word,
        "ascii_data_offset": _STR_DATA[0],
        "compact_data_offset": _STR_DATA[1],
        "kind_shift": 2,
        "compact_shift": 5,
        "ascii_shift": 6,
    }
    utf = {1: "latin-1", 2: f"utf-16-{sys.byteorder[0]}e", 4: f"utf-32-{sys.byteorder[0]}e"}
    seeds = ["ferrokern ascii", "caf\xe9 \xff", "\u20ac \u7528\u6237", "\U0001f600 \U0010ffff", "x"]
    probes = ["".join([t[:2], t[2:], "!"]) for t in seeds]  # made now, as strs in a list are
    probes.append(sys.intern("".join(["ferrokern: ", "interned"])))
    for s in probes:
        at = id(s)
        kind = 1 if max(s) < "\u0100" else 2 if max(s) < "\U00010000" else 4
        state = ffi.cast("uint32_t *", at + layout["state_offset"])[0]
        head = layout["ascii_data_offset" if s.isascii() else "compact_data_offset"]
        if (
            ffi.cast("void **", at + layout["type_offset"])[0] != layout["str_type"]
            or ffi.cast("intptr_t *", at + layout["length_offset"])[0] != len(s)
            or (state >> layout["kind_shift"]) & 7 != kind
            or not (state >> layout["compact_shift"]) & 1
            or (state >> layout["ascii_shift"]) & 1 != s.isascii()
            or ffi.buffer(ffi.cast("char *", at + head), kind * len(s))[:] != s.encode(utf[kind])
        ):
            return None
    # A list: PyObject_VAR_HEAD (refcount, type, size), then the item array's address; a
    # tuple: the same head, then the items themselves.
    items_offset = 3 * word
    listed, tupled = list(probes), tuple(probes)
    for items in (
        ffi.cast("void ***", id(listed) + items_offset)[0],
        ffi.cast("void **", id(tupled) + items_offset),
    ):
        if [int(ffi.cast("uintptr_t", items[i])) for i in range(len(probes))] != list(map(id, probes)):
            return None
    return layout, items_offset


#: See `_py_strs_layout`.
_PY_STRS = _py_strs_layout()


def _utf8_join(
    sep: str, chunk: Sequence[str], join_first: bool = False, owned: bool = False, keep_str: bool = False
) -> tuple[bytes | str, int, bool]:
    """The UTF-8 of ``sep.join(chunk)`` (`sep` ASCII), how many more bytes than code points
    it has, and the `join_first` to pass with the next chunk of the same texts. Raises
    TypeError for a non-str, UnicodeEncodeError for a lone surrogate.

    One join and one encode, both C loops, instead of a bytes object per str. Which join
    depends on the texts, and neighbouring chunks of one call are alike, so each chunk
    tells the next which to take:
    - all ASCII, or many non-ASCII strs (CJK text): join, then encode the joined str
      (`join_first`). Nothing per str: on ASCII lines half the cost of the flags below, on
      CJK lines (where every str widens the join anyway) about 40 % less.
    - a few non-ASCII strs among ASCII ones (an accented word or a CJK line among log
      lines) would widen the whole join to 2 or 4 bytes per character and make both the
      join and the encode per-character loops: the Latin-1 trick replaces each of them by
      its UTF-8 read as Latin-1 (one char per byte), so the join stays one byte per
      character and its Latin-1 encode, a memcpy, is the UTF-8. The non-ASCII strs are
      found from one flag per str in a bytearray, each one memchr away (``list.index``
      over a list of bools made a rich comparison per str).
    A chunk joined first that turns out to have few extra bytes (less than one per str)
    sends the next one to the flags, which say whether it is the few-non-ASCII case.
    `owned`: `chunk` is a list nobody else holds (a fresh slice of the caller's list), so
    the Latin-1 stand-ins replace its non-ASCII strs in place instead of in a copy: a
    copy of a chunk increfs (and later decrefs) every str in it, two more passes over a
    million str objects per million log lines (~20 ms of the ~105 ms encode, see
    docs/python.md, "Encode").
    `keep_str` (where `_STR_DATA` allows it): UTF-8 that a joined str of one byte per
    character already holds comes back as that str, not copied into bytes (`_str_data`).
    Measured per 1 M log lines (bench/bench_tiny.py's corpus and variants): see
    docs/python.md, "Encode"."""
    # Only a join of two or more strs: it is always a new compact str. A join of one exact
    # str returns that str itself, which could be one of the rare non-compact ones (made
    # through the old C API), whose characters do not follow its header.
    keep = keep_str and _STR_DATA is not None and len(chunk) > 1
    if join_first:
        joined = sep.join(chunk)
        if joined.isascii():
            return joined if keep else joined.encode("ascii"), 0, True
        data = joined.encode("utf-8")
        extra = len(data) - len(joined)
        return data, extra, extra > len(chunk)
    flags = bytearray(map(str.isascii, chunk))
    others = flags.count(0)
    if others == 0:
        joined = sep.join(chunk)
        return joined if keep else joined.encode("ascii"), 0, True
    if others * 8 > len(chunk):  # mostly non-ASCII: a per-str step would cost more
        joined = sep.join(chunk)
        data = joined.encode("utf-8")
        return data, len(data) - len(joined), True
    parts = cast("list[str]", chunk) if owned else list(chunk)
    j, extra = -1, 0
    for _ in range(others):
        j = flags.find(0, j + 1)
        t = parts[j].encode("utf-8").decode("latin-1")
        extra += len(t) - str.__len__(parts[j])
        parts[j] = t
    joined = sep.join(parts)
    return joined if keep else joined.encode("latin-1"), extra, False


def _encode_joined(
    chunk: Sequence[str], first_index: int, join_first: bool = False
) -> tuple[bytes, list[int], bool]:
    """The UTF-8 of `chunk`'s strs back to back, each one's length in code points, and the
    next chunk's `join_first` (see `_utf8_join`)."""
    try:
        joined, extra, join_first = _utf8_join("", chunk, join_first)
    except (TypeError, UnicodeEncodeError):
        _bad_text(chunk, first_index)
    data = cast(bytes, joined)  # without keep_str: always bytes
    lengths = list(map(len, chunk))
    if sum(lengths) != len(data) - extra:  # a str subclass whose __len__ is not its length
        lengths = list(map(str.__len__, chunk))
    return data, lengths, join_first


def _encode_each(chunk: Sequence[str], first_index: int) -> tuple[bytes, Iterator[int]]:
    """The UTF-8 of `chunk`'s strs back to back, and each one's byte length."""
    try:
        encoded = list(map(str.encode, chunk))
    except (TypeError, UnicodeEncodeError):
        _bad_text(chunk, first_index)
    return b"".join(encoded), map(len, encoded)


def _encode_separated(
    chunk: Sequence[str], first_index: int, join_first: bool = False, owned: bool = False
) -> tuple[bytes | str, bool]:
    """The UTF-8 of `chunk`'s strs with one NUL byte between neighbours (the library finds
    the boundaries, see FK_OFFSETS_NUL_SEPARATED): no per-str length at all; and the next
    chunk's `join_first` (see `_utf8_join`, also for `owned`: `chunk` may be changed). The
    UTF-8 may come as a str of one byte per character that holds it (`keep_str`)."""
    try:
        data, _, join_first = _utf8_join("\0", chunk, join_first, owned, keep_str=True)
        return data, join_first
    except (TypeError, UnicodeEncodeError):
        _bad_text(chunk, first_index)


def _by_lengths(texts: Sequence[str], start: int, end: int) -> _Batch:
    """Texts [start, end) as one batch with code-point lengths (the layout that holds any
    str, NUL included): what a NUL-separated batch is redone as when the library refuses
    it."""
    chunk = texts[start:end]
    data, lens, _ = _encode_joined(chunk, start)
    char_lengths = array("Q", lens)
    char_lengths.append(0)
    return _Batch.from_utf8(data, char_lengths, first_index=start, char_lengths=True)


def _batches(
    texts: Texts, slice_bytes: int | None = None, slice_texts: int | None = None, separated: bool = False
) -> Iterator[_Batch]:
    """The one way texts reach the library: `_Batch` objects covering `texts` in order, at
    least one even for no texts. An Arrow array is one batch and a chunked array one per
    chunk, both zero copy; a sequence of str is encoded in slices of about `slice_bytes` of
    UTF-8 (default SLICE_BYTES) and at most `slice_texts` strs (default SLICE_TEXTS). Each
    batch knows the index of its first text, so errors name the caller's index.

    `separated`: short texts go NUL-separated (FK_OFFSETS_NUL_SEPARATED), each batch with a
    `redo` giving the same texts with lengths, for a text that holds NUL; only for callers
    that retry through `redo` (`_per_text`)."""
    if _arrow.is_arrow(texts):
        # Any Arrow producer, through the PyCapsule interface: read in place, nulls and
        # string views included.
        yield from _arrow.batches(texts)
        return
    arrow = _arrow_legacy(texts)  # pyarrow/polars too old for the PyCapsule interface
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
    max_texts = SLICE_TEXTS if slice_texts is None else slice_texts
    n, start = len(texts), 0
    # A plain list's slices are fresh lists, which the separated encode may change in place
    # (a subclass or another sequence could hand out a list it keeps).
    owned = type(texts) is list
    # Slices of a list are fresh lists, of a tuple tuples (or the tuple itself): immutable
    # while the library reads them.
    in_place = type(texts) in (list, tuple) and _PY_STRS is not None and _STRS_IN_PLACE
    join_first = False  # the first chunk takes the flags, which pick the next one's way
    while True:
        parts: list[bytes | str] = []
        lengths: list[Iterable[int]] = []
        size, i = 0, start
        end = min(n, start + max(1, max_texts))
        # The slice's first 16 strs decide the layout and the first step, unencoded.
        per_text = _chars_per_text(texts[i : min(i + 16, end)], i)
        by_chars = i < end and per_text < _SHORT_TEXT_CHARS
        batch: _Batch | None = None  # a separated slice (either way), else None
        if by_chars and separated and in_place:
            # The library reads the strs themselves, in the job (`_PY_STRS`): this thread
            # only takes the slice, sized from its first strs as a first step is.
            i = min(end, start + max(1, limit // per_text))
            batch = _Batch.from_str_objects(cast("list[str]", texts[start:i]), start)
        else:
            cap = _SHORT_STEP if by_chars else _ENCODE_STEP
            step = max(1, min(cap, limit // per_text)) if by_chars else 16
            while i < end and size < limit:
                chunk = texts[i : min(i + step, end)]
                lens: Iterable[int]
                if by_chars and separated:
                    data, join_first = _encode_separated(chunk, i, join_first, owned)
                    lens = ()
                elif by_chars:
                    data, lens, join_first = _encode_joined(chunk, i, join_first)
                else:
                    data, lens = _encode_each(chunk, i)
                join_first = join_first and _JOIN_FIRST
                parts.append(data)
                lengths.append(lens)
                size += len(data)
                i += len(chunk)
                # Size the next step from the bytes per text seen so far, so a slice of big
                # documents stays near its limit instead of overshooting by a whole step.
                per_text = max(len(data) // len(chunk), 1)
                step = max(1, min(cap, (limit - size) // per_text))
            if by_chars and separated:
                if len(parts) == 1:
                    data = parts[0]
                else:
                    data = b"\0".join([p.encode("latin-1") if isinstance(p, str) else p for p in parts])
                batch = _Batch.from_separated(data, i - start, start)
        if batch is not None:
            # The library may refuse the slice (a text holding NUL, an object it does not
            # read): `_job_take` then runs the same texts with lengths.
            batch.redo = partial(_by_lengths, texts, start, i)
            yield batch
            start = i
            if start >= n:
                return
            continue
        encoded = cast("list[bytes]", parts)  # only the separated encode keeps strs
        data = encoded[0] if len(encoded) == 1 else b"".join(encoded)
        # 'Q', not 'q': array stores a 'Q' item with one C call, a 'q' one through an
        # argument parser (2-3x slower per text). Same bits: offsets are far below 2**63.
        if by_chars:
            # Code-point lengths (small ints, which CPython never allocates); the library
            # turns them into byte offsets, in the thread that runs the call. One spare
            # element keeps the n+1 offsets some checks assume inside this buffer.
            char_lengths = array("Q")
            for lens in lengths:
                char_lengths.fromlist(cast("list[int]", lens))
            char_lengths.append(0)
            yield _Batch.from_utf8(data, char_lengths, first_index=start, char_lengths=True)
        else:
            offsets = array("Q", accumulate(chain.from_iterable(lengths), initial=0))
            yield _Batch.from_utf8(data, offsets, first_index=start)
        start = i
        if start >= n:
            return


#: Texts shorter than this many characters on average (in a slice's first chunk) are
#: marshalled by code-point length (one join + encode per chunk, no per-str objects);
#: longer ones str by str with byte offsets, which spares the library a walk over them.
_SHORT_TEXT_CHARS = 256


#: strs encoded per step at most when they are short (one step makes a whole pipelined
#: slice of log lines: no second copy joining the steps).
_SHORT_STEP = 1 << 14


def _chars_per_text(chunk: Sequence[str], first_index: int) -> int:
    """Mean length of `chunk`'s strs in code points, at least 1."""
    try:
        return max(1, sum(map(len, chunk)) // max(1, len(chunk)))
    except TypeError:
        _bad_text(chunk, first_index)


class _Batch:
    """An FkTexts describing a batch, plus the objects that keep its memory alive. Made by
    `_batches`; ``_Batch(texts)`` is the single batch of texts that fit in one (benchmarks
    use it to time the kernel alone)."""

    __slots__ = ("ptr", "keep", "n", "redo")

    ptr: Any
    keep: tuple[Any, ...]
    n: int
    #: For a NUL-separated batch: the same texts with lengths (see `_batches`), else None.
    redo: Callable[[], _Batch] | None

    def __init__(self, texts: Texts) -> None:
        batches = _batches(texts, slice_bytes=1 << 62, slice_texts=1 << 62)
        b = next(batches)
        if next(batches, None) is not None:
            raise ValueError("these texts span several Arrow chunks: use _batches()")
        self.ptr, self.keep, self.n = b.ptr, b.keep, b.n
        self.redo = getattr(b, "redo", None)  # Arrow batches (_arrow.py) leave it unset

    @classmethod
    def from_utf8(
        cls, data: bytes | bytearray, offsets: array[int], first_index: int = 0, char_lengths: bool = False
    ) -> _Batch:
        """`offsets`: n+1 byte offsets, or with `char_lengths` the n texts' lengths in code
        points and one spare element; typecode 'q' or 'Q' (8 bytes each)."""
        self = cls.__new__(cls)
        self.redo = None
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
                "offset_kind": lib.FK_OFFSETS_CHAR_LENGTHS if char_lengths else lib.FK_OFFSETS_I64,
                "first_index": first_index,
            },
        )
        return self

    @classmethod
    def from_separated(cls, data: bytes | str, n: int, first_index: int) -> _Batch:
        """n texts with one NUL byte between neighbours (FK_OFFSETS_NUL_SEPARATED): their
        UTF-8 in bytes, or in a str of one byte per character that holds it (`_str_data`)."""
        self = cls.__new__(cls)
        self.redo = None
        self.n = n
        d = _str_data(data) if isinstance(data, str) else ffi.from_buffer(data)
        self.keep = (data, d)
        self.ptr = ffi.new(
            "FkTexts*",
            {
                "data": d,
                "data_len": len(data),
                "offsets": ffi.NULL,
                "n_texts": n,
                "offset_kind": lib.FK_OFFSETS_NUL_SEPARATED,
                "first_index": first_index,
            },
        )
        return self

    @classmethod
    def from_str_objects(cls, chunk: list[str] | tuple[str, ...], first_index: int) -> _Batch:
        """The strs of `chunk`, a list nobody else holds (so it cannot change while the
        library reads it) or a tuple, read in place by the library (FK_OFFSETS_PY_STRS,
        `_PY_STRS`)."""
        assert _PY_STRS is not None
        layout, items_offset = _PY_STRS
        self = cls.__new__(cls)
        self.redo = None
        self.n = len(chunk)
        strs = ffi.new("FkPyStrs*", layout)
        if type(chunk) is tuple:
            strs.objects = ffi.cast("void **", id(chunk) + items_offset)
        else:
            assert type(chunk) is list
            strs.objects = ffi.cast("void **", id(chunk) + items_offset)[0]
        self.keep = (chunk, strs)
        self.ptr = ffi.new(
            "FkTexts*",
            {
                "data": ffi.NULL,
                "data_len": 0,
                "offsets": strs,
                "n_texts": self.n,
                "offset_kind": lib.FK_OFFSETS_PY_STRS,
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
        self.redo = None
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


def _strings(data_ptr: Any, data_len: int, offsets_ptr: Any, n: int, unique: bool = False) -> list[str]:
    """n strings from a flat UTF-8 buffer + n+1 byte offsets. With `unique`, equal strings
    are one shared str object: the library writes each distinct one once, so only those are
    decoded and made (kv keys and emails repeat a lot; making a str per occurrence was most
    of the conversion's cost on documents dense in pairs). Worth it when few strings are
    distinct: each id past 256 is an int object to make."""
    if n == 0:
        return []
    if unique:
        out = bytearray(data_len + n - 1)
        ids = array("Q", bytes(8 * n))
        used, n_unique = ffi.new("size_t*"), ffi.new("size_t*")
        status = lib.fk_join_unique_strings(
            data_ptr, data_len, offsets_ptr, n, 0, ffi.from_buffer(out), len(out),
            ffi.from_buffer("uint64_t[]", ids), used, n_unique,
        )  # fmt: skip
        if status == 0:
            distinct = out[: used[0]].decode("utf-8").split("\0")
            return list(map(distinct.__getitem__, ids))
        if status != lib.FK_STATUS_INVALID_VALUE:
            check(status)
        # A string holds a NUL: the general path below.
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


class _GcPause:
    """Cyclic garbage collection paused while per-text results are built.

    Millions of small result lists are allocations that trigger the collector again and
    again, each pass walking the growing heap, and the results hold no cycles for it to
    find. ``gc.disable()`` changes nothing else: thresholds and frozen objects stay as the
    caller set them. Calls may overlap in several threads, so the first to enter saves the
    caller's enabled/disabled state and the last to leave restores it, also when a call
    raises.

    On the way out, re-enabling alone would leave every object made during the call in the
    youngest generation, and the caller's next allocation would start a pass over all of
    them (~0.1 s per million results). Instead they are handed to the oldest generation
    as a survivor of a young pass would be: ``gc.freeze()`` + ``gc.unfreeze()`` splices the
    young lists onto the old one in O(1), without walking them. That is only done when no
    object is frozen (unfreeze() would thaw the caller's), and only when the collector was
    on; the full collections that walk the old generation still come as before."""

    _lock = threading.Lock()
    _depth = 0
    _was_enabled = False

    @classmethod
    @contextmanager
    def held(cls) -> Iterator[None]:
        with cls._lock:
            if cls._depth == 0:
                cls._was_enabled = gc.isenabled()
                gc.disable()
            cls._depth += 1
        try:
            yield
        finally:
            with cls._lock:
                cls._depth -= 1
                if cls._depth == 0 and cls._was_enabled:
                    if _PROMOTE_RESULTS and gc.get_freeze_count() == 0:
                        gc.freeze()
                        gc.unfreeze()
                    gc.enable()

    @classmethod
    def _after_fork_in_child(cls) -> None:
        # Only the forking thread lives on in a child, and it is not inside a call, so no
        # call is running there whatever the parent's other threads were doing: a fresh
        # lock (the parent's may have been copied while held), depth 0, and the collector
        # back on if a call in another parent thread had paused it.
        cls._lock = threading.Lock()
        if cls._depth:
            cls._depth = 0
            if cls._was_enabled:
                gc.enable()


# The lock is held across fork() so the child copies a consistent depth and saved state.
os.register_at_fork(
    before=lambda: _GcPause._lock.acquire(),
    after_in_parent=lambda: _GcPause._lock.release(),
    after_in_child=_GcPause._after_fork_in_child,
)


#: Whether `_GcPause` promotes the call's objects to the oldest generation (see there):
#: CPython with the GIL, where freeze/unfreeze move whole generation lists (a free-threaded
#: build walks every object instead; PyPy has no freeze). False to measure what it saves.
_PROMOTE_RESULTS = (
    platform.python_implementation() == "CPython"
    and hasattr(gc, "freeze")
    and not sysconfig.get_config_var("Py_GIL_DISABLED")
)


# Never mutated: copied (list.copy / dict.copy, through a C-level map) into every text's
# empty result, which is the cheapest way CPython makes millions of distinct empty lists.
_NO_MATCHES: list[Any] = []
_NO_KEYS: dict[str, int] = {}


def _text_offsets(ptr: Any, n: int) -> array[int]:
    """The n+1 per-text offsets into the flat results, copied in one memcpy."""
    offsets = array("Q")
    offsets.frombytes(ffi.buffer(ptr, 8 * (n + 1)))
    return offsets


def _spread(
    result: list[Any], items: list[Any], to: array[int], group: Callable[[Iterable[Any]], Any] | None
) -> None:
    """``result[i] = group(items[to[i] : to[i + 1]])`` for each text i that has items
    (the slice itself when `group` is None).

    The texts with items are found by bisection from the items' side, so the Python-level
    work is proportional to the results, not to the texts (most log lines match nothing)."""
    n_items, i, j = len(items), 0, 0
    while j < n_items:
        i = bisect_right(to, j, i) - 1  # the text holding item j: to[i] <= j < to[i + 1]
        end = to[i + 1]
        result[i] = items[j:end] if group is None else group(items[j:end])
        j = end


def _sparse(n_items: int, to: array[int]) -> bool:
    """Whether most texts have no item (then their empty results are made in bulk)."""
    return n_items * 8 < len(to) - 1


def _by_text(
    items: Iterable[Any], to: array[int], empty: Any, group: Callable[[Iterable[Any]], Any] | None
) -> list[Any]:
    """Per-text results from the flat `items` and the n+1 offsets `to`: each text's run of
    items (``group`` of it, unless None), a copy of `empty` for a text without any.
    `items` is a list, except that a dense result with a `group` may give an iterator."""
    n = len(to) - 1
    if isinstance(items, list) and _sparse(len(items), to):
        # Sparse: the empties in bulk, then the others.
        result: list[Any] = list(map(type(empty).copy, repeat(empty, n)))
        _spread(result, items, to, group)
        return result
    offs = to.tolist()
    if group is None:
        assert isinstance(items, list)
        # Dense lists: one slice per text (a memcpy each), all at C level.
        return list(map(items.__getitem__, map(slice, offs, islice(offs, 1, None))))
    # Dense dicts: each text's `group` of the next count items of one shared iterator, all
    # at C level. No per-text list is made, and dict() consumes zip's pairs one at a
    # time, so zip recycles one tuple instead of allocating one per item: this is cheaper
    # than `[dict(x) for x in lists_of_pairs]` on ready-made lists (bench_tiny.py --shape
    # dense prints both).
    return list(map(group, map(islice, repeat(iter(items)), map(sub, islice(offs, 1, None), offs))))


#: Whether sparse results are built by the C unpickler from a stream the library writes
#: (CPython's `_pickle`; a pure-Python unpickler, as on PyPy, would be a per-op Python loop).
_UNPICKLE = platform.python_implementation() == "CPython" and pickle.loads is getattr(
    sys.modules.get("_pickle"), "loads", None
)


def _unpickled(stream: Any) -> list[Any]:
    """The objects of a job's pickle stream (`FkJobResult.stream`, read in place through
    `ffi.buffer`): one C loop, CPython's unpickler."""
    result: list[Any] = pickle.loads(stream)
    return result


def _matches_result(ptr: Any, tuples: bool) -> list[list[Any]]:
    """The per-text lists of a matches handle, from its view (the results a job does not
    give as a pickle stream: dense tuples, or any result without CPython's unpickler);
    frees the handle."""
    try:
        v = ffi.new("FkMatchesView*")
        check(lib.fk_matches_view(ptr, v))
        # Not unique=True: matches repeat less than kv keys, and an id past 256 costs an
        # int object, which made emails slower on the bench_text corpus (0.120 s against
        # 0.094 s CPU per 20 MB).
        fields: list[Any] = _strings(v.data, v.data_len, v.field_offsets, v.n_fields)
        k = v.fields_per_match
        if tuples and k > 1:
            fields = list(zip(*[iter(fields)] * k))
        return _by_text(fields, _text_offsets(v.text_offsets, v.n_texts), _NO_MATCHES, None)
    finally:
        lib.fk_matches_free(ptr)


def _key_sums_result(ptr: Any) -> list[dict[str, int]]:
    """The per-text dicts of a key-sums handle, from its view (sums past 64 bits, or no
    CPython unpickler); frees the handle."""
    try:
        v = ffi.new("FkKeySumsView*")
        check(lib.fk_key_sums_view(ptr, v))
        keys = _strings(v.keys, v.keys_len, v.key_offsets, v.n_entries, unique=True)
        vals: list[int] = ffi.unpack(v.values, v.n_entries) if v.n_entries else []
        if v.n_big:
            big = _strings(v.big_data, v.big_data_len, v.big_offsets, v.n_big)
            for i, s in zip(ffi.unpack(v.big_index, v.n_big), big):
                vals[i] = _big_int(s)
        to = _text_offsets(v.text_offsets, v.n_texts)
        # Sparse results take slices of a list of pairs; dense ones consume pairs straight
        # from zip (see _by_text).
        pairs = list(zip(keys, vals)) if _sparse(len(vals), to) else zip(keys, vals)
        return _by_text(pairs, to, _NO_KEYS, dict)
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
#: library call and result conversion of neighbouring slices overlap well. 2 MiB makes
#: ~10 slices of a 20 MB batch of 400-byte documents (8 MiB made 3, so the first slice's
#: encode and the last one's conversion, which nothing overlaps, were a third of the call
#: each); a library call on 2 MiB still splits into enough chunks for every thread.
PIPELINE_SLICE_BYTES = 1 << 21
#: ... and at most this many texts: millions of log lines still make several slices.
PIPELINE_SLICE_TEXTS = 1 << 14


def _run(b: _Batch, handle_type: str, call: Callable[[Any, Any], int]) -> Any:
    """`call(batch_ptr, out_handle_ptr)` on one batch: the new handle (checked)."""
    out = ffi.new(handle_type + "**")
    check(call(b.ptr, out))
    return out[0]


#: `fk_job_*(batch_ptr, flags, threads, out_job)`: starts one per-text job.
_Start = Callable[[Any, int, int, Any], int]


def _job_flags(tuples: bool) -> int:
    """The flags of every per-text job: its result as a pickle stream where the library
    finds that it pays (only with CPython's unpickler, see `_UNPICKLE`), with tuples for a
    match of several groups when `tuples` (``re.findall``'s shape)."""
    return (lib.FK_JOB_PICKLE if _UNPICKLE else 0) | (lib.FK_JOB_TUPLES if tuples else 0)


def _job_start(start: _Start, b: _Batch, flags: int, threads: int) -> Any:
    """A job running `start` on `b` (which must outlive it: see `_job_free`)."""
    out = ffi.new("FkJob**")
    check(start(b.ptr, flags, threads, out))
    return out[0]


def _job_wait(job: Any) -> tuple[int, Any, Exception | None]:
    """Wait for `job` (the GIL released, as in every library call): its status, result and
    error (taken now, before another call on this thread replaces the message)."""
    r = ffi.new("FkJobResult*")
    status = lib.fk_job_wait(job, r)
    return status, r, error(status)


def _job_take(
    b: _Batch,
    waited: tuple[int, Any, Exception | None],
    start: _Start,
    flags: int,
    convert: Callable[[Any], list[_T]],
) -> list[_T]:
    """The Python results of a job on `b` that `_job_wait` gave `waited`: unpickled from its
    stream, or converted (and freed) by `convert` from its handle. A NUL-separated batch
    whose texts hold NUL (INVALID_VALUE, or a real error, which the second call reports
    again) is run once more with lengths, through its `redo`."""
    status, r, err = waited
    redo: Callable[[], _Batch] | None = getattr(b, "redo", None)  # unset on Arrow batches
    if status == lib.FK_STATUS_INVALID_VALUE and redo is not None:
        return _job_now(redo(), start, flags, convert)
    if err is not None:  # the job's own message, relayed to this thread by fk_job_wait
        raise err
    if r.stream != ffi.NULL:
        return _unpickled(ffi.buffer(r.stream, r.stream_len))
    return convert(r.matches if r.matches != ffi.NULL else r.key_sums)


def _job_now(b: _Batch, start: _Start, flags: int, convert: Callable[[Any], list[_T]]) -> list[_T]:
    """`start` on `b` on this thread (FK_JOB_NOW: nothing to overlap), as Python results."""
    job = _job_start(start, b, flags | lib.FK_JOB_NOW, 0)
    try:
        return _job_take(b, _job_wait(job), start, flags, convert)
    finally:
        lib.fk_job_free(job)


def _per_text(texts: Texts, start: _Start, flags: int, convert: Callable[[Any], list[_T]]) -> list[_T]:
    """`start` (a `fk_job_*` function) on every slice of `texts`, the per-text results
    concatenated in input order; `convert` turns a result handle into Python objects and
    frees it (for results the job does not give as a pickle stream).

    With several slices the work is pipelined through library jobs: the job of slice i
    runs on a library thread while this thread encodes slice i+1 and unpickles slice i-1,
    and this thread waits for it in C. A job needs nothing of Python between its start and
    its end, so unlike the Python worker thread this replaces (which had to take the GIL to
    start each call and to hand back each result, each time waiting for this thread's next
    pause), nothing on this thread's path waits for the GIL (docs/python.md, "Background
    jobs"). An error frees whatever is still running (`fk_job_free` waits for it first, so
    no job outlives the slice it reads)."""
    with _GcPause.held():
        batches = _batches(texts, PIPELINE_SLICE_BYTES, PIPELINE_SLICE_TEXTS, separated=True)
        first = next(batches)
        second = next(batches, None)
        if second is None:
            return _job_now(first, start, flags, convert)
        # The job's thread limit (see `_worker_threads`): one core is left to this thread
        # only while this thread is the one the pipeline waits for. When it has to wait for
        # the job (more than a tenth of its own work on the slice), the kernel is what
        # bounds the call, and the next job gets every thread again.
        spare = _worker_threads()
        limit = spare
        result: list[_T] = []
        taking: tuple[_Batch, Any] | None = None  # a finished job whose results are taken
        pending: tuple[_Batch, Any] | None = (first, _job_start(start, first, flags, limit))
        since = perf_counter()  # this thread's own work on the next slice starts
        try:
            for b in chain((second,), batches):
                ready = perf_counter()
                taking, pending = pending, None
                assert taking is not None
                waited = _job_wait(taking[1])
                if spare:
                    done = perf_counter()
                    limit = spare if 10 * (done - ready) < ready - since else 0
                pending = (b, _job_start(start, b, flags, limit))
                since = perf_counter()
                result += _job_take(taking[0], waited, start, flags, convert)
                lib.fk_job_free(taking[1])
                taking = None
            taking, pending = pending, None
            assert taking is not None
            result += _job_take(taking[0], _job_wait(taking[1]), start, flags, convert)
        finally:
            for held in (taking, pending):
                if held is not None:  # waits for a job still running before its slice goes
                    lib.fk_job_free(held[1])
        return result


#: Whether a pipeline's jobs leave this thread a core (see `_worker_threads`).
_SPARE_CORE = True


def _worker_threads() -> int:
    """The thread limit for a pipeline's jobs: one core fewer than the library's count when
    that count takes every core this process may run on, else 0 (no limit). While a job
    runs, this thread encodes the next slice and unpickles the previous one, and the
    pipeline waits for it: with every core in the library's pool it was preempted by the
    pool's threads (see docs/python.md, "A core for
    the main thread")."""
    if not _SPARE_CORE:
        return 0
    n = int(lib.fk_threads())
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return n - 1 if 1 < n and cores <= n else 0


@overload
def extract_and_aggregate(texts: Texts, output: Literal["python"] = "python") -> list[dict[str, int]]: ...
@overload
def extract_and_aggregate(texts: Texts, output: Literal["arrow", "polars"]) -> Any: ...


def extract_and_aggregate(texts: Texts, output: Output = "python") -> Any:
    """Exactly the reference::

        KV_RE = re.compile(r"(\\w+)\\s+(\\d+)")
        [{key: sum(int(v) ...)} for each text]   # keys in first-seen order

    with Python's own meaning of ``\\w``, ``\\s``, ``\\d`` and ``int()`` (any Unicode decimal
    digit, sums of any size, ValueError past ``sys.get_int_max_str_digits()``).

    ``output="arrow"`` / ``"polars"``: a pyarrow array / polars Series of type
    ``list<struct<key: large_string, value: int64, value_decimal: large_string>>`` (see
    docs/python.md); a null text gives None / null."""
    limit = _max_digits()
    flags = _job_flags(False)

    def start(b: Any, f: int, threads: int, out: Any) -> int:
        return int(lib.fk_job_extract_and_aggregate(b, limit, f, threads, out))

    if output != "python" or _arrow.is_arrow(texts):
        return _arrow.per_text(
            texts,
            output,
            lambda b: _run(b, "FkKeySums", lambda p, out: lib.fk_extract_and_aggregate(p, limit, out)),
            _key_sums_result,
            lambda h, b, s, a: lib.fk_key_sums_to_arrow(h, b.ptr, s, a),
            by_batch=lambda b: _job_now(b, start, flags, _key_sums_result),
        )
    return _per_text(texts, start, flags, _key_sums_result)


@overload
def extract_emails(texts: Texts, output: Literal["python"] = "python") -> list[list[str]]: ...
@overload
def extract_emails(texts: Texts, output: Literal["arrow", "polars"]) -> Any: ...


def extract_emails(texts: Texts, output: Output = "python") -> Any:
    """Exactly ``[EMAIL_RE.findall(t.lower()) for t in texts]`` with
    ``EMAIL_RE = re.compile(r"[a-z0-9\\.\\-+_]+@[a-z0-9\\.\\-+_]+\\.[a-z]+")``.
    ``output="arrow"`` / ``"polars"``: ``list<large_string>``; a null text gives None / null."""
    flags = _job_flags(False)

    def convert(h: Any) -> list[list[str]]:
        return _matches_result(h, tuples=False)

    if output != "python" or _arrow.is_arrow(texts):
        return _arrow.per_text(
            texts,
            output,
            lambda b: _run(b, "FkMatches", lib.fk_extract_emails),
            convert,
            lambda h, b, s, a: lib.fk_matches_to_arrow(h, ffi.NULL, b.ptr, s, a),
            by_batch=lambda b: _job_now(b, lib.fk_job_extract_emails, flags, convert),
        )
    return _per_text(texts, lib.fk_job_extract_emails, flags, convert)


class Pattern(_ReMethods):
    """A compiled pattern, shared by all worker threads. Use as a context manager or call
    `close()` to free it deterministically; the garbage collector frees it otherwise.

    Semantics: Python's ``re`` (3.11 syntax and matching rules), exactly, or the pattern is
    refused: ``PatternSyntaxError`` where ``re`` raises ``re.error``, and
    ``PatternUnsupportedError`` (naming the construct and its position) for what cannot be
    matched exactly in linear time (backreferences, look-around, conditionals, some
    possessive/atomic forms, repeats of sub-patterns that can match empty)."""

    pattern: str
    ignore_case: bool
    groups: int

    def __init__(self, pattern: str, ignore_case: bool = False, *, flags: int = 0) -> None:
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
        bits = lib.FK_PATTERN_IGNORE_CASE if ignore_case or flags & re.IGNORECASE else 0
        for flag, bit in (
            (re.MULTILINE, lib.FK_PATTERN_MULTILINE),
            (re.DOTALL, lib.FK_PATTERN_DOTALL),
            (re.VERBOSE, lib.FK_PATTERN_VERBOSE),
            (re.ASCII, lib.FK_PATTERN_ASCII),
        ):
            if flags & flag:
                bits |= bit
        out = ffi.new("FkPattern**")
        check(lib.fk_pattern_new(src, len(src), bits, out))
        self._h = Handle(out[0], lib.fk_pattern_free, "pattern")
        n = ffi.new("size_t*")
        check(lib.fk_pattern_groups(out[0], n))
        self.pattern = pattern
        self.ignore_case = ignore_case
        self._flags = flags | (re.IGNORECASE if ignore_case else 0)
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

    @overload
    def findall(
        self, texts: Texts, lower: bool = False, output: Literal["python"] = "python"
    ) -> list[list[Any]]: ...
    @overload
    def findall(self, texts: Texts, lower: bool = False, *, output: Literal["arrow", "polars"]) -> Any: ...

    def findall(self, texts: Texts, lower: bool = False, output: Output = "python") -> Any:
        """``re.findall`` per text: strings with no group or one group, tuples with more,
        ``''`` for a group that did not take part. ``lower=True`` lowercases the results.
        ``output="arrow"`` / ``"polars"``: ``list<large_string>``, or with several groups
        ``list<struct<...>>`` with one field per group named after the group (its number
        for an unnamed one); a null text gives None / null."""
        opts = lib.FK_FINDALL_LOWERCASE if lower else 0
        flags = _job_flags(True)

        def start(b: Any, f: int, threads: int, out: Any) -> int:
            return int(self._h.call(lib.fk_job_findall, b, opts, f, threads, out))

        def convert(h: Any) -> list[list[Any]]:
            return _matches_result(h, tuples=True)

        if output != "python" or _arrow.is_arrow(texts):
            return _arrow.per_text(
                texts,
                output,
                lambda b: _run(b, "FkMatches", lambda p, out: self._h.call(lib.fk_findall, p, opts, out)),
                convert,
                lambda h, b, s, a: self._h.call(lambda p: lib.fk_matches_to_arrow(h, p, b.ptr, s, a)),
                by_batch=lambda b: _job_now(b, start, flags, convert),
            )
        return _per_text(texts, start, flags, convert)

    @overload
    def count(self, texts: Texts, out: None = None, output: Literal["python"] = "python") -> list[int]: ...
    @overload
    def count(self, texts: Texts, out: None = None, *, output: Literal["arrow", "polars"]) -> Any: ...
    @overload
    def count(self, texts: Texts, out: _Buffer, output: Literal["python"] = "python") -> _Buffer: ...

    def count(self, texts: Texts, out: _Buffer | None = None, output: Output = "python") -> Any:
        """Number of findall matches per text. With ``out`` (a writable uint64 buffer, e.g.
        a numpy array of len(texts)), counts are written there and ``out`` is returned (a
        null text counts as an empty one there). ``output="arrow"`` / ``"polars"``:
        ``uint64``, null for a null text (None with ``output="python"`` for Arrow input)."""
        if out is None and (output != "python" or _arrow.is_arrow(texts)):
            return _arrow.per_text(
                texts,
                output,
                lambda b: b,
                lambda b: self._count_list(b),
                lambda b, _, s, a: self._h.call(lib.fk_count_to_arrow, b.ptr, s, a),
            )
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

    def _count_list(self, b: _Batch) -> list[int]:
        buf = ffi.new("uint64_t[]", max(b.n, 1))
        check(self._h.call(lib.fk_count, b.ptr, buf, b.n))
        counts: list[int] = ffi.unpack(buf, b.n) if b.n else []
        return counts

    @overload
    def sum_by_key(self, texts: Texts, output: Literal["python"] = "python") -> list[dict[str, int]]: ...
    @overload
    def sum_by_key(self, texts: Texts, output: Literal["arrow", "polars"]) -> Any: ...

    def sum_by_key(self, texts: Texts, output: Output = "python") -> Any:
        """Per text, ``{group1: sum(int(group2))}`` for a two-group pattern, keys in
        first-seen order, with Python's ``int()`` rules. ``output`` as for
        `extract_and_aggregate`."""
        limit = _max_digits()
        flags = _job_flags(False)

        def start(b: Any, f: int, threads: int, out: Any) -> int:
            return int(self._h.call(lib.fk_job_sum_by_key, b, limit, f, threads, out))

        if output != "python" or _arrow.is_arrow(texts):
            return _arrow.per_text(
                texts,
                output,
                lambda b: _run(b, "FkKeySums", lambda p, out: self._h.call(lib.fk_sum_by_key, p, limit, out)),
                _key_sums_result,
                lambda h, b, s, a: lib.fk_key_sums_to_arrow(h, b.ptr, s, a),
                by_batch=lambda b: _job_now(b, start, flags, _key_sums_result),
            )
        return _per_text(texts, start, flags, _key_sums_result)

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
_FLAGS_SUPPORTED = int(
    re.IGNORECASE | re.UNICODE | re.MULTILINE | re.DOTALL | re.VERBOSE | re.ASCII
)  # an int: ~ of a RegexFlag drops unknown bits


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

    `flags` are `re` flags: ``re.IGNORECASE`` (``re.I``; the same as ``ignore_case=True``),
    ``re.MULTILINE``, ``re.DOTALL``, ``re.VERBOSE``, ``re.ASCII`` and ``re.UNICODE`` (the
    default for str patterns); any other flag (``re.LOCALE``, ``re.DEBUG``, ...) raises
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
            "re.IGNORECASE, re.MULTILINE, re.DOTALL, re.VERBOSE, re.ASCII and re.UNICODE"
        )
    if flags & re.ASCII and flags & re.UNICODE:
        raise ValueError("ASCII and UNICODE flags are incompatible")  # re's own message
    if not isinstance(ignore_case, bool):
        raise TypeError(f"ignore_case must be a bool, not {type(ignore_case).__name__}")
    return Pattern(pattern, ignore_case or bool(flags & re.IGNORECASE), flags=int(flags))
