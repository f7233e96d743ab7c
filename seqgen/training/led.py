"""The LED objective (Ben-Dov et al., §2): maximum likelihood of a discriminator density N_θ = exp(net),
normalised by importance sampling from a generator that knows its own density.

Discriminator (eq. 3): maximise ``(1/n) Σ_i log N_θ(x_i) - log Ẑ`` with the importance-sampled normaliser
``Ẑ = (1/M) Σ_j N_θ(y_j) / P_G(y_j)``, ``y_j ~ P_G`` (unbiased for Z, computed with log-sum-exp; with M = 1
the gradient is the WGAN critic's). Generator (eq. 5): minimise KL(P_G ‖ N_θ / Z), i.e. maximise
``k · H(P_G) + E log N_θ(G(z))`` with ``H(P_G) = -E log P_G(y)`` from the one-way flow; ``k`` is the entropy
weight of appendix B.4 (1 = the plain KL).
"""
from __future__ import annotations

import math

import torch

from ..codecs.base import Codec
from ..registry import OBJECTIVES
from .objective import Objective


def importance_log_normaliser(log_n: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """log Ẑ = log (1/M) Σ_j exp(log_n_j - log_q_j) for ``M`` samples ``y_j ~ q``: ``log_n [M]`` is
    log N_θ(y_j), ``log_q [M]`` their proposal log-density log P_G(y_j)."""
    return torch.logsumexp(log_n - log_q, 0) - math.log(len(log_n))


def discriminator_loss(log_n_data: torch.Tensor, log_n_gen: torch.Tensor, log_q_gen: torch.Tensor) -> torch.Tensor:
    """Negative eq. 3 per data point: ``-(mean log N_θ(x) - log Ẑ)``, an estimate of the data's NLL (nats)."""
    return importance_log_normaliser(log_n_gen, log_q_gen) - log_n_data.mean()


def generator_loss(log_n_gen: torch.Tensor, log_q_gen: torch.Tensor, entropy_weight: float = 1.0) -> torch.Tensor:
    """Negative eq. 5: ``k · E log P_G(y) - E log N_θ(y)`` over generated ``y`` (= KL(P_G ‖ N_θ/Z) - log Z at k = 1)."""
    return entropy_weight * log_q_gen.mean() - log_n_gen.mean()


@torch.no_grad()
def estimate_log_normaliser(codec: Codec, n_samples: int, batch_size: int = 4096,
                            generator: torch.Generator | None = None) -> float:
    """log Z of the codec's discriminator from ``n_samples`` draws of its generator (in eval mode)."""
    was = codec.training
    codec.eval()
    terms = []
    for b in range(0, n_samples, batch_size):
        y, log_q = codec.sample(min(batch_size, n_samples - b), generator=generator)
        terms.append(codec.log_unnormalised(y) - log_q)
    codec.train(was)
    w = torch.cat(terms).double()
    return float(torch.logsumexp(w, 0) - math.log(len(w)))


@OBJECTIVES.register("led")
class LED(Objective):
    """Alternating updates, Adam (lr from ``[train] lr``; the paper's 1e-3, β = (0.5, 0.999): our choice of
    the GAN convention) on the codec's ``discriminator`` and ``generator``.

    Args:
        importance_samples: ``M`` generated samples per discriminator step (paper: 1, 64, 256).
        entropy_weight: ``k`` on H(P_G) in the generator step (appendix B.4).
        generator_samples: generated samples per generator step (default: ``importance_samples``, at least 64).
        discriminator_steps: discriminator updates per generator update.
        normaliser_samples: generated samples for log Z after every epoch (stored in the codec: the last
            epoch's is the one ``seqgen score`` uses).
    """

    def __init__(self, codec: Codec, representation=None, importance_samples: int = 64, entropy_weight: float = 1.0,
                 generator_samples: int | None = None, discriminator_steps: int = 1, normaliser_samples: int = 16384):
        super().__init__(codec)
        if codec.has_encoder:
            raise ValueError(f"the led objective needs an encoder-free generator codec (autoencoder.type = 'led'), "
                             f"got {type(codec).__name__}")
        if importance_samples < 1 or discriminator_steps < 1 or normaliser_samples < 1 or not entropy_weight >= 0:
            raise ValueError("need importance_samples, discriminator_steps, normaliser_samples >= 1 and entropy_weight >= 0")
        self.M, self.k = int(importance_samples), float(entropy_weight)
        self.n_gen = int(generator_samples) if generator_samples else max(self.M, 64)
        self.d_steps, self.n_norm = int(discriminator_steps), int(normaliser_samples)

    def configure(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        return {"discriminator": torch.optim.Adam(self.module.discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
                "generator": torch.optim.Adam(self.module.generator.parameters(), lr=lr, betas=(0.5, 0.999))}

    def step(self, idx, units, optimisers) -> dict[str, float]:
        codec = self.module
        x = units[idx[:, 0]]
        for _ in range(self.d_steps):
            with torch.no_grad():
                y, log_q = codec.sample(self.M)
            d_loss = discriminator_loss(codec.log_unnormalised(x), codec.log_unnormalised(y), log_q)
            opt = optimisers["discriminator"]
            opt.zero_grad(set_to_none=True)
            d_loss.backward()
            opt.step()
        y, log_q = codec.sample(self.n_gen)
        g_loss = generator_loss(codec.log_unnormalised(y), log_q, self.k)
        opt = optimisers["generator"]
        opt.zero_grad(set_to_none=True)
        g_loss.backward()
        opt.step()
        return {"loss": d_loss.item(), "generator_loss": g_loss.item(), "entropy": -log_q.mean().item()}

    @torch.no_grad()
    def validate(self, idx, units, batch_size) -> dict[str, float]:
        """Re-estimate log Z with ``normaliser_samples`` draws, store it in the codec, and report the held-out
        negative log-likelihood under the normalised discriminator (nats per unit)."""
        codec = self.module
        codec.log_normaliser.fill_(estimate_log_normaliser(codec, self.n_norm))
        flat = idx[:, 0][idx[:, 0] >= 0]
        ll = torch.cat([codec.log_density(units[flat[b : b + batch_size]]) for b in range(0, len(flat), batch_size)])
        return {"valid_loss": -ll.mean().item(), "log_normaliser": codec.log_normaliser.item()}

    def settings(self) -> dict:
        return {"importance_samples": self.M, "entropy_weight": self.k, "generator_samples": self.n_gen,
                "discriminator_steps": self.d_steps, "normaliser_samples": self.n_norm}
