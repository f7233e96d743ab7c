"""Convolutional one-way flow layers (LED appendix A.3): circular convolution, space-to-depth reshapes.

A stride-1 convolution with circular padding and ``C -> C`` channels is a linear map of ``C·H·W`` values
that the 2-D DFT block-diagonalises (Sedghi, Gupta & Long, "The singular values of convolutional layers",
ICLR 2019): for each of the ``H·W`` frequencies ``f`` the ``C × C`` matrix ``P(f) = Σ_x w[:, :, x] e^{-2πi f·x}``
is one block, so log|det| = Σ_f log|det P(f)| — ``H·W`` small complex determinants instead of one
``CHW × CHW`` one. Shifting or flipping the kernel (correlation vs convolution, where the padding puts
the origin) multiplies each block by a phase or conjugates it, which leaves |det| unchanged.
"""
from __future__ import annotations

import torch
from torch import nn

from .layers import FlowLayer


def circular_conv_logabsdet(weight: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """log|det| of the circular convolution with ``weight [C, C, kh, kw]`` on ``H × W`` inputs (scalar)."""
    C, C2, kh, kw = weight.shape
    if C != C2 or kh > height or kw > width:
        raise ValueError(f"need a square [C, C, kh, kw] kernel no larger than {height}x{width}, got {tuple(weight.shape)}")
    P = torch.fft.fft2(weight, s=(height, width))  # [C, C, H, W] complex
    return torch.linalg.slogdet(P.permute(2, 3, 0, 1)).logabsdet.sum()


class CircularConv2d(FlowLayer):
    """``C -> C`` channels, odd square kernel, stride 1, circular padding: a bijection of ``[B, C, H, W]``
    when no block ``P(f)`` is singular. Initialised as identity plus small noise (log|det| near 0)."""

    def __init__(self, channels: int, kernel_size: int = 3, bias: bool = True, init_noise: float = 0.05):
        super().__init__()
        if kernel_size % 2 != 1 or channels < 1:
            raise ValueError(f"need channels >= 1 and an odd kernel_size, got {channels}, {kernel_size}")
        self.conv = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, padding_mode="circular",
                              bias=bias)
        with torch.no_grad():
            self.conv.weight.normal_(0.0, init_noise / kernel_size)
            self.conv.weight[:, :, kernel_size // 2, kernel_size // 2] += torch.eye(channels)
            if bias:
                self.conv.bias.zero_()

    def forward(self, x, logp):
        y = self.conv(x)
        return y, logp - circular_conv_logabsdet(self.conv.weight, x.shape[2], x.shape[3])


class DepthToSpace(FlowLayer):
    """``[B, C·r², H, W] -> [B, C, H·r, W·r]`` (``pixel_shuffle``): a permutation of the values, log|det| = 0."""

    def __init__(self, factor: int = 2):
        super().__init__()
        self.factor = int(factor)

    def forward(self, x, logp):
        return nn.functional.pixel_shuffle(x, self.factor), logp


class Reshape(FlowLayer):
    """``[B, D] -> [B, *shape]`` (or back): a relabelling of the values, log|det| = 0."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x, logp):
        return x.reshape(x.shape[0], *self.shape), logp
