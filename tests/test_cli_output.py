"""What commands print: third-party chatter only with -v, a warning once per command, names that do not collide."""
from __future__ import annotations

import shutil

from click.testing import CliRunner

from seqgen.cli.main import cli


def run_cli(*args):
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_sklearn_gmm_chatter_only_with_v(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("report", ".lock"))
    quiet = run_cli("fit-prior", run, "--prior", "gmm", "--set", "prior.n_components=2", "--set", "prior.max_iter=20")
    assert "Initialization" not in quiet and "Iteration" not in quiet and "gmm" in quiet
    loud = run_cli("-v", "fit-prior", run, "--prior", "gmm", "--set", "prior.n_components=2",
                   "--set", "prior.max_iter=20", "--force")
    assert "Initialization 0" in loud


def test_embedded_subset_warning_once_per_command(tmp_path, monkeypatch, recwarn):
    """eval --compare locates the data once per prior; the user hears about the embedded subset once."""
    import warnings

    from seqgen.data import fsdd
    from seqgen.data.locate import WARNED_EMBEDDED, locate

    monkeypatch.delenv("SEQGEN_DATA", raising=False)
    monkeypatch.setenv("SEQGEN_CACHE", str(tmp_path / "empty-cache"))
    WARNED_EMBEDDED.clear()
    warnings.simplefilter("always")  # Python's own once-per-location filter is not what is tested
    for _ in range(3):
        assert locate("fsdd", fsdd.looks_valid)[1] == "embedded subset"
    assert sum("subset embedded in seqgen" in str(w.message) for w in recwarn) == 1
    run_cli("download", "--help")  # any new command starts afresh
    assert not WARNED_EMBEDDED


def test_per_label_fits_are_saved_under_their_name_and_generate_takes_digit(tiny_run, tmp_path):
    from conftest import invoke

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("report", ".lock"))
    invoke("fit-prior", run, "--prior", "gaussian", "--per-label", "--label", "g30")
    first = {p.name: p.stat().st_mtime_ns for p in (run / "priors").glob("g30_label_*")}
    assert {"g30.json", "g30_label_0.json", "g30_label_1.json"} <= {p.name for p in (run / "priors").iterdir()}
    invoke("fit-prior", run, "--prior", "gmm", "--set", "prior.n_components=2", "--per-label", "--name", "g2")
    assert (run / "priors" / "g2_label_1.npz").is_file()
    assert {p.name: p.stat().st_mtime_ns for p in (run / "priors").glob("g30_label_*")} == first  # not overwritten

    invoke("generate", run, "--prior", "g30", "--digit", 1, "--count", 2, "--out-dir", tmp_path / "ones")
    assert sorted(p.name for p in (tmp_path / "ones").iterdir()) == ["sample_0000.wav", "sample_0001.wav"]
    res = invoke("generate", run, "--prior", "g30", "--digit", 7, "--count", 1, "--out-dir", tmp_path / "x", ok=False)
    assert res.exit_code == 1 and "no prior 'g30_label_7'" in res.output
    # the old option name still works, with a note
    res = invoke("generate", run, "--prior", "g2", "--label", 0, "--count", 1, "--out-dir", tmp_path / "old")
    assert "--label is deprecated; use --digit" in res.output and (tmp_path / "old" / "sample_0000.wav").is_file()
    # the run's own samples are named like --count output
    assert sorted(p.name for p in (tiny_run / "samples").glob("sample_*.wav"))[0] == "sample_0000.wav"
    assert "--digit" in invoke("generate", "--help").output and "--name" in invoke("fit-prior", "--help").output
