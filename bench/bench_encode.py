#!/usr/bin/env python3
"""Encoding many short strs: the package's two ways, A/B in one run (issue 15).

Short texts reach the library as one joined UTF-8 buffer per chunk (`_text._utf8_join`).
Each chunk is either joined first and then encoded (nothing per str), or encoded through
per-str ASCII flags (the Latin-1 trick for a few non-ASCII strs among ASCII ones), and
each chunk picks the next one's way. `_text._JOIN_FIRST = False` takes the flags for
every chunk, as the package did before. This prints, per corpus shape, the encode step
(`_batches` as the pipelined calls slice) and the public `compile(p).findall` and
`extract_emails` end to end, with the flags only (`flags`) and with the adaptive choice
(`adaptive`), round-robin, best of N, collector on:

    PYTHONPATH=bindings/python python bench/bench_encode.py [--lines 1e6] [--repeat 5]

Shapes: bench_tiny.py's log lines (1 % non-ASCII), the same with every line ASCII, with
0.1 % non-ASCII, a third of the lines with CJK, every line with CJK, and 10 % with an
emoji. The machine is shared: compare the two columns of a row, not rows across runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
sys.path.insert(0, str(ROOT / "bench"))

import bench_tiny
import ferrokern
from ferrokern import _text


def shapes(n: int, seed: int) -> dict[str, list[str]]:
    base = bench_tiny.generate(n, seed)
    rng = random.Random(seed)

    def asciified(t: str) -> str:
        return t.encode("ascii", "ignore").decode()

    return {
        "log lines, 1 % non-ASCII": base,
        "all ASCII": [asciified(t) for t in base],
        "0.1 % non-ASCII": [
            t if t.isascii() or rng.random() < 0.1 else asciified(t) for t in base
        ],
        "1/3 with CJK": [t if i % 3 else t + " 用户登录" for i, t in enumerate(base)],
        "all with CJK": [t + " 用户登录" for t in base],
        "10 % with an emoji": [t if i % 10 else t + " 🎉" for i, t in enumerate(base)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--lines", type=float, default=1e6)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args()
    pattern = ferrokern.compile(bench_tiny.FINDALL_PATTERN)
    ref = re.compile(bench_tiny.FINDALL_PATTERN)
    slice_args = (_text.PIPELINE_SLICE_BYTES, _text.PIPELINE_SLICE_TEXTS)
    steps = {
        "encode": lambda ts: list(_text._batches(ts, *slice_args, separated=True)),
        "findall": pattern.findall,
        "extract_emails": ferrokern.extract_emails,
    }
    print(
        "| shape | step | flags | adaptive | flags / adaptive |\n|---|---|---:|---:|---:|"
    )
    for name, texts in shapes(int(args.lines), args.seed).items():
        # Both ways must give the same bytes and results (untimed).
        got = {}
        for way in (False, True):
            _text._JOIN_FIRST = way
            got[way] = (
                [bytes(b.keep[0]) for b in steps["encode"](texts)],
                pattern.findall(texts),
            )
        assert got[False] == got[True], name
        assert got[True][1] == [ref.findall(t) for t in texts], name
        best = {(s, w): float("inf") for s in steps for w in (False, True)}
        for _ in range(args.repeat):
            for s, fn in steps.items():
                for way in (False, True):
                    _text._JOIN_FIRST = way
                    gc.collect()
                    t = time.perf_counter()
                    r = fn(texts)
                    best[s, way] = min(best[s, way], time.perf_counter() - t)
                    del r
        _text._JOIN_FIRST = True
        for s in steps:
            a, b = best[s, False], best[s, True]
            print(
                f"| {name} | {s} | {a * 1e3:.1f} ms | {b * 1e3:.1f} ms | {a / b:.2f} |",
                flush=True,
            )
    print(
        f"\n{int(args.lines):,} lines per shape; best of {args.repeat}; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
