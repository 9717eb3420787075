"""Deterministic benchmark corpora for the streaming report, by shape.

* ``social`` — JSON lines of social-media posts (issue 8's corpus): mixed Chinese/English
  text with emoji, @handles, #tags, URLs, mixed-case emails and many numbers in the
  ``content`` field, plus numeric and string metadata fields. 30 % of the lines are written
  by ``json.dumps`` with its default ``ensure_ascii=True`` (CJK and emoji as ``\\uXXXX``
  escapes, surrogate pairs included), the rest with ``ensure_ascii=False``.
* ``mixed`` — plain lines (one document per line): the older benchmark's English/Chinese
  mix with key/value pairs, emails, URLs, long CJK runs without spaces and a few invalid
  lines.
* ``escaped``, ``long``, ``short``, ``english``, ``cjk``, ``digits`` — variants of ``social``
  (same metadata fields, other ``content``): every line escaped, 2–8 kB posts, 1–3 words,
  ASCII only, Chinese only, dense key/number pairs.

``python bench/corpus.py SHAPE MB OUT`` writes about MB megabytes to OUT (for the Rust
stage profile, ``examples/report_stages.rs``)."""

from __future__ import annotations

import json
import random
import sys

WORDS = ["price", "qty", "user", "total", "价格", "数量", "名字", "count", "score", "naïve"]
EN = ["just", "shipped", "the", "new", "release", "thanks", "everyone", "loving", "this", "weather",
      "coffee", "meeting", "at", "today", "tomorrow", "check", "out", "my", "latest", "post", "wow",
      "great", "game", "last", "night", "final", "score", "likes", "views", "followers", "order", "day"]
ZH = ["今天", "天气", "很好", "我们", "一起", "去", "吃饭", "新的", "版本", "发布", "了", "感谢", "大家",
      "支持", "价格", "数量", "订单", "已经", "发货", "用户", "评论", "点赞", "转发", "关注", "明天", "见"]
EMOJI = ["😀", "🎉", "🔥", "👍", "❤️", "🚀", "😂", "🙏", "✨", "🤔"]
DOMAINS = ["Example.COM", "163.com", "mail.example.org", "QQ.com", "gmail.com", "weibo.cn"]
NAMES = ["Bob", "alice.w", "Li.Wei", "ops+x", "zhang_san", "Mary-Ann"]


