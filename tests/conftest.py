"""Shared fixtures: where the real data lives, and the seed every test prints."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


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
