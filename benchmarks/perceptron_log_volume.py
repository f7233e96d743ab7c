"""How far the paper's per-layer volume term (eq. 6) is from the exact manifold density, on real test digits.

    python benchmarks/perceptron_log_volume.py RUN_DIR [--data PATH] [--out benchmarks/results/perceptron_log_volume.json]

For a trained ``perceptron`` run: encode the test split, compute ½ log det(JᵀJ) exactly (``log_volume``) and
the paper's sum of per-layer terms (``paper_log_volume``), both in float64, and the resulting test
log-likelihoods under the run's prior. Writes JSON (the recipe README's numbers) and prints a summary.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--data", default=None)
    ap.add_argument("--out", default="benchmarks/results/perceptron_log_volume.json")
    a = ap.parse_args()

    from seqgen.pipeline.build import make_dataset
    from seqgen.pipeline.evaluate_image import exact_log_likelihood
    from seqgen.pipeline.examples import load_split
    from seqgen.pipeline.generate import Generator

    gen = Generator(a.run_dir)
    ds, _ = make_dataset(gen.cfg, gen.run.data_root(a.data))
    X = np.stack([e.x for e in load_split(gen.rep, ds, "test")])
    model = gen.model.double()
    with torch.no_grad():
        z = model.encode(torch.as_tensor(X, dtype=torch.float64))
        exact, paper = model.log_volume(z).numpy(), model.paper_log_volume(z).numpy()
    gen.model = model.float()
    ll_exact = exact_log_likelihood(gen, X)
    diff = paper - exact
    res = {"run": Path(a.run_dir).name, "n_test": len(X), "latent_dim": model.latent_dim,
           "exact_log_volume": {"mean": float(exact.mean()), "std": float(exact.std())},
           "paper_log_volume": {"mean": float(paper.mean()), "std": float(paper.std())},
           "paper_minus_exact": {"mean": float(diff.mean()), "std": float(diff.std())},
           "correlation": float(np.corrcoef(exact, paper)[0, 1]),
           "test_log_likelihood_exact": float(ll_exact.mean()),
           "test_log_likelihood_paper_term": float((ll_exact + exact - paper).mean())}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
