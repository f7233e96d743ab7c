"""The LED generator + density discriminator as one codec (Ben-Dov et al., LED §2-3): no encoder.

The generator ``G(z, η)`` is a one-way flow (:mod:`seqgen.flows`) that reports ``log P_G(y)`` of its own
samples; the discriminator ``N_θ(x) = exp(net(x))`` is an unnormalised density of the data whose
normaliser ``log Z`` is estimated by importance sampling from the generator at the end of training
(:func:`seqgen.training.led.estimate_log_normaliser`) and stored as a buffer. Both live in this one module
so the run directory's ``autoencoder.pt`` holds everything ``seqgen score`` needs: the discriminator's
normalised log-density ``net(x) - log Z`` of any unit.

Vectors (``unit_shape = [D]``): ``z [d] -> inflate with noise to width W -> (square linear, batch norm,
smooth leaky ReLU) × depth -> square linear -> reduce to D`` (Gaussian-neighbour σ), MLP discriminator.
Images (``[C, H, W]``, H and W divisible by 8): ``z [d] -> inflate to C·H·W -> reshape [16C, H/4, W/4] ->
(circular conv, batch norm, activation) -> depth-to-space ×2 -> ... -> circular conv``, DCGAN-style
discriminator (strided convs, leaky ReLU, no batch norm: a density must not depend on the batch).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..flows import (CircularConv2d, DepthToSpace, FlowSequential, FrozenStatsBatchNorm, Inflate, Reduce, Reshape,
                     SmoothLeakyReLU, SquareLinear)
from ..flows.layers import LOG_2PI
from .base import Codec


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """``[B]``: log N(z; 0, I) of ``z [B, d]`` (the default base distribution P(Z))."""
    return -0.5 * (z.square().sum(1) + z.shape[1] * LOG_2PI)


def _vector_generator(latent_dim, out_dim, width, depth, batch_norm, reduce_sigma, alpha, beta):
    layers: list[nn.Module] = [Inflate(width - latent_dim)]
    for _ in range(depth):
        layers += [SquareLinear(width)] + ([FrozenStatsBatchNorm(width)] if batch_norm else [])
        layers += [SmoothLeakyReLU(alpha, beta)]
    layers += [SquareLinear(width), Reduce(out_dim, reduce_sigma, dropped=width - out_dim)]
    return FlowSequential(*layers)


def _image_generator(latent_dim, shape, depth, batch_norm, alpha, beta):
    C, H, W = shape
    layers: list[nn.Module] = [Inflate(C * H * W - latent_dim), Reshape((16 * C, H // 4, W // 4))]
    for c in (16 * C, 4 * C):
        for _ in range(depth):
            layers += [CircularConv2d(c)] + ([FrozenStatsBatchNorm(c)] if batch_norm else [])
            layers += [SmoothLeakyReLU(alpha, beta)]
        layers += [DepthToSpace(2)]
    layers += [CircularConv2d(C)]
    return FlowSequential(*layers)


class _Lipschitz(nn.Module):
    """``L · net(x)`` with every linear/conv layer of ``net`` spectrally normalised (Miyato et al. 2018, through
    torch's ``spectral_norm`` parametrisation): log N_θ is then L-Lipschitz (leaky ReLU is 1-Lipschitz), so
    it cannot grow spikes between the generator's samples that the importance-sampled Ẑ never sees."""

    def __init__(self, net: nn.Sequential, lipschitz: float):
        super().__init__()
        for m in net.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.utils.parametrizations.spectral_norm(m)
        self.net, self.lipschitz = net, float(lipschitz)

    def forward(self, x):
        return self.lipschitz * self.net(x)


def _mlp_discriminator(dim, hidden, layers, lipschitz):
    mods: list[nn.Module] = []
    for a, b in zip([dim] + [hidden] * layers, [hidden] * layers):
        mods += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    net = nn.Sequential(*mods, nn.Linear(hidden, 1))
    return net if lipschitz is None else _Lipschitz(net, lipschitz)


def _conv_discriminator(shape, hidden, lipschitz):
    C, H, W = shape
    net = nn.Sequential(
        nn.Conv2d(C, hidden, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(hidden, 2 * hidden, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * hidden, 4 * hidden, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(4 * hidden * (H // 8) * (W // 8), 1))
    return net if lipschitz is None else _Lipschitz(net, lipschitz)


class LEDGenerator(Codec):
    """LED: one-way-flow generator and exp-network discriminator ``[B, *unit_shape]``.

    Args:
        unit_shape: ``[D]`` for vectors, ``[C, H, W]`` for images (H, W divisible by 8).
        latent_dim: ``d`` of the base distribution P(Z) (default N(0, I)).
        width: vectors only: the generator's width after noise inflation (>= max(d, D)).
        depth: vectors: hidden (linear, norm, activation) blocks; images: conv blocks per resolution.
        batch_norm: frozen-statistics batch norm in the generator (eq. 13).
        reduce_sigma: σ of the Gaussian-neighbour assumption when dropping dimensions (eq. 8); None: the
            dropped components' own batch mean and std (:class:`~seqgen.flows.Reduce`).
        alpha, beta: the activation's slopes (eq. 10; the paper's 5.8 and 1).
        disc_hidden, disc_layers: discriminator width (conv: channels of the first layer) and MLP depth.
        envelope_std: τ of the discriminator's Gaussian envelope (:meth:`log_unnormalised`).
        disc_lipschitz: None, or bound log N_θ's Lipschitz constant by this value (spectral normalisation).
        resample_latents: :meth:`latent_sample` (what the run's prior is fitted on) resamples z by the
            discriminator's pulled-back density; False: plain N(0, I) draws (a fitted ``gaussian`` prior is then
            N(0, I) up to sampling error, the paper's base distribution).
    """

    has_encoder = False
    stochastic_decoder = True  # the inflation noise η
    standard_normal_latents = True  # z lives where the base distribution N(0, I) put it: no standardisation

    def __init__(self, unit_shape: tuple[int, ...] | list[int] = (2,), latent_dim: int = 2, width: int = 16,
                 depth: int = 3, batch_norm: bool = True, reduce_sigma: float | None = None, alpha: float = 5.8,
                 beta: float = 1.0, disc_hidden: int = 128, disc_layers: int = 3, envelope_std: float = 5.0,
                 disc_lipschitz: float | None = 20.0, resample_latents: bool = False):
        super().__init__()
        unit_shape = tuple(int(s) for s in unit_shape)
        self.unit_shape, self.latent_dim = unit_shape, int(latent_dim)
        self.options = dict(width=int(width), depth=int(depth), batch_norm=bool(batch_norm),
                            reduce_sigma=None if reduce_sigma is None else float(reduce_sigma), alpha=float(alpha), beta=float(beta),
                            disc_hidden=int(disc_hidden), disc_layers=int(disc_layers), envelope_std=float(envelope_std),
                            disc_lipschitz=None if disc_lipschitz is None else float(disc_lipschitz),
                            resample_latents=bool(resample_latents))
        if self.latent_dim < 1 or depth < 0 or disc_hidden < 1 or disc_layers < 1 or not envelope_std > 0 \
                or (disc_lipschitz is not None and not disc_lipschitz > 0):
            raise ValueError("need latent_dim >= 1, depth >= 0, disc_hidden >= 1, disc_layers >= 1, envelope_std > 0, disc_lipschitz None or > 0")
        if len(unit_shape) == 1:
            D = unit_shape[0]
            if width < max(D, self.latent_dim):
                raise ValueError(f"width {width} must be at least the latent and data dimensions ({self.latent_dim}, {D})")
            self.generator = _vector_generator(self.latent_dim, D, int(width), int(depth), batch_norm, reduce_sigma,
                                               alpha, beta)
            self.discriminator = _mlp_discriminator(D, int(disc_hidden), int(disc_layers), self.options["disc_lipschitz"])
        elif len(unit_shape) == 3:
            C, H, W = unit_shape
            if H % 8 or W % 8 or self.latent_dim > C * H * W:
                raise ValueError(f"images need H and W divisible by 8 and latent_dim <= C*H*W, got {list(unit_shape)}, "
                                 f"latent_dim {self.latent_dim}")
            self.generator = _image_generator(self.latent_dim, unit_shape, int(depth), batch_norm, alpha, beta)
            self.discriminator = _conv_discriminator(unit_shape, int(disc_hidden), self.options["disc_lipschitz"])
        else:
            raise ValueError(f"unit_shape must be [D] or [C, H, W], got {list(unit_shape)}")
        # log Z of N_θ, estimated by importance sampling at the end of training; NaN until then
        self.register_buffer("log_normaliser", torch.tensor(float("nan")))

    def get_config(self) -> dict:
        return {"unit_shape": list(self.unit_shape), "latent_dim": self.latent_dim, **self.options}

    # ------------------------------------------------------------------ generator (one-way flow)
    def generate(self, z: torch.Tensor, log_pz: torch.Tensor | None = None, eta: torch.Tensor | None = None,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``z [B, d]`` -> ``(y [B, *unit_shape], log P_G(y) [B])``; ``log_pz`` is log P(z) under the base
        distribution (default: N(0, I)); ``eta`` fixes the inflation noise (else drawn, from ``generator``)."""
        logp = standard_normal_log_prob(z) if log_pz is None else log_pz
        inflate, rest = self.generator[0], self.generator[1:]
        x, logp = inflate(z, logp, eta=eta, generator=generator)
        return rest(x, logp)

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` samples from z ~ N(0, I): ``(y [n, *unit_shape], log P_G(y) [n])``."""
        dev = self.log_normaliser.device
        z = torch.randn(n, self.latent_dim, device=dev, generator=generator)
        return self.generate(z, generator=generator)

    # ------------------------------------------------------------------ discriminator (density)
    def log_unnormalised(self, units: torch.Tensor) -> torch.Tensor:
        """``[B]``: log N_θ(x) = net(x) - |x|² / (2 τ²) of ``units [B, *unit_shape]``.

        The Gaussian envelope (τ = ``envelope_std``, our addition, not the paper's) keeps Z finite: a
        leaky-ReLU network is piecewise linear, so exp(net) alone can grow without bound in some direction
        and then no normaliser exists; the envelope's quadratic decay wins at infinity."""
        tau = self.options["envelope_std"]
        return self.discriminator(units).squeeze(-1) - units.flatten(1).square().sum(1) / (2 * tau ** 2)

    def log_density(self, units: torch.Tensor) -> torch.Tensor:
        """``[B]``: the discriminator's normalised log-density log N_θ(x) - log Z (nats)."""
        if not torch.isfinite(self.log_normaliser):
            raise ValueError("the discriminator's normaliser was not estimated (train the model to the end)")
        return self.log_unnormalised(units) - self.log_normaliser

    @torch.no_grad()
    def latent_sample(self, n: int, seed: int = 0, candidates: int = 4) -> np.ndarray:
        """``(n, d)`` latents; with ``resample_latents``, ones whose generated points follow the discriminator's
        density: draw ``candidates · n``
        z ~ N(0, I), weight each by w = N_θ(G(z)) / (Z P_G(G(z))) (the discriminator's density pulled back to z,
        relative to the base), resample ``n`` with replacement. A prior fitted on them (``gmm``) is a learned
        base distribution; ``log P_G`` then uses that prior's ``log_prob`` in place of log N(z; 0, I)."""
        g = torch.Generator(device=self.log_normaliser.device).manual_seed(int(seed))
        if not self.options["resample_latents"]:
            return torch.randn(n, self.latent_dim, generator=g, device=self.log_normaliser.device).cpu().numpy()
        was = self.training
        self.eval()
        z = torch.randn(candidates * n, self.latent_dim, generator=g, device=self.log_normaliser.device)
        logw = torch.cat([self.log_unnormalised(y) - lq for y, lq in
                          (self.generate(zb, generator=g) for zb in z.split(4096))])
        self.train(was)
        p = torch.softmax(logw.double(), 0).cpu().numpy()
        idx = np.random.default_rng(int(seed)).choice(len(p), n, p=p / p.sum())
        return z.cpu().numpy()[idx]

    # ------------------------------------------------------------------ the codec contract
    def encode(self, units: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("the LED generator has no encoder (has_encoder = False)")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z [B, d] -> y [B, *unit_shape]`` with the inflation noise at its mean (η = 0)."""
        eta = z.new_zeros(len(z), self.generator[0].extra)
        return self.generate(z, eta=eta)[0]

    def decode_sample(self, z: torch.Tensor, rng: np.random.Generator, scale: float = 1.0) -> torch.Tensor:
        eta = torch.as_tensor(rng.standard_normal((len(z), self.generator[0].extra)), dtype=z.dtype, device=z.device)
        return self.generate(z, eta=eta * scale)[0]

    def forward(self, units: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("the LED generator has no encoder: it cannot reconstruct units")


def bits_per_dim(log_density: torch.Tensor | np.ndarray, n_dims: int, levels: int = 256) -> np.ndarray:
    """Bits per dimension of values in [0, 1] quantised to ``levels`` bins from a density of the continuous
    values: ``(-log p(x) + D log levels) / (D log 2)`` (the usual dequantised convention)."""
    ld = np.asarray(torch.as_tensor(log_density).detach().cpu(), dtype=np.float64)
    return (-ld + n_dims * math.log(levels)) / (n_dims * math.log(2))
