"""CPU cost per byte of ``ferrokern.report`` on one worker thread (issue 8).

Process CPU time (``time.process_time``: every thread of the process, the reader thread
included) and wall time per byte of the report over FILE, with ``fk.set_threads(1)``.
CPU time per byte moves much less than throughput ratios when the machine is shared.

Usage: PYTHONPATH=bindings/python python bench/report_cpu.py FILE [JSON_FIELD|-] [PER_DOC_PATH]
(``FERROKERN_LIBRARY=path/to/libferrokern.so`` to measure another build)."""

from __future__ import annotations

import sys
import time

import ferrokern as fk


def main() -> None:
    path = sys.argv[1]
    field = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "-" else None
    per_doc = sys.argv[3] if len(sys.argv) > 3 else None
    fk.set_threads(1)
    c, w = time.process_time(), time.perf_counter()
    with fk.report(path, progress=False, text_field=field, per_doc=per_doc) as r:
        d = r.to_dict()
    c, w = time.process_time() - c, time.perf_counter() - w
    n = d["bytes"]
    print(f"{c / n * 1e9:.2f} ns/byte CPU, {w / n * 1e9:.2f} ns/byte wall, {d['documents']:,} documents")


if __name__ == "__main__":
    main()
