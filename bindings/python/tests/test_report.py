"""The streaming report against a pure-Python reference that reads the same files line by
line with Python's own `re`, `int()` and `json` (issue 2's reference definitions), plus
determinism across threads / chunk sizes / byte-range splits, JSON round trips and bad input."""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import sys
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrokern as fk

KV_RE = re.compile(r"(\w+)\s+(\d+)")
EMAIL_RE = re.compile(r"[a-z0-9\.\-+_]+@[a-z0-9\.\-+_]+\.[a-z]+")


# ---------------------------------------------------------------------------------------
# The reference
# ---------------------------------------------------------------------------------------


def ref_extract(text: str):
    """issue 2's extract_and_aggregate / extract_emails on one text (int() may raise)."""
    agg = defaultdict(int)
    for k, v in KV_RE.findall(text):
        agg[k] += int(v)
    return dict(agg), EMAIL_RE.findall(text.lower())


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def ref_document(raw: bytes, text_field, max_line):
    """The text of one line, or None when the line is invalid (documented rules)."""
    if len(raw) > max_line:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text_field is None:
        return text
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get(text_field), str):
        return None
    text = obj[text_field]
    try:
        text.encode("utf-8")  # a lone surrogate escape is not text
    except UnicodeEncodeError:
        return None
    return text


