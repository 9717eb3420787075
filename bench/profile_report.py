"""Where the per-document path of the report spends its time, from a perf profile (issue 8).

Runs ``examples/report_stages.rs`` (built with debug line tables: ``cargo build --profile
profiling --example report_stages``) under ``perf record``, keeps the samples of its
"per-document total" stage (``Processor::line`` on every line, one thread) of the second,
printed measurement, and groups them into the report's parts: JSON field extraction, UTF-8
validation, kv, emails, chunk tallies, allocation. Samples in ``Processor::doc`` itself (the
kv scanner and ``int()`` are inlined there) are split by source file with ``perf report
--sort srcline``.

Usage: python3 bench/profile_report.py FILE [JSON_FIELD] [--bin target/profiling/examples/report_stages]
Needs perf (Debian: ``apt-get install linux-perf``)."""

from __future__ import annotations

import argparse
import collections
import subprocess
import tempfile
from pathlib import Path

# (part, substrings of the symbol), first match wins; samples in Processor::doc are split
# by source file below.
PARTS = [
    ("JSON field extraction", ["jsonl::", "serde_json"]),
    ("UTF-8 validation (simdutf8)", ["simdutf8"]),
    ("kv: per-document sums", ["kv::Aggregate"]),
    ("chunk tallies (hash lookups)", ["keys::", "hashbrown", "memcmp"]),
    ("emails", ["emails::", "memmem", "packedpair"]),
    ("allocation and copies", ["mi_", "memmove", "memcpy", "raw_vec", "free"]),
    ("memchr (emails' '@', escapes)", ["memchr::"]),
]
# Processor::doc's own samples by the source file perf attributes them to (inlined code).
DOC_FILES = {
    "kv.rs": "kv: scan",
    "pyint.rs": "kv: int()",
    "pyclass.rs": "kv: scan",
    "document.rs": "per-document glue (document.rs)",
    "jsonl.rs": "JSON field extraction",
    # The kv keys are hashed and interned in the chunk tally inline (Processor::apply).
    "keys.rs": "chunk tallies (hash lookups)",
    "hash.rs": "chunk tallies (hash lookups)",
    "emails.rs": "emails",
    # core::arch's SSE2 intrinsics, inlined into the kv candidate search.
    "sse2.rs": "kv: scan",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("field", nargs="?")
    ap.add_argument("--bin", default="target/profiling/examples/report_stages")
    ap.add_argument("--freq", type=int, default=1999)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        data = str(Path(d) / "perf.data")
        cmd = [a.bin, a.file] + ([a.field] if a.field else [])
        subprocess.run(
            ["perf", "record", "-q", "-F", str(a.freq), "-o", data, "--", *cmd],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        script = subprocess.run(
            ["perf", "script", "-i", data, "-F", "time,ip,sym"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows = []
        for line in script.splitlines():
            p = line.split(None, 2)
            if len(p) == 3:
                rows.append((float(p[0].rstrip(":")), p[2].strip()))
        doc = sorted(t for t, s in rows if "Processor::doc" in s)
        # The two measurements' per-document stages are separated by the largest gap
        # between Processor::doc samples (the second measurement's other stages).
        gap = max(range(len(doc) - 1), key=lambda i: doc[i + 1] - doc[i])
        t0 = doc[gap + 1]
        # The stage ends where the per-doc JSON run (the next stage that calls
        # Processor::doc) starts writing.
        t1 = min(t for t, s in rows if t > t0 and ("json_str" in s or "fmt::" in s))
        window = [s for t, s in rows if t0 <= t < t1]
        n = len(window)
        parts: collections.Counter[str] = collections.Counter()
        for s in window:
            if "Processor::doc" in s:
                continue
            part = next(
                (name for name, keys in PARTS if any(k in s for k in keys)),
                "other (harness loop, line split)",
            )
            parts[part] += 1
        # Processor::doc by source line.
        rep = subprocess.run(
            [
                "perf",
                "report",
                "-i",
                data,
                "--time",
                f"{t0},{t1}",
                "--no-children",
                "--symbols",
                "ferrokern::report::document::Processor::doc",
                "--sort",
                "srcline",
                "--stdio",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        # perf report's percentages are of all samples in the window.
        for line in rep.splitlines():
            p = line.split()
            if len(p) < 2 or line.startswith("#") or not p[0].endswith("%"):
                continue
            f = p[1].split(":")[0]
            parts[
                DOC_FILES.get(
                    f, "Processor::doc, inlined std code (mostly the kv scan)"
                )
            ] += float(p[0].rstrip("%")) * n / 100
    print(f"{n} samples in the per-document stage ({t1 - t0:.2f} s)\n")
    print("| part | share |\n|---|---:|")
    for name, k in parts.most_common():
        print(f"| {name} | {100 * k / n:.0f} % |")


if __name__ == "__main__":
    main()
