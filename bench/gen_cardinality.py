"""Generate a high-cardinality report corpus (issue 9): one line per document,

    user<random> <n> mail u<random>@x<k>.com tag<i%1000> 5

so every line brings a new kv key (``user…``) and a new email, while ``tag…`` keys repeat.
Deterministic for a given seed. Usage: python bench/gen_cardinality.py OUT LINES [--seed S]
[--low | --distinct N]  (``--low``: the same line shape with 1000 distinct users and emails,
the low-cardinality baseline of the same size; ``--distinct N``: N of them, each repeated
about LINES / N times across the file)."""

from __future__ import annotations

import argparse
import random


def generate(
    path: str, lines: int, seed: int = 1, low: bool = False, distinct: int | None = None
) -> int:
    """Write `lines` lines to `path`; returns the bytes written. Users (and their emails)
    are drawn from `distinct` ids (1000 with `low`), else all random."""
    if low:
        distinct = 1000
    rng = random.Random(seed)
    written = 0
    batch = 100_000
    with open(path, "wb") as f:
        for start in range(0, lines, batch):
            n = min(batch, lines - start)
            # 48 random bits per line (12 hex digits, zero-padded so both variants have
            # the same size): among 20 M lines ~0.7 pairs collide, which only makes a key
            # less distinct, never a result wrong (the bench compares reports, not counts).
            if distinct:
                ids = [rng.randrange(distinct) for _ in range(n)]
            else:
                ids = [rng.getrandbits(48) for _ in range(n)]
            out = [
                f"user{u:012x} {rng.randrange(1_000_000)} mail u{u:012x}@x{u % 97}.com tag{i % 1000} 5\n"
                for i, u in zip(range(start, start + n), ids)
            ]
            data = "".join(out).encode()
            f.write(data)
            written += len(data)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("lines", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--low", action="store_true")
    ap.add_argument("--distinct", type=int, default=None)
    a = ap.parse_args()
    print(generate(a.out, a.lines, a.seed, a.low, a.distinct))


if __name__ == "__main__":
    main()
