"""Spoken-digit classifier (small 1-D CNN on log-mel spectrograms) for scoring generated FSDD digits.

Trained by seqgen on the FSDD *training* split only (takes 5-49), never on generated audio, and
cached under ``$SEQGEN_CACHE/classifiers/`` (or the OS cache) keyed by a checksum of the training
file list and sizes plus the classifier's own settings, so a changed data set or architecture
retrains. Plays the role of the SC09 classifier in DiffWave/SaShiMi's evaluation: its posteriors
feed IS / mIS / AM, its penultimate layer FID / NDB / the memorisation check.

Input handling: any sample rate (resampled to 8 kHz), any length (cropped to the loudest second
or zero-padded, centred, to exactly 1 s), any level (log-mel in dB relative to the clip's own
maximum, floored at -80 dB, so gain does not matter; near-silent clips stay silence).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from ..artefacts import read_json
from ..errors import DataError
from .saved_net import SavedNet, fit_one_cycle

log = logging.getLogger("seqgen")

KIND = "digit_classifier"
VERSION = 2  # bump when the architecture / features / training recipe change (invalidates caches)
SR = 8000
N_SAMPLES = SR  # 1 s
N_FFT, WIN, HOP, N_MELS, TOP_DB = 512, 256, 128, 64, 80.0
SILENCE_DB = -40.0  # loudest mel bin (dB power) below this = silence; peak-normalised speech is ~40 dB above it
# No label smoothing: it caps max p(y|x) and with it IS (0.05 would cap IS of real digits near 7.5).
TRAIN = {"epochs": 8, "batch_size": 64, "lr": 3e-3, "weight_decay": 1e-4, "label_smoothing": 0.0, "seed": 0}

Waveforms = Sequence[np.ndarray] | np.ndarray  # N x (T_i,) float


# ------------------------------------------------------------------ input
def fit_length(x: np.ndarray, n: int = N_SAMPLES, offset: int | None = None) -> np.ndarray:
    """``x (T,)`` -> ``(n,)``: the loudest ``n``-sample window if longer, else ``x`` zero-padded.

    ``offset`` None centres a short clip; an int places it at that offset (training augmentation).
    """
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if len(x) >= n:
        # Loudest window by a running energy sum: keeps the word when a clip has long silences.
        c = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
        start = int(np.argmax(c[n:] - c[:-n]))
        return x[start : start + n].copy()
    out = np.zeros(n, dtype=np.float32)
    off = (n - len(x)) // 2 if offset is None else int(np.clip(offset, 0, n - len(x)))
    out[off : off + len(x)] = x
    return out


def _to_8k(waveforms: Waveforms, sr: int) -> list[np.ndarray]:
    out = [np.asarray(x, dtype=np.float32).reshape(-1) for x in waveforms]
    if sr != SR:
        import soxr

        out = [soxr.resample(x, sr, SR, quality="HQ").astype(np.float32) for x in out]
    return out


class LogMel:
    """``[B, T]`` waveforms at 8 kHz -> ``[B, N_MELS, frames]`` log-mel, dB re. each clip's max, scaled by TOP_DB."""

    def __init__(self):
        import librosa
        import torch

        self.fb = torch.as_tensor(librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS, fmin=20.0, fmax=SR / 2),
                                  dtype=torch.float32)
        self.window = torch.hann_window(WIN)
        # E|STFT|^2 of unit-variance white noise is Σ w[n]^2 in every bin, so N_MELS x this per unit noise power.
        self.noise_mel = self.fb.sum(1) * float(self.window.square().sum())

    def power(self, x):
        """Mel power ``[B, N_MELS, frames]`` (zero padding at the edges, as silence would be)."""
        import torch

        spec = torch.stft(x, N_FFT, HOP, WIN, self.window.to(x.device), center=True, pad_mode="constant",
                          return_complex=True)
        return self.fb.to(x.device) @ spec.abs().square()

    @staticmethod
    def to_db(mel):
        import torch

        db = 10.0 * torch.log10(mel.clamp_min(1e-12))
        # Level invariance: 0 dB = the clip's loudest bin. Trap: without the floor a silent clip would
        # be normalised up to a flat, full-level spectrum.
        db = db - db.amax(dim=(1, 2), keepdim=True).clamp_min(SILENCE_DB)
        return db.clamp_min(-TOP_DB) / TOP_DB + 0.5  # roughly [-0.5, 0.5]

    def __call__(self, x):
        return self.to_db(self.power(x))


