"""Codec artefacts (weights + constructor config, never pickled code) and batched encode/decode of unit sequences."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..artefacts import load_torch_state, save_torch_state
from ..errors import SeqgenError
from ..registry import AUTOENCODERS
from .base import Codec

MODEL_KIND = "autoencoder"


@torch.no_grad()
def _map_units(fn: Callable, seqs: Sequence[np.ndarray], out_shape: tuple, device, batch_size: int) -> list[np.ndarray]:
    """Apply a per-unit map to every unit of every sequence, in batches of ``batch_size`` units."""
    lengths = [len(s) for s in seqs]
    if sum(lengths) == 0:
        return [np.zeros((0, *out_shape), np.float32) for _ in seqs]
    X = torch.as_tensor(np.concatenate([np.asarray(s, np.float32) for s in seqs]))
    Y = torch.cat([fn(X[i : i + batch_size].to(device)).cpu() for i in range(0, len(X), batch_size)]).numpy()
    return np.split(Y, np.cumsum(lengths)[:-1])


def encode_sequences(codec: Codec, seqs: Sequence[np.ndarray], device: str | torch.device = "cpu",
                     batch_size: int = 4096) -> list[np.ndarray]:
    """Unit sequences ``(T_i, *unit_shape)`` -> latent sequences ``(T_i, D)`` float32."""
    if not codec.has_encoder:
        raise SeqgenError(f"the {type(codec).__name__} codec has no encoder: it cannot encode data (no reconstructions, "
                          f"prompts or latents of real examples)")
    codec.to(device).eval()
    return _map_units(codec.encode, seqs, (codec.latent_dim,), device, batch_size)


def decode_sequences(codec: Codec, latent_seqs: Sequence[np.ndarray], device: str | torch.device = "cpu",
                     batch_size: int = 4096, rng: np.random.Generator | None = None,
                     noise_scale: float = 1.0) -> list[np.ndarray]:
    """Latent sequences ``(T_i, D)`` -> unit sequences ``(T_i, *unit_shape)`` float32.

    With ``rng`` a stochastic decoder draws its randomness (:meth:`Codec.decode_sample`, std times
    ``noise_scale``); otherwise the deterministic :meth:`Codec.decode`."""
    codec.to(device).eval()
    fn = codec.decode
    if rng is not None and codec.stochastic_decoder and noise_scale:
        fn = lambda z: codec.decode_sample(z, rng, noise_scale)  # noqa: E731
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
