"""Reports past their memory budget (issue 9): the per-key state spills to disk and is merged
back exactly. Tiny budgets make every chunk spill, so these run in a second."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_report import comparable, reference_report, write_corpus

import ferrokern as fk

PATS = {"at": (r"(\w+)@", "findall"), "n": (r"\d", "count")}


def _full(r: fk.Report) -> str:
    return r.to_json(full=True)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), lines=st.integers(0, 400), chunk=st.sampled_from([256, 1000, 5000]))
def test_spilled_equals_in_memory(tmp_path_factory, seed, lines, chunk):
    d = tmp_path_factory.mktemp("spill")
    p = d / "a.txt"
    write_corpus(p, lines, seed=seed)
    with fk.report(p, patterns=PATS, totals=True, progress=False, memory_budget=0) as mem:
        want_full, want = _full(mem), mem.to_json()
        assert mem.spilled_bytes == 0
    with fk.report(
        p, patterns=PATS, totals=True, progress=False, memory_budget=1, chunk_size=chunk, spill_dir=d
    ) as sp:
        assert _full(sp) == want_full
        assert sp.to_json() == want
        assert fk.Report.from_bytes(sp.to_bytes()).to_json(full=True) == want_full
        if lines > 50:
            assert sp.spilled_bytes > 0
        # The spill file has no name: nothing is ever left in the directory.
        assert sorted(os.listdir(d)) == ["a.txt"]


# Key starts that make the spill's key sort look past its first 16 and 32 bytes (ASCII, and
# 3-byte ideographs that straddle those byte boundaries) and keys that are prefixes of one
# another; the email local parts share long starts the same way.
PREFIXES = [
    "",
    "x" * 15,
    "x" * 16,
    "x" * 31,
    "session_2026_11_29_cluster_eu_west_",
    "数据集合名称前缀的长度超过十六个字节",
]
TAILS = ["", "a", "b", "ab", "é", "中", "_", "0", "a" * 17, "中文"]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), lines=st.integers(1, 300), chunk=st.sampled_from([256, 4096]))
def test_spilled_long_and_cjk_keys_equal_the_reference(tmp_path_factory, seed, lines, chunk):
    """Keys sharing long prefixes, CJK keys and JSON lines with \\u escapes, spilled on every
    chunk: the report equals the pure-Python reference (not only the in-memory report)."""
    rng = random.Random(seed)
    d = tmp_path_factory.mktemp("spill-keys")
    p = d / "a.jsonl"
    out = []
    for _ in range(lines):
        words = []
        for _ in range(rng.randrange(1, 5)):
            key = rng.choice(PREFIXES) + rng.choice(TAILS) + rng.choice(TAILS)
            if key:
                words.append(f"{key} {rng.randrange(1000)}")
            local = rng.choice(["noreply+", "a" * 20, "li.wang"]) + rng.choice(["", "1", "12", "x" * 9])
            words.append(f"{local}@{rng.choice(['mail.example.com', 'q.io'])}")
        text = " ".join(words)
        out.append(json.dumps({"text": text}, ensure_ascii=rng.random() < 0.3))
    p.write_text("\n".join(out) + "\n", encoding="utf-8")
    want = reference_report([p], text_field="text", top=5)
    with fk.report(
        p,
        text_field="text",
        totals=True,
        top=5,
        progress=False,
        memory_budget=1,
        chunk_size=chunk,
        spill_dir=d,
    ) as sp:
        assert comparable(sp) == want
        if lines > 100:
            assert sp.spilled_bytes > 0


def test_merges_of_spilled_reports_over_byte_ranges(tmp_path):
    p = tmp_path / "a.txt"
    write_corpus(p, 3000, seed=4)
    size = p.stat().st_size
    with fk.report(p, patterns=PATS, progress=False, memory_budget=0) as whole:
        want = _full(whole)
    rng = random.Random(1)
    cuts = sorted({0, size, *(rng.randrange(size) for _ in range(4))})
    for budget in (1, 0):
        merged = fk.Report(patterns=PATS, memory_budget=budget, chunk_size=4096)
        for a, b in zip(cuts, cuts[1:]):
            with fk.Report(patterns=PATS, memory_budget=1, chunk_size=4096) as part:
                part.feed_file(p, range=(a, b))
                assert part.spilled_bytes > 0
                merged.merge(part)
        assert _full(merged) == want
        # And through the binary state, as Dask does across processes.
        assert fk.Report.from_bytes(merged.to_bytes()).to_json(full=True) == want
        merged.close()


def test_cli_memory_budget_flag(tmp_path):
    p = tmp_path / "a.txt"
    write_corpus(p, 2000, seed=8)
    outs = []
    for budget in ("1", "none"):
        o = tmp_path / f"r{budget}.json"
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "ferrokern",
                "report",
                str(p),
                "--full",
                "-o",
                str(o),
                "--no-progress",
                "--memory-budget",
                budget,
                "--spill-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
        outs.append(o.read_text())
        assert ("spilled" in r.stderr) == (budget == "1"), r.stderr
    assert outs[0] == outs[1]
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "r1.json", "rnone.json"]
    r = subprocess.run(
        [sys.executable, "-m", "ferrokern", "report", str(p), "--memory-budget", "lots"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "not a size" in r.stderr


FULL_DISK = r"""
import resource, signal, sys
import ferrokern as fk
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # EFBIG instead of a kill, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
r = fk.Report(memory_budget=1, chunk_size=4096, spill_dir=sys.argv[2])
try:
    r.feed_file(sys.argv[1])
