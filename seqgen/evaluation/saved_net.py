"""Networks seqgen trains for its own evaluation (digit classifiers, a feature encoder), cached on disk
as tensor state dicts (``weights_only``) with their training record beside them."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable

from ..artefacts import ArtefactError, load_torch_state, save_torch_state

log = logging.getLogger("seqgen")


def fit_one_cycle(net, n: int, batch_loss: Callable, *, epochs: int, batch_size: int, lr: float,
                  weight_decay: float, rng, desc: str, progress: bool = False) -> list[float]:
    """The training of seqgen's evaluation networks: AdamW under a one-cycle learning rate, ``epochs`` passes over
    ``n`` examples in minibatches of a fresh ``rng.permutation`` each. ``batch_loss(idx)`` -> the mean loss of
    examples ``idx`` (it may draw its augmentation from the same ``rng``). Returns the mean loss per epoch."""
    import torch
    from tqdm.auto import tqdm

    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * -(-n // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    losses = []
    for _ in tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress):
        net.train()
        order = rng.permutation(n)
        total = 0.0
        for b in range(0, n, batch_size):
            idx = order[b : b + batch_size]
            loss = batch_loss(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        losses.append(total / n)
        log.debug("%s epoch %d: loss %.4f", desc, len(losses), losses[-1])
    net.eval()
    return losses


class SavedNet:
    """Save / load for a wrapper holding ``net`` and its training record ``info``. Subclasses set
    ``KIND``, ``VERSION`` (bump to invalidate caches), ``WHAT`` (for messages) and :meth:`build_net`."""

    KIND: str = ""
    VERSION: int = 0
    WHAT: str = "network"

    def __init__(self, net=None, device: str = "cpu", info: dict | None = None):
        """``net``: trained weights, or None for a fresh :meth:`build_net` (to train); ``info``: its record."""
        self.device = device
        self.info = dict(info or {})
        self.net = (net or self.build_net(self.config())).to(device).eval()

    @classmethod
    def build_net(cls, config: dict):
        """The untrained architecture a stored ``config`` describes."""
        raise NotImplementedError

    def config(self) -> dict:
        """What is stored beside the weights (at least ``version``)."""
        return {"version": self.VERSION, **self.info}

    @classmethod
    def from_config(cls, config: dict, net, device: str):
        return cls(net=net, device=device, info=config)

    def save(self, path: str | os.PathLike) -> None:
        state = {k: v.detach().cpu() for k, v in self.net.state_dict().items()}
        save_torch_state(path, self.KIND, self.config(), state)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "cpu"):
        config, state = load_torch_state(path, kind=cls.KIND)
        if config.get("version") != cls.VERSION:
            raise ArtefactError(f"{path}: {cls.WHAT} version {config.get('version')!r}, this seqgen uses {cls.VERSION}")
        net = cls.build_net(config)
        try:
            net.load_state_dict(state)
        except RuntimeError as e:
            raise ArtefactError(f"{path}: not a {cls.WHAT} state dict ({e})") from None
        return cls.from_config(config, net, device)

    @classmethod
    def cached(cls, path: str | os.PathLike, train: Callable[[], "SavedNet"], *, device: str = "cpu",
               retrain: bool = False, info: dict | None = None):
        """The network cached at ``path``, else ``train()`` (its record gets ``info`` and the cache key) saved
        there; an unusable cache file is retrained with a warning."""
        path = Path(path)
        if path.exists() and not retrain:
            try:
                net = cls.load(path, device)
                log.info("%s: loaded %s", cls.WHAT, path)
                return net
            except ArtefactError as e:
                log.warning("%s: cached %s unusable (%s); retraining", cls.WHAT, path, e)
        log.info("%s: training (cached afterwards in %s)", cls.WHAT, path.parent)
        net = train()
        net.info.update(info or {}, cache_key=path.stem)
        net.save(path)
        log.info("%s: trained in %.0f s (test accuracy %s, test MSE %s)", cls.WHAT, net.info.get("train_seconds", 0),
                 net.info.get("test_accuracy", "-"), net.info.get("test_mse", "-"))
        return net
