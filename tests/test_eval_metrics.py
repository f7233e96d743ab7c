"""Generative metrics on inputs with known answers; the digit classifier on a small FSDD subset; eval/score CLI."""
from __future__ import annotations

import math

import numpy as np
import pytest

from seqgen.evaluation import generative as gm


def one_hot(classes, C=10, eps=0.0):
    P = np.full((len(classes), C), eps / (C - 1))
    P[np.arange(len(classes)), classes] = 1.0 - eps
    return P


def exact_gaussian(rng, n, mean, cov):
    """n points whose sample mean and (N-1) covariance are exactly ``mean`` / ``cov``."""
    x = rng.normal(size=(n, len(mean)))
    x -= x.mean(0)
    x = x @ np.linalg.inv(np.linalg.cholesky(np.atleast_2d(np.cov(x, rowvar=False)))).T  # whiten: sample cov = I
    return x @ np.linalg.cholesky(cov).T + mean


# ------------------------------------------------------------------ IS / mIS / AM / coverage
def test_inception_score_extremes():
    assert gm.inception_score(one_hot(np.repeat(np.arange(10), 7))) == pytest.approx(10.0)
    assert gm.inception_score(one_hot([3] * 50)) == pytest.approx(1.0)
    assert gm.inception_score(np.full((20, 10), 0.1)) == pytest.approx(1.0)
    # two equally likely, certain classes
    assert gm.inception_score(one_hot([0, 1] * 10)) == pytest.approx(2.0)
    # soft posteriors: p(y) = (1/2, 1/2), KL(p(y|x) || p(y)) = 0.8 log 1.6 + 0.2 log 0.4 for both rows
    soft = np.array([[0.8, 0.2], [0.2, 0.8]])
    assert gm.inception_score(soft) == pytest.approx(math.exp(0.8 * math.log(1.6) + 0.2 * math.log(0.4)), rel=1e-12)


def test_modified_inception_score_known_values():
    assert gm.modified_inception_score(one_hot([3] * 40, eps=0.1)) == pytest.approx(1.0)
    eps = 0.05
    P = one_hot(np.repeat(np.arange(10), 5), eps=eps)
    # KL between smoothed one-hots of different classes; 9/10 of all ordered pairs differ in class.
    kl = (1 - eps) * math.log((1 - eps) / (eps / 9)) + (eps / 9) * math.log((eps / 9) / (1 - eps))
    assert gm.modified_inception_score(P) == pytest.approx(math.exp(0.9 * kl), rel=1e-9)
    # mIS >= IS-like diversity: a random mix is between 1 and the certain-uniform value
    assert 1.0 < gm.modified_inception_score(one_hot(np.arange(10) % 3, eps=eps)) < math.exp(0.9 * kl)


def test_am_score_known_values():
    half = np.full((8, 2), 0.5)
    assert gm.am_score(half, [0.5, 0.5]) == pytest.approx(math.log(2))
    assert gm.am_score(half, [0.8, 0.2]) == pytest.approx(0.8 * math.log(1.6) + 0.2 * math.log(0.4) + math.log(2))
    assert gm.am_score(one_hot(np.repeat(np.arange(10), 3)), np.full(10, 0.1)) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        gm.am_score(half, [0.5, 0.3, 0.2])


def test_digits_covered_and_bad_input():
    assert gm.digits_covered(one_hot([0, 0, 3, 9])) == 3
    assert gm.digits_covered(one_hot([0, 0, 3, 9]), min_count=2) == 1
    with pytest.raises(ValueError):
        gm.inception_score(np.ones((3, 10)))  # rows do not sum to 1


