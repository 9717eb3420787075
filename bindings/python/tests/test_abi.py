"""The C boundary itself: the cffi declarations, the exported symbols, the raw ABI."""

import ctypes
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import cffi
import pytest

import ferrokern
from ferrokern import _native

ROOT = Path(__file__).resolve().parents[3]
HEADER = ROOT / "include" / "ferrokern.h"


def header_functions():
    text = HEADER.read_text()
    return set(re.findall(r"\b(fk_\w+)\s*\(", text))


def test_cdef_text_loads_in_a_fresh_ffi():
    ffi = cffi.FFI()
    ffi.cdef((Path(_native.__file__).with_name("_cdef.h")).read_text())
    lib = ffi.dlopen(str(ferrokern.library_path()))
    assert lib.fk_abi_version() == lib.FK_ABI_VERSION
    assert ffi.string(lib.fk_version()).decode() == ferrokern.library_version == ferrokern.__version__


def test_every_export_is_declared_and_every_declaration_resolves():
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm not available")
    out = subprocess.run(
        [nm, "-D", "--defined-only", str(ferrokern.library_path())],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    exported = {line.split()[-1] for line in out.splitlines() if re.search(r" T fk_", line)}
    declared = header_functions()
    assert exported == declared, f"exported-only: {exported - declared}, declared-only: {declared - exported}"
    so = ctypes.CDLL(str(ferrokern.library_path()))
    for name in declared:
        assert getattr(so, name) is not None


def test_status_exceptions_cover_every_status():
    statuses = {getattr(_native.lib, n) for n in dir(_native.lib) if n.startswith("FK_STATUS_")}
    assert statuses - {0} == set(_native._EXCEPTIONS)
    assert issubclass(ferrokern.DtypeError, TypeError)
    assert issubclass(ferrokern.OutOfMemoryError, MemoryError)
    assert issubclass(ferrokern.IoError, OSError)
    assert issubclass(ferrokern.InvalidUTF8Error, ValueError)
    assert issubclass(ferrokern.PanicError, ferrokern.Error)


def test_ctypes_example_runs():
    ex = ROOT / "bindings" / "python" / "examples" / "ctypes_raw_abi.py"
    out = subprocess.run(
        [sys.executable, str(ex), str(ferrokern.library_path())], capture_output=True, text=True, check=True
    ).stdout
    assert "{'apples': 7, 'pears': 5}" in out
    assert "{'big': 100000000000000000000}" in out


def test_unicode_tables_match_this_python():
    tables = (ROOT / "src" / "text" / "unicode_tables.rs").read_text()
    version = re.search(r'PY_UNICODE_VERSION: &str = "([^"]+)"', tables).group(1)
    if version != unicodedata.unidata_version:
        pytest.skip(f"tables are for Unicode {version}, this Python has {unicodedata.unidata_version}")
    subprocess.run([sys.executable, str(ROOT / "tools" / "gen_unicode_tables.py"), "--check"], check=True)


def test_mimalloc_is_linked_and_runs_under_dlopen():
    # The default build's global allocator is mimalloc (local_dynamic_tls, required for a
    # dlopen'ed library); this process loaded it with dlopen and every other test ran on it.
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm not available")
    syms = subprocess.run([nm, str(ferrokern.library_path())], capture_output=True, text=True).stdout
    if not re.search(r" [tT] mi_free$", syms, re.M):
        pytest.skip("library built without the mimalloc feature")
    assert ferrokern.extract_and_aggregate(["a 1"] * 10_000) == [{"a": 1}] * 10_000
