"""Gaussian mixture over i.i.d. frames (Subakan et al.: 30 full-covariance components), fitted by sklearn EM."""
from __future__ import annotations

import numpy as np
from scipy.linalg import cholesky, solve_triangular
from scipy.special import logsumexp, ndtr

from ..progress import verbose_logging
from .base import Prior, register_prior
from .checks import check_covariances, check_probabilities, check_shape

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
LOG_2PI = np.log(2.0 * np.pi)


@register_prior("gmm")
class GMMPrior(Prior):
    """``p(z_t) = sum_k w_k N(z_t; mu_k, S_k)``, frames i.i.d.

    Fitted by scikit-learn's ``GaussianMixture`` (EM, k-means init); only plain arrays are kept, so
    the sklearn object never reaches a saved file. Densities and samples are computed here from
    ``weights_ (K,)``, ``means_ (K, D)`` and ``covariances_`` (sklearn's shapes per
    ``covariance_type``: full ``(K, D, D)``, tied ``(D, D)``, diag ``(K, D)``, spherical ``(K,)``).
    ``history_`` holds the per-frame EM log-likelihood bound per iteration (non-decreasing).
    """

    iid_frames = True

    def __init__(
        self,
        n_components: int = 30,
        covariance_type: str = "full",
        reg_covar: float = 1e-4,
        max_iter: int = 100,
        n_init: int = 1,
        random_state: int | None = 0,
    ):
        if int(n_components) < 1:
            raise ValueError(f"n_components must be >= 1, got {n_components}")
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}")
        if not reg_covar >= 0:
            raise ValueError(f"reg_covar must be >= 0, got {reg_covar}")
        if int(max_iter) < 1 or int(n_init) < 1:
            raise ValueError(f"max_iter and n_init must be >= 1, got {max_iter}, {n_init}")
        self.n_components = int(n_components)
        self.covariance_type = covariance_type
        self.reg_covar = float(reg_covar)
        self.max_iter = int(max_iter)
        self.n_init = int(n_init)
        self.random_state = random_state

    # ----------------------------------------------------------------- fitting
    def _fit(self, seqs, progress):
        from sklearn.mixture import GaussianMixture

        X = np.concatenate(seqs)
        if len(X) < self.n_components:
            raise ValueError(
                f"GMMPrior needs at least n_components={self.n_components} frames to fit, got {len(X)}"
            )
        gm = GaussianMixture(
            n_components=self.n_components,
            covariance_type=self.covariance_type,
            reg_covar=self.reg_covar,
            max_iter=self.max_iter,
            n_init=self.n_init,
            random_state=self.random_state,
            verbose=2 if progress and verbose_logging() else 0,  # scikit-learn prints to stdout: only with -v
            verbose_interval=10,
        )
        gm.fit(X)
        self.converged_ = bool(gm.converged_)
        self.n_iter_ = int(gm.n_iter_)
        # sklearn >= 1.6 records the bound per iteration; older versions only the last one.
        self.history_ = np.asarray(getattr(gm, "lower_bounds_", [gm.lower_bound_]), dtype=np.float64)
        self._set_params(gm.weights_, gm.means_, gm.covariances_)

    def _set_params(self, weights, means, covariances):
        self.weights_ = np.asarray(weights, dtype=np.float64)
        self.means_ = np.asarray(means, dtype=np.float64)
        self.covariances_ = np.asarray(covariances, dtype=np.float64)
        K, D = self.means_.shape
        if self.weights_.shape != (K,) or K != self.n_components:
            raise ValueError(f"expected {self.n_components} components, got weights {self.weights_.shape}")
        self.dim_ = D
        cov = self.covariances_
        # Keep a square root of every covariance: chol_ (K, D, D) lower for full/tied, std_ (K, D) otherwise.
        if self.covariance_type in ("full", "tied"):
            covs = np.broadcast_to(cov, (K, D, D))
            try:
                self._chol = np.stack([cholesky(c, lower=True) for c in covs])
            except np.linalg.LinAlgError:
                raise ValueError("a component covariance is not positive definite; increase reg_covar") from None
            self._log_det = 2.0 * np.log(np.diagonal(self._chol, axis1=1, axis2=2)).sum(axis=1)
        else:
            var = cov[:, None] * np.ones(D) if self.covariance_type == "spherical" else cov
            if (var <= 0).any():
                raise ValueError("variances must be positive; increase reg_covar")
            self._std = np.sqrt(var)
            self._log_det = np.log(var).sum(axis=1)
        self._log_w = np.log(np.maximum(self.weights_, np.finfo(np.float64).tiny))

    # ----------------------------------------------------------------- density / sampling
    def _log_prob_frames(self, x):
        # log p(x) = logsumexp_k [log w_k - (D log 2pi + log|S_k| + ||L_k^-1 (x - mu_k)||^2) / 2]
        K = self.n_components
        maha = np.empty((len(x), K))
        for k in range(K):
            xc = x - self.means_[k]
            if self.covariance_type in ("full", "tied"):
                y = solve_triangular(self._chol[k], xc.T, lower=True).T
            else:
                y = xc / self._std[k]
            maha[:, k] = (y**2).sum(axis=1)
        comp = self._log_w - 0.5 * (self.dim_ * LOG_2PI + self._log_det + maha)
        return logsumexp(comp, axis=1)

    def _sample(self, lengths, rng, temperature):
        # One (N, D + 1) normal draw, row-major, so frame n always uses the same normals whatever the
        # split into sequences / stream blocks: column 0 picks the component (Phi(e) is uniform),
        # the rest is the within-component noise, scaled by the temperature.
        N = sum(lengths)
        e = rng.standard_normal((N, self.dim_ + 1))
        cdf = np.cumsum(self.weights_)
        k = np.minimum(np.searchsorted(cdf / cdf[-1], ndtr(e[:, 0]), side="right"), self.n_components - 1)
        eps = temperature * e[:, 1:]
        if self.covariance_type in ("full", "tied"):
            noise = np.einsum("nij,nj->ni", self._chol[k], eps)
        else:
            noise = self._std[k] * eps
        return np.split(self.means_[k] + noise, np.cumsum(lengths)[:-1])

    # ----------------------------------------------------------------- persistence
    def state_dict(self):
        return {"weights_": self.weights_, "means_": self.means_, "covariances_": self.covariances_}

    def load_state_dict(self, state):
        self._set_params(state["weights_"], state["means_"], state["covariances_"])

    def check_state(self):
        super().check_state()
        K, D = self.n_components, self.dim_
        check_probabilities("weights_", self.weights_)
        check_shape("means_", self.means_, (K, D))
        shape = {"full": (K, D, D), "tied": (D, D), "diag": (K, D), "spherical": (K,)}[self.covariance_type]
        check_shape("covariances_", self.covariances_, shape)
        check_covariances("covariances_", self.covariances_, self.covariance_type in ("full", "tied"))
