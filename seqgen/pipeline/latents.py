"""Stage 3's artefact: the latents of both splits (``latents.npz``), and the standardised view priors see."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..artefacts import read_json, write_json, write_npz
from ..errors import DataError
from ..validate import read_latents
from .run_dir import RunDir


@dataclass
class LatentSplit:
    """One split's latents as they are made: ``blocks`` yields the rows of all sequences in order
    (blocks of any size: an encoder's batches, or one sequence each), ``lengths`` the sequence lengths."""

    blocks: Iterable[np.ndarray]
    lengths: Sequence[int]
    labels: Sequence[int | None]

    @classmethod
    def of(cls, seqs: Sequence[np.ndarray], labels: Sequence[int | None]) -> "LatentSplit":
        """From latent sequences held in memory."""
        return cls(seqs, [len(z) for z in seqs], labels)


class _Moments:
    """Per-dimension mean and variance of rows seen block by block (Chan, Golub & LeVeque's pairwise
    update, in float64), so the standardisation is computed while latents stream to disk."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, x: np.ndarray) -> np.ndarray:
        if len(x):
            xb = np.asarray(x, np.float64)
            nb, mb = len(xb), xb.mean(0)
            d, n = mb - self.mean, self.n + nb
            self.m2 = self.m2 + ((xb - mb) ** 2).sum(0) + d * d * (self.n * nb / n)
            self.mean, self.n = self.mean + d * (nb / n), n
        return x

    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` float32; std floored at 1e-6 of the overall std (at least 1e-6)."""
        var = self.m2 / self.n
        overall = float(np.sqrt(np.mean(var + (self.mean - self.mean.mean()) ** 2)))
        std = np.maximum(np.sqrt(var), 1e-6 * max(1.0, overall))
        return self.mean.astype(np.float32), std.astype(np.float32)


def save_latents(run: RunDir, train: LatentSplit, test: LatentSplit, ae_hash: str, standardise: bool = True) -> None:
    """latents.npz: raw latents (concatenated + lengths) of both splits, labels, and the standardisation
    statistics every prior is fitted under (identity with ``standardise=False``, for codecs whose latents
    are already meant to be N(0, I), like the VAE). The latents stream to disk block by block."""
    moments = _Moments()
    with write_npz(run.latents) as npz:
        for name, split in (("train", train), ("test", test)):
            blocks = iter(split.blocks)
            first = next(blocks, None)
            if first is None:
                raise DataError(f"no {name} latents to save")
            tap = moments.add if name == "train" and standardise else (lambda b: b)
            npz.add_rows(name, map(tap, itertools.chain([first], blocks)), int(np.sum(split.lengths)),
                         np.shape(first)[1:])
            npz.add(f"{name}_lengths", np.asarray(split.lengths, dtype=np.int64))
            npz.add(f"{name}_labels", np.array([-1 if y is None else y for y in split.labels], dtype=np.int64))
        D = np.shape(first)[1]
        mean, std = moments.mean_std() if standardise else (np.zeros(D), np.ones(D))
        npz.add("mean", mean)
        npz.add("std", std)
    write_json(run.latents.with_suffix(".json"), {"_stage_hash": ae_hash})
    run.record_sources(run.latents, run.autoencoder)


def load_latents(run: RunDir) -> dict[str, np.ndarray]:
    """``latents.npz``, every field checked (:func:`seqgen.validate.read_latents`); the latents themselves
    memory-mapped, not read."""
    return read_latents(run.latents)


def latents_hash(run: RunDir) -> str | None:
    """The codec stage hash the cached latents were made under."""
    return read_json(run.latents.with_suffix(".json")).get("_stage_hash")


def standardise(lat: dict, split: str, label: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Standardised latents ``(N, D)`` + lengths of ``split`` (every prior is fitted and scored in this
    space), optionally only the sequences whose label is ``label``."""
    Z, lengths = np.subtract(lat[split], lat["mean"]), lat[f"{split}_lengths"]  # the map read once into memory
    Z /= lat["std"]
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
