#!/usr/bin/env python3
"""Arrow in -> Arrow out (issue 10): ferrokern against the pure-Python reference and against
polars' own str.extract_all / extract_groups pipelines, in one run, as ratios; and a peak-RSS
check of a large column through Arrow in/out.

    PYTHONPATH=bindings/python python bench/bench_arrow.py             # 20 MB corpus, 1 GB RSS check
    PYTHONPATH=bindings/python python bench/bench_arrow.py --quick     # 4 MB, 0.2 GB

Corpus: the dense shape of issue 10 (~400-byte documents, ~5 `key value` pairs and ~3 emails
each). Contenders run round-robin and the best of N is kept. The reference consumes
list[str] and builds Python objects (that is what it is); ferrokern and polars consume the
Arrow column and produce an Arrow column.

The polars pipelines compute the same things as far as polars can: emails exactly (lowercase
+ extract_all); kv sums as a long table (explode + extract_groups + group_by(row, key) sum),
with int64 sums (polars overflows/raises past 64 bits where the reference and ferrokern stay
exact) and Rust-regex \\d (ASCII-only digits unless Unicode; the reference's int() takes any
Unicode digit).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bindings" / "python"))

import pyarrow as pa  # noqa: E402
import polars as pl  # noqa: E402

import ferrokern  # noqa: E402
from ferrokern import reference  # noqa: E402

KEYS = [
    "price",
    "qty",
    "count",
    "total",
    "items",
    "score",
    "age",
    "year",
    "id",
    "user_id",
    "page",
    "level",
]
WORDS = "the of and to in is that for it as was with be by on not this are or from at order shipment invoice".split()
DOMAINS = ["example.com", "mail.org", "corp.co.uk", "post.de", "uni.edu"]


def dense_corpus(target_bytes: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    docs, size = [], 0
    while size < target_bytes:
        parts: list[str] = []
        for _ in range(5):
            parts.append(
                f"{rng.choice(KEYS)} {rng.randrange(10 ** rng.randrange(1, 7))}"
            )
        for _ in range(3):
            parts.append(
                f"{rng.choice(WORDS)}.{rng.choice(WORDS)}{rng.randrange(100)}@{rng.choice(DOMAINS)}".title()
            )
        while sum(map(len, parts)) < 330:
            parts.append(rng.choice(WORDS))
        rng.shuffle(parts)
        d = " ".join(parts)
        docs.append(d)
        size += len(d) + 1
    return docs


EMAIL = r"[a-z0-9\.\-+_]+@[a-z0-9\.\-+_]+\.[a-z]+"
KV = r"(\w+)\s+(\d+)"


def polars_emails(s: pl.Series) -> pl.Series:
    return s.str.to_lowercase().str.extract_all(EMAIL)


def polars_kv(s: pl.Series) -> pl.DataFrame:
    return (
        pl.DataFrame({"t": s})
        .with_row_index("row")
        .select("row", m=pl.col("t").str.extract_all(KV))
        .explode("m")
        .drop_nulls("m")
        .select("row", g=pl.col("m").str.extract_groups(KV))
        .unnest("g")
        .group_by("row", "1", maintain_order=True)
        .agg(pl.col("2").cast(pl.Int64).sum())
    )


def best(fns: dict[str, object], reps: int) -> dict[str, float]:
    times = {k: float("inf") for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            gc.collect()
            t0 = time.perf_counter()
            f()  # type: ignore[operator]
            times[k] = min(times[k], time.perf_counter() - t0)
    return times


def _rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf(
        "SC_PAGE_SIZE"
    )


def _peak_during(fn: object) -> tuple[object, int, int]:
    """Run fn(); return its result, the RSS before, and the peak RSS sampled (every ~1 ms
    from another thread, the GIL being released by the library) while it ran."""
    import threading

    before, peak, done = _rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.001)

    t = threading.Thread(target=sample)
    t.start()
    try:
        out = fn()  # type: ignore[operator]
    finally:
        done.set()
        t.join()
    return out, before, max(peak[0], _rss())


def rss_child(gb: float, kind: str) -> None:
    """Run in a fresh process (one per column kind, so memory freed by an earlier
    measurement and kept by the allocator cannot hide this one's peak): peak RSS of a big
    column through Arrow in -> Arrow out."""
    base = pa.array(dense_corpus(4 << 20, seed=11), type=pa.large_string())
    reps = max(1, int(gb * 1e9 / base.nbytes))
    column: object = pa.concat_arrays([base] * reps)  # one contiguous column
    del base
    label = "pyarrow large_string"
    if kind == "polars":
        # polars' own layout (string views), converted before the measurement.
        column, label = pl.Series("t", column), "polars String (string views)"
    gc.collect()
    in_bytes = column.nbytes if hasattr(column, "nbytes") else column.estimated_size()  # type: ignore[attr-defined]
    out, before, peak = _peak_during(
        lambda c=column: ferrokern.extract_emails(c, output="arrow")
    )
    out_bytes = out.nbytes  # type: ignore[attr-defined]
    chunks = getattr(out, "num_chunks", 1)
    added = peak - before
    limit = out_bytes + 0.10 * in_bytes
    print(
        f"peak RSS, {label} column of {in_bytes / 1e9:.2f} GB -> extract_emails(output='arrow') "
        f"({type(out).__name__}, {chunks} chunks): "
        f"RSS before {before / 1e6:.0f} MB (input resident), peak during the call {peak / 1e6:.0f} MB, "
        f"added {added / 1e6:.0f} MB vs output {out_bytes / 1e6:.0f} MB + 10% of input = "
        f"{limit / 1e6:.0f} MB: {'OK' if added <= limit else 'OVER'}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--mb", type=float, default=None)
    ap.add_argument("--rss-gb", type=float, default=None)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rss-child", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--rss-kind", default="pyarrow", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.rss_child is not None:
        rss_child(a.rss_child, a.rss_kind)
        return
    mb = a.mb or (4 if a.quick else 20)
    docs = dense_corpus(int(mb * 1e6))
    arr = pa.array(docs, type=pa.large_string())
    ser = pl.Series("t", docs)
    print(
        f"dense corpus: {len(docs)} documents, {sum(map(len, docs)) / 1e6:.1f} MB, threads {ferrokern.threads()}"
    )
    # Same answers first (the benchmark compares equal work).
    assert ferrokern.extract_emails(
        arr, output="arrow"
    ).to_pylist() == reference.extract_emails(docs)
    assert polars_emails(ser).to_list() == reference.extract_emails(docs)
    kv_arrow = ferrokern.extract_and_aggregate(arr, output="arrow")
    assert [
        {e["key"]: e["value"] for e in r} for r in kv_arrow.to_pylist()
    ] == reference.extract_and_aggregate(docs)

    rows = []
    for what, ref, fk_pa, fk_pl, polars_fn in (
        (
            "emails",
            lambda: reference.extract_emails(docs),
            lambda: ferrokern.extract_emails(arr, output="arrow"),
            lambda: ferrokern.extract_emails(ser, output="polars"),
            lambda: polars_emails(ser),
        ),
        (
            "kv",
            lambda: reference.extract_and_aggregate(docs),
            lambda: ferrokern.extract_and_aggregate(arr, output="arrow"),
            lambda: ferrokern.extract_and_aggregate(ser, output="polars"),
            lambda: polars_kv(ser),
        ),
    ):
        t = best(
            {
                "reference": ref,
                "fk pyarrow->arrow": fk_pa,
                "fk polars->polars": fk_pl,
                "polars": polars_fn,
            },
            a.reps,
        )
        rows.append((what, t))
    print()
    print(
        "| kernel | reference | polars pipeline | fk pyarrow->arrow | fk polars->polars | vs reference | vs polars |"
    )
    print("|---|---|---|---|---|---|---|")
    targets = {"kv": 60, "emails": 15}
    for what, t in rows:
        fk = min(t["fk pyarrow->arrow"], t["fk polars->polars"])
        print(
            f"| {what} | {t['reference'] * 1e3:.0f} ms | {t['polars'] * 1e3:.0f} ms | "
            f"{t['fk pyarrow->arrow'] * 1e3:.1f} ms | {t['fk polars->polars'] * 1e3:.1f} ms | "
            f"{t['reference'] / fk:.1f}x (target {targets[what]}x) | {t['polars'] / fk:.1f}x |"
        )
    gb = a.rss_gb if a.rss_gb is not None else (0.2 if a.quick else 1.0)
    if gb > 0:
        print()
        for kind in ("pyarrow", "polars"):
            subprocess.run(
                [sys.executable, __file__, "--rss-child", str(gb), "--rss-kind", kind],
                check=True,
            )


if __name__ == "__main__":
    main()
