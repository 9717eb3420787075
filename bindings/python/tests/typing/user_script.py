"""A user's script over the public API. tests/test_typing.py runs `mypy --strict` on it:
it must type-check cleanly (it is never run; the paths need not exist)."""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import NDArray

import ferrokern
from ferrokern import Pattern, Report, report

texts: list[str] = ["apples 3 pears 5", "Bob@Example.com"]
kv: list[dict[str, int]] = ferrokern.extract_and_aggregate(texts)
emails: list[list[str]] = ferrokern.extract_emails(texts)

with ferrokern.compile(r"(\w+)\s+(\d+)", re.IGNORECASE) as p:
    assert isinstance(p, Pattern) and p.groups == 2
    matches: list[list[str | tuple[str, ...]]] = p.findall(texts, lower=True)
    counts: list[int] = p.count(texts)
    into: NDArray[np.uint64] = p.count(texts, out=np.zeros(len(texts), dtype=np.uint64))
    sums: list[dict[str, int]] = p.sum_by_key(texts)
    freq: list[tuple[str, int]] = p.frequencies(texts, group=1, top=3)
    print(p.pattern, p.ignore_case, matches, counts, into, sums, freq)

total: float = ferrokern.sum([0.1] * 10) + ferrokern.sum(np.ones(3))
primes: int = ferrokern.count_primes(10**6)
img = np.zeros((8, 8), dtype=np.uint8)
mag = ferrokern.sobel(img, border="reflect101", dtype=np.float64)
m, gx, gy = ferrokern.sobel(img, gradients=True)
rgb = np.zeros((8, 8, 3), dtype=np.uint8)
gray = ferrokern.grayscale(rgb)
edges = ferrokern.edges(rgb, "replicate", out=np.empty((8, 8), dtype=np.float32))
y: float = float(ferrokern.polyval([1.0, 2.0], 3.0))
ys: NDArray[np.float64] = ferrokern.polyval([1.0, 2.0], np.arange(3.0))
print(kv, emails, total, primes, mag.shape, m + gx + gy, gray.dtype, edges.max(), y, ys)

with report(["day1.jsonl.gz"], text_field="text", patterns={"users": r"(\w+)@"}, progress=None) as r:
    top: list[list[object]] = r["kv"]["top"]
    full: str = r.to_json(full=True)
    with Report.from_json(full) as again:
        r.merge(again)
    r.write_json("report.json")
    print(top, r.complete, len(r), r.to_dict()["documents"])

with Report(extractors=["kv"]) as fed:
    fed.add_pattern("n", r"\d+", mode="count")
    fed.feed_texts(texts).feed_file("more.txt", progress=lambda done, total: None)

try:
    ferrokern.set_threads(2)
except ferrokern.DataError as err:
    status: int = err.status
except ferrokern.Error as err:
    print(err.status)

distributed = ferrokern.dask.report(["/shared/a.jsonl"], text_field="text", split_bytes=1 << 20)
version: str = f"{ferrokern.__version__} {ferrokern.library_version} {ferrokern.threads()}"
