"""LED on the VEEGAN 2-d mixtures (Ben-Dov et al., Table 1 / Fig. 1): modes captured and % high-quality samples.

    python benchmarks/led_2d.py                       # ring + grid, 5 seeds, sensitivity, learned prior (~20 min)
    python benchmarks/led_2d.py --seeds 1 --epochs 1  # a smoke run

For each recipe (``recipes/led_2d/config.toml`` ring, ``grid.toml``) and seed: build the recipe's components,
train with the one training loop (the recipe's ``led`` objective), then from 2,500 generated points count the
modes captured and the % of high-quality samples (within 3σ of a mode; :mod:`seqgen.evaluation.mode_coverage`),
the held-out log-likelihood under the discriminator's normalised density, and that density's integral over
the plane by quadrature (1 if the importance-sampled log Z is right). Then, on seed 0 of the ring:

- sensitivity to M (importance samples) and k (entropy weight);
- a learned base distribution: z ~ N(0, I), weights w = N(G(z)) / (Z P_G(G(z))), resample, fit a GMM prior on
  the resampled z, generate from it with log P_G(y) = log P_gmm(z) + (the flow's terms).

Writes ``benchmarks/results/led_2d.json`` (README tables via ``benchmarks/render.py``) and
``recipes/led_2d/led_2d.png``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PAPER = {"ring": {"LED": (8, 63.5), "VEEGAN": (8, 52.9), "GAN": (1, 99.3)},
         "grid": {"LED": (16.2, 68.3), "VEEGAN": (24.6, 40.0), "GAN": (3.3, 0.5)}}


def train(recipe: Path, seed: int, sets: list[str], epochs: int | None):
    """The recipe's codec trained with its objective on its data (the `seqgen train` codec stage, in-process)."""
    import torch

    from seqgen.config import load_recipe
    from seqgen.pipeline.build import build_autoencoder, build_objective, build_representation, make_dataset
    from seqgen.training.loop import train_codec

    over = [f"seed={seed}", f"data.seed={seed}", *sets] + ([f"train.epochs={epochs}"] if epochs else [])
    cfg = load_recipe(recipe, over)
    torch.manual_seed(seed)
    rep = build_representation(cfg)
    codec = build_autoencoder(cfg, rep)
    ds, _ = make_dataset(cfg)
    X, X_test = ds.points("train").astype(np.float32), ds.points("test").astype(np.float32)
    t0 = time.perf_counter()
    hist = train_codec(codec, build_objective(cfg, codec, rep), [X], valid_seqs=[X_test[:1000]],
                       epochs=cfg.train.epochs, batch_size=cfg.train.batch_size, segment_units=1, lr=cfg.train.lr,
                       seed=seed, progress=False)
    return cfg, codec, ds, X_test, hist, time.perf_counter() - t0


def evaluate(codec, ds, X_test, seed: int, n: int = 2500) -> dict:
    import torch

    from seqgen.evaluation.mode_coverage import integral_2d, mode_coverage

    with torch.no_grad():
        y, log_q = codec.sample(n, generator=torch.Generator().manual_seed(10_000 + seed))
        log_d = codec.log_density(y)
        ll = codec.log_density(torch.as_tensor(X_test)).mean().item()
    y = y.numpy()
    cov = mode_coverage(y, ds.centres, ds.shape["sigma"])

    def dens(p):
        with torch.no_grad():
            return codec.log_density(torch.as_tensor(p, dtype=torch.float32)).numpy()

    half = float(np.abs(ds.centres).max()) + 3.0
    return {"modes": cov["modes"], "hq_percent": cov["hq_percent"], "per_mode": cov["per_mode"],
            "test_log_likelihood": ll, "log_normaliser": codec.log_normaliser.item(),
            "integral": integral_2d(dens, half, 1200), "integral_coarse": integral_2d(dens, half, 400),
            "integral_half_width": half,
            # KL(P_G || N/Z) estimated on the generator's own samples: E[log P_G(y) - log N(y)/Z]
            "kl_generator_to_discriminator": float((log_q - log_d).mean()), "samples": y}


def learned_prior(codec, ds, seed: int, n_fit: int = 20000, n: int = 2500, n_components: int = 10) -> dict:
    """Pull the discriminator's density back to z by importance resampling, fit a GMM prior, generate from it.

    Bookkeeping: y = G(z, η) with z ~ P(Z) has log P_G(y) = log P(z) + log N(η) - Σ log|det J| (+ the reduction
    term); swapping P(Z) for the GMM only changes the first term, so the flow's log-density stays exact given
    the prior's log_prob."""
    import torch

    from seqgen.evaluation.mode_coverage import mode_coverage
    from seqgen.priors import PRIORS

    g = torch.Generator().manual_seed(20_000 + seed)
    with torch.no_grad():
        z = torch.randn(n_fit, codec.latent_dim, generator=g)
        y, log_q = codec.generate(z, generator=g)
        w = (codec.log_density(y) - log_q).double()
    p = torch.softmax(w, 0).numpy()
    ess = 1.0 / float((p ** 2).sum())
    idx = np.random.default_rng(seed).choice(n_fit, n_fit, p=p)
    prior = PRIORS.resolve("gmm")(n_components=n_components, covariance_type="full", random_state=seed).fit(z.numpy()[idx])
    zs = np.concatenate(prior.sample([1] * n, seed=seed)).astype(np.float32)
    log_pz = torch.as_tensor(prior.log_prob(list(zs[:, None, :])), dtype=torch.float32)
    with torch.no_grad():
        ys, log_qs = codec.generate(torch.as_tensor(zs), log_pz=log_pz, generator=g)
        log_ds = codec.log_density(ys)
    cov = mode_coverage(ys.numpy(), ds.centres, ds.shape["sigma"])
    return {"modes": cov["modes"], "hq_percent": cov["hq_percent"], "effective_sample_size": ess,
            "kl_generator_to_discriminator": float((log_qs - log_ds).mean()), "samples": ys.numpy()}


