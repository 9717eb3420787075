"""User patterns: time against input size for patterns that make backtracking engines
explode, and the common-case findall speed against `re`, in one run (ratios, not absolute
timings). `(a|aa)*c` and `(a+)+$` are exponential/quadratic in `re`; `re` is only run on
small inputs for them.

Run:  PYTHONPATH=bindings/python python bench/pyre_linear.py [max_mb]
"""

from __future__ import annotations

import re
import sys
import time

import ferrokern


def timed(f) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def main() -> None:
    max_mb = float(sys.argv[1]) if len(sys.argv) > 1 else 8
    sizes = [max_mb / 8, max_mb / 4, max_mb / 2, max_mb]
    cases = [
        (r"(?:a|aa)+c", lambda n: "a" * n),
        (r"(a+)+$", lambda n: "a" * (n - 1) + "!"),
        (r"\b\w+\b", lambda n: ("héllo wörld x² " * (n // 15 + 1))[:n]),
        (r"x*", lambda n: ("ab" * (n // 2 + 1))[:n]),
    ]
    print(
        "pattern              "
        + "".join(f"{s:>8.2f}MB" for s in sizes)
        + "   s/MB (flat = linear)"
    )
    for pattern, make in cases:
        p = ferrokern.compile(pattern)
        row = []
        for s in sizes:
            text = make(int(s * 1_000_000))
            row.append(timed(lambda: p.count([text])) / s)
        print(f"{pattern:20} " + "".join(f"{x:10.4f}" for x in row))
    print(
        "\ncommon findall, 4 MB of words: ferrokern vs re (ratio > 1: ferrokern faster)"
    )
    text = "alpha beta=12 gamma delta=7 épsilon " * (4_000_000 // 36)
    for pattern in [r"\w+", r"(\w+)=(\d+)", r"[a-z]+a\b"]:
        p = ferrokern.compile(pattern)
        ours = timed(lambda: p.findall([text]))
        theirs = timed(lambda: re.findall(pattern, text))
        print(
            f"{pattern:20} ferrokern {ours:.3f}s  re {theirs:.3f}s  ratio {theirs / ours:.1f}x"
        )


if __name__ == "__main__":
    main()
