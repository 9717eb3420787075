#!/usr/bin/env python3
"""Tiny-texts benchmark for issue 15: one document per log line.

Millions of 20-60-byte lines, most without a match, a few percent with one email or one
`word number` pair (and one `user=` field for the findall pattern), as a log pipeline
feeds them. The cyclic garbage collector stays ON with its default thresholds, as users
have it: the per-text results are millions of small objects, and what the collector does
while they are built is part of what a user pays.

    PYTHONPATH=bindings/python python bench/bench_tiny.py             # 1 M lines (~1 min)
    PYTHONPATH=bindings/python python bench/bench_tiny.py --lines 4e6 # the issue's scale
    PYTHONPATH=bindings/python python bench/bench_tiny.py --shape dense
        # issue 10 item 4: 52 k ~400-byte documents, ~5 kv pairs and ~3 emails each (~20 MB)

For each call (extract_emails, compile(p).findall, extract_and_aggregate) it prints the
reference's time and ferrokern's steps, each timed on its own (best of N, round-robin):
encode (list[str] -> the UTF-8 slices the library reads), kernel (the library jobs on
those slices, GIL released: the kernel and, where the package asks for one, the result's
pickle stream, as a job's thread does in a real call), convert (this thread's part: the
results as Python lists/dicts, unpickled from the streams or built from the views) and total
(the public call end to end; encoding, kernel and conversion of neighbouring slices are
pipelined, so total is less than the sum), and beside convert the CPython floor: building
the same result objects from ready-made Python lists (`[dict(x) for x in pairs]`,
`[list(x) for x in tuples]`) in the same run. Writes a markdown table to bench/out/tiny.md
(dense.md with --shape dense). On the shared 2-core machine the figures swing by 2x from
run to run; run it several times and compare medians.
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

import ferrokern  # noqa: E402
from ferrokern import _text  # noqa: E402
from ferrokern._native import lib  # noqa: E402
from ferrokern.reference import extract_and_aggregate as ref_extract_and_aggregate  # noqa: E402
from ferrokern.reference import extract_emails as ref_extract_emails  # noqa: E402

#: The "simple pattern" of the findall row: one group, a few percent of lines match.
FINDALL_PATTERN = r"user=(\w+)"

# --------------------------------------------------------------------------------------
# Corpus: log lines without digits after whitespace (so `(\w+)\s+(\d+)` does not match),
# no '@' and no 'user=' unless a line is meant to match.

LEVELS = ["INFO", "WARN", "DEBUG", "ERROR", "TRACE", "info", "warn"]
COMPONENTS = ["http", "db", "cache", "auth", "queue", "worker", "sched", "api", "proxy", "mailer"]
WORDS = (
    "request served from upstream pool connection closed by peer retrying later cache miss "
    "for key session refreshed token expired handshake done job finished queue drained "
    "slow query detected lock acquired released timeout waiting on replica healthy ok "
    "GET POST PUT /api/v1/items /login /static/app.js status=ok took=12ms id=a7f3 rid=x9"
).split()
USERS = ["alice", "bob", "carol", "dave", "li_wei", "zhang3", "m", "ops_bot"]
HOSTS = ["example.com", "Example.ORG", "mail.corp.net", "163.com", "host-1.io"]
NON_ASCII = ["用户 登录 成功", "请求 超时 重试", "café fermé", "naïve résumé", "Grüße aus Köln", "ошибка сети"]


def _filler(rng: random.Random, room: int) -> str:
    """Words filling `room` bytes or a little less."""
    out: list[str] = []
    size = -1
    while True:
        w = rng.choice(WORDS)
        if size + len(w) + 1 > room:
            return " ".join(out)
        out.append(w)
        size += len(w) + 1


def generate(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    heads = [f"{lv} {c}: " for lv in LEVELS for c in COMPONENTS]
    cores = {
        "email": [f"mail to {u}{s}@{h} " for u in USERS for s in ("", ".x", "+tag", "_1") for h in HOSTS],
        "kv": [f"{w} {rng.randint(0, 9999)} " for w in ("retry", "count", "items", "shard", "batch") for _ in range(50)],
        "user": [f"user={u} " for u in USERS],
        "non_ascii": [s + " " for s in NON_ASCII],
        "plain": [""],
    }
    # Fillers by exact byte length, so every line is 20-60 bytes.
    fillers: dict[int, list[str]] = {k: [] for k in range(61)}
    for _ in range(20_000):
        f = _filler(rng, rng.randint(0, 60))
        fillers[len(f)].append(f)
    by_room = [[f for k in range(room + 1) for f in fillers[k]][-400:] or [""] for room in range(61)]
    kinds = rng.choices(list(cores), [3, 3, 2, 1, 91], k=n)
    targets = rng.choices(range(20, 61), k=n)
    lines = []
    for kind, target in zip(kinds, targets):
        # A new str per line (no cached UTF-8), as a reader makes them.
        line = rng.choice(heads) + rng.choice(cores[kind])
        room = max(0, target - len(line.encode("utf-8")))
        line = line + rng.choice(by_room[room])
        line = line.rstrip()
        while len(line) < 20:
            line += " ok"
        lines.append(line)
    return lines


DENSE_KEYS = ["price", "qty", "count", "total", "items", "score", "age", "year", "id", "user_id",
              "Stock", "page", "数量", "价格", "总计", "库存"]


def generate_dense(n: int, seed: int) -> list[str]:
    """Issue 10's dense shape: ~400-byte documents with ~5 `key value` pairs and ~3 emails
    each (52 k documents make ~20 MB)."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        parts = [f"{rng.choice(DENSE_KEYS)} {rng.randint(0, 10 ** rng.randint(1, 7))}" for _ in range(rng.randint(3, 7))]
        parts += [
            f"mail {rng.choice(USERS)}{rng.choice(['', '.x', '+tag'])}@{rng.choice(HOSTS)}"
            for _ in range(rng.randint(2, 4))
        ]
        if rng.random() < 0.1:
            parts.append(rng.choice(NON_ASCII))
        size = sum(len(p) + 2 for p in parts)
        while size < 400:
            w = rng.choice(WORDS)
            parts.append(w)
            size += len(w) + 1
        rng.shuffle(parts)
        docs.append(" ".join(parts))
    return docs


