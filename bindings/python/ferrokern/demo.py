"""The demo behind `make demo`: the main job on built-in sample data.

1. the drop-in text kernels on built-in sample texts, checked against the pure-Python
   reference, then timed against it on a generated corpus;
2. the streaming report over a generated JSON-lines corpus: `report.json` and a summary;
3. an edges PNG from a built-in sample image (when numpy and Pillow are installed).

    python -m ferrokern demo [--mb 20] [--out DIR]
"""

from __future__ import annotations

import argparse
import random
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

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
                parts.append(f"{rng.choice(EN + ZH)} {rng.randint(0, 10 ** rng.randint(1, 6))}")
            elif r < 0.45:
                parts.append(
                    f"{rng.choice(EN).title()}.{rng.choice(EN)}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"
                )
            elif r < 0.6:
                parts.append("".join(rng.choice(ZH) for _ in range(rng.randint(2, 40))))
            else:
                parts.append(" ".join(rng.choice(EN) for _ in range(rng.randint(1, 8))))
        doc = " ".join(parts)
        docs.append(doc)
        size += len(doc.encode())
    return docs


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--mb", type=float, default=20.0, help="size of the generated corpus (default 20)")
    ap.add_argument("--out", default=".", help="where report.json and edges.png go (default: .)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m ferrokern demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(ap)
    return run(ap.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    ok = demo_text_kernels(args.mb)
    ok = demo_report(Path(args.out), args.mb) and ok
    ok = demo_edges(Path(args.out)) and ok
    if not ok:
        print("MISMATCH against the reference: please report this as a bug")
    return 0 if ok else 1


def demo_text_kernels(corpus_mb: float) -> bool:
    lib = f"ferrokern {ferrokern.library_version} from {ferrokern.library_path()}"
    print(f"{lib}, {ferrokern.threads()} threads\n")
    print("== Built-in sample texts")
    kv = ferrokern.extract_and_aggregate(SAMPLE)
    emails = ferrokern.extract_emails(SAMPLE)
    for text, d, e in zip(SAMPLE, kv, emails):
        print(f"  {text[:60]!r}")
        print(f"      kv sums: {d}")
        print(f"      emails : {e}")
    same = kv == reference.extract_and_aggregate(SAMPLE) and emails == reference.extract_emails(SAMPLE)
    print(f"  identical to the pure-Python reference: {same}\n")

    docs = generate_corpus(corpus_mb)
    mb = sum(len(d.encode()) for d in docs) / 1e6
    print(f"== Generated corpus: {len(docs):,} documents, {mb:.1f} MB (list[str] in, Python objects out)")
    rows = []
    kernels: list[tuple[str, Callable[[list[str]], object], Callable[[list[str]], object]]] = [
        ("extract_and_aggregate", ferrokern.extract_and_aggregate, reference.extract_and_aggregate),
        ("extract_emails", ferrokern.extract_emails, reference.extract_emails),
    ]
    for name, ours, ref in kernels:
        t_ref = _best(partial(ref, docs), repeat=1)
        t_ours = _best(partial(ours, docs))
        equal = ours(docs) == ref(docs)
        rows.append((name, mb / t_ref, mb / t_ours, t_ref / t_ours, equal))
    print(f"  {'':24}{'reference':>12}{'ferrokern':>12}{'speedup':>10}  identical")
    for name, r, o, s, eq in rows:
        print(f"  {name:24}{r:9.1f} MB/s{o:9.1f} MB/s{s:9.1f}x  {eq}")
    print()
    return same and all(r[-1] for r in rows)


def demo_report(out: Path, corpus_mb: float) -> bool:
    """The main job: stream a JSON-lines corpus through the extractors into report.json."""
    import json
    import tempfile

    from ._report import _summary

    print("== Streaming report (the main job): JSON lines -> report.json")
    out.mkdir(parents=True, exist_ok=True)
    docs = generate_corpus(corpus_mb / 2, seed=11) + SAMPLE
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.jsonl"
        with open(corpus, "w", encoding="utf-8") as f:
            for i, d in enumerate(docs):
                f.write(json.dumps({"id": i, "text": d}, ensure_ascii=False) + "\n")
            f.write("{not json}\n")  # counted as invalid, never dropped
        t = time.perf_counter()
        with ferrokern.report(
            [str(corpus)], text_field="text", top=10, progress=False, patterns={"users": r"(\w+)@"}
        ) as r:
            seconds = time.perf_counter() - t
            target = out / "report.json"
            r.write_json(target)
            print(_summary(r, seconds, 1, str(target), None))
            got = r.to_dict()
    # The same numbers from the reference, computed document by document.
    want_kv: dict[str, int] = {}
    for agg in reference.extract_and_aggregate(docs):
        for k, v in agg.items():
            want_kv[k] = want_kv.get(k, 0) + v
    want_emails = sum(len(e) for e in reference.extract_emails(docs))
    same = (
        got["documents"] == len(docs)
        and got["invalid"]["count"] == 1
        and got["emails"]["total"] == want_emails
        and got["kv"]["distinct"] == len(want_kv)
        and all(want_kv[k] == v for k, v in got["kv"]["top"])
    )
    print(f"  identical to the reference's totals: {same}\n")
    return same


def demo_edges(out: Path) -> bool:
    """Sobel edges of a built-in sample image, written as a PNG."""
    try:
        import numpy as np
        from PIL import Image
    except ImportError:
        print("== Edges: skipped (needs numpy and Pillow)")
        return True
    rgb = sample_image()
    t = time.perf_counter()
    mag = ferrokern.edges(rgb)
    seconds = time.perf_counter() - t
    img = np.clip(mag / max(float(mag.max()), 1e-12) * 255.0, 0, 255).astype(np.uint8)
    out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(out / "sample.png")
    Image.fromarray(img).save(out / "edges.png")
    print(
        f"== Edges: {rgb.shape[1]}x{rgb.shape[0]} sample image -> {out / 'edges.png'} "
        f"(input saved as {out / 'sample.png'}, {seconds * 1e3:.1f} ms)"
    )
    return True


def sample_image(h: int = 480, w: int = 640) -> NDArray[np.uint8]:
    """A deterministic RGB test picture: gradient sky, sun, hills, a house, a checkerboard."""
    import numpy as np

    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3), dtype=np.float64)
    img[..., 0] = 90 + 60 * y / h
    img[..., 1] = 140 + 50 * y / h
    img[..., 2] = 230 - 40 * y / h
    sun = (x - 0.8 * w) ** 2 + (y - 0.2 * h) ** 2 < (0.08 * h) ** 2
    img[sun] = (255, 215, 60)
    hills = y > 0.62 * h + 0.08 * h * np.sin(x / w * 2 * np.pi * 1.5)
    img[hills] = np.stack([40 + 0 * x, 130 + 40 * np.sin(x / 37), 50 + 0 * x], -1)[hills]
    house = (x > 0.2 * w) & (x < 0.4 * w) & (y > 0.45 * h) & (y < 0.7 * h)
    img[house] = (180, 70, 50)
    roof = (y <= 0.45 * h) & (y > 0.3 * h) & (np.abs(x - 0.3 * w) < (y - 0.3 * h) * (0.1 * w) / (0.15 * h))
    img[roof] = (90, 40, 30)
    board = (x > 0.55 * w) & (x < 0.7 * w) & (y > 0.72 * h) & (y < 0.92 * h)
    checks = (x // 12 + y // 12) % 2 == 0
    img[board & checks] = (250, 250, 250)
    img[board & ~checks] = (20, 20, 20)
    return img.astype(np.uint8)


if __name__ == "__main__":
    raise SystemExit(main())
