"""Benchmark the HMM prior's EM backends (torch / hmmlearn / pomegranate) on the same latents and init.

    python benchmarks/hmm_backends.py                      # synthetic 80-d HMM data, K=300, 10 EM iterations
    python benchmarks/hmm_backends.py --latents runs/spoken_digits   # a run's latents (or an npz: Z, lengths)
    python benchmarks/hmm_backends.py --covariance full --backends torch,hmmlearn --iters 2

GFLOP/s is the model count of the dominant matrix products of one EM iteration (:func:`em_flops`)
divided by the measured seconds: the rate the torch backend reaches, and hmmlearn's *effective*
rate on the same work.

Every backend starts from the same k-means initialisation (same seed) and runs ``--iters`` EM
iterations; the table gives seconds per iteration, the speed-up over hmmlearn and the final
per-frame log-likelihood scored by seqgen's common forward code.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from seqgen.priors.hmm import HMMPrior


def synthetic(n_states: int, dim: int, n_frames: int, seq_len: int, seed: int) -> list[np.ndarray]:
    """Sequences from a random sticky Gaussian HMM (means ~ N(0, 3^2), variances in [0.3, 1.5])."""
    rng = np.random.default_rng(seed)
    A = rng.dirichlet(np.full(n_states, 0.1), size=n_states) * 0.2 + 0.8 * np.eye(n_states)
    mu = 3.0 * rng.standard_normal((n_states, dim))
    sd = np.sqrt(rng.uniform(0.3, 1.5, (n_states, dim)))
    cum = np.cumsum(A, axis=1)
    seqs = []
    for _ in range(-(-n_frames // seq_len)):
        s = np.empty(seq_len, dtype=np.int64)
        s[0] = rng.integers(n_states)
        for t, u in enumerate(rng.random(seq_len - 1), start=1):
            s[t] = min(np.searchsorted(cum[s[t - 1]], u * cum[s[t - 1], -1]), n_states - 1)
        seqs.append(mu[s] + sd[s] * rng.standard_normal((seq_len, dim)))
    return seqs


def em_flops(n_frames: int, n_states: int, dim: int, covariance_type: str) -> float:
    """Floating-point operations of one EM iteration's matrix products (torch backend's algorithm).

    Forward, backward and the transition statistics: ``3 x 2 N K^2``. Diagonal emissions and
    statistics: four ``(N, D) x (D, K)`` products, ``8 N K D``. Full: two products with the packed
    second moments ``(N, D (D + 1) / 2) x (., K)``, ``4 N K D (D + 1) / 2`` (+ ``4 N K D`` first moments).
    """
    N, K, D = n_frames, n_states, dim
    recursion = 6.0 * N * K * K
    if covariance_type == "diag":
        return recursion + 8.0 * N * K * D
    return recursion + 4.0 * N * K * D * (D + 1) / 2 + 4.0 * N * K * D


def load_latents(path: str) -> list[np.ndarray]:
    """A run directory (its standardised training latents, what the prior is fitted on) or an npz
    with arrays ``Z (N, D)`` and ``lengths``."""
    if Path(path).is_dir():
        from seqgen.pipeline.run_dir import RunDir
        from seqgen.pipeline.latents import load_latents as run_latents
        from seqgen.pipeline.latents import standardise

        Z, lengths = standardise(run_latents(RunDir(path)), "train")
    else:
        with np.load(path, allow_pickle=False) as z:
            Z, lengths = z["Z"], z["lengths"]
    Z, lengths = np.asarray(Z, np.float64), np.asarray(lengths, np.int64)
    return np.split(Z, np.cumsum(lengths)[:-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latents", help="run directory, or npz with Z (N, D) and lengths (n_seq,); default: synthetic data")
    ap.add_argument("--states", type=int, default=300)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--backends", default="torch,hmmlearn,pomegranate", help="comma-separated")
    ap.add_argument("--covariance", default="diag", choices=("diag", "full"))
    ap.add_argument("--dim", type=int, default=80, help="synthetic data only")
    ap.add_argument("--frames", type=int, default=25_000, help="synthetic data only")
    ap.add_argument("--seq-len", type=int, default=100, help="synthetic data only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS / torch threads for every backend (1: fair to hmmlearn's serial C++, and "
                         "multi-threaded BLAS collapses on a CPU shared with other jobs; 0: the defaults)")
    args = ap.parse_args(argv)
    run_limited(args)


def run_limited(args) -> list[dict]:
    """:func:`run` under ``args.threads`` torch / BLAS threads (0 = leave the defaults)."""
    import torch
    from threadpoolctl import threadpool_limits

    if not args.threads:
        return run(args)
    n = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        with threadpool_limits(args.threads):
            return run(args)
    finally:
        torch.set_num_threads(n)


def run(args) -> list[dict]:
    import torch

    seqs = load_latents(args.latents) if args.latents else synthetic(args.states, args.dim, args.frames, args.seq_len, args.seed)
    n_frames = sum(len(s) for s in seqs)
    print(f"data: {'latents ' + args.latents if args.latents else 'synthetic HMM'}: {len(seqs)} sequences, "
          f"{n_frames} frames, D={seqs[0].shape[1]}; K={args.states}, {args.covariance} covariance, "
          f"{args.iters} EM iterations")
    print(f"host: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{torch.get_num_threads()} torch thread(s), load average before {os.getloadavg()[0]:.2f}")
    flops = em_flops(n_frames, args.states, seqs[0].shape[1], args.covariance)

    rows = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        h = HMMPrior(n_states=args.states, covariance_type=args.covariance, backend=backend, n_iter=args.iters,
                     tol=0.0, random_state=args.seed)
        t0 = time.perf_counter()
        h.fit(seqs, progress=True)
        total = time.perf_counter() - t0
        sec = float(np.mean(h.iter_seconds_))
        rows.append(dict(backend=backend, covariance=args.covariance, sec=sec, iters=len(h.iter_seconds_),
                         init=total - sum(h.iter_seconds_), score=h.score(seqs), history=list(map(float, h.history_)),
                         gflops=flops / sec / 1e9, note=h.backend_note_, reseeded=h.n_reseeded_,
                         load=os.getloadavg()[0], frames=n_frames, states=args.states, dim=seqs[0].shape[1],
                         threads=torch.get_num_threads()))
        print(f"  {backend}: {sec:.2f} s/iter, {rows[-1]['gflops']:.1f} GFLOP/s, final {rows[-1]['score']:.6f} "
              f"nats/frame", flush=True)

    ref = next((r["sec"] for r in rows if r["backend"] == "hmmlearn"), None)
    print()
    print("| backend | s / EM iter | x hmmlearn | GFLOP/s | iters | init + setup s | final log-lik / frame | re-seeded "
          "| load | notes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        r["x_hmmlearn"] = ref / r["sec"] if ref else None
        ratio = f"{r['x_hmmlearn']:.3g}" if ref else "-"
        print(f"| {r['backend']} | {r['sec']:.3f} | {ratio} | {r['gflops']:.2f} | {r['iters']} | {r['init']:.1f} | "
              f"{r['score']:.6f} | {r['reseeded']} | {r['load']:.1f} | {r['note']} |")
    return rows


if __name__ == "__main__":
    main()
