"""The README's bad-input table: every row gives one clear message (exit 1, no traceback) or documented handling.

README.md's "Bad input" table mirrors ROWS; keep them in step.
"""
from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO, invoke

SR = 8000


def _tone(n=4000, sr=SR, ch=1):
    t = np.arange(n) / sr
    x = 0.3 * np.sin(2 * np.pi * 300 * t) * np.hanning(n)
    return np.repeat(x[:, None], ch, 1) if ch > 1 else x


def _write(kind: str, d: Path) -> Path:
    """Make the bad (or odd) input file of one table row."""
    p = d / "in.wav"
    if kind == "corrupt_header":
        sf.write(p, _tone(), SR)
        b = bytearray(p.read_bytes())
        b[0:12] = b"XXXXXXXXXXXX"
        p.write_bytes(bytes(b))
    elif kind == "truncated_flac":
        p = d / "in.flac"
        sf.write(p, _tone(40000), SR)
        p.write_bytes(p.read_bytes()[:60])
    elif kind == "zero_byte":
        p.write_bytes(b"")
    elif kind == "text_as_wav":
        p.write_text("this is not audio\n" * 50)
    elif kind == "zero_length":
        sf.write(p, np.zeros(0), SR)
    elif kind == "shorter_than_frame":
        sf.write(p, _tone(500), SR)
    elif kind == "silence":
        sf.write(p, np.zeros(8000), SR)
    elif kind == "nan":
        x = _tone()
        x[100] = np.nan
        sf.write(p, x, SR, subtype="FLOAT")
    elif kind == "six_channels":
        sf.write(p, _tone(ch=6), SR)
    elif kind == "pcm24":
        sf.write(p, _tone(), SR, subtype="PCM_24")
    elif kind == "float":
        sf.write(p, _tone(), SR, subtype="FLOAT")
    elif kind.startswith("rate_"):
        r = int(kind[5:])
        sf.write(p, _tone(r // 2, sr=r), r)
    return p


#: (input, what the user sees: None = it works, else a substring of the one-line error)
PROMPT_ROWS = [
    ("corrupt_header", "cannot decode"),
    ("truncated_flac", "cannot decode"),
    ("zero_byte", "empty file (0 bytes)"),
    ("text_as_wav", "cannot decode"),
    ("zero_length", "too short (0 samples"),
    ("shorter_than_frame", "prompt is too short"),
    ("silence", None),
    ("nan", "NaN or Inf"),
    ("six_channels", None),
    ("pcm24", None),
    ("float", None),
    ("rate_44100", None),
    ("rate_48000", None),
    ("rate_22050", None),
]


def _clean_error(res, msg):
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    assert msg in res.output, res.output


@pytest.mark.parametrize("kind, msg", PROMPT_ROWS, ids=[r[0] for r in PROMPT_ROWS])
def test_audio_input_rows(tiny_run, tmp_path, kind, msg):
    src = _write(kind, tmp_path)
    out = tmp_path / "out.wav"
    res = invoke("generate", tiny_run, "--prompt", src, "--seconds", 0.5, "--out", out, ok=msg is None)
    if msg:
        _clean_error(res, msg)
        assert not out.exists()
    else:
        y, sr = sf.read(out)
        assert sr == SR and len(y) >= 4000 and np.isfinite(y).all()


def test_training_folder_with_mixed_files_skips_unreadable_ones(tmp_path, fsdd_root):
    d = tmp_path / "sounds"
    d.mkdir()
    files = sorted(fsdd_root.glob("recordings/2_theo_*.wav"))[:18]
    for i, f in enumerate(files[::3]):  # three utterances per file, so a 30 % hold-out is > one frame
        x = np.concatenate([sf.read(g)[0] for g in files[3 * i : 3 * i + 3]])
        if i % 3 == 1:  # 44.1 kHz stereo FLAC
            sf.write(d / f"{f.stem}.flac", np.stack([x, x], 1), 8000)  # stereo FLAC
        elif i % 3 == 2:
            import soxr

            sf.write(d / f"{f.stem}_48k.wav", soxr.resample(x, 8000, 48000), 48000, subtype="FLOAT")  # 48 kHz float
        else:
            sf.write(d / f.name, x, 8000)  # 8 kHz 16-bit WAV
    (d / "broken.wav").write_text("not audio")
    (d / "empty.flac").write_bytes(b"")
    with pytest.warns(UserWarning) as rec:
        from seqgen.config import load_recipe
        from seqgen.pipeline.train import train

        cfg = load_recipe(REPO / "recipes" / "audio_folder", [
            "train.epochs=1", "prior.type=gaussian", "data.chunk_seconds=0.0", "data.holdout_fraction=0.3"])
        run = train(cfg, tmp_path / "run", data=str(d), progress=False, generate_examples=1)
    text = " ".join(str(w.message) for w in rec)
    assert "broken.wav" in text and "empty.flac" in text
    assert (run.path / "prior.npz").exists()
    lat = np.load(run.path / "latents.npz")
    assert len(lat["train_lengths"]) == 6 and len(lat["test_lengths"]) == 6


@pytest.mark.parametrize("setup, msg", [
    ("empty_folder", "no audio data found there"),
    ("missing_folder", "no audio data found there"),
])
def test_data_folder_rows(tmp_path, setup, msg):
    d = tmp_path / "data"
    if setup == "empty_folder":
        d.mkdir()
        (d / "notes.txt").write_text("no audio here")
    res = invoke("train", REPO / "recipes" / "audio_folder", "--out", tmp_path / "run", "--data", d, ok=False)
    _clean_error(res, msg)


@pytest.mark.parametrize("args, msg", [
    (["--set", "train.epochz=3"], "unknown config key 'train.epochz'"),
    (["--set", "train.epochs=many"], "train.epochs: expected int"),
    (["--set", "prior.n_statez=3"], "unknown config key 'prior.n_statez'"),
    (["--set", "prior.n_states=-3"], "n_states"),
    (["--set", "representation.sample_rate=8k"], "representation.sample_rate: expected a number, got str '8k'"),
])
def test_recipe_override_rows(tmp_path, fsdd_root, args, msg):
    res = invoke("train", REPO / "recipes" / "spoken_digits", "--out", tmp_path / "r", "--data", fsdd_root, *args,
                 ok=False)
    _clean_error(res, msg)
    assert not (tmp_path / "r" / "autoencoder.pt").exists()


def test_recipe_syntax_error_row(tmp_path):
    (tmp_path / "config.toml").write_text("[train\nepochs = 3\n")
    _clean_error(invoke("train", tmp_path, ok=False), "syntax error in")


def _copy_run(tiny_run, tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    return run


@pytest.mark.parametrize("damage, msg", [
    ("rm autoencoder.pt", "missing file"),
    ("rm prior.npz", "missing file"),
    ("rm config.json", "missing file"),
    ("garble prior.npz", "corrupt"),
    ("garble autoencoder.pt", "refusing to load"),
    ("garble config.json", "corrupt JSON"),
    ("version prior.json", "format_version"),
])
def test_run_dir_rows(tiny_run, tmp_path, damage, msg):
    run = _copy_run(tiny_run, tmp_path)
    op, name = damage.split()
    if op == "rm":
        (run / name).unlink()
    elif op == "garble":
        (run / name).write_bytes(b"\x00garbage" * 10)
    else:
        import json

        meta = json.loads((run / name).read_text())
        meta["format_version"] = 99
        (run / name).write_text(json.dumps(meta))
    _clean_error(invoke("generate", run, "--seconds", 1, "--out", tmp_path / "o.wav", ok=False), msg)
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.parametrize("section, key, value", [("data", "digits", [None]), ("data", "digits", "seven"),
                                                 ("representation", "frame_length", None)])
def test_config_values_of_the_wrong_type_are_one_line(tiny_run, tmp_path, section, key, value):
    """A run's config.json edited to a value of the wrong type (None, a string for numbers): one line
    naming the section, as for a value out of range, not a TypeError traceback (found by the fuzz test)."""
    import json

    run = _copy_run(tiny_run, tmp_path)
    cfg = json.loads((run / "config.json").read_text())
    cfg[section][key] = value
    (run / "config.json").write_text(json.dumps(cfg))
    _clean_error(invoke("eval", run, "--count", 4, ok=False), f"{section}")


class _Exploit:
    """Unpickling this runs os.system: what a malicious 'checkpoint' would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("target", ["autoencoder.pt", "prior.npz", "latents.npz"])
def test_malicious_pickle_is_refused_and_never_runs(tiny_run, tmp_path, target):
    run = _copy_run(tiny_run, tmp_path)
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"weights": _Exploit(marker)})
    if target.endswith(".npz"):  # an npz whose array is a pickled object
        np.savez(run / target, **{"a": np.array([_Exploit(marker)], dtype=object)})
    else:
        (run / target).write_bytes(payload)
    res = invoke("generate", run, "--seconds", 1, "--out", tmp_path / "o.wav", ok=False)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert not marker.exists(), "loading a checkpoint ran foreign code"


@pytest.mark.parametrize("seconds, msg", [("0", "must be a positive"), ("-3", "must be a positive"),
                                          ("1e9", "more than"), ("nan", "must be a positive")])
def test_seconds_rows(tiny_run, tmp_path, seconds, msg):
    _clean_error(invoke("generate", tiny_run, "--seconds", seconds, "--out", tmp_path / "o.wav", ok=False), msg)


def test_count_row(tiny_run, tmp_path):
    res = invoke("generate", tiny_run, "--count", 0, "--out-dir", tmp_path, ok=False)
    assert res.exit_code == 2 and "must be positive" in res.output


def test_output_path_rows(tiny_run, tmp_path):
    # a missing folder is created (documented); a path under a file, or where nothing can be written, is an error
    invoke("generate", tiny_run, "--seconds", 0.5, "--out", tmp_path / "new" / "deeper" / "o.wav")
    assert (tmp_path / "new" / "deeper" / "o.wav").is_file()
    (tmp_path / "afile").write_text("x")
    _clean_error(invoke("generate", tiny_run, "--seconds", 0.5, "--out", tmp_path / "afile" / "o.wav", ok=False),
                 "cannot write")
    _clean_error(invoke("generate", tiny_run, "--seconds", 0.5, "--out", "/proc/seqgen_test.wav", ok=False),
                 "cannot write")
