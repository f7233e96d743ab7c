"""Mode coverage of 2-d samples (the VEEGAN protocol, Srivastava et al. 2017, used by LED's Table 1) and the
integral of a 2-d log-density over a square by quadrature."""
from __future__ import annotations

from typing import Callable

import numpy as np


def mode_coverage(samples: np.ndarray, centres: np.ndarray, sigma: float, n_std: float = 3.0,
                  min_count: int = 1) -> dict:
    """``samples (n, 2)`` against mixture ``centres (K, 2)`` of std ``sigma``: a sample is *high quality* when
    within ``n_std`` σ of its nearest centre; a mode is *captured* when at least ``min_count`` high-quality
    samples have it as nearest centre. Returns ``{"modes": int, "hq_percent": float, "per_mode": [K]}``."""
    samples, centres = np.asarray(samples, np.float64), np.asarray(centres, np.float64)
    d = np.linalg.norm(samples[:, None, :] - centres[None], axis=2)
    nearest, dist = d.argmin(1), d.min(1)
    hq = dist <= n_std * sigma
    per_mode = np.bincount(nearest[hq], minlength=len(centres))
    return {"modes": int((per_mode >= min_count).sum()), "hq_percent": 100.0 * float(hq.mean()),
            "per_mode": per_mode.tolist()}


def integral_2d(log_density: Callable[[np.ndarray], np.ndarray], half_width: float, n: int,
                batch: int = 65536) -> float:
    """∫ exp(log_density) over ``[-half_width, half_width]²`` by the midpoint rule on an ``n × n`` grid;
    ``log_density`` maps points ``(m, 2)`` to ``(m,)``."""
    h = 2 * half_width / n
    g = -half_width + h * (np.arange(n) + 0.5)
    pts = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    total = 0.0
    for b in range(0, len(pts), batch):
        total += float(np.exp(np.asarray(log_density(pts[b : b + batch]), np.float64)).sum())
    return total * h * h
