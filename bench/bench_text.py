#!/usr/bin/env python3
"""Text benchmark for issue 2: ferrokern's text kernels against the pure-Python reference
and polars, on a deterministic multilingual corpus.

    PYTHONPATH=bindings/python python bench/bench_text.py            # ~100 MB corpus
    PYTHONPATH=bindings/python python bench/bench_text.py --quick    # 10 MB, fast check

Needs `cargo build --release` (and, for the allocator rows,
`cargo build --release --no-default-features --target-dir target/nomimalloc`).
Prints a markdown table and writes it to bench/out/text.md.

Every contender is measured in the same process, round-robin (rep 1 of every contender,
then rep 2, ...), and the best of N is kept, so background load hits all of them alike.
MB/s are UTF-8 megabytes (10^6 bytes) of corpus text per second.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

# numpy's OpenBLAS spins worker threads that would compete with ours on a 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
CACHE = Path(os.environ.get("FERROKERN_BENCH_CACHE", "/tmp/ferrokern_bench"))
CORPUS_VERSION = 1
MB = 1e6

# --------------------------------------------------------------------------------------
# The reference, exactly as in issue 2: the package ships it verbatim.
from ferrokern.reference import EMAIL_RE, KV_RE  # noqa: E402,F401
from ferrokern.reference import extract_and_aggregate as ref_extract_and_aggregate  # noqa: E402
from ferrokern.reference import extract_emails as ref_extract_emails  # noqa: E402


# --------------------------------------------------------------------------------------
# Corpus: deterministic, multilingual.

EN_WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when if "
    "so no will can more other into some could them than then its time only new about these "
    "two may first any like now my over such our man me even most made after also did many "
    "before must through back years where much your way well down should because each just "
    "those people how too little state good very make world still own see men work long get "
    "here between both life being under never day same another know while last might us great "
    "old year off come since against go came right used take three order shipment invoice "
    "customer warehouse product delivery payment account report quarter revenue total"
).split()
EN_KEYS = ["price", "qty", "count", "total", "items", "score", "age", "year", "id", "user_id",
           "Stock", "TOTAL", "page", "room", "level", "amount", "weight_kg", "v2"]
ZH_CHARS = "".join(dict.fromkeys(
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子"
    "说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当"
    "使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你"
    "明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果"
    "料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农"
    "指几九区强放决西被干做必战先回则任取据处府研价格商店顾客订单仓库支付账户报告季度收入"))
ZH_KEYS = ["数量", "价格", "总计", "年龄", "分数", "编号", "库存", "重量", "页码", "订单号"]
ZH_PUNCT = "，。、；！？"
TLDS = ["com", "COM", "org", "net", "cn", "io", "Co", "edu"]
HOSTS = ["example", "Example", "mail.corp", "163", "qq", "gmail", "Company-Name", "uni.edu", "host_1"]
# Rare cases where Python's \w \d \s and int() are not Unicode's / the regex crate's.
EDGES = [
    "x² 3", "½ 4", "cafe\u0301 2", "naïve 5", "k\x1c5", "u\x1f 6", "Ⅻ 12", "数量 ７", "價格 ٣٤",
    "n\u203fm 8", "\u212Aelvin@Lab.ORG", "İnfo@Example.TR", "big 123456789012345678901234567890",
    "neg -5", "a\u00a07", "z\u3000 9", "ｆｕｌｌ 10", "x\u200b 11", "ß@straße.de", "\U0001d7ce 1",
]


def _en_sentence(rng):
    n = rng.randint(4, 14)
    w = [rng.choice(EN_WORDS) for _ in range(n)]
    w[0] = w[0].capitalize()
    return " ".join(w) + rng.choice(".,;!?.")


def _zh_sentence(rng):
    return "".join(rng.choice(ZH_CHARS) for _ in range(rng.randint(5, 28))) + rng.choice(ZH_PUNCT)


def _value(rng):
    r = rng.random()
    if r < 0.6:
        return str(rng.randint(0, 999))
    if r < 0.97:
        return str(rng.randint(0, 10**rng.randint(3, 12)))
    if r < 0.99:
        return str(rng.randint(0, 10**rng.randint(18, 30)))  # past int64
    return "0" * rng.randint(1, 3) + str(rng.randint(0, 99))


def _sep(rng):
    return rng.choice([" ", " ", " ", " ", "  ", "\t", " \n", "\u3000"])


def _kv_en(rng):
    k = rng.choice(EN_KEYS)
    v = _value(rng)
    form = rng.random()
    if form < 0.7:
        return f"{k}{_sep(rng)}{v}"
    if form < 0.85:
        return f"{k}={v}"  # not a match
    return f"{k}: {v}"  # not a match either (':' is neither \w nor \s)


def _kv_zh(rng):
    k = rng.choice(ZH_KEYS)
    v = _value(rng)
    form = rng.random()
    if form < 0.6:
        return f"{k}{_sep(rng)}{v}"
    if form < 0.8:
        return f"{k} {v}{rng.choice(['元', '件', '个', 'kg'])}"
    return f"{k}：{v}"  # full-width colon: no match


def _rand_case(rng, s):
    return "".join(c.upper() if rng.random() < 0.3 else c for c in s)


def _email(rng):
    user = rng.choice(["john.doe", "li.wei", "a_b", "support", "Info+news", "x-y.z", "zhang3", "m"])
    if rng.random() < 0.5:
        user = _rand_case(rng, user)
    e = f"{user}@{rng.choice(HOSTS)}.{rng.choice(TLDS)}"
    return rng.choice(["Contact: ", "mail ", "联系", "邮箱：", "<", "", "(", "email "]) + e + rng.choice(["", ".", ">", ")", "。", " "])


def _url(rng):
    host = rng.choice(["www.Example.com", "shop.example.cn", "例子.中国", "api.host-1.io", "GitHub.com"])
    path = "/".join(rng.choice(["a", "items", "商品", "v1", "page", "Search"]) for _ in range(rng.randint(1, 4)))
    q = f"?id={rng.randint(1, 99999)}&page={rng.randint(1, 50)}" if rng.random() < 0.5 else ""
    return f"{rng.choice(['https', 'http'])}://{host}/{path}{q}"


def _zh_run(rng):
    # A long run of Chinese with no space; sometimes it is a key (the reference is quadratic here).
    run = "".join(rng.choice(ZH_CHARS) for _ in range(rng.randint(20, 200)))
    return run + (f" {rng.randint(0, 99)}" if rng.random() < 0.3 else "。")


def _noise(rng):
    return rng.choice([
        f"{rng.randint(2000, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        f"v{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}",
        f"ID#{rng.randint(1, 10**6)}", f"(+86) {rng.randint(130, 199)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
        f"{rng.randint(1, 999)}%", "—", "...", f"№{rng.randint(1, 99)}",
    ])


_KINDS = [(_en_sentence, 30), (_zh_sentence, 25), (_kv_en, 12), (_kv_zh, 8), (_email, 6),
          (_url, 5), (_zh_run, 2), (_noise, 4), (lambda rng: rng.choice(EDGES), 1)]


def _doc(rng, target_bytes):
    kinds = [k for k, _ in _KINDS]
    weights = [w for _, w in _KINDS]
    parts, size = [], 0
    while size < target_bytes:
        (f,) = rng.choices(kinds, weights)
        s = f(rng)
        parts.append(s)
        parts.append(rng.choice([" ", " ", " ", "", "\n"]))
        size += len(s.encode("utf-8")) + 1
    return "".join(parts)


def generate_corpus(mb: float, seed: int) -> list[str]:
    rng = random.Random(seed)
    target = int(mb * MB)
    n_big = max(2, int(mb / 5))  # 100 KB documents, ~2% of the bytes
    docs, total = [], 0
    short_target = target - n_big * 100_000
    while total < short_target:
        d = _doc(rng, min(int(rng.expovariate(1 / 600)) + 40, 20_000))
        docs.append(d)
        total += len(d.encode("utf-8"))
    for _ in range(n_big):
        docs.insert(rng.randrange(len(docs) + 1), _doc(rng, 100_000))
    return docs


def corpus_path(mb: float, seed: int) -> Path:
    return CACHE / f"corpus_v{CORPUS_VERSION}_{mb:g}mb_seed{seed}.arrow"


def load_corpus(mb: float, seed: int, want_arrow: bool = True):
    """(list[str], pyarrow large_string array or None), generated once and cached."""
    import pyarrow as pa

    p = corpus_path(mb, seed)
    if not p.exists():
        t = time.perf_counter()
        docs = generate_corpus(mb, seed)
        CACHE.mkdir(parents=True, exist_ok=True)
        tbl = pa.table({"text": pa.array(docs, type=pa.large_string())})
        tmp = p.with_suffix(".tmp")
        with pa.OSFile(str(tmp), "wb") as f, pa.ipc.new_file(f, tbl.schema) as w:
            w.write_table(tbl)
        tmp.rename(p)
        print(f"# generated {len(docs)} documents in {time.perf_counter() - t:.1f}s -> {p}", file=sys.stderr)
    if not want_arrow:
        # Memory-mapped: the Arrow buffers are the file's pages, not an allocator's (RSS child).
        with pa.memory_map(str(p)) as src:
            arr = pa.ipc.open_file(src).read_all().column("text").combine_chunks()
        docs = arr.to_pylist()
        del arr
        return docs, None
    # Read into memory (not pa.array(docs): converting a list[str] to Arrow makes CPython
    # cache each str's UTF-8 form, which would flatter every later str.encode()).
    with pa.OSFile(str(p)) as src:
        arr = pa.ipc.open_file(src).read_all().column("text").combine_chunks()
    return arr.to_pylist(), arr


# --------------------------------------------------------------------------------------
# Timing.

def bench_round_robin(fns: dict, repeat: int, prepare=None, fast=0.25, inner=5):
    """{name: best seconds}; fns run in turn, `repeat` rounds. A function faster than `fast`
    seconds runs up to `inner` times per round (noise on a shared machine is in bursts).
    `prepare(name)` (untimed) returns the argument for a run that consumes its input."""
    best = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            for _ in range(inner if best[name] < fast else 1):
                arg = prepare(name) if prepare else None
                gc.collect()
                t = time.perf_counter()
                r = fn(arg) if prepare else fn()
                dt = time.perf_counter() - t
                del r
                best[name] = min(best[name], dt)
    return best


def vm_status(field: str) -> int:
    """VmRSS / VmHWM of this process in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


