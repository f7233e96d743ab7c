"""The paper's invertible perceptron: a two-layer injective decoder, its analytic left inverse as encoder,
and the exact log-volume term that turns a latent density into an image density.

Decoder (latent ``K``, hidden ``H``, output ``N = C·H_img·W_img``; authors' MNIST code: 20, 600, 784)::

    a1 = W1 z + b1        [B, H]      h = g1(a1)     g1 = LeakyTanh    (the paper's "tanh_inv")
    a2 = W2 h + b2        [B, N]      x = g2(a2)     g2 = LeakySigmoid (the paper's "sigmoid_inv")

Encoder, the left inverse with the same weights (``W⁺ = (WᵀW)⁻¹Wᵀ``, computed by solving with the
``K×K`` / ``H×H`` Gram matrix, never by forming an inverse)::

    z = W1⁺ (g1⁻¹(W2⁺ (g2⁻¹(x) − b2)) − b1)

``encode(decode(z)) = z`` for every ``z`` as long as ``W1``, ``W2`` have full column rank (needs
``K <= H <= N``): each ``W⁺`` undoes its ``W`` on its range, and ``g1``, ``g2`` are bijections of R
(:mod:`.invertible`). On a general image ``encode`` is a projection, so training (MSE of
``decode(encode(x))`` against ``x``, i.e. the base class ``forward``) fits the decoder's manifold to the data.

Density (change of variables for an injective map, Ben-Israel 1999): with ``J = ∂x/∂z`` (``N×K``)
``log p(x) = log p_z(z) − ½ log det(JᵀJ)`` — :meth:`InvertiblePerceptron.log_volume`. By the chain rule

    J = diag(g2'(a2)) W2 diag(g1'(a1)) W1                                                  (exact)

The paper's eq. 6 instead adds up per-layer terms as if each layer were square:

    Σ_layers [ ½ log det(WᵢᵀWᵢ) + Σ_outputs log g_i'(a_i) ]                               (eq. 6)

— :meth:`InvertiblePerceptron.paper_log_volume`. For square layers both agree (det of a product is the
product of dets). For rectangular layers they do not: ``diag(g')`` rescales all ``N`` output directions,
but only the ``K`` directions tangent to the decoder's manifold change its volume, so eq. 6 counts
``N − K`` (here 764) directions that ``det(JᵀJ)`` ignores; the two differ by a z-dependent amount, not
a constant, so eq. 6 is an approximation that also changes the *shape* of the implied density.

Black / white pixels: the leaky sigmoid's tangent-line tails make 0 and 1 ordinary values
(pre-activations ≈ ∓5.02 at the default threshold 4), so data need no epsilon; :meth:`clamp_targets`
exists for inputs that may stray outside ``[0, 1]`` (or to keep ``target_eps`` away from the tails).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ...registry import AUTOENCODERS
from ..base import Codec
from .invertible import LeakySigmoid, LeakyTanh


def _left_pinv_apply(weight: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``W⁺ y`` for each row of ``y [B, out]``, ``weight W [out, in]``: rows of ``(WᵀW)⁻¹ Wᵀ yᵀ``,
    i.e. ``X = (y W) (WᵀW)⁻¹`` solved as ``X G = y W`` (``G`` symmetric). Returns ``[B, in]``."""
    gram = weight.T @ weight
    return torch.linalg.solve(gram, y @ weight, left=False)


def _half_logdet_gram(weight: torch.Tensor) -> torch.Tensor:
    """``½ log det(WᵀW)`` (scalar) for ``weight [out, in]``."""
    return 0.5 * torch.linalg.slogdet(weight.T @ weight).logabsdet


