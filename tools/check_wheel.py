"""Checks a built ferrokern wheel is what a user should get (run by `make wheel`).

* tagged `py3-none-<manylinux policy>_<arch>` and confirmed by `auditwheel show`;
* the native library inside is stripped (no debug sections, no symbol table) and the wheel
  is a few MB;
* exactly one native library, in `ferrokern/_lib/`, and no stray copy elsewhere;
* the metadata a package index shows: license expression and files, readme, URLs,
  classifiers, keywords, the console script, and `py.typed` for type checkers.

Exits non-zero with one line per failed check."""

from __future__ import annotations

import argparse
import configparser
import email.parser
import io
import subprocess
import sys
import zipfile
from pathlib import Path

from elftools.elf.elffile import ELFFile  # pyelftools, a dependency of auditwheel

MAX_WHEEL_BYTES = 8 * 1024 * 1024


def check(wheel: Path, policy: str, auditwheel: str) -> list[str]:
    problems: list[str] = []
    name = wheel.name
    # ferrokern-VERSION-py3-none-PLATFORM.whl, PLATFORM possibly several tags joined by '.'
    parts = name[: -len(".whl")].split("-")
    if len(parts) != 5 or parts[2:4] != ["py3", "none"]:
        problems.append(f"{name}: expected a py3-none-<platform> wheel")
    elif not any(tag.startswith(policy + "_") for tag in parts[4].split(".")):
        problems.append(f"{name}: platform tag {parts[4]} does not name {policy}")
    size = wheel.stat().st_size
    if size > MAX_WHEEL_BYTES:
        problems.append(f"{name}: {size / 1e6:.1f} MB, more than {MAX_WHEEL_BYTES / 1e6:.0f} MB")

    shown = subprocess.run([auditwheel, "show", str(wheel)], capture_output=True, text=True)
    print(shown.stdout.strip())
    if shown.returncode != 0 or f'"{policy}_' not in shown.stdout:
        problems.append(f"auditwheel show does not confirm {policy}: {shown.stderr.strip()}")

    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        stray = [n for n in names if "/" not in n]
        if stray:
            problems.append(f"files at the top of site-packages: {stray}")
        libs = [n for n in names if n.endswith((".so", ".dylib", ".dll"))]
        if len(libs) != 1 or not libs[0].startswith("ferrokern/_lib/"):
            problems.append(f"expected one native library in ferrokern/_lib/, found {libs}")
        for lib in libs:
            with z.open(lib) as f:
                elf = ELFFile(io.BytesIO(f.read()))
                sections = {s.name for s in elf.iter_sections()}
            debug = sorted(s for s in sections if s.startswith((".debug", ".zdebug")))
            if debug or ".symtab" in sections:
                problems.append(f"{lib} is not stripped: {debug + ['.symtab'] * ('.symtab' in sections)}")
        for required in ("ferrokern/py.typed", "ferrokern/_cdef.h", "ferrokern/__init__.py"):
            if required not in names:
                problems.append(f"{required} missing from the wheel")
        dist_info = next((n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA")), None)
        if dist_info is None:
            return problems + ["no METADATA"]
        meta = email.parser.Parser().parsestr(z.read(f"{dist_info}/METADATA").decode())
        entry_points = z.read(f"{dist_info}/entry_points.txt").decode() if f"{dist_info}/entry_points.txt" in names else ""
        licenses = [n for n in names if n.startswith(f"{dist_info}/licenses/")]

    if meta.get("License-Expression") != "MIT OR Apache-2.0":
        problems.append(f"License-Expression is {meta.get('License-Expression')!r}")
    for lic in ("LICENSE-MIT", "LICENSE-APACHE"):
        if not any(n.endswith("/" + lic) for n in licenses):
            problems.append(f"{lic} not in the wheel's licenses/")
    for field in ("Summary", "Keywords", "Requires-Python", "Description-Content-Type"):
        if not meta.get(field):
            problems.append(f"METADATA has no {field}")
    if not meta.get_all("Project-URL"):
        problems.append("METADATA has no Project-URL")
    if len(meta.get_all("Classifier") or []) < 5:
        problems.append("METADATA has fewer than 5 classifiers")
    if "# ferrokern" not in (meta.get_payload() or ""):
        problems.append("METADATA carries no readme")
    scripts = configparser.ConfigParser(delimiters=("=",))
    scripts.read_string(entry_points)
    if not scripts.has_section("console_scripts") or scripts["console_scripts"].get("ferrokern") != "ferrokern.__main__:main":
        problems.append("no `ferrokern` console script in entry_points.txt")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wheels", nargs="+", type=Path)
    ap.add_argument("--policy", required=True, help="e.g. manylinux_2_17")
    ap.add_argument("--auditwheel", default="auditwheel")
    args = ap.parse_args()
    if len(args.wheels) != 1:
        print(f"expected exactly one wheel, got {[str(w) for w in args.wheels]}", file=sys.stderr)
        return 1
    problems = check(args.wheels[0], args.policy, args.auditwheel)
    for p in problems:
        print(f"check_wheel: {p}", file=sys.stderr)
    if not problems:
        print(f"check_wheel: {args.wheels[0].name} ({args.wheels[0].stat().st_size / 1e6:.1f} MB) ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
