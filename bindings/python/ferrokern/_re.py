"""The rest of ``re`` on batches: ``search``/``match``/``fullmatch``/``finditer`` (Match
objects), ``sub``/``subn`` (Python replacement templates, parsed by the library) and
``split``, per text, with ``re``'s results."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, Literal, Union, overload

from ._native import Handle, ffi, lib

if TYPE_CHECKING:
    from ._arrow import Output
    from ._text import Texts, _Batch

__all__ = ["Match"]


class Match:
    """One match, like ``re.Match``: ``group()``, ``groups()``, ``groupdict()``, ``span()``,
    ``start()``, ``end()``, ``m[g]``; positions are ``str`` indices of ``string``. Groups are
    numbers or names (``(?P<name>...)``); one that did not take part is None, span (-1, -1).

    ``lastindex``, ``lastgroup`` and ``expand(template)`` are answered by Python's ``re``
    itself on this one text (the same match: checked span for span), because they depend on
    the order in which groups closed during matching, which the spans alone do not give
    (``((a))`` and ``(a)(b*)`` both end two groups at one place). They cost one ``re`` call
    each; everything else is read from the library's spans."""

    __slots__ = ("_mode", "_spans", "re", "string")

    #: Where the search began and ended (the whole text, as ``re`` without pos/endpos).
    pos = 0

    def __init__(self, pattern: Any, string: str, spans: Sequence[int], mode: int) -> None:
        self.re = pattern
        self.string = string
        self._spans = spans
        self._mode = mode

    def _re_match(self) -> re.Match[str]:
        """This match as Python's ``re`` finds it in ``string`` (search, match, fullmatch or
        the finditer match with the same span)."""
        r = self.re._python_re()
        found: re.Match[str] | None
        if self._mode == lib.FK_FINDITER:
            found = next((m for m in r.finditer(self.string) if m.span() == self.span()), None)
        else:
            method = {lib.FK_SEARCH: r.search, lib.FK_MATCH: r.match, lib.FK_FULLMATCH: r.fullmatch}
            found = method[self._mode](self.string)
        if found is None or found.regs != self.regs:  # a ferrokern bug, never a silent answer
            raise RuntimeError(
                f"internal error: Python's re matches {self.re.pattern!r} differently in "
                f"{self.string!r} ({found.regs if found else None} against {self.regs}); please report it"
            )
        return found

    @property
    def lastindex(self) -> int | None:
        """The number of the group that closed last, or None (as ``re.Match.lastindex``)."""
        return self._re_match().lastindex

    @property
    def lastgroup(self) -> str | None:
        """The name of the group that closed last, or None (as ``re.Match.lastgroup``)."""
        return self._re_match().lastgroup

    def expand(self, template: str) -> str:
        """``template`` with ``\\1``, ``\\g<name>`` and escapes substituted, as ``re.Match.expand``."""
        return self._re_match().expand(template)

    @property
    def endpos(self) -> int:
        return len(self.string)

    def _index(self, group: int | str) -> int:
        if isinstance(group, str):
            index = self.re.groupindex.get(group)
            if index is not None:
                return int(index)
        elif isinstance(group, int) and 0 <= group <= self.re.groups:
            return int(group)
        raise IndexError("no such group")

    def span(self, group: int | str = 0) -> tuple[int, int]:
        g = 2 * self._index(group)
        return self._spans[g], self._spans[g + 1]

    def start(self, group: int | str = 0) -> int:
        return self._spans[2 * self._index(group)]

    def end(self, group: int | str = 0) -> int:
        return self._spans[2 * self._index(group) + 1]

    def _get(self, index: int, default: Any = None) -> Any:
        a, b = self._spans[2 * index], self._spans[2 * index + 1]
        return default if a < 0 else self.string[a:b]

    def group(self, *groups: int | str) -> Any:
        if not groups:
            return self._get(0)
        if len(groups) == 1:
            return self._get(self._index(groups[0]))
        return tuple(self._get(self._index(g)) for g in groups)

    def __getitem__(self, group: int | str) -> Any:
        return self._get(self._index(group))

    def groups(self, default: Any = None) -> tuple[Any, ...]:
        return tuple(self._get(g, default) for g in range(1, self.re.groups + 1))

    def groupdict(self, default: Any = None) -> dict[str, Any]:
        return {name: self._get(g, default) for name, g in self.re.groupindex.items()}

    @property
    def regs(self) -> tuple[tuple[int, int], ...]:
        s = self._spans
        return tuple((s[i], s[i + 1]) for i in range(0, len(s), 2))

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<ferrokern.Match object; span={self.span()!r}, match={self.group()!r}>"


Repl = Union[str, Callable[..., Any]]


