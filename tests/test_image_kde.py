"""Parzen/KDE log-likelihood: known answers (scipy, closed form), stability at tiny bandwidths, the protocols."""
import math

import numpy as np
import pytest
import scipy.special
import scipy.stats

from seqgen.evaluation import kde


def test_matches_scipy_gaussian_kde_in_1d(rng):
    s = rng.normal(size=200)
    x = rng.normal(size=30) * 2
    sigma = 0.3
    ref = scipy.stats.gaussian_kde(s, bw_method=sigma / s.std(ddof=1))  # scipy's kernel sd = factor * data sd
    np.testing.assert_allclose(kde.parzen_log_prob(x[:, None], s[:, None], sigma), ref.logpdf(x), rtol=1e-10)


def test_matches_closed_form_mixture_in_high_dimension(rng):
    d, sigma = 50, 0.7
    s, x = rng.random((7, d)), rng.random((11, d))
    comp = np.stack([scipy.stats.multivariate_normal(mu, sigma**2 * np.eye(d)).logpdf(x) for mu in s])
    ref = scipy.special.logsumexp(comp, axis=0) - math.log(len(s))
    # blocks smaller than the data exercise the carried log-sum-exp
    got = kde.parzen_log_prob(x, s, sigma, batch_size=4, sample_block=3)
    np.testing.assert_allclose(got, ref, rtol=1e-10)


def test_tiny_bandwidth_is_finite_and_exact(rng):
    """σ = 0.01 on 784-d images: every kernel value underflows in float64; log-sum-exp must not."""
    s = rng.random((5, 784))
    x = s[:1] + 0.5  # far from every sample: exponents ~ -1e6
    sigma = 0.01
    d2 = ((x - s) ** 2).sum(1)
    ref = scipy.special.logsumexp(-d2 / (2 * sigma**2)) - math.log(5) - 392 * math.log(2 * math.pi * sigma**2)
    got = kde.parzen_log_prob(x, s, sigma)
    assert np.isfinite(got).all() and got[0] == pytest.approx(ref, rel=1e-12)
    # a test point equal to a sample: dominated by that kernel's peak
    peak = kde.parzen_log_prob(s[:1], s, sigma)[0]
    assert peak == pytest.approx(-math.log(5) - 392 * math.log(2 * math.pi * sigma**2), rel=1e-9)


def test_images_are_flattened_and_shapes_checked(rng):
    s, x = rng.random((6, 1, 4, 4)), rng.random((3, 1, 4, 4))
    np.testing.assert_allclose(kde.parzen_log_prob(x, s, 0.2), kde.parzen_log_prob(x.reshape(3, -1), s.reshape(6, -1), 0.2))
    with pytest.raises(ValueError):
        kde.parzen_log_prob(x.reshape(3, -1), s.reshape(6, -1)[:, :5], 0.2)
    with pytest.raises(ValueError):
        kde.parzen_log_prob(x, s, 0.0)


def test_protocols_and_bandwidth_search(rng):
    assert kde.PROTOCOLS["paper_text"] == kde.KDEProtocol(1000, (0.01,), 1)
    assert kde.PROTOCOLS["authors_code"] == kde.KDEProtocol(1000, (0.2,), 10)
    grid = kde.PROTOCOLS["grid_search"]
    assert grid.n_samples == 10000 and len(grid.sigmas) == 10 and grid.sigmas[0] == pytest.approx(0.1)

    # data from N(0, 0.3² I): the best KDE bandwidth for many samples is below 0.3 and well above 0.01
    d = 4

    def sampler(n, seed):
        return np.random.default_rng(seed).normal(0, 0.3, (n, d))

    x_val, x_test = sampler(300, 100), sampler(300, 200)
    proto = kde.KDEProtocol(2000, tuple(np.logspace(-2, 0, 9)), 1)
    res = kde.kde_score(x_test, sampler, proto, x_val=x_val)
    assert 0.05 < res["sigma"] < 0.3 and max(res["grid"], key=res["grid"].get) == res["sigma"]
    true_ll = scipy.stats.multivariate_normal(np.zeros(d), 0.09 * np.eye(d)).logpdf(x_test).mean()
    assert res["log_likelihood"] < true_ll + 3 * res["sem"] and res["log_likelihood"] > true_ll - 1.0

    rep = kde.kde_score(x_test, sampler, kde.KDEProtocol(500, (0.2,), 3), seed=7)
    assert len(rep["repeat_means"]) == 3 and rep["log_likelihood"] == pytest.approx(np.mean(rep["repeat_means"]))
    m, se = kde.mean_sem(kde.parzen_log_prob(x_test, sampler(500, 7), 0.2))
    assert rep["repeat_means"][0] == pytest.approx(m) and se > 0
    with pytest.raises(ValueError, match="sampler"):
        kde.kde_score(x_test, sampler(500, 0), kde.KDEProtocol(500, (0.2,), 3))
    with pytest.raises(ValueError, match="x_val"):
        kde.kde_score(x_test, sampler, proto)
