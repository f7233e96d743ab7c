"""Names and outputs stay where they belong: labels and recipe names are one safe path component,
outputs never overwrite inputs or run artefacts, logs do not follow planted links, special files are refused."""
from __future__ import annotations

import os
import signal
import stat

import pytest
import soundfile as sf
from conftest import REPO, invoke
from test_security import copy_run, one_line_error


@pytest.fixture
def alarm():
    """Fail instead of hanging forever (a FIFO opened for reading blocks until a writer comes)."""
    def on_alarm(*_):
        raise TimeoutError("blocked on a special file")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def snapshot(run):
    return {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("label", ["../prior", "../../../outside_x", "a/b", "g.v1", "default", "..", ".hidden", ""])
def test_fit_prior_label_cannot_leave_priors_folder(tiny_run, tmp_path, label):
    run = copy_run(tiny_run, tmp_path)
    before = snapshot(run)
    res = invoke("fit-prior", run, "--prior", "gaussian", "--label", label, ok=False)
    one_line_error(res, "label")
    assert snapshot(run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_fit_prior_dotted_type_gets_a_safe_default_label(tiny_run, tmp_path):
    run = copy_run(tiny_run, tmp_path)
    invoke("fit-prior", run, "--prior", "seqgen.priors.gaussian:GaussianPrior")
    assert (run / "priors" / "seqgen_priors_gaussian_GaussianPrior.json").is_file()


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "..", "x.y"])
def test_recipe_name_is_one_safe_component(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.toml").write_text(f'include = "{REPO}/recipes/spoken_digits/config.toml"\nname = "{name}"\n')
    one_line_error(invoke("train", tmp_path / "r.toml", ok=False), "config name")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.toml"]


@pytest.mark.parametrize("target", ["autoencoder.pt", "config.json", "prior.npz", "samples/x.wav", "PROMPT", "."])
def test_generate_never_writes_over_an_input_or_artefact(tiny_run, tmp_path, fsdd_root, target):
    run = copy_run(tiny_run, tmp_path)
    prompt = tmp_path / "prompt.wav"
    prompt.write_bytes(next(iter(sorted(fsdd_root.glob("recordings/0_theo_*.wav")))).read_bytes())
    out = prompt if target == "PROMPT" else run / target
    before, prompt_bytes = snapshot(run), prompt.read_bytes()
    args = ["--prompt", prompt] if target in ("PROMPT", "samples/x.wav") else []
    where = ["--count", 1, "--out-dir", out] if target == "." else ["--seconds", 0.5, "--out", out]
    res = invoke("generate", run, *where, *args, ok=False)
    one_line_error(res, "refusing to write")
    assert snapshot(run) == before and prompt.read_bytes() == prompt_bytes


def test_output_container_follows_the_extension(tiny_run, tmp_path):
    invoke("generate", tiny_run, "--seconds", 0.5, "--out", tmp_path / "x.flac")
    assert sf.info(tmp_path / "x.flac").format == "FLAC"
    res = invoke("generate", tiny_run, "--seconds", 0.5, "--out", tmp_path / "x.mp3", ok=False)
    one_line_error(res, ".wav or .flac")
    assert not (tmp_path / "x.mp3").exists()


def test_outputs_get_the_umask_mode(tiny_run, tmp_path):
    old = os.umask(0o027)
    try:
        invoke("generate", tiny_run, "--seconds", 0.5, "--out", tmp_path / "s.wav")
        invoke("generate", tiny_run, "--count", 1, "--out-dir", tmp_path / "u")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "s.wav").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "u" / "sample_0000.wav").stat().st_mode) == 0o640


def test_log_does_not_follow_a_planted_symlink(tmp_path):
    import logging

    from seqgen.paths import log_handler

    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / "train.log").symlink_to(victim)
    h = log_handler(tmp_path / "train.log")
    h.emit(logging.LogRecord("seqgen", logging.INFO, __file__, 1, "hello", None, None))
    h.close()
    assert victim.read_text() == "precious\n"
    assert not (tmp_path / "train.log").is_symlink() and "hello" in (tmp_path / "train.log").read_text()


@pytest.mark.parametrize("name", ["config.json", "prior.json", "prior.npz", "autoencoder.pt", "latents.npz"])
def test_special_file_as_artefact_is_refused_not_waited_on(tiny_run, tmp_path, alarm, name):
    run = copy_run(tiny_run, tmp_path)
    (run / name).unlink()
    os.mkfifo(run / name)
    res = invoke("generate", run, "--seconds", 0.5, "--out", tmp_path / "o.wav", ok=False)
    one_line_error(res, "not a regular file")


def test_special_file_as_recipe_include_is_refused(tmp_path, alarm):
    os.mkfifo(tmp_path / "base.toml")
    (tmp_path / "r.toml").write_text('include = "base.toml"\n')
    one_line_error(invoke("train", tmp_path / "r.toml", ok=False), "not a regular file")


@pytest.mark.parametrize("name", ["prior.npz", "config.json", "latents.npz"])
def test_artefact_symlink_out_of_the_run_is_refused(tiny_run, tmp_path, name):
    run = copy_run(tiny_run, tmp_path)
    outside = tmp_path / f"outside_{name}"
    (run / name).rename(outside)
    (run / name).symlink_to(outside)
    one_line_error(invoke("generate", run, "--seconds", 0.5, "--out", tmp_path / "o.wav", ok=False), "symbolic link")


def test_train_replaces_a_symlinked_log_instead_of_appending_through_it(tmp_path, fsdd_root):
    run = tmp_path / "run"
    run.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (run / "train.log").symlink_to(victim)
    res = invoke("train", REPO / "recipes" / "audio_folder", "--out", run, "--data", tmp_path / "none", ok=False)
    one_line_error(res, "no audio data")  # no data: the run directory is not touched at all
    assert victim.read_text() == "precious\n"
    invoke("train", REPO / "recipes" / "spoken_digits", "--out", run, "--data", fsdd_root, "--set", "data.digits=[0]",
           "--set", 'data.speakers=["jackson"]', "--set", "train.epochs=0", "--set", "prior.type=gaussian")
    assert victim.read_text() == "precious\n" and not (run / "train.log").is_symlink()
    assert "data: fsdd from" in (run / "train.log").read_text()
