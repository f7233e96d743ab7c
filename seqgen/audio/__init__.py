"""Audio: framing / overlap-add and file I/O."""
from .framing import FrameSpec, frame, n_frames_for, overlap_add, overlap_add_torch, window

__all__ = ["FrameSpec", "frame", "n_frames_for", "overlap_add", "overlap_add_torch", "window"]
