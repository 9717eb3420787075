"""Image and array kernels: Sobel, grayscale, fused edges, exact sum, polyval, prime counting.

Arrays are passed to the library as pointer + shape + byte strides, so numpy views (sliced,
transposed, flipped, Fortran order, broadcast inputs) are used in place, never copied. Only
layouts the library cannot read directly are copied first: non-native byte order and
misaligned data (for the image kernels and polyval; ``sum`` reads misaligned data as is).
numpy is imported by the functions that return arrays, not by ``sum`` or ``count_primes``.
"""

from __future__ import annotations

import operator
import sys
import threading
from array import array
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal, SupportsIndex, Union, cast, overload

from ._native import check, ffi, lib

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, DTypeLike, NDArray
    from typing_extensions import Buffer

    #: A float32 or float64 result (the dtype follows the input, or `dtype` / `out`).
    FloatArray = NDArray[Union[np.float32, np.float64]]

#: Border modes of the image kernels: ours, scipy.ndimage's mode names, or an OpenCV
#: ``cv2.BORDER_*`` integer (0 CONSTANT, 1 REPLICATE, 2 REFLECT, 3 WRAP, 4 REFLECT_101).
Border = Union[
    Literal[
        "zero",
        "replicate",
        "reflect101",
        "reflect",
        "wrap",
        "constant",
        "nearest",
        "mirror",
        "grid-wrap",
        "grid-constant",
        "grid-mirror",
    ],
    int,
]

# `sum` is left out: `from ferrokern import *` must not shadow the builtin (ferrokern.sum by name).
__all__ = ["sobel", "grayscale", "edges", "polyval", "count_primes", "primes"]

_BORDERS: dict[str, int] = {
    "zero": lib.FK_BORDER_ZERO,
    "replicate": lib.FK_BORDER_REPLICATE,
    "reflect101": lib.FK_BORDER_REFLECT101,
    "reflect": lib.FK_BORDER_REFLECT,  # also scipy's "reflect" (cba|abcd|dcb)
    "wrap": lib.FK_BORDER_WRAP,  # also scipy's "wrap"
    "constant": lib.FK_BORDER_CONSTANT,  # also scipy's "constant" (with cval)
    # scipy.ndimage's other names; for filters the grid-* modes are synonyms.
    "nearest": lib.FK_BORDER_REPLICATE,
    "mirror": lib.FK_BORDER_REFLECT101,
    "grid-wrap": lib.FK_BORDER_WRAP,
    "grid-constant": lib.FK_BORDER_CONSTANT,
    "grid-mirror": lib.FK_BORDER_REFLECT,
}
# OpenCV's cv2.BORDER_* values (BORDER_DEFAULT = BORDER_REFLECT_101 = 4); cv2 is not needed.
_CV2_BORDERS: dict[int, int] = {
    0: lib.FK_BORDER_CONSTANT,  # BORDER_CONSTANT
    1: lib.FK_BORDER_REPLICATE,  # BORDER_REPLICATE
    2: lib.FK_BORDER_REFLECT,  # BORDER_REFLECT (fedcba|abcdef|fedcba)
    3: lib.FK_BORDER_WRAP,  # BORDER_WRAP
    4: lib.FK_BORDER_REFLECT101,  # BORDER_REFLECT_101, BORDER_DEFAULT
}
_BORDER_HELP = (
    f"border must be one of {', '.join(map(repr, _BORDERS))}, or an OpenCV cv2.BORDER_* constant: "
    "0 (CONSTANT), 1 (REPLICATE), 2 (REFLECT), 3 (WRAP), 4 (REFLECT_101 / DEFAULT)"
)
_IN_DTYPES = {
    "uint8": lib.FK_DTYPE_U8,
    "uint16": lib.FK_DTYPE_U16,
    "float32": lib.FK_DTYPE_F32,
    "float64": lib.FK_DTYPE_F64,
}
_OUT_DTYPES = {"float32": lib.FK_DTYPE_F32, "float64": lib.FK_DTYPE_F64}
# The same keyed by dtype.char: `dtype.name` is computed in Python by numpy on every access
# (microseconds), `dtype.char` is a plain attribute. These are the only dtypes of each char.
_IN_CHARS: dict[str, int] = {
    "B": lib.FK_DTYPE_U8,
    "H": lib.FK_DTYPE_U16,
    "f": lib.FK_DTYPE_F32,
    "d": lib.FK_DTYPE_F64,
}
_OUT_CHARS: dict[str, int] = {"f": lib.FK_DTYPE_F32, "d": lib.FK_DTYPE_F64}
# ctypes parsed once, not on every call.
_DOUBLE_P = ffi.typeof("double *")
_IMAGE_P = {cls: ffi.typeof(f"{cls} *") for cls in ("FkImage", "FkImageOut", "FkColorImage")}


