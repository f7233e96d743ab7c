"""Synthetic 2-d densities: Yoo et al.'s six-bar grid (§4.1.1) and the VEEGAN Gaussian mixtures (ring, grid).

The grid: three horizontal bars ``t1 = (u, e)``, ``u ~ U(-10, 10)``, ``e ~ N(0, 0.1²)``, and its shifts by
``±offset`` in the second coordinate, plus the three transposed (vertical) bars — six equally likely
bars; a ``gap`` fraction of the first horizontal bar's length (centred at ``gap_centre``) is cut out,
so a density model has to represent a hole in a thin structure.
"""
from __future__ import annotations

from abc import abstractmethod
from pathlib import Path

import numpy as np

from .base import Dataset, Example
from ..registry import DATASETS


def grid_2d(n: int, seed: int = 0, *, half_width: float = 10.0, noise: float = 0.1, offset: float = 3.0,
            gap: float = 0.1, gap_centre: float = 0.0) -> np.ndarray:
    """``n`` points ``(n, 2)`` of the six-bar grid; bar ``b`` (0..5) = horizontal at ``(b - 1) * offset``
    for ``b < 3``, else vertical at ``(b - 4) * offset``; bar 0's ``u`` avoids the gap (rejection-free:
    drawn uniformly from the two remaining pieces)."""
    if n < 1 or not (half_width > 0 and noise > 0 and 0 <= gap < 1):
        raise ValueError(f"need n >= 1, half_width > 0, noise > 0, 0 <= gap < 1; got {n}, {half_width}, {noise}, {gap}")
    rng = np.random.default_rng(seed)
    bar = rng.integers(0, 6, n)
    u = rng.uniform(-half_width, half_width, n)
    cut = gap * 2 * half_width
    lo = gap_centre - cut / 2
    if not -half_width <= lo and lo + cut <= half_width:
        raise ValueError(f"the gap [{lo}, {lo + cut}] must lie on the bar [-{half_width}, {half_width}]")
    on0 = bar == 0  # u uniform on [-w, w - cut], then shifted past the gap
    v = rng.uniform(-half_width, half_width - cut, on0.sum())
    u[on0] = np.where(v < lo, v, v + cut)
    e = rng.normal(0.0, noise, n) + offset * (bar % 3 - 1)
    horizontal = bar < 3
    return np.where(horizontal[:, None], np.stack([u, e], 1), np.stack([e, u], 1))


class GeneratedPoints(Dataset):
    """2-d points drawn by :meth:`sample` as examples ``x (2,)`` float32: ``n_train`` / ``n_test`` of them
    with ``seed`` (test with ``seed + 1``); ``shape`` holds the sampler's options, checked on construction.
    A vector source: a prior fits :meth:`points` directly, or the ``vector`` representation feeds a codec."""

    folder = ""
    generated = True
    modality = "vector"
    split_description = "generated: train and test drawn independently (seeds seed, seed + 1)"
    #: example names are ``<prefix>_<split>_<index>``
    prefix = "points"

    def __init__(self, root: str | Path, n_train: int, n_test: int, seed: int, shape: dict):
        if n_train < 1 or n_test < 1:
            raise ValueError(f"n_train and n_test must be >= 1, got {n_train}, {n_test}")
        self.root = Path(root) if root else Path(".")
        self.n = {"train": int(n_train), "test": int(n_test)}
        self.seed = int(seed)
        self.shape = shape
        self.sample(1, 0)  # check the options now

    @abstractmethod
    def sample(self, n: int, seed: int) -> np.ndarray:
        """``(n, 2)`` float64 points drawn with ``seed``."""

    def points(self, split: str) -> np.ndarray:
        """``(n, 2)`` float64 points of ``split`` ("train" or "test")."""
        if split not in self.n:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        return self.sample(self.n[split], self.seed + (split == "test"))

    def load(self, split: str, *, progress: bool = False, strict: bool = False, **fmt) -> list[Example]:
        return [Example(f"{self.prefix}_{split}_{i:06d}", x.astype(np.float32))
                for i, x in enumerate(self.points(split))]


