"""Generative-model metrics from a classifier's outputs: IS, modified IS, AM score, FID, NDB, coverage, memorisation.

These follow the SC09 spoken-digit protocol of DiffWave (Kong et al., ICLR 2021, §5.2 and appendix)
and SaShiMi (Goel et al., ICML 2022, appendix "SC09 evaluation"), which in turn take IS from
Salimans et al. (2016), modified IS from Gurumurthy et al. (2017, DeLiGAN), AM score from Zhou et
al. (2018, "Activation Maximization Generative Adversarial Nets"), FID from Heusel et al. (2017) and
NDB from Richardson & Weiss (2018, "On GANs and GMMs"). All are pure functions of arrays:

- ``p_yx (N, C)``: class posteriors p(y|x) of N samples (rows sum to 1);
- ``feats (N, F)``: a classifier's penultimate-layer features.

Logs are natural; 0·log 0 is taken as 0.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.stats

_TINY = 1e-12
#: frechet_distance warns below -FD_RTOL x (‖μ_a - μ_b‖² + Tr Σ_a + Tr Σ_b); round-off is ~1e-14 of it
FD_RTOL = 1e-9


def _check_probs(p: np.ndarray, name: str = "p_yx") -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"{name} must be (n_samples, n_classes) with n_samples > 0, got shape {p.shape}")
    if (p < -1e-9).any() or not np.allclose(p.sum(1), 1.0, atol=1e-4):
        raise ValueError(f"{name} rows must be probability vectors (non-negative, summing to 1)")
    return np.clip(p, 0.0, 1.0)


def _xlogy(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """p·log q with 0·log 0 = 0 (q clipped away from 0 where p > 0)."""
    return np.where(p > 0, p * np.log(np.maximum(q, _TINY)), 0.0)


def entropy(p_yx: np.ndarray) -> np.ndarray:
    """Per-sample entropy H(p(y|x)) = -Σ_y p(y|x) log p(y|x), ``(N,)``."""
    p = _check_probs(p_yx)
    return -_xlogy(p, p).sum(1)


def inception_score(p_yx: np.ndarray) -> float:
    """Inception score IS = exp E_x[KL(p(y|x) ‖ p(y))], with p(y) = E_x[p(y|x)] (Salimans et al. 2016).

    Between 1 (every sample gets the same posterior) and C (confident predictions spread
    uniformly over the C classes): high when each sample is clearly one digit *and* all digits
    occur. Real FSDD test audio under a good classifier scores close to 10.
    """
    p = _check_probs(p_yx)
    p_y = p.mean(0, keepdims=True)
    kl = (_xlogy(p, p) - _xlogy(p, p_y)).sum(1)
    return float(np.exp(kl.mean()))


def modified_inception_score(p_yx: np.ndarray) -> float:
    """Modified IS mIS = exp E_{x,x'}[KL(p(y|x) ‖ p(y|x'))] over independent pairs (Gurumurthy et al. 2017).

    Also rewards diversity *within* a class. Computed exactly over all N² ordered pairs
    (x = x' pairs contribute 0, as in the estimator used by DiffWave/SaShiMi):
    E[KL] = E_x[Σ_y p(y|x) log p(y|x)] - E_x E_x'[Σ_y p(y|x) log p(y|x')].
    Identical posteriors give 1; certain predictions spread uniformly over C classes give
    exp((C-1)/C · log(1/ε)) which diverges as the predictions become one-hot, so mIS is only
    meaningful for a classifier with smoothed (softmax) outputs.
    """
    p = _check_probs(p_yx)
    neg_h = _xlogy(p, p).sum(1)  # (N,)
    cross = p @ np.log(np.maximum(p, _TINY)).T  # cross[i, j] = Σ_y p_i(y) log p_j(y)
    kl = neg_h[:, None] - cross
    return float(np.exp(kl.mean()))


def am_score(p_yx: np.ndarray, p_y_train: np.ndarray) -> float:
    """AM score = KL(p_train(y) ‖ p(y)) + E_x[H(p(y|x))] (Zhou et al. 2018); lower is better, 0 is ideal.

    ``p_y_train (C,)`` is the classifier's mean posterior on real training data; p(y) = E_x[p(y|x)]
    on the samples. The first term penalises a class distribution unlike the training data's,
    the second samples the classifier is unsure about.
    """
    p = _check_probs(p_yx)
    q = _check_probs(np.asarray(p_y_train, dtype=np.float64).reshape(1, -1), "p_y_train")[0]
    if len(q) != p.shape[1]:
        raise ValueError(f"p_y_train has {len(q)} classes, p_yx {p.shape[1]}")
    p_y = p.mean(0)
    kl = float((_xlogy(q, q) - _xlogy(q, p_y)).sum())
    return kl + float(entropy(p).mean())


def digits_covered(p_yx: np.ndarray, min_count: int = 1) -> int:
    """Number of classes that are the arg-max prediction of at least ``min_count`` samples."""
    p = _check_probs(p_yx)
    counts = np.bincount(p.argmax(1), minlength=p.shape[1])
    return int((counts >= min_count).sum())


def _features(f: np.ndarray) -> np.ndarray:
    f = np.asarray(f, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must be (n_samples >= 2, dim), got shape {f.shape}")
    return f


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID, Heusel et al. 2017).

    FD = ‖μ_a - μ_b‖² + Tr(Σ_a + Σ_b - 2 (Σ_a Σ_b)^{1/2}); 0 for identical statistics. Uses
    unbiased covariances (N-1). Trap: the sample estimate is biased upwards by roughly Tr(Σ)/N,
    so only compare FIDs computed with the same sample sizes and the same classifier.

    Not clamped at 0: the result is accurate to round-off (~1e-14 of ‖μ_a - μ_b‖² + Tr Σ_a + Tr Σ_b,
    even for singular covariances, fewer samples than dimensions); a value more than ``FD_RTOL``
    of that below 0 is a numerical fault and raises a ``RuntimeWarning``.
    """
    a, b = _features(feats_a), _features(feats_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dims differ: {a.shape[1]} vs {b.shape[1]}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    c_a, c_b = a - mu_a, b - mu_b
    n_a, n_b = len(a) - 1, len(b) - 1
    # Σ = Cᵀ C / (N-1), C the centred features. The eigenvalues of Σ_a Σ_b are the squared singular
    # values of C_a C_bᵀ / sqrt(n_a n_b), so Tr (Σ_a Σ_b)^{1/2} is that matrix's nuclear norm, and with
    # C = Q R (QR) the one of R_a R_bᵀ (at most dim x dim). Same value as the real part of
    # Tr scipy.linalg.sqrtm(Σ_a Σ_b) (pytorch-fid), but singular values come out accurate to round-off,
    # where square roots of Σ_a Σ_b's round-off-sized eigenvalues (singular covariances) added
    # ~1e-8 of the scale each and made FD(x, x) < 0.
    r_a, r_b = np.linalg.qr(c_a, mode="r"), np.linalg.qr(c_b, mode="r")
    tr_covmean = float(np.linalg.svd(r_a @ r_b.T, compute_uv=False).sum()) / np.sqrt(n_a * n_b)
    diff = mu_a - mu_b
    scale = float(diff @ diff + np.sum(c_a * c_a) / n_a + np.sum(c_b * c_b) / n_b)
    fd = scale - 2.0 * tr_covmean
    if fd < -FD_RTOL * scale:
        warnings.warn(f"negative Fréchet distance {fd:.6g} (scale {scale:.6g}): a numerical fault in the "
                      "matrix square root", RuntimeWarning, stacklevel=2)
    return fd


def ndb(train_feats: np.ndarray, gen_feats: np.ndarray, k: int = 20, alpha: float = 0.05,
        seed: int = 0) -> dict:
    """Number of statistically different bins (Richardson & Weiss 2018).

    K-means (``k`` bins) on the training features; each generated sample goes to its nearest
    centre. Bin i is "different" when a two-proportion z-test of the train share p_i vs the
    generated share q_i rejects at level ``alpha``: z = (p_i - q_i) / sqrt(P(1-P)(1/n_t + 1/n_g)),
    P the pooled share. Returns ``{"ndb": count, "ndb_over_k": count/k, "k": k}``; a model that
    matches the data has NDB/K ≈ alpha.
    """
    from sklearn.cluster import KMeans

    tr = np.asarray(train_feats, dtype=np.float64)
    ge = np.asarray(gen_feats, dtype=np.float64)
    k = int(min(k, len(tr)))
    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(tr)
    n_t, n_g = len(tr), len(ge)
    c_t = np.bincount(km.labels_, minlength=k)
    c_g = np.bincount(km.predict(ge), minlength=k)
    p, q = c_t / n_t, c_g / n_g
    pooled = (c_t + c_g) / (n_t + n_g)
    se = np.sqrt(np.maximum(pooled * (1 - pooled) * (1 / n_t + 1 / n_g), _TINY))
    z = (p - q) / se
    different = int((2 * scipy.stats.norm.sf(np.abs(z)) < alpha).sum())
    return {"ndb": different, "ndb_over_k": different / k, "k": k}


def nearest_neighbour_distances(query_feats: np.ndarray, ref_feats: np.ndarray,
                                exclude_self: bool = False) -> np.ndarray:
    """Euclidean distance from each query to its nearest reference, ``(N_query,)``.

    The memorisation check: generated samples whose nearest-training-sample distance is much
    smaller than real held-out samples' (median ratio ≪ 1) are copies of training data.
    ``exclude_self`` (query set == reference set) skips the zero distance of each point to itself.
    """
    q = np.asarray(query_feats, dtype=np.float64)
    r = np.asarray(ref_feats, dtype=np.float64)
    if q.ndim != 2 or r.ndim != 2 or q.shape[1] != r.shape[1]:
        raise ValueError(f"need (N, F) and (M, F) features, got {q.shape} and {r.shape}")
    out = np.empty(len(q))
    r2 = (r * r).sum(1)
    for s in range(0, len(q), 1024):  # blocks keep the N x M distance matrix small
        qb = q[s : s + 1024]
        d2 = (qb * qb).sum(1)[:, None] + r2[None, :] - 2.0 * qb @ r.T
        if exclude_self:
            d2[np.arange(len(qb)), np.arange(s, s + len(qb))] = np.inf
        out[s : s + len(qb)] = np.sqrt(np.maximum(d2.min(1), 0.0))
    return out
