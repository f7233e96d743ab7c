"""Codec artefacts (weights + constructor config, never pickled code) and batched encode/decode of unit sequences."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from ..artefacts import load_torch_state, save_torch_state
from ..errors import SeqgenError
from ..registry import AUTOENCODERS
from .base import Codec

MODEL_KIND = "autoencoder"


def _unit_batches(seqs: Sequence[np.ndarray], batch_size: int) -> Iterator[np.ndarray]:
    """The units of all sequences, in order, in batches of ``batch_size`` (the last one shorter); only one
    batch is copied at a time, so a large corpus is not duplicated in memory (10 h of frames = 2.3 GB)."""
    parts, n = [], 0
    for s in seqs:
        s, i = np.asarray(s, np.float32), 0
        while i < len(s):
            take = min(batch_size - n, len(s) - i)
            parts.append(s[i : i + take])
            n, i = n + take, i + take
            if n == batch_size:
                yield np.concatenate(parts)
                parts, n = [], 0
    if n:
        yield np.concatenate(parts)


@torch.no_grad()
def _map_units(fn: Callable, seqs: Sequence[np.ndarray], out_shape: tuple, device, batch_size: int) -> list[np.ndarray]:
    """Apply a per-unit map to every unit of every sequence, in batches of ``batch_size`` units."""
    lengths = [len(s) for s in seqs]
    if sum(lengths) == 0:
        return [np.zeros((0, *out_shape), np.float32) for _ in seqs]
    Y = np.concatenate(list(_map_blocks(fn, seqs, device, batch_size)))
    return np.split(Y, np.cumsum(lengths)[:-1])


def _map_blocks(fn: Callable, seqs: Sequence[np.ndarray], device, batch_size: int) -> Iterator[np.ndarray]:
    for x in _unit_batches(seqs, batch_size):
        with torch.no_grad():  # not held across the yield: the caller's code keeps its own grad mode
            y = fn(torch.as_tensor(x).to(device)).cpu().numpy()
        yield y


def _encoder(codec: Codec, device) -> Callable:
    if not codec.has_encoder:
        raise SeqgenError(f"the {type(codec).__name__} codec has no encoder: it cannot encode data (no reconstructions, "
                          f"prompts or latents of real examples)")
    codec.to(device).eval()
    return lambda x: codec.to_prior(codec.encode(x))


def encode_sequences(codec: Codec, seqs: Sequence[np.ndarray], device: str | torch.device = "cpu",
                     batch_size: int = 4096) -> list[np.ndarray]:
    """Unit sequences ``(T_i, *unit_shape)`` -> latent sequences ``(T_i, D)`` float32, ``D = codec.prior_dim``:
    the coordinates a prior models (:meth:`Codec.to_prior`)."""
    return _map_units(_encoder(codec, device), seqs, (codec.prior_dim,), device, batch_size)


def encode_blocks(codec: Codec, seqs: Sequence[np.ndarray], device: str | torch.device = "cpu",
                  batch_size: int = 4096) -> Iterator[np.ndarray]:
    """The latents of :func:`encode_sequences`, all sequences' rows in order, as blocks of ``batch_size``
    rows made one at a time (a corpus is encoded without holding its units or latents in memory)."""
    return _map_blocks(_encoder(codec, device), seqs, device, batch_size)


def decode_sequences(codec: Codec, latent_seqs: Sequence[np.ndarray], device: str | torch.device = "cpu",
                     batch_size: int = 4096, rng: np.random.Generator | None = None,
                     noise_scale: float = 1.0) -> list[np.ndarray]:
    """Latent sequences ``(T_i, D)`` (``D = codec.prior_dim``, :meth:`Codec.from_prior` maps them to the
    decoder's input) -> unit sequences ``(T_i, *unit_shape)`` float32.

    With ``rng`` a stochastic decoder draws its randomness (:meth:`Codec.decode_sample`, std times
    ``noise_scale``); otherwise the deterministic :meth:`Codec.decode`."""
    codec.to(device).eval()
    fn = lambda z: codec.decode(codec.from_prior(z))  # noqa: E731
    if rng is not None and codec.stochastic_decoder and noise_scale:
        fn = lambda z: codec.decode_sample(codec.from_prior(z), rng, noise_scale)  # noqa: E731
    return _map_units(fn, latent_seqs, tuple(codec.unit_shape), device, batch_size)


def save_codec(path: str | Path, codec: Codec) -> None:
    """Write ``path`` (tensors, ``weights_only``-loadable) + ``path.json`` (registered type, constructor kwargs)."""
    state = {k: v.detach().cpu() for k, v in codec.state_dict().items()}
    save_torch_state(path, MODEL_KIND, {"type": AUTOENCODERS.name_of(type(codec)), "kwargs": codec.get_config()},
                     state)


def load_codec(path: str | Path, device: str | torch.device = "cpu") -> Codec:
    """Rebuild the codec saved by :func:`save_codec` (eval mode, on ``device``); never runs code: the type is
    looked up among registered codecs only, its kwargs and weight shapes are checked first."""
    from ..components import rebuild_module

    config, state = load_torch_state(path, kind=MODEL_KIND, map_location="cpu")
    return rebuild_module(AUTOENCODERS, config, state, path).to(device).eval()
