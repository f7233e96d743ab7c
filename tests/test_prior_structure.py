"""Learned priors capture structure a single Gaussian cannot (held-out likelihood), and recover known parameters."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from seqgen.priors import PRIORS

# Held-out per-frame log-likelihood margins (nats / frame) over the single full-covariance Gaussian.
# Mixture data below: the Gaussian scores about -10.0, the true density about -7.0 (gap ~3).
MIXTURE_MARGIN = {"gmm": 2.0, "lde": 1.0, "ar": 1.0}
# AR(1) data below: every i.i.d. prior is capped at the marginal entropy; the true conditional
# density is 4 * 0.5 * log(0.923 / 0.09) ~ 4.7 nats / frame higher.
TEMPORAL_MARGIN = 2.0

FAST = {
    "gaussian": dict(covariance_type="full"),
    "gmm": dict(n_components=3, n_init=2),
    "lde": dict(n_mix=4, max_epochs=30, lr=2e-3, batch_size=64, patience=4),
    "ar": dict(hidden=64, n_mix=4, max_epochs=30, batch_size=8, lr=3e-3, patience=4),
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def mixture_data(rng, n_seq, T=100, D=8):
    """3 well-separated isotropic clusters in 8-D, frames i.i.d. (grouped into sequences)."""
    means = np.random.default_rng(42).standard_normal((3, D)) * 3.0
    return [means[rng.integers(0, 3, T)] + 0.5 * rng.standard_normal((T, D)) for _ in range(n_seq)], means


def ar1_data(rng, n_seq, T=60, D=4, a=0.95, s=0.3):
    """x_t = a x_{t-1} + s e_t, started from the stationary marginal N(0, s^2 / (1 - a^2))."""
    seqs = []
    for _ in range(n_seq):
        x = np.empty((T, D))
        x[0] = rng.standard_normal(D) * s / np.sqrt(1 - a**2)
        for t in range(1, T):
            x[t] = a * x[t - 1] + s * rng.standard_normal(D)
        seqs.append(x + np.arange(D))
    return seqs


@pytest.fixture(scope="module")
def mixture_scores():
    rng = np.random.default_rng(0)
    train, _ = mixture_data(rng, 30)
    test, _ = mixture_data(rng, 10)
    scores = {name: PRIORS.resolve(name)(**FAST[name]).fit(train).score(test) for name in FAST}
    print("held-out nats/frame, 3-cluster mixture (8-D):", {k: round(v, 3) for k, v in scores.items()})
    return scores


@pytest.mark.parametrize("name", sorted(MIXTURE_MARGIN))
def test_learned_priors_beat_gaussian_on_mixture(mixture_scores, name):
    assert mixture_scores[name] > mixture_scores["gaussian"] + MIXTURE_MARGIN[name], mixture_scores


def test_ar_prior_uses_temporal_structure():
    rng = np.random.default_rng(1)
    train, test = ar1_data(rng, 40), ar1_data(rng, 10)
    scores = {name: PRIORS.resolve(name)(**FAST[name]).fit(train).score(test) for name in ("gaussian", "gmm", "ar")}
    print("held-out nats/frame, AR(1) sequences (4-D):", {k: round(v, 3) for k, v in scores.items()})
    assert scores["ar"] > max(scores["gaussian"], scores["gmm"]) + TEMPORAL_MARGIN, scores


def test_gaussian_full_recovers_covariance():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((5, 5))
    cov, mean = A @ A.T + 0.5 * np.eye(5), rng.standard_normal(5)
    X = rng.multivariate_normal(mean, cov, size=40_000)
    g = PRIORS.resolve("gaussian")(covariance_type="full").fit(X)
    np.testing.assert_allclose(g.mean_, mean, atol=0.05)
    np.testing.assert_allclose(g.covariance_, cov, atol=0.05 * np.abs(cov).max())
    # and a sample of the fitted model has that covariance again
    S = g.sample([40_000], seed=0)[0]
    np.testing.assert_allclose(np.cov(S.T), cov, atol=0.05 * np.abs(cov).max())


def test_gmm_recovers_means_and_weights():
    rng = np.random.default_rng(3)
    means = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    weights = np.array([0.5, 0.3, 0.2])
    k = rng.choice(3, size=6000, p=weights)
    X = means[k] + rng.standard_normal((6000, 2)) * 0.7
    g = PRIORS.resolve("gmm")(n_components=3, covariance_type="full").fit(X)
    row, col = linear_sum_assignment(((g.means_[:, None] - means[None]) ** 2).sum(-1))
    np.testing.assert_allclose(g.means_[row], means[col], atol=0.1)
    np.testing.assert_allclose(g.weights_[row], weights[col], atol=0.03)


def test_lde_is_causal_over_dimensions():
    """Changing z_j leaves p(z_i | z_<i) unchanged for i <= j (the conv stack is shifted + causal)."""
    import torch

    from seqgen.priors.lde import _log_prob_dims

    rng = np.random.default_rng(4)
    X = rng.standard_normal((200, 10))
    p = PRIORS.resolve("lde")(n_mix=2, max_epochs=1).fit(X)
    z = torch.as_tensor(rng.standard_normal((5, 10)), dtype=torch.float32)
    with torch.no_grad():
        for j in range(10):
            z2 = z.clone()
            z2[:, j] += 5.0
            diff = (_log_prob_dims(p.net_, z, torch.ones_like(z)) - _log_prob_dims(p.net_, z2, torch.ones_like(z))).abs()
            if j:
                assert diff[:, :j].max() == 0
            assert diff[:, j].min() > 0


def test_ar_is_causal_over_time():
    rng = np.random.default_rng(5)
    seqs = ar1_data(rng, 4, T=12)
    p = PRIORS.resolve("ar")(hidden=8, n_mix=2, max_epochs=1).fit(seqs)
    x = seqs[0]
    # log p(x_0..x_t) for each prefix is unchanged when a later frame moves
    y = x.copy()
    y[8] += 3.0
    pre = [p.log_prob([x[:t]])[0] for t in range(1, 9)]
    pre2 = [p.log_prob([y[:t]])[0] for t in range(1, 9)]
    np.testing.assert_allclose(pre, pre2, rtol=1e-6)
    assert p.log_prob([x[:9]])[0] != p.log_prob([y[:9]])[0]


def test_gmm_needs_at_least_n_components_frames():
    with pytest.raises(ValueError, match="at least n_components=30 frames"):
        PRIORS.resolve("gmm")().fit(np.zeros((10, 2)))


@pytest.mark.parametrize("cov", ["spherical", "diag", "full"])
def test_fixed_gaussian_is_the_standard_normal_whatever_the_data(cov):
    from scipy.stats import multivariate_normal

    from seqgen.priors import PRIORS

    Z = np.random.default_rng(0).normal(5.0, 3.0, (200, 4))
    p = PRIORS.resolve("gaussian")(covariance_type=cov, fixed=True).fit(Z)
    np.testing.assert_allclose(p.log_prob(Z[:3], [1, 1, 1]), multivariate_normal(np.zeros(4)).logpdf(Z[:3]))
    x = np.concatenate(p.sample([5000], seed=1))
    assert abs(x.mean()) < 0.05 and abs(x.std() - 1) < 0.05
