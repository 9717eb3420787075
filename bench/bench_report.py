"""Benchmark of the streaming report (issue 4), one run, one machine.

Generates a deterministic corpus in /tmp (1 GB plain and its gzip; 4 GB plain for the
memory run), deletes it afterwards, and measures, each in its own subprocess (so peak RSS
is that job's own VmHWM):

* ferrokern.report on the plain and the gzip corpus (all cores);
* gzip decompression alone (`gzip -dc > /dev/null`, and Python's zlib streaming), to judge
  whether gzip input is limited only by decompression;
* the Python reference (issue 2's extract_and_aggregate + extract_emails, streaming the file
  line by line) on a slice of the corpus, extrapolated by throughput (said so in the table);
* the closest polars pipeline (scan lines, str.extract_all + explode + group_by) on a slice,
  whose answers differ from the reference (Rust regex classes, not Python's);
* the 4 GB corpus: peak RSS;
* the cost of one distinct key: peak RSS with 2 M distinct keys minus peak RSS with 10, over
  the same number of lines, divided by 2 M.

Usage: PYTHONPATH=bindings/python python bench/bench_report.py [--gb 1] [--big-gb 4]
Writes the markdown table to bench/out/report.md and prints it."""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
MB = 1e6

WORDS = ["price", "qty", "user", "total", "价格", "数量", "名字", "count", "score", "naïve"]


def make_block(seed: int, size: int) -> bytes:
    """~`size` bytes of mixed lines: English and Chinese text, key/value pairs, mixed-case
    emails, URLs, long runs of Chinese without spaces, a few invalid lines. Keys contain the
    marker BLK so each copy of the block can get its own keys."""
    rng = random.Random(seed)
    out, n = [], 0
    while n < size:
        r = rng.random()
        if r < 0.002:
            line = b"\xff\xfe binary \x00 junk"
        elif r < 0.05:
            line = ("中文长句没有空格" * rng.randrange(5, 40)).encode()
        else:
            parts = []
            for _ in range(rng.randrange(2, 10)):
                x = rng.random()
                if x < 0.45:
                    parts.append(f"{rng.choice(WORDS)}BLK{rng.randrange(500)} {rng.randrange(10**rng.randrange(1, 7))}")
                elif x < 0.6:
                    parts.append(f"Contact {rng.choice(['Bob', 'alice.w', 'Li.Wei', 'ops+x'])}{rng.randrange(50)}@"
                                 f"{rng.choice(['Example.COM', '163.com', 'mail.example.org', 'QQ.com'])}")
                elif x < 0.7:
                    parts.append(f"see https://example.com/p/{rng.randrange(10**6)}?q=1")
                else:
                    parts.append(rng.choice(["the quick brown fox", "用户的订单已经发货", "lorem ipsum dolor", "状态 正常"]))
            line = " ".join(parts).encode()
        out.append(line)
        n += len(line) + 1
    return b"\n".join(out) + b"\n"


def generate(path: Path, total: int, block_size: int = 8 << 20) -> int:
    """Write about `total` bytes: copies of one block, each copy with its own key marker."""
    block = make_block(1, block_size)
    written = 0
    with open(path, "wb") as f:
        i = 0
        while written < total:
            b = block.replace(b"BLK", f"b{i % 256}x".encode())  # 256 key variants x 500 x 10 words
            f.write(b)
            written += len(b)
            i += 1
    return written


# ---------------------------------------------------------------------------------------
# Jobs, each run in a fresh interpreter: python bench_report.py --job NAME ARGS...
# ---------------------------------------------------------------------------------------

def job_ferrokern(path: str) -> dict:
    import ferrokern as fk

    t = time.perf_counter()
    with fk.report(path, progress=False) as r:
        d = r.to_dict()
    return {"seconds": time.perf_counter() - t, "bytes": d["bytes"], "documents": d["documents"],
            "distinct_keys": d["kv"]["distinct"], "emails": d["emails"]["total"]}


def job_import() -> dict:
    import ferrokern  # noqa: F401

    return {"seconds": 0.0}


def job_reference(path: str, limit: int) -> dict:
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
            except UnicodeDecodeError:
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
        "zlib": job_zlib, "keys": job_keys}