class _ReMethods:
    """Mixed into ``Pattern``: needs ``_h`` (the pattern handle) and ``groups``."""

    _h: Handle
    groups: int
    pattern: str
    _groupindex: dict[str, int] | None = None
    #: The ``re`` flags the pattern was compiled with (``Pattern.__init__`` sets them).
    _flags: int = 0

    def _python_re(self) -> re.Pattern[str]:
        """The same pattern compiled by Python's ``re`` (which accepts every pattern the
        library does; ``re`` caches it)."""
        return re.compile(self.pattern, self._flags)

    @property
    def flags(self) -> int:
        """The flags as ``re.Pattern.flags`` gives them: those passed, the pattern's inline
        ``(?i)``-style flags and ``re.UNICODE`` for a str pattern."""
        return self._python_re().flags

    @property
    def groupindex(self) -> dict[str, int]:
        """``{name: number}`` of the named groups, as ``re.Pattern.groupindex``."""
        if self._groupindex is None:
            out: dict[str, int] = {}
            name, size = ffi.new("const uint8_t**"), ffi.new("size_t*")
            for g in range(1, self.groups + 1):
                _check(self._h.call(lib.fk_pattern_group_name, g, name, size))
                if name[0] != ffi.NULL:
                    out[bytes(ffi.buffer(name[0], size[0])).decode("utf-8")] = g
            self._groupindex = out
        return dict(self._groupindex)

    def _spans(self, texts: Sequence[str], mode: int) -> list[list[Match]]:
        from ._text import _batches, _text_offsets

        result: list[list[Match]] = []
        base = 0
        for b in _batches(texts):
            out = ffi.new("FkSpans**")
            _check(self._h.call(lib.fk_search, b.ptr, mode, out))
            try:
                v = ffi.new("FkSpansView*")
                _check(lib.fk_spans_view(out[0], v))
                k = 2 * v.spans_per_match
                flat: list[int] = ffi.unpack(v.spans, v.n_matches * k) if v.n_matches else []
                to = _text_offsets(v.text_offsets, v.n_texts)
            finally:
                lib.fk_spans_free(out[0])
            for i in range(b.n):
                s = texts[base + i]
                result.append(
                    [Match(self, s, flat[j * k : (j + 1) * k], mode) for j in range(to[i], to[i + 1])]
                )
            base += b.n
        return result

    def search(self, texts: Sequence[str]) -> list[Match | None]:
        """``re.search`` per text: a `Match` (spans in ``str`` indices) or None."""
        return [m[0] if m else None for m in self._spans(_strs(texts), lib.FK_SEARCH)]

    def match(self, texts: Sequence[str]) -> list[Match | None]:
        """``re.match`` per text (a match at the start): a `Match` or None."""
        return [m[0] if m else None for m in self._spans(_strs(texts), lib.FK_MATCH)]

    def fullmatch(self, texts: Sequence[str]) -> list[Match | None]:
        """``re.fullmatch`` per text (a match of the whole text): a `Match` or None."""
        return [m[0] if m else None for m in self._spans(_strs(texts), lib.FK_FULLMATCH)]

    def finditer(self, texts: Sequence[str]) -> list[list[Match]]:
        """``list(re.finditer(...))`` per text: every match, Python 3.7+ empty-match rules."""
        return self._spans(_strs(texts), lib.FK_FINDITER)

    def _template(self, repl: Repl, count: int) -> tuple[bytes, int]:
        """`repl` and `count` checked, as the library takes them."""
        if callable(repl):
            raise TypeError(
                "a callable repl is not supported: ferrokern substitutes in native code; "
                "pass a template string (\\1, \\g<name>) or use re.sub for a function"
            )
        if not isinstance(repl, str):
            raise TypeError(f"repl must be str, not {type(repl).__name__}")
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"count must be an int, not {type(count).__name__}")
        return _encode(repl, "repl"), max(min(count, 2**63 - 1), -1)

    def _run_subn(self, b: _Batch, src: bytes, count: int) -> Any:
        out = ffi.new("FkSubs**")
        _check(self._h.call(lib.fk_subn, b.ptr, src, len(src), count, out))
        return out[0]

    def subn(self, repl: Repl, texts: Texts, count: int = 0) -> list[tuple[str, int] | None]:
        """``re.subn(pattern, repl, text, count)`` per text: (new text, replacements made).
        `repl` is a replacement template (``\\1``, ``\\g<name>``, ``\\g<0>``, ``\\n``, ...)
        with Python's meaning; its errors raise `PatternSyntaxError` where ``re`` raises
        ``re.error`` (or ``IndexError``, for an unknown group name). A callable is refused:
        the replacement runs in native code. A null text of an Arrow array gives None."""
        from . import _arrow
        from ._text import _batches

        src, c = self._template(repl, count)
        if _arrow.is_arrow(texts):
            result: list[tuple[str, int] | None] = _arrow.per_text(
                texts, "python", lambda b: self._run_subn(b, src, c), _subn_result, _no_arrow
            )
            return result
        result = []
        for b in _batches(texts):
            result += _subn_result(self._run_subn(b, src, c))
        return result

    @overload
    def sub(
        self, repl: Repl, texts: Texts, count: int = 0, output: Literal["python"] = "python"
    ) -> list[str | None]: ...
    @overload
    def sub(self, repl: Repl, texts: Texts, count: int = 0, *, output: Literal["arrow", "polars"]) -> Any: ...

    def sub(self, repl: Repl, texts: Texts, count: int = 0, output: Output = "python") -> Any:
        """``re.sub(pattern, repl, text, count)`` per text; see `subn`. ``output="arrow"`` /
        ``"polars"``: ``large_string``; a null text gives None / null."""
        from . import _arrow

        src, c = self._template(repl, count)
        if output != "python" or _arrow.is_arrow(texts):
            return _arrow.per_text(
                texts,
                output,
                lambda b: self._run_subn(b, src, c),
                lambda h: [None if r is None else r[0] for r in _subn_result(h)],
                lambda h, b, s, a: lib.fk_subs_to_arrow(h, b.ptr, s, a),
            )
        return [None if r is None else r[0] for r in self.subn(repl, texts, count)]

    @overload
    def split(
        self, texts: Texts, maxsplit: int = 0, output: Literal["python"] = "python"
    ) -> list[list[str | None] | None]: ...
    @overload
    def split(self, texts: Texts, maxsplit: int = 0, *, output: Literal["arrow", "polars"]) -> Any: ...

    def split(self, texts: Texts, maxsplit: int = 0, output: Output = "python") -> Any:
        """``re.split(pattern, text, maxsplit)`` per text: the pieces between matches and, for
        a pattern with groups, each separator's groups (None for one that did not take part).
        ``output="arrow"`` / ``"polars"``: ``large_list<large_string>`` with a null item for
        such a group; a null text (Arrow input) gives None / null."""
        from . import _arrow
        from ._text import _batches

        if isinstance(maxsplit, bool) or not isinstance(maxsplit, int):
            raise TypeError(f"maxsplit must be an int, not {type(maxsplit).__name__}")
        m = max(min(maxsplit, 2**63 - 1), -1)

        def run(b: _Batch) -> Any:
            out = ffi.new("FkSplit**")
            _check(self._h.call(lib.fk_split, b.ptr, m, out))
            return out[0]

        if output != "python" or _arrow.is_arrow(texts):
            return _arrow.per_text(
                texts, output, run, _split_result, lambda h, b, s, a: lib.fk_split_to_arrow(h, b.ptr, s, a)
            )
        result: list[list[str | None] | None] = []
        for b in _batches(texts):
            result += _split_result(run(b))
        return result


