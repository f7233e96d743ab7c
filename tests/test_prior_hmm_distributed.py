"""Data-parallel HMM EM: a 2-process fit (gloo, CPU) equals the 1-process fit.

Tolerance: the shards' statistics are summed in another order, and the shards are batched (padded)
differently from one process's chunks. The full-covariance backend is float64 throughout: we assert
``rtol = 1e-9``. The diagonal backend's recursion is float32 (batched differently, it rounds
differently): observed ~4e-9 relative on the log-likelihood after 6 iterations; we assert ``rtol = 1e-6``.
"""
from __future__ import annotations


import numpy as np
import pytest
from conftest import free_port

from seqgen.priors.hmm import HMMPrior

KW = dict(n_states=3, n_iter=6, tol=0.0)


def _seqs():
    rng = np.random.default_rng(0)
    mu = np.array([[0.0, 0.0, 1.0], [5.0, 5.0, 0.0], [-5.0, 5.0, 2.0]])
    seqs = []
    for i in range(9):  # odd count, unequal lengths: the shards differ in size
        T = 20 + 7 * i
        s = np.cumsum(rng.random(T) < 0.1) % 3
        seqs.append(mu[s] + rng.standard_normal((T, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0.3], [0, 0, 1.0]]))
    return seqs


TOL = {"diag": 1e-6, "full": 1e-9}


def _worker(rank, world, port, out):
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        for cov in TOL:  # one spawn for both backends: starting the processes is most of the cost
            h = HMMPrior(covariance_type=cov, **KW).fit(_seqs())
            assert f"rank {rank} of {world}" in h.backend_note_
            if rank == 0:
                np.savez(f"{out}-{cov}.npz", history=np.asarray(h.history_), **h.params)
    finally:
        dist.destroy_process_group()


def test_two_process_fit_equals_one_process(tmp_path):
    import torch.multiprocessing as mp

    out = tmp_path / "rank0"
    mp.spawn(_worker, args=(2, free_port(), str(out)), nprocs=2, join=True)
    for cov, rtol in TOL.items():
        one = HMMPrior(covariance_type=cov, **KW).fit(_seqs())
        with np.load(f"{out}-{cov}.npz") as two:
            np.testing.assert_allclose(two["history"], one.history_, rtol=rtol)
            for k, v in one.params.items():
                np.testing.assert_allclose(two[k], v, rtol=rtol, atol=rtol * 1e-3)


def test_shards_cover_every_sequence_once():
    from seqgen.priors.hmm_distributed import shard

    seqs = _seqs()
    parts = [shard(seqs, r, 4) for r in range(4)]
    assert sorted(len(s) for p in parts for s in p) == sorted(len(s) for s in seqs)
    with pytest.raises(ValueError, match="cannot be shared"):
        shard(seqs[:2], 0, 3)
