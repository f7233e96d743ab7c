"""The LED recipes through the CLI at tiny size: `seqgen train` of led_2d then `generate`; an image run scored on a
PNG with `seqgen score` (the normalised discriminator's log-density); the README table renderer."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from conftest import REPO, invoke
from seqgen.artefacts import read_json

TINY_2D = ["data.n_train=1500", "data.n_test=200", "train.epochs=1", "train.normaliser_samples=2048",
           "autoencoder.disc_hidden=32", "generate.count=50"]
TINY_MNIST = ["data.limit_train=128", "data.limit_test=32", "train.epochs=1", "train.batch_size=32",
              "train.importance_samples=16", "train.normaliser_samples=128", "autoencoder.latent_dim=16",
              "autoencoder.disc_hidden=8"]


def _args(recipe, out, sets, *extra):
    args = ["train", recipe, "--out", out, *extra]
    for s in sets:
        args += ["--set", s]
    return args


def test_led_2d_trains_generates_and_reports(tmp_path):
    out = tmp_path / "led_2d"
    invoke(*_args(REPO / "recipes" / "led_2d", out, TINY_2D))
    m = read_json(out / "metrics.json")["generator"]
    assert np.isfinite([m["log_normaliser"], m["test_log_likelihood"], m["generated_log_p_generator"]]).all()
    assert (out / "plots" / "density.png").exists() and np.load(out / "samples" / "generated.npy").shape == (2500, 2)
    res = invoke("generate", out, "--count", 7, "--out", tmp_path / "pts.npy")
    pts = np.load(tmp_path / "pts.npy")
    assert pts.shape == (7, 2) and np.isfinite(pts).all() and "7 points" in res.output
    # what needs an encoder or another modality refuses in one line
    assert "density.png" in (out / "report" / "index.html").read_text()  # the page shows the density plot
    for args, why in ((("eval", out), "is for audio and image runs"),
                      (("score", tmp_path / "pts.npy", out), "takes audio or image files")):
        res = invoke(*args, ok=False)
        assert res.exit_code != 0 and why in res.output and "Traceback" not in res.output


def test_led_image_run_scores_a_png(tmp_path, data_root):
    from PIL import Image

    out = tmp_path / "led_mnist"
    invoke(*_args(REPO / "recipes" / "led_mnist", out, TINY_MNIST, "--data", data_root / "mnist_t10k"))
    m = read_json(out / "metrics.json")["generator"]
    assert np.isfinite([m["test_bits_per_dim"], m["generated_bits_per_dim_generator"]]).all()
    assert (out / "plots" / "samples_by_density.png").exists()
    png = tmp_path / "digit.png"
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(png)
    res = invoke("score", png, out, "--json")
    import json

    r = json.loads(res.output)
    assert np.isfinite(r["log_density"]) and r["bits_per_dim"] == pytest.approx(
        (-r["log_density"] + 1024 * np.log(256)) / (1024 * np.log(2)))
    assert "bits/pixel" in invoke("score", png, out).output


def test_led_2d_table_renders_mean_and_std_next_to_the_paper():
    spec = importlib.util.spec_from_file_location("seqgen_bench_render", REPO / "benchmarks" / "render.py")
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    stat = lambda m, s: {"mean": m, "std": s}  # noqa: E731
    doc = {"name": "led_2d", "paper": {"ring": {"LED": [8, 63.5]}},
           "meta": {"date": "d", "host": "h", "cpus": 2, "load_average": 1.0, "seeds": 5, "generated_points": 2500},
           "rows": [{"what": "ring", "variant": "LED", "modes": stat(7.4, 0.5), "hq_percent": stat(12.25, 3.0),
                     "test_log_likelihood": stat(1.5, 0.1), "integral": stat(0.98, 0.01), "train_seconds": stat(90, 5)}],
           "extras": [{"what": "ring", "variant": "M = 1", "modes": 6, "hq_percent": 5.0, "integral": 1.2,
                       "kl_generator_to_discriminator": 0.3}]}
    table = render.TABLES["led_2d"](doc)
    assert "| ring | LED | 7.4 ± 0.5 | 12.2 ± 3.0 |" in table and "LED: 8, 63.5 %" in table and "| M = 1 | 6 |" in table
