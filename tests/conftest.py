"""Shared fixtures: where the real data lives, and the seed every test prints."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
#: two digits, two speakers (180 train / 20 test utterances), 3 epochs, a 5-state HMM: ~30 s on 2 cores
TINY = ["data.digits=[0, 1]", 'data.speakers=["jackson", "theo"]', "train.epochs=3",
        "prior.n_states=5", "prior.n_iter=10", "prior.covariance_type=diag"]


MNIST_TINY = ["data.limit_train=600", "data.limit_test=150", "train.epochs=3", "train.batch_size=16",
              "prior.n_components=5"]


def invoke(*args, ok=True):
    """Run the `seqgen` CLI in-process; with ``ok`` assert it succeeded."""
    from click.testing import CliRunner

    from seqgen.cli.main import cli

    res = CliRunner().invoke(cli, ["-q", *map(str, args)], catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (a process group's rendezvous in the multi-process tests)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_args(out, fsdd_root, *extra) -> list:
    args = ["train", REPO / "recipes" / "spoken_digits", "--out", out, "--data", fsdd_root]
    for s in (*TINY, *extra):
        args += ["--set", s]
    return args


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, fsdd_root) -> Path:
    """A tiny spoken-digit run trained once per test session through the CLI."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    invoke(*train_args(out, fsdd_root))
    return out


@pytest.fixture(scope="session")
def mnist_run(tmp_path_factory, data_root) -> Path:
    """A tiny MNIST run (600 train / 150 test images, 3 epochs, a 5-component GMM) trained once per session."""
    out = tmp_path_factory.mktemp("img") / "mnist"
    args = ["train", REPO / "recipes" / "mnist", "--out", out, "--data", data_root / "mnist_t10k"]
    for s in MNIST_TINY:
        args += ["--set", s]
    invoke(*args)
    return out


def _data_root() -> Path | None:
    for cand in (os.environ.get("SEQGEN_TEST_DATA"), REPO.parent / "shared" / "data"):
        if cand and Path(cand).is_dir():
            return Path(cand)
    return None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """``../shared/data`` (or ``$SEQGEN_TEST_DATA``). CI sets SEQGEN_REQUIRE_DATA=1: missing data fails."""
    root = _data_root()
    if root is None:
        if os.environ.get("SEQGEN_REQUIRE_DATA"):
            pytest.fail("real test data not found: set SEQGEN_TEST_DATA or put shared/data beside the repo")
        pytest.skip("real test data not found (set SEQGEN_TEST_DATA)")
    return root


@pytest.fixture(scope="session")
def fsdd_root(data_root) -> Path:
    return data_root / "fsdd"


@pytest.fixture
def seed() -> int:
    s = int(os.environ.get("SEQGEN_TEST_SEED", "1234"))
    print(f"seed={s}")
    return s


@pytest.fixture
def rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed)


def assert_audible(x, sr) -> dict:
    """The listen-equivalent check of generated audio: well above silence, far from white noise."""
    from seqgen.evaluation.signal_metrics import audio_checks

    c = audio_checks(x, sr)
    assert not c["silent"] and c["rms_db"] > -40, c            # well above silence
    assert c["flatness"] < 0.3 and not c["noise_like"], c      # far from white noise (~0.5-0.6)
    return c



# ------------------------------------------------------------------ shared fixtures for several modules
@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny problems on a shared 2-core CPU: torch's spinning thread pool is many times slower than one thread.
    A module opts in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def one_thread(one_torch_thread):
    """:func:`one_torch_thread` and one BLAS / OpenMP thread for numpy and scikit-learn too."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture
def server(tmp_path):
    """A local HTTP server: ``(folder it serves, base URL)``, for download tests."""
    import functools
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.RequestHandlerClass.log_message = lambda *a: None
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