# ------------------------------------------------------------------ FID / NDB / NN
def test_frechet_distance_self_and_closed_form(rng):
    a = rng.normal(size=(400, 6))
    assert gm.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # 1-D: (mu_a - mu_b)^2 + (sigma_a - sigma_b)^2
    x = exact_gaussian(rng, 300, np.array([1.0]), np.array([[4.0]]))
    y = exact_gaussian(rng, 500, np.array([-2.0]), np.array([[9.0]]))
    assert gm.frechet_distance(x, y) == pytest.approx(9.0 + 1.0, rel=1e-9)
    # full covariances: compare with Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2), an equivalent form
    A = rng.normal(size=(4, 4)); B = rng.normal(size=(4, 4))
    Sa, Sb = A @ A.T + 0.5 * np.eye(4), B @ B.T + 0.5 * np.eye(4)
    ma, mb = rng.normal(size=4), rng.normal(size=4)
    x, y = exact_gaussian(rng, 200, ma, Sa), exact_gaussian(rng, 300, mb, Sb)

    def psd_sqrt(S):
        w, V = np.linalg.eigh(S)
        return (V * np.sqrt(np.maximum(w, 0))) @ V.T

    ra = psd_sqrt(Sa)
    expected = np.sum((ma - mb) ** 2) + np.trace(Sa + Sb - 2 * psd_sqrt(ra @ Sb @ ra))
    assert gm.frechet_distance(x, y) == pytest.approx(expected, rel=1e-7)
    # and the pytorch-fid formula with scipy's sqrtm
    import scipy.linalg

    fd = np.sum((ma - mb) ** 2) + np.trace(Sa + Sb - 2 * np.real(scipy.linalg.sqrtm(Sa @ Sb)))
    assert gm.frechet_distance(x, y) == pytest.approx(fd, rel=1e-7)


