"""A feature vector as one unit: a sequence of length 1, like an image (synthetic manifold data)."""
from __future__ import annotations

import numpy as np

from ..registry import REPRESENTATIONS
from .base import Representation


@REPRESENTATIONS.register("vector")
class VectorUnit(Representation):
    """Vector ``(dim,)`` of real numbers -> units ``(1, dim)``; reconstruction by MSE."""

    modality = "vector"
    sequential = False

    def __init__(self, dim: int = 128):
        if int(dim) < 1:
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
        if x.shape != self.unit_shape:
            raise ValueError(f"expected a vector of shape {self.unit_shape}, got {x.shape}")
        return x[None]

    def from_units(self, units: np.ndarray) -> np.ndarray:
        return np.asarray(units, np.float32)[0]
