"""Arrow in and Arrow out for the text kernels, through the Arrow PyCapsule interface.

In: any object with ``__arrow_c_array__`` or ``__arrow_c_stream__`` (pyarrow arrays and
chunked arrays, polars Series/DataFrames, pandas Series with Arrow-backed strings, DuckDB
relations, nanoarrow, arro3, ...) holding strings (``string``, ``large_string`` or
``string_view``) is read in place by the library (``fk_texts_from_arrow``): no copy, no
cast, slices and nulls honoured. A table-like object (a stream of record batches) must have
exactly one column.

Out: ``output="arrow"`` (a pyarrow Array, or ChunkedArray for chunked input or an array
of more than ARROW_SLICE_BYTES of text) or ``output="polars"`` (a polars Series): the
library exports its own result buffers through the Arrow C Data Interface, and the
consumer frees them when it drops the result.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Callable, Literal

from ._native import check, ffi, lib

if TYPE_CHECKING:
    from ._text import _Batch

#: What the per-text functions can return: Python objects (lists, dicts, ints), a pyarrow
#: array, or a polars Series. The names follow polars/pyarrow's own converters
#: (``to_arrow()``, ``pl.from_arrow``) and DuckDB's ``.arrow()`` / ``.pl()``.
Output = Literal["python", "arrow", "polars"]
OUTPUTS = ("python", "arrow", "polars")

_ARRAY_NAME = b"arrow_array"
_SCHEMA_NAME = b"arrow_schema"
_STREAM_NAME = b"arrow_array_stream"

_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]

# In a capsule destructor the capsule is being deallocated: it must reach C as a bare
# pointer (a py_object argument would take a new reference to a dying object).
_get_pointer_raw = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", ctypes.pythonapi)
)
_Destructor = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_new_capsule = ctypes.pythonapi.PyCapsule_New
_new_capsule.restype = ctypes.py_object
_new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, _Destructor]

# The exported structs live in cffi memory until their capsule goes: keyed by address.
_exported: dict[int, Any] = {}
_exported_lock = threading.Lock()


def _fresh_lock_in_child() -> None:
    # A child of fork() may have copied the lock while another parent thread held it.
    global _exported_lock
    _exported_lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_lock_in_child)


def _destroy(name: bytes) -> Any:
    def destroy(capsule: int | None) -> None:
        address = _get_pointer_raw(capsule, name)
        with _exported_lock:
            struct = _exported.pop(address or 0, None)
        # A consumer that imported the struct moved it out (release is NULL then);
        # otherwise the capsule was dropped unused and the data is freed here.
        if struct is not None and struct.release != ffi.NULL:
            struct.release(struct)

    return _Destructor(destroy)


_destroy_array = _destroy(_ARRAY_NAME)
_destroy_schema = _destroy(_SCHEMA_NAME)


def _capsule(struct: Any, name: bytes, destructor: Any) -> Any:
    address = int(ffi.cast("uintptr_t", struct))
    with _exported_lock:
        _exported[address] = struct
    return _new_capsule(address, name, destructor)


class ArrowResult:
    """A result exported by the library: Arrow's PyCapsule array interface over the
    library's own buffers. Any Arrow consumer takes it (``pa.array(r)``, ``pl.Series(r)``);
    it can be consumed once."""

    __slots__ = ("_schema", "_array")

    def __init__(self, schema: Any, array: Any) -> None:
        self._schema: Any = schema
        self._array: Any = array

    def __arrow_c_schema__(self) -> Any:
        # A copy would need a deep copy of the schema tree; hand out the one we have.
        if self._schema is None:
            raise ValueError("this Arrow result was already consumed")
        schema, self._schema = self._schema, None
        return _capsule(schema, _SCHEMA_NAME, _destroy_schema)

    def __arrow_c_array__(self, requested_schema: Any = None) -> tuple[Any, Any]:
        if requested_schema is not None:
            raise NotImplementedError("ferrokern results are exported in their own type only")
        if self._array is None or self._schema is None:
            raise ValueError("this Arrow result was already consumed")
        array, self._array = self._array, None
        return self.__arrow_c_schema__(), _capsule(array, _ARRAY_NAME, _destroy_array)

    def __del__(self) -> None:
        # Never handed to a consumer: free the library's buffers now.
        for s in (self._array, self._schema):
            if s is not None and s.release != ffi.NULL:
                s.release(s)


def is_arrow(texts: object) -> bool:
    """Whether `texts` speaks the Arrow PyCapsule interface (and is not a plain sequence)."""
    t = type(texts)
    return hasattr(t, "__arrow_c_array__") or hasattr(t, "__arrow_c_stream__")


def _release_on_gc(struct: Any) -> Any:
    """A struct moved out of a producer's stream: release it when Python drops it."""

    def release(s: Any) -> None:
        if s.release != ffi.NULL:
            s.release(s)

    return ffi.gc(struct, release)


