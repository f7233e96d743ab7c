"""The one ``Prior`` interface shared by audio (latent sequences) and images (sequences of length 1).

Conventions (scikit-learn / hmmlearn): the constructor only stores hyper-parameters and checks
them (``ValueError``); ``fit`` sets fitted attributes ending in ``_``. Several sequences are given
either as a list of ``(T_i, D)`` arrays or as one concatenated ``(sum T_i, D)`` array plus
``lengths``. A frame-free datum (one image latent) is a sequence of length 1.

Subclasses implement ``_fit``, ``_log_prob_frames`` (or ``_log_prob_sequences``), ``_sample`` and
``state_dict`` / ``load_state_dict``; ``get_config`` returns the constructor kwargs by default.
"""
from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Sequence

import numpy as np

from ..artefacts import ArtefactError, load_arrays, save_arrays
from ..registry import PRIORS

Sequences = list  # list[np.ndarray (T_i, D)]

#: largest latent dimension a saved prior may claim
MAX_DIM = 4096
#: largest magnitude of a saved prior parameter (standardised latent space)
MAX_ABS = 1e6
#: frames scored at a time: per-frame work such as an HMM's (frames, states) emission matrix stays bounded
#: (10 h of latents at K = 300 would be 1.6 GB per such matrix, and the scorer makes several)
SCORE_FRAMES = 1 << 16


def as_sequences(Z, lengths: Sequence[int] | None = None) -> list[np.ndarray]:
    """Normalise ``Z`` (array ``(N, D)`` [+ lengths] or list of ``(T_i, D)``) to a list of float64 arrays."""
    if isinstance(Z, (list, tuple)):
        if lengths is not None:
            raise ValueError("give either a list of sequences or an array with lengths, not both")
        seqs = [np.asarray(z, dtype=np.float64) for z in Z]
    else:
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2:
            raise ValueError(f"expected latents of shape (n_frames, dim), got {Z.shape}")
        if lengths is None:
            seqs = [Z]
        else:
            lengths = np.asarray(lengths, dtype=np.int64)
            if lengths.sum() != len(Z) or (lengths <= 0).any():
                raise ValueError(f"lengths (sum {lengths.sum()}) do not partition {len(Z)} frames")
            seqs = np.split(Z, np.cumsum(lengths)[:-1])
    if not seqs:
        raise ValueError("no sequences given")
    dims = {s.shape[1] if s.ndim == 2 else None for s in seqs}
    if len(dims) != 1 or None in dims:
        raise ValueError(f"all sequences must be 2-D with one latent dimension, got dims {dims}")
    for s in seqs:
        if len(s) == 0:
            raise ValueError("empty sequence")
        if not np.isfinite(s).all():
            raise ValueError("latents contain NaN or Inf")
    return seqs


