"""Autoencoder training (deterministic, resumable) and batch encode/decode of frame sequences."""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn as nn

from ..artefacts import ArtefactError, load_torch_state, save_torch_state
from ..errors import TrainingError
from ..registry import AUTOENCODERS
from ..validate import check_checkpoint
from .losses import make_loss

CHECKPOINT_KIND = "autoencoder-checkpoint"
MODEL_KIND = "autoencoder"


def _segments(lengths: np.ndarray, S: int, rng: np.random.Generator | None) -> np.ndarray:
    """Cut utterances into segments of at most ``S`` consecutive frames, each frame in exactly one.

    An utterance of ``T`` frames gives ``ceil(T / S)`` segments; the ``ceil(T/S)*S - T`` frames of
    slack go to the first segment with a random share (from ``rng``), so segment boundaries move from
    epoch to epoch without adding padding. Returns ``(n_segments, S)`` global frame indices, -1 = pad.
    """
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    out = []
    for off, T in zip(offsets, lengths):
        if T == 0:
            continue
        K = -(-T // S)
        first = S - (int(rng.integers(0, K * S - T + 1)) if rng is not None else 0)
        starts = [0] + list(range(first, T, S))
        for a, b in zip(starts, starts[1:] + [T]):
            row = np.full(S, -1, dtype=np.int64)
            row[: b - a] = off + np.arange(a, b)
            out.append(row)
    return np.stack(out) if out else np.zeros((0, S), dtype=np.int64)


def _segment_loss(
    model: nn.Module, loss_fn: nn.Module, frames: torch.Tensor, idx: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reconstruct the real frames of segments ``idx [B, S]`` (of ``frames [F, N]``); pads stay exact zeros.

    Only real frames go through the model (the convs cost what the data cost, not what padding
    costs). A model with a band split (``model.noise``, :mod:`.noise`) decodes the low band only and is
    scored against the low band of the input. Returns ``(loss, est [B, S, N], ref [B, S, N])``.
    """
    B, S = idx.shape
    mask = idx >= 0
    flat = mask.reshape(-1).nonzero().squeeze(1)
    ref = frames[idx.clamp_min(0)] * mask.unsqueeze(-1)
    rec = model(frames[idx.reshape(-1)[flat]])
    est = rec.new_zeros(B * S, rec.shape[-1]).index_copy(0, flat, rec).view(B, S, -1)
    noise = getattr(model, "noise", None)
    loss = loss_fn(est, ref if noise is None else noise.lowpass(ref), mask.to(rec.dtype))
    aux = getattr(model, "aux_loss", None)  # a model's own regulariser, e.g. the VAE's KL term
    return (loss if aux is None else loss + aux), est, ref


def _train_config(**kw) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}


def train_autoencoder(
    model: nn.Module,
    train_seqs: Sequence[np.ndarray],
    *,
    valid_seqs: Sequence[np.ndarray] | None = None,
    epochs: int = 16,
    batch_size: int = 8,
    segment_frames: int = 8,
    lr: float = 1e-3,
    loss: str = "mrstft",
    loss_options: dict | None = None,
    hop: int = 400,
    device: str | torch.device = "cpu",
    seed: int = 0,
    checkpoint_path: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    log: Callable[[int, dict], None] | None = None,
) -> dict:
    """Train ``model`` with Adam on windowed-frame sequences ``train_seqs[i] (T_i, N)``.

    Each batch holds ``batch_size`` segments of ``segment_frames`` consecutive frames of one utterance
    (zero-padded); the loss (``make_loss(loss, hop, **loss_options)``) sees the overlap-added segment.
    The order of segments depends only on ``(seed, epoch)``, and a checkpoint (model, optimizer, epoch,
    history) is written atomically after every epoch, so ``resume=True`` from the epoch-k checkpoint ends with the
    same weights as an uninterrupted run (``resume`` with no checkpoint file starts afresh; one written
    with other settings raises ``ValueError``). Returns the history: per-epoch lists ``epoch``,
    ``train_loss``, ``time_s`` and, with ``valid_seqs``, ``valid_loss`` and ``valid_snr_db``.
    """
    from tqdm.auto import tqdm

    if epochs < 0 or batch_size < 1 or segment_frames < 1 or lr <= 0:
        raise ValueError("need epochs >= 0, batch_size >= 1, segment_frames >= 1, lr > 0")
    device = torch.device(device)
    model.to(device)
    loss_fn = make_loss(loss, hop=hop, **(loss_options or {})).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    settings = _train_config(batch_size=batch_size, segment_frames=segment_frames, lr=lr, loss=loss,
                             loss_options=dict(loss_options or {}), hop=hop, seed=seed)
    model_config = model.get_config() if hasattr(model, "get_config") else {}

    history: dict[str, list] = {"epoch": [], "train_loss": [], "time_s": []}
    if valid_seqs is not None:
        history.update(valid_loss=[], valid_snr_db=[])
    start = 0
    if resume and checkpoint_path is not None and Path(checkpoint_path).exists():
        config, ckpt = load_torch_state(checkpoint_path, kind=CHECKPOINT_KIND, map_location="cpu")
        if config.get("train") != settings or config.get("model") != model_config:
            raise ValueError(
                f"checkpoint {checkpoint_path} was written with other settings "
                f"({config.get('train')}, {config.get('model')}), not {settings}, {model_config}"
            )
        start, history = check_checkpoint(ckpt, epochs, checkpoint_path)
        try:
            model.load_state_dict(ckpt["model"])
            opt.load_state_dict(ckpt["optimizer"])
        except (KeyError, RuntimeError, ValueError) as e:
            raise ArtefactError(f"checkpoint {checkpoint_path} is incomplete or does not fit the model: {e}") from None

    frames, lengths = _stack(train_seqs, device)
    if valid_seqs is not None:
        vframes, vlengths = _stack(valid_seqs, device)
        vidx = torch.as_tensor(_segments(vlengths, segment_frames, None), device=device)

    bar = tqdm(range(start, epochs), desc="autoencoder", unit="epoch", disable=not progress,
               initial=start, total=epochs)
    for epoch in bar:
        t0 = time.perf_counter()
        rng = np.random.default_rng([seed, epoch])  # order is a function of (seed, epoch) only: resumable
        idx = _segments(lengths, segment_frames, rng)
        idx = torch.as_tensor(idx[rng.permutation(len(idx))], device=device)
        model.train()
        total, count = 0.0, 0
        batches = tqdm(range(0, len(idx), batch_size), desc=f"epoch {epoch + 1}", unit="batch",
                       leave=False, disable=not progress)
        for b in batches:
            loss_val, _, _ = _segment_loss(model, loss_fn, frames, idx[b : b + batch_size])
            if not torch.isfinite(loss_val):  # stop here: every later step would only spread the NaN
                raise TrainingError(f"autoencoder training stopped in epoch {epoch + 1}: the loss is "
                                    f"{loss_val.item()} (learning rate {lr:g} too high, or non-finite data)")
            opt.zero_grad(set_to_none=True)
            loss_val.backward()
            opt.step()
            total, count = total + loss_val.item(), count + 1
            batches.set_postfix(loss=f"{total / count:.4f}")
        record = {"epoch": epoch + 1, "train_loss": total / max(count, 1), "time_s": time.perf_counter() - t0}
        if valid_seqs is not None:
            record["valid_loss"], record["valid_snr_db"] = _evaluate(model, loss_fn, vframes, vidx, batch_size)
        for k, v in record.items():
            history[k].append(v)
        bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k != "epoch"})
        if checkpoint_path is not None:
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1,
                     "history": history}
            save_torch_state(checkpoint_path, CHECKPOINT_KIND, {"train": settings, "model": model_config}, state)
        if log is not None:
            log(epoch + 1, record)
    model.eval()
    return history


def _stack(seqs: Sequence[np.ndarray], device: torch.device) -> tuple[torch.Tensor, np.ndarray]:
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    if not len(seqs) or lengths.sum() == 0:
        raise ValueError("no frames to train on")
    frames = torch.as_tensor(np.concatenate([np.asarray(s, dtype=np.float32) for s in seqs]), device=device)
    if frames.ndim != 2:
        raise ValueError(f"each sequence must be (T_i, frame_length), got {frames.shape[1:]} after stacking")
    return frames, lengths


@torch.no_grad()
def _evaluate(model, loss_fn, frames, idx, batch_size) -> tuple[float, float]:
    """Mean loss over segments and SNR (dB) of the overlap-free frame reconstruction."""
    model.eval()
    total, count, err, sig = 0.0, 0, 0.0, 0.0
    for b in range(0, len(idx), batch_size):
        loss_val, est, ref = _segment_loss(model, loss_fn, frames, idx[b : b + batch_size])
        total, count = total + loss_val.item(), count + 1
        err, sig = err + (est - ref).square().sum().item(), sig + ref.square().sum().item()
    return total / max(count, 1), 10 * math.log10(max(sig, 1e-20) / max(err, 1e-20))  # all-silent data: no error


@torch.no_grad()
def _map_frames(fn, seqs: Sequence[np.ndarray], out_dim: int, device, batch_size: int) -> list[np.ndarray]:
    """Apply a per-frame map to every row of every sequence, in batches of ``batch_size`` rows."""
    lengths = [len(s) for s in seqs]
    if sum(lengths) == 0:
        return [np.zeros((0, out_dim), np.float32) for _ in seqs]
    X = torch.as_tensor(np.concatenate([np.asarray(s, np.float32) for s in seqs]))
    Y = torch.cat([fn(X[i : i + batch_size].to(device)).cpu() for i in range(0, len(X), batch_size)]).numpy()
    return np.split(Y, np.cumsum(lengths)[:-1])


def encode_sequences(
    model: nn.Module, seqs: Sequence[np.ndarray], device: str | torch.device = "cpu", batch_size: int = 4096
) -> list[np.ndarray]:
    """Windowed-frame sequences ``(T_i, N)`` -> latent sequences ``(T_i, D)`` float32."""
    model.to(device).eval()
    return _map_frames(model.encode, seqs, model.latent_dim, device, batch_size)


def decode_sequences(
    model: nn.Module, latent_seqs: Sequence[np.ndarray], device: str | torch.device = "cpu", batch_size: int = 4096,
    rng: np.random.Generator | None = None, noise_scale: float = 1.0,
) -> list[np.ndarray]:
    """Latent sequences ``(T_i, D)`` -> windowed frames ``(T_i, N)`` float32 (overlap-add them to listen).

    With ``rng`` and a band-split model (:mod:`.noise`), each frame gets its high-band noise draw
    (``model.decode_sample``, std times ``noise_scale``); otherwise the deterministic decoder."""
    model.to(device).eval()
    fn = model.decode
    if rng is not None and getattr(model, "noise", None) is not None and noise_scale:
        fn = lambda z: model.decode_sample(z, rng, noise_scale)  # noqa: E731
    return _map_frames(fn, latent_seqs, model.frame_length, device, batch_size)


def save_autoencoder(path: str | Path, model: nn.Module) -> None:
    """Write ``path`` (tensors, ``weights_only``-loadable) + ``path.json`` (type, constructor kwargs)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    save_torch_state(path, MODEL_KIND, {"type": AUTOENCODERS.name_of(type(model)), "kwargs": model.get_config()},
                     state)


def load_autoencoder(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the autoencoder saved by :func:`save_autoencoder` (eval mode, on ``device``); never runs code."""
    from ..components import rebuild_module

    config, state = load_torch_state(path, kind=MODEL_KIND, map_location="cpu")
    return rebuild_module(AUTOENCODERS, config, state, path).to(device).eval()
