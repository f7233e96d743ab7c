"""Stage 5 for a codec without encoder (LED): its densities on held-out data and on its own samples, and plots.

Numbers (``metrics.json`` ``generator``): the held-out log-likelihood under the discriminator's normalised
density (nats per unit; bits per dimension for images in [0, 1], 256 levels); for generated units the
generator's own tracked log P_G (base N(0, I)) and the discriminator's log-density of the same units —
their mean difference estimates KL(P_G ‖ N_θ/Z). Plots: points — the discriminator's log-density on a grid
with the data and generated points (LED Fig. 1); images — samples sorted by discriminator density (Fig. 9).
"""
from __future__ import annotations

import logging
import time

import numpy as np

from ..codecs.led import bits_per_dim
from ..config import Config
from ..outputs.image import save_grid

log = logging.getLogger("seqgen")


def generator_report(run, model, rep, test_units, cfg: Config, *, device: str = "cpu", n_samples: int = 2500,
                     batch_size: int = 512) -> dict:
    import torch

    from .generate import Generator

    X = torch.as_tensor(np.concatenate(test_units), device=device)
    n = n_samples if rep.modality == "vector" else min(n_samples, 256)
    with torch.no_grad():
        held = torch.cat([model.log_density(X[b : b + batch_size]) for b in range(0, len(X), batch_size)]).cpu()
        g = torch.Generator(device=device).manual_seed(cfg.seed)
        parts = [model.sample(min(batch_size, n - b), generator=g) for b in range(0, n, batch_size)]
        y = torch.cat([p[0] for p in parts])
        log_q = torch.cat([p[1] for p in parts]).cpu()
        log_d = torch.cat([model.log_density(y[b : b + batch_size]) for b in range(0, n, batch_size)]).cpu()
    dims = int(np.prod(model.unit_shape))
    out = {"log_normaliser": float(model.log_normaliser), "test_log_likelihood": float(held.mean()),
           "generated_log_p_generator": float(log_q.mean()), "generated_log_density_discriminator": float(log_d.mean()),
           "kl_generator_to_discriminator": float((log_q - log_d).mean()), "n_generated": n}
    if rep.modality == "image":
        out.update(test_bits_per_dim=float(bits_per_dim(held, dims).mean()),
                   generated_bits_per_dim_generator=float(bits_per_dim(log_q, dims).mean()),
                   generated_bits_per_dim_discriminator=float(bits_per_dim(log_d, dims).mean()))
    log.info("generator: held-out log-likelihood %.3f nats/unit under the discriminator (log Z %.3f); generated: "
             "log P_G %.3f, discriminator %.3f", out["test_log_likelihood"], out["log_normaliser"],
             out["generated_log_p_generator"], out["generated_log_density_discriminator"])
    gen = Generator(run.path, device=device)  # the prior fitted on the pulled-back latents, as `seqgen generate`
    t0 = time.perf_counter()
    prior_samples = np.stack(gen.examples(min(n, 256), seed=cfg.seed, temperature=cfg.generate.temperature))
    speed = len(prior_samples) / (time.perf_counter() - t0)
    y = y.cpu().numpy()
    if rep.modality == "image":
        order = np.argsort(-log_d.numpy())  # Fig. 9: highest discriminator density first
        plots = [save_grid(np.clip(y[order[:64]], 0, 1), run.plots / "samples_by_density.png", nrow=8).name,
                 save_grid(np.clip(prior_samples[:64], 0, 1), run.plots / "samples.png", nrow=8).name]
        save_grid(np.clip(prior_samples[:16], 0, 1), run.samples / "samples.png", nrow=4)
    else:
        name = _points_figure(model, X.cpu().numpy(), y, prior_samples, run.plots / "density.png", cfg.prior.type)
        plots = [name] if name else []  # the density plot is drawn for 2-d points only
        run.samples.mkdir(parents=True, exist_ok=True)
        np.save(run.samples / "generated.npy", y)
    metrics = {"generator": out, "generation": {"examples_per_second": speed, "n_examples": len(prior_samples)},
               "plots": plots}
    run.update_metrics(**metrics)
    return metrics


def _points_figure(model, X, y, prior_samples, path, prior_name) -> str:
    """2-d only: the discriminator's log-density on a grid, data, generated points (base and fitted prior)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    if X.shape[1] != 2:
        return ""
    lim = float(np.abs(X).max()) + 1.0
    g = np.linspace(-lim, lim, 201)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2).astype(np.float32)
    with torch.no_grad():
        ld = model.log_density(torch.as_tensor(grid, device=model.log_normaliser.device)).cpu().numpy()
    ld = ld.reshape(len(g), len(g))
    fig, ax = plt.subplots(1, 3, figsize=(10, 3.4))
    im = ax[0].imshow(np.maximum(ld, ld.max() - 20), origin="lower", extent=[-lim, lim, -lim, lim], cmap="magma")
    fig.colorbar(im, ax=ax[0], fraction=0.046)
    ax[0].set_title("discriminator log-density")
    for a, pts, title in ((ax[1], y, "generated, N(0, I)"), (ax[2], prior_samples, f"generated, prior {prior_name}")):
        a.scatter(*X[:2500].T, s=0.5, c="0.75")
        a.scatter(*pts[:2500].T, s=0.5, c="C3")
        a.set_title(title)
    for a in ax:
        a.set_xlim(-lim, lim); a.set_ylim(-lim, lim); a.set_aspect("equal")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path.name
