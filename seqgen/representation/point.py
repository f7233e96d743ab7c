"""A point of R^D as one unit (a sequence of length 1), for 2-d toy densities such as LED's Gaussian mixtures."""
from __future__ import annotations

import numpy as np

from ..registry import REPRESENTATIONS
from .base import Representation


@REPRESENTATIONS.register("point")
class PointUnit(Representation):
    """Point ``x (dim,)`` -> units ``(1, dim)``; the ``points`` modality (datasets ``grid_2d``, ``mixture_2d``)."""

    modality = "points"
    sequential = False

    def __init__(self, dim: int = 2):
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.dim = int(dim)

    @property
    def unit_shape(self) -> tuple[int, ...]:
        return (self.dim,)

    def load_options(self) -> dict:
        return {}

    def codec_options(self) -> dict:
        return {"unit_shape": [self.dim]}

    def to_units(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if x.shape != (self.dim,):
            raise ValueError(f"expected a point of shape ({self.dim},), got {x.shape}")
        return x[None]

    def from_units(self, units: np.ndarray) -> np.ndarray:
        return np.asarray(units, np.float32)[0]
