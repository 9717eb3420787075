"""Arrow in / Arrow out (issue 10 items 1-3): every producer, differential against the
Python outputs and the reference, nulls, slices, chunks, string views, release."""

from __future__ import annotations

import gc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrokern
from ferrokern import _arrow, reference

pa = pytest.importorskip("pyarrow")
pl = pytest.importorskip("polars")

KV = ferrokern.compile(r"(\w+)\s+(\d+)")
NAMED = ferrokern.compile(r"(?P<user>\w+)@(\w+)")
WORD = ferrokern.compile(r"\w+")

# Texts that exercise the kernels: kv pairs, emails, Unicode, inline (<= 12 bytes) and
# out-of-line string views.
_piece = st.sampled_from(
    ["a 1", "b 22", " ", "X@Y.com", "m.n@q.org", "中 3", "é", "k 99999999999999999999999", "", "zz"]
)
_text = st.lists(_piece, max_size=6).map(" ".join)
_texts = st.lists(st.one_of(_text, st.none()), max_size=40)


def _expected(texts, fn):
    return [None if t is None else fn([t])[0] for t in texts]


def _sums_to_python(rows):
    """Arrow key-sums rows (list of {key, value, value_decimal}) as the Python dicts."""
    return [
        None
        if r is None
        else {e["key"]: e["value"] if e["value"] is not None else int(e["value_decimal"]) for e in r}
        for r in rows
    ]


def _producers(texts):
    """The same texts from every producer (and layout) at hand."""
    out = {}
    for name, typ in (
        ("string", pa.string()),
        ("large_string", pa.large_string()),
        ("string_view", pa.string_view()),
    ):
        out[name] = pa.array(texts, type=typ)
        # A slice: offsets[0] != 0 and a validity bit offset not a multiple of 8.
        padded = pa.array(["pad 1", None, "x@y.z"] + texts + ["tail 5"], type=typ)
        out[name + "_sliced"] = padded.slice(3, len(texts))
    half = len(texts) // 2
    out["chunked"] = pa.chunked_array([texts[:half], [], texts[half:]], type=pa.large_string())
    out["polars"] = pl.Series(texts, dtype=pl.String)
    out["polars_frame"] = pl.DataFrame({"text": texts}, schema={"text": pl.String})
    return out


@settings(max_examples=40, deadline=None)
@given(_texts)
def test_arrow_outputs_equal_python_outputs(texts):
    want_kv = _expected(texts, reference.extract_and_aggregate)
    want_em = _expected(texts, reference.extract_emails)
    want_named = _expected(texts, lambda t: NAMED.findall(t))
    want_count = _expected(texts, lambda t: WORD.count(t))
    for name, src in _producers(texts).items():
        # Python output from Arrow input: nulls give None.
        assert ferrokern.extract_and_aggregate(src) == want_kv, name
        assert ferrokern.extract_emails(src) == want_em, name
        assert WORD.count(src) == want_count, name
        # Arrow output.
        em = ferrokern.extract_emails(src, output="arrow")
        assert em.to_pylist() == want_em, name
        kv = ferrokern.extract_and_aggregate(src, output="arrow")
        assert _sums_to_python(kv.to_pylist()) == want_kv, name
        assert _sums_to_python(KV.sum_by_key(src, output="arrow").to_pylist()) == want_kv, name
        named = NAMED.findall(src, output="arrow").to_pylist()
        assert [None if r is None else [(m["user"], m["2"]) for m in r] for r in named] == want_named
        assert WORD.count(src, output="arrow").to_pylist() == want_count, name
        # polars output.
        assert ferrokern.extract_emails(src, output="polars").to_list() == want_em, name
    # list[str] in (no nulls there), Arrow out.
    plain = [t for t in texts if t is not None]
    assert ferrokern.extract_emails(plain, output="arrow").to_pylist() == reference.extract_emails(plain)
    assert WORD.count(plain, output="polars").to_list() == [WORD.count([t])[0] for t in plain]


