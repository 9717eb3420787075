"""Differential tests of the text API against Python's re (and ferrokern.reference)."""

import os
import re
import sysconfig
from collections import Counter

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import ferrokern
from ferrokern import reference
from ferrokern._native import ffi, lib

# Characters where Python's \w \d \s, int() or str.lower() differ from Unicode's or from
# the regex crate's defaults: combining marks, connector punctuation, superscripts,
# fractions, the U+001C..U+001F separators, non-ASCII digits, the two characters whose
# lowercase is ASCII, long s, zero-width joiners, CJK, emoji.
TRICKY = (
    "aZ_09 \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u202f\u205f\u3000"
    "\u0301\u0308\u203f\u2040\u200b\u200c\u200d\u00b2\u00b3\u00b9\u00bd\u2155\u2160\u3007"
    "\u0663\u06f4\u0966\uff11\U0001d7ce\U0001d7d7\u0130\u212a\u017f\u00df\u0131\u03a3\u1e9e"
    "\u4e2d\u6587\u4ef7\u683c\U0001f600@.-+_,;:!?()[]'\"/\\"
)
tricky_text = st.text(alphabet=st.sampled_from(TRICKY), max_size=60)
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)

# Fragments that make matches likely, glued with arbitrary text in between.
FRAGMENTS = [
    "price 42",
    "数量 7",
    "x² ٣٤",
    "k\x1c5",
    "a 1b 2",
    "Bob.Smith+x@Example.COM",
    "\u212aim@x.org",
    "a\u0130b@x.org",
    "li@163.com",
    "e\u0301 9",
    "_ 0",
    "𝟎𝟗 𝟏",
    "v 99999999999999999999",
    "w -3",
    "  ",
    "\n",
]
mixed_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), tricky_text, any_text), max_size=8).map("".join)
texts_strategy = st.lists(st.one_of(mixed_text, tricky_text, any_text), max_size=12)


def items(dicts):
    # Compare dicts including key order: a Python dict remembers first-seen order.
    return [list(d.items()) for d in dicts]


@given(texts_strategy)
@example(["a 1b 2", "abc123 45x", "x y 1", "k\x1c5", "x² ٣٤", "e\u0301 1", "1 2 3"])
@example(["价格 12 数量 3 价格 1", "v 18446744073709551615 v 18446744073709551615", "w 1" * 3])
def test_extract_and_aggregate_equals_reference(texts):
    assert items(ferrokern.extract_and_aggregate(texts)) == items(reference.extract_and_aggregate(texts))


@given(texts_strategy)
@example(
    ["Mail Bob.Smith+x@Example.COM, 联系 li@163.com。", "\u212aim@x.org", "a\u0130b@x.org", "\u017fam@x.org"]
)
@example(["a@b.c.d@e.fg", "x@y.z" * 3, "A.B@C.D.EF."])
def test_extract_emails_equals_reference(texts):
    assert ferrokern.extract_emails(texts) == reference.extract_emails(texts)


def test_digit_limit_raises_like_int():
    import sys

    limit = sys.get_int_max_str_digits()
    ok = [f"k {'9' * limit} k 1"]
    assert ferrokern.extract_and_aggregate(ok) == reference.extract_and_aggregate(ok)
    bad = ["fine 1", f"k {'0' * (limit + 1)}"]
    with pytest.raises(ValueError) as ref:
        reference.extract_and_aggregate(bad)
    with pytest.raises(ValueError) as ours:
        ferrokern.extract_and_aggregate(bad)
    assert str(ref.value) in str(ours.value) and "text 1" in str(ours.value)


def test_huge_sums_are_exact():
    texts = [" ".join(f"k {'9' * 5000}" for _ in range(3))]
    import sys

    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        assert ferrokern.extract_and_aggregate(texts) == reference.extract_and_aggregate(texts)
    finally:
        sys.set_int_max_str_digits(old)


# --- user patterns -------------------------------------------------------------------

PATTERNS = [
    r"\w+",
    r"(\w+)\s+(\d+)",
    r"x*",
    r"(a)|(b)",
    r"\d+",
    r"[^\W\d]+",
    r"\s+",
    r"(\w)(\w)?",
    r"\S+@\S+",
    r"[a-z]+\Z",
    r"\D\d",
    r"(?P<k>\w+)=(?P<v>\d*)",
    r"",
    r"[\w.+-]+@[\w-]+\.\w+",
]


@pytest.mark.parametrize("pattern", PATTERNS)
@given(texts=texts_strategy)
def test_findall_equals_re(pattern, texts):
    rx = re.compile(pattern)
    with ferrokern.compile(pattern) as p:
        assert p.findall(texts) == [rx.findall(t) for t in texts]
        assert p.count(texts) == [len(rx.findall(t)) for t in texts]


@given(texts=st.lists(st.text(alphabet="abcXYZ _-", max_size=30), max_size=10))
def test_ignore_case_ascii_equals_re(texts):
    for pattern in [r"abc", r"[a-c]+", r"x(y)z"]:
        p = ferrokern.compile(pattern, ignore_case=True)
        assert p.findall(texts) == [re.findall(pattern, t, re.IGNORECASE) for t in texts]


@given(texts=texts_strategy)
def test_lowercased_findall(texts):
    p = ferrokern.compile(r"\w+")
    assert p.findall(texts, lower=True) == [[m.lower() for m in re.findall(r"\w+", t)] for t in texts]


@given(texts=texts_strategy)
def test_frequencies_equal_counter(texts):
    rx = re.compile(r"(\w+)@")
    c = Counter(m for t in texts for m in rx.findall(t))
    want = sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))
    p = ferrokern.compile(r"(\w+)@")
    assert p.frequencies(texts) == want
    assert p.frequencies(texts, top=2) == want[:2]
    whole = Counter(m for t in texts for m in re.findall(r"\w+@", t))
    assert p.frequencies(texts, group=0) == sorted(whole.items(), key=lambda kv: (-kv[1], kv[0]))


