"""User patterns are Python's `re`, exactly, or refused.

Two differential checks against the running interpreter's `re`, each over findall, search,
match, fullmatch, finditer, sub, subn and split:

* a hypothesis fuzzer that writes patterns from Python's grammar (every construct of
  issue 14's table, lazy/possessive quantifiers, empty alternatives, anchors, Python-only
  set syntax, inline and compile flags) and texts over a tricky alphabet;
* every `re.findall`/`search`/`match`/`fullmatch`/`sub`/`subn`/`split` call with literal
  arguments in CPython's own `Lib/test/test_re.py`.

The rule in both: the result is identical to `re`'s, or the pattern is refused with
`PatternUnsupportedError` (or `PatternTooLargeError`); `re.error` must come back as
`PatternSyntaxError` (or a refusal), and `PatternSyntaxError` only where `re` raises; the
same for a replacement template (where `re` raises `re.error`, or `IndexError` for an
unknown group name).
`FERROKERN_FUZZ_EXAMPLES` sets the fuzzer's budget (default 600, a few seconds).
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ferrokern
from ferrokern import PatternSyntaxError, PatternTooLargeError, PatternUnsupportedError

EXAMPLES = int(os.environ.get("FERROKERN_FUZZ_EXAMPLES", "600"))

REFUSED = (PatternUnsupportedError, PatternTooLargeError)


class Failed:
    """A per-operation outcome that is not a result (never equal to one)."""

    def __init__(self, kind: str, detail: str) -> None:
        self.kind, self.detail = kind, detail

    def __repr__(self) -> str:
        return f"Failed({self.kind!r}, {self.detail!r})"


OPS = ("findall", "search", "match", "fullmatch", "finditer", "sub", "subn", "split")


def _m(m: Any) -> Any:
    return None if m is None else (m.regs, m.groupdict())


def python(pattern: str, flags: int, text: str, ops: Any = ("findall",), repl: str = "", n: int = 0) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rx = re.compile(pattern, flags)
        except (re.error, OverflowError, ValueError) as e:
            return ("error", type(e).__name__)
        out = {}
        for op in ops:
            try:
                if op == "findall":
                    out[op] = rx.findall(text)
                elif op in ("search", "match", "fullmatch"):
                    out[op] = _m(getattr(rx, op)(text))
                elif op == "finditer":
                    out[op] = [_m(m) for m in rx.finditer(text)]
                elif op in ("sub", "subn"):
                    out[op] = getattr(rx, op)(repl, text, count=n)
                else:
                    out[op] = rx.split(text, maxsplit=n)
            except (re.error, IndexError) as e:
                out[op] = Failed("error", type(e).__name__)
    return out


def ours(pattern: str, flags: int, text: str, ops: Any = ("findall",), repl: str = "", n: int = 0) -> Any:
    try:
        p = ferrokern.compile(pattern, flags)
    except REFUSED as e:
        return ("refused", str(e))
    except (PatternSyntaxError, ValueError) as e:
        return ("error", type(e).__name__)
    out: dict[str, Any] = {}
    with p:
        for op in ops:
            try:
                if op == "findall":
                    got = p.findall([text])[0]
                    count = p.count([text])[0]
                    assert count == len(got), (pattern, text, got, count)
                    out[op] = got
                elif op in ("search", "match", "fullmatch"):
                    out[op] = _m(getattr(p, op)([text])[0])
                elif op == "finditer":
                    out[op] = [_m(m) for m in p.finditer([text])[0]]
                elif op in ("sub", "subn"):
                    out[op] = getattr(p, op)(repl, [text], count=n)[0]
                else:
                    out[op] = p.split([text], maxsplit=n)[0]
            except PatternUnsupportedError as e:
                out[op] = Failed("refused", str(e))
            except PatternSyntaxError as e:
                out[op] = Failed("error", type(e).__name__)
    return out


def check(pattern: str, flags: int, text: str, ops: Any = ("findall",), repl: str = "", n: int = 0) -> str:
    """'same' or 'refused'; an assertion error on any different answer."""
    exp = python(pattern, flags, text, ops, repl, n)
    got = ours(pattern, flags, text, ops, repl, n)
    case = (pattern, flags, text, repl, n)
    if isinstance(got, tuple) and got[0] == "refused":
        return "refused"
    if isinstance(exp, tuple):
        assert isinstance(got, tuple) and got[0] == "error", (case, exp, got)
        return "same"
    assert isinstance(got, dict), (case, exp, got)
    refused = False
    for op in ops:
        e, g = exp[op], got[op]
        if isinstance(g, Failed) and g.kind == "refused":
            refused = True
            continue
        if isinstance(e, Failed):
            assert isinstance(g, Failed) and g.kind == "error", (op, case, e, g)
            continue
        assert g == e, (op, case, e, g)
    return "refused" if refused else "same"


# -- the issue's table, and the cases the README used to list as differences ---------------

TABLE = [
    (r"a*?", "aa"),
    (r"\b|\w+", "a::bc"),
    (r"a?+", "aab"),
    (r"[[:alpha:]]", "a:"),
    (r"a{2}{3}", "aaaaaa"),
    (r"a{,2}", "aaa"),
    (r"a{3", "a{3"),
    (r"(?x)a [ ] b", "a b"),
    (r"(?a)\w+", "héllo"),
    (r"(?#note)ab", "ab"),
    (r"\N{LATIN SMALL LETTER A}", "a"),
    (r"|a", "a"),
    (r"$", "a\n"),
    (r"\B", ""),
    (r"\b\w+\b", "x² e\u0301 ½"),
    (r"(?i)k", "kK\u212a"),
    (r"(?i)[^k]", "kK\u212as"),
    (r"(?i)ſ|s", "sSſ"),
    (r"[[]", "[a]"),
    (r"[]a]", "]a["),
    (r"\0\101\x41", "\x00AA"),
    (r"\Z|\A", "ab"),
]


@pytest.mark.parametrize(("pattern", "text"), TABLE)
def test_issue_table_is_exact(pattern: str, text: str) -> None:
    assert check(pattern, 0, text) == "same"


@pytest.mark.parametrize(
    "pattern",
    [r"(a)\1", r"a(?=b)", r"(?<=a)b", r"(?!a)", r"(a)?(?(1)a|b)", r"(a*)*", r"(?:a|)*", r"a*+a"],
)
def test_refusals_name_construct_and_position(pattern: str) -> None:
    with pytest.raises(PatternUnsupportedError, match="at position"):
        ferrokern.compile(pattern)


def test_syntax_errors_are_pattern_syntax_errors() -> None:
    for p in [r"a{2}{3}", r"(", r"[a", r"\q", r"a**", r"(?i", r"x(?i)", r"\N{NO SUCH NAME}"]:
        with pytest.raises(PatternSyntaxError):
            ferrokern.compile(p)
        with pytest.raises(re.error), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            re.compile(p)


# -- the fuzzer ------------------------------------------------------------------------

ALPHABET = "aAbB_1 \n:-é²K\u212aſsSİı٣{}[]\u0301x"

LITERALS = ["a", "b", "A", "x", "é", "K", "s", "ſ", "İ", "1", " ", ":", "-", r"\n", r"\.", r"\{", "_"]
ATOMS = LITERALS + [
    ".",
    r"\d",
    r"\D",
    r"\w",
    r"\W",
    r"\s",
    r"\S",
    "[ab]",
    "[^a]",
    "[a-c]",
    "[^a-zA-Z]",
    "[]a]",
    "[[]",
    "[[:alpha:]]",
    r"[\w-]",
    r"[\d\s]",
    "[k]",
    "[^K]",
    r"[\W_]",
    "[-a]",
    "[a-]",
    r"[\x41-\x5a]",
    r"[\u212a]",
    r"[ſ]",
    r"\x61",
    r"\141",
    r"\0",
    r"\N{LATIN SMALL LETTER A}",
    r"\N{KELVIN SIGN}",
    "{",
    "a{3",
    "{}",
    "(?#c)",
]
ANCHORS = ["^", "$", r"\A", r"\Z", r"\b", r"\B"]
QUANTS = ["*", "+", "?", "{2}", "{,2}", "{1,}", "{0,1}", "{1,3}", "{0}"]
SUFFIXES = ["", "", "?", "+"]
GROUPS = [
    "({})",
    "(?:{})",
    "(?P<g{n}>{})",
    "(?i:{})",
    "(?-i:{})",
    "(?a:{})",
    "(?s:{})",
    "(?m:{})",
    "(?x:{})",
    "(?>{})",
    "(?={})",
    "(?!{})",
    "(?<={})",
]
FLAG_PREFIX = ["", "", "", "(?i)", "(?m)", "(?s)", "(?x)", "(?a)", "(?im)", "(?ix)"]
FLAGS = [0, 0, 0, re.I, re.M, re.S, re.X, re.A, re.I | re.A, re.I | re.M]


@st.composite
def patterns(draw: Any, depth: int = 0) -> str:
    n = draw(st.integers(1, 3))
    alts = []
    for _ in range(draw(st.integers(1, 2))):
        seq = []
        for _ in range(n):
            kind = draw(st.integers(0, 9 if depth < 2 else 6))
            if kind <= 4:
                atom = draw(st.sampled_from(ATOMS))
            elif kind == 5:
                atom = draw(st.sampled_from(ANCHORS))
            elif kind == 6:
                atom = draw(st.sampled_from([r"\1", "", "|", " ", "#c\n"]))
            else:
                inner = draw(patterns(depth + 1))
                atom = draw(st.sampled_from(GROUPS)).replace("{n}", str(len(seq))).replace("{}", inner, 1)
            if draw(st.booleans()):
                atom += draw(st.sampled_from(QUANTS)) + draw(st.sampled_from(SUFFIXES))
            seq.append(atom)
        alts.append("".join(seq))
    return "|".join(alts)


#: Pieces of replacement templates: group references (valid or not for the pattern),
#: escapes, octal, and what `re` rejects.
REPL_PIECES = [
    "x",
    "é",
    "-",
    r"\1",
    r"\2",
    r"\10",
    r"\g<0>",
    r"\g<1>",
    r"\g<g0>",
    r"\g<g1>",
    r"\g<nope>",
    r"\n",
    r"\t",
    r"\\",
    r"\-",
    r"\q",
    r"\x41",
    r"\0",
    r"\01",
    r"\101",
    r"\400",
    r"\g<",
    r"\g<>",
    r"\g<1",
    r"\g<+1>",
    r"\g<-1>",
    r"\g<a-b>",
    "\\",
]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    prefix=st.sampled_from(FLAG_PREFIX),
    body=patterns(),
    flags=st.sampled_from(FLAGS),
    text=st.text(alphabet=ALPHABET, max_size=12),
    repl=st.lists(st.sampled_from(REPL_PIECES), max_size=3).map("".join),
    n=st.sampled_from([0, 0, 1, 2, -1]),
)
# Found by the fuzzer in CI: a named group repeated {0} times is gone from the lowered
# pattern, but `re` still lists its name (groupdict, groupindex, \g<name>).
@example(prefix="", body="(?P<g0>a){0}", flags=0, text="", repl="", n=0)
@example(prefix="", body="(?P<g0>a){0}(?P<g1>b)", flags=0, text="ab", repl=r"[\g<g0>\g<g1>]", n=0)
def test_fuzz_same_as_re_or_refused(prefix: str, body: str, flags: int, text: str, repl: str, n: int) -> None:
    check(prefix + body, flags, text, OPS, repl, n)


# -- CPython's own test cases --------------------------------------------------------------


def _test_re_path() -> Path:
    import sysconfig

    path = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_re.py"
    if not path.exists():
        pytest.fail(
            f"{path} is missing: install the interpreter's test suite "
            "(Debian: libpython3.X-testsuite; .ci/run does this)"
        )
    return path


_FLAG_NAMES = {
    n: getattr(re, n)
    for n in (
        "I",
        "M",
        "S",
        "X",
        "A",
        "U",
        "IGNORECASE",
        "MULTILINE",
        "DOTALL",
        "VERBOSE",
        "ASCII",
        "UNICODE",
    )
}


def _flags_value(node: ast.expr) -> int | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "re":
        return int(_FLAG_NAMES[node.attr]) if node.attr in _FLAG_NAMES else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        a, b = _flags_value(node.left), _flags_value(node.right)
        return None if a is None or b is None else a | b
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    return None


#: The module functions checked, and where their arguments sit: (text index, repl index,
#: count/maxsplit keyword); the pattern is always first and flags come after them all.
_FUNCS = {
    "findall": (1, None, None),
    "search": (1, None, None),
    "match": (1, None, None),
    "fullmatch": (1, None, None),
    "sub": (2, 1, "count"),
    "subn": (2, 1, "count"),
    "split": (1, None, "maxsplit"),
}


def _str(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def re_cases() -> list[tuple[str, str, str, int, str, int]]:
    """(function, pattern, text, flags, repl, count/maxsplit) of every call
    ``re.<function>(...)`` in test_re.py whose arguments are all literals (str patterns)."""
    tree = ast.parse(_test_re_path().read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        f = node.func
        if f.attr not in _FUNCS or not (isinstance(f.value, ast.Name) and f.value.id == "re"):
            continue
        text_at, repl_at, n_name = _FUNCS[f.attr]
        args = list(node.args)
        kw = {k.arg: k.value for k in node.keywords}
        if None in kw or len(args) <= text_at:
            continue
        pattern, text = _str(args[0]), _str(args[text_at])
        repl = _str(args[repl_at]) if repl_at is not None else ""
        if pattern is None or text is None or repl is None:
            continue
        rest = args[text_at + 1 :]
        n_node = rest.pop(0) if n_name and rest else kw.pop(n_name, None) if n_name else None
        flags_node = rest.pop(0) if rest else kw.pop("flags", None)
        if rest or set(kw) - {"flags", "count", "maxsplit"}:
            continue
        n = 0
        if n_node is not None:
            if not (isinstance(n_node, ast.Constant) and isinstance(n_node.value, int)):
                continue
            n = n_node.value
        flags = 0
        if flags_node is not None:
            v = _flags_value(flags_node)
            if v is None:
                continue
            flags = v
        out.append((f.attr, pattern, text, flags, repl, n))
    return out


def test_cpython_test_re_cases(capsys: pytest.CaptureFixture[str]) -> None:
    cases = re_cases()
    per: dict[str, dict[str, int]] = {}
    for func, pattern, text, flags, repl, n in cases:
        counts = per.setdefault(func, {"same": 0, "refused": 0})
        # check() asserts on any different answer, so "different" is 0 when this returns.
        counts[check(pattern, flags, text, (func,), repl, n)] += 1
    assert per.get("findall", {}).get("same", 0) >= 20, per
    for func in ("search", "match", "fullmatch", "sub", "subn", "split"):
        assert sum(per.get(func, {}).values()) >= 5, f"few literal re.{func} cases found: {per}"
    with capsys.disabled():
        print(f"\nCPython test_re.py literal cases: {len(cases)}")
        for func, c in sorted(per.items()):
            print(
                f"  re.{func}: {sum(c.values())}: {c['same']} identical, {c['refused']} refused, 0 different"
            )


# -- the Match object and the API around it ---------------------------------------------------


def test_match_object_mirrors_re_match() -> None:
    pattern, text = r"(?P<key>\w+)=(?P<val>\d+)?(x)?", "été=12 b="
    exp = re.search(pattern, text)
    assert exp is not None
    with ferrokern.compile(pattern) as p:
        assert p.groupindex == {"key": 1, "val": 2}
        m = p.search([text, "-"])
        assert m[1] is None
        got = m[0]
        assert got is not None
        assert got.group() == exp.group() and got[0] == exp[0]
        assert got.group("key", 2, 3) == exp.group("key", 2, 3)
        assert got["val"] == exp["val"]
        assert got.groups() == exp.groups() and got.groups("-") == exp.groups("-")
        assert got.groupdict() == exp.groupdict() and got.groupdict(0) == exp.groupdict(0)
        for g in (0, 1, 2, 3, "key", "val"):
            assert got.span(g) == exp.span(g)
            assert (got.start(g), got.end(g)) == (exp.start(g), exp.end(g))
        assert got.regs == exp.regs and got.string == text and got.pos == 0 and got.endpos == len(text)
        assert repr(got) == "<ferrokern.Match object; span=(0, 6), match='été=12'>"
        for bad in (4, -1, "nope"):
            with pytest.raises(IndexError, match="no such group"):
                got.group(bad)
        [it] = p.finditer(["a=1 b=2"])
        assert [x.span() for x in it] == [x.span() for x in re.finditer(pattern, "a=1 b=2")]
        assert p.match(["=1"]) == [None] and p.fullmatch(["a=1x"])[0] is not None


@pytest.mark.parametrize(
    ("pattern", "flags", "texts"),
    [
        (r"((a))", 0, ["xaa", ""]),  # nested groups closing at one place: the outer is last
        (r"(a)(b*)", 0, ["a ab abb"]),  # sequential groups ending together: the later one
        (r"(?P<x>a)|(?P<y>b)|c", 0, ["abc"]),  # alternatives, one without a group
        (r"(?P<w>\w)*", 0, ["ab cd", ""]),  # repeated group, empty matches between
        (r"x*", 0, ["axxb"]),  # no group at all
        (r"(?i)(?P<k>\w+)=(\d+)", 0, ["K=1 é=٣"]),
        (r"^(\w+)$", re.MULTILINE | re.ASCII, ["ab\ncd\né"]),
    ],
)
def test_lastindex_lastgroup_expand_and_flags_as_re(pattern: str, flags: int, texts: list[str]) -> None:
    p = ferrokern.compile(pattern, flags)
    r = re.compile(pattern, flags)
    assert p.flags == r.flags
    template = "<" + "".join(f"\\{g}" for g in range(p.groups + 1)) + r"\n\g<0>>"
    for t in texts:
        want = list(r.finditer(t))
        got = p.finditer([t])[0]
        assert [m.regs for m in got] == [m.regs for m in want]
        for g, w in zip(got, want):
            assert (g.lastindex, g.lastgroup, g.expand(template)) == (
                w.lastindex,
                w.lastgroup,
                w.expand(template),
            )
        for name in ("search", "match", "fullmatch"):
            g1, w1 = getattr(p, name)([t])[0], getattr(r, name)(t)
            assert (g1 is None) == (w1 is None)
            if g1 is not None and w1 is not None:
                assert (g1.lastindex, g1.lastgroup, g1.expand(template)) == (
                    w1.lastindex,
                    w1.lastgroup,
                    w1.expand(template),
                )
    assert ferrokern.compile("a", ignore_case=True).flags == re.compile("a", re.I).flags


def test_expand_errors_as_re() -> None:
    [m] = ferrokern.compile(r"(a)").search(["a"])
    assert m is not None
    with pytest.raises(re.error, match="invalid group reference 2"):
        m.expand(r"\2")


def test_sub_split_argument_errors() -> None:
    with ferrokern.compile(r"(a)") as p:
        with pytest.raises(TypeError, match="callable repl is not supported"):
            p.sub(lambda m: "x", ["a"])
        with pytest.raises(TypeError, match="repl must be str"):
            p.sub(b"x", ["a"])  # type: ignore[arg-type]
        with pytest.raises(PatternSyntaxError, match="invalid group reference 2"):
            p.sub(r"\2", ["a"])
        with pytest.raises(PatternSyntaxError, match="unknown group name 'x'"):
            p.subn(r"\g<x>", [])
        with pytest.raises(TypeError, match="a sequence of str"):
            p.search("abc")
        assert p.subn(r"[\1]", ["banana", ""], count=2) == [("b[a]n[a]na", 2), ("", 0)]
        assert p.split(["banana"], maxsplit=2) == [re.split("(a)", "banana", maxsplit=2)]
        assert p.sub("-", ["a" * 10] * 3, count=-1) == ["a" * 10] * 3
