"""seqgen: generative models whose latent prior is learned (Subakan et al.)."""
__version__ = "0.1.0"
