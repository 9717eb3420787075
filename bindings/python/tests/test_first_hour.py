"""What a new user hits in the first hour (issue 7, item 4): each test here failed before.

The CLI and import-time behaviour are tested in subprocesses, against the ferrokern package
this test session imports (installed or not)."""

from __future__ import annotations

import ast
import builtins
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ferrokern
from ferrokern import _native

PKG = str(Path(ferrokern.__file__).resolve().parents[1])


def python(code: str, **kw):
    env = dict(os.environ, PYTHONPATH=PKG)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, **kw)


def cli(*args: str, **kw):
    env = dict(os.environ, PYTHONPATH=PKG)
    return subprocess.run([sys.executable, "-m", "ferrokern", *args], capture_output=True, env=env, **kw)


# -- ferrokern.dask -----------------------------------------------------------------------


def test_dask_is_an_attribute_after_a_plain_import_and_imports_nothing_until_used(tmp_path):
    pytest.importorskip("dask.distributed")
    corpus = tmp_path / "c.txt"
    corpus.write_text("apples 3 pears 5\nBob@Example.com apples 4\n")
    code = f"""
import sys
import ferrokern
assert "dask" not in sys.modules and "ferrokern.dask" not in sys.modules, "imported too early"
assert "dask" in dir(ferrokern)
module = ferrokern.dask
assert module is sys.modules["ferrokern.dask"]
assert "dask" not in sys.modules, "touching ferrokern.dask must not import dask yet"
from dask.distributed import Client
with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
    with ferrokern.dask.report([{str(corpus)!r}], client=client) as r:
        print(r["kv"]["top"], r["emails"]["total"])
"""
    r = python(code, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[0] == "[['apples', 7], ['pears', 5]] 1"


def test_unknown_attribute_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'dsak'"):
        ferrokern.dsak  # noqa: B018


def test_dask_report_without_a_client_says_how_to_get_one(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    try:
        distributed.default_client()
        pytest.skip("a Dask client is running in this process")
    except ValueError:
        pass
    p = tmp_path / "a.txt"
    p.write_text("a 1\n")
    with pytest.raises(ValueError, match=re.escape("from dask.distributed import Client; client = Client()")):
        ferrokern.dask.report([p])


def test_dask_report_without_dask_says_how_to_install_it(tmp_path, monkeypatch):
    p = tmp_path / "a.txt"
    p.write_text("a 1\n")
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # `import` of it raises ImportError
    with pytest.raises(ImportError, match=re.escape("pip install 'dask[distributed]'")):
        ferrokern.dask.report([p])


# -- compile(pattern, flags) ----------------------------------------------------------------


def test_compile_accepts_the_re_flags_it_supports():
    texts = ["Apple APPLE apple", "none"]
    want = [re.findall("apple", t, re.I) for t in texts]
    assert ferrokern.compile("apple", re.IGNORECASE).findall(texts) == want
    assert ferrokern.compile("apple", re.I | re.U).findall(texts) == want
    assert ferrokern.compile("apple", flags=re.I).ignore_case is True
    assert ferrokern.compile("apple", ignore_case=True).findall(texts) == want
    # re.UNICODE is what a str pattern means anyway: accepted, changes nothing.
    assert ferrokern.compile(r"\w+", re.UNICODE).findall(["é x²"]) == [re.findall(r"\w+", "é x²")]
    assert ferrokern.compile("apple", re.UNICODE).ignore_case is False
    assert ferrokern.compile("apple", 0).findall(texts) == [["apple"], []]
    # The other re flags mean what they mean in re.
    for flags, pattern, text in [
        (re.M, r"^\w$", "a\nb\n"),
        (re.S, r"a.b", "a\nb"),
        (re.X, r"a b # comment", "ab"),
        (re.A, r"\w+", "héllo"),
        (re.I | re.M, r"^A", "a\nA"),
    ]:
        assert ferrokern.compile(pattern, flags).findall([text]) == [re.findall(pattern, text, flags)]


@pytest.mark.parametrize(
    "flag, name",
    [
        (re.LOCALE, "re.LOCALE"),
        (re.DEBUG, "re.DEBUG"),
        (re.I | re.DEBUG, "re.DEBUG"),
        (1 << 20, "unknown bits 0x100000"),
    ],
)
def test_compile_rejects_the_flags_it_does_not_support(flag, name):
    # Before, a positional re.M became ignore_case=True without a word.
    with pytest.raises(ValueError, match=re.escape(name)):
        ferrokern.compile("a", flag)


def test_compile_and_pattern_reject_non_bool_ignore_case_and_non_int_flags():
    with pytest.raises(TypeError, match="ignore_case must be a bool"):
        ferrokern.compile("a", ignore_case=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ignore_case must be a bool"):
        ferrokern.Pattern("a", "yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="flags must be re flags"):
        ferrokern.compile("a", True)  # the old positional ignore_case
    with pytest.raises(TypeError, match="flags must be re flags"):
        ferrokern.compile("a", "i")  # type: ignore[arg-type]
    with ferrokern.Report(extractors=[]) as r, pytest.raises(TypeError, match="ignore_case must be a bool"):
        r.add_pattern("p", "a", ignore_case=None)  # type: ignore[arg-type]


# -- the package namespace ------------------------------------------------------------------


def test_star_import_shadows_no_builtin_and_names_stay_importable():
    ns: dict[str, object] = {}
    exec("from ferrokern import *", ns)
    shadowed = set(ns) & set(dir(builtins)) - {"__builtins__"}
    assert not shadowed, shadowed
    assert not set(ferrokern.__all__) & set(dir(builtins))
    assert "report" in ns and "DataError" in ns and "Pattern" in ns
    from ferrokern import compile, sum  # noqa: A004 - by name, on purpose

    assert sum([0.1] * 10) == 1.0 and compile("a").findall(["aa"]) == [["a", "a"]]
    for name in ferrokern.__all__:
        assert hasattr(ferrokern, name), name


def test_status_exceptions_are_declared_once_and_exported():
    generated = {cls.__name__: cls for cls in _native._EXCEPTIONS.values()}
    declared = {n for n in _native.__annotations__ if n.endswith("Error")}
    # The static declarations (what type checkers see) list exactly the generated classes.
    assert declared == set(generated), "update the declarations and __all__ in _native.py"
    for name, cls in generated.items():
        assert name in _native.__all__ and name in ferrokern.__all__
        assert getattr(ferrokern, name) is cls and issubclass(cls, ferrokern.Error)


def test_version_comes_from_package_metadata_else_the_library():
    code = """
import importlib.metadata as md
def version(name):
    if name != "ferrokern":
        raise md.PackageNotFoundError(name)
    return {answer}
md.version = version
import ferrokern
print(ferrokern.__version__, ferrokern.library_version)
"""
    r = python(code.format(answer='"9.8.7"'))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "9.8.7"
    r = python(code.format(answer="(_ for _ in ()).throw(md.PackageNotFoundError(name))"))
    assert r.returncode == 0, r.stderr
    version, library = r.stdout.split()
    assert version == library == ferrokern.library_version


# -- the command line -----------------------------------------------------------------------


def corpus_lines(n: int = 3000) -> bytes:
    words = ["apples", "pears", "价格", "x²", "total"]
    out = []
    for i in range(n):
        out.append(f"{words[i % 5]} {i % 97} User{i % 13}@Mail.Example.com {words[(i * 7) % 5]} {i}")
        if i % 500 == 0:
            out.append("")  # empty lines are documents too
    return ("\n".join(out) + "\n").encode()


def _counts(report: dict) -> dict:
    """What a report says about its input, leaving out where it was read from."""
    return {k: report[k] for k in ("documents", "lines", "kv", "emails", "complete")} | {
        "invalid": report["invalid"]["count"]
    }


def _report_of(path: Path, *args: str) -> dict:
    with ferrokern.report([path], progress=False, totals="--totals" in args) as r:
        return r.to_dict()


def test_cli_reads_stdin_from_a_pipe(tmp_path):
    data = corpus_lines() + b"\xff not utf-8\r\nlast 5 without newline"
    f = tmp_path / "in.txt"
    f.write_bytes(data)
    want = _counts(_report_of(f))
    for payload in (data, gzip.compress(data[:70_000]) + gzip.compress(data[70_000:])):
        # `input=` reaches the child through a pipe: not seekable, no size.
        r = cli("report", "-", "-o", "-", "--no-progress", input=payload)
        assert r.returncode == 0, r.stderr.decode()
        assert _counts(json.loads(r.stdout)) == want
    # A file redirected to stdin, and stdin among other inputs, in order.
    with open(f, "rb") as stdin:
        r = cli(
            "report",
            str(f),
            "-",
            "-o",
            str(tmp_path / "o.json"),
            "--per-doc",
            str(tmp_path / "d.jsonl"),
            stdin=stdin,
        )
    assert r.returncode == 0, r.stderr.decode()
    got = json.loads((tmp_path / "o.json").read_text())
    assert got["documents"] == 2 * want["documents"] and got["kv"]["pairs"] == 2 * want["kv"]["pairs"]
    per_doc = (tmp_path / "d.jsonl").read_text().splitlines()
    assert per_doc[: len(per_doc) // 2] == per_doc[len(per_doc) // 2 :]


def test_cli_reads_json_lines_and_crlf_from_stdin(tmp_path):
    docs = [json.dumps({"text": f"k{i % 7} {i} a{i}@b.org"}) for i in range(2000)]
    data = ("\r\n".join(docs) + "\r\n").encode()
    f = tmp_path / "in.jsonl"
    f.write_bytes(data)
    with ferrokern.report(f, text_field="text", progress=False) as want:
        expected = _counts(want.to_dict())
    r = cli("report", "-", "--jsonl-field", "text", "-o", "-", input=data)
    assert r.returncode == 0, r.stderr.decode()
    assert _counts(json.loads(r.stdout)) == expected and expected["documents"] == 2000


def test_cli_stdin_errors_write_no_report(tmp_path):
    data = gzip.compress(corpus_lines())
    out = tmp_path / "o.json"
    r = cli("report", "-", "-o", str(out), input=data[: len(data) // 2])
    assert r.returncode == 1 and b"gzip" in r.stderr and b"no report written" in r.stderr
    assert not out.exists()
    r = cli("report", "-", "-", "-o", str(out), input=b"")
    assert r.returncode == 1 and b"more than once" in r.stderr


def test_cli_expands_globs(tmp_path):
    d = tmp_path / "data"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_bytes(b"a 1\n")
    (d / "b.txt").write_bytes(b"b 2\nb 3\n")
    (d / "sub" / "c.txt").write_bytes(b"c 4\n")
    (d / "skip.log").write_bytes(b"z 9\n")
    # A list argv: the pattern reaches the program unexpanded, as from a quoted POSIX
    # argument or any Windows shell.
    r = cli("report", str(d / "*.txt"), "-o", "-")
    assert r.returncode == 0, r.stderr.decode()
    got = json.loads(r.stdout)
    assert got["documents"] == 3 and dict(map(tuple, got["kv"]["top"])) == {"a": 1, "b": 5}
    assert b"2 input(s)" in r.stderr
    r = cli("report", str(d / "**" / "*.txt"), str(d / "skip.lo?"), "-o", "-")
    assert r.returncode == 0, r.stderr.decode()
    assert dict(map(tuple, json.loads(r.stdout)["kv"]["top"])) == {"a": 1, "b": 5, "c": 4, "z": 9}
    missing = str(d / "*.nope")
    r = cli("report", str(d / "a.txt"), missing, "-o", str(tmp_path / "o.json"))
    assert r.returncode == 1 and f"no file matches {missing!r}".encode() in r.stderr
    assert not (tmp_path / "o.json").exists()
    # A file whose name looks like a pattern is taken as it is.
    odd = d / "[x].txt"
    odd.write_bytes(b"x 1\n")
    r = cli("report", str(odd), "-o", "-")
    assert r.returncode == 0 and json.loads(r.stdout)["kv"]["top"] == [["x", 1]]


PROGRESS_LINE = re.compile(r"^report: +\d+\.\d%  [\d,.]+ MB of [\d,.]+ MB$", re.M)


def test_cli_progress_is_shown_when_stderr_is_not_a_terminal(tmp_path):
    f = tmp_path / "in.txt"
    f.write_bytes(corpus_lines(20000))
    r = cli("report", str(f), "-o", str(tmp_path / "o.json"), "--progress")  # stderr is a pipe here
    assert r.returncode == 0, r.stderr.decode()
    err = r.stderr.decode()
    lines = PROGRESS_LINE.findall(err)
    assert lines and lines[-1].startswith("report: 100.0%"), err
    assert "\r" not in err  # lines for a log, not a bar redrawn in place
    for flags in ([], ["--no-progress"]):
        r = cli("report", str(f), "-o", str(tmp_path / "o.json"), *flags)
        assert r.returncode == 0 and not PROGRESS_LINE.search(r.stderr.decode())
    r = cli("report", "-", "-o", str(tmp_path / "o.json"), "--progress", input=f.read_bytes())
    assert re.search(r"^report: [\d,.]+ MB$", r.stderr.decode(), re.M), r.stderr.decode()


def test_report_progress_true_always_shows_it(tmp_path, capsys):
    f = tmp_path / "in.txt"
    f.write_bytes(corpus_lines(100))
    ferrokern.report(f, progress=True).close()
    assert PROGRESS_LINE.search(capsys.readouterr().err)
    ferrokern.report(f).close()  # default: only on a terminal
    assert capsys.readouterr().err == ""


def test_cli_version_and_main_entry_point(tmp_path):
    r = cli("--version")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith(f"ferrokern {ferrokern.__version__} (library {ferrokern.library_version}")
    from ferrokern.__main__ import main

    f = tmp_path / "in.txt"
    f.write_bytes(b"a 1\n")
    assert main(["report", str(f), "-o", str(tmp_path / "o.json"), "--no-progress"]) == 0
    assert json.loads((tmp_path / "o.json").read_text())["kv"]["top"] == [["a", 1]]


@pytest.mark.skipif(
    not os.environ.get("FERROKERN_TEST_INSTALLED"),
    reason="the console script exists once the wheel is installed",
)
def test_installed_console_script_prints_the_version():
    exe = shutil.which("ferrokern")
    assert exe is not None, "the wheel installed no `ferrokern` console script"
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert r.stdout.startswith(f"ferrokern {ferrokern.__version__} (library {ferrokern.library_version}")
    # The version is the package's metadata (Cargo.toml's, through maturin), not a copy.
    import importlib.metadata

    assert ferrokern.__version__ == importlib.metadata.version("ferrokern") == ferrokern.library_version


# -- make demo ------------------------------------------------------------------------------

DISTRIBUTIONS = {"PIL": "pillow"}  # import name -> requirement name, where they differ


def test_demo_requirements_cover_exactly_what_the_demo_imports():
    reqs_dir = Path(__file__).resolve().parents[1]
    demo_reqs = reqs_dir / "requirements-demo.txt"
    names = {
        re.split(r"[<>=!~\[; ]", line.strip())[0].lower()
        for line in demo_reqs.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    import ferrokern.demo

    tree = ast.parse(Path(ferrokern.demo.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names and m != "ferrokern"}
    # ferrokern itself needs cffi; the rest is what demo.py imports.
    assert names == {"cffi"} | {DISTRIBUTIONS.get(m, m).lower() for m in third_party}
    test_reqs = (reqs_dir / "requirements-test.txt").read_text().splitlines()
    assert "-r requirements-demo.txt" in test_reqs


def test_feed_stream_api_equals_feed_file(tmp_path):
    import io

    data = corpus_lines(4000) + b"tail 1"
    f = tmp_path / "in.txt"
    f.write_bytes(data)
    want = _counts(_report_of(f))
    packed = gzip.compress(data)
    with ferrokern.Report() as r:
        seen: list[int] = []
        r.feed_stream(io.BytesIO(packed), progress=lambda done, total: seen.append(done))
        assert _counts(r.to_dict()) == want
        # Compressed bytes read so far, after each chunk.
        assert seen and seen == sorted(seen) and 0 < seen[-1] <= len(packed)
    with ferrokern.report([io.BytesIO(data), f], progress=False) as r:
        assert r["documents"] == 2 * want["documents"]
    with ferrokern.Report() as r, pytest.raises(TypeError, match="binary stream"):
        r.feed_stream(io.StringIO("a 1\n"))  # type: ignore[arg-type]


# -- the library lookup order ---------------------------------------------------------------


def _fake_checkout(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A copy of the package inside a directory shaped like a source checkout, with a
    target/release build and a stale-or-fresh copy in the package's _lib/ (maturin develop)."""
    root = tmp_path / "checkout"
    pkg = root / "bindings" / "python" / "ferrokern"
    shutil.copytree(
        Path(ferrokern.__file__).parent, pkg, ignore=shutil.ignore_patterns("_lib", "__pycache__")
    )
    (root / "Cargo.toml").write_text('[package]\nname = "ferrokern"\n')
    (root / "include").mkdir()
    (root / "include" / "ferrokern.h").write_text("")
    real = Path(ferrokern.library_path())
    built = root / "target" / "release" / "libferrokern.so"
    built.parent.mkdir(parents=True)
    shutil.copy2(real, built)
    (pkg / "_lib").mkdir()
    copy = pkg / "_lib" / "lib_lib.so"
    shutil.copy2(real, copy)
    return root, built, copy


def _loaded_from(root: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("FERROKERN_LIBRARY", "PYTHONPATH")}
    env["PYTHONPATH"] = str(root / "bindings" / "python")
    code = "import ferrokern; print(ferrokern.library_path())"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=root)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_a_stale_copy_in_the_package_never_shadows_a_fresh_build(tmp_path):
    root, built, copy = _fake_checkout(tmp_path)
    os.utime(copy, (1_000_000_000, 1_000_000_000))  # the copy is old: the fresh build wins
    assert _loaded_from(root) == str(built)
    os.utime(built, (1_000_000_000, 1_000_000_000))
    os.utime(copy, None)  # now the copy (maturin develop) is the newer one
    assert _loaded_from(root) == str(copy)


def test_a_checkout_without_a_build_says_how_to_make_one(tmp_path):
    root, built, copy = _fake_checkout(tmp_path)
    built.unlink()
    copy.unlink()
    env = {k: v for k, v in os.environ.items() if k not in ("FERROKERN_LIBRARY", "PYTHONPATH")}
    env["PYTHONPATH"] = str(root / "bindings" / "python")
    r = subprocess.run([sys.executable, "-c", "import ferrokern"], env=env, capture_output=True, text=True)
    assert r.returncode != 0
    assert "cargo build --release" in r.stderr and "ImportError" in r.stderr
