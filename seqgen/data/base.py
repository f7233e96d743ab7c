"""What a dataset gives the pipeline: examples (a waveform or an image, optional label) per split."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np


@dataclass
class Example:
    """One training/evaluation example: ``x`` is a waveform ``(T,)`` float32 at the recipe's rate or an
    image ``(C, H, W)`` float32 in [0, 1]; ``label`` an optional class (a digit)."""

    name: str
    x: np.ndarray
    label: int | None = None
    meta: dict = field(default_factory=dict)


class Dataset(ABC):
    """A data source. Constructor kwargs come from the recipe's ``[data]`` table (minus the
    pipeline's own keys); ``root`` is the located folder. ``load`` takes the format the recipe's
    representation asks for as keywords (audio: ``sample_rate``; images: ``size`` (H, W), ``channels``)."""

    #: sub-folder name under a data root (``$SEQGEN_DATA/<folder>``), used by :func:`locate`
    folder: str = ""
    #: other names that folder may have under a data root (e.g. a partial copy)
    folder_aliases: tuple[str, ...] = ()
    #: the examples are generated from the constructor's options (toys, synthetic manifolds): no folder is
    #: located or fingerprinted
    generated: bool = False
    #: "audio", "image" or "vector": which representations this source can feed
    modality: str = "audio"
    #: how train and test were split (written to the run's data.json)
    split_description: str = "the data set's own train/test split"

    @classmethod
    def data_folder(cls, options: dict) -> str:
        """The sub-folder :func:`~seqgen.data.locate.locate` looks for, given the recipe's ``[data]`` options."""
        return cls.folder

    @staticmethod
    def looks_valid(root: Path) -> bool:
        """Whether folder ``root`` holds this data set (the locator's test); any non-empty folder by default."""
        return root.is_dir() and any(root.iterdir())

    @abstractmethod
    def load(self, split: str, *, progress: bool = False, strict: bool = False, **fmt) -> list[Example]:
        """Examples of ``split`` ("train" or "test"); unreadable files are skipped with a warning
        naming them, or raise with ``strict``."""

    def iter_load(self, split: str, *, progress: bool = False, strict: bool = False, **fmt) -> Iterator[Example]:
        """The examples of ``split`` one at a time: what the pipeline's data stage streams into its
        memory-mapped cache. By default those of :meth:`load`; a source that can hold more audio than
        memory (a folder of recordings) reads file by file instead."""
        yield from self.load(split, progress=progress, strict=strict, **fmt)
