"""Checks the sdist installs the way a user without a wheel would install it (run by
`make test-sdist`), each time into a fresh venv and from outside the checkout:

1. without a Rust toolchain (cargo not on PATH, MATURIN_NO_INSTALL_RUST=1 so that maturin does
   not try to download one): `pip install` must fail, naming cargo, and install nothing — never
   a package that cannot import;
2. with cargo on PATH: `pip install` builds the library from source and the installed package
   imports it and computes the reference's answer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
SMOKE = (
    "import ferrokern, pathlib, sys\n"
    "lib = pathlib.Path(ferrokern.library_path())\n"
    "assert 'site-packages' in str(lib), lib\n"
    "got = ferrokern.extract_and_aggregate(['apples 3 pears 5 apples 4', 'x 18446744073709551616 x 1'])\n"
    "assert got == [{'apples': 7, 'pears': 5}, {'x': 18446744073709551617}], got\n"
    "print('sdist install ok:', ferrokern.__version__, lib)\n"
)


def fresh_venv(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path / "bin" / "python"


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sdist", required=True, type=Path)
    ap.add_argument("--target-dir", required=True, type=Path, help="CARGO_TARGET_DIR for the build")
    ap.add_argument("--work", required=True, type=Path, help="scratch directory (venvs)")
    args = ap.parse_args()
    sdist = args.sdist.resolve()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    base_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FERROKERN_LIBRARY")}

    # 1. No Rust: a clear failure, nothing installed.
    py = fresh_venv(work / "no-rust")
    env = dict(base_env, PATH=f"{py.parent}:{SYSTEM_PATH}", MATURIN_NO_INSTALL_RUST="1")
    if shutil.which("cargo", path=env["PATH"]):
        print("check_sdist: cargo is on the system PATH; cannot test the no-Rust install", file=sys.stderr)
        return 1
    r = run([str(py), "-m", "pip", "install", str(sdist)], env, work)
    out = r.stdout + r.stderr
    if r.returncode == 0 or "Cargo" not in out:
        print(out[-4000:], file=sys.stderr)
        print("check_sdist: without Rust the install must fail with a message naming Cargo", file=sys.stderr)
        return 1
    if run([str(py), "-c", "import ferrokern"], env, work).returncode == 0:
        print("check_sdist: a failed install left an importable ferrokern", file=sys.stderr)
        return 1
    print("check_sdist: without Rust, pip install fails with:",
          next((line for line in out.splitlines() if "Cargo" in line), "").strip())

    # 2. With cargo: builds from source, imports, computes.
    py = fresh_venv(work / "with-rust")
    env = dict(base_env, CARGO_TARGET_DIR=str(args.target_dir.resolve()))
    r = run([str(py), "-m", "pip", "install", str(sdist)], env, work)
    if r.returncode != 0:
        print((r.stdout + r.stderr)[-6000:], file=sys.stderr)
        print("check_sdist: pip install of the sdist failed with cargo available", file=sys.stderr)
        return 1
    r = run([str(py), "-c", SMOKE], dict(env, PATH=f"{py.parent}:{SYSTEM_PATH}"), work)
    print(r.stdout.strip())
    if r.returncode != 0:
        print(r.stderr[-4000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
