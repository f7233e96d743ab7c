"""What a dataset gives the pipeline: utterances (waveforms at the recipe rate) per split."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Utterance:
    """One training/evaluation sequence: ``audio (T,)`` float32 at the recipe rate, optional label."""

    name: str
    audio: np.ndarray
    label: int | None = None
    meta: dict = field(default_factory=dict)


class AudioDataset(ABC):
    """A data source. Constructor kwargs come from the recipe's ``[data]`` table (minus the
    pipeline's own keys); ``root`` is the located folder."""

    #: sub-folder name under a data root (``$SEQGEN_DATA/<folder>``), used by :func:`locate`
    folder: str = ""

    @abstractmethod
    def load(self, split: str, sample_rate: int, *, progress: bool = False, strict: bool = False) -> list[Utterance]:
        """Utterances of ``split`` ("train" or "test"); undecodable files are skipped with a warning
        naming them, or raise with ``strict``."""
