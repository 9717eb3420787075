"""ferrokern.dask.report on a real LocalCluster (2 worker processes) gives the single-process
report, byte for byte, for byte-range splits of plain files and whole gzip files."""

from __future__ import annotations

import gzip
import random

import pytest

import ferrokern as fk

distributed = pytest.importorskip("dask.distributed")
from test_report import write_corpus, write_jsonl  # noqa: E402

import ferrokern.dask  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def test_plan_splits_plain_files_and_keeps_gzip_whole(tmp_path):
    a = tmp_path / "a.txt"
    a.write_bytes(b"x" * 2500)
    g = tmp_path / "g.gz"
    g.write_bytes(gzip.compress(b"a 1\n"))
    e = tmp_path / "e.txt"
    e.write_bytes(b"")
    assert ferrokern.dask.plan([a, g, e], split_bytes=1000) == [
        (str(a), 0, 1000),
        (str(a), 1000, 2000),
        (str(a), 2000, 2500),
        (str(g), 0, None),
        (str(e), 0, None),
    ]
    with pytest.raises(FileNotFoundError):
        ferrokern.dask.plan([tmp_path / "missing"])


def test_cluster_report_equals_single_process(client, tmp_path):
    plain = tmp_path / "a.txt"
    write_corpus(plain, 6000, seed=21)
    gz = tmp_path / "b.txt.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()[:50_000]))
    paths = [plain, gz, plain]
    pats = {"at": (r"(\w+)@", "findall"), "n": (r"\d", "count")}
    with fk.report(paths, patterns=pats, totals=True, progress=False) as local:
        want = local.to_json(full=True)
    for split in (7_919, 100_000):
        with ferrokern.dask.report(paths, client=client, patterns=pats, totals=True, split_bytes=split) as r:
            assert r.to_json(full=True) == want, split


def test_cluster_json_lines(client, tmp_path):
    p = tmp_path / "d.jsonl"
    write_jsonl(p, 3000, seed=22)
    with fk.report(p, text_field="text", progress=False) as local:
        want = local.to_json(full=True)
    with ferrokern.dask.report([p], client=client, text_field="text", split_bytes=30_000) as r:
        assert r.to_json(full=True) == want


def test_cluster_failure_is_raised_not_merged(client, tmp_path):
    data = gzip.compress(random.Random(1).randbytes(200_000))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(fk.DataError, match="truncated gzip"):
        ferrokern.dask.report([cut], client=client)
