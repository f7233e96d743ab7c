"""Any folder of audio files (any rate, channel count, format libsndfile/librosa read) as training data.

Each file is cut by time: the first ``1 - holdout_fraction`` trains, the rest is held out (so one
long recording, like the violin piece, gives both splits). Long parts can be cut into
``chunk_seconds`` sequences.
"""
from __future__ import annotations

import fnmatch
import warnings
from pathlib import Path
from typing import Iterator

from ..audio.io import AUDIO_EXTENSIONS, load_many
from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset, Example


def audio_files(root: Path, patterns=(), recursive: bool = True) -> list[Path]:
    """Audio files under ``root`` (by extension), optionally filtered by glob ``patterns`` on the name."""
    it = root.rglob("*") if recursive else root.glob("*")
    files = sorted(p for p in it if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
    if patterns:
        files = [p for p in files if any(fnmatch.fnmatch(p.name, pat) for pat in patterns)]
    return files


def looks_valid(root: Path) -> bool:
    return root.is_dir() and bool(audio_files(root))


@DATASETS.register("audio_folder")
class AudioFolder(Dataset):
    """Every audio file in a folder. ``files``: glob patterns on file names ([] = all);
    ``subdir``: the folder name looked for under ``$SEQGEN_DATA`` and the download cache."""

    folder = ""
    looks_valid = staticmethod(looks_valid)

    def __init__(self, root: str | Path, files: list[str] = (), holdout_fraction: float = 0.1,
                 chunk_seconds: float = 0.0, recursive: bool = True, subdir: str = ""):
        if not 0.0 <= holdout_fraction < 1.0:
            raise ValueError(f"holdout_fraction must be in [0, 1), got {holdout_fraction}")
        if chunk_seconds < 0:
            raise ValueError(f"chunk_seconds must be >= 0, got {chunk_seconds}")
        self.root = Path(root)
        self.files = list(files)
        self.holdout_fraction = float(holdout_fraction)
        self.chunk_seconds = float(chunk_seconds)
        self.recursive = bool(recursive)

    @staticmethod
    def data_folder(options: dict) -> str:
        return options.get("subdir", "")

    def load(self, split: str, **kw) -> list[Example]:
        return list(self.iter_load(split, **kw))

    def iter_load(self, split: str, *, sample_rate: int = 8000, progress: bool = False,
                  strict: bool = False) -> Iterator[Example]:
        """Recordings read one file at a time: only the file being cut is in memory."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if not self.root.is_dir():
            raise DataError(f"data folder {self.root} does not exist")
        paths = audio_files(self.root, self.files, self.recursive)
        if not paths:
            what = f" matching {self.files}" if self.files else ""
            raise DataError(f"no audio files{what} in {self.root} (looked for {', '.join(AUDIO_EXTENSIONS)})")
        n = 0
        for path, x in load_many(paths, sample_rate, progress=progress, strict=strict):
            cut = int(round(len(x) * (1.0 - self.holdout_fraction)))
            part = x[:cut] if split == "train" else x[cut:]
            if len(part) == 0:
                warnings.warn(f"skipping {path}: {len(x)} samples leave nothing for the {split} split", stacklevel=2)
                continue
            step = int(self.chunk_seconds * sample_rate) or len(part)
            for i, start in enumerate(range(0, len(part), step)):
                chunk = part[start : start + step]
                if len(chunk) >= min(step, sample_rate // 10):  # drop a tail shorter than one 100 ms frame
                    n += 1
                    yield Example(f"{path.stem}_{split}_{i:03d}", chunk, meta={"file": path.name})
        if not n:
            raise DataError(f"no usable {split} audio in {self.root} ({len(paths)} files found, none readable)")