@given(texts=st.lists(st.text(alphabet="ab=_ -+0123456789٣", max_size=40), max_size=10))
def test_sum_by_key_equals_int(texts):
    rx = re.compile(r"(\w+)=([-+]?\d+(?:_\d+)*)")
    want = []
    for t in texts:
        d = {}
        for k, v in rx.findall(t):
            d[k] = d.get(k, 0) + int(v)
        want.append(list(d.items()))
    with ferrokern.compile(r"(\w+)=([-+]?\d+(?:_\d+)*)") as p:
        assert [list(d.items()) for d in p.sum_by_key(texts)] == want


def test_sum_by_key_errors():
    with ferrokern.compile(r"(\w+)=(\S+)") as p:
        with pytest.raises(ValueError, match=r"text 1: invalid literal for int\(\) with base 10: 'x'"):
            p.sum_by_key(["a=1", "b=x"])
    with pytest.raises(ValueError, match="exactly two capture groups"):
        ferrokern.compile(r"(\w+)").sum_by_key(["a"])


def test_results_holding_nul_take_the_slicing_path():
    texts = ["a\x00b ab", "中\x00文 x", ""]
    for pattern in [r"a\x00?b", r"\S+", r"(\S)(\S)?"]:
        assert ferrokern.compile(pattern).findall(texts) == [re.findall(pattern, t) for t in texts]


def test_empty_alternative_retry_like_python():
    # Python retries a non-empty match at the position of an empty one (must_advance).
    assert re.findall(r"|a", "a") == ["", "a", ""]
    assert ferrokern.compile(r"|a").findall(["a"]) == [["", "a", ""]]


def test_linear_time_where_re_backtracks():
    # (a+)+$ on "a"*26 + "!" takes seconds in re; linear here (no timing asserted).
    assert ferrokern.compile(r"(a+)+$").count(["a" * 26 + "!"]) == [0]
    big = "中" * 10_000
    assert ferrokern.extract_and_aggregate([big + " 1"]) == [{big: 1}]


# --- errors --------------------------------------------------------------------------


def test_pattern_errors_are_clear():
    with pytest.raises(ferrokern.PatternSyntaxError) as e:
        ferrokern.compile("a(")
    assert isinstance(e.value, ValueError) and isinstance(e.value, ferrokern.Error)
    with pytest.raises(ferrokern.PatternUnsupportedError, match="backreference at position 3"):
        ferrokern.compile(r"(a)\1")
    with pytest.raises(ferrokern.PatternUnsupportedError, match="lookahead"):
        ferrokern.compile(r"a(?!b)")
    with pytest.raises(ferrokern.PatternTooLargeError):
        ferrokern.compile(r"(?:\w{1000}){1000}")
    with pytest.raises(TypeError):
        ferrokern.compile(b"abc")


def test_bad_texts():
    with pytest.raises(ferrokern.InvalidTextError, match=r"texts\[1\] contains a lone surrogate"):
        ferrokern.extract_emails(["fine", "bad \ud800 here"])
    with pytest.raises(ValueError):
        ferrokern.extract_and_aggregate(["\udfff"])
    with pytest.raises(TypeError, match=r"texts\[2\] is int"):
        ferrokern.extract_emails(["a", "b", 3])
    with pytest.raises(TypeError):
        ferrokern.extract_emails("not a list")
    assert ferrokern.extract_emails([]) == []
    assert ferrokern.extract_and_aggregate(iter(["a 1"])) == [{"a": 1}]


def test_closed_pattern_raises_never_crashes():
    p = ferrokern.compile(r"\w+")
    assert p.findall(["x"]) == [["x"]]
    p.close()
    p.close()
    for call in (lambda: p.findall(["x"]), lambda: p.count(["x"]), lambda: p.frequencies(["x"])):
        with pytest.raises(ValueError, match="closed"):
            call()
    with ferrokern.compile("a") as q:
        pass
    with pytest.raises(ValueError):
        q.count(["a"])
    assert "closed" in repr(q)


def test_count_into_caller_buffer():
    np = pytest.importorskip("numpy")
    out = np.zeros(3, dtype=np.uint64)
    p = ferrokern.compile("a")
    assert p.count(["a", "aa", ""], out=out) is out
    assert out.tolist() == [1, 2, 0]
    with pytest.raises(ValueError, match="3 texts"):
        p.count(["a", "aa", ""], out=np.zeros(2, dtype=np.uint64))
    with pytest.raises(TypeError):
        p.count(["a"], out=np.zeros(1, dtype=np.float64))
    ro = np.zeros(1, dtype=np.uint64)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        p.count(["a"], out=ro)


# --- inputs: Arrow and polars, zero copy ---------------------------------------------


def test_arrow_and_polars_inputs():
    pa = pytest.importorskip("pyarrow")
    texts = ["a 1 b 2", "Mail X@Y.com", "", "中 3 中 4", "z 9"]
    want_kv = reference.extract_and_aggregate(texts)
    want_em = reference.extract_emails(texts)
    for typ in (pa.string(), pa.large_string()):
        arr = pa.array(texts, type=typ)
        assert ferrokern.extract_and_aggregate(arr) == want_kv
        assert ferrokern.extract_emails(arr) == want_em
        assert ferrokern.extract_and_aggregate(arr.slice(1, 3)) == want_kv[1:4]  # offsets[0] != 0
        chunked = pa.chunked_array([texts[:2], [], texts[2:]], type=typ)
        assert ferrokern.extract_and_aggregate(chunked) == want_kv
        assert ferrokern.extract_emails(chunked) == want_em
        assert ferrokern.compile("a").count(chunked) == [t.count("a") for t in texts]
        assert ferrokern.compile(r"\w+").frequencies(chunked) == ferrokern.compile(r"\w+").frequencies(texts)
        assert ferrokern.extract_emails(pa.chunked_array([], type=typ)) == []
    # Nulls propagate (issue 10): a null text gives None, never an exception.
    assert ferrokern.extract_emails(pa.array(["a", None])) == [[], None]
    with pytest.raises(TypeError, match="string array"):
        ferrokern.extract_emails(pa.array([1, 2]))
    pl = pytest.importorskip("polars")
    assert ferrokern.extract_and_aggregate(pl.Series(texts)) == want_kv


