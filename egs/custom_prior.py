"""Worked example: write your own latent prior (a multivariate Student-t), register it, compare, sample, save, load.

    python egs/custom_prior.py                                   # synthetic heavy-tailed latents
    python egs/custom_prior.py --latents runs/fsdd/latents.npz   # latents of a `seqgen train` run, e.g.
                                                                 # seqgen train spoken_digits --out runs/fsdd

A prior is a subclass of ``seqgen.priors.Prior`` implementing five hooks: ``_fit``,
``_log_prob_frames`` (frames i.i.d.; or ``_log_prob_sequences`` for priors with memory), ``_sample``,
``state_dict`` and ``load_state_dict``. ``@register_prior("student_t")`` makes it a registry name, so a
recipe can say ``prior.type = "student_t"`` once the module is imported, or name it by dotted path
(``prior.type = "mypkg.priors:StudentTPrior"``), which registers it for that process. Saved priors store
only plain arrays; loading never imports a module a file names, so register the class (import it, or
install it as a ``seqgen.priors`` entry point) before ``Prior.load``. ``check_state`` may add checks of the
loaded arrays (the default refuses NaN, Inf and absurd magnitudes).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from scipy.linalg import cholesky, solve_triangular
from scipy.optimize import minimize_scalar
from scipy.special import gammaln, ndtr
from scipy.stats import chi2

from seqgen.priors import PRIORS, Prior, register_prior


@register_prior("student_t")
class StudentTPrior(Prior):
    """``z_t ~ t_nu(mu, Sigma)`` i.i.d.: a Gaussian with a Gamma-distributed precision scale per frame.

    Heavier tails than N(mu, Sigma) (the paper's fixed base): a few outlying latents (loud onsets,
    odd images) no longer inflate Sigma for everyone. Fitted by ECME (Liu & Rubin 1995): EM for mu,
    Sigma with frame weights ``w = (nu + D) / (nu + delta)`` (delta = Mahalanobis distance), and nu by
    1-D maximisation of the exact log-likelihood unless ``dof`` is fixed.
    """

    iid_frames = True

    def __init__(self, dof: float | None = None, max_iter: int = 200, tol: float = 1e-7, reg_covar: float = 1e-6):
        if dof is not None and not dof > 0:
            raise ValueError(f"dof must be > 0 or None (estimated), got {dof}")
        if int(max_iter) < 1 or not tol > 0 or not reg_covar >= 0:
            raise ValueError("need max_iter >= 1, tol > 0, reg_covar >= 0")
        self.dof, self.max_iter, self.tol, self.reg_covar = dof, int(max_iter), float(tol), float(reg_covar)

    # log t_nu(x; mu, S) = lgamma((nu+D)/2) - lgamma(nu/2) - D/2 log(nu pi) - 1/2 log|S| - (nu+D)/2 log(1 + delta/nu)
    def _log_pdf(self, delta, nu, log_det):
        D = self.dim_
        return (gammaln((nu + D) / 2) - gammaln(nu / 2) - D / 2 * np.log(nu * np.pi) - log_det / 2
                - (nu + D) / 2 * np.log1p(delta / nu))

    def _mahalanobis(self, X, mean, chol):
        return (solve_triangular(chol, (X - mean).T, lower=True) ** 2).sum(0)

    def _fit(self, seqs, progress):
        X = np.concatenate(seqs)
        N, D = X.shape
        mean, cov = X.mean(0), np.cov(X.T, bias=True).reshape(D, D) + self.reg_covar * np.eye(D)
        nu = 10.0 if self.dof is None else float(self.dof)
        self.history_ = []
        for _ in range(self.max_iter):
            chol = cholesky(cov, lower=True)
            log_det = 2 * np.log(np.diag(chol)).sum()
            delta = self._mahalanobis(X, mean, chol)
            self.history_.append(self._log_pdf(delta, nu, log_det).mean())
            if len(self.history_) > 1 and self.history_[-1] - self.history_[-2] < self.tol:
                break
            w = (nu + D) / (nu + delta)  # E[precision scale | x]: outliers get small weights
            mean = w @ X / w.sum()
            Xc = X - mean
            cov = (w[:, None] * Xc).T @ Xc / N + self.reg_covar * np.eye(D)
            if self.dof is None:  # ECME step: nu maximising the exact likelihood at the new mean, cov
                c = cholesky(cov, lower=True)
                d, ld = self._mahalanobis(X, mean, c), 2 * np.log(np.diag(c)).sum()
                nu = np.exp(minimize_scalar(lambda a: -self._log_pdf(d, np.exp(a), ld).mean(),
                                            bounds=(np.log(0.5), np.log(1e4)), method="bounded").x)
        self.history_ = np.asarray(self.history_)
        self._set(mean, cov, nu)

    def _set(self, mean, cov, nu):
        self.mean_, self.covariance_, self.dof_ = np.asarray(mean, float), np.asarray(cov, float), float(nu)
        self._chol = cholesky(self.covariance_, lower=True)
        self._log_det = 2 * np.log(np.diag(self._chol)).sum()

    def _log_prob_frames(self, x):
        return self._log_pdf(self._mahalanobis(x, self.mean_, self._chol), self.dof_, self._log_det)

    def _sample(self, lengths, rng, temperature):
        # x = mu + L e sqrt(nu / g), g ~ chi2_nu. Column 0 of one row-major (N, D+1) normal draw gives g
        # through the chi2 quantile, so frame n uses the same numbers however the frames are split into
        # sequences or stream blocks (the contract's block-size invariance).
        e = rng.standard_normal((sum(lengths), self.dim_ + 1))
        g = chi2.ppf(np.clip(ndtr(e[:, 0]), 1e-300, 1 - 1e-16), self.dof_)
        X = self.mean_ + temperature * (e[:, 1:] @ self._chol.T) * np.sqrt(self.dof_ / g)[:, None]
        return np.split(X, np.cumsum(lengths)[:-1])

    def state_dict(self):
        return {"mean_": self.mean_, "covariance_": self.covariance_, "dof_": np.array(self.dof_)}

    def load_state_dict(self, state):
        self._set(state["mean_"], state["covariance_"], float(state["dof_"]))


# ----------------------------------------------------------------------------- the example
def synthetic_latents(seed: int, D: int = 8):
    """Heavy-tailed (t, nu = 3) correlated latents in short sequences: train 40 x 50 frames, test 10 x 50."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((D, D)) / np.sqrt(D)
    def draw(n_seq):
        g = rng.chisquare(3.0, size=(n_seq * 50, 1))
        Z = (rng.standard_normal((n_seq * 50, D)) @ A.T) * np.sqrt(3.0 / g) + 1.0
        return Z, np.full(n_seq, 50)
    return draw(40), draw(10)


