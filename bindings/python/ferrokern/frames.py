"""DataFrame namespaces for the text kernels: ``import ferrokern.frames`` registers

* a polars expression and Series namespace ``fk``::

      df.with_columns(emails=pl.col("text").fk.extract_emails())      # lazy frames too
      df["text"].fk.extract_and_aggregate()

* a pandas Series accessor ``fk``::

      df["emails"] = df["text"].fk.extract_emails()                 # ArrowDtype column

for whichever of the two libraries is installed. Plain Python over ``output="polars"`` /
``output="arrow"``: columns go in and come out through the Arrow C Data Interface, without
per-row Python objects; a null text gives a null result.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._text import Pattern, extract_and_aggregate, extract_emails
from ._text import compile as _compile

__all__ = ["KEY_SUMS_FIELDS", "register"]

#: The fields of an aggregate result's entries: ``value`` is the sum when it fits in int64,
#: else null with the exact decimal text in ``value_decimal``.
KEY_SUMS_FIELDS = ("key", "value", "value_decimal")


def _pattern(pattern: str | Pattern) -> Pattern:
    return pattern if isinstance(pattern, Pattern) else _compile(pattern)


def _polars_dtypes(pl: Any) -> dict[str, Any]:
    return {
        "emails": pl.List(pl.String),
        "sums": pl.List(pl.Struct({"key": pl.String, "value": pl.Int64, "value_decimal": pl.String})),
        "count": pl.UInt64,
    }


def _findall_dtype(pl: Any, p: Pattern) -> Any:
    if p.groups <= 1:
        return pl.List(pl.String)
    names = _group_names(p)
    return pl.List(pl.Struct({n: pl.String for n in names}))


def _group_names(p: Pattern) -> list[str]:
    import re

    # The library names fields after named groups, else the group's number; Python's re
    # parses the same names (patterns re cannot parse fall back to numbers).
    try:
        index = {v: k for k, v in re.compile(p.pattern).groupindex.items()}
    except re.error:
        index = {}
    return [index.get(g, str(g)) for g in range(1, p.groups + 1)]


def _register_polars(pl: Any) -> None:
    dtypes = _polars_dtypes(pl)

    class _Ops:
        """The kernels over one column; `apply(fn, dtype)` is what differs between an
        expression (lazy: map_batches) and a Series (eager: call now)."""

        def _apply(self, fn: Any, dtype: Any) -> Any:
            raise NotImplementedError

        def extract_emails(self) -> Any:
            """``list[str]`` of the emails of each (lowercased) text."""
            return self._apply(lambda s: extract_emails(s, output="polars"), dtypes["emails"])

        def extract_and_aggregate(self) -> Any:
            """``list[struct[key, value, value_decimal]]``: per text, the sum per key of
            ``(\\w+)\\s+(\\d+)``, keys in first-seen order."""
            return self._apply(lambda s: extract_and_aggregate(s, output="polars"), dtypes["sums"])

        def findall(self, pattern: str | Pattern, lower: bool = False) -> Any:
            """``re.findall`` per text: ``list[str]``, or ``list[struct]`` with a field per
            group (named after named groups) for a pattern with several groups."""
            p = _pattern(pattern)
            return self._apply(lambda s: p.findall(s, lower=lower, output="polars"), _findall_dtype(pl, p))

        def count(self, pattern: str | Pattern) -> Any:
            """``u64`` number of matches per text."""
            p = _pattern(pattern)
            return self._apply(lambda s: p.count(s, output="polars"), dtypes["count"])

        def sum_by_key(self, pattern: str | Pattern) -> Any:
            """As `extract_and_aggregate` for a two-group pattern of your own."""
            p = _pattern(pattern)
            return self._apply(lambda s: p.sum_by_key(s, output="polars"), dtypes["sums"])

    @pl.api.register_expr_namespace("fk")
    class FkExpr(_Ops):
        def __init__(self, expr: Any) -> None:
            self._expr = expr

        def _apply(self, fn: Any, dtype: Any) -> Any:
            # Element-wise: each batch's result has the batch's length and order.
            return self._expr.map_batches(fn, return_dtype=dtype, is_elementwise=True)

    @pl.api.register_series_namespace("fk")
    class FkSeries(_Ops):
        def __init__(self, series: Any) -> None:
            self._s = series

        def _apply(self, fn: Any, dtype: Any) -> Any:
            return fn(self._s).alias(self._s.name)


def _register_pandas(pd: Any) -> None:
    @pd.api.extensions.register_series_accessor("fk")
    class FkAccessor:
        """``series.fk.<kernel>()``: a Series of the results (ArrowDtype), same index."""

        def __init__(self, series: Any) -> None:
            self._s = series

        def _wrap(self, arr: Any) -> Any:
            pa = importlib.import_module("pyarrow")
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
            return pd.Series(
                pd.arrays.ArrowExtensionArray(arr), index=self._s.index, name=self._s.name, copy=False
            )

        def extract_emails(self) -> Any:
            return self._wrap(extract_emails(self._s, output="arrow"))

        def extract_and_aggregate(self) -> Any:
            return self._wrap(extract_and_aggregate(self._s, output="arrow"))

        def findall(self, pattern: str | Pattern, lower: bool = False) -> Any:
            return self._wrap(_pattern(pattern).findall(self._s, lower=lower, output="arrow"))

        def count(self, pattern: str | Pattern) -> Any:
            return self._wrap(_pattern(pattern).count(self._s, output="arrow"))

        def sum_by_key(self, pattern: str | Pattern) -> Any:
            return self._wrap(_pattern(pattern).sum_by_key(self._s, output="arrow"))


_registered: set[str] = set()


def register() -> list[str]:
    """Register the ``fk`` namespaces for the installed libraries (once each); returns the
    names of the libraries that have them."""
    for name, fn in (("polars", _register_polars), ("pandas", _register_pandas)):
        if name in _registered:
            continue
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        fn(mod)
        _registered.add(name)
    return sorted(_registered)


register()
