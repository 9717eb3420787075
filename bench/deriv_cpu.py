"""One-thread CPU time of the cv2.Sobel-compatible derivatives at 4 MP, ours beside OpenCV's,
robust to a loaded machine (time.process_time counts only this process's own time slices).

    PYTHONPATH=bindings/python .venv/bin/python bench/deriv_cpu.py [--repeat 9]

FERROKERN_LIBRARY picks the library, so two builds are compared by alternating runs.
Prints, per row, the best of `repeat` calls in ms for ferrokern and cv2.Sobel, and their ratio.
"""

from __future__ import annotations

import argparse
import time

import cv2
import ferrokern as fk
import numpy as np


def best(f, repeat):
    f()
    times = []
    for _ in range(repeat):
        t = time.process_time()
        f()
        times.append(time.process_time() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--side", type=int, default=2048)
    args = ap.parse_args()
    fk.set_threads(1)
    cv2.setNumThreads(1)
    rng = np.random.default_rng(0)
    side = args.side
    u8 = rng.integers(0, 256, (side, side), dtype=np.uint8)
    f32 = rng.random((side, side), dtype=np.float32)
    print(f"{'row':<34} {'ours ms':>8} {'cv2 ms':>8} {'cv2/ours':>8}")
    for src, name, ddepth, oname in [
        (u8, "u8", cv2.CV_16S, "i16"),
        (u8, "u8", cv2.CV_32F, "f32"),
        (f32, "f32", cv2.CV_32F, "f32"),
    ]:
        for dx, dy in ((1, 0), (0, 1)):
            for ksize in (1, 3, 5, 7):
                call = (src, ddepth, dx, dy, ksize)
                ours = best(lambda c=call: fk.sobel(c[0], dx=c[2], dy=c[3], ksize=c[4], ddepth=c[1]),
                            args.repeat)
                theirs = best(lambda c=call: cv2.Sobel(*c[:4], ksize=c[4]), args.repeat)
                row = f"{name}->{oname} dx={dx} dy={dy} k={ksize}"
                print(f"{row:<34} {ours * 1e3:8.2f} {theirs * 1e3:8.2f} {theirs / ours:8.2f}")


if __name__ == "__main__":
    main()
