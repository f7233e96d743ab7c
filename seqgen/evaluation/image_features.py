"""A feature space for unlabelled images (faces): the encoder of a small conv autoencoder trained on the train split.

What the features are, honestly: no Inception network (none can be downloaded here, and its
ImageNet features say little about 64×64 grayscale portraits). Instead a 4-layer strided conv
encoder (+ mirror decoder) is trained by seqgen for pixel reconstruction (MSE) on the data set's
own *training* split, never on generated images; a sample's features are the encoder's last
conv map averaged over space (128-d). They capture layout, shading and edge statistics the
encoder needs to reconstruct faces, not identity or semantics. FID / NDB / nearest-neighbour
distances in this space are comparable between models scored with the same cached extractor
(same training data, same :data:`VERSION`) and with nothing else, in particular not with
published Inception FIDs. Cached like the classifiers (``$SEQGEN_CACHE/classifiers/``), keyed by
a sha256 of the training pixels and the settings.

Input: ``images [N, C, H, W]`` in [0, 1], C = 1 or 3 (the channel count it was trained with),
resized to 64×64 (bilinear, antialiased) if needed.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from ..artefacts import ArtefactError
from ..errors import DataError
from ..data.image.transform import tensor_batch
from .saved_net import SavedNet, fit_one_cycle

log = logging.getLogger("seqgen")

KIND = "image_feature_encoder"
VERSION = 1
SIZE = 64
TRAIN = {"epochs": 20, "batch_size": 32, "lr": 2e-3, "weight_decay": 1e-5, "seed": 0}


def _build_net(channels: int):
    import torch.nn as nn

    def down(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True))

    def up(i, o, last=False):
        return nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1), nn.Sigmoid() if last else nn.ReLU(inplace=True))

    class Net(nn.Module):
        """64×64 -> 16, 32, 64, 128 channels at 32², 16², 8², 4² -> mirrored decoder back to 64×64."""

        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(down(channels, 16), down(16, 32), down(32, 64), down(64, 128))
            self.decoder = nn.Sequential(up(128, 64), up(64, 32), up(32, 16), up(16, channels, last=True))

        def forward(self, x):
            return self.decoder(self.encoder(x))

        def features(self, x):
            return self.encoder(x).mean((2, 3))

    return Net()


def as_batch(images, channels: int):
    """``[N, C, H, W]`` in [0, 1] -> float32 ``[N, channels, 64, 64]`` tensor (CPU)."""
    return tensor_batch(images, SIZE, channels)


class ImageFeatureExtractor(SavedNet):
    """:meth:`features` -> ``(N, 128)`` encoder features; ``info`` holds the training record (incl. test MSE)."""

    n_features = 128
    KIND, VERSION, WHAT = KIND, VERSION, "feature-encoder"

    def __init__(self, channels: int = 1, net=None, device: str = "cpu", info: dict | None = None):
        self.channels = int(channels)
        super().__init__(net, device, info)

    def features(self, images, batch_size: int = 256) -> np.ndarray:
        import torch

        x = as_batch(images, self.channels)
        with torch.no_grad():
            out = [self.net.features(x[b : b + batch_size].to(self.device)).double().cpu().numpy()
                   for b in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.n_features))

    def reconstruction_mse(self, images, batch_size: int = 256) -> float:
        import torch

        x = as_batch(images, self.channels)
        with torch.no_grad():
            err = [float((self.net(x[b : b + batch_size]) - x[b : b + batch_size]).square().sum())
                   for b in range(0, len(x), batch_size)]
        return sum(err) / max(1, x.numel())

    def config(self) -> dict:
        return {**super().config(), "channels": self.channels}

    @classmethod
    def build_net(cls, config: dict):
        if config.get("channels") not in (1, 3):
            raise ArtefactError(f"feature encoder with channels {config.get('channels')!r}: expected 1 or 3")
        return _build_net(config["channels"])

    @classmethod
    def from_config(cls, config: dict, net, device: str):
        return cls(config["channels"], net, device, {k: v for k, v in config.items() if k != "channels"})


def train_extractor(train_images, test_images=None, *, epochs: int | None = None, seed: int | None = None,
                    device: str = "cpu", progress: bool = False) -> ImageFeatureExtractor:
    """Train the autoencoder on ``train_images [N, C, H, W]`` in [0, 1] (``epochs`` / ``seed`` default to
    :data:`TRAIN`'s); test MSE (if given) goes in ``.info``."""
    import torch

    t0 = time.perf_counter()
    epochs = TRAIN["epochs"] if epochs is None else int(epochs)
    seed = TRAIN["seed"] if seed is None else int(seed)
    channels = int(np.shape(train_images)[1]) if np.ndim(train_images) == 4 else 1
    x = as_batch(train_images, channels)
    if not len(x):
        raise DataError("no training images for the feature encoder")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    ext = ImageFeatureExtractor(channels, device=device)

    def batch_loss(idx):
        xb = x[idx].to(device)
        if rng.random() < 0.5:  # faces are roughly left-right symmetric: flips double the data
            xb = xb.flip(-1)
        return (ext.net(xb) - xb).square().mean()

    fit_one_cycle(ext.net, len(x), batch_loss, epochs=epochs, batch_size=TRAIN["batch_size"], lr=TRAIN["lr"],
                  weight_decay=TRAIN["weight_decay"], rng=rng, desc="feature encoder", progress=progress)
    ext.info = {"n_train": len(x), "epochs": epochs, "seed": seed, "train": TRAIN,
                "train_mse": ext.reconstruction_mse(x), "train_seconds": time.perf_counter() - t0}
    if test_images is not None:
        ext.info.update(n_test=len(test_images), test_mse=ext.reconstruction_mse(test_images))
    return ext


def cache_key(train_images) -> str:
    settings = {"version": VERSION, "train": TRAIN, "size": SIZE}
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    h.update(np.ascontiguousarray(np.asarray(train_images, dtype=np.float32)).tobytes())
    return h.hexdigest()[:16]


def get_feature_extractor(train_images, test_images=None, *, name: str = "images", device: str = "cpu",
                          progress: bool = True, cache: str | os.PathLike | None = None,
                          retrain: bool = False) -> ImageFeatureExtractor:
    """The extractor for this training set: loaded from ``<cache>/<name>_features_<key>.pt``, else trained and cached."""
    from .image_classifier import cache_folder

    path = Path(cache or cache_folder()) / f"{name}_features_{cache_key(train_images)}.pt"
    return ImageFeatureExtractor.cached(
        path, lambda: train_extractor(train_images, test_images, device=device, progress=progress), device=device,
        retrain=retrain)
