"""Issue 12 regressions: the report never destroys input, never calls a partial read
complete, and rejects bad arguments before doing any work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

import ferrokern as fk


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run(
        [sys.executable, "-m", "ferrokern", "report", "--no-progress", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


DATA = b"".join(f"k{i} {i} a{i}@x.org\n".encode() for i in range(200))


def test_cli_per_doc_or_output_equal_to_an_input_is_refused_and_the_input_kept(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(DATA)
    os.link(src, tmp_path / "alias.txt")
    cases = [
        ["-o", str(tmp_path / "r.json"), "--per-doc", str(src)],
        ["-o", str(tmp_path / "r.json"), "--per-doc", str(tmp_path / "." / "alias.txt")],
        ["-o", str(tmp_path / "alias.txt")],
    ]
    for extra in cases:
        p = _cli(str(src), *extra)
        assert p.returncode == 1, (extra, p.stderr)
        assert "refusing to overwrite an input" in p.stderr and "no report written" in p.stderr
        assert src.read_bytes() == DATA
        assert not (tmp_path / "r.json").exists()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["alias.txt", "in.txt"]


def test_report_per_doc_equal_to_an_input_creates_nothing(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(DATA)
    with pytest.raises(ValueError, match="refusing to overwrite an input"):
        fk.report([src], per_doc=src, progress=False)
    assert src.read_bytes() == DATA
    # The library itself refuses too (C and Python users who build a Report by hand).
    with fk.Report() as r:
        r.set_per_doc(src)
        with pytest.raises(ValueError, match="per-document output"):
            r.feed_file(src)
        assert not r.complete
    assert src.read_bytes() == DATA


def test_cli_duplicate_pattern_names_are_an_error(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(DATA)
    out = tmp_path / "r.json"
    p = _cli(str(src), "-o", str(out), "--pattern", "x=user", "--pattern", "x=mail")
    assert p.returncode == 2 and "'x' is given twice" in p.stderr, p.stderr
    p = _cli(str(src), "-o", str(out), "--pattern", "x=user", "--count-pattern", "x=apples")
    assert p.returncode == 2 and "'x' is given twice" in p.stderr, p.stderr
    assert not out.exists()


def test_write_json_failure_leaves_the_old_report(tmp_path):
    out = tmp_path / "r.json"
    out.write_text("old")
    with fk.Report() as r:
        r.feed_texts(["a 1"])
        with pytest.raises(OSError):
            r.write_json(out / "under-a-file.json")
        assert out.read_text() == "old"
        r.write_json(out)
    assert json.loads(out.read_text())["lines"] == 1
    assert sorted(x.name for x in tmp_path.iterdir()) == ["r.json"]


def _small_files() -> None:
    # In the child: writes past 4 KB fail with EFBIG (a full disk, as far as the writer can
    # tell), instead of killing the process with SIGXFSZ.
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_cli_failed_writes_leave_the_old_files(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"".join(f"key{i} {i} u{i}@x{i}.org\n".encode() for i in range(3000)))
    out, pd = tmp_path / "r.json", tmp_path / "d.jsonl"
    out.write_text("old report")
    pd.write_text("old lines\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    cmd = [sys.executable, "-m", "ferrokern", "report", "--no-progress", str(src), "--full", "-o", str(out)]
    for extra in (["--per-doc", str(pd)], []):
        p = subprocess.run(
            cmd + extra, capture_output=True, text=True, env=env, timeout=60, preexec_fn=_small_files
        )
        assert p.returncode == 1, p.stderr
        assert out.read_text() == "old report" and pd.read_text() == "old lines\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["d.jsonl", "in.txt", "r.json"]


def test_merge_overflow_is_an_error_not_a_wrap():
    with fk.Report() as a:
        a.feed_texts(["x 1"])
        d = json.loads(a.to_json(full=True))
    d["bytes"] = 2**64 - 1
    with fk.Report.from_json(json.dumps(d)) as big, fk.Report() as b:
        b.feed_texts(["a"])
        with pytest.raises(ValueError, match="bytes would overflow"):
            big.merge(b)
        assert big["bytes"] == 2**64 - 1 and big["lines"] == 1


def test_from_json_refuses_an_inconsistent_report():
    with fk.Report() as a:
        a.feed_texts(["x 1", "bob@x.org"])
        d = json.loads(a.to_json(full=True))
    for key, value in [("documents", 5), ("complete", False)]:
        bad = dict(d, **{key: value})
        with pytest.raises(ValueError, match="not a loadable report"):
            fk.Report.from_json(json.dumps(bad))


def test_range_past_the_end_of_the_file_is_incomplete(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(DATA)
    with fk.Report() as r:
        with pytest.raises(OSError, match="past the end of the file"):
            r.feed_file(src, range=(len(DATA) + 10, len(DATA) + 100))
        assert r.complete is False
        assert r["errors"]


def test_feed_file_checks_its_arguments_before_merging_anything(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(DATA)
    with fk.Report() as r:
        with pytest.raises(TypeError, match="progress must be a callable"):
            r.feed_file(src, progress=False)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="range"):
            r.feed_file(src, range=(0, -1))
        assert r["lines"] == 0 and r.complete


@pytest.mark.parametrize("chunk", [2**30 + 1, 1 << 40, 2**63, 2**64 + 5])
def test_chunk_size_has_a_maximum(chunk):
    with pytest.raises(ValueError, match="maximum"):
        fk.Report(chunk_size=chunk)


def test_tables_get_a_clear_error():
    pa = pytest.importorskip("pyarrow")
    # A table of one column is that column (issue 10); with more, the error names them.
    t = pa.table({"text": ["a 1"], "other": ["b 2"]})
    with pytest.raises(TypeError, match="pass a column"):
        fk.extract_and_aggregate(t)
    assert fk.extract_and_aggregate(t["text"]) == [{"a": 1}]
    assert fk.extract_and_aggregate(t.select(["text"])) == [{"a": 1}]
    pl = pytest.importorskip("polars")
    with pytest.raises(TypeError, match="pass a column"):
        fk.extract_and_aggregate(pl.DataFrame({"text": ["a 1"], "other": ["b 2"]}))


def test_range_planned_on_a_file_that_shrank_is_incomplete(tmp_path):
    # Issue 12, item 6: ranges planned on the full file, run after it was truncated. The
    # range that ends past the new end used to be clamped silently (fewer lines, complete).
    import ferrokern.dask

    src = tmp_path / "in.txt"
    src.write_bytes(DATA)
    splits = ferrokern.dask.plan([src], split_bytes=len(DATA) // 4)
    new_size = len(DATA) * 3 // 5
    src.write_bytes(DATA[:new_size])  # shrinks into the third split
    outcomes = []
    for path, start, end in splits:
        assert end is not None
        with fk.Report() as r:
            try:
                r.feed_file(path, range=(start, end))
            except OSError as e:
                assert "shorter than planned" in str(e)
                assert r.complete is False and r["errors"]
                outcomes.append("error")
            else:
                assert r.complete
                outcomes.append("ok")
    assert outcomes == ["ok" if end <= new_size else "error" for _, _, end in splits]
    assert outcomes[:3] == ["ok", "ok", "error"]
    # The Dask task for a split raises instead of returning a partial report as complete.
    with pytest.raises(OSError, match="shorter than planned"):
        ferrokern.dask._run_split(splits[2], {"patterns": {}})
    # 2**64 - 1 still means "to the end", whatever the size.
    with fk.Report() as r:
        r.feed_file(src, range=(0, 2**64 - 1))
        cut = DATA[:new_size]
        assert r.complete and r["lines"] == cut.count(b"\n") + (not cut.endswith(b"\n"))


def _child_uses_a_pattern(q: Any) -> None:
    q.put(fk.compile(r"(\w+)@").findall(["a@x b@y"]) == [["a", "b"]])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Python 3.12+: fork with threads
def test_fork_while_another_thread_creates_and_frees_handles():
    # The handle registry's lock is held across fork() (pthread_atfork): a child forked while
    # another thread is inside a registry update must not inherit a held lock (deadlock).
    import multiprocessing as mp
    import threading

    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            with fk.compile("a") as p:
                p.count(["aa"])

    t = threading.Thread(target=churn)
    t.start()
    try:
        ctx = mp.get_context("fork")
        for _ in range(10):
            q = ctx.Queue()
            proc = ctx.Process(target=_child_uses_a_pattern, args=(q,))
            proc.start()
            proc.join(30)
            alive = proc.is_alive()
            if alive:
                proc.kill()
            assert not alive, "forked child deadlocked on the handle registry"
            assert q.get(timeout=5) is True
    finally:
        stop.set()
        t.join()


_FEED_UNTIL_FULL = """
import ferrokern as fk, json, os, sys
path = sys.argv[1]
r = fk.Report()
r.set_per_doc(path)
texts = [f"key{i} {i} u{i}@x{i}.org" for i in range(2000)]
r.feed_texts(texts[:10])            # fits in the 4 KiB limit
try:
    r.feed_texts(texts)             # the per-doc lines no longer fit
except OSError as e:
    d = json.loads(r.to_json())
    print(json.dumps({"error": str(e), "complete": d["complete"], "errors": d["errors"]}))
else:
    print(json.dumps({"error": None}))
r.close()
"""


def test_per_doc_write_error_fails_the_feed_that_caused_it(tmp_path):
    # Issue 12 item 5: a full disk under the per-document output must fail the feed call
    # (OSError from fk_report_feed_texts' IO status) and make the report incomplete at
    # once, not only when the output is closed; no partial file is left at the path.
    pd = tmp_path / "d.jsonl"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.run(
        [sys.executable, "-c", _FEED_UNTIL_FULL, str(pd)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        preexec_fn=_small_files,
    )
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert got["error"] and "per-document output" in got["error"], got
    assert got["complete"] is False and "per-document output" in got["errors"][0]
    assert list(tmp_path.iterdir()) == []
