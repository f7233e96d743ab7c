"""seqgen: generative models whose latent prior is learned (Subakan et al.).

The API (the CLI calls the same functions; importing seqgen imports no torch until one is used)::

    seqgen.train(recipe, out=None, overrides=[...], data=None, ...) -> Run
    seqgen.load_run(path, prior=None, digit=None, device="cpu") -> Run
    Run.generate(count=None, seconds=None, out=None, out_dir=None, seed=None, temperature=None)
    Run.report(out=None) -> path of index.html
"""
__version__ = "0.1.0"
__all__ = ["train", "load_run", "Run", "__version__"]


def __getattr__(name):  # lazy: `import seqgen` stays light (the CLI's --help imports no torch)
    if name in ("train", "load_run", "Run"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'seqgen' has no attribute {name!r}")
