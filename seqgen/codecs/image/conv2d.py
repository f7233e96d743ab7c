"""DCGAN-style convolutional image autoencoder (Radford et al. 2016), the paper's CelebA codec (latent 100).

Encoder: ``n`` blocks ``Conv2d(k=4, s=2, p=1)`` (each halves H and W) + BatchNorm (not on the first block,
as DCGAN's discriminator) + LeakyReLU(0.2), then a linear map of the ``c_last × h × w`` feature map to
``z [B, D]``. Decoder (DCGAN's generator): linear ``z -> c_last × h × w`` + BN + ReLU, then ``n`` blocks
``ConvTranspose2d(k=4, s=2, p=1)`` (each doubles H and W) + BN + ReLU, the last to the image channels
with a sigmoid, so outputs lie in (0, 1) like the units. Block ``i`` has ``base_channels · 2^i`` channels.

``n`` is the number of halvings that take ``min(H, W)`` down to at most 7 while it stays even:
64 -> 4 (n = 4), 32 -> 4 (n = 3), 28 -> 7 (n = 2), 48 -> 6 (n = 3); H and W must both be divisible by
``2^n``. Any channel count (1 grayscale, 3 RGB) from ``unit_shape``.

With ``batch_norm`` (default, as DCGAN) ``encode`` / ``decode`` in training mode use batch statistics;
the pipeline encodes in eval mode (running statistics), as for any BN network.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ...registry import AUTOENCODERS
from ..base import Codec


def n_halvings(size: int) -> int:
    """How many stride-2 blocks take ``size`` to at most 7 while it stays even (64 -> 4, 28 -> 2)."""
    n = 0
    while size % 2 == 0 and size > 7:
        size //= 2
        n += 1
    return n


@AUTOENCODERS.register("conv2d")
class ConvAutoencoder2d(Codec):
    """DCGAN-style conv autoencoder ``[B, C, H, W] <-> [B, latent_dim]``.

    Args:
        unit_shape: ``[C, H, W]``, e.g. ``[1, 64, 64]``, ``[3, 64, 64]``, ``[1, 32, 32]``, ``[1, 28, 28]``.
        latent_dim: ``D`` (paper, CelebA: 100).
        base_channels: channels of the first block, doubled per block (DCGAN: 64 — 16 keeps a CPU epoch
            on a few hundred 64×64 images at a few seconds).
        batch_norm: DCGAN's batch normalisation in the hidden blocks.
        negative_slope: the encoder's LeakyReLU slope.
    """

    def __init__(
        self,
        unit_shape: tuple[int, ...] | list[int] = (1, 64, 64),
        latent_dim: int = 100,
        base_channels: int = 16,
        batch_norm: bool = True,
        negative_slope: float = 0.2,
    ):
        super().__init__()
        unit_shape = tuple(int(s) for s in unit_shape)
        if len(unit_shape) != 3 or min(unit_shape) < 1:
            raise ValueError(f"unit_shape must be [C, H, W] with positive sizes, got {list(unit_shape)}")
        if int(latent_dim) < 1 or int(base_channels) < 1:
            raise ValueError(f"latent_dim and base_channels must be positive, got {latent_dim}, {base_channels}")
        if not 0.0 <= negative_slope < 1.0:
            raise ValueError(f"negative_slope must be in [0, 1), got {negative_slope}")
        c, H, W = unit_shape
        n = n_halvings(min(H, W))
        if n < 1 or H % 2**n or W % 2**n:
            raise ValueError(
                f"image size {H}x{W} does not suit stride-2 blocks: need min(H, W) even and > 7 and both "
                f"sides divisible by 2^n (n = {n}); e.g. 28, 32, 64"
            )
        self.unit_shape, self.latent_dim = unit_shape, int(latent_dim)
        self.base_channels, self.batch_norm = int(base_channels), bool(batch_norm)
        self.negative_slope = float(negative_slope)
        chans = [self.base_channels * 2**i for i in range(n)]
        self.code_shape = (chans[-1], H >> n, W >> n)  # feature map between the convs and the linear maps

        def norm(ch: int) -> nn.Module:
            return nn.BatchNorm2d(ch) if self.batch_norm else nn.Identity()

        enc, c_in = [], c
        for i, ch in enumerate(chans):
            enc += [nn.Conv2d(c_in, ch, 4, 2, 1, bias=not (self.batch_norm and i > 0)),
                    norm(ch) if i > 0 else nn.Identity(), nn.LeakyReLU(self.negative_slope)]
            c_in = ch
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(math.prod(self.code_shape), self.latent_dim))

        self.from_latent = nn.Linear(self.latent_dim, math.prod(self.code_shape))
        self.from_latent_act = nn.Sequential(norm(chans[-1]), nn.ReLU())
        dec = []
        for i in reversed(range(n)):
            c_out = chans[i - 1] if i > 0 else c
            dec.append(nn.ConvTranspose2d(chans[i], c_out, 4, 2, 1, bias=not (self.batch_norm and i > 0)))
            dec += [norm(c_out), nn.ReLU()] if i > 0 else [nn.Sigmoid()]
        self.decoder = nn.Sequential(*dec)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-normal conv / linear weights for the following (leaky) ReLU, unit gain for the maps into
        the latent and into the sigmoid; zero biases."""
        linear_out = {id(self.encoder[-1]), id(self.decoder[-2])}
        for mod in self.modules():
            if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                if id(mod) in linear_out:
                    nn.init.kaiming_normal_(mod.weight, nonlinearity="linear")
                elif mod in self.encoder.modules():
                    nn.init.kaiming_normal_(mod.weight, a=self.negative_slope, nonlinearity="leaky_relu")
                else:
                    nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
                if mod.bias is not None:
                    nn.init.zeros_(mod.bias)

    def get_config(self) -> dict:
        return {"unit_shape": list(self.unit_shape), "latent_dim": self.latent_dim,
                "base_channels": self.base_channels, "batch_norm": self.batch_norm,
                "negative_slope": self.negative_slope}

    def encode(self, units: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W] -> z [B, D]``."""
        return self.encoder(units)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z [B, D] -> [B, C, H, W]`` in (0, 1)."""
        h = self.from_latent(z).reshape(-1, *self.code_shape)
        return self.decoder(self.from_latent_act(h))