# --- threads, fork, determinism ------------------------------------------------------


def _corpus(n=3000):
    return [
        f"user{i % 17} {i} 名{i % 5} {i % 7} Mail{i % 11}@Host{i % 3}.COM x² ٣" * (1 + (i % 4 == 0) * 40)
        for i in range(n)
    ]


def test_results_independent_of_thread_count():
    texts = _corpus()
    p = ferrokern.compile(r"(\w+)@(\w+)")
    runs = []
    for n in (1, 2, 3, 8):
        ferrokern.set_threads(n)
        assert ferrokern.threads() == n
        runs.append(
            (
                ferrokern.extract_and_aggregate(texts),
                ferrokern.extract_emails(texts),
                p.findall(texts),
                p.frequencies(texts),
            )
        )
    ferrokern.set_threads(0)
    assert all(r == runs[0] for r in runs)
    with pytest.raises(ValueError):
        ferrokern.set_threads(-1)


def test_eight_python_threads_match_serial():
    from concurrent.futures import ThreadPoolExecutor

    batches = [_corpus(200 + 50 * i) for i in range(8)]
    p = ferrokern.compile(r"(\w+)\s+(\d+)")
    serial = [
        (ferrokern.extract_and_aggregate(b), ferrokern.extract_emails(b), p.sum_by_key(b)) for b in batches
    ]
    with ThreadPoolExecutor(8) as ex:
        for _ in range(3):
            got = list(
                ex.map(
                    lambda b: (
                        ferrokern.extract_and_aggregate(b),
                        ferrokern.extract_emails(b),
                        p.sum_by_key(b),
                    ),
                    batches,
                )
            )
            assert got == serial


def _child_call(q):
    texts = _corpus(2000)
    q.put(ferrokern.extract_and_aggregate(texts) == reference.extract_and_aggregate(texts))


@pytest.mark.timeout(120)
def test_forked_child_after_parallel_call_completes():
    import multiprocessing as mp

    ferrokern.extract_and_aggregate(_corpus(2000))  # the parent's pool now exists
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    proc = ctx.Process(target=_child_call, args=(q,))
    proc.start()
    proc.join(60)
    alive = proc.is_alive()
    if alive:
        proc.kill()
    assert not alive, "forked child deadlocked in its parallel call"
    assert q.get(timeout=5) is True


def test_thread_count_from_environment():
    import subprocess
    import sys
    from pathlib import Path

    code = "import ferrokern; print(ferrokern.threads())"
    env = {
        "FERROKERN_THREADS": "3",
        "PYTHONPATH": str(Path(ferrokern.__file__).parents[1]),
        "PATH": "/usr/bin:/bin",
    }
    # A clean environment, except where the library comes from when it is set explicitly.
    if "FERROKERN_LIBRARY" in os.environ:
        env["FERROKERN_LIBRARY"] = os.environ["FERROKERN_LIBRARY"]
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3"


def test_slicing_a_big_list_changes_nothing(monkeypatch):
    from ferrokern import _text

    texts = _corpus(400) + ["", "a 1"]
    p = ferrokern.compile(r"(\w+)@(\w+)")
    whole = (
        ferrokern.extract_and_aggregate(texts),
        ferrokern.extract_emails(texts),
        p.findall(texts),
        p.count(texts),
        p.frequencies(texts),
        p.frequencies(texts, top=3),
        ferrokern.compile(r"(\w+)\s+(\d+)").sum_by_key(texts),
    )
    monkeypatch.setattr(_text, "SLICE_BYTES", 1000)  # many slices
    monkeypatch.setattr(_text, "_ENCODE_STEP", 7)  # and steps that do not divide them
    sliced = (
        ferrokern.extract_and_aggregate(texts),
        ferrokern.extract_emails(texts),
        p.findall(texts),
        p.count(texts),
        p.frequencies(texts),
        p.frequencies(texts, top=3),
        ferrokern.compile(r"(\w+)\s+(\d+)").sum_by_key(texts),
    )
    assert sliced == whole
    assert len(list(_text._batches(texts))) > 10
    bad = texts[:300] + ["x\ud800"]
    with pytest.raises(ferrokern.InvalidTextError, match=r"texts\[300\]"):
        ferrokern.extract_emails(bad)
    with pytest.raises(TypeError, match=r"texts\[301\] is NoneType"):
        ferrokern.extract_emails(texts[:301] + [None])


def test_pipelined_slices_keep_order_and_errors(monkeypatch):
    from ferrokern import _text

    texts = _corpus(600)
    want = (reference.extract_and_aggregate(texts), reference.extract_emails(texts))
    monkeypatch.setattr(_text, "PIPELINE_SLICE_BYTES", 5000)
    slices = list(_text._batches(texts, _text.PIPELINE_SLICE_BYTES))
    assert len(slices) > 20
    # The adaptive step keeps every slice near the limit (big documents included).
    assert max(len(b.keep[0]) for b in slices) < 5000 + 2 * max(len(t.encode()) for t in texts)
    assert (ferrokern.extract_and_aggregate(texts), ferrokern.extract_emails(texts)) == want
    p = ferrokern.compile(r"(\w+)\s+(\d+)")
    assert p.sum_by_key(texts) == want[0]
    # An error in a later slice (marshalling, or the library) surfaces with the right index.
    with pytest.raises(ferrokern.InvalidTextError, match=r"texts\[500\]"):
        ferrokern.extract_emails(texts[:500] + ["\ud800"] + texts[:50])
    big = texts[:400] + [f"k {'1' * 5000}"] + texts[:50]
    with pytest.raises(ValueError, match="text 400: Exceeds the limit"):  # the caller's index
        ferrokern.extract_and_aggregate(big)


