"""Framing into windowed chunks and overlap-add back (paper §4.2: 100 ms Hann frames, 50 ms hop).

With a *periodic* Hann window at 50 % overlap the shifted windows sum to exactly 1, so
overlap-adding the windowed frames gives the signal back (COLA). Edges are padded with
``frame_length - hop`` zeros so every sample lies under the full envelope and a whole signal
round-trips: ``overlap_add(frame(x), length=len(x)) == x``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.signal


@dataclass(frozen=True)
class FrameSpec:
    """Frame geometry: ``frame_length`` samples per chunk, ``hop`` samples between chunks."""

    frame_length: int = 800
    hop: int = 400
    window: str = "hann"

    def __post_init__(self):
        if self.frame_length <= 0 or self.hop <= 0 or self.hop > self.frame_length:
            raise ValueError(f"need 0 < hop <= frame_length, got hop={self.hop}, frame_length={self.frame_length}")
        if self.cola_gain() <= 0:
            raise ValueError(f"window {self.window!r} with hop {self.hop} is not overlap-add invertible")

    @property
    def pad(self) -> int:
        """Zeros added at each edge so that every sample is under the full window envelope."""
        return self.frame_length - self.hop

    def cola_gain(self) -> float:
        """Constant value of sum_t w(n - t*hop) in the interior (1.0 for Hann at 50 %)."""
        w = window(self.window, self.frame_length)
        env = np.zeros(self.hop)
        for start in range(0, self.frame_length, self.hop):
            seg = w[start : start + self.hop]
            env[: len(seg)] += seg
        if np.ptp(env) > 1e-6 * max(1.0, env.max()):
            return -1.0  # not constant: not COLA at this hop
        return float(env.mean())

    def n_frames(self, n_samples: int) -> int:
        return n_frames_for(n_samples, self)

    def n_samples(self, n_frames: int) -> int:
        """Length of the untrimmed overlap-add of ``n_frames`` frames."""
        return 0 if n_frames <= 0 else (n_frames - 1) * self.hop + self.frame_length


@lru_cache(maxsize=16)
def _window_cached(name: str, n: int) -> np.ndarray:
    w = scipy.signal.get_window(name, n, fftbins=True)  # fftbins=True -> periodic
    w.setflags(write=False)
    return w


def window(name: str = "hann", n: int = 800) -> np.ndarray:
    """The periodic analysis window (read-only array of ``n`` samples)."""
    return _window_cached(name, n)


def n_frames_for(n_samples: int, spec: FrameSpec = FrameSpec()) -> int:
    """Number of frames :func:`frame` makes of ``n_samples`` samples (with edge padding)."""
    if n_samples <= 0:
        return 0
    return math.ceil((n_samples + 2 * spec.pad - spec.frame_length) / spec.hop) + 1


def frame(x: np.ndarray, spec: FrameSpec = FrameSpec()) -> np.ndarray:
    """Cut ``x (T,)`` into windowed frames ``(n_frames, frame_length)``, edges zero-padded."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"frame() takes a 1-D signal, got shape {x.shape}")
    n = n_frames_for(len(x), spec)
    if n == 0:
        return np.zeros((0, spec.frame_length), dtype=x.dtype if x.dtype.kind == "f" else np.float32)
    total = spec.n_samples(n)
    padded = np.zeros(total, dtype=np.result_type(x.dtype, np.float32))
    padded[spec.pad : spec.pad + len(x)] = x
    frames = np.lib.stride_tricks.sliding_window_view(padded, spec.frame_length)[:: spec.hop]
    return frames * window(spec.window, spec.frame_length).astype(padded.dtype)


def overlap_add(frames: np.ndarray, spec: FrameSpec = FrameSpec(), length: int | None = None) -> np.ndarray:
    """Overlap-add windowed ``frames (n_frames, frame_length)`` into a signal.

    With ``length`` the frames are taken to come from :func:`frame` and the exact signal of that
    length is returned (edge padding removed). Without it, the full untrimmed sum of
    ``spec.n_samples(n_frames)`` samples is returned, fading in and out over the edge half-windows
    (what generation wants).
    """
    frames = np.asarray(frames)
    if frames.ndim != 2 or frames.shape[1] != spec.frame_length:
        raise ValueError(f"expected frames (n, {spec.frame_length}), got {frames.shape}")
    n, N = frames.shape
    out = np.zeros(spec.n_samples(n), dtype=np.result_type(frames.dtype, np.float32))
    if N % spec.hop == 0:
        # Vectorised: split each frame into N/hop blocks of hop samples; block j of frame t lands at t+j.
        r = N // spec.hop
        blocks = frames.reshape(n, r, spec.hop)
        view = out.reshape(n + r - 1, spec.hop)
        for j in range(r):
            view[j : j + n] += blocks[:, j]
    else:
        for t in range(n):
            out[t * spec.hop : t * spec.hop + N] += frames[t]
    out /= spec.cola_gain()
    if length is not None:
        out = out[spec.pad : spec.pad + length]
        if len(out) < length:
            out = np.pad(out, (0, length - len(out)))
    return out


def overlap_add_torch(frames, hop: int, gain: float = 1.0):
    """Differentiable overlap-add of ``frames [B, n, N]`` -> ``[B, (n-1)*hop + N]`` (torch fold)."""
    import torch.nn.functional as F

    B, n, N = frames.shape
    out = F.fold(frames.transpose(1, 2), output_size=(1, (n - 1) * hop + N), kernel_size=(1, N), stride=(1, hop))
    return out.reshape(B, -1) / gain