# --------------------------------------------------------------------------------------
# ferrokern paths below the public API: flat arrays, kernel alone, marshalling alone.

def fk_paths():
    import numpy as np

    import ferrokern
    from ferrokern._native import check, ffi, lib
    from ferrokern._text import _Batch, _key_sums_result, _matches_result, _max_digits

    maxd = _max_digits()

    def _arr(ptr, n, dtype):
        if n == 0:
            return np.empty(0, dtype)
        return np.frombuffer(ffi.buffer(ptr, n * np.dtype(dtype).itemsize), dtype)

    def kv_flat(arr):
        """pyarrow large_string in -> C view arrays wrapped by numpy (no dicts)."""
        b = _Batch(arr)
        out = ffi.new("FkKeySums**")
        check(lib.fk_extract_and_aggregate(b.ptr, maxd, out))
        h = out[0]
        try:
            v = ffi.new("FkKeySumsView*")
            check(lib.fk_key_sums_view(h, v))
            keys = _arr(v.keys, v.keys_len, np.uint8)
            key_offsets = _arr(v.key_offsets, v.n_entries + 1, np.uint64)
            values = _arr(v.values, v.n_entries, np.int64)
            text_offsets = _arr(v.text_offsets, v.n_texts + 1, np.uint64)
            # "Consume": one pass over each array, as an aggregation downstream would.
            return (int(values.sum()), int(key_offsets[-1]), int(np.diff(text_offsets).max(initial=0)),
                    len(keys), int(v.n_big))
        finally:
            lib.fk_key_sums_free(h)

    def kv_flat_to_dicts(arr):
        """Rebuild list[dict] from the flat arrays (untimed, for the correctness check)."""
        b = _Batch(arr)
        out = ffi.new("FkKeySums**")
        check(lib.fk_extract_and_aggregate(b.ptr, maxd, out))
        h = out[0]
        try:
            v = ffi.new("FkKeySumsView*")
            check(lib.fk_key_sums_view(h, v))
            kb = bytes(ffi.buffer(v.keys, v.keys_len)) if v.keys_len else b""
            ko = _arr(v.key_offsets, v.n_entries + 1, np.uint64).tolist()
            vals = _arr(v.values, v.n_entries, np.int64).tolist()
            if v.n_big:
                bd = bytes(ffi.buffer(v.big_data, v.big_data_len))
                bo = _arr(v.big_offsets, v.n_big + 1, np.uint64).tolist()
                for j, e in enumerate(_arr(v.big_index, v.n_big, np.uint64).tolist()):
                    vals[e] = int(bd[bo[j]:bo[j + 1]])
            to = _arr(v.text_offsets, v.n_texts + 1, np.uint64).tolist()
            keys = [kb[ko[e]:ko[e + 1]].decode() for e in range(v.n_entries)]
            return [dict(zip(keys[a:z], vals[a:z])) for a, z in zip(to, to[1:])]
        finally:
            lib.fk_key_sums_free(h)

    def emails_flat(arr):
        b = _Batch(arr)
        out = ffi.new("FkMatches**")
        check(lib.fk_extract_emails(b.ptr, out))
        h = out[0]
        try:
            v = ffi.new("FkMatchesView*")
            check(lib.fk_matches_view(h, v))
            data = _arr(v.data, v.data_len, np.uint8)
            fo = _arr(v.field_offsets, v.n_fields + 1, np.uint64)
            to = _arr(v.text_offsets, v.n_texts + 1, np.uint64)
            return (len(data), int(fo[-1]), int(np.diff(to).max(initial=0)))
        finally:
            lib.fk_matches_free(h)

    def kv_kernel(b):
        out = ffi.new("FkKeySums**")
        check(lib.fk_extract_and_aggregate(b.ptr, maxd, out))
        lib.fk_key_sums_free(out[0])

    def emails_kernel(b):
        out = ffi.new("FkMatches**")
        check(lib.fk_extract_emails(b.ptr, out))
        lib.fk_matches_free(out[0])

    def kv_handle(b):
        out = ffi.new("FkKeySums**")
        check(lib.fk_extract_and_aggregate(b.ptr, maxd, out))
        return out[0]

    def emails_handle(b):
        out = ffi.new("FkMatches**")
        check(lib.fk_extract_emails(b.ptr, out))
        return out[0]

    return dict(np=np, ferrokern=ferrokern, Batch=_Batch, kv_flat=kv_flat, kv_flat_to_dicts=kv_flat_to_dicts,
                emails_flat=emails_flat, kv_kernel=kv_kernel, emails_kernel=emails_kernel,
                kv_handle=kv_handle, emails_handle=emails_handle,
                kv_to_python=_key_sums_result, emails_to_python=lambda h: _matches_result(h, tuples=False))


