"""Evaluation: signal metrics for reconstructions and generated audio."""
from .signal_metrics import (
    DEFAULT_BANDS,
    audio_checks,
    band_energy_db,
    band_label,
    band_snr_db,
    rms_db,
    snr_db,
    spectral_flatness,
    spectral_lines,
)

__all__ = [
    "DEFAULT_BANDS",
    "audio_checks",
    "band_energy_db",
    "band_label",
    "band_snr_db",
    "rms_db",
    "snr_db",
    "spectral_flatness",
    "spectral_lines",
]
