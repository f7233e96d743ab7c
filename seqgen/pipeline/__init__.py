"""The stages every modality shares (data, codec, encode, prior, generate, report, eval), re-runnable."""
from .generate import Generator
from .run_dir import RunDir
from .train import fit_prior, train

__all__ = ["Generator", "RunDir", "fit_prior", "train"]
