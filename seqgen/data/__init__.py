"""Data sources: locating data sets, and datasets registered by name (lazily, in seqgen.registry)."""
from ..registry import DATASETS
from .base import AudioDataset, Utterance
from .locate import locate

__all__ = ["DATASETS", "AudioDataset", "Utterance", "locate"]