# --------------------------------------------------------------------------------------
# polars: the fastest thing a user would reach for.

KV_PAT = r"(\w+)\s+(\d+)"
EMAIL_PAT = r"[a-z0-9\.\-+_]+@[a-z0-9\.\-+_]+\.[a-z]+"


def polars_paths(n_texts):
    import polars as pl

    def kv_frame(df):
        return (df.lazy().with_row_index("doc")
                .select("doc", m=pl.col("text").str.extract_all(KV_PAT))
                .explode("m")
                .drop_nulls("m")
                .select("doc", g=pl.col("m").str.extract_groups(KV_PAT))
                .unnest("g")
                .group_by("doc", "1", maintain_order=True)
                .agg(pl.col("2").cast(pl.Int64, strict=False).sum())
                .collect())

    def kv_dicts(df):
        g = kv_frame(df).group_by("doc", maintain_order=True).agg("1", "2")
        out = [{} for _ in range(n_texts)]
        for d, ks, vs in zip(g["doc"].to_list(), g["1"].to_list(), g["2"].to_list()):
            out[d] = dict(zip(ks, vs))
        return out

    def emails_lists(df):
        return df["text"].str.to_lowercase().str.extract_all(EMAIL_PAT).to_list()

    return pl, kv_frame, kv_dicts, emails_lists