def ref_lines(path):
    """(offset, line without terminator, raw length) like the library reads them."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        end = len(data) if nl < 0 else nl + 1
        raw = data[pos:end]
        line = raw[:-1] if raw.endswith(b"\n") else raw
        if line.endswith(b"\r"):
            line = line[:-1]
        yield pos, line, len(raw)
        pos = end


def ranked(counter, top):
    return [[k, v] for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]


def reference_report(paths, *, text_field=None, top=20, max_line=64 << 20, docs=None):
    """What the report must say, computed line by line in pure Python. `docs` collects the
    per-document results."""
    lines = documents = nbytes = invalid = pairs = 0
    invalid_at = []
    totals, dfreq, emails = Counter(), Counter(), Counter()
    for path in paths:
        for off, line, raw_len in ref_lines(path):
            lines += 1
            nbytes += raw_len
            text = ref_document(line, text_field, max_line)
            try:
                kv, em = ref_extract(text) if text is not None else (None, None)
            except ValueError:  # int() past sys.get_int_max_str_digits()
                kv = None
            if kv is None:
                invalid += 1
                invalid_at.append(off)
                if docs is not None:
                    docs.append(None)
                continue
            documents += 1
            pairs += sum(1 for _ in KV_RE.finditer(text))
            for k, v in kv.items():
                totals[k] += v
                dfreq[k] += 1
            emails.update(em)
            if docs is not None:
                docs.append({"kv": kv, "emails": em})
    domains = Counter()
    for e, c in emails.items():
        domains[e.split("@")[1]] += c
    return {
        "lines": lines,
        "documents": documents,
        "bytes": nbytes,
        "invalid": {"count": invalid, "offsets": invalid_at[:10]},
        "kv": {
            "pairs": pairs,
            "distinct": len(totals),
            "top": ranked(totals, top),
            "totals": dict(sorted(totals.items())),
            "document_frequencies": dict(sorted(dfreq.items())),
        },
        "emails": {
            "total": sum(emails.values()),
            "distinct": len(emails),
            "top": ranked(emails, top),
            "domains_distinct": len(domains),
            "domains": ranked(domains, top),
        },
    }


def comparable(r) -> dict:
    d = r.to_dict() if isinstance(r, fk.Report) else r
    return {
        "lines": d["lines"],
        "documents": d["documents"],
        "bytes": d["bytes"],
        "invalid": {"count": d["invalid"]["count"], "offsets": [x["offset"] for x in d["invalid"]["lines"]]},
        "kv": {k: d["kv"].get(k) for k in ("pairs", "distinct", "top", "totals", "document_frequencies")},
        "emails": {k: d["emails"][k] for k in ("total", "distinct", "top", "domains_distinct", "domains")},
    }


# ---------------------------------------------------------------------------------------
# Corpora
# ---------------------------------------------------------------------------------------

WORDS = ["alpha", "Beta", "价格", "数量", "x²", "ｆｕｌｌ", "naïve", "key_1", "名字", "e\u0301"]
NAMES = ["Bob", "li", "K\u212aim", "ann.b+x", "\u0130x"]
DIGITS = ["7", "42", "١٢٣", "٣٤", "0042", "9" * 25, "１２"]


def make_line(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.04:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30))).replace(b"\n", b"")
    if kind < 0.06:
        return b""
    if kind < 0.07:
        return ("k " + "1" * 4400).encode()  # int() raises: invalid document
    parts = []
    for _ in range(rng.randrange(0, 8)):
        r = rng.random()
        if r < 0.5:
            parts.append(f"{rng.choice(WORDS)}{rng.choice(['', str(rng.randrange(5))])} {rng.choice(DIGITS)}")
        elif r < 0.75:
            parts.append(
                "Mail " + rng.choice(NAMES) + "@" + rng.choice(["Example.COM", "163.com", "a.b.org"])
            )
        else:
            parts.append(rng.choice(["中文没有空格的长句子", "hello world", "x\x1c5", "end."]))
    line = " ".join(parts)
    if rng.random() < 0.1:
        line += "\r"
    return line.encode()


def write_corpus(path, n, seed, final_newline=True):
    rng = random.Random(seed)
    data = b"\n".join(make_line(rng) for _ in range(n))
    if final_newline:
        data += b"\n"
    path.write_bytes(data)
    return data


def write_jsonl(path, n, seed, field="text"):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        r = rng.random()
        text = make_line(rng).decode("utf-8", "replace")
        if r < 0.05:
            out.append(b'{"id": 1, "body": "no text field"}')
        elif r < 0.08:
            out.append(b'{"text": "unterminated')
        elif r < 0.10:
            out.append(b'["not", "an", "object"]')
        elif r < 0.12:
            out.append(b'{"text": 12}')
        elif r < 0.13:
            out.append(b'{"text": "\\ud800 lone"}')
        elif r < 0.14:
            out.append(b'{"text": "a 1", "x": NaN}')
        else:
            out.append(
                json.dumps(
                    {"id": i, field: text, "meta": {"n": [1, 2.5, None]}}, ensure_ascii=rng.random() < 0.5
                ).encode()
            )
    path.write_bytes(b"\n".join(out) + b"\n")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    p = d / "corpus.txt"
    write_corpus(p, 4000, seed=1, final_newline=False)
    return p


@pytest.fixture(autouse=True)
def _threads_back():
    yield
    fk.set_threads(0)


# ---------------------------------------------------------------------------------------
# Equality with the reference
# ---------------------------------------------------------------------------------------


def test_plain_file_equals_reference(corpus):
    with fk.report(corpus, totals=True, progress=False) as r:
        assert comparable(r) == reference_report([corpus])
        assert r["complete"] is True and r["errors"] == []
        assert r["invalid"]["count"] > 0 and r["kv"]["distinct"] > 10


def test_several_files_and_top(tmp_path, corpus):
    other = tmp_path / "b.txt"
    write_corpus(other, 500, seed=2)
    with fk.report([corpus, str(other)], totals=True, top=3, progress=False) as r:
        assert comparable(r) == reference_report([corpus, other], top=3)
        assert len(r["kv"]["top"]) == 3


def test_json_lines_equal_reference(tmp_path):
    p = tmp_path / "docs.jsonl"
    write_jsonl(p, 1500, seed=3)
    with fk.report(p, text_field="text", totals=True, progress=False) as r:
        assert comparable(r) == reference_report([p], text_field="text")
        reasons = {
            x["reason"].split(":")[0] for x in fk.Report.from_json(r.to_json(full=True))["invalid"]["lines"]
        }
        assert reasons  # samples say why


def test_json_lines_reasons(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b'{"body": 1}\n{"text": "a 1\n[1]\n{"text": null}\n\xff\n{"text": "k 2"}\n')
    with fk.report(p, text_field="text", progress=False) as r:
        got = [(x["offset"], x["reason"]) for x in r["invalid"]["lines"]]
        assert r["documents"] == 1 and r["invalid"]["count"] == 5
        assert got[0] == (0, 'missing field "text"')
        assert got[1][1].startswith("invalid JSON")
        assert got[2][1] == "the line is a JSON array, not an object"
        assert got[3][1] == 'field "text" is null, not a string'
        assert got[4][1].startswith("invalid JSON")
        assert r["kv"]["top"] == [["k", 2]]


def test_feed_texts_equals_reference():
    rng = random.Random(5)
    texts = [make_line(rng).decode("utf-8", "replace") for _ in range(2000)]
    with fk.Report(totals=True) as r:
        r.feed_texts(texts[:700]).feed_texts(texts[700:])
        totals, emails = Counter(), Counter()
        invalid = 0
        for t in texts:
            try:
                kv, em = ref_extract(t)
            except ValueError:
                invalid += 1
                continue
            totals.update(kv)
            emails.update(em)
        assert r["invalid"]["count"] == invalid
        assert r["kv"]["totals"] == dict(sorted(totals.items()))
        assert r["emails"]["top"] == ranked(emails, 20)
        assert [x["index"] for x in r["invalid"]["lines"]] == [
            i for i, t in enumerate(texts) if "1" * 4400 in t
        ][:10]


def test_per_doc_output_equals_reference(tmp_path, corpus):
    out = tmp_path / "per_doc.jsonl"
    docs = []
    reference_report([corpus], docs=docs)
    fk.report(corpus, per_doc=out, progress=False, chunk_size=4096).close()
    got = [json.loads(line, parse_int=fk._report._parse_int) for line in out.read_text("utf-8").splitlines()]
    assert len(got) == len(docs)
    for g, want in zip(got, docs):
        if want is None:
            assert set(g) == {"invalid"}
        else:
            assert g == want
            assert list(g["kv"]) == list(want["kv"])  # first-seen key order


def test_named_patterns(tmp_path, corpus):
    pats = {
        "words": r"(\w+)@",
        "digits": (r"\d+", "count"),
        "ci": (fk.compile("mail", ignore_case=True), "findall"),
    }
    with fk.report(corpus, patterns=pats, progress=False) as r:
        lines = [ref_document(line, None, 1 << 30) for _, line, _ in ref_lines(corpus)]
        valid = []
        for t in lines:
            try:
                if t is not None:
                    ref_extract(t)
                    valid.append(t)
            except ValueError:
                pass
        words = Counter(w for t in valid for w in re.findall(r"(\w+)@", t))
        p = r["patterns"]
        assert p["words"] == {
            "mode": "findall",
            "total": sum(words.values()),
            "distinct": len(words),
            "top": ranked(words, 20),
        }
        assert p["digits"] == {"mode": "count", "total": sum(len(re.findall(r"\d+", t)) for t in valid)}
        assert p["ci"]["total"] == sum(len(re.findall("(?i)mail", t)) for t in valid)


# ---------------------------------------------------------------------------------------
# Determinism: threads, chunk sizes, byte-range splits, merge order, JSON round trip
# ---------------------------------------------------------------------------------------


def test_identical_for_any_threads_and_chunk_size(corpus):
    want = None
    for threads, chunk in [(1, 0), (2, 256), (4, 1000), (3, 77777)]:
        fk.set_threads(threads)
        with fk.report(corpus, chunk_size=chunk, totals=True, progress=False) as r:
            got = r.to_json(full=True)
        want = want or got
        assert got == want, (threads, chunk)


def test_byte_range_splits_merge_to_the_whole(corpus):
    size = corpus.stat().st_size
    with fk.report(corpus, progress=False) as whole:
        want = whole.to_json(full=True)
    data = corpus.read_bytes()
    rng = random.Random(7)
    newline_cuts = [i + 1 for i, b in enumerate(data) if b == 10][::97]
    for cuts in (
        [size // 2],
        sorted(rng.sample(range(1, size), 9)),  # mostly mid-line, some mid-character
        newline_cuts,  # exactly at line starts
        [1, 2, 3, size - 1],
    ):
        bounds = [0] + cuts + [size]
        merged = fk.Report()
        for s, e in zip(bounds, bounds[1:]):
            with fk.Report(chunk_size=512) as part:
                part.feed_file(corpus, range=(s, e))
                merged.merge(part)
        assert merged.to_json(full=True) == want, cuts
        merged.close()


def test_json_round_trip_and_merge_with_big_sums(tmp_path):
    p = tmp_path / "big.txt"
    p.write_text(f"k {'9' * 60}\nk {'9' * 60}\nj 1\n" * 3)
    with fk.report(p, progress=False) as r:
        full = r.to_json(full=True)
        assert r["kv"]["top"][0] == ["k", 6 * int("9" * 60)]
        back = fk.Report.from_json(full)
        assert back.to_json(full=True) == full
        back.merge(r)
        assert back["kv"]["top"][0] == ["k", 12 * int("9" * 60)]
        assert back["documents"] == 2 * r["documents"]
        back.close()
    with pytest.raises(ValueError, match="full report"):
        fk.Report.from_json(fk.Report().to_json())
    with pytest.raises(ValueError, match="not a loadable report"):
        fk.Report.from_json("{}")


def test_merge_refuses_different_configs():
    with fk.Report() as a, fk.Report(text_field="text") as b, fk.Report(top=3) as c:
        with pytest.raises(ValueError, match="text fields differ"):
            a.merge(b)
        a.merge(c)  # top only shapes the output
        with pytest.raises(ValueError, match="itself"):
            a.merge(a)


# ---------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------


def test_gzip_equals_plain_and_multi_member(tmp_path, corpus):
    data = corpus.read_bytes()
    gz = tmp_path / "c.txt.gz"
    half = len(data) // 2
    gz.write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))  # like `cat a.gz b.gz`
    with fk.report(corpus, totals=True, progress=False) as a, fk.report(gz, totals=True, progress=False) as b:
        assert comparable(a) == comparable(b)
    with fk.Report() as r, pytest.raises(ValueError, match="cannot be split"):
        r.feed_file(gz, range=(10, 100))


def test_truncated_gzip_is_an_error_with_offset(tmp_path, corpus):
    gz = gzip.compress(corpus.read_bytes())
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gz[: len(gz) * 2 // 3])
    with pytest.raises(fk.DataError, match=f"truncated gzip.*ends at byte {len(gz) * 2 // 3}"):
        fk.report(cut, progress=False)
    with fk.Report() as r:
        with pytest.raises(fk.DataError):
            r.feed_file(cut)
        assert r.complete is False and "truncated gzip" in r["errors"][0]
    bad = tmp_path / "corrupt.gz"
    bad.write_bytes(gz[:20] + bytes(200) + gz[220:])
    with pytest.raises(fk.DataError, match="gzip"):
        fk.report(bad, progress=False)


def bgzf(data: bytes, block: int = 0xFF00) -> bytes:
    """`data` as BGZF, as `bgzip` writes it: gzip members whose 'BC' extra subfield holds
    the member's size minus one, then the empty end-of-file member."""
    import struct
    import zlib

    out = []
    for part in [data[i : i + block] for i in range(0, len(data), block)] + [b""]:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        deflated = c.compress(part) + c.flush()
        out.append(struct.pack("<4BI2BH2BHH", 31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, len(deflated) + 25))
        out.append(deflated + struct.pack("<II", zlib.crc32(part), len(part)))
    return b"".join(out)