def _make_batch(schema: Any, array: Any, first: int, keep: tuple[Any, ...]) -> _Batch:
    from ._text import _Batch

    if ffi.string(schema.format) == b"+s":
        # A record batch (a table, a DataFrame, a DuckDB relation): take its one column.
        names = [
            ffi.string(schema.children[i].name).decode("utf-8", "replace") for i in range(schema.n_children)
        ]
        if len(names) != 1:
            raise TypeError(
                f"texts must be one string column, not a table of {len(names)} columns {names}: "
                "pass a column, e.g. df['text'] or table['text'] or select one column"
            )
        child = ffi.new("struct ArrowArray*")
        child[0] = array.children[0][0]  # a shallow copy: the struct's offset applies to it too
        child.offset += array.offset
        child.length = array.length
        keep = (*keep, child)
        schema, array = schema.children[0], child
    t = ffi.new("FkTexts*")
    layout = ffi.new("FkArrowTexts*")
    check(lib.fk_texts_from_arrow(schema, array, t, layout))
    t.first_index = first
    b = _Batch.__new__(_Batch)
    b.ptr, b.n, b.keep = t, int(t.n_texts), (*keep, schema, array, layout)
    return b


#: An Arrow array holding more text than this is run in slices of about this size, and the
#: result comes back as one chunk per slice (a ChunkedArray with ``output="arrow"``). One
#: library call over the whole array would build its result in per-thread parts and then
#: copy them into one buffer, so a 1 GB column peaked at input + twice the output; sliced,
#: the peak is input + output + one slice's parts (issue 10's zero-copy bound: input +
#: output + 10 %). 64 MiB slices still split into 16 chunks for the library's threads, and
#: cost one call (~microseconds) each.
ARROW_SLICE_BYTES = 64 << 20


def _text_bytes(b: _Batch) -> int:
    """About how many bytes of text batch `b` covers (Arrow layouts only)."""
    t = ffi.cast("FkArrowTexts*", b.ptr.offsets)
    if t.layout == lib.FK_LAYOUT_VIEWS:
        return 16 * b.n + sum(int(t.buffer_lens[i]) for i in range(t.n_buffers))
    if b.n == 0 or t.offsets == ffi.NULL:
        return 0
    first = ffi.cast("int32_t*" if t.layout == lib.FK_OFFSETS_I32 else "int64_t*", t.offsets)[0]
    return int(b.ptr.data_len) - int(first)


