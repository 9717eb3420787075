"""Benchmark of the streaming report (issues 4 and 8), one machine.

Generates deterministic corpora in /tmp, deletes them afterwards, and measures each run in
its own subprocess (so peak RSS is that job's own VmHWM). Optional: the --big-gb corpus
(peak RSS) and --keys (memory per distinct key: peak RSS with 2 M distinct keys minus
with 10, over the same number of lines, divided by 2 M). The polars and zlib jobs are kept
for ad-hoc runs (--job polars / zlib).

Corpus shapes (bench/corpus.py): ``social`` (issue 8's JSON lines of social posts, 30 %
ensure_ascii) and ``mixed`` (plain lines). Per shape, each beside the Python reference
streaming pipeline (same run, ratios): plain (all threads, 1 thread, with --per-doc),
gzip -1 and -6, BGZF (parallel inflate), and DuckDB when it is installed.

Usage: PYTHONPATH=bindings/python python bench/bench_report.py [--mb 400] [--shapes social,mixed]
       [--big-gb 4] [--keys] [--rounds 3]
Each job runs --rounds times (every job once per round, one after another): a row gives the
median throughput and the median of its per-round ratios, then each round's ratio. A single
run's ratio moved by a third on the shared 2-core machine (the reference alone ran at 7.2-10.7
MB/s on different days).
Writes the markdown table to bench/out/report.md and prints it."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ROOT = HERE.parent
PY = sys.executable
MB = 1e6

from corpus import TEXT_FIELD, generate as generate_shape  # noqa: E402  (bench/corpus.py)


def generate(path: Path, total: int, shape: str = "mixed") -> int:
    return generate_shape(shape, str(path), total)


def write_bgzf(src: Path, dst: Path, level: int = 6, block: int = 0xFF00) -> None:
    """`src` as BGZF, as `bgzip` writes it (its default level and 65280-byte blocks): each
    block a gzip member whose 'BC' extra subfield holds the member's size minus one, then
    the empty end-of-file member. Written here so that the bench needs no htslib."""
    import struct
    import zlib

    with open(src, "rb") as f, open(dst, "wb") as out:
        while True:
            part = f.read(block)
            c = zlib.compressobj(level, zlib.DEFLATED, -15)
            deflated = c.compress(part) + c.flush()
            out.write(struct.pack("<4BI2BH2BHH", 31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, len(deflated) + 25))
            out.write(deflated + struct.pack("<II", zlib.crc32(part), len(part)))
            if not part:
                break


# ---------------------------------------------------------------------------------------
# Jobs, each run in a fresh interpreter: python bench_report.py --job NAME ARGS...
# ---------------------------------------------------------------------------------------

def job_ferrokern(path: str, field: str = "-", threads: int = 0, per_doc: str = "-") -> dict:
    import ferrokern as fk

    if threads:
        fk.set_threads(threads)
    t = time.perf_counter()
    with fk.report(path, progress=False, text_field=None if field == "-" else field,
                   per_doc=None if per_doc == "-" else per_doc) as r:
        d = r.to_dict()
    return {"seconds": time.perf_counter() - t, "bytes": d["bytes"], "documents": d["documents"],
            "distinct_keys": d["kv"]["distinct"], "emails": d["emails"]["total"]}


def job_import() -> dict:
    import ferrokern  # noqa: F401

    return {"seconds": 0.0}


def job_reference(path: str, limit: int, field: str = "-") -> dict:
    """The Python reference streaming pipeline: line by line, json.loads for JSON lines,
    issue 2's two regexes and int()."""
    import re
    from collections import Counter, defaultdict

    kv_re = re.compile(r"(\w+)\s+(\d+)")
    email_re = re.compile(r"[a-z0-9\.\-+_]+@[a-z0-9\.\-+_]+\.[a-z]+")
    totals, emails = Counter(), Counter()
    n = invalid = 0
    t = time.perf_counter()
    with open(path, "rb") as f:
        for raw in f:
            n += len(raw)
            if n > limit:
                n -= len(raw)
                break
            try:
                text = raw.rstrip(b"\n").decode("utf-8")
                if field != "-":
                    text = json.loads(text)[field]
            except (UnicodeDecodeError, ValueError, KeyError, TypeError):
                invalid += 1
                continue
            agg = defaultdict(int)
            for k, v in kv_re.findall(text):
                agg[k] += int(v)
            for k, v in agg.items():
                totals[k] += v
            emails.update(email_re.findall(text.lower()))
    return {"seconds": time.perf_counter() - t, "bytes": n, "distinct_keys": len(totals)}


