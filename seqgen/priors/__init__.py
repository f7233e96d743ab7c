"""Latent priors behind one interface (built-ins are registered lazily in seqgen.registry)."""
from ..registry import PRIORS
from .base import Prior, as_sequences, concat, register_prior

__all__ = ["PRIORS", "Prior", "as_sequences", "concat", "register_prior"]
