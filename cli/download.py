"""`seqgen download fsdd`: fetch a data set into the cache, every file checked against its sha256."""
from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("dataset", type=click.Choice(["fsdd"]))
@click.option("--dest", type=click.Path(file_okay=False), default=None, help="Target folder (default: the seqgen cache).")
@click.pass_context
def download(ctx, dataset, dest):
    """Download DATASET (needs internet) into the cache that `seqgen train` looks in."""
    from seqgen.data import fsdd
    from seqgen.data.locate import cache_dir

    target = Path(dest) if dest else cache_dir() / dataset
    fsdd.download(target, progress=ctx.find_root().obj["progress"])
    click.echo(f"{dataset} ready in {target}")
