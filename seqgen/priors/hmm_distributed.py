"""Data-parallel Baum-Welch: each process summarises its share of the sequences, the sufficient
statistics are summed with ``torch.distributed`` (gloo on the CPU, NCCL on GPUs), every process then
takes the same M-step.

The E-step is a sum over sequences, so the sum of the shards' statistics *is* the full data's (up
to float summation order). Nothing is needed beyond an initialised default process group (e.g.
``torchrun``): every rank calls ``HMMPrior.fit`` on the *same* full data - initialisation, data mean,
dead-state re-seeding and the M-step are deterministic functions of it - and the torch backend
keeps every ``world``-th sequence of the length-sorted list (balanced shards, little padding).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from .hmm import DiagStats


def process_group() -> tuple[int, int]:
    """``(rank, world_size)`` of the default process group, ``(0, 1)`` when there is none."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard(seqs: list[np.ndarray], rank: int, world: int) -> list[np.ndarray]:
    """Rank ``rank``'s sequences: every ``world``-th of the list sorted by length (longest first)."""
    if world == 1:
        return list(seqs)
    if len(seqs) < world:
        raise ValueError(f"{len(seqs)} sequence(s) cannot be shared by {world} processes")
    order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
    return [seqs[i] for i in order[rank::world]]


def all_reduce_stats(stats: DiagStats, device: torch.device) -> DiagStats:
    """Sum :class:`~seqgen.priors.hmm.DiagStats` (or a subclass) over the process group, float64.

    One flat buffer, one ``all_reduce``; NCCL needs it on the rank's GPU, gloo on the CPU."""
    import torch.distributed as dist

    names = ["start", "trans", "end", "post", "obs", "obs2"]
    arrays = [np.asarray(getattr(stats, n), dtype=np.float64) for n in names]
    flat = np.concatenate([a.ravel() for a in arrays] + [np.array([stats.loglik])])
    on = device if dist.get_backend() == "nccl" else torch.device("cpu")
    buf = torch.as_tensor(flat, device=on)
    dist.all_reduce(buf, op=dist.ReduceOp.SUM)
    flat = buf.cpu().numpy()
    out, at = {}, 0
    for n, a in zip(names, arrays):
        out[n] = flat[at : at + a.size].reshape(a.shape)
        at += a.size
    return dataclasses.replace(stats, **out, loglik=float(flat[at]))
