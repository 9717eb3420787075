"""Generate a high-cardinality report corpus (issue 9): one line per document,

    user<random> <n> mail u<random>@x<k>.com tag<i%1000> 5

so every line brings a new kv key (``user…``) and a new email, while ``tag…`` keys repeat.
Deterministic for a given seed. Usage: python bench/gen_cardinality.py OUT LINES [--seed S]
[--low | --distinct N] [--shape SHAPE]  (``--low``: the same line shape with 1000 distinct
users and emails, the low-cardinality baseline of the same size; ``--distinct N``: N of
them, each repeated about LINES / N times across the file).

``--shape`` changes what a user's key and email look like (the line around them stays):

* ``hex`` (the default, the issue's corpus): ``user`` + 12 hex digits (16 bytes), emails
  ``u<hex>@x<k>.com``;
* ``prefix``: keys that share a 35-byte prefix and differ only in their last 10 digits
  (``session_2026_11_29_cluster_eu_west_0123456789``, emails
  ``noreply+0123456789@notifications.example-mail.com``), so the key sort must look past
  its first 16 and 32 bytes;
* ``short``: short handles (``h`` + 8 base-36 digits, emails ``<digits>@q.io``), all of
  which fit in a sort entry;
* ``cjk``: words of 3-8 CJK ideographs (9-24 bytes of UTF-8, ``\\w`` in Python) and
  ``first.last<n>@gmail.com`` emails, written as JSON lines ``{"text": ...}``, 30 % of
  them with ``json.dumps``'s default ``ensure_ascii=True`` so the ideographs arrive as
  ``\\uXXXX`` escapes (read it with ``text_field="text"``).

Every shape writes lines of the same length in its high- and low-cardinality variants (up
to the CJK words' lengths, drawn alike), so their throughputs compare."""

from __future__ import annotations

import argparse
import json
import random

SHAPES = ("hex", "prefix", "short", "cjk")
# The ideographs a CJK key is drawn from (all of them \w in Python, 3 bytes in UTF-8).
_CJK = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _line(shape: str, i: int, u: int, n: int) -> str:
    """Line `i` of a corpus of `shape` for user id `u` (< 2**48) and kv value `n`."""
    if shape == "hex":
        return f"user{u:012x} {n} mail u{u:012x}@x{u % 97}.com tag{i % 1000} 5\n"
    if shape == "prefix":
        u %= 10**10
        return (
            f"session_2026_11_29_cluster_eu_west_{u:010d} {n} mail "
            f"noreply+{u:010d}@notifications.example-mail.com tag{i % 1000} 5\n"
        )
    if shape == "short":
        h = "".join(_B36[(u // 36**k) % 36] for k in range(7, -1, -1))
        return f"h{h} {n} mail {h}@q.io tag{i % 1000} 5\n"
    # cjk: the user's word and names depend on `u` alone, so a repeated user repeats them.
    r = random.Random(u)
    word = "".join(r.choice(_CJK) for _ in range(r.randrange(3, 9)))
    first = r.choice(("anna", "li", "wei", "john", "maria"))
    last = r.choice(("smith", "wang", "garcia", "chen"))
    text = f"{word} {n} 邮件 {first}.{last}{u:015d}@gmail.com tag{i % 1000} 5 ✓"
    return json.dumps({"text": text}, ensure_ascii=i % 10 < 3) + "\n"


def generate(
    path: str,
    lines: int,
    seed: int = 1,
    low: bool = False,
    distinct: int | None = None,
    shape: str = "hex",
) -> int:
    """Write `lines` lines of `shape` (one of `SHAPES`) to `path`; returns the bytes
    written. Users (and their emails) are drawn from `distinct` ids (1000 with `low`),
    else all random."""
    if shape not in SHAPES:
        raise ValueError(f"unknown corpus shape {shape!r} (one of {', '.join(SHAPES)})")
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
            # A repeated id is spread over the 48 bits (except for `hex`, whose keys are
            # fixed-width anyway and whose corpora stay what earlier rounds measured), so
            # keys built from its high digits do not all start alike.
            if distinct:
                ids = [rng.randrange(distinct) for _ in range(n)]
                if shape != "hex":
                    ids = [u * 0x9E3779B97F % (1 << 48) for u in ids]
            else:
                ids = [rng.getrandbits(48) for _ in range(n)]
            out = [
                _line(shape, i, u, rng.randrange(1_000_000))
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
    ap.add_argument("--shape", choices=SHAPES, default="hex")
    a = ap.parse_args()
    print(generate(a.out, a.lines, a.seed, a.low, a.distinct, a.shape))


if __name__ == "__main__":
    main()
