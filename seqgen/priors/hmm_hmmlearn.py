"""Adapter running one hmmlearn Baum-Welch iteration (GaussianHMM, or GMMHMM for mixtures) at a time."""
from __future__ import annotations

import logging

import numpy as np

from .base import concat
from .hmm import EMBackend


class HmmlearnBackend(EMBackend):
    """One ``fit(n_iter=1, init_params="")`` per EM step, parameters copied in and out.

    Priors are set so hmmlearn's M-step is the same MAP estimate as seqgen's: a Dirichlet of
    ``1 + transmat_prior`` on start / transition rows, flat priors on means and covariances
    (hmmlearn's defaults add ``covars_prior=1e-2`` to GaussianHMM variances and use non-flat
    GMMHMM priors). ``implementation="scaling"`` is ~3x faster than "log" but exponentiates the
    raw log-densities, which underflow for 80-dim emissions ("forward pass failed with
    underflow"): the adapter then switches to "log" for the rest of the fit.
    """

    def __init__(self, prior, seqs):
        super().__init__(prior, seqs)
        self.X, self.lengths = concat(seqs)
        self.implementation = "scaling"
        self.fallbacks = 0

    def _model(self):
        from hmmlearn import hmm

        pr = self.prior
        D = self.X.shape[1]
        common = dict(
            n_components=pr.n_states, covariance_type=pr.covariance_type, min_covar=pr.min_covar,
            startprob_prior=1.0 + pr.transmat_prior, transmat_prior=1.0 + pr.transmat_prior,
            means_prior=0.0, means_weight=0.0, n_iter=1, tol=0.0, init_params="",
            implementation=self.implementation, random_state=pr.random_state,
        )
        if pr.n_mix == 1:
            # diag: c_d = max(covars_weight - 1, 0) + post; full: max(covars_weight - D, 0) + post
            return hmm.GaussianHMM(covars_prior=0.0, covars_weight=1.0, params="stmc", **common)
        # GMMHMM (Huang et al. priors): diag c_d = post + 1 + 2 (alpha + 1), full c_d = post + nu + D + 2
        cp, cw = (-1.5, 0.0) if pr.covariance_type == "diag" else (0.0, -(D + 2.0))
        return hmm.GMMHMM(n_mix=pr.n_mix, weights_prior=1.0, covars_prior=cp, covars_weight=cw,
                          params="stmcw", **common)

    def em_step(self, params):
        while True:
            model = self._model()
            model.startprob_ = params["startprob"]
            model.transmat_ = params["transmat"]
            model.means_ = params["means"]
            model.covars_ = params["covars"]
            if "weights" in params:
                model.weights_ = params["weights"]
            try:
                with np.errstate(all="ignore"), _quiet_hmmlearn():
                    model.fit(self.X, self.lengths)
            except (ValueError, RuntimeError) as e:
                if "underflow" in str(e) and self.implementation == "scaling":
                    self.implementation, self.fallbacks = "log", self.fallbacks + 1
                    continue
                raise
            break
        out = {"startprob": model.startprob_, "transmat": model.transmat_, "means": model.means_,
               "covars": _covars(model)}
        if "weights" in params:
            out["weights"] = model.weights_
        return {k: np.array(v, dtype=np.float64) for k, v in out.items()}, float(model.monitor_.history[-1]), None

    def describe(self):
        note = f"hmmlearn implementation={self.implementation!r}"
        return note + (" (fell back from 'scaling' after an underflow)" if self.fallbacks else "")


def _covars(model) -> np.ndarray:
    # GaussianHMM.covars_ expands diag to full matrices; the stored _covars_ keeps (K, D).
    if type(model).__name__ == "GaussianHMM" and model.covariance_type == "diag":
        return model._covars_
    return model.covars_


class _quiet_hmmlearn:
    """Silence hmmlearn's per-fit convergence chatter (one fit per EM step would spam the log)."""

    def __enter__(self):
        self.log = logging.getLogger("hmmlearn.base")
        self.level = self.log.level
        self.log.setLevel(logging.ERROR)

    def __exit__(self, *exc):
        self.log.setLevel(self.level)
