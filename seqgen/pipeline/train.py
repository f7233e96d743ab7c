"""`seqgen train`: data prep -> autoencoder -> encode latents -> fit prior -> report, each stage skipped
when its output exists for the same config (icefall-style re-runnable stages)."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from ..artefacts import atomic_write, read_json, write_json
from ..config import Config, check_options
from ..errors import ConfigError, DataError
from ..paths import log_handler
from ..priors import PRIORS, Prior
from .prepare import frame_spec, load_split, make_dataset, to_frames
from .run_dir import RunDir, config_hash

log = logging.getLogger("seqgen")

AE_SECTIONS = ("data", "framing", "autoencoder", "train", "seed")
PRIOR_SECTIONS = ("prior", "seed")


def _device(cfg: Config) -> str:
    from ..device import resolve_device

    return resolve_device(cfg.device)


def build_prior(cfg: Config) -> Prior:
    try:
        cls = PRIORS.resolve(cfg.prior.type)
    except ValueError as e:
        raise ConfigError(f"prior.type: {e}") from None
    opts = check_options("prior", cls, cfg.prior.options)
    try:
        return cls(**opts)
    except ValueError as e:
        raise ConfigError(f"prior: {e}") from None


def build_autoencoder(cfg: Config):
    from ..registry import AUTOENCODERS

    try:
        cls = AUTOENCODERS.resolve(cfg.autoencoder.type)
    except ValueError as e:
        raise ConfigError(f"autoencoder.type: {e}") from None
    opts = check_options("autoencoder", cls, cfg.autoencoder.options, skip=("frame_length",))
    if cfg.train.loss == "mrstft":  # checked before any work starts, like every other key
        from ..autoencoder.losses import MultiResolutionSTFTLoss

        check_options("train.loss_options", MultiResolutionSTFTLoss, cfg.train.loss_options)
    if opts.get("noise_bands") and 2 * cfg.framing.hop != cfg.framing.frame_length:
        raise ConfigError(f"autoencoder.noise_bands needs 50 % overlap (framing.hop = frame_length / 2 = "
                          f"{cfg.framing.frame_length // 2}), got hop {cfg.framing.hop}: its noise frames "
                          f"overlap-add to a constant level only there")
    try:
        return cls(frame_length=cfg.framing.frame_length, **opts)
    except ValueError as e:
        raise ConfigError(f"autoencoder: {e}") from None


def train(cfg: Config, out: str | Path, *, data: str | None = None, resume: bool = False,
          progress: bool = True, force: bool = False, generate_examples: int = 4) -> RunDir:
    """Run every stage of a recipe into run directory ``out``; returns it."""
    import torch

    from ..autoencoder.train import encode_sequences, load_autoencoder, save_autoencoder, train_autoencoder

    run = RunDir(out)
    run.path.mkdir(parents=True, exist_ok=True)
    _attach_log(run)
    device = _device(cfg)
    torch.manual_seed(cfg.seed)
    spec = frame_spec(cfg)
    prior = build_prior(cfg)  # fail on a bad prior config before hours of AE training
    model = build_autoencoder(cfg)
    run.save_config(cfg)
    timings = run.read_metrics().get("timings_s", {})

    # ---- stage 1: data
    t0 = time.perf_counter()
    dataset, where = make_dataset(cfg, data)
    log.info("data: %s from %s", cfg.data.source, where)
    train_utts = load_split(cfg, dataset, "train", progress)
    test_utts = load_split(cfg, dataset, "test", progress)
    pad = cfg.data.pad_frames
    train_frames = [to_frames(u.audio, spec, pad) for u in train_utts]
    test_frames = [to_frames(u.audio, spec, pad) for u in test_utts]
    n_train = sum(len(f) for f in train_frames)
    log.info("data: %d train / %d test sequences, %d train frames (%.1f min of audio)",
             len(train_utts), len(test_utts), n_train, sum(len(u.audio) for u in train_utts) / cfg.data.sample_rate / 60)
    timings["data"] = time.perf_counter() - t0

    # ---- stage 2: autoencoder
    ae_hash = config_hash(cfg, *AE_SECTIONS, ignore=("train.prior_per_label",))
    if not force and run.autoencoder.exists() and run.stage_hash(run.autoencoder) == ae_hash:
        log.info("autoencoder: found %s for this config, skipping training", run.autoencoder)
        model = load_autoencoder(run.autoencoder, device)
    else:
        if run.checkpoint.exists() and not resume:
            log.info("autoencoder: starting afresh (a checkpoint exists; pass --resume to continue it)")
        t0 = time.perf_counter()
        history = train_autoencoder(
            model, train_frames, valid_seqs=test_frames[: max(1, len(test_frames) // 3)],
            epochs=cfg.train.epochs, batch_size=cfg.train.batch_size, segment_frames=cfg.train.segment_frames,
            lr=cfg.train.lr, loss=cfg.train.loss, loss_options=cfg.train.loss_options, hop=spec.hop,
            device=device, seed=cfg.seed,
            checkpoint_path=run.checkpoint, resume=resume, progress=progress,
            log=lambda ep, rec: log.info("autoencoder epoch %d: %s", ep, _fmt(rec)),
        )
        timings["autoencoder"] = time.perf_counter() - t0
        save_autoencoder(run.autoencoder, model)
        _stamp(run.autoencoder, ae_hash)
        run.update_metrics(autoencoder_history=history)
        _invalidate(run.latents.with_suffix(".json"))

    # ---- stage 3: encode latents (cached for prior comparisons)
    t0 = time.perf_counter()
    z_train = encode_sequences(model, train_frames, device=device)
    z_test = encode_sequences(model, test_frames, device=device)
    save_latents(run, z_train, z_test, [u.label for u in train_utts], [u.label for u in test_utts], ae_hash,
                 standardise=not getattr(model, "standard_normal_latents", False))
    timings["encode"] = time.perf_counter() - t0

    # ---- stage 4: prior (and, optionally, one per label: `generate --label 7`)
    fit_prior(run, cfg, prior=prior, progress=progress, force=force, timings=timings)
    if cfg.train.prior_per_label:
        fit_label_priors(run, cfg, progress=progress, force=force)

    # ---- stage 5: report
    from .report import report

    t0 = time.perf_counter()
    report(run, model, test_utts, test_frames, train_utts, cfg, device=device, n_examples=generate_examples)
    timings["report"] = time.perf_counter() - t0
    run.update_metrics(timings_s=timings)
    log.info("done: %s", run.path)
    return run


def save_latents(run: RunDir, z_train, z_test, y_train, y_test, ae_hash: str, standardise: bool = True) -> None:
    """latents.npz: raw latents (concatenated + lengths) of both splits, labels, and the
    standardisation statistics every prior is fitted under (identity with ``standardise=False``,
    for autoencoders whose latents are already meant to be N(0, I), like the VAE)."""
    import io

    Z = np.concatenate(z_train)
    mean = Z.mean(0) if standardise else np.zeros(Z.shape[1])
    std = np.maximum(Z.std(0), 1e-6 * max(1.0, float(Z.std()))) if standardise else np.ones(Z.shape[1])
    arrays = {
        "train": Z.astype(np.float32), "train_lengths": np.array([len(z) for z in z_train]),
        "test": np.concatenate(z_test).astype(np.float32), "test_lengths": np.array([len(z) for z in z_test]),
        "train_labels": np.array([-1 if y is None else y for y in y_train]),
        "test_labels": np.array([-1 if y is None else y for y in y_test]),
        "mean": mean, "std": std,
    }
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with atomic_write(run.latents) as f:
        f.write(buf.getvalue())
    write_json(run.latents.with_suffix(".json"), {"_stage_hash": ae_hash})
    run.record_sources(run.latents, run.autoencoder)


def load_latents(run: RunDir) -> dict[str, np.ndarray]:
    from ..validate import read_latents

    return read_latents(run.latents)


def standardise(lat: dict, split: str, label: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Standardised latents ``(N, D)`` + lengths of ``split`` (every prior is fitted and scored in this
    space), optionally only the sequences whose label is ``label``."""
    Z, lengths = (lat[split] - lat["mean"]) / lat["std"], lat[f"{split}_lengths"]
    if label is None:
        return Z, lengths
    keep = lat[f"{split}_labels"] == label
    if not keep.any():
        raise DataError(f"no {split} sequences with label {label}")
    seqs = np.split(Z, np.cumsum(lengths)[:-1])
    return np.concatenate([s for s, k in zip(seqs, keep) if k]), lengths[keep]


