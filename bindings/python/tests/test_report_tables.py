"""Parquet and Arrow IPC inputs of the report (issue 8): one document per row of a string
column, streamed in record batches, nulls invalid; checked against the pure-Python
reference (test_report's ref_extract) on the same rows."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter

import pytest

import ferrokern as fk

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
ipc = pytest.importorskip("pyarrow.ipc")

from test_report import ranked, ref_extract  # noqa: E402


def rows(n: int = 3000, seed: int = 8) -> list[str | None]:
    rng = random.Random(seed)
    pieces = [
        "price 12",
        "价格 ٣٤",
        "Bob@Example.COM",
        "x@y.z",
        "😀",
        "qty  7",
        "数量 3",
        "a@b.c.d@e.fg",
        "k 1b 2",
        "\u212aim@x.org",
        "text",
        "line\nbreak 5",
        "crlf 9\r",
        "",
    ]
    out: list[str | None] = []
    for i in range(n):
        if rng.random() < 0.05:
            out.append(None)
        else:
            out.append(" ".join(rng.choice(pieces) for _ in range(rng.randrange(0, 6))) + f" id {i}")
    return out


def reference(texts: list[str | None], top: int = 20) -> dict:
    totals, emails = Counter(), Counter()
    docs = invalid = 0
    invalid_at = []
    for i, t in enumerate(texts):
        if t is None:
            invalid += 1
            invalid_at.append(i)
            continue
        docs += 1
        kv, em = ref_extract(t)
        totals.update(kv)
        emails.update(em)
    return {
        "lines": len(texts),
        "documents": docs,
        "invalid": invalid,
        "invalid_at": invalid_at[:10],
        "bytes": sum(len(t.encode()) for t in texts if t is not None),
        "kv_top": ranked(totals, top),
        "kv_distinct": len(totals),
        "emails_top": ranked(emails, top),
        "emails_total": sum(emails.values()),
    }


def summary(r) -> dict:
    d = r.to_dict() if isinstance(r, fk.Report) else r
    return {
        "lines": d["lines"],
        "documents": d["documents"],
        "invalid": d["invalid"]["count"],
        "invalid_at": [x["index"] for x in d["invalid"]["lines"]],
        "bytes": d["bytes"],
        "kv_top": d["kv"]["top"],
        "kv_distinct": d["kv"]["distinct"],
        "emails_top": d["emails"]["top"],
        "emails_total": d["emails"]["total"],
    }


def write_all(tmp_path, texts, other=True):
    """The same column as Parquet (several row groups), an Arrow IPC file and stream."""
    cols = {"id": pa.array(range(len(texts)))} if other else {}
    table = pa.table({**cols, "content": pa.array(texts, pa.string())})
    paths = {
        "parquet": tmp_path / "t.parquet",
        "arrow-file": tmp_path / "t.arrow",
        "arrow-stream": tmp_path / "t.arrows",
    }
    pq.write_table(table, paths["parquet"], row_group_size=700)
    with ipc.new_file(paths["arrow-file"], table.schema) as w:
        for b in table.to_batches(max_chunksize=500):
            w.write_batch(b)
    with ipc.new_stream(paths["arrow-stream"], table.schema) as w:
        for b in table.to_batches(max_chunksize=900):
            w.write_batch(b)
    return paths


def test_tables_equal_the_reference_on_the_same_rows(tmp_path):
    texts = rows()
    want = reference(texts)
    for fmt, path in write_all(tmp_path, texts).items():
        assert fk.table_format(path) == fmt
        with fk.report(path, column="content", progress=False) as r:
            assert summary(r) == want, fmt
            assert r["invalid"]["lines"][0]["reason"] == "null value (no text)"
            assert r.complete
        # text_field names the column too (a table holds documents, not JSON lines).
        with fk.report([path, path], text_field="content", progress=False) as r:
            assert r["documents"] == 2 * want["documents"]


def test_table_per_doc_lines_and_only_string_column(tmp_path):
    texts = ["a 1 x@y.org", None, "b 2"]
    paths = write_all(tmp_path, texts, other=False)
    pd = tmp_path / "docs.jsonl"
    with fk.report(paths["parquet"], per_doc=pd, progress=False) as r:  # the only string column
        assert r["lines"] == 3
    lines = [json.loads(x) for x in pd.read_text().splitlines()]
    assert lines == [
        {"kv": {"a": 1}, "emails": ["x@y.org"]},
        {"invalid": "null value (no text)"},
        {"kv": {"b": 2}, "emails": []},
    ]


def test_table_errors(tmp_path):
    paths = write_all(tmp_path, ["a 1"])
    two = tmp_path / "two.parquet"
    pq.write_table(pa.table({"a": ["x 1"], "b": ["y 2"]}), two)
    with pytest.raises(ValueError, match="name the text column"):
        fk.report(two, progress=False)
    with pytest.raises(ValueError, match="no column 'nope'"):
        fk.report(paths["parquet"], column="nope", progress=False)
    with pytest.raises(TypeError, match="not a string column"):
        fk.report(paths["parquet"], column="id", progress=False)
    lines = tmp_path / "l.txt"
    lines.write_text("a 1\n")
    with pytest.raises(ValueError, match="cannot be mixed"):
        fk.report([paths["parquet"], lines], progress=False)
    with fk.Report(text_field="content") as r, pytest.raises(ValueError, match="without text_field"):
        r.feed_table(paths["parquet"])


def test_cli_reads_parquet(tmp_path):
    texts = rows(500)
    paths = write_all(tmp_path, texts)
    out = tmp_path / "r.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "ferrokern",
            "report",
            "--no-progress",
            str(paths["parquet"]),
            "--column",
            "content",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert summary(json.loads(out.read_text())) == reference(texts)
