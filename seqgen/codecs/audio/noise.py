"""Band split of the decoder: a deterministic low band and a high band of noise under a coded envelope.

Above ~1 kHz speech is mostly aperiodic (fricatives, breath, jittery upper harmonics). A deterministic
decoder trained towards the mean of a frame leaves that band 7-10 dB too quiet and its waveform nearly
uncorrelated with the input (band SNR ~ 0 dB; benchmarks/README.md), and the digit classifier recognises
72 % of such reconstructions. Measured on the same autoencoder: replacing the decoded 1-4 kHz band by noise
whose per-frame spectral envelope is the input's (8 bands) lifts that to 98 %; the exact high-band waveform
does not matter, its envelope does. That is the split of spectral modelling synthesis (a deterministic part
plus noise shaped by a spectral envelope, Serra & Smith 1990) and of spectral band replication in audio
codecs (a coarse high-band envelope sent beside a waveform-coded low band, Dietz et al. 2002).

So with ``n_bands > 0`` the last ``n_bands`` latent dimensions of a frame are the log mean power of its
spectrum in ``n_bands`` equal-width bands from ``crossover_bin`` to Nyquist (the analysis, no weights), the
decoder's waveform output is low-passed at ``crossover_bin``, and generation adds, per frame, complex
Gaussian noise with that power in each band (random phase), windowed by ``sqrt(hann)``: synthesis window
squared = Hann, which overlap-adds to a constant at 50 % overlap (the framing this needs; the pipeline
checks it), so the noise is stationary across frames.
The latent stays ``latent_dim`` numbers per frame and the prior models envelope and waveform code jointly.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from ...audio.framing import window

LOG_FLOOR = math.log(1e-10)  # log power of a silent band (frames are peak-normalised to ~0.9)


class BandNoise(nn.Module):
    """Envelope analysis, low-pass and noise synthesis for frames of ``frame_length`` samples.

    ``crossover_bin``: first FFT bin of the noise band (bin ``k`` = ``k * sample_rate / frame_length`` Hz:
    100 = 1 kHz for 800-sample frames at 8 kHz); ``window_name``: the analysis window of the input frames
    (their envelope is measured through it; the synthesis is calibrated so the envelope of generated noise,
    measured the same way, equals the one it was made from).
    """

    def __init__(self, frame_length: int, n_bands: int = 8, crossover_bin: int = 100, window_name: str = "hann"):
        super().__init__()
        self.frame_length, self.n_bins = int(frame_length), int(frame_length) // 2 + 1
        if not 0 < crossover_bin < self.n_bins - 1 or not 0 < n_bands <= self.n_bins - 1 - crossover_bin:
            raise ValueError(f"need 0 < crossover_bin < {self.n_bins - 1} and 0 < n_bands <= the bins above it, "
                             f"got crossover_bin {crossover_bin}, n_bands {n_bands}")
        self.n_bands, self.crossover_bin = int(n_bands), int(crossover_bin)
        edges = np.linspace(crossover_bin, self.n_bins, n_bands + 1).round().astype(int)
        band = np.full(self.n_bins, -1)
        for j, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
            band[a:b] = j
        onehot = torch.zeros(self.n_bins, n_bands)
        onehot[band >= 0, band[band >= 0]] = 1.0
        self.register_buffer("band_matrix", onehot, persistent=False)  # bin -> band membership
        self.register_buffer("low_mask", torch.as_tensor(band < 0, dtype=torch.float32), persistent=False)
        w_in = window(window_name, self.frame_length).astype(np.float64)
        self.register_buffer("synthesis_window", torch.hann_window(self.frame_length, periodic=True).sqrt(),
                             persistent=False)
        # analysis power of unit-variance white noise through sqrt-Hann (N/2) vs through the input window
        self.gain = float(self.frame_length / 2 / np.sum(w_in**2))
        # no band of a frame with |x| <= 1 holds more mean power than N * sum(w^2) (Parseval): a sampled
        # envelope beyond it (a prior's outlier) is clipped there instead of decoding to inf
        self.log_ceiling = float(np.log(self.frame_length * np.sum(w_in**2)))

    def envelope(self, frames: torch.Tensor) -> torch.Tensor:
        """Windowed frames ``[B, N]`` -> log mean power per band ``[B, n_bands]`` (floored at silence)."""
        power = torch.fft.rfft(frames).abs().square()
        mean = power @ self.band_matrix / self.band_matrix.sum(0)
        return torch.log(mean.clamp_min(math.exp(LOG_FLOOR)))

    def lowpass(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames ``[..., N]`` with every bin from ``crossover_bin`` up removed (the deterministic band)."""
        return torch.fft.irfft(torch.fft.rfft(frames) * self.low_mask, n=self.frame_length)

    def sample(self, envelope: torch.Tensor, rng: np.random.Generator, scale: float = 1.0) -> torch.Tensor:
        """One noise frame per envelope ``[T, n_bands]`` -> ``[T, N]`` to overlap-add with the decoded frames.

        Bins get CN(0, P) with ``P = gain * exp(envelope)`` of their band (envelope clipped to the
        physically possible range). irfft of CN(0, P) has per-sample
        variance ``P / N``; sqrt-Hann frames overlap-add to that variance (Hann sums to 1); analysed through
        the input window it shows ``P / N * sum(w^2) = exp(envelope)`` again with the ``sqrt(2)`` below
        (tested). Draws ``rng.standard_normal((T, n_bins, 2))`` in row order, so decoding a sequence in
        blocks draws the same numbers as decoding it at once.
        """
        T = envelope.shape[0]
        e = torch.as_tensor(rng.standard_normal((T, self.n_bins, 2)), dtype=torch.float32, device=envelope.device)
        eps = torch.complex(e[..., 0], e[..., 1]) / math.sqrt(2.0)  # CN(0, 1)
        power = self.gain * torch.exp(envelope.clamp(LOG_FLOOR, self.log_ceiling)) @ self.band_matrix.T
        frames = torch.fft.irfft(torch.sqrt(power) * eps * float(scale), n=self.frame_length)
        return frames * self.synthesis_window * math.sqrt(2.0)
