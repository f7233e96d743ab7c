"""The `seqgen` CLI in-process (click's CliRunner): --help everywhere, and a tiny recipe end to end on real FSDD."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from conftest import assert_audible, invoke, train_args

from seqgen.audio.framing import overlap_add
from seqgen.cli.main import SUBCOMMANDS
from seqgen.evaluation.signal_metrics import audio_checks

@pytest.mark.parametrize("cmd", [[], *[[c] for c in SUBCOMMANDS]])
def test_help(cmd):
    res = invoke(*cmd, "--help")
    assert "Usage:" in res.output


def test_help_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys; from seqgen.cli.main import cli; import click.testing as t; " \
           "t.CliRunner().invoke(cli, ['--help']); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_train_writes_a_self_describing_run_dir(tiny_run):
    for name in ("config.json", "autoencoder.pt", "autoencoder.json", "latents.npz", "prior.npz", "prior.json",
                 "metrics.json", "train.log", "plots/spectrograms.png"):
        assert (tiny_run / name).is_file(), name
    m = json.loads((tiny_run / "metrics.json").read_text())
    # a decoder that outputs silence scores exactly 0 dB; 3 epochs reach ~3 dB
    assert m["autoencoder_test"]["snr_db"] > 1.5, m["autoencoder_test"]
    hist = m["autoencoder_history"]["train_loss"]
    assert hist[-1] < hist[0], "autoencoder loss must go down"
    p = m["priors"]["default"]
    # an i.i.d. Gaussian fitted to the standardised training latents scores exactly -D/2 (1 + log 2 pi)
    # per frame on them (-113.5 for D = 80); the 5-state HMM (~ -32) beats it, on held-out latents too
    iid = -np.load(tiny_run / "latents.npz")["train"].shape[1] / 2 * (1 + np.log(2 * np.pi))
    assert p["type"] == "hmm" and p["train_ll_per_frame"] > iid + 20 and p["test_ll_per_frame"] > iid + 20, p
    assert json.loads((tiny_run / "config.json").read_text())["prior"]["n_states"] == 5


def test_rerun_skips_finished_stages(tiny_run, fsdd_root):
    before = (tiny_run / "autoencoder.pt").stat().st_mtime_ns
    invoke(*train_args(tiny_run, fsdd_root))
    assert (tiny_run / "autoencoder.pt").stat().st_mtime_ns == before
    assert "skipping training" in (tiny_run / "train.log").read_text()


def _training_audio(fsdd_root, n=20):
    files = sorted(fsdd_root.glob("recordings/[01]_theo_*.wav"))[:n]
    return np.concatenate([sf.read(f)[0] for f in files])


def test_generate_stream_is_audible_speech_like(tiny_run, tmp_path, fsdd_root):
    out = tmp_path / "digits.wav"
    invoke("generate", tiny_run, "--seconds", 3, "--out", out, "--seed", 1)
    info = sf.info(out)
    assert info.samplerate == 8000 and info.frames == 24000 and info.subtype == "PCM_16"
    x, _ = sf.read(out)
    c, real = assert_audible(x, 8000), audio_checks(_training_audio(fsdd_root), 8000)
    white = audio_checks(np.random.default_rng(0).uniform(-0.3, 0.3, 24000), 8000)
    assert white["noise_like"] and white["flatness"] > 0.3     # the check can fail
    # energy distribution like the training speech (~95 % below 1 kHz), unlike white noise (~25 %).
    # A 3-epoch model is blurrier than the real speech, so ask for "most energy below 1 kHz".
    assert real["frac_below_1k"] > 0.8 and white["frac_below_1k"] < 0.35
    assert c["frac_below_1k"] > 0.5, (c["frac_below_1k"], real["frac_below_1k"])


def test_generate_count_mode(tiny_run, tmp_path):
    invoke("generate", tiny_run, "--count", 4, "--out-dir", tmp_path / "s", "--seed", 3)
    wavs = sorted((tmp_path / "s").glob("*.wav"))
    assert len(wavs) == 4
    train_lengths = np.load(tiny_run / "latents.npz")["train_lengths"]
    for w in wavs:
        n = sf.info(w).frames
        assert (n - 800) % 400 == 0 and (n - 800) // 400 + 1 in set(train_lengths.tolist())


def test_same_seed_same_audio(tiny_run, tmp_path):
    for name in ("a", "b"):
        invoke("generate", tiny_run, "--seconds", 1, "--out", tmp_path / f"{name}.wav", "--seed", 5)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_streaming_equals_one_shot(tiny_run):
    from seqgen.pipeline.generate import Generator

    gen = Generator(tiny_run)
    outs = [np.concatenate(list(gen.stream(4.0, seed=7, block_frames=b))) for b in (1, 13, 1000)]
    assert len(outs[0]) == 32000
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], atol=1e-5)


def test_decoder_noise_fills_the_high_band(tiny_run, tmp_path):
    """The recipe's band split: without noise the decoder is low-band only; its noise adds the 1-4 kHz band."""
    share = {}
    for scale in ("0", "1"):
        out = tmp_path / f"n{scale}.wav"
        invoke("generate", tiny_run, "--seconds", 3, "--out", out, "--seed", 2, "--decoder-noise", scale)
        share[scale] = 1 - audio_checks(sf.read(out)[0], 8000)["frac_below_1k"]
    assert share["0"] < 0.005 and share["1"] > 0.02, share
    r = invoke("generate", tiny_run, "--seconds", 1, "--decoder-noise", "-1", ok=False)
    assert r.exit_code != 0 and "--decoder-noise" in r.output