def test_pipeline_frees_every_job_and_reports_the_first_error(monkeypatch):
    """`_per_text` runs each slice as a library job; whether it ends normally, by an error of
    the library in a later slice, or by an error starting a job, every job it started is freed
    exactly once (fk_job_free waits for a running one, so none outlives its slice), and the
    error surfaces (run in a thread with a timeout, so a regression fails instead of hanging)."""
    import threading

    from ferrokern import _text

    real_lib, real_start = _text.lib, _text._job_start
    monkeypatch.setattr(_text, "PIPELINE_SLICE_TEXTS", 10)
    texts = ["a@b.cc x", "y", "k 1"] * 20
    want = reference.extract_emails(texts)

    class Lib:  # the real library, with fk_job_free counted
        def __getattr__(self, name):
            return getattr(real_lib, name)

        def fk_job_free(self, job):
            freed.append(int(_text.ffi.cast("uintptr_t", job)))
            real_lib.fk_job_free(job)

    monkeypatch.setattr(_text, "lib", Lib())
    # (the job start that fails, the text that cannot be encoded, jobs started at least)
    for fail_at, bad_text, at_least in ((0, None, 6), (3, None, 2), (1, None, 0), (0, 35, 3), (0, 5, 0)):
        started, freed, outcome = [], [], []

        def start(s, b, flags, threads, fail_at=fail_at, started=started):
            if len(started) + 1 == fail_at:
                raise RuntimeError("cannot start a job")
            job = real_start(s, b, flags, threads)
            started.append(int(_text.ffi.cast("uintptr_t", job)))
            return job

        monkeypatch.setattr(_text, "_job_start", start)
        ts = list(texts)
        if bad_text is not None:
            ts[bad_text] = "\udc80"  # a lone surrogate: a later slice fails to encode

        def go(ts=ts, outcome=outcome):
            try:
                outcome.append(ferrokern.extract_emails(ts))
            except (RuntimeError, ferrokern.InvalidTextError) as e:
                outcome.append(e)

        t = threading.Thread(target=go, daemon=True)
        t.start()
        t.join(30)
        assert not t.is_alive(), "the pipeline hung"
        if fail_at:
            assert str(outcome[0]) == "cannot start a job"
        elif bad_text is not None:
            assert isinstance(outcome[0], ferrokern.InvalidTextError)
            assert f"texts[{bad_text}]" in str(outcome[0])
        else:
            assert outcome[0] == want
        assert len(started) >= at_least
        assert sorted(freed) == sorted(started), "every job freed exactly once"


def test_a_job_error_keeps_its_message_across_later_calls():
    """The library's message for a job's error is read when the job is waited for: the next
    job started before its results are taken (the pipeline's order) must not replace it."""
    from ferrokern import _text

    texts = ["k 1"] * 40 + [f"k {'1' * 5000}"] + ["k 2"] * 40
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_text, "PIPELINE_SLICE_TEXTS", 8)
        with pytest.raises(ValueError, match=r"text 40: Exceeds the limit"):
            ferrokern.extract_and_aggregate(texts)


# --- many tiny texts (issue 15): slicing, result conversion, the caller's gc state -----


def _log_lines(n=3000):
    """Mostly lines without a match, a few with an email, a kv pair, non-ASCII, NUL."""
    extras = ["mail Bob.X+1@Example.COM", "retry 3", "数量 7 用户", "a\x00b 5", "😀 x@y.io", "k 1 k 2"]
    return [
        f"INFO svc: ok {i % 13}a" if i % 37 else f"WARN {extras[i // 37 % len(extras)]}" for i in range(n)
    ]


def _tricky_mix():
    # Short and long (> _SHORT_TEXT_CHARS) texts, so both ways of encoding a slice run.
    return _log_lines(400) + _corpus(40) + ["", "\x00", "é 1", "z" * 300 + " 9", ""] + _log_lines(300)


def _all_results(texts):
    p = ferrokern.compile(r"(\w+)@(\w+)")
    kv = ferrokern.compile(r"(\w+)\s+(\d+)")
    return (
        items(ferrokern.extract_and_aggregate(texts)),
        ferrokern.extract_emails(texts),
        p.findall(texts),
        ferrokern.compile(r"\d").findall(texts),
        p.count(texts),
        p.frequencies(texts),
        items(kv.sum_by_key(texts)),
    )


@pytest.mark.parametrize("in_place", [True, False], ids=["strs_in_place", "encoded_here"])
@pytest.mark.parametrize("texts", [_log_lines(), _tricky_mix()], ids=["log_lines", "mixed"])
def test_tiny_slices_change_nothing(monkeypatch, texts, in_place):
    from ferrokern import _text

    monkeypatch.setattr(_text, "_STRS_IN_PLACE", in_place)

    want = (items(reference.extract_and_aggregate(texts)), reference.extract_emails(texts))
    whole = _all_results(texts)
    assert whole[:2] == want
    assert whole[2] == [re.findall(r"(\w+)@(\w+)", t) for t in texts]
    assert whole[3] == [re.findall(r"\d", t) for t in texts]
    for slice_texts, slice_bytes, step in [(1, 1 << 20, 1), (3, 1 << 20, 2), (50, 700, 7), (1 << 20, 200, 3)]:
        monkeypatch.setattr(_text, "PIPELINE_SLICE_TEXTS", slice_texts)
        monkeypatch.setattr(_text, "PIPELINE_SLICE_BYTES", slice_bytes)
        monkeypatch.setattr(_text, "SLICE_TEXTS", slice_texts)
        monkeypatch.setattr(_text, "SLICE_BYTES", slice_bytes)
        monkeypatch.setattr(_text, "_ENCODE_STEP", step)
        assert _all_results(texts) == whole, (slice_texts, slice_bytes, step)
    assert len(list(_text._batches(texts))) > 10


