"""`seqgen eval` / `seqgen score` for image runs: KDE score, classifier IS / FID, memorisation, exact likelihood.

Rows (each a set of images scored against the test split): ``generated`` (``count`` samples of the prior,
decoded) and, as references, ``real_heldout`` (training-split images held out from every fit: the ceiling)
and ``ae_reconstruction`` (the codec's reconstructions of those: what a perfect prior could reach).
The training split is cut into the pool the feature network and the nearest-neighbour search use (80 %),
the reference images (10 %) and a validation part for the KDE bandwidth (10 %). Metrics:

- KDE score (Parzen log-likelihood of the test images under the row's images, :mod:`seqgen.evaluation.kde`):
  the paper's text (σ = 0.01), the authors' code (σ = 0.2, 10 draws of 1,000) and σ chosen on a
  validation split (the last 10 % of the training split); with ``parzen = N`` also Goodfellow et al.'s
  Parzen protocol (Yoo et al.'s Table 2): N (10,000) generated images, σ grid-searched over
  ``logspace(-1, 0, 10)`` on that validation split (a reference row uses the images it has);
- FID against the test split and IS, on the features / posteriors of a network seqgen trains on the
  run's training split (a digit CNN for labelled digits; a conv-encoder feature space otherwise);
- nearest-training-neighbour distance in pixel space, generated vs real held-out images (memorisation);
- the exact negative log-likelihood of the test images where the codec has one (an invertible map).
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np

from ..artefacts import read_json_object
from ..errors import SeqgenError
from ..evaluation import generative as gm
from ..evaluation.image_metrics import pixel_memorisation
from ..evaluation.kde import PROTOCOLS, KDEProtocol, kde_score
from .build import make_dataset
from .examples import load_split, reconstruct

log = logging.getLogger("seqgen")



def _images(examples) -> np.ndarray:
    return np.stack([e.x for e in examples]).astype(np.float32)


def exact_log_likelihood(gen, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """``log p(x)`` ``(N,)`` nats of images under prior + invertible codec:
    log p_prior(z̃) − Σ_d log std_d − ½ log det JᵀJ, z = encode(x), z̃ = (z − mean) / std (a density on
    the codec's K-dimensional output manifold; :meth:`~seqgen.codecs.base.Codec.log_volume`)."""
    import torch

    if not gen.model.exact_likelihood:
        raise SeqgenError(f"{type(gen.model).__name__} has no exact likelihood")
    out = []
    for i in range(0, len(images), batch_size):
        with torch.no_grad():
            x = torch.as_tensor(images[i : i + batch_size], device=gen.device)
            z = gen.model.encode(x)
            log_vol = gen.model.log_volume(z).double().cpu().numpy()
        z = z.double().cpu().numpy()
        prior_ll = gen.prior.log_prob([(zi - gen.mean) / gen.std for zi in z[:, None]])
        out.append(np.asarray(prior_ll) - np.log(gen.std).sum() - log_vol)
    return np.concatenate(out)


def _feature_net(train_x, train_y, test_x, test_y, device, progress):
    """A digit classifier when the run's data are labelled digits (IS + FID), else a feature encoder (FID)."""
    if len(train_y) and (train_y >= 0).all() and train_y.max() < 10 and len(np.unique(train_y)) == 10:
        from ..evaluation.image_classifier import get_image_classifier

        clf = get_image_classifier(train_x, train_y, test_x, test_y, name="run_digits", device=device,
                                   progress=progress)
        return clf.classify, {"kind": "digit classifier (CNN trained on the run's training split)",
                              "test_accuracy": clf.info.get("test_accuracy")}
    from ..evaluation.image_features import get_feature_extractor

    ext = get_feature_extractor(train_x, test_x, name="run_images", device=device, progress=progress)
    return (lambda x: (None, ext.features(x))), {"kind": "conv-encoder features trained on the run's training split",
                                                 "test_mse": ext.info.get("test_mse")}


def _row(images, *, test, val, train_flat, classify, F_test, sampler=None, kde: dict) -> dict:
    P, F = classify(images)
    nn = gm.nearest_neighbour_distances(images.reshape(len(images), -1), train_flat)
    row = {"n": len(images), "fid_test": None if F_test is None else gm.frechet_distance(F, F_test),
           "nn_train_distance_median": float(np.median(nn))}
    if P is not None:
        row.update(inception_score=gm.inception_score(P), digits_covered=gm.digits_covered(P),
                   class_histogram=np.bincount(P.argmax(1), minlength=P.shape[1]).tolist())
    for name, proto in kde.items():
        more = sampler is not None and (proto.repeats > 1 or proto.n_samples > len(images))
        source = sampler if more else images[: proto.n_samples]
        if proto.repeats > 1 and sampler is None:
            proto = KDEProtocol(min(proto.n_samples, len(images)), proto.sigmas, 1, proto.description + " (one draw)")
        r = kde_score(test, source, proto, x_val=val)
        row[f"kde_{name}"] = {k: r[k] for k in ("log_likelihood", "sem", "sigma", "repeats", "n_samples")}
    return row


def evaluate_images(run_dir: str | Path, *, count: int = 1000, seed: int = 0, temperature: float | None = None,
                    prior: str | None = None, data: str | None = None, device: str = "cpu", progress: bool = True,
                    reference_rows: bool = True, parzen: int = 0) -> dict:
    """Generate ``count`` images from a run and score them; writes ``eval.json`` (one entry per prior).
    ``parzen > 0`` adds the grid-searched Parzen window on that many generated images (``kde_parzen``)."""
    from .generate import Generator

    if count < 2:
        raise SeqgenError(f"--count must be at least 2 (FID needs a covariance), got {count}")
    t0 = time.perf_counter()
    gen = Generator(run_dir, prior=prior, device=device)
    cfg = gen.cfg
    temperature = cfg.generate.temperature if temperature is None else float(temperature)
    ds, where = make_dataset(cfg, gen.run.data_root(data))
    log.info("eval: data %s", where)
    train = load_split(gen.rep, ds, "train", strict=cfg.data.strict, progress=progress)
    test = load_split(gen.rep, ds, "test", strict=cfg.data.strict, progress=progress)
    n = max(1, len(train) // 10)
    pool, ref, val = train[: -2 * n], train[-2 * n : -n], train[-n:]
    X_tr, X_ref, X_val, X_te = _images(pool), _images(ref), _images(val), _images(test)
    y_tr, y_te = (np.array([-1 if e.label is None else e.label for e in part]) for part in (pool, test))
    classify, feature_info = _feature_net(X_tr, y_tr, X_te, y_te, device, progress)
    _, F_te = classify(X_te)
    kde = {"paper_text": PROTOCOLS["paper_text"], "authors_code": PROTOCOLS["authors_code"],
           "validation_sigma": KDEProtocol(1000, tuple(float(s) for s in np.logspace(-2, 0, 9)), 1,
                                           "1,000 samples, sigma chosen on the validation split")}
    if parzen:
        if parzen < 2:
            raise SeqgenError(f"--parzen needs at least 2 samples, got {parzen}")
        kde["parzen"] = KDEProtocol(int(parzen), PROTOCOLS["grid_search"].sigmas, 1,
                                    f"Goodfellow et al. Parzen window: {parzen:,} samples, sigma grid-searched "
                                    f"on the validation split")
    common = dict(test=X_te, val=X_val, train_flat=X_tr.reshape(len(X_tr), -1), classify=classify, F_test=F_te, kde=kde)

    def sampler(n, s):
        return np.stack(gen.examples(n, seed=s, temperature=temperature))

    log.info("eval: generating %d images (prior %s, seed %d, temperature %g)", count, prior or "default", seed,
             temperature)
    G = sampler(count, seed)
    rows = {"generated": _row(G, sampler=sampler, **common)}
    if reference_rows:
        rows["real_heldout"] = _row(X_ref, **common)
    if reference_rows and gen.model.has_encoder:  # a generator without encoder (LED) has no reconstructions
        _, _, rec = reconstruct(gen.model, gen.rep, [gen.rep.to_units(x) for x in X_ref], device=gen.device)
        rows["ae_reconstruction"] = _row(np.stack(rec), **common)
    result = {"run": gen.run.path.name, "prior": prior or "default", "prior_type": gen.prior.name,
              "modality": "image", "count": count, "seed": seed, "temperature": temperature,
              "features": feature_info, "rows": rows, "memorisation": pixel_memorisation(G, X_tr, X_ref),
              "data_split": read_json_object(gen.run.data).get("split") if gen.run.data.exists() else None}
    if gen.model.exact_likelihood:
        ll = exact_log_likelihood(gen, X_te)
        d = int(np.prod(gen.rep.unit_shape))
        result["exact_test_nll"] = {"nats_per_image": float(-ll.mean()), "sem": float(ll.std(ddof=1) / math.sqrt(len(ll))),
                                    "n": len(ll), "dimensions": d,
                                    "note": "density on the codec's latent_dim-dimensional output manifold"}
    result["seconds"] = time.perf_counter() - t0
    gen.run.record_eval(result)
    return result


def format_image_table(*results: dict, markdown: bool = False) -> str:
    """A table of :func:`evaluate_images` results, one row per generated set plus the reference rows once."""
    cols = [("KDE σ=.01", "kde_paper_text"), ("KDE σ=.2", "kde_authors_code"), ("KDE σ*", "kde_validation_sigma"),
            *([("Parzen", "kde_parzen")] if any("kde_parzen" in r["rows"]["generated"] for r in results) else []),
            ("FID", "fid_test"), ("IS", "inception_score"), ("digits", "digits_covered"),
            ("NN(train)", "nn_train_distance_median"), ("n", "n")]
    lines = [(f"{r['run']}: {r['prior']} ({r['prior_type']})", r["rows"]["generated"], r) for r in results]
    for key, label in (("real_heldout", "real held-out images"), ("ae_reconstruction", "codec reconstructions")):
        for r in results:
            if key in r["rows"]:
                lines.append((f"{r['run']}: {label}" if key == "ae_reconstruction" else label, r["rows"][key], r))
                if key == "real_heldout":
                    break

    def cell(row, key):
        v = row.get(key)
        if v is None:
            return "-"
        if isinstance(v, dict):
            ll = f"{v['log_likelihood']:.1f}±{v['sem']:.1f}"
            return ll + (f" (σ={v['sigma']:.2f})" if key == "kde_parzen" else "")
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    header = ["", *[c for c, _ in cols], "exact NLL"]
    body = [[name, *[cell(row, k) for _, k in cols],
             (f"{r['exact_test_nll']['nats_per_image']:.1f}" if "exact_test_nll" in r and name.endswith(")") else "-")]
            for name, row, r in lines]
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(b) + " |" for b in body]
    else:
        w = max(len(b[0]) for b in body)
        out = [" ".join([f"{header[0]:{w}}"] + [f"{h:>12}" for h in header[1:]])]
        out += [" ".join([f"{b[0]:{w}}"] + [f"{c:>12}" for c in b[1:]]) for b in body]
    r = results[0]
    out.append("")
    for x in results:
        m = x["memorisation"]
        if m.get("ratio") is not None:
            out.append(f"{x['run']}: {x['prior']}: NN-to-train distance generated/real held-out = {m['ratio']:.2f} "
                       f"(≪ 1 would mean copies), near-copies {m['fraction_closer_than_test_p5']:.1%} (real: 5%)")
    out.append(f"features: {r['features']['kind']} ({', '.join(f'{k} {v:.4g}' for k, v in r['features'].items() if isinstance(v, float))}); "
               f"KDE: mean test log-likelihood ± s.e. (nats), higher is better; FID lower; NN: median pixel distance "
               f"to the nearest training image (generated far below real test = copies)")
    return "\n".join(out)


def score_image(path: str | Path, gen) -> dict:
    """Log-likelihood of one image under an image run: exact (invertible codec) or, otherwise, the prior's
    log-likelihood of its latent and the reconstruction error."""
    import torch

    from ..outputs.image import load_image

    rep = gen.rep
    x = load_image(path, size=(rep.height, rep.width), channels=rep.channels)
    if not gen.model.has_encoder:  # a generator with a density of its own (LED: the normalised discriminator)
        from ..codecs.led import bits_per_dim

        with torch.no_grad():
            ld = float(gen.model.log_density(torch.as_tensor(x[None], device=gen.device))[0])
        return {"file": str(path), "run": gen.run.path.name, "log_density": ld,
                "bits_per_dim": float(bits_per_dim(np.array([ld]), x.size)[0])}
    with torch.no_grad():
        z = gen.model.to_prior(gen.model.encode(torch.as_tensor(x[None], device=gen.device))).cpu().numpy()
    out = {"file": str(path), "run": gen.run.path.name, "prior_ll": float(gen.prior.log_prob([(z - gen.mean) / gen.std])[0])}
    (_, (ref,), (rec,)) = reconstruct(gen.model, rep, [x[None]], device=gen.device)
    out["recon_mse"] = float(np.mean((ref - rec) ** 2))
    if gen.model.exact_likelihood:
        ll = float(exact_log_likelihood(gen, x[None])[0])
        # a density on the codec's output manifold, not per pixel: no bits/dim without a noise model
        out["log_likelihood"] = ll
    return out
