"""Benchmark of the image and array kernels against what a user would pick instead,
measured side by side in one run, with a memory-bandwidth roofline (np.copyto on all
threads) and each kernel's share of it.

    PYTHONPATH=bindings/python .venv/bin/python bench/bench_arrays.py [--quick | --small | --deriv] [--cpu]

Every timing is the best of a few runs after a warm-up, of the call as a user writes it
(outputs allocated by the call, on both sides); polyval is also timed with a preallocated
`out` on every side. ferrokern, OpenCV and numexpr use all threads (FERROKERN_THREADS /
cv2.setNumThreads / numexpr.set_num_threads); numpy and scipy are single-threaded by design. Prints a markdown table and writes bench/out/arrays.md.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import ferrokern as fk

ROOT = Path(__file__).resolve().parent


#: The clock of `best` and `per_call`: wall time, or with --cpu the CPU time of the whole
#: process (every thread), which a machine shared with other jobs distorts far less (time
#: slices lost to other processes are not counted). It counts threads that spin waiting
#: for work too, so it suits serial calls (the small rows) more than pooled ones.
clock = time.perf_counter


def best(f, repeat=3):
    f()  # warm-up: page in code, the pool, caches
    times = []
    for _ in range(repeat):
        t = clock()
        f()
        times.append(clock() - t)
    return min(times)


def per_call(f, total=0.05):
    """Seconds per call of a fast `f`: calls in a loop for about `total` seconds, best of 5
    loops (one call is too short to time alone)."""
    f()
    t = clock()
    k = 0
    while clock() - t < total / 5:
        f()
        k += 1
    k = max(k, 1)
    times = []
    for _ in range(5):
        t = clock()
        for _ in range(k):
            f()
        times.append((clock() - t) / k)
    return min(times)


def small_rows(rows: list[tuple], rng) -> None:
    """Small inputs, where per-call overhead and the hand-off to threads dominate."""
    import cv2

    for n in (10**3, 10**4, 10**5):
        x = rng.standard_normal(n)
        k = f"sum of {n:.0e} f64 (small)"
        rows.append((k, "ferrokern.sum(x)", per_call(lambda: fk.sum(x)), n / 1e6, "M", x.nbytes, ""))
        rows.append((k, "np.sum(x)", per_call(lambda: np.sum(x)), n / 1e6, "M", x.nbytes, "not exact"))
    for side in (64, 256):
        mp = side * side / 1e6
        u8 = rng.integers(0, 256, (side, side), dtype=np.uint8)
        k = f"Sobel {side}x{side} u8->f32 (small)"
        rows.append((k, "ferrokern.sobel(u8, 'reflect101')", per_call(lambda: fk.sobel(u8, "reflect101")), mp, "MP", 5 * side * side, ""))
        rows.append((k, "OpenCV Sobel CV_32F + magnitude", per_call(
            lambda: cv2.magnitude(cv2.Sobel(u8, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(u8, cv2.CV_32F, 0, 1, ksize=3))),
            mp, "MP", 5 * side * side, ""))
        rgb = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        k = f"grayscale {side}x{side} u8 RGB->f32 (small)"
        rows.append((k, "ferrokern.grayscale(rgb, dtype=np.float32)", per_call(lambda: fk.grayscale(rgb, dtype=np.float32)), mp, "MP", 7 * side * side, ""))
        rows.append((k, "OpenCV cvtColor(rgb, COLOR_RGB2GRAY) -> u8", per_call(lambda: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)), mp, "MP", 4 * side * side, "u8 output, OpenCV weights"))
        rows.append((k, "np.dot(rgb[..., :3], w)", per_call(lambda: np.dot(rgb[..., :3], [0.2989, 0.5870, 0.1140])), mp, "MP", 11 * side * side, "f64 output"))


def prime_rows(rows: list[tuple], threads: int, limits: list[int]) -> None:
    """count_primes beside the primesieve CLI (its own timer, same thread count) at each
    limit, best of a few runs each, the two sides alternating so load drifts hit both."""
    ps = shutil.which("primesieve")

    def run_ps(limit: int) -> float:
        assert ps is not None
        out = subprocess.run([ps, str(limit), "--count", f"-t{threads}", "--time", "-q"],
                             capture_output=True, text=True, check=True).stdout
        m = re.search(r"Seconds:\s*([0-9.]+)", out)
        return float(m.group(1)) if m else float("nan")

    # pi(10^k) (OEIS A006880): every timed count is also checked, so a fast wrong sieve
    # cannot post a figure.
    known = {10**8: 5761455, 10**9: 50847534, 10**10: 455052511, 10**11: 4118054813}

    def run_fk(limit: int) -> float:
        t = time.perf_counter()
        n = fk.count_primes(limit)
        elapsed = time.perf_counter() - t
        if limit in known and n != known[limit]:
            raise SystemExit(f"count_primes({limit}) = {n}, expected {known[limit]}")
        return elapsed

    fk.count_primes(10**6)  # warm-up: the pool and the presieve patterns
    for limit in limits:
        k = f"count_primes({limit:.0e})"
        t_fk, t_ps = [], []
        # Best of 3 below 1e10, of 2 above (a run at 1e11 takes ~10 s or more).
        for _ in range(3 if limit < 10**10 else 2):
            t_fk.append(run_fk(limit))
            if ps:
                t_ps.append(run_ps(limit))
        rows.append((k, "ferrokern.count_primes", min(t_fk), None, "", None, ""))
        if ps:
            rows.append((k, f"primesieve CLI -t{threads} (its own timer)", min(t_ps), None, "", None, ""))
        else:
            rows.append((k, "primesieve: not installed (apt-get install primesieve)", float("nan"), None, "", None, ""))


def deriv_rows(rows: list[tuple], rng, side: int = 2048) -> None:
    """cv2.Sobel-compatible derivatives (dx=1, dy=0 and dx=0, dy=1) at every ksize on a
    4-megapixel image, for the dtype pairs users pick most: u8 -> CV_16S, u8 -> CV_32F,
    f32 -> CV_32F."""
    import cv2

    mp = side * side / 1e6
    u8 = rng.integers(0, 256, (side, side), dtype=np.uint8)
    f32 = rng.random((side, side), dtype=np.float32)
    for src, name, ddepth, oname, osize in [
        (u8, "u8", cv2.CV_16S, "i16", 2),
        (u8, "u8", cv2.CV_32F, "f32", 4),
        (f32, "f32", cv2.CV_32F, "f32", 4),
    ]:
        for dx, dy in ((1, 0), (0, 1)):
            for ksize in (1, 3, 5, 7):
                k = f"Sobel dx={dx} dy={dy} ksize={ksize} {side}x{side} {name}->{oname}"
                moved = (src.itemsize + osize) * side * side
                rows.append((k, f"ferrokern.sobel(img, dx={dx}, dy={dy}, ksize={ksize}, ddepth=...)",
                             best(lambda: fk.sobel(src, dx=dx, dy=dy, ksize=ksize, ddepth=ddepth), 5), mp, "MP", moved, ""))
                rows.append((k, f"cv2.Sobel(img, ddepth, {dx}, {dy}, ksize={ksize})",
                             best(lambda: cv2.Sobel(src, ddepth, dx, dy, ksize=ksize), 5), mp, "MP", moved, ""))


def gray_rows(rows: list[tuple], rng, side: int) -> None:
    """Large grayscale conversions, u8 -> f64, against np.dot, in three layouts: RGB
    interleaved, RGBA interleaved, and planar storage seen channels-last (np.moveaxis of a
    (3, H, W) array)."""
    w = [0.2989, 0.5870, 0.1140]
    mp = side * side / 1e6
    rgba = rng.integers(0, 256, (side, side, 4), dtype=np.uint8)
    planar = rng.integers(0, 256, (3, side, side), dtype=np.uint8)
    for name, img, c in [("RGB", np.ascontiguousarray(rgba[..., :3]), 3), ("RGBA", rgba, 4),
                         ("planar RGB view", np.moveaxis(planar, 0, 2), 3)]:
        k = f"grayscale {side}x{side} u8 {name}->f64"
        moved = (c + 8) * side * side
        rows.append((k, "ferrokern.grayscale(img)", best(lambda: fk.grayscale(img)), mp, "MP", moved, ""))
        rows.append((k, "np.dot(img[..., :3], w)", best(lambda: np.dot(img[..., :3], w), 1), mp, "MP", moved, "1 thread"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    ap.add_argument("--small", action="store_true", help="only the small-input rows")
    ap.add_argument("--primes", action="store_true", help="only count_primes beside primesieve")
    ap.add_argument("--deriv", action="store_true", help="only the cv2.Sobel derivative rows (4 MP)")
    ap.add_argument("--gray", action="store_true", help="only the large grayscale rows (every layout)")
    ap.add_argument("--cpu", action="store_true", help="time CPU use of the process, not wall time (a loaded machine)")
    args = ap.parse_args()
    if args.cpu:
        global clock
        clock = time.process_time
    threads = fk.threads()
    side = 1024 if args.quick else 4096
    n = 10**7 if args.quick else 10**8
    prime_limits = [10**8] if args.quick else [10**9, 10**10, 10**11]
    if args.primes:
        prime_rows_only: list[tuple] = []
        prime_rows(prime_rows_only, threads, prime_limits)
        print_table(prime_rows_only, threads, float("nan"), "arrays-primes.md")
        return
    if args.gray:
        gray: list[tuple] = []
        gray_rows(gray, np.random.default_rng(0), side)
        print_table(gray, threads, float("nan"), "arrays-gray.md")
        return
    if args.small:  # needs only OpenCV
        import cv2

        cv2.setNumThreads(threads)
        small: list[tuple] = []
        small_rows(small, np.random.default_rng(0))
        print_table(small, threads, float("nan"), "arrays-small.md")
        return
    if args.deriv:  # needs only OpenCV
        import cv2

        cv2.setNumThreads(threads)
        deriv: list[tuple] = []
        deriv_rows(deriv, np.random.default_rng(0))
        print_table(deriv, threads, float("nan"), "arrays-deriv.md")
        return

    import cv2
    import numexpr
    import scipy.ndimage as ndi

    cv2.setNumThreads(threads)
    numexpr.set_num_threads(threads)
    rng = np.random.default_rng(0)
    rows: list[tuple] = []  # (kernel, impl, seconds, unit count, unit, bytes moved, note)

    # -- roofline: np.copyto on every thread (numpy copies without the GIL) --------------
    src = rng.standard_normal(n)
    dst = np.empty_like(src)
    halves = np.array_split(np.arange(n), threads)
    bounds = [(h[0], h[-1] + 1) for h in halves]
    pool = ThreadPoolExecutor(threads)

    def copy_all():
        list(pool.map(lambda b: np.copyto(dst[b[0]:b[1]], src[b[0]:b[1]]), bounds))

    t_copy = best(copy_all, 5)
    roof = 2 * src.nbytes / t_copy  # bytes read + written per second
    rows.append(("roofline", f"np.copyto, {threads} threads", t_copy, None, "", 2 * src.nbytes, "read + write"))
    del dst

    # -- Sobel f64 -> f64 ------------------------------------------------------------
    img = rng.random((side, side))
    mp = side * side / 1e6

    def cv_sobel(a, depth):
        return cv2.magnitude(cv2.Sobel(a, depth, 1, 0, ksize=3), cv2.Sobel(a, depth, 0, 1, ksize=3))

    def np_sobel(p):
        p = np.pad(p, 1, mode="reflect")
        gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
        gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
        return np.sqrt(gx * gx + gy * gy)

    k = f"Sobel {side}x{side} f64->f64"
    moved = 16 * side * side
    rows.append((k, "ferrokern.sobel(img, 'reflect101')", best(lambda: fk.sobel(img, "reflect101")), mp, "MP", moved, ""))
    rows.append((k, "OpenCV Sobel dx, dy CV_64F + magnitude", best(lambda: cv_sobel(img, cv2.CV_64F)), mp, "MP", moved, ""))
    rows.append((k, "scipy.ndimage.sobel x2 + np.hypot", best(lambda: np.hypot(ndi.sobel(img, 1), ndi.sobel(img, 0)), 1), mp, "MP", moved, "1 thread"))
    rows.append((k, "numpy vectorized (pad + slices)", best(lambda: np_sobel(img), 1), mp, "MP", moved, "1 thread"))

    # -- Sobel u8 -> f32 ---------------------------------------------------------------
    u8 = (img * 255).astype(np.uint8)
    k = f"Sobel {side}x{side} u8->f32"
    moved = 5 * side * side
    rows.append((k, "ferrokern.sobel(u8, 'reflect101')", best(lambda: fk.sobel(u8, "reflect101")), mp, "MP", moved, ""))
    rows.append((k, "OpenCV Sobel CV_32F + magnitude", best(lambda: cv_sobel(u8, cv2.CV_32F)), mp, "MP", moved, ""))

    # -- grayscale, edges ----------------------------------------------------------------
    rgb = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    w = [0.2989, 0.5870, 0.1140]
    k = f"grayscale {side}x{side} u8 RGB->f64"
    moved = 11 * side * side
    rows.append((k, "ferrokern.grayscale(rgb)", best(lambda: fk.grayscale(rgb)), mp, "MP", moved, ""))
    rows.append((k, "np.dot(rgb[..., :3], w)", best(lambda: np.dot(rgb[..., :3], w), 1), mp, "MP", moved, "1 thread"))
    k = f"edges {side}x{side} u8 RGB->f32"
    moved = 7 * side * side
    rows.append((k, "ferrokern.edges(rgb, 'reflect101') (fused)", best(lambda: fk.edges(rgb, "reflect101")), mp, "MP", moved, ""))
    rows.append((k, "OpenCV cvtColor gray + Sobel CV_32F + magnitude",
                 best(lambda: cv_sobel(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_32F)), mp, "MP", moved,
                 "u8 gray, OpenCV weights"))

    # -- sum -----------------------------------------------------------------------------
    x = rng.standard_normal(n)
    k = f"sum of {n:.0e} f64"
    rows.append((k, "ferrokern.sum(x) (correctly rounded)", best(lambda: fk.sum(x), 5), n / 1e6, "M", x.nbytes, ""))
    rows.append((k, "np.sum(x) (pairwise, not exact)", best(lambda: np.sum(x), 5), n / 1e6, "M", x.nbytes, "1 thread"))
    sub = x[: n // 100]
    t_fsum = best(lambda: math.fsum(sub), 1) * 100
    rows.append((k, "math.fsum(x)", t_fsum, n / 1e6, "M", x.nbytes, "timed on 1% of x, x100"))
    assert fk.sum(x) == math.fsum(x)

    # -- polyval -------------------------------------------------------------------------
    # Fresh outputs on every side (as a user writes it: each call allocates its result, and
    # a fresh array's pages are faulted and zeroed by the kernel on first write), then the
    # same with a preallocated `out` on every side. np.copy / np.copyto are the floors.
    k = f"polyval([1,2,0], x), {n:.0e} f64, fresh output"
    moved = 2 * x.nbytes
    rows.append((k, "ferrokern.polyval([1, 2, 0], x)", best(lambda: fk.polyval([1, 2, 0], x), 5), n / 1e6, "M", moved, ""))
    rows.append((k, "numexpr.evaluate('x*x + 2*x')", best(lambda: numexpr.evaluate("x*x + 2*x", local_dict={"x": x}), 5), n / 1e6, "M", moved, ""))
    rows.append((k, "numpy x*x + 2*x", best(lambda: x * x + 2 * x, 5), n / 1e6, "M", moved, "1 thread"))
    rows.append((k, "floor: np.copy(x)", best(lambda: np.copy(x), 5), n / 1e6, "M", moved, "1 thread, no arithmetic"))
    o = np.empty_like(x)
    tmp = np.empty_like(x)

    def np_out():
        np.multiply(x, x, out=o)
        np.multiply(2.0, x, out=tmp)
        np.add(o, tmp, out=o)

    k = f"polyval([1,2,0], x), {n:.0e} f64, preallocated out"
    rows.append((k, "ferrokern.polyval([1, 2, 0], x, out=o)", best(lambda: fk.polyval([1, 2, 0], x, out=o), 5), n / 1e6, "M", moved, ""))
    rows.append((k, "numexpr.evaluate('x*x + 2*x', out=o)",
                 best(lambda: numexpr.evaluate("x*x + 2*x", local_dict={"x": x}, out=o), 5), n / 1e6, "M", moved, ""))
    rows.append((k, "numpy multiply/add with out= (+ a preallocated temporary)", best(np_out, 5), n / 1e6, "M", moved, "1 thread"))
    rows.append((k, "floor: np.copyto(o, x)", best(lambda: np.copyto(o, x), 5), n / 1e6, "M", moved, "1 thread, no arithmetic"))
    del x, o, tmp

    small_rows(rows, rng)
    deriv_rows(rows, rng, 1024 if args.quick else 2048)

    prime_rows(rows, threads, prime_limits)

    print_table(rows, threads, roof)


def print_table(rows: list[tuple], threads: int, roof: float, name: str = "arrays.md") -> None:
    first: dict[str, float] = {}
    lines = [
        f"ferrokern {fk.library_version}, {threads} threads, {os.cpu_count()} CPUs; roofline np.copyto "
        f"{roof / 1e9:.1f} GB/s (read + write)",
        "",
        "| kernel | implementation | time | throughput | GB/s moved | share of roofline | ferrokern speed-up | note |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for kernel, impl, t, units, unit, nbytes, note in rows:
        first.setdefault(kernel, t)
        thr = f"{units / t:,.0f} {unit}/s" if units else ""
        gbs = f"{nbytes / t / 1e9:.1f}" if nbytes else ""
        share = f"{nbytes / t / roof:.0%}" if nbytes and roof == roof else ""
        ratio = "" if kernel == "roofline" or t == first[kernel] else f"{t / first[kernel]:.2f}x"
        when = f"{t * 1e3:,.1f} ms" if t >= 1e-3 else f"{t * 1e6:,.1f} µs"
        lines.append(f"| {kernel} | {impl} | {when} | {thr} | {gbs} | {share} | {ratio} | {note} |")
    lines += [
        "",
        "`ferrokern speed-up` = the alternative's time / ferrokern's time on the same row group.",
        "`GB/s moved` counts the compulsory traffic: input bytes read + output bytes written.",
    ]
    text = "\n".join(lines)
    print(text)
    out_dir = ROOT / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / name).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
