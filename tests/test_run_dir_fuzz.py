"""Property: whatever is wrong in a run directory's JSON and npz files, `generate`, `score` and `eval`
end with exit status 0 (harmless change), 1 or 2 and at most one `Error:` line, no traceback, no file
written outside the chosen output, and nothing a file names is executed or imported."""
from __future__ import annotations

import io
import json
import math
import os
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

JSON_FILES = ["config.json", "prior.json", "autoencoder.json", "latents.json", "metrics.json"]
NPZ_FILES = ["prior.npz", "latents.npz"]
#: what an invocation may create or change inside the run directory
RUN_WRITES = {"eval.json", "score_calibration.json", ".lock", "classifier"}


@pytest.fixture(scope="module")
def pristine(tiny_run, tmp_path_factory, fsdd_root):
    """A calibrated copy of the tiny run (so `score` and `eval` reach their real work quickly)."""
    run = tmp_path_factory.mktemp("fuzz") / "pristine"
    shutil.copytree(tiny_run, run)
    wav = sorted(fsdd_root.glob("recordings/0_theo_*.wav"))[0]
    invoke("score", wav, run, "--data", fsdd_root)
    return run


def _paths(obj, prefix=()):
    """Every key path of nested JSON (dicts and lists)."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:4]):
            yield from _paths(v, prefix + (i,))


HOSTILE = ["os:system", "subprocess:call", "builtins:eval", "evilmod:x", "../../x", "/etc/passwd"]
VALUES = st.one_of(st.sampled_from([None, math.nan, math.inf, -1, 0, 10**12, 1e308, -1e-300, True, "", [], {},
                                    [1, 2], "x" * 300, *HOSTILE]), st.integers(), st.floats(), st.text(max_size=8))


def mutate_json(data, path: Path) -> None:
    meta = json.loads(path.read_text())
    target = data.draw(st.sampled_from(list(_paths(meta))))
    op = data.draw(st.sampled_from(["set", "delete", "top"]))
    if op == "top" or not target:
        meta = data.draw(VALUES)
    else:
        node = meta
        for k in target[:-1]:
            node = node[k]
        if op == "delete":
            del node[target[-1]]
        else:
            node[target[-1]] = data.draw(VALUES)
    path.write_text(json.dumps(meta))


def _bomb_member(shape) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\0" * 64


def mutate_npz(data, path: Path) -> None:
    try:
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile):  # already damaged by an earlier mutation
        return
    key = data.draw(st.sampled_from(sorted(arrays)))
    a = arrays[key]
    op = data.draw(st.sampled_from(["delete", "nan", "inf", "shape", "scalar", "empty", "strings", "int", "huge",
                                    "negative", "bomb"]))
    if op == "delete":
        del arrays[key]
    elif op in ("nan", "inf") and a.size and a.dtype.kind == "f":
        a = a.copy()
        a.flat[data.draw(st.integers(0, a.size - 1))] = np.nan if op == "nan" else np.inf
        arrays[key] = a
    elif op == "shape":
        arrays[key] = a.reshape(-1)[: max(1, a.size // 2)]
    elif op == "scalar":
        arrays[key] = np.asarray(a.reshape(-1)[0] if a.size else 0)
    elif op == "empty":
        arrays[key] = a.reshape(-1)[:0]
    elif op == "strings":
        arrays[key] = np.array(["a"] * max(1, min(a.size, 4)))
    elif op == "int":
        arrays[key] = a.astype(np.int64)
    elif op == "huge":
        arrays[key] = np.full_like(a, 1e300 if a.dtype.kind == "f" else 10**9)
    elif op == "negative":
        arrays[key] = -np.abs(a) - 1
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    if op == "bomb":
        with zipfile.ZipFile(path, "a") as zf:
            zf.writestr(f"{key}_extra.npy", _bomb_member((2**31,)))


def _tree(root: Path) -> dict:
    return {p.relative_to(root): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@settings(max_examples=int(os.environ.get("SEQGEN_FUZZ_EXAMPLES", 25)), deadline=None,
          suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_mutated_run_directory_is_one_line_at_most(pristine, fsdd_root, tmp_path_factory, data):
    base = tmp_path_factory.mktemp("case")
    run = base / "run"
    shutil.copytree(pristine, run)
    marker = base / "imported"
    (base / "evilmod.py").write_text(f"open({str(marker)!r}, 'w').close()\nx = None\n")
    for _ in range(data.draw(st.integers(1, 2))):
        name = data.draw(st.sampled_from(JSON_FILES + NPZ_FILES))
        (mutate_json if name.endswith(".json") else mutate_npz)(data, run / name)
    out = base / "out.wav"
    wav = sorted(fsdd_root.glob("recordings/0_theo_*.wav"))[0]
    command = data.draw(st.sampled_from(["generate", "score", "eval"]))
    args = {"generate": ["generate", run, "--seconds", 0.5, "--out", out],
            "score": ["score", wav, run, "--data", fsdd_root],
            "eval": ["eval", run, "--count", 2, "--no-reference", "--data", fsdd_root]}[command]
    before = _tree(base)
    sys.path.insert(0, str(base))  # "evilmod:x" would import if anything imported what a file names
    cwd = os.getcwd()
    os.chdir(base)  # a relative path written by mistake lands where the check below sees it
    try:
        res = invoke(*args, ok=False)
    finally:
        os.chdir(cwd)
        sys.path.remove(str(base))
        sys.modules.pop("evilmod", None)
    assert res.exit_code in (0, 1, 2), res.output
    assert "Traceback" not in res.output
    if res.exit_code:
        assert sum(line.startswith("Error:") for line in res.output.splitlines()) == 1, res.output
    assert not marker.exists()
    changed = {p for p, t in _tree(base).items() if before.get(p) != t}
    allowed = {Path("out.wav")} | {Path("run") / n for n in RUN_WRITES}
    assert {p for p in changed if p not in allowed and not str(p).startswith("run/classifier")} == set(), changed
