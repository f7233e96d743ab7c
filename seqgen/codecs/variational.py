"""The variational part seqgen's VAE baselines share (Kingma & Welling 2014): a Gaussian posterior q(z|x),
the reparameterised sample in training and its KL to the fixed N(0, I) as the codec's regulariser."""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(μ, diag σ²) || N(0, I))`` per row (eq. 10): ``mu, logvar [B, K] -> [B]`` (nats)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


class GaussianPosterior(ABC):
    """Mixin for a :class:`~seqgen.codecs.base.Codec` with :meth:`posterior` and a KL weight ``self.beta``:
    ``encode`` is the posterior mean (priors fit on it like on any codec's latents, unstandardised), a training
    ``forward`` decodes ``z = μ + σ ε`` and keeps ``beta · mean KL`` for :meth:`regulariser`; an eval one
    decodes the mean. The noise comes from torch's global RNG (seeded by the pipeline)."""

    standard_normal_latents = True
    beta: float
    _kl: torch.Tensor | None = None

    @abstractmethod
    def posterior(self, units: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``units [B, *unit_shape]`` -> mean and log-variance ``[B, D]`` of q(z | x)."""

    def encode(self, units: torch.Tensor) -> torch.Tensor:
        return self.posterior(units)[0]

    def forward(self, units: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.posterior(units)
        if not self.training:
            self._kl = None
            return self.decode(mu)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        self._kl = self.beta * gaussian_kl(mu, logvar).mean()
        return self.decode(z)

    def regulariser(self) -> torch.Tensor | None:
        """``beta · KL`` (batch mean) from the last training :meth:`forward`, None after an eval one."""
        return self._kl
