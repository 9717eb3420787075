"""Command line: ``python -m ferrokern COMMAND ...``.

Each subcommand is one ``add_<name>_command(subparsers)`` function that declares its
arguments and sets ``func`` to the function that runs it (returning the exit status).
To add a subcommand, write such a function and append it to `COMMANDS`."""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from typing import Any, Callable

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _size_arg(text: str) -> int:
    """A byte size for --memory-budget: 1000, 64K, 200M, 2G (powers of 1024), or none (0: no limit)."""
    t = text.strip().lower()
    if t in ("none", "unlimited", "inf"):
        return 0
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    m = 1
    if t and t[-1] in "kmgt":
        m, t = mult[t[-1]], t[:-1]
    elif t.endswith(("kb", "mb", "gb", "tb")):
        m, t = mult[t[-2]], t[:-2]
    try:
        n = int(t) * m
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 200M, 2G, none)") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"the memory budget must be positive (or 'none'), got {text!r}")
    return n


def _pattern_arg(text: str) -> tuple[str, str]:
    name, sep, regex = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=REGEX, got {text!r}")
    return name, regex


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------


def add_report_command(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="stream files through the extractors into a JSON report",
        description="Run the extractors over every line of every FILE (one document per line, or JSON lines "
        "with --jsonl-field; gzip is detected by its magic bytes; Parquet and Arrow IPC files one document "
        "per row of --column) and write a JSON report.",
    )
    p.add_argument(
        "files",
        metavar="FILE",
        nargs="+",
        help="input files, read in this order; '-' reads standard input (a pipe too); a glob pattern "
        "(*, ?, [...], ** for subdirectories) is expanded, in sorted order, for shells that do not",
    )
    p.add_argument("--jsonl-field", metavar="NAME", help="read JSON lines; the document is this string field")
    p.add_argument(
        "--column",
        metavar="NAME",
        help="Parquet / Arrow IPC inputs (detected by their magic bytes; needs pyarrow): one document per "
        "row of this string column (default: the only string column); a null row is an invalid document",
    )
    p.add_argument("--top", type=int, default=20, metavar="N", help="entries in each top list (default 20)")
    p.add_argument(
        "-o",
        "--output",
        default="report.json",
        metavar="PATH",
        help="where to write the JSON report (default report.json; '-' for stdout)",
    )
    p.add_argument("--per-doc", metavar="PATH", help="also write one JSON line per document, in input order")
    p.add_argument(
        "--extractors",
        default="emails,kv",
        metavar="LIST",
        help="built-in extractors, comma-separated: emails,kv (default both; '' for none)",
    )
    p.add_argument(
        "--pattern",
        action="append",
        default=[],
        type=_pattern_arg,
        metavar="NAME=REGEX",
        help="a named pattern whose distinct matches are counted (repeatable)",
    )
    p.add_argument(
        "--count-pattern",
        action="append",
        default=[],
        type=_pattern_arg,
        metavar="NAME=REGEX",
        help="a named pattern whose matches are only counted (repeatable)",
    )
    p.add_argument("--totals", action="store_true", help="list every key's total and document frequency")
    p.add_argument(
        "--full", action="store_true", help="write the full state (mergeable, loadable with Report.from_json)"
    )
    p.add_argument("--threads", type=int, default=0, metavar="N", help="worker threads (default: all cores)")
    p.add_argument(
        "--max-line-bytes",
        type=int,
        default=0,
        metavar="N",
        help="longer lines are counted invalid (default 64 MiB)",
    )
    p.add_argument(
        "--memory-budget",
        type=_size_arg,
        default=None,
        metavar="SIZE",
        help="memory to stay under, e.g. 200M, 2G, or 'none' for no limit; past it the per-key state "
        "spills (exactly) to --spill-dir (default 200M: peak RSS under 300 MB)",
    )
    p.add_argument(
        "--spill-dir", default=None, metavar="DIR", help="where spill files go (default: $TMPDIR, else /tmp)"
    )
    bar = p.add_mutually_exclusive_group()
    bar.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="always show progress on stderr: a line every few seconds when it is not a terminal "
        "(default: only on a terminal)",
    )
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    p.set_defaults(func=run_report)


