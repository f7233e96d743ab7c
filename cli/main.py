"""Root `seqgen` group: shared options, lazy subcommands (``--help`` imports no torch), clean errors."""
from __future__ import annotations

import importlib
import logging
import os
import sys
import warnings

import click

SUBCOMMANDS = {
    "train": "seqgen.cli.train:train",
    "generate": "seqgen.cli.generate:generate",
    "fit-prior": "seqgen.cli.fit_prior:fit_prior",
    "download": "seqgen.cli.download:download",
    "eval": "seqgen.cli.eval:eval_",
    "score": "seqgen.cli.score:score",
}


SEED = click.IntRange(0, 2**32 - 1)


class LazyGroup(click.Group):
    """Imports a subcommand's module only when it runs (click docs: "lazily loading subcommands"),
    and turns seqgen's own errors into one-line messages instead of tracebacks."""

    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        module, _, attr = SUBCOMMANDS[name].partition(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx):
        from seqgen.errors import SeqgenError

        try:
            return super().invoke(ctx)
        except SeqgenError as e:
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            click.echo("\ninterrupted: finished stages and checkpoints are kept; rerun with --resume", err=True)
            sys.exit(130)
        except OSError as e:  # unwritable output folder, path under a file, disk full, ...
            raise click.ClickException(f"cannot write {e.filename or ''}: {e.strerror or e}") from None


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
    seqgen train recipes/spoken_digits
    seqgen generate runs/spoken_digits --seconds 10 --out digits.wav
    seqgen generate runs/spoken_digits --count 20 --out-dir samples/
    seqgen fit-prior runs/spoken_digits --prior gmm
    """
    if seed is None and os.environ.get("SEQGEN_SEED"):
        seed = SEED.convert(os.environ["SEQGEN_SEED"], None, ctx)
    ctx.obj = {"device": device, "seed": seed, "progress": not quiet}
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"  # users need the message, not our source line
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("seqgen").setLevel(level)


def common(f):
    """``--device`` / ``--seed`` on a subcommand too (they override the root group's)."""
    f = click.option("--seed", type=SEED, default=None, help="Random seed (overrides the root option).")(f)
    f = click.option("--device", default=None, help="Torch device (overrides the root option).")(f)
    return f


def resolve_common(ctx, device, seed) -> tuple[str | None, int | None]:
    obj = ctx.find_root().obj or {}
    return device or obj.get("device"), seed if seed is not None else obj.get("seed")


if __name__ == "__main__":  # pragma: no cover
    cli()
