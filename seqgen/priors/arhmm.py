"""Autoregressive HMM prior (switching linear dynamics): ``z_t | s_t = k, z_{t-1} ~ N(A_k z_{t-1} + b_k, Sigma_k)``.

A Gaussian HMM draws every frame of a state independently around the state's mean, so sampled
latents flutter at the frame rate. The AR-HMM (Poritz, "Linear predictive hidden Markov models and
the speech signal", ICASSP 1982; Juang & Rabiner 1985; Murphy, *Machine Learning: A Probabilistic
Perspective* §18.6 "switching linear dynamical systems" with observed state) makes each state a
linear predictor of the next frame from the previous one, so consecutive frames move smoothly.

Everything but the emission density is the Gaussian HMM's: the torch forward-backward recursion
of :func:`seqgen.priors.hmm_torch.forward_backward` for EM, the numpy scaled forward of
:func:`seqgen.priors.hmm.forward` for scoring and filtering, and the multinomials' M-step
:func:`seqgen.priors.hmm.m_step_transitions`. The emission of frame ``t`` under state ``k`` is the
Gaussian log-density of the residual ``z_t - A_k z_{t-1} - b_k``; the frame before each sequence is
``z_0 = 0`` (the standardised latents' mean). The M-step is weighted ridge regression per state
with the matrix-normal prior ``A_k ~ MN(0, Sigma_k, I / ridge)`` (conjugate, so EM stays monotone in
the penalised likelihood): with ``x_t = [z_{t-1}; 1]`` and ``R = diag(1, ..., 1, 0)`` (no penalty
on ``b_k``),

    [A_k b_k] = S_zx (S_xx + ridge R)^{-1},
    Sigma_k   = (S_zz - W S_xz - S_zx W^T + W S_xx W^T + ridge W R W^T) / n_k,

``S_ab = sum_t gamma_tk a_t b_t^T`` and ``n_k = sum_t gamma_tk`` (diagonal ``Sigma_k``: its diagonal).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from .base import Prior, concat, make_rng, register_prior
from .checks import check_covariances, check_probabilities, check_shape
from .hmm import (ParamsState, _normalise_rows, check_hmm_options, distinct_frames, forward, kmeans_subsample,
                  m_step_transitions)
from .hmm_torch import RECURSION_DTYPE, _flush_denormals, _pack, forward_backward

#: frames per block of the emission / statistics products: bounds the ``(frames, K, D)`` temporaries
BLOCK_ELEMENTS = 1 << 21
#: a state with fewer expected frames keeps its previous regression (there is nothing to re-estimate)
DEAD_OCCUPANCY = 1e-3


def _factors(covars: np.ndarray) -> np.ndarray:
    """Cholesky factors ``(K, D, D)`` of diagonal ``(K, D)`` or full ``(K, D, D)`` covariances."""
    if covars.ndim == 2:
        return np.sqrt(covars)[:, :, None] * np.eye(covars.shape[1])
    return np.linalg.cholesky(covars)


def log_emission_ar(Z: torch.Tensor, Zprev: torch.Tensor, coefs, intercepts, covars) -> torch.Tensor:
    """``log N(z_t | A_k z_{t-1} + b_k, Sigma_k)`` as ``(N, K)`` float64 for frames ``Z (N, D)`` and
    their predecessors ``Zprev (N, D)``; ``coefs (K, D, D)``, ``intercepts (K, D)``, ``covars``
    ``(K, D)`` or ``(K, D, D)`` (numpy). Whitened residuals ``L_k^{-1} (z - A_k z' - b_k) =
    P_k z - Q_k z' - c_k`` with ``P = L^{-1}``, ``Q = L^{-1} A``, ``c = L^{-1} b``: one matrix product."""
    K, D = intercepts.shape
    L = _factors(np.asarray(covars, dtype=np.float64))
    P = np.linalg.inv(L)
    W = np.concatenate([P, -P @ coefs], axis=2).reshape(K * D, 2 * D)  # (K*D, 2D)
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64, device=Z.device)  # noqa: E731
    W, c = t(W.T), t((P @ intercepts[..., None])[..., 0].reshape(-1))
    const = t(2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(1) + D * math.log(2 * math.pi))
    out = torch.empty(len(Z), K, dtype=torch.float64, device=Z.device)
    step = max(1, BLOCK_ELEMENTS // (K * D))
    for i in range(0, len(Z), step):
        Y = torch.cat([Z[i : i + step], Zprev[i : i + step]], 1).to(torch.float64)
        r = (Y @ W - c).reshape(len(Y), K, D)
        out[i : i + step] = -0.5 * ((r * r).sum(-1) + const)
    return out


def _lagged(Xc: torch.Tensor) -> torch.Tensor:
    """Predecessors of a padded time-major batch ``(T, B, D)``: ``[0, z_1, ..., z_{T-1}]``."""
    return torch.cat([torch.zeros_like(Xc[:1]), Xc[:-1]], 0)


def regression_stats(Z: torch.Tensor, Zprev: torch.Tensor, g: torch.Tensor, full: bool) -> dict:
    """Weighted moments for the M-step (float64 numpy): ``n (K,)``, ``Sxx (K, D+1, D+1)``,
    ``Sxz (K, D+1, D)`` with ``x = [z_{t-1}; 1]``, and ``Szz`` ``(K, D, D)`` (``full``) or ``(K, D)``."""
    N, D = Z.shape
    K = g.shape[1]
    Sxy = torch.zeros(K, D + 1, 2 * D + 1, dtype=torch.float64, device=Z.device)
    Szz = torch.zeros((K, D, D) if full else (K, D), dtype=torch.float64, device=Z.device)
    step = max(1, BLOCK_ELEMENTS // (K * (D + 1)))
    for i in range(0, N, step):
        z, gk = Z[i : i + step], g[i : i + step].to(torch.float64)
        x = torch.cat([Zprev[i : i + step], torch.ones_like(z[:, :1])], 1)
        gx = gk.T[:, :, None] * x[None]  # (K, n, D+1)
        Sxy += gx.transpose(1, 2) @ torch.cat([x, z], 1)
        Szz += (gk.T[:, :, None] * z[None]).transpose(1, 2) @ z if full else gk.T @ (z * z)
    np64 = lambda a: a.cpu().numpy()  # noqa: E731
    return {"n": np64(g.to(torch.float64).sum(0)), "Sxx": np64(Sxy[:, :, : D + 1]), "Sxz": np64(Sxy[:, :, D + 1 :]),
            "Szz": np64(Szz)}


def m_step_regression(st: dict, ridge: float, min_covar: float, full: bool, old: dict) -> dict:
    """Per-state ridge regression and residual covariance (module docstring); states with
    ``n_k < DEAD_OCCUPANCY`` keep ``old``'s ``coefs`` / ``intercepts`` / ``covars``."""
    K, D1, D = st["Sxz"].shape
    R = np.diag(np.r_[np.ones(D), 0.0])
    W = np.linalg.solve(st["Sxx"] + ridge * R, st["Sxz"]).transpose(0, 2, 1)  # (K, D, D+1) = [A b]
    WSxz = W @ st["Sxz"]  # (K, D, D)
    scatter = (st["Szz"] if full else 0.0) - WSxz - WSxz.transpose(0, 2, 1) + W @ st["Sxx"] @ W.transpose(0, 2, 1)
    scatter = scatter + ridge * (W * np.diagonal(R)) @ W.transpose(0, 2, 1)
    n = np.maximum(st["n"], 1e-300)
    if full:
        cov = 0.5 * (scatter + scatter.transpose(0, 2, 1)) / n[:, None, None]
        w, V = np.linalg.eigh(cov)
        cov = (V * np.maximum(w, min_covar)[:, None, :]) @ V.transpose(0, 2, 1)
    else:
        cov = np.maximum((st["Szz"] + np.diagonal(scatter, axis1=1, axis2=2)) / n[:, None], min_covar)
    new = {"coefs": W[:, :, :D], "intercepts": W[:, :, D], "covars": cov}
    dead = st["n"] < DEAD_OCCUPANCY
    return {k: np.where(dead.reshape((-1,) + (1,) * (v.ndim - 1)), old[k], v) for k, v in new.items()}


@register_prior("arhmm")
class ARHMMPrior(ParamsState, Prior):
    """Autoregressive Gaussian HMM (module docstring), fitted by Baum-Welch EM in torch.

    Parameters
    ----------
    n_states : number of hidden states K.
    covariance_type : "diag" or "full" residual covariances ``Sigma_k``.
    n_iter, tol : at most ``n_iter`` EM iterations; stop when the per-frame log-likelihood gains less than ``tol``.
    ridge : ridge penalty on ``A_k`` (the M-step's ``ridge R``); > 0 keeps rarely visited states' regressions defined.
    min_covar : floor on the residual variances (eigenvalues with ``full``).
    transmat_prior : Dirichlet pseudo-count of start / transition counts.
    random_state : seed of the k-means initialisation (k-means on frames, one hard M-step per cluster).
    device : torch device of the E-step.

    Fitted: ``startprob_ (K,)``, ``transmat_ (K, K)``, ``coefs_ (K, D, D)`` (``A_k``), ``intercepts_ (K, D)``
    (``b_k``), ``covars_`` ``(K, D)`` / ``(K, D, D)``, ``history_`` (per-frame log-likelihood before each M-step).
    """

    def __init__(self, n_states: int = 20, covariance_type: str = "diag", n_iter: int = 20, tol: float = 1e-4,
                 ridge: float = 1.0, min_covar: float = 1e-3, transmat_prior: float = 1e-2,
                 random_state: int | None = 0, device: str = "cpu"):
        check_hmm_options(n_states, covariance_type, n_iter, tol, min_covar, transmat_prior, device)
        if not ridge >= 0:
            raise ValueError(f"ridge must be >= 0, got {ridge}")
        self.n_states = int(n_states)
        self.covariance_type = covariance_type
        self.n_iter = int(n_iter)
        self.tol = float(tol)
        self.ridge = float(ridge)
        self.min_covar = float(min_covar)
        self.transmat_prior = float(transmat_prior)
        self.random_state = random_state
        self.device = device

    # ----------------------------------------------------------------- fitting
    def _fit(self, seqs, progress):
        from tqdm.auto import tqdm

        full = self.covariance_type == "full"
        dev = torch.device(self.device)
        chunks = _pack(seqs, np.zeros(self.dim_), dev)
        params = self._initial_params(seqs)
        n_frames = sum(len(s) for s in seqs)
        self.history_, self.iter_seconds_ = [], []
        with tqdm(total=self.n_iter, desc="AR-HMM EM", unit="it", disable=not progress) as bar:
            for _ in range(self.n_iter):
                t0 = time.perf_counter()
                acc, loglik = None, 0.0
                with _flush_denormals():
                    for Xc, lengths in chunks:
                        st, ll = self._summarize(params, Xc, lengths, full)
                        acc = st if acc is None else {k: acc[k] + st[k] for k in acc}
                        loglik += ll
                self.history_.append(loglik / n_frames)
                params = {**m_step_transitions(acc["start"], acc["trans"], acc["end"], self.transmat_prior, False),
                          **m_step_regression(acc, self.ridge, self.min_covar, full, params)}
                self.iter_seconds_.append(time.perf_counter() - t0)
                bar.update()
                bar.set_postfix(loglik=f"{self.history_[-1]:.4f}")
                if len(self.history_) > 1 and self.history_[-1] - self.history_[-2] < self.tol:
                    break
        self._set_params(params)

    def _summarize(self, params: dict, Xc: torch.Tensor, lengths: torch.Tensor, full: bool) -> tuple[dict, float]:
        """E-step statistics of one padded chunk ``Xc (T, B, D)`` (the Gaussian HMM's recursion)."""
        T, B, D = Xc.shape
        Zp = _lagged(Xc)
        Z, Zp = Xc.reshape(-1, D), Zp.reshape(-1, D)
        logB = log_emission_ar(Z, Zp, params["coefs"], params["intercepts"], params["covars"]).reshape(T, B, -1)
        r = lambda a: torch.as_tensor(a, dtype=RECURSION_DTYPE, device=Xc.device)  # noqa: E731
        loglik, gamma, xi = forward_backward(logB, lengths, r(params["startprob"]), r(params["transmat"]))
        g = gamma.reshape(T * B, -1)
        st = regression_stats(Z, Zp, g, full)
        Bi = torch.arange(B, device=Xc.device)
        np64 = lambda a: a.to(torch.float64).cpu().numpy()  # noqa: E731
        st.update(start=np64(gamma[0].sum(0)), trans=np64(xi), end=np64(gamma[lengths - 1, Bi].sum(0)))
        return st, float(loglik.sum())

    def _initial_params(self, seqs: list[np.ndarray]) -> dict:
        """k-means on the frames, then one M-step with the cluster labels as hard posteriors."""
        from sklearn.cluster import KMeans

        X, lengths = concat(seqs)
        K, D = self.n_states, X.shape[1]
        uniq = distinct_frames(X, K)[0]
        take = kmeans_subsample(len(uniq), K, np.random.default_rng(self.random_state))
        km = KMeans(n_clusters=K, n_init=1, max_iter=100, random_state=self.random_state).fit(uniq[take])
        labels = km.predict(X)
        g = np.eye(K)[labels]
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        first = np.zeros(len(X), dtype=bool)
        first[starts] = True
        trans = np.zeros((K, K))
        np.add.at(trans, (labels[:-1][~first[1:]], labels[1:][~first[1:]]), 1.0)
        Xp = np.where(first[:, None], 0.0, np.roll(X, 1, axis=0))
        t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
        full = self.covariance_type == "full"
        st = regression_stats(t(X), t(Xp), t(g), full)
        var = np.maximum(X.var(0), self.min_covar)
        old = {"coefs": np.zeros((K, D, D)), "intercepts": km.cluster_centers_,
               "covars": np.tile(np.diag(var) if full else var, (K, 1, 1) if full else (K, 1))}
        return {**m_step_transitions(g[starts].sum(0), trans, np.zeros(K), self.transmat_prior, False),
                **m_step_regression(st, self.ridge, self.min_covar, full, old)}

    # ----------------------------------------------------------------- parameters
    @property
    def params(self) -> dict:
        self._check_fitted()
        return {k: getattr(self, k + "_") for k in ("startprob", "transmat", "coefs", "intercepts", "covars")}

    def _set_params(self, params: dict) -> None:
        for k in ("startprob", "transmat", "coefs", "intercepts", "covars"):
            setattr(self, k + "_", np.array(params[k], dtype=np.float64))
        self.dim_ = self.intercepts_.shape[1]
        self._cache = {}

    def check_state(self) -> None:
        super().check_state()
        K, D = self.n_states, self.dim_
        full = self.covariance_type == "full"
        for name, shape in (("startprob_", (K,)), ("transmat_", (K, K)), ("coefs_", (K, D, D)),
                            ("intercepts_", (K, D)), ("covars_", (K, D, D) if full else (K, D))):
            check_shape(name, getattr(self, name), shape)
        check_probabilities("startprob_", self.startprob_)
        check_probabilities("transmat_", self.transmat_)
        check_covariances("covars_", self.covars_, full)

    # ----------------------------------------------------------------- scoring
    def _log_emissions(self, seqs: list[np.ndarray]) -> np.ndarray:
        """Emission log-densities ``(sum T_i, K)`` of concatenated sequences, each starting from ``z_0 = 0``."""
        X = np.concatenate(seqs)
        Xp = np.concatenate([np.vstack([np.zeros((1, self.dim_)), s[:-1]]) for s in seqs])
        t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
        p = self.params
        return log_emission_ar(t(X), t(Xp), p["coefs"], p["intercepts"], p["covars"]).numpy()

    def _log_prob_sequences(self, seqs):
        return forward(self._log_emissions(seqs), [len(s) for s in seqs], self.startprob_, self.transmat_)

    def forward_filter(self, z: np.ndarray) -> np.ndarray:
        """Filtering posteriors ``p(s_t | z_1..t)`` of one sequence ``z (T, D)``; returns ``(T, K)``."""
        self._check_fitted()
        z = self._check_dim([np.asarray(z, dtype=np.float64)])[0]
        return forward(self._log_emissions([z]), [len(z)], self.startprob_, self.transmat_, return_alpha=True)[1]

    # ----------------------------------------------------------------- sampling
    def _draw(self, streams, n: int, p0: np.ndarray | None, s: int | None, z: np.ndarray, temperature: float):
        """``n`` frames continuing after state ``s`` (or from ``p0``) and previous frame ``z (D,)``."""
        if "noise" not in self._cache:
            self._cache["noise"] = _factors(self.covars_)
            self._cache["cumA"] = np.cumsum(self.transmat_, axis=1)
        L, cumA = self._cache["noise"], self._cache["cumA"]
        rs, rn = streams
        u, eps = rs.random(n), rn.standard_normal((n, self.dim_))  # block-size invariant (see HMMPrior._streams)
        out = np.empty((n, self.dim_))
        for t in range(n):
            cdf = np.cumsum(p0) if (t == 0 and s is None) else cumA[s]
            s = min(int(np.searchsorted(cdf, u[t] * cdf[-1], side="right")), self.n_states - 1)
            z = self.coefs_[s] @ z + self.intercepts_[s] + temperature * (L[s] @ eps[t])
            out[t] = z
        return out, s

    def _sample(self, lengths, rng, temperature):
        streams = rng.spawn(2)
        return [self._draw(streams, T, self.startprob_, None, np.zeros(self.dim_), temperature)[0] for T in lengths]

    def sample_stream(self, seed=None, temperature: float = 1.0, block_frames: int = 64, context=None):
        """Endless stream of ``(block_frames, D)`` blocks (the concatenation does not depend on
        ``block_frames``). With ``context (T, D)`` the first state is drawn from
        ``p(s_{T+1} | z_1..T) = p(s_T | z_1..T) A`` and the dynamics continue from ``z_T``."""
        self._check_fitted()
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if block_frames < 1:
            raise ValueError(f"block_frames must be >= 1, got {block_frames}")
        if context is None or len(context) == 0:
            p0, z = self.startprob_, np.zeros(self.dim_)
        else:
            p0 = self.forward_filter(context)[-1] @ _normalise_rows(self.transmat_)
            z = np.asarray(context, dtype=np.float64)[-1]
        streams = make_rng(seed).spawn(2)
        s = None
        while True:
            x, s = self._draw(streams, block_frames, p0, s, z, float(temperature))
            z = x[-1]
            yield x