def label_prior(y: int) -> str:
    """Name under which the prior of label ``y`` is saved (``priors/label_7.*``)."""
    return f"label_{int(y)}"


def fit_prior(run: RunDir, cfg: Config, *, prior: Prior | None = None, label: str | None = None,
              only_label: int | None = None, progress: bool = True, force: bool = False,
              timings: dict | None = None) -> Prior:
    """Fit (or reuse) a prior on the run's cached latents; record held-out log-likelihood per frame.

    ``label`` None fits the recipe's own prior (``prior.*``); a label saves it under ``priors/``
    for side-by-side comparison on the same autoencoder (``seqgen fit-prior``). ``only_label``
    fits on (and scores) only the sequences of that data label.
    """
    prior = prior or build_prior(cfg)
    path = run.prior if label is None else run.extra_prior(label)
    lat = load_latents(run)
    lat_hash = read_json(run.latents.with_suffix(".json")).get("_stage_hash")
    h = config_hash(cfg, *PRIOR_SECTIONS) + (lat_hash or "") + ("" if only_label is None else f"y{only_label}")
    name = label or "default"
    if not force and path.with_suffix(".json").exists() and run.stage_hash(path) == h \
            and run.sources_match(path, run.latents):
        log.info("prior %s: found %s for this config and latents, skipping", name, path)
        return Prior.load(path)
    Z, lengths = standardise(lat, "train", only_label)
    Zt, lt = standardise(lat, "test", only_label)
    t0 = time.perf_counter()
    log.info("prior %s: fitting %s on %d sequences, %d frames", name, cfg.prior.type, len(lengths), len(Z))
    try:
        prior.fit(Z, lengths, progress=progress)
    except ValueError as e:
        raise DataError(f"cannot fit prior {cfg.prior.type!r}: {e}") from None
    fit_s = time.perf_counter() - t0
    prior.save(path)
    _stamp(path, h)
    run.record_sources(path, run.latents)
    rec = {"type": cfg.prior.type, "fit_seconds": fit_s, "train_ll_per_frame": prior.score(Z, lengths),
           "test_ll_per_frame": prior.score(Zt, lt), "config": cfg.to_dict()["prior"]}
    log.info("prior %s: %s", name, _fmt(rec))
    run.update_metrics(priors={name: rec})
    if timings is not None:
        timings["prior"] = fit_s
    return prior


