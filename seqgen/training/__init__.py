"""Codec training: one loop (:mod:`.loop`) driving pluggable objectives (:mod:`.objective`)."""
from .loop import TrainData, train_codec
from .objective import Objective

__all__ = ["Objective", "TrainData", "train_codec"]
