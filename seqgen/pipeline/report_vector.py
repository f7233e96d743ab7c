"""Stage 5 for vectors: codec reconstruction error on the test split, generated vectors, and the Fréchet
distance between generated and held-out vectors (Mondal et al. §5.1's generation-quality score)."""
from __future__ import annotations

import logging
import time

import numpy as np

from ..config import Config
from ..evaluation.generative import frechet_distance
from ..outputs.vector import projection_plot, save_vectors
from .examples import reconstruct

log = logging.getLogger("seqgen")


def generate_vectors(gen, count: int, seed=None, temperature: float = 1.0) -> np.ndarray:
    """``count`` vectors ``(count, dim)`` from a vector run's :class:`~.generate.Generator`, decoded in one batch."""
    z = np.concatenate(gen.prior.sample([1] * count, seed=seed, temperature=temperature))
    return gen.decode(z)


def vector_report(run, model, rep, test_ex, test_units, train_ex, cfg: Config, *, device: str = "cpu") -> dict:
    """metrics.json's ``autoencoder_test`` (per-element MSE through the latents a prior models) and ``generation``:
    ``frechet_distance_test`` of as many generated vectors as there are test vectors, next to the same distance
    between training and test vectors (the floor a perfect generator reaches at this sample size);
    ``samples/samples.npy`` and ``plots/projection.png``."""
    from .generate import Generator

    _, ref, rec = reconstruct(model, rep, test_units, device=device)
    ref, rec = np.stack(ref), np.stack(rec)
    ae = {"mse": float(np.mean((ref - rec) ** 2)), "n": len(ref)}
    gen = Generator(run.path, device=device)
    t0 = time.perf_counter()
    samples = generate_vectors(gen, len(ref), seed=cfg.seed, temperature=cfg.generate.temperature)
    speed = len(samples) / max(time.perf_counter() - t0, 1e-9)
    train = np.stack([e.x for e in train_ex[: len(ref)]])
    generation = {"frechet_distance_test": frechet_distance(samples, ref),
                  "frechet_distance_train_vs_test": frechet_distance(train, ref),
                  "n_examples": len(samples), "prior_dim": model.prior_dim, "vectors_per_second": speed}
    log.info("autoencoder on test split: MSE %.5f; generated: Fréchet distance %.4g to test (train: %.4g), %d latent "
             "dims", ae["mse"], generation["frechet_distance_test"], generation["frechet_distance_train_vs_test"],
             model.prior_dim)
    save_vectors(samples, run.samples / "samples.npy")
    projection_plot(ref, samples, run.plots / "projection.png", title=f"{model.prior_dim} latent dims")
    metrics = {"autoencoder_test": ae, "generation": generation, "plots": ["projection.png"]}
    run.update_metrics(**metrics)
    return metrics
