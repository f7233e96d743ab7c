"""The one torch device resolver: ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto``; anything unusable
is one clear error, never a silent fall-back to the CPU or a traceback deep in torch."""
from __future__ import annotations

import re

from .errors import ConfigError


def resolve_device(name: str | None) -> str:
    """A device string torch accepts here (``None`` = ``cpu``); ``auto`` = ``cuda`` when available."""
    import torch

    name = "cpu" if name in (None, "") else str(name).strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return name
    m = re.fullmatch(r"cuda(?::(\d+))?", name)
    if m:
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} asked for, but CUDA is not available here; use --device cpu")
        if m.group(1) is not None and int(m.group(1)) >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return name
    if name == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ConfigError("device 'mps' asked for, but it is not available here; use --device cpu")
        return name
    raise ConfigError(f"unknown device {name!r}; use cpu, cuda, cuda:N, mps or auto")