# ------------------------------------------------------------------ model
def _build_net():
    import torch
    import torch.nn as nn

    def block(i, o, k):
        return nn.Sequential(nn.Conv1d(i, o, k, padding=k // 2, bias=False), nn.BatchNorm1d(o), nn.ReLU(inplace=True))

    class Net(nn.Module):
        """Mel bands as channels, 1-D convolutions over time (a TDNN): cheap on a CPU, ~98 % on FSDD."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Sequential(block(N_MELS, 96, 5), nn.MaxPool1d(2), block(96, 128, 3), nn.MaxPool1d(2),
                                      block(128, 128, 3))
            self.embed = nn.Sequential(nn.Linear(256, 128), nn.ReLU(inplace=True))
            self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(128, 10))

        def forward(self, x, features: bool = False):
            h = self.conv(x)
            f = self.embed(torch.cat([h.mean(-1), h.amax(-1)], 1))  # mean + max pooling over time
            return f if features else self.head(f)

    return Net()


class DigitClassifier(SavedNet):
    """FSDD digit classifier: ``predict_proba`` -> ``(N, 10)``, ``features`` -> ``(N, 128)`` penultimate layer."""

    n_features = 128
    KIND, VERSION, WHAT = KIND, VERSION, "digit-classifier"

    def __init__(self, net=None, device: str = "cpu", info: dict | None = None):
        super().__init__(net, device, info)
        self.logmel = LogMel()

    def classify(self, waveforms: Waveforms, sr: int = SR, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Both outputs in one pass: posteriors p(y|x) ``(N, 10)`` and features ``(N, 128)``, float64."""
        import torch

        xs = _to_8k(waveforms, sr)
        if not xs:
            return np.zeros((0, 10)), np.zeros((0, self.n_features))
        probs, feats = [], []
        self.net.eval()
        with torch.no_grad():
            for b in range(0, len(xs), batch_size):
                x = torch.as_tensor(np.stack([fit_length(w) for w in xs[b : b + batch_size]])).to(self.device)
                f = self.net(self.logmel(x), features=True)
                probs.append(torch.softmax(self.net.head(f).double(), 1).cpu().numpy())
                feats.append(f.double().cpu().numpy())
        return np.concatenate(probs), np.concatenate(feats)

    def predict_proba(self, waveforms: Waveforms, sr: int = SR) -> np.ndarray:
        """Posteriors p(y|x) ``(N, 10)`` float64 for N waveforms ``(T_i,)`` at ``sr`` Hz."""
        return self.classify(waveforms, sr)[0]

    def features(self, waveforms: Waveforms, sr: int = SR) -> np.ndarray:
        """Penultimate-layer activations ``(N, 128)`` float64 (the FID / NDB / nearest-neighbour space)."""
        return self.classify(waveforms, sr)[1]

    def accuracy(self, waveforms: Waveforms, labels: Sequence[int], sr: int = SR) -> float:
        return float(np.mean(self.predict_proba(waveforms, sr).argmax(1) == np.asarray(labels)))

    @classmethod
    def build_net(cls, config: dict):
        return _build_net()


# ------------------------------------------------------------------ training
def fsdd_files(fsdd_root: str | os.PathLike, split: str) -> list[tuple[Path, int]]:
    """``(path, digit)`` of every FSDD file of ``split`` ("train" = takes 5-49, "test" = takes 0-4)."""
    from ..data.fsdd import FSDD

    return [(p, d) for p, d, _, _ in FSDD(fsdd_root).files(split)]


def _load(files: Sequence[tuple[Path, int]], progress: bool) -> tuple[list[np.ndarray], np.ndarray]:
    from ..audio.io import load_many

    labels = {Path(p): d for p, d in files}
    xs, ys = [], []
    for p, x in load_many([p for p, _ in files], SR, progress=progress):
        xs.append(x)
        ys.append(labels[p])
    if not xs:
        raise DataError("no readable audio to train the digit classifier on")
    return xs, np.array(ys)


def _placed_power(xs: list[np.ndarray], logmel: LogMel) -> tuple:
    """Mel power of each clip placed at the start of the 1 s window ``[n, N_MELS, frames]``, how many
    whole hops it can be shifted right within the window, and its mean power."""
    import torch

    with torch.no_grad():
        P = torch.cat([logmel.power(torch.as_tensor(np.stack([fit_length(x, offset=0) for x in xs[b : b + 256]])))
                       for b in range(0, len(xs), 256)])
    max_shift = np.array([max(0, N_SAMPLES - len(x)) // HOP for x in xs])
    power = np.array([float(np.mean(x.astype(np.float64) ** 2)) + 1e-12 for x in xs])
    return P, max_shift, power


def _augment(P, max_shift, power, idx, rng: np.random.Generator, logmel: LogMel):
    """Log-mel batch with random placement in the 1 s window and, on half the clips, white noise at
    10-40 dB SNR (generated audio is noisier than FSDD; this keeps noise from being read as a class cue).

    Done on cached mel powers: with zero-padded frames, moving a clip by k hops moves its frames by
    k, and white noise of variance σ² adds σ²·Σw² to every STFT bin in expectation.
    """
    import torch

    out = torch.zeros(len(idx), *P.shape[1:])
    for j, i in enumerate(idx):
        k = int(rng.integers(0, max_shift[i] + 1))
        out[j, :, k:] = P[i, :, : P.shape[2] - k]
    noisy = rng.random(len(idx)) < 0.5
    var = power[idx] / 10 ** (rng.uniform(10.0, 40.0, len(idx)) / 10) * noisy
    out += torch.as_tensor(var, dtype=torch.float32)[:, None, None] * logmel.noise_mel[None, :, None]
    return logmel.to_db(out)


def train_classifier(train_files: Sequence[tuple[Path, int]], test_files: Sequence[tuple[Path, int]] = (), *,
                     epochs: int = TRAIN["epochs"], seed: int = TRAIN["seed"], device: str = "cpu",
                     progress: bool = False) -> DigitClassifier:
    """Train a fresh classifier on ``(path, digit)`` pairs; test accuracy (if ``test_files``) goes in ``.info``."""
    import torch

    t0 = time.perf_counter()
    xs, ys = _load(train_files, progress)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    clf = DigitClassifier(device=device)
    P, max_shift, power = _placed_power(xs, clf.logmel)
    y_all = torch.as_tensor(ys)

    def batch_loss(idx):
        x = _augment(P, max_shift, power, idx, rng, clf.logmel).to(device)
        return torch.nn.functional.cross_entropy(clf.net(x), y_all[idx].to(device),
                                                 label_smoothing=TRAIN["label_smoothing"])

    fit_one_cycle(clf.net, len(xs), batch_loss, epochs=epochs, batch_size=TRAIN["batch_size"], lr=TRAIN["lr"],
                  weight_decay=TRAIN["weight_decay"], rng=rng, desc="digit classifier", progress=progress)
    clf.info = {"n_train": len(xs), "epochs": epochs, "seed": seed, "train": TRAIN, "train_seconds": 0.0}
    if test_files:
        xt, yt = _load(test_files, progress)
        clf.info.update(n_test=len(xt), test_accuracy=clf.accuracy(xt, yt))
    clf.info["train_seconds"] = time.perf_counter() - t0
    return clf


def cache_key(train_files: Sequence[tuple[Path, int]]) -> str:
    """Checksum of the training file names, sizes and labels plus the classifier settings."""
    settings = {"version": VERSION, "train": TRAIN, "features": [SR, N_FFT, WIN, HOP, N_MELS, TOP_DB, SILENCE_DB]}
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for p, d in sorted(train_files, key=lambda f: Path(f[0]).name):
        h.update(f"{Path(p).name}\t{Path(p).stat().st_size}\t{d}\n".encode())
    return h.hexdigest()[:16]


def cache_folder() -> Path:
    from ..data.locate import cache_dir

    return cache_dir() / "classifiers"


def get_classifier(fsdd_root: str | os.PathLike, device: str = "cpu", progress: bool = True, *,
                   cache: str | os.PathLike | None = None, retrain: bool = False) -> DigitClassifier:
    """The classifier for the FSDD at ``fsdd_root``: loaded from the cache, else trained (~1-2 min on a CPU) and cached.

    ``cache`` overrides the folder (default ``$SEQGEN_CACHE/classifiers`` or the OS cache). Training
    uses the training split only; its test-split accuracy is logged and stored in ``.info``.
    """
    train_files = fsdd_files(fsdd_root, "train")
    if not train_files:
        raise DataError(f"no FSDD training files under {fsdd_root}: the digit classifier needs them")
    path = Path(cache or cache_folder()) / f"fsdd_digits_{cache_key(train_files)}.pt"

    def train():
        if len(train_files) < 1000:
            log.warning("digit classifier: only %d training files under %s (full FSDD has 2700); "
                        "scores will be less reliable", len(train_files), fsdd_root)
        return train_classifier(train_files, fsdd_files(fsdd_root, "test"), device=device, progress=progress)

    return DigitClassifier.cached(path, train, device=device, retrain=retrain)


def classifier_info(path: str | os.PathLike) -> dict:
    """The training record stored beside a cached classifier (without loading weights)."""
    return read_json(Path(path).with_suffix(".json")).get("config", {})