# --------------------------------------------------------------------------------------
# Steps of the ferrokern calls, through the package's own internals.


def _kernels(batches: list, job: tuple) -> list:
    """Each slice's job, run to its end on this thread (FK_JOB_NOW): the kernel, and the
    pickle stream where the package asks for one, as the job's thread does in a real call."""
    start, flags = job
    return [(b, _text._job_start(start, b, flags | lib.FK_JOB_NOW, 0)) for b in batches]


def _take(jobs: list, job: tuple, conv) -> list:
    """This thread's part of a real call: the Python results of finished jobs (unpickled
    streams, or objects built from the views), each job freed."""
    start, flags = job
    result: list = []
    for b, j in jobs:
        try:
            result += _text._job_take(b, _text._job_wait(j), start, flags, conv)
        finally:
            lib.fk_job_free(j)
    return result


def _encoded_here(fk, texts: list[str]):
    """The public call with the strs encoded by the package (`_STRS_IN_PLACE` off)."""
    was, _text._STRS_IN_PLACE = _text._STRS_IN_PLACE, False
    try:
        return fk(texts)
    finally:
        _text._STRS_IN_PLACE = was


def best_of(fns: dict, repeat: int, prepare: dict | None = None) -> dict:
    """{name: best seconds}; round-robin, collector on. `prepare[name]()` (untimed) makes
    the argument of a step that consumes its input."""
    best = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            arg = prepare[name]() if prepare and name in prepare else None
            gc.collect()
            t = time.perf_counter()
            r = fn(arg) if prepare and name in prepare else fn()
            dt = time.perf_counter() - t
            del r
            best[name] = min(best[name], dt)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=float, default=None,
                    help="number of texts (default 1e6 lines; 52e3 documents with --shape dense)")
    ap.add_argument("--shape", choices=["tiny", "dense"], default="tiny",
                    help="tiny: 20-60-byte log lines, mostly without a match (issue 15); dense: "
                    "~400-byte documents with ~5 kv pairs and ~3 emails each (issue 10 item 4)")
    ap.add_argument("--calls", default="emails,findall,kv", help="comma-separated subset of emails,findall,kv")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    ap.add_argument("--encode-here", action="store_true",
                    help="encode the strs in the package (as before the library read them in place, "
                    "FK_OFFSETS_PY_STRS) for every step; the table's 'total, encoded here' column "
                    "times the public call that way in every run anyway")
    ap.add_argument("--out", default=None, help="markdown table (default bench/out/tiny.md or dense.md)")
    args = ap.parse_args()
    dense = args.shape == "dense"
    n = int(args.lines if args.lines is not None else (52e3 if dense else 1e6))
    if args.out is None:
        args.out = str(ROOT / "bench" / "out" / ("dense.md" if dense else "tiny.md"))
    assert gc.isenabled(), "the benchmark measures with the collector on"
    if args.encode_here:
        _text._STRS_IN_PLACE = False
    in_place = _text._STRS_IN_PLACE and _text._PY_STRS is not None

    t0 = time.perf_counter()
    texts = (generate_dense if dense else generate)(n, args.seed)
    nbytes = sum(map(len, map(str.encode, texts)))
    gen_s = time.perf_counter() - t0
    pattern = ferrokern.compile(FINDALL_PATTERN)
    ref_re = re.compile(FINDALL_PATTERN)
    maxd = _text._max_digits()

    def ref_findall(ts: list[str]) -> list[list[str]]:
        return [ref_re.findall(t) for t in ts]

    calls = {
        "extract_emails": (
            ref_extract_emails,
            ferrokern.extract_emails,
            (lib.fk_job_extract_emails, _text._job_flags(False)),
            lambda h: _text._matches_result(h, tuples=False),
        ),
        f"compile({FINDALL_PATTERN!r}).findall": (
            ref_findall,
            pattern.findall,
            (lambda b, f, t, out: pattern._h.call(lib.fk_job_findall, b, 0, f, t, out), _text._job_flags(True)),
            lambda h: _text._matches_result(h, tuples=True),
        ),
        "extract_and_aggregate": (
            ref_extract_and_aggregate,
            ferrokern.extract_and_aggregate,
            (lambda b, f, t, out: lib.fk_job_extract_and_aggregate(b, maxd, f, t, out), _text._job_flags(False)),
            _text._key_sums_result,
        ),
    }

    wanted = set(args.calls.split(","))
    keys = {"extract_emails": "emails", "extract_and_aggregate": "kv"}
    calls = {k: v for k, v in calls.items() if keys.get(k, "findall") in wanted}

    # Correctness first (untimed): the benchmark is only worth its figures if they agree.
    counts = {}
    floors = {}
    for name, (ref, fk, _, _) in calls.items():
        want = ref(texts)
        # The CPython floor for the same result objects: building them from ready-made
        # Python lists of pairs (dicts) or tuples (lists), as issue 10 item 4 measures it.
        if name == "extract_and_aggregate":
            pairs = [list(d.items()) for d in want]
            floors[name] = (lambda pairs=pairs: [dict(x) for x in pairs])
        else:
            tuples = [tuple(x) for x in want]
            floors[name] = (lambda tuples=tuples: [list(x) for x in tuples])
        got = fk(texts)
        if got != want or (name == "extract_and_aggregate" and [list(d.items()) for d in got] != [list(d.items()) for d in want]):
            raise SystemExit(f"{name}: ferrokern differs from the reference")
        counts[name] = sum(1 for r in want if r)
        del want, got

    rows = []
    for name, (ref, fk, kern, conv) in calls.items():
        slice_args = (_text.PIPELINE_SLICE_BYTES, getattr(_text, "PIPELINE_SLICE_TEXTS", None))
        slices = list(_text._batches(texts, *slice_args, separated=True))

        def convert(jobs, kern=kern, conv=conv):
            # As _per_text takes results: with the collector paused where the package pauses it.
            with _text._GcPause.held():
                return _take(jobs, kern, conv)

        best = best_of(
            {
                "reference": lambda ref=ref: ref(texts),
                "encode": lambda slice_args=slice_args: list(_text._batches(texts, *slice_args, separated=True)),
                "kernel": lambda kern=kern, slices=slices: [lib.fk_job_free(j) for _, j in _kernels(slices, kern)],
                "convert": convert,
                "floor": floors[name],
                "total": lambda fk=fk: fk(texts),
                "total, encoded here": lambda fk=fk: _encoded_here(fk, texts),
            },
            args.repeat,
            prepare={"convert": lambda kern=kern, slices=slices: _kernels(slices, kern)},
        )
        rows.append((name, len(slices), best))
        print(
            f"{name}: " + ", ".join(f"{k} {v:.3f}s" for k, v in best.items())
            + f"; ratio {best['reference'] / best['total']:.1f}×; convert/floor {best['convert'] / best['floor']:.2f}",
            flush=True,
        )

    lines = [
        f"# ferrokern {'dense-documents (issue 10 item 4)' if dense else 'tiny-texts (issue 15)'} benchmark",
        "",
        f"Corpus ({args.shape}): {n:,} texts, {nbytes / 1e6:.1f} MB UTF-8, {nbytes / n:.1f} bytes/text on average "
        f"(seed {args.seed}, generated in {gen_s:.1f}s). Lines with a result: "
        + ", ".join(f"{k} {100 * v / n:.1f}%" for k, v in counts.items())
        + ".",
        f"Collector on (gc thresholds {gc.get_threshold()}); best of {args.repeat}, round-robin; "
        f"{os.cpu_count()} CPUs, {ferrokern.threads()} ferrokern threads; Python {sys.version.split()[0]}; "
        f"load average at end {os.getloadavg()[0]:.1f}.",
        "",
        "encode, kernel and convert are timed on their own; total is the public call, which "
        "pipelines them across slices (so total < encode + kernel + convert when they overlap). "
        + (
            "Strs read in place by the library (FK_OFFSETS_PY_STRS): encode is only the slicing "
            "of the list on this thread, and the UTF-8 is made in the kernel step, in the job. "
            if in_place
            else "Strs encoded by the package (--encode-here, or no confirmed str layout): encode "
            "is the UTF-8 made on this thread. "
        )
        + "total, encoded here: the public call with the package encoding the strs, as before "
        "FK_OFFSETS_PY_STRS, timed in the same rounds. "
        "floor: CPython building the same result objects from ready-made Python lists "
        "(`[dict(x) for x in pairs]`, `[list(x) for x in tuples]`), timed in the same run.",
        "",
        "| call | slices | reference | encode | kernel | convert | floor | convert / floor | total | "
        "total, encoded here | ratio (reference / total) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, n_slices, b in rows:
        lines.append(
            f"| `{name}` | {n_slices} | {b['reference']:.3f} s | {b['encode']:.3f} s | {b['kernel']:.3f} s | "
            f"{b['convert']:.3f} s | {b['floor']:.3f} s | {b['convert'] / b['floor']:.2f} | {b['total']:.3f} s | "
            f"{b['total, encoded here']:.3f} s | "
            f"**{b['reference'] / b['total']:.1f}×** |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"# wrote {out} in {time.perf_counter() - t0:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
