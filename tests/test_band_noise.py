"""Band split of the decoder (seqgen/codecs/audio/noise.py): envelope analysis, low-pass, calibrated noise."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seqgen.audio.framing import FrameSpec, frame, overlap_add
from seqgen.codecs.audio.conv1d import ConvAutoencoder
from seqgen.codecs.audio.noise import BandNoise

SPEC = FrameSpec()


def _frames(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(frame(x.astype(np.float32), SPEC))


def _coloured_noise(seconds: float = 20.0, seed: int = 0) -> np.ndarray:
    """Noise whose spectrum falls ~20 dB from 1 to 4 kHz, like speech's high band."""
    x = np.random.default_rng(seed).standard_normal(int(8000 * seconds))
    X = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / 8000)
    return np.fft.irfft(X / np.maximum(f / 1000, 1.0) ** 1.7, n=len(x)) * 0.1


def test_noise_from_an_envelope_has_that_envelope():
    """Analysis -> synthesis -> analysis gives the envelope back (mean over frames within 0.5 dB per band).
    The noise alone: the untrained decoder's random low band would leak into the lowest band."""
    model = ConvAutoencoder(noise_bands=8).eval()
    x = _coloured_noise()
    with torch.no_grad():
        z = model.encode(_frames(x))
        y = overlap_add(model.noise.sample(z[:, -8:], np.random.default_rng(1)).numpy(), SPEC, length=len(x))
        z2 = model.encode(_frames(y))
    diff_db = (z2[5:-5, -8:] - z[5:-5, -8:]).mean(0).numpy() * 10 / np.log(10)
    assert np.abs(diff_db).max() < 0.5, diff_db
    spread = z[5:-5, -8:].mean(0).numpy() * 10 / np.log(10)
    assert spread[0] - spread[-1] > 10  # the test signal really is coloured, so a flat noise would fail


def test_decoded_waveform_is_low_band_only():
    model = ConvAutoencoder(noise_bands=8).eval()
    with torch.no_grad():
        y = model.decode(torch.randn(50, 80)).numpy()
    p = np.abs(np.fft.rfft(y, axis=1)) ** 2
    below, above = p[:, :95].sum(), p[:, 106:].sum()  # the window's main lobe leaks +-2 bins
    assert 10 * np.log10(above / below) < -40


def test_noise_is_stationary_across_the_hop():
    """sqrt-Hann synthesis frames overlap-add to a constant variance (no 20 Hz flutter)."""
    noise = BandNoise(800, n_bands=4, crossover_bin=100)
    env = torch.zeros(4000, 4)
    with torch.no_grad():
        y = overlap_add(noise.sample(env, np.random.default_rng(0)).numpy(), SPEC)
    var = (y[2000:-2000].reshape(-1, 400) ** 2).mean(0)
    smooth = np.convolve(var, np.ones(40) / 40, mode="valid")
    assert smooth.max() / smooth.min() < 1.1


def test_noise_draws_do_not_depend_on_block_size():
    noise = BandNoise(800, n_bands=8)
    env = torch.randn(30, 8)
    one = noise.sample(env, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    blocks = torch.cat([noise.sample(env[a : a + 7], rng) for a in range(0, 30, 7)])
    torch.testing.assert_close(one, blocks)


def test_scale_zero_is_the_mean_decoder_and_silence_stays_silent():
    model = ConvAutoencoder(noise_bands=8).eval()
    with torch.no_grad():
        z = model.encode(torch.zeros(3, 800))
        torch.testing.assert_close(model.decode_sample(z, np.random.default_rng(0), 0.0), model.decode(z))
        assert model.decode_sample(z, np.random.default_rng(0)).abs().max() < 1e-3


def test_band_split_options_are_checked_and_saved():
    with pytest.raises(ValueError, match="noise_bands"):
        ConvAutoencoder(latent_dim=8, noise_bands=8)
    with pytest.raises(ValueError, match="crossover_bin"):
        ConvAutoencoder(noise_bands=8, noise_crossover_bin=400)
    from seqgen.codecs.audio.vae import ConvVAE

    with pytest.raises(ValueError, match="band split"):
        ConvVAE(noise_bands=8)
    m = ConvAutoencoder(noise_bands=6, noise_crossover_bin=120)
    assert ConvAutoencoder(**m.get_config()).get_config() == m.get_config()
    assert m.encode(torch.randn(2, 800)).shape == (2, 80) and m.code_dim == 74


def test_an_outlier_envelope_decodes_to_finite_audio():
    """A prior can sample far outside the training range (an AR prior did: +400 in log power)."""
    noise = BandNoise(800, n_bands=8)
    with torch.no_grad():
        y = noise.sample(torch.full((4, 8), 400.0), np.random.default_rng(0))
        quiet = noise.sample(torch.full((4, 8), -400.0), np.random.default_rng(0))
    assert torch.isfinite(y).all() and y.abs().max() < 1e3 and quiet.abs().max() < 1e-3


def test_band_split_needs_half_overlap():
    from seqgen.config import load_recipe
    from seqgen.errors import ConfigError
    from seqgen.pipeline.build import build_autoencoder

    recipe = Path(__file__).resolve().parents[1] / "recipes" / "spoken_digits"
    assert build_autoencoder(load_recipe(recipe)).noise is not None
    with pytest.raises(ConfigError, match="50 % overlap"):
        build_autoencoder(load_recipe(recipe, ["representation.hop=200"]))
