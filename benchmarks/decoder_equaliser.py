"""Would a post-hoc equaliser fix the decoder's weak 1-4 kHz band? (an experiment, not a feature)

    python benchmarks/decoder_equaliser.py runs/spoken_digits [--data ../shared/data]

Fits a linear-phase FIR equaliser on the *training* split (gain = sqrt(P_original / P_reconstructed) of the
average Welch spectra, smoothed, 129 taps), applies it to the reconstructions of the *test* split, and
prints side by side, with and without it: SNR, band energy difference, band SNR, and how often the digit
classifier recognises the reconstructions. seqgen does not use the equaliser: it meets the band-energy
target but makes the audio less recognisable (see benchmarks/README.md).
"""
from __future__ import annotations

import argparse

import numpy as np
import scipy.signal


def equaliser(ref: np.ndarray, est: np.ndarray, sr: int, taps: int = 129) -> np.ndarray:
    """FIR taps whose magnitude response maps the average spectrum of ``est`` onto that of ``ref``."""
    f, p_ref = scipy.signal.welch(ref, sr, nperseg=512)
    _, p_est = scipy.signal.welch(est, sr, nperseg=512)
    gain = np.clip(np.sqrt(p_ref / np.maximum(p_est, 1e-12)), 0.1, 10.0)
    gain = np.clip(scipy.signal.savgol_filter(gain, 9, 2), 0.1, 10.0)
    return scipy.signal.firwin2(taps, f / (sr / 2), gain)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--data", default=None)
    a = ap.parse_args()

    from seqgen.evaluation.classifier import get_classifier
    from seqgen.evaluation.signal_metrics import band_energy_db, band_snr_db, snr_db
    from seqgen.pipeline.evaluate import _fsdd, _reconstruct
    from seqgen.pipeline.generate import Generator
    from seqgen.pipeline.examples import load_split

    gen = Generator(a.run_dir)
    sr = gen.sample_rate
    ds, _ = _fsdd(gen, a.data)
    train, test = load_split(gen.rep, ds, "train"), load_split(gen.rep, ds, "test")
    ref_tr, rec_tr = _reconstruct(gen, train)
    h = equaliser(np.concatenate(ref_tr), np.concatenate(rec_tr), sr)
    ref, rec = _reconstruct(gen, test)
    variants = {"decoder": rec, "decoder + equaliser": [scipy.signal.fftconvolve(y, h, mode="same") for y in rec]}

    clf = get_classifier(ds.root, progress=False)
    labels = np.array([u.label for u in test])
    r = np.concatenate(ref)
    e_ref = band_energy_db(r, sr)
    print(f"FSDD test split ({len(test)} utterances); equaliser fitted on the {len(train)} training utterances")
    for name, est in variants.items():
        e = np.concatenate(est)
        e_est, bsnr = band_energy_db(e, sr), band_snr_db(r, e, sr)
        acc = float(np.mean(clf.classify(est, sr)[0].argmax(1) == labels))
        bands = ", ".join(f"{k}: {e_est[k] - e_ref[k]:+.1f} / {bsnr[k]:+.1f}" for k in e_ref)
        print(f"{name:<20} SNR {snr_db(r, e):5.2f} dB, recognised {acc:.1%}; band energy diff / SNR (dB) {bands}")


if __name__ == "__main__":
    main()
