"""Conv autoencoder: shapes, upsampling without spectral lines, training, resume and safe save/load."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn as nn

from seqgen.artefacts import ArtefactError
from seqgen.audio import frame, overlap_add
from seqgen.codecs import decode_sequences, encode_sequences
from seqgen.codecs import load_codec as load_autoencoder
from seqgen.codecs import save_codec as save_autoencoder
from seqgen.codecs.audio import ConvAutoencoder
from seqgen.codecs.audio.conv1d import UpConv
from seqgen.evaluation import spectral_lines
from seqgen.registry import AUTOENCODERS
from seqgen.representation import Frames
from seqgen.training import train_codec
from seqgen.training.losses import make_loss
from seqgen.training.reconstruct import Reconstruction


def train_autoencoder(model, seqs, *, loss="mrstft", segment_frames=8, **kw):
    """The reconstruction objective on 800-sample frames with a 400-sample hop through the one training loop."""
    return train_codec(model, Reconstruction(model, Frames(), loss=loss), seqs, segment_units=segment_frames, **kw)

TINY = dict(channels=(4, 4, 4), latent_dim=8)


@pytest.fixture(scope="module")
def fsdd_frames(fsdd_root):
    """Windowed frames of 8 peak-normalised FSDD training utterances: list of ``(T_i, 800)``."""
    seqs = []
    for path in sorted((fsdd_root / "recordings").glob("*_jackson_4[0-9].wav"))[:8]:
        x, sr = sf.read(path, dtype="float32")
        assert sr == 8000
        seqs.append(frame(0.9 * x / np.abs(x).max()).astype(np.float32))
    assert len(seqs) == 8
    return seqs


def _tiny(seed=0, **kw):
    torch.manual_seed(seed)
    return ConvAutoencoder(**{**TINY, **kw})


def test_shapes_config_and_registry():
    m = ConvAutoencoder()
    z = m.encode(torch.randn(3, 800))
    assert z.shape == (3, 80) and m.decode(z).shape == (3, 800) and m(torch.randn(2, 800)).shape == (2, 800)
    assert m.taps == [200, 26, 7]  # 200 input samples at rates 8k, 1k, 250 Hz
    assert ConvAutoencoder(**m.get_config()).get_config() == m.get_config()
    assert AUTOENCODERS.resolve("conv") is ConvAutoencoder
    with pytest.raises(ValueError):
        ConvAutoencoder(strides=(3, 4, 1))  # 800 not divisible by 12
    with pytest.raises(ValueError):
        ConvAutoencoder(channels=(4, 4), strides=(8, 4, 1))


def test_decoded_frames_are_windowed():
    out = _tiny().decode(torch.randn(4, 8))
    assert torch.all(out[:, 0] == 0)  # periodic Hann starts at exactly 0


@pytest.mark.parametrize("mode", ["nearest", "zeros"])
@pytest.mark.parametrize("taps, stride", [(26, 4), (7, 1), (200, 8), (13, 2)])
def test_upconv_equals_upsample_then_conv(taps, stride, mode):
    torch.manual_seed(0)
    layer = UpConv(3, 5, taps, stride, mode=mode)
    x = torch.randn(2, 3, 25)
    torch.testing.assert_close(layer(x), layer.reference_forward(x), atol=1e-5, rtol=1e-5)


class _TransposedConv(nn.Module):
    """What UpConv replaces: a plain transposed conv of the same taps and stride."""

    def __init__(self, up: UpConv):
        super().__init__()
        self.t = nn.ConvTranspose1d(up.conv.in_channels, up.conv.out_channels, up.taps, up.stride,
                                    padding=(up.taps - up.stride) // 2)

    def forward(self, x):
        return self.t(x)


def _decode_noise(model: ConvAutoencoder) -> np.ndarray:
    with torch.no_grad():
        return overlap_add(model.eval().decode(torch.randn(200, model.latent_dim)).numpy())


@pytest.mark.parametrize("kw", [{}, {"activation": "leaky_relu", "output_upsampling": "nearest"}])
def test_random_decoder_has_no_upsampling_lines(kw):
    torch.manual_seed(0)
    assert len(spectral_lines(None, _decode_noise(ConvAutoencoder(channels=(16, 16, 16), **kw)), 8000)) == 0


def test_plain_transposed_convs_do_add_lines():
    """The detector's positive control: biased leaky-ReLU decoder with plain transposed convs."""
    torch.manual_seed(0)
    m = ConvAutoencoder(channels=(16, 16, 16), activation="leaky_relu")
    m.dec = nn.ModuleList(_TransposedConv(u) for u in m.dec)
    lines = spectral_lines(None, _decode_noise(m), 8000)
    assert any(abs(f - k * 500) < 10 for f in lines for k in range(1, 8))  # multiples of rate/stride


def test_default_model_is_odd():
    m = _tiny()
    x = torch.randn(3, 800)
    torch.testing.assert_close(m(-x), -m(x))
    assert torch.all(m(torch.zeros(1, 800)) == 0)  # silence in, silence out: no bias "buzz"


@pytest.mark.parametrize("loss", ["mrstft", "mse"])
def test_loss_decreases_on_real_frames(fsdd_frames, loss):
    h = train_autoencoder(_tiny(), fsdd_frames[:4], epochs=3, batch_size=2, segment_frames=8, lr=3e-3, loss=loss,
                          progress=False)
    assert len(h["train_loss"]) == 3 and h["train_loss"][-1] < h["train_loss"][0]


