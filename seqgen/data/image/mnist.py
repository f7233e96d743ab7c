"""MNIST handwritten digits from the standard IDX files: the official 60k/10k split, or 8k/2k of t10k alone.

With the ``train-*`` files present the official split is used. A folder holding only the 10,000
test images (``t10k-*``, as in the project's shared data) is split by a fixed permutation
(``numpy.random.default_rng(0)``) into 8,000 train / 2,000 test; :attr:`MNIST.split_description`
says which, for the run's metrics.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import DataError
from ...registry import DATASETS
from ..base import Dataset, Example

from . import idx
from .transform import check_format, resize_batch

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
T10K_SPLIT_SEED = 0
T10K_N_TEST = 2000



def _files(root: Path, part: str) -> tuple[Path, Path] | None:
    found = tuple(idx.find(root, stem) for stem in FILES[part])
    return found if all(found) else None  # type: ignore[return-value]


def looks_valid(root: Path) -> bool:
    """A folder holding the t10k image + label IDX files (gzipped or not), with or without the train pair."""
    root = Path(root)
    return root.is_dir() and _files(root, "t10k") is not None


@DATASETS.register("mnist")
class MNIST(Dataset):
    """MNIST digits as ``(1, H, W)`` images in [0, 1] (28×28, or resized with Pillow to ``size``).

    ``digits``: keep only these classes ([] = all); ``limit_train`` / ``limit_test``: keep the first
    N examples of the split after that filter (0 = all), for tiny test configurations; ``pad``: zero pixels
    added on each side before any resize (2: the 32×32 MNIST of GAN papers, e.g. LED).
    """

    folder = "mnist"
    looks_valid = staticmethod(looks_valid)
    folder_aliases = ("mnist_t10k",)  # the 10,000-image test set alone (as in seqgen's shared test data)
    modality = "image"

    def __init__(self, root: str | Path, digits: list[int] = (), limit_train: int = 0, limit_test: int = 0,
                 pad: int = 0):
        self.root = Path(root)
        if not 0 <= pad <= 64:
            raise ValueError(f"pad must be in 0..64, got {pad}")
        self.pad = int(pad)
        self.digits = [int(d) for d in digits]
        if any(not 0 <= d <= 9 for d in self.digits):
            raise ValueError(f"digits must be in 0..9, got {self.digits}")
        if limit_train < 0 or limit_test < 0:
            raise ValueError(f"limit_train / limit_test must be >= 0 (0 = all), got {limit_train}, {limit_test}")
        self.limits = {"train": int(limit_train), "test": int(limit_test)}
        self.official = _files(self.root, "train") is not None
        if _files(self.root, "t10k") is None:  # the test split always comes from t10k
            raise DataError(f"no MNIST test files in {self.root} (need {FILES['t10k'][0]}[.gz] and "
                            f"{FILES['t10k'][1]}[.gz]; add the train-* pair for the official split)")
        self._cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, str]] = {}

    @property
    def split_mode(self) -> str:
        """``"official_60000_10000"`` or ``"t10k_8000_2000_seed0"`` (machine-readable :attr:`split_description`)."""
        return "official_60000_10000" if self.official else f"t10k_8000_2000_seed{T10K_SPLIT_SEED}"

    @property
    def split_description(self) -> str:
        """One sentence for metrics.json saying which data each split holds."""
        if self.official:
            return "MNIST official split: train = the 60,000 train-* images, test = the 10,000 t10k-* images"
        return (f"MNIST t10k only (no train-* files): its 10,000 images permuted with seed {T10K_SPLIT_SEED}, "
                f"first 8,000 = train, last 2,000 = test; not comparable with official-split numbers")

    def arrays(self, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        """``(images (N, 28, 28) uint8, labels (N,), indices into the source file (N,), source part)`` of
        ``split`` before the ``digits`` / limit filters."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if split not in self._cache:
            part = "train" if self.official and split == "train" else "t10k"
            img_path, lab_path = _files(self.root, part)  # type: ignore[misc]
            x, y = idx.read_images(img_path), idx.read_labels(lab_path)
            if len(x) != len(y):
                raise DataError(f"{img_path.name} holds {len(x)} images but {lab_path.name} {len(y)} labels")
            order = np.arange(len(x))
            if not self.official:
                if len(x) <= T10K_N_TEST:
                    raise DataError(f"{img_path}: {len(x)} images, need more than {T10K_N_TEST} for the 8k/2k split")
                perm = np.random.default_rng(T10K_SPLIT_SEED).permutation(len(x))
                order = perm[:-T10K_N_TEST] if split == "train" else perm[-T10K_N_TEST:]
            self._cache[split] = (x[order], y[order], order, part)
        return self._cache[split]

    def load(self, split: str, *, size: tuple[int, int] = (28, 28), channels: int = 1, progress: bool = False,
             strict: bool = False) -> list[Example]:
        """Examples ``x (channels, H, W)`` float32 in [0, 1] with their digit as label (3 channels repeat the gray)."""
        size, channels = check_format(size, channels)
        x, y, index, part = self.arrays(split)
        keep = np.isin(y, self.digits) if self.digits else np.ones(len(y), bool)
        sel = np.flatnonzero(keep)
        if self.limits[split]:
            sel = sel[: self.limits[split]]
        if not len(sel):
            raise DataError(f"no MNIST {split} images for digits={self.digits}")
        p = self.pad
        imgs = resize_batch(np.pad(x[sel], ((0, 0), (p, p), (p, p))) if p else x[sel], size).astype(np.float32) / 255.0
        if channels == 3:
            imgs = np.repeat(imgs[:, None], 3, axis=1)
        else:
            imgs = imgs[:, None]
        return [Example(f"mnist_{part}_{int(index[i]):05d}", imgs[j], label=int(y[i]),
                        meta={"file": part, "index": int(index[i])})
                for j, i in enumerate(sel)]
