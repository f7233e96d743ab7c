"""AR-HMM prior: exact likelihood, recovery of a known switching linear system, monotone EM, prompted streams."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from seqgen.priors.arhmm import ARHMMPrior

A_TRUE = np.array([[[0.9 * np.cos(0.3), -0.9 * np.sin(0.3)], [0.9 * np.sin(0.3), 0.9 * np.cos(0.3)]],
                   [[0.5, 0.0], [0.2, 0.4]]])
B_TRUE = np.array([[1.0, 0.0], [-1.0, 2.0]])
TRANS_TRUE = np.array([[0.95, 0.05], [0.1, 0.9]])
NOISE = 0.1


def switching_system(rng, n_seq=40, T=100) -> list[np.ndarray]:
    """Sequences of the 2-state switching linear system above, each from ``z_0 = 0``."""
    seqs = []
    for _ in range(n_seq):
        s, z, out = rng.integers(2), np.zeros(2), []
        for t in range(T):
            if t:
                s = int(rng.random() < TRANS_TRUE[s, 1])
            z = A_TRUE[s] @ z + B_TRUE[s] + NOISE * rng.standard_normal(2)
            out.append(z)
        seqs.append(np.array(out))
    return seqs


@pytest.fixture(scope="module")
def fitted():
    seqs = switching_system(np.random.default_rng(0))
    return ARHMMPrior(n_states=2, n_iter=30, ridge=1e-3).fit(seqs), seqs


def test_recovers_the_dynamics_and_the_chain(fitted):
    prior, _ = fitted
    order = np.argsort(prior.intercepts_[:, 0])[::-1]  # true state 0 has b = (1, 0), state 1 b = (-1, 2)
    # tolerance: 4,000 frames at noise 0.1 give standard errors ~0.01 on A and b
    np.testing.assert_allclose(prior.coefs_[order], A_TRUE, atol=0.05)
    np.testing.assert_allclose(prior.intercepts_[order], B_TRUE, atol=0.1)
    np.testing.assert_allclose(prior.transmat_[np.ix_(order, order)], TRANS_TRUE, atol=0.03)
    np.testing.assert_allclose(prior.covars_[order], NOISE**2, rtol=0.15)


def test_em_never_lowers_the_likelihood(fitted):
    prior, seqs = fitted
    h = np.asarray(prior.history_)
    assert len(h) >= 3 and (np.diff(h) >= -1e-8).all(), h
    assert prior.score(seqs) >= h[-1] - 1e-8


def test_log_prob_is_the_exact_sum_over_state_paths(fitted):
    prior, seqs = fitted
    z = seqs[1][:4]
    total = []
    for path in itertools.product(range(2), repeat=len(z)):
        lp, prev = np.log(prior.startprob_[path[0]]), np.zeros(2)
        for t, k in enumerate(path):
            if t:
                lp += np.log(prior.transmat_[path[t - 1], k])
            lp += multivariate_normal.logpdf(z[t], prior.coefs_[k] @ prev + prior.intercepts_[k],
                                             np.diag(prior.covars_[k]))
            prev = z[t]
        total.append(lp)
    assert prior.log_prob([z])[0] == pytest.approx(np.logaddexp.reduce(total), rel=1e-10)


def test_samples_follow_the_dynamics_and_prompts_continue_them(fitted):
    prior, seqs = fitted
    x = prior.sample([300], seed=1)[0]
    ref = ARHMMPrior(n_states=2, n_iter=30, ridge=1e-3).fit([x] + prior.sample([100] * 20, seed=2))
    order = np.argsort(ref.intercepts_[:, 0])[::-1]
    np.testing.assert_allclose(ref.coefs_[order], A_TRUE, atol=0.1)  # sampled data has the same dynamics
    # temperature 0 continues a prompt noise-free from its last frame with the filtered state
    context = seqs[0][:50]
    s_last = prior.forward_filter(context)[-1].argmax()
    cold = next(prior.sample_stream(seed=0, temperature=0.0, block_frames=1, context=context))[0]
    s_next = (prior.forward_filter(context)[-1] @ prior.transmat_).argmax()  # temperature 0: the likeliest state
    assert np.abs(cold - (prior.coefs_[s_next] @ context[-1] + prior.intercepts_[s_next])).max() < 1e-12
    other = 1 - s_next
    assert np.abs(cold - (prior.coefs_[other] @ context[-1] + prior.intercepts_[other])).max() > 1e-3
    assert prior.forward_filter(context)[-1, s_last] > 0.99


def test_full_covariance_recovers_correlated_noise():
    rng = np.random.default_rng(3)
    C = np.array([[1.0, 0.8], [0.8, 1.0]]) * 0.05
    L = np.linalg.cholesky(C)
    seqs = []
    for _ in range(20):
        z, out = np.zeros(2), []
        for _ in range(100):
            z = 0.8 * z + np.array([0.5, -0.5]) + L @ rng.standard_normal(2)
            out.append(z)
        seqs.append(np.array(out))
    full = ARHMMPrior(n_states=1, covariance_type="full", n_iter=3, ridge=1e-3).fit(seqs)
    diag = ARHMMPrior(n_states=1, n_iter=3, ridge=1e-3).fit(seqs)
    np.testing.assert_allclose(full.covars_[0], C, atol=0.01)
    assert full.score(seqs) > diag.score(seqs) + 0.3  # the correlation is worth ~0.5 nats / frame


def test_through_the_pipeline(tiny_run, fsdd_root, tmp_path):
    """fit-prior (shared and per-digit), --digit generation and a --prompt continuation with the AR-HMM."""
    import soundfile as sf
    from conftest import invoke

    out = invoke("fit-prior", tiny_run, "--prior", "arhmm", "--label", "arhmm3", "--set", "prior.n_states=3",
                 "--per-label").output
    assert "arhmm3_label_1" in out and (tiny_run / "priors" / "arhmm3.npz").is_file()
    invoke("generate", tiny_run, "--prior", "arhmm3", "--digit", 1, "--count", 2, "--out-dir", tmp_path / "ones")
    assert len(list((tmp_path / "ones").glob("*.wav"))) == 2
    prompt = fsdd_root / "recordings" / "1_theo_2.wav"
    invoke("generate", tiny_run, "--prior", "arhmm3", "--prompt", prompt, "--seconds", 1, "--out", tmp_path / "c.wav")
    y, _ = sf.read(tmp_path / "c.wav")
    n_prompt = len(sf.read(prompt)[0]) // 400 * 400
    assert len(y) == n_prompt + 8000 and np.isfinite(y).all() and np.abs(y[n_prompt:]).max() > 1e-3
