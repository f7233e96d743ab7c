"""The LMGAE objective (Mondal et al., "latent mask generative autoencoder" / MaskAAE): an autoencoder whose
masked latents are matched to a masked N(0, I) by a WGAN-GP critic, while the mask learns which latent
dimensions the data need.

The equations come from the authors' public code (MNIST script); ``x`` a batch, ``z = E(x)``, ``m`` the mask
(:class:`~seqgen.codecs.masked_mlp.LatentMask`), ``z̃ = m ⊙ z``, ``p̃ = m ⊙ p``, ``p ~ N(0, I)``:

- autoencoder (encoder + decoder): ``L_AE = R(x, Dec(z̃)) + 100 · mean_{b,i}[(z̄_i − z_{b,i})² · exp(−10 m_i²)]``
  (``R``: per-element BCE for [0, 1] data, MSE for real vectors; ``z̄`` the batch mean of ``z``): a dimension
  being switched off (``m_i → 0``) has its encoder output pushed to a constant;
- critic: ``L_C = E[C(z̃)] − E[C(p̃)] + 10 · GP`` (WGAN-GP, :func:`~.adversarial.gradient_penalty`);
- generator (encoder only): ``L_G = −E[C(z̃)]``;
- mask (φ only): ``L_m = 1000 · R + (1 − (E[C(z̃)] − E[C(p̃)]))² + c_poly · Σ_i |m_i (1 − m_i)|``, the last
  term pushing every ``m_i`` to 0 or 1 with a weight ``c_poly`` that starts at ``2/n`` and doubles every
  ``4R`` steps (cap 2048), ``R = 75`` for ``n ≤ 20`` else ``min(10000, ⌊1125 n / 10⌋)``.

Each batch: 1 autoencoder, ``critic_steps`` (5) critic, 1 generator and 1 mask update, RMSProp with the
loop's ``lr`` (authors: 1e-4) for critic and generator, 5× for autoencoder and mask, all divided by 5 from
step ``5R`` on. The step counter is a buffer of a checkpointed module and the noise of step ``t`` is drawn
from a generator seeded by ``(seed, t)``, so a resumed run continues exactly. A codec built with
``mask = false`` makes this the plain WAE-GP (Tolstikhin et al.'s WAE with a WGAN-GP latent critic): no
mask update and no variance term. Single process only: the updates bypass a DDP wrapper.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..codecs.base import Codec
from ..codecs.masked_mlp import MaskedMLPAutoencoder
from ..registry import OBJECTIVES
from .adversarial import Critic, gradient_penalty
from .objective import Objective

#: weights of the authors' code: the variance term of L_AE, the reconstruction in L_m, the gradient penalty
VARIANCE_WEIGHT, MASK_REC_WEIGHT = 100.0, 1000.0
#: the variance term's ``exp(−SHARPNESS · m²)``
SHARPNESS = 10.0
C_POLY_MAX = 2048.0
#: autoencoder and mask learning rates are this times the loop's lr; every lr is divided by it at step 5R
LR_FACTOR = 5.0


def schedule_unit(n: int) -> int:
    """The authors' ``R`` for latent capacity ``n``: 75 for ``n ≤ 20``, else ``min(10000, ⌊1125 n / 10⌋)``."""
    return 75 if n <= 20 else min(10000, (1125 * n) // 10)


def c_poly(step: int, n: int, unit: int) -> float:
    """Weight of the mask's polarisation term at ``step``: ``2/n`` doubled every ``4 · unit`` steps, at most 2048."""
    return min(C_POLY_MAX, (2.0 / n) * 2.0 ** min(step // (4 * unit), 64))


def lr_scale(step: int, unit: int) -> float:
    """1 before step ``5 · unit``, ``1/5`` from then on."""
    return 1.0 if step < 5 * unit else 1.0 / LR_FACTOR


class StepClock(nn.Module):
    """The update counter, as a buffer so the loop checkpoints it with the objective's networks."""

    def __init__(self):
        super().__init__()
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))


def _update(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One step of ``opt`` on ``loss``, with gradients computed for ``opt``'s parameters only."""
    params = [p for g in opt.param_groups for p in g["params"]]
    for p, g in zip(params, torch.autograd.grad(loss, params, allow_unused=True)):
        p.grad = g
    opt.step()


@OBJECTIVES.register("lmgae")
class LMGAE(Objective):
    """LMGAE / WAE-GP training of a ``masked_mlp`` codec on frame-free units (images, vectors).

    Args:
        loss: reconstruction ``R``: "bce" (data in [0, 1], the authors') or "mse"; None = "bce" for a
            sigmoid decoder, "mse" for a linear one.
        critic_hidden: hidden widths of the critic MLP.
        critic_steps: critic updates per batch (authors: 5).
        gp_weight: λ of the gradient penalty (authors: 10).
        schedule_steps: ``R`` of the c_poly and lr schedules; None = the authors' :func:`schedule_unit`.
    """

    def __init__(self, codec: Codec, representation=None, loss: str | None = None,
                 critic_hidden: list[int] | tuple[int, ...] = (512, 512), critic_steps: int = 5,
                 gp_weight: float = 10.0, schedule_steps: int | None = None):
        super().__init__(codec)
        if not isinstance(codec, MaskedMLPAutoencoder):
            raise ValueError(f"the lmgae objective trains a 'masked_mlp' autoencoder, not {type(codec).__name__}")
        if representation is not None and representation.sequential:
            raise ValueError("the lmgae objective is for frame-free units (images, vectors), not unit sequences")
        if loss is None:
            loss = "bce" if codec.output == "sigmoid" else "mse"
        if loss not in ("bce", "mse"):
            raise ValueError(f"loss must be 'bce' or 'mse', got {loss!r}")
        if int(critic_steps) < 1 or not gp_weight >= 0:
            raise ValueError(f"need critic_steps >= 1 and gp_weight >= 0, got {critic_steps}, {gp_weight}")
        if schedule_steps is not None and int(schedule_steps) < 1:
            raise ValueError(f"schedule_steps must be >= 1, got {schedule_steps}")
        self.loss, self.critic_steps, self.gp_weight = loss, int(critic_steps), float(gp_weight)
        self.unit = schedule_unit(codec.latent_dim) if schedule_steps is None else int(schedule_steps)
        self.critic_hidden = [int(h) for h in critic_hidden]
        self.critic = Critic(codec.latent_dim, self.critic_hidden)
        self.clock = StepClock()
        self.seed = torch.initial_seed()  # the run's seed (the pipeline seeds torch before building)
        self.base_lr: dict[str, float] = {}

    def modules(self) -> dict[str, nn.Module]:
        return {"critic": self.critic, "clock": self.clock}

    def configure(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        m = self.module
        ae = list(m.encoder.parameters()) + list(m.decoder.parameters())
        self.base_lr = {"autoencoder": LR_FACTOR * lr, "critic": lr, "generator": lr}
        opts = {"autoencoder": torch.optim.RMSprop(ae, lr=LR_FACTOR * lr),
                "critic": torch.optim.RMSprop(self.critic.parameters(), lr=lr),
                "generator": torch.optim.RMSprop(m.encoder.parameters(), lr=lr)}
        if m.masked:
            self.base_lr["mask"] = LR_FACTOR * lr
            opts["mask"] = torch.optim.RMSprop(m.latent_mask.parameters(), lr=LR_FACTOR * lr)
        return opts

    @property
    def step_count(self) -> int:
        return int(self.clock.step)

    def reconstruction(self, est: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
        """``R``: mean per-element BCE or MSE of ``est`` against ``units`` (both ``[B, *unit_shape]``)."""
        fn = F.binary_cross_entropy if self.loss == "bce" else F.mse_loss
        return fn(est.flatten(1), units.flatten(1))

    def step(self, idx, units, optimisers) -> dict[str, float]:
        m, C, t = self.module, self.critic, self.step_count
        x = units[idx[:, 0]]  # frame-free: every segment is one unit
        g = torch.Generator(device=x.device).manual_seed((self.seed * 1_000_003 + t) % 2**63)
        for name, opt in optimisers.items():
            for group in opt.param_groups:
                group["lr"] = self.base_lr[name] * lr_scale(t, self.unit)

        # autoencoder: reconstruction + (masked codec) constant encoder output on dimensions being switched off
        mask = m.mask().detach()
        z = m.embed(x)
        rec = self.reconstruction(m.decode(z * mask), x)
        loss_ae = rec
        if m.masked:
            var = (z.mean(0, keepdim=True) - z).square() * torch.exp(-SHARPNESS * mask.square())
            loss_ae = rec + VARIANCE_WEIGHT * var.mean()
        _update(optimisers["autoencoder"], loss_ae)

        # critic: WGAN-GP between masked latents and masked prior samples
        with torch.no_grad():
            zt = m.embed(x) * mask
        for _ in range(self.critic_steps):
            p = mask * torch.randn(zt.shape, generator=g, device=x.device)
            loss_c = C(zt).mean() - C(p).mean() + self.gp_weight * gradient_penalty(C, zt, p, g)
            _update(optimisers["critic"], loss_c)

        # generator: the encoder fools the critic
        loss_g = -C(m.embed(x) * mask).mean()
        _update(optimisers["generator"], loss_g)

        out = {"loss": loss_ae.item(), "reconstruction": rec.item(), "critic": loss_c.item(), "generator": loss_g.item()}
        if m.masked:  # the mask: reconstruction, critic gap, polarisation towards 0 or 1
            mask = m.mask()
            z = m.embed(x).detach()
            p = mask * torch.randn(z.shape, generator=g, device=x.device)
            gap = C(z * mask).mean() - C(p).mean()
            polar = (mask * (1 - mask)).abs().sum()
            loss_m = (MASK_REC_WEIGHT * self.reconstruction(m.decode(z * mask), x) + (1 - gap).square()
                      + c_poly(t, m.latent_dim, self.unit) * polar)
            _update(optimisers["mask"], loss_m)
            m.latent_mask.clamp_()
            out["mask"] = loss_m.item()
        self.clock.step += 1
        return out

    def start_epoch(self, epoch: int) -> dict[str, float]:
        """Active dimensions (``m_i ≥ 0.1``), c_poly and the step count at the start of the epoch."""
        t = self.step_count
        return {"active_dims": self.module.prior_dim, "c_poly": c_poly(t, self.module.latent_dim, self.unit), "step": t}

    @torch.no_grad()
    def validate(self, idx, units, batch_size) -> dict[str, float]:
        """Mean reconstruction loss of held-out units through the active dimensions only (as generation decodes)."""
        m, total, count = self.module, 0.0, 0
        for b in range(0, len(idx), batch_size):
            x = units[idx[b : b + batch_size, 0]]
            total += self.reconstruction(m.decode(m.from_prior(m.to_prior(m.encode(x)))), x).item() * len(x)
            count += len(x)
        return {"valid_loss": total / max(count, 1), "valid_active_dims": m.prior_dim}

    def settings(self) -> dict:
        return {"loss": self.loss, "critic_hidden": self.critic_hidden, "critic_steps": self.critic_steps,
                "gp_weight": self.gp_weight, "schedule_steps": self.unit}
