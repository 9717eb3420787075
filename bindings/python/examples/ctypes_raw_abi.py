"""The raw C ABI from Python with ctypes only (no cffi, no ferrokern package): build an
FkTexts over one UTF-8 buffer + int64 offsets, call fk_extract_and_aggregate, read the flat
FkKeySumsView arrays, free the handle. Shows what any FFI does to call the library.

    python bindings/python/examples/ctypes_raw_abi.py [path/to/libferrokern.so]
"""

import ctypes as C
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
lib = C.CDLL(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target" / "release" / "libferrokern.so"))


class FkTexts(C.Structure):
    _fields_ = [
        ("data", C.c_void_p),
        ("data_len", C.c_size_t),
        ("offsets", C.c_void_p),
        ("n_texts", C.c_size_t),
        ("offset_kind", C.c_uint32),
        ("first_index", C.c_uint64),
    ]


class FkKeySumsView(C.Structure):
    _fields_ = [
        ("keys", C.POINTER(C.c_uint8)),
        ("keys_len", C.c_size_t),
        ("key_offsets", C.POINTER(C.c_uint64)),
        ("values", C.POINTER(C.c_int64)),
        ("n_entries", C.c_size_t),
        ("big_index", C.POINTER(C.c_uint64)),
        ("n_big", C.c_size_t),
        ("big_data", C.POINTER(C.c_uint8)),
        ("big_data_len", C.c_size_t),
        ("big_offsets", C.POINTER(C.c_uint64)),
        ("text_offsets", C.POINTER(C.c_uint64)),
        ("n_texts", C.c_size_t),
    ]


FK_OFFSETS_I64 = 1
lib.fk_last_error_message.restype = C.c_char_p
lib.fk_extract_and_aggregate.argtypes = [C.POINTER(FkTexts), C.c_size_t, C.POINTER(C.c_void_p)]
lib.fk_key_sums_view.argtypes = [C.c_void_p, C.POINTER(FkKeySumsView)]
lib.fk_key_sums_free.argtypes = [C.c_void_p]


def extract_and_aggregate(texts):
    encoded = [t.encode("utf-8") for t in texts]
    data = b"".join(encoded)
    offsets = (C.c_int64 * (len(texts) + 1))()
    for i, e in enumerate(encoded):
        offsets[i + 1] = offsets[i] + len(e)
    buf = C.create_string_buffer(data, len(data))
    batch = FkTexts(
        C.cast(buf, C.c_void_p), len(data), C.cast(offsets, C.c_void_p), len(texts), FK_OFFSETS_I64, 0
    )
    handle = C.c_void_p()
    status = lib.fk_extract_and_aggregate(C.byref(batch), 4300, C.byref(handle))
    if status != 0:
        raise ValueError(lib.fk_last_error_message().decode())
    try:
        v = FkKeySumsView()
        if lib.fk_key_sums_view(handle, C.byref(v)) != 0:
            raise ValueError(lib.fk_last_error_message().decode())
        keys = C.string_at(v.keys, v.keys_len)
        big = {
            v.big_index[b]: C.string_at(
                C.addressof(v.big_data.contents) + v.big_offsets[b], v.big_offsets[b + 1] - v.big_offsets[b]
            ).decode()
            for b in range(v.n_big)
        }
        out = []
        for t in range(v.n_texts):
            d = {}
            for e in range(v.text_offsets[t], v.text_offsets[t + 1]):
                key = keys[v.key_offsets[e] : v.key_offsets[e + 1]].decode()
                d[key] = int(big[e]) if e in big else v.values[e]
            out.append(d)
        return out
    finally:
        lib.fk_key_sums_free(handle)


if __name__ == "__main__":
    texts = ["apples 3 pears 5 apples 4", "价格 12 数量 3", "", "big 99999999999999999999 big 1"]
    for t, d in zip(texts, extract_and_aggregate(texts)):
        print(f"{t!r:40} -> {d}")
