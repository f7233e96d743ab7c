"""`seqgen train`: data -> codec -> latents -> prior -> report, each stage skipped when its output
exists for the same config and data (icefall-style re-runnable stages); the same stages for every modality."""
from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

from ..artefacts import read_json, write_json
from ..codecs.io import encode_blocks, load_codec, save_codec
from ..config import Config, trust_components
from ..data.fingerprint import fingerprint
from ..errors import ConfigError, DataError, SeqgenError
from ..priors import Prior
from ..device import resolve_device
from ..paths import log_handler
from ..training.distributed import env_rank, env_world_size
from .build import build_autoencoder, build_objective, build_prior, build_representation, make_dataset
from .examples import cache_split, data_cache
from .latents import LatentSplit, label_prior, latents_hash, load_latents, save_latents, standardise
from .run_dir import RunDir, config_hash

log = logging.getLogger("seqgen")

AE_SECTIONS = ("data", "representation", "autoencoder", "train", "seed")
PRIOR_SECTIONS = ("prior", "seed")


def train(cfg: Config, out: str | Path, *, data: str | None = None, resume: bool = False,
          progress: bool = True, force: bool = False, generate_examples: int = 4) -> RunDir:
    """Run every stage of a recipe into run directory ``out``; returns it.

    The data are read example by example into memory-mapped stores in a folder beside the run
    (:func:`~.examples.cache_split`), removed when the run is done: a corpus need not fit in memory."""
    with contextlib.ExitStack() as cleanup:
        return _stages(cfg, out, cleanup, data=data, resume=resume, progress=progress, force=force,
                       generate_examples=generate_examples)


