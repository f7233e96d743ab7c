"""Rough, honest music indicators: log-mel frame Fréchet distance and chroma-histogram distance.

Neither needs a trained classifier: they compare frame statistics of two recordings. They catch a
generator whose timbre (log-mel) or pitch content (chroma) drifts from the held-out audio, not whether
the result is musical.
"""
from __future__ import annotations

import numpy as np

from .generative import frechet_distance


def logmel_frames(x: np.ndarray, sr: int, n_mels: int = 40, n_fft: int = 512) -> np.ndarray:
    """Log-mel frames ``(n_frames, n_mels)`` in dB (librosa), frames 20 dB under the loudest dropped."""
    import librosa

    S = librosa.feature.melspectrogram(y=np.asarray(x, np.float32), sr=sr, n_fft=n_fft, hop_length=n_fft // 4,
                                       n_mels=n_mels, fmax=sr / 2)
    db = librosa.power_to_db(S, ref=np.max, top_db=80.0).T
    loud = db.max(1) > db.max() - 20.0  # silence would dominate the statistics otherwise
    return db[loud]


def logmel_frechet(a: np.ndarray, b: np.ndarray, sr: int) -> float:
    """Fréchet distance between Gaussians of the log-mel frames of ``a`` and ``b`` (0 = same statistics)."""
    return frechet_distance(logmel_frames(a, sr), logmel_frames(b, sr))


def chroma_histogram(x: np.ndarray, sr: int, n_fft: int = 2048) -> np.ndarray:
    """Pitch-class histogram ``(12,)``, summing to 1: energy-weighted mean of librosa's STFT chroma."""
    import librosa

    x = np.asarray(x, np.float32)
    C = librosa.feature.chroma_stft(y=x, sr=sr, n_fft=n_fft, hop_length=n_fft // 4, tuning=0.0)
    energy = librosa.feature.rms(y=x, frame_length=n_fft, hop_length=n_fft // 4)[0][: C.shape[1]]
    h = (C[:, : len(energy)] * energy).sum(1)
    return h / max(h.sum(), 1e-12)


def chroma_distance(a: np.ndarray, b: np.ndarray, sr: int) -> float:
    """Jensen-Shannon divergence (bits, in [0, 1]) between the chroma histograms of ``a`` and ``b``."""
    from scipy.spatial.distance import jensenshannon

    # scipy returns the JS *distance*, the square root of the divergence
    return float(jensenshannon(chroma_histogram(a, sr), chroma_histogram(b, sr), base=2) ** 2)


def music_metrics(generated: np.ndarray, held_out: np.ndarray, train: np.ndarray, sr: int) -> dict:
    """Generated vs held-out audio, with the reference row held-out vs training audio (what real audio
    of the same piece scores)."""
    return {
        "logmel_frechet": {"generated_vs_heldout": logmel_frechet(generated, held_out, sr),
                           "train_vs_heldout": logmel_frechet(train, held_out, sr)},
        "chroma_js_bits": {"generated_vs_heldout": chroma_distance(generated, held_out, sr),
                           "train_vs_heldout": chroma_distance(train, held_out, sr)},
    }
