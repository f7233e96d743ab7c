"""Gaussian HMM prior over latent sequences (the paper's base distribution): one EM core, three backends.

This module is the algorithmic core, so it is longer than most: the common parameter layout, the
emission densities, the scaled forward recursion used for *all* scoring, Viterbi, sampling /
streaming, the shared M-step for diagonal sufficient statistics and the EM loop with its
safeguards. The backends (``hmm_torch``, ``hmm_hmmlearn``, ``hmm_pomegranate``) only run one
Baum-Welch iteration on given parameters; they never own the fitted state.

References: L. R. Rabiner, "A tutorial on hidden Markov models ...", Proc. IEEE 1989 (eqs. 18-24
forward, 92-93 scaling, 37-40 re-estimation, 52-53 Gaussian emissions); hmmlearn's ``BaseHMM``.
"""
from __future__ import annotations

import re
import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp

from .base import Prior, concat, make_rng, register_prior
from .checks import check_covariances, check_probabilities

LOG_2PI = np.log(2.0 * np.pi)
COVARIANCE_TYPES = ("diag", "full")
BACKENDS = ("torch", "hmmlearn", "pomegranate")
INITS = ("kmeans", "random")
#: a state whose expected occupancy falls below this many frames is dead and gets re-seeded
DEAD_OCCUPANCY = 1e-3
#: (backend, feature) -> why it is refused; checked at construction
UNSUPPORTED = {
    ("torch", "mix"): "n_mix > 1 (GMM emissions) is not supported by torch backend, use backend='hmmlearn'",
    ("pomegranate", "full"): "covariance_type='full' is not supported by pomegranate backend, use backend='hmmlearn'",
    ("pomegranate", "mix"): "n_mix > 1 is not supported by pomegranate backend, use backend='hmmlearn'",
    ("hmmlearn", "end"): "end_prob=True is not supported by hmmlearn backend (hmmlearn learns no exit "
    "probabilities), use backend='torch' or 'pomegranate'",
    ("hmmlearn", "device"): "hmmlearn backend runs on the CPU only: use device='cpu' or backend='torch'",
}


# --------------------------------------------------------------------------- emission densities
def log_gaussian(X: np.ndarray, means: np.ndarray, covars: np.ndarray, covariance_type: str) -> np.ndarray:
    """``log N(x_n | mu_k, Sigma_k)`` for ``X (N, D)``, ``means (K, D)``; returns ``(N, K)`` float64.

    Diagonal case as matrix products (Rabiner eq. 52 with diagonal U):
    ``-0.5 * (x^2 . 1/s^2 - 2 x . mu/s^2 + sum mu^2/s^2 + sum log s^2 + D log 2 pi)``.
    """
    X = np.asarray(X, dtype=np.float64)
    N, D = X.shape
    if covariance_type == "diag":
        # The expanded quadratic cancels catastrophically far from the origin (latents at 1e6):
        # centre data and means on a common reference first.
        ref = means.mean(axis=0)
        Xc, Mc = X - ref, means - ref
        prec = 1.0 / covars
        q = (Xc**2) @ prec.T - 2.0 * Xc @ (Mc * prec).T + (Mc**2 * prec).sum(1)
        return -0.5 * (D * LOG_2PI + np.log(covars).sum(1) + np.maximum(q, 0.0))
    out = np.empty((N, len(means)))
    for k, (mu, cov) in enumerate(zip(means, covars)):
        L = np.linalg.cholesky(cov)
        y = solve_triangular(L, (X - mu).T, lower=True)
        out[:, k] = -0.5 * (D * LOG_2PI + (y**2).sum(0)) - np.log(np.diag(L)).sum()
    return out


def log_emission(X: np.ndarray, params: dict, covariance_type: str) -> np.ndarray:
    """Per-state emission log-density ``(N, K)``; Gaussian-mixture states are log-sum-exp'ed over components."""
    weights = params.get("weights")
    if weights is None:
        return log_gaussian(X, params["means"], params["covars"], covariance_type)
    K, M = weights.shape
    D = X.shape[1]
    cov = params["covars"].reshape((K * M, D) if covariance_type == "diag" else (K * M, D, D))
    lg = log_gaussian(X, params["means"].reshape(K * M, D), cov, covariance_type).reshape(len(X), K, M)
    with np.errstate(divide="ignore"):
        return logsumexp(lg + np.log(weights), axis=2)


