"""User patterns are Python's `re`, exactly, or refused.

Two differential checks against the running interpreter's `re`:

* a hypothesis fuzzer that writes patterns from Python's grammar (every construct of
  issue 14's table, lazy/possessive quantifiers, empty alternatives, anchors, Python-only
  set syntax, inline and compile flags) and texts over a tricky alphabet;
* every `re.findall` call with literal arguments in CPython's own `Lib/test/test_re.py`.

The rule in both: the result is identical to `re`'s, or the pattern is refused with
`PatternUnsupportedError` (or `PatternTooLargeError`); `re.error` must come back as
`PatternSyntaxError` (or a refusal), and `PatternSyntaxError` only where `re` raises.
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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ferrokern
from ferrokern import PatternSyntaxError, PatternTooLargeError, PatternUnsupportedError

EXAMPLES = int(os.environ.get("FERROKERN_FUZZ_EXAMPLES", "600"))

REFUSED = (PatternUnsupportedError, PatternTooLargeError)


def python(pattern: str, flags: int, text: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rx = re.compile(pattern, flags)
        except (re.error, OverflowError, ValueError) as e:
            return ("error", type(e).__name__)
    return rx.findall(text)


def ours(pattern: str, flags: int, text: str) -> Any:
    try:
        p = ferrokern.compile(pattern, flags)
    except REFUSED as e:
        return ("refused", str(e))
    except (PatternSyntaxError, ValueError) as e:
        return ("error", type(e).__name__)
    with p:
        got = p.findall([text])[0]
        count = p.count([text])[0]
    assert count == len(got), (pattern, text, got, count)
    return got


def check(pattern: str, flags: int, text: str) -> str:
    """'same' or 'refused'; an assertion error on any different answer."""
    exp = python(pattern, flags, text)
    got = ours(pattern, flags, text)
    if isinstance(got, tuple) and got[0] == "refused":
        return "refused"
    if isinstance(exp, tuple):
        assert isinstance(got, tuple) and got[0] == "error", (pattern, flags, text, exp, got)
        return "same"
    assert got == exp, (pattern, flags, text, exp, got)
    return "same"


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


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    prefix=st.sampled_from(FLAG_PREFIX),
    body=patterns(),
    flags=st.sampled_from(FLAGS),
    text=st.text(alphabet=ALPHABET, max_size=12),
)
def test_fuzz_same_as_re_or_refused(prefix: str, body: str, flags: int, text: str) -> None:
    check(prefix + body, flags, text)


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


def findall_cases() -> list[tuple[str, str, int]]:
    tree = ast.parse(_test_re_path().read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        f = node.func
        if f.attr != "findall" or not (isinstance(f.value, ast.Name) and f.value.id == "re"):
            continue
        args = node.args
        literal = all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args[:2])
        if len(args) < 2 or not literal:
            continue
        flags = 0
        extra = args[2:] + [k.value for k in node.keywords if k.arg == "flags"]
        if extra:
            v = _flags_value(extra[0])
            if v is None:
                continue
            flags = v
        pattern = args[0].value
        text = args[1].value
        assert isinstance(pattern, str) and isinstance(text, str)
        out.append((pattern, text, flags))
    return out


def test_cpython_test_re_findall_cases(capsys: pytest.CaptureFixture[str]) -> None:
    cases = findall_cases()
    assert len(cases) >= 20, f"only {len(cases)} literal findall cases found in test_re.py"
    counts = {"same": 0, "refused": 0}
    for pattern, text, flags in cases:
        counts[check(pattern, flags, text)] += 1
    with capsys.disabled():
        print(
            f"\nCPython test_re.py findall cases: {len(cases)}: {counts['same']} identical, "
            f"{counts['refused']} refused, 0 different"
        )
