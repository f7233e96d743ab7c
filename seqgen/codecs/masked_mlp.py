"""MLP autoencoder with a learned latent mask (Mondal et al., LMGAE / "MaskAAE", §3-4).

The encoder's output ``z = E(x) [B, n]`` is masked, ``z̃ = m ⊙ z`` with ``m = 1 − exp(−φ)``, ``φ ≥ 0``
(initialised U(0, 5), the authors' code), and the decoder only ever sees masked vectors: ``x̂ = Dec(z̃)``.
The mask is trained (by :mod:`seqgen.training.lmgae`) to switch spurious dimensions off; a dimension is
*active* when ``m_i ≥ 0.1``.

What the pipeline sees (the :class:`~seqgen.codecs.base.Codec` prior hooks): :meth:`encode` returns the
masked latent ``z̃``; :meth:`to_prior` keeps its active coordinates and divides them by the mask, so a
prior models ``u = z̃_A / m_A`` (``A``: the active set), which LMGAE's critic matched to N(0, I);
:meth:`from_prior` maps back, ``z̃ = m ⊙ pad(u)`` with zeros on the inactive coordinates. LMGAE's own
generation ``Dec(m ⊙ p)``, ``p ~ N(0, I_n)``, is then the ``masked_gaussian`` prior (N(0, I) on ``u``),
except that inactive coordinates are decoded as 0 instead of ``m_i p_i`` with ``m_i < 0.1``.
``mask = False`` is the plain WAE-GP baseline: the same networks, ``m = 1``, every dimension active.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..registry import AUTOENCODERS
from .base import Codec
from .image.mlp import mlp

#: a latent dimension is active when its mask value is at least this (the authors' threshold)
ACTIVE_THRESHOLD = 0.1
#: φ is initialised U(0, PHI_INIT_MAX)
PHI_INIT_MAX = 5.0


class LatentMask(nn.Module):
    """``m = 1 − exp(−φ)`` in [0, 1), ``φ [n] ≥ 0`` (kept so by :meth:`clamp_` after every update)."""

    def __init__(self, n: int):
        super().__init__()
        self.phi = nn.Parameter(torch.rand(n) * PHI_INIT_MAX)

    def forward(self) -> torch.Tensor:
        """The mask ``m [n]``."""
        return -torch.expm1(-self.phi)

    @torch.no_grad()
    def clamp_(self) -> None:
        """Project φ back onto φ ≥ 0 (the constraint of the authors' code)."""
        self.phi.clamp_(min=0.0)

    @torch.no_grad()
    def active(self) -> torch.Tensor:
        """Indices ``[k]`` of the active dimensions (``m_i ≥ 0.1``), ascending."""
        return (self.forward() >= ACTIVE_THRESHOLD).nonzero().squeeze(1)


@AUTOENCODERS.register("masked_mlp")
class MaskedMLPAutoencoder(Codec):
    """MLP autoencoder ``[B, *unit_shape] <-> [B, n]`` with a learned latent mask.

    Args:
        unit_shape: shape of one unit (``[C, H, W]`` images, ``[N]`` vectors); flattened for the MLPs.
        latent_dim: ``n``, the model's latent capacity (authors' MNIST: 48).
        hidden_dims: encoder hidden widths, ReLU (authors: 4 × 1024); the decoder uses them reversed.
        output: "sigmoid" for data in [0, 1] (images), "linear" for real vectors.
        mask: False = no mask (m = 1): the WAE-GP baseline.
    """

    #: the critic matched ``u`` (:meth:`to_prior`) to N(0, I): priors see it unstandardised
    standard_normal_latents = True

    def __init__(self, unit_shape: tuple[int, ...] | list[int] = (1, 28, 28), latent_dim: int = 48,
                 hidden_dims: list[int] | tuple[int, ...] = (1024, 1024, 1024, 1024), output: str = "sigmoid",
                 mask: bool = True):
        super().__init__()
        unit_shape = tuple(int(s) for s in unit_shape)
        hidden = [int(h) for h in hidden_dims]
        if not unit_shape or min(unit_shape) < 1:
            raise ValueError(f"unit_shape must hold positive sizes, got {list(unit_shape)}")
        if int(latent_dim) < 1 or any(h < 1 for h in hidden):
            raise ValueError(f"latent_dim and hidden_dims must be positive, got {latent_dim}, {hidden}")
        if output not in ("sigmoid", "linear"):
            raise ValueError(f"output must be 'sigmoid' or 'linear', got {output!r}")
        self.unit_shape, self.latent_dim, self.hidden_dims = unit_shape, int(latent_dim), hidden
        self.output, self.masked = output, bool(mask)
        sizes = [math.prod(unit_shape), *hidden, self.latent_dim]
        self.encoder = nn.Sequential(nn.Flatten(), *mlp(sizes))
        self.decoder = nn.Sequential(*mlp(sizes[::-1]), *([nn.Sigmoid()] if output == "sigmoid" else []))
        self.latent_mask = LatentMask(self.latent_dim) if self.masked else None

    def get_config(self) -> dict:
        return {"unit_shape": list(self.unit_shape), "latent_dim": self.latent_dim,
                "hidden_dims": list(self.hidden_dims), "output": self.output, "mask": self.masked}

    # ------------------------------------------------------------------ the mask
    def mask(self) -> torch.Tensor:
        """``m [n]`` (ones without a mask)."""
        if self.latent_mask is None:
            return self.encoder[-1].weight.new_ones(self.latent_dim)
        return self.latent_mask()

    def active(self) -> torch.Tensor:
        """Indices of the active dimensions; at least one (the largest ``m_i``) even if every ``m_i < 0.1``,
        so a collapsed mask still leaves a prior something to model."""
        if self.latent_mask is None:
            return torch.arange(self.latent_dim, device=self.encoder[-1].weight.device)
        act = self.latent_mask.active()
        return act if len(act) else self.mask().detach().argmax().reshape(1)

    # ------------------------------------------------------------------ the codec contract
    def embed(self, units: torch.Tensor) -> torch.Tensor:
        """``[B, *unit_shape] -> z [B, n]``, the encoder's output before the mask."""
        return self.encoder(units)

    def encode(self, units: torch.Tensor) -> torch.Tensor:
        """``[B, *unit_shape] -> z̃ = m ⊙ z [B, n]``."""
        return self.embed(units) * self.mask()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Masked latents ``z̃ [B, n] -> [B, *unit_shape]``."""
        return self.decoder(z).reshape(-1, *self.unit_shape)

    @property
    def prior_dim(self) -> int:
        return len(self.active())

    def to_prior(self, z: torch.Tensor) -> torch.Tensor:
        """``z̃ [B, n] -> u = z̃_A / m_A [B, k]`` on the active set ``A``."""
        act = self.active()
        return z[:, act] / self.mask()[act]

    def from_prior(self, u: torch.Tensor) -> torch.Tensor:
        """``u [B, k] -> z̃ [B, n]``: ``m_A ⊙ u`` on the active coordinates, 0 elsewhere."""
        act = self.active()
        return u.new_zeros(len(u), self.latent_dim).index_copy(1, act, u * self.mask()[act])
