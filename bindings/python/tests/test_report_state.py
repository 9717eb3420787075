"""The report's binary state (issue 9): Report.to_bytes / from_bytes round trip to the same
full JSON, merge across processes and byte ranges, and refuse every corrupt or truncated
state (never a smaller report)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_report import write_corpus

import ferrokern as fk


def test_round_trip_equals_full_json(tmp_path):
    p = tmp_path / "a.txt"
    write_corpus(p, 3000, seed=5)
    pats = {"at": (r"(\w+)@", "findall"), "n": (r"\d", "count")}
    with fk.report(p, patterns=pats, progress=False) as r:
        want = r.to_json(full=True)
        state = r.to_bytes()
    assert len(state) < len(want) / 2
    with fk.Report.from_bytes(state) as back:
        assert back.to_json(full=True) == want
        assert back.to_bytes() == state


def _range_state(path: str, start: int, end: int) -> bytes:
    code = (
        "import sys, ferrokern as fk\n"
        f"r = fk.Report(); r.feed_file({path!r}, range=({start}, {end}))\n"
        "sys.stdout.buffer.write(r.to_bytes())\n"
    )
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True).stdout


def test_states_from_other_processes_merge_to_the_whole(tmp_path):
    p = tmp_path / "a.txt"
    write_corpus(p, 2000, seed=9)
    size = p.stat().st_size
    with fk.report(p, progress=False) as whole:
        want = whole.to_json(full=True)
    cuts = [0, size // 3, size // 3 + 1, 2 * size // 3, size]
    merged = fk.Report()
    for a, b in zip(cuts, cuts[1:]):
        with fk.Report.from_bytes(_range_state(str(p), a, b)) as part:
            merged.merge(part)
    assert merged.to_json(full=True) == want


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    p = tmp_path_factory.mktemp("state") / "a.txt"
    write_corpus(p, 300, seed=3)
    with fk.report(p, progress=False) as r:
        return r.to_bytes()


def test_every_truncation_is_an_error(state):
    for n in list(range(0, 64)) + list(range(64, len(state), 131)):
        with pytest.raises(ValueError, match="not a valid report state"):
            fk.Report.from_bytes(state[:n])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_corrupt_state_is_an_error(state, data):
    i = data.draw(st.integers(0, len(state) - 1))
    bit = data.draw(st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128]))
    bad = bytearray(state)
    bad[i] ^= bit
    with pytest.raises(ValueError, match="not a valid report state"):
        fk.Report.from_bytes(bytes(bad))


def test_merge_bytes_equals_merging_loaded_reports(tmp_path):
    # merge_bytes decodes into the report while it fits the memory budget and keeps a
    # state's maps as spill runs past it; both must equal from_bytes + merge.
    p = tmp_path / "a.txt"
    write_corpus(p, 2000, seed=11)
    size = p.stat().st_size
    with fk.report(p, progress=False, memory_budget=0) as whole:
        want = whole.to_json(full=True)
    cuts = [0, size // 4, size // 2 + 3, size]
    states = [_range_state(str(p), a, b) for a, b in zip(cuts, cuts[1:])]
    for budget in (0, 1):
        with fk.Report(memory_budget=budget) as m:
            for s in states:
                assert m.merge_bytes(s) is m
            assert m.to_json(full=True) == want
            assert (m.spilled_bytes > 0) == (budget == 1)


def test_merge_bytes_refuses_a_corrupt_state_and_changes_nothing(state):
    with fk.Report.from_bytes(state) as r:
        before = r.to_json(full=True)
        bad = bytearray(state)
        bad[len(state) // 2] ^= 4
        with pytest.raises(ValueError, match="not a valid report state"):
            r.merge_bytes(bytes(bad))
        with pytest.raises(ValueError, match="not a valid report state"):
            r.merge_bytes(state[:-1])
        with pytest.raises(TypeError):
            r.merge_bytes("text")  # type: ignore[arg-type]
        assert r.to_json(full=True) == before


def test_from_bytes_wants_bytes():
    with pytest.raises(TypeError):
        fk.Report.from_bytes("text")  # type: ignore[arg-type]
