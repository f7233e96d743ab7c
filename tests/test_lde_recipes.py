"""The Yoo et al. pieces of `seqgen eval`: the grid-searched Parzen window of a row (more samples than the row's
images come from the sampler) and its table column; the IAE + LDE recipe end to end at tiny size (``slow``: its
eval draws 10 x 1,000 LDE samples for the fixed-sigma protocols, ~30 s here)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO, invoke
from seqgen.artefacts import read_json
from seqgen.evaluation.kde import PROTOCOLS

TINY = ["data.limit_train=200", "data.limit_test=60", "train.epochs=3", "train.batch_size=32",
        "prior.max_epochs=2", "generate.count=4"]


def test_parzen_row_draws_more_samples_from_the_sampler_and_the_table_shows_it():
    from seqgen.evaluation.kde import KDEProtocol
    from seqgen.pipeline.evaluate_image import _row, format_image_table

    rng = np.random.default_rng(0)
    images, test, val = (rng.random((n, 1, 4, 4)).astype(np.float32) for n in (10, 30, 20))
    calls = []

    def sampler(n, seed):
        calls.append((n, seed))
        return np.random.default_rng(seed).random((n, 1, 4, 4)).astype(np.float32)

    proto = KDEProtocol(50, PROTOCOLS["grid_search"].sigmas, 1, "test")
    row = _row(images, test=test, val=val, train_flat=val.reshape(20, -1), classify=lambda x: (None, None),
               F_test=None, sampler=sampler, kde={"parzen": proto})
    assert calls == [(50, 0)] and row["kde_parzen"]["n_samples"] == 50
    assert row["kde_parzen"]["sigma"] in PROTOCOLS["grid_search"].sigmas
    ref = _row(images, test=test, val=val, train_flat=val.reshape(20, -1), classify=lambda x: (None, None),
               F_test=None, kde={"parzen": proto})  # a reference row uses the images it has
    assert ref["kde_parzen"]["n_samples"] == 10
    result = {"run": "r", "prior": "default", "prior_type": "lde", "rows": {"generated": row},
              "memorisation": {}, "features": {"kind": "none"}}
    table = format_image_table(result, markdown=True)
    assert "| Parzen |" in table and f"(σ={row['kde_parzen']['sigma']:.2f})" in table


@pytest.mark.slow
def test_iae_lde_mnist_recipe_and_parzen_eval(tmp_path, data_root):
    out = tmp_path / "iae"
    args = ["train", REPO / "recipes" / "lde_mnist_iae", "--out", out, "--data", data_root / "mnist_t10k"]
    for s in TINY:
        args += ["--set", s]
    invoke(*args)
    log = (out / "train.log").read_text()
    assert [f"active_dims={k}" in log for k in (1, 2)] == [True, True]  # epochs 1-2: one dimension, epoch 3: two
    assert read_json(out / "config.json")["train"]["incremental"] == {"start": 1, "step": 1, "every": 2}
    res = invoke("eval", out, "--count", 20, "--parzen", 100, "--no-reference")
    row = read_json(out / "eval.json")["default"]["rows"]["generated"]["kde_parzen"]
    assert row["n_samples"] == 100 and row["repeats"] == 1 and np.isfinite(row["log_likelihood"])
    assert any(np.isclose(row["sigma"], s) for s in PROTOCOLS["grid_search"].sigmas)
    assert "Parzen" in res.output