def test_segment_loss_is_zero_for_perfect_reconstruction():
    x = torch.randn(2, 8, 800)
    assert make_loss("mrstft")(x, x).item() == pytest.approx(0.0, abs=1e-5)
    with pytest.raises(ValueError):
        make_loss("nope")


def test_resume_gives_the_weights_of_an_uninterrupted_run(fsdd_frames, tmp_path):
    # "mse" only for speed: the order of batches, not the loss, is what resuming must reproduce
    data = fsdd_frames[:4]
    kw = dict(valid_seqs=fsdd_frames[4:5], batch_size=2, segment_frames=4, lr=3e-3, loss="mse", seed=7, progress=False)
    full = _tiny(seed=1)
    h_full = train_autoencoder(full, data, epochs=3, checkpoint_path=tmp_path / "a.pt", **kw)
    part = _tiny(seed=1)
    train_autoencoder(part, data, epochs=2, checkpoint_path=tmp_path / "b.pt", **kw)
    ckpt = torch.load(tmp_path / "b.pt", weights_only=True)
    assert ckpt["epoch"] == 2 and len(ckpt["history"]["train_loss"]) == 2
    resumed = _tiny(seed=99)  # another init: everything must come from the checkpoint
    logged = []
    h_res = train_autoencoder(resumed, data, epochs=3, checkpoint_path=tmp_path / "b.pt", resume=True,
                              log=lambda e, r: logged.append(e), **kw)
    assert logged == [3]
    for k, v in full.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    assert h_res["train_loss"] == h_full["train_loss"] and h_res["epoch"] == [1, 2, 3]
    with pytest.raises(ValueError):  # other settings than the checkpoint's
        train_autoencoder(_tiny(), data, epochs=4, checkpoint_path=tmp_path / "b.pt", resume=True,
                          **{**kw, "lr": 1e-3})


def test_encode_decode_sequences_and_save_load(fsdd_frames, tmp_path):
    m = _tiny()
    seqs = fsdd_frames[:3] + [np.zeros((0, 800), np.float32)]
    Z = encode_sequences(m, seqs, batch_size=5)
    assert [z.shape for z in Z] == [(len(s), 8) for s in seqs]
    X = decode_sequences(m, Z)
    assert [x.shape for x in X] == [s.shape for s in seqs]
    save_autoencoder(tmp_path / "ae.pt", m)
    m2 = load_autoencoder(tmp_path / "ae.pt")
    assert isinstance(m2, ConvAutoencoder) and m2.get_config() == m.get_config()
    for a, b in zip(Z, encode_sequences(m2, seqs, batch_size=5)):
        np.testing.assert_array_equal(a, b)


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, (f"touch {_Evil.marker}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_crafted_pickle_is_refused_and_not_run(tmp_path):
    save_autoencoder(tmp_path / "ae.pt", _tiny())  # valid JSON description beside the weights
    _Evil.marker = tmp_path / "pwned"
    (tmp_path / "ae.pt").write_bytes(pickle.dumps({"conv.weight": _Evil()}))
    with pytest.raises(ArtefactError):
        load_autoencoder(tmp_path / "ae.pt")
    assert not _Evil.marker.exists()
    torch.save({"x": _Evil()}, tmp_path / "ae.pt")  # same, in torch's zip format
    with pytest.raises(ArtefactError):
        load_autoencoder(tmp_path / "ae.pt")
    assert not _Evil.marker.exists()


def test_vae_baseline_kl_posterior_mean_and_save_load(fsdd_frames, tmp_path):
    from seqgen.codecs.audio.vae import ConvVAE

    torch.manual_seed(0)
    m = ConvVAE(**TINY, beta=1.0)
    assert AUTOENCODERS.resolve("vae") is ConvVAE and m.get_config()["beta"] == 1.0
    x = torch.as_tensor(np.concatenate(fsdd_frames[:2])[:16])
    m.train()
    m(x)
    mu, logvar = m.posterior(x)
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean()
    assert m.regulariser() is not None
    assert m.regulariser().item() == pytest.approx(kl.item(), rel=1e-5)  # beta = 1: exactly the KL per frame
    m.eval()
    torch.testing.assert_close(m(x), m.decode(mu))  # eval: deterministic, decodes the posterior mean
    assert m.regulariser() is None
    torch.testing.assert_close(m.encode(x), mu)
    # the KL is part of the training loss: a huge beta pulls the posterior to N(0, I)
    strong = ConvVAE(**TINY, beta=100.0)
    mu0, lv0 = (t.mean().item() for t in (strong.posterior(x)[0].pow(2), strong.posterior(x)[1]))
    train_autoencoder(strong, fsdd_frames[:4], epochs=3, batch_size=2, segment_frames=8, lr=3e-3, progress=False)
    mu2, lv2 = strong.posterior(x)
    assert mu2.pow(2).mean().item() < mu0 and lv2.mean().item() > lv0 + 0.05  # both move toward N(0, I)
    save_autoencoder(tmp_path / "vae.pt", strong)
    back = load_autoencoder(tmp_path / "vae.pt")
    assert isinstance(back, ConvVAE) and back.get_config() == strong.get_config()
    torch.testing.assert_close(back.encode(x), strong.encode(x))
