"""Stage 1, data: a split's examples, checked, in memory or streamed into memory-mapped stores."""
from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ..data.base import Example
from ..data.store import SequenceStore, StoreWriter
from ..errors import DataError
from ..representation.base import Representation


def iter_split(rep: Representation, dataset, split: str, *, strict: bool = False,
               progress: bool = False) -> Iterator[Example]:
    """The examples of ``split`` one at a time: those the representation cannot hold dropped (a warning
    naming them, or an error with ``strict``), silent ones warned of, each one normalised."""
    if dataset.modality != rep.modality:
        raise DataError(f"data source {type(dataset).__name__} gives {dataset.modality} examples, but the "
                        f"representation is for {rep.modality}")
    n = 0
    for ex in dataset.iter_load(split, progress=progress, strict=strict, **rep.load_options()):
        why = rep.too_short(ex.x)
        if why is not None:
            if strict:
                raise DataError(f"{ex.name}: {why}")
            warnings.warn(f"skipping {ex.name}: {why}", stacklevel=2)
            continue
        if rep.modality == "audio" and not np.any(np.abs(ex.x) > 1e-6):
            warnings.warn(f"{ex.name} is all silence (kept as silence)", stacklevel=2)
        ex.x = rep.prepare(ex.x)
        n += 1
        yield ex
    if not n:
        raise DataError(f"no usable {split} example (each must fill at least one {rep.modality} unit)")


def load_split(rep: Representation, dataset, split: str, *, strict: bool = False,
               progress: bool = False) -> list[Example]:
    """The examples of ``split`` in memory (:func:`iter_split`)."""
    return list(iter_split(rep, dataset, split, strict=strict, progress=progress))


def cache_split(rep: Representation, dataset, split: str, folder: Path, *, strict: bool = False,
                progress: bool = False) -> tuple[list[Example], SequenceStore]:
    """Stage 1 for a corpus of any size: ``(examples, unit sequences)`` of ``split``, read one example at a
    time into memory-mapped stores under ``folder``; each example's ``x`` is a view of the signal store,
    so neither the signals nor their units are held in memory at once."""
    signals, units = StoreWriter(folder / f"{split}_signals.f32"), StoreWriter(folder / f"{split}_units.f32")
    examples = []
    try:
        for ex in iter_split(rep, dataset, split, strict=strict, progress=progress):
            signals.append(ex.x)
            units.append(rep.to_units(ex.x))
            ex.x = None
            examples.append(ex)
    finally:
        signals.close()
        units.close()
    for ex, x in zip(examples, signals.finish()):
        ex.x = x
    return examples, units.finish()


@contextlib.contextmanager
def data_cache(out: Path) -> Iterator[Path]:
    """A folder beside run directory ``out`` for :func:`cache_split`'s stores (``.NAME.data-PID-*``), removed
    on leaving the context; those a killed process left behind (its pid no longer running) are removed first."""
    import shutil

    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    for old in parent.glob(f".{out.name}.data-*-*"):
        pid = old.name.rsplit(".data-", 1)[1].split("-")[0]
        if pid.isdigit() and not _running(int(pid)) and old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.data-{os.getpid()}-", dir=parent) as cache:
        yield Path(cache)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def first_samples(examples: Iterable[Example], n: int) -> np.ndarray:
    """The first ``n`` samples of the examples' audio end to end; from :func:`iter_split`, only the files
    holding them are read."""
    parts, have = [], 0
    for e in examples:
        parts.append(np.asarray(e.x[: n - have]))
        have += len(parts[-1])
        if have >= n:
            break
    return np.concatenate(parts)


def to_units(rep: Representation, examples: list[Example]) -> list[np.ndarray]:
    """Each example's unit sequence ``(T_i, *unit_shape)`` float32."""
    return [rep.to_units(ex.x) for ex in examples]


def reconstruct(model, rep: Representation, unit_seqs: list[np.ndarray], *, device: str = "cpu",
                noise_rng: np.random.Generator | None = None, noise_scale: float = 1.0,
                codec_target: bool = False) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Encode -> decode -> back to examples, for each unit sequence: ``(latents, references, reconstructions)``.

    ``references`` are the inputs rebuilt by the representation (with ``codec_target``: what the codec
    is trained to reproduce, e.g. a band-split codec's low band); with ``noise_rng`` a stochastic
    decoder draws its noise (std scale ``noise_scale``)."""
    import torch

    from ..codecs.io import decode_sequences, encode_sequences

    z = encode_sequences(model, unit_seqs, device=device)
    rec = decode_sequences(model, z, device=device, rng=noise_rng, noise_scale=noise_scale)
    if codec_target:
        with torch.no_grad():
            unit_seqs = [model.reconstruction_target(torch.as_tensor(u)).numpy() for u in unit_seqs]
    return z, [rep.from_units(u) for u in unit_seqs], [rep.from_units(r) for r in rec]