@AUTOENCODERS.register("perceptron")
class InvertiblePerceptron(Codec):
    """Two-layer invertible perceptron (the paper's MNIST model): ``latent_dim -> hidden_dim -> prod(unit_shape)``.

    Args:
        unit_shape: ``[C, H, W]`` of one image; flattened to ``N = C·H·W`` outputs.
        latent_dim: ``K`` (paper: 20).
        hidden_dim: hidden width (paper: 600); needs ``latent_dim <= hidden_dim <= N`` for injectivity.
        hidden_threshold: ``a`` of the hidden :class:`~.invertible.LeakyTanh`.
        output_threshold: ``a`` of the output :class:`~.invertible.LeakySigmoid`.
        target_eps: :meth:`clamp_targets` clamps to ``[target_eps, 1 − target_eps]`` (0: to ``[0, 1]``).
    """

    exact_likelihood = True

    def __init__(
        self,
        unit_shape: tuple[int, ...] | list[int] = (1, 28, 28),
        latent_dim: int = 20,
        hidden_dim: int = 600,
        hidden_threshold: float = 2.5,
        output_threshold: float = 4.0,
        target_eps: float = 0.0,
    ):
        super().__init__()
        unit_shape = tuple(int(s) for s in unit_shape)
        if len(unit_shape) != 3 or min(unit_shape) < 1:
            raise ValueError(f"unit_shape must be [C, H, W] with positive sizes, got {list(unit_shape)}")
        n_out = math.prod(unit_shape)
        if not 1 <= int(latent_dim) <= int(hidden_dim) <= n_out:
            raise ValueError(
                f"an injective decoder needs 1 <= latent_dim <= hidden_dim <= C*H*W, got "
                f"{latent_dim}, {hidden_dim}, {n_out}"
            )
        if not 0.0 <= target_eps < 0.5:
            raise ValueError(f"target_eps must be in [0, 0.5), got {target_eps}")
        self.unit_shape, self.latent_dim, self.hidden_dim = unit_shape, int(latent_dim), int(hidden_dim)
        self.target_eps = float(target_eps)
        self.act1 = LeakyTanh(hidden_threshold)
        self.act2 = LeakySigmoid(output_threshold)
        self.layer1 = nn.Linear(self.latent_dim, self.hidden_dim)  # W1 [H, K], b1 [H]
        self.layer2 = nn.Linear(self.hidden_dim, n_out)  # W2 [N, H], b2 [N]
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Unit-gain normal weights (std 1/sqrt(fan_in)), zero biases: a standardised ``z`` gives O(1)
        pre-activations, in the curved part of both nonlinearities; Gaussian matrices this shape are
        well conditioned (cond(W2) ≈ 15 for 784×600 at init, ≈ 20 after training), so the Gram solves
        are accurate."""
        for lin in (self.layer1, self.layer2):
            nn.init.normal_(lin.weight, std=lin.in_features ** -0.5)
            nn.init.zeros_(lin.bias)

    def get_config(self) -> dict:
        return {
            "unit_shape": list(self.unit_shape),
            "latent_dim": self.latent_dim,
            "hidden_dim": self.hidden_dim,
            "hidden_threshold": self.act1.threshold,
            "output_threshold": self.act2.threshold,
            "target_eps": self.target_eps,
        }

    # ------------------------------------------------------------------ maps
    def _preactivations(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z [B, K]`` -> ``a1 [B, H]``, ``a2 [B, N]``."""
        a1 = self.layer1(z)
        return a1, self.layer2(self.act1(a1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z [B, K]`` -> ``x [B, C, H, W]``. In ``[0, 1]`` wherever ``a2`` stays within about ±5; the
        linear tails can step slightly outside (clamp for display, not for likelihoods)."""
        return self.act2(self._preactivations(z)[1]).reshape(-1, *self.unit_shape)

    def encode(self, units: torch.Tensor) -> torch.Tensor:
        """``units [B, C, H, W]`` -> ``z [B, K]``, the exact left inverse of :meth:`decode` (no clamping:
        it must hold for every decoder output, including ones in the tails)."""
        x = units.reshape(units.shape[0], -1)
        h = self.act1.inverse(_left_pinv_apply(self.layer2.weight, self.act2.inverse(x) - self.layer2.bias))
        return _left_pinv_apply(self.layer1.weight, h - self.layer1.bias)

    def clamp_targets(self, units: torch.Tensor) -> torch.Tensor:
        """Clamp images to ``[target_eps, 1 − target_eps]`` before :meth:`encode`. Not needed for
        invertibility (the leaky sigmoid inverts every real, 0 and 1 included) but keeps stray values
        (resampling overshoot, a tail decoder output) in the data range."""
        return units.clamp(self.target_eps, 1.0 - self.target_eps)

    def forward(self, units: torch.Tensor) -> torch.Tensor:
        """Training reconstruction: ``decode(encode(clamp_targets(units)))`` — the projection onto the
        decoder's manifold, trained by MSE against ``units``."""
        return self.decode(self.encode(self.clamp_targets(units)))

    # ------------------------------------------------------------------ volumes
    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        """``J = ∂x/∂z = diag(g2'(a2)) W2 diag(g1'(a1)) W1`` for each row of ``z [B, K]``: ``[B, N, K]``."""
        a1, a2 = self._preactivations(z)
        inner = self.act1.derivative(a1).unsqueeze(-1) * self.layer1.weight  # [B, H, K]
        return self.act2.derivative(a2).unsqueeze(-1) * (self.layer2.weight @ inner)  # [B, N, K]

    def log_volume(self, z: torch.Tensor) -> torch.Tensor:
        """Exact ``½ log det(JᵀJ)`` ``[B]`` (nats): ``log p(x) = log p_z(z) − log_volume(z)``.

        Computed from the ``K×K`` Gram matrix ``JᵀJ``; its entries carry squares of ``g2'`` (≈ 3e-4 in
        the tails), fine in float32 for K = 20, but use float64 when comparing to a few 1e-4."""
        J = self.jacobian(z)
        return 0.5 * torch.linalg.slogdet(J.transpose(-1, -2) @ J).logabsdet

    def paper_log_volume(self, z: torch.Tensor) -> torch.Tensor:
        """The paper's eq. 6 approximation ``[B]``::

            ½ log det(W1ᵀW1) + Σ_{j<H} log g1'(a1_j)  +  ½ log det(W2ᵀW2) + Σ_{i<N} log g2'(a2_i)

        i.e. per layer the volume change of the linear map onto its range plus the log-derivatives of
        the nonlinearity over *all* the layer's outputs, as if each layer were a square bijection. It
        equals :meth:`log_volume` only for square layers (see the module docstring)."""
        a1, a2 = self._preactivations(z)
        lin = _half_logdet_gram(self.layer1.weight) + _half_logdet_gram(self.layer2.weight)
        return lin + self.act1.log_derivative(a1).sum(-1) + self.act2.log_derivative(a2).sum(-1)
