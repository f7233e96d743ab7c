"""The codec training engine's speed-ups: polyphase transposed convs in training, bf16 / fp16 mixed precision."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F
from conftest import REPO

from seqgen.codecs.audio import ConvAutoencoder
from seqgen.codecs.audio.conv1d import UpConv
from seqgen.codecs.audio.polyphase import PolyphaseTransposedConv, library_transposed_convs, train_polyphase
from seqgen.representation import Frames
from seqgen.training import train_codec
from seqgen.training.precision import MixedPrecision
from seqgen.training.reconstruct import Reconstruction


@pytest.mark.parametrize("c_in, c_out, taps, stride, L", [(32, 1, 200, 8, 20), (3, 2, 13, 4, 9), (4, 1, 5, 8, 6)])
def test_polyphase_transposed_conv_equals_library_forward_and_gradients(c_in, c_out, taps, stride, L):
    torch.manual_seed(0)
    x = torch.randn(5, c_in, L, dtype=torch.float64, requires_grad=True)
    w = torch.randn(c_in, c_out, taps, dtype=torch.float64, requires_grad=True)
    ref = F.conv_transpose1d(x, w, stride=stride)
    got = PolyphaseTransposedConv.apply(x, w, stride)
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)  # float64: equal up to summation order
    g = torch.randn_like(ref)
    for a, b in zip(torch.autograd.grad(ref, (x, w), g), torch.autograd.grad(got, (x, w), g)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)  # the library's own backward: bit-identical


def test_training_uses_polyphase_only_for_few_output_channels():
    """The decoder's last layer (1 channel, stride 8) trains polyphase, the others stay library convs; the
    switch restores the previous engine, and the outputs agree to float32 summation order."""
    torch.manual_seed(0)
    last, inner = UpConv(8, 1, 200, 8, bias=False, mode="zeros"), UpConv(8, 8, 26, 4)
    x = torch.randn(3, 8, 25)
    calls = []
    orig = PolyphaseTransposedConv.forward
    PolyphaseTransposedConv.forward = staticmethod(lambda ctx, *a: calls.append(1) or orig(ctx, *a))
    try:
        y_new = last(x)
        inner(x)
        assert calls == [1] and train_polyphase()
        with library_transposed_convs():
            assert not train_polyphase()
            y_old = last(x)
        assert calls == [1] and train_polyphase()
    finally:
        PolyphaseTransposedConv.forward = orig
    torch.testing.assert_close(y_new, y_old, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(y_new, last.reference_forward(x), rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def frames(fsdd_root):
    rep = Frames()
    out = []
    for path in sorted((fsdd_root / "recordings").glob("*_jackson_4[0-9].wav"))[:6]:
        x, _ = sf.read(path, dtype="float32")
        out.append(rep.to_units(0.9 * x / np.abs(x).max()))
    return out


def _train(frames, amp=None, epochs=6):
    torch.manual_seed(0)
    codec = ConvAutoencoder(channels=(8, 8, 8), latent_dim=16, noise_bands=4)
    objective = Reconstruction(codec, Frames(), amp=amp)
    h = train_codec(codec, objective, frames[:4], valid_seqs=frames[4:], epochs=epochs, batch_size=4,
                    segment_units=8, lr=3e-3, progress=False)
    return codec, objective, h


def test_bf16_autocast_trains_close_to_float32(frames):
    """bf16 autocast on the CPU: finite, decreasing loss within 10 % of float32 training's, held-out SNR
    within 1 dB of it (measured: 0.1 % and 0.4 dB with one thread, 5.6 % with two: six epochs of a tiny codec
    amplify rounding differences, which also change with the thread count)."""
    _, _, h32 = _train(frames)
    codec, objective, h16 = _train(frames, amp="bf16")
    assert all(np.isfinite(h16["train_loss"])) and h16["train_loss"][-1] < 0.95 * h16["train_loss"][0]
    assert abs(h16["train_loss"][-1] / h32["train_loss"][-1] - 1) < 0.10
    assert abs(h16["valid_snr_db"][-1] - h32["valid_snr_db"][-1]) < 1.0
    assert objective.settings()["amp"] == "bf16" and "amp" not in Reconstruction(codec, Frames()).settings()
    assert all(p.dtype == torch.float32 for p in codec.parameters())  # master weights stay float32


def test_polyphase_backward_under_autocast():
    torch.manual_seed(0)
    layer = UpConv(8, 1, 200, 8, bias=False, mode="zeros")
    x = torch.randn(3, 8, 25, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(x)
    y.float().square().sum().backward()
    assert x.grad.dtype == torch.float32 and layer.conv.weight.grad.dtype == torch.float32
    assert torch.isfinite(layer.conv.weight.grad).all() and layer.conv.weight.grad.abs().sum() > 0


def test_amp_choices_are_checked():
    codec = ConvAutoencoder(channels=(4, 4, 4), latent_dim=8)
    with pytest.raises(ValueError, match="amp must be one of"):
        Reconstruction(codec, Frames(), amp="fp8")
    with pytest.raises(ValueError, match="needs a CUDA device"):
        MixedPrecision("fp16").autocast(torch.device("cpu"))
    from seqgen.config import ConfigError, load_recipe

    with pytest.raises(ConfigError, match="train.amp must be one of"):
        load_recipe(REPO / "recipes" / "spoken_digits", ['train.amp="fp8"'])
    assert load_recipe(REPO / "recipes" / "spoken_digits", ['train.amp="bf16"']).train.options["amp"] == "bf16"


def test_fp16_on_the_cpu_is_one_line_before_any_work(tmp_path):
    from conftest import invoke

    res = invoke("train", REPO / "recipes" / "spoken_digits", "--out", tmp_path / "run", "--device", "cpu",
                 "--set", 'train.amp="fp16"', ok=False)
    assert res.exit_code != 0 and "needs a CUDA device" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "run").exists()  # refused before the run directory is made


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fp16_with_loss_scaling_on_cuda(frames):
    torch.manual_seed(0)
    codec = ConvAutoencoder(channels=(8, 8, 8), latent_dim=16)
    objective = Reconstruction(codec, Frames(), amp="fp16")
    h = train_codec(codec, objective, frames[:4], epochs=2, batch_size=4, device="cuda", progress=False)
    assert all(np.isfinite(h["train_loss"])) and objective.precision.scaler is not None


@pytest.mark.parametrize("preset, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_cli_sets_a_passive_openmp_wait_policy_before_torch_loads(preset, expected):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | ({"OMP_WAIT_POLICY": preset} if preset else {})
    code = "import sys, os, seqgen.cli.main; print(os.environ['OMP_WAIT_POLICY'], 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == [expected, "False"]


def test_batched_encoding_is_unchanged_without_the_corpus_copy():
    """Encoding walks the sequences in batches (no concatenated copy of all units): same batches, same
    latents as encoding the concatenation, for batch boundaries inside and across sequences."""
    from seqgen.codecs.io import _unit_batches, encode_sequences

    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((n, 800)).astype(np.float32) for n in (5, 0, 3, 9, 1)]
    batches = list(_unit_batches(seqs, 4))
    assert [len(b) for b in batches] == [4, 4, 4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(batches), np.concatenate(seqs))
    torch.manual_seed(0)
    codec = ConvAutoencoder(channels=(4, 4, 4), latent_dim=8)
    got = encode_sequences(codec, seqs, batch_size=4)
    with torch.no_grad():
        whole = torch.cat([codec.encode(torch.as_tensor(b)) for b in batches]).numpy()
    assert [len(z) for z in got] == [5, 0, 3, 9, 1]
    np.testing.assert_array_equal(np.concatenate(got), whole)
