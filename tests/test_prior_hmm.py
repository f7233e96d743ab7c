"""HMM prior: recovery of a known chain, EM monotonicity, scoring against hmmlearn, sampling, backends' traps."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from seqgen.priors import PRIORS, Prior
from seqgen.priors.hmm import HMMPrior
from seqgen.priors.hmm_torch import TorchBackend, torch_log_prob

BACKENDS = ["torch", "hmmlearn", "pomegranate"]
A_TRUE = np.array([[0.90, 0.07, 0.03], [0.05, 0.90, 0.05], [0.04, 0.06, 0.90]])
MU_TRUE = np.array([[0.0, 0.0], [6.0, 6.0], [-6.0, 6.0]])


def sample_chain(rng, n_seq=30, T=100, A=A_TRUE, mu=MU_TRUE, start=None):
    start = np.full(len(A), 1.0 / len(A)) if start is None else start
    seqs = []
    for _ in range(n_seq):
        s = [rng.choice(len(A), p=start)]
        for _ in range(T - 1):
            s.append(rng.choice(len(A), p=A[s[-1]]))
        seqs.append(mu[s] + rng.standard_normal((T, mu.shape[1])))
    return seqs


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def chain():
    return sample_chain(np.random.default_rng(0))


@pytest.fixture(scope="module", params=BACKENDS)
def fitted(request, chain):
    return HMMPrior(n_states=3, backend=request.param, n_iter=30).fit(chain)


def matched(h: HMMPrior, mu=MU_TRUE) -> np.ndarray:
    """State permutation aligning fitted means with the true ones."""
    perm = np.argmin(((h.means_[None] - mu[:, None]) ** 2).sum(-1), axis=1)
    assert sorted(perm) == [0, 1, 2]
    return perm


def known_params(K=3, D=2, end=False):
    """Sticky 3-state chain that almost always starts in state 0."""
    p = {"startprob_": np.array([0.98, 0.01, 0.01]), "transmat_": np.eye(3) * 0.94 + 0.02,
         "means_": MU_TRUE[:K, :D].copy(), "covars_": np.ones((K, D))}
    if end:
        p["endprob_"] = np.full(K, 0.05)
        p["transmat_"] = p["transmat_"] * 0.95
    return p


def make(params, **kw):
    h = HMMPrior(n_states=len(params["startprob_"]), **kw)
    h.load_state_dict(params)
    return h


# --------------------------------------------------------------------------- (a) (b) fitting
def test_recovers_known_chain(fitted):
    perm = matched(fitted)
    np.testing.assert_allclose(fitted.transmat_[np.ix_(perm, perm)], A_TRUE, atol=0.03)
    np.testing.assert_allclose(fitted.means_[perm], MU_TRUE, atol=0.15)
    np.testing.assert_allclose(fitted.covars_[perm], 1.0, atol=0.15)


def test_backends_agree(chain):
    """Same init, same maths: the three backends follow the same EM path."""
    fits = {b: HMMPrior(n_states=3, backend=b, n_iter=5, tol=0).fit(chain) for b in BACKENDS}
    ref = np.asarray(fits["hmmlearn"].history_)
    for b in ("torch", "pomegranate"):
        np.testing.assert_allclose(fits[b].history_, ref, rtol=1e-5 if b == "pomegranate" else 1e-7)
        np.testing.assert_allclose(fits[b].transmat_, fits["hmmlearn"].transmat_, atol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_em_likelihood_never_decreases(backend, chain):
    # hmmlearn's assert_log_likelihood_increasing; pure ML EM (no pseudo-count) is monotone
    h = HMMPrior(n_states=5, backend=backend, n_iter=10, tol=0, init="random", transmat_prior=0.0, random_state=3)
    h.fit(chain[:10])
    diff = np.diff(h.history_)
    slack = 1e-5 if backend == "pomegranate" else 1e-10  # pomegranate's E-step is float32
    assert len(diff) >= 5 and diff.min() > -slack, diff


# --------------------------------------------------------------------------- (c) scoring
@pytest.mark.parametrize("cov,n_mix", [("diag", 1), ("full", 1), ("diag", 2), ("full", 2)])
def test_forward_matches_hmmlearn_score(chain, cov, n_mix):
    from hmmlearn import hmm

    h = HMMPrior(n_states=3, covariance_type=cov, n_mix=n_mix, backend="hmmlearn", n_iter=2).fit(chain[:4])
    X, lengths = np.concatenate(chain[8:12]), [100] * 4
    ref = (hmm.GaussianHMM(3, covariance_type=cov) if n_mix == 1 else hmm.GMMHMM(3, n_mix, covariance_type=cov))
    for k, v in h.params.items():
        setattr(ref, k + "_", v)
    ref.n_features = 2
    np.testing.assert_allclose(h.log_prob(X, lengths).sum(), ref.score(X, lengths), rtol=1e-5)


@pytest.mark.parametrize("end", [False, True])
def test_torch_and_numpy_forward_agree(end):
    h = make(known_params(end=end), end_prob=end)
    seqs = sample_chain(np.random.default_rng(1), n_seq=5, T=40) + sample_chain(np.random.default_rng(2), 2, 7)
    np.testing.assert_allclose(torch_log_prob(h.params, seqs), h.log_prob(seqs), rtol=1e-10)
    if end:  # the exit term (and the rescaled transitions) change every sequence's likelihood
        assert not np.allclose(h.log_prob(seqs), make(known_params()).log_prob(seqs))


def test_filter_is_posterior_and_viterbi_decodes(chain):
    h = make(known_params())
    f = h.forward_filter(chain[0])
    np.testing.assert_allclose(f.sum(1), 1.0)
    path = h.predict(chain[0])
    assert (MU_TRUE[path] - chain[0]).__abs__().mean() < 1.5


# --------------------------------------------------------------------------- (d) persistence
def test_save_load_roundtrip(tmp_path, chain):
    h = HMMPrior(n_states=3, n_iter=5, end_prob=True).fit(chain)
    h.save(tmp_path / "hmm")
    g = Prior.load(tmp_path / "hmm")
    assert isinstance(g, HMMPrior) and PRIORS.resolve("hmm") is HMMPrior
    np.testing.assert_array_equal(g.log_prob(chain), h.log_prob(chain))
    for a, b in zip(g.sample([30, 5], seed=7), h.sample([30, 5], seed=7)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(g.history_, h.history_)
    assert g.get_config() == h.get_config()


# --------------------------------------------------------------------------- (e) (f) (h) sampling
@pytest.mark.parametrize("context", [False, True])
def test_stream_is_block_size_invariant(chain, context):
    h = make(known_params())
    ctx = chain[1][:20] if context else None
    runs = []
    for block in (1, 7, 64):
        gen = h.sample_stream(seed=5, block_frames=block, context=ctx)
        runs.append(np.concatenate([next(gen) for _ in range(-(-130 // block))])[:130])
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])
    if not context:  # one-shot sampling is the same sequence
        np.testing.assert_array_equal(h.sample([130], seed=5)[0], runs[0])


def test_context_conditions_the_continuation():
    # start almost always in state 0; the context sits in state 2 -> a continuation must start in 2
    h = make(known_params())
    context = MU_TRUE[[2] * 30] + np.random.default_rng(0).standard_normal((30, 2))
    base = h.log_prob(context)[0]

    def predictive(x):  # log p(x_1..5 | context) under the context-conditioned filter
        return h.log_prob(np.concatenate([context, x]))[0] - base

    warm = [next(h.sample_stream(seed=s, block_frames=5, context=context)) for s in range(40)]
    cold = [next(h.sample_stream(seed=s, block_frames=5)) for s in range(40)]
    # a cold start needs an unlikely switch (p = 0.02, -3.9 nats) to join the context's state
    assert np.mean([predictive(x) for x in warm]) > np.mean([predictive(x) for x in cold]) + 2.5
    nearest = lambda x: np.argmin(((x[0] - MU_TRUE) ** 2).sum(1))  # noqa: E731
    assert np.mean([nearest(x) == 2 for x in warm]) > 0.85 > 0.15 > np.mean([nearest(x) == 2 for x in cold])


def test_temperature_zero_gives_state_means():
    h = make(known_params())
    x = h.sample([300], seed=0, temperature=0.0)[0]
    assert all(np.any(np.all(row == h.means_, axis=1)) for row in x)
    assert len(np.unique(x, axis=0)) == 3  # the chain still moves through all three states


# --------------------------------------------------------------------------- (g) degenerate data
def degenerate(kind, rng):
    seqs = sample_chain(rng, n_seq=6, T=50)
    if kind == "constant_dim":
        return [np.column_stack([s, np.full(len(s), 3.0)]) for s in seqs]
    if kind == "duplicated":
        frames = rng.standard_normal((5, 2)) * 4
        return [frames[rng.integers(0, 5, 50)] for _ in range(6)]
    if kind == "huge_scale":
        return [s * 1e6 for s in seqs]
    return [s + 1e6 for s in seqs]  # huge offset


@pytest.mark.parametrize("kind", ["constant_dim", "duplicated", "huge_scale", "huge_offset"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_degenerate_data_never_nan(kind, backend):
    seqs = degenerate(kind, np.random.default_rng(4))
    h = HMMPrior(n_states=4, backend=backend, n_iter=8).fit(seqs)
    assert all(np.isfinite(v).all() for v in h.params.values())
    assert np.isfinite(h.history_).all() and np.isfinite(h.log_prob(seqs)).all()
    assert (h.covars_ >= h.min_covar).all()
    assert np.isfinite(h.sample([20], seed=0)[0]).all()


def test_too_many_states_is_a_clear_error():
    frames = np.repeat(np.eye(3), 40, axis=0)
    with pytest.raises(ValueError, match="cannot support n_states=5"):
        HMMPrior(n_states=5).fit(frames)


def test_dead_states_are_reseeded():
    # one state initialised far from all data never gets a frame: it must come back, not NaN
    seqs = sample_chain(np.random.default_rng(6), n_seq=4, T=60)
    h = HMMPrior(n_states=4, n_iter=6)
    p = h.initial_params(np.concatenate(seqs))
    p["means"][3] = 1e4
    backend_params, _, occ = TorchBackend(h, seqs).em_step(p)
    assert occ[3] < 1e-3
    h.n_reseeded_ = 0
    fixed = h._regularise(backend_params, occ, np.concatenate(seqs))
    assert h.n_reseeded_ == 1 and np.abs(fixed["means"][3]).max() < 100
    assert np.allclose(fixed["transmat"].sum(1), 1.0)


def test_hmmlearn_scaling_underflow_falls_back_to_log():
    from seqgen.priors.hmm_hmmlearn import HmmlearnBackend

    rng = np.random.default_rng(7)
    seqs = [rng.standard_normal((40, 40)) for _ in range(3)]
    h = HMMPrior(n_states=3, backend="hmmlearn")
    p = h.initial_params(np.concatenate(seqs))
    # narrow states far from the data: every exp(log b) underflows to 0 in the "scaling" pass
    p["means"] = p["means"] + 10.0
    p["covars"][:] = 1e-3
    backend = HmmlearnBackend(h, seqs)
    new, loglik, _ = backend.em_step(p)
    assert backend.implementation == "log" and "fell back" in backend.describe()
    # states that got no frame come back from hmmlearn as 0/0 = NaN: the core re-seeds them
    new = h._regularise(new, None, np.concatenate(seqs))
    assert np.isfinite(loglik) and all(np.isfinite(v).all() for v in new.values())


# --------------------------------------------------------------------------- (i) exits
def test_end_prob_sequences_end():
    rng = np.random.default_rng(8)
    seqs = [s[: rng.integers(10, 30)] for s in sample_chain(rng, n_seq=30, T=30)]
    fits = [HMMPrior(n_states=3, end_prob=True, backend=b, n_iter=6, tol=0).fit(seqs) for b in ("torch", "pomegranate")]
    np.testing.assert_allclose(fits[0].endprob_, fits[1].endprob_, atol=1e-3)
    h = fits[0]
    assert np.allclose(h.transmat_.sum(1) + h.endprob_, 1.0)
    out = h.sample_until_end(40, max_frames=1000, seed=0)
    lengths = np.array([len(x) for x in out])
    assert lengths.max() < 1000 and 8 < lengths.mean() < 40


# --------------------------------------------------------------------------- constructor
@pytest.mark.parametrize("kw,match", [
    ({"n_states": 0}, "n_states"), ({"covariance_type": "tied"}, "covariance_type"), ({"min_covar": 0}, "min_covar"),
    ({"backend": "nope"}, "backend"), ({"transmat_prior": -1}, "transmat_prior"), ({"device": "gpu"}, "device"),
    ({"backend": "pomegranate", "covariance_type": "full"}, "pomegranate"), ({"n_mix": 2}, "torch backend"),
    ({"backend": "hmmlearn", "end_prob": True}, "hmmlearn"), ({"backend": "pomegranate", "n_mix": 2}, "pomegranate"),
])
def test_bad_hyper_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        HMMPrior(**kw)


# --------------------------------------------------------------------------- pomegranate traps (checked, not trusted)
def test_pomegranate_known_issues():
    import torch
    from pomegranate.distributions import Normal
    from pomegranate.hmm import DenseHMM

    # diagonal Normal.sample uses the variance as the standard deviation
    x = Normal(means=[0.0], covs=[4.0], covariance_type="diag").sample(20000)
    assert abs(float(x.std()) - 4.0) < 0.2
    # DenseHMM.sample goes through .numpy() (fails for CUDA tensors)
    assert ".numpy()" in inspect.getsource(DenseHMM.sample)
    # min_cov is not applied by from_summaries
    n = Normal(covariance_type="diag", min_cov=1.0)
    n.fit(np.random.default_rng(0).normal(size=(500, 2)).astype(np.float32) * 0.1)
    assert (n.covs < 0.1).all()
    # float64 parameters fail
    d64 = [Normal(means=np.zeros(2), covs=np.ones(2), covariance_type="diag") for _ in range(2)]
    with pytest.raises(RuntimeError):
        DenseHMM(d64, edges=np.full((2, 2), 0.5), starts=np.full(2, 0.5)).fit(np.zeros((3, 10, 2)))
    # its own k-means init crashes on an empty cluster
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]], np.float32), 50, axis=0).reshape(5, 20, 2)
    with pytest.raises(IndexError):
        DenseHMM([Normal(covariance_type="diag") for _ in range(4)], max_iter=2, random_state=0).fit(X)
    # default ends are uniform 1/K and enter every likelihood: log p_pg = log p + log(1/K)
    h = make(known_params())
    z = sample_chain(np.random.default_rng(3), n_seq=1, T=30)[0]
    f32 = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    dists = [Normal(means=f32(m), covs=f32(v), covariance_type="diag") for m, v in zip(h.means_, h.covars_)]
    pg = DenseHMM(dists, edges=f32(h.transmat_), starts=f32(h.startprob_))
    lp = float(pg.log_probability(f32(z[None]))[0])
    assert lp == pytest.approx(h.log_prob(z)[0] + np.log(1 / 3), rel=1e-5)
    # the adapter's model (ends = 1) scores like seqgen; its chunks bound the (n, T-1, K, K) tensor
    from seqgen.priors.hmm_pomegranate import PomegranateBackend

    be = PomegranateBackend(h, [z] * 10, chunk_bytes=3 * 29 * 9 * 4)
    assert [c.shape[0] for c in be.chunks] == [3, 3, 3, 1]
    _, loglik, _ = be.em_step(h.params)
    assert loglik == pytest.approx(10 * h.log_prob(z)[0], rel=1e-5)