except OSError as e:
    print("ERROR", e)
print("COMPLETE", r.complete)
"""


def test_a_full_disk_while_spilling_is_a_clear_error(tmp_path):
    p = tmp_path / "a.txt"
    write_corpus(p, 4000, seed=2)
    spill = tmp_path / "spill"
    spill.mkdir()
    r = subprocess.run([sys.executable, "-c", FULL_DISK, str(p), str(spill)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "cannot spill the report's state to" in r.stdout, r.stdout
    assert "/a.txt" not in r.stdout  # the error is about the spill directory, not the input
    assert "File too large" in r.stdout or "No space" in r.stdout, r.stdout
    assert "COMPLETE False" in r.stdout
    assert os.listdir(spill) == []


# The same with a budget between one chunk's maps and the whole state, the path of a real
# run: the feed spills ahead, each spill on the helper thread `ferrokern-spill` while the
# next chunks merge, and that thread's write error must come back as the feed's error.
# One library thread (FERROKERN_THREADS=1, set by the test) fixes the budget's split.
HELPER_FULL_DISK = r"""
import resource, signal, sys
import ferrokern as fk
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path, spill, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
chunk, state = 4096, 96 << 10
budget = (5 * 1 + 2) * chunk + 2 * state
if limit:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
r = fk.Report(memory_budget=budget, chunk_size=chunk, spill_dir=spill)
try:
    r.feed_file(path)
except OSError as e:
    print("ERROR", e)
print("COMPLETE", r.complete, "SPILLED", r.spilled_bytes)
"""


def test_a_full_disk_while_the_helper_thread_spills_is_a_clear_error(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("".join(f"user{i:x} {i} mail u{i}@x{i % 7}.com tag{i % 50} 5\n" for i in range(6000)))
    spill = tmp_path / "spill"
    spill.mkdir()
    env = {**os.environ, "FERROKERN_THREADS": "1"}

    def run(limit: int) -> str:
        cmd = [sys.executable, "-c", HELPER_FULL_DISK, str(p), str(spill), str(limit)]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        return r.stdout

    # Without a limit this budget spills several times (so the limit below is passed
    # during the feed, on the helper thread, not by a spill after it).
    out = run(0)
    assert "ERROR" not in out and "COMPLETE True" in out, out
    spilled = int(out.split("SPILLED")[1])
    assert spilled > 20000, out
    out = run(20000)
    assert "cannot spill the report's state to" in out, out
    assert "File too large" in out or "No space" in out, out
    assert "COMPLETE False" in out, out
    assert os.listdir(spill) == []


MERGE_FULL_DISK = r"""
import resource, signal, sys
import ferrokern as fk
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # EFBIG instead of a kill, as on a full disk
a, b, spill = sys.argv[1:4]
# One map, so one spill file (each map spills to its own), and spilled_bytes is its size.
kv = ("kv",)
want = fk.report([a, b], progress=False, memory_budget=0, extractors=kv).to_json(full=True)
state = fk.report(b, progress=False, memory_budget=0, extractors=kv).to_bytes()
dst = fk.Report(memory_budget=1, chunk_size=4096, spill_dir=spill, extractors=kv)
dst.feed_file(a)
before = dst.to_json(full=True)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
# Room for a few bytes more than the spill file holds: the state's run cannot fit, and
# part of it is written before the error.
resource.setrlimit(resource.RLIMIT_FSIZE, (dst.spilled_bytes + 64, hard))
try:
    dst.merge_bytes(state)
    print("MERGED")
except OSError as e:
    print("ERROR", e)
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
print("UNCHANGED", dst.to_json(full=True) == before, dst.complete)
# With room again, the same merge succeeds and reads back exactly (the failed run's bytes
# must not be taken for the start of the next one).
dst.merge_bytes(state)
print("RETRIED", dst.to_json(full=True) == want)
"""


def test_a_full_disk_while_merging_a_state_leaves_the_destination_unchanged(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    write_corpus(a, 2000, seed=11)
    write_corpus(b, 2000, seed=12)
    spill = tmp_path / "spill"
    spill.mkdir()
    r = subprocess.run(
        [sys.executable, "-c", MERGE_FULL_DISK, str(a), str(b), str(spill)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "MERGED" not in r.stdout, r.stdout
    assert "cannot spill the report's state to" in r.stdout, r.stdout
    assert "File too large" in r.stdout or "No space" in r.stdout, r.stdout
    assert "UNCHANGED True True" in r.stdout, r.stdout
    assert "RETRIED True" in r.stdout, r.stdout
    assert os.listdir(spill) == []


def test_cancelled_and_failed_feeds_leave_no_files(tmp_path):
    p = tmp_path / "a.txt"
    write_corpus(p, 3000, seed=6)
    spill = tmp_path / "spill"
    spill.mkdir()
    r = fk.Report(memory_budget=1, chunk_size=4096, spill_dir=spill)

    def stop(done: int, total: int) -> None:
        if done > total // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        r.feed_file(p, progress=stop)
    assert r.spilled_bytes > 0 and not r.complete
    assert os.listdir(spill) == []
    r.close()
    assert os.listdir(spill) == []
    with pytest.raises(OSError, match="spill"):
        fk.Report(memory_budget=1, chunk_size=4096, spill_dir=tmp_path / "missing").feed_file(p)
