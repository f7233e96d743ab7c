"""Data sources: locating data sets, and datasets registered by name (lazily, in seqgen.registry)."""
from ..registry import DATASETS
from .base import Dataset, Example
from .locate import locate

__all__ = ["DATASETS", "Dataset", "Example", "locate"]
