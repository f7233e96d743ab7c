"""Any folder of JPEG/PNG images (faces, textures, ...) as unlabelled training data.

Each image is optionally cropped to a fixed ``box``, centre-cropped to the aspect ratio of the
representation's ``size`` (a square for a square size), resized to it and converted to grayscale or RGB. The split is by file, fixed: the
sorted file names are permuted with ``seed`` and the last ``holdout_fraction`` of them are held
out, decided before any file is decoded, so an unreadable file never shifts the split.
"""
from __future__ import annotations

import fnmatch
import warnings
from pathlib import Path

import numpy as np

from ...errors import DataError
from ...registry import DATASETS
from ..base import Dataset, Example
from .transform import check_format, read_image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


def image_files(root: Path, patterns=(), recursive: bool = True) -> list[Path]:
    """Image files under ``root`` (by extension, any case), sorted, optionally filtered by glob ``patterns`` on the name."""
    it = root.rglob("*") if recursive else root.glob("*")
    files = sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."))
    if patterns:
        files = [p for p in files if any(fnmatch.fnmatch(p.name, pat) for pat in patterns)]
    return files


def looks_valid(root: Path) -> bool:
    return Path(root).is_dir() and bool(image_files(Path(root)))


@DATASETS.register("image_folder")
class ImageFolder(Dataset):
    """Every JPEG/PNG under a folder. ``files``: glob patterns on names ([] = all); ``subdir``: the folder
    looked for under ``$SEQGEN_DATA`` and the download cache (e.g. ``"faces_congress_pd"``); ``box``:
    ``[x0, y0, x1, y1]`` crop applied before the centre crop to the target shape ([] = none)."""

    folder = ""
    looks_valid = staticmethod(looks_valid)
    modality = "image"

    def __init__(self, root: str | Path, files: list[str] = (), holdout_fraction: float = 0.1, seed: int = 0,
                 box: list[int] = (), recursive: bool = True, subdir: str = ""):
        if not 0.0 <= holdout_fraction < 1.0:
            raise ValueError(f"holdout_fraction must be in [0, 1), got {holdout_fraction}")
        if box and (len(box) != 4 or box[2] <= box[0] or box[3] <= box[1]):
            raise ValueError(f"box must be [x0, y0, x1, y1] with x1 > x0 and y1 > y0, got {list(box)}")
        self.root = Path(root)
        self.files = list(files)
        self.holdout_fraction = float(holdout_fraction)
        self.seed = int(seed)
        self.box = [int(b) for b in box]
        self.recursive = bool(recursive)

    @staticmethod
    def data_folder(options: dict) -> str:
        return options.get("subdir", "")

    @property
    def split_description(self) -> str:
        return (f"image folder: file names sorted, permuted with seed {self.seed}, last "
                f"{self.holdout_fraction:.0%} held out as test")

    def split_files(self, split: str) -> list[Path]:
        """The files of ``split`` ("train" / "test"), in sorted-name order."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if not self.root.is_dir():
            raise DataError(f"image folder {self.root} does not exist")
        paths = image_files(self.root, self.files, self.recursive)
        if not paths:
            what = f" matching {self.files}" if self.files else ""
            raise DataError(f"no images{what} in {self.root} (looked for {', '.join(IMAGE_EXTENSIONS)})")
        n_test = int(round(len(paths) * self.holdout_fraction))
        if self.holdout_fraction > 0 and n_test == 0 and len(paths) > 1:
            n_test = 1
        perm = np.random.default_rng(self.seed).permutation(len(paths))
        chosen = perm[len(paths) - n_test:] if split == "test" else perm[: len(paths) - n_test]
        return [paths[i] for i in sorted(chosen)]

    def load(self, split: str, *, size: tuple[int, int] = (64, 64), channels: int = 1, progress: bool = False,
             strict: bool = False) -> list[Example]:
        """Examples ``x (channels, H, W)`` float32 in [0, 1], no labels; unreadable files skipped with a warning."""
        from tqdm.auto import tqdm

        size, channels = check_format(size, channels)
        paths = self.split_files(split)
        out = []
        for p in tqdm(paths, desc=f"images ({split})", unit="file", disable=not progress):
            try:
                x = read_image(p, size, channels, box=self.box)
            except DataError as e:
                if strict:
                    raise
                warnings.warn(f"skipping {e}", stacklevel=2)
                continue
            out.append(Example(p.stem, x, meta={"file": str(p.relative_to(self.root))}))
        if not out:
            raise DataError(f"none of the {len(paths)} {split} images in {self.root} could be read")
        return out
