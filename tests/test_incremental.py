"""Incremental latent learning (Yoo et al. §3.4): the schedule, exact zeros and zero gradients for inactive
dimensions, for every codec, the active count in the training history, and a trained model still reconstructs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from seqgen.registry import AUTOENCODERS
from seqgen.training.incremental import IncrementalSchedule, masked_decoder
from seqgen.training.loop import train_codec
from seqgen.training.reconstruct import Reconstruction


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_schedule_follows_start_step_every():
    s = IncrementalSchedule(start=2, step=3, every=2)
    assert [s.active(e, 8) for e in range(8)] == [2, 2, 5, 5, 8, 8, 8, 8]
    assert s.full_after(8) == 4 and IncrementalSchedule(start=9).full_after(8) == 0
    for bad in ({"start": 0}, {"step": -1}, {"every": 1.5}, {"steps": 1}, {"start": True}):
        with pytest.raises(ValueError):
            IncrementalSchedule.from_options(bad)


CODECS = {  # unit shape, constructor kwargs: one of each family, image and audio
    "mlp": ((1, 8, 8), dict(latent_dim=6, hidden_dims=[16])),
    "conv2d": ((1, 16, 16), dict(latent_dim=6, base_channels=4)),
    "perceptron": ((1, 8, 8), dict(latent_dim=6, hidden_dim=16)),
    "mlp_vae": ((1, 8, 8), dict(latent_dim=6, hidden_dim=16)),
    "conv": ((256,), dict(latent_dim=6, channels=[4, 4], kernel_size=16, strides=[4, 2])),
}


def _codec(name):
    shape, kw = CODECS[name]
    cls = AUTOENCODERS.resolve(name)
    torch.manual_seed(0)
    if name == "conv":
        return cls(frame_length=shape[0], **kw), shape
    return cls(unit_shape=shape, **kw), shape


@pytest.mark.parametrize("name", sorted(CODECS))
def test_inactive_dims_are_exact_zeros_with_zero_gradient(name):
    codec, shape = _codec(name)
    codec.train()
    x = torch.rand(5, *shape) * 0.8 + 0.1
    seen = []
    decode = type(codec).decode
    type(codec).decode = lambda self, z: (seen.append(z), decode(self, z))[1]  # spy on what reaches decode
    try:
        z = codec.encode(x)
        z.retain_grad()
        with masked_decoder(codec, 2):
            out = codec.decode(z)
    finally:
        type(codec).decode = decode
    assert "decode" not in vars(codec)  # the mask is gone after the block
    assert torch.equal(seen[0][:, 2:], torch.zeros_like(seen[0][:, 2:])) and seen[0][:, :2].abs().sum() > 0
    (out - x.reshape(out.shape)).square().mean().backward()
    assert torch.equal(z.grad[:, 2:], torch.zeros_like(z.grad[:, 2:]))
    assert z.grad[:, :2].abs().sum() > 0


def test_mlp_weights_of_inactive_dims_get_exactly_zero_gradient():
    codec, shape = _codec("mlp")
    obj = Reconstruction(codec, loss="mse", incremental={"start": 2, "step": 2, "every": 1})
    units = torch.rand(10, *shape)
    assert obj.start_epoch(0) == {"active_dims": 2}
    opt = obj.configure(1e-3)
    params = {k: v.detach().clone() for k, v in codec.named_parameters()}
    obj.step(torch.arange(10)[:, None], units, opt)
    to_z, from_z = codec.encoder[-1], codec.decoder[0]  # Linear(h, D), Linear(D, h)
    assert torch.equal(to_z.weight.grad[2:], torch.zeros_like(to_z.weight.grad[2:]))
    assert torch.equal(to_z.bias.grad[2:], torch.zeros_like(to_z.bias.grad[2:]))
    assert torch.equal(from_z.weight.grad[:, 2:], torch.zeros_like(from_z.weight.grad[:, 2:]))
    assert to_z.weight.grad[:2].abs().sum() > 0
    # Adam with zero gradient from a zero state leaves the weights of inactive dimensions where they were
    assert torch.equal(to_z.weight[2:], params["encoder.3.weight"][2:])
    assert obj.start_epoch(3) == {"active_dims": 6}


def _mnist(data_root, n):
    from seqgen.data.image.mnist import MNIST

    root = data_root / "mnist_t10k"
    if not root.exists():
        pytest.skip("no MNIST t10k in the test data")
    ex = MNIST(root, limit_train=n, limit_test=200).load("train")
    return np.stack([e.x for e in ex]).astype(np.float32)


def test_trained_with_schedule_still_reconstructs(data_root):
    """After the schedule reaches all D dims the codec reconstructs with all of them: close to a plain AE
    trained as long, far better than the mean image and than its own first two dimensions alone."""
    X = _mnist(data_root, 600)
    train, valid = [x[None] for x in X[:500]], [x[None] for x in X[500:]]
    Xv = torch.as_tensor(X[500:])
    mse = {}
    for mode, inc in (("plain", None), ("incremental", {"start": 2, "step": 3, "every": 2})):
        torch.manual_seed(0)
        codec = AUTOENCODERS.resolve("mlp")(unit_shape=(1, 28, 28), latent_dim=8, hidden_dims=[128])
        hist = train_codec(codec, Reconstruction(codec, loss="mse", incremental=inc), train, valid_seqs=valid,
                           epochs=16, batch_size=25, segment_units=1, lr=3e-3, progress=False)
        with torch.no_grad():
            z = codec.encode(Xv)
            mse[mode] = float((codec.decode(z) - Xv).square().mean())
            if inc is not None:
                assert hist["active_dims"] == [2, 2, 5, 5] + [8] * 12
                with masked_decoder(codec, 2):
                    mse["first_two"] = float((codec.decode(z) - Xv).square().mean())
    baseline = float((Xv - Xv.mean(0)).square().mean())
    print(mse, "mean image", baseline)
    assert mse["incremental"] < 0.7 * baseline
    assert mse["incremental"] < 1.3 * mse["plain"]
    assert mse["incremental"] < 0.85 * mse["first_two"]


def test_resume_mid_schedule_matches_an_uninterrupted_run(tmp_path):
    X = [np.random.default_rng(i).random((1, 1, 8, 8)).astype(np.float32) for i in range(40)]

    def run(epochs, resume, path):
        codec, _ = _codec("mlp")
        obj = Reconstruction(codec, loss="mse", incremental={"start": 1, "step": 2, "every": 1})
        hist = train_codec(codec, obj, X, epochs=epochs, batch_size=8, segment_units=1, checkpoint_path=path,
                           resume=resume, progress=False)
        return codec, hist

    full, h_full = run(4, False, tmp_path / "a.pt")
    run(2, False, tmp_path / "b.pt")
    resumed, h_res = run(4, True, tmp_path / "b.pt")
    assert h_full["active_dims"] == h_res["active_dims"] == [1, 3, 5, 6]
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(), resumed.state_dict().values()))
