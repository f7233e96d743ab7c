"""seqgen's own batched Baum-Welch for diagonal Gaussian HMMs in PyTorch (CPU or CUDA)."""
from __future__ import annotations

import math

import numpy as np
import torch

from .hmm import DiagStats, EMBackend, m_step_diag
from .hmm_distributed import all_reduce_stats, process_group, shard

#: padded frames per chunk of sequences: bounds memory (~8 tensors of chunk x K) and keeps
#: float32 partial sums short before they are accumulated in float64 across chunks
CHUNK_FRAMES = 1 << 13
#: dtype of the forward-backward recursion (emissions, statistics and log-likelihood are float64)
RECURSION_DTYPE = torch.float32


def _pack(seqs: list[np.ndarray], shift: np.ndarray, device, chunk_frames: int = CHUNK_FRAMES):
    """Sequences sorted by length, cut into chunks and padded time-major: ``[(Xc (T, B, D), lengths (B,))]``.

    Sorting first keeps the padding small when lengths vary.
    """
    order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
    chunks, i = [], 0
    while i < len(order):
        T = len(seqs[order[i]])
        B = max(1, chunk_frames // T)
        idx = order[i : i + B]
        Xc = np.zeros((T, len(idx), seqs[0].shape[1]))
        for b, j in enumerate(idx):
            Xc[: len(seqs[j]), b] = seqs[j] - shift
        lengths = torch.tensor([len(seqs[j]) for j in idx], device=device)
        chunks.append((torch.as_tensor(Xc, device=device), lengths))
        i += B
    return chunks


def _to_torch(params: dict, shift: np.ndarray, device, dtype) -> dict:
    t = lambda a: torch.as_tensor(np.asarray(a), dtype=dtype, device=device)  # noqa: E731
    out = {"pi": t(params["startprob"]), "A": t(params["transmat"]), "var": t(params["covars"]),
           "mu": t(params["means"] - shift)}
    out["e"] = t(params["endprob"]) if params.get("endprob") is not None else None
    return out


def log_emission(Xc: torch.Tensor, mu: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """Diagonal Gaussian log-densities ``(..., K)`` of ``Xc (..., D)`` as two matrix products:
    ``-0.5 (x^2 . 1/s^2 - 2 x . mu/s^2 + sum mu^2/s^2 + sum log s^2 + D log 2 pi)``.
    ``Xc`` and ``mu`` are centred on the data mean (the expansion cancels badly far from 0).
    The constant term rides in the first product's accumulator and the rest is done in place (``addmm``),
    so the ``(..., K)`` result is written by the two products and read once more, not once per term."""
    prec = 1.0 / var
    X = Xc.reshape(-1, Xc.shape[-1])
    q = torch.addmm((mu * mu * prec).sum(1).expand(len(X), -1), X * X, prec.T)
    q = torch.addmm(q, X, (mu * prec).T, alpha=-2.0)
    const = Xc.shape[-1] * math.log(2 * math.pi) + torch.log(var).sum(1)
    return q.clamp_min_(0.0).add_(const).mul_(-0.5).view(*Xc.shape[:-1], -1)


def forward_backward(logB: torch.Tensor, lengths: torch.Tensor, pi, A, e=None, posteriors: bool = True):
    """:func:`_forward_backward` with one intra-op thread on the CPU (see :class:`_serial`)."""
    with _serial(logB.device):
        return _forward_backward(logB, lengths, pi, A, e, posteriors)


def _forward_backward(logB: torch.Tensor, lengths: torch.Tensor, pi, A, e=None, posteriors: bool = True):
    """Scaled forward-backward on a padded batch ``logB (T, B, K)`` (Rabiner eqs. 18-25, 91-97).

    ``b_t = exp(log b_t - max_k log b_t)``; ``alpha_t = (alpha_{t-1} A) * b_t / c_t`` with ``c_t``
    its sum; ``beta_t = A (b_{t+1} * beta_{t+1}) / c_{t+1}`` from ``beta_T = 1`` (or, with exits,
    ``e / (alpha_T . e)``). Then ``gamma_t = alpha_t * beta_t`` and
    ``sum_t xi_t = A * sum_t alpha_t^T (b_{t+1} * beta_{t+1} / c_{t+1})`` - one matrix product.
    ``log p = sum_t (log c_t + max_k log b_t) [+ log alpha_T . e]``.

    The recursion runs in the dtype of ``A`` (float32 is 2x faster and safe here: every
    quantity is normalised to <= 1 per frame, exp underflow is flushed to exact 0 instead of
    slow denormals, beta is capped, and pseudo-counts keep ``c_t > 0``); ``logB`` and the
    returned log-likelihood stay float64.

    Returns ``loglik (B,)`` float64 and, with ``posteriors``, ``gamma (T, B, K)`` (zero on
    padding) and ``xi_sum (K, K)`` in the recursion dtype.
    """
    T, B, K = logB.shape
    dt = A.dtype
    steps = torch.arange(T, device=logB.device)[:, None]
    valid = steps < lengths[None]  # (T, B)
    is_last = steps == (lengths - 1)[None]
    logB = logB.masked_fill(~valid[..., None], 0.0)
    m = logB.amax(-1, keepdim=True)
    d = logB - m
    floor = math.log(torch.finfo(dt).tiny) + 1.0
    # exp of the clamped difference: the same values where kept, but libm's exp takes a ~7x slower path on
    # arguments far below its underflow point (most states of most frames), which made this line alone
    # cost more than the whole forward recursion (benchmarks/README.md, HMM EM parts)
    b = torch.where(d > floor, torch.exp(d.clamp_min(floor)), 0.0).to(dt)
    tiny = torch.finfo(dt).tiny
    alpha = torch.empty_like(b)
    c = torch.empty(T, B, dtype=dt, device=b.device)
    a = pi * b[0]
    for t in range(T):
        if t:
            a = (alpha[t - 1] @ A) * b[t]
        c[t] = a.sum(-1).clamp_min(tiny)
        alpha[t] = a / c[t, :, None]
    if dt != torch.float64:  # filtered probabilities far below the best one: exact 0, not denormals
        alpha = torch.where(alpha > 1e-30, alpha, 0.0)
    loglik = torch.where(valid, torch.log(c.double()) + m[..., 0], 0.0).sum(0)
    alpha_T = alpha[lengths - 1, torch.arange(B, device=b.device)]
    if e is not None:
        pe = (alpha_T @ e).clamp_min(tiny)
        loglik = loglik + torch.log(pe.double())
        beta_T = e / pe[:, None]
    else:
        beta_T = torch.ones(B, K, dtype=dt, device=b.device)
    if not posteriors:
        return loglik
    # beta can exceed the float range where alpha ~ 0 (a state that explains the future far
    # better than the past); gamma = 0 * inf would be NaN, so cap it: the product stays ~0.
    big = torch.finfo(dt).max ** 0.5
    beta = torch.empty_like(b)
    ones = torch.ones(B, K, dtype=dt, device=b.device)
    beta[T - 1] = torch.where(is_last[T - 1, :, None], beta_T, ones)
    At = A.T.contiguous()
    for t in range(T - 2, -1, -1):
        r = (((b[t + 1] * beta[t + 1]) @ At) / c[t + 1, :, None]).clamp_max(big)
        beta[t] = torch.where(is_last[t, :, None], beta_T, torch.where(valid[t + 1, :, None], r, ones))
    gamma = alpha * beta * valid[..., None]
    gamma = gamma / gamma.sum(-1, keepdim=True).clamp_min(tiny)
    P = (alpha[:-1] * valid[1:, :, None]).reshape(-1, K)
    Q = (b[1:] * beta[1:] / c[1:, :, None]).reshape(-1, K)
    xi_sum = A * (P.T @ Q)
    return loglik, gamma, xi_sum


class _serial:
    """One intra-op thread on the CPU for the forward-backward pass.

    Its work is ~20 small kernels per time step on ``(B, K)`` blocks plus elementwise passes over
    ``(T, B, K)``; threads cost more in synchronisation than they save, and two traps make them far
    slower: :class:`_flush_denormals` sets the flush-to-zero flag of the *calling* thread only, so
    OpenMP workers still take the ~100x slow path on subnormal probabilities, and on a CPU shared with
    other processes every step waits for the slowest, descheduled thread. Measured at K = 300, 25k
    frames, torch's default 2 threads on a loaded 2-core machine: 4.1-6.2 s per diagonal E-step,
    1.3-1.5 s with this pass serial. The emission and statistics products (large GEMMs) keep the
    default threads.
    """

    def __init__(self, device: torch.device):
        self.cpu = device.type == "cpu"

    def __enter__(self):
        if self.cpu:
            self.n = torch.get_num_threads()
            torch.set_num_threads(1)

    def __exit__(self, *exc):
        if self.cpu:
            torch.set_num_threads(self.n)


class _flush_denormals:
    """Treat subnormal floats as 0 on the CPU during the E-step.

    Probabilities far below a frame's best state drift into the subnormal range, where x86
    arithmetic is ~100x slower: it made the float32 recursion 4x *slower* than float64. Their
    contribution is < 1e-38 relative, so flushing them changes nothing measurable. (torch offers
    no getter for the flag; it is restored to the default, off.)
    """

    def __enter__(self):
        torch.set_flush_denormal(True)

    def __exit__(self, *exc):
        torch.set_flush_denormal(False)


class TorchBackend(EMBackend):
    """Batched EM (summarize chunks of padded sequences -> :func:`~seqgen.priors.hmm.m_step_diag`).

    Emission log-densities, sufficient statistics and log-likelihoods are float64 (a plain float32
    version once produced NaN: its emission quadratic cancels); only the normalised recursion
    runs in ``dtype`` (float32 by default, see :func:`forward_backward`).
    """

    def __init__(self, prior, seqs, dtype: torch.dtype = RECURSION_DTYPE, chunk_frames: int = CHUNK_FRAMES):
        super().__init__(prior, seqs)
        self.device = torch.device(prior.device)
        self.dtype = dtype
        self.shift = np.concatenate(seqs).mean(0)  # of all the data: the same on every rank
        self.rank, self.world = process_group()
        self.chunks = _pack(shard(seqs, self.rank, self.world), self.shift, self.device, chunk_frames)

    def summarize(self, params: dict, chunk) -> DiagStats:
        """Sufficient statistics of one chunk under ``params`` (the E-step)."""
        Xc, lengths = chunk
        p = _to_torch(params, self.shift, self.device, torch.float64)
        r = {k: None if v is None else v.to(self.dtype) for k, v in p.items()}
        loglik, gamma, xi = forward_backward(log_emission(Xc, p["mu"], p["var"]), lengths, r["pi"], r["A"], r["e"])
        K, D = gamma.shape[-1], Xc.shape[-1]
        g = gamma.reshape(-1, K).to(torch.float64)
        X = Xc.reshape(-1, D).to(torch.float64)
        B = torch.arange(len(lengths), device=self.device)
        np64 = lambda t: t.to(torch.float64).cpu().numpy()  # noqa: E731
        return DiagStats(
            start=np64(gamma[0].sum(0)), trans=np64(xi), end=np64(gamma[lengths - 1, B].sum(0)),
            post=np64(g.sum(0)), obs=np64(g.T @ X), obs2=np64(g.T @ (X * X)),
            shift=self.shift, loglik=float(loglik.sum()),
        )

    def em_step(self, params):
        stats = None
        with _flush_denormals():
            for chunk in self.chunks:
                s = self.summarize(params, chunk)
                stats = s if stats is None else stats + s
        if self.world > 1:  # data-parallel: sum the shards' statistics (hmm_distributed)
            stats = all_reduce_stats(stats, self.device)
        new, occupancy = self.m_step(stats)
        return new, stats.loglik, occupancy

    def m_step(self, stats: DiagStats):
        pr = self.prior
        return m_step_diag(stats, pr.transmat_prior, pr.min_covar, pr.end_prob)

    def describe(self):
        note = f"torch {self.device} {str(self.dtype).removeprefix('torch.')}, {len(self.chunks)} chunk(s)"
        return note + (f" on rank {self.rank} of {self.world}" if self.world > 1 else "")


def torch_log_prob(params: dict, seqs: list[np.ndarray], device: str = "cpu", dtype=torch.float64) -> np.ndarray:
    """Per-sequence log-likelihood by the torch forward pass (diag emissions, recursion in ``dtype``); ``(n_seq,)``.

    The reference scorer is :func:`seqgen.priors.hmm.forward` (numpy); this is the E-step's own
    forward, exposed so tests can check the two agree.
    """
    shift = np.concatenate(seqs).mean(0)
    order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
    out = np.empty(len(seqs))
    p = _to_torch(params, shift, torch.device(device), torch.float64)
    r = {k: None if v is None else v.to(dtype) for k, v in p.items()}
    done = 0
    for Xc, lengths in _pack(seqs, shift, torch.device(device)):
        ll = forward_backward(log_emission(Xc, p["mu"], p["var"]), lengths, r["pi"], r["A"], r["e"], posteriors=False)
        out[order[done : done + len(lengths)]] = ll.to(torch.float64).cpu().numpy()
        done += len(lengths)
    return out
