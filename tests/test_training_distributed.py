"""Data-parallel codec training: 2 processes (gloo, CPU, torchrun's environment variables) end with
the weights of single-process training.

Same seed, same (seed, epoch)-ordered global batches; each rank takes every 2nd segment of a batch and
DDP averages the two gradients. Batches of 4 segments split 2 + 2 and every segment here is full
(sequences are whole multiples of the segment length), so the averaged gradient is the batch's own up
to float summation order (float32). Adam divides by the root of the squared-gradient average, which
magnifies those last-bit differences for parameters with near-zero gradients: after 2 epochs (lr 1e-3)
the largest weight difference observed was 7e-6 (weights ~0.1); we assert ``atol = 1e-4`` on the weights
and ``rtol = 1e-5`` on the reported losses.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from conftest import REPO, free_port

SETTINGS = dict(epochs=2, batch_size=4, segment_units=4, lr=1e-3, seed=3, progress=False)


def _setup():
    from seqgen.config import load_recipe
    from seqgen.pipeline.build import build_autoencoder, build_objective, build_representation

    torch.manual_seed(0)
    # "mse" is a mean over units, so half-batch losses average to the batch's; the STFT loss's norms run
    # over the whole batch (spectral convergence is a ratio): with DDP it becomes the mean of the shares'
    cfg = load_recipe(REPO / "recipes" / "spoken_digits", ["autoencoder.latent_dim=16", 'train.loss="mse"'])
    rep = build_representation(cfg)
    codec = build_autoencoder(cfg, rep)
    rng = np.random.default_rng(0)
    win = np.hanning(rep.spec.frame_length).astype(np.float32)
    seqs = [0.3 * rng.standard_normal((8, len(win))).astype(np.float32) * win for _ in range(4)]
    return codec, build_objective(cfg, codec, rep), seqs


def _worker(rank, world, port, out):
    from seqgen.training.loop import train_codec

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world))
    codec, objective, seqs = _setup()
    history = train_codec(codec, objective, seqs, checkpoint_path=f"{out}.ckpt" if rank == 0 else None,
                          **SETTINGS)
    import torch.distributed as dist

    assert not dist.is_initialized(), "the loop destroys the group it created"
    if rank == 0:
        torch.save({"state": codec.state_dict(), "loss": torch.tensor(history["train_loss"])}, f"{out}.pt")


def test_two_process_training_equals_one_process(tmp_path):
    import torch.multiprocessing as mp

    from seqgen.training.loop import train_codec

    out = tmp_path / "rank0"
    mp.spawn(_worker, args=(2, free_port(), str(out)), nprocs=2, join=True)
    codec, objective, seqs = _setup()
    history = train_codec(codec, objective, seqs, **SETTINGS)
    two = torch.load(f"{out}.pt", weights_only=True)
    diff = max((two["state"][k] - v).abs().max().item() for k, v in codec.state_dict().items())
    print(f"max |w(2 processes) - w(1 process)| = {diff:.2e}")
    for k, v in codec.state_dict().items():
        torch.testing.assert_close(two["state"][k], v, rtol=0, atol=1e-4, msg=f"{k} differs")
    np.testing.assert_allclose(two["loss"].numpy(), history["train_loss"], rtol=1e-5)
    assert (tmp_path / "rank0.ckpt").exists()


def test_batch_share():
    from seqgen.training.distributed import Group, share

    rows = torch.arange(10).reshape(5, 2)
    parts = [share(rows, Group(r, 2)) for r in range(2)]
    assert sorted(torch.cat(parts)[:, 0].tolist()) == [0, 2, 4, 6, 8]
    assert torch.equal(share(rows[:1], Group(1, 2)), rows[:1])  # shorter than the world: every rank, whole


def test_torchrun_command():
    from seqgen.training.distributed import torchrun_command

    cmd = torchrun_command(2, ["train", "recipes/x", "--out", "runs/x"])
    assert cmd[1:7] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m"]
    assert cmd[7:] == ["seqgen.cli.main", "train", "recipes/x", "--out", "runs/x"]


@pytest.mark.slow
def test_cli_nproc_2_trains_tiny_recipe(tmp_path, fsdd_root):
    """`seqgen train --nproc 2` (torchrun, gloo) on the tiny recipe: rank 0 writes one complete run."""
    import json
    import subprocess
    import sys

    from conftest import train_args

    out = tmp_path / "ddp"
    args = [str(a) for a in train_args(out, fsdd_root, "prior.type=gaussian")]
    subprocess.run([sys.executable, "-m", "seqgen.cli.main", "-q", *args, "--nproc", "2"], check=True,
                   env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and len(metrics["autoencoder_history"]["epoch"]) == 3
    assert (out / "autoencoder.pt").exists() and (out / "prior.json").exists()
