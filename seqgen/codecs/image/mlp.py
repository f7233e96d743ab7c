"""Deterministic fully connected image autoencoder with a sigmoid output (Yoo et al.'s MNIST setting: a plain
AE trained by MSE on [0, 1] images, whose latent density is learned afterwards).

Encoder ``x [B, C·H·W] -> ReLU(h_1) -> … -> ReLU(h_n) -> z [B, D]`` (linear latent); decoder the mirror
``z -> ReLU(h_n) -> … -> ReLU(h_1) -> sigmoid(C·H·W)``, so outputs lie in (0, 1) like the units.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ...registry import AUTOENCODERS
from ..base import Codec


def mlp(sizes: list[int]) -> list[nn.Module]:
    """``Linear`` layers between consecutive ``sizes``, each but the last followed by a ReLU (no output activation)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
    return layers


@AUTOENCODERS.register("mlp")
class MLPAutoencoder(Codec):
    """MLP autoencoder ``[B, C, H, W] <-> [B, latent_dim]``.

    Args:
        unit_shape: ``[C, H, W]`` of one image.
        latent_dim: ``D`` (Yoo et al., MNIST: 8).
        hidden_dims: widths of the encoder's hidden layers (the decoder uses them reversed).
    """

    def __init__(self, unit_shape: tuple[int, ...] | list[int] = (1, 28, 28), latent_dim: int = 8,
                 hidden_dims: list[int] | tuple[int, ...] = (512, 256)):
        super().__init__()
        unit_shape = tuple(int(s) for s in unit_shape)
        if len(unit_shape) != 3 or min(unit_shape) < 1:
            raise ValueError(f"unit_shape must be [C, H, W] with positive sizes, got {list(unit_shape)}")
        hidden = [int(h) for h in hidden_dims]
        if int(latent_dim) < 1 or any(h < 1 for h in hidden):
            raise ValueError(f"latent_dim and hidden_dims must be positive, got {latent_dim}, {hidden}")
        self.unit_shape, self.latent_dim, self.hidden_dims = unit_shape, int(latent_dim), hidden
        sizes = [math.prod(unit_shape), *hidden, self.latent_dim]
        self.encoder = nn.Sequential(nn.Flatten(), *mlp(sizes))
        self.decoder = nn.Sequential(*mlp(sizes[::-1]), nn.Sigmoid())

    def get_config(self) -> dict:
        return {"unit_shape": list(self.unit_shape), "latent_dim": self.latent_dim, "hidden_dims": list(self.hidden_dims)}

    def encode(self, units: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W] -> z [B, D]``."""
        return self.encoder(units)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z [B, D] -> [B, C, H, W]`` in (0, 1)."""
        return self.decoder(z).reshape(-1, *self.unit_shape)
