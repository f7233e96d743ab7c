"""One-way flow layers: each layer's log-det against an autograd Jacobian log-det; the whole 2-d generator's
log-density against a change-of-variables computation; inflation and reduction against closed forms."""
from __future__ import annotations

import math

import pytest
import torch
from torch.autograd.functional import jacobian

from seqgen.codecs.led import LEDGenerator, standard_normal_log_prob
from seqgen.flows import (CircularConv2d, DepthToSpace, FlowSequential, FrozenStatsBatchNorm, Inflate, Reduce,
                          SmoothLeakyReLU, SquareLinear, circular_conv_logabsdet)



@pytest.fixture(autouse=True)
def _float64():
    """Jacobians to 1e-8: float64 while each test runs, the default restored after it."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _autograd_logdet(layer, x):
    """log|det| of the per-sample Jacobian of ``layer`` at every row of ``x [B, *shape]``: ``[B]``."""
    out = []
    for xi in x:
        J = jacobian(lambda v: layer(v[None], torch.zeros(1))[0][0], xi)
        n = xi.numel()
        out.append(torch.linalg.slogdet(J.reshape(n, n)).logabsdet)
    return torch.stack(out)


def _layer_logdet(layer, x):
    _, logp = layer(x, torch.zeros(len(x)))
    return -logp


@pytest.mark.parametrize("make", [lambda: SquareLinear(5), lambda: SmoothLeakyReLU(),
                                  lambda: SmoothLeakyReLU(alpha=3.0, beta=0.5, u0=0.3, t0=0.1)],
                         ids=["linear", "activation", "activation-u0-t0"])
def test_vector_layer_logdet_matches_autograd(make):
    torch.manual_seed(0)
    layer = make()
    if isinstance(layer, SquareLinear):
        with torch.no_grad():
            layer.weight.copy_(torch.randn(5, 5))  # not orthogonal: a non-zero log-det
    x = 2 * torch.randn(4, 5)
    torch.testing.assert_close(_layer_logdet(layer, x), _autograd_logdet(layer, x))


def test_activation_is_the_papers_curve():
    act = SmoothLeakyReLU()
    u = torch.tensor([-50.0, 0.0, 50.0])
    y, _ = act(u[None], torch.zeros(1))
    assert act.alpha == 5.8 and act.beta == 1.0 and abs(y[0, 1]) < 1e-12  # L(0) = 0 with our u0, t0
    assert abs((y[0, 2] - y[0, 1]) / 50 - 1) < 0.01 and abs((y[0, 1] - y[0, 0]) / 50 - 1 / 5.8) < 0.01


@pytest.mark.parametrize("shape", [(6, 3), (6, 2, 3, 3)], ids=["features", "channels"])
def test_batch_norm_logdet_with_frozen_batch_statistics(shape):
    torch.manual_seed(1)
    bn = FrozenStatsBatchNorm(shape[1])
    with torch.no_grad():
        bn.weight.copy_(torch.rand(shape[1]) + 0.5)
    x = 3 * torch.randn(*shape) + 1
    bn.train()
    y, logp = bn(x, torch.zeros(len(x)))
    # the statistics of this batch, treated as constants (eq. 13): evaluate the per-sample map with them fixed
    bn.running_mean.copy_(x.mean([0] + list(range(2, x.ndim))))
    bn.running_var.copy_(x.var([0] + list(range(2, x.ndim)), unbiased=False))
    bn.eval()
    torch.testing.assert_close(bn(x, torch.zeros(len(x)))[0], y)
    torch.testing.assert_close(-logp, _autograd_logdet(bn, x))


def test_circular_conv_logdet_fft_matches_autograd():
    torch.manual_seed(2)
    conv = CircularConv2d(3, kernel_size=3, init_noise=2.0)
    x = torch.randn(2, 3, 4, 5)
    torch.testing.assert_close(_layer_logdet(conv, x), _autograd_logdet(conv, x))
    w = torch.randn(2, 2, 3, 3)  # the FFT formula against one dense 2·4·4 determinant
    circ = lambda v: torch.nn.functional.conv2d(torch.nn.functional.pad(v[None], (1, 1, 1, 1), "circular"), w)[0]  # noqa: E731
    dense = jacobian(circ, torch.randn(2, 4, 4)).reshape(32, 32)
    torch.testing.assert_close(circular_conv_logabsdet(w, 4, 4), torch.linalg.slogdet(dense).logabsdet)


def test_depth_to_space_keeps_density():
    x = torch.randn(2, 8, 2, 2)
    torch.testing.assert_close(_layer_logdet(DepthToSpace(2), x), torch.zeros(2))


def test_inflation_adds_the_noise_log_density():
    x, eta = torch.randn(3, 2), torch.randn(3, 4)
    y, logp = Inflate(4, noise_std=0.5)(x, torch.zeros(3), eta=eta)
    expected = torch.distributions.Normal(0.0, 0.5).log_prob(eta).sum(1)
    torch.testing.assert_close(logp, expected)
    assert torch.equal(y, torch.cat([x, eta], 1))


def test_reduction_is_exact_for_an_independent_gaussian_neighbour():
    """(y1, y2) ~ p(y1) N(y2; 0, σ²): at y2 = 0 the Gaussian-neighbour marginal is exact."""
    sigma = 0.3
    y1 = torch.randn(5, 2)
    y = torch.cat([y1, torch.zeros(5, 3)], 1)
    joint = standard_normal_log_prob(y1) + torch.distributions.Normal(0.0, sigma).log_prob(y[:, 2:]).sum(1)
    out, logp = Reduce(2, sigma)(y, joint)
    torch.testing.assert_close(out, y1)
    torch.testing.assert_close(logp, standard_normal_log_prob(y1))


def test_whole_2d_generator_density_is_the_change_of_variables():
    """No inflation or reduction (width 2): log P_G(G(z)) = log N(z) - log|det dG/dz| exactly, and the
    density integrates to 1 over the plane."""
    torch.manual_seed(3)
    g = LEDGenerator(unit_shape=[2], latent_dim=2, width=2, depth=3)
    for m in g.generator.modules():
        if isinstance(m, SquareLinear):
            with torch.no_grad():
                m.weight.copy_(torch.randn(2, 2) + torch.eye(2))
    g.eval()
    z = torch.randn(6, 2)
    y, logp = g.generate(z)
    f = lambda v: g.generate(v[None])[0][0]  # noqa: E731
    expected = torch.stack([standard_normal_log_prob(zi[None])[0] - torch.linalg.slogdet(jacobian(f, zi)).logabsdet
                            for zi in z])
    torch.testing.assert_close(logp, expected)


def test_generator_with_inflation_tracks_the_joint_density():
    """z (2) + η (3) -> width 5 -> bijection -> keep 2: log P_G = log N(z) + log N(η) - log|det| + (3/2) log 2πσ²."""
    torch.manual_seed(4)
    g = LEDGenerator(unit_shape=[2], latent_dim=2, width=5, depth=2, reduce_sigma=0.2).eval()
    z, eta = torch.randn(4, 2), torch.randn(4, 3)
    _, logp = g.generate(z, eta=eta)
    bij = FlowSequential(*list(g.generator)[1:-1])
    f = lambda v: bij(v[None], torch.zeros(1))[0][0]  # noqa: E731
    zeta = torch.cat([z, eta], 1)
    logdet = torch.stack([torch.linalg.slogdet(jacobian(f, v)).logabsdet for v in zeta])
    expected = standard_normal_log_prob(zeta) - logdet + 1.5 * math.log(2 * math.pi * 0.2 ** 2)
    torch.testing.assert_close(logp, expected)


def test_reduction_with_the_dropped_components_own_statistics():
    """sigma=None: the neighbour Gaussian is N(running mean, running var) of the dropped part; exact for an
    independent Gaussian y2 at any value, and in training it uses (and learns) the batch statistics."""
    red = Reduce(1, None, dropped=2)
    red.running_mean.copy_(torch.tensor([0.5, -1.0]))
    red.running_var.copy_(torch.tensor([0.04, 4.0]))
    red.eval()
    y1, y2 = torch.randn(4, 1), torch.randn(4, 2) * torch.tensor([0.2, 2.0]) + torch.tensor([0.5, -1.0])
    joint = standard_normal_log_prob(y1) + torch.distributions.Normal(torch.tensor([0.5, -1.0]),
                                                                      torch.tensor([0.2, 2.0])).log_prob(y2).sum(1)
    _, logp = red(torch.cat([y1, y2], 1), joint)
    torch.testing.assert_close(logp, standard_normal_log_prob(y1), atol=1e-3, rtol=0)  # the 1e-6 added to var
    red.train()
    x = torch.randn(256, 3) * 3
    red(x, torch.zeros(256))
    assert torch.allclose(red.running_var, 0.95 * torch.tensor([0.04, 4.0]) + 0.05 * x[:, 1:].var(0, unbiased=False))
