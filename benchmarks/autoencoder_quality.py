"""Autoencoder losses side by side: the paper's per-frame MSE vs the default multi-resolution STFT.

    python benchmarks/autoencoder_quality.py --data ../shared/data [--epochs 16] [--losses mrstft,mse]
        [--set autoencoder.channels=[32,64,64] ...]

Each loss trains the spoken_digits recipe's autoencoder through the normal pipeline (same data, seed and
model; a 2-state prior so the prior stage costs nothing) and the table prints what the report stage
measured on the FSDD test split: epoch time, SNR, band energy difference and band SNR per band, and any
spectral lines the decoder adds. With the recipe's band split (``autoencoder.noise_bands``) each loss gets
a second row, ``+noise``: the decoder output with its high-band noise, i.e. what generation writes;
``--set autoencoder.noise_bands=0`` compares the plain waveform decoders.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "spoken_digits"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="FSDD folder or a folder holding fsdd/ (default: the usual lookup)")
    p.add_argument("--epochs", type=int, default=16)
    p.add_argument("--losses", default="mrstft,mse")
    p.add_argument("--set", dest="overrides", action="append", default=[], help="extra recipe override")
    p.add_argument("--out", default=None, help="keep the runs here (default: a temporary folder)")
    a = p.parse_args()

    from seqgen.config import load_recipe
    from seqgen.pipeline.run_dir import RunDir
    from seqgen.pipeline.train import train

    out = Path(a.out or tempfile.mkdtemp(prefix="ae_bench_"))
    rows = {}
    for loss in a.losses.split(","):
        cfg = load_recipe(RECIPE, [f"train.loss={loss}", f"train.epochs={a.epochs}", "prior.n_states=2",
                                   "prior.n_iter=2", *a.overrides])
        run = train(cfg, out / loss, data=a.data, progress=False, generate_examples=1)
        m = RunDir(run.path).read_metrics()
        epoch_s, t = float(np.mean(m["autoencoder_history"]["time_s"])), m["autoencoder_test"]
        rows[loss] = (epoch_s, t)
        if "with_decoder_noise" in t:  # band split: the mean decoder is low-band only; this is what is heard
            rows[f"{loss}+noise"] = (epoch_s, t["with_decoder_noise"])

    bands = sorted(next(iter(rows.values()))[1]["band_energy_diff_db"], key=lambda b: [float(f) for f in b.split("-")])
    print(f"FSDD test split after {a.epochs} epochs; runs in {out}")
    print(f"{'loss':<13}{'s/epoch':>8}{'SNR dB':>8}  " + "  ".join(f"{b + ' Hz':>20}" for b in bands) + "  lines")
    print(f"{'':<13}{'':>8}{'':>8}  " + "  ".join(f"{'energy diff / SNR':>20}" for _ in bands))
    for loss, (epoch_s, t) in rows.items():
        cells = "  ".join(f"{t['band_energy_diff_db'][b]:>+9.1f} / {t['band_snr_db'][b]:>+7.1f}" for b in bands)
        print(f"{loss:<13}{epoch_s:>8.1f}{t['snr_db']:>8.2f}  {cells}  {t['spectral_lines_added_hz'] or 'none'}")


if __name__ == "__main__":
    main()
