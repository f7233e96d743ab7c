"""Full-covariance torch HMM backend: same EM path as hmmlearn ``full``, exact packed-moment algebra."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from seqgen.priors.hmm import HMMPrior, log_gaussian
from seqgen.priors.hmm_torch_full import PackedMoments, log_emission_full, precision_terms


pytestmark = pytest.mark.usefixtures("one_thread")


def correlated_chain(rng, n_seq=12, T=60, D=4, K=3):
    """A sticky chain whose states have strongly correlated (full) covariances."""
    A = np.full((K, K), 0.05 / (K - 1)) + np.eye(K) * (0.95 - 0.05 / (K - 1))
    mu = 4.0 * rng.standard_normal((K, D))
    chol = [np.linalg.cholesky(np.cov(rng.standard_normal((D, 3 * D))) + 0.1 * np.eye(D)) for _ in range(K)]
    seqs = []
    for _ in range(n_seq):
        s = [rng.integers(K)]
        for _ in range(T - 1):
            s.append(rng.choice(K, p=A[s[-1]]))
        seqs.append(np.stack([mu[k] + chol[k] @ rng.standard_normal(D) for k in s]))
    return seqs


def test_packed_log_density_matches_cholesky_solve():
    rng = np.random.default_rng(0)
    K, D = 5, 6
    X = rng.standard_normal((50, D)) * 3
    means = rng.standard_normal((K, D))
    covars = np.stack([np.cov(rng.standard_normal((D, 20))) + 1e-3 * np.eye(D) for _ in range(K)])
    pm = PackedMoments(D, "cpu")
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    got = log_emission_full(t(X), pm.pack_frames(t(X)), precision_terms(t(means), t(covars), pm)).numpy()
    np.testing.assert_allclose(got, log_gaussian(X, means, covars, "full"), rtol=1e-10, atol=1e-8)


def test_same_em_path_as_hmmlearn_full():
    """Same init, same M-step: every iteration's log-likelihood and the final parameters agree."""
    seqs = correlated_chain(np.random.default_rng(1))
    fits = {b: HMMPrior(n_states=3, covariance_type="full", backend=b, n_iter=6, tol=0).fit(seqs)
            for b in ("torch", "hmmlearn")}
    ref = fits["hmmlearn"]
    np.testing.assert_allclose(fits["torch"].history_, ref.history_, rtol=1e-9)
    np.testing.assert_allclose(fits["torch"].score(seqs), ref.score(seqs), rtol=1e-6)
    for k in ("transmat", "means", "covars"):
        np.testing.assert_allclose(fits["torch"].params[k], ref.params[k], rtol=1e-6, atol=1e-8)


def test_full_torch_fit_monotone_and_exits():
    seqs = correlated_chain(np.random.default_rng(2), n_seq=8)
    h = HMMPrior(n_states=3, covariance_type="full", n_iter=8, tol=0, transmat_prior=0.0, end_prob=True).fit(seqs)
    assert np.diff(h.history_).min() > -1e-10
    assert h.covars_.shape == (3, 4, 4) and np.allclose(h.transmat_.sum(1) + h.endprob_, 1.0)
    assert np.isfinite(h.log_prob(seqs)).all()