def test_sparse_and_dense_results_convert_alike():
    from ferrokern import _text

    # Sparse (a few texts with results among many: bisection) and dense (one slice per text).
    for texts in (["nothing here"] * 500 + ["a@b.cc x@y.zz", "k 1 k 2 j 3"] + ["no"] * 500, _corpus(50)):
        assert ferrokern.extract_emails(texts) == reference.extract_emails(texts)
        assert items(ferrokern.extract_and_aggregate(texts)) == items(reference.extract_and_aggregate(texts))
        assert ferrokern.compile(r"(\w)@(\w)").findall(texts) == [re.findall(r"(\w)@(\w)", t) for t in texts]
    # Empty results are distinct objects, never the shared template.
    out = ferrokern.extract_emails(["x"] * 100 + ["a@b.cc"])
    out[0].append("mutated")
    assert out[1] == [] and _text._NO_MATCHES == [] and ferrokern.extract_emails(["x"] * 100)[0] == []
    kv = ferrokern.extract_and_aggregate(["x"] * 100 + ["a 1"])
    kv[0]["k"] = 1
    assert kv[1] == {} and _text._NO_KEYS == {}


def test_str_subclass_with_odd_len():
    class Odd(str):
        def __len__(self):
            return 1

    # Mostly non-ASCII chunk, and a mostly-ASCII one (the Latin-1 path) with liars of both kinds.
    for texts in (
        [Odd("a@b.com x 1"), "c@d.org y 2", Odd("é@f.io")],
        ["x 1"] * 20 + [Odd("é@f.io 2"), Odd("g@h.io")],
    ):
        assert ferrokern.extract_emails(texts) == reference.extract_emails(texts)
        assert items(ferrokern.extract_and_aggregate(texts)) == items(reference.extract_and_aggregate(texts))


def test_utf8_join_every_way_gives_the_same_bytes_and_errors():
    # `_utf8_join` joins first or takes the per-str flags (Latin-1 trick or whole-chunk
    # UTF-8); each way must give the same bytes, extra count and errors.
    from ferrokern import _text

    chunks = [
        [],
        ["a", "bc", ""],
        ["é"] + ["x"] * 20,  # few non-ASCII: the Latin-1 trick
        ["用户", "数量", "k"],  # mostly non-ASCII
        ["🎉 a", "b"],  # 4-byte characters
        ["plain"] * 30,
    ]
    for sep in ("", "\0"):
        for chunk in chunks:
            joined = sep.join(chunk)
            want = joined.encode()
            for join_first in (False, True):
                data, extra, nxt = _text._utf8_join(sep, chunk, join_first)
                assert (data, extra) == (want, len(want) - len(joined)), (sep, chunk, join_first)
                # The hint for the next chunk: joined first for ASCII or many non-ASCII strs.
                assert nxt == (
                    joined.isascii()
                    or extra > len(chunk)
                    or (not join_first and 8 * sum(not t.isascii() for t in chunk) > len(chunk))
                ), (chunk, join_first)
        for join_first in (False, True):
            with pytest.raises(UnicodeEncodeError):
                _text._utf8_join(sep, ["a", "b\ud800"], join_first)
            with pytest.raises(TypeError):
                _text._utf8_join(sep, ["a", 3], join_first)  # type: ignore[list-item]


def test_utf8_kept_in_a_str_is_the_same_bytes_and_outlives_its_chunk(monkeypatch):
    # `keep_str`: UTF-8 that the joined str of one byte per character holds comes back as
    # that str, and the library reads it there (`_str_data`). CPython must find where its
    # strs keep their characters, or this fast path would go untested.
    import gc
    import platform

    from ferrokern import _text

    if platform.python_implementation() == "CPython":
        assert _text._STR_DATA is not None
    if _text._STR_DATA is None:
        pytest.skip("no str data offsets on this Python")
    chunks = [
        ["a", "bc", ""],
        ["é"] + ["x"] * 20,
        ["ÿ ü"] + ["y"] * 40,
        ["用户"] + ["k"] * 20,
        ["用户", "数量", "k"],
    ]
    for chunk in chunks:
        want = "\0".join(chunk).encode()
        for join_first in (False, True):
            data, _, _ = _text._utf8_join("\0", chunk, join_first, keep_str=True)
            got = data.encode("latin-1") if isinstance(data, str) else data
            assert got == want, (chunk, join_first)
            if isinstance(data, str):
                assert bytes(ffi.buffer(_text._str_data(data), len(data))) == want
    # One str is never kept: a join of one returns that very str, which need not be compact.
    one = "".join(["ab", "c"])
    data, _, _ = _text._utf8_join("\0", [one], True, keep_str=True)
    assert isinstance(data, bytes) and data == b"abc"
    # A batch keeps its str alive: every other reference dropped, the library still reads
    # the right bytes (texts made at run time, so no constant keeps them either).
    texts = [f"user=u{i} mail a{i}@b{i}.io é" if i % 50 == 0 else f"line {i} user=v{i}" for i in range(300)]
    monkeypatch.setattr(_text, "_STRS_IN_PLACE", False)  # else the library reads the strs themselves
    batch = next(_text._batches(texts, separated=True))
    assert isinstance(batch.keep[0], str)
    texts_copy = list(texts)
    del texts
    gc.collect()
    got = ferrokern.compile(r"user=(\w+)").findall(texts_copy)
    assert got == [re.findall(r"user=(\w+)", t) for t in texts_copy]
    view = _text._job_now(
        batch,
        lib.fk_job_extract_emails,
        _text._job_flags(False),
        lambda h: _text._matches_result(h, tuples=False),
    )
    assert view == reference.extract_emails(texts_copy)


class _EncodedHere:
    """Within it, lists of strs are encoded by the package, not read in place."""

    def __enter__(self):
        from ferrokern import _text

        self.was, _text._STRS_IN_PLACE = _text._STRS_IN_PLACE, False

    def __exit__(self, *exc):
        from ferrokern import _text

        _text._STRS_IN_PLACE = self.was


