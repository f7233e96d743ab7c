"""Signal metrics for reconstructions and generated audio: SNR, band energies, flatness, spectral lines."""
from __future__ import annotations

import numpy as np
import scipy.signal

DEFAULT_BANDS: tuple[tuple[float, float], ...] = ((0, 300), (300, 1000), (1000, 2000), (2000, 4000), (0, 1000))
_TINY = 1e-20


def band_label(band: tuple[float, float]) -> str:
    """``(300, 1000) -> "300-1000"`` (the keys of the band dicts below)."""
    return f"{band[0]:g}-{band[1]:g}"


def _pair(ref, est) -> tuple[np.ndarray, np.ndarray]:
    ref, est = np.asarray(ref, np.float64).ravel(), np.asarray(est, np.float64).ravel()
    if ref.shape != est.shape:
        raise ValueError(f"ref and est differ in length: {ref.shape} vs {est.shape}")
    return ref, est


def snr_db(ref, est) -> float:
    """``10 log10(sum ref^2 / sum (ref - est)^2)``; ``inf`` for a perfect estimate."""
    ref, est = _pair(ref, est)
    err = np.sum((ref - est) ** 2)
    return float("inf") if err == 0 else float(10 * np.log10(max(np.sum(ref**2), _TINY) / err))


def rms_db(x) -> float:
    """RMS level in dB re full scale 1.0 (``-inf`` guarded to about -200 dB)."""
    x = np.asarray(x, np.float64)
    return float(10 * np.log10(np.mean(x**2) + _TINY)) if x.size else float("-inf")


def _band_mask(freqs: np.ndarray, band: tuple[float, float], sr: float) -> np.ndarray:
    lo, hi = band
    # half-open [lo, hi), except that a band reaching Nyquist includes it
    return (freqs >= lo) & ((freqs < hi) | ((hi >= sr / 2) & (freqs <= hi)))


def _stft(x: np.ndarray, n_fft: int, sr: float) -> tuple[np.ndarray, np.ndarray]:
    nper = min(n_fft, max(len(x), 1))
    f, _, Z = scipy.signal.stft(x, fs=sr, window="hann", nperseg=nper, noverlap=nper // 2,
                                boundary="zeros", padded=True)
    return f, Z


def band_energy_db(x, sr: float, bands=DEFAULT_BANDS, n_fft: int = 512) -> dict[str, float]:
    """Mean-square power of ``x (T,)`` in each band, dB (an energy ratio between equally long signals).

    From the Welch power spectrum, so ``sum over all bands == mean(x^2)`` up to window leakage.
    """
    x = np.asarray(x, np.float64).ravel()
    if x.size < 2:
        return {band_label(b): float("-inf") for b in bands}
    nper = min(n_fft, len(x))
    f, psd = scipy.signal.welch(x, fs=sr, window="hann", nperseg=nper, noverlap=nper // 2, scaling="density",
                                detrend=False)
    df = f[1] - f[0]
    return {band_label(b): float(10 * np.log10(np.sum(psd[_band_mask(f, b, sr)]) * df + _TINY)) for b in bands}


def band_snr_db(ref, est, sr: float, bands=DEFAULT_BANDS, n_fft: int = 512) -> dict[str, float]:
    """Phase-sensitive SNR per band: STFT energy of ``ref`` over STFT energy of ``ref - est`` in the band."""
    ref, est = _pair(ref, est)
    f, R = _stft(ref, n_fft, sr)
    _, E = _stft(ref - est, n_fft, sr)
    out = {}
    for b in bands:
        m = _band_mask(f, b, sr)
        sig, err = np.sum(np.abs(R[m]) ** 2), np.sum(np.abs(E[m]) ** 2)
        out[band_label(b)] = float("inf") if err == 0 else float(10 * np.log10(max(sig, _TINY) / err))
    return out


def spectral_flatness(x, n_fft: int = 512, silence_db: float = 40.0) -> float:
    """Mean over non-silent STFT frames of geometric/arithmetic mean of the power spectrum.

    White noise gives ~0.56 (power spectrum of a Hann-windowed noise frame is ~exponential), a sine
    or voiced speech is far below. Frames more than ``silence_db`` below the loudest are skipped:
    digital silence has a perfectly flat (floor) spectrum and would read as noise.
    """
    x = np.asarray(x, np.float64).ravel()
    if x.size < 2 or not np.any(x):
        return float("nan")
    _, Z = _stft(x, n_fft, 1.0)
    P = np.abs(Z) ** 2 + 1e-30
    e = P.sum(0)
    keep = e >= e.max() * 10 ** (-silence_db / 10)
    P = P[:, keep]
    return float(np.mean(np.exp(np.mean(np.log(P), 0)) / np.mean(P, 0)))


