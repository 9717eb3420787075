"""The pure-Python reference implementations that the text kernels replace, kept verbatim
as the specification: ferrokern must return exactly what these return (or raise what they
raise), for every input."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

KV_RE = re.compile(r"(\w+)\s+(\d+)")


def extract_and_aggregate(texts: Iterable[str]) -> list[dict[str, int]]:
    results = []
    for text in texts:
        agg: defaultdict[str, int] = defaultdict(int)
        for key, value in KV_RE.findall(text):
            agg[key] += int(value)
        results.append(dict(agg))
    return results


EMAIL_RE = re.compile(r"[a-z0-9\.\-+_]+@[a-z0-9\.\-+_]+\.[a-z]+")


def extract_emails(texts: Iterable[str]) -> list[list[str]]:
    return [EMAIL_RE.findall(t.lower()) for t in texts]