def concat(seqs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """List of sequences -> ``(X (N, D), lengths (n_seq,))`` (hmmlearn's layout)."""
    return np.concatenate(seqs), np.array([len(s) for s in seqs], dtype=np.int64)


def groups(seqs: list[np.ndarray], max_frames: int):
    """Consecutive runs of ``seqs`` holding at most ``max_frames`` frames in all (a longer sequence alone)."""
    part, n = [], 0
    for s in seqs:
        if part and n + len(s) > max_frames:
            yield part
            part, n = [], 0
        part.append(s)
        n += len(s)
    if part:
        yield part


def make_rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


class Prior(ABC):
    """A density over latent sequences: ``fit`` / ``log_prob`` / ``score`` / ``sample`` / ``save`` / ``load``."""

    #: registry name, set by ``@register_prior``
    name: str = ""
    #: True if frames are modelled independently (order carries no information)
    iid_frames: bool = False

    # ----------------------------------------------------------------- public API
    def fit(self, Z, lengths=None, *, progress: bool = False) -> "Prior":
        """Fit to sequences; returns ``self``."""
        seqs = as_sequences(Z, lengths)
        self.dim_ = seqs[0].shape[1]
        self._fit(seqs, progress=progress)
        return self

    def log_prob(self, Z, lengths=None) -> np.ndarray:
        """Log-likelihood of each sequence, ``(n_seq,)``."""
        self._check_fitted()
        seqs = self._check_dim(as_sequences(Z, lengths))
        return np.concatenate([np.asarray(self._log_prob_sequences(part), dtype=np.float64)
                               for part in groups(seqs, SCORE_FRAMES)])

    def score(self, Z, lengths=None) -> float:
        """Mean log-likelihood per frame over all sequences (nats / frame)."""
        seqs = as_sequences(Z, lengths)
        return float(self.log_prob(seqs).sum() / sum(len(s) for s in seqs))

    def sample(self, lengths: Sequence[int], seed=None, temperature: float = 1.0) -> list[np.ndarray]:
        """Draw one sequence per entry of ``lengths``; returns a list of ``(T_i, D)`` arrays.

        ``temperature`` scales the emission noise (0 = means / modes only, 1 = the fitted model).
        """
        self._check_fitted()
        if not (np.isfinite(temperature) and temperature >= 0):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
        lengths = [int(t) for t in lengths]
        if any(t <= 0 for t in lengths):
            raise ValueError(f"sequence lengths must be positive, got {lengths}")
        return self._sample(lengths, make_rng(seed), float(temperature))

    def sample_stream(self, seed=None, temperature: float = 1.0, block_frames: int = 64, context=None):
        """Yield an endless stream of ``(block_frames, D)`` latent blocks (one long sequence).

        Concatenating the blocks gives the same sequence whatever ``block_frames`` is, so
        streaming and one-shot generation agree for a seed. ``context (T, D)`` (e.g. a prompt's
        latents) conditions the continuation; priors with memory (HMM, AR) override this, i.i.d.
        priors ignore the context.
        """
        self._check_fitted()
        rng = make_rng(seed)
        while True:
            yield np.concatenate(self._sample([1] * block_frames, rng, float(temperature)))

    # ----------------------------------------------------------------- persistence
    def get_config(self) -> dict:
        """Constructor kwargs (scikit-learn's ``get_params``)."""
        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k in sig.parameters if k != "self" and hasattr(self, k)}

    @abstractmethod
    def state_dict(self) -> dict[str, np.ndarray]:
        """Fitted state as plain arrays."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Inverse of :meth:`state_dict`."""

    def save(self, path) -> None:
        """Write ``<path>.json`` + ``<path>.npz`` (no pickle)."""
        self._check_fitted()
        cfg = {"type": self.name or f"{type(self).__module__}:{type(self).__qualname__}", **self.get_config()}
        save_arrays(path, "prior", cfg, {"dim_": np.array(self.dim_), **self.state_dict()})

    @classmethod
    def load(cls, path) -> "Prior":
        """Rebuild a prior saved by :meth:`save`: the class is a registered one (a subclass of ``cls``),
        its kwargs are checked against its signature and its arrays by :meth:`check_state`."""
        from ..components import checked_kwargs, construct, resolve_component

        path = Path(path)
        where = path.with_suffix(".json")
        _, cfg, state = load_arrays(path, kind="prior")
        if not isinstance(cfg, dict):
            raise ArtefactError(f"{where}: config must be an object")
        cfg = {k: v for k, v in cfg.items() if not k.startswith("_")}  # "_..." = bookkeeping, not kwargs
        prior_cls = resolve_component(PRIORS, cfg.pop("type", None), where, cls)
        prior = construct(prior_cls, checked_kwargs(prior_cls, cfg, where, "prior"), where)
        try:
            dim = state.pop("dim_")
            if dim.shape != () or dim.dtype.kind not in "iu" or not 1 <= int(dim) <= MAX_DIM:
                raise ValueError(f"dim_ must be an integer in [1, {MAX_DIM}], got {dim!r}")
            prior.dim_ = int(dim)
            prior.load_state_dict(state)
            if prior.dim_ != int(dim):
                raise ValueError(f"dim_ says {int(dim)}, the arrays are {prior.dim_}-dimensional")
            prior.check_state()
        except (KeyError, ValueError, TypeError, IndexError, np.linalg.LinAlgError, RuntimeError) as e:
            what = f"missing array {e}" if isinstance(e, KeyError) else str(e)
            raise ArtefactError(f"{path.with_suffix('.npz')}: invalid {prior_cls.__name__} state: {what}") from None
        return prior

    def check_state(self) -> None:
        """Raise ``ValueError`` unless the loaded state is usable: by default every fitted array attribute
        (``*_``) is finite and below ``MAX_ABS`` in magnitude (priors live in standardised latent space,
        where 1e300 is no parameter but a way to make every sample Inf). Subclasses add shape and range checks."""
        for k, v in vars(self).items():
            if k.endswith("_") and isinstance(v, np.ndarray) and v.dtype.kind in "fc":
                if not np.isfinite(v).all():
                    raise ValueError(f"{k} holds NaN or Inf")
                if v.size and np.abs(v).max() > MAX_ABS:
                    raise ValueError(f"{k} holds values beyond {MAX_ABS:g} in magnitude")

    # ----------------------------------------------------------------- hooks
    @abstractmethod
    def _fit(self, seqs: list[np.ndarray], progress: bool) -> None: ...

    def _log_prob_sequences(self, seqs: list[np.ndarray]) -> np.ndarray:
        if self.iid_frames and len(seqs) > 1:  # one call for all frames (many images = many length-1 sequences)
            X, lengths = concat(seqs)
            return np.add.reduceat(self._log_prob_frames(X), np.concatenate([[0], np.cumsum(lengths)[:-1]]))
        return np.array([self._log_prob_frames(s).sum() for s in seqs])

    def _log_prob_frames(self, x: np.ndarray) -> np.ndarray:
        """Per-frame log-density ``(T,)``; i.i.d. priors implement this."""
        raise NotImplementedError

    @abstractmethod
    def _sample(self, lengths: list[int], rng: np.random.Generator, temperature: float) -> list[np.ndarray]: ...

    # ----------------------------------------------------------------- checks
    def _check_fitted(self) -> None:
        if not hasattr(self, "dim_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit() first")

    def _check_dim(self, seqs: list[np.ndarray]) -> list[np.ndarray]:
        if seqs[0].shape[1] != self.dim_:
            raise ValueError(f"prior was fitted on {self.dim_}-dim latents, got {seqs[0].shape[1]}")
        return seqs


def register_prior(name: str):
    """Class decorator: register a :class:`Prior` subclass under ``name``."""

    def deco(cls):
        cls.name = name
        return PRIORS.register(name)(cls)

    return deco
