"""Framing -> overlap-add is an exact inverse (COLA of the periodic Hann window at 50 %)."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqgen.audio.framing import FrameSpec, frame, n_frames_for, overlap_add, overlap_add_torch, window


def test_periodic_hann_sums_to_one():
    w = window("hann", 800)
    assert w[0] == 0.0 and np.isclose(w[400], 1.0)
    np.testing.assert_allclose(w[:400] + w[400:], 1.0, atol=1e-12)
    assert FrameSpec().cola_gain() == pytest.approx(1.0)


@pytest.mark.parametrize("n", [1, 399, 400, 800, 801, 8000, 12345])
def test_round_trip(rng, n):
    x = rng.standard_normal(n)
    frames = frame(x)
    assert frames.shape == (n_frames_for(n), 800)
    np.testing.assert_allclose(overlap_add(frames, length=n), x, atol=1e-6)


def test_frames_are_windowed(rng):
    x = np.ones(4000)
    f = frame(x)
    np.testing.assert_allclose(f[2], window("hann", 800))


def test_other_cola_hops_and_non_cola_rejected(rng):
    x = rng.standard_normal(5000)
    spec = FrameSpec(frame_length=800, hop=200)
    assert spec.cola_gain() == pytest.approx(2.0)
    np.testing.assert_allclose(overlap_add(frame(x, spec), spec, length=len(x)), x, atol=1e-6)
    with pytest.raises(ValueError):
        FrameSpec(frame_length=800, hop=300)
    with pytest.raises(ValueError):
        FrameSpec(frame_length=800, hop=900)


def test_torch_overlap_add_matches_numpy(rng):
    frames = rng.standard_normal((3, 7, 800))
    ours = overlap_add_torch(torch.from_numpy(frames), hop=400).numpy()
    for b in range(3):
        np.testing.assert_allclose(ours[b], overlap_add(frames[b]), atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6000), hop_div=st.sampled_from([2, 4]), seed=st.integers(0, 2**31))
def test_round_trip_property(n, hop_div, seed):
    spec = FrameSpec(frame_length=400, hop=400 // hop_div)
    x = np.random.default_rng(seed).uniform(-1, 1, n)
    np.testing.assert_allclose(overlap_add(frame(x, spec), spec, length=n), x, atol=1e-6)
