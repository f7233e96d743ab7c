"""Images on the one pipeline: a tiny MNIST run (train -> generate -> eval -> score) and a tiny image-folder recipe."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, invoke
from seqgen.artefacts import read_json

def test_mnist_run_reconstructs_and_records_its_data(mnist_run, data_root):
    from seqgen.data.image.mnist import MNIST

    ds = MNIST(data_root / "mnist_t10k", limit_train=600, limit_test=150)
    train, test = (np.stack([e.x for e in ds.load(s)]) for s in ("train", "test"))
    mean_image_mse = float(np.mean((test - train.mean(0)) ** 2))
    m = read_json(mnist_run / "metrics.json")
    ae = m["autoencoder_test"]
    # reconstruction through the analytic inverse clearly beats predicting every test digit by the mean digit
    assert ae["mse"] < 0.6 * mean_image_mse and ae["n"] == 150
    assert m["priors"]["default"]["type"] == "gmm"
    assert "8,000 = train" in read_json(mnist_run / "data.json")["split"]
    assert {"samples.png", "reconstructions.png", "nearest_generated.png", "interpolation.png"} <= set(m["plots"])


def test_generate_grid_and_files(mnist_run, tmp_path):
    invoke("generate", mnist_run, "--count", 16, "--out", tmp_path / "grid.png")
    with Image.open(tmp_path / "grid.png") as im:
        assert im.size == (8 * 28 + 9 * 2, 2 * 28 + 3 * 2)  # 8 per row, 2 px padding
    invoke("generate", mnist_run, "--count", 5, "--out-dir", tmp_path / "one")
    files = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert files == [f"sample_{i:04d}.png" for i in range(5)]
    res = invoke("generate", mnist_run, "--seconds", 3, ok=False)
    assert res.exit_code == 2 and "image runs take --count" in res.output


def test_score_ranks_held_out_digits_above_noise_and_faces(mnist_run, data_root, tmp_path):
    from seqgen.data.image.mnist import MNIST
    from seqgen.outputs.image import save_images

    digits = np.stack([e.x for e in MNIST(data_root / "mnist_t10k").load("test")[-3:]])
    rng = np.random.default_rng(0)
    noise = rng.uniform(0, 1, (3, 1, 28, 28)).astype(np.float32)
    paths = {"digit": save_images(digits, tmp_path / "d", "d"), "noise": save_images(noise, tmp_path / "n", "n"),
             "face": sorted((data_root / "faces_congress_pd" / "images").iterdir())[:3]}
    ll = {k: [json.loads(invoke("score", p, mnist_run, "--json").output)["log_likelihood"] for p in ps]
          for k, ps in paths.items()}
    assert min(ll["digit"]) > max(ll["noise"]) and min(ll["digit"]) > max(ll["face"])


def test_eval_table_with_reference_rows(mnist_run):
    res = invoke("eval", mnist_run, "--count", 60)
    r = read_json(mnist_run / "eval.json")["default"]
    rows = r["rows"]
    assert set(rows) == {"generated", "real_heldout", "ae_reconstruction"}
    # real held-out digits are the ceiling of the classifier metrics: recognised, all ten, close to the test set
    assert rows["real_heldout"]["inception_score"] > rows["generated"]["inception_score"]
    assert rows["real_heldout"]["fid_test"] < rows["generated"]["fid_test"]
    assert rows["real_heldout"]["digits_covered"] == 10
    # the exact likelihood of test digits is a finite density on the 20-d manifold, and the table shows it
    assert np.isfinite(r["exact_test_nll"]["nats_per_image"]) and "exact NLL" in res.output
    assert r["rows"]["generated"]["kde_authors_code"]["repeats"] == 10


def test_custom_image_recipe_on_a_folder_of_faces(tmp_path, data_root):
    import shutil

    folder = tmp_path / "faces"
    folder.mkdir()
    for p in sorted((data_root / "faces_congress_pd" / "images").iterdir())[:60]:
        shutil.copy(p, folder / p.name)
    (folder / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "run"
    with pytest.warns(UserWarning, match="broken.png: cannot decode image"):  # skipped, named
        invoke("train", REPO / "egs" / "custom_image_recipe", "--out", out, "--data", folder,
               "--set", "train.epochs=2", "--set", "prior.n_components=2")
    m = read_json(out / "metrics.json")
    assert read_json(out / "data.json")["n_train"] + read_json(out / "data.json")["n_test"] == 60
    assert m["autoencoder_history"]["train_loss"][-1] < m["autoencoder_history"]["train_loss"][0]
    invoke("generate", out, "--count", 4, "--out", tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 0