# --------------------------------------------------------------------------------------
# Children: allocator comparison and peak RSS run in their own processes.

def child_alloc(args):
    """E2E kv / emails (+ kernels) with whichever library FERROKERN_LIBRARY names."""
    docs, arr = load_corpus(args.mb, args.seed)
    P = fk_paths()
    fk = P["ferrokern"]
    fk.extract_and_aggregate(docs[:100])
    b = P["Batch"](arr)
    best = bench_round_robin({
        "kv_e2e": lambda: fk.extract_and_aggregate(docs),
        "emails_e2e": lambda: fk.extract_emails(docs),
        "kv_kernel": lambda: P["kv_kernel"](b),
        "emails_kernel": lambda: P["emails_kernel"](b),
    }, args.repeat)
    print(json.dumps({"lib": str(fk.library_path()), "best": best}))


def _deep_size(results) -> int:
    """Bytes of a list[dict[str, int]] / list[list[str]] as Python objects."""
    n = sys.getsizeof(results)
    for r in results:
        n += sys.getsizeof(r)
        if isinstance(r, dict):
            n += sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in r.items())
        else:
            n += sum(sys.getsizeof(x) for x in r)
    return n


def child_toarrow(args):
    """pa.array(list[str]) on strs that have never been converted (CPython caches a str's
    UTF-8 form on first conversion, so a second conversion in the same process is a copy)."""
    import pyarrow as pa

    docs, _ = load_corpus(args.mb, args.seed, want_arrow=False)
    gc.collect()
    t = time.perf_counter()
    a = pa.array(docs, type=pa.large_string())
    first = time.perf_counter() - t
    del a
    gc.collect()
    t = time.perf_counter()
    a = pa.array(docs, type=pa.large_string())
    second = time.perf_counter() - t
    print(json.dumps({"first": first, "second": second}))


def child_rss(args):
    """Peak RSS of one end-to-end call over the interpreter's baseline, relative to the
    input (list[str]) plus output (list[dict] / list[list]) as Python objects."""
    import pyarrow  # noqa: F401  (loading the corpus needs it: keep it out of the measurement)

    import ferrokern

    which = args.child_arg
    ferrokern.extract_and_aggregate(["warm 1"] * 10_000)  # start the pool and allocator
    ferrokern.extract_emails(["a@b.cd"] * 10_000)
    gc.collect()
    rss0 = vm_status("VmRSS")
    docs, _ = load_corpus(args.mb, args.seed, want_arrow=False)
    gc.collect()
    rss1 = vm_status("VmRSS")
    in_utf8 = sum(len(d.encode("utf-8")) for d in docs)
    in_obj = sum(sys.getsizeof(d) for d in docs) + sys.getsizeof(docs)
    with open("/proc/self/clear_refs", "w") as f:  # reset VmHWM to the current RSS
        f.write("5")
    fn = {"fk_kv": ferrokern.extract_and_aggregate, "ref_kv": ref_extract_and_aggregate,
          "fk_emails": ferrokern.extract_emails, "ref_emails": ref_extract_emails}[which]
    t = time.perf_counter()
    res = fn(docs)
    dt = time.perf_counter() - t
    hwm = vm_status("VmHWM")
    gc.collect()
    rss2 = vm_status("VmRSS")
    print(json.dumps({"which": which, "rss0": rss0, "rss1": rss1, "hwm": hwm, "rss2": rss2,
                      "in_utf8": in_utf8, "in_obj": in_obj, "out_obj": _deep_size(res), "n": len(res), "seconds": dt}))


