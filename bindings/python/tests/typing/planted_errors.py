"""Type errors a user could make. tests/test_typing.py runs `mypy --strict` on this file and
expects an error on exactly the lines marked `# E: <code>`: with no annotations (or a
missing py.typed) every ferrokern call would be Any and none of them would be reported."""

from __future__ import annotations

import numpy as np

import ferrokern

ferrokern.extract_emails(123)  # E: call-overload
kv: list[str] = ferrokern.extract_and_aggregate(["a 1"])  # E: assignment
ferrokern.compile(r"\w+", ignore_case="yes")  # E: arg-type
ferrokern.compile(r"\w+").findall(["x"], lower=1)  # E: call-overload
n: str = ferrokern.count_primes(100)  # E: assignment
total: int = ferrokern.sum([1.0, 2.0])  # E: assignment
ferrokern.sobel(np.zeros((4, 4)), border="circular")  # E: call-overload
ferrokern.report("a.txt", top="ten")  # E: arg-type
ferrokern.dask.report(["a.txt"], split_bytes="64M")  # E: arg-type
ferrokern.Report.from_json(42)  # E: arg-type
ferrokern.threads().upper()  # E: attr-defined
ferrokern.no_such_function()  # E: attr-defined