def _subn_result(h: Any) -> list[tuple[str, int] | None]:
    """The per-text (string, count) of an `FkSubs` handle, which it frees."""
    from ._text import _strings

    try:
        v = ffi.new("FkSubsView*")
        _check(lib.fk_subs_view(h, v))
        strings = _strings(v.data, v.data_len, v.offsets, v.n_texts)
        counts: list[int] = ffi.unpack(v.counts, v.n_texts) if v.n_texts else []
    finally:
        lib.fk_subs_free(h)
    return list(zip(strings, counts))


def _split_result(h: Any) -> list[list[str | None] | None]:
    """The per-text items of an `FkSplit` handle, which it frees."""
    from ._text import _strings, _text_offsets

    try:
        v = ffi.new("FkSplitView*")
        _check(lib.fk_split_view(h, v))
        items: list[str | None] = list(_strings(v.data, v.data_len, v.item_offsets, v.n_items))
        if v.n_items:
            none = bytes(ffi.buffer(v.is_none, v.n_items))
            k = none.find(1)
            while k >= 0:
                items[k] = None
                k = none.find(1, k + 1)
        to = _text_offsets(v.text_offsets, v.n_texts)
        n = int(v.n_texts)
    finally:
        lib.fk_split_free(h)
    return [items[to[i] : to[i + 1]] for i in range(n)]


def _no_arrow(h: Any, b: Any, schema: Any, array: Any) -> int:
    raise NotImplementedError("subn has no Arrow output: use sub(..., output='arrow')")


def _check(status: int) -> None:
    from ._native import check

    check(status)


def _encode(s: str, what: str) -> bytes:
    from ._native import InvalidTextError

    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidTextError(f"{what} contains a lone surrogate") from None


def _strs(texts: Any) -> Sequence[str]:
    """Match objects hold their text, so these methods take str objects, not Arrow arrays."""
    from . import _arrow
    from ._text import _arrow_legacy, _as_sequence

    if _arrow.is_arrow(texts) or _arrow_legacy(texts) is not None:
        raise TypeError(
            "search/match/fullmatch/finditer take a sequence of str (a Match holds its text): "
            "convert an Arrow array first, e.g. arr.to_pylist()"
        )
    return _as_sequence(texts)
