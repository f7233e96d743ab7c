"""Numerical safety of the i.i.d. priors on degenerate latents: never NaN/Inf, clear errors."""
import numpy as np
import pytest

from seqgen.priors import PRIORS


def degenerate(kind, rng):
    X = rng.standard_normal((400, 6))
    if kind == "constant_dim":
        X[:, 2] = 3.0
    elif kind == "duplicated":
        X = np.repeat(X[:20], 20, axis=0)
    elif kind == "huge_scale":
        X = X * 1e6
    elif kind == "huge_offset":
        X = X + 1e6
    return X


@pytest.mark.parametrize("kind", ["constant_dim", "duplicated", "huge_scale", "huge_offset"])
@pytest.mark.parametrize("name, kwargs", [("gaussian", {"covariance_type": "full"}),
                                          ("gaussian", {"covariance_type": "diag"}),
                                          ("gmm", {"n_components": 4}),
                                          ("gmm", {"n_components": 3, "covariance_type": "diag"})])
def test_iid_priors_stay_finite(kind, name, kwargs, rng):
    X = degenerate(kind, rng)
    prior = PRIORS.resolve(name)(**kwargs).fit(X, [len(X)])
    assert np.isfinite(prior.log_prob(X, [len(X)])).all()
    assert all(np.isfinite(s).all() for s in prior.sample([50], seed=0))


def test_gmm_more_components_than_frames_is_a_clear_error(rng):
    with pytest.raises(ValueError, match="component"):
        PRIORS.resolve("gmm")(n_components=30).fit(rng.standard_normal((10, 4)))
