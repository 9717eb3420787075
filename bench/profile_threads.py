"""Where a whole report run spends its CPU, by thread and symbol (issue 8, sixth round).

Reads a ``perf record -e cpu-clock`` profile of a report run (e.g. of bench/report_cpu.py),
keeps the samples between the first and the last one in a ``report`` symbol of ferrokern
(the run itself, not Python's start-up), and prints each thread's share of them with its
top symbols: the worker(s), the reader (read(2) or inflate) and the caller (merge).

Usage:
  FERROKERN_LIBRARY=<lib> PYTHONPATH=bindings/python perf record -q -e cpu-clock -F 2999 \\
      -o /tmp/perf.data -- .venv/bin/python bench/report_cpu.py FILE content
  python3 bench/profile_threads.py /tmp/perf.data [TOP]"""

from __future__ import annotations

import collections
import subprocess
import sys


def main() -> None:
    data = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    cmd = ["perf", "script", "-i", data, "-F", "tid,time,ip,sym,dso"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        p = line.split(None, 3)
        if len(p) == 4:
            rows.append((p[0], float(p[1].rstrip(":")), p[3]))
    run = [t for _, t, r in rows if "ferrokern" in r and "report" in r]
    t0, t1 = min(run), max(run)
    print(f"window {t1 - t0:.3f} s")
    by: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for tid, t, r in rows:
        if t0 <= t <= t1:
            by[tid][r.rsplit("(", 1)[0].strip()] += 1
    total = sum(sum(c.values()) for c in by.values())
    for tid, c in sorted(by.items(), key=lambda x: -sum(x[1].values())):
        n = sum(c.values())
        print(f"thread {tid}: {n} samples ({100 * n / total:.1f} %)")
        for sym, k in c.most_common(top):
            print(f"  {100 * k / total:5.1f} %  {sym[:110]}")


if __name__ == "__main__":
    main()
