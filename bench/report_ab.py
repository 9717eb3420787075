"""A/B throughput of two builds of the library on the same corpus files, runs alternated
(issue 8): on a shared machine the load changes from minute to minute, so each round runs
the Python reference once and then every job with library A and library B back to back;
ratios are against that round's reference. Prints the median and range over the rounds.

Usage: PYTHONPATH=bindings/python python bench/report_ab.py LIB_A LIB_B PLAIN_FILE GZIP_FILE
       [--field content] [--rounds 3] [--ref-mb 8]
(the corpus from bench/corpus.py, e.g. ``python -c "import corpus; corpus.generate('social',
'/tmp/s.txt', 100_000_000)"`` in bench/, and ``gzip -1 -c /tmp/s.txt > /tmp/s.1.gz``)."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = str(HERE / "bench_report.py")


def job(lib: str | None, *args: object) -> dict:
    import json

    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "bindings" / "python"))
    if lib:
        env["FERROKERN_LIBRARY"] = lib
    p = subprocess.run([sys.executable, BENCH, "--job", *map(str, args)], capture_output=True, text=True,
                       env=env, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("lib_a")
    ap.add_argument("lib_b")
    ap.add_argument("plain")
    ap.add_argument("gz")
    ap.add_argument("--field", default="content")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ref-mb", type=int, default=8)
    a = ap.parse_args()
    runs = [("plain", a.plain, 0), ("plain, 1 thread", a.plain, 1), ("gzip", a.gz, 0)]
    ratios: dict[tuple[str, str], list[float]] = {}
    for r in range(a.rounds):
        load = os.getloadavg()[0]
        ref = job(None, "reference", a.plain, a.ref_mb * 1_000_000, a.field)
        ref_rate = ref["bytes"] / ref["seconds"]
        print(f"round {r + 1}: load {load:.2f}, reference {ref_rate / 1e6:.1f} MB/s", file=sys.stderr)
        for name, path, threads in runs:
            for lib_name, lib in (("A", a.lib_a), ("B", a.lib_b)):
                d = job(lib, "ferrokern", path, a.field, threads, "-")
                rate = d["bytes"] / d["seconds"]
                ratios.setdefault((name, lib_name), []).append(rate / ref_rate)
                print(f"  {name} {lib_name}: {rate / 1e6:.0f} MB/s, {rate / ref_rate:.1f}x", file=sys.stderr)
    print(f"| run | A ({a.lib_a}) | B ({a.lib_b}) |\n|---|---:|---:|")
    for name, _, _ in runs:
        cells = []
        for lib_name in "AB":
            v = ratios[(name, lib_name)]
            cells.append(f"{statistics.median(v):.1f}× ({min(v):.1f}–{max(v):.1f})")
        print(f"| {name} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