def job_polars(path: str, limit: int) -> dict:
    import polars as pl

    # The slice as its own file, so polars reads exactly the same bytes as the others.
    sl = path + ".slice"
    with open(path, "rb") as f, open(sl, "wb") as g:
        g.write(f.read(limit))
        g.write(f.readline())
    size = os.path.getsize(sl)
    t = time.perf_counter()
    lines = pl.scan_csv(sl, has_header=False, separator="\x01", quote_char=None, new_columns=["text"],
                        schema_overrides={"text": pl.String}, encoding="utf8-lossy")
    kv = (lines.select(pl.col("text").str.extract_all(r"(\w+)\s+(\d+)").alias("m")).explode("m")
          .select(pl.col("m").str.extract_groups(r"(\w+)\s+(\d+)").alias("g")).unnest("g")
          .group_by("1").agg(pl.col("2").cast(pl.Int64, strict=False).sum()).collect(engine="streaming"))
    em = (lines.select(pl.col("text").str.to_lowercase().str.extract_all(r"[a-z0-9\.\-+_]+@[a-z0-9\.\-+_]+\.[a-z]+")
                       .alias("e")).explode("e").group_by("e").len().collect(engine="streaming"))
    secs = time.perf_counter() - t
    os.remove(sl)
    return {"seconds": secs, "bytes": size, "distinct_keys": kv.height, "emails_distinct": em.height}


def job_duckdb(path: str, limit: int, field: str = "-") -> dict:
    """DuckDB on the same slice: the two aggregations as two queries (RE2 regexes, not
    Python's classes: answers differ; no invalid-line accounting)."""
    import duckdb

    sl = path + ".duck"
    with open(path, "rb") as f, open(sl, "wb") as g:
        g.write(f.read(limit))
        g.write(f.readline())
    size = os.path.getsize(sl)
    con = duckdb.connect()
    if field != "-":
        src = f"(SELECT {field} AS t FROM read_json('{sl}', format='newline_delimited', columns={{'{field}': 'VARCHAR'}}))"
    else:
        src = (f"(SELECT column0 AS t FROM read_csv('{sl}', header=false, delim=chr(1), quote='', escape='', "
               f"columns={{'column0': 'VARCHAR'}}, ignore_errors=true))")
    t = time.perf_counter()
    kv_re = "(\\w+)\\s+(\\d+)"
    kv = con.execute(
        f"SELECT k, sum(TRY_CAST(v AS HUGEINT)) FROM (SELECT regexp_extract(s, '{kv_re}', 1) AS k, "
        f"regexp_extract(s, '{kv_re}', 2) AS v FROM (SELECT unnest(regexp_extract_all(t, '{kv_re}', 0)) AS s "
        f"FROM {src})) GROUP BY 1"
    ).fetchall()
    em = con.execute(
        f"SELECT e, count(*) FROM (SELECT unnest(regexp_extract_all(lower(t), "
        f"'[a-z0-9\\.\\-+_]+@[a-z0-9\\.\\-+_]+\\.[a-z]+')) AS e FROM {src}) GROUP BY 1").fetchall()
    secs = time.perf_counter() - t
    os.remove(sl)
    return {"seconds": secs, "bytes": size, "distinct_keys": len(kv), "emails_distinct": len(em)}


