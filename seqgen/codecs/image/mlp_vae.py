"""Fully connected VAE baseline for images, the same ``N -> 600 -> K`` sizes as the invertible perceptron,
with the fixed N(0, I) prior the paper argues against (Kingma & Welling 2014).

Encoder ``x [B, N] -> tanh(600) -> (μ, log σ²) [B, K]``; decoder ``z -> tanh(600) -> sigmoid(N)``. A training
``forward`` samples ``z = μ + σ ε`` (reparameterisation) and stores ``beta · KL(q(z|x) || N(0, I))``
(eq. 10 of Kingma & Welling: ``½ Σ_k (μ_k² + σ_k² − 1 − log σ_k²)`` per image, averaged over the batch)
for :meth:`MLPVAE.regulariser`; ``encode`` returns the posterior mean, so priors fit on it like on any
codec's latents (``standard_normal_latents``: the pipeline does not standardise them).

``beta`` and the reconstruction loss: the pipeline's loss is the *per-pixel* mean squared error, and
the ELBO of a Gaussian likelihood with pixel variance σ_x² is proportional to
``MSE + (2 σ_x² / N) · KL``; the default ``beta = 1e-4`` is σ_x ≈ 0.2 for N = 784.
Mirrors the audio VAE (:mod:`seqgen.codecs.audio.vae`), including the log-variance clamp and its
near-deterministic initial posterior.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ...registry import AUTOENCODERS
from ..base import Codec
from ..variational import GaussianPosterior


@AUTOENCODERS.register("mlp_vae")
class MLPVAE(GaussianPosterior, Codec):
    """MLP VAE on flattened images ``[B, C, H, W]``.

    Args:
        unit_shape: ``[C, H, W]`` of one image.
        latent_dim: ``K`` (paper: 20).
        hidden_dim: width of the one hidden layer on each side (paper: 600).
        beta: weight of the KL (nats per image) against the per-pixel MSE; ``>= 0``.
    """

    def __init__(
        self,
        unit_shape: tuple[int, ...] | list[int] = (1, 28, 28),
        latent_dim: int = 20,
        hidden_dim: int = 600,
        beta: float = 1e-4,
    ):
        super().__init__()
        unit_shape = tuple(int(s) for s in unit_shape)
        if len(unit_shape) != 3 or min(unit_shape) < 1:
            raise ValueError(f"unit_shape must be [C, H, W] with positive sizes, got {list(unit_shape)}")
        if int(latent_dim) < 1 or int(hidden_dim) < 1:
            raise ValueError(f"latent_dim and hidden_dim must be positive, got {latent_dim}, {hidden_dim}")
        if not (math.isfinite(beta) and beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {beta}")
        self.unit_shape, self.latent_dim, self.hidden_dim = unit_shape, int(latent_dim), int(hidden_dim)
        self.beta = float(beta)
        n = math.prod(unit_shape)
        self.enc = nn.Sequential(nn.Linear(n, self.hidden_dim), nn.Tanh())
        self.to_mu = nn.Linear(self.hidden_dim, self.latent_dim)
        self.to_logvar = nn.Linear(self.hidden_dim, self.latent_dim)
        self.dec = nn.Sequential(
            nn.Linear(self.latent_dim, self.hidden_dim), nn.Tanh(), nn.Linear(self.hidden_dim, n), nn.Sigmoid()
        )
        nn.init.zeros_(self.to_logvar.weight)
        nn.init.constant_(self.to_logvar.bias, -4.0)  # start near a deterministic code (as the audio VAE)

    def get_config(self) -> dict:
        return {"unit_shape": list(self.unit_shape), "latent_dim": self.latent_dim,
                "hidden_dim": self.hidden_dim, "beta": self.beta}

    def posterior(self, units: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``units [B, C, H, W]`` -> mean and log-variance ``[B, K]`` of q(z | x)."""
        h = self.enc(units.reshape(units.shape[0], -1))
        return self.to_mu(h), self.to_logvar(h).clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z [B, K]`` -> ``[B, C, H, W]`` in (0, 1)."""
        return self.dec(z).reshape(-1, *self.unit_shape)
