"""Signal metrics on signals whose answers are known."""
from __future__ import annotations

import numpy as np
import pytest

from seqgen.evaluation import (
    audio_checks,
    band_energy_db,
    band_snr_db,
    rms_db,
    snr_db,
    spectral_flatness,
    spectral_lines,
)

SR = 8000


def _sine(f, n=16000, amp=1.0):
    return amp * np.sin(2 * np.pi * f * np.arange(n) / SR)


def test_snr_of_known_noise_level(rng):
    x = _sine(440)  # power 0.5
    noise = rng.standard_normal(len(x))
    noise *= np.sqrt(0.5 / 10**2) / noise.std()  # 20 dB below the sine
    assert snr_db(x, x + noise) == pytest.approx(20.0, abs=0.1)
    assert snr_db(x, x) == float("inf")
    with pytest.raises(ValueError):
        snr_db(x, x[:-1])


def test_rms_db():
    assert rms_db(_sine(100)) == pytest.approx(-3.01, abs=0.01)
    assert rms_db(np.full(100, 0.1)) == pytest.approx(-20.0, abs=1e-6)


def test_flatness_white_noise_vs_sine(rng):
    assert 0.45 < spectral_flatness(rng.standard_normal(16000)) < 0.65
    assert spectral_flatness(_sine(440)) < 0.01


@pytest.mark.parametrize("f, band", [(150, "0-300"), (700, "300-1000"), (1500, "1000-2000"), (3000, "2000-4000")])
def test_band_energy_of_sine_lands_in_its_band(f, band):
    e = band_energy_db(_sine(f), SR)
    assert e[band] == pytest.approx(-3.01, abs=0.2)  # all the sine's power 0.5
    others = [v for k, v in e.items() if k not in (band, "0-1000")]
    assert max(others) < -40


def test_band_snr_only_where_the_error_is(rng):
    x = _sine(500) + _sine(3000)
    err = 0.1 * _sine(3000)  # error only in 2-4 kHz: 20 dB below that band's component
    s = band_snr_db(x, x + err, SR)
    assert s["2000-4000"] == pytest.approx(20.0, abs=0.5)
    assert s["300-1000"] > 60


def test_spectral_lines_finds_added_tone(rng):
    noise = rng.standard_normal(16000)
    tone = noise + 0.3 * _sine(1000)
    assert list(spectral_lines(noise, tone, SR)) == [pytest.approx(1000, abs=5)]
    assert len(spectral_lines(noise, noise + 0.01 * rng.standard_normal(16000), SR)) == 0
    assert len(spectral_lines(tone, tone, SR)) == 0  # present in ref: not an artefact


def test_audio_checks_tell_silence_noise_and_tone(rng):
    silence = audio_checks(np.zeros(8000), SR)
    noise = audio_checks(0.1 * rng.standard_normal(8000), SR)
    tone = audio_checks(0.5 * _sine(300, 8000), SR)
    assert silence["silent"] and not silence["noise_like"]
    assert noise["noise_like"] and not noise["silent"]
    assert not tone["noise_like"] and not tone["silent"] and tone["frac_below_1k"] > 0.99
    assert tone["peak"] == pytest.approx(0.5, abs=1e-3)