def job_zlib(path: str) -> dict:
    import zlib

    t = time.perf_counter()
    d = zlib.decompressobj(wbits=31)
    n = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            n += len(d.decompress(b))
    return {"seconds": time.perf_counter() - t, "bytes": n}


def job_keys(path: str) -> dict:
    return job_ferrokern(path)


JOBS = {"ferrokern": job_ferrokern, "import": job_import, "reference": job_reference, "polars": job_polars,
        "zlib": job_zlib, "keys": job_keys, "duckdb": job_duckdb}


def warm(path: Path, limit: int | None = None) -> None:
    """Read `path` (its first `limit` bytes) into the page cache before a timed job, so that
    every job reads its input from memory. This machine's kernel pages out page cache that
    has been idle for about a minute (DAMON reclaim, `kdamond`), and a read of evicted pages
    cost the report's reader thread ~1-1.7 ns of CPU per byte (`_copy_to_iter`: a third of
    a plain run's samples), which takes a core from the workers: a job whose input went
    cold during a long round measured the machine's disk, not the code."""
    left = limit
    with open(path, "rb") as f:
        while left is None or left > 0:
            block = f.read(1 << 20 if left is None else min(1 << 20, left))
            if not block:
                return
            if left is not None:
                left -= len(block)


def run_job(name: str, *args) -> dict:
    # check=False: a failed job raises below with its stderr.
    p = subprocess.run([PY, __file__, "--job", name, *map(str, args)], check=False, capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT / "bindings" / "python")))
    if p.returncode != 0:
        raise RuntimeError(f"job {name} failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def job_main(name: str, args: list) -> None:
    import resource

    conv = [int(a) if a.isdigit() else a for a in args]
    out = JOBS[name](*conv)
    # VmHWM is this process's own peak; ru_maxrss can carry the parent's peak across fork+exec.
    try:
        hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
        out["maxrss_mb"] = int(hwm.split()[1]) / 1024
    except (OSError, IndexError):
        out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(out))


# ---------------------------------------------------------------------------------------

