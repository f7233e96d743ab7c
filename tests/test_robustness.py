"""Bad values read from files or given as options end in one line before any work, never a traceback,
a NaN result or a silent mix of stale and new artefacts."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO, invoke, train_args
from test_security import copy_run, edit_json, one_line_error


def edit_npz(path, fn):
    with np.load(path) as z:
        d = {k: z[k] for k in z.files}
    fn(d)
    with open(path, "wb") as f:
        np.savez(f, **d)


def gen_args(run, tmp_path):
    return ["generate", run, "--seconds", 0.5, "--out", tmp_path / "o.wav"]


# ------------------------------------------------------------------ tampered prior
PRIOR_DAMAGE = {
    "nan_means": (lambda d: d["means_"].__setitem__((0, 0), np.nan), "NaN"),
    "wrong_shape": (lambda d: d.update(transmat_=d["transmat_"][:, :2]), "shape"),
    "missing_key": (lambda d: d.pop("startprob_"), "startprob"),
    "strings": (lambda d: d.update(means_=np.array(["a", "b"])), "dtype"),
    "wrong_dim": (lambda d: d.update(dim_=np.array(3)), "dim"),
    "zero_dim": (lambda d: d.update(dim_=np.array(0)), "dim_"),
    "rows_not_summing_to_1": (lambda d: d.update(transmat_=d["transmat_"] * 0.5), "sum to 1"),
    "negative_covariance": (lambda d: d.update(covars_=-np.abs(d["covars_"])), "covars_"),
    "nan_startprob": (lambda d: d["startprob_"].__setitem__(0, np.nan), "startprob"),
}


@pytest.mark.parametrize("damage", PRIOR_DAMAGE)
def test_tampered_prior_arrays_are_one_line(tiny_run, tmp_path, damage):
    run = copy_run(tiny_run, tmp_path)
    fn, msg = PRIOR_DAMAGE[damage]
    edit_npz(run / "prior.npz", fn)
    one_line_error(invoke(*gen_args(run, tmp_path), ok=False), "prior", msg)
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.parametrize("kwargs, msg", [({"n_statez": 3}, "unknown config key"), ({"n_states": "5"}, "n_states"),
                                         ({"n_states": 7}, "shape"), ({"covariance_type": "bogus"}, "covariance_type")])
def test_tampered_prior_kwargs_are_one_line(tiny_run, tmp_path, kwargs, msg):
    run = copy_run(tiny_run, tmp_path)
    edit_json(run / "prior.json", lambda m: m["config"].update(kwargs))
    one_line_error(invoke(*gen_args(run, tmp_path), ok=False), msg)


@pytest.mark.parametrize("cov", [0.0, -1.0, np.nan])
def test_gaussian_non_positive_variance_is_refused(tiny_run, tmp_path, cov):
    run = copy_run(tiny_run, tmp_path)
    invoke("fit-prior", run, "--prior", "gaussian", "--label", "g")
    edit_npz(run / "priors" / "g.npz", lambda d: d["covariance_"].__setitem__(0, cov))
    one_line_error(invoke(*gen_args(run, tmp_path), "--prior", "g", ok=False), "invalid GaussianPrior state")


def test_score_refuses_a_non_finite_result(tiny_run, tmp_path, fsdd_root):
    run = copy_run(tiny_run, tmp_path)
    invoke("fit-prior", run, "--prior", "gaussian", "--label", "g")
    edit_npz(run / "priors" / "g.npz", lambda d: d["covariance_"].__setitem__(slice(None), 1e-320))
    wav = sorted(fsdd_root.glob("recordings/0_theo_*.wav"))[0]
    one_line_error(invoke("score", wav, run, "--prior", "g", "--data", fsdd_root, ok=False), "degenerate")


@pytest.mark.parametrize("seed", range(4))
def test_garbage_autoencoder_message_gives_no_unsafe_advice(tiny_run, tmp_path, seed):
    run = copy_run(tiny_run, tmp_path)
    garbage = np.random.default_rng(seed).bytes(4096)
    (run / "autoencoder.pt").write_bytes(garbage if seed % 2 else b"PK\x03\x04" + garbage)
    line = one_line_error(invoke(*gen_args(run, tmp_path), ok=False), "refusing to load")
    assert "weights_only=False" not in line


# ------------------------------------------------------------------ tampered latents and config
LATENT_DAMAGE = {
    "missing_mean": (lambda d: d.pop("mean"), "mean"),
    "wrong_shape": (lambda d: d.update(train=d["train"][:, :3]), "dim"),
    "empty_lengths": (lambda d: d.update(train_lengths=np.zeros(0, np.int64)), "train_lengths"),
    "negative_lengths": (lambda d: d["train_lengths"].__setitem__(0, -5), "train_lengths"),
    "huge_lengths": (lambda d: d.update(train_lengths=np.array([10**9])), "train_lengths"),
    "nan_std": (lambda d: d["std"].__setitem__(0, np.nan), "std"),
}


@pytest.mark.parametrize("damage", LATENT_DAMAGE)
def test_tampered_latents_are_one_line(tiny_run, tmp_path, damage):
    run = copy_run(tiny_run, tmp_path)
    fn, msg = LATENT_DAMAGE[damage]
    edit_npz(run / "latents.npz", fn)
    edit_json(run / "prior.json", lambda m: m.pop("_made_from", None))  # reach the latents check itself
    one_line_error(invoke("generate", run, "--count", 2, "--out-dir", tmp_path / "u", ok=False), "latents.npz", msg)


def test_npz_bomb_is_refused_before_reading(tiny_run, tmp_path):
    """A small file declaring a 4 GB array: refused from its header, nothing allocated."""
    import resource
    import zipfile

    run = copy_run(tiny_run, tmp_path)
    header = {"descr": "<f4", "fortran_order": False, "shape": (2**30,)}
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(run / "prior.npz", "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("unused.npy", buf.getvalue() + b"\0" * 4096)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    one_line_error(invoke(*gen_args(run, tmp_path), ok=False), "refusing to load")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000


@pytest.mark.parametrize("change, msg", [
    (lambda c: c["representation"].update(sample_rate=0), "representation.sample_rate"),
    (lambda c: c["representation"].update(sample_rate=-8000), "representation.sample_rate"),
    (lambda c: c["representation"].update(sample_rate=10**12), "representation.sample_rate"),
    (lambda c: c.update(seed=-1), "seed"),
    (lambda c: c["representation"].update(pad_frames=100000), "representation.pad_frames"),
])
def test_tampered_config_json_is_one_line(tiny_run, tmp_path, change, msg):
    run = copy_run(tiny_run, tmp_path)
    edit_json(run / "config.json", change)
    one_line_error(invoke(*gen_args(run, tmp_path), ok=False), "config.json", msg)


def test_config_json_that_is_not_an_object(tiny_run, tmp_path):
    run = copy_run(tiny_run, tmp_path)
    (run / "config.json").write_text("[1, 2]")
    one_line_error(invoke(*gen_args(run, tmp_path), ok=False), "config.json")


# ------------------------------------------------------------------ options and recipe values
@pytest.mark.parametrize("item", ["train.lr=nan", "train.lr=inf", "train.lr=1e309", "train.lr=-1", "train.epochs=-1",
                                  "train.batch_size=0", "train.segment_frames=0", 'train.loss="bogus"', "seed=-1",
                                  "representation.sample_rate=0", "representation.pad_frames=-3",
                                  "representation.pad_frames=100000", "representation.peak=nan",
                                  "generate.block_frames=1000000"])
def test_bad_set_values_fail_before_any_work(tmp_path, fsdd_root, item):
    res = invoke("train", REPO / "recipes" / "spoken_digits", "--out", tmp_path / "r", "--data", fsdd_root,
                 "--set", item, ok=False)
    one_line_error(res, item.split("=")[0])
    assert not (tmp_path / "r").exists()


def test_include_must_be_a_file_name(tmp_path):
    (tmp_path / "r.toml").write_text("include = 5\n")
    one_line_error(invoke("train", tmp_path / "r.toml", ok=False), "include")


@pytest.mark.parametrize("args, msg", [(["--temperature", "nan"], "--temperature"),
                                       (["--temperature", "inf"], "--temperature"),
                                       (["--block-frames", "1000000"], "--block-frames"),
                                       (["--seconds", "1e-9"], "--seconds")])
def test_bad_generate_options(tiny_run, tmp_path, args, msg):
    res = invoke("generate", tiny_run, "--out", tmp_path / "o.wav", *(["--seconds", 0.5] * ("--seconds" not in args)),
                 *args, ok=False)
    one_line_error(res, msg)
    assert not (tmp_path / "o.wav").exists()


def test_bad_seed_option():
    res = invoke("--seed", "-1", "generate", "x", ok=False)
    assert res.exit_code == 2 and "Traceback" not in res.output


# ------------------------------------------------------------------ devices
@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a CPU-only torch")
@pytest.mark.parametrize("command", ["generate", "score", "eval", "fit-prior"])
def test_unavailable_device_is_one_line(tiny_run, tmp_path, fsdd_root, command):
    wav = sorted(fsdd_root.glob("recordings/0_theo_*.wav"))[0]
    args = {"generate": gen_args(tiny_run, tmp_path), "score": ["score", wav, tiny_run],
            "eval": ["eval", tiny_run, "--count", 2], "fit-prior": ["fit-prior", tiny_run, "--prior", "ar"]}[command]
    one_line_error(invoke(*args, "--device", "cuda", ok=False), "CUDA is not available")


def test_device_auto_works(tiny_run, tmp_path):
    invoke("generate", tiny_run, "--seconds", 0.5, "--out", tmp_path / "o.wav", "--device", "auto")
    assert (tmp_path / "o.wav").is_file()


def test_unknown_device_is_one_line(tiny_run, tmp_path):
    one_line_error(invoke(*gen_args(tiny_run, tmp_path), "--device", "tpu", ok=False), "unknown device")


# ------------------------------------------------------------------ training
def _tiny_training(tmp_path, **kw):
    from seqgen.codecs.audio import ConvAutoencoder
    from seqgen.representation import Frames
    from seqgen.training import train_codec
    from seqgen.training.reconstruct import Reconstruction

    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((6, 800)).astype(np.float32) * 0.1 for _ in range(3)]
    model = ConvAutoencoder(frame_length=800)
    args = dict(epochs=1, batch_size=2, segment_units=3, progress=False, checkpoint_path=tmp_path / "checkpoint.pt")
    args.update(kw)
    return model, train_codec(model, Reconstruction(model, Frames(), loss="mse"), seqs, **args)


def test_non_finite_loss_stops_training_and_saves_nothing(tmp_path):
    from seqgen.errors import TrainingError

    with pytest.raises(TrainingError, match="loss is"):
        _tiny_training(tmp_path, lr=1e30, epochs=3)
    if (tmp_path / "checkpoint.pt").exists():  # an epoch that ended finite may be kept, never a NaN one
        from seqgen.artefacts import load_torch_state

        _, ck = load_torch_state(tmp_path / "checkpoint.pt")
        assert all(np.isfinite(v.numpy()).all() for v in ck["model"].values())


def test_non_finite_model_is_never_saved(tmp_path):
    import torch

    from seqgen.artefacts import ArtefactError
    from seqgen.codecs import save_codec as save_autoencoder

    model, _ = _tiny_training(tmp_path)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    with pytest.raises(ArtefactError, match="NaN"):
        save_autoencoder(tmp_path / "autoencoder.pt", model)
    assert not (tmp_path / "autoencoder.pt").exists()


@pytest.mark.parametrize("epoch", [16, -1, "3"])
def test_tampered_checkpoint_epoch_is_refused(tmp_path, epoch):
    from seqgen.artefacts import ArtefactError, load_torch_state, save_torch_state
    from seqgen.training.loop import CHECKPOINT_KIND

    _tiny_training(tmp_path)
    cfg, ck = load_torch_state(tmp_path / "checkpoint.pt")
    ck["epoch"] = epoch
    save_torch_state(tmp_path / "checkpoint.pt", CHECKPOINT_KIND, cfg, ck)
    with pytest.raises(ArtefactError, match="checkpoint"):
        _tiny_training(tmp_path, epochs=16, resume=True)


def test_all_silent_training_data(tmp_path):
    d = tmp_path / "silence"
    d.mkdir()
    for i in range(3):
        sf.write(d / f"s{i}.wav", np.zeros(8000), 8000)
    with pytest.warns(UserWarning, match="silence"):
        res = invoke("train", REPO / "recipes" / "audio_folder", "--out", tmp_path / "run", "--data", d,
                     "--set", "train.epochs=1", "--set", "prior.type=gaussian", "--set", "data.holdout_fraction=0.3")
    assert "Traceback" not in res.output and (tmp_path / "run" / "prior.npz").exists()


def test_failed_train_leaves_no_run_directory(tmp_path):
    res = invoke("train", REPO / "recipes" / "audio_folder", "--out", tmp_path / "run", "--data", tmp_path / "none",
                 ok=False)
    one_line_error(res, "no audio data")
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ stale and mixed results
def test_generate_refuses_a_prior_of_another_autoencoder(tiny_run, tmp_path):
    import torch

    from seqgen.codecs import load_codec as load_autoencoder
    from seqgen.codecs import save_codec as save_autoencoder

    run = copy_run(tiny_run, tmp_path)
    model = load_autoencoder(run / "autoencoder.pt")
    with torch.no_grad():
        next(model.parameters()).add_(1e-3)
    save_autoencoder(run / "autoencoder.pt", model)  # as an interrupted retrain leaves it
    one_line_error(invoke(*gen_args(run, tmp_path), ok=False), "made from another autoencoder.pt", "seqgen train")


def test_second_writer_gets_one_line(tiny_run, tmp_path):
    from seqgen.pipeline.run_dir import RunDir

    run = copy_run(tiny_run, tmp_path)
    with RunDir(run).lock():
        one_line_error(invoke("fit-prior", run, "--prior", "gaussian", ok=False), "in use by another seqgen")
        one_line_error(invoke(*train_args(run, "/nonexistent"), ok=False), "in use by another seqgen")
    invoke("fit-prior", run, "--prior", "gaussian")


def test_interrupt_hint_is_true_for_the_command(tiny_run, tmp_path, monkeypatch):
    pt = __import__("importlib").import_module("seqgen.pipeline.train")

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pt, "fit_prior", interrupted)
    res = invoke("fit-prior", copy_run(tiny_run, tmp_path), "--prior", "gaussian", ok=False)
    assert res.exit_code == 130 and "interrupted" in res.output and "--resume" not in res.output


def test_sigterm_during_generate_leaves_no_temp_file(tiny_run, tmp_path):
    out = tmp_path / "long.wav"
    p = subprocess.Popen([sys.executable, "-m", "seqgen.cli.main", "-q", "generate", str(tiny_run), "--seconds",
                          "20000", "--out", str(out)], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not list(tmp_path.glob(".long.wav.*.tmp")) and time.time() < deadline and p.poll() is None:
        time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


def test_stale_temp_of_the_same_target_is_cleaned(tiny_run, tmp_path):
    stale = tmp_path / ".o.wav.abcd1234.tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 3600,) * 2)
    invoke(*gen_args(tiny_run, tmp_path))
    assert not stale.exists() and (tmp_path / "o.wav").is_file()


# ------------------------------------------------------------------ smaller truths
def test_non_utf8_file_name_is_reported_as_a_name_problem(tiny_run, tmp_path):
    name = os.fsdecode(b"\xff\xfe.wav")
    sf.write(str(tmp_path / "ok.wav"), np.zeros(8000), 8000)
    os.rename(tmp_path / "ok.wav", tmp_path / name)
    one_line_error(invoke("generate", tiny_run, "--prompt", tmp_path / name, "--seconds", 0.5, "--out",
                          tmp_path / "o.wav", ok=False), "not valid UTF-8")


def test_tiny_file_in_audio_folder_is_named_not_dropped_silently(tmp_path):
    from seqgen.data.folder import AudioFolder

    sf.write(tmp_path / "long.wav", np.sin(np.arange(16000) / 5) * 0.3, 8000)
    sf.write(tmp_path / "one.wav", np.array([0.1]), 8000)
    with pytest.warns(UserWarning, match="one.wav"):
        AudioFolder(tmp_path, holdout_fraction=0.1).load("test", sample_rate=8000)


def test_disk_full_is_one_line_naming_the_file(tiny_run, tmp_path, monkeypatch):
    import errno

    import soundfile

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)  # atomic writes (JSON, npz, weights, short WAVs)
    res = invoke("generate", tiny_run, "--count", 1, "--out-dir", tmp_path / "u", ok=False)
    one_line_error(res, "No space left on device", "sample_0000.wav")
    monkeypatch.undo()
    monkeypatch.setattr(soundfile.SoundFile, "write", lambda *a, **k: full())  # streamed generation
    res = invoke(*gen_args(tiny_run, tmp_path), ok=False)
    one_line_error(res, "No space left on device", "o.wav")
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_count_mode_writes_each_utterance_as_it_is_made(tiny_run, tmp_path, monkeypatch):
    from seqgen.pipeline.generate import Generator

    made = []
    real = Generator.to_example

    def to_example(self, *a, **k):
        made.append(sorted(p.name for p in (tmp_path / "u").glob("*.wav")) if (tmp_path / "u").exists() else [])
        return real(self, *a, **k)

    monkeypatch.setattr(Generator, "to_example", to_example)
    invoke("generate", tiny_run, "--count", 3, "--out-dir", tmp_path / "u")
    assert made == [[], ["sample_0000.wav"], ["sample_0000.wav", "sample_0001.wav"]]