@pytest.mark.parametrize("threads", [1, 2])
def test_bgzf_report_is_byte_identical_to_plain(tmp_path, corpus, threads):
    # Members inflated in parallel (issue 8): the same report, byte for byte, with lines
    # cut by member boundaries everywhere (small blocks) and bgzip's own block size.
    data = corpus.read_bytes()
    fk.set_threads(threads)
    try:
        # The whole report JSON, the input's name in invalid-line samples aside.
        with fk.report(corpus, progress=False, totals=True) as a:
            want = a.to_json().replace(str(corpus), "INPUT")
        assert '"offset"' in want  # the corpus has invalid lines: their offsets count too
        for block in (0xFF00, 977):
            z = tmp_path / f"c{block}.bgz"
            z.write_bytes(bgzf(data, block))
            with fk.report(z, progress=False, totals=True) as b:
                assert b.to_json().replace(str(z), "INPUT") == want
    finally:
        fk.set_threads(0)


def test_truncated_or_corrupt_bgzf_is_an_error(tmp_path, corpus):
    z = bgzf(corpus.read_bytes(), 977)
    cut = tmp_path / "cut.bgz"
    cut.write_bytes(z[: len(z) // 2])
    with fk.Report() as r:
        with pytest.raises(fk.DataError, match="truncated gzip.*cut short"):
            r.feed_file(cut)
        assert r.complete is False and "truncated gzip" in r["errors"][0]
    bad = tmp_path / "bad.bgz"
    bad.write_bytes(z[:3000] + bytes([z[3000] ^ 0x55]) + z[3001:])
    with fk.Report() as r:
        with pytest.raises(fk.DataError, match="corrupt gzip.*BGZF member"):
            r.feed_file(bad)
        assert r.complete is False


def test_missing_and_unreadable_files(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError) as ei:
        fk.report(missing, progress=False)
    assert ei.value.filename == str(missing) and str(missing) in str(ei.value)
    with pytest.raises(OSError, match="directory"):
        fk.report(tmp_path, progress=False)
    if os.geteuid() != 0:
        locked = tmp_path / "locked.txt"
        locked.write_text("a 1\n")
        locked.chmod(0)
        with pytest.raises(PermissionError):
            fk.report(locked, progress=False)


def test_empty_file_and_empty_lines(tmp_path):
    e = tmp_path / "empty.txt"
    e.write_bytes(b"")
    with fk.report(e, progress=False) as r:
        assert (r["lines"], r["documents"], r["bytes"], r["invalid"]["count"]) == (0, 0, 0, 0)
        assert r["kv"]["top"] == [] and r["emails"]["total"] == 0
    n = tmp_path / "newlines.txt"
    n.write_bytes(b"\n\r\n\n")
    with fk.report(n, progress=False) as r:
        assert (r["lines"], r["documents"]) == (3, 3)


def test_binary_garbage_lines_are_counted_invalid(tmp_path):
    rng = random.Random(11)
    p = tmp_path / "garbage.bin"
    p.write_bytes(bytes(rng.randrange(256) for _ in range(50_000)))
    with fk.report(p, totals=True, progress=False) as r:
        assert comparable(r) == reference_report([p])
        assert r["invalid"]["count"] > 0
        assert r["lines"] == r["documents"] + r["invalid"]["count"]


def test_overlong_lines_are_invalid_not_held(tmp_path):
    p = tmp_path / "long.txt"
    p.write_bytes(b"a 1\n" + b"x" * 100_000 + b" 5\n" + b"b 2\n" + b"y" * 3000)
    for chunk in (256, 4096, 1 << 20):
        with fk.report(p, max_line_bytes=2048, chunk_size=chunk, totals=True, progress=False) as r:
            assert comparable(r) == reference_report([p], max_line=2048)
            assert (
                r["invalid"]["lines"][0]["reason"] == "line of 100002 bytes exceeds the limit of 2048 bytes"
            )


def test_file_that_shrinks_while_read_is_an_error(tmp_path):
    p = tmp_path / "shrinks.txt"
    write_corpus(p, 40_000, seed=4)

    def truncate(done, total):
        if p.stat().st_size > 1000:
            with open(p, "r+b") as f:
                f.truncate(1000)

    with fk.Report(chunk_size=4096) as r:
        with pytest.raises(OSError, match="shrank while being read"):
            r.feed_file(p, progress=truncate)
        assert not r.complete


def test_file_that_grows_while_read_reports_its_size_at_open(tmp_path):
    p = tmp_path / "grows.txt"
    write_corpus(p, 20_000, seed=6)
    want = reference_report([p])

    def append(done, total):
        with open(p, "ab") as f:
            f.write(b"late 1 late@x.org\n")

    with fk.Report(chunk_size=4096, totals=True) as r:
        r.feed_file(p, progress=append)
        assert comparable(r) == want


def test_progress_is_per_chunk_and_can_cancel(corpus):
    calls = []
    with fk.Report(chunk_size=4096) as r:
        r.feed_file(corpus, progress=lambda d, t: calls.append((d, t)))
        lines = r["lines"]
    size = corpus.stat().st_size
    assert 1 < len(calls) < lines and calls[-1] == (size, size)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    class Stop(Exception):
        pass

    def stop(d, t):
        raise Stop

    with fk.Report(chunk_size=4096) as r:
        with pytest.raises(Stop):
            r.feed_file(corpus, progress=stop)
        assert r.complete is False and "cancelled" in r["errors"][0]


def test_closed_report_and_bad_arguments(corpus):
    r = fk.Report()
    r.close()
    with pytest.raises(ValueError, match="closed"):
        r.feed_file(corpus)
    with pytest.raises(ValueError, match="extractor"):
        fk.Report(extractors=["urls"])
    with pytest.raises(ValueError, match="chunk size"):
        fk.Report(chunk_size=10)
    with pytest.raises(fk.PatternError):
        fk.Report(patterns={"bad": "a("})
    with fk.Report() as r2:
        r2.feed_texts(["a 1"])
        with pytest.raises(ValueError, match="before the first document"):
            r2.add_pattern("late", "x")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=40),
        max_size=30,
    )
)
def test_arbitrary_unicode_lines_equal_reference(tmp_path_factory, lines):
    p = tmp_path_factory.mktemp("hyp") / "h.txt"
    p.write_bytes("\n".join(lines).encode("utf-8"))
    with fk.report(p, totals=True, progress=False, chunk_size=256) as r:
        assert comparable(r) == reference_report([p])


def test_cli_report(tmp_path, corpus):
    import subprocess

    out, per_doc = tmp_path / "r.json", tmp_path / "d.jsonl"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    cmd = [
        sys.executable,
        "-m",
        "ferrokern",
        "report",
        str(corpus),
        "--top",
        "5",
        "-o",
        str(out),
        "--per-doc",
        str(per_doc),
        "--pattern",
        r"at=(\w+)@",
        "--totals",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "documents" in p.stderr and str(out) in p.stderr
    got = json.loads(out.read_text("utf-8"))
    want = reference_report([corpus], top=5)
    assert comparable(got) == want
    assert len(per_doc.read_text("utf-8").splitlines()) == want["lines"]
    p = subprocess.run(
        cmd[:4] + [str(tmp_path / "missing.txt"), "-o", str(tmp_path / "no.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert p.returncode == 1 and "missing.txt" in p.stderr and not (tmp_path / "no.json").exists()
