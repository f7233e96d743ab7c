"""A run knows which data it was made from: the stage hash covers the data's fingerprint, later commands use it."""
from __future__ import annotations

import shutil

import pytest

from conftest import REPO, invoke
from seqgen.artefacts import ArtefactError, read_json
from seqgen.pipeline.run_dir import RunDir

TINY = ["train.epochs=1", "prior.n_states=2", "prior.n_iter=2", 'data.speakers=["jackson"]']


def _subset(fsdd_root, dest, digit):
    rec = dest / "recordings"
    rec.mkdir(parents=True)
    for p in sorted((fsdd_root / "recordings").glob(f"{digit}_jackson_*.wav"))[:12]:
        shutil.copy(p, rec / p.name)
    return dest


def _train(out, data):
    args = ["train", REPO / "recipes" / "spoken_digits", "--out", out, "--data", data]
    for s in TINY:
        args += ["--set", s]
    return invoke(*args)


def test_rerun_with_other_data_retrains_and_later_commands_use_the_recorded_data(fsdd_root, tmp_path):
    a, b = _subset(fsdd_root, tmp_path / "a", 3), _subset(fsdd_root, tmp_path / "b", 8)
    out = tmp_path / "run"
    _train(out, a)
    run = RunDir(out)
    first = (run.stage_hash(run.autoencoder), read_json(run.data)["fingerprint"], run.latents.read_bytes())
    assert read_json(run.data)["root"] == str((a / "recordings").resolve())
    _train(out, b)  # same config, other data: nothing may be skipped as "found for this config"
    second = (run.stage_hash(run.autoencoder), read_json(run.data)["fingerprint"], run.latents.read_bytes())
    assert all(x != y for x, y in zip(first, second))
    assert "skipping" not in run.log.read_text().split("data: fsdd from")[-1]
    _train(out, b)  # same config and data: now the stages are reused
    assert "found" in run.log.read_text().split("data: fsdd from")[-1]
    assert run.data_root() == str((b / "recordings").resolve())  # eval / score read this, not $SEQGEN_DATA
    shutil.rmtree(b)
    with pytest.raises(ArtefactError, match="is gone; pass --data"):
        run.data_root()
    res = invoke("score", fsdd_root / "recordings" / "8_jackson_0.wav", out, ok=False)
    assert res.exit_code == 1 and "is gone; pass --data" in res.output and "Traceback" not in res.output