def _stages(cfg: Config, out: str | Path, cleanup: contextlib.ExitStack, *, data, resume, progress, force,
            generate_examples) -> RunDir:
    import torch

    from ..training.loop import train_codec
    from ..training.precision import check_amp_device

    trust_components(cfg)  # the caller's own config: its dotted-path components may be imported
    device = resolve_device(cfg.device)
    try:  # before any work, not at the first training step
        check_amp_device(cfg.train.options.get("amp"), torch.device(device))
    except ValueError as e:
        raise ConfigError(f"train.amp: {e}") from None
    torch.manual_seed(cfg.seed)
    rep = build_representation(cfg)
    prior = build_prior(cfg)  # fail on a bad prior config before hours of codec training
    model = build_autoencoder(cfg, rep)
    timings: dict = {}

    # ---- stage 1: data (found before the run directory is made: a bad --data leaves nothing behind)
    t0 = time.perf_counter()
    dataset, where = make_dataset(cfg, data)
    cache = cleanup.enter_context(data_cache(Path(out)))
    train_ex, train_units = cache_split(rep, dataset, "train", cache, strict=cfg.data.strict, progress=progress)
    test_ex, test_units = cache_split(rep, dataset, "test", cache, strict=cfg.data.strict, progress=progress)
    provenance = {"source": cfg.data.source, "root": "" if dataset.generated else str(Path(dataset.root).resolve()),
                  "where": where, "fingerprint": "generated" if dataset.generated else fingerprint(dataset.root),
                  "n_train": len(train_ex), "n_test": len(test_ex),
                  "split": dataset.split_description}
    timings["data"] = time.perf_counter() - t0

    run = RunDir(out)
    run.path.mkdir(parents=True, exist_ok=True)
    main = env_rank() == 0  # under torchrun every rank trains the codec; rank 0 alone writes the run
    if main:
        _attach_log(run)
    timings = {**run.read_metrics().get("timings_s", {}), **timings}
    log.info("data: %s from %s", cfg.data.source, where)
    log.info("data: %d train / %d test examples, %d train units", len(train_ex), len(test_ex),
             int(train_units.lengths.sum()))
    if main:
        run.save_config(cfg)
        run.save_data(provenance)

    # ---- stage 2: codec (its hash covers the config sections it depends on and the data's identity)
    ae_hash = config_hash(cfg, *AE_SECTIONS, ignore=("train.prior_per_label",),
                          extra={"data_fingerprint": provenance["fingerprint"]})
    if not force and run.autoencoder.exists() and run.stage_hash(run.autoencoder) == ae_hash:
        log.info("autoencoder: found %s for this config and data, skipping training", run.autoencoder)
        model = load_codec(run.autoencoder, device)
    else:
        if run.checkpoint.exists() and not resume:
            log.info("autoencoder: starting afresh (a checkpoint exists; pass --resume to continue it)")
        t0 = time.perf_counter()
        history = train_codec(
            model, build_objective(cfg, model, rep), train_units,
            valid_seqs=test_units[: max(1, len(test_units) // 3)],
            epochs=cfg.train.epochs, batch_size=cfg.train.batch_size,
            segment_units=cfg.train.segment_frames if rep.sequential else 1, lr=cfg.train.lr,
            device=device, seed=cfg.seed, checkpoint_path=run.checkpoint, resume=resume, progress=progress,
            log=_epoch_logger(run),
        )
        if not main:
            return run
        timings["autoencoder"] = time.perf_counter() - t0
        if resume:  # the per-epoch curve saw only the epochs after the checkpoint: redraw them all
            from .html_report import loss_curve

            loss_curve(history, run.plots / "loss.png")
        save_codec(run.autoencoder, model)
        _stamp(run.autoencoder, ae_hash)
        run.update_metrics(autoencoder_history=history, world_size=env_world_size())
        _invalidate(run.latents.with_suffix(".json"))
    if not main:
        return run

    # ---- stage 3: encode latents (cached for prior comparisons); a generator without encoder (LED) gives
    # draws of its base distribution instead (optionally resampled by its discriminator's density), one per example
    t0 = time.perf_counter()
    y_train, y_test = [e.label for e in train_ex], [e.label for e in test_ex]
    if model.has_encoder:  # streamed: one batch of units in, one block of latents out to latents.npz
        lat_train = LatentSplit(encode_blocks(model, train_units, device=device), train_units.lengths, y_train)
        lat_test = LatentSplit(encode_blocks(model, test_units, device=device), test_units.lengths, y_test)
    else:
        log.info("latents: %s has no encoder; latents drawn from its base distribution%s", cfg.autoencoder.type,
                 ", resampled by its discriminator's density" if model.options["resample_latents"] else " N(0, I)")
        lat_train = LatentSplit.of(list(model.latent_sample(len(train_units), seed=cfg.seed)[:, None]), y_train)
        lat_test = LatentSplit.of(list(model.latent_sample(len(test_units), seed=cfg.seed + 1)[:, None]), y_test)
    save_latents(run, lat_train, lat_test, ae_hash, standardise=not model.standard_normal_latents)
    timings["encode"] = time.perf_counter() - t0

    # ---- stage 4: prior (and, optionally, one per label: `generate --label 7`)
    fit_prior(run, cfg, prior=prior, progress=progress, force=force, timings=timings)
    if cfg.train.prior_per_label:
        fit_label_priors(run, cfg, progress=progress, force=force)

    # ---- stage 5: report (per modality)
    from .report import report

    t0 = time.perf_counter()
    report(run, model, rep, test_ex, test_units, train_ex, cfg, device=device, n_examples=generate_examples)
    timings["report"] = time.perf_counter() - t0

    # ---- stage 6: the HTML page (RUN/report/index.html)
    from .html_report import write_report

    t0 = time.perf_counter()
    run.update_metrics(timings_s={**timings})
    try:
        write_report(run.path, device=device, examples=(test_ex, train_ex))
    except (SeqgenError, OSError, ValueError) as e:  # the run itself is complete: a page is not worth failing it
        log.warning("report: not written (%s); retry with `seqgen report %s`", e, run.path)
    timings["html_report"] = time.perf_counter() - t0
    run.update_metrics(timings_s=timings)
    log.info("done: %s", run.path)
    return run


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
    h = config_hash(cfg, *PRIOR_SECTIONS) + (latents_hash(run) or "") + ("" if only_label is None else f"y{only_label}")
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


def fit_label_priors(run: RunDir, cfg: Config, *, name: str | None = None, progress: bool = True,
                     force: bool = False) -> list[int]:
    """One prior per data label (digit) on the shared autoencoder, saved as ``priors/label_<y>`` (what
    ``seqgen generate --digit y`` samples from), or ``priors/<name>_label_<y>`` (``generate --prior name
    --digit y``) so that per-label fits of several priors live side by side; returns the labels."""
    labels = sorted({int(y) for y in load_latents(run)["train_labels"] if y >= 0})
    if not labels:
        raise DataError("per-label priors asked for, but this data set has no labels")
    for y in labels:
        fit_prior(run, cfg, label=label_prior(y, name), only_label=y, progress=progress, force=force)
    return labels


def _epoch_logger(run: RunDir):
    """The training loop's per-epoch callback: a log line, and ``plots/loss.png`` redrawn with every epoch."""
    from .html_report import loss_curve

    hist: dict = {}

    def on_epoch(ep: int, rec: dict) -> None:
        log.info("autoencoder epoch %d: %s", ep, _fmt(rec))
        hist.setdefault("epoch", []).append(ep)
        for k, v in rec.items():
            if isinstance(v, (int, float)) and k not in ("epoch", "time_s"):
                hist.setdefault(k, []).append(float(v))
        loss_curve({k: v for k, v in hist.items() if len(v) == len(hist["epoch"])}, run.plots / "loss.png")

    return on_epoch


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
