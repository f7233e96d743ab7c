"""Stage 5 for images: codec quality on the test split (MSE, PSNR), sample grid, reconstructions,
test images beside their nearest generated neighbours (paper Fig. 4), a latent interpolation."""
from __future__ import annotations

import logging
import time

import numpy as np

from ..config import Config
from ..outputs.image import save_grid
from .examples import reconstruct

log = logging.getLogger("seqgen")


def psnr_db(mse: float) -> float:
    """Peak signal-to-noise ratio of images in [0, 1]: 10 log10(1 / MSE)."""
    return float(10 * np.log10(1.0 / max(mse, 1e-20)))


def image_reconstruction_metrics(model, rep, test_units, device: str = "cpu") -> tuple[dict, np.ndarray, np.ndarray]:
    """Per-pixel MSE and PSNR of the test split's reconstructions; returns ``(metrics, originals, reconstructions)``."""
    _, ref, rec = reconstruct(model, rep, test_units, device=device)
    ref, rec = np.stack(ref), np.clip(np.stack(rec), 0, 1)
    mse = float(np.mean((ref - rec) ** 2))
    return {"mse": mse, "psnr_db": psnr_db(mse), "n": len(ref)}, ref, rec


def nearest(queries: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Index into ``pool (M, ...)`` of each query's nearest neighbour (Euclidean, pixel space)."""
    q, p = queries.reshape(len(queries), -1), pool.reshape(len(pool), -1)
    d = (q**2).sum(1)[:, None] - 2 * q @ p.T + (p**2).sum(1)[None]
    return d.argmin(1)


def interpolation(gen, a: np.ndarray, b: np.ndarray, steps: int = 8) -> np.ndarray:
    """Decoded images along the straight line between the latents of images ``a`` and ``b`` ``(steps, C, H, W)``."""
    from ..codecs.io import encode_sequences

    za, zb = encode_sequences(gen.model, [a[None], b[None]], device=gen.device)
    t = np.linspace(0, 1, steps)[:, None]
    z = (1 - t) * za + t * zb
    return np.stack([gen.rep.from_units(u[None]) for u in gen.decode((z - gen.mean) / gen.std)])


def latent_2d_plot(run, gen, train_ex, samples: np.ndarray, device: str):
    """Training latents (standardised, coloured by label) over the prior's log-density, and decoded samples."""
    from ..plots import latent_density_figure
    from .latents import load_latents, standardise

    lat = load_latents(run)
    Z, _ = standardise(lat, "train")
    return latent_density_figure(Z, lat["train_labels"], lambda P: gen.prior.log_prob([p[None] for p in P]), samples,
                                 run.plots / "latent_2d.png", title=f"{gen.cfg.name}: 2-d latent, prior {gen.prior.name}")


def image_report(run, model, rep, test_ex, test_units, train_ex, cfg: Config, *, device: str = "cpu",
                 n_samples: int = 64) -> dict:
    from .generate import Generator

    ae, ref, rec = image_reconstruction_metrics(model, rep, test_units, device)
    log.info("autoencoder on test split: MSE %.5f, PSNR %.2f dB", ae["mse"], ae["psnr_db"])
    gen = Generator(run.path, device=device)
    t0 = time.perf_counter()
    samples = np.stack(gen.examples(n_samples, seed=cfg.seed, temperature=cfg.generate.temperature))
    speed = n_samples / (time.perf_counter() - t0)
    k = min(16, len(ref))
    plots = {
        "samples.png": save_grid(samples, run.plots / "samples.png", nrow=8),
        # rows of 8: originals above their reconstructions
        "reconstructions.png": save_grid(np.concatenate([np.concatenate([ref[i:i + 8], rec[i:i + 8]])
                                                         for i in range(0, k, 8)]), run.plots / "reconstructions.png",
                                         nrow=8),
        # paper Fig. 4: each test image (left of a pair) beside its nearest generated image
        "nearest_generated.png": save_grid(np.stack([x for i, j in zip(range(k), nearest(ref[:k], samples))
                                                     for x in (ref[i], samples[j])]),
                                           run.plots / "nearest_generated.png", nrow=8),
        "interpolation.png": save_grid(interpolation(gen, ref[0], ref[min(1, len(ref) - 1)]),
                                       run.plots / "interpolation.png", nrow=8),
    }
    if model.prior_dim == 2:  # paper Fig. 2: latents, the prior's density, decoded samples
        plots["latent_2d.png"] = latent_2d_plot(run, gen, train_ex, samples[:36], device)
    save_grid(samples[:16], run.samples / "samples.png", nrow=4)
    pixels = samples.reshape(len(samples), -1)
    metrics = {"autoencoder_test": ae,
               "generation": {"images_per_second": speed, "n_examples": n_samples,
                              "mean_pixel": float(pixels.mean()), "pixel_std_across_samples": float(pixels.std(0).mean())},
               "plots": sorted(plots)}
    run.update_metrics(**metrics)
    return metrics
