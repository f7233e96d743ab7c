"""Music indicators on signals with known answers."""
import numpy as np
import pytest

from seqgen.evaluation.music import chroma_distance, chroma_histogram, logmel_frechet, music_metrics

SR = 8000


def tone(f, seconds=3.0, seed=0):
    t = np.arange(int(seconds * SR)) / SR
    return 0.5 * np.sin(2 * np.pi * f * t) + 0.01 * np.random.default_rng(seed).standard_normal(len(t))


def test_chroma_histogram_finds_the_pitch_class():
    h = chroma_histogram(tone(440.0), SR)  # A4
    assert h.shape == (12,) and h.sum() == pytest.approx(1.0)
    assert h.argmax() == 9  # librosa chroma: C=0 ... A=9


def test_chroma_distance_same_vs_other_pitch():
    same = chroma_distance(tone(440.0, seed=1), tone(440.0, seed=2), SR)
    other = chroma_distance(tone(440.0), tone(311.1), SR)  # A vs D#: a tritone away
    assert same < 0.05 and other > 0.5


@pytest.mark.parametrize("p, q, bits", [
    ([0.2, 0.3, 0.5], [0.2, 0.3, 0.5], 0.0),      # identical
    ([0.5, 0.5, 0.0], [0.0, 0.0, 1.0], 1.0),      # disjoint: 1 bit
    # m = (3/4, 1/4): (log2(4/3) + (log2(2/3) + 1) / 2) / 2 -- the divergence, not its square root (0.558)
    ([1.0, 0.0, 0.0], [0.5, 0.5, 0.0], (np.log2(4 / 3) + (np.log2(2 / 3) + 1) / 2) / 2),
])
def test_chroma_distance_is_the_js_divergence_in_bits(monkeypatch, p, q, bits):
    import seqgen.evaluation.music as music

    hists = {1: np.array(p), 2: np.array(q)}
    monkeypatch.setattr(music, "chroma_histogram", lambda x, sr: hists[int(x[0])])
    assert chroma_distance(np.ones(4), np.full(4, 2.0), SR) == pytest.approx(bits, abs=1e-12)


def test_logmel_frechet_zero_for_same_and_large_for_different():
    a = tone(440.0, seed=1)
    assert logmel_frechet(a, a, SR) == pytest.approx(0.0, abs=1e-6)
    near = logmel_frechet(a, tone(440.0, seed=2), SR)
    far = logmel_frechet(a, np.random.default_rng(3).standard_normal(len(a)) * 0.3, SR)
    assert near < 0.1 * far


def test_music_metrics_has_reference_row():
    m = music_metrics(tone(440.0, seed=1), tone(440.0, seed=2), tone(330.0), SR)
    assert m["chroma_js_bits"]["train_vs_heldout"] > m["chroma_js_bits"]["generated_vs_heldout"]
