"""Mixed-precision codec training: the codec's forward pass under ``torch.autocast``, losses in float32.

``amp = "bf16"``: bfloat16 autocast (CPU or CUDA); on CPUs with AMX / AVX-512 BF16 units (oneDNN picks
them) the convolutions run ~1.4x faster (``benchmarks/README.md``); bfloat16 has float32's exponent
range, so no loss scaling is needed. ``amp = "fp16"``: float16 autocast with a dynamic loss scale
(``torch.amp.GradScaler``), CUDA only. Autocast covers the convolutions and matrix products; the FFTs of
the losses and of a band-split codec stay in float32 (autocast's float32 list), and the loss is computed
from float32 outputs. Never used for the priors (the HMM recursions stay float32 / float64).
"""
from __future__ import annotations

import contextlib

import torch

AMP_MODES = ("bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_amp(amp: str | None) -> str | None:
    """``amp`` if it is None or one of :data:`AMP_MODES`; ValueError otherwise."""
    if amp is not None and amp not in AMP_MODES:
        raise ValueError(f"amp must be one of {', '.join(AMP_MODES)} (or absent for float32), got {amp!r}")
    return amp


def check_amp_device(amp: str | None, device: torch.device) -> None:
    """ValueError when ``amp`` cannot run on ``device`` (float16 loss scaling is CUDA only)."""
    if amp == "fp16" and device.type != "cuda":
        raise ValueError(f"amp 'fp16' needs a CUDA device (float16 loss scaling); on {device.type} use 'bf16'")


class MixedPrecision:
    """Autocast context and the backward / optimiser step for one ``amp`` mode (None = plain float32)."""

    def __init__(self, amp: str | None = None):
        self.amp = check_amp(amp)
        self.scaler: torch.amp.GradScaler | None = None

    def autocast(self, device: torch.device):
        """The context the codec's forward pass runs in on ``device``."""
        if self.amp is None:
            return contextlib.nullcontext()
        check_amp_device(self.amp, device)
        return torch.autocast(device.type, dtype=_DTYPES[self.amp])

    def step(self, loss: torch.Tensor, optimiser: torch.optim.Optimizer) -> None:
        """``loss.backward()`` and ``optimiser.step()``, through a dynamic loss scale for float16."""
        optimiser.zero_grad(set_to_none=True)
        if self.amp != "fp16":
            loss.backward()
            optimiser.step()
            return
        if self.scaler is None:
            self.scaler = torch.amp.GradScaler(loss.device.type)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimiser)  # skipped when the scaled gradients overflowed
        self.scaler.update()