def test_frechet_distance_of_singular_covariances(rng):
    """Fewer samples than dimensions (the eval's 12-20 clips in 128-d features): FD(x, x) is 0 to
    round-off, not a negative value hidden by a clamp, and a shift by c adds exactly ‖c‖²."""
    import warnings

    x = rng.normal(size=(12, 128)) * rng.uniform(0.1, 10, 128)
    scale = 2 * np.trace(np.cov(x, rowvar=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "negative Fréchet distance" warning either
        assert abs(gm.frechet_distance(x, x)) < 1e-12 * scale
        assert gm.frechet_distance(x, x + 0.5) == pytest.approx(0.25 * 128, rel=1e-9)
        assert gm.frechet_distance(x[:2], x[:2]) == pytest.approx(0.0, abs=1e-12 * scale)  # rank 1


def test_negative_frechet_distance_is_reported_not_clamped(rng, monkeypatch):
    """A faulty matrix square root (here: singular values 1 % too large) must show, not become 0."""
    x = rng.normal(size=(50, 4))
    svd = np.linalg.svd
    monkeypatch.setattr(np.linalg, "svd", lambda a, **kw: 1.01 * svd(a, **kw))
    with pytest.warns(RuntimeWarning, match="negative Fréchet distance"):
        fd = gm.frechet_distance(x, x)
    assert fd < -0.01 * np.trace(np.cov(x, rowvar=False))


def test_ndb_same_vs_shifted(rng):
    tr = rng.normal(size=(2000, 3))
    same = gm.ndb(tr, rng.normal(size=(1000, 3)), k=10)
    shifted = gm.ndb(tr, rng.normal(size=(1000, 3)) + 1.0, k=10)
    assert same["k"] == 10 and same["ndb"] <= 3
    assert shifted["ndb"] >= 7


def test_nearest_neighbour_distances():
    ref = np.array([[0.0, 0.0], [3.0, 4.0]])
    q = np.array([[0.0, 1.0], [3.0, 4.0], [6.0, 8.0]])
    np.testing.assert_allclose(gm.nearest_neighbour_distances(q, ref), [1.0, 0.0, 5.0], atol=1e-12)
    np.testing.assert_allclose(gm.nearest_neighbour_distances(ref, ref, exclude_self=True), [5.0, 5.0])


# ------------------------------------------------------------------ the digit classifier on a subset
TRAIN_TAKES, TEST_TAKES = (5, 6, 7), (0, 1)


@pytest.fixture(scope="module")
def fsdd_subset(fsdd_root, tmp_path_factory):
    """A small FSDD (all speakers and digits, 3 training takes, 2 test takes) made of symlinks."""
    root = tmp_path_factory.mktemp("fsdd_subset")
    rec = root / "recordings"
    rec.mkdir()
    src = fsdd_root / "recordings" if (fsdd_root / "recordings").is_dir() else fsdd_root
    for p in src.glob("*.wav"):
        if int(p.stem.split("_")[2]) in TRAIN_TAKES + TEST_TAKES:
            (rec / p.name).symlink_to(p)
    return root


@pytest.fixture(scope="module")
def subset_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("seqgen_cache")


def test_classifier_beats_chance_and_cache_round_trip(fsdd_subset, subset_cache):
    import torch

    from seqgen.evaluation.classifier import DigitClassifier, _load, fsdd_files, get_classifier

    clf = get_classifier(fsdd_subset, progress=False, cache=subset_cache / "classifiers")
    assert clf.info["n_train"] == 180 and clf.info["n_test"] == 120
    # held-out takes of the same speakers: chance is 0.1
    assert clf.info["test_accuracy"] >= 0.5, clf.info
    x, y = _load(fsdd_files(fsdd_subset, "test"), progress=False)
    P, F = clf.predict_proba(x[:12]), clf.features(x[:12])
    assert P.shape == (12, 10) and F.shape == (12, DigitClassifier.n_features)
    np.testing.assert_allclose(P.sum(1), 1.0, atol=1e-6)
    # level and sample-rate invariance of the front end (within resampling error)
    np.testing.assert_allclose(clf.predict_proba([0.1 * x[0]]), P[:1], atol=1e-4)
    import soxr

    np.testing.assert_allclose(clf.predict_proba([soxr.resample(x[0], 8000, 16000)], sr=16000), P[:1], atol=0.02)
    silent = clf.classify([np.zeros(3000, np.float32)])  # silence is silence, not a level-normalised flat spectrum
    assert np.isfinite(silent[0]).all() and np.isfinite(silent[1]).all()

    again = get_classifier(fsdd_subset, progress=False, cache=subset_cache / "classifiers")  # from the cache
    assert again.info["cache_key"] == clf.info["cache_key"]
    for (k, v), (k2, v2) in zip(clf.net.state_dict().items(), again.net.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    np.testing.assert_array_equal(again.predict_proba(x[:12]), P)
    assert len(list((subset_cache / "classifiers").glob("*.pt"))) == 1


def test_cache_key_tracks_training_files(fsdd_subset):
    from seqgen.evaluation.classifier import cache_key, fsdd_files

    files = fsdd_files(fsdd_subset, "train")
    assert cache_key(files) == cache_key(list(reversed(files)))
    assert cache_key(files[1:]) != cache_key(files)


def test_fit_length():
    from seqgen.evaluation.classifier import N_SAMPLES, fit_length

    short = np.ones(100, np.float32)
    y = fit_length(short)
    assert len(y) == N_SAMPLES and y.sum() == 100 and y[(N_SAMPLES - 100) // 2] == 1
    long = np.zeros(3 * N_SAMPLES, np.float32)
    long[2 * N_SAMPLES + 10] = 1.0  # the loudest second must contain the click
    assert fit_length(long).sum() == 1.0


# ------------------------------------------------------------------ end to end (needs the autoencoder + pipeline)
def test_eval_and_score_cli_end_to_end(fsdd_subset, subset_cache, data_root, tmp_path, monkeypatch):
    """`seqgen eval` / `seqgen score` on a run trained for 1 epoch with a Gaussian prior (< 60 s)."""
    import json

    import soundfile as sf
    from click.testing import CliRunner

    from seqgen.cli.main import cli
    from seqgen.config import Config
    from seqgen.pipeline.train import train

    monkeypatch.setenv("SEQGEN_CACHE", str(subset_cache))  # reuses the subset classifier trained above
    cfg = Config()
    cfg.train.epochs = 1
    cfg.prior.type = "gaussian"
    cfg.data.options = {"speakers": ["george"]}
    run = tmp_path / "run"
    train(cfg, run, data=str(fsdd_subset), progress=False, generate_examples=1)

    r = CliRunner().invoke(cli, ["-q", "eval", str(run), "--count", "12", "--data", str(fsdd_subset)])
    assert r.exit_code == 0, r.output
    assert "real test split" in r.output and "FID(test)" in r.output
    res = json.loads((run / "eval.json").read_text())["default"]
    rows = res["rows"]
    gen, real = rows["generated"], rows["real_test"]
    assert gen["n"] == 12 and real["n"] == 20  # george's two test takes of ten digits
    # IS = exp(H(p(y)) - E_x H(p(y|x))) <= C exp(-E_x H(p(y|x))): each row's own mean entropy bounds its IS
    for row in rows.values():
        assert 1.0 <= row["inception_score"] <= 10 * math.exp(-row["mean_entropy"]) + 1e-9, row
    # the real test split is the reference: it covers the digits, scores a higher IS than the 1-epoch
    # model's samples (all one digit: IS ~ 1) and is far closer to the training split
    assert real["digits_covered"] >= 8 and real["inception_score"] > gen["inception_score"] + 0.05, rows
    assert real["fid_train"] < 0.1 * gen["fid_train"], rows
    # pYIN voicing: real digits mostly voiced; every row measured on its first clips
    assert real["voicing"]["voiced_fraction"] > 0.5 and gen["voicing"]["n_clips"] == 12, rows
    assert "voiced" in r.output and "f0 median" in r.output
    mem = res["memorisation"]
    assert mem["test_nn_train_median"] == real["nn_train_distance_median"]
    assert mem["ratio"] == pytest.approx(gen["nn_train_distance_median"] / real["nn_train_distance_median"])
    assert mem["ratio"] > 2 and mem["fraction_closer_than_test_p5"] == 0, mem  # noise copies nothing
    trained = json.loads((run / "metrics.json").read_text())["priors"]["default"]
    assert res["prior_test_ll_per_frame"] == pytest.approx(trained["test_ll_per_frame"], rel=1e-9)

    # reference for the memorisation check: "generate" the training clips themselves
    def training_clips(self, count, seed=None, temperature=1.0, lengths=None):
        files = sorted((fsdd_subset / "recordings").glob("*_george_[5-7].wav"))[:count]
        return [sf.read(f, dtype="float32")[0] for f in files]

    with monkeypatch.context() as m:
        m.setattr("seqgen.pipeline.generate.Generator.examples", training_clips)
        r = CliRunner().invoke(cli, ["-q", "eval", str(run), "--count", "12", "--no-reference",
                                     "--data", str(fsdd_subset)])
    assert r.exit_code == 0, r.output
    copies = json.loads((run / "eval.json").read_text())["default"]["memorisation"]
    assert copies["ratio"] < 1e-3 and copies["fraction_closer_than_test_p5"] == 1.0, copies

    # --compare: every prior fitted on the run, in one table
    r = CliRunner().invoke(cli, ["-q", "fit-prior", str(run), "--prior", "gmm", "--set", "prior.n_components=2"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["-q", "eval", str(run), "--compare", "--count", "12", "--no-reference",
                                 "--data", str(fsdd_subset)])
    assert r.exit_code == 0, r.output
    assert "generated: default (gaussian)" in r.output and "generated: gmm (gmm)" in r.output
    assert {"default", "gmm"} <= set(json.loads((run / "eval.json").read_text()))

    digit = next((fsdd_subset / "recordings").glob("3_george_0.wav"))
    violin_src = sorted((data_root / "violin_bach_bwv1002_garner").glob("*.flac"))[0]
    x, sr = sf.read(violin_src, frames=5 * 44100, dtype="float32", always_2d=True)
    violin = tmp_path / "violin.wav"
    sf.write(violin, x.mean(1), sr)
    scores = {}
    for name, path in (("digit", digit), ("violin", violin)):
        r = CliRunner().invoke(cli, ["-q", "score", str(path), str(run), "--data", str(fsdd_subset), "--json"])
        assert r.exit_code == 0, r.output
        scores[name] = json.loads(r.output)
    # a held-out digit is more typical of a digit model than a violin is: among the run's test
    # utterances (the percentiles' reference) it ranks in the bulk, the violin at the bottom
    digit, violin = scores["digit"], scores["violin"]
    assert digit["prior_ll_per_frame"] > violin["prior_ll_per_frame"]
    assert digit["total_per_frame"] > violin["total_per_frame"] + 50, scores
    # (a 1-epoch model: which of the 20 test utterances rank below the violin depends on float summation
    # order, i.e. on the thread count; the violin stays in the bottom tenth, the digit far above it)
    assert violin["prior_ll_percentile"] <= 10 and digit["prior_ll_percentile"] >= violin["prior_ll_percentile"] + 50, \
        scores
