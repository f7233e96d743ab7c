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