def run_child(args, kind, arg="", env_extra=None, timeout=600):
    env = dict(os.environ)
    env.update(env_extra or {})
    cmd = [sys.executable, __file__, "--child", kind, "--child-arg", arg, "--mb", str(args.mb),
           "--seed", str(args.seed), "--repeat", str(args.repeat)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"child {kind} {arg} failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------

def fmt_rate(nbytes, secs):
    r = nbytes / secs / MB
    if r >= 10_000:
        return f"{r / 1000:,.0f} GB/s"
    if r >= 1000:
        return f"{r / 1000:.2f} GB/s"
    return f"{r:.1f} MB/s" if r >= 10 else f"{r:.2f} MB/s"


def kv_items_equal(a, b):
    """Strict: same keys in the same (first-seen) order, same int values."""
    return len(a) == len(b) and list(a.items()) == list(b.items()) and all(type(v) is int for v in a.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=100.0, help="corpus size in MB (default 100)")
    ap.add_argument("--quick", action="store_true", help="10 MB corpus")
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "text.md"))
    ap.add_argument("--nomimalloc-lib", default=str(ROOT / "target" / "nomimalloc" / "release" / "libferrokern.so"))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-arg", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.mb = 10.0
    if args.child == "toarrow":
        return child_toarrow(args)
    if args.child == "alloc":
        return child_alloc(args)
    if args.child == "rss":
        return child_rss(args)

    t_start = time.perf_counter()
    rows: list[tuple] = []  # (section, name, seconds|None, rate, vs_ref, note)

    def log(msg):
        print(f"# [{time.perf_counter() - t_start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    load_before = os.getloadavg()
    docs, arr = load_corpus(args.mb, args.seed)
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    big = sum(1 for d in docs if len(d) >= 30_000)
    log(f"corpus: {len(docs)} documents, {nbytes / MB:.1f} MB UTF-8, {big} large documents")

    P = fk_paths()
    fk, np = P["ferrokern"], P["np"]
    default_threads = fk.threads()
    pl, pl_kv_frame, pl_kv_dicts, pl_emails = polars_paths(len(docs))
    df = pl.DataFrame({"text": pl.from_arrow(arr)})
    R = args.repeat

    # ---- correctness on the whole corpus (untimed) ---------------------------------
    log("reference kv (for the check)")
    t = time.perf_counter()
    ref_kv = ref_extract_and_aggregate(docs)
    ref_kv_first = time.perf_counter() - t
    ref_em = ref_extract_emails(docs)
    log("checking ferrokern against the reference")
    checks = {}

    def mismatches(got, want, eq):
        bad = [i for i, (g, w) in enumerate(zip(got, want)) if not eq(g, w)]
        if len(got) != len(want):
            bad.append(min(len(got), len(want)))
        return bad

    checks["kv list[str] → list[dict]"] = mismatches(fk.extract_and_aggregate(docs), ref_kv, kv_items_equal)
    checks["kv pyarrow → list[dict]"] = mismatches(fk.extract_and_aggregate(arr), ref_kv, kv_items_equal)
    checks["kv flat arrays (rebuilt)"] = mismatches(P["kv_flat_to_dicts"](arr), ref_kv, kv_items_equal)
    checks["emails list[str]"] = mismatches(fk.extract_emails(docs), ref_em, lambda a, b: a == b)
    checks["emails pyarrow"] = mismatches(fk.extract_emails(arr), ref_em, lambda a, b: a == b)
    pl_kv_diff = mismatches(pl_kv_dicts(df), ref_kv, lambda a, b: a == b)
    pl_em_diff = mismatches(pl_emails(df), ref_em, lambda a, b: a == b)
    first_bad = None
    for name, bad in checks.items():
        log(f"  {name}: {len(bad)} mismatching documents")
        if bad and first_bad is None:
            first_bad = (name, bad[0])
    log(f"  polars kv differs on {len(pl_kv_diff)} docs, emails on {len(pl_em_diff)}")
    total_fk_mismatch = sum(len(b) for b in checks.values())

    # ---- kv ------------------------------------------------------------------------
    log("kv rows")
    b_arrow = P["Batch"](arr)
    b_list = P["Batch"](docs)
    kv = bench_round_robin({
        "ref": lambda: ref_extract_and_aggregate(docs),
        "e2e": lambda: fk.extract_and_aggregate(docs),
        "e2e_arrow": lambda: fk.extract_and_aggregate(arr),
        "flat": lambda: P["kv_flat"](arr),
        "kernel_arrow": lambda: P["kv_kernel"](b_arrow),
        "kernel_list": lambda: P["kv_kernel"](b_list),
        "marshal_list": lambda: P["Batch"](docs),
        "marshal_arrow": lambda: P["Batch"](arr),
        "pl_dicts": lambda: pl_kv_dicts(df),
        "pl_frame": lambda: pl_kv_frame(df),
    }, R)
    kv_conv = bench_round_robin({"to_python": P["kv_to_python"]}, R, prepare=lambda _: P["kv_handle"](b_arrow))
    to_arrow = [run_child(args, "toarrow") for _ in range(2)]
    log(f"kv done (reference best {kv['ref']:.2f}s)")

    def add(section, name, secs, ref_secs, note=""):
        rows.append((section, name, secs, fmt_rate(nbytes, secs), f"{ref_secs / secs:.1f}×" if ref_secs else "", note))

    pct = lambda k: f"{100 * len(k) / len(docs):.1f}%"
    S = "kv `(\\w+)\\s+(\\d+)` → per-text {key: sum}"
    add(S, "reference (Python `re` + dict)", kv["ref"], kv["ref"])
    add(S, "ferrokern list[str] → list[dict] (end to end)", kv["e2e"], kv["ref"])
    add(S, "ferrokern pyarrow large_string → list[dict]", kv["e2e_arrow"], kv["ref"])
    add(S, "ferrokern flat arrays (pyarrow in → C views via numpy, no dicts)", kv["flat"], kv["ref"])
    add(S, "ferrokern kernel alone (Arrow i64 offsets, handle freed)", kv["kernel_arrow"], kv["ref"])
    add(S, "ferrokern kernel alone (list[str] as `_Batch` marshals it: int64 byte offsets)", kv["kernel_list"], kv["ref"])
    add(S, "phase: result handle → list[dict] (`_key_sums_result`)", kv_conv["to_python"], kv["ref"])
    add(S, "marshalling alone: list[str] → FkTexts (`_Batch`: per-str encode + int64 byte offsets)", kv["marshal_list"], None)
    add(S, "marshalling alone: pyarrow → FkTexts (zero copy)", kv["marshal_arrow"], None)
    add(S, "(for reference) list[str] → pyarrow `pa.array`, first conversion (subprocess)",
        min(r["first"] for r in to_arrow), None,
        f"a second `pa.array` of the same strs: {fmt_rate(nbytes, min(r['second'] for r in to_arrow))} "
        "(CPython caches each str's UTF-8 on the first)")
    add(S, "polars extract_all+extract_groups+explode+group_by → list[dict]", kv["pl_dicts"], kv["ref"],
        f"differs from reference on {len(pl_kv_diff)} docs ({pct(pl_kv_diff)}); input is a polars Series "
        "already in Arrow memory (a list[str] would first cost about the `pa.array` row)")
    add(S, "polars same → kv frame (doc, key, sum)", kv["pl_frame"], kv["ref"], "same answers as the row above")

    # ---- emails --------------------------------------------------------------------
    log("emails rows")
    em = bench_round_robin({
        "ref": lambda: ref_extract_emails(docs),
        "e2e": lambda: fk.extract_emails(docs),
        "e2e_arrow": lambda: fk.extract_emails(arr),
        "flat": lambda: P["emails_flat"](arr),
        "kernel_arrow": lambda: P["emails_kernel"](b_arrow),
        "kernel_list": lambda: P["emails_kernel"](b_list),
        "pl_lists": lambda: pl_emails(df),
    }, R)
    em_conv = bench_round_robin({"to_python": P["emails_to_python"]}, R, prepare=lambda _: P["emails_handle"](b_arrow))
    S = "emails: `EMAIL_RE.findall(t.lower())` per text"
    add(S, "reference (Python `re`, `str.lower`)", em["ref"], em["ref"])
    add(S, "ferrokern list[str] → list[list[str]] (end to end)", em["e2e"], em["ref"])
    add(S, "ferrokern pyarrow large_string → list[list[str]]", em["e2e_arrow"], em["ref"])
    add(S, "ferrokern flat arrays (pyarrow in → C views via numpy)", em["flat"], em["ref"])
    add(S, "ferrokern kernel alone (Arrow i64 offsets)", em["kernel_arrow"], em["ref"])
    add(S, "ferrokern kernel alone (list[str] as `_Batch` marshals it)", em["kernel_list"], em["ref"])
    add(S, "phase: result handle → list[list[str]] (`_matches_result`)", em_conv["to_python"], em["ref"])
    add(S, "polars `str.to_lowercase().str.extract_all` → lists", em["pl_lists"], em["ref"],
        f"differs from reference on {len(pl_em_diff)} docs ({pct(pl_em_diff)}); input already a polars Series")

    # ---- threads -------------------------------------------------------------------
    log("thread scaling")
    thr = {}
    for _ in range(R):
        for n in (1, 0):
            fk.set_threads(n)
            r = bench_round_robin({"kv": lambda: P["kv_kernel"](b_arrow), "emails": lambda: P["emails_kernel"](b_arrow),
                                   "kv_e2e": lambda: fk.extract_and_aggregate(docs)}, 1)
            for k, v in r.items():
                thr[(k, n)] = min(thr.get((k, n), float("inf")), v)
    # Parallelism actually obtained (CPU seconds / wall seconds of one more call): on a
    # shared machine a low figure means the other core was busy, not that we do not scale.
    par = {}
    fns = {"kv": lambda: P["kv_kernel"](b_arrow), "emails": lambda: P["emails_kernel"](b_arrow),
           "kv_e2e": lambda: fk.extract_and_aggregate(docs)}
    for n in (1, 0):
        fk.set_threads(n)
        for k, fn in fns.items():
            gc.collect()
            c0, w0 = os.times(), time.perf_counter()
            fn()
            c1, w1 = os.times(), time.perf_counter()
            par[(k, n)] = (c1.user + c1.system - c0.user - c0.system) / (w1 - w0)
    fk.set_threads(0)
    S = f"threads: 1 vs default ({default_threads}); kernels on Arrow input"
    for k, label, ref in (("kv", "kv kernel", kv["ref"]), ("emails", "emails kernel", em["ref"]),
                          ("kv_e2e", "kv end to end (list[str] → list[dict])", kv["ref"])):
        add(S, f"{label}, 1 thread", thr[(k, 1)], ref, f"CPU/wall {par[(k, 1)]:.2f}")
        add(S, f"{label}, {default_threads} threads", thr[(k, 0)], ref,
            f"scaling {thr[(k, 1)] / thr[(k, 0)]:.2f}×; CPU/wall {par[(k, 0)]:.2f}")

    # ---- worst cases ---------------------------------------------------------------
    log("worst cases")
    rng = random.Random(7)
    zh = "".join(rng.choice(ZH_CHARS) for _ in range(10_000))
    zb = len(zh.encode())
    t = time.perf_counter()
    ref_zh = ref_extract_and_aggregate([zh])
    t_ref_zh = time.perf_counter() - t
    assert fk.extract_and_aggregate([zh]) == ref_zh
    t_fk_zh = min(_timeit(lambda: fk.extract_and_aggregate([zh])) for _ in range(5))
    zh100 = zh * 10
    t_fk_zh100 = min(_timeit(lambda: fk.extract_and_aggregate([zh100])) for _ in range(5))
    S = "worst cases of the reference (ours must stay linear)"
    rows.append((S, "10 000 Chinese chars, no space: reference", t_ref_zh, fmt_rate(zb, t_ref_zh), "1.0×", "quadratic in the run length"))
    rows.append((S, "10 000 Chinese chars, no space: ferrokern", t_fk_zh, fmt_rate(zb, t_fk_zh), f"{t_ref_zh / t_fk_zh:,.0f}×", ""))
    rows.append((S, "100 000 Chinese chars, no space: ferrokern", t_fk_zh100, fmt_rate(10 * zb, t_fk_zh100), "",
                 f"{t_fk_zh100 / t_fk_zh:.1f}× the 10 000-char time (linear: 10×)"))
    evil = "a" * 26 + "!"
    py_evil = subprocess.run([sys.executable, "-c",
                              "import re,time;p=re.compile(r'(a+)+$');t=time.perf_counter();n=len(p.findall('a'*26+'!'));"
                              "print(time.perf_counter()-t, n)"], capture_output=True, text=True, timeout=120)
    t_py_evil, n_py_evil = py_evil.stdout.split() if py_evil.returncode == 0 else ("inf", "?")
    t_py_evil = float(t_py_evil)
    with fk.compile(r"(a+)+$") as p:
        assert p.count([evil]) == [int(n_py_evil)] if n_py_evil != "?" else True
        t_fk_evil = min(_timeit(lambda: p.count([evil])) for _ in range(20))
    rows.append((S, "`(a+)+$` on 'a'*26+'!': Python `re` (len(findall))", t_py_evil, "", "1.0×", "exponential backtracking"))
    rows.append((S, "`(a+)+$` on 'a'*26+'!': ferrokern `compile(...).count`", t_fk_evil, "",
                 f"{t_py_evil / t_fk_evil:,.0f}×", "includes the Python call overhead"))

    # ---- allocator -----------------------------------------------------------------
    S = "mimalloc on vs off (subprocesses, end to end, list[str] in)"
    nomi = Path(args.nomimalloc_lib)
    if nomi.is_file():
        log("allocator comparison (subprocesses)")
        libs = {"mimalloc": str(ROOT / "target" / "release" / "libferrokern.so"), "system malloc": str(nomi)}
        best = {}
        for _ in range(2):  # A B A B
            for name, path in libs.items():
                r = run_child(args, "alloc", env_extra={"FERROKERN_LIBRARY": path})
                for k, v in r["best"].items():
                    best[(name, k)] = min(best.get((name, k), float("inf")), v)
        for k, label, ref in (("kv_e2e", "kv end to end", kv["ref"]), ("emails_e2e", "emails end to end", em["ref"]),
                              ("kv_kernel", "kv kernel alone", kv["ref"]), ("emails_kernel", "emails kernel alone", em["ref"])):
            for name in libs:
                note = f"mimalloc {best[(name, k)] / best[('mimalloc', k)]:.2f}× faster" if name != "mimalloc" else ""
                add(S, f"{label}, {name}", best[(name, k)], ref, note)
        rows.append((S, "(speedups use this process's reference time)", None, "", "", ""))
    else:
        rows.append((S, f"skipped: {nomi} not built", None, "", "", ""))

    # ---- peak RSS ------------------------------------------------------------------
    log("peak RSS (subprocesses)")
    S = "peak RSS of one end-to-end call (subprocess, list[str] in)"
    nomi_env = {"FERROKERN_LIBRARY": str(nomi)} if nomi.is_file() else None
    for which in ("fk_kv", "fk_kv_nomi", "ref_kv", "fk_emails", "ref_emails"):
        if which == "fk_kv_nomi" and not nomi_env:
            continue
        r = run_child(args, "rss", which.replace("_nomi", ""), env_extra=nomi_env if which.endswith("_nomi") else None)
        # Peak attributable to the job: the input objects plus whatever the call added on top
        # of the RSS it started from (loading the corpus leaves allocator slack in rss1).
        peak = r["in_obj"] + (r["hwm"] - r["rss1"])
        io = r["in_obj"] + r["out_obj"]
        rows.append((S, {"fk_kv": "ferrokern extract_and_aggregate", "fk_kv_nomi": "ferrokern extract_and_aggregate, system-malloc build",
                         "ref_kv": "reference extract_and_aggregate",
                         "fk_emails": "ferrokern extract_emails", "ref_emails": "reference extract_emails"}[which],
                     r["seconds"], "", f"{peak / io:.2f}× (in+out)",
                     f"peak {peak / 2**20:.0f} MiB = input + {(r['hwm'] - r['rss1']) / 2**20:.0f} MiB RSS growth during the call; input {r['in_obj'] / 2**20:.0f} MiB "
                     f"as str objects ({r['in_utf8'] / 2**20:.0f} MiB UTF-8), output {r['out_obj'] / 2**20:.0f} MiB "
                     f"as Python objects; still resident after the call (output included): {(r['rss2'] - r['rss1']) / 2**20:.0f} MiB"))

    # ---- table ---------------------------------------------------------------------
    cmd = "PYTHONPATH=bindings/python /work/main/.venv/bin/python bench/bench_text.py" + (" --quick" if args.quick else
                                                                                          (f" --mb {args.mb:g}" if args.mb != 100 else "")) + (f" --repeat {R}" if R != 3 else "")
    lines = [f"# ferrokern text benchmark", "",
             f"Corpus: {len(docs):,} documents, {nbytes / MB:.1f} MB UTF-8 (seed {args.seed}, {big} documents ≥ 30 000 chars); "
             f"best of {R}, round-robin; {os.cpu_count()} CPUs; ferrokern {fk.library_version} "
             f"({fk.library_path()}), {default_threads} threads by default; polars {pl.__version__}; Python {sys.version.split()[0]}.",
             f"Load average (1 min) at start/end: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f} "
             "(the machine is shared; every row is best-of-N, round-robin within a section).",
             "", f"Command: `{cmd}`", "",
             f"Correctness on the whole corpus: **{total_fk_mismatch} mismatching documents** "
             + "(" + "; ".join(f"{k}: {len(v)}" for k, v in checks.items()) + ")."
             + (f" First mismatch: {first_bad[0]}, document {first_bad[1]}." if first_bad else ""), ""]
    cur = None
    for section, name, secs, rate, vs, note in rows:
        if section != cur:
            lines += ["", f"### {section}", "", "| row | seconds | throughput | vs reference | note |", "|---|---:|---:|---:|---|"]
            cur = section
        s = "" if secs is None else (f"{secs:.4f}" if secs >= 0.001 else f"{secs * 1e6:.1f} µs")
        lines.append(f"| {name} | {s} | {rate} | {vs} | {note} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if first_bad:
        i = first_bad[1]
        print(f"FIRST MISMATCH ({first_bad[0]}) document {i}: {docs[i]!r}\nref: {ref_kv[i] if 'kv' in first_bad[0] else ref_em[i]}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    log(f"wrote {out}; total {time.perf_counter() - t_start:.0f}s (first reference kv pass {ref_kv_first:.1f}s)")


def _timeit(fn):
    gc.collect()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
