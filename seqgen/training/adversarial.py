"""Adversarial pieces an objective composes: an MLP critic and the WGAN-GP gradient penalty.

Gulrajani et al. (2017), "Improved training of Wasserstein GANs", eq. 3: the critic's 1-Lipschitz
constraint is enforced softly by ``λ · E_u[(‖∇_u C(u)‖₂ − 1)²]`` on points ``u = b + α (a − b)``,
``α ~ U(0, 1)`` per sample, between a batch of each distribution.
"""
from __future__ import annotations

import torch
from torch import nn

from ..codecs.image.mlp import mlp


class Critic(nn.Module):
    """``C: [B, n] -> [B]``, an MLP with ReLU hidden layers of widths ``hidden_dims`` and a linear output."""

    def __init__(self, dim: int, hidden_dims: list[int] | tuple[int, ...] = (512, 512)):
        super().__init__()
        sizes = [int(dim), *[int(h) for h in hidden_dims], 1]
        if min(sizes) < 1:
            raise ValueError(f"critic sizes must be positive, got {sizes}")
        self.net = nn.Sequential(*mlp(sizes))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).squeeze(-1)


def gradient_penalty(critic: nn.Module, a: torch.Tensor, b: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """``E[(‖∇_u C(u)‖₂ − 1)²]`` over ``u = b + α (a − b)``, ``a, b [B, n]``, ``α ~ U(0, 1)`` per row (drawn from
    ``generator``); differentiable in the critic's parameters (``create_graph``), not in ``a`` or ``b``."""
    alpha = torch.rand(len(a), 1, device=a.device, dtype=a.dtype, generator=generator)
    u = (b.detach() + alpha * (a.detach() - b.detach())).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(u).sum(), u, create_graph=True)
    return (grad.norm(dim=1) - 1.0).square().mean()