def test_types_nulls_and_big_sums():
    texts = ["a 1 a 2", None, "", "big 99999999999999999999 big 1", "x@Y.com"]
    kv = ferrokern.extract_and_aggregate(pa.array(texts), output="arrow")
    assert kv.type == pa.large_list(
        pa.struct(
            [
                pa.field("key", pa.large_string(), nullable=False),
                ("value", pa.int64()),
                ("value_decimal", pa.large_string()),
            ]
        )
    )
    kv.validate(full=True)
    rows = kv.to_pylist()
    assert rows[1] is None and rows[2] == []
    assert rows[3] == [{"key": "big", "value": None, "value_decimal": "100000000000000000000"}]
    assert rows[0] == [{"key": "a", "value": 3, "value_decimal": None}]
    em = ferrokern.extract_emails(pa.array(texts), output="arrow")
    assert em.type == pa.large_list(pa.large_string())
    assert em.to_pylist()[4] == ["x@y.com"]
    c = WORD.count(pa.array(texts), output="arrow")
    assert c.type == pa.uint64() and c.to_pylist() == [4, None, 0, 4, 3]
    g = ferrokern.compile(r"(\w)(\d)?").findall(pa.array(["a1 b", None]), output="arrow")
    g.validate(full=True)
    assert g.to_pylist() == [[{"1": "a", "2": "1"}, {"1": "b", "2": ""}], None]
    s = ferrokern.extract_and_aggregate(pl.Series(texts), output="polars")
    assert s.dtype == pl.List(pl.Struct({"key": pl.String, "value": pl.Int64, "value_decimal": pl.String}))
    assert s[1] is None


def test_string_views_inline_and_out_of_line_zero_copy():
    texts = ["short a 1", "exactly12 b2", "a much longer text a 5 with x@y.org in it", None, ""]
    arr = pa.array(texts, type=pa.string_view())
    assert ferrokern.extract_and_aggregate(arr) == _expected(texts, reference.extract_and_aggregate)
    assert ferrokern.extract_emails(arr.slice(2)) == _expected(texts[2:], reference.extract_emails)
    # polars' own layout is string views; read as is (no cast to large_string).
    s = pl.Series(texts)
    assert ferrokern.extract_emails(s) == _expected(texts, reference.extract_emails)


def test_every_producer():
    texts = ["a 1 b 2", None, "Mail X@Y.com a 3"]
    want = _expected(texts, reference.extract_emails)
    pd = pytest.importorskip("pandas")
    producers = [
        pd.Series(texts, dtype="string[pyarrow]"),
        pd.Series(texts, dtype=pd.ArrowDtype(pa.string())),
        pd.Series(texts, dtype=pd.ArrowDtype(pa.large_string())),
        pa.table({"t": texts}),
        pa.record_batch({"t": texts}),
        pl.DataFrame({"t": texts}).lazy().collect(),
    ]
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    producers.append(
        con.sql(
            "select * from (values ('a 1 b 2', 1), (null, 2), ('Mail X@Y.com a 3', 3)) v(t, i) order by i"
        ).select("t")
    )
    try:
        import nanoarrow as na

        producers.append(na.c_array(texts, na.string()))
    except ImportError:
        pass
    try:
        import arro3.core as a3

        producers.append(a3.Array.from_arrow(pa.array(texts)))
    except ImportError:
        pass
    for p in producers:
        assert ferrokern.extract_emails(p) == want, type(p)
        assert ferrokern.extract_emails(p, output="arrow").to_pylist() == want, type(p)


def test_errors():
    with pytest.raises(TypeError, match="string array"):
        ferrokern.extract_emails(pa.array([1, 2]))
    with pytest.raises(TypeError, match="one string column"):
        ferrokern.extract_emails(pa.table({"a": ["x"], "b": ["y"]}))
    with pytest.raises(ValueError, match="output must be one of"):
        ferrokern.extract_emails(["a"], output="pandas")
    with pytest.raises(ferrokern.InvalidUTF8Error, match="text 0"):
        ferrokern.extract_emails(
            pa.array([b"\xff"], type=pa.binary()).cast(pa.string(), safe=False), output="arrow"
        )


