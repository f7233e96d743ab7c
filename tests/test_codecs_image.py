"""Image codecs: invertible activations, the invertible perceptron (left inverse, exact log-volume, training
on real MNIST digits), the MLP VAE's KL and the DCGAN-style conv autoencoder."""
from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest
import torch

from seqgen.codecs.base import Codec
from seqgen.codecs.image import ConvAutoencoder2d, InvertiblePerceptron, LeakySigmoid, LeakyTanh, MLPVAE
from seqgen.registry import AUTOENCODERS

ACTIVATIONS = [LeakyTanh(), LeakySigmoid(), LeakyTanh(2.0), LeakySigmoid(3.0)]


@pytest.fixture(scope="module")
def mnist(data_root) -> torch.Tensor:
    """The real MNIST test images ``[10000, 1, 28, 28]`` in [0, 1] (IDX: 16-byte header, then uint8)."""
    with gzip.open(data_root / "mnist_t10k" / "t10k-images-idx3-ubyte.gz") as f:
        raw = f.read()
    assert int.from_bytes(raw[:4], "big") == 0x0803  # IDX magic: uint8, 3 dimensions
    return torch.from_numpy(np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28) / 255.0).float()


# ---------------------------------------------------------------------------------------- activations
@pytest.mark.parametrize("g", ACTIVATIONS, ids=repr)
def test_activation_inverse_on_and_beyond_range(g):
    a = g.threshold
    u = torch.cat([torch.linspace(-30, 30, 6001, dtype=torch.float64), torch.tensor([-a, a], dtype=torch.float64)])
    assert torch.allclose(g.inverse(g(u)), u, rtol=0, atol=1e-9)
    y = torch.linspace(-2, 2, 4001, dtype=torch.float64)  # beyond (0, 1) / (-1, 1): the tangent tails
    assert torch.allclose(g(g.inverse(y)), y, rtol=0, atol=1e-12)
    assert torch.all(torch.diff(g(u[:-2])) > 0)  # strictly increasing
    assert torch.isfinite(g.inverse(torch.tensor([0.0, 1.0]))).all()  # sigmoid's asymptotes: finite preimages


@pytest.mark.parametrize("g", ACTIVATIONS, ids=repr)
def test_activation_is_c1_at_thresholds(g):
    a = g.threshold
    for t in (-a, a):
        t = torch.tensor(t, dtype=torch.float64)
        for h in (1e-4, 1e-6):
            assert abs(float(g(t + h) - g(t - h))) < 2 * h  # continuous (|g'| <= 1 for both)
            left = float((g(t) - g(t - h)) / h)  # one-sided difference quotients
            right = float((g(t + h) - g(t)) / h)
            assert left == pytest.approx(right, abs=10 * h)  # derivative limits agree: C¹
        u = torch.tensor([float(t) - 1e-9, float(t) + 1e-9], dtype=torch.float64, requires_grad=True)
        (du,) = torch.autograd.grad(g(u).sum(), u)
        assert float(du[0]) == pytest.approx(float(du[1]), rel=1e-7) == pytest.approx(g.slope, rel=1e-7)


