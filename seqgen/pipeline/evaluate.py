"""`seqgen eval` / `seqgen score`: classifier-based metrics of generated digits; per-frame score of any audio.

``evaluate`` generates utterances from a run, classifies them with the cached FSDD digit
classifier (:mod:`seqgen.evaluation.classifier`) and reports the SC09-style metrics of
:mod:`seqgen.evaluation.generative` next to the same metrics of real audio passed through the
same code (the real test split: the ceiling; AE reconstructions of it: the best any prior can
do with this autoencoder). ``score_file`` gives the per-frame score of any audio under the
trained model, so users can rank audio or flag what the model finds unusual.
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np

from ..artefacts import read_json_object, write_json
from ..errors import SeqgenError
from ..evaluation import generative as gm
from ..evaluation.signal_metrics import rms_db
from ..validate import calibration_ok
from .build import make_dataset
from .examples import load_split, reconstruct
from .latents import is_label_prior, label_prior, load_latents, standardise

log = logging.getLogger("seqgen")

CALIBRATION_FILE = "score_calibration.json"
#: clips per row for the pYIN voicing metric (it is ~100x slower than the classifier)
VOICING_CLIPS = 100
#: a clip whose RMS is below this (dBFS) is near-silent (peak-normalised FSDD utterances: about -20 dB)
NEAR_SILENT_DB = -40.0


# ------------------------------------------------------------------ helpers
def _fsdd(gen, data):
    """The run's FSDD data set (the folder it was trained on unless ``data``), one sequence per
    utterance (even for ``concatenate = true`` runs)."""
    from ..data.fsdd import FSDD

    cfg = gen.cfg
    ds, where = make_dataset(cfg, gen.run.data_root(data))
    if not isinstance(ds, FSDD):
        raise SeqgenError(f"`seqgen eval` scores spoken digits with an FSDD classifier; this run's data.source is "
                          f"{cfg.data.source!r}")
    return FSDD(ds.root, digits=ds.digits, speakers=ds.speakers), where


def _row(P, F, *, p_y_train, F_train, F_test=None, labels=None, ndb_k=20) -> dict:
    """Every metric of one set of clips from its posteriors ``P (N, 10)`` and features ``F (N, 128)``
    (``F_test`` None: no FID against the test split, for the test split itself)."""
    nn = gm.nearest_neighbour_distances(F, F_train)
    row = {
        "n": len(P),
        "inception_score": gm.inception_score(P),
        "modified_inception_score": gm.modified_inception_score(P),
        "am_score": gm.am_score(P, p_y_train),
        "digits_covered": gm.digits_covered(P),
        "class_histogram": np.bincount(P.argmax(1), minlength=P.shape[1]).tolist(),
        "mean_entropy": float(gm.entropy(P).mean()),
        "fid_test": None if F_test is None else gm.frechet_distance(F, F_test),
        "fid_train": gm.frechet_distance(F, F_train),
        "ndb": gm.ndb(F_train, F, k=ndb_k)["ndb"] if len(F) >= ndb_k else None,
        "ndb_k": ndb_k,
        "nn_train_distance_median": float(np.median(nn)),
    }
    if labels is not None:
        row["accuracy"] = float(np.mean(P.argmax(1) == np.asarray(labels)))
    return row


def _reconstruct(gen, utts, noise_rng=None, noise_scale: float = 1.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Encode -> decode -> overlap-add each utterance (framed as in training); returns (originals, reconstructions).
    With ``noise_rng`` a band-split decoder's high-band noise is drawn."""
    _, ref, rec = reconstruct(gen.model, gen.rep, [gen.rep.to_units(u.x) for u in utts], device=gen.device,
                              noise_rng=noise_rng, noise_scale=noise_scale)
    return ref, rec


def _snr_db(ref: list[np.ndarray], est: list[np.ndarray]) -> float:
    r, e = np.concatenate(ref).astype(np.float64), np.concatenate(est).astype(np.float64)
    return float(10 * np.log10(np.sum(r**2) / max(np.sum((r - e) ** 2), 1e-20)))