def _avg_spectrum_db(x: np.ndarray, sr: float, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    nper = min(n_fft, len(x))
    f, psd = scipy.signal.welch(x, fs=sr, window="hann", nperseg=nper, noverlap=nper // 2, detrend=False)
    return f, 10 * np.log10(psd + _TINY)


def _prominence(spec_db: np.ndarray, width: int) -> np.ndarray:
    """Level above the running median over ``2*width+1`` bins (a narrow peak sticks out, a formant doesn't)."""
    pad = np.pad(spec_db, width, mode="edge")
    med = np.median(np.lib.stride_tricks.sliding_window_view(pad, 2 * width + 1), axis=-1)
    return spec_db - med


def spectral_lines(ref, est, sr: float, n_fft: int = 2048, threshold_db: float = 10.0, margin_db: float = 6.0,
                   width_hz: float = 150.0) -> np.ndarray:
    """Frequencies (Hz) of narrow peaks in the time-averaged spectrum of ``est`` that ``ref`` lacks.

    A bin is a line if it is a local maximum standing ``threshold_db`` above the median of the
    surrounding ``±width_hz`` in ``est``, and ``margin_db`` more prominent than ``ref`` anywhere within
    ±2 bins. ``ref`` and ``est`` may differ in length (e.g. a corpus vs its generated samples); pass
    ``ref=None`` to list every line in ``est``. Upsampling artefacts appear at multiples of rate/stride.
    """
    est = np.asarray(est, np.float64).ravel()
    f, S = _avg_spectrum_db(est, sr, n_fft)
    width = max(2, int(round(width_hz / (f[1] - f[0]))))
    p_est = _prominence(S, width)
    if ref is not None:
        ref = np.asarray(ref, np.float64).ravel()
        _, R = _avg_spectrum_db(ref, sr, min(n_fft, len(est)))
        if len(R) != len(S):
            raise ValueError("ref is too short for the spectral resolution used on est")
        p_ref = _prominence(R, width)
        p_ref = np.max(np.lib.stride_tricks.sliding_window_view(np.pad(p_ref, 2, mode="edge"), 5), axis=-1)
    else:
        p_ref = np.full_like(p_est, -np.inf)
    peak = np.r_[False, (p_est[1:-1] > p_est[:-2]) & (p_est[1:-1] >= p_est[2:]), False]
    hit = peak & (p_est > threshold_db) & (p_est > p_ref + margin_db)
    return f[hit]


def audio_checks(x, sr: float, silence_db: float = -50.0, noise_flatness: float = 0.3) -> dict:
    """Summary numbers to tell speech-like audio from silence or noise.

    Keys: ``duration_s``, ``rms_db``, ``peak``, ``dc``, ``clipped_frac`` (|x| >= 0.999), ``flatness``,
    ``zcr`` (zero crossings per sample), ``frac_below_1k`` / ``frac_below_4k`` (share of the power
    under 1 / 4 kHz), ``band_frac`` (share per default band), ``silent`` (rms below ``silence_db``),
    ``noise_like`` (flatness above ``noise_flatness``; speech is ~0.01–0.1, white noise ~0.56).
    """
    x = np.asarray(x, np.float64).ravel()
    n = x.size
    out = {
        "duration_s": n / sr,
        "rms_db": rms_db(x),
        "peak": float(np.max(np.abs(x))) if n else 0.0,
        "dc": float(np.mean(x)) if n else 0.0,
        "clipped_frac": float(np.mean(np.abs(x) >= 0.999)) if n else 0.0,
        "flatness": spectral_flatness(x),
        "zcr": float(np.mean(np.signbit(x[1:]) != np.signbit(x[:-1]))) if n > 1 else 0.0,
    }
    if x.size >= 2:
        nper = min(512, len(x))
        f, psd = scipy.signal.welch(x, fs=sr, window="hann", nperseg=nper, noverlap=nper // 2, detrend=False)
        tot = max(psd.sum(), _TINY)
        out["frac_below_1k"] = float(psd[f < 1000].sum() / tot)
        out["frac_below_4k"] = float(psd[f < 4000].sum() / tot) if sr / 2 > 4000 else 1.0
        out["band_frac"] = {band_label(b): float(psd[_band_mask(f, b, sr)].sum() / tot) for b in DEFAULT_BANDS[:4]}
    out["silent"] = bool(out["rms_db"] < silence_db)
    out["noise_like"] = bool(not out["silent"] and out["flatness"] > noise_flatness)
    return out
