"""The representation contract: example <-> unit sequence ``(T, *unit_shape)`` (paper §4.2 for audio;
an image is a sequence of length 1, §4.1)."""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Representation(ABC):
    """Turns an example into the units a codec sees and units back into an example.

    Constructor keywords come from the recipe's ``[representation]`` table. ``sequential``
    representations (audio frames) give ``T > 1`` units per example: the codec is trained on
    segments of consecutive units and generation can stream; frame-free ones give ``T = 1``.
    """

    #: "audio" or "image": which datasets can feed it and which output writer it uses
    modality: str = ""
    #: examples become sequences of T > 1 units (segments, streaming, prompts make sense)
    sequential: bool = False
    #: the reconstruction loss a codec is trained with unless the recipe names one
    default_loss: str = "mse"
    #: samples per second of the examples (audio); None for images
    sample_rate: int | None = None
    #: samples between the starts of consecutive units when they are overlap-added (0: they are not)
    hop: int = 0

    @property
    @abstractmethod
    def unit_shape(self) -> tuple[int, ...]:
        """Shape of one unit (``(frame_length,)``, ``(C, H, W)``)."""

    @abstractmethod
    def load_options(self) -> dict:
        """The format keywords passed to ``Dataset.load`` (``sample_rate``; ``size`` and ``channels``)."""

    @abstractmethod
    def codec_options(self) -> dict:
        """The unit geometry a codec is built with (``frame_length``; ``unit_shape``)."""

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """Normalise one loaded example (e.g. peak-normalise audio); identity by default."""
        return x

    def too_short(self, x: np.ndarray) -> str | None:
        """Why an example cannot be represented (a clip shorter than a frame), or None."""
        return None

    @abstractmethod
    def to_units(self, x: np.ndarray) -> np.ndarray:
        """Example -> units ``(T, *unit_shape)`` float32."""

    @abstractmethod
    def from_units(self, units: np.ndarray) -> np.ndarray:
        """Decoded units ``(T, *unit_shape)`` -> one example (audio: the untrimmed overlap-add)."""