@pytest.mark.parametrize("g", ACTIVATIONS, ids=repr)
def test_activation_log_derivative_matches_autograd(g):
    u = (torch.randn(500, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 3 * g.threshold)
    u.requires_grad_(True)
    (du,) = torch.autograd.grad(g(u).sum(), u)
    assert torch.allclose(g.log_derivative(u.detach()), du.log(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_activation_rejects_bad_threshold(bad):
    with pytest.raises(ValueError):
        LeakyTanh(bad)


# ---------------------------------------------------------------------------------------- perceptron
def test_perceptron_encode_is_left_inverse_of_decode(seed):
    torch.manual_seed(seed)
    m = InvertiblePerceptron().double()
    z = 3.0 * torch.randn(64, 20, dtype=torch.float64)  # large z: hidden and output units in the tails too
    with torch.no_grad():
        assert torch.allclose(m.encode(m.decode(z)), z, rtol=0, atol=1e-4)


def test_perceptron_log_volume_matches_autograd_jacobian(seed):
    torch.manual_seed(seed)
    m = InvertiblePerceptron(unit_shape=[1, 10, 10], latent_dim=5, hidden_dim=40).double()
    z = 2.0 * torch.randn(4, 5, dtype=torch.float64)
    for zi, Ji, lv in zip(z, m.jacobian(z).detach(), m.log_volume(z).detach()):
        J = torch.autograd.functional.jacobian(lambda v: m.decode(v[None]).reshape(-1), zi)  # [N, K]
        assert torch.allclose(Ji, J, rtol=0, atol=1e-12)
        assert float(lv) == pytest.approx(0.5 * float(torch.linalg.slogdet(J.T @ J).logabsdet), abs=1e-9)


def test_perceptron_learns_mnist_and_paper_volume_gap(mnist, seed):
    """Train by MSE through the left inverse on 1,000 real digits; held-out digits must reconstruct far
    better than the untrained model (~0.27) and than the mean image (~0.07)."""
    torch.manual_seed(seed)
    train, held = mnist[:1000], mnist[5000:5500]
    m = InvertiblePerceptron(hidden_dim=300)  # 784-300-20: the paper's 600 costs 4x per step (600² Gram)
    mse = lambda x: float(((m(x) - x) ** 2).mean())  # noqa: E731
    with torch.no_grad():
        before = mse(held)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(100):
        x = train[torch.randint(0, len(train), (100,), generator=g)]
        loss = ((m(x) - x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = mse(held)
        baseline = float(((held - train.mean(0)) ** 2).mean())
        print(f"held-out MSE: untrained {before:.4f}, mean image {baseline:.4f}, trained {after:.4f}")
        assert before > 0.1 and after < 0.04 and after < 0.6 * baseline

        m.double()  # the gap on real test digits: the paper's eq. 6 minus the exact ½ log det JᵀJ
        z = m.encode(held.double())
        exact, paper = m.log_volume(z), m.paper_log_volume(z)
        gap = paper - exact
        print(f"log_volume {exact.mean():.1f} ± {exact.std():.1f}, paper eq. 6 {paper.mean():.1f} ± "
              f"{paper.std():.1f}; paper − exact {gap.mean():.1f} ± {gap.std():.1f} nats")
        assert torch.isfinite(gap).all()
        assert float(gap.std()) > 1.0  # not a constant offset: eq. 6 reshapes the density, too


def test_perceptron_rejects_non_injective_sizes():
    with pytest.raises(ValueError):
        InvertiblePerceptron(latent_dim=700, hidden_dim=600)
    with pytest.raises(ValueError):
        InvertiblePerceptron(unit_shape=[1, 20, 20], hidden_dim=600)
    with pytest.raises(ValueError):
        InvertiblePerceptron(unit_shape=[784])


# ---------------------------------------------------------------------------------------- VAE
def test_vae_regulariser_is_gaussian_kl():
    m = MLPVAE(unit_shape=[1, 4, 4], latent_dim=2, hidden_dim=8, beta=0.5)
    mu, logvar = torch.tensor([1.0, 0.0]), torch.tensor([0.0, math.log(2.0)])
    with torch.no_grad():  # a posterior that ignores x: N((1, 0), diag(1, 2))
        for lin, b in ((m.to_mu, mu), (m.to_logvar, logvar)):
            lin.weight.zero_()
            lin.bias.copy_(b)
    x = torch.rand(3, 1, 4, 4)
    m.train()
    m(x)
    # ½ Σ (μ² + σ² − 1 − log σ²) = ½ [(1 + 1 − 1 − 0) + (0 + 2 − 1 − log 2)] = 1 − ½ log 2
    assert float(m.regulariser().detach()) == pytest.approx(0.5 * (1.0 - 0.5 * math.log(2.0)), rel=1e-6)
    m.eval()
    assert torch.equal(m(x), m.decode(m.encode(x))) and m.regulariser() is None
    assert torch.equal(m.encode(x), mu.expand(3, 2))
    assert MLPVAE.standard_normal_latents and not MLPVAE.exact_likelihood


# ---------------------------------------------------------------------------------------- conv2d
@pytest.mark.parametrize("shape", [[1, 64, 64], [3, 64, 64], [1, 32, 32], [3, 32, 32], [1, 28, 28]])
def test_conv2d_shapes(shape):
    m = ConvAutoencoder2d(unit_shape=shape).eval()
    x = torch.rand(2, *shape)
    with torch.no_grad():
        z = m.encode(x)
        y = m.decode(z)
    assert z.shape == (2, 100) and y.shape == (2, *shape)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


@pytest.mark.parametrize("shape", [[1, 15, 15], [1, 64], [0, 64, 64], [1, 36, 66]])
def test_conv2d_rejects_bad_shapes(shape):
    with pytest.raises(ValueError):
        ConvAutoencoder2d(unit_shape=shape)


def test_conv2d_short_training_lowers_loss(mnist, seed):
    torch.manual_seed(seed)
    x = mnist[:256]
    m = ConvAutoencoder2d(unit_shape=[1, 28, 28], latent_dim=20)
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    losses = []
    for step in range(40):
        b = x[(step * 64) % 256:][:64]
        loss = ((m(b) - b) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    print(f"conv2d MSE: first {losses[0]:.4f}, last {losses[-1]:.4f}")
    assert np.mean(losses[-4:]) < 0.5 * losses[0]


# ---------------------------------------------------------------------------------------- all three
CODECS = {
    "perceptron": dict(unit_shape=[1, 28, 28], latent_dim=8, hidden_dim=50),
    "mlp_vae": dict(unit_shape=[1, 28, 28], latent_dim=8, hidden_dim=50, beta=0.1),
    "conv2d": dict(unit_shape=[3, 32, 32], latent_dim=16, base_channels=4, batch_norm=False),
}


@pytest.mark.parametrize("name", sorted(CODECS))
def test_registered_config_round_trip(name):
    cls = AUTOENCODERS.resolve(name)
    assert issubclass(cls, Codec)
    m = cls(**CODECS[name])
    cfg = m.get_config()
    assert cfg == json.loads(json.dumps(cfg))  # JSON-able
    m2 = type(m)(**cfg)
    assert {k: v.shape for k, v in m.state_dict().items()} == {k: v.shape for k, v in m2.state_dict().items()}
    m2.load_state_dict(m.state_dict())
    m.eval(), m2.eval()
    x = torch.rand(2, *m.unit_shape)
    with torch.no_grad():
        assert torch.equal(m2.decode(m2.encode(x)), m.decode(m.encode(x)))
    assert m.encode(x).shape == (2, m.latent_dim)
