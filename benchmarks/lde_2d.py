"""The 2-d density test of Yoo et al. (§4.1.1): LDE with K = 1, 10, 30 components and a GMM fitted on the six-bar grid.

    python benchmarks/lde_2d.py [--config recipes/lde_2d/grid.toml] [--out recipes/lde_2d]

Fits every ``[models.*]`` prior of the config on the grid's training points (through the priors' API: no
codec), scores held-out points (mean log-likelihood ± standard error, nats per point) and writes
``lde_2d.json`` and ``lde_2d.png`` (per model: the density on a grid, and 5,000 samples over the target).
"""
from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from pathlib import Path

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="recipes/lde_2d/grid.toml")
    ap.add_argument("--out", default="recipes/lde_2d")
    ap.add_argument("--n-samples", type=int, default=5000, help="samples drawn per model for the scatter plot")
    a = ap.parse_args()

    import torch

    from seqgen.data.toy import Grid2D
    from seqgen.evaluation.kde import mean_sem
    from seqgen.priors import PRIORS

    torch.set_num_threads(1)
    cfg = tomllib.loads(Path(a.config).read_text())
    seed = int(cfg.get("seed", 0))
    ds = Grid2D(seed=seed, **cfg["data"])
    X, X_test = ds.points("train"), ds.points("test")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    lim = ds.shape["half_width"] + 2.0
    g = np.linspace(-lim, lim, 241)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    results, images, samples = {}, {}, {}
    for name, spec in cfg["models"].items():
        spec = dict(spec)
        cls = PRIORS.resolve(spec.pop("type"))
        if "seed" in inspect.signature(cls).parameters:
            spec.setdefault("seed", seed)
        t0 = time.perf_counter()
        prior = cls(**spec).fit(X)
        fit_s = time.perf_counter() - t0
        ll = prior.log_prob(list(X_test[:, None, :]))
        m, se = mean_sem(ll)
        results[name] = {"type": cls.name, "options": spec, "test_log_likelihood": m, "sem": se,
                         "train_log_likelihood": float(prior.score(X)), "fit_seconds": fit_s}
        images[name] = prior.log_prob(list(grid[:, None, :])).reshape(len(g), len(g))
        samples[name] = np.concatenate(prior.sample([1] * a.n_samples, seed=seed + 2))
        print(f"{name:10s} test {m:8.3f} ± {se:.3f} nats/point   ({fit_s:.0f} s)", flush=True)

    meta = {"config": cfg, "seed": seed, "n_train": len(X), "n_test": len(X_test),
            "note": "held-out mean log-likelihood (nats per 2-d point) ± standard error over test points"}
    (out / "lde_2d.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    _plot(out / "lde_2d.png", X, images, samples, results, g)
    print(f"wrote {out / 'lde_2d.json'} and {out / 'lde_2d.png'}")


def _plot(path, X, images, samples, results, g):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(images)
    fig, ax = plt.subplots(2, len(names) + 1, figsize=(3.2 * (len(names) + 1), 6.4))
    ext = [g[0], g[-1], g[0], g[-1]]
    ax[0, 0].hist2d(X[:, 0], X[:, 1], bins=240, range=[ext[:2], ext[2:]], cmap="magma")
    ax[0, 0].set_title("target (train histogram)")
    ax[1, 0].scatter(*X[:5000].T, s=0.3, c="k")
    ax[1, 0].set_title("target samples")
    for j, n in enumerate(names, 1):
        ax[0, j].imshow(np.exp(images[n]), origin="lower", extent=ext, cmap="magma")
        ax[0, j].set_title(f"{n}: {results[n]['test_log_likelihood']:.2f} nats")
        ax[1, j].scatter(*X[:5000].T, s=0.3, c="0.8")
        ax[1, j].scatter(*samples[n].T, s=0.3, c="C3")
        ax[1, j].set_title(f"{n}: samples")
    for a_ in ax.ravel():
        a_.set_xlim(g[0], g[-1]); a_.set_ylim(g[0], g[-1]); a_.set_aspect("equal"); a_.set_xticks([]); a_.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
