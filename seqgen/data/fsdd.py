"""Free Spoken Digit Dataset: ``{digit}_{speaker}_{take}.wav``, 8 kHz; takes 0-4 are the official test split."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset, Example

PATTERN = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
TEST_TAKES = range(0, 5)


def _recordings(root: Path) -> Path:
    return root / "recordings" if (root / "recordings").is_dir() else root


def looks_valid(root: Path) -> bool:
    d = _recordings(root)
    return d.is_dir() and any(PATTERN.match(p.name) for p in d.glob("*.wav"))


@DATASETS.register("fsdd")
class FSDD(Dataset):
    """FSDD utterances, optionally restricted to some ``digits`` / ``speakers``.

    ``concatenate=True`` joins each split into one long stream (how the paper trained); the
    default keeps one sequence per utterance.
    """

    folder = "fsdd"
    looks_valid = staticmethod(looks_valid)

    def __init__(self, root: str | Path, digits: list[int] = (), speakers: list[str] = (), concatenate: bool = False):
        self.root = _recordings(Path(root))
        self.digits = [int(d) for d in digits]
        self.speakers = list(speakers)
        self.concatenate = bool(concatenate)
        if any(not 0 <= d <= 9 for d in self.digits):
            raise ValueError(f"digits must be in 0..9, got {self.digits}")
        unknown = set(self.speakers) - set(SPEAKERS)
        if unknown:
            raise ValueError(f"unknown FSDD speakers {sorted(unknown)}; known: {', '.join(SPEAKERS)}")

    def files(self, split: str) -> list[tuple[Path, int, str, int]]:
        """``(path, digit, speaker, take)`` for ``split`` in {"train", "test"}, sorted by name."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        out = []
        for p in sorted(self.root.glob("*.wav")):
            m = PATTERN.match(p.name)
            if not m:
                continue
            digit, speaker, take = int(m[1]), m[2], int(m[3])
            if self.digits and digit not in self.digits or self.speakers and speaker not in self.speakers:
                continue
            if (take in TEST_TAKES) == (split == "test"):
                out.append((p, digit, speaker, take))
        return out

    def load(self, split: str, *, sample_rate: int = 8000, progress: bool = False, strict: bool = False) -> list[Example]:
        from ..audio.io import load_many

        files = self.files(split)
        if not files:
            raise DataError(f"no FSDD {split} files in {self.root} for digits={self.digits or 'all'} "
                            f"speakers={self.speakers or 'all'}")
        meta = {p: (d, s, t) for p, d, s, t in files}
        utts = [
            Example(p.stem, x, label=meta[p][0], meta={"speaker": meta[p][1], "take": meta[p][2]})
            for p, x in load_many([f[0] for f in files], sample_rate, progress=progress, strict=strict)
        ]
        if not utts:
            raise DataError(f"none of the {len(files)} FSDD {split} files in {self.root} could be read")
        if self.concatenate:
            utts = [Example(f"fsdd_{split}_stream", np.concatenate([u.x for u in utts]))]
        return utts

