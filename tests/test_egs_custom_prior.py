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
