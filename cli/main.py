"""Root `seqgen` group: shared options, lazy subcommands (``--help`` imports no torch), clean errors."""
from __future__ import annotations

import importlib
import logging
import os
import sys
import warnings

import click

# OpenMP's default wait policy keeps idle worker threads spinning; on a CPU shared with other jobs (or with
# more threads than free cores) each of torch's many small parallel regions then waits for a descheduled
# spinner: codec training ran ~16x slower with torch's default threads than with PASSIVE on the 2-core
# development machine under load (benchmarks/README.md, `omp_wait`). Read when torch loads, which no
# command has done yet here; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

SUBCOMMANDS = {
    "train": "seqgen.cli.train:train",
    "generate": "seqgen.cli.generate:generate",
    "fit-prior": "seqgen.cli.fit_prior:fit_prior",
    "download": "seqgen.cli.download:download",
    "eval": "seqgen.cli.eval:eval_",
    "score": "seqgen.cli.score:score",
    "report": "seqgen.cli.report:report",
    "recipes": "seqgen.cli.recipes:recipes",
    "info": "seqgen.cli.info:info",
}

#: one line per command for ``seqgen --help`` (static: listing them imports nothing)
SHORT_HELP = {
    "train": "Run a recipe: data -> autoencoder -> latents -> prior -> report.",
    "generate": "Sample from a run: WAV streams / utterances, or PNG images.",
    "fit-prior": "Fit another prior on a run's cached latents (or one per digit).",
    "eval": "Score generated examples with a classifier (IS, FID, ...).",
    "score": "Per-frame log-likelihood of a file under a run.",
    "report": "Write a run's HTML report, or compare several runs.",
    "recipes": "List the shipped recipes and whether their data is found.",
    "info": "Summarise a run directory: recipe, data, sizes, metrics, times.",
    "download": "Fetch a data set (fsdd, violin) into the cache, checksummed.",
}


SEED = click.IntRange(0, 2**32 - 1)
#: what an interrupted command keeps and how to go on (true for that command)
INTERRUPT_HINTS = {
    "train": "finished stages and checkpoints are kept; rerun with --resume",
    "fit-prior": "priors already saved are kept; rerun the same command to fit the rest",
    "eval": "nothing was written; rerun the same command",
    "generate": "no partial audio file is left; rerun the same command",
    "score": "rerun the same command",
    "download": "rerun the same command",
    "report": "rerun the same command",
    "recipes": "rerun the same command",
    "info": "rerun the same command",
}


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


class LazyGroup(click.Group):
    """Imports a subcommand's module only when it runs (click docs: "lazily loading subcommands"),
    and turns seqgen's own errors into one-line messages instead of tracebacks."""

    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def format_commands(self, ctx, formatter):
        """One line per command from :data:`SHORT_HELP`: ``--help`` imports no subcommand module."""
        with formatter.section("Commands"):
            formatter.write_dl([(n, SHORT_HELP.get(n, "")) for n in self.list_commands(ctx)])

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        module, _, attr = SUBCOMMANDS[name].partition(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx):
        import signal

        from seqgen.errors import SeqgenError

        def on_term(signum, frame):  # SIGTERM cleans up (temp files, locks) like Ctrl-C does
            raise KeyboardInterrupt

        old = signal.signal(signal.SIGTERM, on_term) if _main_thread() else None
        try:
            return super().invoke(ctx)
        except SeqgenError as e:
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            click.echo(f"\ninterrupted: {INTERRUPT_HINTS.get(ctx.invoked_subcommand, 'nothing half-written is kept')}",
                       err=True)
            sys.exit(130)
        except OSError as e:  # unwritable output folder, path under a file, disk full, ...
            raise click.ClickException(f"cannot write {e.filename or 'the output'}: {e.strerror or e}") from None
        finally:
            if old is not None:
                signal.signal(signal.SIGTERM, old)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--device", default=None, help="Torch device: cpu, cuda, cuda:1 or auto (default: the recipe's).")
@click.option("--seed", type=SEED, default=None, help="Random seed (default: the recipe's, or $SEQGEN_SEED).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no progress bars.")
@click.version_option(package_name="seqgen")
@click.pass_context
def cli(ctx, device, seed, verbose, quiet):
    """seqgen: autoencoders with a learned latent prior (Subakan et al.).

    \b
    seqgen recipes                                  # what can be trained here
    seqgen train spoken_digits                      # a shipped recipe by name (or a folder)
    seqgen generate runs/spoken_digits --seconds 10 --out digits.wav
    seqgen generate runs/spoken_digits --count 20 --out-dir samples/
    seqgen fit-prior runs/spoken_digits --prior gmm
    seqgen eval runs/spoken_digits --compare        # classifier metrics of every prior
    seqgen score some.wav runs/spoken_digits        # how typical is this audio?
    seqgen report runs/spoken_digits                # runs/spoken_digits/report/index.html
    seqgen info runs/spoken_digits
    seqgen download fsdd                            # the full data set (needs internet)

    \b
    Shell completion (bash; zsh/fish likewise with zsh_source/fish_source):
    eval "$(_SEQGEN_COMPLETE=bash_source seqgen)"
    """
    if seed is None and os.environ.get("SEQGEN_SEED"):
        seed = SEED.convert(os.environ["SEQGEN_SEED"], None, ctx)
    ctx.obj = {"device": device, "seed": seed, "progress": not quiet}
    from seqgen.data.locate import WARNED_EMBEDDED

    WARNED_EMBEDDED.clear()  # the embedded-subset warning: once per command
    if not quiet:  # a redirected log gets a progress line every few seconds, not a \r-redraw per update
        from seqgen.progress import use_log_lines

        use_log_lines()
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"  # users need the message, not our source line
    from seqgen.progress import VERBOSE

    level = logging.ERROR if quiet else [logging.INFO, VERBOSE, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("seqgen").setLevel(level)
    for h in logging.getLogger().handlers:  # the run's train.log lowers the logger to INFO; the terminal keeps -q
        h.setLevel(level)


def common(f):
    """``--device`` / ``--seed`` on a subcommand too (they override the root group's)."""
    f = click.option("--seed", type=SEED, default=None, help="Random seed (overrides the root option).")(f)
    f = click.option("--device", default=None, help="Torch device (overrides the root option).")(f)
    return f


def resolve_common(ctx, device, seed) -> tuple[str | None, int | None]:
    from seqgen.device import resolve_device

    obj = ctx.find_root().obj or {}
    device = device or obj.get("device")
    return None if device is None else resolve_device(device), seed if seed is not None else obj.get("seed")


if __name__ == "__main__":  # pragma: no cover
    cli()
