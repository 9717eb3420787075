"""Two builds of the library's `fk_sum_f64` against each other and against `np.sum`, in one
process, round by round (15 rounds, each the best of 3 timings of a loop), through ctypes so
that no Python wrapper is timed: the kernel's per-call cost on 1e3, 1e4 and 1e5 doubles.
Checks that both builds return the same bits.

    .venv/bin/python bench/sum_ab.py A.so B.so

Copy each library to its own file first (two paths of one file load once)."""

from __future__ import annotations

import ctypes
import sys
import timeit

import numpy as np


def main() -> None:
    paths = sys.argv[1:3]
    if len(paths) != 2:
        sys.exit(__doc__)
    fs = []
    for p in paths:
        f = ctypes.CDLL(p).fk_sum_f64
        f.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_ssize_t,
            ctypes.POINTER(ctypes.c_double),
        ]
        fs.append(f)
    out = ctypes.c_double()
    rng = np.random.default_rng(1)
    print("n, then per implementation: min / median of 15 rounds, µs per call")
    for n in (1000, 10_000, 100_000):
        x = rng.standard_normal(n)
        ptr = x.ctypes.data
        num = max(3, 300_000 // n)
        times: list[list[float]] = [[], [], []]
        for _ in range(15):
            times[0].append(
                min(timeit.repeat(lambda x=x: np.sum(x), number=num, repeat=3))
                / num
                * 1e6
            )
            for k, f in enumerate(fs):
                t = min(
                    timeit.repeat(
                        lambda f=f, ptr=ptr, n=n: f(ptr, n, 8, out),
                        number=num,
                        repeat=3,
                    )
                )
                times[k + 1].append(t / num * 1e6)
        bits = []
        for f in fs:
            f(ptr, n, 8, out)
            bits.append(out.value.hex())
        assert bits[0] == bits[1], bits
        names = ["np.sum", "A", "B"]
        cells = [
            f"{m} {min(t):6.2f} / {sorted(t)[7]:6.2f}" for m, t in zip(names, times)
        ]
        print(f"n={n:6}  " + "   ".join(cells))


if __name__ == "__main__":
    main()
