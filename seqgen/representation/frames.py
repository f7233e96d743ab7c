"""Audio as a sequence of Hann-windowed frames (paper §4.2: 100 ms frames, 50 ms hop at 8 kHz)."""
from __future__ import annotations

import numpy as np

from ..audio.framing import FrameSpec, frame, overlap_add
from ..audio.io import peak_normalize
from ..registry import REPRESENTATIONS
from .base import Representation


@REPRESENTATIONS.register("frames")
class Frames(Representation):
    """Waveform at ``sample_rate`` -> windowed frames ``(T, frame_length)``; overlap-add back.

    ``pad_frames`` hops of silence are added at both ends of every example, so a prior sees how
    sequences start and stop. ``normalize = "peak"`` scales every example to ``peak``.
    """

    modality = "audio"
    sequential = True
    default_loss = "mrstft"  # multi-resolution STFT of overlap-added frame segments

    def __init__(self, sample_rate: int = 8000, frame_length: int = 800, hop: int = 400, window: str = "hann",
                 pad_frames: int = 1, normalize: str = "peak", peak: float = 0.9):
        if normalize not in ("peak", "none"):
            raise ValueError(f"normalize must be 'peak' or 'none', got {normalize!r}")
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if pad_frames < 0:
            raise ValueError(f"pad_frames must be >= 0, got {pad_frames}")
        self.spec = FrameSpec(int(frame_length), int(hop), window)
        self.hop = self.spec.hop
        self.sample_rate, self.pad_frames = int(sample_rate), int(pad_frames)
        self.normalize, self.peak = normalize, float(peak)

    @property
    def unit_shape(self) -> tuple[int, ...]:
        return (self.spec.frame_length,)

    def load_options(self) -> dict:
        return {"sample_rate": self.sample_rate}

    def codec_options(self) -> dict:
        return {"frame_length": self.spec.frame_length}

    def prepare(self, x: np.ndarray) -> np.ndarray:
        return peak_normalize(x, self.peak) if self.normalize == "peak" else x

    def too_short(self, x: np.ndarray) -> str | None:
        n = self.spec.frame_length
        return f"shorter than one frame ({len(x)} < {n} samples)" if len(x) < n else None

    def to_units(self, x: np.ndarray) -> np.ndarray:
        """Windowed frames ``(T, frame_length)`` float32 of ``x (samples,)`` with the edge padding."""
        pad = np.zeros(self.pad_frames * self.spec.hop, dtype=np.float32)
        return frame(np.concatenate([pad, np.asarray(x, np.float32), pad]), self.spec).astype(np.float32)

    def from_units(self, units: np.ndarray) -> np.ndarray:
        """Untrimmed overlap-add ``((T-1)*hop + frame_length,)`` of decoded frames."""
        return overlap_add(units, self.spec).astype(np.float32)

    def n_frames(self, n_samples: int) -> int:
        return self.spec.n_frames(n_samples)
