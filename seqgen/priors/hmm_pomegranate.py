"""Adapter running pomegranate 1.x ``DenseHMM`` E-steps (diagonal ``Normal`` states) for seqgen's EM."""
from __future__ import annotations

import numpy as np

from .hmm import DiagStats, EMBackend, m_step_diag

#: bytes allowed for DenseHMM.forward_backward's (n_seq, T-1, K, K) float32 transition tensor
CHUNK_BYTES = 1 << 28


class PomegranateBackend(EMBackend):
    """pomegranate does the E-step (``summarize``); seqgen does the M-step from its statistics.

    Traps of pomegranate 1.1.2 worked around here (``tests/test_prior_hmm.py`` checks each):

    * float32 only (float64 parameters fail inside ``dense_hmm.py``), and diagonal ``Normal``
      accumulates ``sum w x^2`` so ``E[x^2] - E[x]^2`` cancels catastrophically in float32 ->
      the data are standardised per dimension before they reach pomegranate and the statistics
      mapped back (``obs = s * obs'``, ``obs2 = s^2 * obs2'``, ``log p = log p' - T sum log s``);
    * ``from_summaries`` ignores ``min_cov`` and learns exit probabilities that make transition
      rows sum to less than one -> seqgen's own :func:`~seqgen.priors.hmm.m_step_diag`; with
      ``end_prob=False`` the ends are set to ``log 1 = 0`` so the backward pass starts at
      ``beta_T = 1`` and the likelihood has no end term (pomegranate's default ``1/K`` adds
      ``log(1/K)`` per sequence);
    * its k-means initialisation can crash on an empty cluster -> parameters are always given;
    * one ``forward_backward`` allocates ``(n_seq, T-1, K, K)`` (~1.2 GB for 100 sequences at
      K=300) -> sequences are fed in chunks of at most ``CHUNK_BYTES``;
    * ``Normal.sample`` passes variances as standard deviations and ``DenseHMM.sample`` calls
      ``.numpy()`` (fails on GPU) -> never used; seqgen samples from the fitted arrays.
    """

    def __init__(self, prior, seqs, chunk_bytes: int = CHUNK_BYTES):
        super().__init__(prior, seqs)
        import torch

        self.torch = torch
        self.device = torch.device(prior.device)
        X = np.concatenate(seqs)
        self.shift = X.mean(0)
        scale = X.std(0)
        self.scale = np.where(scale > 1e-12 * max(1.0, np.abs(X).max()), scale, 1.0)
        self.log_scale = float(np.log(self.scale).sum())
        K = prior.n_states
        by_len: dict[int, list[np.ndarray]] = {}
        for s in seqs:
            by_len.setdefault(len(s), []).append((s - self.shift) / self.scale)
        self.chunks = []
        for T, group in sorted(by_len.items()):
            per_seq = max(1, (T - 1) * K * K * 4)
            n = max(1, chunk_bytes // per_seq)
            for i in range(0, len(group), n):
                arr = np.stack(group[i : i + n]).astype(np.float32)
                self.chunks.append(torch.as_tensor(arr, device=self.device))

    def _model(self, params: dict):
        from pomegranate._utils import _cast_as_parameter
        from pomegranate.distributions import Normal
        from pomegranate.hmm import DenseHMM

        torch = self.torch
        f32 = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=self.device)  # noqa: E731
        mu = (params["means"] - self.shift) / self.scale
        var = params["covars"] / self.scale**2
        dists = [Normal(means=f32(m), covs=f32(v), covariance_type="diag") for m, v in zip(mu, var)]
        model = DenseHMM(dists, edges=f32(params["transmat"]))
        # starts / ends set after construction: pomegranate's float32 "sums to 1" check at
        # 1e-6 rejects honest K=300 probability vectors.
        e = params.get("endprob")
        with np.errstate(divide="ignore"):
            model.starts = _cast_as_parameter(torch.log(f32(params["startprob"])))
            model.ends = _cast_as_parameter(torch.log(f32(e)) if e is not None else f32(np.zeros(len(mu))))
        model.distributions = torch.nn.ModuleList(dists)
        model._initialized = True
        model._reset_cache()
        return model.to(self.device)

    def em_step(self, params):
        torch = self.torch
        model = self._model(params)
        loglik = 0.0
        with torch.no_grad():
            for x in self.chunks:
                loglik += float(model.summarize(x).double().sum()) - x.shape[0] * x.shape[1] * self.log_scale
        np64 = lambda t: t.detach().double().cpu().numpy()  # noqa: E731
        d = model.distributions
        # Normal keeps per-dimension weight sums; every dimension has the same weights
        post = np.array([np64(n._w_sum)[0] for n in d])
        obs = np.stack([np64(n._xw_sum) for n in d]) * self.scale
        obs2 = np.stack([np64(n._xxw_sum) for n in d]) * self.scale**2
        stats = DiagStats(
            start=np64(model._xw_starts_sum), trans=np64(model._xw_sum), end=np64(model._xw_ends_sum),
            post=post, obs=obs, obs2=obs2, shift=self.shift, loglik=loglik,
        )
        pr = self.prior
        new, occupancy = m_step_diag(stats, pr.transmat_prior, pr.min_covar, pr.end_prob)
        return new, loglik, occupancy

    def describe(self):
        return f"pomegranate DenseHMM float32 on {self.device}, {len(self.chunks)} chunk(s)"
