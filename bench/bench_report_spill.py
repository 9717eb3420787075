"""Benchmark of the report at high key cardinality (issue 9), one machine.

Generates on demand (bench/gen_cardinality.py) a corpus where every line brings a new kv
key and a new email (`user<random> <n> mail u<random>@x<k>.com tag<i%1000> 5`), and the
low-cardinality corpus of the same line shape and size, then measures, each in its own
subprocess (peak RSS is that job's own ru_maxrss):

* low cardinality, default budget (the throughput baseline);
* high cardinality with the default memory budget (spills) and with no limit (in memory):
  peak RSS, spill volume, throughput, and whether the two full reports are identical
  (SHA-256 of the full JSON, written to a file by write_json);
* middle cardinality (--mid, 200 K distinct users and emails by default, each on about ten
  lines spread over the file: keys that repeat across chunks but are too many for the
  cache), default budget;
* with --shapes: the same jobs on other key shapes (gen_cardinality.py's `--shape`:
  `prefix` keys sharing 35 bytes, `short` handles, `cjk` words in JSON lines with `\\u`
  escapes), each against its own low-cardinality corpus;
* with --dask: ferrokern.dask.report on a LocalCluster of 2 worker processes against
  ferrokern.report in one process, on --dask-lines lines (1.15 M distinct keys by default),
  identical full reports required.

Usage: PYTHONPATH=bindings/python python bench/bench_report_spill.py [--lines 2000000] [--dask-only]
       [--dask] [--dask-lines 1150000] [--dir /tmp] [--corpus-dir DIR] [--rounds 3] [--mid 200000]
       [--shapes hex,prefix,short,cjk]
Each job runs --rounds times, one after another in every round; the table gives
medians and every round's figure, and the ratios are taken within each round (a shared
machine moves one run's throughput by a third: single runs of the ratio ranged 38-55 %).
The issue's size is --lines 20000000 (20 M distinct keys + 20 M distinct emails, ~1.2 GB).
--corpus-dir keeps the corpora (DIR/hi-LINES.txt, DIR/lo-LINES.txt, DIR/midN-LINES.txt; another
shape's names start with `SHAPE-`) and reuses them when they exist, so repeated runs at 20 M
lines do not spend minutes generating them again; delete them yourself afterwards.
Prints a markdown table per shape (figures are of this run, on this machine) and writes them
to bench/out/report-spill.md."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_report import warm  # reads a job's input into the page cache
from gen_cardinality import SHAPES, generate  # noqa: E402

JOB = r"""
import hashlib, json, resource, sys, time
import ferrokern as fk
path, budget, out, field = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] or None
budget = None if budget == "default" else int(budget)
t = time.perf_counter()
r = fk.report(path, progress=False, memory_budget=budget, text_field=field)
feed = time.perf_counter() - t
t = time.perf_counter()
top = r.to_json()
summary = time.perf_counter() - t
r.write_json(out, full=True, indent=False)
h = hashlib.sha256()
with open(out, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
print(json.dumps({"feed_s": feed, "summary_s": summary, "spilled": r.spilled_bytes,
                  "distinct": r["kv"]["distinct"], "emails": r["emails"]["distinct"],
                  "sha": h.hexdigest(),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

DASK_JOB = r"""
import json, sys, time
import ferrokern as fk, ferrokern.dask
from dask.distributed import Client, LocalCluster
path = sys.argv[1]
t = time.perf_counter()
with fk.report(path, progress=False) as r:
    want = r.to_json(full=True)
local = time.perf_counter() - t
with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as c, Client(c) as cl:
    cl.run(lambda: __import__("ferrokern"))   # workers import the library before the clock starts
    t = time.perf_counter()
    with ferrokern.dask.report(path, client=cl, split_bytes=16 << 20) as r:
        got = r.to_json(full=True)
    dask_s = time.perf_counter() - t
print(json.dumps({"local_s": local, "dask_s": dask_s, "identical": got == want}))
"""


def run(code: str, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "bindings" / "python"))
    # check=False: a failed job exits below with its stderr.
    r = subprocess.run(
        [sys.executable, "-c", code, *args], check=False, capture_output=True, text=True, env=env
    )
    if r.returncode:
        raise SystemExit(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--dask", action="store_true")
    ap.add_argument("--dask-lines", type=int, default=1_150_000)
    ap.add_argument(
        "--dask-only",
        action="store_true",
        help="only the Dask comparison (implies --dask)",
    )
    ap.add_argument("--dir", default=None)
    ap.add_argument("--corpus-dir", default=None)
    ap.add_argument(
        "--mid",
        type=int,
        default=200_000,
        help="distinct users and emails of the middle-cardinality corpus (0: no such run)",
    )
    ap.add_argument(
        "--shapes",
        default="hex",
        help=f"comma-separated corpus shapes, of {', '.join(SHAPES)} (gen_cardinality.py)",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="times each job runs (medians; on a shared machine one run's throughput moves by a third)",
    )
    a = ap.parse_args()
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    if a.dask_only:
        with tempfile.TemporaryDirectory(dir=a.dir) as d:
            dask_compare(a, d)
        return
    shapes = a.shapes.split(",")
    for shape in shapes:
        if shape not in SHAPES:
            ap.error(f"unknown shape {shape!r} (one of {', '.join(SHAPES)})")
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        tables, same = [], True
        for shape in shapes:
            table, ok = run_shape(a, shape, d)
            print(table)
            tables.append(table)
            same = same and ok
        out = HERE / "out" / "report-spill.md"
        out.parent.mkdir(exist_ok=True)
        out.write_text("".join(tables))
        print(f"\nwrote {out}")
        if a.dask:
            dask_compare(a, d)
        if not same:
            raise SystemExit(1)


def run_shape(a: argparse.Namespace, shape: str, d: str) -> tuple[str, bool]:
    """Run the jobs on the corpora of `shape` (generated in `d` or --corpus-dir): the
    markdown table, and whether the full reports of the spilling and in-memory runs were
    identical in every round."""
    keep = Path(a.corpus_dir) if a.corpus_dir else None
    base = keep or Path(d)
    name = "" if shape == "hex" else f"{shape}-"
    hi, lo, mid, out = (
        base / f"{name}hi-{a.lines}.txt",
        base / f"{name}lo-{a.lines}.txt",
        base / f"{name}mid{a.mid}-{a.lines}.txt",
        str(Path(d) / "out.json"),
    )
    field = "text" if shape == "cjk" else ""
    corpora = [(hi, None), (lo, 1000)] + ([(mid, a.mid)] if a.mid else [])
    for path, distinct in corpora:
        if keep is None or not path.exists():
            generate(str(path), a.lines, distinct=distinct, shape=shape)
    size = hi.stat().st_size
    jobs = [
        ("low cardinality, default budget", lo, "default"),
        ("high cardinality, default budget (200 MiB)", hi, "default"),
        ("high cardinality, no limit (in memory)", hi, "0"),
    ]
    if a.mid:
        jobs.append(
            (
                f"middle cardinality ({a.mid:,} distinct), default budget",
                mid,
                "default",
            )
        )
    # rounds[r][j]: job j's result in round r. The jobs run one after another in every
    # round, so a ratio of two jobs of one round compares runs seconds apart.
    load_before = os.getloadavg()[0]
    def job(path: Path, budget: str) -> dict:
        warm(path)
        return run(JOB, str(path), budget, out, field)

    rounds = [[job(path, budget) for _, path, budget in jobs] for _ in range(a.rounds)]
    # The machine's load before and after: a shared machine's other tenants move every
    # figure (the ratios, taken within each round, less so).
    load = f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f}"
    rows = [(name, [r[j] for r in rounds]) for j, (name, _, _) in enumerate(jobs)]
    lines = [
        (
            f"\nshape `{shape}`: {a.lines:,} lines, {size / 1e6:,.0f} MB; {os.cpu_count()} cores; "
            f"{a.rounds} rounds; {load}\n"
        ),
        "| run | peak RSS | spilled | feed MB/s, median (each round) | top-20 summary | distinct keys / emails |",
        "|---|---|---|---|---|---|",
    ]
    for name, ms in rows:
        m = ms[0]
        each = ", ".join(f"{size / 1e6 / x['feed_s']:,.0f}" for x in ms)
        lines.append(
            f"| {name} | {max(x['rss_mb'] for x in ms):,.0f} MB | {m['spilled'] / 1e6:,.1f} MB "
            f"| {size / 1e6 / median([x['feed_s'] for x in ms]):,.1f} ({each}) "
            f"| {median([x['summary_s'] for x in ms]):.2f} s | {m['distinct']:,} / {m['emails']:,} |"
        )
    lines.append("")
    for j, (name, _, _) in enumerate(jobs[1:], 1):
        # job j's throughput / low-cardinality throughput, round by round
        rs = [r[0]["feed_s"] / r[j]["feed_s"] for r in rounds]
        lines.append(
            f"{name}: throughput / low: median {median(rs):.0%} "
            f"(rounds: {', '.join(f'{x:.0%}' for x in rs)})"
        )
    shas = {x["sha"] for _, ms in rows[1:3] for x in ms}
    same = len(shas) == 1
    lines.append(
        f"full reports, default budget vs in memory, every round: {'identical' if same else 'DIFFERENT'} "
        f"(sha256 {rounds[0][1]['sha'][:16]}…)"
    )
    if keep is None:
        for path, _ in corpora:
            path.unlink()
    return "\n".join(lines) + "\n", same


def dask_compare(a: argparse.Namespace, d: str) -> None:
    keep = Path(a.corpus_dir) if a.corpus_dir else None
    dk = (keep or Path(d)) / f"dask-{a.dask_lines}.txt"
    if keep is None or not dk.exists():
        generate(str(dk), a.dask_lines, seed=7)
    warm(dk)
    m = run(DASK_JOB, str(dk))
    print(
        f"\nDask, {a.dask_lines:,} distinct keys, 2 workers: {m['dask_s']:.1f} s vs one process "
        f"{m['local_s']:.1f} s ({m['dask_s'] / m['local_s']:.2f}x), "
        f"reports {'identical' if m['identical'] else 'DIFFERENT'}"
    )
    if not m["identical"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
