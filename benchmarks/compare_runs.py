"""Compare the numbers two run directories wrote (metrics.json): the regression guard for a refactor.

    python benchmarks/compare_runs.py RUN_A RUN_B [--rtol 1e-6]

Every numeric leaf of RUN_A's metrics.json (timings and speeds left out: they measure the machine) must
equal RUN_B's within ``rtol``; prints the differing keys and exits 1 if there are any.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MACHINE_DEPENDENT = ("timings_s", "time_s", "fit_seconds", "seconds_per_second", "images_per_second")


def leaves(d, prefix: str = "") -> dict:
    if isinstance(d, dict):
        return {k: v for key, val in d.items() for k, v in leaves(val, f"{prefix}.{key}" if prefix else key).items()}
    if isinstance(d, list):
        return {k: v for i, val in enumerate(d) for k, v in leaves(val, f"{prefix}[{i}]").items()}
    return {prefix: d}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_a")
    ap.add_argument("run_b")
    ap.add_argument("--rtol", type=float, default=1e-6)
    a = ap.parse_args()
    A, B = (leaves(json.loads((Path(r) / "metrics.json").read_text())) for r in (a.run_a, a.run_b))
    keys = [k for k in A if not any(m in k for m in MACHINE_DEPENDENT) and ".config." not in k]
    numeric = [k for k in keys if isinstance(A[k], (int, float)) and not isinstance(A[k], bool)]
    bad = [k for k in numeric if not isinstance(B.get(k), (int, float)) or abs(A[k] - B[k]) > a.rtol * max(1.0, abs(A[k]))]
    bad += [k for k in keys if k not in numeric and A[k] != B.get(k)]
    for k in bad:
        print(f"{k}: {A[k]!r} != {B.get(k)!r}")
    print(f"{len(numeric)} numbers compared, {len(bad)} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