@DATASETS.register("grid_2d")
class Grid2D(GeneratedPoints):
    """The six-bar grid (:func:`grid_2d`; ``benchmarks/lde_2d.py`` fits priors on it directly)."""

    prefix = "grid"

    def __init__(self, root: str | Path = "", n_train: int = 50_000, n_test: int = 10_000, seed: int = 0,
                 half_width: float = 10.0, noise: float = 0.1, offset: float = 3.0, gap: float = 0.1):
        super().__init__(root, n_train, n_test, seed,
                         dict(half_width=float(half_width), noise=float(noise), offset=float(offset), gap=float(gap)))

    def sample(self, n: int, seed: int) -> np.ndarray:
        return grid_2d(n, seed, **self.shape)


def mixture_2d(n: int, seed: int = 0, *, layout: str = "ring", n_modes: int = 8, radius: float = 2.0,
               grid_size: int = 5, spacing: float = 2.0, sigma: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points ``(n, 2)`` of an equal-weight isotropic Gaussian mixture, and its ``(K, 2)`` mode centres.

    ``layout = "ring"``: ``n_modes`` centres on a circle of ``radius``; ``"grid"``: ``grid_size²`` centres
    on a square grid of ``spacing``, centred on the origin. ``sigma``: each component's std. The VEEGAN
    setting (Srivastava et al. 2017): a ring of 8 with radius 2 and a 5 × 5 grid with spacing 2, σ = 0.02."""
    centres = mixture_centres(layout, n_modes=n_modes, radius=radius, grid_size=grid_size, spacing=spacing)
    if n < 1 or not sigma > 0:
        raise ValueError(f"need n >= 1 and sigma > 0, got {n}, {sigma}")
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(centres), n)
    return centres[k] + sigma * rng.standard_normal((n, 2)), centres


def mixture_centres(layout: str, *, n_modes: int = 8, radius: float = 2.0, grid_size: int = 5,
                    spacing: float = 2.0) -> np.ndarray:
    """``(K, 2)`` mode centres of :func:`mixture_2d`'s layouts."""
    if layout == "ring":
        if n_modes < 1 or not radius > 0:
            raise ValueError(f"a ring needs n_modes >= 1 and radius > 0, got {n_modes}, {radius}")
        a = 2 * np.pi * np.arange(n_modes) / n_modes
        return radius * np.stack([np.cos(a), np.sin(a)], 1)
    if layout == "grid":
        if grid_size < 1 or not spacing > 0:
            raise ValueError(f"a grid needs grid_size >= 1 and spacing > 0, got {grid_size}, {spacing}")
        g = spacing * (np.arange(grid_size) - (grid_size - 1) / 2)
        return np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    raise ValueError(f"layout must be 'ring' or 'grid', got {layout!r}")


@DATASETS.register("mixture_2d")
class Mixture2D(GeneratedPoints):
    """A 2-d Gaussian mixture (:func:`mixture_2d`; its mode centres in ``centres``)."""

    prefix = "mixture"

    def __init__(self, root: str | Path = "", n_train: int = 50_000, n_test: int = 10_000, seed: int = 0,
                 layout: str = "ring", n_modes: int = 8, radius: float = 2.0, grid_size: int = 5,
                 spacing: float = 2.0, sigma: float = 0.02):
        super().__init__(root, n_train, n_test, seed,
                         dict(layout=str(layout), n_modes=int(n_modes), radius=float(radius), grid_size=int(grid_size),
                              spacing=float(spacing), sigma=float(sigma)))
        self.centres = mixture_2d(1, 0, **self.shape)[1]

    def sample(self, n: int, seed: int) -> np.ndarray:
        return mixture_2d(n, seed, **self.shape)[0]
