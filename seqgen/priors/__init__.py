"""Latent priors behind one interface. Built-ins are registered lazily (imported on first use)."""
from ..registry import PRIORS
from .base import Prior, as_sequences, concat, register_prior

for _name, _target in {
    "gaussian": "seqgen.priors.gaussian:GaussianPrior",
    "gmm": "seqgen.priors.gmm:GMMPrior",
    "hmm": "seqgen.priors.hmm:HMMPrior",
    "ar": "seqgen.priors.ar:ARPrior",
    "lde": "seqgen.priors.lde:LDEPrior",
}.items():
    PRIORS.register_lazy(_name, _target)

__all__ = ["PRIORS", "Prior", "as_sequences", "concat", "register_prior"]
