"""ferrokern's annotations under `mypy --strict`: a user's script over the public API
type-checks cleanly, and planted mistakes are reported (so the annotations bite: without
them, or without py.typed, every ferrokern name would be Any and nothing would be)."""

from __future__ import annotations

import os
import re
import site
import subprocess
import sys
from pathlib import Path

import pytest

import ferrokern

pytest.importorskip("mypy")

HERE = Path(__file__).resolve().parent / "typing"
PKG = Path(ferrokern.__file__).resolve().parents[1]
ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<msg>.*?)  \[(?P<code>[\w-]+)\]$")


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[tuple[int, str]]]:
    """mypy --strict over both scripts, run once: {file name: {(line, error code)}}."""
    env = dict(os.environ)
    installed = {os.path.realpath(p) for p in [*site.getsitepackages(), site.getusersitepackages()]}
    if os.path.realpath(PKG) not in installed:
        # Imported from a source tree (PYTHONPATH), which mypy does not read: point it there.
        env["MYPYPATH"] = str(PKG)
    cache = tmp_path_factory.mktemp("mypy-cache")
    files = [HERE / "user_script.py", HERE / "planted_errors.py"]
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--show-error-codes", "--no-error-summary",
         "--cache-dir", str(cache), *map(str, files)],
        capture_output=True, text=True, env=env, cwd=tmp_path_factory.mktemp("mypy-cwd"), timeout=600,
    )  # fmt: skip
    out: dict[str, set[tuple[int, str]]] = {}
    for line in r.stdout.splitlines():
        m = ERROR.match(line)
        if m:
            out.setdefault(Path(m["file"]).name, set()).add((int(m["line"]), m["code"]))
        elif ": error:" in line or (": note:" not in line and line.strip()):
            pytest.fail(f"unexpected mypy output (exit {r.returncode}):\n{r.stdout}\n{r.stderr}")
    assert r.returncode in (0, 1), r.stdout + r.stderr
    return out


def test_package_ships_py_typed() -> None:
    assert (Path(ferrokern.__file__).parent / "py.typed").is_file()


def test_user_script_type_checks_under_strict(mypy_errors: dict[str, set[tuple[int, str]]]) -> None:
    assert not {f: e for f, e in mypy_errors.items() if f != "planted_errors.py"}


def test_planted_type_errors_are_reported(mypy_errors: dict[str, set[tuple[int, str]]]) -> None:
    want = set()
    for i, line in enumerate((HERE / "planted_errors.py").read_text().splitlines(), 1):
        m = re.search(r"# E: ([\w-]+)$", line)
        if m:
            want.add((i, m[1]))
    assert len(want) >= 10
    assert mypy_errors.get("planted_errors.py", set()) == want