def _meta() -> dict:
    import torch

    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "host": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "load_average": round(os.getloadavg()[0], 2)}


def _ms(v) -> dict:
    return {"mean": float(np.mean(v)), "std": float(np.std(v))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=None, help="override train.epochs (smoke runs)")
    ap.add_argument("--no-extras", action="store_true", help="skip the sensitivity sweep and the learned prior")
    ap.add_argument("--out", default=str(HERE / "results" / "led_2d.json"))
    ap.add_argument("--plot", default=str(REPO / "recipes" / "led_2d" / "led_2d.png"))
    a = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    meta = _meta()
    recipes = {"ring": REPO / "recipes/led_2d/config.toml", "grid": REPO / "recipes/led_2d/grid.toml"}
    rows, plots, extras = [], {}, []

    def write():  # after every stage: a crash late in the sweep keeps what was measured
        doc = {"name": "led_2d", "meta": {**meta, "seeds": a.seeds, "generated_points": 2500}, "paper": PAPER,
               "rows": rows, "extras": extras}
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(doc, indent=2) + "\n")

    for layout, recipe in recipes.items():
        per_seed = []
        for seed in range(a.seeds):
            cfg, codec, ds, X_test, hist, secs = train(recipe, seed, [], a.epochs)
            r = evaluate(codec, ds, X_test, seed)
            if seed == 0:
                plots[layout] = (codec, ds, r.pop("samples"))
                if not a.no_extras:
                    lp = learned_prior(codec, ds, 0)
                    plots[layout] = (*plots[layout], lp.pop("samples"))
                    extras.append({"what": layout, "variant": "learned prior (GMM 10, resampled z)", "seed": 0, **lp})
                    print(f"{layout} learned prior: {lp['modes']} modes, {lp['hq_percent']:.1f} % HQ", flush=True)
            r.pop("samples", None)
            per_seed.append({"seed": seed, "train_seconds": secs, "final_valid_nll": hist["valid_loss"][-1], **r})
            print(f"{layout} seed {seed}: {r['modes']} modes, {r['hq_percent']:.1f} % HQ, test ll {r['test_log_likelihood']:.2f}, "
                  f"integral {r['integral']:.3f}, {secs:.0f} s", flush=True)
        config = {k: v for k, v in cfg.to_dict().items() if k != "recipe_dir"}  # no machine paths in results
        rows.append({"what": layout, "variant": "LED (recipe defaults)", "config": config, "seeds": per_seed,
                     **{k: _ms([s[k] for s in per_seed]) for k in ("modes", "hq_percent", "test_log_likelihood",
                                                                   "integral", "kl_generator_to_discriminator",
                                                                   "train_seconds")}})
        write()
    if not a.no_extras:
        for label, sets in (("M = 1", ["train.importance_samples=1"]), ("M = 256", ["train.importance_samples=256"]),
                            ("k = 0.5", ["train.entropy_weight=0.5"]), ("k = 2", ["train.entropy_weight=2.0"])):
            cfg, codec, ds, X_test, hist, secs = train(recipes["ring"], 0, sets, a.epochs)
            r = evaluate(codec, ds, X_test, 0)
            r.pop("samples")
            extras.append({"what": "ring", "variant": label, "seed": 0, "train_seconds": secs, **r})
            print(f"ring {label}: {r['modes']} modes, {r['hq_percent']:.1f} % HQ, integral {r['integral']:.3f}", flush=True)
            write()
    write()
    _plot(Path(a.plot), plots)
    print(f"wrote {a.out} and {a.plot}")


def _plot(path: Path, plots: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    cols = 4
    fig, ax = plt.subplots(len(plots), cols, figsize=(3.3 * cols, 3.3 * len(plots)), squeeze=False)
    for i, (layout, entry) in enumerate(plots.items()):
        codec, ds, y = entry[:3]
        lim = float(np.abs(ds.centres).max()) + 1.5
        g = np.linspace(-lim, lim, 301)
        grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2).astype(np.float32)
        with torch.no_grad():
            ld = codec.log_density(torch.as_tensor(grid)).numpy().reshape(len(g), len(g))
        X = ds.points("test")
        ax[i, 0].scatter(*X[:2500].T, s=0.5, c="k")
        ax[i, 0].set_title(f"{layout}: data")
        im = ax[i, 1].imshow(np.maximum(ld, ld.max() - 20), origin="lower", extent=[-lim, lim, -lim, lim], cmap="magma")
        fig.colorbar(im, ax=ax[i, 1], fraction=0.046)
        ax[i, 1].set_title("discriminator log-density")
        ax[i, 2].scatter(*X[:2500].T, s=0.5, c="0.8")
        ax[i, 2].scatter(*y.T, s=0.5, c="C3")
        ax[i, 2].set_title("generated, N(0, I) prior")
        if len(entry) > 3:
            ax[i, 3].scatter(*X[:2500].T, s=0.5, c="0.8")
            ax[i, 3].scatter(*entry[3].T, s=0.5, c="C2")
            ax[i, 3].set_title("generated, learned GMM prior")
        for a_ in ax[i]:
            a_.set_xlim(-lim, lim); a_.set_ylim(-lim, lim); a_.set_aspect("equal")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
