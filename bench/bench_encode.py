#!/usr/bin/env python3
"""Encoding many short strs: the package's two ways, and the library reading the strs in
place, A/B/C in one run (issue 15).

Short texts reach the library as one joined UTF-8 buffer per chunk (`_text._utf8_join`).
Each chunk is either joined first and then encoded (nothing per str), or encoded through
per-str ASCII flags (the Latin-1 trick for a few non-ASCII strs among ASCII ones), and
each chunk picks the next one's way. `_text._JOIN_FIRST = False` takes the flags for
every chunk, as the package did before. This prints, per corpus shape, the encode step
(`_batches` as the pipelined calls slice) and the public `compile(p).findall` and
`extract_emails` end to end (beside the reference, `re.findall` per text and
`ferrokern.reference.extract_emails`), with the flags only (`flags`) and with the adaptive choice
(`adaptive`), and with the library reading the strs in place (`in place`,
FK_OFFSETS_PY_STRS: `encode` is then only the slicing, the UTF-8 is made in the job),
round-robin, best of N, collector on:

    PYTHONPATH=bindings/python python bench/bench_encode.py [--lines 1e6] [--repeat 5]

Shapes: bench_tiny.py's log lines (1 % non-ASCII), the same with every line ASCII, with
0.1 % non-ASCII, a third of the lines with CJK, every line with CJK, and 10 % with an
emoji, and lines of ~120-250 characters (four log lines joined). The machine is shared:
compare the columns of a row, not rows across runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
sys.path.insert(0, str(ROOT / "bench"))

import bench_tiny
import ferrokern
from ferrokern import _text
from ferrokern.reference import extract_emails as ref_extract_emails


def shapes(n: int, seed: int) -> Iterator[tuple[str, list[str]]]:
    """The corpora, made one at a time (each is dropped before the next is made: the
    reference's time depends on how many objects the collector has to walk)."""
    rng = random.Random(seed)

    def asciified(t: str) -> str:
        return t.encode("ascii", "ignore").decode()

    makers: dict[str, Callable[[list[str]], list[str]]] = {
        "log lines, 1 % non-ASCII": lambda base: base,
        "all ASCII": lambda base: [asciified(t) for t in base],
        "0.1 % non-ASCII": lambda base: [t if t.isascii() or rng.random() < 0.1 else asciified(t) for t in base],
        "1/3 with CJK": lambda base: [t if i % 3 else t + " 用户登录" for i, t in enumerate(base)],
        "all with CJK": lambda base: [t + " 用户登录" for t in base],
        "10 % with an emoji": lambda base: [t if i % 10 else t + " 🎉" for i, t in enumerate(base)],
        "~180 characters": lambda base: [" ".join(base[i : i + 4]) for i in range(0, n, 4)],
    }
    for name, make in makers.items():
        texts = make(bench_tiny.generate(n, seed))
        gc.collect()
        yield name, texts
        del texts


#: The ways compared: (name, `_JOIN_FIRST`, `_STRS_IN_PLACE`).
WAYS = [("flags", False, False), ("adaptive", True, False), ("in place", True, True)]


def _utf8(data: bytes | str) -> bytes:
    """A batch's UTF-8: bytes, or a str of one byte per character that holds it."""
    return data.encode("latin-1") if isinstance(data, str) else bytes(data)


def _way(join_first: bool, in_place: bool) -> None:
    _text._JOIN_FIRST = join_first
    _text._STRS_IN_PLACE = in_place


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
    refs = {
        "findall": lambda ts: [ref.findall(t) for t in ts],
        "extract_emails": ref_extract_emails,
    }
    print(
        "| shape | step | flags | adaptive | in place | flags / adaptive | adaptive / in place "
        "| reference | reference / in place |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    for name, texts in shapes(int(args.lines), args.seed):
        # Every way must give the same results, and the two encodes the same bytes (untimed).
        got = {}
        for way, join_first, in_place in WAYS:
            _way(join_first, in_place)
            batches = steps["encode"](texts)
            got[way] = (
                None if in_place else [_utf8(b.keep[0]) for b in batches],
                pattern.findall(texts),
                ferrokern.extract_emails(texts),
            )
        assert got["flags"] == got["adaptive"], name
        assert got["in place"][1:] == got["adaptive"][1:], name
        assert got["adaptive"][1] == [ref.findall(t) for t in texts], name
        del got, batches
        best = {(s, w[0]): float("inf") for s in steps for w in WAYS}
        best.update({(s, "reference"): float("inf") for s in refs})
        for _ in range(args.repeat):
            for s, fn in steps.items():
                for way, join_first, in_place in WAYS:
                    _way(join_first, in_place)
                    gc.collect()
                    t = time.perf_counter()
                    r = fn(texts)
                    best[s, way] = min(best[s, way], time.perf_counter() - t)
                    del r
                if s in refs:
                    gc.collect()
                    t = time.perf_counter()
                    r = refs[s](texts)
                    best[s, "reference"] = min(best[s, "reference"], time.perf_counter() - t)
                    del r
        _way(True, True)
        for s in steps:
            a, b, c = (best[s, w[0]] for w in WAYS)
            r = best.get((s, "reference"))
            vs_ref = f"{r * 1e3:.1f} ms | **{r / c:.1f}×**" if r is not None else "|"
            print(
                f"| {name} | {s} | {a * 1e3:.1f} ms | {b * 1e3:.1f} ms | {c * 1e3:.1f} ms | {a / b:.2f} | {b / c:.2f} "
                f"| {vs_ref} |",
                flush=True,
            )
    print(
        f"\n{int(args.lines):,} lines per shape; best of {args.repeat}; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
