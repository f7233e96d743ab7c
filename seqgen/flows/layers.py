"""One-way flow layers (LED §3, eq. 7-13): each maps ``(x, logp) -> (y, logp - log|det J|)``.

A one-way flow tracks the log-density of its output through every layer without being invertible as a
whole: the layers are bijections of their input (square linear maps, a smooth leaky activation, batch
norm with frozen statistics), except :class:`Inflate` (adds noise dimensions: exact, eq. 7) and
:class:`Reduce` (drops dimensions under the paper's Gaussian-neighbour assumption: approximate, eq. 8).
``logp`` is the log-density of ``x`` per sample, shape ``[B]``; ``x`` is ``[B, D]`` (or ``[B, C, H, W]``
for the convolutional layers of :mod:`.conv`).
"""
from __future__ import annotations

import math

import torch
from torch import nn

LOG_2PI = math.log(2 * math.pi)


class FlowLayer(nn.Module):
    """Base class: ``forward(x, logp) -> (y, logp_y)`` with ``logp_y = logp - log|det dy/dx|``."""

    def forward(self, x: torch.Tensor, logp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class FlowSequential(nn.Sequential):
    """Layers applied in turn, the log-density carried along."""

    def forward(self, x: torch.Tensor, logp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for layer in self:
            x, logp = layer(x, logp)
        return x, logp


def _per_sample(t: torch.Tensor) -> torch.Tensor:
    """Sum over every axis but the batch axis."""
    return t.flatten(1).sum(1)


class SquareLinear(FlowLayer):
    """``y = x Wᵀ + b`` with a square ``W [D, D]`` (eq. 9): log|det J| = log|det W| (``slogdet``).

    Initialised orthogonal (log|det W| = 0), so a deep stack starts volume-preserving."""

    def __init__(self, dim: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(dim, dim))
        nn.init.orthogonal_(self.weight)
        self.bias = nn.Parameter(torch.zeros(dim)) if bias else None

    def forward(self, x, logp):
        y = nn.functional.linear(x, self.weight, self.bias)
        return y, logp - torch.linalg.slogdet(self.weight).logabsdet


class SmoothLeakyReLU(FlowLayer):
    """The smooth ReLU-like activation of eq. 10-11, element-wise and strictly increasing:

        L(u) = (1/α) log(e^{α(u-u0)} + e^{β(u-u0)}) - t0,
        L'(u) = (α σ(s) + β (1 - σ(s))) / α,  s = (α - β)(u - u0),

    slope 1 for large ``u`` and β/α for very negative ``u`` (a smoothed leaky ReLU). The paper gives
    α = 5.8, β = 1; its u0 and t0 place the curve: we take ``u0 = 0`` and ``t0 = log(2)/α`` so that
    L(0) = 0 (our choice, stated; any u0, t0 give the same Jacobian shape)."""

    def __init__(self, alpha: float = 5.8, beta: float = 1.0, u0: float = 0.0, t0: float | None = None):
        super().__init__()
        if not alpha > beta > 0:
            raise ValueError(f"need alpha > beta > 0, got {alpha}, {beta}")
        self.alpha, self.beta, self.u0 = float(alpha), float(beta), float(u0)
        self.t0 = math.log(2.0) / self.alpha if t0 is None else float(t0)

    def forward(self, x, logp):
        v = x - self.u0
        a, b = self.alpha, self.beta
        y = torch.logaddexp(a * v, b * v) / a - self.t0
        s = torch.sigmoid((a - b) * v)
        log_slope = torch.log((a * s + b * (1 - s)) / a)
        return y, logp - _per_sample(log_slope)


class FrozenStatsBatchNorm(FlowLayer):
    """Batch norm whose batch statistics are treated as constants (eq. 13): in training the batch mean and
    variance normalise (and update running averages), but the Jacobian is the diagonal
    ``γ / sqrt(var + eps)``, the same as in evaluation with the running statistics.

    Works on ``[B, D]`` (features) and ``[B, C, H, W]`` (per channel; the log-det counts every pixel)."""

    def __init__(self, num_features: int, eps: float = 1e-4, momentum: float = 0.05):
        super().__init__()
        self.eps, self.momentum = float(eps), float(momentum)
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x, logp):
        axes = [0] + list(range(2, x.ndim))
        shape = [1, -1] + [1] * (x.ndim - 2)
        if self.training and x.shape[0] > 1:
            mean = x.mean(axes).detach()
            var = x.var(axes, unbiased=False).detach()
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var, self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.weight / torch.sqrt(var + self.eps)
        y = (x - mean.view(shape)) * scale.view(shape) + self.bias.view(shape)
        pixels = math.prod(x.shape[2:]) if x.ndim > 2 else 1
        return y, logp - pixels * torch.log(scale.abs()).sum()


class Inflate(FlowLayer):
    """Dimensionality inflation (eq. 7): append ``extra`` components of noise ``η ~ N(0, σ_η² I)``; the joint
    density is the product, log p(x, η) = log p(x) + log N(η; 0, σ_η² I) — exact.

    ``eta`` may be passed (a fixed draw, for tests and reproducible sampling); otherwise it is drawn with
    ``torch.randn`` (or from ``generator``)."""

    def __init__(self, extra: int, noise_std: float = 1.0):
        super().__init__()
        if extra < 0 or not noise_std > 0:
            raise ValueError(f"need extra >= 0 and noise_std > 0, got {extra}, {noise_std}")
        self.extra, self.noise_std = int(extra), float(noise_std)

    def log_noise(self, eta: torch.Tensor) -> torch.Tensor:
        """``[B]``: log N(η; 0, σ_η² I) of ``eta [B, extra]``."""
        s = self.noise_std
        return -0.5 * ((eta / s).square().sum(1) + self.extra * (LOG_2PI + 2 * math.log(s)))

    def forward(self, x, logp, eta: torch.Tensor | None = None, generator: torch.Generator | None = None):
        if eta is None:
            eta = torch.randn(x.shape[0], self.extra, device=x.device, dtype=x.dtype, generator=generator)
            eta = eta * self.noise_std
        return torch.cat([x, eta], 1), logp + self.log_noise(eta)


class Reduce(FlowLayer):
    """Dimensionality reduction (eq. 8): keep the first ``keep`` components, drop the other ``k``.

    The marginal p(y1) = ∫ p(y1, y2) dy2 has no closed form; the paper assumes the joint density is, along
    the dropped directions, a Gaussian around the point reached: p(y1, y2) ≈ p(y1) N(y2; μ, σ² I), so
    log p(y1) ≈ log p(y1, y2) - log N(y2; μ, σ² I) — exact when y2 is Gaussian and independent of y1.

    ``sigma`` a number: the paper's tunable σ, evaluated at the neighbourhood's centre (μ = y2), i.e.
    ``+ (k/2) log(2π σ²)``. ``sigma=None``: μ and σ per dropped component are the batch mean and std (with
    their gradient in training, running averages in evaluation, like batch norm). We default to the latter:
    with a fixed σ the correction is a constant, so a generator maximising its entropy H(P_G) gains entropy
    for free by spreading the dropped components (it does so: our 2-d runs' log P_G drifted by tens of
    nats); with the batch σ that spread is paid back in the correction."""

    def __init__(self, keep: int, sigma: float | None = None, momentum: float = 0.05, dropped: int = 0):
        super().__init__()
        if keep < 1 or (sigma is not None and not sigma > 0):
            raise ValueError(f"need keep >= 1 and sigma None or > 0, got {keep}, {sigma}")
        self.keep, self.sigma, self.momentum = int(keep), None if sigma is None else float(sigma), float(momentum)
        self.register_buffer("running_mean", torch.zeros(dropped))
        self.register_buffer("running_var", torch.ones(dropped))

    def forward(self, x, logp):
        y1, y2 = x[:, : self.keep], x[:, self.keep :]
        k = y2.shape[1]
        if self.sigma is not None or k == 0:
            return y1, logp + 0.5 * k * (LOG_2PI + 2 * math.log(self.sigma or 1.0))
        if k != len(self.running_mean):
            raise ValueError(f"built for {len(self.running_mean)} dropped components, got {k}")
        if self.training and x.shape[0] > 1:
            mean, var = y2.mean(0), y2.var(0, unbiased=False)
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(var.detach(), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        var = var + 1e-6
        log_neighbour = -0.5 * ((y2 - mean).square() / var + torch.log(var) + LOG_2PI).sum(1)
        return y1, logp - log_neighbour
