"""Stage 1, data prep: locate the data set, load utterances, normalise loudness, frame them."""
from __future__ import annotations

import warnings

import numpy as np

from ..audio.framing import FrameSpec, frame
from ..audio.io import peak_normalize
from ..config import Config, check_options
from ..data import DATASETS
from ..data.base import Utterance
from ..data.locate import locate
from ..errors import ConfigError, DataError


def frame_spec(cfg: Config) -> FrameSpec:
    try:
        return FrameSpec(cfg.framing.frame_length, cfg.framing.hop, cfg.framing.window)
    except ValueError as e:
        raise ConfigError(f"framing: {e}") from None


def make_dataset(cfg: Config, data: str | None = None):
    """The configured dataset, rooted where :func:`locate` finds it; returns ``(dataset, where)``."""
    from pathlib import Path

    try:
        cls = DATASETS.resolve(cfg.data.source)
    except ValueError as e:
        raise ConfigError(f"data.source: {e}") from None
    opts = check_options("data", cls, cfg.data.options, skip=("root",))
    import importlib

    module = importlib.import_module(cls.__module__)
    looks_valid = getattr(module, "looks_valid", lambda p: p.is_dir() and any(p.iterdir()))
    folder = cls.data_folder(opts) if hasattr(cls, "data_folder") else cls.folder
    root, where = locate(folder, looks_valid, data=data, recipe_path=cfg.data.path or None,
                         recipe_dir=Path(cfg.recipe_dir) if cfg.recipe_dir else None)
    try:
        return cls(root, **opts), f"{root} ({where})"
    except ValueError as e:
        raise ConfigError(f"data: {e}") from None


def normalise(utts: list[Utterance], cfg: Config) -> list[Utterance]:
    if cfg.data.normalize == "peak":
        for u in utts:
            u.audio = peak_normalize(u.audio, cfg.data.peak)
    elif cfg.data.normalize != "none":
        raise ConfigError(f"data.normalize must be 'peak' or 'none', got {cfg.data.normalize!r}")
    return utts


def to_frames(audio: np.ndarray, spec: FrameSpec, pad_frames: int) -> np.ndarray:
    """Windowed frames ``(T, frame_length)`` float32 of ``audio``, with ``pad_frames`` hops of silence
    added at both ends (so the prior sees how utterances start and stop)."""
    pad = np.zeros(pad_frames * spec.hop, dtype=np.float32)
    return frame(np.concatenate([pad, audio.astype(np.float32), pad]), spec).astype(np.float32)


def load_split(cfg: Config, dataset, split: str, progress: bool = False) -> list[Utterance]:
    """Load, drop utterances shorter than one frame (warning naming them), warn on silent ones, normalise."""
    utts = dataset.load(split, cfg.data.sample_rate, progress=progress, strict=cfg.data.strict)
    keep = []
    for u in utts:
        if len(u.audio) < cfg.framing.frame_length:
            msg = f"{u.name}: shorter than one frame ({len(u.audio)} < {cfg.framing.frame_length} samples)"
            if cfg.data.strict:
                raise DataError(msg)
            warnings.warn(f"skipping {msg}", stacklevel=2)
            continue
        if not np.any(np.abs(u.audio) > 1e-6):
            warnings.warn(f"{u.name} is all silence (kept as silence)", stacklevel=2)
        keep.append(u)
    if not keep:
        raise DataError(f"no {split} utterance of at least one frame ({cfg.framing.frame_length} samples)")
    return normalise(keep, cfg)
