"""pYIN voicing metric: real spoken digits are mostly voiced at speakers' pitch, white noise is not."""
from __future__ import annotations

import numpy as np
import pytest

from seqgen.evaluation.voicing import clip_voicing, voicing

SR = 8000


def _fsdd_clips(fsdd_root, n: int = 12) -> list[np.ndarray]:
    import soundfile as sf

    files = sorted((fsdd_root / "recordings").glob("*.wav"))
    pick = np.linspace(0, len(files) - 1, n).round().astype(int)  # every digit, several speakers
    clips = []
    for i in pick:
        x, sr = sf.read(files[i], dtype="float32")
        assert sr == SR
        clips.append(x)
    return clips


def test_real_speech_is_voiced_noise_is_not(fsdd_root, rng):
    real = voicing(_fsdd_clips(fsdd_root), SR)
    assert real["n_clips"] == 12 and real["active_frames"] > 100, real
    assert real["voiced_fraction"] > 0.5, real  # ~0.7 over the whole data set
    assert 70 < real["f0_p10_hz"] < real["f0_median_hz"] < real["f0_p90_hz"] < 350, real

    noise = voicing([0.3 * rng.standard_normal(SR // 2).astype(np.float32) for _ in range(6)], SR)
    assert noise["active_frames"] > 100 and noise["voiced_fraction"] < 0.1, noise


def test_a_harmonic_tone_gives_its_pitch(rng):
    t = np.arange(SR) / SR
    tone = sum(np.sin(2 * np.pi * 150 * h * t) / h for h in range(1, 8)) + 0.01 * rng.standard_normal(SR)
    v, f0 = clip_voicing(tone * np.hanning(SR), SR)  # fade in/out: the quiet edges are not active frames
    assert 0.9 < v.mean() and len(v) < SR / (0.025 * SR), v
    assert np.median(f0) == pytest.approx(150, rel=0.03)


def test_silence_and_subsets():
    v, f0 = clip_voicing(np.zeros(4000), SR)
    assert len(v) == 0 and len(f0) == 0
    out = voicing([np.zeros(4000)] * 5, SR, max_clips=2)
    assert out["n_clips"] == 2 and out["active_frames"] == 0 and out["voiced_fraction"] == 0.0
    assert out["f0_median_hz"] is None
    with pytest.raises(ValueError, match="max_clips"):
        voicing([np.zeros(10)], SR, max_clips=0)