# --------------------------------------------------------------------------- inference
def forward(logB: np.ndarray, lengths, startprob, transmat, endprob=None, return_alpha: bool = False):
    """Scaled forward algorithm (Rabiner eqs. 19-20 with the scaling of eqs. 91-93), float64.

    ``logB (N, K)`` stacks the sequences' emission log-densities. Each frame's emissions are
    divided by their maximum and each alpha by its sum ``c_t``, so nothing under- or overflows:
    ``log p(z_1..T) = sum_t (log c_t + max_k log b_k(z_t)) [+ log sum_k alpha_T(k) e_k]``.
    Sequences are processed together, sorted by length so the live ones form a prefix.

    Returns ``loglik (n_seq,)`` and, if ``return_alpha``, the filtering posteriors
    ``p(s_t | z_1..t)`` as ``(N, K)``.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    order = np.argsort(-lengths, kind="stable")
    L, off = lengths[order], offsets[order]
    # L is descending, so the sequences still running at time t (length > t) are a prefix
    n_alive = len(L) - np.searchsorted(L[::-1], np.arange(L[0]), side="right")
    K = len(startprob)
    loglik = np.zeros(len(L))
    alphas = np.empty((len(logB), K)) if return_alpha else None
    alpha = np.tile(startprob, (len(L), 1))
    for t in range(L[0]):
        n = n_alive[t]
        idx = off[:n] + t
        lb = logB[idx]
        m = lb.max(1)
        m = np.where(np.isfinite(m), m, 0.0)
        a = (alpha[:n] if t == 0 else alpha[:n] @ transmat) * np.exp(lb - m[:, None])
        c = a.sum(1)
        with np.errstate(divide="ignore"):
            loglik[:n] += np.log(c) + m
        alpha[:n] = a / np.where(c > 0, c, 1.0)[:, None]
        if return_alpha:
            alphas[idx] = alpha[:n]
    if endprob is not None:
        with np.errstate(divide="ignore"):
            loglik += np.log(alpha @ endprob)
    out = np.empty_like(loglik)
    out[order] = loglik
    return (out, alphas) if return_alpha else out


def viterbi(logB: np.ndarray, startprob, transmat, endprob=None) -> np.ndarray:
    """Most likely state path of one sequence (Rabiner eqs. 32-35, log space); ``(T,)`` ints."""
    with np.errstate(divide="ignore"):
        logA, delta = np.log(transmat), np.log(startprob) + logB[0]
        logE = None if endprob is None else np.log(endprob)
    back = np.empty(logB.shape, dtype=np.int64)
    for t in range(1, len(logB)):
        scores = delta[:, None] + logA
        back[t] = scores.argmax(0)
        delta = scores[back[t], np.arange(len(delta))] + logB[t]
    path = np.empty(len(logB), dtype=np.int64)
    path[-1] = (delta if logE is None else delta + logE).argmax()
    for t in range(len(logB) - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


# --------------------------------------------------------------------------- EM pieces shared by backends
@dataclass
class DiagStats:
    """Baum-Welch sufficient statistics of a diagonal Gaussian HMM, float64 (Rabiner eqs. 37-40, 53).

    ``obs`` and ``obs2`` are taken around ``shift`` (the data mean): the variance
    ``E[(x-r)^2] - E[x-r]^2`` is then free of the cancellation that ``E[x^2] - E[x]^2`` suffers.
    Chunks of sequences are accumulated with ``+`` (pomegranate's summarize / from_summaries).
    """

    start: np.ndarray  # (K,)   sum_seq gamma_1
    trans: np.ndarray  # (K, K) sum_seq sum_t xi_t
    end: np.ndarray  # (K,)   sum_seq gamma_T
    post: np.ndarray  # (K,)   sum gamma_t
    obs: np.ndarray  # (K, D) sum gamma_t (x_t - shift)
    obs2: np.ndarray  # (K, D) sum gamma_t (x_t - shift)^2
    shift: np.ndarray  # (D,)
    loglik: float = 0.0

    def __add__(self, other: "DiagStats") -> "DiagStats":
        if not np.array_equal(self.shift, other.shift):
            raise ValueError("cannot add statistics taken around different shifts")
        f = lambda a, b: a + b  # noqa: E731
        return DiagStats(
            f(self.start, other.start), f(self.trans, other.trans), f(self.end, other.end),
            f(self.post, other.post), f(self.obs, other.obs), f(self.obs2, other.obs2),
            self.shift, self.loglik + other.loglik,
        )


def m_step_diag(stats: DiagStats, pseudo_count: float, min_covar: float, end_prob: bool) -> tuple[dict, np.ndarray]:
    """MAP re-estimation from :class:`DiagStats`: ``(params, occupancy (K,))``.

    Multinomials get a symmetric Dirichlet pseudo-count (``A_ij ∝ xi_ij + c``), which keeps every
    row stochastic even for states never visited. With ``end_prob`` the exit is one more column of
    each row: ``[A_i, e_i] ∝ [xi_i + c, gamma_T(i) + c]``. Variances are floored at ``min_covar``
    (the constrained maximiser of the per-dimension Gaussian Q-function).
    """
    post = stats.post
    safe = np.maximum(post, 1e-300)[:, None]
    mean_c = stats.obs / safe
    var = np.maximum(stats.obs2 / safe - mean_c**2, min_covar)
    params = m_step_transitions(stats.start, stats.trans, stats.end, pseudo_count, end_prob)
    return {**params, "means": mean_c + stats.shift, "covars": var}, post


def m_step_transitions(start: np.ndarray, trans: np.ndarray, end: np.ndarray, pseudo_count: float,
                       end_prob: bool) -> dict:
    """The multinomials' MAP re-estimation (Rabiner eqs. 40a-b) from expected counts: ``start (K,)``
    (sum gamma_1), ``trans (K, K)`` (sum xi_t), ``end (K,)`` (sum gamma_T); returns ``startprob``,
    ``transmat`` (and ``endprob`` with ``end_prob``), each row with pseudo-count ``pseudo_count``."""
    counts = trans + pseudo_count
    if end_prob:
        counts = np.concatenate([counts, (end + pseudo_count)[:, None]], axis=1)
    counts = _normalise_rows(counts)
    params = {"startprob": _normalise_rows((start + pseudo_count)[None])[0], "transmat": counts[:, : len(start)]}
    if end_prob:
        params["endprob"] = counts[:, -1]
    return params


def _normalise_rows(a: np.ndarray) -> np.ndarray:
    """Rows scaled to sum 1; an all-zero or non-finite row becomes uniform."""
    a = np.where(np.isfinite(a), np.maximum(a, 0.0), 0.0)
    s = a.sum(-1, keepdims=True)
    return np.where(s > 0, a / np.where(s > 0, s, 1.0), 1.0 / a.shape[-1])


class EMBackend(ABC):
    """One Baum-Welch iteration on fixed data, parameters in the common layout (a backend adapter).

    ``em_step(params)`` returns ``(new_params, loglik, occupancy)``: the log-likelihood of the data
    under the *input* parameters (E-step), the re-estimated parameters and the expected number of
    frames per state (``None`` if the backend does not expose it). The EM loop, variance floor,
    dead-state re-seeding and convergence test live in :class:`HMMPrior`.
    """

    def __init__(self, prior: "HMMPrior", seqs: list[np.ndarray]):
        self.prior = prior
        self.seqs = seqs

    @abstractmethod
    def em_step(self, params: dict) -> tuple[dict, float, np.ndarray | None]: ...

    def describe(self) -> str:
        """Short note on how the backend ran (e.g. an implementation fallback)."""
        return ""


def _make_backend(prior: "HMMPrior", seqs) -> EMBackend:
    if prior.backend == "torch" and prior.covariance_type == "full":
        from .hmm_torch_full import TorchFullBackend as cls
    elif prior.backend == "torch":
        from .hmm_torch import TorchBackend as cls
    elif prior.backend == "hmmlearn":
        from .hmm_hmmlearn import HmmlearnBackend as cls
    else:
        from .hmm_pomegranate import PomegranateBackend as cls
    return cls(prior, seqs)


# --------------------------------------------------------------------------- the prior
def check_hmm_options(n_states, covariance_type, n_iter, tol, min_covar, transmat_prior, device) -> None:
    """``ValueError`` naming the first bad constructor option an HMM-family prior shares (scikit-learn style)."""
    if not (isinstance(n_states, (int, np.integer)) and n_states >= 1):
        raise ValueError(f"n_states must be a positive integer, got {n_states!r}")
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}")
    if not (isinstance(n_iter, (int, np.integer)) and n_iter >= 0):
        raise ValueError(f"n_iter must be a non-negative integer, got {n_iter!r}")
    for name, v in (("tol", tol), ("transmat_prior", transmat_prior)):
        if not v >= 0:
            raise ValueError(f"{name} must be >= 0, got {v}")
    if not min_covar > 0:
        raise ValueError(f"min_covar must be > 0, got {min_covar}")
    if not isinstance(device, str) or not re.fullmatch(r"cpu|cuda(:\d+)?|mps", device):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")


def distinct_frames(X: np.ndarray, n_states: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct frames of ``X (N, D)`` and their counts; ``ValueError`` when fewer than ``n_states``."""
    uniq, counts = np.unique(X, axis=0, return_counts=True)
    if len(uniq) < n_states:
        raise ValueError(f"the data has only {len(uniq)} distinct frames: it cannot support n_states={n_states} "
                         f"(use n_states <= {len(uniq)} or more data)")
    return uniq, counts


def kmeans_subsample(n_distinct: int, n_states: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of the distinct frames a k-means initialisation runs on: ``max(20 K, 10,000)`` of them
    drawn without replacement (all if fewer): always >= K points, so no empty clusters, and a bounded cost
    for long recordings."""
    return np.sort(rng.choice(n_distinct, size=min(n_distinct, max(20 * n_states, 10_000)), replace=False))


class ParamsState:
    """``state_dict`` / ``load_state_dict`` of an EM-fitted prior: its ``params`` (``name -> array``, saved
    as ``name_``), set back through ``_set_params``, and the EM ``history_``."""

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {k + "_": v for k, v in self.params.items()}
        if hasattr(self, "history_"):
            state["history_"] = np.asarray(self.history_, dtype=np.float64)
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self._set_params({k[:-1]: v for k, v in state.items() if k != "history_"})
        if "history_" in state:
            self.history_ = list(np.asarray(state["history_"]))


@register_prior("hmm")
class HMMPrior(ParamsState, Prior):
    """Gaussian (mixture) HMM over latent sequences, fitted by Baum-Welch EM (Subakan et al.: K=300, diag).

    Parameters
    ----------
    n_states : number of hidden states K.
    covariance_type : "diag" or "full" (torch: float64 Cholesky E-step, :mod:`.hmm_torch_full`).
    n_mix : Gaussians per state (``> 1`` = GMM-HMM, hmmlearn backend only).
    backend : "torch" (seqgen's batched EM, CPU/CUDA), "hmmlearn" or "pomegranate". Every backend
        yields the same fitted arrays; scoring and sampling never use backend objects.
    n_iter, tol : at most ``n_iter`` EM iterations; stop when the per-frame log-likelihood gains
        less than ``tol`` nats.
    min_covar : variance floor, re-applied after every M-step.
    transmat_prior : Dirichlet pseudo-count added to start / transition (/ exit) counts.
    end_prob : learn exit probabilities ``endprob_`` so sequences can end on their own.
    init : "kmeans" (k-means centres as means) or "random" (random distinct frames).
    random_state : seed of the initialisation (same seed -> same init for every backend).
    device : torch device of the torch / pomegranate backends.

    Fitted: ``startprob_ (K,)``, ``transmat_ (K, K)``, ``means_ (K, D)`` or ``(K, M, D)``,
    ``covars_`` ``(K, D)`` / ``(K, D, D)`` (one more ``M`` axis with mixtures), ``weights_ (K, M)``
    with mixtures, ``endprob_ (K,)`` with ``end_prob``; ``history_`` (per-frame log-likelihood
    before each M-step), ``iter_seconds_``, ``n_reseeded_``.
    """

    def __init__(
        self,
        n_states: int = 300,
        covariance_type: str = "diag",
        n_mix: int = 1,
        backend: str = "torch",
        n_iter: int = 20,
        tol: float = 1e-4,
        min_covar: float = 1e-3,
        transmat_prior: float = 1e-2,
        end_prob: bool = False,
        init: str = "kmeans",
        random_state: int | None = 0,
        device: str = "cpu",
    ):
        check_hmm_options(n_states, covariance_type, n_iter, tol, min_covar, transmat_prior, device)
        if not (isinstance(n_mix, (int, np.integer)) and n_mix >= 1):
            raise ValueError(f"n_mix must be a positive integer, got {n_mix!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        features = {"full": covariance_type == "full", "mix": n_mix > 1, "end": bool(end_prob),
                    "device": device != "cpu"}
        for feature, on in features.items():
            if on and (backend, feature) in UNSUPPORTED:
                raise ValueError(UNSUPPORTED[backend, feature])
        self.n_states = int(n_states)
        self.covariance_type = covariance_type
        self.n_mix = int(n_mix)
        self.backend = backend
        self.n_iter = int(n_iter)
        self.tol = float(tol)
        self.min_covar = float(min_covar)
        self.transmat_prior = float(transmat_prior)
        self.end_prob = bool(end_prob)
        self.init = init
        self.random_state = random_state
        self.device = device

    # ----------------------------------------------------------------- fitting
    def _fit(self, seqs, progress):
        from tqdm.auto import tqdm

        X, lengths = concat(seqs)
        params = self.initial_params(X)
        backend = _make_backend(self, seqs)
        self.history_, self.iter_seconds_, self.n_reseeded_ = [], [], 0
        reseeded = False
        with tqdm(total=self.n_iter, desc=f"HMM EM ({self.backend})", unit="it", disable=not progress) as bar:
            for _ in range(self.n_iter):
                t0 = time.perf_counter()
                new, loglik, occupancy = backend.em_step(params)
                self.iter_seconds_.append(time.perf_counter() - t0)
                if not np.isfinite(loglik):
                    raise FloatingPointError(f"EM produced a non-finite log-likelihood ({loglik}) with {self.backend}")
                self.history_.append(loglik / len(X))
                bar.update()
                bar.set_postfix(loglik=f"{self.history_[-1]:.4f}")
                # EM is monotone only between iterations without re-seeding
                gain = self.history_[-1] - self.history_[-2] if len(self.history_) > 1 else np.inf
                converged = not reseeded and gain < self.tol
                before = self.n_reseeded_
                params = self._regularise(new, occupancy, X)
                reseeded = self.n_reseeded_ > before
                if converged:
                    break
        self.backend_note_ = backend.describe()
        self._set_params(params)

    def initial_params(self, X: np.ndarray) -> dict:
        """Initial parameters from frames ``X (N, D)``: k-means (or random distinct frames) means,
        the global (co)variance for every state, uniform start / transition (/ exit) probabilities."""
        K, M, D = self.n_states, self.n_mix, X.shape[1]
        uniq, counts = distinct_frames(X, K)
        rng = np.random.default_rng(self.random_state)
        if self.init == "kmeans":
            from sklearn.cluster import KMeans

            take = kmeans_subsample(len(uniq), K, rng)  # weighted by multiplicity
            km = KMeans(n_clusters=K, n_init=1, max_iter=100, random_state=self.random_state)
            km.fit(uniq[take], sample_weight=counts[take])
            centres = km.cluster_centers_
        else:
            centres = uniq[rng.choice(len(uniq), size=K, replace=False)]
        mean = X.mean(0)
        var = np.maximum(((X - mean) ** 2).mean(0), self.min_covar)
        if self.covariance_type == "diag":
            cov = np.tile(var, (K, 1))
        else:
            full = np.cov(X, rowvar=False, bias=True).reshape(D, D) + self.min_covar * np.eye(D)
            cov = np.tile(full, (K, 1, 1))
        params = {"startprob": np.full(K, 1.0 / K), "transmat": np.full((K, K), 1.0 / K)}
        if self.end_prob:
            # exit is one more outcome of each row, initially as likely as any single state
            params["transmat"] = np.full((K, K), 1.0 / (K + 1))
            params["endprob"] = np.full(K, 1.0 / (K + 1))
        if M == 1:
            params["means"], params["covars"] = centres, cov
        else:
            jitter = 0.1 * np.sqrt(var) * rng.standard_normal((K, M, D))
            params["means"] = centres[:, None, :] + jitter
            params["covars"] = np.repeat(cov[:, None], M, axis=1)
            params["weights"] = np.full((K, M), 1.0 / M)
        return params

    def _regularise(self, params: dict, occupancy, X: np.ndarray) -> dict:
        """Make an M-step's output safe: variance floor, stochastic rows, dead states re-seeded.

        hmmlearn applies ``min_covar`` only at init and pomegranate never; states never visited
        leave 0/0 means and all-zero transition rows ("rows of transmat_ must sum to 1").
        """
        p = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
        K = self.n_states
        lead = p["means"].shape[:-1]  # (K,) or (K, M)
        bad = ~np.isfinite(p["means"]).all(-1)
        bad |= ~np.isfinite(p["covars"].reshape(*lead, -1)).all(-1)
        dead = bad if bad.ndim == 1 else bad.all(1)
        if occupancy is not None:
            dead |= np.asarray(occupancy) < DEAD_OCCUPANCY
        p["covars"] = self._floor_covars(np.where(np.isfinite(p["covars"]), p["covars"], self.min_covar))
        if bad.ndim == 2:  # a dead mixture component in a live state: unused, just keep it finite
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all components dead: re-seeded below
                state_mean = np.nanmean(np.where(bad[..., None], np.nan, p["means"]), axis=1)
            p["means"] = np.where(bad[..., None], np.nan_to_num(state_mean)[:, None], p["means"])
            p["weights"] = _normalise_rows(np.where(bad, 0.0, p["weights"]))
        if self.end_prob:
            rows = _normalise_rows(np.concatenate([p["transmat"], p["endprob"][:, None]], axis=1))
            p["transmat"], p["endprob"] = rows[:, :K], rows[:, K]
        else:
            p["transmat"] = _normalise_rows(p["transmat"])
        p["startprob"] = _normalise_rows(p["startprob"][None])[0]
        if dead.any():
            p = self._reseed(p, np.flatnonzero(dead), X)
        return p

    def _floor_covars(self, cov: np.ndarray) -> np.ndarray:
        if self.covariance_type == "diag":
            return np.maximum(cov, self.min_covar)
        # eigenvalue floor = the nearest (Frobenius) covariance whose spectrum is >= min_covar
        w, V = np.linalg.eigh(0.5 * (cov + np.swapaxes(cov, -1, -2)))
        return (V * np.maximum(w, self.min_covar)[..., None, :]) @ np.swapaxes(V, -1, -2)

    def _reseed(self, p: dict, dead: np.ndarray, X: np.ndarray) -> dict:
        """Move dead states onto the frames the live states explain worst (largest emission deficit)."""
        K = self.n_states
        self.n_reseeded_ = getattr(self, "n_reseeded_", 0) + len(dead)
        live = np.setdiff1d(np.arange(K), dead)
        if len(live):
            sub = {k: v[live] for k, v in p.items() if k in ("means", "covars", "weights")}
            fit = log_emission(X, sub, self.covariance_type).max(1)
        else:
            fit = np.zeros(len(X))
        order = np.argsort(fit, kind="stable")
        _, first = np.unique(X[order], axis=0, return_index=True)  # distinct frames only
        worst = order[np.sort(first)][: len(dead)]
        mean = X.mean(0)
        var = np.maximum(((X - mean) ** 2).mean(0), self.min_covar)
        cov = var if self.covariance_type == "diag" else np.diag(var)
        for k, n in zip(dead, worst):
            if p["means"].ndim == 3:
                p["means"][k] = X[n]
                p["covars"][k] = cov
                p["weights"][k] = 1.0 / self.n_mix
            else:
                p["means"][k], p["covars"][k] = X[n], cov
        # make the re-seeded states reachable and give them an ordinary out-going row
        p["transmat"][:, dead] = np.maximum(p["transmat"][:, dead], 1.0 / K)
        p["transmat"][dead] = 1.0 / K
        if self.end_prob:
            p["endprob"][dead] = np.median(p["endprob"])
            rows = _normalise_rows(np.concatenate([p["transmat"], p["endprob"][:, None]], axis=1))
            p["transmat"], p["endprob"] = rows[:, :K], rows[:, K]
        else:
            p["transmat"] = _normalise_rows(p["transmat"])
        return p

    # ----------------------------------------------------------------- parameters
    @property
    def params(self) -> dict:
        """Fitted arrays in the common layout (``startprob``, ``transmat``, ``means``, ``covars``, ...)."""
        self._check_fitted()
        keys = ["startprob", "transmat", "means", "covars"]
        keys += ["weights"] * (self.n_mix > 1) + ["endprob"] * self.end_prob
        return {k: getattr(self, k + "_") for k in keys}

    def _set_params(self, params: dict) -> None:
        K, M = self.n_states, self.n_mix
        D = np.asarray(params["means"]).shape[-1]
        shapes = {"startprob": (K,), "transmat": (K, K), "means": (K, D) if M == 1 else (K, M, D)}
        cov = (D,) if self.covariance_type == "diag" else (D, D)
        shapes["covars"] = ((K,) if M == 1 else (K, M)) + cov
        if M > 1:
            shapes["weights"] = (K, M)
        if self.end_prob:
            shapes["endprob"] = (K,)
        for name, shape in shapes.items():
            if name not in params:
                raise ValueError(f"HMM parameters lack {name!r}")
            arr = np.asarray(params[name], dtype=np.float64)
            if arr.shape != shape:
                raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} contains NaN or Inf")
            setattr(self, name + "_", arr.copy())
        self.dim_ = D
        self._cache = {}

    def check_state(self):
        super().check_state()  # shapes and finiteness: _set_params
        check_probabilities("startprob_", self.startprob_)
        # with end_prob, "end" is one more outgoing transition: [transmat | endprob] rows sum to 1
        out = np.concatenate([self.transmat_, self.endprob_[:, None]], 1) if self.end_prob else self.transmat_
        check_probabilities("transmat_" + " | endprob_" * self.end_prob, out)
        if self.n_mix > 1:
            check_probabilities("weights_", self.weights_)
        check_covariances("covars_", self.covars_, self.covariance_type == "full")

    # ----------------------------------------------------------------- scoring
    def _log_prob_sequences(self, seqs):
        X, lengths = concat(seqs)
        logB = log_emission(X, self.params, self.covariance_type)
        return forward(logB, lengths, self.startprob_, self.transmat_, self.params.get("endprob"))

    def forward_filter(self, z: np.ndarray) -> np.ndarray:
        """Filtering posteriors ``p(s_t | z_1..t)`` of one sequence ``z (T, D)``; returns ``(T, K)``."""
        self._check_fitted()
        z = self._check_dim([np.asarray(z, dtype=np.float64)])[0]
        logB = log_emission(z, self.params, self.covariance_type)
        return forward(logB, [len(z)], self.startprob_, self.transmat_, return_alpha=True)[1]

    def predict(self, z: np.ndarray) -> np.ndarray:
        """Viterbi state path of one sequence ``z (T, D)``; returns ``(T,)`` state indices."""
        self._check_fitted()
        z = self._check_dim([np.asarray(z, dtype=np.float64)])[0]
        logB = log_emission(z, self.params, self.covariance_type)
        return viterbi(logB, self.startprob_, self.transmat_, self.params.get("endprob"))

    # ----------------------------------------------------------------- sampling
    def _emission_tools(self):
        """Cached per-state noise factors: std devs (diag) or Cholesky factors (full)."""
        if "noise" not in self._cache:
            cov = self.covars_
            self._cache["noise"] = np.sqrt(cov) if self.covariance_type == "diag" else np.linalg.cholesky(cov)
            # Sampling a fixed length or an endless stream cannot exit: condition each row on
            # staying, i.e. renormalise A without the exit column.
            self._cache["cumA"] = np.cumsum(_normalise_rows(self.transmat_), axis=1)
        return self._cache["noise"], self._cache["cumA"]

    @staticmethod
    def _streams(rng: np.random.Generator) -> list[np.random.Generator]:
        # Separate generators for states / components / noise: numpy fills `random(n)` and
        # `standard_normal((n, D))` value by value, so drawing a stream in blocks of any size
        # consumes each generator identically -> block-size invariant samples.
        return rng.spawn(3)

    def _draw(self, streams, n: int, p0: np.ndarray | None, s_prev: int | None, temperature: float):
        """``n`` frames of the chain (from ``p0`` or after state ``s_prev``) and their emissions."""
        noise, cumA = self._emission_tools()
        rs, rc, rn = streams
        u = rs.random(n)
        states = np.empty(n, dtype=np.int64)
        s = s_prev
        K = self.n_states
        for t in range(n):
            cdf = np.cumsum(p0) if (t == 0 and s is None) else cumA[s]
            s = min(int(np.searchsorted(cdf, u[t] * cdf[-1], side="right")), K - 1)
            states[t] = s
        comp_u = rc.random(n)
        eps = rn.standard_normal((n, self.dim_))
        means, scale = self.means_[states], noise[states]
        if self.n_mix > 1:
            cw = np.cumsum(self.weights_[states], axis=1)
            comp = np.minimum((cw < (comp_u * cw[:, -1])[:, None]).sum(1), self.n_mix - 1)
            means, scale = means[np.arange(n), comp], scale[np.arange(n), comp]
        if self.covariance_type == "diag":
            x = means + temperature * scale * eps
        else:
            x = means + temperature * np.einsum("nij,nj->ni", scale, eps)
        return x, states

    def _sample(self, lengths, rng, temperature):
        streams = self._streams(rng)
        return [self._draw(streams, T, self.startprob_, None, temperature)[0] for T in lengths]

    def sample_stream(self, seed=None, temperature: float = 1.0, block_frames: int = 64, context=None):
        """Endless stream of ``(block_frames, D)`` blocks; the concatenation does not depend on
        ``block_frames``. With ``context (T, D)`` the first state is drawn from the filtered
        posterior at the context's end pushed one step through the transitions,
        ``p(s_{T+1} | z_1..T) = p(s_T | z_1..T) A``."""
        self._check_fitted()
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if block_frames < 1:
            raise ValueError(f"block_frames must be >= 1, got {block_frames}")
        if context is None or len(context) == 0:
            p0 = self.startprob_
        else:
            p0 = self.forward_filter(context)[-1] @ _normalise_rows(self.transmat_)
        streams = self._streams(make_rng(seed))
        s = None
        while True:
            x, states = self._draw(streams, block_frames, p0, s, float(temperature))
            s = int(states[-1])
            yield x

    def sample_until_end(self, n_sequences: int, max_frames: int, seed=None, temperature: float = 1.0) -> list[np.ndarray]:
        """Draw ``n_sequences`` sequences that stop when the chain exits (``endprob_``), each
        truncated at ``max_frames``; returns a list of ``(T_i, D)`` arrays."""
        self._check_fitted()
        if not self.end_prob:
            raise ValueError("sample_until_end needs a model fitted with end_prob=True")
        if temperature < 0 or n_sequences < 0 or max_frames < 1:
            raise ValueError("need temperature >= 0, n_sequences >= 0, max_frames >= 1")
        rng = make_rng(seed)
        K = self.n_states
        cum = np.cumsum(np.concatenate([self.transmat_, self.endprob_[:, None]], axis=1), axis=1)
        cum0 = np.cumsum(self.startprob_)
        noise, _ = self._emission_tools()
        out = []
        for _ in range(n_sequences):
            states = []
            s = min(int(np.searchsorted(cum0, rng.random() * cum0[-1], side="right")), K - 1)
            while len(states) < max_frames:
                states.append(s)
                s = min(int(np.searchsorted(cum[s], rng.random() * cum[s, -1], side="right")), K)
                if s == K:  # the exit column
                    break
            states = np.asarray(states)
            out.append(self._emit(states, rng, temperature, noise))
        return out

    def _emit(self, states, rng, temperature, noise):
        n = len(states)
        means, scale = self.means_[states], noise[states]
        if self.n_mix > 1:
            comp = np.array([rng.choice(self.n_mix, p=self.weights_[s]) for s in states])
            means, scale = means[np.arange(n), comp], scale[np.arange(n), comp]
        eps = rng.standard_normal((n, self.dim_))
        if self.covariance_type == "diag":
            return means + temperature * scale * eps
        return means + temperature * np.einsum("nij,nj->ni", scale, eps)
