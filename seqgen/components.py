"""Rebuild a registered component from an artefact's description, without trusting the description.

The class comes from the registry by name only (never a module the file names), must subclass the
registry's base and, when asked, the caller's class; constructor kwargs are checked against its
signature (names and types) before the call. Any failure is an :class:`ArtefactError` naming the file.
"""
from __future__ import annotations

import math
from typing import Any

from .artefacts import ArtefactError
from .config import check_options, check_range
from .errors import ConfigError
from .registry import Registry, RegistryError


#: largest magnitude of a number among a file's constructor kwargs (seeds are 32-bit)
MAX_NUMBER = 2**32


def resolve_component(registry: Registry, name: Any, where, expected: type | None = None) -> type:
    """The registered class ``name`` of an artefact at ``where``, a subclass of ``expected`` if given."""
    try:
        cls = registry.resolve(name)
    except RegistryError as e:
        raise ArtefactError(f"{where}: {e}") from None
    if expected is not None and not issubclass(cls, expected):
        raise ArtefactError(f"{where} holds a {cls.__name__}, not a {expected.__name__}")
    return cls


def checked_kwargs(cls: type, kwargs: Any, where, section: str) -> dict:
    """``kwargs`` from a file, checked against ``cls.__init__`` (unknown names, wrong types)."""
    if not isinstance(kwargs, dict):
        raise ArtefactError(f"{where}: {section} must be an object, got {type(kwargs).__name__}")
    for k, v in kwargs.items():
        for x in v if isinstance(v, (list, tuple)) else [v]:
            number = isinstance(x, (int, float)) and not isinstance(x, bool)
            if number and not (math.isfinite(x) and abs(x) <= MAX_NUMBER):
                raise ArtefactError(f"{where}: {section}.{k} = {x!r} is not a finite number of at most {MAX_NUMBER:g}")
    # the unit geometry sizes buffers on the CPU even on the meta device: the recipe's bounds apply
    bounds = [("representation.frame_length", kwargs["frame_length"], "frame_length")] if "frame_length" in kwargs else []
    shape = kwargs.get("unit_shape")
    if isinstance(shape, (list, tuple)) and len(shape) == 3:
        bounds += [(f"representation.{k}", v, f"unit_shape[{i}]")
                   for i, (k, v) in enumerate(zip(("channels", "height", "width"), shape))]
    try:
        for key, value, name in bounds:
            check_range(key, value, f"{section}.{name}")
    except ConfigError as e:
        raise ArtefactError(f"{where}: {e}") from None
    try:
        return check_options(section, cls, kwargs)
    except ConfigError as e:
        raise ArtefactError(f"{where}: {e}") from None


def construct(cls: type, kwargs: dict, where):
    """``cls(**kwargs)``; a constructor's refusal becomes an :class:`ArtefactError` naming ``where``."""
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, OverflowError) as e:
        raise ArtefactError(f"{where}: cannot rebuild {cls.__name__}: {e}") from None


def rebuild_module(registry: Registry, config: Any, state: dict, where):
    """A registered torch module from ``config = {"type", "kwargs"}`` and a loaded ``state`` dict.

    The module is first built on the ``meta`` device (no memory), so kwargs asking for a huge model
    are refused by the shape comparison before anything is allocated."""
    import torch

    if not isinstance(config, dict):
        raise ArtefactError(f"{where}: config must be an object")
    cls = resolve_component(registry, config.get("type"), where)
    kwargs = checked_kwargs(cls, config.get("kwargs", {}), where, "kwargs")
    with torch.device("meta"):
        shell = construct(cls, kwargs, where)
    want = {k: tuple(v.shape) for k, v in shell.state_dict().items()}
    have = {k: tuple(v.shape) if isinstance(v, torch.Tensor) else None for k, v in state.items()}
    if want != have:
        diff = sorted(set(want.items()) ^ set(have.items()))[:3]
        raise ArtefactError(f"{where}: weights do not fit the described {cls.__name__} (e.g. {diff})")
    for k, v in state.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise ArtefactError(f"{where}: weight {k} holds NaN or Inf")
    model = construct(cls, kwargs, where)
    try:
        model.load_state_dict(state)
    except (RuntimeError, ValueError) as e:
        raise ArtefactError(f"{where}: weights do not fit the described {cls.__name__}: {e}") from None
    return model
