"""Where one EM iteration of the torch diagonal HMM backend spends its time, part by part.

    python benchmarks/hmm_em_parts.py [--states 300] [--dim 80] [--frames 25000] [--threads 0]

Times, summed over the backend's chunks, the parts of :meth:`seqgen.priors.hmm_torch.TorchBackend.em_step`
on the synthetic sticky-HMM data of ``hmm_backends.py`` (same k-means initialisation): the emission
log-densities (:func:`~seqgen.priors.hmm_torch.log_emission`), the forward recursion (Rabiner eqs. 18-20),
the backward recursion with the posteriors and the transition statistics (eqs. 23-25, 37-38), the emission
statistics (``gamma^T X``, ``gamma^T X^2``) and the M-step. Each part's model FLOP count
(:func:`part_flops`) over its time gives its GFLOP/s. The median of ``--repeats`` passes.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

#: the parts of one EM iteration, in order
PARTS = ("emission", "forward", "backward + posteriors", "emission statistics", "M-step")


def part_flops(n_frames: int, n_states: int, dim: int) -> dict[str, float]:
    """Model FLOPs of each part (the matrix products; :func:`hmm_backends.em_flops` is their sum):
    emission two ``(N, D) x (D, K)`` products, forward one ``(B, K) x (K, K)`` per frame, backward one more
    plus the ``(K, N) x (N, K)`` transition statistics, emission statistics two ``(K, N) x (N, D)``."""
    N, K, D = n_frames, n_states, dim
    return {"emission": 4.0 * N * K * D, "forward": 2.0 * N * K * K, "backward + posteriors": 4.0 * N * K * K,
            "emission statistics": 4.0 * N * K * D, "M-step": 0.0}


def _fitted_backend(states: int, dim: int, frames: int, seed: int, seq_len: int):
    """``hmm_backends.py``'s synthetic data, a prior after k-means init + one EM iteration (the parameters
    every part is timed at) and the torch backend on the data; returns ``(seqs, prior, backend)``."""
    from hmm_backends import synthetic
    from seqgen.priors.hmm import HMMPrior
    from seqgen.priors.hmm_torch import TorchBackend

    seqs = synthetic(states, dim, frames, seq_len, seed)
    prior = HMMPrior(n_states=states, covariance_type="diag", backend="torch", n_iter=1, tol=0.0, random_state=seed)
    prior.fit(seqs)
    return seqs, prior, TorchBackend(prior, seqs)


def em_parts(states: int, dim: int, frames: int, seed: int = 0, repeats: int = 3, seq_len: int = 100) -> list[dict]:
    """Per-part seconds of one diagonal EM iteration (median of ``repeats``) under the current thread settings."""
    import torch

    from seqgen.priors.hmm_torch import _flush_denormals, _serial, _to_torch, forward_backward, log_emission

    seqs, prior, be = _fitted_backend(states, dim, frames, seed, seq_len)
    params = prior.params
    times = {p: [] for p in PARTS}
    for _ in range(repeats):
        acc = dict.fromkeys(PARTS, 0.0)
        stats = None
        with _flush_denormals():
            for Xc, lengths in be.chunks:
                t0 = time.perf_counter()
                p = _to_torch(params, be.shift, be.device, torch.float64)
                r = {k: None if v is None else v.to(be.dtype) for k, v in p.items()}
                logB = log_emission(Xc, p["mu"], p["var"])
                t1 = time.perf_counter()
                forward_backward(logB, lengths, r["pi"], r["A"], r["e"], posteriors=False)
                t2 = time.perf_counter()
                with _serial(be.device):
                    loglik, gamma, xi = forward_backward(logB, lengths, r["pi"], r["A"], r["e"])
                t3 = time.perf_counter()
                s = be.summarize(params, (Xc, lengths))  # the whole E-step of the chunk, statistics included
                t4 = time.perf_counter()
                stats = s if stats is None else stats + s
                acc["emission"] += t1 - t0
                acc["forward"] += t2 - t1
                acc["backward + posteriors"] += (t3 - t2) - (t2 - t1)
                # summarize = emission + forward-backward + statistics: the statistics are what it adds
                acc["emission statistics"] += max((t4 - t3) - (t3 - t2) - (t1 - t0), 0.0)
        t5 = time.perf_counter()
        be.m_step(stats)
        acc["M-step"] = time.perf_counter() - t5
        for k, v in acc.items():
            times[k].append(v)
    flops = part_flops(sum(len(s) for s in seqs), states, dim)
    sec = {k: float(np.median(v)) for k, v in times.items()}
    total = sum(sec.values())
    return [{"part": k, "sec": sec[k], "share": sec[k] / total, "gflop": flops[k] / 1e9,
             "gflops": flops[k] / sec[k] / 1e9 if sec[k] > 0 else 0.0, "states": states, "dim": dim,
             "frames": sum(len(s) for s in seqs), "threads": torch.get_num_threads(), "load": os.getloadavg()[0]}
            for k in PARTS]


def exp_paths(states: int, dim: int, frames: int, seed: int = 0, rounds: int = 5, seq_len: int = 100) -> dict:
    """Seconds of the forward pass's scaled emissions ``b = exp(log b - max log b)`` over all chunks, the
    previous way (``exp`` of every difference, then ``where``) and now (``exp`` of the differences clamped at
    the underflow floor: the same values), interleaved ``rounds`` times; medians, and the largest difference."""
    import math

    import torch

    from seqgen.priors.hmm_torch import _to_torch, log_emission

    _, prior, be = _fitted_backend(states, dim, frames, seed, seq_len)
    p = _to_torch(prior.params, be.shift, be.device, torch.float64)
    diffs = []
    for Xc, _ in be.chunks:
        logB = log_emission(Xc, p["mu"], p["var"])
        diffs.append(logB - logB.amax(-1, keepdim=True))
    floor = math.log(torch.finfo(torch.float32).tiny) + 1.0
    ways = {"exp of every difference (before)": lambda d: torch.where(d > floor, torch.exp(d), 0.0).float(),
            "exp of the clamped difference (now)": lambda d: torch.where(d > floor, torch.exp(d.clamp_min(floor)),
                                                                         0.0).float()}
    times = {k: [] for k in ways}
    for _ in range(rounds):
        for name, f in ways.items():
            t0 = time.perf_counter()
            out = [f(d) for d in diffs]
            times[name].append(time.perf_counter() - t0)
    same = max(float((a(d) - b(d)).abs().max()) for d in diffs for a, b in [tuple(ways.values())])
    return {"sec": {k: float(np.median(v)) for k, v in times.items()}, "max_abs_diff": same}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--states", type=int, default=300)
    ap.add_argument("--dim", type=int, default=80)
    ap.add_argument("--frames", type=int, default=25_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = the defaults)")
    args = ap.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = em_parts(args.states, args.dim, args.frames, repeats=args.repeats)
    for r in rows:
        print(f"{r['part']:>22}: {r['sec']:.3f} s ({100 * r['share']:.0f} %), {r['gflops']:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
