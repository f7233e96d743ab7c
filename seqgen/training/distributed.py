"""Data-parallel codec training (``torchrun``): process group from the environment, DDP wrapper,
each rank's share of a batch, loss averaging, rank-0-only writes.

The loop keeps its single-process maths: every rank walks the same ``(seed, epoch)``-ordered global
batches and takes every ``world``-th segment of each (a batch shorter than the world is processed
whole by every rank); DDP averages the ranks' gradients. With a loss that is a mean over segments
and batches that split evenly this is the single-process gradient, up to float summation order;
otherwise the ranks' shares are weighted equally rather than by their size (a small difference
for the last, short batch of an epoch).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass
class Group:
    """This process's place in training: ``rank``, ``world`` size, its ``device``, and whether the
    loop created the process group (and so must destroy it)."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    owned: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0


def env_rank() -> int:
    """Global rank from ``torchrun``'s environment (0 outside it); usable before the group exists."""
    return int(os.environ.get("RANK", "0"))


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def setup(device: torch.device) -> Group:
    """Join (or create from ``torchrun``'s environment) the default process group.

    One process, no group: ``Group(0, 1, device)``. On CUDA each rank takes ``cuda:LOCAL_RANK`` and
    NCCL; on the CPU gloo."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return Group(dist.get_rank(), dist.get_world_size(), device)
    if env_world_size() <= 1 or not dist.is_available():
        return Group(0, 1, device)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Group(dist.get_rank(), dist.get_world_size(), device, owned=True)


def teardown(group: Group) -> None:
    """Wait for every rank, then destroy the group if the loop created it (later stages - encoding,
    prior fitting - then run in rank 0 alone, not data-parallel)."""
    import torch.distributed as dist

    if group.world > 1:
        dist.barrier()
        if group.owned:
            dist.destroy_process_group()


def barrier(group: Group) -> None:
    if group.world > 1:
        import torch.distributed as dist

        dist.barrier()


class DataParallelCodec(nn.parallel.DistributedDataParallel):
    """DDP whose missing attributes fall through to the codec (``reconstruction_target``,
    ``regulariser``, ...), so objectives call it like the codec itself."""

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            modules = self.__dict__.get("_modules", {})
            if "module" not in modules:
                raise
            return getattr(modules["module"], name)


def wrap(codec: nn.Module, group: Group) -> nn.Module:
    """``codec`` itself in one process, else a :class:`DataParallelCodec` (parameters broadcast from rank 0)."""
    if group.world == 1:
        return codec
    ids = [group.device.index] if group.device.type == "cuda" else None
    # conv weights of shape (1, C, L) get gradients whose size-1 dimension has another stride than
    # DDP's bucket view: the reducer copies them (correctly) and warns every step; the warning says nothing
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    return DataParallelCodec(codec, device_ids=ids)


def share(rows: torch.Tensor, group: Group) -> torch.Tensor:
    """This rank's segments of a global batch ``rows [B, S]``: every ``world``-th, or all of them if
    ``B < world`` (identical gradients on every rank average to the batch's own)."""
    if group.world == 1 or len(rows) < group.world:
        return rows
    return rows[group.rank :: group.world]


def mean_losses(losses: list[float], sizes: list[int], group: Group) -> list[float]:
    """Per-batch losses averaged over the ranks, weighted by their shares' sizes (one all-reduce)."""
    if group.world == 1:
        return losses
    import torch.distributed as dist

    w = np.asarray(sizes, dtype=np.float64)
    buf = torch.as_tensor(np.stack([np.asarray(losses) * w, w]), device=group.device)
    dist.all_reduce(buf)
    buf = buf.cpu().numpy()
    return list(buf[0] / np.maximum(buf[1], 1e-300))


def torchrun_command(nproc: int, cli_args: list[str]) -> list[str]:
    """The ``torchrun`` command line ``seqgen ... --nproc N`` runs: ``nproc`` local processes of
    ``python -m seqgen.cli.main CLI_ARGS`` with a standalone (single-node, free-port) rendezvous."""
    import sys

    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(int(nproc)),
            "-m", "seqgen.cli.main", *map(str, cli_args)]
