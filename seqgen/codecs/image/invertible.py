"""Invertible activations for the invertible perceptron: tanh and sigmoid continued by their tangent lines.

The paper's invertible perceptron (Subakan et al., MNIST experiment) decodes with tanh / sigmoid and encodes with their
inverses. A plain tanh or sigmoid is a bijection onto an open interval only, so a target outside it (an
encoder input that is not exactly a decoder output, or a pixel at 0 / 1, sigmoid's asymptotes) has no
preimage. Here each activation ``f`` follows the original on ``|u| <= a`` and continues outside by its
tangent line at ``±a``::

    g(u) = f(u)                     |u| <= a
    g(u) = f(±a) + s (u ∓ a)        ±u > a,     s = f'(a) = f'(-a)   (f' is even for tanh and sigmoid)

which in one formula is ``g(u) = f(c) + s (u - c)`` with ``c = clamp(u, -a, a)``. ``g`` is a strictly
increasing C¹ bijection R -> R (value and first derivative agree at ±a; the second derivative jumps), so
its inverse and log-derivative are total::

    g⁻¹(y) = f⁻¹(d) + (y - d) / s,  d = clamp(y, f(-a), f(a))
    log g'(u) = log f'(u)  (|u| <= a),  log s  otherwise

Thresholds (defaults, constructor arguments): tanh ``a = 2.5`` (s = 1 - tanh²(2.5) ≈ 0.0266, inner range
|y| <= 0.9866); sigmoid ``a = 4`` (s = σ(4)σ(-4) ≈ 0.0177, inner range [0.0180, 0.9820]). With the
leaky sigmoid the pixel values 0 and 1 are ordinary points of the linear tails, at ``u = ∓(a + 1/σ(a))``
(≈ ∓5.018 for a = 4): black and white pixels are invertible without any epsilon.

All functions are elementwise: any shape in, the same shape out.
"""
from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F


class TangentContinued(nn.Module):
    """Base class: ``f`` on ``[-a, a]``, its tangent lines outside. Subclasses give ``f``, ``f⁻¹`` and
    ``log f'`` on the inner range (as ``_f``, ``_f_inv``, ``_log_df``) and must have an even ``f'``."""

    def __init__(self, threshold: float):
        super().__init__()
        if not (math.isfinite(threshold) and threshold > 0):
            raise ValueError(f"threshold must be a positive finite number, got {threshold}")
        self.threshold = float(threshold)
        a = torch.tensor(self.threshold, dtype=torch.float64, device="cpu")  # also under a meta-device build
        # Python floats, so every dtype (float32 / float64) uses them at its own precision
        self.slope = float(self._log_df(a).exp())
        self.log_slope = float(self._log_df(a))
        self.y_lo, self.y_hi = float(self._f(-a)), float(self._f(a))

    # inner-range pieces ------------------------------------------------------------------
    @staticmethod
    def _f(u: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @staticmethod
    def _f_inv(y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @staticmethod
    def _log_df(u: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # the continued map -------------------------------------------------------------------
    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """``g(u) = f(c) + s (u - c)``, ``c = clamp(u, -a, a)``."""
        c = u.clamp(-self.threshold, self.threshold)
        return self._f(c) + self.slope * (u - c)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Exact ``g⁻¹(y) = f⁻¹(d) + (y - d)/s``, ``d = clamp(y, f(-a), f(a))``; defined for every real ``y``.
        ``f⁻¹`` only ever sees the clamped ``d``, so no inf/NaN arises (nor in its gradient)."""
        d = y.clamp(self.y_lo, self.y_hi)
        return self._f_inv(d) + (y - d) / self.slope

    def log_derivative(self, u: torch.Tensor) -> torch.Tensor:
        """``log g'(u)``: ``log f'(u)`` inside ``[-a, a]``, ``log s`` outside (equal at ±a: C¹)."""
        c = u.clamp(-self.threshold, self.threshold)
        inside = u.abs() <= self.threshold
        return torch.where(inside, self._log_df(c), torch.full_like(u, self.log_slope))

    def derivative(self, u: torch.Tensor) -> torch.Tensor:
        """``g'(u)``."""
        return self.log_derivative(u).exp()

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, slope={self.slope:.4g}"


class LeakyTanh(TangentContinued):
    """tanh on ``|u| <= a`` (default 2.5), tangent lines of slope ``1 - tanh²(a)`` outside."""

    def __init__(self, threshold: float = 2.5):
        super().__init__(threshold)

    @staticmethod
    def _f(u):
        return torch.tanh(u)

    @staticmethod
    def _f_inv(y):
        return torch.atanh(y)

    @staticmethod
    def _log_df(u):
        # log(1 - tanh²u) = log(4) - 2|u| - 2 softplus(-2|u|): no cancellation for large |u|
        v = u.abs()
        return math.log(4.0) - 2.0 * v - 2.0 * F.softplus(-2.0 * v)


class LeakySigmoid(TangentContinued):
    """The logistic sigmoid on ``|u| <= a`` (default 4), tangent lines of slope ``σ(a)σ(-a)`` outside."""

    def __init__(self, threshold: float = 4.0):
        super().__init__(threshold)

    @staticmethod
    def _f(u):
        return torch.sigmoid(u)

    @staticmethod
    def _f_inv(y):
        return torch.logit(y)

    @staticmethod
    def _log_df(u):
        # σ'(u) = σ(u) σ(-u)
        return F.logsigmoid(u) + F.logsigmoid(-u)