@given(
    st.lists(st.one_of(mixed_text, tricky_text, any_text, st.sampled_from(["", "\0", "a\0b", "\U0010ffff"])))
)
@example(["plain", "caf\xe9 \xff", "\u20ac k 1 a@b.cc", "\U0001f600 x 2", "", "\0"])
def test_strs_read_in_place_equal_strs_encoded_here(texts):
    # A list's strs are read by the library (FK_OFFSETS_PY_STRS) where this CPython's layout
    # was confirmed: every kind of str (ASCII, Latin-1, 2 and 4 bytes per character), empty
    # ones and NULs give what the package's own encode gives, and what re gives.
    import platform

    from ferrokern import _text

    if platform.python_implementation() == "CPython" and not sysconfig.get_config_var("Py_GIL_DISABLED"):
        assert _text._PY_STRS is not None  # else the fast path would go untested
    in_place = _all_results(texts)
    with _EncodedHere():
        assert _all_results(texts) == in_place
    assert in_place[2] == [re.findall(r"(\w+)@(\w+)", t) for t in texts]
    assert in_place[:2] == (items(reference.extract_and_aggregate(texts)), reference.extract_emails(texts))


def test_strs_read_in_place_fall_back_by_slice(monkeypatch):
    # What the library does not read (a str subclass, a lone surrogate, a non-str) makes it
    # refuse the slice, which the package then encodes itself: results and errors as
    # before, naming the caller's index, in any slice; interned strs (whose state bits
    # differ) and strs dropped by the caller meanwhile read right.
    import gc
    import sys

    from ferrokern import _text

    if _text._PY_STRS is None:
        pytest.skip("strs are not read in place on this Python")
    monkeypatch.setattr(_text, "PIPELINE_SLICE_TEXTS", 7)

    class Sub(str):
        pass

    base = [f"user=u{i} a{i}@b.io k {i}" if i % 4 else f"é{i} user=ü{i} 用户 {i}" for i in range(40)]
    texts = list(base)
    texts[9] = Sub(texts[9])
    texts[23] = sys.intern("".join(["user=interned ", "k 1"]))
    p = ferrokern.compile(r"user=(\w+)")
    for seq in (texts, tuple(texts)):
        batches = list(_text._batches(seq, _text.PIPELINE_SLICE_BYTES, 7, separated=True))
        kinds = [b.ptr.offset_kind for b in batches]
        assert kinds == [lib.FK_OFFSETS_PY_STRS] * 6, kinds
        assert p.findall(seq) == [re.findall(r"user=(\w+)", t) for t in texts]
        assert ferrokern.extract_emails(seq) == reference.extract_emails(texts)
        assert items(ferrokern.extract_and_aggregate(seq)) == items(reference.extract_and_aggregate(texts))
    for at in (0, 6, 7, 39):
        bad = list(base)
        bad[at] = "a\ud800b"
        with pytest.raises(ferrokern.InvalidTextError, match=rf"texts\[{at}\] contains a lone surrogate"):
            p.findall(bad)
        with pytest.raises(ferrokern.InvalidTextError, match=rf"texts\[{at}\] contains a lone surrogate"):
            p.findall(tuple(bad))
        bad[at] = 5
        with pytest.raises(TypeError):
            ferrokern.extract_emails(bad)
    # A batch keeps its slice (and so the strs) alive after the caller's list is gone.
    fresh = [f"user=x{i} k {i} é" for i in range(50)]
    batch = next(_text._batches(fresh, separated=True))
    want = [re.findall(r"user=(\w+)", t) for t in fresh]
    del fresh
    gc.collect()
    got = _text._job_now(
        batch, lambda b, f, t, out: p._h.call(lib.fk_job_findall, b, 0, f, t, out), _text._job_flags(True),
        lambda h: _text._matches_result(h, tuples=True),
    )  # fmt: skip
    assert got == want


@pytest.mark.parametrize("in_place", [True, False], ids=["strs_in_place", "encoded_here"])
def test_callers_texts_are_never_changed(monkeypatch, in_place):
    # The separated encode replaces non-ASCII strs in place in the slices it owns (fresh
    # slices of a plain list): the caller's list, a list subclass that hands out its own
    # list, and a tuple keep every original object, and the owned join gives the same bytes.
    from ferrokern import _text

    monkeypatch.setattr(_text, "_STRS_IN_PLACE", in_place)

    monkeypatch.setattr(_text, "_SHORT_STEP", 16)
    monkeypatch.setattr(_text, "PIPELINE_SLICE_TEXTS", 40)
    base = [f"x {i} a@b.cc" if i % 9 else f"é{i} k 1 ü@ß.de 用户" for i in range(200)]
    chunk = list(base[:30])
    assert _text._utf8_join("\0", chunk, False, owned=True)[0] == "\0".join(base[:30]).encode()

    class Keeps(list):  # a slice of it is one list it keeps and hands out again
        def __getitem__(self, i):
            return self.kept if isinstance(i, slice) else list.__getitem__(self, i)

    want = reference.extract_emails(base)
    plain = list(base)
    kept = Keeps(base)
    kept.kept = list(base)
    for texts in (plain, kept, tuple(base)):
        ids = [id(t) for t in texts]
        got = ferrokern.extract_emails(texts) if texts is not kept else None
        if got is not None:
            assert got == want
        else:  # every slice is the whole list: what matters is that nothing is changed
            ferrokern.extract_emails(texts)
        assert [id(t) for t in texts] == ids and list(texts) == base
    assert kept.kept == base


