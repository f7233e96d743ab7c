"""A run directory is data: nothing read from it may import a module, call a function it names or build
an object it describes without checks. Each test asserts the side effect never happened."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from conftest import invoke


def copy_run(tiny_run, tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "score_calibration.json").unlink(missing_ok=True)
    return run


def one_line_error(res, *words):
    assert res.exit_code in (1, 2), res.output
    assert "Traceback" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, res.output
    for w in words:
        assert w in errors[0], res.output
    return errors[0]


def edit_json(path: Path, fn) -> None:
    meta = json.loads(path.read_text())
    fn(meta)
    path.write_text(json.dumps(meta))


def consumers(run, tmp_path, fsdd_root):
    """The commands that read a run directory: generate, score, eval."""
    wav = next(iter(sorted(fsdd_root.glob("recordings/0_theo_*.wav"))))
    return {
        "generate": ["generate", run, "--seconds", 0.5, "--out", tmp_path / "o.wav"],
        "score": ["score", wav, run, "--data", fsdd_root],
        "eval": ["eval", run, "--count", 2, "--no-reference", "--data", fsdd_root],
    }


HOSTILE_TYPES = ["os:system", "subprocess:call", "builtins:eval", "os.system", "posix:system"]


def hostile_kwargs(target: str, command: str) -> dict:
    """The keyword arguments that make ``target(**kwargs)`` run ``command``."""
    if target.startswith("subprocess"):
        return {"args": command, "shell": True}
    if target.startswith("builtins"):
        return {"source": f"__import__('os').system({command!r})"}
    return {"command": command}


@pytest.mark.parametrize("command", ["generate", "score", "eval"])
@pytest.mark.parametrize("target", HOSTILE_TYPES)
def test_prior_json_naming_a_function_never_runs_it(tiny_run, tmp_path, fsdd_root, command, target):
    run = copy_run(tiny_run, tmp_path)
    marker = tmp_path / "flag-file"

    config = {"type": target, **hostile_kwargs(target, f"touch {marker}")}
    edit_json(run / "prior.json", lambda m: m.update(config=config))
    res = invoke(*consumers(run, tmp_path, fsdd_root)[command], ok=False)
    one_line_error(res, "prior.json")
    assert not marker.exists()


@pytest.mark.parametrize("target", HOSTILE_TYPES)
def test_autoencoder_json_naming_a_function_never_runs_it(tiny_run, tmp_path, fsdd_root, target):
    run = copy_run(tiny_run, tmp_path)
    marker = tmp_path / "flag-file"
    config = {"type": target, "kwargs": hostile_kwargs(target, f"id > {marker}")}
    edit_json(run / "autoencoder.json", lambda m: m.update(config=config))
    res = invoke(*consumers(run, tmp_path, fsdd_root)["generate"], ok=False)
    one_line_error(res, "autoencoder.pt")
    assert not marker.exists()


@pytest.fixture
def evil_module(tmp_path, monkeypatch):
    """An importable module whose top-level code leaves a mark: what `data.source = "evilmod:x"` would import."""
    marker = tmp_path / "imported"
    (tmp_path / "evilmod.py").write_text(f"open({str(marker)!r}, 'w').close()\nx = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield marker
    sys.modules.pop("evilmod", None)


@pytest.mark.parametrize("command", ["score", "eval"])
@pytest.mark.parametrize("field", ["data.source", "prior.type", "autoencoder.type"])
def test_config_json_naming_a_module_never_imports_it(tiny_run, tmp_path, fsdd_root, evil_module, command, field):
    run = copy_run(tiny_run, tmp_path)
    sec, key = field.split(".")
    edit_json(run / "config.json", lambda c: c[sec].update({key: "evilmod:x"}))
    if sec == "prior":  # as config.json is what fit-prior starts from, it too must not import
        edit_json(run / "prior.json", lambda m: m["config"].update(type="evilmod:x"))
    if sec == "autoencoder":
        edit_json(run / "autoencoder.json", lambda m: m["config"].update(type="evilmod:x"))
    res = invoke(*consumers(run, tmp_path, fsdd_root)[command], ok=False)
    one_line_error(res, "evilmod:x")
    assert not evil_module.exists()
    res = invoke("fit-prior", run, ok=False)
    assert not evil_module.exists() and "Traceback" not in res.output


def test_registered_prior_with_hostile_kwargs_is_refused(tiny_run, tmp_path, fsdd_root):
    run = copy_run(tiny_run, tmp_path)
    edit_json(run / "prior.json", lambda m: m["config"].update(__class__="os:system", command="touch x"))
    one_line_error(invoke(*consumers(run, tmp_path, fsdd_root)["generate"], ok=False), "unknown config key")
    edit_json(run / "prior.json", lambda m: m["config"].pop("__class__") and m["config"].pop("command"))
    edit_json(run / "prior.json", lambda m: m["config"].update(n_states="five"))
    one_line_error(invoke(*consumers(run, tmp_path, fsdd_root)["generate"], ok=False), "n_states")


def test_registered_autoencoder_with_hostile_kwargs_allocates_nothing(tiny_run, tmp_path, fsdd_root):
    import resource

    run = copy_run(tiny_run, tmp_path)
    edit_json(run / "autoencoder.json", lambda m: m["config"]["kwargs"].update(channels=[2**16, 2**16, 2**16]))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = invoke(*consumers(run, tmp_path, fsdd_root)["generate"], ok=False)
    one_line_error(res, "autoencoder.pt")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # kB: nothing huge was built


def test_recipe_and_command_line_may_name_a_dotted_path(tmp_path):
    """The user's own input may import: a recipe's dotted path is registered for this process."""
    from seqgen.config import from_dict, trust_components
    from seqgen.registry import PRIORS, RegistryError

    with pytest.raises(RegistryError):
        PRIORS.resolve("seqgen.priors.gmm:GMMPrior.fit")
    trust_components(from_dict({"prior": {"type": "seqgen.priors.gaussian:GaussianPrior"}}))
    assert PRIORS.resolve("seqgen.priors.gaussian:GaussianPrior").name == "gaussian"
    with pytest.raises(Exception, match="not a Prior subclass"):
        trust_components(from_dict({"prior": {"type": "os:system"}}))


def test_entry_point_components_resolve_and_are_checked(monkeypatch):
    """An installed package's `seqgen.priors` entry point is trusted; its target must still be a Prior."""
    import os as _os

    from seqgen.priors.gaussian import GaussianPrior
    from seqgen.registry import PRIORS, Registry, RegistryError

    class EP:
        def __init__(self, name, obj):
            self.name, self.obj = name, obj

        def load(self):
            return self.obj

    monkeypatch.setattr(Registry, "_entry_points",
                        lambda self: {"plugin_prior": EP("plugin_prior", GaussianPrior),
                                      "plugin_bad": EP("plugin_bad", _os.system)} if self is PRIORS else {})
    assert PRIORS.resolve("plugin_prior") is GaussianPrior
    with pytest.raises(RegistryError, match="not a Prior subclass"):
        PRIORS.resolve("plugin_bad")
    PRIORS._items.pop("plugin_prior", None)


@pytest.mark.parametrize("kwargs", [{"frame_length": 10**9}, {"latent_dim": 10**12}, {"channels": [32, 1e300, 32]}])
def test_autoencoder_kwargs_sizing_cpu_buffers_are_bounded(tiny_run, tmp_path, fsdd_root, kwargs):
    import resource

    run = copy_run(tiny_run, tmp_path)
    edit_json(run / "autoencoder.json", lambda m: m["config"]["kwargs"].update(kwargs))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    one_line_error(invoke(*consumers(run, tmp_path, fsdd_root)["generate"], ok=False), "autoencoder")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000
