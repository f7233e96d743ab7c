"""`seqgen report`: the run's HTML page (train writes it), per-label players, an image run's page, the comparison page."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from conftest import invoke


def assets_of(page: Path) -> list[Path]:
    """Every file a page references (src/href), which must lie inside the page's folder."""
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # nothing fetched from elsewhere
    refs = re.findall(r'(?:src|href)="([^"]+)"', text)
    paths = [(page.parent / r).resolve() for r in refs]
    for p in paths:
        assert p.is_file() and page.parent.resolve() in p.parents, p
    return paths


def test_train_writes_the_report_and_a_loss_curve(tiny_run):
    page = tiny_run / "report" / "index.html"
    text = page.read_text()
    assets = assets_of(page)
    wavs = sorted(p.name for p in (tiny_run / "samples").glob("*.wav"))
    assert wavs and all(f"assets/{w}" in text for w in wavs)  # every generated sample has a player
    assert text.count("<audio controls") >= len(wavs) + 2 * 3 + 1 + 3  # + test/recon pairs, continuation, train
    assert "Prompted continuation" in text and "its reconstruction" in text and "training clip" in text
    assert "autoencoder loss per epoch" in text and "log-likelihood per EM iteration" in text
    assert any(p.name.endswith("_spec.png") for p in assets)
    assert (tiny_run / "plots" / "loss.png").stat().st_size > 1000  # drawn during training, once per epoch
    from seqgen.artefacts import read_json

    assert "html_report" in read_json(tiny_run / "metrics.json")["timings_s"]


def test_report_of_per_label_priors_and_a_comparison(tiny_run, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("report", ".lock"))
    invoke("fit-prior", run, "--prior", "gmm", "--set", "prior.n_components=2", "--per-label")
    res = invoke("report", run)
    assert "open it in a browser" in res.output
    text = (run / "report" / "index.html").read_text()
    assert "per-label prior, label 0" in text and "per-label prior, label 1" in text
    assert "<td>gmm</td>" in text  # the added prior in the priors table
    assert "test clip" in text and "training clip" in text  # the data read into memory-mapped stores...
    assert not [p.name for p in tmp_path.iterdir() if ".data-" in p.name]  # ...beside the run, then removed
    assets_of(run / "report" / "index.html")

    out = tmp_path / "cmp"
    invoke("report", tiny_run, run, "--out", out)
    page = out / "index.html"
    text = page.read_text()
    assets_of(page)
    assert "0_tiny" in text and "1_copy" in text
    # the same sample of both runs in one row: one <tr> holding two players
    row = next(r for r in text.split("<tr>") if r.startswith("<td>sample_0000</td>"))
    assert row.count("<audio controls") == 2
    assert "priors.default.test_ll_per_frame" in text and "Training curves" in text
    res = invoke("report", tiny_run, run, ok=False)
    assert res.exit_code == 2 and "--out" in res.output


def test_report_of_an_image_run(mnist_run):
    page = mnist_run / "report" / "index.html"  # written by train
    text = page.read_text()
    for name in ("samples.png", "reconstructions.png", "nearest_generated.png", "interpolation.png"):
        assert f"assets/{name}" in text
    assert "<audio" not in text and "PSNR".lower() in text.lower()
    assets_of(page)


def test_report_when_the_training_data_is_gone(tiny_run, tmp_path):
    from seqgen.artefacts import read_json, write_json

    run = tmp_path / "moved"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("report", ".lock"))
    write_json(run / "data.json", {**read_json(run / "data.json"), "root": str(tmp_path / "gone")})
    invoke("report", run)
    text = (run / "report" / "index.html").read_text()
    assert "training and test audio not shown" in text and "is gone; pass --data" in text
    assert "sample_0000.wav" in text  # what the run itself holds is still shown
    assets_of(run / "report" / "index.html")