def test_release_frees_the_library_buffers():
    gc.collect()
    base = _arrow.live_exports()
    arr = ferrokern.extract_and_aggregate(pa.array(["a 1"] * 1000), output="arrow")
    assert _arrow.live_exports() == base + 1
    child = arr.values  # a child keeps the buffers alive after the parent goes
    del arr
    gc.collect()
    assert _arrow.live_exports() == base + 1
    del child
    gc.collect()
    assert _arrow.live_exports() == base
    s = ferrokern.extract_emails(pl.Series(["x@y.com"] * 10), output="polars")
    assert s.to_list()[0] == ["x@y.com"]
    del s
    gc.collect()
    assert _arrow.live_exports() == base
    # A result never handed to a consumer is freed too.
    r = ferrokern.compile("x").count(["x"], output="arrow")
    del r
    res = _arrow.ArrowResult  # noqa: F841 - exported but unconsumed object
    gc.collect()
    assert _arrow.live_exports() == base


def test_polars_namespace_and_pandas_accessor():
    import ferrokern.frames  # noqa: F401 - registers the namespaces

    texts = ["a 1 b 2 a 3", None, "Mail X@Y.com"]
    df = pl.DataFrame({"text": texts})
    lazy = (
        df.lazy()
        .with_columns(
            emails=pl.col("text").fk.extract_emails(),
            sums=pl.col("text").fk.extract_and_aggregate(),
            n=pl.col("text").fk.count(r"\w+"),
            users=pl.col("text").fk.findall(r"(?P<user>\w+)@(\w+)"),
        )
        .collect()
    )
    assert lazy["emails"].to_list() == _expected(texts, reference.extract_emails)
    assert _sums_to_python(lazy["sums"].to_list()) == _expected(texts, reference.extract_and_aggregate)
    assert lazy["n"].to_list() == [6, None, 4]
    assert lazy["users"].to_list() == [[], None, [{"user": "X", "2": "Y"}]]
    assert lazy.schema["users"] == pl.List(pl.Struct({"user": pl.String, "2": pl.String}))
    assert df["text"].fk.extract_emails().to_list() == _expected(texts, reference.extract_emails)
    pd = pytest.importorskip("pandas")
    s = pd.Series(texts, dtype="string[pyarrow]", index=[10, 20, 30])
    out = s.fk.extract_emails()
    assert list(out.index) == [10, 20, 30]
    assert out.tolist()[2] == ["x@y.com"] and out.isna().tolist() == [False, True, False]
    assert s.fk.count(r"\w+").tolist()[0] == 6


@settings(max_examples=15, deadline=None)
@given(_texts, st.integers(1, 64))
def test_big_arrays_run_in_slices_with_the_same_results(texts, slice_bytes):
    """An array over ARROW_SLICE_BYTES runs in slices, one result chunk each (no copy into
    one array): same results as the Python outputs, nulls, offsets and views included,
    and every export released."""
    want_kv = _expected(texts, reference.extract_and_aggregate)
    want_em = _expected(texts, reference.extract_emails)
    gc.collect()
    base = _arrow.live_exports()
    old, _arrow.ARROW_SLICE_BYTES = _arrow.ARROW_SLICE_BYTES, slice_bytes
    try:
        for name, src in _producers(texts).items():
            em = ferrokern.extract_emails(src, output="arrow")
            assert em.to_pylist() == want_em, name
            kv = ferrokern.extract_and_aggregate(src, output="arrow")
            assert _sums_to_python(kv.to_pylist()) == want_kv, name
            kv.validate(full=True)  # an Array, or a ChunkedArray of one chunk per slice
            assert ferrokern.extract_emails(src, output="polars").to_list() == want_em, name
            assert ferrokern.extract_and_aggregate(src) == want_kv, name
            assert WORD.count(src, output="arrow").to_pylist() == _expected(texts, lambda t: WORD.count(t))
        del em, kv
    finally:
        _arrow.ARROW_SLICE_BYTES = old
    gc.collect()
    assert _arrow.live_exports() == base


def test_a_big_array_comes_back_in_chunks():
    texts = [f"k {i} a{i}@b.com" if i % 7 else None for i in range(1000)]
    old, _arrow.ARROW_SLICE_BYTES = _arrow.ARROW_SLICE_BYTES, 1000
    try:
        out = ferrokern.extract_emails(pa.array(texts).slice(3), output="arrow")
    finally:
        _arrow.ARROW_SLICE_BYTES = old
    assert isinstance(out, pa.ChunkedArray) and out.num_chunks > 5
    assert out.to_pylist() == _expected(texts[3:], reference.extract_emails)
    # A small one is still one Array.
    assert isinstance(ferrokern.extract_emails(pa.array(texts), output="arrow"), pa.Array)