def load_run_latents(path: Path):
    """``latents.npz`` of a run: standardise both splits with the run's train statistics (as `seqgen` does).
    A missing or unreadable file ends the example with one line naming it."""
    if not path.is_file():
        raise SystemExit(f"error: --latents {path}: no such file; train a run first, e.g. "
                         f"`seqgen train spoken_digits --out {path.parent}`")
    try:
        with np.load(path, allow_pickle=False) as z:
            lat = {k: z[k] for k in z.files}
        missing = {"train", "test", "train_lengths", "test_lengths", "mean", "std"} - set(lat)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: --latents {path}: not a run's latents.npz ({e})") from None
    if missing:
        raise SystemExit(f"error: --latents {path}: not a run's latents.npz (no {', '.join(sorted(missing))})")
    std = lambda split: ((lat[split] - lat["mean"]) / lat["std"], lat[f"{split}_lengths"])
    return std("train"), std("test")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latents", type=Path, help="a run's latents.npz (default: synthetic latents)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gmm-components", type=int, default=8)
    ap.add_argument("--json", type=Path, help="also write the summary here")
    args = ap.parse_args(argv)

    (Z, lengths), (Zt, lt) = load_run_latents(args.latents) if args.latents else synthetic_latents(args.seed)
    print(f"latents: train {Z.shape} in {len(lengths)} sequences, test {Zt.shape} in {len(lt)}")

    # the registered name and a dotted path both find the class
    assert PRIORS.resolve("student_t") is StudentTPrior
    assert PRIORS.resolve(f"{__name__}:StudentTPrior") is StudentTPrior

    priors = {
        "gaussian": PRIORS.resolve("gaussian")(covariance_type="full"),
        "gmm": PRIORS.resolve("gmm")(n_components=min(args.gmm_components, len(Z)), random_state=args.seed),
        "student_t": PRIORS.resolve("student_t")(),
    }
    scores = {}
    for name, prior in priors.items():
        prior.fit(Z, lengths)
        scores[name] = prior.score(Zt, lt)  # held-out nats / frame
        print(f"{name:>10}: held-out log-likelihood {scores[name]:9.3f} nats/frame")
    t = priors["student_t"]
    print(f"student_t: estimated dof {t.dof_:.2f}, EM iterations {len(t.history_)}")

    samples = t.sample([5, 3], seed=args.seed)
    print("samples:", [s.shape for s in samples])

    with tempfile.TemporaryDirectory() as tmp:
        t.save(Path(tmp) / "student_t")
        back = Prior.load(Path(tmp) / "student_t")  # resolved through the registry: "student_t"
        same = bool(np.array_equal(back.log_prob(Zt, lt), t.log_prob(Zt, lt))
                    and all(np.array_equal(a, b) for a, b in zip(back.sample([5, 3], seed=args.seed), samples)))
    print(f"save/load round trip identical: {same}")

    summary = {"scores": scores, "dof": t.dof_, "sample_shapes": [list(s.shape) for s in samples],
               "roundtrip_identical": same, "dim": int(Z.shape[1])}
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
