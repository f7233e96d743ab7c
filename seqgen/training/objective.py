"""What one training loop drives: an objective owns its losses, optimisers and per-batch updates.

The loop (:mod:`.loop`) handles epochs, batch order, progress, checkpoints, resume and the
finite-loss guard; an objective says how a batch of unit segments updates the codec (and any
networks of its own, e.g. an adversarial critic). A new paper adds an objective, not a loop.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from ..codecs.base import Codec


class Objective(ABC):
    """Base class: build with the codec and the recipe's ``[train]`` options, then the loop calls
    :meth:`configure` once, :meth:`start_epoch` and then :meth:`step` per batch and :meth:`validate` per epoch.

    ``batch`` arguments are ``(idx [B, S], units [F, *unit_shape])``: global unit indices of ``B``
    segments of ``S`` consecutive units (``-1`` = padding), into the stacked units of all sequences.
    """

    def __init__(self, codec: Codec):
        #: what forward passes go through: the loop swaps in its data-parallel wrapper during an epoch
        self.codec = codec
        #: the codec itself, never wrapped: for objectives that call its own methods (sample, mask, ...) and
        #: step sub-networks separately, which bypasses DDP's gradient all-reduce (single process only)
        self.module = codec

    def modules(self) -> dict[str, nn.Module]:
        """Networks the objective trains besides the codec (checkpointed with it); none by default."""
        return {}

    @abstractmethod
    def configure(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        """Optimisers by name (checkpointed); called once before training."""

    @abstractmethod
    def step(self, idx: torch.Tensor, units: torch.Tensor, optimisers: dict) -> dict[str, float]:
        """One update on a batch; returns the batch's losses (``"loss"`` is the one the loop reports)."""

    @abstractmethod
    def validate(self, idx: torch.Tensor, units: torch.Tensor, batch_size: int) -> dict[str, float]:
        """Held-out numbers of the epoch (e.g. ``valid_loss``, ``valid_snr_db``), computed without updates."""

    def start_epoch(self, epoch: int) -> dict[str, float]:
        """Called by the loop before each (0-based) ``epoch``, also on resume; what it returns is recorded
        in that epoch's history (e.g. an incremental schedule's active latent dimensions). Nothing by default."""
        return {}

    def settings(self) -> dict:
        """JSON-able settings a checkpoint must match to be resumed."""
        return {}

    def to(self, device) -> "Objective":
        for m in self.modules().values():
            m.to(device)
        return self
