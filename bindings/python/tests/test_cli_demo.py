"""`python -m ferrokern edges` and `python -m ferrokern demo` (what `make demo` runs)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ferrokern

PKG = str(Path(ferrokern.__file__).resolve().parents[1])


def run(*args, **kw):
    env = dict(os.environ, PYTHONPATH=PKG)
    return subprocess.run(
        [sys.executable, "-m", "ferrokern", *args], capture_output=True, text=True, env=env, **kw
    )


def test_edges_cli_writes_the_sobel_of_the_image(tmp_path):
    np = pytest.importorskip("numpy")
    Image = pytest.importorskip("PIL.Image")
    from ferrokern.demo import sample_image

    rgb = sample_image(60, 80)
    Image.fromarray(rgb).save(tmp_path / "in.png")
    r = run("edges", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"))
    assert r.returncode == 0, r.stderr
    assert "80x60 RGB" in r.stderr
    got = np.asarray(Image.open(tmp_path / "out.png"))
    mag = ferrokern.edges(rgb)
    want = np.clip(mag * (255.0 / mag.max()), 0, 255).astype(np.uint8)
    assert got.shape == (60, 80) and np.array_equal(got, want)
    gray = tmp_path / "gray.png"
    Image.fromarray(rgb[..., 0]).save(gray)
    assert run("edges", str(gray), "-o", str(tmp_path / "g.png"), "--border", "reflect").returncode == 0


def test_edges_cli_errors(tmp_path):
    r = run("edges", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o.png"))
    assert r.returncode == 1 and "cannot read" in r.stderr and "missing.png" in r.stderr
    (tmp_path / "junk.png").write_bytes(b"not an image")
    assert run("edges", str(tmp_path / "junk.png"), "-o", str(tmp_path / "o.png")).returncode == 1
    assert run("edges", str(tmp_path / "junk.png")).returncode == 2  # -o is required


def test_demo_runs_and_agrees_with_the_reference(tmp_path):
    pytest.importorskip("PIL")
    r = run("demo", "--mb", "0.3", "--out", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("identical to the pure-Python reference: True") == 1
    assert "identical to the reference's totals: True" in r.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["complete"] is True and report["invalid"]["count"] == 1
    assert (tmp_path / "edges.png").stat().st_size > 0