def test_sampled_envelope_is_kept_in_the_training_range(tiny_run):
    from seqgen.pipeline.generate import Generator

    gen = Generator(tiny_run)
    dims, lo, hi = gen.envelope_range
    assert dims == slice(gen.model.code_dim, None)
    z = np.zeros((20, gen.mean.shape[0]), np.float32)
    z[:, dims] = 1e3  # a far tail of the prior
    loud = overlap_add(gen.decode(z, np.random.default_rng(0)), gen.spec)
    z[:, dims] = (hi - gen.mean[dims]) / gen.std[dims]  # the loudest training envelope
    ceiling = overlap_add(gen.decode(z, np.random.default_rng(0)), gen.spec)
    np.testing.assert_allclose(loud, ceiling, atol=1e-5)
    assert np.isfinite(loud).all()


def test_prompted_continuation(tiny_run, fsdd_root, tmp_path):
    prompt = fsdd_root / "recordings" / "1_theo_2.wav"
    out = tmp_path / "cont.wav"
    invoke("generate", tiny_run, "--prompt", prompt, "--seconds", 1.5, "--out", out)
    x, _ = sf.read(prompt)
    y, sr = sf.read(out)
    n_prompt = len(x) // 400 * 400
    assert len(y) == n_prompt + 12000
    from seqgen.audio.io import peak_normalize

    ref = peak_normalize(x.astype(np.float32), 0.9)[: n_prompt - 400]
    np.testing.assert_allclose(y[: n_prompt - 400], ref, atol=2 / 32768)  # the prompt itself, up to 16-bit
    assert np.abs(y[n_prompt:]).max() > 1e-3


def test_fit_prior_compares_on_same_autoencoder(tiny_run):
    res = invoke("fit-prior", tiny_run, "--prior", "gmm", "--set", "prior.n_components=3")
    assert "gmm" in res.output and "default" in res.output
    m = json.loads((tiny_run / "metrics.json").read_text())
    iid = -np.load(tiny_run / "latents.npz")["train"].shape[1] / 2 * (1 + np.log(2 * np.pi))
    assert {"default", "gmm"} <= set(m["priors"]) and m["priors"]["gmm"]["test_ll_per_frame"] > iid + 20, m["priors"]
    assert (tiny_run / "priors" / "gmm.npz").is_file()
    invoke("generate", tiny_run, "--prior", "gmm", "--seconds", 1, "--out", tiny_run / "g.wav")
    res = invoke("generate", tiny_run, "--prior", "nope", "--seconds", 1, ok=False)
    assert res.exit_code == 1 and "no prior 'nope'" in res.output


def test_per_label_priors_and_generate_label(tmp_path, fsdd_root):
    run = tmp_path / "labels"
    invoke(*train_args(run, fsdd_root, "train.epochs=1", "train.prior_per_label=true", "prior.type=gaussian"))
    m = json.loads((run / "metrics.json").read_text())
    assert {"label_0", "label_1"} <= set(m["priors"])
    lat = np.load(run / "latents.npz")
    ones = set(lat["train_lengths"][lat["train_labels"] == 1].tolist())
    invoke("generate", run, "--label", 1, "--count", 3, "--out-dir", tmp_path / "ones")
    for w in (tmp_path / "ones").glob("*.wav"):
        assert (sf.info(w).frames - 800) // 400 + 1 in ones
    res = invoke("generate", run, "--label", 7, "--count", 1, "--out-dir", tmp_path / "x", ok=False)
    assert res.exit_code == 1 and "label_7" in res.output
    # per-label priors added afterwards: fit-prior --per-label, or a rerun that keeps the autoencoder
    before = (run / "autoencoder.pt").stat().st_mtime_ns
    for p in (run / "priors").glob("label_*"):
        p.unlink()
    out = invoke("fit-prior", run, "--per-label").output
    assert "label_0" in out and "label_1" in out and (run / "priors" / "label_1.npz").is_file()
    invoke(*train_args(run, fsdd_root, "train.epochs=1", "train.prior_per_label=false", "prior.type=gaussian"))
    assert (run / "autoencoder.pt").stat().st_mtime_ns == before
