"""What a spilled report's outputs cost after a feed (issue 9, sixteenth round).

Feeds FILE with the default memory budget (`fk.report(path)`), then times, wall and CPU of
the process: the top-N summary (`to_json()`), `write_json(full=True)` --full times (the
first one sorts the spill's partitions; later ones reuse them) and the binary state
(`to_bytes()`). Run it alternately with two libraries (FERROKERN_LIBRARY) to compare them:
one run's figures move with the machine's load.

Usage:
  FERROKERN_LIBRARY=<lib> PYTHONPATH=bindings/python .venv/bin/python \\
      bench/report_outputs.py FILE [--full N] [--out PATH]"""

from __future__ import annotations

import argparse
import resource
import time

import ferrokern as fk


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(t: tuple[float, float]) -> str:
    w, c = clock()
    return f"{w - t[0]:.2f} s / {c - t[1]:.2f} s CPU"


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("file")
    p.add_argument(
        "--full", type=int, default=1, help="full outputs to write, one after another"
    )
    p.add_argument(
        "--out", default="/tmp/fk-report-outputs.json", help="where the full outputs go"
    )
    a = p.parse_args()
    with open(
        a.file, "rb"
    ) as f:  # into the page cache: the feed should not measure the disk
        while f.read(1 << 24):
            pass
    t = clock()
    r = fk.report(a.file, progress=False)
    print(f"feed {since(t)}; spilled {r.spilled_bytes / 1e6:.1f} MB")
    t = clock()
    r.to_json()
    print(f"top-N summary {since(t)}")
    for i in range(a.full):
        t = clock()
        r.write_json(a.out, full=True, indent=False)
        print(f"full output {i + 1} {since(t)}")
    t = clock()
    state = r.to_bytes()
    print(f"binary state {since(t)} ({len(state) / 1e6:.0f} MB)")
    print(
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
