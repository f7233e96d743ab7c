"""The Python API, the same calls the CLI makes.

    >>> import seqgen
    >>> run = seqgen.train("spoken_digits", "runs/digits", overrides=["train.epochs=3"])
    >>> wavs = seqgen.load_run("runs/digits").generate(count=4, out_dir="out/")   # files
    >>> clips = seqgen.load_run("runs/digits").generate(count=4)                  # arrays
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def train(recipe: str | Path, out: str | Path | None = None, *, overrides: list[str] = (), data: str | None = None,
          device: str | None = None, seed: int | None = None, resume: bool = False, force: bool = False,
          progress: bool = True) -> "Run":
    """Run every stage of ``recipe`` (a shipped recipe's name, a folder with config.toml, or a TOML file)
    into run directory ``out`` (default ``runs/<recipe name>``), holding its lock; ``overrides`` are
    ``--set`` strings (``"prior.n_states=50"``). A failed first run leaves no half-made directory."""
    import contextlib

    from .config import load_recipe
    from .pipeline.run_dir import RunDir, remove_if_unused
    from .pipeline.train import train as run_train
    from .training.distributed import env_rank

    cfg = load_recipe(recipe, list(overrides))
    if device:
        cfg.device = device
    if seed is not None:
        cfg.seed = seed
    out = Path(out or f"runs/{cfg.name}")
    existed = out.exists()
    main = env_rank() == 0  # under torchrun every rank trains; rank 0 alone writes the run and holds its lock
    try:
        with RunDir(out).lock(create=True) if main else contextlib.nullcontext():
            run_train(cfg, out, data=data, resume=resume, force=force, progress=progress)
    except Exception:
        if not existed and main:  # e.g. no data found: leave no half-made run directory behind
            remove_if_unused(RunDir(out))
        raise
    return Run(out)


def load_run(path: str | Path, *, prior: str | None = None, digit: int | None = None, device: str = "cpu",
             decoder_noise: float | None = None) -> "Run":
    """A trained run directory, ready to generate from (``prior``: a prior added by fit-prior;
    ``digit``: the per-label prior of that label)."""
    return Run(path, prior=prior, digit=digit, device=device, decoder_noise=decoder_noise)


class Run:
    """A run directory: its config, metrics and a generator (loaded on first use)."""

    def __init__(self, path: str | Path, *, prior: str | None = None, digit: int | None = None,
                 device: str = "cpu", decoder_noise: float | None = None):
        from .pipeline.run_dir import RunDir

        self.dir = RunDir(path)
        self.path = self.dir.path
        self.config = self.dir.load_config()
        self._gen_args = dict(prior=prior, label=digit, device=device, decoder_noise=decoder_noise)
        self._generator = None

    @property
    def generator(self):
        """The :class:`~seqgen.pipeline.generate.Generator` of this run (autoencoder + prior)."""
        if self._generator is None:
            from .pipeline.generate import Generator

            self._generator = Generator(self.path, **self._gen_args)
        return self._generator

    @property
    def metrics(self) -> dict:
        return self.dir.read_metrics()

    def generate(self, count: int | None = None, *, seconds: float | None = None, out: str | Path | None = None,
                 out_dir: str | Path | None = None, seed: int | None = None,
                 temperature: float | None = None) -> list[np.ndarray] | list[dict] | dict:
        """``count`` examples (audio ``(T,)`` / image ``(C, H, W)`` arrays; written as files when
        ``out_dir`` is given), or for audio one stream of ``seconds`` s written to ``out``."""
        g = self.generator
        seed = self.config.seed if seed is None else seed
        temperature = self.config.generate.temperature if temperature is None else temperature
        if seconds is not None:
            if out is None:
                return np.concatenate(list(g.stream(seconds, seed=seed, temperature=temperature)))
            return g.write_stream(out, seconds, seed=seed, temperature=temperature, progress=False)
        count = count or self.config.generate.count or 4
        if out_dir is not None:
            return g.write_examples(out_dir, count, seed=seed, temperature=temperature)
        return g.examples(count, seed=seed, temperature=temperature)

    def report(self, out: str | Path | None = None) -> Path:
        """Write the HTML report (default ``RUN/report/index.html``); returns its path."""
        from .pipeline.html_report import write_report

        return write_report(self.path, out, device=self._gen_args["device"])

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, recipe={self.config.name!r})"
