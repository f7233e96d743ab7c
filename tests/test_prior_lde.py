"""The latent density estimator as Yoo et al. §3.3 specify it: autoregressive over dimensions, the paper's
layer count and widths, padding vector and mask, and a known non-Gaussian density fitted better than by a Gaussian."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from seqgen.priors import PRIORS
from seqgen.priors.lde import _build_net, n_layers


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("D", [1, 2, 5, 8, 13])
def test_conditionals_of_i_le_j_do_not_depend_on_z_j(D):
    torch.manual_seed(D)
    net = _build_net(D, 3, None, False).double()
    with torch.no_grad():
        net.pad.normal_()  # a non-zero padding vector: it must not leak the future either
    z = torch.randn(6, D, dtype=torch.float64)
    m = torch.ones_like(z)
    base = net(z, m)
    for j in range(D):
        z2 = z.clone()
        z2[:, j] += 3.0
        out = net(z2, m)
        for a, b in zip(base, out):
            assert torch.equal(a[:, : j + 1], b[:, : j + 1])  # i <= j: unchanged, bit for bit
        if j + 1 < D:  # and the next one does see z_j (the receptive field 2^L >= D covers all of z_<i)
            assert not torch.allclose(base[1][:, D - 1], out[1][:, D - 1])


def test_paper_architecture_and_mask():
    D = 8
    net = _build_net(D, 30, None, False)
    assert n_layers(D) == 3 and n_layers(100) == 7 and n_layers(2) == 1
    assert [c.out_channels // 2 for c in net.convs] == [8, 16, 32]  # 2^(l+3) gated filters
    assert [c.dilation[0] for c in net.convs] == [1, 2, 4] and all(c.kernel_size[0] == 2 for c in net.convs)
    assert net.pad.shape == (2 ** n_layers(D),) and net.head[-1].out_channels == 3 * 30
    # a masked entry (m = 0) enters like padding: its value is never seen
    z = torch.randn(4, D)
    m = torch.ones_like(z)
    m[:, 5:] = 0
    z2 = z.clone()
    z2[:, 5:] = 100.0
    assert all(torch.equal(a, b) for a, b in zip(net(z, m), net(z2, m)))
    p = PRIORS.resolve("lde")()
    assert (p.max_filters, p.position_bias, p.lr, tuple(p.betas)) == (None, False, 2e-4, (0.5, 0.999))


def banana(n, seed):
    r = np.random.default_rng(seed)
    a = r.standard_normal(n)
    return np.stack([a, a**2 - 1 + 0.1 * r.standard_normal(n)], 1)


def test_fits_a_known_density_better_than_a_gaussian():
    """z2 = z1² - 1 + N(0, 0.1²): the true density has -h(z1) - h(z2 | z1) ≈ -0.54 nats per point, a
    full-covariance Gaussian (it cannot bend) ≈ -3.2; the LDE must beat the latter by a wide margin and its
    samples must follow the bend. (Save / load: tests/test_prior_contract.py.)"""
    X, X_test = banana(2000, 0), banana(1000, 1)
    lde = PRIORS.resolve("lde")(n_mix=10, max_epochs=12, lr=5e-3, batch_size=100, patience=12, seed=0).fit(X)
    gauss = PRIORS.resolve("gaussian")(covariance_type="full").fit(X)
    s_lde, s_g = lde.score(list(X_test[:, None])), gauss.score(list(X_test[:, None]))
    print(f"held-out nats/point: lde {s_lde:.3f}, gaussian {s_g:.3f}")
    assert s_lde > s_g + 1.0
    samples = np.concatenate(lde.sample([1] * 2000, seed=0))
    assert abs(np.mean(samples[:, 1] - (samples[:, 0] ** 2 - 1))) < 0.2  # samples follow the bend
