"""`seqgen eval` for audio runs without digit labels (music, any audio folder): distribution metrics of a
generated stream against held-out audio, beside the same metrics of real training audio (the reference row).

Log-mel Fréchet distance and the Jensen–Shannon distance of chroma histograms (:mod:`seqgen.evaluation.music`),
the metrics the violin recipe reports; lower is closer to the held-out audio.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from ..evaluation.music import music_metrics
from .build import make_dataset
from .examples import first_samples, iter_split, load_split
from .report import REFERENCE_SECONDS

log = logging.getLogger("seqgen")


def evaluate_music(run_dir: str | Path, *, seconds: float = 60.0, seed: int = 0, temperature: float | None = None,
                   prior: str | None = None, data: str | None = None, device: str = "cpu",
                   progress: bool = True) -> dict:
    """Generate one ``seconds`` s stream and compare it with the run's held-out audio; writes ``eval.json``."""
    from .generate import Generator

    t0 = time.perf_counter()
    gen = Generator(run_dir, prior=prior, device=device)
    cfg, sr = gen.cfg, gen.sample_rate
    temperature = cfg.generate.temperature if temperature is None else float(temperature)
    ds, where = make_dataset(cfg, gen.run.data_root(data))
    log.info("eval: data %s", where)
    train = first_samples(iter_split(gen.rep, ds, "train", strict=cfg.data.strict, progress=progress),
                          REFERENCE_SECONDS * sr)
    held_out = np.concatenate([e.x for e in load_split(gen.rep, ds, "test", strict=cfg.data.strict, progress=progress)])
    stream = np.concatenate(list(gen.stream(seconds, seed=seed, temperature=temperature)))
    m = music_metrics(stream, held_out, train, sr)
    rows = {"generated": {k: v["generated_vs_heldout"] for k, v in m.items()},
            "real_train": {k: v["train_vs_heldout"] for k, v in m.items()}}
    result = {"run": gen.run.path.name, "prior": prior or "default", "prior_type": gen.prior.name,
              "modality": "audio", "metrics": "music", "seconds_generated": seconds, "seed": seed,
              "temperature": temperature, "held_out_seconds": len(held_out) / sr, "rows": rows,
              "seconds": time.perf_counter() - t0}
    gen.run.record_eval(result)
    return result


def format_music_table(*results: dict, markdown: bool = False) -> str:
    """One row per evaluated prior, the real-audio reference row once."""
    lines = [(f"{r['run']}: {r['prior']} ({r['prior_type']}), {r['seconds_generated']:g} s", r["rows"]["generated"])
             for r in results]
    lines.append(("real training audio (reference)", results[0]["rows"]["real_train"]))
    header = ["", "log-mel Fréchet", "chroma JS (bits)"]
    body = [[name, f"{row['logmel_frechet']:.1f}", f"{row['chroma_js_bits']:.3f}"] for name, row in lines]
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|---|---|---|"] + ["| " + " | ".join(b) + " |" for b in body]
    else:
        w = max(len(b[0]) for b in body)
        out = [f"{header[0]:{w}} {header[1]:>16} {header[2]:>17}"] + [f"{b[0]:{w}} {b[1]:>16} {b[2]:>17}" for b in body]
    out.append(f"\nagainst {results[0]['held_out_seconds']:.0f} s of held-out audio; lower is closer")
    return "\n".join(out)
