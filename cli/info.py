"""`seqgen info RUN_DIR`: what a run directory holds, at a glance."""
from __future__ import annotations

import click


@click.command()
@click.argument("run_dir", type=click.Path())
def info(run_dir):
    """Summarise RUN_DIR: recipe, data and fingerprint, sizes, metrics, time per stage, fitted priors."""
    from seqgen.pipeline.run_info import run_summary

    click.echo(run_summary(run_dir))
