"""Stage 3's artefact: the latents of both splits (``latents.npz``), and the standardised view priors see."""
from __future__ import annotations

import io

import numpy as np

from ..artefacts import atomic_write, read_json, write_json
from ..errors import DataError
from ..validate import read_latents
from .run_dir import RunDir


def save_latents(run: RunDir, z_train, z_test, y_train, y_test, ae_hash: str, standardise: bool = True) -> None:
    """latents.npz: raw latents (concatenated + lengths) of both splits, labels, and the
    standardisation statistics every prior is fitted under (identity with ``standardise=False``,
    for codecs whose latents are already meant to be N(0, I), like the VAE)."""
    Z = np.concatenate(z_train)
    mean = Z.mean(0) if standardise else np.zeros(Z.shape[1])
    std = np.maximum(Z.std(0), 1e-6 * max(1.0, float(Z.std()))) if standardise else np.ones(Z.shape[1])
    arrays = {
        "train": Z.astype(np.float32), "train_lengths": np.array([len(z) for z in z_train]),
        "test": np.concatenate(z_test).astype(np.float32), "test_lengths": np.array([len(z) for z in z_test]),
        "train_labels": np.array([-1 if y is None else y for y in y_train]),
        "test_labels": np.array([-1 if y is None else y for y in y_test]),
        "mean": mean, "std": std,
    }
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with atomic_write(run.latents) as f:
        f.write(buf.getvalue())
    write_json(run.latents.with_suffix(".json"), {"_stage_hash": ae_hash})
    run.record_sources(run.latents, run.autoencoder)


def load_latents(run: RunDir) -> dict[str, np.ndarray]:
    """``latents.npz``, every field checked (:func:`seqgen.validate.read_latents`)."""
    return read_latents(run.latents)


def latents_hash(run: RunDir) -> str | None:
    """The codec stage hash the cached latents were made under."""
    return read_json(run.latents.with_suffix(".json")).get("_stage_hash")


def standardise(lat: dict, split: str, label: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Standardised latents ``(N, D)`` + lengths of ``split`` (every prior is fitted and scored in this
    space), optionally only the sequences whose label is ``label``."""
    Z, lengths = (lat[split] - lat["mean"]) / lat["std"], lat[f"{split}_lengths"]
    if label is None:
        return Z, lengths
    keep = lat[f"{split}_labels"] == label
    if not keep.any():
        raise DataError(f"no {split} sequences with label {label}")
    seqs = np.split(Z, np.cumsum(lengths)[:-1])
    return np.concatenate([s for s, k in zip(seqs, keep) if k]), lengths[keep]


def label_prior(y: int, name: str | None = None) -> str:
    """Name under which the prior of label ``y`` is saved: ``priors/label_7.*`` (the run's own per-label
    priors), ``priors/<name>_label_7.*`` for those of ``fit-prior --per-label --label <name>``."""
    return f"{name}_label_{int(y)}" if name else f"label_{int(y)}"


def is_label_prior(name: str) -> bool:
    """Whether a saved prior's name is a per-label one (``label_7``, ``hmm30_label_7``)."""
    import re

    return re.fullmatch(r"(?:.+_)?label_\d+", name) is not None