def fit_label_priors(run: RunDir, cfg: Config, *, progress: bool = True, force: bool = False) -> list[int]:
    """One prior per data label (digit) on the shared autoencoder, saved as ``priors/label_<y>``
    (what ``seqgen generate --label y`` samples from); returns the labels."""
    labels = sorted({int(y) for y in load_latents(run)["train_labels"] if y >= 0})
    if not labels:
        raise DataError("per-label priors asked for, but this data set has no labels")
    for y in labels:
        fit_prior(run, cfg, label=label_prior(y), only_label=y, progress=progress, force=force)
    return labels


def _stamp(artefact: Path, stage_hash: str) -> None:
    """Record the config hash an artefact was made under in its JSON description."""
    meta = read_json(artefact.with_suffix(".json"))
    meta["config"]["_stage_hash"] = stage_hash
    write_json(artefact.with_suffix(".json"), meta)


def _invalidate(path: Path) -> None:
    if path.exists():
        path.unlink()


def _fmt(rec: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.items()
                     if not isinstance(v, (dict, list)))


def _attach_log(run: RunDir) -> None:
    root = logging.getLogger("seqgen")
    for h in list(root.handlers):
        if getattr(h, "_seqgen_run", False):
            root.removeHandler(h)
    fh = log_handler(run.log)
    fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    fh._seqgen_run = True
    root.addHandler(fh)
    root.setLevel(min(root.level or logging.INFO, logging.INFO))
