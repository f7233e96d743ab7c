"""Load-time checks of run artefacts, one function per kind: every field present, shaped, finite, in range.

A failed check is an :class:`ArtefactError` naming the file and the field, so a tampered or damaged
run directory ends in one line, never in a traceback (or a NaN) deep inside a stage.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .artefacts import ArtefactError, read_npz

LATENT_KEYS = ("train", "train_lengths", "test", "test_lengths", "train_labels", "test_labels", "mean", "std")
#: longest sequence (frames) a latents file may list (an utterance of that length is decoded in one go)
MAX_SEQUENCE_FRAMES = 100_000


def read_latents(path: str | Path) -> dict[str, np.ndarray]:
    """``latents.npz`` (see ``save_latents``), checked: ``train``/``test (N, D)`` finite floats (memory-mapped),
    lengths positive integers partitioning them, one label per sequence, ``mean``/``std (D,)`` with std > 0."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise ArtefactError(f"{path} is missing: run `seqgen train` first")
    lat = read_npz(path, LATENT_KEYS, mmap=("train", "test"))

    def bad(msg):
        raise ArtefactError(f"{path}: {msg}")

    D = None
    for split in ("train", "test"):
        Z, n = lat[split], lat[f"{split}_lengths"]
        if Z.ndim != 2 or Z.dtype.kind != "f" or Z.shape[0] == 0 or Z.shape[1] == 0:
            bad(f"{split} must be a non-empty (frames, dim) float array, got {Z.dtype} {Z.shape}")
        if D is not None and Z.shape[1] != D:
            bad(f"{split} has dim {Z.shape[1]}, train has {D}")
        D = Z.shape[1]
        if n.ndim != 1 or n.dtype.kind not in "iu" or len(n) == 0 or (n <= 0).any() or (n > MAX_SEQUENCE_FRAMES).any():
            bad(f"{split}_lengths must be positive integers (at most {MAX_SEQUENCE_FRAMES}), got {n.dtype} {n.shape}")
        if int(n.sum()) != len(Z):
            bad(f"{split}_lengths sum to {int(n.sum())}, but {split} has {len(Z)} frames")
        y = lat[f"{split}_labels"]
        if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != len(n):
            bad(f"{split}_labels must be one integer per sequence ({len(n)}), got {y.dtype} {y.shape}")
        if not all(np.isfinite(Z[i : i + 65536]).all() for i in range(0, len(Z), 65536)):  # memory-mapped: by blocks
            bad(f"{split} holds NaN or Inf")
    for k in ("mean", "std"):
        v = lat[k]
        if v.shape != (D,) or v.dtype.kind != "f" or not np.isfinite(v).all():
            bad(f"{k} must be {D} finite floats, got {v.dtype} {v.shape}")
    if (lat["std"] <= 0).any():
        bad("std must be positive")
    return lat


def check_checkpoint(ckpt, epochs: int, path) -> tuple[int, dict]:
    """``(epoch, history)`` of a training checkpoint, checked: ``0 <= epoch <= epochs``, one history entry
    per finished epoch (a tampered counter would otherwise skip training and stamp the result done)."""
    def bad(msg):
        raise ArtefactError(f"checkpoint {path}: {msg}; delete it to start afresh")

    if not isinstance(ckpt, dict) or not {"model", "epoch", "history"} <= set(ckpt):
        bad("lacks model/epoch/history")
    epoch, history = ckpt["epoch"], ckpt["history"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= epochs:
        bad(f"epoch must be an integer in [0, {epochs}], got {epoch!r}")
    if not isinstance(history, dict) or "epoch" not in history:
        bad("history must be a table of per-epoch lists")
    for k, v in history.items():
        if not isinstance(v, (list, tuple)) or len(v) != epoch:
            bad(f"history[{k!r}] must list {epoch} epochs")
    if list(history["epoch"]) != list(range(1, epoch + 1)):
        bad("history epochs are not 1..epoch")
    return epoch, {k: list(v) for k, v in history.items()}


def calibration_ok(cal) -> bool:
    """Whether a cached score calibration entry is usable (else it is recomputed, as a cache should be)."""
    import math

    keys = ("test_prior_ll_per_frame", "test_recon_ll_per_frame", "test_total_per_frame")
    if not isinstance(cal, dict) or not isinstance(cal.get("noise_var"), (int, float)):
        return False
    if not (math.isfinite(cal["noise_var"]) and cal["noise_var"] > 0):
        return False
    return all(isinstance(cal.get(k), list) and cal[k] and all(isinstance(v, (int, float)) and math.isfinite(v)
                                                                for v in cal[k]) for k in keys)