def run_job(name: str, *args) -> dict:
    p = subprocess.run([PY, __file__, "--job", name, *map(str, args)], capture_output=True, text=True,
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

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0, help="size of the plain/gzip corpus")
    ap.add_argument("--big-gb", type=float, default=4.0, help="size of the memory-run corpus (0: skip)")
    ap.add_argument("--ref-mb", type=int, default=64, help="slice for the Python reference")
    ap.add_argument("--polars-mb", type=int, default=256, help="slice for polars")
    ap.add_argument("--dir", default="/tmp/ferrokern-bench-report")
    a = ap.parse_args()

    import ferrokern

    work = Path(a.dir)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        plain = work / "corpus.txt"
        t = time.perf_counter()
        size = generate(plain, int(a.gb * 1e9))
        print(f"generated {size / MB:,.0f} MB in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        gz = work / "corpus.txt.gz"
        with open(gz, "wb") as f:
            subprocess.run(["gzip", "-c", "-6", str(plain)], stdout=f, check=True)
        gz_size = gz.stat().st_size

        base = run_job("import")
        fkp = run_job("ferrokern", plain)
        fkg = run_job("ferrokern", gz)
        t = time.perf_counter()
        subprocess.run(f"gzip -dc {gz} > /dev/null", shell=True, check=True)
        gzip_s = time.perf_counter() - t
        zl = run_job("zlib", gz)
        ref = run_job("reference", plain, a.ref_mb * 1_000_000)
        pol = run_job("polars", plain, a.polars_mb * 1_000_000)

        def mbps(r):
            return r["bytes"] / r["seconds"] / MB

        ref_rate = mbps(ref)
        rows.append(("Python reference, line by line (re + int)", f"{ref['bytes'] / MB:,.0f} MB slice",
                     f"{ref_rate:,.1f}", "1.0×", f"{ref['maxrss_mb']:,.0f}",
                     f"extrapolated to {size / MB:,.0f} MB: {size / MB / ref_rate:,.0f} s"))
        rows.append(("polars lazy, streaming engine (extract_all + explode + group_by)", f"{pol['bytes'] / MB:,.0f} MB slice",
                     f"{mbps(pol):,.1f}", f"{mbps(pol) / ref_rate:,.1f}×", f"{pol['maxrss_mb']:,.0f}",
                     "answers differ (Rust regex classes; no invalid-line accounting)"))
        rows.append(("**ferrokern.report, plain**", f"{fkp['bytes'] / MB:,.0f} MB",
                     f"**{mbps(fkp):,.1f}**", f"**{mbps(fkp) / ref_rate:,.1f}×**", f"{fkp['maxrss_mb']:,.0f}",
                     f"{fkp['documents']:,} docs, {fkp['distinct_keys']:,} distinct keys"))
        rows.append(("**ferrokern.report, gzip**", f"{gz_size / MB:,.0f} MB gz → {fkg['bytes'] / MB:,.0f} MB",
                     f"**{mbps(fkg):,.1f}**", f"{mbps(fkg) / ref_rate:,.1f}×", f"{fkg['maxrss_mb']:,.0f}",
                     "MB/s of decompressed text"))
        rows.append(("gzip -dc > /dev/null (decompression alone)", f"{size / MB:,.0f} MB",
                     f"{size / gzip_s / MB:,.1f}", "", "", "single-threaded, the ceiling for gzip input"))
        rows.append(("Python zlib streaming (decompression alone)", f"{zl['bytes'] / MB:,.0f} MB",
                     f"{mbps(zl):,.1f}", "", f"{zl['maxrss_mb']:,.0f}", "miniz_oxide/zlib-rs inside ferrokern is comparable"))
        os.remove(gz)
        plain.unlink()

        if a.big_gb > 0:
            big = work / "big.txt"
            bsize = generate(big, int(a.big_gb * 1e9))
            fkb = run_job("ferrokern", big)
            rows.append((f"**ferrokern.report, {a.big_gb:g} GB plain**", f"{bsize / MB:,.0f} MB",
                         f"{mbps(fkb):,.1f}", "", f"**{fkb['maxrss_mb']:,.0f}**",
                         f"peak RSS incl. interpreter ({base['maxrss_mb']:,.0f} MB at import); "
                         f"{fkb['distinct_keys']:,} distinct keys"))
            big.unlink()

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
            f"Python {sys.version.split()[0]}; one run; command: "
            f"`PYTHONPATH=bindings/python {Path(PY).name} bench/bench_report.py --gb {a.gb:g} --big-gb {a.big_gb:g}`")
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
