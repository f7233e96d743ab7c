"""Variational baseline: the same conv encoder/decoder, a Gaussian posterior q(z|x) per frame
and a KL term to the fixed prior N(0, I) (Kingma & Welling 2014, Eq. 10) — the "simple fixed base
distribution" the paper argues against, in its strongest form.

``encode`` returns the posterior mean, so latents, priors fitted on them (the paper's HMM, on the VAE's
means) and generation work unchanged; the pipeline skips standardisation for it
(``standard_normal_latents``, declared by :class:`~seqgen.codecs.base.Codec`), so ``prior.type = "gaussian"`` with ``fixed = true`` samples N(0, I).
"""
from __future__ import annotations

import torch
from torch import nn

from ...registry import AUTOENCODERS
from ..variational import GaussianPosterior
from .conv1d import ConvAutoencoder


@AUTOENCODERS.register("vae")
class ConvVAE(GaussianPosterior, ConvAutoencoder):
    """:class:`ConvAutoencoder` + log-variance head; ``beta`` weights the KL per frame (nats, summed
    over latent dims) against the reconstruction loss. After a training ``forward``, :meth:`regulariser`
    gives ``beta * KL`` averaged over frames; the reconstruction objective adds it. The reparameterisation noise
    comes from torch's global RNG (seeded by the pipeline), which epoch checkpoints do not store: a
    ``--resume``d VAE run is not bit-identical to an uninterrupted one (the plain autoencoder's is)."""

    def __init__(self, *args, beta: float = 0.01, **kwargs):
        super().__init__(*args, **kwargs)
        if self.noise is not None:
            raise ValueError("the VAE baseline has no band split: its latents must all be Gaussian codes "
                             "(leave noise_bands at 0)")
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.beta = float(beta)
        self.to_logvar = nn.Linear(self.to_latent.in_features, self.latent_dim)
        nn.init.zeros_(self.to_logvar.weight)
        nn.init.constant_(self.to_logvar.bias, -4.0)  # start near a deterministic code

    def get_config(self) -> dict:
        return {**super().get_config(), "beta": self.beta}

    def posterior(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``frames [B, N]`` -> mean and log-variance ``[B, D]`` of q(z | frame)."""
        h = self.features(frames)
        return self.to_latent(h), self.to_logvar(h).clamp(-12.0, 8.0)