def _sliced(schema: Any, array: Any, first: int, keep: tuple[Any, ...]) -> Iterator[_Batch]:
    """`_make_batch`, in slices of about ARROW_SLICE_BYTES for a big array (zero copy: each
    slice is a shallow copy of the array struct with its own offset and length)."""
    whole = _make_batch(schema, array, first, keep)
    size = _text_bytes(whole)
    if size <= ARROW_SLICE_BYTES or whole.n < 2:
        yield whole
        return
    schema, array = whole.keep[-3], whole.keep[-2]  # the string column (a table's child)
    k = min(whole.n, -(-size // ARROW_SLICE_BYTES))
    step = -(-whole.n // k)
    for start in range(0, whole.n, step):
        part = ffi.new("struct ArrowArray*")
        part[0] = array[0]  # shares the producer's buffers; never released through this copy
        part.offset = array.offset + start
        part.length = min(step, whole.n - start)
        part.null_count = -1 if array.null_count != 0 else 0  # unknown for the slice
        yield _make_batch(schema, part, first + start, whole.keep)


def batches(texts: Any) -> Iterator[_Batch]:
    """One `_Batch` per Arrow chunk of `texts` (at least one), reading the producer's
    buffers in place. The batch keeps the capsules (hence the buffers) alive."""
    if hasattr(type(texts), "__arrow_c_array__"):
        schema_capsule, array_capsule = texts.__arrow_c_array__()
        schema = ffi.cast("struct ArrowSchema*", _get_pointer(schema_capsule, _SCHEMA_NAME))
        array = ffi.cast("struct ArrowArray*", _get_pointer(array_capsule, _ARRAY_NAME))
        yield from _sliced(schema, array, 0, (schema_capsule, array_capsule))
        return
    capsule = texts.__arrow_c_stream__()
    stream = ffi.cast("struct ArrowArrayStream*", _get_pointer(capsule, _STREAM_NAME))

    def stream_error(rc: int) -> RuntimeError:
        msg = stream.get_last_error(stream) if stream.get_last_error != ffi.NULL else ffi.NULL
        text = ffi.string(msg).decode("utf-8", "replace") if msg != ffi.NULL else f"error {rc}"
        return RuntimeError(f"the Arrow stream failed: {text}")

    schema = _release_on_gc(ffi.new("struct ArrowSchema*"))
    rc = stream.get_schema(stream, schema)
    if rc:
        raise stream_error(rc)
    first, produced = 0, False
    while True:
        array = _release_on_gc(ffi.new("struct ArrowArray*"))
        rc = stream.get_next(stream, array)
        if rc:
            raise stream_error(rc)
        if array.release == ffi.NULL:  # end of stream
            break
        for b in _sliced(schema, array, first, (capsule,)):
            produced = True
            first += b.n
            yield b
    if not produced:  # no chunk at all: one empty batch, so results have their type
        from ._text import _Batch

        yield _Batch([])


def _null_positions(b: _Batch) -> list[int]:
    """Indices (within the batch) of its null texts."""
    if b.ptr.offset_kind != lib.FK_OFFSETS_ARROW or b.n == 0:
        return []
    t = ffi.cast("FkArrowTexts*", b.ptr.offsets)
    if t.validity == ffi.NULL:
        return []
    off, n = int(t.validity_offset), b.n
    raw = ffi.buffer(t.validity, (off + n + 7) // 8)[:]
    nulls: list[int] = []
    for k, byte in enumerate(raw):
        if byte == 0xFF:
            continue
        for bit in range(8):
            i = k * 8 + bit - off
            if 0 <= i < n and not (byte >> bit) & 1:
                nulls.append(i)
    return nulls


def check_output(output: str) -> None:
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(map(repr, OUTPUTS))}, got {output!r}")


def per_text(
    texts: Any,
    output: str,
    run: Callable[[_Batch], Any],
    to_python: Callable[[Any], list[Any]],
    to_arrow: Callable[[Any, _Batch, Any, Any], int],
    by_batch: Callable[[_Batch], list[Any]] | None = None,
) -> Any:
    """The per-text functions for Arrow input or Arrow output: `run(batch)` makes a result
    handle; `to_python(handle)` converts and frees it; `to_arrow(handle, batch, schema,
    array)` exports it (consuming it); `by_batch(batch)`, when given, makes the Python
    results of a batch instead of `to_python(run(batch))` (a job, whose result may come as
    a pickle stream). Nulls give None (python) or null (arrow)."""
    from ._text import _batches, _GcPause

    check_output(output)
    chunked = is_arrow(texts) and not hasattr(type(texts), "__arrow_c_array__")
    source = batches(texts) if is_arrow(texts) else _batches(texts)
    if output == "python":
        result: list[Any] = []
        with _GcPause.held():  # as for list[str] input: millions of result objects
            for b in source:
                part = by_batch(b) if by_batch is not None else to_python(run(b))
                for i in _null_positions(b):
                    part[i] = None
                result += part
        return result
    parts: list[ArrowResult] = []
    for b in source:
        handle = run(b)
        schema, array = ffi.new("struct ArrowSchema*"), ffi.new("struct ArrowArray*")
        check(to_arrow(handle, b, schema, array))
        parts.append(ArrowResult(schema, array))
    # A big Arrow array ran in slices (see ARROW_SLICE_BYTES): one chunk each, never copied
    # into one array.
    return _assemble(parts, output, chunked or (is_arrow(texts) and len(parts) > 1))


def _assemble(parts: Sequence[ArrowResult], output: str, chunked: bool) -> Any:
    import importlib

    if output == "polars":
        pl: Any = importlib.import_module("polars")
        series = [pl.Series(p) for p in parts]
        return series[0] if len(series) == 1 else pl.concat(series, rechunk=False)
    pa: Any = importlib.import_module("pyarrow")
    arrays = [pa.array(p) for p in parts]
    if chunked:
        return pa.chunked_array(arrays, type=arrays[0].type)
    # Slices of one list of str: one array, as the input was one sequence.
    return arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)


def live_exports() -> int:
    """Exported Arrow results whose buffers the library still holds (for leak tests)."""
    return int(lib.fk_arrow_live_exports())