def shape_rows(shape: str, a: argparse.Namespace, work: Path) -> list[tuple[str, ...]]:
    """The throughput rows of one corpus shape, each beside the Python reference.

    Every job runs `a.rounds` times: in each round the reference and every ferrokern run one
    after another, so a ratio compares runs seconds apart; a row gives the median
    throughput, the median of its per-round ratios and, with more than one round, each
    round's ratio (this machine moves one run by a third)."""
    field = TEXT_FIELD[shape] or "-"
    plain = work / f"{shape}.txt"
    t = time.perf_counter()
    size = generate(plain, int(a.mb * 1e6), shape)
    print(f"{shape}: generated {size / MB:,.0f} MB in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    gz1, gz6, bgz = work / f"{shape}.1.gz", work / f"{shape}.6.gz", work / f"{shape}.bgz"
    for gz, level in ((gz1, "-1"), (gz6, "-6")):
        with open(gz, "wb") as f:
            subprocess.run(["gzip", "-c", level, str(plain)], stdout=f, check=True)
    write_bgzf(plain, bgz)
    pd = work / "per_doc.jsonl"
    try:
        import duckdb  # noqa: F401

        have_duckdb = True
    except ImportError:
        have_duckdb = False

    # (key, label, path, threads, per-doc output, note)
    fk_runs = [
        ("plain", "ferrokern.report, plain", plain, 0, "-", ""),
        ("1t", "ferrokern.report, plain, 1 thread", plain, 1, "-", ""),
        ("pd", "ferrokern.report, plain, --per-doc", plain, 0, str(pd), ""),
        ("gz1", "ferrokern.report, gzip -1", gz1, 0, "-", "MB/s of decompressed text"),
        ("gz6", "ferrokern.report, gzip -6", gz6, 0, "-", "MB/s of decompressed text"),
        ("bgzf", "ferrokern.report, BGZF (bgzip's level 6)", bgz, 0, "-", "MB/s of decompressed text"),
    ]
    rounds: list[dict] = []
    for i in range(a.rounds):
        warm(plain, a.ref_mb * 1_000_000)
        r = {"ref": run_job("reference", plain, a.ref_mb * 1_000_000, field)}
        for key, label, path, threads, per_doc, _ in fk_runs:
            warm(path)
            r[key] = run_job("ferrokern", path, field, threads, per_doc)
            pd.unlink(missing_ok=True)
            print(f"{shape} round {i + 1}: {label}: {mbps(r[key]):,.1f} MB/s", file=sys.stderr)
        warm(gz6)
        t = time.perf_counter()
        subprocess.run(f"gzip -dc {gz6} > /dev/null", shell=True, check=True)
        r["gunzip_s"] = time.perf_counter() - t
        if have_duckdb:
            warm(plain, a.duck_mb * 1_000_000)
            r["duck"] = run_job("duckdb", plain, a.duck_mb * 1_000_000, field)
        rounds.append(r)

    def each(values: list[float], fmt: str, form: str = "rounds: {}") -> str:
        # every round's figure, written into `form`; nothing for a single round
        return "" if len(values) < 2 else form.format(", ".join(fmt.format(v) for v in values))

    def col(key: str) -> list[dict]:
        return [r[key] for r in rounds]

    ref_rates = [mbps(x) for x in col("ref")]
    ref = rounds[0]["ref"]
    rows = [(f"{shape}: Python reference (line by line: json.loads, re, int)", f"{ref['bytes'] / MB:,.0f} MB slice",
             f"{median(ref_rates):,.1f}", "1.0×", f"{max(x['maxrss_mb'] for x in col('ref')):,.0f}",
             "; ".join(filter(None, ["the baseline of every ratio", each(ref_rates, "{:,.1f}")])))]
    for key, label, _path, _threads, _per_doc, note in fk_runs:
        runs = col(key)
        ratios = [mbps(x) / mbps(r["ref"]) for x, r in zip(runs, rounds)]
        if key == "pd":
            costs = [x["seconds"] / r["plain"]["seconds"] - 1 for x, r in zip(runs, rounds)]
            note = f"per-doc cost: {median(costs):+.0%} on top of the report" + each(costs, "{:+.0%}", " ({})")
        elif key == "bgzf":
            shares = [mbps(x) / mbps(r["plain"]) for x, r in zip(runs, rounds)]
            note += f"; {median(shares):.0%} of plain" + each(shares, "{:.0%}", " ({})")
        x = runs[0]
        rows.append((f"{shape}: {label}", f"{x['bytes'] / MB:,.0f} MB",
                     f"**{median([mbps(y) for y in runs]):,.1f}**", f"**{median(ratios):,.1f}×**",
                     f"{max(y['maxrss_mb'] for y in runs):,.0f}",
                     "; ".join(filter(None, [note or f"{x['documents']:,} docs, {x['distinct_keys']:,} distinct keys",
                                             each(ratios, "{:,.1f}×")]))))
    rows.append((f"{shape}: gzip -dc > /dev/null (decompression alone)", f"{size / MB:,.0f} MB",
                 f"{size / median([r['gunzip_s'] for r in rounds]) / MB:,.1f}", "", "", "single-threaded"))
    if have_duckdb:
        dk = col("duck")
        over = [mbps(r["plain"]) / mbps(d) for d, r in zip(dk, rounds)]
        rows.append((f"{shape}: DuckDB, the two aggregations as two queries", f"{dk[0]['bytes'] / MB:,.0f} MB slice",
                     f"{median([mbps(d) for d in dk]):,.1f}",
                     f"{median([mbps(d) / mbps(r['ref']) for d, r in zip(dk, rounds)]):,.1f}×",
                     f"{max(d['maxrss_mb'] for d in dk):,.0f}",
                     f"RE2 classes, answers differ; ferrokern/DuckDB = {median(over):,.1f}×"
                     + each(over, "{:,.1f}×", " ({})")))
    else:
        rows.append((f"{shape}: DuckDB", "", "", "", "", "not installed (pip install duckdb)"))
    for p in (plain, gz1, gz6, bgz):
        p.unlink()
    return rows


def mbps(r: dict) -> float:
    return r["bytes"] / r["seconds"] / MB


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=400, help="size of each shape's corpus (MB)")
    ap.add_argument("--shapes", default="social,mixed", help="corpus shapes (bench/corpus.py)")
    ap.add_argument("--big-gb", type=float, default=0, help="size of the memory-run corpus (0: skip)")
    ap.add_argument("--ref-mb", type=int, default=32, help="slice for the Python reference")
    ap.add_argument("--duck-mb", type=int, default=128, help="slice for DuckDB")
    ap.add_argument("--keys", action="store_true", help="also measure the memory cost of a distinct key")
    ap.add_argument("--dir", default="/tmp/ferrokern-bench-report")
    ap.add_argument("--rounds", type=int, default=3,
                    help="times each job runs (medians; ratios taken within each round)")
    a = ap.parse_args()
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")

    import ferrokern

    work = Path(a.dir)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        base = run_job("import")
        for shape in a.shapes.split(","):
            rows += shape_rows(shape, a, work)
        if a.big_gb > 0:
            big = work / "big.txt"
            bsize = generate(big, int(a.big_gb * 1e9))
            fkb = run_job("ferrokern", big)
            rows.append((f"**ferrokern.report, {a.big_gb:g} GB plain**", f"{bsize / MB:,.0f} MB",
                         f"{fkb['bytes'] / fkb['seconds'] / MB:,.1f}", "", f"**{fkb['maxrss_mb']:,.0f}**",
                         f"peak RSS incl. interpreter ({base['maxrss_mb']:,.0f} MB at import); "
                         f"{fkb['distinct_keys']:,} distinct keys"))
            big.unlink()
        if a.keys:
            # Cost of a distinct key: the same number of lines, 2 M distinct keys vs 10.
            n = 2_000_000
            many, few = work / "many.txt", work / "few.txt"
            many.write_bytes(b"".join(b"key%07d 1\n" % i for i in range(n)))
            few.write_bytes(b"".join(b"key%07d 1\n" % (i % 10) for i in range(n)))
            km, kf = run_job("keys", many), run_job("keys", few)
            per_key = (km["maxrss_mb"] - kf["maxrss_mb"]) * 1024 * 1024 / (km["distinct_keys"] - kf["distinct_keys"])
            rows.append(("cost of one distinct kv key", f"{many.stat().st_size / MB:,.0f} MB, 2 M keys",
                         "", "", f"{km['maxrss_mb']:,.0f} vs {kf['maxrss_mb']:,.0f}",
                         f"**≈ {per_key:,.0f} bytes per distinct key** (11-byte keys; RSS difference / 2 M)"))
            many.unlink()
            few.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    head = ("| run | input | MB/s | vs reference | peak RSS (MB) | notes |\n"
            "|---|---|---:|---:|---:|---|\n")
    table = head + "\n".join("| " + " | ".join(r) + " |" for r in rows)
    info = (f"ferrokern {ferrokern.library_version}, {ferrokern.threads()} threads, {os.cpu_count()} CPUs, "
            f"Python {sys.version.split()[0]}; {a.rounds} round{'s' * (a.rounds > 1)} (medians; each ratio "
            f"taken within a round, then the median); command: "
            f"`PYTHONPATH=bindings/python {Path(PY).name} bench/bench_report.py --mb {a.mb:g} --shapes {a.shapes} "
            f"--ref-mb {a.ref_mb} --duck-mb {a.duck_mb} --rounds {a.rounds}`")
    text = f"{table}\n\n{info}\n"
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "report.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--job":
        job_main(sys.argv[2], sys.argv[3:])
    else:
        main()
