"""Representations: how an example becomes a sequence of units a codec encodes (and back)."""
from .base import Representation
from .frames import Frames
from .image import ImageUnit

__all__ = ["Frames", "ImageUnit", "Representation"]
