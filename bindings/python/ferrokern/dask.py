"""Reports on a Dask cluster: files are split into byte ranges (Hadoop-style: each range
owns the lines that start in it), each range becomes a task that runs a native report on
a worker, and the partial reports (their compact binary state, `Report.to_bytes`) are
merged in input order as a tree: up to `MERGE_FAN_IN` states per merge task on the
workers, and the last level in the calling process (which needs the merged report anyway,
so the full state is never re-encoded, shipped and decoded once more), each state merged
there as soon as it arrives.

::

    from dask.distributed import Client
    import ferrokern
    client = Client("scheduler:8786")   # or Client() for a local cluster on this machine
    r = ferrokern.dask.report(["/shared/day1.jsonl", "/shared/day2.jsonl.gz"], text_field="text")

The result is identical to ``ferrokern.report(paths, ...)`` on one machine, whatever the
number of workers or the split size. Paths must name the same files on the client (which
reads their sizes and gzip magic bytes to plan the splits) and on every worker (shared or
replicated storage). Every worker needs ferrokern importable and its library loadable.
A gzip file cannot be split: it is one task.

``report`` uses the client given, else the current one (the last ``Client`` created); with
none it raises ValueError saying how to start one. It never starts a cluster by itself: a
cluster is a set of processes whose lifetime and size the caller should own."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, Optional, cast

from ._native import set_threads
from ._report import PathLike, PatternSpec, Report, _as_paths, _is_stream
from ._text import Pattern

__all__ = ["report", "plan"]

#: Default bytes per task: big enough that per-task overhead (a few ms, plus the partial
#: report's JSON) is small, small enough to spread a file over many workers.
DEFAULT_SPLIT_BYTES = 64 << 20

Split = tuple[str, int, Optional[int]]

#: States merged by one task. Each pairwise merge decoded both states and encoded (sorted)
#: the result again, so a pairwise tree re-encoded every key log2(splits) times; a wide
#: merge decodes each state once (issue 9: on 1.15 M distinct keys the pairwise tree
#: and the final state's round trip to the client were most of Dask's overhead).
MERGE_FAN_IN = 8


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def plan(paths: PathLike | Iterable[PathLike], split_bytes: int = DEFAULT_SPLIT_BYTES) -> list[Split]:
    """The tasks for `paths`: ``(path, start, end)`` byte ranges in input order, or
    ``(path, 0, None)`` for a whole file (gzip, or empty). Raises FileNotFoundError for a
    missing file before anything is submitted."""
    if not isinstance(split_bytes, int) or split_bytes <= 0:
        raise ValueError(f"split_bytes must be a positive int, got {split_bytes!r}")
    out: list[Split] = []
    for path in _as_paths(paths):
        if _is_stream(path):
            raise TypeError("ferrokern.dask.report reads files by path on the workers, not streams")
        p = os.fsdecode(os.fspath(cast(PathLike, path)))
        size = os.path.getsize(p)
        if size == 0 or _is_gzip(p):
            out.append((p, 0, None))
            continue
        for s in range(0, size, split_bytes):
            out.append((p, s, min(s + split_bytes, size)))
    return out


#: A pattern as it travels to a worker: (source, ignore_case, mode).
PortablePattern = tuple[str, bool, str]


def _portable_patterns(patterns: Mapping[str, PatternSpec] | None) -> dict[str, PortablePattern]:
    # Compiled patterns hold native handles; ship their source instead.
    out: dict[str, PortablePattern] = {}
    for name, spec in (patterns or {}).items():
        pat, mode = spec if isinstance(spec, tuple) else (spec, "findall")
        if isinstance(pat, Pattern):
            out[name] = (pat.pattern, pat.ignore_case, mode)
        else:
            out[name] = (pat, False, mode)
    return out


def _make_report(config: dict[str, Any]) -> Report:
    cfg = dict(config)
    pats = cfg.pop("patterns")
    r = Report(**cfg)
    for name, (src, ignore_case, mode) in pats.items():
        r.add_pattern(name, src, mode=mode, ignore_case=ignore_case)
    return r


def _run_split(split: Split, config: dict[str, Any], threads: int = 0) -> bytes:
    """On a worker: the binary state of one split's report (a fraction of the full JSON's
    size, and no JSON to parse at the merge: issue 9). `threads` > 0 sets the library's
    thread count in the worker process first."""
    if threads:
        set_threads(threads)
    path, start, end = split
    with _make_report(config) as r:
        r.feed_file(path, range=None if end is None else (start, end))
        return r.to_bytes()


def _merged(states: Iterable[bytes]) -> Report:
    """The report of partial states given in input order. The first is loaded, the others
    merged into it from their bytes (`Report.merge_bytes`: no second report is built, and
    past the memory budget their maps become spill runs as they are, neither hashed nor
    sorted again: issue 9)."""
    it = iter(states)
    r = Report.from_bytes(next(it))
    try:
        for s in it:
            r.merge_bytes(s)
    except BaseException:
        r.close()
        raise
    return r


def _merge(*states: bytes) -> bytes:
    """On a worker: merge partial reports given in input order."""
    with _merged(states) as r:
        return r.to_bytes()


def _current_client() -> Any:
    try:
        from dask.distributed import default_client
    except ImportError as e:
        raise ImportError(
            f"ferrokern.dask needs dask.distributed ({e}): pip install 'dask[distributed]'"
        ) from None
    try:
        return default_client()  # type: ignore[no-untyped-call]
    except ValueError:  # dask's "No clients found"
        raise ValueError(
            "ferrokern.dask.report needs a Dask client and none is running: pass client=..., or "
            "start one first, e.g. `from dask.distributed import Client; client = Client()` (a local "
            "cluster on this machine) or `client = Client('scheduler-host:8786')`"
        ) from None


def report(
    paths: PathLike | Iterable[PathLike],
    client: Any = None,
    *,
    extractors: Iterable[str] = ("emails", "kv"),
    patterns: Mapping[str, PatternSpec] | None = None,
    text_field: str | None = None,
    top: int = 20,
    totals: bool = False,
    max_line_bytes: int = 0,
    split_bytes: int = DEFAULT_SPLIT_BYTES,
    threads_per_task: int = 1,
) -> Report:
    """`ferrokern.report` on a Dask cluster (`client`: a ``dask.distributed.Client``; default:
    the current one). Returns the merged `Report` in this process. A failing split (missing
    file on a worker, truncated gzip, ...) raises its exception here: no partial result is
    returned as if it were complete. Without a client and with none running, raises
    ValueError saying how to start one; without dask installed, ImportError saying how to
    install it.

    `threads_per_task`: the library's thread count in the worker processes (0: leave it
    as it is). Dask already runs one task per worker thread, so the default of 1 keeps a
    worker from starting a second pool on cores its sibling tasks use (on the 2-core issue
    9 benchmark, two workers with two library threads each ran four pools' worth of threads
    on two cores)."""
    if not isinstance(threads_per_task, int) or threads_per_task < 0:
        raise ValueError(f"threads_per_task must be a non-negative int, got {threads_per_task!r}")
    client = client if client is not None else _current_client()
    config = {
        "extractors": list(extractors),
        "patterns": _portable_patterns(patterns),
        "text_field": text_field,
        "top": top,
        "totals": totals,
        "max_line_bytes": max_line_bytes,
    }
    splits = plan(paths, split_bytes)
    if not splits:
        return _make_report(config)
    futures = client.map(_run_split, splits, config=config, threads=threads_per_task, pure=False)
    # Merges of consecutive states in input order: associative, so the tree shape cannot
    # change the result. The last level runs here.
    while len(futures) > MERGE_FAN_IN:
        futures = [
            client.submit(_merge, *futures[i : i + MERGE_FAN_IN], pure=False)
            for i in range(0, len(futures), MERGE_FAN_IN)
        ]
    # Each state is fetched and merged as soon as it and those before it are done, so the
    # client merges while the workers still compute the later splits (in input order:
    # merging is associative but not commutative).
    return _merged(f.result() for f in futures)
