"""Checks of a loaded prior's parameters (``check_state``): shapes, probability rows, covariances.

Each raises ``ValueError`` naming the array; ``Prior.load`` turns that into one line naming the file.
"""
from __future__ import annotations

import numpy as np

#: how far a saved probability row may sum from 1 (EM leaves ~1e-12)
ROW_SUM_TOL = 1e-6


def check_shape(name: str, a: np.ndarray, shape: tuple) -> None:
    if np.shape(a) != tuple(shape):
        raise ValueError(f"{name} has shape {np.shape(a)}, expected {tuple(shape)}")


def check_probabilities(name: str, p: np.ndarray) -> None:
    """Every row (last axis) of ``p`` is a probability vector: finite, >= 0, sums to 1. Sampling and
    scoring then see the same distribution (sampling would otherwise renormalise what scoring does not)."""
    p = np.asarray(p, dtype=np.float64)
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError(f"{name} must hold finite probabilities >= 0")
    dev = np.abs(p.sum(axis=-1) - 1.0).max(initial=0.0)
    if dev > ROW_SUM_TOL:
        raise ValueError(f"{name} rows must sum to 1 (off by up to {dev:.3g})")


def check_covariances(name: str, cov: np.ndarray, full: bool) -> None:
    """Diagonal/spherical variances (``full`` False) must be > 0; full matrices ``(..., D, D)``
    symmetric positive definite."""
    cov = np.asarray(cov, dtype=np.float64)
    if not np.isfinite(cov).all():
        raise ValueError(f"{name} holds NaN or Inf")
    if not full:
        if (cov <= 0).any():
            raise ValueError(f"{name}: variances must be positive")
        return
    if not np.allclose(cov, np.swapaxes(cov, -1, -2), rtol=1e-6, atol=1e-9):
        raise ValueError(f"{name}: covariance matrices must be symmetric")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name}: covariance matrices must be positive definite") from None
