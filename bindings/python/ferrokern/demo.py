"""The demo behind `make demo`: the main job on built-in sample text, checked against the
pure-Python reference, then a timed comparison on a generated corpus.

    python -m ferrokern demo [--mb 20]
"""

from __future__ import annotations

import argparse
import random
import time

import ferrokern
from ferrokern import reference

SAMPLE = [
    "Order summary: apples 3 pears 5 apples 4. Contact Sales.Team@Example.COM for bulk pricing.",
    "订单 价格 12 数量 3 价格 8，请联系 li.wei@163.com 或 Support@Shop.CN。",
    "Inventory: 库存 1500 widgets 42 gadgets 7 widgets 8 — ops+alerts@corp.io",
    "数学 ٣٤ Arabic-Indic digits count for int(); x² 5 keeps its superscript in the key.",
    "Kelvin \u212aelvin@lab.org lowers to kelvin@lab.org exactly as str.lower() does.",
    "no matches here, just prose",
]

EN = ["the", "quick", "report", "price", "count", "users", "error", "latency", "region", "total"]
ZH = ["价格", "数量", "用户", "错误", "延迟", "地区", "总计", "订单", "库存", "服务"]
DOMAINS = ["Example.COM", "mail.cn", "corp.io", "163.com", "Shop.CN"]


def generate_corpus(mb: float, seed: int = 7) -> list[str]:
    """Deterministic mixed English/Chinese documents with key/value pairs and emails."""
    rng = random.Random(seed)
    target = int(mb * 1_000_000)
    docs, size = [], 0
    while size < target:
        parts = []
        for _ in range(rng.randint(3, 30)):
            r = rng.random()
            if r < 0.35:
                parts.append(f"{rng.choice(EN + ZH)} {rng.randint(0, 10**rng.randint(1, 6))}")
            elif r < 0.45:
                parts.append(f"{rng.choice(EN).title()}.{rng.choice(EN)}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}")
            elif r < 0.6:
                parts.append("".join(rng.choice(ZH) for _ in range(rng.randint(2, 40))))
            else:
                parts.append(" ".join(rng.choice(EN) for _ in range(rng.randint(1, 8))))
        doc = " ".join(parts)
        docs.append(doc)
        size += len(doc.encode())
    return docs


def _best(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ferrokern demo", description=__doc__)
    ap.add_argument("--mb", type=float, default=20.0, help="size of the generated corpus (default 20)")
    args = ap.parse_args(argv)

    print(f"ferrokern {ferrokern.library_version} from {ferrokern.library_path()}, {ferrokern.threads()} threads\n")
    print("== Built-in sample texts")
    kv = ferrokern.extract_and_aggregate(SAMPLE)
    emails = ferrokern.extract_emails(SAMPLE)
    for text, d, e in zip(SAMPLE, kv, emails):
        print(f"  {text[:60]!r}")
        print(f"      kv sums: {d}")
        print(f"      emails : {e}")
    same = kv == reference.extract_and_aggregate(SAMPLE) and emails == reference.extract_emails(SAMPLE)
    print(f"  identical to the pure-Python reference: {same}\n")

    docs = generate_corpus(args.mb)
    mb = sum(len(d.encode()) for d in docs) / 1e6
    print(f"== Generated corpus: {len(docs):,} documents, {mb:.1f} MB (list[str] in, Python objects out)")
    rows = []
    for name, ours, ref in [("extract_and_aggregate", ferrokern.extract_and_aggregate, reference.extract_and_aggregate),
                            ("extract_emails", ferrokern.extract_emails, reference.extract_emails)]:
        t_ref = _best(lambda: ref(docs), repeat=1)
        t_ours = _best(lambda: ours(docs))
        equal = ours(docs) == ref(docs)
        rows.append((name, mb / t_ref, mb / t_ours, t_ref / t_ours, equal))
    print(f"  {'':24}{'reference':>12}{'ferrokern':>12}{'speedup':>10}  identical")
    for name, r, o, s, eq in rows:
        print(f"  {name:24}{r:9.1f} MB/s{o:9.1f} MB/s{s:9.1f}x  {eq}")
    ok = same and all(r[-1] for r in rows)
    if not ok:
        print("MISMATCH against the reference: please report this as a bug")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