def _content(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randrange(4, 22)):
        x = rng.random()
        if x < 0.30:
            parts.append(rng.choice(EN))
        elif x < 0.52:
            # Chinese words, often run together without spaces.
            parts.append("".join(rng.choice(ZH) for _ in range(rng.randrange(1, 5))))
        elif x < 0.70:
            # A number after a word: a kv pair (English or Chinese key), sometimes a year or id.
            key = rng.choice(EN + ZH)
            parts.append(f"{key} {rng.randrange(10 ** rng.randrange(1, 8))}")
        elif x < 0.78:
            parts.append(rng.choice(EMOJI))
        elif x < 0.84:
            parts.append(f"@{rng.choice(NAMES).replace('.', '_')}{rng.randrange(1000)}")
        elif x < 0.88:
            parts.append(f"#{rng.choice(EN + ZH)}")
        elif x < 0.93:
            parts.append(f"https://t.example.com/{rng.randrange(36 ** 6):x}?ref={rng.randrange(100)}")
        elif x < 0.97:
            parts.append(f"{rng.choice(NAMES)}{rng.randrange(100)}@{rng.choice(DOMAINS)}")
        else:
            parts.append(f"{rng.randrange(1, 13)}月{rng.randrange(1, 29)}日 {rng.randrange(24)}:{rng.randrange(60):02d}")
    sep = " " if rng.random() < 0.7 else ""
    return sep.join(parts) if sep else " ".join(parts[: len(parts) // 2]) + "".join(parts[len(parts) // 2:])


def social_block(seed: int, size: int) -> bytes:
    rng = random.Random(seed)
    out, n, i = [], 0, 0
    while n < size:
        post = {
            "id": 10 ** 17 + rng.randrange(10 ** 17),
            "user": {"handle": f"{rng.choice(NAMES)}{rng.randrange(10000)}", "followers": rng.randrange(10 ** 6)},
            "created_at": f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:00:00Z",
            "lang": rng.choice(["zh", "en", "und"]),
            "content": _content(rng),
            "likes": rng.randrange(10000),
            "reposts": rng.randrange(1000),
            "tags": [rng.choice(EN) for _ in range(rng.randrange(0, 4))],
        }
        line = json.dumps(post, ensure_ascii=rng.random() < 0.3).encode()
        out.append(line)
        n += len(line) + 1
        i += 1
    return b"\n".join(out) + b"\n"


def mixed_block(seed: int, size: int) -> bytes:
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


def _post(rng: random.Random, content: str) -> dict:
    """The social shape's metadata around `content` (fewer random draws: the variants)."""
    handle = f"{rng.choice(NAMES)}{rng.randrange(10000)}"
    return {"id": 10 ** 17 + rng.randrange(10 ** 17),
            "user": {"handle": handle, "followers": rng.randrange(10 ** 6)},
            "created_at": "2026-01-01T00:00:00Z", "lang": rng.choice(["zh", "en", "und"]),
            "content": content, "likes": rng.randrange(10000), "reposts": rng.randrange(1000),
            "tags": ["at", "post"]}


def _variant(content, ascii_share: float = 0.3):
    """A block maker for the social shape's metadata around `content(rng) -> str`, a share
    of the lines written with `ensure_ascii=True`. The variants below check that no
    document length, script, escape density or number density falls off the fast paths
    (issue 8: figures are re-measured on data the project has not seen)."""
    def block(seed: int, size: int) -> bytes:
        rng = random.Random(seed)
        out, n = [], 0
        while n < size:
            b = json.dumps(_post(rng, content(rng)), ensure_ascii=rng.random() < ascii_share).encode()
            out.append(b)
            n += len(b) + 1
        return b"\n".join(out) + b"\n"
    return block


def _long(rng: random.Random) -> str:
    return " ".join(_content(rng) for _ in range(rng.randrange(20, 80)))


def _short(rng: random.Random) -> str:
    words = [rng.choice(EN + ZH) for _ in range(rng.randrange(1, 4))]
    return " ".join(words + ([str(rng.randrange(1000))] if rng.random() < 0.3 else []))


def _english(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randrange(5, 30)):
        x = rng.random()
        if x < 0.7:
            parts.append(rng.choice(EN))
        elif x < 0.9:
            parts.append(f"{rng.choice(EN)} {rng.randrange(10 ** 5)}")
        else:
            parts.append(f"{rng.choice(NAMES)}{rng.randrange(100)}@{rng.choice(DOMAINS)}")
    return " ".join(parts)


def _cjk(rng: random.Random) -> str:
    return "".join(rng.choice(ZH) for _ in range(rng.randrange(10, 80)))


def _digits(rng: random.Random) -> str:
    return " ".join(f"k{rng.randrange(50)} {rng.randrange(10 ** 9)}" for _ in range(rng.randrange(5, 40)))


SHAPES = {
    "social": social_block,
    "mixed": mixed_block,
    # Every line `ensure_ascii=True`: all CJK and emoji as \uXXXX escapes (surrogate pairs).
    "escaped": _variant(_content, 1.0),
    # Posts of 20-80 social contents (~2-8 kB): many keys and emails per document.
    "long": _variant(_long),
    # One to three words (a number in 30 %): the per-line costs dominate.
    "short": _variant(_short),
    # ASCII only, 10 % emails: where Python's `re` is at its fastest.
    "english": _variant(_english),
    # Chinese runs without spaces, UTF-8 in the file: no key or email at all.
    "cjk": _variant(_cjk, 0.0),
    # 5-40 "key number" pairs per post, numbers up to 9 digits: kv-bound.
    "digits": _variant(_digits),
}
# The JSON-lines field each shape's documents are in (None: plain lines).
TEXT_FIELD = {shape: "content" for shape in SHAPES} | {"mixed": None}


def generate(shape: str, path: str, total: int, block_size: int = 8 << 20) -> int:
    """Write about `total` bytes of `shape`: copies of one block (varied so that keys and
    emails keep growing a little, as real data does)."""
    block = SHAPES[shape](1, block_size)
    written = 0
    with open(path, "wb") as f:
        i = 0
        while written < total:
            # 256 key variants: "BLK" in the mixed shape, the id digits in the social one.
            b = block.replace(b"BLK", f"b{i % 256}x".encode()) if shape == "mixed" else block.replace(
                b"\"reposts\": ", f"\"reposts\": 1{i % 256}".encode())
            f.write(b)
            written += len(b)
            i += 1
    return written


if __name__ == "__main__":
    shape, mb, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    print(generate(shape, out, int(mb * 1e6)))
