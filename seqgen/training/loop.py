"""The one codec training loop: deterministic batch order, epoch checkpoints, exact resume, progress.

Every objective (:mod:`.objective`) runs through :func:`train_codec`; the order of segments
depends only on ``(seed, epoch)``, and a checkpoint (codec, objective networks, optimisers, epoch,
history) is written atomically after every epoch, so resuming from epoch k ends with the same
weights as an uninterrupted run.

Under ``torchrun`` (world size > 1) the same loop trains data-parallel (:mod:`.distributed`): the
codec is wrapped in DistributedDataParallel, each rank takes its share of every global batch, and
rank 0 alone writes checkpoints.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..artefacts import ArtefactError, load_torch_state, save_torch_state
from ..codecs.base import Codec
from ..data.store import SequenceStore
from ..errors import TrainingError
from ..validate import check_checkpoint
from . import distributed
from .objective import Objective

CHECKPOINT_KIND = "autoencoder-checkpoint"


def segments(lengths: np.ndarray, S: int, rng: np.random.Generator | None) -> np.ndarray:
    """Cut sequences into segments of at most ``S`` consecutive units, each unit in exactly one.

    A sequence of ``T`` units gives ``ceil(T / S)`` segments; the ``ceil(T/S)*S - T`` units of
    slack go to the first segment with a random share (from ``rng``), so segment boundaries move from
    epoch to epoch without adding padding. Returns ``(n_segments, S)`` global unit indices, -1 = pad.
    """
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    out = []
    for off, T in zip(offsets, lengths):
        if T == 0:
            continue
        K = -(-T // S)
        first = S - (int(rng.integers(0, K * S - T + 1)) if rng is not None else 0)
        starts = [0] + list(range(first, T, S))
        for a, b in zip(starts, starts[1:] + [T]):
            row = np.full(S, -1, dtype=np.int64)
            row[: b - a] = off + np.arange(a, b)
            out.append(row)
    return np.stack(out) if out else np.zeros((0, S), dtype=np.int64)


@dataclass
class TrainData:
    """Unit sequences stacked for training: ``units [F, *unit_shape]`` on the device + ``lengths``."""

    units: torch.Tensor
    lengths: np.ndarray

    @classmethod
    def stack(cls, seqs: Sequence[np.ndarray], device) -> "TrainData":
        """Sequences from a :class:`~seqgen.data.store.SequenceStore` are already stacked: on the CPU the
        loop then reads its memory map (batches page units in from disk), elsewhere it is copied once."""
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        if not len(seqs) or lengths.sum() == 0:
            raise ValueError("no units to train on")
        if isinstance(seqs, SequenceStore):
            units = torch.from_numpy(seqs.array).to(device)
        else:
            units = torch.as_tensor(np.concatenate([np.asarray(s, dtype=np.float32) for s in seqs]), device=device)
        if units.ndim < 2:
            raise ValueError(f"each sequence must be (T_i, *unit_shape), got {tuple(units.shape[1:])} after stacking")
        return cls(units, lengths)


def train_codec(
    codec: Codec,
    objective: Objective,
    train_seqs: Sequence[np.ndarray],
    *,
    valid_seqs: Sequence[np.ndarray] | None = None,
    epochs: int = 16,
    batch_size: int = 8,
    segment_units: int = 8,
    lr: float = 1e-3,
    device: str | torch.device = "cpu",
    seed: int = 0,
    checkpoint_path: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    log: Callable[[int, dict], None] | None = None,
) -> dict:
    """Train ``codec`` with ``objective`` on unit sequences ``train_seqs[i] (T_i, *unit_shape)``.

    Each batch holds ``batch_size`` segments of ``segment_units`` consecutive units of one sequence
    (zero-padded; 1 for frame-free data). ``resume`` with no checkpoint file starts afresh; one
    written with other settings raises ``ValueError``. Returns the history: per-epoch lists
    ``epoch``, ``train_loss``, ``time_s`` and what ``objective.validate`` reports.

    Launched by ``torchrun`` with several processes, each rank trains on its share of every batch
    (see :mod:`.distributed`; on CUDA ``device`` becomes ``cuda:LOCAL_RANK``) and only rank 0 writes
    ``checkpoint_path``; every rank ends with the same weights and history.
    """
    from tqdm.auto import tqdm

    if epochs < 0 or batch_size < 1 or segment_units < 1 or not lr > 0:
        raise ValueError("need epochs >= 0, batch_size >= 1, segment_frames >= 1, lr > 0")
    group = distributed.setup(torch.device(device))
    device = group.device
    codec.to(device)
    objective.to(device)
    optimisers = objective.configure(lr)
    settings = {"batch_size": batch_size, "segment_frames": segment_units, "lr": lr, "seed": seed,
                **objective.settings()}
    codec_config = codec.get_config()

    history: dict[str, list] = {"epoch": [], "train_loss": [], "time_s": []}
    start = 0
    if resume and checkpoint_path is not None and Path(checkpoint_path).exists():
        start, history = _resume(checkpoint_path, codec, objective, optimisers, settings, codec_config, epochs)

    data = TrainData.stack(train_seqs, device)
    if valid_seqs is not None:
        valid = TrainData.stack(valid_seqs, device)
        vidx = torch.as_tensor(segments(valid.lengths, segment_units, None), device=device)

    progress = progress and group.main
    bar = tqdm(range(start, epochs), desc="autoencoder", unit="epoch", disable=not progress,
               initial=start, total=epochs)
    net = distributed.wrap(codec, group)
    try:
        for epoch in bar:
            t0 = time.perf_counter()
            rng = np.random.default_rng([seed, epoch])  # order is a function of (seed, epoch) only: resumable
            idx = segments(data.lengths, segment_units, rng)
            idx = torch.as_tensor(idx[rng.permutation(len(idx))], device=device)
            schedule = objective.start_epoch(epoch)
            codec.train()
            objective.codec = net  # the objective's forward passes go through DDP (gradient all-reduce)
            losses_b, sizes = [], []
            batches = tqdm(range(0, len(idx), batch_size), desc=f"epoch {epoch + 1}", unit="batch",
                           leave=False, disable=not progress)
            for b in batches:
                rows = distributed.share(idx[b : b + batch_size], group)
                losses = objective.step(rows, data.units, optimisers)
                if not math.isfinite(losses["loss"]):  # stop here: every later step would only spread the NaN
                    raise TrainingError(f"autoencoder training stopped in epoch {epoch + 1}: the loss is "
                                        f"{losses['loss']} (learning rate {lr:g} too high, or non-finite data); "
                                        f"nothing was saved")
                losses_b.append(losses["loss"])
                sizes.append(len(rows))
                batches.set_postfix(loss=f"{np.mean(losses_b):.4f}")
            objective.codec = codec
            losses_b = distributed.mean_losses(losses_b, sizes, group)
            record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses_b)) if losses_b else 0.0,
                      "time_s": time.perf_counter() - t0, **schedule}
            if valid_seqs is not None:
                codec.eval()
                record.update(objective.validate(vidx, valid.units, batch_size))
            for k, v in record.items():
                history.setdefault(k, []).append(v)
            bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k != "epoch"})
            if checkpoint_path is not None and group.main:
                state = {"model": codec.state_dict(), "epoch": epoch + 1, "history": history,
                         **{f"optimizer.{k}": o.state_dict() for k, o in optimisers.items()},
                         **{f"objective.{k}": m.state_dict() for k, m in objective.modules().items()}}
                save_torch_state(checkpoint_path, CHECKPOINT_KIND, {"train": settings, "model": codec_config}, state)
            distributed.barrier(group)  # no rank runs ahead of the checkpoint it could be resumed from
            if log is not None and group.main:
                log(epoch + 1, record)
    finally:
        objective.codec = codec
    distributed.teardown(group)
    codec.eval()
    return history


def _resume(path, codec, objective, optimisers, settings, codec_config, epochs) -> tuple[int, dict]:
    """Load an epoch checkpoint into codec, objective and optimisers; returns ``(epoch, history)``."""
    config, ckpt = load_torch_state(path, kind=CHECKPOINT_KIND, map_location="cpu")
    if config.get("train") != settings or config.get("model") != codec_config:
        raise ValueError(f"checkpoint {path} was written with other settings ({config.get('train')}, "
                         f"{config.get('model')}), not {settings}, {codec_config}")
    start, history = check_checkpoint(ckpt, epochs, path)
    try:
        codec.load_state_dict(ckpt["model"])
        for k, o in optimisers.items():
            o.load_state_dict(ckpt[f"optimizer.{k}"])
        for k, m in objective.modules().items():
            m.load_state_dict(ckpt[f"objective.{k}"])
    except (KeyError, RuntimeError, ValueError, TypeError, AttributeError) as e:
        raise ArtefactError(f"checkpoint {path} is incomplete or does not fit the model: {e}") from None
    return start, history
