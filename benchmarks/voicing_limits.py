"""What limits the voicing of generated speech: how precise must a latent sequence be to decode voiced?

    python benchmarks/voicing_limits.py runs/spoken_digits --prior arhmm20 [--utterances 30]

On every 10th test utterance (standardised latents of the run), pYIN's voiced fraction
(:mod:`seqgen.evaluation.voicing`) of the decoded audio (deterministic decoder, no high-band noise) for:
the true latents; the true latents plus white noise of std s (standardised units) on all dimensions, and on
the 8 envelope dimensions only; and an AR-HMM prior's one-step predictions ``A_k z_{t-1} + b_k`` from the
true previous frame (``k`` the filtered state), with their mean squared error relative to the latents'
variance. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--prior", required=True, help="an arhmm prior label fitted on the run")
    ap.add_argument("--utterances", type=int, default=30)
    args = ap.parse_args()

    from seqgen.evaluation.voicing import voicing
    from seqgen.pipeline.generate import Generator
    from seqgen.pipeline.latents import load_latents, standardise

    g = Generator(args.run_dir, prior=args.prior, decoder_noise=0.0)
    Z, lengths = standardise(load_latents(g.run), "test")
    seqs = np.split(Z, np.cumsum(lengths)[:-1])[::10][: args.utterances]
    rng = np.random.default_rng(0)
    code = g.model.code_dim

    def voiced(zs):
        return voicing([g.to_example(z) for z in zs], g.sample_rate)["voiced_fraction"]

    def one_step(z):
        p, k = g.prior, g.prior.forward_filter(z).argmax(1)
        prev = np.vstack([np.zeros((1, z.shape[1])), z[:-1]])
        return np.einsum("tij,tj->ti", p.coefs_[k], prev) + p.intercepts_[k]

    out = {"run": args.run_dir, "prior": args.prior, "utterances": len(seqs), "true_latents": voiced(seqs)}
    for s in (0.05, 0.1, 0.2, 0.4):
        out[f"noise_{s}"] = voiced([z + s * rng.standard_normal(z.shape) for z in seqs])
        env = [z.copy() for z in seqs]
        for z in env:
            z[:, code:] += s * rng.standard_normal(z[:, code:].shape)
        out[f"envelope_noise_{s}"] = voiced(env)
    pred = [one_step(z) for z in seqs]
    out["ar_one_step"] = voiced(pred)
    out["ar_one_step_relative_mse"] = float(np.mean(np.concatenate([(p - z) ** 2 for p, z in zip(pred, seqs)])))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
