"""Full recipes with their default (paper) settings — minutes each, so marked ``slow``:

    python -m pytest -m slow -q

They check each recipe's run against bounds with a margin around the numbers measured in its README
(``recipes/*/README.md``); they write nothing. Those tables were filled in by hand from the
``metrics.json`` / ``eval.json`` of runs made with the commands each README gives.
"""
from __future__ import annotations

import json

import pytest
import soundfile as sf
from conftest import REPO, assert_audible, invoke


pytestmark = pytest.mark.slow


def _train_and_check(recipe, data, out, tmp_path):
    invoke("train", REPO / "recipes" / recipe, "--data", data, "--out", out)
    m = json.loads((out / "metrics.json").read_text())
    wav = tmp_path / f"{recipe}.wav"
    invoke("generate", out, "--seconds", 10, "--out", wav, "--seed", 0)
    x, sr = sf.read(wav)
    assert sr == 8000 and len(x) == 80_000
    assert_audible(x, sr)
    return m


def test_spoken_digits_default(tmp_path, fsdd_root):
    m = _train_and_check("spoken_digits", fsdd_root, tmp_path / "sd", tmp_path)
    assert m["autoencoder_test"]["snr_db"] > 5.0
    prior = json.loads((tmp_path / "sd" / "config.json").read_text())["prior"]
    assert (prior["n_states"], prior["covariance_type"]) == (60, "full")
    p = m["priors"]["default"]
    # README: 51.5 train / 44.7 held-out nats per frame; no gross overfit of 60 full-covariance states
    assert p["test_ll_per_frame"] > p["train_ll_per_frame"] - 10.0


def test_violin_default(tmp_path, data_root):
    m = _train_and_check("violin", data_root / "violin_bach_bwv1002_garner", tmp_path / "violin", tmp_path)
    fd, js = m["generation"]["logmel_frechet"], m["generation"]["chroma_js_bits"]
    # README: Fréchet 3,436 (training audio vs held-out: 2,507), chroma 0.010 bits (0.023); white noise
    # scores ~42,000 and 0.08 bits
    assert fd["train_vs_heldout"] == pytest.approx(2507, rel=0.02), fd
    assert fd["train_vs_heldout"] < fd["generated_vs_heldout"] < 2 * fd["train_vs_heldout"], fd
    assert js["generated_vs_heldout"] < 0.035, js


def test_one_digit_recipe_and_eval(tmp_path, fsdd_root):
    out = tmp_path / "sd7"
    invoke("train", REPO / "recipes" / "spoken_digits_7", "--data", fsdd_root, "--out", out)
    invoke("eval", out, "--count", 100, "--data", fsdd_root)
    ev = json.loads((out / "eval.json").read_text())["default"]
    assert ev["classifier"]["test_accuracy"] >= 0.95
    real, gen = ev["rows"]["real_test"], ev["rows"]["generated"]
    assert real["accuracy"] > 0.9 and gen["n"] == 100  # real sevens are sevens
    assert gen["class_histogram"][7] >= 90, gen  # README: 989 of 1,000 generated clips are heard as "7"
