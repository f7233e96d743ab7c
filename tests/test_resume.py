"""Training killed with SIGKILL mid-run resumes from its last checkpoint and ends with the same weights."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import REPO, TINY

ARGS = [*TINY, "train.epochs=6", "prior.type=gaussian"]


def _cmd(out, fsdd_root, *extra):
    cmd = [sys.executable, "-m", "seqgen.cli.main", "-q", "train", str(REPO / "recipes" / "spoken_digits"),
           "--out", str(out), "--data", str(fsdd_root), *extra]
    for s in ARGS:
        cmd += ["--set", s]
    return cmd


def _epoch(ckpt) -> int:
    try:
        return int(torch.load(ckpt, weights_only=True)["epoch"])
    except Exception:
        return -1


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_then_resume_matches_uninterrupted(tmp_path, fsdd_root):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cmd(killed, fsdd_root), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt = killed / "checkpoint.pt"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and _epoch(ckpt) < 2:
        time.sleep(0.05)
    assert proc.poll() is None, "training finished before it could be killed: " + proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = _epoch(ckpt)
    assert 2 <= at_kill < 6
    assert not (killed / "autoencoder.pt").exists()
    assert not list(killed.glob(".*.tmp")), "a half-written file was left behind"

    subprocess.run(_cmd(killed, fsdd_root, "--resume"), env=env, check=True, capture_output=True)
    full = tmp_path / "full"
    subprocess.run(_cmd(full, fsdd_root), env=env, check=True, capture_output=True)

    a = torch.load(killed / "autoencoder.pt", weights_only=True)
    b = torch.load(full / "autoencoder.pt", weights_only=True)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=f"{k} differs after resume")
    hist = torch.load(killed / "checkpoint.pt", weights_only=True)
    assert int(hist["epoch"]) == 6
