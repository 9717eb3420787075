#!/usr/bin/env python3
"""A/B of two builds of the package on bench_tiny.py's corpus (issue 15): the public calls
end to end, best of REPS, collector on.

    # an older package and its library, e.g. from `git archive <rev> bindings/python`:
    python bench/tiny_ab.py /tmp/old/bindings/python /tmp/libferrokern_old.so
    python bench/tiny_ab.py bindings/python target/release/libferrokern.so

Run the two alternately, several times, in the same hour: each run prints the library's
file name and the best time of `compile('user=(\\w+)').findall`, `extract_emails` and
`extract_and_aggregate` on 1 M log lines, in ms, with the load average.
"""

import gc
import os
import sys
import time
from pathlib import Path

pkg, lib_path = sys.argv[1], sys.argv[2]
os.environ["FERROKERN_LIBRARY"] = str(Path(lib_path).resolve())
sys.path.insert(0, str(Path(pkg).resolve()))
import ferrokern  # noqa: E402  (this package, before bench_tiny puts the checkout's first)

sys.path.insert(1, str(Path(__file__).resolve().parent))
import bench_tiny as bt  # noqa: E402

assert ferrokern.__file__.startswith(str(Path(pkg).resolve())), ferrokern.__file__
texts = bt.generate(int(os.environ.get("LINES", "1000000")), 15)
p = ferrokern.compile(bt.FINDALL_PATTERN)
calls = {"findall": p.findall, "emails": ferrokern.extract_emails, "kv": ferrokern.extract_and_aggregate}
best: dict[str, float] = {}
for _ in range(int(os.environ.get("REPS", "5"))):
    for k, f in calls.items():
        gc.collect()
        t = time.perf_counter()
        r = f(texts)
        d = time.perf_counter() - t
        del r
        best[k] = min(best.get(k, 1e9), d)
ms = {k: round(v * 1e3) for k, v in best.items()}
print(os.path.basename(lib_path), ms, f"load {os.getloadavg()[0]:.1f}")
