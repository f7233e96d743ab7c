"""Single Gaussian over i.i.d. frames: the fixed-family base distribution the paper argues against."""
from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, solve_triangular

from .base import Prior, register_prior
from .checks import check_covariances, check_shape

COVARIANCE_TYPES = ("spherical", "diag", "full")
LOG_2PI = np.log(2.0 * np.pi)


@register_prior("gaussian")
class GaussianPrior(Prior):
    """``z_t ~ N(mean_, covariance_)`` i.i.d. over frames, fitted by maximum likelihood.

    This is the "simple fixed base distribution" of Subakan et al. (a learned N(mu, Sigma) instead of
    N(0, I)); every learned prior should beat it on held-out latents.

    Parameters
    ----------
    covariance_type : "spherical" (``sigma^2 I``), "diag" or "full".
    reg_covar : added to the variances (the diagonal) so constant latent dimensions stay finite.
    fixed : if True, nothing is learned: ``fit`` sets N(0, I) (the VAE's prior; in a plain
        autoencoder run's standardised latent space it is N(mean, diag(std^2)) of the raw latents).

    Fitted: ``mean_ (D,)``; ``covariance_``: ``()`` spherical, ``(D,)`` diag, ``(D, D)`` full.
    """

    iid_frames = True

    def __init__(self, covariance_type: str = "diag", reg_covar: float = 1e-6, fixed: bool = False):
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}")
        if not reg_covar >= 0:
            raise ValueError(f"reg_covar must be >= 0, got {reg_covar}")
        self.covariance_type = covariance_type
        self.reg_covar = float(reg_covar)
        self.fixed = bool(fixed)

    # ----------------------------------------------------------------- fitting (closed-form ML)
    def _fit(self, seqs, progress):
        X = np.concatenate(seqs)
        if self.fixed:
            D = X.shape[1]
            cov = {"full": np.eye(D), "diag": np.ones(D), "spherical": np.asarray(1.0)}[self.covariance_type]
            return self._set_params(np.zeros(D), cov)
        self.mean_ = X.mean(axis=0)
        Xc = X - self.mean_
        # ML estimates divide by N (not N - 1).
        if self.covariance_type == "full":
            cov = Xc.T @ Xc / len(X)
            cov[np.diag_indices_from(cov)] += self.reg_covar
        elif self.covariance_type == "diag":
            cov = (Xc**2).mean(axis=0) + self.reg_covar
        else:
            cov = np.asarray((Xc**2).mean() + self.reg_covar)
        self._set_params(self.mean_, cov)

    def _set_params(self, mean, cov):
        D = len(mean)
        self.mean_ = np.asarray(mean, dtype=np.float64)
        self.covariance_ = np.asarray(cov, dtype=np.float64)
        self.dim_ = D
        if self.covariance_type == "full":
            if self.covariance_.shape != (D, D):
                raise ValueError(f"full covariance must be ({D}, {D}), got {self.covariance_.shape}")
            try:
                self._chol = cho_factor(self.covariance_, lower=True)[0]
            except np.linalg.LinAlgError:
                raise ValueError("covariance is not positive definite; increase reg_covar") from None
            self._chol = np.tril(self._chol)
            self._log_det = 2.0 * np.log(np.diag(self._chol)).sum()
        else:
            var = np.broadcast_to(self.covariance_, (D,))
            if (var <= 0).any():
                raise ValueError("variances must be positive; increase reg_covar")
            self._std = np.sqrt(var)
            self._log_det = np.log(var).sum()

    # ----------------------------------------------------------------- density / sampling
    def _log_prob_frames(self, x):
        # log N(x; mu, S) = -(D log 2pi + log|S| + ||L^-1 (x - mu)||^2) / 2 with S = L L^T.
        xc = x - self.mean_
        if self.covariance_type == "full":
            y = solve_triangular(self._chol, xc.T, lower=True).T
        else:
            y = xc / self._std
        return -0.5 * (self.dim_ * LOG_2PI + self._log_det + (y**2).sum(axis=1))

    def _sample(self, lengths, rng, temperature):
        # One (N, D) draw, row-major: frame n always uses the same normals whatever the split into
        # sequences or stream blocks, so streaming agrees with one-shot sampling.
        eps = temperature * rng.standard_normal((sum(lengths), self.dim_))
        X = self.mean_ + (eps @ self._chol.T if self.covariance_type == "full" else eps * self._std)
        return np.split(X, np.cumsum(lengths)[:-1])

    # ----------------------------------------------------------------- persistence
    def state_dict(self):
        return {"mean_": self.mean_, "covariance_": self.covariance_}

    def load_state_dict(self, state):
        self._set_params(state["mean_"], state["covariance_"])

    def check_state(self):
        super().check_state()
        D = self.dim_
        check_shape("mean_", self.mean_, (D,))
        shape = {"full": (D, D), "diag": (D,), "spherical": ()}[self.covariance_type]
        check_shape("covariance_", self.covariance_, shape)
        check_covariances("covariance_", self.covariance_, self.covariance_type == "full")


@register_prior("masked_gaussian")
class MaskedGaussianPrior(GaussianPrior):
    """LMGAE's latent distribution (Mondal et al.): ``z̃ = m ⊙ p``, ``p ~ N(0, I_n)``, i.e. N(0, diag(m²)) with the
    per-dimension scale ``m`` (the learned mask): a zero-mean diagonal Gaussian, ``z_t ~ N(0, diag(scale_²))``.

    A ``masked_mlp`` codec hands a prior ``u = z̃_A / m_A`` on its active dimensions ``A``
    (:meth:`~seqgen.codecs.base.Codec.to_prior`) and decodes ``m_A ⊙ u``, so the codec already applies the
    mask: ``learn_scale = False`` fixes ``scale_ = 1``, which is exactly LMGAE's own generator (on the active
    dimensions); ``learn_scale = True`` fits each ``scale_²`` by maximum likelihood (the mean square), which
    is 1 where the critic matched the masked latents to the masked N(0, I) and corrects the scale where it did not.

    Fitted: ``mean_ = 0 (D,)``, ``covariance_ = scale_² (D,)``.
    """

    def __init__(self, learn_scale: bool = True, reg_covar: float = 1e-6):
        super().__init__("diag", reg_covar=reg_covar, fixed=not learn_scale)
        self.learn_scale = bool(learn_scale)

    def _fit(self, seqs, progress):
        X = np.concatenate(seqs)
        var = (X**2).mean(axis=0) + self.reg_covar if self.learn_scale else np.ones(X.shape[1])
        self._set_params(np.zeros(X.shape[1]), var)
