"""Reconstruction losses over unit segments: multi-resolution STFT on overlap-added frames (audio default), per-unit MSE and BCE."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..audio.framing import overlap_add_torch


def _overlap_add(frames: torch.Tensor, hop: int) -> torch.Tensor:
    """``frames [B, S, N] -> [B, (S-1)*hop + N]``; when ``hop`` divides ``N`` the frames are split into
    ``N/hop`` blocks and summed as shifted pads (a few times faster than ``fold`` on CPU, incl. backward)."""
    B, S, N = frames.shape
    if N % hop:
        return overlap_add_torch(frames, hop)
    r = N // hop
    blocks = frames.reshape(B, S, r, hop)
    out = sum(F.pad(blocks[:, :, j], (0, 0, j, r - 1 - j)) for j in range(r))
    return out.reshape(B, -1)


class MultiResolutionSTFTLoss(nn.Module):
    """Spectral loss of waveforms ``est, ref [B, T]`` summed over several STFT resolutions.

    Per FFT size: spectral convergence ``||X - Y||_F / ||X||_F``, log-magnitude L1, and linear-magnitude
    L1 relative to ``mean|X|`` (all scale-free, so quiet and loud corpora weigh alike); averaged over
    resolutions, plus ``w_wave`` times the relative waveform error ``||x - y||^2 / ||x||^2``
    (= 10^(-SNR/10)), which keeps the phase of the low band. Short FFTs (64 at 8 kHz = 8 ms) pin down
    transients, long ones (512 = 64 ms) the harmonics. Per-sample MSE spends the model on the loud low
    band (speech power falls ~20 dB above 2 kHz); the log-magnitude term weighs every bin alike, which
    is what keeps 1-4 kHz alive. Norms and means run over the whole batch. Hop = n/2 (not n/4): the
    loss's many small elementwise ops cost as much as the model on a CPU, and halving frames halves them.
    """

    def __init__(
        self,
        fft_sizes: tuple[int, ...] = (64, 128, 256, 512),
        hop_ratio: float = 0.5,
        w_sc: float = 1.0,
        w_logmag: float = 1.0,
        w_linmag: float = 1.0,
        w_wave: float = 1.0,
        eps: float = 1e-5,
    ):
        super().__init__()
        if not fft_sizes or min(fft_sizes) < 4 or not 0 < hop_ratio <= 1:
            raise ValueError(f"bad fft_sizes {fft_sizes} / hop_ratio {hop_ratio}")
        self.fft_sizes, self.hop_ratio = tuple(int(n) for n in fft_sizes), float(hop_ratio)
        self.w_sc, self.w_logmag, self.w_linmag, self.w_wave, self.eps = w_sc, w_logmag, w_linmag, w_wave, eps
        for n in self.fft_sizes:
            self.register_buffer(f"win{n}", torch.hann_window(n), persistent=False)

    def _mag(self, x: torch.Tensor, n: int) -> torch.Tensor:
        spec = torch.stft(x, n, hop_length=max(1, int(n * self.hop_ratio)), window=getattr(self, f"win{n}"),
                          center=True, return_complex=True)
        return spec.abs()  # complex abs backward uses sgn(z), defined as 0 at z = 0: no NaN on silent pads

    def forward(self, est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        """``est, ref [B, T]`` -> scalar loss."""
        total = est.new_zeros(())
        for n in self.fft_sizes:
            with torch.no_grad():
                X = self._mag(ref, n)
                logX = torch.log(X.clamp_min(self.eps))
            Y = self._mag(est, n)
            d = X - Y
            sc = torch.linalg.vector_norm(d) / torch.linalg.vector_norm(X).clamp_min(self.eps)
            logmag = (logX - torch.log(Y.clamp_min(self.eps))).abs().mean()
            linmag = d.abs().mean() / X.mean().clamp_min(self.eps)
            total = total + self.w_sc * sc + self.w_logmag * logmag + self.w_linmag * linmag
        total = total / len(self.fft_sizes)
        if self.w_wave:
            total = total + self.w_wave * (est - ref).square().sum() / ref.square().sum().clamp_min(self.eps)
        return total


class SegmentSTFTLoss(nn.Module):
    """Frame-segment loss: overlap-add ``est, ref [B, S, N]`` with ``hop`` then :class:`MultiResolutionSTFTLoss`.

    Padded frames must already be zero in both (the training loop zeroes them), so they add silence.
    """

    def __init__(self, hop: int = 400, **stft_kwargs):
        super().__init__()
        self.hop = int(hop)
        self.stft = MultiResolutionSTFTLoss(**stft_kwargs)

    def forward(self, est: torch.Tensor, ref: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.stft(_overlap_add(est, self.hop), _overlap_add(ref, self.hop))


class FrameMSELoss(nn.Module):
    """The paper's loss: mean squared error per sample of each real frame, ``est, ref [B, S, N]``, ``mask [B, S]``."""

    def forward(self, est: torch.Tensor, ref: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        err = (est - ref).square().mean(-1)
        if mask is None:
            return err.mean()
        return (err * mask).sum() / mask.sum().clamp_min(1)


class UnitBCELoss(nn.Module):
    """Binary cross-entropy per value of each real unit (images in [0, 1] with a sigmoid decoder),
    ``est, ref [B, S, N]``, ``mask [B, S]``."""

    def forward(self, est: torch.Tensor, ref: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        eps = 1e-6
        err = F.binary_cross_entropy(est.clamp(eps, 1 - eps), ref.clamp(0, 1), reduction="none").mean(-1)
        if mask is None:
            return err.mean()
        return (err * mask).sum() / mask.sum().clamp_min(1)


LOSSES = ("mrstft", "mse", "bce")


def make_loss(name: str = "mrstft", hop: int = 400, **kwargs) -> nn.Module:
    """Loss over unit segments ``(est [B, S, N], ref [B, S, N], mask [B, S]) -> scalar`` (units flattened to N).

    ``"mrstft"`` (audio default): multi-resolution STFT + waveform term on the overlap-added segment;
    ``"mse"``: the paper's per-unit MSE (on speech it behaves as a ~1 kHz low-pass); ``"bce"``: binary
    cross-entropy for images in [0, 1].
    """
    if name == "mrstft":
        if hop <= 0:
            raise ValueError("loss 'mrstft' compares overlap-added audio frames; use 'mse' or 'bce' for other data")
        return SegmentSTFTLoss(hop=hop, **kwargs)
    if name in ("mse", "bce"):
        if kwargs:
            raise ValueError(f"loss {name!r} takes no options, got {sorted(kwargs)}")
        return FrameMSELoss() if name == "mse" else UnitBCELoss()
    raise ValueError(f"unknown autoencoder loss {name!r}; choose one of {', '.join(LOSSES)}")
