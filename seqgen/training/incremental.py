"""Incremental learning of the latent vector (Yoo, Lee & Kwak §3.4, "IAE"): a growing mask on the latent.

Training starts with only the first ``start`` latent dimensions active; every ``every`` epochs ``step``
more become active, until all ``D`` are. Inactive dimensions are replaced by exact zeros between the
codec's ``encode`` and ``decode``, so they carry nothing to the decoder and receive no reconstruction
gradient (the encoder's rows for them and the decoder's columns for them get exactly zero gradient).
The earlier dimensions thus learn the most important features, an ordering the latent density
estimator (:mod:`seqgen.priors.lde`), autoregressive over the dimensions, can use.

The mask is applied by :func:`masked_decoder`, which wraps the codec's ``decode`` for the duration of a
training step, so it works for every codec whose ``forward`` decodes through ``decode`` (all of seqgen's,
image and audio). A codec's own regulariser (a VAE's KL) still sees every dimension.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch

from ..codecs.base import Codec


@dataclass(frozen=True)
class IncrementalSchedule:
    """``active(epoch) = min(D, start + step * (epoch // every))`` dimensions in (0-based) ``epoch``."""

    start: int = 1
    step: int = 1
    every: int = 1

    def __post_init__(self):
        for name in ("start", "step", "every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"incremental.{name} must be an integer >= 1, got {v!r}")

    @classmethod
    def from_options(cls, options: dict) -> "IncrementalSchedule":
        """From a recipe's ``train.incremental = {start, step, every}`` table; unknown keys are errors."""
        if not isinstance(options, dict):
            raise ValueError(f"incremental must be a table {{start, step, every}}, got {options!r}")
        unknown = set(options) - {"start", "step", "every"}
        if unknown:
            raise ValueError(f"unknown incremental key(s) {sorted(unknown)}; known: start, step, every")
        return cls(**options)

    def active(self, epoch: int, dim: int) -> int:
        """Number of active dimensions (the first ones) in 0-based ``epoch`` of a ``dim``-dimensional latent."""
        return min(int(dim), self.start + self.step * (int(epoch) // self.every))

    def full_after(self, dim: int) -> int:
        """The first (0-based) epoch in which all ``dim`` dimensions are active."""
        return 0 if self.start >= dim else -(-(dim - self.start) // self.step) * self.every

    def to_dict(self) -> dict:
        return {"start": self.start, "step": self.step, "every": self.every}


def latent_mask(active: int, dim: int, device=None) -> torch.Tensor:
    """``[D]`` float mask: 1 for the first ``active`` dimensions, 0 for the rest."""
    m = torch.zeros(dim, device=device)
    m[:active] = 1.0
    return m


@contextmanager
def masked_decoder(codec: Codec, active: int):
    """Within the block, ``codec.decode(z)`` decodes ``z ⊙ m`` (``m``: :func:`latent_mask`), so
    ``codec(units)`` reconstructs from the first ``active`` latent dimensions only. A no-op when all
    dimensions are active."""
    if active >= codec.latent_dim:
        yield codec
        return
    decode = type(codec).decode

    def decode_masked(z: torch.Tensor) -> torch.Tensor:
        # multiplication by an exact 0 keeps the value 0 and the gradient into z_j (j >= active) 0
        return decode(codec, z * latent_mask(active, z.shape[-1], z.device).to(z.dtype))

    # an instance attribute shadows the class's method for this codec object only
    object.__setattr__(codec, "decode", decode_masked)
    try:
        yield codec
    finally:
        object.__delattr__(codec, "decode")