def _expand_inputs(names: list[str]) -> list[Any]:
    """The report's inputs: '-' is standard input, a glob pattern the files it matches
    (sorted; recursive with **), anything else a path. Raises ValueError naming a pattern
    that matches nothing, or a second '-'."""
    out: list[Any] = []
    for name in names:
        if name == "-":
            if any(x is sys.stdin.buffer for x in out):
                raise ValueError("'-' (standard input) is given more than once")
            out.append(sys.stdin.buffer)
        elif glob.has_magic(name) and not os.path.lexists(name):
            matches = sorted(glob.glob(name, recursive=True))
            if not matches:
                raise ValueError(f"no file matches {name!r}")
            out.extend(matches)
        else:
            out.append(name)
    return out


def run_report(args: argparse.Namespace) -> int:
    import ferrokern as fk
    from ferrokern._report import _summary

    try:
        inputs = _expand_inputs(args.files)
    except ValueError as e:
        print(f"ferrokern report: error: {e}\nno report written", file=sys.stderr)
        return EXIT_ERROR
    extractors = [e for e in args.extractors.split(",") if e]
    patterns: dict[str, fk._report.PatternSpec] = {}
    specs = [(n, r, "findall") for n, r in args.pattern] + [(n, r, "count") for n, r in args.count_pattern]
    for name, regex, mode in specs:
        if name in patterns:
            # A dict keeps only the last: a silent loss of the first pattern's counts.
            print(
                f"ferrokern report: error: the pattern name {name!r} is given twice "
                "(--pattern/--count-pattern names must be unique)\nno report written",
                file=sys.stderr,
            )
            return EXIT_USAGE
        patterns[name] = (regex, mode)
    try:
        # Before anything is created: an output that is an input would destroy it.
        fk._report.check_outputs(inputs, [None if args.output == "-" else args.output, args.per_doc])
    except ValueError as e:
        print(f"ferrokern report: error: {e}\nno report written", file=sys.stderr)
        return EXIT_ERROR
    if args.threads:
        fk.set_threads(args.threads)
    t0 = time.perf_counter()
    try:
        r = fk.report(
            inputs,
            extractors=extractors,
            patterns=patterns,
            text_field=args.jsonl_field,
            column=args.column,
            top=args.top,
            totals=args.totals,
            progress=args.progress,
            per_doc=args.per_doc,
            max_line_bytes=args.max_line_bytes,
            memory_budget=args.memory_budget,
            spill_dir=args.spill_dir,
        )
    except KeyboardInterrupt:
        print("ferrokern report: interrupted; no report written", file=sys.stderr)
        return 130
    except (OSError, ValueError) as e:
        # A missing file, truncated gzip, ...: the report would not cover its input, so
        # none is written.
        print(f"ferrokern report: error: {e}\nno report written", file=sys.stderr)
        return EXIT_ERROR
    seconds = time.perf_counter() - t0
    with r:
        try:
            if args.output == "-":
                sys.stdout.write(r.to_json(full=args.full, indent=True) + "\n")
                sys.stdout.flush()
            else:
                r.write_json(args.output, full=args.full, indent=True)
        except OSError as e:
            print(f"ferrokern report: error: {e}", file=sys.stderr)
            return EXIT_ERROR
        output = None if args.output == "-" else args.output
        print(_summary(r, seconds, len(inputs), output, args.per_doc), file=sys.stderr)
    return EXIT_OK


# ---------------------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------------------


