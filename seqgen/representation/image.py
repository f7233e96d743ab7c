"""An image as one unit: a sequence of length 1 (paper §4.1), so every prior serves images unchanged."""
from __future__ import annotations

import numpy as np

from ..registry import REPRESENTATIONS
from .base import Representation


@REPRESENTATIONS.register("image")
class ImageUnit(Representation):
    """Image ``(channels, height, width)`` in [0, 1] -> units ``(1, C, H, W)``."""

    modality = "image"
    sequential = False

    def __init__(self, height: int = 28, width: int = 28, channels: int = 1):
        if min(height, width) < 4 or channels not in (1, 3):
            raise ValueError(f"need height, width >= 4 and channels 1 or 3, got {height}x{width}x{channels}")
        self.height, self.width, self.channels = int(height), int(width), int(channels)

    @property
    def unit_shape(self) -> tuple[int, ...]:
        return (self.channels, self.height, self.width)

    def load_options(self) -> dict:
        return {"size": (self.height, self.width), "channels": self.channels}

    def codec_options(self) -> dict:
        return {"unit_shape": list(self.unit_shape)}

    def to_units(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if x.shape != self.unit_shape:
            raise ValueError(f"expected an image of shape {self.unit_shape}, got {x.shape}")
        return x[None]

    def from_units(self, units: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(units, np.float32)[0], 0.0, 1.0)
