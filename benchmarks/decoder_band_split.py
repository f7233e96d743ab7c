"""Which part of a decoder's output makes digits recognisable? (the reason for the band split)

    python benchmarks/decoder_band_split.py runs/spoken_digits_nosplit [--data ../shared/data] [--bands 8]

On the FSDD test split, reconstructs every utterance with the run's autoencoder and scores with the cached
digit classifier (fraction recognised, SNR, band energy difference) these mixtures, side by side:

- ``decoder``: the reconstruction (with the decoder's noise when the run has a band split);
- ``decoder low + original high``: the decoder's band below the crossover, the input's band above it;
- ``original low + decoder high``: the other way round;
- ``decoder low + noise, original envelope``: the decoder's low band plus noise drawn under the *input's*
  high-band envelope (``--bands`` bands, per 100 ms frame) — the band split of seqgen.codecs.audio.noise
  with a perfect envelope.

Bands are split per frame at ``--crossover`` Hz with :class:`seqgen.codecs.audio.noise.BandNoise`.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--data", default=None)
    ap.add_argument("--bands", type=int, default=8)
    ap.add_argument("--crossover", type=float, default=1000.0)
    a = ap.parse_args()

    from seqgen.audio.framing import overlap_add
    from seqgen.codecs import decode_sequences, encode_sequences
    from seqgen.codecs.audio.noise import BandNoise
    from seqgen.evaluation.classifier import get_classifier
    from seqgen.evaluation.signal_metrics import band_energy_db, snr_db
    from seqgen.pipeline.evaluate import _fsdd
    from seqgen.pipeline.generate import Generator, noise_rng
    from seqgen.pipeline.examples import load_split, to_units

    gen = Generator(a.run_dir)
    sr, spec = gen.sample_rate, gen.spec
    N = spec.frame_length
    split = BandNoise(N, a.bands, round(a.crossover * N / sr), spec.window)
    ds, _ = _fsdd(gen, a.data)
    test = load_split(gen.rep, ds, "test")
    frames = to_units(gen.rep, test)
    rng = noise_rng(0)
    rec = decode_sequences(gen.model, encode_sequences(gen.model, frames), rng=rng, noise_scale=gen.decoder_noise)

    def low(f: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return split.lowpass(torch.as_tensor(f)).numpy()

    def noise(f: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return split.sample(split.envelope(torch.as_tensor(f)), rng).numpy()

    mixtures = {
        "decoder": lambda x, y: y,
        "decoder low + original high": lambda x, y: low(y) + x - low(x),
        "original low + decoder high": lambda x, y: low(x) + y - low(y),
        "decoder low + noise, original envelope": lambda x, y: low(y) + noise(x),
    }
    ref = [overlap_add(f, spec) for f in frames]
    r = np.concatenate(ref)
    e_ref = band_energy_db(r, sr)
    clf = get_classifier(ds.root, progress=False)
    labels = np.array([u.label for u in test])
    print(f"FSDD test split ({len(test)} utterances), run {a.run_dir}, crossover {a.crossover:g} Hz, "
          f"{a.bands} envelope bands")
    for name, mix in mixtures.items():
        est = [overlap_add(mix(x, y), spec) for x, y in zip(frames, rec)]
        e = np.concatenate(est)
        acc = float(np.mean(clf.classify(est, sr)[0].argmax(1) == labels))
        e_est = band_energy_db(e, sr)
        bands = ", ".join(f"{k}: {e_est[k] - e_ref[k]:+.1f}" for k in e_ref)
        print(f"{name:<40} recognised {acc:6.1%}  SNR {snr_db(r, e):5.2f} dB  band energy diff (dB) {bands}")


if __name__ == "__main__":
    main()
