"""LMGAE vs WAE-GP on random-manifold data over true latent dimension d and model capacity n (Mondal et al.
§5.1, Fig. 3a/b).

    python benchmarks/lmgae_sweep.py [--recipe recipes/lmgae_synthetic] [--out recipes/lmgae_synthetic]
                                     [--d 2 4 8] [--n 2 4 8 16 32] [--set train.epochs=12 ...] [--jobs 2]
    python benchmarks/lmgae_sweep.py --compare-priors RUN_DIR [--out recipes/lmgae_synthetic]

Every grid point is the recipe trained by the pipeline (``seqgen.pipeline.train``) with ``data.d = d``,
``autoencoder.latent_dim = n`` and ``autoencoder.mask`` true (LMGAE) or false (WAE-GP, the same networks), into
``--runs/d{d}_n{n}_{method}``. Recorded per run: the active latent dimensions (``m_i >= 0.1``; n for WAE-GP),
the Fréchet distance between as many generated vectors as held-out test vectors and those test vectors (the
recipe's own prior: LMGAE's masked N(0, I)), the same distance between training and test vectors (the floor
at this sample size) and the test MSE. Writes ``sweep.json`` and ``sweep.png`` into ``--out``; the recipe
README's table is rendered from the JSON by ``benchmarks/render.py``. ``--compare-priors`` scores every prior
fitted in one run (``seqgen fit-prior RUN --prior gmm``: learned priors on the active dimensions) the same way
and writes ``priors.json``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

METHODS = {"lmgae": "true", "wae_gp": "false"}


def meta() -> dict:
    import torch

    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "host": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "load_average": round(os.getloadavg()[0], 2), "gpu": None}


def run_point(recipe: str, overrides: list[str], runs: Path, d: int, n: int, method: str) -> dict:
    """Train one grid point through the pipeline; its row of the sweep."""
    from seqgen.config import load_recipe
    from seqgen.pipeline.train import train

    cfg = load_recipe(recipe, [*overrides, f"data.d={d}", f"autoencoder.latent_dim={n}",
                               f"autoencoder.mask={METHODS[method]}"])
    out = runs / f"d{d}_n{n}_{method}"
    run = train(cfg, out, progress=False)  # a grid point already trained with this config is reused
    m = run.read_metrics()
    g = m["generation"]
    row = {"d": d, "n": n, "method": method, "active_dims": g["prior_dim"], "fd_test": g["frechet_distance_test"],
           "fd_floor": g["frechet_distance_train_vs_test"], "test_mse": m["autoencoder_test"]["mse"],
           "steps": cfg.train.epochs * -(-int(cfg.data.options["n_train"]) // cfg.train.batch_size),
           "train_seconds": m["timings_s"]["autoencoder"]}
    print(json.dumps(row), flush=True)
    return row


def compare_priors(run_dir: Path) -> dict:
    """Fréchet distance to the test vectors of every prior fitted in a run (the recipe's own and those of
    ``seqgen fit-prior``, all on the run's active dimensions), as many generated vectors as test vectors."""
    from seqgen.evaluation.generative import frechet_distance
    from seqgen.pipeline.build import make_dataset
    from seqgen.pipeline.generate import Generator
    from seqgen.pipeline.report_vector import generate_vectors
    from seqgen.pipeline.run_dir import RunDir

    run = RunDir(run_dir)
    cfg = run.load_config()
    test = make_dataset(cfg)[0].vectors("test")
    fitted = run.read_metrics().get("priors", {})
    rows = []
    for name in ["default", *sorted(p.stem for p in (run.path / "priors").glob("*.json"))]:
        gen = Generator(run.path, prior=None if name == "default" else name)
        x = generate_vectors(gen, len(test), seed=cfg.seed)
        rows.append({"prior": name, "type": fitted.get(name, {}).get("type"), "dims": gen.prior.dim_,
                     "fd_test": frechet_distance(x, test),
                     "test_ll_per_dim": fitted.get(name, {}).get("test_ll_per_frame", float("nan")) / gen.prior.dim_})
        print(json.dumps(rows[-1]), flush=True)
    return {"name": "lmgae_priors", "meta": meta(), "run": run.path.name, "seed": cfg.seed,
            "fd_floor": run.read_metrics()["generation"]["frechet_distance_train_vs_test"], "rows": rows}


def plot(rows: list[dict], path: Path) -> None:
    """Paper Fig. 3a/b: per true d, active dimensions (top) and Fréchet distance (bottom) against n."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    ds = sorted({r["d"] for r in rows})
    fig, ax = plt.subplots(2, len(ds), figsize=(3.6 * len(ds), 6.2), squeeze=False)
    for j, d in enumerate(ds):
        for method, style in (("lmgae", "o-"), ("wae_gp", "s--")):
            rs = sorted((r for r in rows if r["d"] == d and r["method"] == method), key=lambda r: r["n"])
            if not rs:
                continue
            ns = [r["n"] for r in rs]
            label = {"lmgae": "LMGAE", "wae_gp": "WAE-GP"}[method]
            ax[0, j].plot(ns, [r["active_dims"] for r in rs], style, label=label)
            ax[1, j].plot(ns, [r["fd_test"] for r in rs], style, label=label)
        ax[0, j].axhline(d, color="0.5", lw=0.8, ls=":")
        ax[0, j].set(title=f"true d = {d}", xscale="log", xlabel="latent capacity n", ylabel="active dimensions")
        ax[1, j].set(xscale="log", yscale="log", xlabel="latent capacity n", ylabel="Fréchet distance to test")
        floor = [r["fd_floor"] for r in rows if r["d"] == d]
        ax[1, j].axhline(min(floor), color="0.5", lw=0.8, ls=":")
        for a in ax[:, j]:
            a.xaxis.set_minor_locator(NullLocator())
            a.set_xticks(sorted({r["n"] for r in rows}), [str(n) for n in sorted({r["n"] for r in rows})])
    ax[0, 0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default="recipes/lmgae_synthetic")
    ap.add_argument("--out", default="recipes/lmgae_synthetic")
    ap.add_argument("--runs", default="runs/lmgae_sweep", help="where the grid's run directories go")
    ap.add_argument("--d", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--n", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override for every run")
    ap.add_argument("--compare-priors", metavar="RUN_DIR", default=None,
                    help="instead of the sweep: every prior fitted in RUN_DIR against the test vectors -> priors.json")
    ap.add_argument("--replot", action="store_true", help="only redraw sweep.png from --out's sweep.json")
    ap.add_argument("--jobs", type=int, default=1, help="grid points trained in parallel (one thread each)")
    a = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    out = Path(a.out)
    if a.compare_priors:
        out.mkdir(parents=True, exist_ok=True)
        (out / "priors.json").write_text(json.dumps(compare_priors(Path(a.compare_priors)), indent=1) + "\n")
        print(f"wrote {out / 'priors.json'}")
        return
    if a.replot:
        plot(json.loads((out / "sweep.json").read_text())["rows"], out / "sweep.png")
        return
    runs = Path(a.runs)
    info = meta()
    grid = [(a.recipe, a.overrides, runs, d, n, method) for d in a.d for n in a.n for method in a.methods]
    with ProcessPoolExecutor(a.jobs, initializer=torch.set_num_threads, initargs=(1,)) as pool:
        rows = list(pool.map(run_point, *zip(*grid)))
    from seqgen.config import load_recipe

    cfg = load_recipe(a.recipe, a.overrides)
    doc = {"name": "lmgae_sweep", "meta": info, "recipe": a.recipe, "overrides": a.overrides,
           "seeds": {"seed": cfg.seed, "network_seed": cfg.data.options.get("network_seed", 0),
                     "data_seed": cfg.data.options.get("seed", 0)},
           "rows": rows}
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(doc, indent=1) + "\n")
    plot(rows, out / "sweep.png")
    print(f"wrote {out / 'sweep.json'} and {out / 'sweep.png'}")


if __name__ == "__main__":
    main()