@pytest.mark.parametrize("in_place", [True, False], ids=["strs_in_place", "encoded_here"])
def test_encode_ways_switch_between_chunks(monkeypatch, in_place):
    # Chunks of 3 strs, so the way each chunk is encoded changes along the list (ASCII,
    # a few non-ASCII, CJK, ASCII again), with errors and str subclasses met in either way.
    from ferrokern import _text

    monkeypatch.setattr(_text, "_STRS_IN_PLACE", in_place)

    class Odd(str):
        def __len__(self):
            return 1

    monkeypatch.setattr(_text, "_SHORT_STEP", 3)
    monkeypatch.setattr(_text, "PIPELINE_SLICE_TEXTS", 7)
    blocks = [
        ["INFO k 1 a@b.cc"] * 6,
        ["x 2", "é@f.io k 3", "y 4"] * 3,
        ["用户 数量 5", "价格 6 用@户.cn", "ok"] * 3,
        [Odd("a@b.com x 1"), "c@d.org y 2", Odd("é@f.io")],
        ["plain 7"] * 7,
        ["long " + "é" * 5000 + " a@b.cc k 8"] * 7,  # long texts: str by str
        ["x" * 1000 + " k 9"] * 7,
    ]
    texts = [t for b in blocks for t in b]
    p = ferrokern.compile(r"(\w+)\s+(\d+)")
    for ts in (texts, texts[::-1], texts[5:] + texts[:5]):
        assert ferrokern.extract_emails(ts) == reference.extract_emails(ts)
        assert items(ferrokern.extract_and_aggregate(ts)) == items(reference.extract_and_aggregate(ts))
        assert p.findall(ts) == [re.findall(r"(\w+)\s+(\d+)", t) for t in ts]
    for i in (0, 7, 13, len(texts) - 1):  # a lone surrogate in a chunk of each way
        bad = texts[:i] + ["a\ud800b"] + texts[i:]
        with pytest.raises(ferrokern.InvalidTextError, match=rf"texts\[{i}\]"):
            ferrokern.extract_emails(bad)
        with pytest.raises(TypeError, match=rf"texts\[{i}\]"):
            ferrokern.extract_emails(texts[:i] + [b"bytes"] + texts[i:])  # type: ignore[list-item]


def _gc_state():
    import gc

    return gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()


def _per_text_calls():
    p = ferrokern.compile(r"(\w+)@(\w+)")
    kv = ferrokern.compile(r"(\w+)\s+(\d+)")
    return [
        ferrokern.extract_emails,
        ferrokern.extract_and_aggregate,
        p.findall,
        kv.sum_by_key,
        p.count,
        p.frequencies,
    ]


@pytest.mark.parametrize("state", ["enabled", "disabled", "thresholds", "frozen"])
def test_callers_gc_state_is_unchanged(monkeypatch, state):
    import gc

    from ferrokern import _text

    monkeypatch.setattr(_text, "PIPELINE_SLICE_TEXTS", 100)  # pipelined: several slices
    texts = _log_lines(1000)
    # A lone surrogate in the middle of the batch (in a later slice), and a library error.
    bad = texts[:500] + ["x\ud800y"] + texts[:500]
    too_long = texts[:500] + ["k " + "1" * 5000] + texts[:10]
    saved = _gc_state()
    try:
        if state == "disabled":
            gc.disable()
        elif state == "thresholds":
            gc.set_threshold(1234, 5, 6)
        elif state == "frozen":
            gc.freeze()
            assert gc.get_freeze_count() > 0
        before = _gc_state()
        for call in _per_text_calls():
            call(texts)
            assert _gc_state() == before, call
            with pytest.raises(ferrokern.InvalidTextError, match=r"texts\[500\]"):
                call(bad)
            assert _gc_state() == before, call
        for call in (ferrokern.extract_and_aggregate, ferrokern.compile(r"(\w+)\s+(\d+)").sum_by_key):
            with pytest.raises(ValueError, match="text 500"):
                call(too_long)
            assert _gc_state() == before, call
        with pytest.raises(TypeError, match=r"texts\[3\] is NoneType"):
            ferrokern.extract_emails(["a", "b", "c", None])
        assert _gc_state() == before
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved[1])
        (gc.enable if saved[0] else gc.disable)()
    assert _gc_state() == saved


def test_gc_state_with_overlapping_calls_in_threads():
    import gc
    import threading

    texts = _log_lines(20_000)
    want = ferrokern.extract_emails(texts)
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        results = []

        def work(results=results):
            for _ in range(3):
                results.append(ferrokern.extract_emails(texts) == want)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [True] * 12
        assert gc.isenabled() is enabled
    gc.enable()


def test_no_collection_during_a_call():
    import gc

    passes = []

    def callback(phase, info):
        if phase == "start":
            passes.append(info["generation"])

    texts = _log_lines(200_000)
    gc.collect()
    gc.callbacks.append(callback)
    try:
        ferrokern.extract_emails(texts)
        ferrokern.extract_and_aggregate(texts)
    finally:
        gc.callbacks.remove(callback)
    # 400 000 result objects would trigger hundreds of passes with the collector on.
    assert passes == []


def test_callers_gc_state_is_unchanged_when_conversion_raises(monkeypatch):
    import gc

    from ferrokern import _text

    monkeypatch.setattr(_text, "PIPELINE_SLICE_TEXTS", 100)  # several slices in flight
    texts = _log_lines(1000)

    def broken(*args, **kwargs):
        raise MemoryError("conversion failed")

    monkeypatch.setattr(_text, "_strings", broken)
    monkeypatch.setattr(_text, "_unpickled", broken)  # sparse results (log lines)
    saved = _gc_state()
    try:
        for setup in (gc.enable, gc.disable):
            setup()
            before = _gc_state()
            for call in (
                ferrokern.extract_emails,
                ferrokern.extract_and_aggregate,
                ferrokern.compile(r"(\w+)@").findall,
            ):
                with pytest.raises(MemoryError, match="conversion failed"):
                    call(texts)
                assert _gc_state() == before, call
    finally:
        (gc.enable if saved[0] else gc.disable)()


@pytest.mark.parametrize(
    "pattern, flags",
    [
        (r"user=(\w+)", 0),
        (r"user=(\w+)", re.IGNORECASE),
        (r"(?:retry|mail) (\S+)", 0),
        (r"^INFO (\w+)", 0),
        (r"k (\d)$", 0),
        (r"b\.x", re.IGNORECASE),
    ],
)
def test_findall_with_literal_prefilter_matches_re(pattern, flags):
    # The driver skips texts without one of the pattern's leading literals; literals that
    # straddle two texts, repeat, or differ in case must not change any result.
    texts = _log_lines(300) + ["use", "r=a user=b", "USER=c", "user=", "", "ok user=d", "k 1", "k 2x"]
    texts += ["".join(texts[i : i + 3]) for i in range(0, 60, 3)]
    want = [re.findall(pattern, t, flags) for t in texts]
    assert ferrokern.compile(pattern, flags).findall(texts) == want