def _np() -> Any:
    # numpy is imported on first use (sum and count_primes never need it). Any: the
    # internals below pass arrays of every dtype through; the public signatures say what
    # goes in and comes out.
    global _numpy, _u8
    if _numpy is None:
        import numpy

        _u8 = numpy.dtype(numpy.uint8)
        _OUT_DTYPE_OBJECTS.update((n, numpy.dtype(n)) for n in _OUT_DTYPES)
        for n, code, size in (("float32", lib.FK_DTYPE_F32, 4), ("float64", lib.FK_DTYPE_F64, 8)):
            entry = (numpy.dtype(n), code, size)
            _GRAY_OUT.update({n: entry, numpy.dtype(n): entry, getattr(numpy, n): entry})
        _GRAY_OUT[None] = _GRAY_OUT["float64"]
        _remember_numpy(numpy)  # sets _ndarray, tested by the fast paths
        _numpy = numpy
    return _numpy


_numpy: Any = None
#: grayscale's fast path: `dtype=` (None, a name, a numpy type or dtype) -> the output's
#: dtype, FK_DTYPE_* code and item size; filled when numpy is imported.
_GRAY_OUT: dict[Any, tuple[Any, int, int]] = {}
#: numpy's uint8 dtype once numpy is imported: `a.dtype is _u8` is a pointer comparison
#: (every native uint8 array shares this object; an equal but distinct one takes the
#: general checks).
_u8: Any = None


def _address(a: Any) -> int:
    address: int = a.__array_interface__["data"][0]
    return address


def _ptr(a: Any) -> Any:
    """A `char *` to `a`'s first element. `ffi.from_buffer` is a fast path for C-contiguous
    arrays (numpy refuses to export any other layout as a simple buffer: ValueError);
    `__array_interface__` (which builds a dict, microseconds) handles the others. Trying
    first saves a `flags` lookup (an object built per access) on every small call."""
    try:
        return ffi.from_buffer(a)
    except (ValueError, BufferError):
        return ffi.cast("char *", _address(a))


def _border(border: Border) -> int:
    """The FK_BORDER_* code of a mode name or a cv2.BORDER_* integer."""
    code: int | None
    if isinstance(border, str):
        code = _BORDERS.get(border)
    elif isinstance(border, bool):  # an int subclass, but never a border
        code = None
    else:
        try:
            code = _CV2_BORDERS.get(operator.index(border))  # int, numpy integers
        except TypeError:
            code = None
    if code is None:
        raise ValueError(f"{_BORDER_HELP}; got {border!r}")
    return code


def _cval(cval: float) -> float:
    try:
        return float(cval)
    except (TypeError, ValueError):
        raise TypeError(f"cval must be a real number, got {type(cval).__name__}") from None


def _readable(func: str, a: Any, ndim: int, shape_hint: str) -> Any:
    """`a` as an ndarray the library can read in place (copied only when it cannot)."""
    np = _np()
    if type(a) is not np.ndarray:  # an exact ndarray needs no conversion (saves a call)
        a = np.asarray(a)
    if a.ndim != ndim:
        raise ValueError(
            f"{func}: expected a {ndim}-D array {shape_hint}, got {a.ndim}-D with shape {a.shape}"
        )
    dt = a.dtype
    if dt is not _u8:  # uint8 (the usual image) is native and aligned by construction
        if dt.char not in _IN_CHARS:
            raise TypeError(
                f"{func}: dtype {a.dtype} is not supported; expected uint8, uint16, float32 or float64"
            )
        if not dt.isnative:
            a = a.astype(dt.newbyteorder("="))  # the library reads native byte order only
        if not a.flags.aligned:
            a = np.require(a, requirements=["ALIGNED"])
    if 0 in a.shape:
        raise ValueError(f"{func}: the image is empty (shape {a.shape})")
    return a


