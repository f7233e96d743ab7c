"""1-D convolutional waveform codec (paper §4.2): windowed frame (N samples) <-> latent vector (D)."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ...audio.framing import window
from ...registry import AUTOENCODERS
from ..base import Codec
from .noise import BandNoise
from .polyphase import PolyphaseTransposedConv, polyphase_transposed_conv, train_polyphase


def _taps(span: int, rate_div: int, stride: int) -> int:
    """Taps of a layer running at ``1/rate_div`` of the input rate whose filter spans ``span`` input
    samples; at least ``stride`` taps and ``taps - stride`` even, so 'same' padding is symmetric."""
    k = max(stride, round(span / rate_div))
    return k + ((k - stride) % 2)


class DownConv(nn.Module):
    """Strided conv ``x [B, Cin, L] -> [B, Cout, L/stride]`` ('same' zero padding)."""

    def __init__(self, c_in: int, c_out: int, taps: int, stride: int, bias: bool = True):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, taps, stride=stride, bias=bias)
        self.pad = ((taps - stride) // 2, taps - stride - (taps - stride) // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, self.pad))


class UpConv(nn.Module):
    """Upsampling by ``stride`` then a 'same' conv: ``x [B, Cin, L] -> [B, Cout, L*stride]``.

    ``mode="nearest"``: nearest-neighbour upsampling = a transposed conv with a box of ``stride`` ones;
    its response is zero at every multiple of rate/stride and every output phase sees the same total
    weight, so a constant input cannot become the spectral lines (checkerboard) of a plain transposed
    conv. ``mode="zeros"``: zero insertion, i.e. a plain transposed conv; its images are not attenuated
    (the nearest box costs 13-18 dB at 1.5-3.5 kHz when upsampling 1 kHz -> 8 kHz, which the model
    must learn to undo), and it is line-free only when its input has no DC: used for the last layer of
    the odd (bias-free, tanh) decoder, whose ``taps`` (200) are also a multiple of the stride (8).
    Either way computed as ONE transposed conv with kernel ``box * flip(w)`` at the low rate: ``stride``
    times fewer multiply-adds than the conv after upsampling. ``tests`` check the equivalence.
    """

    def __init__(self, c_in: int, c_out: int, taps: int, stride: int, bias: bool = True, mode: str = "nearest"):
        super().__init__()
        if mode not in ("nearest", "zeros"):
            raise ValueError(f"upsampling mode must be 'nearest' or 'zeros', got {mode!r}")
        self.conv = nn.Conv1d(c_in, c_out, taps, bias=bias)  # conv after upsampling, weight [Cout, Cin, K]
        self.stride, self.taps, self.mode = stride, taps, mode
        self.pad_left = (taps - 1) // 2  # 'same' padding of the high-rate conv

    def transposed_weight(self) -> torch.Tensor:
        """Equivalent ``conv_transpose1d`` weight ``[Cin, Cout, taps + box - 1]`` (box = stride or 1)."""
        s = self.stride if self.mode == "nearest" else 1
        w = self.conv.weight.flip(-1)
        W = sum(F.pad(w, (j, s - 1 - j)) for j in range(s))
        return W.transpose(0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        L = x.shape[-1] * self.stride
        if self.stride == 1:
            y = F.conv_transpose1d(x, self.transposed_weight(), self.conv.bias)
        elif not torch.is_grad_enabled():  # inference (encode/decode under no_grad): 3x faster on CPU
            y = polyphase_transposed_conv(x, self.transposed_weight(), self.conv.bias, self.stride)
        elif self.conv.out_channels < self.stride and train_polyphase():
            # training, few output channels (the slow case of CPU backends): polyphase forward, library backward
            y = PolyphaseTransposedConv.apply(x, self.transposed_weight(), self.stride)
            y = y if self.conv.bias is None else y + self.conv.bias[:, None]
        else:
            y = F.conv_transpose1d(x, self.transposed_weight(), self.conv.bias, stride=self.stride)
        start = self.taps - 1 - self.pad_left
        if y.shape[-1] < start + L:
            y = F.pad(y, (0, start + L - y.shape[-1]))
        return y[..., start : start + L]

    def reference_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The same map written the slow, obvious way (for tests)."""
        if self.mode == "nearest":
            u = x.repeat_interleave(self.stride, dim=-1)
        else:
            u = F.pad(x.unsqueeze(-1), (0, self.stride - 1)).flatten(-2)  # x0 0 0 0 x1 0 0 0 ...
        return self.conv(F.pad(u, (self.pad_left, self.taps - 1 - self.pad_left)))


