"""Parzen-window (isotropic Gaussian KDE) log-likelihood of test data under generated samples: the "KDE score".

A model's samples ``S (M, D)`` define p(x) = 1/M Σ_j N(x; s_j, σ² I), so

    log p(x) = logsumexp_j(-‖x - s_j‖² / 2σ²) - log M - (D/2) log(2π σ²),

evaluated in blocks (log-sum-exp carried across sample blocks, never an (N, M, D) tensor) in float64
(at σ = 0.01 and D = 784 the exponents are ~-10⁶: plain exp underflows, logsumexp does not).
Reported as the mean over test points ± its standard error. Known protocols (:data:`PROTOCOLS`):

- ``"paper_text"``: Subakan et al.'s text: 1,000 samples, σ = 0.01, one draw;
- ``"authors_code"``: the authors' code: 1,000 samples, σ = 0.2, averaged over 10 independent draws;
- ``"grid_search"``: Goodfellow et al. (2014)'s Parzen protocol (their Table 1, reused as Table 2 by
  later papers): 10,000 samples, σ chosen on a validation split from ``logspace(-1, 0, 10)``.

The number depends strongly on σ and on M and is a poor measure of sample quality (Theis et al.,
2016, "A note on the evaluation of generative models"); compare only within one protocol.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class KDEProtocol:
    """How to compute a KDE score: samples per draw, bandwidth(s), draws to average."""

    n_samples: int = 1000
    sigmas: tuple[float, ...] = (0.2,)  # one value = fixed bandwidth; several = grid searched on validation data
    repeats: int = 1
    description: str = field(default="", compare=False)

    def __post_init__(self):
        if self.n_samples < 1 or self.repeats < 1 or not self.sigmas or min(self.sigmas) <= 0:
            raise ValueError(f"need n_samples >= 1, repeats >= 1 and positive sigmas, got {self}")


PROTOCOLS = {
    "paper_text": KDEProtocol(1000, (0.01,), 1, "Subakan et al. text: 1,000 samples, sigma 0.01"),
    "authors_code": KDEProtocol(1000, (0.2,), 10, "Subakan et al. code: 1,000 samples, sigma 0.2, mean of 10 draws"),
    "grid_search": KDEProtocol(10000, tuple(float(s) for s in np.logspace(-1.0, 0.0, 10)), 1,
                               "Goodfellow et al. 2014: 10,000 samples, sigma grid-searched on validation data"),
}


def parzen_log_prob(x: np.ndarray, samples: np.ndarray, sigma: float, *, batch_size: int = 512,
                    sample_block: int = 4096, device: str = "cpu") -> np.ndarray:
    """Per-point log-density ``(N,)`` of ``x (N, D)`` (or ``(N, ...)``, flattened) under the isotropic
    Gaussian KDE with centres ``samples (M, D)`` and bandwidth ``sigma``, in nats."""
    import torch

    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    x = torch.as_tensor(np.asarray(x), dtype=torch.float64, device=device).flatten(1)
    s = torch.as_tensor(np.asarray(samples), dtype=torch.float64, device=device).flatten(1)
    if x.shape[1] != s.shape[1] or len(s) == 0:
        raise ValueError(f"need x (N, D) and samples (M >= 1, D) of the same D, got {tuple(x.shape)}, {tuple(s.shape)}")
    n, d = x.shape
    m = s.shape[0]
    s2 = s.square().sum(1)
    const = -math.log(m) - 0.5 * d * math.log(2.0 * math.pi * sigma**2)
    out = torch.empty(n, dtype=torch.float64, device=device)
    with torch.no_grad():
        for a in range(0, n, batch_size):
            xb = x[a : a + batch_size]
            x2 = xb.square().sum(1, keepdim=True)
            acc = torch.full((len(xb),), -math.inf, dtype=torch.float64, device=device)
            for b in range(0, m, sample_block):
                # ‖x - s‖² expanded; clamp the round-off negatives of near-identical pairs
                d2 = (x2 + s2[None, b : b + sample_block] - 2.0 * xb @ s[b : b + sample_block].T).clamp_min(0.0)
                acc = torch.logaddexp(acc, torch.logsumexp(-d2 / (2.0 * sigma**2), dim=1))
            out[a : a + batch_size] = acc + const
    return out.cpu().numpy()


def mean_sem(v: np.ndarray) -> tuple[float, float]:
    """Mean and its standard error (std with ddof=1 / sqrt(n)); SE is 0 for one value."""
    v = np.asarray(v, dtype=np.float64).ravel()
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0


def select_bandwidth(x_val: np.ndarray, samples: np.ndarray, sigmas, **kw) -> tuple[float, dict[float, float]]:
    """The σ in ``sigmas`` with the highest mean validation log-likelihood, and ``{σ: mean ll}`` for all of them."""
    grid = {float(s): float(parzen_log_prob(x_val, samples, float(s), **kw).mean()) for s in sigmas}
    return max(grid, key=grid.get), grid


def kde_score(x_test: np.ndarray, samples: np.ndarray | Callable[[int, int], np.ndarray],
              protocol: KDEProtocol | str = "authors_code", *, x_val: np.ndarray | None = None, seed: int = 0,
              **kw) -> dict:
    """KDE score of ``x_test (N, D)`` under a model's samples, following ``protocol``.

    ``samples``: an array ``(M, D)`` (used as-is: one draw; M should equal the protocol's
    ``n_samples``) or a sampler ``fn(n, seed) -> (n, D)`` called once per repeat with seeds
    ``seed, seed + 1, ...``. A σ grid needs ``x_val`` (validation data, never the test set).
    Returns ``{"log_likelihood", "sem", "sigma", "repeat_means", "grid", "n_samples", "n_test",
    "repeats", "protocol"}``: mean per-point log-likelihood (averaged over repeats), its standard error
    over test points, and the chosen σ.
    """
    proto = PROTOCOLS[protocol] if isinstance(protocol, str) else protocol
    if not callable(samples) and proto.repeats > 1:
        raise ValueError(f"protocol with {proto.repeats} repeats needs a sampler fn(n, seed), not one array")
    if len(proto.sigmas) > 1 and x_val is None:
        raise ValueError("a bandwidth grid needs validation data x_val")
    per_point = np.zeros(len(x_test))
    repeat_means, grid, sigma = [], None, proto.sigmas[0]
    for r in range(proto.repeats):
        s = samples(proto.n_samples, seed + r) if callable(samples) else np.asarray(samples)
        if len(proto.sigmas) > 1 and r == 0:  # bandwidth chosen once, on the first draw
            sigma, grid = select_bandwidth(x_val, s, proto.sigmas, **kw)
        ll = parzen_log_prob(x_test, s, sigma, **kw)
        repeat_means.append(float(ll.mean()))
        per_point += ll / proto.repeats
    mean, sem = mean_sem(per_point)
    return {"log_likelihood": mean, "sem": sem, "sigma": sigma, "repeat_means": repeat_means, "grid": grid,
            "n_samples": int(len(s)), "n_test": int(len(x_test)), "repeats": proto.repeats,
            "protocol": proto.description or repr(proto)}
