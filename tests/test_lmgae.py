"""LMGAE (Mondal et al.): the latent mask, the WGAN-GP penalty, the schedules, exact resume, the synthetic
manifold data, and the synthetic recipe end to end through the CLI."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from conftest import REPO, invoke

from seqgen.codecs.masked_mlp import ACTIVE_THRESHOLD, LatentMask, MaskedMLPAutoencoder
from seqgen.data.synthetic_manifold import RandomManifold
from seqgen.training.adversarial import gradient_penalty
from seqgen.training.lmgae import LMGAE, c_poly, lr_scale, schedule_unit
from seqgen.training.loop import train_codec

SYNTH_TINY = ["data.n_train=256", "data.n_test=128", "train.epochs=2", "train.batch_size=32",
              "autoencoder.hidden_dims=[32]", "autoencoder.latent_dim=4", "train.critic_hidden=[16]"]


def tiny_codec(n: int = 6, mask: bool = True) -> MaskedMLPAutoencoder:
    torch.manual_seed(0)
    return MaskedMLPAutoencoder(unit_shape=[10], latent_dim=n, hidden_dims=[16], output="linear", mask=mask)


def units(n: int = 64, seed: int = 0) -> np.ndarray:
    return RandomManifold(d=2, dim=10, hidden=8, n_train=n, n_test=8, seed=seed).vectors("train")


# ---------------------------------------------------------------- the mask
def test_mask_parametrisation_init_range_and_projection():
    torch.manual_seed(1)
    mask = LatentMask(1000)
    phi = mask.phi.detach()
    assert phi.min() >= 0 and phi.max() <= 5 and phi.max() > 4.9 and phi.min() < 0.1  # U(0, 5)
    m = mask().detach()
    assert torch.allclose(m, 1 - torch.exp(-phi)) and m.min() >= 0 and m.max() < 1
    opt = torch.optim.SGD(mask.parameters(), lr=10.0)
    mask().sum().backward()  # gradient ascent on phi's negative: a big step drives every phi below 0
    opt.step()
    assert (mask.phi < 0).any()
    mask.clamp_()
    assert (mask.phi >= 0).all() and (mask() == 0).any()


def test_active_dimensions_and_prior_coordinates():
    codec = tiny_codec(4)
    with torch.no_grad():  # m >= 0.1  <=>  phi >= -log(0.9) = 0.1054
        codec.latent_mask.phi.copy_(torch.tensor([0.0, 0.10, 0.11, 3.0]))
    assert codec.active().tolist() == [2, 3] and codec.prior_dim == 2
    assert math.isclose(-math.log(1 - ACTIVE_THRESHOLD), 0.10536, rel_tol=1e-4)
    z = codec.encode(torch.as_tensor(units(5)))
    u = codec.to_prior(z)
    assert u.shape == (5, 2)
    back = codec.from_prior(u)  # active coordinates exactly back, inactive ones zero
    assert torch.allclose(back[:, 2:], z[:, 2:], atol=1e-6) and (back[:, :2] == 0).all()
    with torch.no_grad():
        codec.latent_mask.phi.copy_(torch.tensor([0.0, 0.01, 0.05, 0.02]))
    assert codec.active().tolist() == [2]  # a collapsed mask still leaves its largest dimension
    assert tiny_codec(4, mask=False).prior_dim == 4


# ---------------------------------------------------------------- WGAN-GP
def test_gradient_penalty_of_a_linear_critic_is_exact():
    w = torch.tensor([3.0, 4.0])  # ||w|| = 5: penalty (5 - 1)^2 = 16 at every interpolate
    critic = torch.nn.Linear(2, 1, bias=True)
    with torch.no_grad():
        critic.weight.copy_(w[None])
    a, b = torch.randn(7, 2), torch.randn(7, 2)
    gp = gradient_penalty(lambda u: critic(u).squeeze(-1), a, b)
    assert torch.isclose(gp, torch.tensor(16.0))
    gp.backward()  # differentiable in the critic: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    assert torch.allclose(critic.weight.grad[0], 2 * 4 * w / 5)


def test_gradient_penalty_is_zero_for_a_unit_norm_critic():
    critic = torch.nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.6, 0.0, 0.8]]))
    assert gradient_penalty(lambda u: critic(u).squeeze(-1), torch.randn(5, 3), torch.randn(5, 3)).item() < 1e-12


# ---------------------------------------------------------------- schedules
def test_schedule_unit_and_c_poly_boundaries():
    assert [schedule_unit(n) for n in (8, 20, 21, 48, 100)] == [75, 75, 2362, 5400, 10000]
    R, n = 75, 8
    assert c_poly(0, n, R) == c_poly(299, n, R) == 0.25
    assert c_poly(300, n, R) == 0.5 and c_poly(599, n, R) == 0.5 and c_poly(600, n, R) == 1.0
    assert c_poly(10**9, n, R) == 2048.0  # capped
    assert lr_scale(374, R) == 1.0 and lr_scale(375, R) == 0.2


def test_objective_applies_the_lr_drop_at_step_5R():
    codec = tiny_codec(4)
    obj = LMGAE(codec, schedule_steps=1, critic_hidden=[8], critic_steps=1)
    opts = obj.configure(1e-3)
    x = torch.as_tensor(units(16))
    idx = torch.arange(16)[:, None]
    lrs = []
    for _ in range(7):
        obj.step(idx, x, opts)
        lrs.append((opts["critic"].param_groups[0]["lr"], opts["mask"].param_groups[0]["lr"]))
    assert obj.step_count == 7
    assert lrs[4] == pytest.approx((1e-3, 5e-3)) and lrs[5] == pytest.approx((2e-4, 1e-3))  # steps 4, 5
    assert (obj.codec.latent_mask.phi >= 0).all()


def test_lmgae_needs_the_masked_codec():
    from seqgen.codecs.image.mlp import MLPAutoencoder

    with pytest.raises(ValueError, match="masked_mlp"):
        LMGAE(MLPAutoencoder())


# ---------------------------------------------------------------- resume
def _train(epochs, path, resume):
    codec = tiny_codec(4)
    torch.manual_seed(3)  # the objective's noise seed
    obj = LMGAE(codec, critic_hidden=[8], critic_steps=2, schedule_steps=2)
    train_codec(codec, obj, [u[None] for u in units(48)], epochs=epochs, batch_size=16, segment_units=1, lr=1e-3,
                checkpoint_path=path, resume=resume, progress=False)
    return codec, obj


def test_resume_equals_uninterrupted(tmp_path):
    full, full_obj = _train(3, tmp_path / "a.pt", False)
    _train(1, tmp_path / "b.pt", False)
    resumed, res_obj = _train(3, tmp_path / "b.pt", True)
    assert res_obj.step_count == full_obj.step_count == 9  # 48 / 16 batches x 3 epochs; the lr drop is at 10
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    for a, b in zip(full_obj.critic.parameters(), res_obj.critic.parameters()):
        assert torch.equal(a, b)


# ---------------------------------------------------------------- the masked Gaussian prior
def test_masked_gaussian_is_lmgae_generator_or_its_ml_scale():
    from scipy.stats import norm

    from seqgen.priors import PRIORS

    X = np.random.default_rng(0).standard_normal((4000, 3)) * [0.5, 1.0, 2.0] + 0.1
    exact = PRIORS.resolve("masked_gaussian")(learn_scale=False).fit(X)
    np.testing.assert_allclose(exact.log_prob([X[:5]]), norm.logpdf(X[:5]).sum(), rtol=1e-10)
    fitted = PRIORS.resolve("masked_gaussian")().fit(X)
    np.testing.assert_allclose(fitted.covariance_, (X**2).mean(0) + 1e-6, rtol=1e-10)
    assert (fitted.mean_ == 0).all() and fitted.score(X) > exact.score(X)


# ---------------------------------------------------------------- data
def test_random_manifold_is_a_fixed_function_of_the_options():
    a, b = RandomManifold(d=3, n_train=50, n_test=20), RandomManifold(d=3, n_train=50, n_test=20)
    X = a.vectors("train")
    assert X.shape == (50, 128) and X.dtype == np.float32 and np.array_equal(X, b.vectors("train"))
    assert not np.array_equal(a.vectors("test")[:20], X[:20])
    other = RandomManifold(d=3, n_train=50, n_test=20, network_seed=1).vectors("train")
    assert not np.allclose(other, X)
    # the data lie on a d-dimensional manifold: f is piecewise linear, so a small neighbourhood spans <= d dims
    f = a.f
    z = np.random.default_rng(0).standard_normal((1, 3)) + 1e-4 * np.random.default_rng(1).standard_normal((200, 3))
    s = np.linalg.svd(f(z) - f(z).mean(0), compute_uv=False)
    assert s[3] < 1e-6 * s[0]
    with pytest.raises(ValueError):
        RandomManifold(d=0)


# ---------------------------------------------------------------- end to end
def test_synthetic_recipe_trains_and_generates(tmp_path):
    out = tmp_path / "run"
    args = ["train", REPO / "recipes" / "lmgae_synthetic", "--out", out]
    for s in SYNTH_TINY:
        args += ["--set", s]
    invoke(*args)
    m = json.loads((out / "metrics.json").read_text())
    hist = m["autoencoder_history"]
    assert hist["step"] == [0, 8] and len(hist["active_dims"]) == 2
    g = m["generation"]
    assert 1 <= g["prior_dim"] <= 4 and g["frechet_distance_test"] > g["frechet_distance_train_vs_test"] > 0
    invoke("generate", out, "--count", 5, "--out-dir", tmp_path / "gen")
    (npy,) = (tmp_path / "gen").glob("samples_seed*.npy")
    x = np.load(npy)
    assert x.shape == (5, 128) and np.isfinite(x).all()
    assert (out / "report" / "index.html").is_file() and (out / "plots" / "projection.png").is_file()
    res = invoke("eval", out, ok=False)
    assert res.exit_code != 0 and "vector run" in res.output
    invoke("fit-prior", out, "--prior", "gmm", "--set", "prior.n_components=2")
    assert json.loads((out / "priors" / "gmm.json").read_text())["config"]["type"] == "gmm"


@pytest.mark.slow
def test_mask_switches_off_spurious_dimensions(tmp_path):
    """d = 2 data, n = 8: after ~1,500 steps fewer than n dimensions stay active (recipe sizes, lr 1e-3)."""
    out = tmp_path / "run"
    invoke("train", REPO / "recipes" / "lmgae_synthetic", "--out", out, "--set", "data.d=2",
           "--set", "autoencoder.latent_dim=8")
    assert json.loads((out / "metrics.json").read_text())["generation"]["prior_dim"] < 8