def _out(func: str, what: str, out: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """A writable native float32/float64 array of `shape`: `out` checked, or a new one."""
    np = _np()
    if out is None:
        return np.empty(shape, _OUT_DTYPE_OBJECTS.get(dtype, dtype))
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{func}: {what} must be a numpy array, got {type(out).__name__}")
    if out.dtype.char not in _OUT_CHARS or not out.dtype.isnative:
        raise TypeError(
            f"{func}: {what} has dtype {out.dtype}; expected float32 or float64 in native byte order"
        )
    if out.shape != tuple(shape):
        raise ValueError(f"{func}: {what} has shape {out.shape}; expected {tuple(shape)}")
    if not out.flags.writeable:
        raise ValueError(f"{func}: {what} is read-only")
    if not out.flags.aligned:
        raise ValueError(f"{func}: {what} is not aligned to its element size")
    return out


#: The output dtypes by name (np.empty parses a name on every call).
_OUT_DTYPE_OBJECTS: dict[Any, Any] = {}

#: `dtype=` arguments already resolved (np.float32, "float32", np.dtype("f4"), ...): numpy
#: computes `dtype.name` in Python, tens of times the cost of the rest of a small call.
_OUT_DTYPE_NAMES: dict[Any, str] = {}


def _out_dtype(func: str, dtype: Any, default: str) -> str:
    if dtype is None:
        return default
    try:
        cached = _OUT_DTYPE_NAMES.get(dtype)
    except TypeError:  # unhashable: resolved below every time
        cached = None
    if cached is not None:
        return cached
    name: str = _np().dtype(dtype).name
    if name not in _OUT_DTYPES:
        raise TypeError(f"{func}: dtype {name} is not supported for the output; expected float32 or float64")
    if len(_OUT_DTYPE_NAMES) < 64:  # bounded: the keys are the caller's objects
        try:
            _OUT_DTYPE_NAMES[dtype] = name
        except TypeError:
            pass
    return name


def _image(a: Any, cls: str) -> Any:
    s = a.strides
    h, w = a.shape
    # Positional, in the struct's field order (data, dtype, height, width, row_stride,
    # col_stride): cffi fills a list faster than a dict.
    return ffi.new(
        _IMAGE_P[cls],
        [_ptr(a), (_IN_CHARS if cls == "FkImage" else _OUT_CHARS)[a.dtype.char], h, w, s[0], s[1]],
    )


@overload
def sobel(
    img: ArrayLike,
    border: Border | None = None,
    out: FloatArray | None = None,
    *,
    dtype: DTypeLike | None = None,
    gradients: Literal[False] = False,
    cval: float = 0.0,
) -> FloatArray: ...
@overload
def sobel(
    img: ArrayLike,
    border: Border | None = None,
    out: FloatArray | None = None,
    *,
    dtype: DTypeLike | None = None,
    gradients: Literal[True],
    cval: float = 0.0,
) -> tuple[FloatArray, FloatArray, FloatArray]: ...
@overload
def sobel(
    img: ArrayLike,
    border: Border | None = None,
    out: NDArray[Any] | None = None,
    *,
    dx: int,
    dy: int,
    ksize: int = 3,
    scale: float = 1.0,
    delta: float = 0.0,
    ddepth: int | None = None,
    dtype: DTypeLike | None = None,
    cval: float = 0.0,
) -> NDArray[Any]: ...


def sobel(
    img: ArrayLike,
    border: Border | None = None,
    out: NDArray[Any] | None = None,
    *,
    dtype: DTypeLike | None = None,
    gradients: bool = False,
    cval: float = 0.0,
    dx: int | None = None,
    dy: int | None = None,
    ksize: int = 3,
    scale: float = 1.0,
    delta: float = 0.0,
    ddepth: int | None = None,
) -> NDArray[Any] | tuple[FloatArray, FloatArray, FloatArray]:
    """Sobel gradient magnitude ``sqrt(gx**2 + gy**2)`` of a 2-D image, or with ``dx``/``dy``
    one derivative exactly as ``cv2.Sobel`` computes it.

    ``img``: uint8, uint16, float32 or float64, any strides. ``border``: ``"zero"`` (border
    pixels of the result are 0, as in the reference loop), ``"replicate"``, ``"reflect101"``
    (OpenCV's default), ``"reflect"`` (scipy.ndimage's default), ``"wrap"`` or
    ``"constant"`` (the image padded with ``cval``); scipy's names ``"nearest"`` and
    ``"mirror"`` and OpenCV's ``cv2.BORDER_*`` integers are accepted too. Default: ``"zero"``
    for the magnitude, ``"reflect101"`` (``cv2.BORDER_DEFAULT``) for a derivative.

    Magnitude (no ``dx``/``dy``): 3×3 kernel; float64 for float64 input and float32
    otherwise, unless ``dtype`` (or ``out``) says otherwise. ``gradients=True`` returns
    ``(magnitude, gx, gy)``. NaN spreads to its 8 neighbours only.

    Derivative: ``sobel(img, dx=1, dy=0, ksize=5, scale=s, delta=d, ddepth=cv2.CV_16S)`` is
    ``cv2.Sobel(img, cv2.CV_16S, 1, 0, ksize=5, scale=s, delta=d)``: OpenCV's kernels
    (``cv2.getDerivKernels``; ksize 1, 3, 5 or 7, each order below the kernel size, ksize 1
    allowing orders up to 2), result ``scale * S + delta``. The output dtype is ``ddepth``
    (``-1``/None: the input's; ``cv2.CV_8U``, ``CV_16U``, ``CV_16S``, ``CV_32F``, ``CV_64F``) or
    ``dtype`` (uint8, uint16, int16, float32, float64) or ``out``'s; integer outputs are
    rounded half to even and saturated as OpenCV does. On integer images the result is
    OpenCV's bit for bit whenever OpenCV's float32 arithmetic is exact (integer or dyadic
    ``scale``/``delta``, e.g. the defaults; not uint16 with ksize 7); see docs/arrays.md.
    """
    if dx is not None or dy is not None:
        return _sobel_deriv(img, border, out, dx, dy, ksize, scale, delta, ddepth, dtype, cval, gradients)
    if (ksize, scale, delta, ddepth) != (3, 1.0, 0.0, None):
        raise ValueError("sobel: ksize, scale, delta and ddepth apply to a derivative: pass dx and dy")
    a = _readable("sobel", img, 2, "(height, width)")
    default = "float64" if a.dtype.char == "d" else "float32"
    dt = out.dtype if isinstance(out, _np().ndarray) else _out_dtype("sobel", dtype, default)
    m = _out("sobel", "out", out, a.shape, dt)
    b = _border("zero" if border is None else border)
    c = _cval(cval)
    if gradients:
        gx, gy = _np().empty(a.shape, dtype=m.dtype), _np().empty(a.shape, dtype=m.dtype)
        check(
            lib.fk_sobel_cval(
                _image(a, "FkImage"),
                b,
                c,
                _image(m, "FkImageOut"),
                _image(gx, "FkImageOut"),
                _image(gy, "FkImageOut"),
            )
        )
        return cast("tuple[FloatArray, FloatArray, FloatArray]", (m, gx, gy))
    check(lib.fk_sobel_cval(_image(a, "FkImage"), b, c, _image(m, "FkImageOut"), ffi.NULL, ffi.NULL))
    return cast("FloatArray", m)


# Output dtypes of a derivative: numpy's char -> FK_DTYPE_*, and OpenCV's ddepth -> char.
_DERIV_CHARS: dict[str, int] = {
    "B": lib.FK_DTYPE_U8,
    "H": lib.FK_DTYPE_U16,
    "h": lib.FK_DTYPE_I16,
    "f": lib.FK_DTYPE_F32,
    "d": lib.FK_DTYPE_F64,
}
_DDEPTHS: dict[int, str] = {0: "B", 2: "H", 3: "h", 5: "f", 6: "d"}  # CV_8U, 16U, 16S, 32F, 64F


def _order(name: str, v: Any) -> int:
    if isinstance(v, bool):
        raise TypeError(f"sobel: {name} must be an integer, got bool")
    try:
        n = operator.index(v)
    except TypeError:
        raise TypeError(f"sobel: {name} must be an integer, got {type(v).__name__}") from None
    if not 0 <= n <= 0xFFFF_FFFF:
        raise ValueError(f"sobel: {name} = {n} is out of range")
    return n


def _real(name: str, v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise TypeError(f"sobel: {name} must be a real number, got {type(v).__name__}") from None


def _sobel_deriv(
    img: ArrayLike,
    border: Border | None,
    out: Any,
    dx: Any,
    dy: Any,
    ksize: Any,
    scale: float,
    delta: float,
    ddepth: int | None,
    dtype: DTypeLike | None,
    cval: float,
    gradients: bool,
) -> NDArray[Any]:
    """`sobel` with dx/dy: one derivative through fk_sobel_deriv (checks as cv2.Sobel)."""
    np = _np()
    if gradients:
        raise ValueError("sobel: gradients=True is for the magnitude; a derivative returns one array")
    if dx is None or dy is None:
        raise TypeError("sobel: a derivative needs both dx and dy (as cv2.Sobel)")
    a = _readable("sobel", img, 2, "(height, width)")
    char: str
    if out is not None:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"sobel: out must be a numpy array, got {type(out).__name__}")
        char = out.dtype.char
    elif ddepth is not None and ddepth != -1:
        if isinstance(ddepth, bool) or operator.index(ddepth) not in _DDEPTHS:
            raise ValueError(
                f"sobel: ddepth = {ddepth!r}; expected -1, cv2.CV_8U, CV_16U, CV_16S, CV_32F or CV_64F"
            )
        char = _DDEPTHS[operator.index(ddepth)]
    elif dtype is not None:
        char = np.dtype(dtype).char
    else:
        char = a.dtype.char
    if char not in _DERIV_CHARS:
        raise TypeError(
            f"sobel: output dtype {np.dtype(char)} is not supported; expected uint8, uint16, int16, "
            "float32 or float64"
        )
    if out is None:
        out = np.empty(a.shape, dtype=char)
    elif not out.dtype.isnative or out.shape != a.shape or not out.flags.writeable or not out.flags.aligned:
        raise ValueError(
            f"sobel: out must be a writable, aligned, native-order array of shape {a.shape}; got "
            f"shape {out.shape}, dtype {out.dtype}"
        )
    s = out.strides
    o = ffi.new(
        "FkImageOut *",
        {
            "data": _ptr(out),
            "dtype": _DERIV_CHARS[char],
            "height": out.shape[0],
            "width": out.shape[1],
            "row_stride": s[0],
            "col_stride": s[1],
        },
    )
    params = ffi.new(
        "FkSobelParams *",
        {
            "dx": _order("dx", dx),
            "dy": _order("dy", dy),
            "ksize": _order("ksize", ksize),
            "border": _border("reflect101" if border is None else border),
            "scale": _real("scale", scale),
            "delta": _real("delta", delta),
            "cval": _cval(cval),
        },
    )
    check(lib.fk_sobel_deriv(_image(a, "FkImage"), params, o))
    return cast("NDArray[Any]", out)


def _color(a: Any) -> Any:
    s = a.strides
    h, w, c = a.shape
    # Positional, in the struct's field order (see `_image`).
    return ffi.new(_IMAGE_P["FkColorImage"], [_ptr(a), _IN_CHARS[a.dtype.char], h, w, c, s[0], s[1], s[2]])


def _rgb(func: str, rgb: ArrayLike) -> Any:
    a = _readable(func, rgb, 3, "(height, width, 3 or 4)")
    if a.shape[2] not in (3, 4):
        raise ValueError(
            f"{func}: expected 3 (RGB) or 4 (RGBA) channels in the last axis, got shape {a.shape}"
        )
    return a


def grayscale(rgb: ArrayLike, out: FloatArray | None = None, *, dtype: DTypeLike | None = None) -> FloatArray:
    """Luma ``0.2989 R + 0.5870 G + 0.1140 B`` of an (H, W, 3 or 4) image, as
    ``np.dot(rgb[..., :3], [0.2989, 0.5870, 0.1140])``; float64 unless ``dtype``/``out`` say
    float32."""
    r: Any = rgb  # an ndarray in the fast path (mypy does not narrow `type(x) is`)
    if out is None and type(r) is _ndarray and r.dtype is _u8 and r.ndim == 3:
        # The common call (a uint8 ndarray, a new output), with as little Python as
        # possible: at 64x64 the interpreter's work was most of the call (issue 11). uint8
        # arrays are native and aligned; every other check is the general path's.
        h, w, c = r.shape
        try:
            od = _GRAY_OUT.get(dtype)
        except TypeError:  # unhashable: the general path resolves it
            od = None
        if (c == 3 or c == 4) and h and w and od is not None:
            dt, code, size = od
            o = _numpy.empty((h, w), dt)
            s = r.strides
            try:
                p = ffi.from_buffer(r)
            except (ValueError, BufferError):
                p = ffi.cast("char *", _address(r))
            status = lib.fk_grayscale_strided(
                p, lib.FK_DTYPE_U8, h, w, c, s[0], s[1], s[2], ffi.from_buffer(o), code, w * size, size
            )
            if status:
                check(status)
            return cast("FloatArray", o)
    a = _rgb("grayscale", rgb)
    dt = (
        _out_dtype("grayscale", dtype, "float64")
        if out is None or not isinstance(out, _numpy.ndarray)
        else out.dtype
    )
    o = _out("grayscale", "out", out, a.shape[:2], dt)
    # The flat entry point: two cffi structs per call cost more than converting a 64x64
    # image (issue 11); the arguments are those of the two structs, in the same order.
    h, w, c = a.shape
    s, t = a.strides, o.strides
    status = lib.fk_grayscale_strided(
        _ptr(a), _IN_CHARS[a.dtype.char], h, w, c, s[0], s[1], s[2],
        _ptr(o), _OUT_CHARS[o.dtype.char], t[0], t[1],
    )  # fmt: skip
    if status:
        check(status)
    return cast("FloatArray", o)


def edges(
    rgb: ArrayLike,
    border: Border = "zero",
    out: FloatArray | None = None,
    *,
    dtype: DTypeLike | None = None,
    cval: float = 0.0,
) -> FloatArray:
    """``sobel(grayscale(rgb), border, cval=cval)`` in one pass, without the grayscale image.
    float64 for float64 input, float32 otherwise (or ``dtype``/``out``)."""
    a = _rgb("edges", rgb)
    default = "float64" if a.dtype.char == "d" else "float32"
    dt = out.dtype if isinstance(out, _np().ndarray) else _out_dtype("edges", dtype, default)
    o = _out("edges", "out", out, a.shape[:2], dt)
    check(lib.fk_edges_cval(_color(a), _border(border), _cval(cval), _image(o, "FkImageOut")))
    return cast("FloatArray", o)


#: Long calls go through the library's cancellable entry points, which call `_POLL` on
#: this thread about every 50 ms while they run. Python runs a pending signal handler
#: (SIGINT's raises KeyboardInterrupt) when the callback's code runs; the exception is
#: stored here, the callback returns nonzero, the kernel stops within a fraction of a
#: millisecond, and the exception is raised again once the call has returned: the same
#: mechanism as `Report.feed_file`'s progress callback. Short calls skip it (a call that
#: ends before the first poll would pay for nothing).
_interrupted = threading.local()


def _poll_failed(exc_type: type[BaseException], exc: BaseException, tb: object) -> int:
    _interrupted.exc = exc
    return 1


def _poll(_user: Any, _done: int, _total: int) -> int:
    return 0


_POLL = ffi.callback("int32_t(void*, uint64_t, uint64_t)", _poll, onerror=_poll_failed)

#: Sums of at least this many values (about 4 ms at memory speed) are cancellable.
_SUM_POLLED = 1 << 22
#: Prime counts up to at least this limit (about 10 ms) are cancellable.
_PRIMES_POLLED = 10**8


def _check_polled(status: int) -> None:
    """`check(status)` after a call made with `_POLL`: first re-raise what the callback
    caught (KeyboardInterrupt), which is why the call reports CANCELLED."""
    exc = getattr(_interrupted, "exc", None)
    if exc is not None:
        _interrupted.exc = None
        raise exc
    check(status)


def _sum_raw(address: Any, n: int, stride: int) -> float:
    res = ffi.new(_DOUBLE_P)
    if n < _SUM_POLLED:
        check(lib.fk_sum_f64(address, n, stride, res))
    else:
        _interrupted.exc = None
        _check_polled(lib.fk_sum_f64_progress(address, n, stride, _POLL, ffi.NULL, res))
    return float(res[0])


@overload
def sum(buf: Buffer | Iterable[float], axis: None = None) -> float: ...  # noqa: A001
@overload
def sum(buf: ArrayLike, axis: SupportsIndex) -> NDArray[np.float64]: ...  # noqa: A001


def sum(  # noqa: A001 - ferrokern.sum by name; not in __all__, so `import *` keeps the builtin
    buf: Buffer | Iterable[float] | ArrayLike, axis: SupportsIndex | None = None
) -> float | NDArray[np.float64]:
    """The correctly rounded sum of the values: the exact sum, rounded once to the nearest
    double. Equal to ``math.fsum`` for finite values, the same for any thread count.

    Accepts a numpy array of any float or integer dtype (or bool; any shape and strides,
    misaligned too): integers, float32 and float16 are summed exactly (int64/uint64 values
    beyond 2**53 too, where ``math.fsum`` would round each value first) and the result is
    rounded once. Also any buffer: ``array.array`` of any type code, a ``memoryview``,
    ``bytes``/``bytearray`` holding native doubles (the length must be a multiple of 8),
    or else an iterable of numbers (each converted to float first, as ``math.fsum`` does).
    ``axis`` (an int, for a numpy array or a buffer) sums along that axis, exactly per
    row/column, and returns a float64 array. NaN if any value is NaN or both infinities
    occur; ±inf for an infinity, or when the exact sum is beyond the float range (where
    ``math.fsum`` raises OverflowError); -0.0 only if every value is -0.0."""
    if type(buf) is _ndarray:
        a: Any = buf
        if axis is None and a.dtype is _float64 and 0 < a.size < _SUM_POLLED:
            # The common case, with as little Python as possible: a native float64 array
            # that is C-contiguous (from_buffer refuses any other layout, which then takes
            # the general path below).
            try:
                p = ffi.from_buffer(a)
            except (BufferError, ValueError, TypeError):
                pass
            else:
                res = ffi.new(_DOUBLE_P)
                status = lib.fk_sum_f64(p, a.size, 8, res)
                if status:
                    check(status)
                return float(res[0])
        return _sum_ndarray(_numpy_for_sum, a, axis)
    np = sys.modules.get("numpy")  # a numpy array implies numpy is imported already
    if np is not None and isinstance(buf, np.ndarray):
        _remember_numpy(np)
        return _sum_ndarray(np, buf, axis)
    if axis is not None:
        np = _np()
        return _sum_ndarray(np, np.asarray(buf), axis)
    try:
        mv = memoryview(cast("Buffer", buf))  # TypeError when it is not one
    except TypeError:
        if isinstance(buf, (str, dict)):
            raise TypeError(
                f"sum: expected a buffer or an iterable of numbers, got {type(buf).__name__}"
            ) from None
        try:
            # The fast path: array('d') converts each number as math.fsum does.
            mv = memoryview(array("d", cast("Iterable[float]", buf)))
        except TypeError as e:
            raise TypeError(f"sum: expected a buffer of doubles or an iterable of numbers ({e})") from None
    fmt = mv.format
    if fmt in ("B", "b", "c"):
        if mv.nbytes % 8:
            raise ValueError(f"sum: a buffer of {mv.nbytes} bytes is not a whole number of 8-byte doubles")
    elif fmt not in _NATIVE_DOUBLE:
        # Another element type (array('i'), array('f'), ...): through numpy, which reads
        # every struct format code.
        np = _np()
        try:
            a = np.asarray(mv)
        except (TypeError, ValueError, NotImplementedError) as e:
            raise TypeError(f"sum: cannot read a buffer of format {fmt!r} ({e})") from None
        return _sum_ndarray(np, a, None)
    if not mv.c_contiguous:
        mv = memoryview(mv.tobytes())
    if mv.nbytes == 0:
        return 0.0
    return _sum_raw(ffi.cast("void *", ffi.from_buffer(mv)), mv.nbytes // 8, 8)


_NATIVE_DOUBLE = ("d", "@d", "=d", "<d" if sys.byteorder == "little" else ">d")

# `sum`'s fast-path tests, set once numpy has been imported (by the caller: `sum` itself
# never imports it): `type(buf) is _ndarray` and `buf.dtype is _float64` are pointer
# comparisons, where isinstance, `dtype.char` or `flags` lookups cost hundreds of ns each.
# An equal but distinct dtype object (a non-native float64, say) simply takes the general
# path. `_ndarray` starts as a type no object has, so the test is false until then.
_ndarray: Any = type("_NoArray", (), {})
_float64: Any = None
_numpy_for_sum: Any = None


def _remember_numpy(np: Any) -> None:
    global _ndarray, _float64, _numpy_for_sum
    _numpy_for_sum, _float64, _ndarray = np, np.dtype(np.float64), np.ndarray


def _exact_doubles(np: Any, a: Any) -> Any:
    """Doubles with the same exact sum as `a`'s values, along each of `a`'s axes: float64 as
    is, narrower floats, bool and integers up to 32 bits converted (exactly), 64-bit
    integers split into a high and a low part, each exact in a double, laid side by side
    along a new last axis."""
    kind, size = a.dtype.kind, a.dtype.itemsize
    if kind == "f" and size == 8:
        return a
    if kind == "b" or (kind == "f" and size < 8) or (kind in "iu" and size <= 4):
        return a.astype(np.float64)
    if kind in "iu" and size == 8:
        # x = hi * 2**32 + lo with lo in [0, 2**32) and |hi| < 2**32: both exact doubles.
        native = a.astype(a.dtype.newbyteorder("="), copy=False)
        hi = (native >> 32).astype(np.float64) * 4294967296.0
        lo = (native & 0xFFFFFFFF).astype(np.float64)
        return np.stack([hi, lo], axis=-1)
    raise TypeError(f"sum: dtype {a.dtype} is not supported; expected a float, integer or bool dtype")


def _sum_ndarray(np: Any, a: Any, axis: SupportsIndex | None) -> float | NDArray[np.float64]:
    d = _exact_doubles(np, a)
    if not d.dtype.isnative:
        d = d.astype(np.float64)
    if axis is None:
        return _sum_flat(np, d)
    ax = operator.index(axis)
    if a.ndim != 2:
        raise ValueError(f"sum: axis= needs a 2-D array, got {a.ndim}-D with shape {a.shape}")
    if not -2 <= ax < 2:
        raise ValueError(f"sum: axis {ax} is out of bounds for a 2-D array")
    ax %= 2
    # Move the kept axis first; each remaining (1 or 2-D, with the split parts) slice is
    # one exact sum.
    d = np.moveaxis(d, 1 - ax, 0)
    res = np.empty(d.shape[0], dtype=np.float64)
    for i in range(d.shape[0]):
        res[i] = _sum_flat(np, d[i])
    return cast("NDArray[np.float64]", res)


def _sum_flat(np: Any, a: Any) -> float:
    """The correctly rounded sum of every value of a native float64 array."""
    if a.size == 0:
        return 0.0
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim > 1:
        # The order of the values does not matter: any single-stride walk over them works.
        if a.flags.c_contiguous or a.flags.f_contiguous:
            return _sum_raw(_ptr(a), a.size, 8)
        a = np.ascontiguousarray(a).reshape(-1)
    return _sum_raw(_ptr(a), a.shape[0], a.strides[0])


@overload
def polyval(coeffs: ArrayLike, x: float, out: None = None) -> np.float64: ...
@overload
def polyval(
    coeffs: ArrayLike, x: ArrayLike, out: NDArray[np.float64] | None = None
) -> NDArray[np.float64]: ...


def polyval(
    coeffs: ArrayLike, x: ArrayLike, out: NDArray[np.float64] | None = None
) -> NDArray[np.float64] | np.float64:
    """``numpy.polyval(coeffs, x)`` (highest degree first, Horner, bit for bit numpy's
    result) for float64 ``x``, in parallel. ``out`` may be ``x`` itself (in place).
    ``x`` must be float64 if it is a numpy array; lists and scalars are converted."""
    numpy = _np()
    c = numpy.ascontiguousarray(coeffs, dtype=numpy.float64)
    if c.ndim != 1:
        raise ValueError(f"polyval: coeffs must be 1-D, got shape {c.shape}")
    scalar = not isinstance(x, numpy.ndarray) and numpy.ndim(x) == 0
    if isinstance(x, numpy.ndarray):
        if x.dtype.kind != "f" or x.dtype.itemsize != 8:
            raise TypeError(
                f"polyval: x has dtype {x.dtype}; expected float64 (convert with x.astype(np.float64))"
            )
        xa = x
    else:
        try:
            xa = numpy.asarray(x, dtype=numpy.float64)
        except (TypeError, ValueError) as e:
            raise TypeError(f"polyval: x must be float64 numbers ({e})") from None
    o = _out("polyval", "out", out, xa.shape, "float64")
    if out is not None and out.dtype != numpy.float64:
        raise TypeError(f"polyval: out has dtype {out.dtype}; expected float64")
    if not xa.dtype.isnative or not xa.flags.aligned:
        xa = numpy.require(xa.astype(numpy.float64), requirements=["ALIGNED"])
    both_c = xa.flags.c_contiguous and o.flags.c_contiguous
    if xa.ndim <= 1 or both_c or (xa.flags.f_contiguous and o.flags.f_contiguous):
        # One strided run each (reshaping a contiguous array gives a view, never a copy).
        order = "C" if xa.ndim <= 1 or both_c else "F"
        _polyval_raw(c, xa.reshape(-1, order=order), o.reshape(-1, order=order))
    else:
        # A multi-dimensional layout that is not one strided run: through a contiguous copy.
        tmp = numpy.ascontiguousarray(xa)
        _polyval_raw(c, tmp.reshape(-1), tmp.reshape(-1))
        o[...] = tmp
    return cast("NDArray[np.float64] | np.float64", o[()] if scalar and out is None else o)


def _polyval_raw(c: Any, x: Any, o: Any) -> None:
    check(
        lib.fk_polyval_f64(
            ffi.cast("double *", _address(c)),
            c.shape[0],
            ffi.cast("double *", _address(x)),
            x.shape[0],
            x.strides[0],
            ffi.cast("double *", _address(o)),
            o.strides[0],
        )
    )


def count_primes(limit: SupportsIndex | float) -> int:
    """The number of primes p < ``limit`` (so ``count_primes(10**9)`` is π(10⁹) = 50847534),
    with a segmented parallel sieve. ``limit`` must be an integer in [0, 10**13]."""
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)
    try:
        n = operator.index(limit)  # type: ignore[arg-type] # a float is refused here
    except TypeError:
        raise TypeError(f"count_primes: limit must be an integer, got {type(limit).__name__}") from None
    if n < 0:
        raise ValueError(f"count_primes: limit must be >= 0, got {n}")
    if n > lib.FK_MAX_PRIME_LIMIT:
        raise ValueError(f"count_primes: limit {n} is above the maximum {lib.FK_MAX_PRIME_LIMIT} (10**13)")
    res = ffi.new("uint64_t*")
    if n < _PRIMES_POLLED:
        check(lib.fk_count_primes(n, res))
    else:
        _interrupted.exc = None
        _check_polled(lib.fk_count_primes_progress(n, _POLL, ffi.NULL, res))
    return int(res[0])


def primes(lo: SupportsIndex, hi: SupportsIndex) -> NDArray[np.uint64]:
    """The primes p with ``lo <= p < hi``, ascending, as a numpy uint64 array (the same
    sieve as ``count_primes``, so ``len(primes(0, n)) == count_primes(n)``). ``hi`` at most
    10**13, ``hi - lo`` at most 2**32; an empty range gives an empty array. Ctrl-C
    interrupts a long call (KeyboardInterrupt)."""
    try:
        a, b = operator.index(lo), operator.index(hi)
    except TypeError:
        raise TypeError("primes: lo and hi must be integers") from None
    if a < 0 or b < 0:
        raise ValueError(f"primes: lo and hi must be >= 0, got {a}, {b}")
    if b > lib.FK_MAX_PRIME_LIMIT:
        raise ValueError(f"primes: hi {b} is above the maximum {lib.FK_MAX_PRIME_LIMIT} (10**13)")
    if b - a > lib.FK_MAX_PRIMES_SPAN:
        raise ValueError(f"primes: the range [{a}, {b}) spans more than 2**32 numbers")
    numpy = _np()
    cap = ffi.new("uint64_t*")
    check(lib.fk_primes_capacity(a, b, cap))
    out = numpy.empty(int(cap[0]), dtype=numpy.uint64)
    n = ffi.new("size_t*")
    _interrupted.exc = None
    poll = _POLL if b - a >= _PRIMES_POLLED else ffi.NULL
    status = lib.fk_primes(a, b, ffi.cast("uint64_t *", _address(out)), out.shape[0], n, poll, ffi.NULL)
    _check_polled(status)
    # The capacity is an upper bound (about twice the count): keep only what was found.
    return cast("NDArray[np.uint64]", out[: int(n[0])].copy())
