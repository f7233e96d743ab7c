"""A discoverable CLI: root help, `seqgen recipes`, recipes by bare name, `seqgen info`, `python -m seqgen`,
the Python API the CLI uses, progress as log lines when stderr is not a terminal."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from conftest import invoke

ENV = {**os.environ, "MPLBACKEND": "Agg"}


def test_root_help_lists_every_command_with_a_line_and_examples():
    from seqgen.cli.main import SHORT_HELP, SUBCOMMANDS

    out = invoke("--help").output
    assert set(SHORT_HELP) == set(SUBCOMMANDS)
    for name, line in SHORT_HELP.items():
        assert f"{name}" in out and line in out  # whole line, not cut at 45 characters
    for example in ("seqgen eval", "seqgen score", "seqgen download fsdd", "seqgen report", "seqgen recipes",
                    "_SEQGEN_COMPLETE=bash_source"):
        assert example in out


def test_python_m_seqgen_and_light_help():
    code = ("import sys, runpy; sys.argv = ['seqgen', '--help']\n"
            "try: runpy.run_module('seqgen', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "assert 'torch' not in sys.modules, 'help imported torch'")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert res.returncode == 0 and "Usage: seqgen" in res.stdout, res.stderr


def test_recipes_lists_shipped_recipes_and_where_their_data_is(fsdd_root, monkeypatch):
    from seqgen.recipes_index import names, recipes_root

    monkeypatch.setenv("SEQGEN_DATA", str(fsdd_root.parent))
    assert {"spoken_digits", "mnist", "violin"} <= set(names())
    assert (recipes_root() / "spoken_digits" / "config.toml").is_file()
    out = invoke("recipes").output
    line = next(ln for ln in out.splitlines() if ln.startswith("spoken_digits "))
    assert "audio" in line and "fsdd" in line and "$SEQGEN_DATA" in line and "Spoken digits" in line
    assert "image" in next(ln for ln in out.splitlines() if ln.startswith("mnist "))


def test_a_bare_recipe_name_resolves_and_a_path_still_works(tmp_path):
    from conftest import REPO
    from seqgen.config import load_recipe

    assert load_recipe("spoken_digits").name == "spoken_digits"
    assert load_recipe("spoken_digits_7").data.options["digits"] == [7]  # its include resolved too
    assert load_recipe(REPO / "recipes" / "mnist").name == "mnist"
    res = invoke("train", "spoken_digits", "--out", tmp_path / "r", "--set", "train.epochs=many", ok=False)
    assert res.exit_code == 1 and "train.epochs" in res.output and not (tmp_path / "r").exists()
    res = invoke("train", "no_such_recipe", ok=False)
    assert "no recipe at no_such_recipe" in res.output and "spoken_digits" in res.output


def test_info_summarises_a_run(tiny_run):
    out = invoke("info", tiny_run).output
    for what in ("recipe spoken_digits", "fingerprint", "180 train / 20 test", "autoencoder.pt", "test SNR",
                 "priors fitted", "default", "time per stage", "autoencoder", "report:"):
        assert what in out, (what, out)


def test_the_api_generates_what_the_cli_does(tiny_run, tmp_path):
    import seqgen

    run = seqgen.load_run(tiny_run)
    clips = run.generate(count=2, seed=3)
    assert len(clips) == 2 and all(c.ndim == 1 and len(c) > 800 for c in clips)
    invoke("generate", tiny_run, "--count", 2, "--seed", 3, "--out-dir", tmp_path / "cli")
    recs = seqgen.load_run(tiny_run).generate(count=2, seed=3, out_dir=tmp_path / "api")
    from seqgen.audio.io import load_audio

    for r in recs:
        p = tmp_path / "cli" / os.path.basename(r["path"])
        assert np.array_equal(load_audio(p, 8000), load_audio(r["path"], 8000))
    assert seqgen.train is seqgen.api.train and "seqgen.train" in seqgen.__doc__


def test_progress_in_a_redirected_log_is_lines_not_carriage_returns(tiny_run, tmp_path):
    res = subprocess.run([sys.executable, "-m", "seqgen", "generate", str(tiny_run), "--seconds", "5",
                          "--block-frames", "4", "--out", str(tmp_path / "x.wav")],
                         capture_output=True, text=True, env=ENV, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "\r" not in res.stderr
    assert "100%" in res.stderr  # the bar's final state is still logged, as a line