# ------------------------------------------------------------------ eval
def evaluate(run_dir: str | Path, *, count: int = 1000, seed: int = 0, temperature: float | None = None,
             decoder_noise: float | None = None, prior: str | None = None, data: str | None = None,
             device: str = "cpu", progress: bool = True, reference_rows: bool = True, parzen: int = 0,
             voicing_clips: int = VOICING_CLIPS) -> dict:
    """Generate ``count`` utterances from a run and score them; writes ``eval.json`` and returns the result.

    Rows (each: IS, mIS, AM, FID, NDB, digits covered, class histogram, median distance to the
    nearest training utterance — see :mod:`seqgen.evaluation.generative` for the definitions):

    - ``generated``: ``count`` utterances from the prior (lengths drawn from the training
      utterances' frame counts), decoded and overlap-added. FID against the held-out test split
      (``fid_test``, the headline) and the training split (``fid_train``).
    - ``real_test`` (``reference_rows``): the test split itself — the ceiling. FID vs the
      training split; NN distance = how far real unseen digits are from the training set.
    - ``ae_reconstruction`` (``reference_rows``): the test split encoded, decoded (with the
      decoder's high-band noise, as in generation) and overlap-added — what a perfect prior could
      reach with this autoencoder.

    Also: ``memorisation`` (median NN distance of generated vs real test utterances to the
    training set, a ratio ≪ 1 meaning copies; and the fraction of generated clips closer to the
    training set than 95 % of test clips are, ≈ 0.05 when nothing is copied),
    ``prior_test_ll_per_frame`` (mean log-likelihood per frame of the held-out test latents under
    the prior, nats, standardised latent space), ``autoencoder_test_snr_db`` (metrics.json's
    ``autoencoder_test`` when present, else computed).
    Each row also gets ``near_silent_fraction`` (clips with RMS below ``NEAR_SILENT_DB``) and
    ``voicing`` (:func:`seqgen.evaluation.voicing.voicing`: pYIN's voiced fraction of the active
    frames and the f0 median / 10th / 90th percentile) over ``voicing_clips`` evenly spaced clips
    of the row (0 = skip; pYIN takes ~0.1 s per clip).
    FID/NDB depend on sample sizes (``n`` in each row): compare rows of equal ``count``.
    ``eval.json`` holds one entry per prior label, so several priors can be compared.
    """
    from ..evaluation.classifier import get_classifier
    from .build import build_representation
    from .generate import Generator, noise_rng
    from .run_dir import RunDir

    run_cfg = RunDir(run_dir).load_config()
    modality = build_representation(run_cfg).modality
    if modality == "vector":
        raise SeqgenError(f"{run_dir}: `seqgen eval` is for audio and image runs; a vector run is scored when it trains "
                          f"(metrics.json: 'generation' Fréchet distance to held-out vectors, or an LED run's densities; "
                          f"benchmarks/lmgae_sweep.py and benchmarks/led_2d.py measure more)")
    if modality == "image":
        from .evaluate_image import evaluate_images

        return evaluate_images(run_dir, count=count, seed=seed, temperature=temperature, prior=prior, data=data,
                               device=device, progress=progress, reference_rows=reference_rows, parzen=parzen)
    from ..data.fsdd import FSDD
    from ..registry import DATASETS

    if not issubclass(DATASETS.resolve(run_cfg.data.source), FSDD):  # no digit labels: distribution metrics
        from .evaluate_music import evaluate_music

        return evaluate_music(run_dir, seed=seed, temperature=temperature, prior=prior, data=data, device=device,
                              progress=progress)
    if count < 2:
        raise SeqgenError(f"--count must be at least 2 (FID needs a covariance), got {count}")
    t0 = time.perf_counter()
    gen = Generator(run_dir, prior=prior, device=device, decoder_noise=decoder_noise)
    cfg, sr, device = gen.cfg, gen.sample_rate, gen.device
    temperature = cfg.generate.temperature if temperature is None else float(temperature)
    ds, where = _fsdd(gen, data)
    log.info("eval: data %s", where)
    clf = get_classifier(ds.root, device=device, progress=progress)
    train_utts = load_split(gen.rep, ds, "train", strict=cfg.data.strict, progress=progress)
    test_utts = load_split(gen.rep, ds, "test", strict=cfg.data.strict, progress=progress)
    pad = gen.rep.pad_frames

    P_train, F_train = clf.classify([u.x for u in train_utts], sr)
    P_test, F_test = clf.classify([u.x for u in test_utts], sr)
    p_y_train = P_train.mean(0)

    rng = np.random.default_rng(seed)
    lengths = rng.choice([gen.spec.n_frames(len(u.x) + 2 * pad * gen.spec.hop) for u in train_utts], size=count)
    log.info("eval: generating %d utterances (prior %s, seed %d, temperature %g)", count, prior or "default", seed,
             temperature)
    audio = gen.examples(count, seed=seed, temperature=temperature, lengths=lengths)
    P_gen, F_gen = clf.classify(audio, sr)
    rows = {"generated": _row(P_gen, F_gen, p_y_train=p_y_train, F_train=F_train, F_test=F_test)}

    metrics = gen.run.read_metrics()
    ae = metrics.get("autoencoder_test")
    snr = ae.get("snr_db") if isinstance(ae, dict) else None  # of the deterministic decoder
    snr = snr if isinstance(snr, (int, float)) and math.isfinite(snr) else None
    if snr is None:
        snr = _snr_db(*_reconstruct(gen, test_utts))
    if reference_rows:
        _, rec = _reconstruct(gen, test_utts, noise_rng(seed), gen.decoder_noise)
        labels = [u.label for u in test_utts]
        rows["real_test"] = _row(P_test, F_test, p_y_train=p_y_train, F_train=F_train, labels=labels)
        rows["ae_reconstruction"] = _row(*clf.classify(rec, sr), p_y_train=p_y_train,
                                         F_train=F_train, F_test=F_test, labels=labels)
    clips = {"generated": audio, "real_test": [u.x for u in test_utts]}
    if reference_rows:
        clips["ae_reconstruction"] = rec
    for key in rows:
        rows[key]["near_silent_fraction"] = float(np.mean([rms_db(x) < NEAR_SILENT_DB for x in clips[key]]))
    if voicing_clips:
        from ..evaluation.voicing import voicing

        for key in rows:
            rows[key]["voicing"] = voicing(clips[key], sr, max_clips=voicing_clips)

    lat = load_latents(gen.run)
    nn_gen = rows["generated"]["nn_train_distance_median"]
    d_test = gm.nearest_neighbour_distances(F_test, F_train)
    nn_test = float(np.median(d_test))
    # Near-copies: generated clips closer to some training clip than 95 % of real unseen clips are.
    near_copy = float(np.mean(gm.nearest_neighbour_distances(F_gen, F_train) < np.percentile(d_test, 5)))
    result = {
        "run": str(gen.run.path.name), "prior": prior or "default", "prior_type": gen.prior.name,
        "count": count, "seed": seed, "temperature": temperature, "decoder_noise": gen.decoder_noise,
        "classifier": {k: clf.info.get(k) for k in ("cache_key", "test_accuracy", "n_train", "train_seconds")},
        "rows": rows,
        "memorisation": {"generated_nn_train_median": nn_gen, "test_nn_train_median": nn_test,
                         "ratio": nn_gen / nn_test if nn_test > 0 else None,
                         "fraction_closer_than_test_p5": near_copy},
        "prior_test_ll_per_frame": gen.prior.score(*standardise(lat, "test")),
        "autoencoder_test_snr_db": snr,
    }
    if prior is None or not is_label_prior(prior):
        per_label = label_accuracy(gen.run, clf, max(10, count // 10), seed, temperature, device, gen.decoder_noise,
                                   name=prior)
        if per_label:
            result["label_accuracy"] = per_label
    result["seconds"] = time.perf_counter() - t0
    gen.run.record_eval(result)
    return result


def label_accuracy(run, clf, count: int, seed: int, temperature: float, device: str,
                   decoder_noise: float | None = None, name: str | None = None) -> dict:
    """Fraction of utterances generated by each per-label prior (``generate --digit y``; with ``name``
    those of ``fit-prior --per-label --name NAME``) that the classifier assigns to ``y``; ``{}`` when
    there are none."""
    from .generate import Generator

    stem = label_prior(0, name)[:-1]  # "label_" or "NAME_label_"
    labels = sorted(int(p.stem[len(stem):]) for p in (run.path / "priors").glob(f"{stem}*.json")
                    if p.stem[len(stem):].isdigit())
    acc = {}
    for y in labels:
        g = Generator(run.path, prior=name, label=y, device=device, decoder_noise=decoder_noise)
        P, _ = clf.classify(g.examples(count, seed=seed, temperature=temperature), g.sample_rate)
        acc[str(y)] = float(np.mean(P.argmax(1) == y))
    if acc:
        acc["mean"] = float(np.mean(list(acc.values())))
        acc["count_per_label"] = count
    return acc


def format_table(*results: dict, markdown: bool = False) -> str:
    """Plain-text table of one or more :func:`evaluate` results (reference rows printed once)."""
    if results and results[0].get("modality") == "image":
        from .evaluate_image import format_image_table

        return format_image_table(*results, markdown=markdown)
    if results and results[0].get("metrics") == "music":
        from .evaluate_music import format_music_table

        return format_music_table(*results, markdown=markdown)
    cols = [("IS", "inception_score", "{:.2f}"), ("mIS", "modified_inception_score", "{:.4g}"),
            ("AM", "am_score", "{:.3f}"), ("FID(test)", "fid_test", "{:.2f}"),
            ("FID(train)", "fid_train", "{:.2f}"), ("NDB", "ndb", "{}"), ("digits", "digits_covered", "{}"),
            ("NN(train)", "nn_train_distance_median", "{:.2f}"), ("acc", "accuracy", "{:.3f}"), ("n", "n", "{}"),
            ("silent", "near_silent_fraction", "{:.3f}"), ("voiced", "voiced_fraction", "{:.3f}"), ("f0 p10", "f0_p10_hz", "{:.0f}"),
            ("f0 median", "f0_median_hz", "{:.0f}"), ("f0 p90", "f0_p90_hz", "{:.0f}")]
    lines = []
    for r in results:
        lines.append((f"generated: {r['prior']} ({r['prior_type']}), T={r['temperature']:g}", r["rows"]["generated"]))
    for r in results[:1]:
        for key, label in (("real_test", "real test split (ceiling)"),
                           ("ae_reconstruction", "AE reconstruction of test")):
            if key in r["rows"]:
                lines.append((label, r["rows"][key]))
    w = max(len(name) for name, _ in lines)

    def cell(fmt, v):
        return "-" if v is None else fmt.format(v)

    out = [" ".join([f"{'':{w}}"] + [f"{c:>10}" for c, _, _ in cols])]
    lines = [(name, {**row, **row.get("voicing", {})}) for name, row in lines]  # voicing columns flat
    out += [" ".join([f"{name:{w}}"] + [f"{cell(fmt, row.get(k)):>10}" for _, k, fmt in cols]) for name, row in lines]
    out.append("")
    for r in results:
        m = r["memorisation"]
        ratio = "-" if m["ratio"] is None else f"{m['ratio']:.2f}"
        out.append(f"{r['prior']}: test log-likelihood {r['prior_test_ll_per_frame']:.2f} nats/frame; "
                   f"NN-to-train distance generated/real-test = {ratio} (≪ 1 would mean memorised training data), "
                   f"near-copies {m['fraction_closer_than_test_p5']:.1%} (real: 5%)")
        if "label_accuracy" in r:
            la = r["label_accuracy"]
            per = ", ".join(f"{k}: {v:.0%}" for k, v in la.items() if k.isdigit())
            out.append(f"--label generation recognised as the requested digit: mean {la['mean']:.1%} ({per}; "
                       f"{la['count_per_label']} each)")
    r = results[0]
    snr = r["autoencoder_test_snr_db"]
    acc = r["classifier"].get("test_accuracy")
    out.append(f"autoencoder test SNR {'-' if snr is None else f'{snr:.2f}'} dB; digit classifier test accuracy "
               f"{'-' if acc is None else f'{acc:.3f}'}. IS/mIS/FID(test)/NN: higher/higher/lower/close to real; "
               f"AM/NDB: lower (NDB/K ~ 0.05 is ideal).")
    return "\n".join(out)


# ------------------------------------------------------------------ score
def _gauss_ll(residual: np.ndarray, var: float) -> float:
    """Σ_n log N(residual_n; 0, var)."""
    return float(-0.5 * (len(residual) * math.log(2 * math.pi * var) + np.sum(residual.astype(np.float64) ** 2) / var))


def _score_parts(gen, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, int]:
    """(prior log-likelihood summed over frames, overlap-added input (its low band with a band-split
    decoder: the high band is in the latents' envelope, scored by the prior), its reconstruction
    residual, T) of one clip."""
    units = gen.rep.to_units(x)
    (z,), (ref,), (rec,) = reconstruct(gen.model, gen.rep, [units], device=gen.device, codec_target=True)
    prior_ll = float(gen.prior.log_prob([(z - gen.mean) / gen.std])[0])
    ref = ref.astype(np.float64)
    return prior_ll, ref, ref - rec, len(units)


def _calibration(gen, prior_label: str, data: str | None, progress: bool) -> dict:
    """σ² and the per-utterance scores of the run's test split (cached in score_calibration.json)."""
    run = gen.run
    key = f"{run.stage_hash(run.autoencoder)}:{prior_label}:{run.stage_hash(run.prior_path(prior_label))}"
    path = run.path / CALIBRATION_FILE
    cached = read_json_object(path) if path.exists() else {}
    if calibration_ok(cached.get(key)):
        return cached[key]
    ds, _ = _fsdd(gen, data) if gen.cfg.data.source == "fsdd" else make_dataset(gen.cfg, gen.run.data_root(data))
    test = load_split(gen.rep, ds, "test", strict=gen.cfg.data.strict, progress=progress)
    parts = [_score_parts(gen, u.x) for u in test]
    n_samples = sum(len(r) for _, _, r, _ in parts)
    var = max(sum(float(np.sum(r**2)) for _, _, r, _ in parts) / n_samples, 1e-12)
    prior_pf = [ll / t for ll, _, _, t in parts]
    recon_pf = [_gauss_ll(r, var) / t for _, _, r, t in parts]
    cal = {"noise_var": var, "test_prior_ll_per_frame": prior_pf, "test_recon_ll_per_frame": recon_pf,
           "test_total_per_frame": [a + b for a, b in zip(prior_pf, recon_pf)]}
    cached[key] = cal
    write_json(path, cached)
    return cal


def score_file(path: str | Path, run_dir: str | Path, *, prior: str | None = None, data: str | None = None,
               device: str = "cpu", progress: bool = False) -> dict:
    """Per-frame score of any audio file under a trained run: ``total = prior + reconstruction`` (nats/frame).

    The file is loaded at the run's sample rate, loudness-normalised and framed exactly like
    training data (``pad_frames`` of silence at both ends), encoded to latents ``z (T, D)``,
    standardised with the run's statistics to ``z̃``. Then, with T frames and the overlap-added
    waveform x (n samples) and its reconstruction x̂ = OLA(decode(z)):

    - ``prior_ll_per_frame`` = log p_prior(z̃) / T — the quantity ``metrics.json`` reports as
      ``test_ll_per_frame`` (standardised space: the constant Jacobian -Σ_d log std_d per frame
      is left out);
    - ``recon_ll_per_frame`` = Σ_n log N(x_n; x̂_n, σ²) / T (with a band-split decoder, x is the input's
      low band: its high band is in the latents' envelope, scored by the prior), σ² the run's mean squared
      per-sample reconstruction error on its test split — how well the autoencoder can
      represent the audio at all;
    - ``total_per_frame`` = their sum: the log-density of a model "latents from the prior, audio =
      decoder output + white Gaussian noise σ²", evaluated at the encoder's latents (an
      encoder-based point estimate, not the marginal likelihood, which the AE does not define).

    Each comes with its ``*_percentile`` among the run's test utterances (computed once per
    autoencoder/prior and cached in ``score_calibration.json``, which needs the run's data);
    ``unusual`` is true when the total is below the 1st percentile of the test utterances'.
    """
    from ..audio.io import load_audio
    from .generate import Generator

    gen = Generator(run_dir, prior=prior, device=device)
    if gen.modality == "vector":
        raise SeqgenError(f"seqgen score takes audio or image files; {run_dir} is a vector run")
    if gen.modality != "audio":
        from .evaluate_image import score_image

        return score_image(path, gen)
    x = gen.rep.prepare(load_audio(path, gen.sample_rate))
    label = prior or "default"
    cal = _calibration(gen, label, data, progress)
    prior_ll, ref, r, t = _score_parts(gen, x)
    out = {"file": str(path), "run": gen.run.path.name, "prior": label, "n_frames": t,
           "seconds": len(x) / gen.sample_rate, "prior_ll_per_frame": prior_ll / t,
           "recon_ll_per_frame": _gauss_ll(r, cal["noise_var"]) / t,
           "recon_snr_db": float(10 * np.log10(max(np.sum(ref**2), 1e-20) / max(np.sum(r**2), 1e-20))),
           "noise_var": cal["noise_var"]}
    out["total_per_frame"] = out["prior_ll_per_frame"] + out["recon_ll_per_frame"]
    if not math.isfinite(out["total_per_frame"]):
        raise SeqgenError(f"the score of {path} under {gen.run.path} is {out['total_per_frame']} (a degenerate prior "
                          f"{label!r} or autoencoder); refit it with seqgen train --force (or fit-prior --force "
                          f"for an added prior)")
    for k, ref in (("prior_ll", "test_prior_ll_per_frame"), ("recon_ll", "test_recon_ll_per_frame"),
                   ("total", "test_total_per_frame")):
        value = out[f"{k}_per_frame"]
        out[f"{k}_percentile"] = 100.0 * float(np.mean(np.asarray(cal[ref]) < value))
    out["unusual"] = out["total_percentile"] < 1.0
    return out
