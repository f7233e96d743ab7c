"""The reconstruction objective (paper §3.2): the codec reproduces its input units.

For sequential representations a batch holds segments of consecutive frames, decoded and compared
after overlap-add (multi-resolution STFT) or frame by frame (the paper's MSE); for images each
segment is one unit and the loss is per-pixel MSE or BCE.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..codecs.base import Codec
from ..registry import OBJECTIVES
from .incremental import IncrementalSchedule, masked_decoder
from .losses import make_loss
from .objective import Objective
from .precision import MixedPrecision


def segment_reconstruction(codec: Codec, loss_fn: nn.Module, units: torch.Tensor, idx: torch.Tensor,
                           precision: MixedPrecision | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reconstruct the real units of segments ``idx [B, S]`` (of ``units [F, *unit_shape]``); pads stay zeros.

    Only real units go through the codec (the convs cost what the data cost, not what padding costs);
    the codec's :meth:`~Codec.reconstruction_target` is what it is scored against and its
    :meth:`~Codec.regulariser` (a VAE's KL) is added. Returns ``(loss, est [B, S, N], ref [B, S, N])``
    with units flattened to ``N`` values (``ref``: the input itself, so SNRs count what a codec leaves out).
    ``precision``: mixed precision for the codec's forward pass (the loss is computed in float32).
    """
    B, S = idx.shape
    mask = idx >= 0
    flat = mask.reshape(-1).nonzero().squeeze(1)
    ref = units[idx.clamp_min(0)].flatten(2) * mask.unsqueeze(-1)
    with (precision or MixedPrecision()).autocast(units.device):
        rec = codec(units[idx.reshape(-1)[flat]]).flatten(1)
    rec = rec.float()
    est = rec.new_zeros(B * S, rec.shape[-1]).index_copy(0, flat, rec).view(B, S, -1)
    loss = loss_fn(est, codec.reconstruction_target(ref), mask.to(rec.dtype))
    reg = codec.regulariser()
    return (loss if reg is None else loss + reg), est, ref


@OBJECTIVES.register("reconstruct")
class Reconstruction(Objective):
    """Adam on a reconstruction loss: ``loss`` "mse" (the paper's, per unit), "mrstft" (multi-resolution
    STFT of the overlap-added frames, for audio) or "bce" (images in [0, 1]); None = the representation's
    ``default_loss`` ("mrstft" for audio frames, "mse" for images).

    ``incremental = {start, step, every}``: Yoo et al.'s incremental latent learning (§3.4,
    :mod:`.incremental`): in epoch ``e`` only the first ``min(D, start + step * (e // every))`` latent
    dimensions reach the decoder; the history records ``active_dims`` per epoch.

    ``amp``: mixed precision for the codec (:mod:`.precision`): "bf16" (CPU or CUDA) or "fp16" (CUDA)."""

    def __init__(self, codec: Codec, representation=None, loss: str | None = None, loss_options: dict | None = None,
                 incremental: dict | None = None, amp: str | None = None):
        super().__init__(codec)
        self.precision = MixedPrecision(amp)
        self.schedule = None if incremental is None else IncrementalSchedule.from_options(incremental)
        self.active = codec.latent_dim
        self.hop = representation.hop if representation is not None else 0  # overlap-add of frames (STFT loss)
        if loss is None:
            loss = representation.default_loss if representation is not None else "mse"
        self.loss, self.loss_options = loss, dict(loss_options or {})
        self.loss_fn = make_loss(loss, hop=self.hop, **self.loss_options)

    def to(self, device) -> "Reconstruction":
        self.loss_fn.to(device)  # STFT windows; not trained, so not checkpointed
        return self

    def configure(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        return {"codec": torch.optim.Adam(self.codec.parameters(), lr=lr)}

    def start_epoch(self, epoch: int) -> dict[str, float]:
        if self.schedule is None:
            return {}
        self.active = self.schedule.active(epoch, self.codec.latent_dim)
        return {"active_dims": self.active}

    def step(self, idx, units, optimisers) -> dict[str, float]:
        with masked_decoder(self.codec, self.active):
            loss, _, _ = segment_reconstruction(self.codec, self.loss_fn, units, idx, self.precision)
        self.precision.step(loss, optimisers["codec"])
        return {"loss": loss.item()}

    @torch.no_grad()
    def validate(self, idx, units, batch_size) -> dict[str, float]:
        """Mean loss over segments and SNR (dB) of the overlap-free unit reconstruction."""
        total, count, err, sig = 0.0, 0, 0.0, 0.0
        for b in range(0, len(idx), batch_size):
            with masked_decoder(self.codec, self.active):
                loss, est, ref = segment_reconstruction(self.codec, self.loss_fn, units, idx[b : b + batch_size])
            total, count = total + loss.item(), count + 1
            err, sig = err + (est - ref).square().sum().item(), sig + ref.square().sum().item()
        return {"valid_loss": total / max(count, 1), "valid_snr_db": 10 * math.log10(max(sig, 1e-20) / max(err, 1e-20))}

    def settings(self) -> dict:
        out = {"loss": self.loss, "loss_options": self.loss_options, "hop": self.hop}
        if self.schedule is not None:  # only when set: older checkpoints stay resumable
            out["incremental"] = self.schedule.to_dict()
        if self.precision.amp is not None:
            out["amp"] = self.precision.amp
        return out
