"""The contract every registered prior satisfies (fit, log_prob, score, sample, stream, save/load, errors)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import norm

from seqgen.priors import PRIORS, Prior  # importing seqgen.priors registers the built-ins

D = 3

# Small, fast settings per registered name (several entries = several params). A prior registered
# later without an entry here is still tested, with its default settings. "history": the fitted prior
# must keep its training log-likelihood history (``history_``); "em": it must be non-decreasing.
# "bad": kwargs the constructor must reject.
CONFIGS: dict[str, list[dict]] = {
    "gaussian": [dict(kwargs=dict(covariance_type=c), bad=dict(covariance_type="bogus")) for c in ("spherical", "diag", "full")],
    "gmm": [dict(kwargs=dict(n_components=3, max_iter=30), history=True, em=True, bad=dict(n_components=0))],
    "hmm": [
        dict(kwargs=dict(n_states=3, n_iter=5, backend=b), history=True, em=True, bad=dict(n_states=0),
             id=f"hmm-{b}")
        for b in ("torch", "hmmlearn", "pomegranate")
    ] + [dict(kwargs=dict(n_states=3, n_iter=5, covariance_type="full"), em=True, bad=dict(n_states=0),
              id="hmm-torch-full")],
    "ar": [dict(kwargs=dict(hidden=16, n_mix=2, max_epochs=4, batch_size=4, lr=1e-2), history=True,
                bad=dict(hidden=0))],
    "arhmm": [dict(kwargs=dict(n_states=3, n_iter=5, covariance_type=c), history=True, em=True,
                   bad=dict(ridge=-1.0), id=f"arhmm-{c}") for c in ("diag", "full")],
    "lde": [dict(kwargs=dict(n_mix=2, max_filters=8, max_epochs=4, batch_size=32, lr=1e-2), history=True,
                 bad=dict(n_mix=0))],
}


def _params():
    out = []
    for name in PRIORS.names():
        for cfg in CONFIGS.get(name, [dict(kwargs={})]):
            cov = cfg["kwargs"].get("covariance_type") if name == "gaussian" else None
            label = cfg.get("id") or (f"{name}-{cov}" if cov else name)
            out.append(pytest.param((name, cfg, label), id=label))
    return out


def make_sequences(seed: int = 0, n_seq: int = 16) -> list[np.ndarray]:
    """Sticky 2-state switching sequences in 3-D, far from N(0, I) (so every learned prior must beat it)."""
    rng = np.random.default_rng(seed)
    means = np.array([[5.0, -2.0, 1.0], [-1.0, 3.0, 4.0]])
    seqs = []
    for _ in range(n_seq):
        T = int(rng.integers(8, 30))
        s = np.empty(T, dtype=int)
        s[0] = rng.integers(2)
        for t in range(1, T):
            s[t] = s[t - 1] if rng.random() < 0.9 else 1 - s[t - 1]
        seqs.append(means[s] + 0.5 * rng.standard_normal((T, D)))
    return seqs


pytestmark = pytest.mark.usefixtures("one_torch_thread")


_FITTED: dict[str, Prior] = {}


@pytest.fixture(params=_params())
def case(request):
    """``(name, cfg, fitted prior, training sequences)``; each prior is fitted once per session."""
    name, cfg, key = request.param
    seqs = make_sequences()
    if key not in _FITTED:
        _FITTED[key] = PRIORS.resolve(name)(**cfg["kwargs"]).fit(seqs)
    return name, cfg, _FITTED[key], seqs


def _history(prior):
    h = getattr(prior, "history_", None)
    return None if h is None else np.asarray(h, dtype=np.float64)


class TestPriorContract:
    def test_fit_and_config(self, case):
        name, cfg, prior, seqs = case
        assert prior.dim_ == D and prior.name == name
        conf = prior.get_config()
        json.dumps(conf)  # plain data: it goes into <path>.json
        type(prior)(**conf)  # and rebuilds the prior
        if "bad" in cfg:  # constructors validate their hyper-parameters
            with pytest.raises(ValueError):
                type(prior)(**{**cfg["kwargs"], **cfg["bad"]})

    def test_log_prob_and_score(self, case):
        _, _, prior, seqs = case
        lp = prior.log_prob(seqs)
        assert lp.shape == (len(seqs),) and lp.dtype == np.float64 and np.isfinite(lp).all()
        n_frames = sum(len(s) for s in seqs)
        assert prior.score(seqs) == pytest.approx(lp.sum() / n_frames, rel=1e-12)

    def test_list_equals_concat_with_lengths(self, case):
        _, _, prior, seqs = case
        X, lengths = np.concatenate(seqs), [len(s) for s in seqs]
        np.testing.assert_allclose(prior.log_prob(X, lengths), prior.log_prob(seqs), rtol=1e-10, atol=1e-8)
        assert prior.log_prob(X).shape == (1,)  # no lengths: one sequence

    def test_sample_shapes_and_seeds(self, case):
        _, _, prior, _ = case
        lengths = [4, 1, 9]
        out = prior.sample(lengths, seed=7)
        assert [x.shape for x in out] == [(T, D) for T in lengths]
        assert all(np.isfinite(x).all() for x in out)
        again = prior.sample(lengths, seed=7)
        for a, b in zip(out, again):
            np.testing.assert_array_equal(a, b)
        other = prior.sample(lengths, seed=8)
        assert not np.allclose(out[2], other[2])
        cold = prior.sample([5], seed=7, temperature=0.0)
        assert cold[0].shape == (5, D) and np.isfinite(cold[0]).all()
        with pytest.raises(ValueError):
            prior.sample([3], temperature=-1.0)

    def test_save_load_identical(self, case, tmp_path):
        name, _, prior, seqs = case
        prior.save(tmp_path / "prior")
        for loaded in (Prior.load(tmp_path / "prior"), PRIORS.resolve(name).load(tmp_path / "prior")):
            assert type(loaded) is type(prior) and loaded.get_config() == prior.get_config()
            np.testing.assert_allclose(loaded.log_prob(seqs), prior.log_prob(seqs), rtol=1e-12, atol=0)
            for a, b in zip(loaded.sample([6, 2], seed=3), prior.sample([6, 2], seed=3)):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)

    def test_fitting_raises_training_likelihood(self, case):
        _, cfg, prior, seqs = case
        score = prior.score(seqs)
        X = np.concatenate(seqs)
        fixed_base = norm.logpdf(X).sum(1).mean()  # the paper's fixed N(0, I)
        assert score > fixed_base + 1.0
        h = _history(prior)
        if cfg.get("history"):
            assert h is not None and len(h) >= 1, "the prior lost its training history_"
        if h is not None and len(h) > 1:
            assert np.isfinite(h).all()
            if cfg.get("em"):  # EM never lowers the likelihood (hmmlearn's assert_log_likelihood_increasing)
                assert (np.diff(h) >= -1e-6 * np.abs(h[:-1]).clip(1.0)).all(), h
            else:  # gradient training: the fitted model beats its own initialisation
                assert h.max() > h[0] and score > h[0], h

    def test_unfitted_use_raises(self, case, tmp_path):
        name, cfg, _, seqs = case
        fresh = PRIORS.resolve(name)(**cfg["kwargs"])
        with pytest.raises(RuntimeError):
            fresh.log_prob(seqs)
        with pytest.raises(RuntimeError):
            fresh.sample([3], seed=0)
        with pytest.raises(RuntimeError):
            fresh.save(tmp_path / "nope")
        with pytest.raises(RuntimeError):
            next(fresh.sample_stream(seed=0))

    def test_wrong_dim_raises(self, case):
        _, _, prior, seqs = case
        with pytest.raises(ValueError):
            prior.log_prob([np.zeros((5, D + 1))])
        with pytest.raises(ValueError):
            prior.score(np.zeros((5, D - 1)))
        if not prior.iid_frames:  # priors with memory read the context
            with pytest.raises(ValueError):
                next(prior.sample_stream(seed=0, context=np.zeros((4, D + 1))))

    @pytest.mark.parametrize("with_context", [False, True])
    def test_stream_blocks_concatenate_identically(self, case, with_context):
        _, _, prior, seqs = case
        context = seqs[0][:6] if with_context else None
        n = 24

        def take(block):
            it = prior.sample_stream(seed=11, temperature=1.0, block_frames=block, context=context)
            out = []
            while sum(len(b) for b in out) < n:
                b = next(it)
                assert b.shape == (block, D)
                out.append(b)
            return np.concatenate(out)[:n]

        ref = take(1)
        assert np.isfinite(ref).all()
        for block in (5, 8, 24):
            np.testing.assert_allclose(take(block), ref, rtol=1e-12, atol=1e-12)

