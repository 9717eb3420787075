"""Arrow output of the rest of ``re`` (issue 14 item 3): ``Pattern.sub`` and
``Pattern.split`` with ``output="arrow"`` / ``"polars"``, item for item against the Python
outputs and against ``re`` itself, for list[str] and Arrow input (nulls, empty strings,
slices, chunks, string views), and the exported buffers released."""

from __future__ import annotations

import gc
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrokern
from ferrokern import _arrow

pa = pytest.importorskip("pyarrow")
pl = pytest.importorskip("polars")

# No group, one group, a group that may not take part (None items in split), empty matches.
PATTERNS = [r"\s+", r"(-)|(\+)", r"x*", r"(?P<d>\d)(\w)?", r"\b"]
REPLS = {r"\s+": "_", r"(-)|(\+)": r"[\1\2]", r"x*": "-", r"(?P<d>\d)(\w)?": r"<\g<d>\2>", r"\b": "|"}

_piece = st.sampled_from(["a", "b c", " ", "-", "+", "x", "xx", "1", "2z", "é", "中", ""])
_text = st.lists(_piece, max_size=6).map("".join)
_texts = st.lists(st.one_of(_text, st.none()), max_size=30)


def _sources(texts):
    """The same texts as every Arrow input layout at hand (and list[str] when no null)."""
    out = {
        "string": pa.array(texts, type=pa.string()),
        "large_string": pa.array(texts, type=pa.large_string()),
        "string_view": pa.array(texts, type=pa.string_view()),
        "sliced": pa.array(["pad", None, "1 2"] + texts + ["t"], type=pa.string()).slice(3, len(texts)),
        "chunked": pa.chunked_array(
            [texts[: len(texts) // 2], [], texts[len(texts) // 2 :]], type=pa.string()
        ),
        "polars": pl.Series(texts, dtype=pl.String),
    }
    if None not in texts:
        out["list"] = list(texts)
    return out


def _check_arrow(result, want):
    assert isinstance(result, (pa.Array, pa.ChunkedArray))
    result.validate(full=True)
    assert result.to_pylist() == want


@settings(max_examples=20, deadline=None)
@given(_texts, st.sampled_from(PATTERNS), st.integers(-1, 3))
def test_sub_and_split_arrow_equal_python_and_re(texts, pattern, n):
    base = _arrow.live_exports()
    p = ferrokern.compile(pattern)
    rx = re.compile(pattern)
    repl = REPLS[pattern]
    want_sub = [None if t is None else rx.sub(repl, t, count=max(n, 0)) if n >= 0 else t for t in texts]
    want_split = [None if t is None else rx.split(t, maxsplit=max(n, 0)) if n >= 0 else [t] for t in texts]
    for name, src in _sources(texts).items():
        # The Python outputs (Arrow input: nulls give None) ...
        assert p.sub(repl, src, count=n) == want_sub, name
        assert p.split(src, maxsplit=n) == want_split, name
        # ... and the Arrow / polars outputs, item for item.
        _check_arrow(p.sub(repl, src, count=n, output="arrow"), want_sub)
        _check_arrow(p.split(src, maxsplit=n, output="arrow"), want_split)
        assert p.sub(repl, src, count=n, output="polars").to_list() == want_sub, name
        assert p.split(src, maxsplit=n, output="polars").to_list() == want_split, name
    gc.collect()
    assert _arrow.live_exports() == base


def test_types_nulls_and_none_items():
    texts = ["a-b+c", None, "", "-"]
    p = ferrokern.compile(r"(-)|(\+)")
    s = p.sub("", pa.array(texts), output="arrow")
    assert s.type == pa.large_string() and s.null_count == 1
    assert s.to_pylist() == ["abc", None, "", ""]
    sp = p.split(pa.array(texts), output="arrow")
    assert sp.type == pa.large_list(pa.large_string()) and sp.null_count == 1
    sp.validate(full=True)
    assert sp.to_pylist() == [["a", "-", None, "b", None, "+", "c"], None, [""], ["", "-", None, ""]]
    assert sp.to_pylist() == [None if t is None else re.split(r"(-)|(\+)", t) for t in texts]
    # A null text of a pattern that matches the empty string: still null (not "-").
    assert ferrokern.compile("x*").sub("-", pa.array([None, ""]), output="arrow").to_pylist() == [None, "-"]
    ps = p.split(pl.Series(texts), output="polars")
    assert ps.dtype == pl.List(pl.String) and ps[1] is None and ps[0].to_list()[2] is None
    assert p.sub("", pl.Series(texts), output="polars").dtype == pl.String
    # subn from Arrow input: a null text gives None, like the other per-text functions.
    assert p.subn("", pa.array(texts)) == [("abc", 2), None, ("", 0), ("", 1)]
    # list[str] input, chunked Arrow output stays chunked.
    assert p.sub("=", ["a-b"], output="arrow").to_pylist() == ["a=b"]
    ch = p.split(pa.chunked_array([["a-b"], [None]]), output="arrow")
    assert isinstance(ch, pa.ChunkedArray) and ch.num_chunks == 2
    assert ch.to_pylist() == [["a", "-", None, "b"], None]


def test_errors_and_release():
    base = _arrow.live_exports()
    p = ferrokern.compile(r"(a)")
    with pytest.raises(ValueError, match="output must be one of"):
        p.sub("x", ["a"], output="pandas")
    with pytest.raises(ValueError, match="output must be one of"):
        p.split(["a"], output="numpy")
    with pytest.raises(ferrokern.PatternSyntaxError):
        p.sub(r"\2", pa.array(["a"]), output="arrow")
    with pytest.raises(TypeError, match="callable"):
        p.sub(lambda m: "", ["a"], output="arrow")
    assert _arrow.live_exports() == base
    # A result held, then dropped unconsumed: its buffers go with it.
    r = _arrow.per_text(
        ["a b"],
        "arrow",
        lambda b: p._run_subn(b, b"x", 0),
        lambda h: [],
        lambda h, b, s, a: ferrokern._native.lib.fk_subs_to_arrow(h, b.ptr, s, a),
    )
    assert _arrow.live_exports() == base + 1
    del r
    gc.collect()
    assert _arrow.live_exports() == base
