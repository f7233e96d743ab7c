"""Stage 5, report: codec quality on the test split, example samples, plots, metrics.json (audio and images)."""
from __future__ import annotations

import logging
import time

import numpy as np

from ..audio.io import write_wav
from .examples import first_samples, reconstruct
from .generate import SAMPLE_NAME
from ..config import Config
from ..evaluation.music import music_metrics
from ..evaluation.signal_metrics import audio_checks, band_energy_db, band_snr_db, snr_db, spectral_lines
from ..plots import spectrogram_comparison

log = logging.getLogger("seqgen")

#: seconds of training audio in the music metrics' reference row (``seqgen eval`` of a music run uses the same)
REFERENCE_SECONDS = 120


def _compare(ref: np.ndarray, est: np.ndarray, sr: int) -> dict:
    e_ref, e_est = band_energy_db(ref, sr), band_energy_db(est, sr)
    return {
        "snr_db": snr_db(ref, est),
        "band_energy_db_original": e_ref,
        "band_energy_db_reconstructed": e_est,
        "band_energy_diff_db": {k: e_est[k] - e_ref[k] for k in e_ref},
        "band_snr_db": band_snr_db(ref, est, sr),
        "spectral_lines_added_hz": [float(f) for f in spectral_lines(ref, est, sr)],
    }


def reconstruction_metrics(model, rep, test_frames: list[np.ndarray], device: str = "cpu",
                           decoder_noise: float = 1.0, seed: int = 0) -> dict:
    """Encode -> decode -> overlap-add every test sequence; SNR, band energies/SNRs, spectral lines.

    Of the deterministic decoder; for a band-split model also ``with_decoder_noise``: the same metrics
    of one noise draw (std scale ``decoder_noise``, ``seed``), which is what generation outputs."""
    sr = rep.sample_rate
    from .generate import noise_rng

    _, ref, est = reconstruct(model, rep, test_frames, device=device)
    ref = np.concatenate(ref)
    out = _compare(ref, np.concatenate(est), sr)
    if model.stochastic_decoder and decoder_noise:
        _, _, rec = reconstruct(model, rep, test_frames, device=device, noise_rng=noise_rng(seed),
                                noise_scale=decoder_noise)
        out["with_decoder_noise"] = {"scale": decoder_noise, **_compare(ref, np.concatenate(rec), sr)}
    return out


def report(run, model, rep, test_ex, test_units, train_ex, cfg: Config, *, device: str = "cpu",
           n_examples: int = 4) -> dict:
    """The report of the run's modality (audio below; images in :mod:`.report_image`; a codec without encoder
    in :mod:`.report_generator`)."""
    if not model.has_encoder:
        from .report_generator import generator_report

        return generator_report(run, model, rep, test_units, cfg, device=device)
    if rep.modality == "image":
        from .report_image import image_report

        return image_report(run, model, rep, test_ex, test_units, train_ex, cfg, device=device)
    if rep.modality == "vector":
        from .report_vector import vector_report

        return vector_report(run, model, rep, test_ex, test_units, train_ex, cfg, device=device)
    return audio_report(run, model, rep, test_ex, test_units, train_ex, cfg, device=device, n_examples=n_examples)


def audio_report(run, model, rep, test_utts, test_frames, train_utts, cfg: Config, *, device: str = "cpu",
                 n_examples: int = 4) -> dict:
    """Codec SNR and band metrics on the test split, a 10 s stream and a few utterances, spectrograms (Fig. 6/7)."""
    from .generate import Generator

    sr = rep.sample_rate
    ae = reconstruction_metrics(model, rep, test_frames, device, cfg.generate.decoder_noise, cfg.seed)
    for name, m in (("", ae), (" + decoder noise", ae.get("with_decoder_noise"))):
        if m is not None:
            log.info("autoencoder%s on test split: SNR %.2f dB, band diff %s", name, m["snr_db"],
                     {k: round(v, 1) for k, v in m["band_energy_diff_db"].items()})
    gen = Generator(run.path, device=device)
    t0 = time.perf_counter()
    seconds = 10.0
    stream = np.concatenate(list(gen.stream(seconds, seed=cfg.seed, temperature=cfg.generate.temperature)))
    speed = seconds / (time.perf_counter() - t0)
    examples = gen.examples(max(1, n_examples), seed=cfg.seed, temperature=cfg.generate.temperature)
    for i, x in enumerate(examples):
        write_wav(run.samples / SAMPLE_NAME.format(prefix="sample", i=i, ext="wav"), x, sr)  # the names `generate --count` gives
    write_wav(run.samples / "stream_10s.wav", stream, sr)
    checks = audio_checks(np.concatenate(examples), sr)
    train_audio = first_samples(train_utts, REFERENCE_SECONDS * sr)  # not all: the corpus may not fit in memory
    if sum(len(u.x) for u in train_utts) / len(train_utts) > 5 * sr:  # long recordings (music): Fig. 7 layout
        real = [("first 10 s of the training audio", train_audio[: 10 * sr])]
        fake = [("10 s generated", stream)]
    else:  # utterances (speech): the paper's Fig. 6 layout
        real = [(u.name, u.x) for u in train_utts[:: max(1, len(train_utts) // max(1, n_examples))][:n_examples]]
        fake = [(f"sample {i}", x) for i, x in enumerate(examples)]
    plot = spectrogram_comparison(real, fake, sr, run.plots / "spectrograms.png",
                                  title=f"{cfg.name}: prior {cfg.prior.type}")
    held_out = np.concatenate([u.x for u in test_utts])
    music = music_metrics(stream, held_out, train_audio, sr)
    log.info("generated vs held-out: log-mel Fréchet %.1f (train vs held-out %.1f), chroma JS %.3f (%.3f) bits",
             music["logmel_frechet"]["generated_vs_heldout"], music["logmel_frechet"]["train_vs_heldout"],
             music["chroma_js_bits"]["generated_vs_heldout"], music["chroma_js_bits"]["train_vs_heldout"])
    metrics = {"autoencoder_test": ae, "generation": {"seconds_per_second": speed, "checks": checks,
                                                      "stream_checks": audio_checks(stream, sr),
                                                      "n_examples": len(examples), **music},
               "plots": [str(plot.name)]}
    run.update_metrics(**metrics)
    return metrics