# activation -> is it odd. With an odd activation and no biases encoder and decoder are odd maps
# (f(-x) = -f(x)), like the ideal reconstruction x -> x. An un-odd decoder learns a frame-invariant
# "default" waveform (bias path) that overlap-add repeats every hop: a buzz with lines at multiples of
# sr/hop (20 Hz) that a phase-blind spectral loss rewards when it fills a weak high band.
_ACTIVATIONS = {"tanh": True, "leaky_relu": False}


@AUTOENCODERS.register("conv")
class ConvAutoencoder(Codec):
    """Conv encoder (``len(strides)`` strided convs + linear -> ``latent_dim``) and mirrored decoder.

    ``kernel_size`` is the span of every conv layer in *input samples* (paper: 200): a layer running at
    rate ``sr / prod(previous strides)`` gets ``kernel_size / prod(previous strides)`` taps, so all layers
    see the same 25 ms of signal and the cost of the low-rate layers stays small. The decoder mirrors the
    encoder with :class:`UpConv` blocks (nearest upsampling; ``output_upsampling`` for the last one);
    with ``window_output`` its output is multiplied by the same periodic Hann window as the input
    frames, so decoded frames overlap-add without edge clicks. ``activation="tanh"`` (default) makes
    both halves odd maps with no biases (see ``_ACTIVATIONS``); ``"leaky_relu"`` adds biases.

    Defaults (``channels=(32, 32, 32)``, ``strides=(8, 4, 1)`` -> taps 200 / 26 / 7, 25 steps x 32
    channels before the linear map): the 200-tap layers run at 8 kHz / 8 = 1 kHz output rate and
    dominate the cost, so stride 8 there (32 channels = 4x oversampled filterbank) is what keeps
    an FSDD epoch fast; 64 channels in the first layer, or stride 4, cost ~3x more.

    ``noise_bands > 0`` splits the band at FFT bin ``noise_crossover_bin`` (:mod:`.noise`): the last
    ``noise_bands`` of the ``latent_dim`` numbers are the frame's high-band envelope, the conv code gets
    the others, ``decode`` returns the low-passed waveform and :meth:`decode_sample` adds the high band
    as noise under the envelope.
    """

    def __init__(
        self,
        frame_length: int = 800,
        latent_dim: int = 80,
        channels: tuple[int, ...] | list[int] = (32, 32, 32),
        kernel_size: int = 200,
        strides: tuple[int, ...] | list[int] = (8, 4, 1),
        activation: str = "tanh",
        output_upsampling: str = "zeros",
        negative_slope: float = 0.2,
        window_output: bool = True,
        window_name: str = "hann",
        noise_bands: int = 0,
        noise_crossover_bin: int = 100,
    ):
        super().__init__()
        channels, strides = [int(c) for c in channels], [int(s) for s in strides]
        if len(channels) != len(strides) or not channels:
            raise ValueError(f"channels {channels} and strides {strides} must be non-empty and equally long")
        if min(channels) < 1 or min(strides) < 1 or kernel_size < 1 or latent_dim < 1:
            raise ValueError("channels, strides, kernel_size and latent_dim must be positive")
        if not 0 <= noise_bands < latent_dim:
            raise ValueError(f"noise_bands must be in [0, latent_dim = {latent_dim}), got {noise_bands}")
        if output_upsampling not in ("nearest", "zeros"):
            raise ValueError(f"output_upsampling must be 'nearest' or 'zeros', got {output_upsampling!r}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        if frame_length % math.prod(strides):
            raise ValueError(f"frame_length {frame_length} is not divisible by prod(strides) = {math.prod(strides)}")
        self.frame_length, self.latent_dim = int(frame_length), int(latent_dim)
        self.channels, self.strides, self.kernel_size = channels, strides, int(kernel_size)
        self.activation, self.negative_slope = activation, float(negative_slope)
        self.window_output, self.output_upsampling = bool(window_output), output_upsampling
        bias = not _ACTIVATIONS[activation]  # odd activation: no biases, so the whole map stays odd
        self.window_name = window_name

        div, taps = 1, []
        for s in strides:
            taps.append(_taps(self.kernel_size, div, s))
            div *= s
        self.taps = taps
        self.code_length = frame_length // div  # time steps left after the last conv
        c_io = [1] + channels
        self.enc = nn.ModuleList(
            DownConv(c_io[i], c_io[i + 1], taps[i], strides[i], bias) for i in range(len(strides))
        )
        self.code_dim = self.latent_dim - int(noise_bands)  # the conv code; the rest is the noise envelope
        self.to_latent = nn.Linear(channels[-1] * self.code_length, self.code_dim, bias=bias)
        self.from_latent = nn.Linear(self.code_dim, channels[-1] * self.code_length, bias=bias)
        self.dec = nn.ModuleList(
            UpConv(c_io[i + 1], c_io[i], taps[i], strides[i], bias, output_upsampling if i == 0 else "nearest")
            for i in reversed(range(len(strides)))
        )
        w = torch.tensor(window(window_name, frame_length), dtype=torch.float32)
        self.register_buffer("out_window", w if window_output else torch.ones(frame_length), persistent=False)
        self.reset_parameters()
        self.noise_crossover_bin = int(noise_crossover_bin)
        self.noise = (BandNoise(frame_length, noise_bands, self.noise_crossover_bin, window_name)
                      if noise_bands else None)
        self.unit_shape = (self.frame_length,)

    @property
    def stochastic_decoder(self) -> bool:
        """A band-split decoder draws its high band as noise in :meth:`decode_sample`."""
        return self.noise is not None

    def bounded_latents(self) -> slice | None:
        """The band envelope (the last ``noise_bands`` numbers) stays within the training range."""
        return None if self.noise is None else slice(self.code_dim, None)

    def check_representation(self, representation) -> None:
        hop = representation.hop
        if self.noise is not None and 2 * hop != self.frame_length:
            raise ValueError(f"noise_bands needs 50 % overlap (representation.hop = frame_length / 2 = "
                             f"{self.frame_length // 2}), got hop {hop}: its noise frames overlap-add to a "
                             f"constant level only there")

    def reconstruction_target(self, units: torch.Tensor) -> torch.Tensor:
        """The input's low band with a band split (its high band is the envelope, not decoded)."""
        return units if self.noise is None else self.noise.lowpass(units)

    def reset_parameters(self) -> None:
        """He/Xavier-gain normal init for the hidden layers, unit gain for the linear ones, zero biases.

        torch's default (uniform, gain 1/sqrt(3)) shrinks the signal ~3x per layer; over 8 layers the
        untrained output sits ~30 dB below the input and training crawls.
        """
        linear_out = {id(self.to_latent), id(self.dec[-1].conv)}
        for mod in self.modules():
            if isinstance(mod, (nn.Conv1d, nn.Linear)):
                if id(mod) in linear_out:
                    nn.init.kaiming_normal_(mod.weight, nonlinearity="linear")
                elif self.activation == "tanh":
                    nn.init.kaiming_normal_(mod.weight, nonlinearity="tanh")
                else:
                    nn.init.kaiming_normal_(mod.weight, a=self.negative_slope, nonlinearity="leaky_relu")
                if mod.bias is not None:
                    nn.init.zeros_(mod.bias)

    def get_config(self) -> dict:
        """Constructor kwargs (JSON-able): ``ConvAutoencoder(**m.get_config())`` rebuilds the architecture."""
        return {
            "frame_length": self.frame_length,
            "latent_dim": self.latent_dim,
            "channels": list(self.channels),
            "kernel_size": self.kernel_size,
            "strides": list(self.strides),
            "activation": self.activation,
            "output_upsampling": self.output_upsampling,
            "negative_slope": self.negative_slope,
            "window_output": self.window_output,
            "window_name": self.window_name,
            "noise_bands": self.latent_dim - self.code_dim,
            "noise_crossover_bin": self.noise_crossover_bin,
        }

    def _act(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x) if self.activation == "tanh" else F.leaky_relu(x, self.negative_slope)

    def features(self, frames: torch.Tensor) -> torch.Tensor:
        """``frames [B, N]`` (windowed) -> the conv stack's output, flattened ``[B, C * code_length]``."""
        h = frames.unsqueeze(1)
        for layer in self.enc:
            h = self._act(layer(h))
        return h.flatten(1)

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """``frames [B, N]`` (windowed) -> latents ``z [B, D]``."""
        z = self.to_latent(self.features(frames))
        return z if self.noise is None else torch.cat([z, self.noise.envelope(frames)], dim=-1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``z [B, D]`` -> windowed frames ``[B, N]`` (low-passed at the crossover with ``noise_bands``)."""
        h = self._act(self.from_latent(z[:, : self.code_dim])).view(z.shape[0], self.channels[-1], self.code_length)
        for i, layer in enumerate(self.dec):
            h = layer(h)
            if i < len(self.dec) - 1:
                h = self._act(h)
        h = h.squeeze(1)
        return (h if self.noise is None else self.noise.lowpass(h)) * self.out_window

    def decode_sample(self, z: torch.Tensor, rng: np.random.Generator, scale: float = 1.0) -> torch.Tensor:
        """``decode(z)`` plus, with ``noise_bands``, one draw of the high-band noise (std times ``scale``)."""
        frames = self.decode(z)
        if self.noise is None or scale == 0:
            return frames
        return frames + self.noise.sample(z[:, self.code_dim:], rng, scale)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """``frames [B, N]`` -> reconstructed frames ``[B, N]`` (the deterministic band with ``noise_bands``)."""
        return self.decode(self.encode(frames))