@pytest.mark.parametrize("in_place", [True, False], ids=["strs_in_place", "encoded_here"])
def test_nul_separated_batches_with_nul_empty_and_non_ascii_texts(monkeypatch, in_place):
    # Short texts reach the library NUL-separated; a text holding NUL makes the library
    # refuse the slice, which is redone with lengths. Slices mixing ASCII, non-ASCII
    # (Latin-1 trick and whole-chunk UTF-8), empty strs and NULs must change nothing.
    from ferrokern import _text

    monkeypatch.setattr(_text, "_STRS_IN_PLACE", in_place)

    texts = ["INFO user=a mail A@b.cc k 1", "", "x\0user=b k 2", "\0", "é user=ü k 3", "用户 user=用 数量 4"]
    texts += ["plain line"] * 40 + ["ok"] * 3 + ["\0\0 a@b.cc"] + ["naïve k 5"] * 9
    p = ferrokern.compile(r"user=(\w+)")
    for slice_texts, step in [(1 << 20, 4096), (7, 3), (2, 1), (1, 1)]:
        monkeypatch.setattr(_text, "PIPELINE_SLICE_TEXTS", slice_texts)
        monkeypatch.setattr(_text, "_ENCODE_STEP", step)
        for ts in (texts, texts[1:2] * 30, [t for t in texts if t.isascii()], texts[4:6] * 20):
            assert ferrokern.extract_emails(ts) == reference.extract_emails(ts)
            assert items(ferrokern.extract_and_aggregate(ts)) == items(reference.extract_and_aggregate(ts))
            assert p.findall(ts) == [re.findall(r"user=(\w+)", t) for t in ts]
    # The error still names the caller's index, on either layout.
    bad = ["ok"] * 30 + ["a\ud800b"]
    with pytest.raises(ferrokern.InvalidTextError, match=r"texts\[30\]"):
        ferrokern.extract_emails(bad)
    with pytest.raises(ferrokern.InvalidTextError, match=r"texts\[31\]"):
        ferrokern.extract_emails(["x\0"] + bad)


def test_unpickled_results_equal_the_view_path(monkeypatch):
    # Sparse results and dense ones of one str per match come from the library's pickle
    # stream, dense tuples and any result without the unpickler from the views: all must
    # give the same objects, for long strs (past 255 bytes), several groups
    # (tuples) and every integer width, and a sum past 64 bits falls back to the view.
    from ferrokern import _text

    values = [0, 1, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**30]
    texts = ["nothing"] * 200 + [f"k {v} j {v} k 0" for v in values] + ["long " + "x" * 300 + "@b.cc"]
    texts += ["u=a1 u=é2"]
    p = ferrokern.compile(r"(\w)=(\w)(\d)")
    want = (
        reference.extract_emails(texts),
        items(reference.extract_and_aggregate(texts)),
        [re.findall(r"(\w)=(\w)(\d)", t) for t in texts],
    )
    dense = texts[200:] * 3  # most texts with a result: the view path unless pickled too
    want_dense = (
        reference.extract_emails(dense),
        items(reference.extract_and_aggregate(dense)),
        [re.findall(r"(\w)=(\w)(\d)", t) for t in dense],
    )
    for unpickle in (True, False):
        monkeypatch.setattr(_text, "_UNPICKLE", unpickle)
        for ts, w in ((texts, want), (dense, want_dense)):
            got = (
                ferrokern.extract_emails(ts),
                items(ferrokern.extract_and_aggregate(ts)),
                p.findall(ts),
            )
            assert got == w
            # Each text's result is its own object.
            got[0][0].append("x")
            assert got[0][1] == []
    kv = ferrokern.extract_and_aggregate([f"n {-5}"] + ["x"] * 20)  # '-' is not a digit: no pair
    assert kv == [{}] * 21


def test_dense_kv_through_the_memoized_pickle_stream():
    # More than 256 distinct keys, each repeated across texts (LONG_BINGET past the first
    # 256 memo entries), non-ASCII keys, sums in every integer opcode's range: the dicts,
    # their key order and the shared key strs are those of the reference.
    import random

    from ferrokern.reference import extract_and_aggregate as ref

    rng = random.Random(10)
    texts = [
        " ".join(
            f"k{rng.randint(0, 700)} {rng.randint(0, 10 ** rng.randint(1, 12))}"
            for _ in range(rng.randint(0, 8))
        )
        for _ in range(5000)
    ] + [f"é{i} 5 x 3 é{i} 7" for i in range(300)]
    got, want = ferrokern.extract_and_aggregate(texts), ref(texts)
    assert [list(d.items()) for d in got] == [list(d.items()) for d in want]
    assert ferrokern.compile(r"(\w+)\s+(\d+)").sum_by_key(texts) == want
    keys = [k for d in got for k in d if k == "x"]
    assert len(keys) == 300 and all(k is keys[0] for k in keys)  # one str per distinct key


def test_pipeline_worker_leaves_the_main_thread_a_core(monkeypatch):
    # With the library's count at (or above) the cores this process may use, a pipeline's
    # worker limits its own calls to one thread fewer; results are the same either way.
    import os

    from ferrokern import _text

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    texts = _log_lines(300) + _corpus(20)
    monkeypatch.setattr(_text, "PIPELINE_SLICE_TEXTS", 16)  # many slices: pipelined
    want = (reference.extract_emails(texts), items(reference.extract_and_aggregate(texts)))
    try:
        for n in (1, 2, cores, cores + 1):
            ferrokern.set_threads(n)
            expected = n - 1 if n > 1 and n >= cores else 0
            for spare in (True, False):
                monkeypatch.setattr(_text, "_SPARE_CORE", spare)
                assert _text._worker_threads() == (expected if spare else 0), (n, spare)
                got = (ferrokern.extract_emails(texts), items(ferrokern.extract_and_aggregate(texts)))
                assert got == want, (n, spare)
        assert ferrokern.threads() == cores + 1  # the caller's own count is untouched
    finally:
        ferrokern.set_threads(0)