def add_demo_command(sub: Any) -> None:
    from . import demo

    p = sub.add_parser(
        "demo",
        help="the main job on built-in sample data (what `make demo` runs)",
        description=demo.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_arguments(p)
    p.set_defaults(func=demo.run)


# ---------------------------------------------------------------------------------------
# edges
# ---------------------------------------------------------------------------------------


def add_edges_command(sub: Any) -> None:
    p = sub.add_parser(
        "edges",
        help="Sobel edge magnitude of an image, written as a PNG (needs Pillow)",
        description="Grayscale + Sobel in one fused pass (ferrokern.edges); the magnitude is "
        "scaled to 0..255 (or written raw as 16-bit with --raw).",
    )
    p.add_argument("image", help="input image (any format Pillow reads; grayscale, RGB or RGBA)")
    p.add_argument("-o", "--output", required=True, help="output PNG")
    p.add_argument("--border", default="zero", choices=["zero", "replicate", "reflect101", "reflect"])
    p.add_argument("--raw", action="store_true", help="write the magnitude clipped to 0..65535 as 16-bit PNG")
    p.set_defaults(func=run_edges)


def run_edges(args: argparse.Namespace) -> int:
    try:
        import numpy as np
        from PIL import Image
    except ImportError as e:
        print(f"ferrokern edges: needs numpy and Pillow ({e})", file=sys.stderr)
        return EXIT_ERROR
    import ferrokern as fk

    try:
        with Image.open(args.image) as im:
            mode = im.mode
            if mode in ("L", "I;16", "I", "F"):
                a = np.asarray(im.convert("F") if mode in ("I", "F") else im)
                kind = "grayscale"
            else:
                a = np.asarray(im.convert("RGBA" if "A" in mode else "RGB"))
                kind = "RGB" if a.shape[2] == 3 else "RGBA"
    except OSError as e:
        print(f"ferrokern edges: cannot read {args.image}: {e}", file=sys.stderr)
        return EXIT_ERROR
    t0 = time.perf_counter()
    mag = fk.sobel(a, border=args.border) if a.ndim == 2 else fk.edges(a, border=args.border)
    seconds = time.perf_counter() - t0
    if args.raw:
        img = Image.fromarray(np.clip(mag, 0, 65535).astype(np.uint16))
    else:
        peak = float(np.nanmax(mag)) if mag.size else 0.0
        img = Image.fromarray(
            np.clip(np.nan_to_num(mag) * (255.0 / peak if peak > 0 else 0.0), 0, 255).astype(np.uint8)
        )
    try:
        img.save(args.output, format="PNG")
    except (OSError, ValueError) as e:
        print(f"ferrokern edges: cannot write {args.output}: {e}", file=sys.stderr)
        return EXIT_ERROR
    h, w = mag.shape
    print(
        f"ferrokern edges: {args.image} ({w}x{h} {kind}) -> {args.output} in {seconds * 1e3:.1f} ms",
        file=sys.stderr,
    )
    return EXIT_OK


# ---------------------------------------------------------------------------------------

#: Every subcommand's `add_<name>_command`, in the order `--help` lists them.
COMMANDS: list[Callable[[Any], None]] = [add_report_command, add_edges_command, add_demo_command]


class _VersionAction(argparse.Action):
    """--version: the package's and the native library's versions (which can differ when
    FERROKERN_LIBRARY points elsewhere). Imports ferrokern only when asked."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(
            option_strings, dest, nargs=0, help="print the package and library versions and exit"
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        import ferrokern as fk

        print(f"ferrokern {fk.__version__} (library {fk.library_version}, {fk.library_path()})")
        parser.exit()


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    if prog is None:
        # `python -m ferrokern` or the `ferrokern` console script, as it was called.
        called = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        prog = "python -m ferrokern" if called in ("", "__main__.py", "-c") else called
    parser = argparse.ArgumentParser(
        prog=prog,
        description="ferrokern: native-speed, all-cores kernels for data pipelines.",
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command line (`python -m ferrokern`, or the `ferrokern` console script)."""
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", 0) and args.threads < 0:
        print("--threads must be >= 0", file=sys.stderr)
        return EXIT_USAGE
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
