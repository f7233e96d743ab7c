"""Vectors on a random low-dimensional manifold (Mondal et al. §5.1, the LMGAE synthetic test): ``x = f(z)``,
``z ~ N(0, I_d)``, ``f`` a fixed random fully connected network, so the data's true latent dimension is ``d``."""
from __future__ import annotations

import numpy as np

from ..registry import DATASETS
from .base import Dataset, Example


def leaky_relu(a: np.ndarray, slope: float = 0.2) -> np.ndarray:
    return np.where(a > 0, a, slope * a)


class RandomNetwork:
    """``f: R^d -> R^out``, two fully connected layers (``d -> hidden -> out``), leaky ReLU after each, weights
    ``N(0, 1/fan_in)`` and biases ``N(0, 0.1²)`` drawn once from ``seed`` (He-style scaling keeps the outputs O(1))."""

    def __init__(self, d: int, hidden: int = 128, out: int = 128, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.layers = [(rng.standard_normal((a, b)) / np.sqrt(a), 0.1 * rng.standard_normal(b))
                       for a, b in ((d, hidden), (hidden, out))]

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """``z (N, d) -> x (N, out)``."""
        for w, b in self.layers:
            z = leaky_relu(z @ w + b)
        return z


@DATASETS.register("random_manifold")
class RandomManifold(Dataset):
    """``n_train`` / ``n_test`` vectors ``x = f(z) (dim,)`` float32, ``z ~ N(0, I_d)`` drawn with ``seed`` (test:
    ``seed + 1``), ``f`` the :class:`RandomNetwork` of ``network_seed`` (the same manifold for every split)."""

    generated = True
    modality = "vector"
    split_description = "generated: train and test latents drawn independently (seeds seed, seed + 1)"

    def __init__(self, d: int = 2, dim: int = 128, hidden: int = 128, network_seed: int = 0,
                 n_train: int = 20_000, n_test: int = 5_000, seed: int = 0):
        if min(d, dim, hidden, n_train, n_test) < 1:
            raise ValueError(f"d, dim, hidden, n_train and n_test must be >= 1, got {d}, {dim}, {hidden}, "
                             f"{n_train}, {n_test}")
        self.d, self.seed = int(d), int(seed)
        self.n = {"train": int(n_train), "test": int(n_test)}
        self.f = RandomNetwork(self.d, int(hidden), int(dim), int(network_seed))

    def vectors(self, split: str) -> np.ndarray:
        """``(n, dim)`` float32 vectors of ``split`` ("train" or "test")."""
        if split not in self.n:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        z = np.random.default_rng(self.seed + (split == "test")).standard_normal((self.n[split], self.d))
        return self.f(z).astype(np.float32)

    def load(self, split: str, *, progress: bool = False, strict: bool = False, **fmt) -> list[Example]:
        return [Example(f"manifold_{split}_{i:06d}", x) for i, x in enumerate(self.vectors(split))]
