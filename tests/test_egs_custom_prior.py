"""egs/custom_prior.py runs standalone (synthetic latents and a run's latents.npz) and reports sane numbers."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "egs" / "custom_prior.py"


def run_example(tmp_path, *args) -> dict:
    # A subprocess, not runpy: the example registers "student_t", which must not leak into this session.
    out = tmp_path / "summary.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--json", str(out), *args],
                          capture_output=True, text=True, timeout=120, cwd=SCRIPT.parents[1])
    assert proc.returncode == 0, proc.stderr
    assert "save/load round trip identical: True" in proc.stdout
    return json.loads(out.read_text())


def test_custom_prior_example_synthetic(tmp_path):
    s = run_example(tmp_path, "--seed", "0")
    sc = s["scores"]
    assert all(np.isfinite(v) for v in sc.values())
    # heavy-tailed synthetic latents (t, nu = 3): the Student-t fits them, the single Gaussian does not
    assert sc["student_t"] > sc["gaussian"] + 1.0, sc
    assert 2.0 < s["dof"] < 5.0
    assert s["sample_shapes"] == [[5, 8], [3, 8]] and s["roundtrip_identical"]


def test_custom_prior_example_on_run_latents(tmp_path):
    rng = np.random.default_rng(0)
    D = 5
    train, test = rng.standard_normal((300, D)) * 2 + 1, rng.standard_normal((60, D)) * 2 + 1
    np.savez(tmp_path / "latents.npz", train=train.astype(np.float32), train_lengths=np.array([100, 120, 80]),
             test=test.astype(np.float32), test_lengths=np.array([60]), mean=train.mean(0), std=train.std(0))
    s = run_example(tmp_path, "--latents", str(tmp_path / "latents.npz"), "--gmm-components", "3")
    assert s["dim"] == D and s["sample_shapes"] == [[5, D], [3, D]]
    # Gaussian data: the Student-t tends to nu -> large and ties with the Gaussian
    assert abs(s["scores"]["student_t"] - s["scores"]["gaussian"]) < 0.2


def test_custom_prior_example_as_documented_and_its_one_line_failures(tiny_run, tmp_path):
    """The docstring's command line, run in a folder holding runs/fsdd/ (a real run's latents), and without it."""
    (tmp_path / "runs" / "fsdd").mkdir(parents=True)
    cmd = [sys.executable, str(SCRIPT), "--latents", "runs/fsdd/latents.npz", "--gmm-components", "3"]
    missing = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert missing.returncode == 1 and missing.stderr.strip().splitlines() == [
        "error: --latents runs/fsdd/latents.npz: no such file; train a run first, e.g. "
        "`seqgen train spoken_digits --out runs/fsdd`"]
    (tmp_path / "runs" / "fsdd" / "latents.npz").write_text("not an array file")
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1 and "not a run's latents.npz" in bad.stderr
    import shutil

    shutil.copy(tiny_run / "latents.npz", tmp_path / "runs" / "fsdd" / "latents.npz")
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert ok.returncode == 0 and "save/load round trip identical: True" in ok.stdout, ok.stderr
