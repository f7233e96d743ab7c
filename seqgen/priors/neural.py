"""Shared pieces of the neural priors (AR, LDE): torch device/state helpers and array (de)serialisation."""
from __future__ import annotations

import numpy as np

from .base import Prior


def torch_device(name: str):
    import torch

    from ..device import resolve_device

    return torch.device(resolve_device(name))


def module_to_numpy(module, prefix: str = "net.") -> dict[str, np.ndarray]:
    """Torch ``state_dict`` -> plain numpy arrays (exact: dtypes are kept)."""
    return {prefix + k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def module_from_numpy(module, state: dict[str, np.ndarray], prefix: str = "net.") -> None:
    import torch

    sd = {k[len(prefix):]: torch.from_numpy(np.array(v)) for k, v in state.items() if k.startswith(prefix)}
    module.load_state_dict(sd)  # strict: a missing / unexpected tensor is an error


def check_module_shapes(factory, state: dict[str, np.ndarray], prefix: str = "net.") -> None:
    """``ValueError`` unless the module ``factory()`` builds has exactly the tensors of ``state``
    (built on the ``meta`` device: nothing is allocated)."""
    import torch

    with torch.device("meta"):
        want = {prefix + k: tuple(v.shape) for k, v in factory().state_dict().items()}
    have = {k: tuple(np.shape(v)) for k, v in state.items() if k.startswith(prefix)}
    if want != have:
        diff = sorted(set(want.items()) ^ set(have.items()))[:3]
        raise ValueError(f"network weights do not fit its description (e.g. {diff})")
    for k in have:
        v = np.asarray(state[k])
        if v.dtype.kind not in "fiu" or (v.dtype.kind == "f" and not np.isfinite(v).all()):
            raise ValueError(f"network weight {k} is not a finite number array")


def seeded_init(factory, seed):
    """Build a module with a private torch RNG state (global torch RNG untouched)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed) if seed is not None else 0)
        return factory()


def split_train_valid(n_seq: int, valid_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random split of sequence indices; held-out data is whole sequences (frames within one are correlated)."""
    perm = rng.permutation(n_seq)
    n_valid = int(round(valid_fraction * n_seq))
    if valid_fraction > 0 and n_valid == 0 and n_seq >= 2:
        n_valid = 1
    n_valid = min(n_valid, n_seq - 1)
    return np.sort(perm[n_valid:]), np.sort(perm[:n_valid])


def standardiser(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension shift / scale; the density of x is that of (x - shift) / scale minus sum(log scale)."""
    shift = X.mean(axis=0)
    scale = X.std(axis=0)
    return shift, np.where(scale > 1e-8, scale, 1.0)


class EarlyStopping:
    """Keep the weights of the epoch with the best monitored score (higher is better) and say when
    ``patience`` epochs have passed without an improvement of more than ``min_delta``."""

    def __init__(self, module, patience: int, min_delta: float = 1e-4):
        self.module, self.patience, self.min_delta = module, int(patience), float(min_delta)
        self.best, self.best_epoch, self.bad, self._state = -np.inf, 0, 0, None

    def step(self, score: float, epoch: int) -> bool:
        """Record epoch ``epoch``'s score; True means stop training."""
        import copy

        if score > self.best + self.min_delta:
            self.best, self.best_epoch, self.bad = score, epoch, 0
            self._state = copy.deepcopy(self.module.state_dict())
            return False
        self.bad += 1
        return self.bad >= self.patience

    def restore(self) -> None:
        """Load the best epoch's weights back (no-op if no epoch improved on the untrained network)."""
        if self._state is not None:
            self.module.load_state_dict(self._state)


class NeuralPrior(Prior):
    """A prior whose fitted state is a torch network ``net_`` (built by ``_new_net()``) plus a per-dimension
    standardiser (``shift_``, ``scale_``) and training curves; saved as plain numpy arrays (no pickle)."""

    # ----------------------------------------------------------------- persistence
    def state_dict(self):
        return {
            **module_to_numpy(self.net_),
            "shift_": self.shift_, "scale_": self.scale_,
            "history_": np.asarray(self.history_), "valid_history_": np.asarray(self.valid_history_),
            "best_epoch_": np.array(self.best_epoch_),
        }

    def load_state_dict(self, state):
        self.shift_ = np.asarray(state["shift_"], dtype=np.float64)
        self.scale_ = np.asarray(state["scale_"], dtype=np.float64)
        self.dim_ = len(self.shift_)
        self.history_ = np.asarray(state.get("history_", []))
        self.valid_history_ = np.asarray(state.get("valid_history_", []))
        self.best_epoch_ = int(state.get("best_epoch_", 0))
        check_module_shapes(self._new_net, state)  # before building it: kwargs may ask for a huge net
        self.net_ = self._new_net()
        module_from_numpy(self.net_, state)
        self.net_.to(torch_device(self.device)).eval()
